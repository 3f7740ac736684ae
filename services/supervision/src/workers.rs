//! The background workers of the platform, as a unit: starting them (`spawn`, in the
//! platform's tracked tasks), keeping each alive across transient store errors
//! (`egov_runtime::follow::keep_alive`), and reporting how far they got ([`Progress`],
//! [`WorkerStats`]) so tests and health checks can wait for them instead of sleeping. The
//! loops themselves are [`crate::scheduler`], [`crate::follower`], the scores follower
//! ([`crate::scores::follower`]), the webhook deliverer ([`crate::webhooks::deliver`]) and the
//! integrity worker ([`crate::integrity`]); the followers run in the one follow loop,
//! `egov_runtime::follow`.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use egov_runtime::follow::{self, Failure};
use egov_store::{LogPosition, StoreError};
use tokio::sync::{Notify, watch};

use crate::service::Supervision;

/// How the workers and streams of a [`Supervision`] wait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupervisionOptions {
    /// How often a worker or a warning stream looks again when nothing woke it (wall time):
    /// commits by other processes on SQLite are not notified, and a notification can be lost
    /// while a listener reconnects. Default 1 s. (Rows committed but held back behind an open
    /// transaction on PostgreSQL are looked for sooner; see `egov_runtime::follow::Recheck`.)
    pub fallback_poll: Duration,
    /// Whether the due loop runs the correction workflow's timers ([`crate::corrections`]):
    /// stamping cards with their correction due, a red card for a yellow card left
    /// unanswered, escalating an unanswered red card. Default true; tests of the raise alone
    /// turn it off so that their clocks can run for weeks without the workflow's cards.
    pub corrections: bool,
    /// How long the integrity worker waits (wall time) after one sweep of every hash chain
    /// before the next ([`crate::integrity`]; the first runs at start). Default a day: a
    /// sweep reads the whole record log once.
    pub integrity_sweep: Duration,
    /// Destinations webhooks may reach although they are not public (`--webhook-allow`);
    /// empty by default: public addresses only (issue 12; `webhooks::destination`).
    pub webhook_allow: crate::webhooks::destination::WebhookAllow,
}

impl Default for SupervisionOptions {
    fn default() -> Self {
        SupervisionOptions {
            fallback_poll: Duration::from_secs(1),
            corrections: true,
            integrity_sweep: Duration::from_secs(24 * 3600),
            webhook_allow: Default::default(),
        }
    }
}

impl SupervisionOptions {
    /// The defaults without the correction workflow's timers (see
    /// [`SupervisionOptions::corrections`]), for stories of the raise alone.
    pub fn without_corrections() -> Self {
        SupervisionOptions {
            corrections: false,
            ..SupervisionOptions::default()
        }
    }
}

/// The most due instants or log records one batch (one transaction) handles.
pub(crate) const BATCH: u32 = 1000;

/// Why a worker's pass failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WorkerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The persisted cursor is not a log position: someone else wrote it. Retrying will not
    /// help, but giving up would stop the platform raising late warnings; the log says why.
    #[error("the persisted cursor {0:?} is not a log position")]
    Cursor(String),
}

impl Failure for WorkerError {
    /// A closed store is final: the process is shutting down.
    fn is_final(&self) -> bool {
        matches!(self, WorkerError::Store(StoreError::Closed))
    }
}

/// Starts the workers of one [`Supervision`] in its tracked tasks, in the order shutdown
/// joins them; they end on its shutdown signal after their current batch.
pub(crate) fn spawn(supervision: &Supervision) {
    let tasks = supervision.tasks();
    let s = supervision.clone();
    tasks.worker("due loop", async move {
        keep_alive("due loop", &s, || crate::scheduler::run(&s)).await;
    });
    let s = supervision.clone();
    tasks.worker("log follower", async move {
        keep_alive("log follower", &s, || crate::follower::run(&s)).await;
    });
    let s = supervision.clone();
    tasks.worker("webhook deliverer", async move {
        // Two loops, each kept alive on its own: an error of one never stops the other.
        tokio::join!(
            keep_alive("webhook follower", &s, || {
                crate::webhooks::deliver::follow(&s)
            }),
            keep_alive("webhook sender", &s, || crate::webhooks::deliver::send(&s)),
        );
    });
    let s = supervision.clone();
    tasks.worker("scores follower", async move {
        keep_alive("scores follower", &s, || crate::scores::follower::run(&s)).await;
    });
    let s = supervision.clone();
    tasks.worker("integrity", async move {
        crate::integrity::run(&s).await;
    });
}

/// Runs `pass` in [`follow::keep_alive`], counting its errors in [`WorkerStats::errors`].
pub(crate) async fn keep_alive<F, Fut>(name: &'static str, s: &Supervision, pass: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), WorkerError>>,
{
    let errors = &s.progress().errors;
    let failed = || {
        errors.fetch_add(1, Ordering::Relaxed);
    };
    follow::keep_alive(name, s.shutdown(), failed, pass).await;
}

/// Counts warnings the workers raised, by rule and level (`egov_runtime::metrics`).
pub(crate) fn count_raised(raised: &[egov_store::WarningRow]) {
    for warning in raised {
        metrics::counter!(
            egov_runtime::metrics::WARNINGS_RAISED,
            "rule" => warning.rule.clone(),
            "level" => warning.level.clone()
        )
        .increment(1);
    }
}

/// How far the workers of one [`Supervision`] got, and a way to make them look now.
#[derive(Debug)]
pub(crate) struct Progress {
    /// The latest instant through which the due loop fired everything that was due.
    pub due_through: watch::Sender<Option<DateTime<Utc>>>,
    /// The log position through which the follower processed records (and persisted it).
    pub log_through: watch::Sender<Option<LogPosition>>,
    /// Wakes the due loop for a pass at the current time (it holds one permit, so a wake
    /// while it is busy is not lost).
    pub due_kick: Notify,
    /// Wakes the follower likewise.
    pub log_kick: Notify,
    /// The counters behind [`WorkerStats`].
    pub due_batches: AtomicU64,
    pub log_batches: AtomicU64,
    pub raised: AtomicU64,
    pub errors: AtomicU64,
    pub integrity_breaks: AtomicU64,
    pub integrity_checked: AtomicU64,
    pub integrity_sweeps: AtomicU64,
}

impl Progress {
    pub fn new() -> Self {
        Progress {
            due_through: watch::Sender::new(None),
            log_through: watch::Sender::new(None),
            due_kick: Notify::new(),
            log_kick: Notify::new(),
            due_batches: AtomicU64::new(0),
            log_batches: AtomicU64::new(0),
            raised: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            integrity_breaks: AtomicU64::new(0),
            integrity_checked: AtomicU64::new(0),
            integrity_sweeps: AtomicU64::new(0),
        }
    }

    /// Records that the due loop fired everything due at or before `now`.
    pub fn due_done(&self, now: DateTime<Utc>) {
        // Only forwards: with two loops on one Supervision, the slower must not step back.
        self.due_through.send_if_modified(|t| {
            let later = *t < Some(now);
            if later {
                *t = Some(now);
            }
            later
        });
    }

    /// Records that the follower processed the log through `position`.
    pub fn log_done(&self, position: LogPosition) {
        self.log_through.send_if_modified(|p| {
            let later = *p < Some(position);
            if later {
                *p = Some(position);
            }
            later
        });
    }

    /// Counts a batch done (on `counter`) and the warnings it raised.
    pub fn batch(&self, counter: &AtomicU64, raised: usize) {
        counter.fetch_add(1, Ordering::Relaxed);
        self.raised.fetch_add(raised as u64, Ordering::Relaxed);
    }

    pub fn stats(&self) -> WorkerStats {
        WorkerStats {
            due_batches: self.due_batches.load(Ordering::Relaxed),
            log_batches: self.log_batches.load(Ordering::Relaxed),
            raised: self.raised.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            integrity_breaks: self.integrity_breaks.load(Ordering::Relaxed),
            integrity_checked: self.integrity_checked.load(Ordering::Relaxed),
            integrity_sweeps: self.integrity_sweeps.load(Ordering::Relaxed),
        }
    }
}

/// Counters of the workers of one [`Supervision`] since it was created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WorkerStats {
    /// Batches of due instants fired (one transaction each).
    pub due_batches: u64,
    /// Batches of log records followed (one transaction each).
    pub log_batches: u64,
    /// Warnings these workers raised (not counting those another instance raised first).
    pub raised: u64,
    /// Passes that failed (and were retried after a pause).
    pub errors: u64,
    /// Broken hash chains the integrity worker found (each also logged as an error and raised
    /// as an `integrity` warning); the same break found again by a later sweep counts again.
    pub integrity_breaks: u64,
    /// Case chains the integrity worker verified.
    pub integrity_checked: u64,
    /// Sweeps of every chain the integrity worker completed.
    pub integrity_sweeps: u64,
}
