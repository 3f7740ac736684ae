//! Wake-up latency under concurrent load, on PostgreSQL: a commit's notification can come
//! while an unrelated transaction of the same database (another case's write) holds the new
//! rows back (the log and the warning stream return only rows older than every open
//! transaction that may write there). The readers then look
//! again within a few hundred milliseconds, instead of waiting for the fallback poll, which
//! these tests set to an hour so that only the short second look can deliver in time.
//!
//! The two tests take turns (each holds a transaction open, which would hold back the other's
//! rows) and run in a test binary of their own, away from the heavy stories of `workers.rs`.

mod support;

use std::time::Duration;

use chrono::DateTime;
use egov_approval::testing::fixtures::*;
use egov_platform::testing::spawn_approval_on;
use egov_platform::testing::{TestSupervision, next_warning, spawn_supervision_with};
use egov_proto::supervision::v1 as pb;
use egov_runtime::clock::ManualClock;
use egov_store::{
    CaseRow, CaseWrite, LogPosition, NewWarning, Store, StoreError, StoredRecord, WarningFilter,
    WarningPosition,
};
use egov_supervision::SupervisionOptions;
use support::*;
use tokio::sync::{Mutex, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Only the short second look can deliver in time: the fallback poll is an hour.
const NO_POLL: Duration = Duration::from_secs(3600);
/// How long the unrelated transaction stays open once the new rows are committed.
const HOLD: Duration = Duration::from_millis(100);
/// Delivery must come well within the default fallback poll (1 s) after the rows can be read.
const PROMPT: Duration = Duration::from_millis(600);

/// One test at a time: see the module docs.
static TURN: Mutex<()> = Mutex::const_new(());

fn options() -> SupervisionOptions {
    SupervisionOptions {
        fallback_poll: NO_POLL,
        corrections: false,
        ..SupervisionOptions::default()
    }
}

type Held = (
    oneshot::Sender<()>,
    JoinHandle<Result<Vec<StoredRecord>, StoreError>>,
);

/// A writing transaction in ANOTHER fresh database of the same server, open (its statements
/// run, its transaction id taken) until the sender fires. Transaction ids are server-wide,
/// so it holds back the rows of every later transaction in every database.
async fn hold_an_unrelated_transaction(store: &Store) -> Held {
    // The same database: a transaction of another database of the server holds nothing back.
    let other = store.clone();
    let t = DateTime::from_timestamp(1_700_000_000, 0).expect("an instant");
    let write = CaseWrite {
        case: CaseRow {
            case_no: "UNRELATED".into(),
            matter_code: "M".into(),
            department: "d".into(),
            region: "r".into(),
            state: "accepted".into(),
            opened_at: t,
            updated_at: t,
            version: 0,
            next_due_at: None,
            overdue: false,
            provisional: false,
            view: serde_json::json!({}),
        },
        expected_version: None,
        records: Vec::new(),
        due: Vec::new(),
        warnings: Vec::new(),
    };
    let (written_tx, written_rx) = oneshot::channel::<()>();
    let (release_tx, release_rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        other
            .commit_with_hook(&[write], t, async move {
                let _ = written_tx.send(());
                let _ = release_rx.await;
            })
            .await
    });
    written_rx.await.expect("the unrelated transaction is open");
    (release_tx, task)
}

/// Ends the unrelated transaction; returns when it ended.
async fn release((release, task): Held) -> Instant {
    release.send(()).expect("release");
    task.await.expect("join").expect("the unrelated commit");
    Instant::now()
}

/// When `ready` first holds, looking every 5 ms from now on (a background task).
fn first_time<F, Fut>(mut ready: F) -> JoinHandle<Instant>
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    tokio::spawn(async move {
        while !ready().await {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Instant::now()
    })
}

/// Asserts that `delivered` came within [`PROMPT`] of the moment the rows could be read: the
/// release of the unrelated transaction, or later if some other transaction of the server
/// (another test run's) held them back longer.
fn assert_prompt(what: &str, released: Instant, readable: Instant, delivered: Instant) {
    let since = released.max(readable);
    let lag = delivered.saturating_duration_since(since);
    eprintln!(
        "{what}: delivered {:?} after the release, {lag:?} after the rows could be read",
        delivered.saturating_duration_since(released)
    );
    assert!(
        lag < PROMPT,
        "{what}: delivered {lag:?} after the rows could be read (fallback poll {NO_POLL:?})"
    );
}

fn warning(case_no: &str) -> NewWarning {
    NewWarning {
        case_no: case_no.into(),
        rule: "promised_limit_passed".into(),
        level: "yellow_card".into(),
        department: DEPARTMENT.into(),
        region: REGION.into(),
        matter_code: MATTER.into(),
        due_at: Some(local("2024-03-19 00:00")),
        raised_at: local("2024-03-19 00:00"),
        detail: serde_json::json!({ "message": "late", "clock": "promised" }),
    }
}

async fn platform(store: &Store, clock: &ManualClock) -> TestSupervision {
    spawn_supervision_with(store.clone(), clock.clone(), options()).await
}

/// A warning raised while an unrelated transaction is open reaches an open stream soon after
/// that transaction ends, not at the next fallback poll.
#[tokio::test]
async fn a_stream_delivers_a_warning_held_back_by_an_open_transaction_soon_after_it_ends() {
    let _turn = TURN.lock().await;
    let store = egov_store::testing::fresh_postgres().await;
    let clock = ManualClock::new(local("2024-03-19 00:00"));
    let mut s = platform(&store, &clock).await;
    let mut stream = s.stream(Default::default()).await;
    // A first warning, so the stream is known to be running and waiting.
    store
        .insert_warnings(&[warning("W-0")])
        .await
        .expect("insert");
    let first = next_warning(&mut stream).await;
    assert_eq!(first.case_no, "W-0");
    let after: WarningPosition = first.position.parse().expect("a position");

    let held = hold_an_unrelated_transaction(&store).await;
    store
        .insert_warnings(&[warning("W-1")])
        .await
        .expect("insert");
    let readable = first_time({
        let store = store.clone();
        move || {
            let store = store.clone();
            async move {
                !store
                    .read_warnings(after, &WarningFilter::default(), 1)
                    .await
                    .expect("read")
                    .is_empty()
            }
        }
    });
    // Notified, but held back: nothing comes while the unrelated transaction is open.
    let early = tokio::time::timeout(HOLD, stream.message()).await;
    assert!(early.is_err(), "delivered while held back: {early:?}");
    let released = release(held).await;
    let second = next_warning(&mut stream).await;
    let delivered = Instant::now();
    assert_eq!(second.case_no, "W-1");
    let readable = readable.await.expect("join");
    assert_prompt("the stream", released, readable, delivered);
}

/// Records committed while an unrelated transaction is open reach the log follower soon
/// after that transaction ends: the warnings of a case completed late are raised (and
/// streamed) at once, not at the next fallback poll.
#[tokio::test]
async fn the_log_follower_reads_records_held_back_by_an_open_transaction_soon_after_it_ends() {
    let _turn = TURN.lock().await;
    let store = egov_store::testing::fresh_postgres().await;
    let clock = ManualClock::new(local("2024-04-15 10:00"));
    let mut approval = spawn_approval_on(store.clone(), clock.clone()).await;
    approval
        .client
        .upsert_matters(egov_proto::approval::v1::UpsertMattersRequest {
            matters: vec![matter(MATTER, DEPARTMENT, 10, 20)],
        })
        .await
        .expect("the matter is loaded");
    let mut s = platform(&store, &clock).await;
    let mut stream = s.stream(Default::default()).await;

    let held = hold_an_unrelated_transaction(&store).await;
    // Completed on 04-10, after its promised (03-18) and statutory (04-01) deadlines.
    let records = vec![
        record(
            "C-1",
            "C-1-1",
            "2024-03-04 09:00",
            application(MATTER, DEPARTMENT, REGION),
        ),
        record("C-1", "C-1-2", "2024-03-04 10:00", acceptance()),
        record("C-1", "C-1-3", "2024-04-10 11:00", decision(true)),
        record("C-1", "C-1-4", "2024-04-10 11:00", completion()),
        record("C-1", "C-1-5", "2024-04-10 11:00", certificate()),
    ];
    push(&mut approval, records).await;
    let readable = first_time({
        let store = store.clone();
        move || {
            let store = store.clone();
            async move {
                !store
                    .read_log(LogPosition::START, 1)
                    .await
                    .expect("read")
                    .is_empty()
            }
        }
    });
    let early = tokio::time::timeout(HOLD, stream.message()).await;
    assert!(early.is_err(), "raised while held back: {early:?}");
    let released = release(held).await;
    let got = [
        next_warning(&mut stream).await,
        next_warning(&mut stream).await,
    ];
    let delivered = Instant::now();
    assert_eq!(
        keys(&got),
        [
            (
                "C-1".to_owned(),
                pb::WarningRule::PromisedLimitPassed,
                pb::WarningLevel::YellowCard
            ),
            (
                "C-1".to_owned(),
                pb::WarningRule::StatutoryLimitPassed,
                pb::WarningLevel::RedCard
            ),
        ]
    );
    let readable = readable.await.expect("join");
    assert_prompt("the log follower", released, readable, delivered);
}
