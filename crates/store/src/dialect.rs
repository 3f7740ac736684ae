//! What differs between the two backends, behind one crate-private trait: how a transaction
//! begins, how a list of keys is bound, how a stream is read without skipping rows, and the
//! multi-row writes (PostgreSQL: `INSERT ... SELECT FROM UNNEST(arrays)`; SQLite: multi-row
//! `VALUES` in chunks). Also the rows those writes take and a small builder for the SQL whose
//! WHERE clause depends on a filter.

use chrono::{DateTime, Utc};
use sqlx::{Pool, Transaction};

use crate::error::Result;
use crate::model::{CalendarDayRow, DueInstant};
use crate::rows::RawWarning;

/// A list of keys bound as ONE parameter: a `text[]` on PostgreSQL (`= ANY($n)`), a JSON array
/// on SQLite (`IN (SELECT value FROM json_each($n))`), so a batch is one statement whatever
/// its size.
#[derive(Debug)]
pub(crate) struct Keys<'a>(pub Vec<&'a str>);

/// A matter as written.
#[derive(Debug)]
pub(crate) struct MatterIns<'a> {
    pub matter_code: &'a str,
    pub name: &'a str,
    pub department: &'a str,
    pub kind: &'a str,
    pub definition: String,
    pub updated_at: DateTime<Utc>,
}

/// A case row as written, with the version it must have now when it is an update.
#[derive(Debug)]
pub(crate) struct CaseIns<'a> {
    pub case_no: &'a str,
    pub matter_code: &'a str,
    pub department: &'a str,
    pub region: &'a str,
    pub state: &'a str,
    pub opened_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
    pub next_due_at: Option<DateTime<Utc>>,
    pub overdue: bool,
    pub provisional: bool,
    pub view: String,
    pub last_hash: String,
    /// The stored version an update requires (ignored for inserts).
    pub expected: i64,
}

/// A record as written; `received_at` is the same for the whole commit.
#[derive(Debug)]
pub(crate) struct RecordIns<'a> {
    pub event_id: &'a str,
    pub case_no: &'a str,
    pub occurred_at: DateTime<Utc>,
    pub source: &'a str,
    pub kind: &'a str,
    pub body: String,
    pub prev_hash: String,
    pub hash: String,
}

/// A warning as written.
#[derive(Debug)]
pub(crate) struct WarningIns<'a> {
    pub case_no: &'a str,
    pub rule: &'a str,
    pub level: &'a str,
    pub department: &'a str,
    pub region: &'a str,
    pub matter_code: &'a str,
    pub due_at: Option<DateTime<Utc>>,
    pub raised_at: DateTime<Utc>,
    pub detail: String,
}

/// The backend-specific half of the store. Implemented for `sqlx::Postgres` (in `pg`) and
/// `sqlx::Sqlite` (in `sqlite`); the shared half in `store` is written once and expanded for
/// each backend by a macro, because sqlx's generic bounds would drown it.
pub(crate) trait Dialect: sqlx::Database {
    /// Appended to a SELECT that reads rows the transaction will update: PostgreSQL locks
    /// them (`FOR UPDATE`); SQLite's `BEGIN IMMEDIATE` already excludes other writers.
    const FOR_UPDATE: &'static str;

    /// Run first in a transaction that appends to the audit log, so appenders take turns and
    /// each chains to the row the one before committed: PostgreSQL locks the table against
    /// other writers (readers go on); SQLite's `BEGIN IMMEDIATE` already serializes writers.
    const LOCK_AUDIT: Option<&'static str>;

    /// Begins a transaction that writes. SQLite takes the write lock up front, so a
    /// read-then-write transaction cannot fail half-way on a lock upgrade.
    async fn begin_write(pool: &Pool<Self>) -> Result<Transaction<'static, Self>>;

    /// Begins a transaction whose reads see one snapshot (a case and its records agree).
    async fn begin_read(pool: &Pool<Self>) -> Result<Transaction<'static, Self>>;

    /// SQL for "`column` is one of the [`Keys`] bound as `param`".
    fn one_of(column: &str, param: &str) -> String;

    /// Appends to `sql` the condition "row after (`tx`, `n`) and safe to hand to a follower"
    /// for a stream ordered by [`Dialect::stream_order`] whose sequence column is `n_col`.
    /// `floor` is a horizon this store has already proven ([`crate::Store`] keeps the largest):
    /// the condition never hands out less than it did before.
    fn stream_after(sql: &mut Sql, n_col: &str, tx: i64, n: i64, floor: i64);

    /// Appends to `sql` the condition "row after (`tx`, `n`)", whether or not it is safe to
    /// hand to a follower yet (a row held back behind an open transaction counts too).
    fn stream_beyond(sql: &mut Sql, n_col: &str, tx: i64, n: i64);

    /// The ORDER BY list of a stream (ascending) whose sequence column is `n_col`.
    fn stream_order(n_col: &str, descending: bool) -> String;

    /// The SET list that moves a warning to the end of the warning stream (after every
    /// position handed out so far), for its state changes.
    const BUMP_WARNING: &'static str;

    /// Appends the condition "row safe to hand to a follower" alone (no lower bound), never
    /// below the proven horizon `floor`.
    fn stream_visible(sql: &mut Sql, floor: i64);

    /// Inserts a calendar's days.
    async fn insert_days(
        conn: &mut Self::Connection,
        calendar_id: &str,
        days: &[CalendarDayRow],
    ) -> Result<()>;

    /// Inserts or replaces matters (no code twice).
    async fn upsert_matters(conn: &mut Self::Connection, rows: &[MatterIns<'_>]) -> Result<()>;

    /// Inserts cases that must not exist; returns the case numbers inserted (one missing: a
    /// concurrent commit created it first).
    async fn insert_cases(conn: &mut Self::Connection, rows: &[CaseIns<'_>])
    -> Result<Vec<String>>;

    /// Updates cases whose version is `expected`; returns how many were updated.
    async fn update_cases(conn: &mut Self::Connection, rows: &[CaseIns<'_>]) -> Result<u64>;

    /// Appends records in order, skipping event ids already stored; returns (seq, event_id)
    /// of those inserted.
    async fn insert_records(
        conn: &mut Self::Connection,
        received_at: DateTime<Utc>,
        rows: &[RecordIns<'_>],
    ) -> Result<Vec<(i64, String)>>;

    /// Inserts due instants (their cases' old ones already deleted).
    async fn insert_due(conn: &mut Self::Connection, rows: &[DueInstant]) -> Result<()>;

    /// Sets the correction due of each (warning id, due) that has none yet, and its first
    /// correction due: one statement on PostgreSQL (a pass may stamp a whole burst of new
    /// cards, and a statement per card was a round trip each); a statement per card on SQLite,
    /// where statements cost no round trip.
    async fn set_correction_dues(
        conn: &mut Self::Connection,
        dues: &[(i64, DateTime<Utc>)],
    ) -> Result<()>;

    /// Deletes the due instants that still have exactly these (case_no, clock, due_at);
    /// returns the (case_no, clock) of those deleted.
    async fn delete_due_exact(
        conn: &mut Self::Connection,
        rows: &[DueInstant],
    ) -> Result<Vec<(String, String)>>;

    /// Inserts warnings, skipping any (case_no, rule, level) already stored; returns the new
    /// rows.
    async fn insert_warnings(
        conn: &mut Self::Connection,
        rows: &[WarningIns<'_>],
    ) -> Result<Vec<RawWarning>>;

    /// Wakes listeners of `channel` when the transaction commits (PostgreSQL NOTIFY; nothing
    /// on SQLite, whose listeners are woken in-process).
    async fn notify(conn: &mut Self::Connection, channel: &str) -> Result<()>;

    /// Takes the transaction-scoped lock `key`, `shared` or exclusive (PostgreSQL advisory
    /// locks; nothing on SQLite, whose `BEGIN IMMEDIATE` already serializes writers).
    async fn lock(conn: &mut Self::Connection, key: i64, shared: bool) -> Result<()>;

    /// Appended to a subquery that picks rows to claim: concurrent claimers skip each other's
    /// rows on PostgreSQL (`FOR UPDATE SKIP LOCKED`); SQLite serializes writers.
    const SKIP_LOCKED: &'static str;

    /// SQL for "`column` is one of the integer ids bound as a JSON array in `param`", so a
    /// list is one parameter whatever its size.
    fn one_of_json_ids(column: &str, param: &str) -> String;

    /// Inserts a pending webhook delivery, due at `$2`, for each (hook id, warning id) pair of
    /// the JSON array bound as `$1`, skipping pairs already stored.
    const INSERT_DELIVERIES: &'static str;
}

/// A parameter of a built statement.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Text(String),
    I64(i64),
    Bool(bool),
    Time(chrono::DateTime<chrono::Utc>),
    Date(chrono::NaiveDate),
}

/// SQL text built from a filter, with its parameters in `$n` order.
#[derive(Debug, Default)]
pub(crate) struct Sql {
    pub text: String,
    pub args: Vec<Arg>,
}

impl Sql {
    pub fn new(text: impl Into<String>) -> Self {
        Sql {
            text: text.into(),
            args: Vec::new(),
        }
    }

    /// Appends SQL text.
    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Binds `arg` and appends its placeholder.
    pub fn bind(&mut self, arg: Arg) -> &mut Self {
        self.args.push(arg);
        let n = self.args.len();
        self.text.push('$');
        self.text.push_str(&n.to_string());
        self
    }

    /// Appends ` AND column = $n` when `value` is set.
    pub fn eq(&mut self, column: &str, value: Option<&str>) -> &mut Self {
        if let Some(value) = value {
            self.push(" AND ").push(column).push(" = ");
            self.bind(Arg::Text(value.to_owned()));
        }
        self
    }

    /// Appends ` AND column IN ($n, ...)` when `values` is not empty.
    pub fn any_of(&mut self, column: &str, values: &[String]) -> &mut Self {
        if values.is_empty() {
            return self;
        }
        self.push(" AND ").push(column).push(" IN (");
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind(Arg::Text(v.clone()));
        }
        self.push(")")
    }

    /// Appends a prefix condition on `column` as a range, which an index serves on both
    /// backends: identifier columns compare bytewise (`COLLATE "C"` on PostgreSQL, BINARY on
    /// SQLite), and in UTF-8 byte order the strings starting with `p` are exactly those in
    /// `[p, successor(p))`.
    pub fn prefix(&mut self, column: &str, prefix: Option<&str>) -> &mut Self {
        let Some(prefix) = prefix.filter(|p| !p.is_empty()) else {
            return self;
        };
        self.push(" AND ").push(column).push(" >= ");
        self.bind(Arg::Text(prefix.to_owned()));
        if let Some(end) = prefix_end(prefix) {
            self.push(" AND ").push(column).push(" < ");
            self.bind(Arg::Text(end));
        }
        self
    }
}

/// The smallest string greater than every string starting with `prefix`, if any.
fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = match u32::from(last) + 1 {
            0xD800 => Some('\u{E000}'),
            n => char::from_u32(n),
        };
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// Binds the [`Arg`]s of a built [`Sql`] to a query, for either backend.
macro_rules! bind_args {
    ($query:expr, $args:expr) => {{
        let mut query = $query;
        for arg in $args {
            query = match arg {
                $crate::dialect::Arg::Text(s) => query.bind(s.as_str()),
                $crate::dialect::Arg::I64(n) => query.bind(*n),
                $crate::dialect::Arg::Bool(b) => query.bind(*b),
                $crate::dialect::Arg::Time(t) => query.bind(*t),
                $crate::dialect::Arg::Date(d) => query.bind(*d),
            };
        }
        query
    }};
}
pub(crate) use bind_args;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_end_is_the_successor() {
        assert_eq!(prefix_end("3301").as_deref(), Some("3302"));
        assert_eq!(prefix_end("33\u{10FFFF}").as_deref(), Some("34"));
        assert_eq!(prefix_end("\u{D7FF}").as_deref(), Some("\u{E000}"));
        assert_eq!(prefix_end("\u{10FFFF}"), None);
    }

    #[test]
    fn built_sql_numbers_its_parameters() {
        let mut sql = Sql::new("SELECT 1 WHERE TRUE");
        sql.eq("a", Some("x")).eq("b", None).prefix("r", Some("33"));
        assert_eq!(
            sql.text,
            "SELECT 1 WHERE TRUE AND a = $1 AND r >= $2 AND r < $3"
        );
        assert_eq!(sql.args.len(), 3);
    }
}
