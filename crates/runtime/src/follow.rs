//! The one follow loop: a follower reads the batch after its cursor and handles it (in the
//! transaction that moves a persisted cursor, or by sending it down a stream), and when there
//! is nothing to read waits for a wake-up (a [`crate::pulse`] of store notifications, a kick
//! from within the process) or a recheck; it stops on shutdown or when its reader hangs up.
//! Every follower of both platforms runs in [`follow`] — the supervision log, scores and
//! webhook followers, the `StreamWarnings` and `FollowRecords` streams — and the workers among
//! them are kept alive across errors, with a pause, by [`keep_alive`].
//!
//! Why a recheck and not only wake-ups (docs/design.md §5, §7.3): on PostgreSQL a read returns only
//! rows older than every transaction still open on the server, so a notification can come
//! while an unrelated transaction holds the new rows back, and nothing notifies when it ends;
//! and commits by other processes on SQLite are not notified at all.

use std::fmt::Display;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use tokio::sync::{Notify, watch};
use tokio::time::Instant;

use crate::shutdown::Shutdown;

/// What one step of a follower did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// It read (and handled) rows: read again at once.
    Read,
    /// Nothing readable after the cursor: wait for a wake-up or a recheck.
    Empty,
    /// It is done (caught up with the head it was asked for, or its reader hung up).
    Done,
}

/// A reader of one or more cursors, driven by [`follow`].
pub trait Follower: Send {
    type Error: Send;

    /// Reads the batch after the cursor and handles it, moving the cursor.
    fn step(&mut self) -> impl Future<Output = Result<Step, Self::Error>> + Send;

    /// After an empty step: whether the store holds rows after the cursor all the same (held
    /// back behind an open transaction on PostgreSQL), to be looked for again soon.
    fn pending(&mut self) -> impl Future<Output = Result<bool, Self::Error>> + Send;
}

/// What wakes a follower that read nothing: pulses of store notifications and in-process
/// kicks (in that order of precedence); and what ends it besides shutdown (its reader hung
/// up). Subscribe the pulses BEFORE the first read, so a commit made meanwhile still wakes it.
#[derive(Default)]
pub struct Wake<'a> {
    pulses: Vec<watch::Receiver<u64>>,
    kicks: Vec<&'a Notify>,
    hangup: Option<Pin<Box<dyn Future<Output = ()> + Send + 'a>>>,
}

impl std::fmt::Debug for Wake<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wake")
            .field("pulses", &self.pulses.len())
            .field("kicks", &self.kicks.len())
            .field("hangup", &self.hangup.is_some())
            .finish()
    }
}

impl<'a> Wake<'a> {
    pub fn new() -> Self {
        Wake::default()
    }

    /// Wakes on every change of `pulse` (see [`crate::pulse::Pulse::subscribe`]).
    pub fn pulse(mut self, pulse: watch::Receiver<u64>) -> Self {
        self.pulses.push(pulse);
        self
    }

    /// Wakes when `kick` is notified (one permit is kept, so a kick while busy is not lost).
    pub fn kick(mut self, kick: &'a Notify) -> Self {
        self.kicks.push(kick);
        self
    }

    /// Ends the follower when `hangup` resolves (a stream's receiver is gone).
    pub fn until(mut self, hangup: impl Future<Output = ()> + Send + 'a) -> Self {
        self.hangup = Some(Box::pin(hangup));
        self
    }

    /// Resolves on the first change of a pulse or kick; never, with none (for a loop of its
    /// own, such as the due loop, that waits on these besides its own timer).
    pub async fn woken(&mut self) {
        let mut waits: Vec<Pin<Box<dyn Future<Output = ()> + Send + '_>>> = Vec::new();
        for pulse in self.pulses.iter_mut() {
            waits.push(Box::pin(beat(pulse)));
        }
        for kick in &self.kicks {
            waits.push(Box::pin(kick.notified()));
        }
        poll_fn(|cx| {
            for wait in &mut waits {
                if wait.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(());
                }
            }
            Poll::Pending
        })
        .await
    }
}

/// Runs `follower` until shutdown, until it is done or its reader hangs up (`Ok`), or until
/// its first error. `poll` is the fallback interval of a follower nothing wakes.
pub async fn follow<F: Follower>(
    follower: &mut F,
    mut wake: Wake<'_>,
    mut shutdown: Shutdown,
    poll: Duration,
) -> Result<(), F::Error> {
    let mut hangup = wake.hangup.take();
    let mut recheck = Recheck::new(poll);
    loop {
        if shutdown.is_triggered() {
            return Ok(());
        }
        match follower.step().await? {
            Step::Read => {
                recheck.reset();
                continue;
            }
            Step::Done => return Ok(()),
            Step::Empty => {}
        }
        let wait = recheck.wait(follower.pending().await?);
        let hung_up = async {
            match hangup.as_mut() {
                Some(hangup) => hangup.await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            () = shutdown.wait() => return Ok(()),
            () = hung_up => return Ok(()),
            () = wake.woken() => recheck.reset(),
            () = tokio::time::sleep(wait) => {}
        }
    }
}

/// Resolves on the next change of a pulse; never, if the pulse can no longer change.
pub async fn beat(pulse: &mut watch::Receiver<u64>) {
    if pulse.changed().await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// A worker's error: whether retrying can help.
pub trait Failure: Display {
    /// An error after which the worker stops instead of retrying (the store is closed).
    fn is_final(&self) -> bool;
}

/// How long a worker waits before retrying after an error.
pub const BACKOFF: Duration = Duration::from_secs(1);

/// Runs `pass` (one life of a worker, usually a [`follow`]) until it returns normally
/// (shutdown), retrying [`BACKOFF`] after every error but a final one; `failed` counts each
/// error retried.
pub async fn keep_alive<E, Fut>(
    name: &'static str,
    mut shutdown: Shutdown,
    failed: impl Fn(),
    mut pass: impl FnMut() -> Fut,
) where
    E: Failure,
    Fut: Future<Output = Result<(), E>>,
{
    tracing::info!(worker = name, "started");
    loop {
        match pass().await {
            Ok(()) => break,
            Err(error) if error.is_final() => {
                tracing::error!(worker = name, %error, "stopping");
                break;
            }
            Err(error) => {
                failed();
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

/// The first pause before a reader looks again for rows still held back.
const RECHECK_FIRST: Duration = Duration::from_millis(10);
/// The longest such pause.
const RECHECK_MAX: Duration = Duration::from_millis(200);

/// How long a follower waits after a read that returned nothing new.
///
/// When the store says rows are pending after the follower's position (held back, see the
/// module docs), it looks again soon, after 10 ms, then 20, 40, ... up to 200 ms apart, until
/// rows arrive or one fallback poll has passed since the first such look; then the fallback
/// poll takes over until something arrives or a wake-up starts a new round. With nothing
/// pending (idle) it waits for the fallback poll, or a wake-up: no busy loop.
#[derive(Debug)]
pub struct Recheck {
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

    /// Rows arrived, or a wake-up came: a later pending read starts a new round.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shutdown;

    /// Reads `batches` non-empty steps, then finds nothing; counts its pending looks.
    struct Counter {
        batches: usize,
        steps: usize,
        pending: usize,
        done_after: Option<usize>,
    }

    impl Counter {
        fn new(batches: usize, done_after: Option<usize>) -> Self {
            Counter {
                batches,
                steps: 0,
                pending: 0,
                done_after,
            }
        }
    }

    impl Follower for Counter {
        type Error = String;

        async fn step(&mut self) -> Result<Step, String> {
            self.steps += 1;
            if self.done_after == Some(self.steps) {
                return Ok(Step::Done);
            }
            if self.batches > 0 {
                self.batches -= 1;
                return Ok(Step::Read);
            }
            Ok(Step::Empty)
        }

        async fn pending(&mut self) -> Result<bool, String> {
            self.pending += 1;
            Ok(false)
        }
    }

    #[tokio::test]
    async fn reads_until_empty_then_wakes_on_a_kick_and_stops_on_shutdown() {
        let (trigger, stop) = shutdown::channel();
        let kick = Notify::new();
        let mut counter = Counter::new(3, None);
        // A kick kept as a permit: the first empty read is followed by one more step at once.
        kick.notify_one();
        let run = follow(
            &mut counter,
            Wake::new().kick(&kick),
            stop,
            Duration::from_secs(3600),
        );
        let stopper = async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            trigger.trigger();
        };
        let (result, ()) = tokio::join!(run, stopper);
        assert_eq!(result, Ok(()));
        // Three batches, an empty read, the kick, a second empty read, then shutdown.
        assert_eq!((counter.steps, counter.pending), (5, 2));
    }

    #[tokio::test]
    async fn a_done_step_or_a_hangup_ends_the_follower() {
        let mut counter = Counter::new(10, Some(2));
        let none = Wake::new();
        let result = follow(
            &mut counter,
            none,
            Shutdown::never(),
            Duration::from_secs(1),
        )
        .await;
        assert_eq!((result, counter.steps), (Ok(()), 2));
        let mut idle = Counter::new(0, None);
        let wake = Wake::new().until(std::future::ready(()));
        let result = follow(
            &mut idle,
            wake,
            Shutdown::never(),
            Duration::from_secs(3600),
        )
        .await;
        assert_eq!((result, idle.steps), (Ok(()), 1));
    }

    #[tokio::test]
    async fn held_back_rows_are_looked_for_sooner_than_the_poll() {
        let mut recheck = Recheck::new(Duration::from_secs(1));
        assert_eq!(recheck.wait(false), Duration::from_secs(1));
        assert_eq!(recheck.wait(true), RECHECK_FIRST);
        assert_eq!(recheck.wait(true), RECHECK_FIRST * 2);
        recheck.reset();
        assert_eq!(recheck.wait(true), RECHECK_FIRST);
    }
}
