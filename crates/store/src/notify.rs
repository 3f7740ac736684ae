//! `Notifications`: a wake-up when something was committed, so followers need not poll hard.
//! PostgreSQL: LISTEN on the channel the writing transaction NOTIFYs (delivered only on commit,
//! to every process). SQLite: an in-process signal raised after each commit through any clone of
//! the same `Store`; commits by other processes on the same file are not seen.
//!
//! Either way a wake-up is a hint, not a delivery: notifications are lost while a PostgreSQL
//! listener reconnects, and several commits may wake once. Followers read from their persisted
//! position on each wake-up, and still poll at a slow fallback interval.

use sqlx::SqlitePool;
use sqlx::postgres::{PgListener, PgPool};
use tokio::sync::watch;

use crate::error::{Result, StoreError};

/// The channel `commit` notifies.
pub(crate) const RECORDS_CHANNEL: &str = "egov_records";
/// The channel the warning writes notify.
pub(crate) const WARNINGS_CHANNEL: &str = "egov_warnings";

/// A subscription to commits of one kind (records or warnings); see the module docs.
pub struct Notifications {
    source: Source,
}

enum Source {
    Postgres {
        /// On a connection of its own (not the store's pool), so it neither takes a pooled
        /// connection for its lifetime nor keeps `Store::close` waiting.
        listener: Box<PgListener>,
        /// The store's pool, to answer `Closed` once the store is closed.
        pool: PgPool,
    },
    Local {
        signal: watch::Receiver<u64>,
        /// The store's pool, to answer `Closed` once the store is closed.
        pool: SqlitePool,
    },
}

impl std::fmt::Debug for Notifications {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.source {
            Source::Postgres { .. } => "postgres",
            Source::Local { .. } => "in-process",
        };
        f.debug_struct("Notifications")
            .field("source", &kind)
            .finish()
    }
}

impl Notifications {
    pub(crate) fn postgres(listener: PgListener, pool: PgPool) -> Self {
        Notifications {
            source: Source::Postgres {
                listener: Box::new(listener),
                pool,
            },
        }
    }

    pub(crate) fn local(signal: watch::Receiver<u64>, pool: SqlitePool) -> Self {
        Notifications {
            source: Source::Local { signal, pool },
        }
    }

    /// Resolves when something may have been committed since the last call (or since the
    /// subscription): read from your position then. Several commits may resolve one call.
    /// Fails with [`StoreError::Closed`] once the store is closed.
    pub async fn recv(&mut self) -> Result<()> {
        match &mut self.source {
            Source::Postgres { listener, pool } => {
                let closed = pool.close_event();
                tokio::select! {
                    biased;
                    () = closed => Err(StoreError::Closed),
                    // `None` means the connection was lost and re-established: notifications
                    // may have been missed, so wake the caller to read anyway.
                    received = listener.try_recv() => {
                        received?;
                        while listener.next_buffered().is_some() {}
                        Ok(())
                    }
                }
            }
            Source::Local { signal, pool } => {
                let closed = pool.close_event();
                tokio::select! {
                    biased;
                    () = closed => Err(StoreError::Closed),
                    changed = signal.changed() => changed.map_err(|_| StoreError::Closed),
                }
            }
        }
    }
}
