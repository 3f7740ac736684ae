//! The injected clock of the platforms (docs/design.md §5): what "now" is and how to sleep until a
//! given instant. Production uses [`SystemClock`]; tests drive a [`ManualClock`] and never
//! sleep on the wall clock; the demo's simulator moves a [`ManualClock`] in ticks.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use tokio::sync::watch;

/// A boxed future, so the trait stays object-safe and can be shared as `Arc<dyn Clock>`.
pub type Sleep<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// Time as the platforms see it.
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    fn now(&self) -> DateTime<Utc>;
    /// Resolves once `now() >= deadline` (at once if it already is).
    fn sleep_until(&self, deadline: DateTime<Utc>) -> Sleep<'_>;
}

/// The clock the platforms share.
pub type SharedClock = Arc<dyn Clock>;

/// The wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl SystemClock {
    pub fn shared() -> SharedClock {
        Arc::new(SystemClock)
    }
}

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn sleep_until(&self, deadline: DateTime<Utc>) -> Sleep<'_> {
        Box::pin(async move {
            // Re-check after waking: a long sleep may end a little early on some timers.
            loop {
                let left = deadline - Utc::now();
                let Ok(left) = left.to_std() else { return };
                if left.is_zero() {
                    return;
                }
                tokio::time::sleep(left).await;
            }
        })
    }
}

/// A clock that moves only when told to: tests set the time and every sleeper whose deadline
/// has come wakes at once.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<watch::Sender<DateTime<Utc>>>,
}

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            now: Arc::new(watch::Sender::new(start)),
        }
    }

    pub fn shared(&self) -> SharedClock {
        Arc::new(self.clone())
    }

    /// Moves time forward (never backward: a deadline already passed stays passed).
    pub fn advance(&self, by: Duration) {
        self.now.send_modify(|t| *t += by.max(Duration::zero()));
    }

    /// Jumps to `t` if it is later than now.
    pub fn set(&self, t: DateTime<Utc>) {
        self.now.send_modify(|now| *now = (*now).max(t));
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.borrow()
    }

    fn sleep_until(&self, deadline: DateTime<Utc>) -> Sleep<'_> {
        let mut rx = self.now.subscribe();
        Box::pin(async move {
            // The sender lives as long as `self`, so wait_for only ends when time arrives.
            let _ = rx.wait_for(|now| *now >= deadline).await;
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_manual_clock_wakes_sleepers_when_time_arrives() {
        let start: DateTime<Utc> = "2024-03-04T00:00:00Z".parse().unwrap();
        let clock = ManualClock::new(start);
        let shared = clock.shared();
        let sleeper = tokio::spawn(async move {
            shared.sleep_until(start + Duration::hours(2)).await;
            shared.now()
        });
        tokio::task::yield_now().await;
        clock.advance(Duration::hours(1));
        tokio::task::yield_now().await;
        assert!(!sleeper.is_finished());
        clock.advance(Duration::hours(1));
        let woke_at = sleeper.await.unwrap();
        assert_eq!(woke_at, start + Duration::hours(2));
    }

    #[tokio::test]
    async fn a_manual_clock_never_goes_back() {
        let start: DateTime<Utc> = "2024-03-04T00:00:00Z".parse().unwrap();
        let clock = ManualClock::new(start);
        clock.set(start - Duration::days(1));
        assert_eq!(clock.now(), start);
        clock.advance(Duration::seconds(-5));
        assert_eq!(clock.now(), start);
    }
}
