//! The SQLite half of [`Dialect`]: write transactions that take the write lock up front
//! (`BEGIN IMMEDIATE`), key lists bound as one JSON array (`json_each`), and multi-row writes as
//! `VALUES` lists in chunks that stay under SQLite's limit of 32 766 bound variables.
//!
//! SQLite has one writer at a time and a row is numbered when it is written, so numbers are
//! committed in order: streams read by `seq`/`id` alone and `tx` is always 0.

use chrono::{DateTime, Utc};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::sqlite::{SqliteArguments, SqliteArgumentsBuffer, SqliteConnection, SqliteTypeInfo};
use sqlx::{AssertSqlSafe, Encode, Pool, Row, Sqlite, Transaction, Type};

use crate::dialect::{Arg, CaseIns, Dialect, Keys, MatterIns, RecordIns, Sql, WarningIns};
use crate::error::Result;
use crate::model::{CalendarDayRow, DueInstant};
use crate::rows::{RawWarning, WARNING_COLUMNS};

/// SQLite's default maximum number of bound variables per statement (since 3.32).
const MAX_VARIABLES: usize = 32_766;
/// Rows per statement: past ~1 000 rows a bigger statement no longer pays (TOOLCHAIN.md).
const MAX_ROWS: usize = 1_000;
/// Statements of up to this many rows recur with the same text and are worth caching
/// prepared; longer ones would churn the statement cache.
const CACHED_ROWS: usize = 16;

type Query<'q> = sqlx::query::Query<'q, Sqlite, SqliteArguments>;

impl Type<Sqlite> for Keys<'_> {
    fn type_info() -> SqliteTypeInfo {
        <String as Type<Sqlite>>::type_info()
    }
}

impl Encode<'_, Sqlite> for Keys<'_> {
    fn encode_by_ref(&self, buf: &mut SqliteArgumentsBuffer) -> Result<IsNull, BoxDynError> {
        <String as Encode<Sqlite>>::encode(serde_json::to_string(&self.0)?, buf)
    }
}

/// Rows per statement for a table of `columns` bound columns.
fn chunk_rows(columns: usize) -> usize {
    (MAX_VARIABLES / columns).clamp(1, MAX_ROWS)
}

/// `(?, ?, ?), (?, ?, ?)` for `rows` rows of `columns` parameters.
fn values(columns: usize, rows: usize) -> String {
    let row = format!("({})", vec!["?"; columns].join(", "));
    vec![row; rows].join(", ")
}

/// A statement built around a VALUES list of `rows` rows.
fn built(sql: String, rows: usize) -> Query<'static> {
    sqlx::query(AssertSqlSafe(sql)).persistent(rows <= CACHED_ROWS)
}

const CASE_VALUE_COLUMNS: usize = 13;

fn bind_case<'q>(query: Query<'q>, c: &CaseIns<'_>) -> Query<'q> {
    query
        .bind(c.case_no)
        .bind(c.matter_code)
        .bind(c.department)
        .bind(c.region)
        .bind(c.state)
        .bind(c.opened_at)
        .bind(c.updated_at)
        .bind(c.version)
        .bind(c.next_due_at)
        .bind(c.overdue)
        .bind(c.provisional)
        .bind(c.view.as_str())
        .bind(c.last_hash.as_str())
}

impl Dialect for Sqlite {
    const FOR_UPDATE: &'static str = "";

    const LOCK_AUDIT: Option<&'static str> = None;

    async fn begin_write(pool: &Pool<Sqlite>) -> Result<Transaction<'static, Sqlite>> {
        Ok(pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    async fn begin_read(pool: &Pool<Sqlite>) -> Result<Transaction<'static, Sqlite>> {
        // A deferred transaction reads one WAL snapshot from its first statement on.
        Ok(pool.begin().await?)
    }

    fn one_of(column: &str, param: &str) -> String {
        format!("{column} IN (SELECT value FROM json_each({param}))")
    }

    fn stream_after(sql: &mut Sql, n_col: &str, tx: i64, n: i64, _floor: i64) {
        // Writers are serialized: every committed row is safe to hand out.
        Self::stream_beyond(sql, n_col, tx, n);
    }

    fn stream_beyond(sql: &mut Sql, n_col: &str, _tx: i64, n: i64) {
        sql.push(" AND ").push(n_col).push(" > ").bind(Arg::I64(n));
    }

    fn stream_order(n_col: &str, descending: bool) -> String {
        if descending {
            format!("{n_col} DESC")
        } else {
            n_col.to_owned()
        }
    }

    const BUMP_WARNING: &'static str = "pos = (SELECT max(pos) FROM warnings) + 1";

    fn stream_visible(sql: &mut Sql, _floor: i64) {
        sql.push("TRUE");
    }

    async fn insert_days(
        conn: &mut SqliteConnection,
        calendar_id: &str,
        days: &[CalendarDayRow],
    ) -> Result<()> {
        for chunk in days.chunks(chunk_rows(4)) {
            let sql = format!(
                "INSERT INTO calendar_days (calendar_id, day, kind, name) VALUES {}",
                values(4, chunk.len())
            );
            let mut query = built(sql, chunk.len());
            for d in chunk {
                query = query
                    .bind(calendar_id)
                    .bind(d.date)
                    .bind(d.kind.as_str())
                    .bind(d.name.as_str());
            }
            query.execute(&mut *conn).await?;
        }
        Ok(())
    }

    async fn upsert_matters(conn: &mut SqliteConnection, rows: &[MatterIns<'_>]) -> Result<()> {
        for chunk in rows.chunks(chunk_rows(6)) {
            let sql = format!(
                "INSERT INTO matters (matter_code, name, department, kind, definition, \
                     updated_at) VALUES {} \
                 ON CONFLICT (matter_code) DO UPDATE SET name = excluded.name, \
                    department = excluded.department, kind = excluded.kind, \
                    definition = excluded.definition, updated_at = excluded.updated_at",
                values(6, chunk.len())
            );
            let mut query = built(sql, chunk.len());
            for m in chunk {
                query = query
                    .bind(m.matter_code)
                    .bind(m.name)
                    .bind(m.department)
                    .bind(m.kind)
                    .bind(m.definition.as_str())
                    .bind(m.updated_at);
            }
            query.execute(&mut *conn).await?;
        }
        Ok(())
    }

    async fn insert_cases(
        conn: &mut SqliteConnection,
        rows: &[CaseIns<'_>],
    ) -> Result<Vec<String>> {
        let mut inserted = Vec::with_capacity(rows.len());
        for chunk in rows.chunks(chunk_rows(CASE_VALUE_COLUMNS)) {
            let sql = format!(
                "INSERT INTO cases (case_no, matter_code, department, region, state, \
                     opened_at, updated_at, version, next_due_at, overdue, provisional, view, \
                     last_hash) VALUES {} \
                 ON CONFLICT (case_no) DO NOTHING \
                 RETURNING case_no",
                values(CASE_VALUE_COLUMNS, chunk.len())
            );
            let query = chunk
                .iter()
                .fold(built(sql, chunk.len()), |query, c| bind_case(query, c));
            for row in query.fetch_all(&mut *conn).await? {
                inserted.push(row.try_get(0)?);
            }
        }
        Ok(inserted)
    }

    async fn update_cases(conn: &mut SqliteConnection, rows: &[CaseIns<'_>]) -> Result<u64> {
        let mut updated = 0;
        for chunk in rows.chunks(chunk_rows(CASE_VALUE_COLUMNS + 1)) {
            let sql = format!(
                "WITH u(case_no, matter_code, department, region, state, opened_at, \
                     updated_at, version, next_due_at, overdue, provisional, view, last_hash, \
                     expected) AS (VALUES {}) \
                 UPDATE cases SET matter_code = u.matter_code, department = u.department, \
                     region = u.region, state = u.state, opened_at = u.opened_at, \
                     updated_at = u.updated_at, version = u.version, \
                     next_due_at = u.next_due_at, overdue = u.overdue, \
                     provisional = u.provisional, view = u.view, last_hash = u.last_hash \
                 FROM u WHERE cases.case_no = u.case_no AND cases.version = u.expected",
                values(CASE_VALUE_COLUMNS + 1, chunk.len())
            );
            let query = chunk.iter().fold(built(sql, chunk.len()), |query, c| {
                bind_case(query, c).bind(c.expected)
            });
            updated += query.execute(&mut *conn).await?.rows_affected();
        }
        Ok(updated)
    }

    async fn insert_records(
        conn: &mut SqliteConnection,
        received_at: DateTime<Utc>,
        rows: &[RecordIns<'_>],
    ) -> Result<Vec<(i64, String)>> {
        let mut stored = Vec::with_capacity(rows.len());
        for chunk in rows.chunks(chunk_rows(9)) {
            let sql = format!(
                "INSERT INTO records (event_id, case_no, occurred_at, received_at, source, \
                     kind, body, prev_hash, hash) VALUES {} \
                 ON CONFLICT (event_id) DO NOTHING \
                 RETURNING seq, event_id",
                values(9, chunk.len())
            );
            let mut query = sqlx::query_as::<_, (i64, String)>(AssertSqlSafe(sql))
                .persistent(chunk.len() <= CACHED_ROWS);
            for r in chunk {
                query = query
                    .bind(r.event_id)
                    .bind(r.case_no)
                    .bind(r.occurred_at)
                    .bind(received_at)
                    .bind(r.source)
                    .bind(r.kind)
                    .bind(r.body.as_str())
                    .bind(r.prev_hash.as_str())
                    .bind(r.hash.as_str());
            }
            stored.extend(query.fetch_all(&mut *conn).await?);
        }
        Ok(stored)
    }

    async fn insert_due(conn: &mut SqliteConnection, rows: &[DueInstant]) -> Result<()> {
        for chunk in rows.chunks(chunk_rows(3)) {
            let sql = format!(
                "INSERT INTO due_instants (case_no, clock, due_at) VALUES {}",
                values(3, chunk.len())
            );
            let mut query = built(sql, chunk.len());
            for d in chunk {
                query = query
                    .bind(d.case_no.as_str())
                    .bind(d.clock.as_str())
                    .bind(d.due_at);
            }
            query.execute(&mut *conn).await?;
        }
        Ok(())
    }

    async fn set_correction_dues(
        conn: &mut SqliteConnection,
        dues: &[(i64, DateTime<Utc>)],
    ) -> Result<()> {
        for (id, due) in dues {
            sqlx::query(
                "UPDATE warnings SET correction_due_at = $1, \
                 first_correction_due_at = coalesce(first_correction_due_at, $1) \
                 WHERE id = $2 AND correction_due_at IS NULL",
            )
            .bind(*due)
            .bind(*id)
            .execute(&mut *conn)
            .await?;
        }
        Ok(())
    }

    async fn delete_due_exact(
        conn: &mut SqliteConnection,
        rows: &[DueInstant],
    ) -> Result<Vec<(String, String)>> {
        let mut deleted = Vec::new();
        for chunk in rows.chunks(chunk_rows(3)) {
            // Through a join, so each row is found by the primary key: SQLite scans the whole
            // table for a row-value `IN (VALUES ...)`.
            let sql = format!(
                "WITH f(case_no, clock, due_at) AS (VALUES {}) \
                 DELETE FROM due_instants WHERE rowid IN ( \
                     SELECT d.rowid FROM f JOIN due_instants d \
                     ON d.case_no = f.case_no AND d.clock = f.clock AND d.due_at = f.due_at) \
                 RETURNING case_no, clock",
                values(3, chunk.len())
            );
            let mut query = sqlx::query_as(AssertSqlSafe(sql));
            for d in chunk {
                query = query
                    .bind(d.case_no.as_str())
                    .bind(d.clock.as_str())
                    .bind(d.due_at);
            }
            deleted.extend(query.fetch_all(&mut *conn).await?);
        }
        Ok(deleted)
    }

    async fn insert_warnings(
        conn: &mut SqliteConnection,
        rows: &[WarningIns<'_>],
    ) -> Result<Vec<RawWarning>> {
        let mut inserted = Vec::new();
        for chunk in rows.chunks(chunk_rows(9)) {
            // `pos`, the stream order, continues after the largest one (see the migration
            // 0002_workflow.sql); the subquery is read before the rows go in, so the chunk's
            // rows get increasing positions in their order.
            let rows_sql = (1..=chunk.len())
                .map(|k| {
                    format!(
                        "(?, ?, ?, ?, ?, ?, ?, ?, ?, \
                         (SELECT coalesce(max(pos), 0) FROM warnings) + {k})"
                    )
                })
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "INSERT INTO warnings (case_no, rule, level, department, region, matter_code, \
                     due_at, raised_at, detail, pos) VALUES {rows_sql} \
                 ON CONFLICT (case_no, rule, level) DO NOTHING \
                 RETURNING {WARNING_COLUMNS}"
            );
            let mut query = sqlx::query_as::<_, RawWarning>(AssertSqlSafe(sql))
                .persistent(chunk.len() <= CACHED_ROWS);
            for w in chunk {
                query = query
                    .bind(w.case_no)
                    .bind(w.rule)
                    .bind(w.level)
                    .bind(w.department)
                    .bind(w.region)
                    .bind(w.matter_code)
                    .bind(w.due_at)
                    .bind(w.raised_at)
                    .bind(w.detail.as_str());
            }
            inserted.extend(query.fetch_all(&mut *conn).await?);
        }
        Ok(inserted)
    }

    async fn notify(_conn: &mut SqliteConnection, _channel: &str) -> Result<()> {
        Ok(())
    }

    async fn lock(_conn: &mut SqliteConnection, _key: i64, _shared: bool) -> Result<()> {
        Ok(())
    }

    const SKIP_LOCKED: &'static str = "";

    fn one_of_json_ids(column: &str, param: &str) -> String {
        format!("{column} IN (SELECT value FROM json_each({param}))")
    }

    // `WHERE TRUE` tells SQLite's parser that ON CONFLICT belongs to the INSERT, not to a join
    // of the SELECT.
    const INSERT_DELIVERIES: &'static str = "INSERT INTO webhook_deliveries \
             (hook_id, warning_id, event, next_attempt_at, created_at) \
         SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), \
             json_extract(value, '$[2]'), $2, $2 \
         FROM json_each($1) WHERE TRUE \
         ON CONFLICT (hook_id, warning_id, event) DO NOTHING";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_stay_under_the_variable_limit() {
        assert_eq!(chunk_rows(3), MAX_ROWS);
        assert!(chunk_rows(40) * 40 <= MAX_VARIABLES);
        assert_eq!(chunk_rows(40_000), 1);
        assert_eq!(values(2, 2), "(?, ?), (?, ?)");
    }
}
