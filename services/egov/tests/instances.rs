//! Several instances of each platform on one PostgreSQL database, run as real `egov`
//! processes, with kill -9 of either platform in the middle of its work (issue 14, item 11,
//! and the fault-injection suite's process kills): the work is shared, and nothing is stored,
//! raised, delivered or counted twice, nor lost (an attempt in flight when its process is
//! killed is sent again, with its delivery id, which receivers deduplicate by).
//!
//! PostgreSQL only: several processes on one SQLite file is not a deployment egov supports
//! (the embedded default is one `egov up`).

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::Utc;
use egov_approval::testing::fixtures;
use egov_platform::testing::connect;
use egov_proto::approval::v1 as pb;
use egov_proto::supervision::v1 as spb;
use egov_proto::supervision::v1::scores_service_client::ScoresServiceClient;
use egov_store::testing::{fresh_postgres_url, stored_records};
use support::processes::{
    PATIENCE, Platform, Receiver, admin_token, approval, eventually, every_case_warned_alike,
    every_warning_delivered_once, overdue_case, soon, status_of, stream_until_cut, supervision,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_of_each_platform_share_one_database_through_kills_and_nothing_happens_twice() {
    let began = Instant::now();
    let lap = |what: &str| eprintln!("{:>6.1} s  {what}", began.elapsed().as_secs_f64());
    let url = fresh_postgres_url().await;
    let token = admin_token(&url);
    let receiver = Receiver::default();
    let hook = receiver.start();
    let allow = ["--webhook-allow", "127.0.0.1"];

    // Two of each on one fresh database, started at once (their migrations race too).
    let starts: Vec<_> = [
        ("approval-1", "approval"),
        ("approval-2", "approval"),
        ("supervision-1", "supervision"),
        ("supervision-2", "supervision"),
    ]
    .into_iter()
    .map(|(name, kind)| {
        let url = url.clone();
        std::thread::spawn(move || Platform::start(name, kind, &url, &allow))
    })
    .collect();
    let mut started: Vec<Platform> = starts
        .into_iter()
        .map(|s| s.join().expect("started"))
        .collect();
    let s2 = started.pop().expect("supervision-2");
    let s1 = started.pop().expect("supervision-1");
    let a2 = started.pop().expect("approval-2");
    let a1 = started.pop().expect("approval-1");

    let mut admin_a1 = approval(a1.addr, &token).await;
    admin_a1
        .upsert_matters(pb::UpsertMattersRequest {
            matters: vec![fixtures::matter("M-FOOD", "market", 10, 20)],
        })
        .await
        .expect("the matter is stored");
    let mut admin_s2 = supervision(s2.addr, &token).await;
    admin_s2
        .create_webhook(spb::CreateWebhookRequest {
            url: format!("http://{hook}/egov"),
            secret: "a-secret-of-the-gateway".into(),
            ..Default::default()
        })
        .await
        .expect("the hook is stored");

    // A stream of supervision-1's warnings, to kill it as it raises them.
    let mut s1_stream = supervision(s1.addr, &token)
        .await
        .stream_warnings(spb::StreamWarningsRequest::default())
        .await
        .expect("a stream")
        .into_inner();

    // 1. The same 200 cases sent to both approval instances at once, in batches of 2 cases,
    //    one from the first case on and the other from the last one back, so that they meet:
    //    each record is stored by exactly one of them, and the other answers DUPLICATE.
    const SHARED: usize = 200;
    let shared: Vec<pb::Record> = (0..SHARED).flat_map(|n| overdue_case("SH", n)).collect();
    let mut sends = Vec::new();
    for (addr, backwards) in [(a1.addr, false), (a2.addr, true)] {
        let (token, records) = (token.clone(), shared.clone());
        sends.push(tokio::spawn(async move {
            let mut client = approval(addr, &token).await;
            let mut stored = BTreeSet::new();
            let mut batches: Vec<&[pb::Record]> = records.chunks(4).collect();
            if backwards {
                batches.reverse();
            }
            for batch in batches {
                let results = client
                    .submit_records(pb::SubmitRecordsRequest {
                        records: batch.to_vec(),
                    })
                    .await
                    .expect("a batch is answered")
                    .into_inner()
                    .results;
                for r in results {
                    match status_of(&r) {
                        pb::RecordStatus::Stored => {
                            stored.insert(r.event_id);
                        }
                        pb::RecordStatus::Duplicate => {}
                        other => panic!("{other:?}: {r:?}"),
                    }
                }
            }
            stored
        }));
    }
    let by_1 = sends.remove(0).await.expect("sent to approval-1");
    let by_2 = sends.remove(0).await.expect("sent to approval-2");
    assert!(
        by_1.is_disjoint(&by_2),
        "a record stored by both instances: {:?}",
        by_1.intersection(&by_2).next()
    );
    assert_eq!(by_1.len() + by_2.len(), 2 * SHARED);
    lap(&format!(
        "records sent to both: {} stored by approval-1, {} by approval-2",
        by_1.len(),
        by_2.len()
    ));
    assert_eq!(
        stored_records(&url).await,
        (2 * SHARED as i64, 2 * SHARED as i64)
    );

    // 2. kill -9 of a supervision instance as soon as it streams the first of the warnings
    //    those cases are due (once they have been quiet for the late grace of 3 s): the other
    //    raises and delivers what it did not.
    tokio::time::timeout(PATIENCE, s1_stream.message())
        .await
        .expect("a first warning")
        .expect("the stream goes on")
        .expect("a warning");
    s1.kill();

    // 3. kill -9 of an approval instance in the middle of a record stream: the client sends
    //    everything again to the other instance, as a client that lost its connection does.
    const STREAMED: usize = 300;
    let streamed: Vec<pb::Record> = (0..STREAMED).flat_map(|n| overdue_case("ST", n)).collect();
    let acked = Arc::new(Mutex::new(Vec::new()));
    let stream = tokio::spawn(stream_until_cut(
        approval(a1.addr, &token).await,
        streamed.clone(),
        acked.clone(),
    ));
    soon(&a1, || acked.lock().expect("not poisoned").len() >= 100).await;
    a1.kill();
    let _ = stream.await;
    let acked_before_kill: BTreeSet<String> = acked
        .lock()
        .expect("not poisoned")
        .iter()
        .cloned()
        .collect();
    let mut client = approval(a2.addr, &token).await;
    let mut again = BTreeMap::new();
    for batch in streamed.chunks(100) {
        for r in client
            .submit_records(pb::SubmitRecordsRequest {
                records: batch.to_vec(),
            })
            .await
            .expect("a batch is answered")
            .into_inner()
            .results
        {
            again.insert(r.event_id.clone(), status_of(&r));
        }
    }
    for id in &acked_before_kill {
        assert_eq!(
            again.get(id),
            Some(&pb::RecordStatus::Duplicate),
            "{id} was acknowledged before the kill, so it is stored"
        );
    }
    let total = (2 * (SHARED + STREAMED)) as i64;
    assert_eq!(stored_records(&url).await, (total, total));
    lap(&format!(
        "approval-1 killed after acknowledging {} records; all {total} stored once",
        acked_before_kill.len()
    ));

    // A supervision instance started again after its kill joins the work.
    let s1 = Platform::start("supervision-1b", "supervision", &url, &allow);
    let platforms = [&a2, &s1, &s2];

    // Every case got the same warnings (they are alike), once: no case lacks one, none twice.
    let cases = SHARED + STREAMED;
    let (warnings, withdrawn) = every_case_warned_alike(s1.addr, &token, cases, &platforms).await;
    let live = warnings.len() - withdrawn;
    let per_case = live / cases;
    assert!(per_case >= 1);
    assert_eq!(live, per_case * cases);
    lap(&format!(
        "{live} warnings, {per_case} per case, and {withdrawn} withdrawn"
    ));

    // Both streams, from the start, show each warning once in each state it reached.
    for p in [&s1, &s2] {
        let mut client = supervision(p.addr, &token).await;
        let mut stream = client
            .stream_warnings(spb::StreamWarningsRequest::default())
            .await
            .expect("a stream")
            .into_inner();
        let mut seen = BTreeSet::new();
        let mut ids = BTreeSet::new();
        while ids.len() < warnings.len() {
            let m = tokio::time::timeout(PATIENCE, stream.message())
                .await
                .unwrap_or_else(|_| panic!("{}: stream stalled at {}", p.name, ids.len()))
                .expect("the stream goes on")
                .expect("a message");
            let w = m.warning.expect("a warning");
            assert!(
                seen.insert((w.id.clone(), w.state, w.position.clone())),
                "{}: shown twice: {w:?}",
                p.name
            );
            ids.insert(w.id);
        }
        lap(&format!(
            "{}: {} stream messages, no repeat",
            p.name,
            seen.len()
        ));
    }

    // Every warning delivered to the hook once, by whichever instance sent it.
    let repeats =
        every_warning_delivered_once(&receiver, warnings.len() + withdrawn, &platforms).await;
    lap(&format!(
        "every warning delivered once ({repeats} attempts in flight at the kill sent again)"
    ));

    // The scores count each case and each card once.
    let year = |days: i64| {
        (Utc::now() - chrono::Duration::days(days))
            .format("%Y")
            .to_string()
    };
    let levels = |level: spb::WarningLevel| {
        warnings
            .iter()
            .filter(|w| w.level == level as i32 && w.state != spb::WarningState::Withdrawn as i32)
            .count() as i64
    };
    let (yellow, red) = (
        levels(spb::WarningLevel::YellowCard),
        levels(spb::WarningLevel::RedCard),
    );
    eventually(
        "the scores count every case and card once",
        &platforms,
        || async {
            let mut scores = ScoresServiceClient::new(connect(s2.addr, Some(&token)).await);
            let answer = scores
                .get_department_indicators(spb::GetDepartmentIndicatorsRequest {
                    department: "market".into(),
                    first_period: year(61),
                    to: year(0),
                    kind: spb::PeriodKind::Year as i32,
                    ..Default::default()
                })
                .await
                .map_err(|s| s.to_string())?
                .into_inner();
            let sum = |f: fn(&spb::Indicators) -> i64| {
                answer
                    .periods
                    .iter()
                    .filter_map(|p| p.indicators.as_ref())
                    .map(f)
                    .sum::<i64>()
            };
            let got = (
                sum(|i| i.accepted),
                sum(|i| i.yellow_cards),
                sum(|i| i.red_cards),
            );
            if got == (cases as i64, yellow, red) {
                Ok(())
            } else {
                Err(format!(
                    "(accepted, yellow, red) = {got:?}, expected {:?}",
                    (cases, yellow, red)
                ))
            }
        },
    )
    .await;

    lap("the scores count each case and card once");
    drop((a2, s1, s2));
}
