//! The webhook outbox against both backends: the registry of hooks, enqueueing deliveries
//! with the follower's cursor (idempotent: one delivery per hook and warning, however often
//! a batch is enqueued), claiming due deliveries under a lease, recording outcomes, and the
//! operator's listing.

use std::time::Duration;

use chrono::{DateTime, Utc};
use egov_store::testing::warnings_settled;
use egov_store::testing::{fresh_postgres, fresh_sqlite};
use egov_store::{
    DELIVERIES_CURSOR, DeliveryCounts, DeliveryOutcome, EVENT_RAISED, EVENT_WITHDRAWN, NewWarning,
    NewWebhook, Page, Store, StoreError, WarningRow,
};
use serde_json::json;

const CONSUMER: &str = DELIVERIES_CURSOR;
const LEASE: Duration = Duration::from_secs(60);

/// 2024-03-01 00:00 UTC plus `seconds`.
fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2024-03-01T00:00:00Z")
        .expect("fixture timestamp")
        .with_timezone(&Utc)
        + chrono::Duration::seconds(seconds)
}

fn hook(url: &str) -> NewWebhook {
    NewWebhook {
        url: url.into(),
        secret: "a-secret-of-sixteen-chars".into(),
        department: None,
        region_prefix: None,
        min_level: None,
        max_attempts: 3,
        created_at: at(0),
    }
}

/// `n` stored warnings of distinct cases.
async fn warnings(store: &Store, n: usize) -> Vec<WarningRow> {
    let new: Vec<NewWarning> = (0..n)
        .map(|i| NewWarning {
            case_no: format!("C-{i}"),
            rule: "missing_reasons".into(),
            level: "yellow_card".into(),
            department: "market".into(),
            region: "330106".into(),
            matter_code: "M-001".into(),
            due_at: None,
            raised_at: at(1),
            detail: json!({ "message": "refused without reasons" }),
        })
        .collect();
    store.insert_warnings(&new).await.expect("warnings")
}

async fn enqueue_is_idempotent_per_hook_and_warning(store: Store) {
    let a = store
        .create_webhook(&hook("http://a.test/"))
        .await
        .expect("a");
    let b = store
        .create_webhook(&hook("http://b.test/"))
        .await
        .expect("b");
    let w = warnings(&store, 3).await;
    let pairs: Vec<(i64, i64, &str)> = w
        .iter()
        .flat_map(|w| [(a.id, w.id, EVENT_RAISED), (b.id, w.id, EVENT_RAISED)])
        .collect();
    let first = store
        .enqueue_deliveries(CONSUMER, "w1", &pairs, at(2))
        .await
        .expect("enqueue");
    assert_eq!(first, 6);
    assert_eq!(
        store.get_cursor(CONSUMER).await.expect("cursor").as_deref(),
        Some("w1")
    );
    // The same batch again (a restart before the cursor moved, a warning streamed again
    // after a state change), and a pair twice in one call: nothing new.
    let mut again = pairs.clone();
    again.push(pairs[0]);
    let second = store
        .enqueue_deliveries(CONSUMER, "w2", &again, at(3))
        .await
        .expect("enqueue again");
    assert_eq!(second, 0);
    assert_eq!(
        store.get_cursor(CONSUMER).await.expect("cursor").as_deref(),
        Some("w2")
    );
    let (listed, next) = store
        .list_deliveries(a.id, &[], Page::first(10))
        .await
        .expect("list");
    assert_eq!(next, None);
    assert_eq!(listed.len(), 3);
    assert!(
        listed.iter().all(|d| d.state == "pending"
            && d.attempts == 0
            && d.next_attempt_at == Some(at(2))
            && d.created_at == at(2)),
        "{listed:?}"
    );
    // Newest first.
    let ids: Vec<i64> = listed.iter().map(|d| d.id).collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable_by(|x, y| y.cmp(x));
    assert_eq!(ids, sorted);
    let counts = store.delivery_counts(&[a.id, b.id]).await.expect("counts");
    assert_eq!(counts[&a.id].pending, 3);
    assert_eq!(counts[&b.id].pending, 3);
    // Only the hooks asked about are counted.
    let only_b = store.delivery_counts(&[b.id, 999]).await.expect("counts");
    assert_eq!(only_b.keys().copied().collect::<Vec<_>>(), [b.id]);
    assert_eq!(only_b[&b.id].pending, 3);
    // A withdrawal is a delivery of its own, once, beside the raise.
    let withdrawn = [
        (a.id, w[0].id, EVENT_WITHDRAWN),
        (a.id, w[0].id, EVENT_WITHDRAWN),
    ];
    let third = store
        .enqueue_deliveries(CONSUMER, "w2", &withdrawn, at(3))
        .await
        .expect("enqueue a withdrawal");
    assert_eq!(third, 1);
    let (listed, _) = store
        .list_deliveries(a.id, &[], Page::first(10))
        .await
        .expect("list");
    let events: Vec<&str> = listed.iter().map(|d| d.event.as_str()).collect();
    assert_eq!(
        events,
        [EVENT_WITHDRAWN, EVENT_RAISED, EVENT_RAISED, EVENT_RAISED]
    );
    assert_eq!(listed[0].warning_id, w[0].id);
    assert!(store.delivery_counts(&[]).await.expect("counts").is_empty());
}

async fn an_empty_batch_still_moves_the_cursor(store: Store) {
    store
        .enqueue_deliveries(CONSUMER, "w9", &[], at(0))
        .await
        .expect("enqueue nothing");
    assert_eq!(
        store.get_cursor(CONSUMER).await.expect("cursor").as_deref(),
        Some("w9")
    );
}

/// One warning of case `case_no`, stored and readable (on PostgreSQL a warning is held back
/// while an older transaction of the server is open).
async fn settled_warning(store: &Store, case_no: &str) -> WarningRow {
    let stored = store
        .insert_warnings(&[NewWarning {
            case_no: case_no.into(),
            rule: "missing_reasons".into(),
            level: "yellow_card".into(),
            department: "market".into(),
            region: "330106".into(),
            matter_code: "M-001".into(),
            due_at: None,
            raised_at: at(1),
            detail: json!({ "message": "refused without reasons" }),
        }])
        .await
        .expect("a warning");
    warnings_settled(store).await;
    stored.into_iter().next().expect("a new warning")
}

/// Issue 18: a hook is owed every warning raised after it exists, however late the follower
/// first starts. Creating the first hook starts the follower's cursor at the head of the
/// stream; later hooks leave it where it is, and the follower's first start keeps it.
async fn creating_a_hook_starts_the_followers_cursor_once(store: Store) {
    let old = settled_warning(&store, "C-OLD").await;
    assert_eq!(store.get_cursor(CONSUMER).await.expect("cursor"), None);
    store
        .create_webhook(&hook("http://a.test/"))
        .await
        .expect("a");
    let started = old.position.to_string();
    assert_eq!(
        store.get_cursor(CONSUMER).await.expect("cursor"),
        Some(started.clone()),
        "the cursor starts at the head the hook's creation saw"
    );
    let new = settled_warning(&store, "C-NEW").await;
    store
        .create_webhook(&hook("http://b.test/"))
        .await
        .expect("b");
    assert_eq!(
        store.start_deliveries_cursor().await.expect("start"),
        started,
        "a later hook and the follower's first start keep the position"
    );
    let beyond = store
        .read_warnings(old.position, &Default::default(), 10)
        .await
        .expect("read");
    assert_eq!(
        beyond.iter().map(|w| w.id).collect::<Vec<_>>(),
        [new.id],
        "the warning raised after the first hook lies beyond the cursor"
    );
}

/// With no hook ever created, the follower's first start takes the head of the stream (a
/// large database's history is not read) and stores it.
async fn without_a_hook_the_follower_starts_at_the_head(store: Store) {
    let old = settled_warning(&store, "C-OLD").await;
    let started = store.start_deliveries_cursor().await.expect("start");
    assert_eq!(started, old.position.to_string());
    assert_eq!(
        store.get_cursor(CONSUMER).await.expect("cursor"),
        Some(started)
    );
}

async fn a_removed_hook_gets_nothing_and_its_pending_deliveries_are_cancelled(store: Store) {
    let a = store
        .create_webhook(&hook("http://a.test/"))
        .await
        .expect("a");
    let w = warnings(&store, 2).await;
    store
        .enqueue_deliveries(CONSUMER, "w1", &[(a.id, w[0].id, EVENT_RAISED)], at(1))
        .await
        .expect("enqueue");
    let removed = store.remove_webhook(a.id, at(5)).await.expect("remove");
    assert!(!removed.active);
    assert_eq!(removed.removed_at, Some(at(5)));
    // Removing again changes nothing (the first removal time stays).
    let again = store
        .remove_webhook(a.id, at(9))
        .await
        .expect("remove again");
    assert_eq!(again.removed_at, Some(at(5)));
    let added = store
        .enqueue_deliveries(CONSUMER, "w2", &[(a.id, w[1].id, EVENT_RAISED)], at(6))
        .await
        .expect("enqueue");
    assert_eq!(added, 0, "no delivery for a removed hook");
    let (listed, _) = store
        .list_deliveries(a.id, &[], Page::first(10))
        .await
        .expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].state, "cancelled");
    assert_eq!(listed[0].next_attempt_at, None);
    assert!(
        store
            .claim_deliveries(a.id, at(100), 10, LEASE)
            .await
            .expect("claim")
            .is_empty()
    );
    assert!(matches!(
        store.remove_webhook(a.id + 100, at(9)).await,
        Err(StoreError::NotFound {
            what: "webhook",
            ..
        })
    ));
    let all = store.webhooks().await.expect("hooks");
    assert_eq!(all.len(), 1, "a removed hook stays, for the record");
    assert!(!all[0].active);
}

async fn claims_are_due_leased_and_counted(store: Store) {
    let a = store
        .create_webhook(&hook("http://a.test/"))
        .await
        .expect("a");
    let w = warnings(&store, 3).await;
    store
        .enqueue_deliveries(
            CONSUMER,
            "w1",
            &[(a.id, w[0].id, EVENT_RAISED), (a.id, w[1].id, EVENT_RAISED)],
            at(10),
        )
        .await
        .expect("enqueue");
    store
        .enqueue_deliveries(CONSUMER, "w2", &[(a.id, w[2].id, EVENT_RAISED)], at(20))
        .await
        .expect("enqueue");
    assert_eq!(store.next_delivery_due().await.expect("next"), Some(at(10)));
    assert!(
        store
            .claim_deliveries(a.id, at(9), 10, LEASE)
            .await
            .expect("claim")
            .is_empty(),
        "nothing is due before its time"
    );
    let claimed = store
        .claim_deliveries(a.id, at(15), 10, LEASE)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 2);
    assert!(claimed.iter().all(|d| d.attempts == 1));
    // Held by the lease: neither claimed again nor waited for.
    assert!(
        store
            .claim_deliveries(a.id, at(15), 10, LEASE)
            .await
            .expect("claim again")
            .is_empty()
    );
    assert_eq!(store.next_delivery_due().await.expect("next"), Some(at(20)));
    // An outcome with another attempt number than the claim's is not applied.
    let first = &claimed[0];
    let stale = DeliveryOutcome::Delivered { at: at(16) };
    assert!(
        !store
            .finish_delivery(first.id, 7, &stale)
            .await
            .expect("stale finish")
    );
    let retry = DeliveryOutcome::Retry {
        at: at(30),
        error: "HTTP 500".into(),
    };
    assert!(
        store
            .finish_delivery(first.id, 1, &retry)
            .await
            .expect("retry")
    );
    let delivered = DeliveryOutcome::Delivered { at: at(17) };
    assert!(
        store
            .finish_delivery(claimed[1].id, 1, &delivered)
            .await
            .expect("delivered")
    );
    // A delivered one is never claimed again; the retried one is due at its new time.
    let later = store
        .claim_deliveries(a.id, at(29), 10, LEASE)
        .await
        .expect("claim");
    assert_eq!(
        later.iter().map(|d| d.warning_id).collect::<Vec<_>>(),
        [w[2].id]
    );
    let last = store
        .claim_deliveries(a.id, at(30), 10, LEASE)
        .await
        .expect("claim");
    assert_eq!(last.len(), 1);
    assert_eq!((last[0].id, last[0].attempts), (first.id, 2));
    let gave_up = DeliveryOutcome::GaveUp {
        error: "connection refused".into(),
    };
    assert!(
        store
            .finish_delivery(first.id, 2, &gave_up)
            .await
            .expect("give up")
    );
    assert!(
        !store
            .finish_delivery(first.id, 2, &delivered)
            .await
            .expect("finish a failed one"),
        "a finished delivery stays finished"
    );

    let (failed, _) = store
        .list_deliveries(a.id, &["failed".to_owned()], Page::first(10))
        .await
        .expect("list failed");
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].last_error.as_deref(), Some("connection refused"));
    assert_eq!(failed[0].next_attempt_at, None);
    let (done, _) = store
        .list_deliveries(a.id, &["delivered".to_owned()], Page::first(10))
        .await
        .expect("list delivered");
    assert_eq!(done[0].delivered_at, Some(at(17)));
    assert_eq!(
        store.delivery_counts(&[a.id]).await.expect("counts")[&a.id],
        DeliveryCounts {
            pending: 1,
            delivered: 1,
            failed: 1,
            cancelled: 0
        }
    );
}

/// A sender whose lease ran out (it hung, or could not record its outcome in time) is taken
/// over by another: the delivery is claimed again with the next attempt number, and the
/// first sender's late outcome is refused, so only the claim in force decides it.
async fn a_claim_is_taken_over_after_its_lease_and_a_stale_finish_is_refused(store: Store) {
    let a = store
        .create_webhook(&hook("http://a.test/"))
        .await
        .expect("a");
    let w = warnings(&store, 1).await;
    store
        .enqueue_deliveries(CONSUMER, "w1", &[(a.id, w[0].id, EVENT_RAISED)], at(10))
        .await
        .expect("enqueue");
    // A lease that has run out as soon as it is taken.
    let first = store
        .claim_deliveries(a.id, at(10), 10, Duration::ZERO)
        .await
        .expect("first claim");
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].attempts, 1);
    assert_eq!(
        store.next_delivery_due().await.expect("next"),
        Some(at(10)),
        "a delivery whose lease ran out is due again"
    );
    let second = store
        .claim_deliveries(a.id, at(10), 10, LEASE)
        .await
        .expect("takeover");
    assert_eq!(
        second
            .iter()
            .map(|d| (d.id, d.attempts))
            .collect::<Vec<_>>(),
        [(first[0].id, 2)],
        "taken over, one attempt more"
    );
    // The first sender's outcome comes late: refused, whatever it says.
    for stale in [
        DeliveryOutcome::Delivered { at: at(11) },
        DeliveryOutcome::Retry {
            at: at(99),
            error: "HTTP 500".into(),
        },
        DeliveryOutcome::GaveUp {
            error: "timed out".into(),
        },
    ] {
        assert!(
            !store
                .finish_delivery(first[0].id, 1, &stale)
                .await
                .expect("stale finish"),
            "a stale finish is refused: {stale:?}"
        );
    }
    let (listed, _) = store
        .list_deliveries(a.id, &[], Page::first(10))
        .await
        .expect("list");
    assert_eq!(
        (
            listed[0].state.as_str(),
            listed[0].attempts,
            &listed[0].last_error
        ),
        ("pending", 2, &None),
        "the stale outcomes changed nothing"
    );
    // Held by the second claim's lease, and its outcome is the one recorded.
    assert!(
        store
            .claim_deliveries(a.id, at(10), 10, LEASE)
            .await
            .expect("claim again")
            .is_empty()
    );
    assert!(
        store
            .finish_delivery(first[0].id, 2, &DeliveryOutcome::Delivered { at: at(12) })
            .await
            .expect("finish")
    );
    let (listed, _) = store
        .list_deliveries(a.id, &[], Page::first(10))
        .await
        .expect("list");
    assert_eq!(listed[0].state, "delivered");
    assert_eq!(listed[0].delivered_at, Some(at(12)));
}

async fn a_claim_takes_at_most_the_limit_earliest_first(store: Store) {
    let a = store
        .create_webhook(&hook("http://a.test/"))
        .await
        .expect("a");
    let w = warnings(&store, 5).await;
    for (i, warning) in w.iter().enumerate().rev() {
        store
            .enqueue_deliveries(
                CONSUMER,
                "w",
                &[(a.id, warning.id, EVENT_RAISED)],
                at(i as i64),
            )
            .await
            .expect("enqueue");
    }
    let claimed = store
        .claim_deliveries(a.id, at(100), 2, LEASE)
        .await
        .expect("claim");
    assert_eq!(
        claimed.iter().map(|d| d.warning_id).collect::<Vec<_>>(),
        [w[0].id, w[1].id]
    );
}

async fn deliveries_are_listed_in_pages(store: Store) {
    let a = store
        .create_webhook(&hook("http://a.test/"))
        .await
        .expect("a");
    let w = warnings(&store, 5).await;
    let pairs: Vec<(i64, i64, &str)> = w.iter().map(|w| (a.id, w.id, EVENT_RAISED)).collect();
    store
        .enqueue_deliveries(CONSUMER, "w", &pairs, at(0))
        .await
        .expect("enqueue");
    let mut seen = Vec::new();
    let mut page = Page::first(2);
    loop {
        let (rows, next) = store.list_deliveries(a.id, &[], page).await.expect("page");
        assert!(rows.len() <= 2);
        seen.extend(rows.iter().map(|d| d.warning_id));
        match next {
            Some(token) => page = Page::next(2, token),
            None => break,
        }
    }
    seen.sort_unstable();
    assert_eq!(seen, w.iter().map(|w| w.id).collect::<Vec<_>>());
    assert!(matches!(
        store.list_deliveries(a.id, &[], Page::next(2, "zz")).await,
        Err(StoreError::InvalidPageToken)
    ));
}

async fn a_hook_round_trips_and_never_prints_its_secret(store: Store) {
    let created = store
        .create_webhook(&NewWebhook {
            department: Some("market".into()),
            region_prefix: Some("3301".into()),
            min_level: Some("yellow_card".into()),
            max_attempts: 20,
            ..hook("http://127.0.0.1:8080/sms")
        })
        .await
        .expect("create");
    let got = store
        .get_webhook(created.id)
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(got, created);
    assert!(got.active);
    assert_eq!(got.secret, "a-secret-of-sixteen-chars");
    assert_eq!(got.region_prefix.as_deref(), Some("3301"));
    let printed = format!("{got:?}");
    assert!(!printed.contains("sixteen"), "{printed}");
    assert_eq!(store.get_webhook(created.id + 1).await.expect("get"), None);
    assert!(matches!(
        store
            .create_webhook(&NewWebhook {
                max_attempts: 0,
                ..hook("http://a.test/")
            })
            .await,
        Err(StoreError::InvalidInput(_))
    ));
}

macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(super::fresh_postgres().await).await
                }
            )*
        }
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(super::fresh_sqlite().await).await
                }
            )*
        }
    };
}

both_backends!(
    enqueue_is_idempotent_per_hook_and_warning,
    an_empty_batch_still_moves_the_cursor,
    creating_a_hook_starts_the_followers_cursor_once,
    without_a_hook_the_follower_starts_at_the_head,
    a_removed_hook_gets_nothing_and_its_pending_deliveries_are_cancelled,
    claims_are_due_leased_and_counted,
    a_claim_is_taken_over_after_its_lease_and_a_stale_finish_is_refused,
    a_claim_takes_at_most_the_limit_earliest_first,
    deliveries_are_listed_in_pages,
    a_hook_round_trips_and_never_prints_its_secret,
);
