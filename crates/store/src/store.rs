//! `Store`: the one storage API over both backends. Connecting (URL, pool, migrations), and
//! every query. What differs per backend goes through the crate-private `Dialect` trait; the
//! rest is written once and expanded for each backend by `on_db!`.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::str::FromStr;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use egov_domain::warning::Level;
use egov_domain::workflow::WarningState;
use sqlx::AssertSqlSafe;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use tokio::sync::watch;

use crate::chain::{self, ChainReport};
use crate::dialect::{
    Arg, CaseIns, Dialect, Keys, MatterIns, RecordIns, Sql, WarningIns, bind_args,
};
use crate::error::{Result, StoreError};
use crate::model::{
    Backend, CalendarDayRow, CalendarRow, CaseFilter, CaseRow, CaseSnapshot, CaseWrite, DueInstant,
    DueReplacement, Firing, LogEntry, MatterRow, MatterVersion, NewWarning, Page, Reassignment,
    StoredRecord, UpsertOutcome, WarningFilter, WarningRow, WarningTransitionRow,
};
use crate::notify::{Notifications, RECORDS_CHANNEL, WARNINGS_CHANNEL};
use crate::position::{LogPosition, WarningPosition, decode_token, encode_token};
use crate::rows::{
    CASE_COLUMNS, MATTER_COLUMNS, RECORD_COLUMNS, RawCalendarDay, RawCase, RawDue, RawMatter,
    RawRecord, RawWarning, WARNING_COLUMNS, convert, json_text, micros,
};

static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");
static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");

/// Stores a consumer's cursor (`consumer`, `position`, `updated_at`), whichever worker
/// moves it in whichever transaction.
pub(crate) const UPSERT_CURSOR: &str = "INSERT INTO consumer_cursors (consumer, position, \
     updated_at) VALUES ($1, $2, $3) ON CONFLICT (consumer) DO UPDATE SET \
     position = excluded.position, updated_at = excluded.updated_at";

/// The most rows one stream read returns, whatever the caller asks.
const MAX_READ: u32 = 10_000;

/// Settings of a [`Store`]'s connection pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreOptions {
    /// Most connections the pool opens. On PostgreSQL each listener (see
    /// [`Store::listen_for_records`]) opens one more connection of its own.
    pub max_connections: u32,
    /// How long a call waits for a free connection before failing with
    /// [`StoreError::Busy`].
    pub acquire_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(30),
        }
    }
}

/// The comprehensive database: one API over PostgreSQL (production) and a SQLite file (the
/// embedded default). Cheap to clone; clones share the pool.
#[derive(Debug, Clone)]
pub struct Store {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) pool: Pools,
    /// Raised after each commit that stored records, to wake in-process listeners (SQLite).
    records: watch::Sender<u64>,
    /// Raised after each write that stored new warnings, likewise.
    warnings: watch::Sender<u64>,
}

#[derive(Debug)]
pub(crate) enum Pools {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

/// Runs `$body` with `$pool` bound to the backend's pool and (optionally) `$db` naming its
/// `sqlx::Database`, which implements [`Dialect`]. The body is type-checked once per backend.
macro_rules! on_db {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.inner.pool {
            $crate::store::Pools::Postgres($pool) => $body,
            $crate::store::Pools::Sqlite($pool) => $body,
        }
    };
    ($store:expr, |$pool:ident, $db:ident| $body:expr) => {
        match &$store.inner.pool {
            $crate::store::Pools::Postgres($pool) => {
                type $db = sqlx::Postgres;
                $body
            }
            $crate::store::Pools::Sqlite($pool) => {
                type $db = sqlx::Sqlite;
                $body
            }
        }
    };
}
// Other modules of the crate add `impl Store` blocks of their own (one per concern).
pub(crate) use on_db;

impl Store {
    /// Connects to `url` with default [`StoreOptions`] and applies the migrations.
    ///
    /// `postgres://user@host/db` (or `postgresql://`) selects PostgreSQL;
    /// `sqlite://path/to/file.db` selects SQLite, creating the file and its directory when
    /// missing, in WAL mode with `synchronous=NORMAL`, foreign keys on and a 5 s busy timeout.
    pub async fn connect(url: &str) -> Result<Store> {
        Self::connect_with(url, &StoreOptions::default()).await
    }

    /// [`Store::connect`] with explicit pool settings.
    pub async fn connect_with(url: &str, options: &StoreOptions) -> Result<Store> {
        let pool = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let connect = PgConnectOptions::from_str(url)
                .map_err(|_| StoreError::InvalidUrl("not a valid postgres:// url"))?
                .application_name("egov");
            let pool = PgPoolOptions::new()
                .max_connections(options.max_connections)
                .acquire_timeout(options.acquire_timeout)
                .connect_with(connect)
                .await?;
            POSTGRES_MIGRATIONS.run(&pool).await?;
            Pools::Postgres(pool)
        } else if url.starts_with("sqlite:") {
            if url.contains(":memory:") || url.contains("mode=memory") {
                return Err(StoreError::InvalidUrl(
                    "in-memory SQLite is not supported: name a file",
                ));
            }
            let connect = SqliteConnectOptions::from_str(url)
                .map_err(|_| StoreError::InvalidUrl("not a valid sqlite:// url"))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(5));
            if let Some(dir) = connect.get_filename().parent()
                && !dir.as_os_str().is_empty()
            {
                std::fs::create_dir_all(dir)?;
            }
            let pool = SqlitePoolOptions::new()
                .max_connections(options.max_connections)
                .acquire_timeout(options.acquire_timeout)
                .connect_with(connect)
                .await?;
            SQLITE_MIGRATIONS.run(&pool).await?;
            Pools::Sqlite(pool)
        } else {
            return Err(StoreError::InvalidUrl(
                "expected postgres://... or sqlite://path/to/file.db",
            ));
        };
        Ok(Store {
            inner: Arc::new(Inner {
                pool,
                records: watch::Sender::new(0),
                warnings: watch::Sender::new(0),
            }),
        })
    }

    /// Which database this store talks to.
    pub fn backend(&self) -> Backend {
        match &self.inner.pool {
            Pools::Postgres(_) => Backend::Postgres,
            Pools::Sqlite(_) => Backend::Sqlite,
        }
    }

    /// Closes the pool: waits for connections in use to come back, then closes them all.
    /// Afterwards every call (and every [`Notifications::recv`]) fails with
    /// [`StoreError::Closed`].
    pub async fn close(&self) {
        match &self.inner.pool {
            Pools::Postgres(pool) => pool.close().await,
            Pools::Sqlite(pool) => pool.close().await,
        }
    }

    /// Checks that the database answers (for health checks).
    pub async fn ping(&self) -> Result<()> {
        on_db!(self, |pool| {
            sqlx::query("SELECT 1").execute(pool).await?;
        });
        Ok(())
    }

    /// Runs raw SQL (several statements allowed) and returns the rows affected. Only for tests
    /// that simulate tampering or inspect the schema; services never call it.
    #[doc(hidden)]
    pub async fn execute_raw(&self, sql: &str) -> Result<u64> {
        let sql = AssertSqlSafe(sql.to_owned());
        Ok(on_db!(self, |pool| sqlx::raw_sql(sql)
            .execute(pool)
            .await?
            .rows_affected()))
    }

    // ----- calendars ---------------------------------------------------------------------

    /// Stores a calendar, replacing its header and ALL its days.
    pub async fn put_calendar(&self, calendar: &CalendarRow) -> Result<()> {
        let mut dates: Vec<_> = calendar.days.iter().map(|d| d.date).collect();
        dates.sort_unstable();
        if let Some(w) = dates.windows(2).find(|w| w[0] == w[1]) {
            return Err(StoreError::InvalidInput(
                format!("calendar {:?} lists {} twice", calendar.id, w[0]).into(),
            ));
        }
        on_db!(self, |pool, Db| {
            let mut tx = Db::begin_write(pool).await?;
            sqlx::query(
                "INSERT INTO calendars (id, utc_offset_seconds, first_year, last_year) \
                 VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (id) DO UPDATE SET utc_offset_seconds = excluded.utc_offset_seconds, \
                    first_year = excluded.first_year, last_year = excluded.last_year",
            )
            .bind(calendar.id.as_str())
            .bind(calendar.utc_offset_seconds)
            .bind(calendar.first_year)
            .bind(calendar.last_year)
            .execute(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM calendar_days WHERE calendar_id = $1")
                .bind(calendar.id.as_str())
                .execute(&mut *tx)
                .await?;
            if !calendar.days.is_empty() {
                Db::insert_days(&mut tx, &calendar.id, &calendar.days).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// The calendar `id` with its days in date order, if stored.
    pub async fn get_calendar(&self, id: &str) -> Result<Option<CalendarRow>> {
        // One statement, so the header and the days come from one snapshot.
        let rows: Vec<RawCalendarDay> = on_db!(self, |pool| {
            sqlx::query_as(
                "SELECT c.id, c.utc_offset_seconds, c.first_year, c.last_year, \
                        d.day, d.kind, d.name \
                 FROM calendars c LEFT JOIN calendar_days d ON d.calendar_id = c.id \
                 WHERE c.id = $1 ORDER BY d.day",
            )
            .bind(id)
            .fetch_all(pool)
            .await?
        });
        let Some(first) = rows.first() else {
            return Ok(None);
        };
        let mut calendar = CalendarRow {
            id: first.id.clone(),
            utc_offset_seconds: first.utc_offset_seconds,
            first_year: first.first_year,
            last_year: first.last_year,
            days: Vec::with_capacity(rows.len()),
        };
        for row in rows {
            if let (Some(date), Some(kind), Some(name)) = (row.day, row.kind, row.name) {
                calendar.days.push(CalendarDayRow { date, kind, name });
            }
        }
        Ok(Some(calendar))
    }

    // ----- the matter catalogue ------------------------------------------------------------

    /// Inserts or replaces matters in one transaction and says, per input row, what happened.
    /// A row whose name, department, kind and definition equal the stored ones is
    /// `Unchanged` and keeps its stored `updated_at`. Each created or changed matter also gets
    /// its next version in `matter_versions`, in force from its `updated_at`. A code given twice is applied in order.
    /// Outcomes are computed against the rows read in the same transaction; two concurrent
    /// loads of the same new code may both report `Created` (the last one wins).
    pub async fn upsert_matters(&self, matters: &[MatterRow]) -> Result<Vec<UpsertOutcome>> {
        if matters.is_empty() {
            return Ok(Vec::new());
        }
        let codes = distinct(matters.iter().map(|m| m.matter_code.as_str()));
        on_db!(self, |pool, Db| {
            let mut tx = Db::begin_write(pool).await?;
            let sql = format!(
                "SELECT {MATTER_COLUMNS} FROM matters WHERE {}",
                Db::one_of("matter_code", "$1")
            );
            let stored: Vec<RawMatter> = sqlx::query_as(AssertSqlSafe(sql))
                .bind(Keys(codes))
                .fetch_all(&mut *tx)
                .await?;
            let stored = convert(stored, RawMatter::into_row)?;
            let (outcomes, writes) = plan_matters(matters, stored);
            if !writes.is_empty() {
                Db::upsert_matters(&mut tx, &writes).await?;
                for m in &writes {
                    sqlx::query(
                        "INSERT INTO matter_versions (matter_code, version, name, department, \
                             kind, definition, valid_from) \
                         VALUES ($1, COALESCE((SELECT MAX(version) FROM matter_versions \
                             WHERE matter_code = $2), 0) + 1, $3, $4, $5, $6, $7)",
                    )
                    .bind(m.matter_code)
                    .bind(m.matter_code)
                    .bind(m.name)
                    .bind(m.department)
                    .bind(m.kind)
                    .bind(m.definition.as_str())
                    .bind(m.updated_at)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            tx.commit().await?;
            Ok(outcomes)
        })
    }

    /// Every version of the matter `code`, oldest first (empty if it was never loaded).
    pub async fn matter_versions(&self, code: &str) -> Result<Vec<MatterVersion>> {
        let raws: Vec<(i64, RawMatter)> = on_db!(self, |pool| {
            let rows: Vec<RawMatterVersion> = sqlx::query_as(
                "SELECT version, matter_code, name, department, kind, definition, \
                     valid_from AS updated_at \
                 FROM matter_versions WHERE matter_code = $1 ORDER BY version",
            )
            .bind(code)
            .fetch_all(pool)
            .await?;
            rows.into_iter().map(RawMatterVersion::split).collect()
        });
        raws.into_iter()
            .map(|(version, raw)| {
                Ok(MatterVersion {
                    version,
                    matter: raw.into_row()?,
                })
            })
            .collect()
    }

    /// The matter `code`, if stored.
    pub async fn get_matter(&self, code: &str) -> Result<Option<MatterRow>> {
        let raw: Option<RawMatter> = on_db!(self, |pool| {
            sqlx::query_as(AssertSqlSafe(format!(
                "SELECT {MATTER_COLUMNS} FROM matters WHERE matter_code = $1"
            )))
            .bind(code)
            .fetch_optional(pool)
            .await?
        });
        raw.map(RawMatter::into_row).transpose()
    }

    /// Matters in code order, optionally of one department, one page at a time; the token
    /// is `Some` when more rows follow.
    pub async fn list_matters(
        &self,
        department: Option<&str>,
        page: Page,
    ) -> Result<(Vec<MatterRow>, Option<String>)> {
        self.list_matters_within(department, None, page).await
    }

    /// Like [`Store::list_matters`], and when `within` is given only matters of departments
    /// registered in a region of that subtree (see [`Store::list_departments`]).
    pub async fn list_matters_within(
        &self,
        department: Option<&str>,
        within: Option<&str>,
        page: Page,
    ) -> Result<(Vec<MatterRow>, Option<String>)> {
        let size = page.effective_size();
        let mut sql = Sql::new(format!("SELECT {MATTER_COLUMNS} FROM matters WHERE TRUE"));
        if let Some(token) = &page.token {
            sql.push(" AND matter_code > ")
                .bind(Arg::Text(decode_token('m', token)?));
        }
        sql.eq("department", department);
        if let Some(within) = within {
            sql.push(" AND department IN (SELECT code FROM departments WHERE TRUE");
            sql.prefix("region", Some(within));
            sql.push(")");
        }
        sql.push(" ORDER BY matter_code LIMIT ")
            .bind(Arg::I64(i64::from(size) + 1));
        let Sql { text, args } = sql;
        let raws: Vec<RawMatter> = on_db!(self, |pool| {
            bind_args!(sqlx::query_as(AssertSqlSafe(text)), &args)
                .fetch_all(pool)
                .await?
        });
        let rows = convert(raws, RawMatter::into_row)?;
        Ok(paginate(rows, size, |m| encode_token('m', &m.matter_code)))
    }

    // ----- cases and the record log -----------------------------------------------------

    /// Cases with all their records, in the order asked (missing cases are left out, a case
    /// asked twice comes once). One query per table for the whole set, in one snapshot.
    pub async fn load_cases(&self, case_nos: &[String]) -> Result<Vec<CaseSnapshot>> {
        if case_nos.is_empty() {
            return Ok(Vec::new());
        }
        let keys = distinct(case_nos.iter().map(String::as_str));
        let (cases, records): (Vec<RawCase>, Vec<RawRecord>) = on_db!(self, |pool, Db| {
            let mut tx = Db::begin_read(pool).await?;
            let cases = sqlx::query_as(AssertSqlSafe(format!(
                "SELECT {CASE_COLUMNS} FROM cases WHERE {}",
                Db::one_of("case_no", "$1")
            )))
            .bind(Keys(keys.clone()))
            .fetch_all(&mut *tx)
            .await?;
            let records = sqlx::query_as(AssertSqlSafe(format!(
                "SELECT {RECORD_COLUMNS} FROM records WHERE {} ORDER BY case_no, seq",
                Db::one_of("case_no", "$1")
            )))
            .bind(Keys(keys.clone()))
            .fetch_all(&mut *tx)
            .await?;
            tx.commit().await?;
            (cases, records)
        });
        let mut by_case: HashMap<String, CaseSnapshot> = HashMap::with_capacity(cases.len());
        for raw in cases {
            let case = raw.into_row()?;
            by_case.insert(
                case.case_no.clone(),
                CaseSnapshot {
                    case,
                    records: Vec::new(),
                },
            );
        }
        for raw in records {
            if let Some(snapshot) = by_case.get_mut(&raw.case_no) {
                snapshot.records.push(raw.into_record()?);
            }
        }
        Ok(keys
            .iter()
            .filter_map(|case_no| by_case.remove(*case_no))
            .collect())
    }

    /// The projection rows of these cases (no records), in the order asked; missing cases
    /// are left out. One query for the whole set.
    pub async fn get_case_rows(&self, case_nos: &[String]) -> Result<Vec<CaseRow>> {
        if case_nos.is_empty() {
            return Ok(Vec::new());
        }
        let keys = distinct(case_nos.iter().map(String::as_str));
        let raws: Vec<RawCase> = on_db!(self, |pool, Db| {
            sqlx::query_as(AssertSqlSafe(format!(
                "SELECT {CASE_COLUMNS} FROM cases WHERE {}",
                Db::one_of("case_no", "$1")
            )))
            .bind(Keys(keys.clone()))
            .fetch_all(pool)
            .await?
        });
        let mut by_case: HashMap<String, CaseRow> = HashMap::with_capacity(raws.len());
        for raw in raws {
            let row = raw.into_row()?;
            by_case.insert(row.case_no.clone(), row);
        }
        Ok(keys
            .iter()
            .filter_map(|case_no| by_case.remove(*case_no))
            .collect())
    }

    /// One case with all its records, if stored.
    pub async fn get_case(&self, case_no: &str) -> Result<Option<CaseSnapshot>> {
        Ok(self
            .load_cases(&[case_no.to_owned()])
            .await?
            .into_iter()
            .next())
    }

    /// The stored records among `event_ids` (in log order), to answer a resend the same as
    /// the first send. One query for the whole batch.
    pub async fn find_records(&self, event_ids: &[String]) -> Result<Vec<StoredRecord>> {
        if event_ids.is_empty() {
            return Ok(Vec::new());
        }
        let keys = distinct(event_ids.iter().map(String::as_str));
        let raws: Vec<RawRecord> = on_db!(self, |pool, Db| {
            sqlx::query_as(AssertSqlSafe(format!(
                "SELECT {RECORD_COLUMNS} FROM records WHERE {} ORDER BY seq",
                Db::one_of("event_id", "$1")
            )))
            .bind(Keys(keys))
            .fetch_all(pool)
            .await?
        });
        convert(raws, RawRecord::into_record)
    }

    /// Writes cases with their new records, due instants and the warnings the records raised,
    /// all or nothing, in ONE transaction with multi-row statements.
    ///
    /// Per write: the case must be at `expected_version` (or not exist when `None`); its
    /// records are appended in order and chained to the case's previous record; its version
    /// becomes `expected + records.len()`; its due instants are replaced; its warnings are
    /// inserted, skipping any (case_no, rule, level) already stored. Several writes for
    /// the same case apply in order (the second expects the version the first produced).
    ///
    /// Fails with [`StoreError::Conflict`], writing nothing, when a version does not match, a
    /// new case already exists, or an `event_id` is already stored (or given twice); with
    /// [`StoreError::InvalidInput`] when a record or due instant names another case than its
    /// write, or a write lists a clock twice. Returns the stored records in input order.
    pub async fn commit(
        &self,
        writes: &[CaseWrite],
        received_at: DateTime<Utc>,
    ) -> Result<Vec<StoredRecord>> {
        self.commit_with_hook(writes, received_at, std::future::ready(()))
            .await
    }

    /// [`Store::commit`] that awaits `before_commit` after every statement and before
    /// COMMIT, so tests can hold a transaction open (the late-commit gap of docs/design.md §7).
    #[doc(hidden)]
    pub async fn commit_with_hook(
        &self,
        writes: &[CaseWrite],
        received_at: DateTime<Utc>,
        before_commit: impl Future<Output = ()> + Send,
    ) -> Result<Vec<StoredRecord>> {
        if writes.is_empty() {
            return Ok(Vec::new());
        }
        validate_writes(writes)?;
        let received_at = micros(received_at);
        let case_nos = distinct(writes.iter().map(|w| w.case.case_no.as_str()));
        let (planned, seqs, raised) = on_db!(self, |pool, Db| {
            let mut tx = Db::begin_write(pool).await?;
            // Lock the existing cases in key order (no deadlock between two commits) and
            // read the versions and chain heads the new records continue.
            let heads: Vec<(String, i64, String)> = sqlx::query_as(AssertSqlSafe(format!(
                "SELECT case_no, version, last_hash FROM cases WHERE {} ORDER BY case_no{}",
                Db::one_of("case_no", "$1"),
                Db::FOR_UPDATE
            )))
            .bind(Keys(case_nos.clone()))
            .fetch_all(&mut *tx)
            .await?;
            let plan = plan_commit(writes, heads)?;
            if !plan.inserts.is_empty() {
                let inserted = Db::insert_cases(&mut tx, &plan.inserts).await?;
                let inserted: HashSet<&str> = inserted.iter().map(String::as_str).collect();
                if let Some(raced) = plan.inserts.iter().find(|c| !inserted.contains(c.case_no)) {
                    // A concurrent commit created this case after we looked.
                    return Err(conflict(raced.case_no));
                }
            }
            if !plan.updates.is_empty() {
                // Cannot miss under the row locks (PostgreSQL) or the write lock (SQLite)
                // taken above; checked all the same, so a broken assumption is a conflict
                // and not a silent lost update.
                let updated = Db::update_cases(&mut tx, &plan.updates).await?;
                if updated != plan.updates.len() as u64 {
                    return Err(conflict(plan.updates[0].case_no));
                }
            }
            let mut seqs = HashMap::with_capacity(plan.records.len());
            if !plan.records.is_empty() {
                let stored = Db::insert_records(&mut tx, received_at, &plan.records).await?;
                seqs.extend(stored.into_iter().map(|(seq, event_id)| (event_id, seq)));
                if let Some(missing) = plan.records.iter().find(|r| !seqs.contains_key(r.event_id))
                {
                    // Stored meanwhile by a concurrent commit: a resend that raced.
                    return Err(conflict(missing.case_no));
                }
            }
            sqlx::query(AssertSqlSafe(format!(
                "DELETE FROM due_instants WHERE {}",
                Db::one_of("case_no", "$1")
            )))
            .bind(Keys(case_nos.clone()))
            .execute(&mut *tx)
            .await?;
            if !plan.due.is_empty() {
                Db::insert_due(&mut tx, &plan.due).await?;
            }
            if !plan.records.is_empty() {
                Db::notify(&mut tx, RECORDS_CHANNEL).await?;
            }
            let warnings: Vec<WarningIns<'_>> = writes
                .iter()
                .flat_map(|w| w.warnings.iter().map(warning_ins))
                .collect();
            let raised = if warnings.is_empty() {
                false
            } else {
                let new = Db::insert_warnings(&mut tx, &warnings).await?;
                if !new.is_empty() {
                    Db::notify(&mut tx, WARNINGS_CHANNEL).await?;
                }
                !new.is_empty()
            };
            before_commit.await;
            tx.commit().await?;
            (plan.records, seqs, raised)
        });
        if !seqs.is_empty() {
            self.inner.records.send_modify(|n| *n += 1);
        }
        if raised {
            self.inner.warnings.send_modify(|n| *n += 1);
        }
        stored_records(writes, planned, received_at, &seqs)
    }

    /// Recomputes the hash chain of a case and reports the first place it does not hold (a
    /// changed body, a deleted or reordered record, a deleted tail). [`StoreError::NotFound`]
    /// if the case does not exist.
    pub async fn verify_chain(&self, case_no: &str) -> Result<ChainReport> {
        let (head, records): (Option<(i64, String)>, Vec<RawRecord>) = on_db!(self, |pool, Db| {
            let mut tx = Db::begin_read(pool).await?;
            let head = sqlx::query_as("SELECT version, last_hash FROM cases WHERE case_no = $1")
                .bind(case_no)
                .fetch_optional(&mut *tx)
                .await?;
            let records = sqlx::query_as(AssertSqlSafe(format!(
                "SELECT {RECORD_COLUMNS} FROM records WHERE case_no = $1 ORDER BY seq"
            )))
            .bind(case_no)
            .fetch_all(&mut *tx)
            .await?;
            tx.commit().await?;
            (head, records)
        });
        let Some((version, head_hash)) = head else {
            return Err(StoreError::NotFound {
                what: "case",
                key: case_no.to_owned(),
            });
        };
        Ok(chain::verify(
            case_no,
            &head_hash,
            version,
            records.iter().map(RawRecord::link),
        ))
    }

    /// Cases in case-number order matching `filter`, one page at a time; the token is `Some`
    /// when more rows follow.
    pub async fn list_cases(
        &self,
        filter: &CaseFilter,
        page: Page,
    ) -> Result<(Vec<CaseRow>, Option<String>)> {
        let size = page.effective_size();
        let mut sql = Sql::new(format!("SELECT {CASE_COLUMNS} FROM cases WHERE TRUE"));
        if let Some(token) = &page.token {
            sql.push(" AND case_no > ")
                .bind(Arg::Text(decode_token('c', token)?));
        }
        sql.eq("department", filter.department.as_deref())
            .prefix("region", filter.region_prefix.as_deref())
            .any_of("state", &filter.states)
            .eq("matter_code", filter.matter_code.as_deref());
        match (filter.overdue, filter.now) {
            (None, _) => {}
            (Some(overdue), None) => {
                sql.push(" AND overdue = ").bind(Arg::Bool(overdue));
            }
            (Some(true), Some(now)) => {
                sql.push(" AND (overdue OR next_due_at <= ")
                    .bind(Arg::Time(micros(now)))
                    .push(")");
            }
            (Some(false), Some(now)) => {
                sql.push(" AND NOT overdue AND (next_due_at IS NULL OR next_due_at > ")
                    .bind(Arg::Time(micros(now)))
                    .push(")");
            }
        }
        sql.push(" ORDER BY case_no LIMIT ")
            .bind(Arg::I64(i64::from(size) + 1));
        let Sql { text, args } = sql;
        let raws: Vec<RawCase> = on_db!(self, |pool| {
            bind_args!(sqlx::query_as(AssertSqlSafe(text)), &args)
                .fetch_all(pool)
                .await?
        });
        let rows = convert(raws, RawCase::into_row)?;
        Ok(paginate(rows, size, |c| encode_token('c', &c.case_no)))
    }

    /// Up to `limit` (at most 10 000) records after `after`, each with its position, in log
    /// order. Never skips a record (docs/design.md §7): a record that a still-open transaction may yet
    /// commit before a returned one is held back until it can no longer appear behind it.
    /// A follower stores the position of the last entry it processed and reads on from there.
    ///
    /// On PostgreSQL a record becomes readable once every transaction that started writing
    /// before its own has ended, anywhere on the server (transaction ids are server-wide): a
    /// long-running writing transaction, even in another database, delays the log (it never
    /// loses records). Log order is commit order per case, and across cases the order of the
    /// writing transactions' ids.
    pub async fn read_log(&self, after: LogPosition, limit: u32) -> Result<Vec<LogEntry>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let raws: Vec<RawRecord> = on_db!(self, |pool, Db| {
            let mut sql = Sql::new(format!("SELECT {RECORD_COLUMNS} FROM records WHERE TRUE"));
            Db::stream_after(&mut sql, "seq", after.tx(), after.n());
            sql.push(" ORDER BY ")
                .push(&Db::stream_order("seq", false))
                .push(" LIMIT ")
                .bind(Arg::I64(i64::from(limit.min(MAX_READ))));
            let Sql { text, args } = sql;
            bind_args!(sqlx::query_as(AssertSqlSafe(text)), &args)
                .fetch_all(pool)
                .await?
        });
        raws.into_iter()
            .map(|raw| Ok((raw.position(), raw.into_record()?)))
            .collect()
    }

    /// Whether a record is stored after `after`, readable by [`Store::read_log`] now or still
    /// held back; see [`Store::warnings_pending`].
    pub async fn log_pending(&self, after: LogPosition) -> Result<bool> {
        Ok(on_db!(self, |pool, Db| {
            let mut sql = Sql::new("SELECT EXISTS (SELECT 1 FROM records WHERE TRUE");
            Db::stream_beyond(&mut sql, "seq", after.tx(), after.n());
            sql.push(")");
            let Sql { text, args } = sql;
            bind_args!(sqlx::query_scalar(AssertSqlSafe(text)), &args)
                .fetch_one(pool)
                .await?
        }))
    }

    /// The position of the last record [`Store::read_log`] can return now
    /// ([`LogPosition::START`] when none): a follower that starts here sees only new records.
    pub async fn log_head(&self) -> Result<LogPosition> {
        let head: Option<(i64, i64)> = on_db!(self, |pool, Db| {
            sqlx::query_as(AssertSqlSafe(format!(
                "SELECT tx, seq FROM records WHERE {} ORDER BY {} LIMIT 1",
                Db::stream_visible(),
                Db::stream_order("seq", true)
            )))
            .fetch_optional(pool)
            .await?
        });
        Ok(head.map_or(LogPosition::START, |(tx, seq)| LogPosition::new(tx, seq)))
    }

    /// A wake-up for every commit that stores records (see [`Notifications`]). `Some` on
    /// both backends: PostgreSQL LISTEN/NOTIFY across processes; on SQLite an in-process
    /// signal for commits through this store and its clones (other processes: poll).
    pub async fn listen_for_records(&self) -> Result<Option<Notifications>> {
        self.listen(RECORDS_CHANNEL, &self.inner.records).await
    }

    // ----- due instants ------------------------------------------------------------------

    /// The earliest due instant, if any: when the supervision platform must wake next.
    pub async fn next_due(&self) -> Result<Option<DateTime<Utc>>> {
        Ok(on_db!(self, |pool| {
            sqlx::query_scalar("SELECT due_at FROM due_instants ORDER BY due_at LIMIT 1")
                .fetch_optional(pool)
                .await?
        }))
    }

    /// Up to `limit` (at most 10 000) due instants at or before `until`, earliest first.
    pub async fn due_until(&self, until: DateTime<Utc>, limit: u32) -> Result<Vec<DueInstant>> {
        let raws: Vec<RawDue> = on_db!(self, |pool| {
            sqlx::query_as(
                "SELECT case_no, clock, due_at FROM due_instants WHERE due_at <= $1 \
                 ORDER BY due_at, case_no, clock LIMIT $2",
            )
            .bind(micros(until))
            .bind(i64::from(limit.min(MAX_READ)))
            .fetch_all(pool)
            .await?
        });
        Ok(raws.into_iter().map(DueInstant::from).collect())
    }

    /// The due instants of one case, earliest first.
    pub async fn due_for_case(&self, case_no: &str) -> Result<Vec<DueInstant>> {
        let raws: Vec<RawDue> = on_db!(self, |pool| {
            sqlx::query_as(
                "SELECT case_no, clock, due_at FROM due_instants WHERE case_no = $1 \
                 ORDER BY due_at, clock",
            )
            .bind(case_no)
            .fetch_all(pool)
            .await?
        });
        Ok(raws.into_iter().map(DueInstant::from).collect())
    }

    /// How many due instants are pending.
    pub async fn count_open_due(&self) -> Result<u64> {
        let n: i64 = on_db!(self, |pool| {
            sqlx::query_scalar("SELECT COUNT(*) FROM due_instants")
                .fetch_one(pool)
                .await?
        });
        Ok(u64::try_from(n).unwrap_or_default())
    }

    /// Replaces the due instants of many cases in ONE transaction with multi-row statements
    /// (after a rule configuration change moved them). A case is replaced only while it is
    /// still at `expected_version`: one a commit changed meanwhile was written with fresh due
    /// instants by that commit and is left alone. Returns the cases replaced, in input order.
    /// Wakes the listeners of [`Store::listen_for_records`], so a due loop asleep until a
    /// later instant looks again.
    pub async fn replace_due(&self, cases: &[DueReplacement]) -> Result<Vec<String>> {
        if cases.is_empty() {
            return Ok(Vec::new());
        }
        for c in cases {
            let mut clocks = HashSet::new();
            if let Some(d) = c
                .due
                .iter()
                .find(|d| d.case_no != c.case_no || !clocks.insert(d.clock.as_str()))
            {
                return Err(StoreError::InvalidInput(
                    format!(
                        "due instant {:?} of case {:?} is replaced with case {:?} or twice",
                        d.clock, d.case_no, c.case_no
                    )
                    .into(),
                ));
            }
        }
        let keys = distinct(cases.iter().map(|c| c.case_no.as_str()));
        let replaced: Vec<String> = on_db!(self, |pool, Db| {
            let mut tx = Db::begin_write(pool).await?;
            let versions: Vec<(String, i64)> = sqlx::query_as(AssertSqlSafe(format!(
                "SELECT case_no, version FROM cases WHERE {} ORDER BY case_no{}",
                Db::one_of("case_no", "$1"),
                Db::FOR_UPDATE
            )))
            .bind(Keys(keys.clone()))
            .fetch_all(&mut *tx)
            .await?;
            let versions: HashMap<String, i64> = versions.into_iter().collect();
            let current: Vec<&DueReplacement> = cases
                .iter()
                .filter(|c| versions.get(&c.case_no) == Some(&c.expected_version))
                .collect();
            if !current.is_empty() {
                let replaced = distinct(current.iter().map(|c| c.case_no.as_str()));
                sqlx::query(AssertSqlSafe(format!(
                    "DELETE FROM due_instants WHERE {}",
                    Db::one_of("case_no", "$1")
                )))
                .bind(Keys(replaced))
                .execute(&mut *tx)
                .await?;
                let due: Vec<DueInstant> = current
                    .iter()
                    .flat_map(|c| &c.due)
                    .map(|d| DueInstant {
                        due_at: micros(d.due_at),
                        ..d.clone()
                    })
                    .collect();
                if !due.is_empty() {
                    Db::insert_due(&mut tx, &due).await?;
                }
                Db::notify(&mut tx, RECORDS_CHANNEL).await?;
            }
            tx.commit().await?;
            current.iter().map(|c| c.case_no.clone()).collect()
        });
        if !replaced.is_empty() {
            self.inner.records.send_modify(|n| *n += 1);
        }
        Ok(replaced)
    }

    /// Up to `limit` case numbers after `after` (exclusive), in case-number order, of the
    /// cases whose state is not one of `closed_states` and that belong to one of `departments`
    /// or one of `matters` (every case when `scope` is None): the open cases a rule
    /// configuration change concerns.
    pub async fn open_case_nos(
        &self,
        closed_states: &[String],
        scope: Option<(&[String], &[String])>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<String>> {
        let mut sql = Sql::new("SELECT case_no FROM cases WHERE TRUE");
        if let Some(after) = after {
            sql.push(" AND case_no > ")
                .bind(Arg::Text(after.to_owned()));
        }
        if !closed_states.is_empty() {
            sql.push(" AND state NOT IN (");
            for (i, s) in closed_states.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.bind(Arg::Text(s.clone()));
            }
            sql.push(")");
        }
        if let Some((departments, matters)) = scope {
            sql.push(" AND (FALSE");
            for (column, values) in [("department", departments), ("matter_code", matters)] {
                for v in values {
                    sql.push(" OR ").push(column).push(" = ");
                    sql.bind(Arg::Text(v.clone()));
                }
            }
            sql.push(")");
        }
        sql.push(" ORDER BY case_no LIMIT ")
            .bind(Arg::I64(i64::from(limit.min(MAX_READ))));
        let Sql { text, args } = sql;
        Ok(on_db!(self, |pool| {
            bind_args!(sqlx::query_scalar(AssertSqlSafe(text)), &args)
                .fetch_all(pool)
                .await?
        }))
    }

    // ----- the rule configuration --------------------------------------------------------

    /// The rule configuration in force, as `(version, json)`: the newest stored version, or
    /// None when none was ever stored (the platforms then use the built-in one).
    pub async fn get_rule_config(&self) -> Result<Option<(i64, String)>> {
        Ok(on_db!(self, |pool| {
            sqlx::query_as("SELECT version, config FROM rule_configs ORDER BY version DESC LIMIT 1")
                .fetch_optional(pool)
                .await?
        }))
    }

    /// Stores `json` as the rule configuration in force, if the one in force is still
    /// `expected_version` (0: none stored yet). Returns the new version (`expected + 1`), or
    /// None, writing nothing, when another writer stored a version meanwhile: reload, reapply
    /// the change and retry. The store does not read the JSON; its owner validates it.
    pub async fn put_rule_config(&self, expected_version: i64, json: &str) -> Result<Option<i64>> {
        let version = expected_version.saturating_add(1);
        let stored = on_db!(self, |pool, Db| {
            let mut tx = Db::begin_write(pool).await?;
            let current: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM rule_configs")
                .fetch_one(&mut *tx)
                .await?;
            let stored = if current.unwrap_or(0) == expected_version {
                // A concurrent writer of the same version makes this insert a no-op.
                sqlx::query(
                    "INSERT INTO rule_configs (version, config, created_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (version) DO NOTHING",
                )
                .bind(version)
                .bind(json)
                .bind(micros(Utc::now()))
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1
            } else {
                false
            };
            tx.commit().await?;
            stored
        });
        Ok(stored.then_some(version))
    }

    // ----- warnings ----------------------------------------------------------------------

    /// In ONE transaction: deletes the fired due instants that still have exactly their
    /// `due_at` (one a commit replaced or removed meanwhile stays, to fire at its new time or
    /// never), and inserts the warning of each instant actually deleted, skipping any
    /// (case_no, rule, level) already stored. Returns only the new warnings, in stream order,
    /// so firing twice raises once.
    pub async fn fire_due(&self, firings: &[Firing]) -> Result<Vec<WarningRow>> {
        self.write_supervision(firings, None, &[]).await
    }

    /// Inserts warnings like [`Store::fire_due`], without due instants.
    pub async fn insert_warnings(&self, warnings: &[NewWarning]) -> Result<Vec<WarningRow>> {
        self.write_supervision(&[], None, warnings).await
    }

    /// The warning `id`, if stored.
    pub async fn get_warning(&self, id: i64) -> Result<Option<WarningRow>> {
        let raw: Option<RawWarning> = on_db!(self, |pool| {
            sqlx::query_as(AssertSqlSafe(format!(
                "SELECT {WARNING_COLUMNS} FROM warnings WHERE id = $1"
            )))
            .bind(id)
            .fetch_optional(pool)
            .await?
        });
        raw.map(RawWarning::into_row).transpose()
    }

    /// Warnings matching `filter`, one page at a time, as the warning stream shows them: in
    /// stream order, and only those [`Store::read_warnings`] can return now (on PostgreSQL a
    /// warning written after a transaction still open on the server is held back until that
    /// transaction ends). The token is `Some` when more rows follow; it is the position of
    /// the page's last warning (its `Display` string), and a token that is not a warning
    /// position is [`StoreError::InvalidPageToken`].
    ///
    /// Listing and streaming are one view: a client may list, then stream from the
    /// `position` of any listed warning, and miss nothing, since no warning can later appear
    /// before a position that was listed.
    pub async fn list_warnings(
        &self,
        filter: &WarningFilter,
        page: Page,
    ) -> Result<(Vec<WarningRow>, Option<String>)> {
        let size = page.effective_size();
        let after = match &page.token {
            None => WarningPosition::START,
            Some(token) => token
                .parse::<WarningPosition>()
                .map_err(|_| StoreError::InvalidPageToken)?,
        };
        let rows = self.warnings_after(after, filter, size + 1).await?;
        Ok(paginate(rows, size, |w| w.position.to_string()))
    }

    /// Up to `limit` (at most 10 000) warnings matching `filter` after `after`, in stream
    /// order, for a resumable stream; never skips a warning (same rule as
    /// [`Store::read_log`]). Resume from the `position` of the last warning processed.
    pub async fn read_warnings(
        &self,
        after: WarningPosition,
        filter: &WarningFilter,
        limit: u32,
    ) -> Result<Vec<WarningRow>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        self.warnings_after(after, filter, limit.min(MAX_READ))
            .await
    }

    /// Whether a warning matching `filter` is stored after `after`, readable by
    /// [`Store::read_warnings`] now or still held back. A reader whose read came back empty
    /// asks this to know whether to look again soon: on PostgreSQL a warning held back behind
    /// an open transaction becomes readable when that transaction ends, and nothing notifies
    /// that.
    pub async fn warnings_pending(
        &self,
        after: WarningPosition,
        filter: &WarningFilter,
    ) -> Result<bool> {
        Ok(on_db!(self, |pool, Db| {
            let mut sql = Sql::new("SELECT EXISTS (SELECT 1 FROM warnings WHERE TRUE");
            Db::stream_beyond(&mut sql, "pos", after.tx(), after.n());
            warning_filter(&mut sql, filter);
            sql.push(")");
            let Sql { text, args } = sql;
            bind_args!(sqlx::query_scalar(AssertSqlSafe(text)), &args)
                .fetch_one(pool)
                .await?
        }))
    }

    /// The position of the last warning [`Store::read_warnings`] can return now
    /// ([`WarningPosition::START`] when none).
    pub async fn warnings_head(&self) -> Result<WarningPosition> {
        let head: Option<(i64, i64)> = on_db!(self, |pool, Db| {
            sqlx::query_as(AssertSqlSafe(format!(
                "SELECT tx, pos FROM warnings WHERE {} ORDER BY {} LIMIT 1",
                Db::stream_visible(),
                Db::stream_order("pos", true)
            )))
            .fetch_optional(pool)
            .await?
        });
        Ok(head.map_or(WarningPosition::START, |(tx, id)| {
            WarningPosition::new(tx, id)
        }))
    }

    /// A wake-up for every write that stores new warnings; see
    /// [`Store::listen_for_records`].
    pub async fn listen_for_warnings(&self) -> Result<Option<Notifications>> {
        self.listen(WARNINGS_CHANNEL, &self.inner.warnings).await
    }

    // ----- consumer cursors --------------------------------------------------------------

    /// The persisted position of a follower, if it has one.
    pub async fn get_cursor(&self, consumer: &str) -> Result<Option<String>> {
        Ok(on_db!(self, |pool| {
            sqlx::query_scalar("SELECT position FROM consumer_cursors WHERE consumer = $1")
                .bind(consumer)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// Persists the position of a follower.
    pub async fn set_cursor(&self, consumer: &str, position: &str) -> Result<()> {
        self.write_supervision(&[], Some((consumer, position)), &[])
            .await
            .map(drop)
    }

    /// In ONE transaction: persists the follower's position and inserts the warnings it
    /// derived from what it read (skipping any already stored), so a restart neither loses
    /// nor repeats them. Returns only the new warnings.
    pub async fn advance_cursor_with_warnings(
        &self,
        consumer: &str,
        position: &str,
        warnings: &[NewWarning],
    ) -> Result<Vec<WarningRow>> {
        self.write_supervision(&[], Some((consumer, position)), warnings)
            .await
    }

    // ----- internals ---------------------------------------------------------------------

    /// The stream read behind [`Store::read_warnings`] and [`Store::list_warnings`], in
    /// stream order `(tx, pos)`: a warning's `pos` moves to the end of the stream at each of
    /// its state changes ([`Store::transition_warning`]), so it is streamed again.
    async fn warnings_after(
        &self,
        after: WarningPosition,
        filter: &WarningFilter,
        limit: u32,
    ) -> Result<Vec<WarningRow>> {
        let raws: Vec<RawWarning> = on_db!(self, |pool, Db| {
            let mut sql = Sql::new(format!("SELECT {WARNING_COLUMNS} FROM warnings WHERE TRUE"));
            Db::stream_after(&mut sql, "pos", after.tx(), after.n());
            warning_filter(&mut sql, filter);
            sql.push(" ORDER BY ")
                .push(&Db::stream_order("pos", false))
                .push(" LIMIT ")
                .bind(Arg::I64(i64::from(limit)));
            let Sql { text, args } = sql;
            bind_args!(sqlx::query_as(AssertSqlSafe(text)), &args)
                .fetch_all(pool)
                .await?
        });
        convert(raws, RawWarning::into_row)
    }

    async fn listen(
        &self,
        channel: &str,
        local: &watch::Sender<u64>,
    ) -> Result<Option<Notifications>> {
        match &self.inner.pool {
            Pools::Postgres(pool) => {
                // A pool of one for the listener alone: it reconnects through it.
                let own = PgPoolOptions::new()
                    .max_connections(1)
                    .max_lifetime(None)
                    .idle_timeout(None)
                    .connect_with((*pool.connect_options()).clone())
                    .await?;
                let mut listener = PgListener::connect_with(&own).await?;
                listener.listen(channel).await?;
                Ok(Some(Notifications::postgres(listener, pool.clone())))
            }
            Pools::Sqlite(pool) => Ok(Some(Notifications::local(local.subscribe(), pool.clone()))),
        }
    }

    /// The one transaction behind `fire_due`, `insert_warnings`, `set_cursor` and
    /// `advance_cursor_with_warnings`.
    async fn write_supervision(
        &self,
        firings: &[Firing],
        cursor: Option<(&str, &str)>,
        warnings: &[NewWarning],
    ) -> Result<Vec<WarningRow>> {
        if firings.is_empty() && cursor.is_none() && warnings.is_empty() {
            return Ok(Vec::new());
        }
        let fired: Vec<DueInstant> = firings
            .iter()
            .map(|f| DueInstant {
                due_at: micros(f.due.due_at),
                ..f.due.clone()
            })
            .collect();
        let mut raws: Vec<RawWarning> = on_db!(self, |pool, Db| {
            let mut tx = Db::begin_write(pool).await?;
            let mut rows: Vec<WarningIns<'_>> = warnings.iter().map(warning_ins).collect();
            if !fired.is_empty() {
                // Only the instants still there are fired: one replaced by a commit meanwhile
                // (the case moved on) raises nothing.
                let deleted: HashSet<(String, String)> = Db::delete_due_exact(&mut tx, &fired)
                    .await?
                    .into_iter()
                    .collect();
                rows.extend(
                    firings
                        .iter()
                        .filter(|f| deleted.contains(&(f.due.case_no.clone(), f.due.clock.clone())))
                        .filter_map(|f| f.warning.as_ref().map(warning_ins)),
                );
            }
            if let Some((consumer, position)) = cursor {
                sqlx::query(UPSERT_CURSOR)
                    .bind(consumer)
                    .bind(position)
                    .bind(micros(Utc::now()))
                    .execute(&mut *tx)
                    .await?;
            }
            let new = if rows.is_empty() {
                Vec::new()
            } else {
                Db::insert_warnings(&mut tx, &rows).await?
            };
            if !new.is_empty() {
                Db::notify(&mut tx, WARNINGS_CHANNEL).await?;
            }
            tx.commit().await?;
            new
        });
        if !raws.is_empty() {
            self.inner.warnings.send_modify(|n| *n += 1);
        }
        raws.sort_by_key(|w| w.id);
        convert(raws, RawWarning::into_row)
    }
}

/// `items` without repeats, first occurrence first.
fn distinct<'a>(items: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut seen = HashSet::new();
    items.filter(|item| seen.insert(*item)).collect()
}

/// Cuts the extra row fetched to know whether another page follows.
fn paginate<T>(
    mut rows: Vec<T>,
    size: u32,
    token: impl Fn(&T) -> String,
) -> (Vec<T>, Option<String>) {
    let size = size as usize;
    if rows.len() > size {
        rows.truncate(size);
        let next = rows.last().map(token);
        (rows, next)
    } else {
        (rows, None)
    }
}

fn warning_filter(sql: &mut Sql, filter: &WarningFilter) {
    sql.eq("department", filter.department.as_deref())
        .prefix("region", filter.region_prefix.as_deref())
        .any_of("level", &filter.levels)
        .eq("rule", filter.rule.as_deref())
        .eq("case_no", filter.case_no.as_deref())
        .eq("state", filter.state.as_deref())
        .eq("coalesce(office, region)", filter.office.as_deref());
}

fn warning_ins(w: &NewWarning) -> WarningIns<'_> {
    WarningIns {
        case_no: &w.case_no,
        rule: &w.rule,
        level: &w.level,
        department: &w.department,
        region: &w.region,
        matter_code: &w.matter_code,
        due_at: w.due_at.map(micros),
        raised_at: micros(w.raised_at),
        detail: json_text(&w.detail),
    }
}

/// A row of `matter_versions`, read as a matter row and its version.
#[derive(Debug, sqlx::FromRow)]
struct RawMatterVersion {
    version: i64,
    #[sqlx(flatten)]
    matter: RawMatter,
}

impl RawMatterVersion {
    fn split(self) -> (i64, RawMatter) {
        (self.version, self.matter)
    }
}

/// Decides, in input order, what each matter row does; returns the outcomes and the rows to
/// write (the last version of each code that changed).
fn plan_matters(
    matters: &[MatterRow],
    stored: Vec<MatterRow>,
) -> (Vec<UpsertOutcome>, Vec<MatterIns<'_>>) {
    let same = |a: &MatterRow, b: &MatterRow| {
        a.name == b.name
            && a.department == b.department
            && a.kind == b.kind
            && a.definition == b.definition
    };
    let mut current: HashMap<&str, &MatterRow> = HashMap::new();
    let stored: HashMap<String, MatterRow> = stored
        .into_iter()
        .map(|m| (m.matter_code.clone(), m))
        .collect();
    let mut last_write: HashMap<&str, usize> = HashMap::new();
    let mut outcomes = Vec::with_capacity(matters.len());
    for (i, m) in matters.iter().enumerate() {
        let code = m.matter_code.as_str();
        let before = current.get(code).copied().or_else(|| stored.get(code));
        let outcome = match before {
            None => UpsertOutcome::Created,
            Some(before) if same(before, m) => UpsertOutcome::Unchanged,
            Some(_) => UpsertOutcome::Updated,
        };
        if outcome != UpsertOutcome::Unchanged {
            current.insert(code, m);
            last_write.insert(code, i);
        }
        outcomes.push(outcome);
    }
    let mut indexes: Vec<usize> = last_write.into_values().collect();
    indexes.sort_unstable();
    let writes = indexes
        .into_iter()
        .map(|i| {
            let m = &matters[i];
            MatterIns {
                matter_code: &m.matter_code,
                name: &m.name,
                department: &m.department,
                kind: &m.kind,
                definition: json_text(&m.definition),
                updated_at: micros(m.updated_at),
            }
        })
        .collect();
    (outcomes, writes)
}

/// Checks what a commit can check without the database.
fn validate_writes(writes: &[CaseWrite]) -> Result<()> {
    let mut event_ids = HashSet::new();
    for w in writes {
        let case_no = &w.case.case_no;
        let mut clocks = HashSet::new();
        for r in &w.records {
            if &r.case_no != case_no {
                return Err(StoreError::InvalidInput(
                    format!(
                        "record {:?} belongs to case {:?} but is written with case {case_no:?}",
                        r.event_id, r.case_no
                    )
                    .into(),
                ));
            }
            if !event_ids.insert(r.event_id.as_str()) {
                return Err(conflict(case_no));
            }
        }
        if let Some(x) = w.warnings.iter().find(|x| &x.case_no != case_no) {
            return Err(StoreError::InvalidInput(
                format!(
                    "warning {:?} of case {:?} is written with case {case_no:?}",
                    x.rule, x.case_no
                )
                .into(),
            ));
        }
        for d in &w.due {
            if &d.case_no != case_no {
                return Err(StoreError::InvalidInput(
                    format!(
                        "due instant {:?} of case {:?} is written with case {case_no:?}",
                        d.clock, d.case_no
                    )
                    .into(),
                ));
            }
            if !clocks.insert(d.clock.as_str()) {
                return Err(StoreError::InvalidInput(
                    format!("case {case_no:?} lists clock {:?} twice", d.clock).into(),
                ));
            }
        }
    }
    Ok(())
}

/// What a commit writes, computed from the writes and the stored case heads.
#[derive(Debug)]
struct CommitPlan<'a> {
    inserts: Vec<CaseIns<'a>>,
    updates: Vec<CaseIns<'a>>,
    records: Vec<RecordIns<'a>>,
    due: Vec<DueInstant>,
}

/// A case's version and chain head as a commit proceeds through its writes.
#[derive(Debug)]
struct Head {
    /// The version it has now; `None` while it does not exist.
    version: Option<i64>,
    last_hash: String,
    /// The version stored before this commit (what the UPDATE must still find).
    stored: Option<i64>,
    /// The last write of this case in the commit.
    last_write: usize,
}

fn plan_commit(writes: &[CaseWrite], stored: Vec<(String, i64, String)>) -> Result<CommitPlan<'_>> {
    let mut heads: HashMap<&str, Head> = HashMap::new();
    let stored: HashMap<String, (i64, String)> = stored
        .into_iter()
        .map(|(case_no, version, last_hash)| (case_no, (version, last_hash)))
        .collect();
    let mut records = Vec::with_capacity(writes.iter().map(|w| w.records.len()).sum());
    for (i, w) in writes.iter().enumerate() {
        let case_no = w.case.case_no.as_str();
        let head = heads
            .entry(case_no)
            .or_insert_with(|| match stored.get(case_no) {
                Some((version, last_hash)) => Head {
                    version: Some(*version),
                    last_hash: last_hash.clone(),
                    stored: Some(*version),
                    last_write: i,
                },
                None => Head {
                    version: None,
                    last_hash: String::new(),
                    stored: None,
                    last_write: i,
                },
            });
        if head.version != w.expected_version {
            return Err(conflict(case_no));
        }
        for r in &w.records {
            let occurred_at = micros(r.occurred_at);
            let body = json_text(&r.body);
            let hash = chain::record_hash(
                &head.last_hash,
                &r.event_id,
                &r.case_no,
                occurred_at,
                &r.source,
                &r.kind,
                &body,
            );
            let prev_hash = std::mem::replace(&mut head.last_hash, hash.clone());
            records.push(RecordIns {
                event_id: &r.event_id,
                case_no: &r.case_no,
                occurred_at,
                source: &r.source,
                kind: &r.kind,
                body,
                prev_hash,
                hash,
            });
        }
        let added = i64::try_from(w.records.len()).unwrap_or(i64::MAX);
        head.version = Some(w.expected_version.unwrap_or(0).saturating_add(added));
        head.last_write = i;
    }
    // Cases in key order, so concurrent commits touch index entries in the same order.
    let mut heads: Vec<(&str, Head)> = heads.into_iter().collect();
    heads.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let mut plan = CommitPlan {
        inserts: Vec::new(),
        updates: Vec::new(),
        records,
        due: Vec::new(),
    };
    for (_, head) in heads {
        let w = &writes[head.last_write];
        let c = &w.case;
        let row = CaseIns {
            case_no: &c.case_no,
            matter_code: &c.matter_code,
            department: &c.department,
            region: &c.region,
            state: &c.state,
            opened_at: micros(c.opened_at),
            updated_at: micros(c.updated_at),
            version: head.version.unwrap_or(0),
            next_due_at: c.next_due_at.map(micros),
            overdue: c.overdue,
            provisional: c.provisional,
            view: json_text(&c.view),
            last_hash: head.last_hash,
            expected: head.stored.unwrap_or(0),
        };
        plan.due.extend(w.due.iter().map(|d| DueInstant {
            due_at: micros(d.due_at),
            ..d.clone()
        }));
        match head.stored {
            None => plan.inserts.push(row),
            Some(_) => plan.updates.push(row),
        }
    }
    Ok(plan)
}

fn conflict(case_no: &str) -> StoreError {
    StoreError::Conflict {
        case_no: case_no.to_owned(),
    }
}

/// The records of a successful commit as stored, in input order (`planned` is in the same
/// order as the writes' records).
fn stored_records(
    writes: &[CaseWrite],
    planned: Vec<RecordIns<'_>>,
    received_at: DateTime<Utc>,
    seqs: &HashMap<String, i64>,
) -> Result<Vec<StoredRecord>> {
    writes
        .iter()
        .flat_map(|w| &w.records)
        .zip(planned)
        .map(|(r, p)| {
            let seq = *seqs
                .get(p.event_id)
                .ok_or_else(|| StoreError::Corrupt(format!("no seq for {:?}", p.event_id)))?;
            Ok(StoredRecord {
                seq,
                event_id: r.event_id.clone(),
                case_no: r.case_no.clone(),
                occurred_at: p.occurred_at,
                received_at,
                source: r.source.clone(),
                kind: r.kind.clone(),
                body: r.body.clone(),
                prev_hash: p.prev_hash,
                hash: p.hash,
            })
        })
        .collect()
}

// ----- the correction workflow (docs/design.md §3) ------------------------------------------------

/// The conditions of a card whose correction due has come and that still awaits its answer:
/// in a state the domain says awaits one ([`WarningState::awaiting_answer`]), and, for a yellow
/// card, no red card of the same case and rule yet (the red card is what a passed yellow
/// card's due raises, once). Rendered from the domain's names once.
fn awaiting_correction() -> &'static str {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        let states: Vec<String> = WarningState::awaiting_answer()
            .map(|s| format!("'{}'", s.as_str()))
            .collect();
        let (yellow, red) = (Level::YellowCard.as_str(), Level::RedCard.as_str());
        format!(
            "state IN ({}) \
             AND correction_due_at IS NOT NULL \
             AND NOT (level = '{yellow}' AND EXISTS (SELECT 1 FROM warnings r \
                 WHERE r.case_no = w.case_no AND r.rule = w.rule AND r.level = '{red}'))",
            states.join(", ")
        )
    });
    &SQL
}

impl Store {
    /// In ONE transaction: moves warning `id` from state `expected` to `new_state` and records
    /// the transition (who, when, why, attachments) in its history. The warning moves to the
    /// end of the warning stream, so streams show it again in its new state. Optimistic:
    /// [`StoreError::Conflict`] (naming the warning's case) when the warning is no longer in
    /// `expected`, [`StoreError::NotFound`] for an unknown id. The store does not judge
    /// whether the move is allowed; the domain's workflow does.
    #[allow(clippy::too_many_arguments)]
    pub async fn transition_warning(
        &self,
        id: i64,
        expected: &str,
        new_state: &str,
        actor: &str,
        reason: &str,
        attachments: &[String],
        at: DateTime<Utc>,
    ) -> Result<WarningRow> {
        self.move_warning(
            id,
            expected,
            new_state,
            actor,
            reason,
            attachments,
            at,
            None,
        )
        .await
    }

    /// Like [`Store::transition_warning`], and in the same transaction hands the warning to
    /// another supervision office with a new correction due, as `to` says; only while the
    /// warning is still held by `to.from_office` (and, when `to.expected_due` is set, still has
    /// that correction due), so two instances firing one passed due, or a supervisor and the
    /// rules at once, move it once ([`StoreError::Conflict`] for the later). A card left with
    /// no correction due and an office set is never stamped again.
    #[allow(clippy::too_many_arguments)]
    pub async fn reassign_warning(
        &self,
        id: i64,
        expected: &str,
        new_state: &str,
        actor: &str,
        reason: &str,
        attachments: &[String],
        at: DateTime<Utc>,
        to: &Reassignment<'_>,
    ) -> Result<WarningRow> {
        self.move_warning(
            id,
            expected,
            new_state,
            actor,
            reason,
            attachments,
            at,
            Some(to),
        )
        .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn move_warning(
        &self,
        id: i64,
        expected: &str,
        new_state: &str,
        actor: &str,
        reason: &str,
        attachments: &[String],
        at: DateTime<Utc>,
        to: Option<&Reassignment<'_>>,
    ) -> Result<WarningRow> {
        let at = micros(at);
        let attachments = serde_json::Value::from(attachments.to_vec());
        let raw: RawWarning = on_db!(self, |pool, Db| {
            let mut tx = Db::begin_write(pool).await?;
            let sql = match to {
                None => format!(
                    "UPDATE warnings SET state = $1, {} WHERE id = $2 AND state = $3 \
                     RETURNING {WARNING_COLUMNS}",
                    Db::BUMP_WARNING
                ),
                Some(_) => format!(
                    "UPDATE warnings SET state = $1, office = $4, correction_due_at = $5, {} \
                     WHERE id = $2 AND state = $3 AND coalesce(office, region) = $6 \
                     AND ($7 IS NULL OR correction_due_at = $7) RETURNING {WARNING_COLUMNS}",
                    Db::BUMP_WARNING
                ),
            };
            let mut query = sqlx::query_as(AssertSqlSafe(sql))
                .bind(new_state)
                .bind(id)
                .bind(expected);
            if let Some(to) = to {
                query = query
                    .bind(to.office)
                    .bind(to.correction_due_at.map(micros))
                    .bind(to.from_office)
                    .bind(to.expected_due.map(micros));
            }
            let updated: Option<RawWarning> = query.fetch_optional(&mut *tx).await?;
            let Some(row) = updated else {
                let case_no: Option<String> =
                    sqlx::query_scalar("SELECT case_no FROM warnings WHERE id = $1")
                        .bind(id)
                        .fetch_optional(&mut *tx)
                        .await?;
                return Err(match case_no {
                    None => StoreError::NotFound {
                        what: "warning",
                        key: id.to_string(),
                    },
                    Some(case_no) => StoreError::Conflict { case_no },
                });
            };
            sqlx::query(
                "INSERT INTO warning_transitions \
                     (warning_id, at, actor, from_state, to_state, reason, attachments, \
                      to_office) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(id)
            .bind(at)
            .bind(actor)
            .bind(expected)
            .bind(new_state)
            .bind(reason)
            .bind(json_text(&attachments))
            .bind(to.map(|t| t.office))
            .execute(&mut *tx)
            .await?;
            Db::notify(&mut tx, WARNINGS_CHANNEL).await?;
            tx.commit().await?;
            row
        });
        self.inner.warnings.send_modify(|n| *n += 1);
        raw.into_row()
    }

    /// The recorded transitions of warning `id`, oldest first (empty for a warning never
    /// moved, or unknown). The raise itself is the warning's `raised_at`.
    pub async fn warning_history(&self, id: i64) -> Result<Vec<WarningTransitionRow>> {
        type Raw = (
            i64,
            DateTime<Utc>,
            String,
            String,
            String,
            String,
            String,
            Option<String>,
        );
        let raws: Vec<Raw> = on_db!(self, |pool| {
            sqlx::query_as(
                "SELECT warning_id, at, actor, from_state, to_state, reason, attachments, \
                     to_office \
                 FROM warning_transitions WHERE warning_id = $1 ORDER BY id",
            )
            .bind(id)
            .fetch_all(pool)
            .await?
        });
        raws.into_iter()
            .map(
                |(warning_id, at, actor, from_state, to_state, reason, attachments, to_office)| {
                    let attachments = serde_json::from_str(&attachments).map_err(|e| {
                        StoreError::InvalidInput(format!("stored attachments: {e}").into())
                    })?;
                    Ok(WarningTransitionRow {
                        warning_id,
                        at,
                        actor,
                        from_state,
                        to_state,
                        reason,
                        attachments,
                        to_office,
                    })
                },
            )
            .collect()
    }

    /// Up to `limit` (at most 10 000) cards whose correction due is at or before `until` and
    /// that still await their answer (raised or acknowledged; a yellow card only while its
    /// case has no red card of the same rule), earliest due first.
    pub async fn due_corrections(
        &self,
        until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<WarningRow>> {
        let raws: Vec<RawWarning> = on_db!(self, |pool| {
            sqlx::query_as(AssertSqlSafe(format!(
                "SELECT {WARNING_COLUMNS} FROM warnings w WHERE {} \
                 AND correction_due_at <= $1 ORDER BY correction_due_at, id LIMIT $2",
                awaiting_correction()
            )))
            .bind(micros(until))
            .bind(i64::from(limit.min(MAX_READ)))
            .fetch_all(pool)
            .await?
        });
        convert(raws, RawWarning::into_row)
    }

    /// The earliest correction due of a card still awaiting its answer (see
    /// [`Store::due_corrections`]), if any.
    pub async fn next_correction_due(&self) -> Result<Option<DateTime<Utc>>> {
        Ok(on_db!(self, |pool| {
            sqlx::query_scalar(AssertSqlSafe(format!(
                "SELECT correction_due_at FROM warnings w WHERE {} \
                 ORDER BY correction_due_at LIMIT 1",
                awaiting_correction()
            )))
            .fetch_optional(pool)
            .await?
        }))
    }

    /// Up to `limit` yellow and red cards without a correction due yet, still with the office
    /// of their case's region (never reassigned), oldest first: the supervision platform
    /// computes their dues and stores them with [`Store::set_correction_dues`].
    pub async fn cards_without_correction_due(&self, limit: u32) -> Result<Vec<WarningRow>> {
        let raws: Vec<RawWarning> = on_db!(self, |pool| {
            sqlx::query_as(AssertSqlSafe(format!(
                "SELECT {WARNING_COLUMNS} FROM warnings \
                 WHERE level IN ('yellow_card', 'red_card') AND correction_due_at IS NULL \
                 AND office IS NULL ORDER BY id LIMIT $1"
            )))
            .bind(i64::from(limit.min(MAX_READ)))
            .fetch_all(pool)
            .await?
        });
        convert(raws, RawWarning::into_row)
    }

    /// In ONE transaction: sets the correction due of each (warning id, due) that has none
    /// yet, and its first correction due (kept through escalations, which replace the due:
    /// scores judge "corrected in time" against it). Not a state change: the warnings keep
    /// their place in the stream.
    pub async fn set_correction_dues(&self, dues: &[(i64, DateTime<Utc>)]) -> Result<()> {
        if dues.is_empty() {
            return Ok(());
        }
        on_db!(self, |pool, Db| {
            let mut tx = Db::begin_write(pool).await?;
            for (id, due) in dues {
                sqlx::query(
                    "UPDATE warnings SET correction_due_at = $1, \
                     first_correction_due_at = coalesce(first_correction_due_at, $1) \
                     WHERE id = $2 AND correction_due_at IS NULL",
                )
                .bind(micros(*due))
                .bind(*id)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }
}
