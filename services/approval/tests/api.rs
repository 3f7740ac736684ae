//! The approval platform over real gRPC, against both databases: the catalogue, record
//! batches with good and bad records, resends, late records, streams, cases and followers.

use egov_approval::testing::fixtures::*;
use egov_platform::testing::{TestApproval, spawn_approval};
use egov_proto::approval::v1 as pb;
use egov_store::Backend;
use tokio_stream::StreamExt;

const CASE: &str = "ZJ-2024-000001";

async fn app(backend: Backend) -> TestApproval {
    let mut app = spawn_approval(backend, local("2024-03-04 08:00")).await;
    let results = app
        .client
        .upsert_matters(pb::UpsertMattersRequest {
            matters: vec![matter("M-FOOD", "market", 10, 20)],
        })
        .await
        .expect("upsert")
        .into_inner()
        .results;
    assert_eq!(results[0].status(), pb::MatterResultStatus::Created);
    app
}

async fn submit(app: &mut TestApproval, records: Vec<pb::Record>) -> Vec<pb::RecordResult> {
    app.client
        .submit_records(pb::SubmitRecordsRequest { records })
        .await
        .expect("submit")
        .into_inner()
        .results
}

fn statuses(results: &[pb::RecordResult]) -> Vec<pb::RecordStatus> {
    results.iter().map(|r| r.status()).collect()
}

async fn catalogue_answers_created_unchanged_updated_and_rejected(backend: Backend) {
    let mut app = app(backend).await;
    let mut changed = matter("M-FOOD", "market", 8, 20);
    changed.name = "food business licence".into();
    let mut bad = matter("M-BAD", "market", 30, 20);
    bad.calendar = "mars".into();
    let results = app
        .client
        .upsert_matters(pb::UpsertMattersRequest {
            matters: vec![matter("M-FOOD", "market", 10, 20), changed, bad],
        })
        .await
        .unwrap()
        .into_inner()
        .results;
    assert_eq!(results[0].status(), pb::MatterResultStatus::Unchanged);
    assert_eq!(results[1].status(), pb::MatterResultStatus::Updated);
    assert_eq!(results[2].status(), pb::MatterResultStatus::Rejected);
    let fields: Vec<_> = results[2]
        .violations
        .iter()
        .map(|v| v.field.as_str())
        .collect();
    assert_eq!(fields, ["promised_limit"], "{:?}", results[2].violations);

    let missing = app
        .client
        .get_matter(pb::GetMatterRequest {
            matter_code: "M-NONE".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), tonic::Code::NotFound);
    let got = app
        .client
        .get_matter(pb::GetMatterRequest {
            matter_code: "M-FOOD".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .matter
        .unwrap();
    assert_eq!(got.promised_limit.unwrap().amount, 8);
}

async fn a_bad_record_inside_a_good_batch_loses_nothing(backend: Backend) {
    let mut app = app(backend).await;
    let mut bad = record(CASE, "e3", "2024-03-04 10:00", step_started("review"));
    if let Some(pb::record::Body::StepStarted(s)) = &mut bad.body {
        s.handler.clear();
    }
    let results = submit(
        &mut app,
        vec![
            record(
                CASE,
                "e1",
                "2024-03-04 09:00",
                application("M-FOOD", "market", "330106"),
            ),
            record(CASE, "e2", "2024-03-04 09:30", acceptance()),
            bad,
            record("ZJ-OTHER", "e4", "2024-03-04 09:00", acceptance()),
            record(
                "ZJ-X",
                "e5",
                "2024-03-04 09:00",
                application("M-NONE", "market", "330106"),
            ),
        ],
    )
    .await;
    use pb::RecordStatus::{Rejected, Stored};
    assert_eq!(
        statuses(&results),
        [Stored, Stored, Rejected, Rejected, Rejected]
    );
    assert_eq!(results[1].case_state(), pb::CaseState::Accepted);
    let e = results[2].error.as_ref().unwrap();
    assert_eq!(e.code, tonic::Code::InvalidArgument as i32);
    assert_eq!(e.field, "step_started.handler");
    let e = results[3].error.as_ref().unwrap();
    assert_eq!(e.code, tonic::Code::FailedPrecondition as i32);
    assert!(e.message.contains("no application"), "{}", e.message);
    let e = results[4].error.as_ref().unwrap();
    assert_eq!(e.field, "application.matter_code");

    // The good records are stored and the case has its clocks.
    let case = app
        .client
        .get_case(pb::GetCaseRequest {
            case_no: CASE.into(),
            view: 0,
        })
        .await
        .unwrap()
        .into_inner()
        .case
        .unwrap();
    assert_eq!(case.records.len(), 2);
    assert_eq!(case.state(), pb::CaseState::Accepted);
    let promised = case
        .clocks
        .iter()
        .find(|c| c.kind() == pb::DeadlineClockKind::Promised)
        .unwrap();
    assert_eq!(
        promised.explanation,
        "accepted 2024-03-04, 10 working days -> due 2024-03-18 24:00"
    );
    assert_eq!(promised.status(), pb::DeadlineClockStatus::Running);
}

async fn a_resend_answers_the_original_outcome_and_writes_nothing(backend: Backend) {
    let mut app = app(backend).await;
    let batch = vec![
        record(
            CASE,
            "e1",
            "2024-03-04 09:00",
            application("M-FOOD", "market", "330106"),
        ),
        record(CASE, "e2", "2024-03-04 09:30", acceptance()),
    ];
    let first = submit(&mut app, batch.clone()).await;
    app.clock.advance(chrono::Duration::hours(1));
    let again = submit(&mut app, batch).await;
    assert_eq!(statuses(&again), [pb::RecordStatus::Duplicate; 2]);
    for (a, b) in first.iter().zip(&again) {
        assert_eq!(a.sequence, b.sequence);
        assert_eq!(a.received_at, b.received_at);
    }
    assert_eq!(again[0].case_state(), pb::CaseState::Received);
    assert_eq!(again[1].case_state(), pb::CaseState::Accepted);
    // The same id with other content is refused, not silently taken for a resend.
    let changed = submit(
        &mut app,
        vec![record(CASE, "e2", "2024-03-04 09:45", acceptance())],
    )
    .await;
    assert_eq!(changed[0].status(), pb::RecordStatus::Rejected);
    assert_eq!(
        changed[0].error.as_ref().unwrap().code,
        tonic::Code::AlreadyExists as i32
    );
    // A resend inside one batch is a duplicate of its first copy.
    let r = record(CASE, "e3", "2024-03-05 09:00", step_started("review"));
    let twice = submit(&mut app, vec![r.clone(), r]).await;
    assert_eq!(
        statuses(&twice),
        [pb::RecordStatus::Stored, pb::RecordStatus::Duplicate]
    );
    let report = app.store.verify_chain(CASE).await.unwrap();
    assert!(report.is_intact());
}

async fn a_late_record_is_processed_by_its_own_time(backend: Backend) {
    let mut app = app(backend).await;
    // The end of the suspension arrives before its start: without a running suspension it is
    // refused (FAILED_PRECONDITION), and stored when resent after the start.
    let early = submit(
        &mut app,
        vec![
            record(
                CASE,
                "e1",
                "2024-03-04 09:00",
                application("M-FOOD", "market", "330106"),
            ),
            record(CASE, "e2", "2024-03-04 09:30", acceptance()),
            record(CASE, "e4", "2024-03-11 09:00", suspension_ended()),
        ],
    )
    .await;
    assert_eq!(early[2].status(), pb::RecordStatus::Rejected);
    assert_eq!(
        early[2].error.as_ref().unwrap().code,
        tonic::Code::FailedPrecondition as i32
    );
    let resent = submit(
        &mut app,
        vec![
            record(
                CASE,
                "e3",
                "2024-03-06 09:00",
                suspension("2024-03-12 18:00"),
            ),
            record(CASE, "e4", "2024-03-11 09:00", suspension_ended()),
            record(CASE, "e5", "2024-03-12 09:00", decision(true)),
        ],
    )
    .await;
    assert_eq!(statuses(&resent), [pb::RecordStatus::Stored; 3]);
    // A step that happened before the decision arrives after it: placed by its own time it
    // is valid, and the case stays decided.
    let late = submit(
        &mut app,
        vec![record(
            CASE,
            "e6",
            "2024-03-05 09:00",
            step_started("review"),
        )],
    )
    .await;
    assert_eq!(late[0].status(), pb::RecordStatus::Stored, "{late:?}");
    assert_eq!(late[0].case_state(), pb::CaseState::Decided);
    let case = app
        .client
        .get_case(pb::GetCaseRequest {
            case_no: CASE.into(),
            view: 0,
        })
        .await
        .unwrap()
        .into_inner()
        .case
        .unwrap();
    assert_eq!(case.state(), pb::CaseState::Decided);
    let promised = case
        .clocks
        .iter()
        .find(|c| c.kind() == pb::DeadlineClockKind::Promised)
        .unwrap();
    // Suspended 03-06 .. 03-11: the working days 03-07, 03-08, 03-11 are added.
    assert_eq!(promised.suspended_days, 3);
    assert!(
        promised
            .explanation
            .ends_with("3 working days suspended -> due 2024-03-21 24:00"),
        "{}",
        promised.explanation
    );
    assert_eq!(promised.status(), pb::DeadlineClockStatus::StoppedOnTime);
}

async fn the_record_stream_acknowledges_each_record_in_order(backend: Backend) {
    let mut app = app(backend).await;
    let mut records = Vec::new();
    for n in 0..300 {
        let case = format!("ZJ-S-{n:04}");
        records.push(record(
            &case,
            &format!("{case}-a"),
            "2024-03-04 09:00",
            application("M-FOOD", "market", "330106"),
        ));
        records.push(record(
            &case,
            &format!("{case}-b"),
            "2024-03-04 09:10",
            acceptance(),
        ));
    }
    // One bad record in the middle: it is answered, the rest are stored.
    records.insert(
        301,
        record("ZJ-NOAPP", "bad-1", "2024-03-04 09:00", acceptance()),
    );
    let expected: Vec<String> = records.iter().map(|r| r.event_id.clone()).collect();
    let outbound = tokio_stream::iter(
        records
            .into_iter()
            .map(|r| pb::StreamRecordsRequest { record: Some(r) }),
    );
    let mut acks = app
        .client
        .stream_records(outbound)
        .await
        .unwrap()
        .into_inner();
    let mut seen = Vec::new();
    while let Some(ack) = acks.next().await {
        let result = ack.unwrap().result.unwrap();
        let ok = result.status() == pb::RecordStatus::Stored;
        assert_eq!(ok, result.event_id != "bad-1", "{result:?}");
        seen.push(result.event_id);
    }
    assert_eq!(seen, expected);
}

async fn cases_are_listed_by_filters_and_pages(backend: Backend) {
    let mut app = app(backend).await;
    app.client
        .upsert_matters(pb::UpsertMattersRequest {
            matters: vec![matter("M-TAX", "tax", 3, 20)],
        })
        .await
        .unwrap();
    let mut records = Vec::new();
    for n in 0..7 {
        let (m, d, region) = if n < 4 {
            ("M-FOOD", "market", "330106")
        } else {
            ("M-TAX", "tax", "330201")
        };
        let case = format!("ZJ-L-{n}");
        records.push(record(
            &case,
            &format!("{case}-a"),
            "2024-03-04 09:00",
            application(m, d, region),
        ));
        if n % 2 == 0 {
            records.push(record(
                &case,
                &format!("{case}-b"),
                "2024-03-04 10:00",
                acceptance(),
            ));
        }
    }
    submit(&mut app, records).await;
    let list = |department: &str, region: &str, state: pb::CaseState, overdue: Option<bool>| {
        pb::ListCasesRequest {
            department: department.into(),
            region: region.into(),
            state: state.into(),
            overdue,
            matter_code: String::new(),
            view: 0,
            page_size: 2,
            page_token: String::new(),
        }
    };
    let mut all = Vec::new();
    let mut req = list("market", "", pb::CaseState::Unspecified, None);
    loop {
        let page = app
            .client
            .list_cases(req.clone())
            .await
            .unwrap()
            .into_inner();
        assert!(page.cases.len() <= 2);
        all.extend(page.cases.into_iter().map(|c| c.case_no));
        if page.next_page_token.is_empty() {
            break;
        }
        req.page_token = page.next_page_token;
    }
    all.sort();
    assert_eq!(all, ["ZJ-L-0", "ZJ-L-1", "ZJ-L-2", "ZJ-L-3"]);

    let accepted_tax = app
        .client
        .list_cases(list("", "3302", pb::CaseState::Accepted, None))
        .await
        .unwrap()
        .into_inner()
        .cases;
    let names: Vec<_> = accepted_tax.iter().map(|c| c.case_no.as_str()).collect();
    // Most recently opened first; opened at the same instant, the higher case number first.
    assert_eq!(names, ["ZJ-L-6", "ZJ-L-4"]);

    // Four days later the tax cases' 3-day promised limit has passed (due 03-07 24:00); the
    // market cases (10 days) and the pending acceptances (5 days) are still in time.
    app.clock.advance(chrono::Duration::days(4));
    let overdue = app
        .client
        .list_cases(pb::ListCasesRequest {
            page_size: 100,
            ..list("", "", pb::CaseState::Unspecified, Some(true))
        })
        .await
        .unwrap()
        .into_inner()
        .cases;
    let names: Vec<_> = overdue.iter().map(|c| c.case_no.as_str()).collect();
    assert_eq!(names, ["ZJ-L-6", "ZJ-L-4"]);
    assert!(overdue.iter().all(|c| c.overdue));
    let in_time = app
        .client
        .list_cases(pb::ListCasesRequest {
            page_size: 100,
            ..list("", "", pb::CaseState::Unspecified, Some(false))
        })
        .await
        .unwrap()
        .into_inner()
        .cases;
    assert_eq!(in_time.len(), 5);
    let bad_token = app
        .client
        .list_cases(pb::ListCasesRequest {
            page_token: "not-a-token".into(),
            ..list("", "", pb::CaseState::Unspecified, None)
        })
        .await
        .unwrap_err();
    assert_eq!(bad_token.code(), tonic::Code::InvalidArgument);
}

async fn a_follower_gets_stored_records_then_new_ones(backend: Backend) {
    let mut app = app(backend).await;
    submit(
        &mut app,
        vec![record(
            CASE,
            "e1",
            "2024-03-04 09:00",
            application("M-FOOD", "market", "330106"),
        )],
    )
    .await;
    let mut follower = app
        .client
        .follow_records(pb::FollowRecordsRequest {
            after: String::new(),
            until_caught_up: false,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let first = follower.next().await.unwrap().unwrap().record.unwrap();
    assert_eq!(first.record.as_ref().unwrap().event_id, "e1");
    submit(
        &mut app,
        vec![record(CASE, "e2", "2024-03-04 09:30", acceptance())],
    )
    .await;
    let second = tokio::time::timeout(std::time::Duration::from_secs(10), follower.next())
        .await
        .expect("the new record arrives")
        .unwrap()
        .unwrap()
        .record
        .unwrap();
    assert_eq!(second.record.as_ref().unwrap().event_id, "e2");
    assert_eq!(second.prev_hash, first.hash);

    // Resuming after the first position yields only the second.
    let resumed: Vec<_> = app
        .client
        .follow_records(pb::FollowRecordsRequest {
            after: first.position.clone(),
            until_caught_up: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .map(|r| r.unwrap().record.unwrap().record.unwrap().event_id)
        .collect()
        .await;
    assert_eq!(resumed, ["e2"]);
    let bad = app
        .client
        .follow_records(pb::FollowRecordsRequest {
            after: "garbage".into(),
            until_caught_up: true,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), tonic::Code::InvalidArgument);
}

async fn bad_requests_name_the_field(backend: Backend) {
    let mut app = app(backend).await;
    let empty = app
        .client
        .submit_records(pb::SubmitRecordsRequest { records: vec![] })
        .await
        .unwrap_err();
    assert_eq!(empty.code(), tonic::Code::InvalidArgument);
    assert!(empty.message().contains("records"), "{}", empty.message());
    let missing = app
        .client
        .get_case(pb::GetCaseRequest {
            case_no: "ZJ-NONE".into(),
            view: 0,
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), tonic::Code::NotFound);
    let blank = app
        .client
        .get_case(pb::GetCaseRequest {
            case_no: String::new(),
            view: 0,
        })
        .await
        .unwrap_err();
    assert_eq!(blank.code(), tonic::Code::InvalidArgument);
    assert!(blank.message().contains("case_no"), "{}", blank.message());
}

async fn concurrent_resends_are_duplicates_never_rejections(backend: Backend) {
    let app = app(backend).await;
    let batch: Vec<pb::Record> = (0..300)
        .flat_map(|n| {
            let case = format!("ZJ-R-{n:03}");
            [
                record(
                    &case,
                    &format!("{case}-a"),
                    "2024-03-04 09:00",
                    application("M-FOOD", "market", "330106"),
                ),
                record(
                    &case,
                    &format!("{case}-b"),
                    "2024-03-04 09:30",
                    acceptance(),
                ),
            ]
        })
        .collect();
    // The same batch six times at once: each record is stored once, and every other answer
    // is a duplicate, whichever call commits first.
    let calls: Vec<_> = (0..6u64)
        .map(|k| {
            let mut client = app.client.clone();
            let records = batch.clone();
            tokio::spawn(async move {
                // Staggered, so that some call reads while another commits.
                tokio::time::sleep(std::time::Duration::from_millis(k * 15)).await;
                client
                    .submit_records(pb::SubmitRecordsRequest { records })
                    .await
                    .expect("submit")
                    .into_inner()
                    .results
            })
        })
        .collect();
    let mut stored = 0;
    for call in calls {
        for r in call.await.unwrap() {
            match r.status() {
                pb::RecordStatus::Stored => stored += 1,
                pb::RecordStatus::Duplicate => {}
                other => panic!("{other:?}: {r:?}"),
            }
        }
    }
    assert_eq!(stored, batch.len());
}

macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        mod postgres {
            $(#[tokio::test] async fn $name() { super::$name(egov_store::Backend::Postgres).await })*
        }
        mod sqlite {
            $(#[tokio::test] async fn $name() { super::$name(egov_store::Backend::Sqlite).await })*
        }
    };
}

on_both_databases!(
    catalogue_answers_created_unchanged_updated_and_rejected,
    a_bad_record_inside_a_good_batch_loses_nothing,
    a_resend_answers_the_original_outcome_and_writes_nothing,
    a_late_record_is_processed_by_its_own_time,
    the_record_stream_acknowledges_each_record_in_order,
    cases_are_listed_by_filters_and_pages,
    a_follower_gets_stored_records_then_new_ones,
    bad_requests_name_the_field,
    concurrent_resends_are_duplicates_never_rejections,
);
