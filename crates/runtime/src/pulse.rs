//! One store subscription per channel and process, fanned out to every waiter: the
//! supervision workers and every `FollowRecords` stream wait for new records, every
//! `StreamWarnings` call waits for new warnings. On
//! PostgreSQL each `listen_for_*` holds a connection of its own, so a subscription per stream
//! would cost a connection per supervisor's dashboard; here it costs one per channel.
//!
//! A pulse is a hint, like the notifications it relays: waiters read from their own position
//! on each one, and still poll at a slow fallback interval (lost notifications, other
//! processes on SQLite).

use std::sync::Arc;
use std::time::Duration;

use crate::shutdown::Shutdown;
use crate::tasks::Tasks;
use egov_store::{Notifications, Store, StoreError};
use tokio::sync::{Mutex, watch};

/// How long the relay waits before listening again after its subscription failed.
const RELISTEN_BACKOFF: Duration = Duration::from_secs(1);

/// Which commits a pulse follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// Commits that stored records (the approval platform).
    Records,
    /// Writes that stored new warnings (any supervision instance).
    Warnings,
}

impl Channel {
    fn name(self) -> &'static str {
        match self {
            Channel::Records => "records",
            Channel::Warnings => "warnings",
        }
    }

    async fn listen(self, store: &Store) -> Result<Option<Notifications>, StoreError> {
        match self {
            Channel::Records => store.listen_for_records().await,
            Channel::Warnings => store.listen_for_warnings().await,
        }
    }
}

/// A shared wake-up for one channel; the subscription is made on first use.
#[derive(Debug)]
pub struct Pulse {
    channel: Channel,
    /// Bumped once per notification received; waiters hold receivers.
    beats: Arc<watch::Sender<u64>>,
    /// Whether the relay task runs; a lock, so that concurrent first uses start one.
    started: Mutex<bool>,
}

impl Pulse {
    pub fn new(channel: Channel) -> Self {
        Pulse {
            channel,
            beats: Arc::new(watch::Sender::new(0)),
            started: Mutex::new(false),
        }
    }

    /// A receiver that changes on every later commit of the channel. The store's subscription
    /// is in place before this returns, so a reader that subscribes, then reads, misses
    /// nothing: what committed before the subscription is in its read.
    pub async fn subscribe(
        &self,
        store: &Store,
        shutdown: &Shutdown,
        tasks: &Tasks,
    ) -> Result<watch::Receiver<u64>, StoreError> {
        let mut started = self.started.lock().await;
        if !*started {
            let notifications = self.channel.listen(store).await?;
            match notifications {
                Some(notifications) => {
                    tasks.spawn(relay(
                        self.channel,
                        notifications,
                        store.clone(),
                        self.beats.clone(),
                        shutdown.clone(),
                    ));
                }
                // No wake-ups from this store: waiters fall back to polling.
                None => tracing::info!(
                    channel = self.channel.name(),
                    "no commit notifications; polling"
                ),
            }
            *started = true;
        }
        Ok(self.beats.subscribe())
    }

    /// Wakes every waiter now, for a commit this process made: no need to wait for the
    /// store's notification of it.
    pub fn beat(&self) {
        self.beats.send_modify(|n| *n = n.wrapping_add(1));
    }
}

/// Forwards the store's notifications to the pulse until shutdown or the store closes.
async fn relay(
    channel: Channel,
    mut notifications: Notifications,
    store: Store,
    beats: Arc<watch::Sender<u64>>,
    mut shutdown: Shutdown,
) {
    loop {
        let received = tokio::select! {
            biased;
            () = shutdown.wait() => return,
            received = notifications.recv() => received,
        };
        match received {
            Ok(()) => {
                beats.send_modify(|n| *n = n.wrapping_add(1));
            }
            Err(StoreError::Closed) => return,
            Err(error) => {
                tracing::warn!(
                    channel = channel.name(),
                    %error,
                    "commit notifications failed; listening again"
                );
                // Listen again until it works; commits in between are not notified, so wake
                // everyone once it does.
                loop {
                    tokio::select! {
                        biased;
                        () = shutdown.wait() => return,
                        () = tokio::time::sleep(RELISTEN_BACKOFF) => {}
                    }
                    match channel.listen(&store).await {
                        Ok(Some(again)) => {
                            notifications = again;
                            beats.send_modify(|n| *n = n.wrapping_add(1));
                            break;
                        }
                        Ok(None) | Err(StoreError::Closed) => return,
                        Err(error) => {
                            tracing::warn!(
                                channel = channel.name(),
                                %error,
                                "cannot listen for commits"
                            );
                        }
                    }
                }
            }
        }
    }
}
