//! The PostgreSQL half of [`Dialect`]: multi-row writes as `INSERT ... SELECT FROM UNNEST`
//! over one array per column (one statement, one fixed SQL text, whatever the batch size), key
//! lists as `= ANY(text[])`, NOTIFY in the writing transaction, and the commit-ordered stream
//! condition (docs/design.md §7).
//!
//! Streams never skip a row: a sequence value is taken before commit, so a transaction that
//! commits late can hold a smaller `seq` than rows already read. Every row therefore stores the
//! id of its writing transaction (`tx`, from `pg_current_xact_id()`), and a stream returns only
//! rows with `tx` below the oldest transaction still running (`pg_snapshot_xmin` of the
//! reading statement's snapshot), in `(tx, seq)` order. Every transaction below that horizon
//! has finished, so no row can later appear before a position already handed out. The price:
//! the stream lags behind the oldest open writing transaction that may write here, so keep
//! writing transactions short.
//!
//! Transaction ids are cluster-wide, and `pg_snapshot_xmin` counts the writing transactions of
//! every database of the server: a slow `CREATE DATABASE` or a long batch job of another
//! application held every follower back (seen as a record stream "caught up" with nothing in
//! it, and warnings late, while other databases were busy). The horizon [`HORIZON`] therefore
//! waits only for transactions that can have written rows here; see its comment for why it
//! still never skips a row.
//!
//! That horizon can step back for a moment: a transaction of another database that commits
//! between the snapshot and the status check is counted as one that may have written here
//! (nothing is known of it any more). A horizon once computed stays valid (the transactions
//! below it have ended for good), so each store keeps the largest it has proven, raised by
//! every position it hands out, and the condition is never below it: a head read after a
//! record was streamed does not fall behind that record.

use chrono::{DateTime, Utc};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgBindIterExt, PgConnection, PgPool, PgTypeInfo};
use sqlx::{Encode, Pool, Postgres, Row, Transaction, Type};

use crate::dialect::{Arg, CaseIns, Dialect, Keys, MatterIns, RecordIns, Sql, WarningIns};
use crate::error::Result;
use crate::model::{CalendarDayRow, DueInstant};
use crate::rows::{RawWarning, warning_columns};

/// "Written by a transaction older than every transaction still running that may have written
/// here": the horizon is the smallest xid of the statement's snapshot `s` still in progress
/// (`pg_snapshot_xip`) that is either of this database or finished since `s` was taken, else
/// `s`'s xmax; as a bigint like the `tx` columns.
///
/// Why no row is skipped: a row with `tx` below the horizon was written by a transaction that,
/// when `s` was taken, had either finished (its rows are in `s`, or it aborted) or was in
/// progress. One in progress then is below the horizon only if it was still in progress when
/// `pg_xact_status` looked, after `s`, and was not a transaction of this database in
/// `pg_stat_activity` (read after `s` too; a transaction gets its xid before it writes a row, and
/// a finished transaction never runs again): it belongs to another database and wrote nothing
/// here. Ids of `pg_stat_activity` are 32-bit; an xid of `s`'s in-progress list is matched on its
/// low 32 bits, which is unambiguous among transactions running at once. Not covered: prepared
/// (two-phase) transactions, which have no backend; egov never prepares one.
const HORIZON: &str = "(SELECT least(pg_snapshot_xmax(s)::text::bigint, \
     (SELECT min(x::text::bigint) FROM pg_snapshot_xip(s) AS x \
       WHERE pg_xact_status(x) IS DISTINCT FROM 'in progress' \
          OR x::text::bigint % 4294967296 IN \
             (SELECT backend_xid::text::bigint FROM pg_stat_activity \
               WHERE datname = current_database() AND backend_xid IS NOT NULL))) \
   FROM pg_current_snapshot() AS s)";

impl Type<Postgres> for Keys<'_> {
    fn type_info() -> PgTypeInfo {
        <Vec<&str> as Type<Postgres>>::type_info()
    }

    fn compatible(ty: &PgTypeInfo) -> bool {
        <Vec<&str> as Type<Postgres>>::compatible(ty)
    }
}

impl Encode<'_, Postgres> for Keys<'_> {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        <&[&str] as Encode<Postgres>>::encode_by_ref(&self.0.as_slice(), buf)
    }
}

impl Dialect for Postgres {
    const FOR_UPDATE: &'static str = " FOR UPDATE";

    const LOCK_AUDIT: Option<&'static str> = Some("LOCK TABLE audit_log IN EXCLUSIVE MODE");

    async fn begin_write(pool: &PgPool) -> Result<Transaction<'static, Postgres>> {
        Ok(pool.begin().await?)
    }

    async fn begin_read(pool: &Pool<Postgres>) -> Result<Transaction<'static, Postgres>> {
        Ok(pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .await?)
    }

    fn one_of(column: &str, param: &str) -> String {
        format!("{column} = ANY({param})")
    }

    fn stream_after(sql: &mut Sql, n_col: &str, tx: i64, n: i64, floor: i64) {
        Self::stream_beyond(sql, n_col, tx, n);
        sql.push(" AND ");
        Self::stream_visible(sql, floor);
    }

    fn stream_beyond(sql: &mut Sql, n_col: &str, tx: i64, n: i64) {
        sql.push(" AND (tx, ").push(n_col).push(") > (");
        sql.bind(Arg::I64(tx))
            .push(", ")
            .bind(Arg::I64(n))
            .push(")");
    }

    fn stream_order(n_col: &str, descending: bool) -> String {
        if descending {
            format!("tx DESC, {n_col} DESC")
        } else {
            format!("tx, {n_col}")
        }
    }

    const BUMP_WARNING: &'static str =
        "tx = pg_current_xact_id()::text::bigint, pos = nextval('warnings_pos')";

    fn stream_visible(sql: &mut Sql, floor: i64) {
        sql.push("tx < greatest(")
            .bind(Arg::I64(floor))
            .push(", ")
            .push(HORIZON)
            .push(")");
    }

    async fn insert_days(
        conn: &mut PgConnection,
        calendar_id: &str,
        days: &[CalendarDayRow],
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO calendar_days (calendar_id, day, kind, name) \
             SELECT $1, * FROM UNNEST($2::date[], $3::text[], $4::text[])",
        )
        .bind(calendar_id)
        .bind(days.iter().map(|d| d.date).bind_iter())
        .bind(days.iter().map(|d| d.kind.as_str()).bind_iter())
        .bind(days.iter().map(|d| d.name.as_str()).bind_iter())
        .execute(conn)
        .await?;
        Ok(())
    }

    async fn upsert_matters(conn: &mut PgConnection, rows: &[MatterIns<'_>]) -> Result<()> {
        sqlx::query(
            "INSERT INTO matters (matter_code, name, department, kind, definition, updated_at) \
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], \
                                  $6::timestamptz[]) \
             ON CONFLICT (matter_code) DO UPDATE SET name = excluded.name, \
                department = excluded.department, kind = excluded.kind, \
                definition = excluded.definition, updated_at = excluded.updated_at",
        )
        .bind(rows.iter().map(|m| m.matter_code).bind_iter())
        .bind(rows.iter().map(|m| m.name).bind_iter())
        .bind(rows.iter().map(|m| m.department).bind_iter())
        .bind(rows.iter().map(|m| m.kind).bind_iter())
        .bind(rows.iter().map(|m| m.definition.as_str()).bind_iter())
        .bind(rows.iter().map(|m| m.updated_at).bind_iter())
        .execute(conn)
        .await?;
        Ok(())
    }

    async fn insert_cases(conn: &mut PgConnection, rows: &[CaseIns<'_>]) -> Result<Vec<String>> {
        let inserted = bind_cases(
            sqlx::query(
                "INSERT INTO cases (case_no, matter_code, department, region, state, opened_at, \
                 updated_at, version, next_due_at, overdue, provisional, view, last_hash) \
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], \
                 $6::timestamptz[], $7::timestamptz[], $8::bigint[], $9::timestamptz[], \
                 $10::bool[], $11::bool[], $12::text[], $13::text[]) \
             ON CONFLICT (case_no) DO NOTHING \
             RETURNING case_no",
            ),
            rows,
        )
        .fetch_all(conn)
        .await?;
        Ok(inserted
            .iter()
            .map(|row| row.try_get(0))
            .collect::<Result<_, _>>()?)
    }

    async fn update_cases(conn: &mut PgConnection, rows: &[CaseIns<'_>]) -> Result<u64> {
        let done = bind_cases(
            sqlx::query(
                "UPDATE cases AS c SET matter_code = u.matter_code, department = u.department, \
                 region = u.region, state = u.state, opened_at = u.opened_at, \
                 updated_at = u.updated_at, version = u.version, next_due_at = u.next_due_at, \
                 overdue = u.overdue, provisional = u.provisional, view = u.view, \
                 last_hash = u.last_hash \
             FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], \
                 $6::timestamptz[], $7::timestamptz[], $8::bigint[], $9::timestamptz[], \
                 $10::bool[], $11::bool[], $12::text[], $13::text[], $14::bigint[]) \
               AS u(case_no, matter_code, department, region, state, opened_at, updated_at, \
                    version, next_due_at, overdue, provisional, view, last_hash, expected) \
             WHERE c.case_no = u.case_no AND c.version = u.expected",
            ),
            rows,
        )
        .bind(rows.iter().map(|c| c.expected).bind_iter())
        .execute(conn)
        .await?;
        Ok(done.rows_affected())
    }

    async fn insert_records(
        conn: &mut PgConnection,
        received_at: DateTime<Utc>,
        rows: &[RecordIns<'_>],
    ) -> Result<Vec<(i64, String)>> {
        // ORDER BY the array position: `seq` must follow the order of the chain.
        Ok(sqlx::query_as(
            "INSERT INTO records (event_id, case_no, occurred_at, received_at, source, kind, \
                 body, prev_hash, hash) \
             SELECT event_id, case_no, occurred_at, $9, source, kind, body, prev_hash, hash \
             FROM UNNEST($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::text[], \
                 $6::text[], $7::text[], $8::text[]) WITH ORDINALITY \
               AS u(event_id, case_no, occurred_at, source, kind, body, prev_hash, hash, ord) \
             ORDER BY ord \
             ON CONFLICT (event_id) DO NOTHING \
             RETURNING seq, event_id",
        )
        .bind(rows.iter().map(|r| r.event_id).bind_iter())
        .bind(rows.iter().map(|r| r.case_no).bind_iter())
        .bind(rows.iter().map(|r| r.occurred_at).bind_iter())
        .bind(rows.iter().map(|r| r.source).bind_iter())
        .bind(rows.iter().map(|r| r.kind).bind_iter())
        .bind(rows.iter().map(|r| r.body.as_str()).bind_iter())
        .bind(rows.iter().map(|r| r.prev_hash.as_str()).bind_iter())
        .bind(rows.iter().map(|r| r.hash.as_str()).bind_iter())
        .bind(received_at)
        .fetch_all(conn)
        .await?)
    }

    async fn insert_due(conn: &mut PgConnection, rows: &[DueInstant]) -> Result<()> {
        sqlx::query(
            "INSERT INTO due_instants (case_no, clock, due_at) \
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::timestamptz[])",
        )
        .bind(rows.iter().map(|d| d.case_no.as_str()).bind_iter())
        .bind(rows.iter().map(|d| d.clock.as_str()).bind_iter())
        .bind(rows.iter().map(|d| d.due_at).bind_iter())
        .execute(conn)
        .await?;
        Ok(())
    }

    async fn set_correction_dues(
        conn: &mut PgConnection,
        dues: &[(i64, DateTime<Utc>)],
    ) -> Result<()> {
        sqlx::query(
            "UPDATE warnings AS w SET correction_due_at = u.due, \
             first_correction_due_at = coalesce(w.first_correction_due_at, u.due) \
             FROM UNNEST($1::bigint[], $2::timestamptz[]) AS u(id, due) \
             WHERE w.id = u.id AND w.correction_due_at IS NULL",
        )
        .bind(dues.iter().map(|(id, _)| *id).bind_iter())
        .bind(dues.iter().map(|(_, due)| *due).bind_iter())
        .execute(conn)
        .await?;
        Ok(())
    }

    async fn delete_due_exact(
        conn: &mut PgConnection,
        rows: &[DueInstant],
    ) -> Result<Vec<(String, String)>> {
        // Rows are locked in (case_no, clock) order before they are deleted: a commit deletes
        // a case's instants in that (primary key) order too, so the two cannot deadlock.
        Ok(sqlx::query_as(
            "WITH locked AS ( \
                 SELECT d.case_no, d.clock FROM due_instants AS d \
                 JOIN UNNEST($1::text[], $2::text[], $3::timestamptz[]) AS f(case_no, clock, due_at) \
                   ON d.case_no = f.case_no AND d.clock = f.clock AND d.due_at = f.due_at \
                 ORDER BY d.case_no, d.clock \
                 FOR UPDATE OF d) \
             DELETE FROM due_instants AS d USING locked AS l \
             WHERE d.case_no = l.case_no AND d.clock = l.clock \
             RETURNING d.case_no, d.clock",
        )
        .bind(rows.iter().map(|d| d.case_no.as_str()).bind_iter())
        .bind(rows.iter().map(|d| d.clock.as_str()).bind_iter())
        .bind(rows.iter().map(|d| d.due_at).bind_iter())
        .fetch_all(conn)
        .await?)
    }

    async fn insert_warnings(
        conn: &mut PgConnection,
        rows: &[WarningIns<'_>],
    ) -> Result<Vec<RawWarning>> {
        Ok(sqlx::query_as(concat!(
            "INSERT INTO warnings (case_no, rule, level, department, region, matter_code, \
                 due_at, raised_at, detail) \
             SELECT case_no, rule, level, department, region, matter_code, due_at, raised_at, \
                 detail \
             FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], \
                 $6::text[], $7::timestamptz[], $8::timestamptz[], $9::text[]) WITH ORDINALITY \
               AS u(case_no, rule, level, department, region, matter_code, due_at, raised_at, \
                    detail, ord) \
             ORDER BY ord \
             ON CONFLICT (case_no, rule, level) DO NOTHING \
             RETURNING ",
            warning_columns!()
        ))
        .bind(rows.iter().map(|w| w.case_no).bind_iter())
        .bind(rows.iter().map(|w| w.rule).bind_iter())
        .bind(rows.iter().map(|w| w.level).bind_iter())
        .bind(rows.iter().map(|w| w.department).bind_iter())
        .bind(rows.iter().map(|w| w.region).bind_iter())
        .bind(rows.iter().map(|w| w.matter_code).bind_iter())
        .bind(rows.iter().map(|w| w.due_at).bind_iter())
        .bind(rows.iter().map(|w| w.raised_at).bind_iter())
        .bind(rows.iter().map(|w| w.detail.as_str()).bind_iter())
        .fetch_all(conn)
        .await?)
    }

    async fn notify(conn: &mut PgConnection, channel: &str) -> Result<()> {
        sqlx::query("SELECT pg_notify($1, '')")
            .bind(channel)
            .execute(conn)
            .await?;
        Ok(())
    }

    async fn lock(conn: &mut PgConnection, key: i64, shared: bool) -> Result<()> {
        let sql = if shared {
            "SELECT pg_advisory_xact_lock_shared($1)"
        } else {
            "SELECT pg_advisory_xact_lock($1)"
        };
        sqlx::query(sql).bind(key).execute(conn).await?;
        Ok(())
    }

    const SKIP_LOCKED: &'static str = " FOR UPDATE SKIP LOCKED";

    fn one_of_json_ids(column: &str, param: &str) -> String {
        format!("{column} = ANY(ARRAY(SELECT jsonb_array_elements_text({param}::jsonb)::bigint))")
    }

    const INSERT_DELIVERIES: &'static str = "INSERT INTO webhook_deliveries \
             (hook_id, warning_id, event, next_attempt_at, created_at) \
         SELECT (p->>0)::bigint, (p->>1)::bigint, p->>2, $2, $2 \
         FROM jsonb_array_elements($1::jsonb) AS p \
         ON CONFLICT (hook_id, warning_id, event) DO NOTHING";
}

/// Binds the 13 case columns as arrays, in the order of the statements above.
fn bind_cases<'q>(
    query: sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>,
    rows: &[CaseIns<'_>],
) -> sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments> {
    query
        .bind(rows.iter().map(|c| c.case_no).bind_iter())
        .bind(rows.iter().map(|c| c.matter_code).bind_iter())
        .bind(rows.iter().map(|c| c.department).bind_iter())
        .bind(rows.iter().map(|c| c.region).bind_iter())
        .bind(rows.iter().map(|c| c.state).bind_iter())
        .bind(rows.iter().map(|c| c.opened_at).bind_iter())
        .bind(rows.iter().map(|c| c.updated_at).bind_iter())
        .bind(rows.iter().map(|c| c.version).bind_iter())
        .bind(rows.iter().map(|c| c.next_due_at).bind_iter())
        .bind(rows.iter().map(|c| c.overdue).bind_iter())
        .bind(rows.iter().map(|c| c.provisional).bind_iter())
        .bind(rows.iter().map(|c| c.view.as_str()).bind_iter())
        .bind(rows.iter().map(|c| c.last_hash.as_str()).bind_iter())
}
