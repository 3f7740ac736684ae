//! A shutdown signal shared by a server, its long-lived streams and its background workers.
//!
//! tonic's graceful shutdown waits for every in-flight call, and a follower's stream never
//! ends by itself; so streams and workers watch this signal and end themselves, which lets the
//! server drain within its grace period.

use tokio::sync::watch;

/// The sending half: trigger once, every [`Shutdown`] clone sees it.
#[derive(Debug, Clone)]
pub struct ShutdownTrigger(watch::Sender<bool>);

/// The receiving half, cheap to clone into each stream and worker.
#[derive(Debug, Clone)]
pub struct Shutdown(watch::Receiver<bool>);

/// A new signal, not yet triggered.
pub fn channel() -> (ShutdownTrigger, Shutdown) {
    let (tx, rx) = watch::channel(false);
    (ShutdownTrigger(tx), Shutdown(rx))
}

impl ShutdownTrigger {
    pub fn trigger(&self) {
        self.0.send_replace(true);
    }

    pub fn subscribe(&self) -> Shutdown {
        Shutdown(self.0.subscribe())
    }
}

impl Shutdown {
    /// A signal that never fires, for callers that stop by dropping.
    pub fn never() -> Shutdown {
        let (tx, rx) = watch::channel(false);
        // Keeping the sender alive forever is what makes it "never"; it is a single bool.
        std::mem::forget(tx);
        Shutdown(rx)
    }

    pub fn is_triggered(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves when shutdown is triggered (or every trigger is dropped).
    pub async fn wait(&mut self) {
        let _ = self.0.wait_for(|stop| *stop).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_clone_sees_the_trigger() {
        let (trigger, shutdown) = channel();
        let mut a = shutdown.clone();
        let mut b = trigger.subscribe();
        assert!(!a.is_triggered());
        trigger.trigger();
        a.wait().await;
        b.wait().await;
        assert!(shutdown.is_triggered());
    }
}
