//! Every task a process spawns, in one tracked set, so that shutdown can wait for all of them
//! in order instead of leaving some running unseen.
//!
//! Workers (the loops that end on the shutdown signal after their current batch: the due loop,
//! the followers, the deliverer, the relays) are kept in start order and joined in that order;
//! every other task (the feeder of one stream, a notification relay started on demand) is
//! tracked as a set and waited for after them. The composition root (`crates/platform`) drains
//! the set within its grace period and then closes the store.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::task::TaskTracker;

/// The tracked tasks of one process (or one platform in a test); cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Tasks {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    tracker: TaskTracker,
    workers: Mutex<Vec<(&'static str, JoinHandle<()>)>>,
}

impl Tasks {
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts a worker: a loop that ends by itself on the shutdown signal. Workers are joined
    /// in the order they were started.
    pub fn worker<F>(&self, name: &'static str, work: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let handle = self.inner.tracker.spawn(work);
        self.workers().push((name, handle));
    }

    /// Starts a task that ends by itself (a stream's feeder, a relay): waited for after the
    /// workers. It runs in the span it was started from, so a stream's work stays in its
    /// call's logs and trace.
    pub fn spawn<F>(&self, task: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.inner
            .tracker
            .spawn(tracing::Instrument::in_current_span(task))
    }

    /// The workers that have ended. Before the shutdown signal a worker ends only by
    /// panicking, and the process then goes on without it: its health check says so.
    pub fn ended_workers(&self) -> Vec<&'static str> {
        self.workers()
            .iter()
            .filter(|(_, handle)| handle.is_finished())
            .map(|(name, _)| *name)
            .collect()
    }

    /// After the shutdown signal: joins the workers in start order, then waits for every other
    /// task, all within `grace`. Workers still running then are aborted (each batch is one
    /// transaction, so a batch cut short is done again by the next start). Answers whether
    /// everything ended in time.
    pub async fn drain(&self, grace: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + grace;
        let workers = std::mem::take(&mut *self.workers());
        let mut in_time = true;
        for (name, mut handle) in workers {
            match tokio::time::timeout_at(deadline, &mut handle).await {
                Ok(Ok(())) => {}
                Ok(Err(error)) if error.is_panic() => {
                    tracing::error!(worker = name, %error, "the worker panicked");
                }
                Ok(Err(_)) => {}
                Err(_) => {
                    tracing::warn!(
                        worker = name,
                        ?grace,
                        "still running after the grace period; aborted"
                    );
                    handle.abort();
                    in_time = false;
                }
            }
        }
        self.inner.tracker.close();
        if tokio::time::timeout_at(deadline, self.inner.tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                tasks = self.inner.tracker.len(),
                ?grace,
                "tasks still running after the grace period"
            );
            in_time = false;
        }
        in_time
    }

    /// Stops every worker at once, without waiting for the shutdown signal (for a server that
    /// failed: the workers would run on unseen), then drains.
    pub async fn abort(&self, grace: Duration) {
        for (_, handle) in self.workers().iter() {
            handle.abort();
        }
        self.drain(grace).await;
    }

    fn workers(&self) -> std::sync::MutexGuard<'_, Vec<(&'static str, JoinHandle<()>)>> {
        self.inner.workers.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shutdown;

    #[tokio::test]
    async fn drain_waits_for_the_workers_and_every_other_task() {
        let (trigger, stop) = shutdown::channel();
        let tasks = Tasks::new();
        let order = Arc::new(Mutex::new(Vec::new()));
        for name in ["first", "second"] {
            let (mut stop, order) = (stop.clone(), order.clone());
            tasks.worker(name, async move {
                stop.wait().await;
                order.lock().unwrap().push(name);
            });
        }
        let (mut stop, done) = (stop.clone(), order.clone());
        let other = tasks.spawn(async move {
            stop.wait().await;
            done.lock().unwrap().push("other");
        });
        trigger.trigger();
        assert!(tasks.drain(Duration::from_secs(5)).await);
        // Drained: every task ran to its end before `drain` answered.
        assert_eq!(order.lock().unwrap().len(), 3);
        assert!(other.is_finished());
    }

    #[tokio::test]
    async fn a_worker_that_ended_before_the_signal_is_named() {
        let (trigger, stop) = shutdown::channel();
        let tasks = Tasks::new();
        let mut running = stop.clone();
        tasks.worker("running", async move { running.wait().await });
        tasks.worker("ended", async {});
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while tasks.ended_workers().is_empty() && tokio::time::Instant::now() < deadline {
            tokio::task::yield_now().await;
        }
        assert_eq!(tasks.ended_workers(), ["ended"]);
        trigger.trigger();
        assert!(tasks.drain(Duration::from_secs(5)).await);
    }

    #[tokio::test]
    async fn a_worker_that_does_not_stop_is_aborted_after_the_grace_period() {
        let tasks = Tasks::new();
        tasks.worker("stuck", std::future::pending());
        assert!(!tasks.drain(Duration::from_millis(10)).await);
    }
}
