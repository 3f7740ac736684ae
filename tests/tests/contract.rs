//! The contract kept to the letter (issue 13), over real gRPC against both databases: the
//! order `ListCases` promises, page tokens bound to their filters, stream positions a database
//! never handed out, streams that end UNAVAILABLE (never OK) when the platform stops, and
//! records dated beyond the allowed clock skew.

use egov_approval::testing::fixtures::{acceptance, application, local};
use egov_platform::DEFAULT_MAX_CLOCK_SKEW;
use egov_platform::testing::{connect, fresh_store, spawn_approval_with_skew};
use egov_proto::approval::v1 as apb;
use egov_proto::supervision::v1 as spb;
use egov_proto::supervision::v1::scores_service_client::ScoresServiceClient;
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
        error.message.contains("is 2024-05-03 09:00 (local time)")
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

/// The next message of a warning stream, within a generous deadline.
async fn next_message(
    stream: &mut tonic::Streaming<spb::StreamWarningsResponse>,
    what: &str,
) -> spb::StreamWarningsResponse {
    tokio::time::timeout(std::time::Duration::from_secs(60), stream.message())
        .await
        .unwrap_or_else(|_| panic!("{what} within a minute"))
        .expect("the stream is open")
        .expect("not ended")
}

async fn the_warning_stream_marks_the_end_of_its_backlog(backend: Backend) {
    let mut w = Platforms::start(backend, "2024-03-04 09:00").await;
    three_cases(&mut w).await;
    w.at(THE_END);
    w.supervision().settled().await;
    let backlog = w.listed().await;
    assert!(!backlog.is_empty());

    let mut stream = w
        .supervision()
        .stream(spb::StreamWarningsRequest {
            mark_caught_up: true,
            ..Default::default()
        })
        .await;
    let mut before = Vec::new();
    loop {
        let m = next_message(&mut stream, "the backlog and the marker").await;
        if m.caught_up {
            assert!(m.warning.is_none(), "{m:?}");
            break;
        }
        before.push(m.warning.expect("a warning").id);
    }
    let mut expected: Vec<_> = backlog.iter().map(|w| w.id.clone()).collect();
    before.sort();
    expected.sort();
    assert_eq!(before, expected, "the marker comes after the whole backlog");

    // Live from here: a warning acknowledged now comes again, after the marker, in its new
    // state; no second marker comes.
    w.supervision()
        .client
        .acknowledge_warning(spb::AcknowledgeWarningRequest {
            input: transition(&expected[0], "seen", ""),
        })
        .await
        .expect("acknowledged");
    let live = next_message(&mut stream, "a live warning").await;
    assert!(!live.caught_up, "{live:?}");
    let live = live.warning.expect("a live warning");
    assert_eq!(live.id, expected[0]);
    assert_eq!(live.state(), spb::WarningState::Acknowledged);

    // A client that does not ask for the marker never sees one (existing clients).
    let mut plain = w.supervision().stream(Default::default()).await;
    for _ in 0..backlog.len() {
        let m = next_message(&mut plain, "a warning without a marker").await;
        assert!(!m.caught_up && m.warning.is_some(), "{m:?}");
    }
}

/// The `google.rpc.ErrorInfo` of `status`: domain "egov" and the reason asked for.
fn assert_reason(status: &tonic::Status, code: Code, reason: &str) -> tonic_types::ErrorInfo {
    assert_eq!(status.code(), code, "{status:?}");
    let details = status.get_error_details();
    let info = details.error_info().expect("an ErrorInfo detail").clone();
    assert_eq!(info.domain, "egov", "{info:?}");
    assert_eq!(info.reason, reason, "{info:?}");
    info
}

fn transition(id: &str, reason: &str, office: &str) -> Option<spb::WarningTransitionInput> {
    Some(spb::WarningTransitionInput {
        id: id.into(),
        reason: reason.into(),
        office: office.into(),
        ..Default::default()
    })
}

async fn refusals_carry_a_reason_and_details(backend: Backend) {
    let mut w = Platforms::start(backend, "2024-03-04 09:00").await;
    three_cases(&mut w).await;
    w.at(THE_END);
    let warning = w.next().await;
    let held_by = warning.office.clone();

    // NOT_FOUND: the reason names the kind, a ResourceInfo names the resource.
    let status = w
        .supervision()
        .client
        .get_warning(spb::GetWarningRequest {
            id: "999999".into(),
        })
        .await
        .expect_err("no such warning");
    assert_reason(&status, Code::NotFound, "WARNING_NOT_FOUND");
    let details = status.get_error_details();
    let resource = details.resource_info().expect("a ResourceInfo detail");
    assert_eq!(
        (
            resource.resource_type.as_str(),
            resource.resource_name.as_str()
        ),
        ("warning", "999999")
    );
    let status = w
        .approval
        .client
        .get_case(apb::GetCaseRequest {
            case_no: "C-404".into(),
            ..Default::default()
        })
        .await
        .expect_err("no such case");
    assert_reason(&status, Code::NotFound, "CASE_NOT_FOUND");
    let status = w
        .approval
        .client
        .get_matter(apb::GetMatterRequest {
            matter_code: "M-NONE".into(),
        })
        .await
        .expect_err("no such matter");
    assert_reason(&status, Code::NotFound, "MATTER_NOT_FOUND");

    // FAILED_PRECONDITION: the warning's current state in the metadata, and the precondition.
    let status = w
        .supervision()
        .client
        .close_warning(spb::CloseWarningRequest {
            input: transition(&warning.id, "done", ""),
        })
        .await
        .expect_err("a raised warning cannot be closed");
    let info = assert_reason(&status, Code::FailedPrecondition, "TRANSITION_NOT_ALLOWED");
    assert_eq!(info.metadata["state"], "WARNING_STATE_RAISED", "{info:?}");
    assert_eq!(info.metadata["action"], "CLOSE", "{info:?}");
    let details = status.get_error_details();
    let failure = details
        .precondition_failure()
        .expect("a PreconditionFailure detail");
    assert_eq!(failure.violations[0].r#type, "STATE");

    // PERMISSION_DENIED: an office closing what an office beside it holds.
    let s = w.supervision();
    s.client
        .acknowledge_warning(spb::AcknowledgeWarningRequest {
            input: transition(&warning.id, "seen", ""),
        })
        .await
        .expect("acknowledged");
    s.client
        .answer_warning(spb::AnswerWarningRequest {
            input: transition(&warning.id, "fixed", ""),
        })
        .await
        .expect("answered");
    let beside = if held_by == "330102" {
        "330103"
    } else {
        "330102"
    };
    let status = s
        .client
        .close_warning(spb::CloseWarningRequest {
            input: transition(&warning.id, "done", beside),
        })
        .await
        .expect_err("another office's warning");
    let info = assert_reason(&status, Code::PermissionDenied, "OUTSIDE_JURISDICTION");
    assert_eq!(info.metadata["held_by"], held_by, "{info:?}");
    assert_eq!(info.metadata["office"], beside, "{info:?}");

    // Every bad input field at once, not only the first.
    let status = s
        .client
        .close_warning(spb::CloseWarningRequest {
            input: transition("", " ", "33x"),
        })
        .await
        .expect_err("three bad fields");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let details = status.get_error_details();
    let fields: Vec<_> = details
        .bad_request()
        .expect("a BadRequest detail")
        .field_violations
        .iter()
        .map(|v| v.field.as_str())
        .collect();
    assert_eq!(fields, ["input.id", "input.reason", "input.office"]);

    // ABORTED: an update made against a version no longer in force.
    let status = w
        .approval
        .client
        .update_rule_config(apb::UpdateRuleConfigRequest {
            change: Some(apb::update_rule_config_request::Change::DefaultsJson(
                "{}".into(),
            )),
            expected_version: Some(99),
        })
        .await
        .expect_err("a stale version");
    let info = assert_reason(&status, Code::Aborted, "VERSION_MISMATCH");
    assert_eq!(info.metadata["expected_version"], "99", "{info:?}");

    // ALREADY_EXISTS (a record's own error): the same event_id with other content.
    let first = rec(
        "C-1",
        1,
        "2024-03-04 09:00",
        application(MATTER, DEPARTMENT, REGION),
    );
    let mut other = first.clone();
    other.source = "another-hall".into();
    let answers = w.submit(vec![other]).await;
    let error = answers[0].error.as_ref().expect("rejected");
    assert_eq!(error.code, Code::AlreadyExists as i32, "{error:?}");
    assert_eq!(error.reason, "EVENT_ID_REUSED", "{error:?}");
    // ... and a record the case cannot take: the state machine's refusal as its reason.
    let answers = w
        .submit(vec![rec("C-9", 1, "2024-03-04 09:00", acceptance())])
        .await;
    let error = answers[0].error.as_ref().expect("rejected");
    assert_eq!(error.code, Code::FailedPrecondition as i32, "{error:?}");
    assert_eq!(error.reason, "NO_APPLICATION", "{error:?}");
}

async fn an_oversized_message_is_resource_exhausted(backend: Backend) {
    let mut w = Platforms::start(backend, "2024-03-04 09:00").await;
    let mut big = rec(
        "C-1",
        1,
        "2024-03-04 09:00",
        application(MATTER, DEPARTMENT, REGION),
    );
    big.source = "x".repeat(17 << 20);
    let status = w
        .approval
        .client
        .submit_records(apb::SubmitRecordsRequest {
            records: vec![big.clone()],
        })
        .await
        .expect_err("over the 16 MiB limit");
    let info = assert_reason(&status, Code::ResourceExhausted, "MESSAGE_TOO_LARGE");
    assert_eq!(
        info.metadata["limit_bytes"],
        (16 << 20).to_string(),
        "{info:?}"
    );

    // In a record stream, the stream ends so, after storing what came before.
    let small = rec(
        "C-2",
        1,
        "2024-03-04 09:00",
        application(MATTER, DEPARTMENT, REGION),
    );
    let messages = [small, big].map(|r| apb::StreamRecordsRequest { record: Some(r) });
    let mut acks = w
        .approval
        .client
        .stream_records(tokio_stream::iter(messages))
        .await
        .expect("stream opened")
        .into_inner();
    let first = acks.message().await.expect("the first ack").expect("open");
    assert_eq!(
        first.result.expect("a result").status(),
        apb::RecordStatus::Stored
    );
    let end = acks
        .message()
        .await
        .expect_err("ended by the oversized message");
    assert_reason(&end, Code::ResourceExhausted, "MESSAGE_TOO_LARGE");
}

async fn the_first_period_has_a_name_python_can_use(backend: Backend) {
    let mut w = Platforms::start(backend, "2024-03-04 09:00").await;
    three_cases(&mut w).await;
    let supervision = w.supervision();
    let mut scores =
        ScoresServiceClient::new(connect(supervision.addr, Some(supervision.admin_token())).await);
    let ask = |first_period: &str, from: &str| {
        #[allow(deprecated)] // `from`, the name old clients send
        spb::GetDepartmentIndicatorsRequest {
            department: DEPARTMENT.into(),
            first_period: first_period.into(),
            from: from.into(),
            to: "2024-03".into(),
            ..Default::default()
        }
    };
    let new = scores
        .get_department_indicators(ask("2024-01", ""))
        .await
        .expect("by first_period")
        .into_inner();
    let old = scores
        .get_department_indicators(ask("", "2024-01"))
        .await
        .expect("by the deprecated from")
        .into_inner();
    // The same periods either way (their figures may move meanwhile: the scores follower runs).
    for answer in [&new, &old] {
        let periods: Vec<_> = answer.periods.iter().map(|p| p.period.as_str()).collect();
        assert_eq!(periods, ["2024-01", "2024-02", "2024-03"]);
        assert_eq!(answer.department, DEPARTMENT);
    }
    let status = scores
        .get_department_indicators(ask("2024-01", "2024-02"))
        .await
        .expect_err("two different first periods");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(status.message().contains("first_period"), "{status:?}");
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
    the_warning_stream_marks_the_end_of_its_backlog,
    refusals_carry_a_reason_and_details,
    an_oversized_message_is_resource_exhausted,
    the_first_period_has_a_name_python_can_use,
);
