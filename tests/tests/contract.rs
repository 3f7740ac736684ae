//! The contract kept to the letter (issue 13), over real gRPC against both databases: the
//! order `ListCases` promises, page tokens bound to their filters, stream positions a database
//! never handed out, streams that end UNAVAILABLE (never OK) when the platform stops, and
//! records dated beyond the allowed clock skew.

use egov_approval::testing::fixtures::{acceptance, application, local};
use egov_platform::DEFAULT_MAX_CLOCK_SKEW;
use egov_platform::testing::{fresh_store, spawn_approval_with_skew};
use egov_proto::approval::v1 as apb;
use egov_proto::supervision::v1 as spb;
use egov_runtime::clock::ManualClock;
use egov_store::Backend;
use egov_tests::{DEPARTMENT, MATTER, Platforms, REGION, THE_END, rec, the_matter};
use tonic::Code;
use tonic_types::StatusExt;

/// Cases opened (received) one day apart, C-1 first.
async fn three_cases(w: &mut Platforms) {
    for (i, day) in ["2024-03-04", "2024-03-05", "2024-03-06"]
        .iter()
        .enumerate()
    {
        let c = format!("C-{}", i + 1);
        let at = format!("{day} 09:00");
        w.push_at(
            &at,
            vec![
                rec(&c, 1, &at, application(MATTER, DEPARTMENT, REGION)),
                rec(&c, 2, &at, acceptance()),
            ],
        )
        .await;
    }
}

async fn list_cases_returns_the_most_recently_opened_first(backend: Backend) {
    let mut w = Platforms::start(backend, "2024-03-04 09:00").await;
    three_cases(&mut w).await;
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = w
            .approval
            .client
            .list_cases(apb::ListCasesRequest {
                page_size: 2,
                page_token: token,
                ..Default::default()
            })
            .await
            .expect("list")
            .into_inner();
        seen.extend(page.cases.into_iter().map(|c| c.case_no));
        token = page.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(seen, ["C-3", "C-2", "C-1"]);
}

async fn a_page_token_reused_with_other_filters_is_invalid_argument(backend: Backend) {
    let mut w = Platforms::start(backend, "2024-03-04 09:00").await;
    three_cases(&mut w).await;
    let first = w
        .approval
        .client
        .list_cases(apb::ListCasesRequest {
            region: "3301".into(),
            page_size: 1,
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    assert!(!first.next_page_token.is_empty());
    let status = w
        .approval
        .client
        .list_cases(apb::ListCasesRequest {
            region: "3302".into(),
            page_size: 1,
            page_token: first.next_page_token,
            ..Default::default()
        })
        .await
        .expect_err("a token of other filters");
    assert_page_token_refused(&status);

    // The cards of the three cases, past every deadline.
    w.at(THE_END);
    w.next_n(6).await;
    let yellow = spb::ListWarningsRequest {
        levels: vec![spb::WarningLevel::YellowCard as i32],
        page_size: 1,
        ..Default::default()
    };
    let first = w
        .supervision()
        .client
        .list_warnings(yellow.clone())
        .await
        .expect("list")
        .into_inner();
    assert!(!first.next_page_token.is_empty(), "{first:?}");
    // The same filters go on...
    w.supervision()
        .client
        .list_warnings(spb::ListWarningsRequest {
            page_token: first.next_page_token.clone(),
            ..yellow.clone()
        })
        .await
        .expect("the same filters");
    // ...other filters are told why not.
    let status = w
        .supervision()
        .client
        .list_warnings(spb::ListWarningsRequest {
            page_token: first.next_page_token,
            levels: vec![spb::WarningLevel::RedCard as i32],
            ..yellow
        })
        .await
        .expect_err("a token of other filters");
    assert_page_token_refused(&status);
}

fn assert_page_token_refused(status: &tonic::Status) {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(
        status.message().contains("page_token") && status.message().contains("other filters"),
        "{status:?}"
    );
    let details = status.get_error_details();
    let bad = details.bad_request().expect("a BadRequest detail");
    assert_eq!(bad.field_violations[0].field, "page_token");
}

async fn a_stream_position_from_the_future_is_refused(backend: Backend) {
    let mut w = Platforms::start(backend, "2024-03-04 09:00").await;
    three_cases(&mut w).await;
    w.at(THE_END);
    w.next_n(6).await;

    let ahead = "w274877906880.999999".to_string();
    let status = w
        .supervision()
        .client
        .stream_warnings(spb::StreamWarningsRequest {
            after: ahead.clone(),
            ..Default::default()
        })
        .await
        .expect_err("a position no warning ever had");
    assert_position_ahead(&status, &ahead);

    // (Well-formed, far beyond any transaction id or sequence this database has used.)
    let ahead = "r274877906880.999999".to_string();
    let status = w
        .approval
        .client
        .follow_records(apb::FollowRecordsRequest {
            after: ahead.clone(),
            ..Default::default()
        })
        .await
        .expect_err("a position no record ever had");
    assert_position_ahead(&status, &ahead);

    // The last position handed out is where a client may resume.
    let listed = w.listed().await;
    let last = listed.last().expect("warnings").position.clone();
    w.supervision()
        .client
        .stream_warnings(spb::StreamWarningsRequest {
            after: last,
            ..Default::default()
        })
        .await
        .expect("resume from the last position");
}

fn assert_position_ahead(status: &tonic::Status, position: &str) {
    assert_eq!(status.code(), Code::OutOfRange, "{status:?}");
    assert!(status.message().contains(position), "{status:?}");
    let details = status.get_error_details();
    let info = details.error_info().expect("an ErrorInfo detail");
    assert_eq!(info.reason, "POSITION_AHEAD_OF_STREAM");
    assert_eq!(
        info.metadata.get("position").map(String::as_str),
        Some(position)
    );
    assert!(info.metadata.contains_key("head"), "{info:?}");
}

async fn a_stream_ends_unavailable_when_the_platform_shuts_down(backend: Backend) {
    let mut w = Platforms::start(backend, "2024-03-04 09:00").await;
    three_cases(&mut w).await;
    let mut warnings = w.supervision().stream(Default::default()).await;
    let mut records = w
        .approval
        .client
        .follow_records(apb::FollowRecordsRequest::default())
        .await
        .expect("follow")
        .into_inner();
    // Both streams are live (their backlog read) before the platforms stop.
    records.message().await.expect("a record").expect("open");

    w.stop_supervision().await;
    let end = loop {
        match warnings.message().await {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("the warning stream ended OK at shutdown"),
            Err(status) => break status,
        }
    };
    assert_shutting_down(&end);

    let approval = std::mem::replace(
        &mut w.approval,
        egov_platform::testing::spawn_approval_on(w.store.clone(), w.clock.clone()).await,
    );
    approval.stop().await;
    let end = loop {
        match records.message().await {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("the record stream ended OK at shutdown"),
            Err(status) => break status,
        }
    };
    assert_shutting_down(&end);
}

fn assert_shutting_down(status: &tonic::Status) {
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    let details = status.get_error_details();
    let info = details.error_info().expect("an ErrorInfo detail");
    assert_eq!(info.reason, "SHUTTING_DOWN");
}

async fn a_record_dated_beyond_the_clock_skew_is_refused(backend: Backend) {
    let mut app = spawn_approval_with_skew(
        fresh_store(backend).await,
        ManualClock::new(local("2024-03-04 09:00")),
        DEFAULT_MAX_CLOCK_SKEW,
    )
    .await;
    app.client
        .upsert_matters(apb::UpsertMattersRequest {
            matters: vec![the_matter()],
        })
        .await
        .expect("the matter");
    let far = "2024-05-03 09:00"; // 60 days ahead of the platform's clock
    let near = "2024-03-04 09:04"; // within the default 5 minutes of skew
    let answers = app
        .client
        .submit_records(apb::SubmitRecordsRequest {
            records: vec![
                rec("C-1", 1, far, application(MATTER, DEPARTMENT, REGION)),
                rec("C-2", 1, near, application(MATTER, DEPARTMENT, REGION)),
                rec(
                    "C-3",
                    1,
                    "2024-03-04 08:00",
                    application(MATTER, DEPARTMENT, REGION),
                ),
            ],
        })
        .await
        .expect("submit")
        .into_inner()
        .results;
    let statuses: Vec<_> = answers.iter().map(|a| a.status()).collect();
    assert_eq!(
        statuses,
        [
            apb::RecordStatus::Rejected,
            apb::RecordStatus::Stored,
            apb::RecordStatus::Stored
        ],
        "{answers:?}"
    );
    let error = answers[0].error.as_ref().expect("the reason");
    assert_eq!(error.code, Code::InvalidArgument as i32);
    assert_eq!(error.field, "occurred_at");
    assert!(
        error.message.contains("2024-05-03 09:00:00 +08:00")
            && error.message.contains("clock skew of 300 s"),
        "{error:?}"
    );
    // What was valid in the batch is stored, and only that.
    let cases = app
        .client
        .list_cases(apb::ListCasesRequest::default())
        .await
        .expect("list")
        .into_inner()
        .cases;
    let names: Vec<_> = cases.iter().map(|c| c.case_no.as_str()).collect();
    assert_eq!(names, ["C-2", "C-3"]);
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
    list_cases_returns_the_most_recently_opened_first,
    a_page_token_reused_with_other_filters_is_invalid_argument,
    a_stream_position_from_the_future_is_refused,
    a_stream_ends_unavailable_when_the_platform_shuts_down,
    a_record_dated_beyond_the_clock_skew_is_refused,
);
