//! Fresh, empty, migrated databases for tests of this crate and of the services: one per test,
//! so tests run in parallel without sharing state. PostgreSQL databases are created on the
//! server named by `EGOV_TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`); SQLite files under the temp directory.
//! Leftovers of earlier runs older than 15 minutes (and no longer in use) are dropped on first
//! use in a process, so test databases do not pile up on a shared server.
//!
//! `read_log_settled` and `read_warnings_settled` read a stream until the rows a test just
//! wrote are there, and `warnings_settled` waits until every warning written so far is
//! readable (and listed): on PostgreSQL the streams and the warning list hold rows back while
//! any older writing transaction of the server is open (see `Store::read_log`), and tests of
//! other crates share the server.
//!
//! These functions panic with a clear message instead of returning errors: they are for tests.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};

use crate::error::StoreError;
use crate::model::{Backend, LogEntry, WarningFilter, WarningRow};
use crate::position::{LogPosition, WarningPosition};
use crate::store::{Store, StoreOptions};

/// The environment variable naming the PostgreSQL server tests create databases on.
pub const DATABASE_URL_ENV: &str = "EGOV_TEST_DATABASE_URL";

/// The server used when [`DATABASE_URL_ENV`] is not set.
pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Prefix of every test database and file, so leftovers can be recognised.
const PREFIX: &str = "egov_t_";

/// Test databases and files older than this are leftovers.
const STALE_AFTER: Duration = Duration::from_secs(15 * 60);

static COUNTER: AtomicU64 = AtomicU64::new(0);
static POSTGRES_SWEPT: AtomicBool = AtomicBool::new(false);
static SQLITE_SWEPT: AtomicBool = AtomicBool::new(false);

/// Pool settings for test stores: enough for a test that holds a transaction open while it
/// commits, reads and listens, small enough for many tests in parallel on one server. The
/// acquire timeout stays long: many tests share a loaded machine, and a test waiting for its
/// pool is slow, not failing (the short production default is for outages).
fn options() -> StoreOptions {
    StoreOptions {
        max_connections: 6,
        acquire_timeout: Duration::from_secs(30),
        ..StoreOptions::default()
    }
}

fn now_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

/// `egov_t_<pid>_<counter>_<nanos>`: unique across processes and runs.
fn unique_name() -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{PREFIX}{}_{n}_{}", std::process::id(), now_nanos())
}

/// Whether a name made by [`unique_name`] is older than [`STALE_AFTER`].
fn is_stale(name: &str) -> bool {
    let created = name
        .strip_prefix(PREFIX)
        .and_then(|rest| rest.split(['_', '.']).nth(2))
        .and_then(|nanos| nanos.parse::<u128>().ok());
    created.is_some_and(|created| now_nanos().saturating_sub(created) > STALE_AFTER.as_nanos())
}

/// A store on a new, empty, migrated database; the backend is chosen by the caller.
pub async fn fresh(backend: Backend) -> Store {
    match backend {
        Backend::Postgres => fresh_postgres().await,
        Backend::Sqlite => fresh_sqlite().await,
    }
}

/// A store on a new, empty, migrated PostgreSQL database named `egov_t_<pid>_<n>_<nanos>`.
///
/// # Panics
/// When the server is unreachable or refuses to create the database; the message says which
/// server and how to point the tests elsewhere.
pub async fn fresh_postgres() -> Store {
    let url = fresh_postgres_url().await;
    Store::connect_with(&url, &options())
        .await
        .unwrap_or_else(|e| panic!("fresh_postgres: cannot open test database: {e}"))
}

/// The URL of a new, empty PostgreSQL database (not yet migrated), for tests that connect
/// themselves.
///
/// # Panics
/// Like [`fresh_postgres`].
pub async fn fresh_postgres_url() -> String {
    let server = std::env::var(DATABASE_URL_ENV).unwrap_or_else(|_| DEFAULT_DATABASE_URL.into());
    let mut admin = PgConnection::connect(&server).await.unwrap_or_else(|e| {
        panic!(
            "fresh_postgres: cannot connect to the PostgreSQL server for tests at {} ({e}). \
             Start it (e.g. `pg_ctlcluster --skip-systemctl-redirect <version> main start`) \
             or set {DATABASE_URL_ENV} to a server where this user may CREATE DATABASE.",
            crate::redact_url(&server)
        )
    });
    if !POSTGRES_SWEPT.swap(true, Ordering::Relaxed) {
        drop_stale_databases(&mut admin).await;
    }
    let name = unique_name();
    admin
        .execute(AssertSqlSafe(format!(
            "CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8'"
        )))
        .await
        .unwrap_or_else(|e| panic!("fresh_postgres: CREATE DATABASE {name} failed: {e}"));
    // Closing politely; a failure here does not matter for the test.
    let _ = admin.close().await;
    with_database(&server, &name)
}

/// A store on a new SQLite file `egov_t_<pid>_<n>_<nanos>.db` in the temp directory.
///
/// # Panics
/// When the file cannot be created or migrated.
pub async fn fresh_sqlite() -> Store {
    let url = fresh_sqlite_url();
    Store::connect_with(&url, &options())
        .await
        .unwrap_or_else(|e| panic!("fresh_sqlite: cannot open {url}: {e}"))
}

/// The URL of a new SQLite file (not yet created), for tests that connect themselves.
pub fn fresh_sqlite_url() -> String {
    let dir = std::env::temp_dir();
    if !SQLITE_SWEPT.swap(true, Ordering::Relaxed) {
        remove_stale_files(&dir);
    }
    let path = dir.join(format!("{}.db", unique_name()));
    format!("sqlite://{}", path.display())
}

/// How long the `*_settled` helpers wait for rows to become readable.
const SETTLE: Duration = Duration::from_secs(10);

/// [`Store::read_log`] from `after`, repeated until it returns at least `n` entries (or 10 s
/// pass; then whatever it returns). On PostgreSQL the log holds records back while ANY
/// writing transaction of the server that may precede them is open, other tests' included,
/// so a test that has just committed must not expect them on the very next read.
///
/// # Panics
/// When reading fails.
pub async fn read_log_settled(store: &Store, after: LogPosition, n: usize) -> Vec<LogEntry> {
    let deadline = tokio::time::Instant::now() + SETTLE;
    loop {
        let entries = store
            .read_log(after, 10_000)
            .await
            .unwrap_or_else(|e| panic!("read_log failed: {e}"));
        if entries.len() >= n || tokio::time::Instant::now() >= deadline {
            return entries;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// [`Store::read_warnings`] like [`read_log_settled`].
///
/// # Panics
/// When reading fails.
pub async fn read_warnings_settled(
    store: &Store,
    after: WarningPosition,
    filter: &WarningFilter,
    n: usize,
) -> Vec<WarningRow> {
    let deadline = tokio::time::Instant::now() + SETTLE;
    loop {
        let rows = store
            .read_warnings(after, filter, 10_000)
            .await
            .unwrap_or_else(|e| panic!("read_warnings failed: {e}"));
        if rows.len() >= n || tokio::time::Instant::now() >= deadline {
            return rows;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until every warning stored so far is readable by [`Store::read_warnings`] and
/// [`Store::list_warnings`]: on PostgreSQL both hold a warning back while any older writing
/// transaction of the server is open (other tests' too), so a test that lists what it has
/// just written waits for this first.
///
/// # Panics
/// When reading fails, or warnings are still held back after 10 s.
pub async fn warnings_settled(store: &Store) {
    let deadline = tokio::time::Instant::now() + SETTLE;
    loop {
        let head = store
            .warnings_head()
            .await
            .unwrap_or_else(|e| panic!("warnings_head failed: {e}"));
        let pending = store
            .warnings_pending(head, &WarningFilter::default())
            .await
            .unwrap_or_else(|e| panic!("warnings_pending failed: {e}"));
        if !pending {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "warnings are still held back after {SETTLE:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Best effort: drops test databases of earlier runs. One still in use is left alone (DROP
/// DATABASE refuses while connections are open).
async fn drop_stale_databases(admin: &mut PgConnection) {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT datname::text FROM pg_database WHERE starts_with(datname::text, 'egov_t_')",
    )
    .fetch_all(&mut *admin)
    .await
    .unwrap_or_default();
    for name in names.iter().filter(|n| is_stale(n)) {
        let _ = admin
            .execute(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name}")))
            .await;
    }
}

/// Best effort: removes test files (and their -wal/-shm) of earlier runs.
fn remove_stale_files(dir: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if name.to_str().is_some_and(is_stale) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// `url` with its database (path) replaced by `database`, query parameters kept.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority..].find('/') {
        Some(i) => &base[..authority + i],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{database}?{query}"),
        None => format!("{base}/{database}"),
    }
}

/// The error a call gets while the database is unreachable (a refused connection), for tests
/// of how the platforms answer it.
pub fn unreachable_error() -> StoreError {
    StoreError::from(sqlx::Error::Io(std::io::Error::from(
        std::io::ErrorKind::ConnectionRefused,
    )))
}

/// The error a call gets when no pooled connection came within the acquire timeout.
pub fn pool_timed_out_error() -> StoreError {
    StoreError::from(sqlx::Error::PoolTimedOut)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls_are_rewritten() {
        assert_eq!(
            with_database("postgres://u@h:5432/postgres?sslmode=disable", "x"),
            "postgres://u@h:5432/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
    }

    #[test]
    fn lost_connections_are_unavailable_and_other_database_errors_are_not() {
        assert!(matches!(unreachable_error(), StoreError::Unavailable(_)));
        let eof = std::io::Error::from(std::io::ErrorKind::UnexpectedEof);
        assert!(matches!(
            StoreError::from(sqlx::Error::Io(eof)),
            StoreError::Unavailable(_)
        ));
        assert!(matches!(pool_timed_out_error(), StoreError::Busy(_)));
        assert!(matches!(
            StoreError::from(sqlx::Error::Protocol("unexpected".into())),
            StoreError::Database(_)
        ));
    }

    #[test]
    fn names_carry_their_age() {
        let name = unique_name();
        assert!(!is_stale(&name));
        assert!(is_stale("egov_t_1_0_1000"));
        assert!(is_stale("egov_t_1_0_1000.db-wal"));
        assert!(!is_stale("egov_t_garbage"));
        assert!(!is_stale("other_1_0_1000"));
    }
}

/// For the scores benchmark (`tests/benches/scores.rs`) only: loads the synthetic facts of
/// `cases` cases and `cases / 10` warnings into the PostgreSQL database at `url`, in statements
/// of a million rows, analyzes the table, and answers how many fact rows it holds.
pub async fn load_synthetic_score_facts(url: &str, cases: usize) -> i64 {
    let mut conn = PgConnection::connect(url).await.expect("connect");
    let pool = &mut conn;
    let chunk = 1_000_000;
    let mut from = 0;
    while from < cases {
        let to = (from + chunk).min(cases);
        // Case g: department g mod 100, a day of 2025; 80 % on time, 40 % early, a used share
        // of 50-110 %, a third rated, a quarter paying ¥50.00.
        sqlx::query(
            "INSERT INTO score_facts (source, key, day, department, accepted, completed, \
                 on_time, early, share_cases, share_bp_sum, ratings, satisfied, bad_reviews, \
                 fees_fen) \
             SELECT 'case', 'C-' || g, DATE '2025-01-01' + (g / 100 % 365)::int, \
                 'dept-' || lpad((g % 100)::text, 3, '0'), 1, 1, \
                 (g % 10 < 8)::int, (g % 10 < 4)::int, 1, 5000 + (g / 100 % 7) * 1000, \
                 (g % 3 = 0)::int, (g % 6 = 0)::int, (g % 15 = 0)::int, \
                 (g % 4 = 1)::int * 5000 \
             FROM generate_series($1::bigint, $2::bigint - 1) AS g",
        )
        .bind(from as i64)
        .bind(to as i64)
        .execute(&mut *pool)
        .await
        .expect("case facts");
        from = to;
        eprintln!("  loaded the facts of {to} cases");
    }
    // Warnings: a tenth of the cases; reminders, yellow and red cards, some answered in time.
    sqlx::query(
        "INSERT INTO score_facts (source, key, day, department, reminders, yellow_cards, \
             red_cards, anomalies, irregular_fees, corrected_in_time) \
         SELECT 'warning', g::text, DATE '2025-01-01' + (g / 100 % 365)::int, \
             'dept-' || lpad((g * 7 % 100)::text, 3, '0'), \
             (g % 3 = 0)::int, (g % 3 = 1)::int, (g % 3 = 2)::int, (g % 30 = 1)::int, \
             (g % 30 = 2)::int, (g % 3 <> 0 AND g % 2 = 0)::int \
         FROM generate_series(0, $1::bigint - 1) AS g",
    )
    .bind((cases / 10) as i64)
    .execute(&mut *pool)
    .await
    .expect("warning facts");
    sqlx::query("ANALYZE score_facts")
        .execute(&mut *pool)
        .await
        .expect("analyze");
    sqlx::query_scalar("SELECT count(*) FROM score_facts")
        .fetch_one(&mut *pool)
        .await
        .expect("count")
}

/// The records in the log of the PostgreSQL database at `url`, and how many distinct event ids
/// they have: what the fault-injection suite compares with what was acknowledged (a second
/// connection of its own, so it reads whatever the platforms' processes committed).
pub async fn stored_records(url: &str) -> (i64, i64) {
    let mut conn = PgConnection::connect(url).await.expect("connect");
    sqlx::query_as("SELECT count(*), count(DISTINCT event_id) FROM records")
        .fetch_one(&mut conn)
        .await
        .expect("counted")
}

/// Refreshes the planner's statistics of `table` (benchmarks measure plans on fresh data).
pub async fn analyze(url: &str, table: &str) {
    let mut conn = PgConnection::connect(url).await.expect("connect");
    conn.execute(AssertSqlSafe(format!("ANALYZE {table}")))
        .await
        .expect("analyze");
}

/// A record as the raw-insert baseline of the platform benchmark writes it.
#[derive(Debug, Clone)]
pub struct RawRecord {
    /// The record's `event_id`.
    pub event_id: String,
    /// Its case.
    pub case_no: String,
    /// When it happened.
    pub occurred_at: chrono::DateTime<chrono::Utc>,
    /// The sending system.
    pub source: String,
    /// The body's kind, as stored.
    pub kind: String,
    /// The body as JSON.
    pub body: String,
}

/// For the platform benchmark (`tests/benches/platform.rs`) only: the raw rate the ingest is
/// compared with. Creates a table of the log's shape (with its unique index) in the
/// PostgreSQL database at `url` and answers how long batched INSERTs of 1,000 `rows` per
/// statement take.
pub async fn raw_record_inserts(url: &str, rows: &[RawRecord]) -> Duration {
    let mut conn = PgConnection::connect(url).await.expect("connect");
    sqlx::query(
        "CREATE TABLE bench_raw_records (seq bigserial PRIMARY KEY, event_id text NOT NULL UNIQUE, \
         case_no text NOT NULL, occurred_at timestamptz NOT NULL, source text NOT NULL, \
         kind text NOT NULL, body text NOT NULL, prev_hash text NOT NULL, hash text NOT NULL, \
         received_at timestamptz NOT NULL)",
    )
    .execute(&mut conn)
    .await
    .expect("raw table");
    let hash = "0".repeat(64);
    let started = std::time::Instant::now();
    for chunk in rows.chunks(1000) {
        let column = |f: fn(&RawRecord) -> String| chunk.iter().map(f).collect::<Vec<_>>();
        sqlx::query(
            "INSERT INTO bench_raw_records \
             (event_id, case_no, occurred_at, source, kind, body, prev_hash, hash, received_at) \
             SELECT e, c, o, s, k, b, $7, $7, now() \
             FROM UNNEST($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::text[], $6::text[]) \
               AS u(e, c, o, s, k, b)",
        )
        .bind(column(|r| r.event_id.clone()))
        .bind(column(|r| r.case_no.clone()))
        .bind(chunk.iter().map(|r| r.occurred_at).collect::<Vec<_>>())
        .bind(column(|r| r.source.clone()))
        .bind(column(|r| r.kind.clone()))
        .bind(column(|r| r.body.clone()))
        .bind(&hash)
        .execute(&mut conn)
        .await
        .expect("raw insert");
    }
    started.elapsed()
}

/// Runs `sql` (an UPDATE or DELETE of `records` or `audit_log`) as someone with database access
/// would to tamper with the logs: past the append-only triggers, which are dropped or disabled
/// for good. Only for tests of the hash chains' detection.
///
/// # Panics
/// When the SQL fails.
pub async fn tamper(store: &Store, sql: &str) {
    let unprotect = match store.backend() {
        Backend::Postgres => {
            "ALTER TABLE records DISABLE TRIGGER USER; ALTER TABLE audit_log DISABLE TRIGGER USER"
        }
        Backend::Sqlite => {
            "DROP TRIGGER IF EXISTS records_no_update; DROP TRIGGER IF EXISTS records_no_delete; \
             DROP TRIGGER IF EXISTS audit_log_no_update; DROP TRIGGER IF EXISTS audit_log_no_delete"
        }
    };
    store
        .execute_raw(unprotect)
        .await
        .unwrap_or_else(|e| panic!("tamper: cannot lift the append-only triggers: {e}"));
    store
        .execute_raw(sql)
        .await
        .unwrap_or_else(|e| panic!("tamper: {sql}: {e}"));
}
