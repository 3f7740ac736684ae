//! The deliverer: two loops of the supervision platform, started with its other workers.
//!
//! - The **follower** reads the warning stream by its persisted cursor
//!   (`supervision.webhooks`) and, for each batch, enqueues one delivery per matching active
//!   hook in the transaction that moves the cursor (`Store::enqueue_deliveries`): a restart
//!   neither loses a batch nor enqueues one twice, and a warning streamed again after a state
//!   change finds its delivery already there. It only writes rows, so a dead receiver cannot
//!   slow the raising of warnings; with no active hook it moves its cursor to the head of the
//!   stream without reading the warnings at all. Its first start takes the cursor the first
//!   hook's creation stored, if any (`Store::start_deliveries_cursor`): it may run long after
//!   the platform began answering RPCs, and must not start past warnings a hook is owed.
//! - The **sender** claims the due deliveries of each hook, at most [`PER_HOOK`] in flight per
//!   hook and [`IN_FLIGHT`] in all, and sends each on a task of its own with a timeout of
//!   [`TIMEOUT`] (wall time): a slow or dead hook holds its own few slots, never the others'.
//!   A 2xx answer marks the delivery delivered; anything else schedules the next attempt on
//!   the platform's clock (`signature::retry_delay`), or gives up after the hook's
//!   `max_attempts`. A claimed delivery is held by a wall-clock lease of [`LEASE`] (longer
//!   than any attempt), so another instance leaves it alone; one whose sender died is taken
//!   over when the lease runs out. A sender that cannot record an outcome (the database
//!   failing) keeps trying, with growing pauses, until shortly before its lease ends: a
//!   delivered webhook whose outcome is lost would be sent again.
//!
//! On shutdown the sender starts nothing new and waits for the attempts in flight (each ends
//! within [`TIMEOUT`]; they run in the platform's tracked set, which the drain waits for too), so none is cut off after the receiver got it but before its outcome
//! was recorded: the delivery would then be sent again after the restart.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use egov_domain::jurisdiction;
use egov_domain::warning::Level;
use egov_domain::workflow::WarningState;
use egov_store::{
    DeliveryOutcome, DeliveryRow, EVENT_RAISED, EVENT_WITHDRAWN, Store, WarningFilter,
    WarningPosition, WarningRow, WebhookRow,
};
use http_body_util::Full;
use hyper::header::{CONTENT_TYPE, USER_AGENT};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::sync::{Notify, Semaphore, watch};

use crate::service::Supervision;
use crate::webhooks::destination::{Guard, WebhookAllow};
use crate::webhooks::signature::{self, DELIVERY_HEADER, SIGNATURE_HEADER};
use crate::workers::{BATCH, WorkerError};

mod enqueue;
mod http;
mod send;

pub(crate) use enqueue::follow;
use http::post;
pub(crate) use send::send;

/// The follower's name in the store's consumer cursors.
pub(crate) const CONSUMER: &str = egov_store::DELIVERIES_CURSOR;
/// The longest one attempt may take, from connecting to the answer's status (wall time).
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// The longest connecting may take (within [`TIMEOUT`]).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a claimed delivery stays held by its sender (wall time): longer than any attempt
/// and the recording of its outcome.
pub const LEASE: Duration = Duration::from_secs(60);
/// How long before its lease ends an attempt stops trying to record its outcome: margin for
/// the last try and for the clocks of other instances (the lease is wall time).
const FINISH_MARGIN: Duration = Duration::from_secs(5);
/// The pauses between tries to record an outcome.
const FINISH_BACKOFF: Backoff = Backoff {
    first: Duration::from_millis(100),
    most: Duration::from_secs(5),
};
/// The most attempts in flight to one hook.
pub const PER_HOOK: usize = 4;
/// The most attempts in flight in all.
pub const IN_FLIGHT: usize = 32;
/// One HTTP/1 client for every hook, pooling connections per host, and the allow-list its
/// resolver checks names against (addresses in URLs are checked before sending).
struct HttpClient {
    client: Client<HttpConnector<Guard>, Full<Bytes>>,
    guard: Guard,
}

/// The deliverer's shared state, one per [`Supervision`].
pub(crate) struct Deliverer {
    /// Wakes the sender: deliveries enqueued, a hook created or removed, an attempt ended.
    kick: Notify,
    /// Wakes the follower: a hook was created (its filters apply from the next batch).
    follow_kick: Notify,
    /// Passes of the sender begun so far.
    passes: AtomicU64,
    /// The latest pass (its number, its clock time) that found nothing due and nothing in
    /// flight.
    idle_through: watch::Sender<Option<(u64, DateTime<Utc>)>>,
    /// The stream position through which the follower enqueued (and persisted it).
    followed_through: watch::Sender<Option<WarningPosition>>,
    /// Free attempt slots, [`IN_FLIGHT`] in all; all free again once nothing is in flight.
    slots: Arc<Semaphore>,
    /// Attempts in flight per hook.
    per_hook: Arc<Mutex<HashMap<i64, usize>>>,
    /// One HTTP/1 client for every hook; it resolves through the [`Guard`], which refuses
    /// destinations the allow-list does not permit.
    client: HttpClient,
}

impl std::fmt::Debug for Deliverer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deliverer")
            .field("in_flight", &(IN_FLIGHT - self.slots.available_permits()))
            .field("idle_through", &*self.idle_through.borrow())
            .field("followed_through", &*self.followed_through.borrow())
            .finish_non_exhaustive()
    }
}

impl Deliverer {
    pub fn new(allow: WebhookAllow) -> Self {
        let guard = Guard::new(allow);
        let mut http = HttpConnector::new_with_resolver(guard.clone());
        http.set_connect_timeout(Some(CONNECT_TIMEOUT));
        http.set_nodelay(true);
        // Hooks are http:// only (checked when created); a TLS relay does https.
        http.enforce_http(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(PER_HOOK)
            .build(http);
        Deliverer {
            kick: Notify::new(),
            follow_kick: Notify::new(),
            passes: AtomicU64::new(0),
            idle_through: watch::Sender::new(None),
            followed_through: watch::Sender::new(None),
            slots: Arc::new(Semaphore::new(IN_FLIGHT)),
            per_hook: Arc::new(Mutex::new(HashMap::new())),
            client: HttpClient { client, guard },
        }
    }

    /// The destinations allowed although not public.
    pub fn allow(&self) -> &WebhookAllow {
        self.client.guard.allow()
    }

    /// Makes both loops look now (a hook was created or removed).
    pub fn wake(&self) {
        self.follow_kick.notify_one();
        self.kick.notify_one();
    }

    fn in_flight(&self) -> usize {
        IN_FLIGHT - self.slots.available_permits()
    }
}

impl Supervision {
    /// Resolves once the webhook sender has found, at a clock time at or after `t`, no
    /// delivery due and none in flight: every attempt due by `t` was made and its outcome
    /// recorded. The sender is asked to look at once. Never resolves if the workers are not
    /// running: put a timeout around it.
    pub async fn deliveries_idle(&self, t: DateTime<Utc>) {
        let d = self.deliverer();
        let mut idle = d.idle_through.subscribe();
        // Only a pass begun from now on has seen what the caller did before.
        let begun = d.passes.load(Ordering::SeqCst);
        d.kick.notify_one();
        let _ = idle
            .wait_for(|done| done.is_some_and(|(pass, at)| pass > begun && at >= t))
            .await;
    }

    /// Resolves once the webhook follower has enqueued the deliveries of every warning
    /// through `position` (take it from `Store::warnings_head` after the writes of interest).
    /// Never resolves if the workers are not running: put a timeout around it.
    pub async fn deliveries_enqueued(&self, position: WarningPosition) {
        let d = self.deliverer();
        let mut followed = d.followed_through.subscribe();
        d.follow_kick.notify_one();
        let _ = followed
            .wait_for(|p| p.is_some_and(|p| p >= position))
            .await;
    }
}

/// Pauses between tries: `first`, doubling up to `most`.
#[derive(Debug, Clone, Copy)]
struct Backoff {
    first: Duration,
    most: Duration,
}

/// Calls `op` until it succeeds, pausing between failures by `backoff`, as long as the next
/// call can start by `deadline`; else its last error.
async fn until_ok<T, E, F: Future<Output = Result<T, E>>>(
    deadline: tokio::time::Instant,
    backoff: Backoff,
    mut op: impl FnMut() -> F,
) -> Result<T, E> {
    let mut pause = backoff.first;
    loop {
        let error = match op().await {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            return Err(error);
        }
        tokio::time::sleep(pause.min(left)).await;
        pause = pause.saturating_mul(2).min(backoff.most);
    }
}

#[cfg(test)]
mod tests {
    use super::enqueue::{Step, cursor, matches, next_step};
    use super::*;
    use serde_json::json;

    fn hook(department: Option<&str>, region: Option<&str>, level: Option<&str>) -> WebhookRow {
        WebhookRow {
            id: 1,
            url: "http://127.0.0.1:9/".into(),
            secret: "0123456789abcdef".into(),
            department: department.map(Into::into),
            region_prefix: region.map(Into::into),
            min_level: level.map(Into::into),
            max_attempts: 20,
            active: true,
            created_at: Utc::now(),
            removed_at: None,
        }
    }

    fn warning(department: &str, region: &str, level: &str) -> WarningRow {
        serde_json::from_value(json!({
            "id": 1,
            "position": WarningPosition::START,
            "case_no": "C-1",
            "rule": "missing_reasons",
            "level": level,
            "department": department,
            "region": region,
            "matter_code": "M-1",
            "due_at": null,
            "raised_at": Utc::now(),
            "state": "raised",
            "detail": {},
            "correction_due_at": null,
        }))
        .unwrap()
    }

    #[test]
    fn filters_are_department_region_subtree_and_lowest_level() {
        let w = warning("market", "330106", "yellow_card");
        assert!(matches(&hook(None, None, None), &w));
        assert!(matches(
            &hook(Some("market"), Some("3301"), Some("yellow_card")),
            &w
        ));
        assert!(matches(&hook(None, Some("330106"), Some("reminder")), &w));
        assert!(!matches(&hook(Some("transport"), None, None), &w));
        assert!(!matches(&hook(None, Some("3302"), None), &w));
        assert!(!matches(&hook(None, None, Some("red_card")), &w));
        assert!(matches(
            &hook(None, None, Some("red_card")),
            &warning("market", "330106", "red_card")
        ));
        let removed = WebhookRow {
            active: false,
            ..hook(None, None, None)
        };
        assert!(!matches(&removed, &w));
    }

    fn new_hook() -> egov_store::NewWebhook {
        egov_store::NewWebhook {
            url: "http://127.0.0.1:9/".into(),
            secret: "0123456789abcdef".into(),
            department: None,
            region_prefix: None,
            min_level: None,
            max_attempts: 3,
            created_at: Utc::now(),
        }
    }

    /// Stores a warning of case `case_no` and waits until the stream can hand it out.
    async fn store_warning(store: &Store, case_no: &str) -> i64 {
        let stored = store
            .insert_warnings(&[egov_store::NewWarning {
                case_no: case_no.into(),
                rule: "missing_reasons".into(),
                level: "yellow_card".into(),
                department: "market".into(),
                region: "330106".into(),
                matter_code: "M-1".into(),
                due_at: None,
                raised_at: Utc::now(),
                detail: json!({}),
            }])
            .await
            .expect("a warning");
        egov_store::testing::warnings_settled(store).await;
        stored[0].id
    }

    /// A hook created while the follower reads (after it read the hooks, before it read the
    /// warnings), and a warning stored after it: the batch holding that warning is matched
    /// against the new hook too, so the hook does not miss it when the cursor moves past.
    async fn a_hook_created_between_the_follower_reads_gets_the_batch(store: Store) {
        let first = store.create_webhook(&new_hook()).await.expect("a hook");
        let all = WarningFilter::default();
        let mut created = None;
        let mut stored = None;
        let step = next_step(&store, WarningPosition::START, &all, async {
            created = Some(store.create_webhook(&new_hook()).await.expect("a hook").id);
            stored = Some(store_warning(&store, "C-1").await);
        })
        .await
        .expect("a step");
        let Step::Batch { rows, hooks } = step else {
            panic!("hooks exist: the warnings are read, not skipped: {step:?}");
        };
        assert_eq!(
            rows.iter().map(|w| w.id).collect::<Vec<_>>(),
            [stored.unwrap()]
        );
        assert_eq!(
            hooks.iter().map(|h| h.id).collect::<Vec<_>>(),
            [first.id, created.unwrap()],
            "the batch is matched against the hook created before it was read"
        );
    }

    /// With no hook, the follower skips to the head it read BEFORE the hooks: a hook created
    /// after that read, and a warning stored after it, are left for the next pass.
    async fn with_no_hook_the_follower_skips_only_what_no_hook_is_owed(store: Store) {
        let old = store_warning(&store, "C-0").await;
        let all = WarningFilter::default();
        let step = next_step(&store, WarningPosition::START, &all, async {
            store.create_webhook(&new_hook()).await.expect("a hook");
            store_warning(&store, "C-1").await;
        })
        .await
        .expect("a step");
        let Step::Skip(head) = step else {
            panic!("no hook when read: the warnings are skipped: {step:?}");
        };
        let next = store
            .read_warnings(head, &all, 100)
            .await
            .expect("read warnings");
        assert!(next.iter().all(|w| w.id != old), "C-0 is skipped");
        assert_eq!(next.len(), 1, "C-1 is read by the next pass: {next:?}");
        let Step::Batch { rows, hooks } = next_step(&store, head, &all, std::future::ready(()))
            .await
            .expect("a step")
        else {
            panic!("a hook exists now");
        };
        assert_eq!((rows.len(), hooks.len()), (1, 1));
    }

    /// Issue 18: the follower starts for the first time after a hook was created and
    /// warnings were raised (a platform answers RPCs as soon as it is bound, before its
    /// workers ran; on a loaded machine the follower's first read comes seconds later). It
    /// starts before the warnings raised after the hook, so the hook gets them; before the
    /// fix it started at the head of the stream, past them, and the hook never got them.
    async fn a_follower_starting_after_a_hook_and_its_warnings_starts_before_them(store: Store) {
        store_warning(&store, "C-0").await;
        let hook = store.create_webhook(&new_hook()).await.expect("a hook");
        let owed = store_warning(&store, "C-1").await;
        let after = cursor(&store).await.expect("the follower's first cursor");
        let all = WarningFilter::default();
        let step = next_step(&store, after, &all, std::future::ready(()))
            .await
            .expect("a step");
        let Step::Batch { rows, hooks } = step else {
            panic!("a hook exists: the warnings are read, not skipped: {step:?}");
        };
        assert_eq!(
            rows.iter().map(|w| w.id).collect::<Vec<_>>(),
            [owed],
            "the warning raised after the hook, and only it, is matched"
        );
        assert_eq!(hooks.iter().map(|h| h.id).collect::<Vec<_>>(), [hook.id]);
    }

    mod postgres {
        #[tokio::test]
        async fn a_hook_created_between_the_follower_reads_gets_the_batch() {
            let store = egov_store::testing::fresh_postgres().await;
            super::a_hook_created_between_the_follower_reads_gets_the_batch(store).await;
        }

        #[tokio::test]
        async fn with_no_hook_the_follower_skips_only_what_no_hook_is_owed() {
            let store = egov_store::testing::fresh_postgres().await;
            super::with_no_hook_the_follower_skips_only_what_no_hook_is_owed(store).await;
        }

        #[tokio::test]
        async fn a_follower_starting_after_a_hook_and_its_warnings_starts_before_them() {
            let store = egov_store::testing::fresh_postgres().await;
            super::a_follower_starting_after_a_hook_and_its_warnings_starts_before_them(store)
                .await;
        }
    }

    mod sqlite {
        #[tokio::test]
        async fn a_hook_created_between_the_follower_reads_gets_the_batch() {
            let store = egov_store::testing::fresh_sqlite().await;
            super::a_hook_created_between_the_follower_reads_gets_the_batch(store).await;
        }

        #[tokio::test]
        async fn with_no_hook_the_follower_skips_only_what_no_hook_is_owed() {
            let store = egov_store::testing::fresh_sqlite().await;
            super::with_no_hook_the_follower_skips_only_what_no_hook_is_owed(store).await;
        }

        #[tokio::test]
        async fn a_follower_starting_after_a_hook_and_its_warnings_starts_before_them() {
            let store = egov_store::testing::fresh_sqlite().await;
            super::a_follower_starting_after_a_hook_and_its_warnings_starts_before_them(store)
                .await;
        }
    }

    const QUICK: Backoff = Backoff {
        first: Duration::from_millis(1),
        most: Duration::from_millis(4),
    };

    /// An outcome is recorded through a database outage much longer than a few retries, as
    /// long as the lease holds the delivery.
    #[tokio::test]
    async fn recording_an_outcome_outlasts_an_outage_within_the_lease() {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let mut calls = 0;
        let result: Result<u32, &str> = until_ok(deadline, QUICK, || {
            calls += 1;
            let n = calls;
            async move { if n <= 60 { Err("database down") } else { Ok(n) } }
        })
        .await;
        assert_eq!(result, Ok(61));
    }

    /// ... and gives up, with the last error, once the lease is about to end.
    #[tokio::test]
    async fn recording_an_outcome_gives_up_at_the_deadline() {
        let started = tokio::time::Instant::now();
        let deadline = started + Duration::from_millis(200);
        let mut calls = 0;
        let result: Result<(), String> = until_ok(deadline, QUICK, || {
            calls += 1;
            let n = calls;
            async move { Err(format!("down ({n})")) }
        })
        .await;
        // It returned (gave up) with the last error, and not before the deadline. How many
        // tries fit in 200 ms, and how late the return comes, depend on the machine's load:
        // not asserted (a loaded soak round failed on such bounds).
        assert_eq!(result, Err(format!("down ({calls})")));
        assert!(calls >= 1);
        assert!(started.elapsed() >= Duration::from_millis(200));
    }
}
