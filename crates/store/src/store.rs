//! `Store`: the one storage API over both backends. Connecting (URL, pool, migrations), and
//! every query. What differs per backend goes through the crate-private `Dialect` trait; the
//! rest is written once and expanded for each backend by `on_db!`.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::str::FromStr;
use std::sync::atomic::{AtomicI64, Ordering};
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
use crate::position::{
    LogPosition, WarningPosition, decode_token, encode_token, filters_tag, same_filters,
    split_token, tag_token,
};
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
    /// A PostgreSQL password given apart from the URL (it wins over the URL's).
    pub password: Option<crate::Password>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            max_connections: 10,
            // A few seconds: during an outage a call fails fast (UNAVAILABLE) and its caller
            // retries, instead of hanging on the pool long after the database is back.
            acquire_timeout: Duration::from_secs(5),
            password: None,
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
    /// The largest stream horizon proven so far (PostgreSQL; see `pg.rs`): every transaction
    /// below it that could write here has ended. Raised by each position handed out.
    horizon: AtomicI64,
}

/// How much of its connection pool a store uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUse {
    /// Connections open now, idle or in use.
    pub open: u32,
    /// Of them, idle.
    pub idle: u32,
    /// The most it opens.
    pub max: u32,
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

mod cases;
mod catalogue;
mod commit_plan;
mod cursors;
mod due;
mod integrity;
mod warnings;
mod withdraw;
mod workflow;

use commit_plan::{conflict, plan_commit, stored_records, validate_writes};
use warnings::warning_ins;

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
            let mut connect = PgConnectOptions::from_str(url)
                .map_err(|_| StoreError::InvalidUrl("not a valid postgres:// url"))?
                .application_name("egov");
            if let Some(password) = &options.password {
                connect = connect.password(password.expose());
            }
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
                horizon: AtomicI64::new(0),
            }),
        })
    }

    /// The stream horizon this store has proven so far (see `Inner::horizon`).
    pub(crate) fn horizon_floor(&self) -> i64 {
        self.inner.horizon.load(Ordering::Relaxed)
    }

    /// Notes that a row written by transaction `tx` was handed out as visible: every
    /// transaction up to it has ended, so later reads never hand out less.
    pub(crate) fn saw_visible(&self, tx: i64) {
        self.inner
            .horizon
            .fetch_max(tx.saturating_add(1), Ordering::Relaxed);
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

    /// The connection pool's use now (for metrics).
    pub fn pool_use(&self) -> PoolUse {
        on_db!(self, |pool| PoolUse {
            open: pool.size(),
            idle: u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
            max: pool.options().get_max_connections(),
        })
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
}

/// `items` without repeats, first occurrence first.
fn distinct<'a>(items: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut seen = HashSet::new();
    items.filter(|item| seen.insert(*item)).collect()
}

/// Cuts the extra row fetched to know whether another page follows.
pub(crate) fn paginate<T>(
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
