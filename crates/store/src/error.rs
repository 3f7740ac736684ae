//! `StoreError`: every way a storage call can fail, one variant per cause, and the one place
//! that classifies `sqlx` errors (transient contention, an unreachable database, closed pool,
//! undecodable data).

use std::borrow::Cow;

/// The result type of every storage call.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Why a storage call failed.
///
/// Services map these to responses in one place: `NotFound` -> NOT_FOUND, `Conflict` and
/// `Busy` / `Unavailable` -> retry (ABORTED / UNAVAILABLE), `InvalidInput` / `InvalidPageToken` ->
/// INVALID_ARGUMENT, everything else is logged and answered as an opaque INTERNAL.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The addressed row does not exist (only for calls that need it to; lookups return
    /// `Option`).
    #[error("{what} {key:?} not found")]
    NotFound {
        /// What kind of row was looked for ("case", ...).
        what: &'static str,
        /// Its key.
        key: String,
    },

    /// An optimistic write lost a race: the case's version was not the expected one, the case
    /// already existed when it was expected not to, or an `event_id` was already stored. Nothing
    /// of the call was written; reload and retry.
    #[error("conflicting write on case {case_no:?}: reload and retry")]
    Conflict {
        /// The case whose write conflicted.
        case_no: String,
    },

    /// The caller passed something the store cannot accept (for example a record whose
    /// `case_no` differs from the case it is written with). A bug in the caller, not a race.
    #[error("invalid input: {0}")]
    InvalidInput(Cow<'static, str>),

    /// A page token that this listing did not produce.
    #[error("invalid page token")]
    InvalidPageToken,

    /// A page token of this listing, made for other filters.
    #[error("page token of other filters")]
    PageTokenForOtherFilters,

    /// A stream position beyond every position stored: a client resuming from a position this
    /// database never handed out (restored from a backup, or another database's position).
    #[error("position {position} is ahead of the stream, whose last position is {head}")]
    PositionAhead {
        /// The position asked for.
        position: String,
        /// The last position stored (what the client may resume from at most).
        head: String,
    },

    /// The database URL is not one the store understands. The message never repeats the URL,
    /// which may carry a password.
    #[error("invalid database url: {0}")]
    InvalidUrl(&'static str),

    /// Transient contention: a deadlock or serialization failure (PostgreSQL), a write lock not
    /// obtained within the busy timeout (SQLite), or no pooled connection available in time.
    /// Nothing was written; retrying later may succeed.
    #[error("database busy, retry later")]
    Busy(#[source] sqlx::Error),

    /// The database cannot be reached: a connection could not be opened or was lost (refused,
    /// closed, an I/O or TLS failure), or the server is shutting down or starting up
    /// (SQLSTATE class 08, 57P01 to 57P03). Retrying once it is back succeeds.
    #[error("database unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),

    /// The store was closed (see [`crate::Store::close`]).
    #[error("the store is closed")]
    Closed,

    /// Stored data that cannot be decoded: a JSON column that does not parse, a column of an
    /// unexpected type. Points at tampering or a schema mismatch.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),

    /// Creating the SQLite file's directory failed.
    #[error("cannot prepare the database file: {0}")]
    Io(#[from] std::io::Error),

    /// Applying the embedded migrations failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),

    /// Any other database error. Its text is for logs, never for responses.
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::PoolClosed => StoreError::Closed,
            sqlx::Error::PoolTimedOut => StoreError::Busy(error),
            sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => {
                StoreError::Corrupt(error.to_string())
            }
            sqlx::Error::Database(db) if is_transient(db.as_ref()) => StoreError::Busy(error),
            sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::WorkerCrashed => {
                StoreError::Unavailable(error)
            }
            sqlx::Error::Database(db) if is_unreachable(db.as_ref()) => {
                StoreError::Unavailable(error)
            }
            _ => StoreError::Database(error),
        }
    }
}

/// Errors that mean "contention, try again": PostgreSQL serialization_failure,
/// deadlock_detected and lock_not_available; SQLite SQLITE_BUSY and SQLITE_LOCKED with any
/// extended code (the low byte of an extended code is the primary code).
fn is_transient(db: &dyn sqlx::error::DatabaseError) -> bool {
    let Some(code) = db.code() else {
        return false;
    };
    if db
        .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
        .is_some()
    {
        matches!(code.as_ref(), "40001" | "40P01" | "55P03")
    } else if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
        code.parse::<i32>().is_ok_and(|n| matches!(n & 0xff, 5 | 6))
    } else {
        false
    }
}

/// PostgreSQL errors that mean "the server is not there for now": connection exceptions
/// (class 08) and admin_shutdown, crash_shutdown, cannot_connect_now (57P01 to 57P03).
fn is_unreachable(db: &dyn sqlx::error::DatabaseError) -> bool {
    let Some(code) = db.code() else {
        return false;
    };
    db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
        .is_some()
        && (code.starts_with("08") || matches!(code.as_ref(), "57P01" | "57P02" | "57P03"))
}

pub(crate) fn corrupt(what: &str, error: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {error}"))
}
