//! The background workers of the platform, as a unit: starting them (`spawn`, in the
//! platform's tracked tasks), keeping each alive across transient store errors, and reporting how far they got
//! ([`Progress`], [`WorkerStats`]) so tests and health checks can wait for them instead of
//! sleeping. The loops themselves are [`crate::scheduler`], [`crate::follower`] and the
//! webhook deliverer ([`crate::webhooks::deliver`]).

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use egov_store::{LogPosition, StoreError};
use tokio::sync::{Notify, watch};
use tokio::time::Instant;

use crate::service::Supervision;

/// How the workers and streams of a [`Supervision`] wait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupervisionOptions {
    /// How often a worker or a warning stream looks again when nothing woke it (wall time):
    /// commits by other processes on SQLite are not notified, and a notification can be lost
    /// while a listener reconnects. Default 1 s. (Rows committed but held back behind an open
    /// transaction on PostgreSQL are looked for sooner; see `Recheck`.)
    pub fallback_poll: Duration,
    /// Whether the due loop runs the correction workflow's timers ([`crate::corrections`]):
    /// stamping cards with their correction due, a red card for a yellow card left
    /// unanswered, escalating an unanswered red card. Default true; tests of the raise alone
    /// turn it off so that their clocks can run for weeks without the workflow's cards.
    pub corrections: bool,
    /// Destinations webhooks may reach although they are not public (`--webhook-allow`);
    /// empty by default: public addresses only (issue 12; `webhooks::destination`).
    pub webhook_allow: crate::webhooks::destination::WebhookAllow,
}

impl Default for SupervisionOptions {
    fn default() -> Self {
        SupervisionOptions {
            fallback_poll: Duration::from_secs(1),
            corrections: true,
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

/// How long a worker waits before retrying after a store error.
const BACKOFF: Duration = Duration::from_secs(1);

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
}

/// Runs `pass` until it returns normally (shutdown), retrying after every error but a closed
/// store, which is final.
async fn keep_alive<F, Fut>(name: &'static str, s: &Supervision, mut pass: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), WorkerError>>,
{
    let mut shutdown = s.shutdown();
    tracing::info!(worker = name, "started");
    loop {
        match pass().await {
            Ok(()) => break,
            Err(WorkerError::Store(StoreError::Closed)) => {
                tracing::error!(worker = name, "the store is closed; stopping");
                break;
            }
            Err(error) => {
                s.progress().errors.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(worker = name, %error, retry_in = ?BACKOFF, "failed; retrying");
                tokio::select! {
                    biased;
                    () = shutdown.wait() => break,
                    () = tokio::time::sleep(BACKOFF) => {}
                }
            }
        }
    }
    tracing::info!(worker = name, "stopped");
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
}

/// The first pause before a reader looks again for rows still held back.
const RECHECK_FIRST: Duration = Duration::from_millis(10);
/// The longest such pause.
const RECHECK_MAX: Duration = Duration::from_millis(200);

/// How long a reader (the log follower, a warning stream) waits after a read that returned
/// nothing new.
///
/// On PostgreSQL a read returns only rows older than every transaction still open on the
/// server (`Store::read_log`): the notification of a commit can come while some unrelated
/// transaction holds the new rows back, and nothing notifies when it ends. So when the store
/// says rows are pending after the reader's position, it looks again soon, after 10 ms, then
/// 20, 40, ... up to 200 ms apart, until rows arrive or one fallback poll has passed since the
/// first such look; then the fallback poll takes over until something arrives or a
/// notification starts a new round. With nothing pending (idle) it waits for the fallback
/// poll, or a notification, as before: no busy loop.
#[derive(Debug)]
pub(crate) struct Recheck {
    poll: Duration,
    /// The next short pause.
    pause: Duration,
    /// When this round of short pauses ends; `None` until it starts.
    until: Option<Instant>,
}

impl Recheck {
    pub fn new(poll: Duration) -> Self {
        Recheck {
            poll,
            pause: RECHECK_FIRST,
            until: None,
        }
    }

    /// Rows arrived, or a notification came: a later pending read starts a new round.
    pub fn reset(&mut self) {
        self.pause = RECHECK_FIRST;
        self.until = None;
    }

    /// How long to wait before the next read, after one that returned nothing; `pending`
    /// says whether the store holds rows after the reader's position all the same.
    pub fn wait(&mut self, pending: bool) -> Duration {
        if !pending {
            return self.poll;
        }
        let now = Instant::now();
        let until = *self.until.get_or_insert(now + self.poll);
        if now >= until {
            return self.poll;
        }
        let pause = self.pause.min(until - now);
        self.pause = (self.pause * 2).min(RECHECK_MAX);
        pause
    }
}

/// Resolves on the next change of a pulse; never, if the pulse can no longer change.
pub(crate) async fn beat(pulse: &mut watch::Receiver<u64>) {
    if pulse.changed().await.is_err() {
        std::future::pending::<()>().await;
    }
}
