//! The `SupervisionService` RPCs over real gRPC, against both databases: listing with filters
//! and pages, getting one warning, the resumable filtered stream, bad requests, and streams
//! ending on shutdown. Warnings are stored directly, as the workers would store them; the
//! workers' own stories are in `workers.rs`.

mod support;

use chrono::{DateTime, Utc};
use egov_approval::testing::fixtures::local;
use egov_platform::testing::fresh_store;
use egov_platform::testing::{TestSupervision, next_warning, spawn_supervision};
use egov_proto::approval::v1::DeadlineClockKind;
use egov_proto::supervision::v1 as pb;
use egov_runtime::clock::ManualClock;
use egov_store::{Backend, NewWarning, Store};
use serde_json::json;
use support::instant;
use tonic::Code;

async fn platform(backend: Backend) -> TestSupervision {
    let store = fresh_store(backend).await;
    spawn_supervision(store, ManualClock::new(local("2024-04-15 10:00"))).await
}

fn warning(case: &str, rule: &str, level: &str, department: &str, region: &str) -> NewWarning {
    let due: DateTime<Utc> = local("2024-03-19 00:00");
    NewWarning {
        case_no: case.into(),
        rule: rule.into(),
        level: level.into(),
        department: department.into(),
        region: region.into(),
        matter_code: "M-FOOD".into(),
        due_at: Some(due),
        raised_at: local("2024-03-19 00:00"),
        detail: json!({
            "message": format!("{rule} of {case}"),
            "clock": "promised",
            "explanation": "accepted 2024-03-04, 10 working days -> due 2024-03-18 24:00",
            "provisional": false,
        }),
    }
}

/// Stores warnings, and waits until they are listed (on PostgreSQL, lists and streams hold
/// them back while an older transaction of the server, another test's, is open).
async fn insert(store: &Store, warnings: &[NewWarning]) {
    let new = store.insert_warnings(warnings).await.expect("insert");
    assert_eq!(new.len(), warnings.len());
    egov_store::testing::warnings_settled(store).await;
}

fn cases(warnings: &[pb::Warning]) -> Vec<&str> {
    warnings.iter().map(|w| w.case_no.as_str()).collect()
}

fn levels(levels: &[pb::WarningLevel]) -> Vec<i32> {
    levels.iter().map(|l| *l as i32).collect()
}

async fn list(s: &mut TestSupervision, r: pb::ListWarningsRequest) -> pb::ListWarningsResponse {
    s.client.list_warnings(r).await.expect("list").into_inner()
}

async fn warnings_are_listed_by_filters_and_pages_and_got_by_id(backend: Backend) {
    let mut s = platform(backend).await;
    insert(
        &s.store,
        &[
            warning(
                "C-0",
                "approaching_deadline",
                "reminder",
                "market",
                "330106",
            ),
            warning(
                "C-1",
                "promised_limit_passed",
                "yellow_card",
                "market",
                "330106",
            ),
            warning(
                "C-2",
                "acceptance_overdue",
                "yellow_card",
                "market",
                "330102",
            ),
            warning(
                "C-3",
                "statutory_limit_passed",
                "red_card",
                "health",
                "330201",
            ),
            warning("C-4", "step_overdue", "reminder", "health", "320101"),
            warning(
                "C-5",
                "statutory_limit_passed",
                "red_card",
                "market",
                "330106",
            ),
        ],
    )
    .await;
    let all = s.list_all(Default::default()).await;
    assert_eq!(cases(&all), ["C-0", "C-1", "C-2", "C-3", "C-4", "C-5"]);

    let first = list(
        &mut s,
        pb::ListWarningsRequest {
            page_size: 4,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(cases(&first.warnings), ["C-0", "C-1", "C-2", "C-3"]);
    let second = list(
        &mut s,
        pb::ListWarningsRequest {
            page_size: 4,
            page_token: first.next_page_token,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(cases(&second.warnings), ["C-4", "C-5"]);
    assert_eq!(second.next_page_token, "");

    use pb::WarningLevel::{RedCard, YellowCard};
    use pb::WarningRule as R;
    use pb::WarningState as S;
    for (filter, expected) in [
        (
            pb::ListWarningsRequest {
                department: "health".into(),
                ..Default::default()
            },
            vec!["C-3", "C-4"],
        ),
        (
            pb::ListWarningsRequest {
                region: "3301".into(),
                ..Default::default()
            },
            vec!["C-0", "C-1", "C-2", "C-5"],
        ),
        (
            pb::ListWarningsRequest {
                levels: levels(&[YellowCard, RedCard]),
                ..Default::default()
            },
            vec!["C-1", "C-2", "C-3", "C-5"],
        ),
        (
            pb::ListWarningsRequest {
                rules: vec![R::AcceptanceOverdue as i32],
                ..Default::default()
            },
            vec!["C-2"],
        ),
        (
            pb::ListWarningsRequest {
                rules: vec![R::ApproachingDeadline as i32, R::StepOverdue as i32],
                ..Default::default()
            },
            vec!["C-0", "C-4"],
        ),
        (
            pb::ListWarningsRequest {
                states: vec![S::Closed as i32],
                ..Default::default()
            },
            vec![],
        ),
        (
            pb::ListWarningsRequest {
                states: vec![S::Closed as i32, S::Raised as i32],
                department: "market".into(),
                ..Default::default()
            },
            vec!["C-0", "C-1", "C-2", "C-5"],
        ),
        (
            pb::ListWarningsRequest {
                case_no: "C-3".into(),
                ..Default::default()
            },
            vec!["C-3"],
        ),
    ] {
        let got = s.list_all(filter.clone()).await;
        assert_eq!(cases(&got), expected, "{filter:?}");
    }

    // Picking by several rules fills pages across the store's pages, and goes on by token.
    let two_rules = pb::ListWarningsRequest {
        rules: vec![
            R::ApproachingDeadline as i32,
            R::StatutoryLimitPassed as i32,
        ],
        page_size: 2,
        ..Default::default()
    };
    let page = list(&mut s, two_rules.clone()).await;
    assert_eq!(cases(&page.warnings), ["C-0", "C-3"]);
    let page = list(
        &mut s,
        pb::ListWarningsRequest {
            page_token: page.next_page_token,
            ..two_rules
        },
    )
    .await;
    assert_eq!(cases(&page.warnings), ["C-5"]);

    // One warning, with its history.
    let got = s
        .client
        .get_warning(pb::GetWarningRequest {
            id: all[1].id.clone(),
        })
        .await
        .expect("get")
        .into_inner()
        .warning
        .expect("a warning");
    assert_eq!(got.case_no, "C-1");
    assert_eq!(got.rule(), R::PromisedLimitPassed);
    assert_eq!(got.level(), YellowCard);
    assert_eq!(got.state(), S::Raised);
    assert_eq!(got.position, all[1].position);
    assert_eq!(got.message, "promised_limit_passed of C-1");
    assert_eq!(got.clock_kind(), DeadlineClockKind::Promised);
    assert_eq!(instant(&got.due_at), local("2024-03-19 00:00"));
    assert_eq!(got.history.len(), 1);
    assert_eq!(got.history[0].state(), S::Raised);
    assert_eq!(got.history[0].actor, "system");
    assert_eq!(instant(&got.history[0].at), local("2024-03-19 00:00"));
    assert_eq!(all[1].history, [], "lists carry no history");

    let missing = s
        .client
        .get_warning(pb::GetWarningRequest {
            id: "999999".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
}

async fn bad_requests_are_invalid_arguments_naming_the_field(backend: Backend) {
    let mut s = platform(backend).await;
    let mut checks: Vec<(Result<(), tonic::Status>, &str)> = Vec::new();
    for (request, field) in [
        (
            pb::ListWarningsRequest {
                levels: vec![pb::WarningLevel::Reminder as i32, 99],
                ..Default::default()
            },
            "levels[1]",
        ),
        (
            pb::ListWarningsRequest {
                rules: vec![0],
                ..Default::default()
            },
            "rules[0]",
        ),
        (
            pb::ListWarningsRequest {
                states: vec![42],
                ..Default::default()
            },
            "states[0]",
        ),
        (
            pb::ListWarningsRequest {
                page_token: "garbage".into(),
                ..Default::default()
            },
            "page_token",
        ),
        (
            pb::ListWarningsRequest {
                page_size: -5,
                ..Default::default()
            },
            "page_size",
        ),
    ] {
        checks.push((s.client.list_warnings(request).await.map(drop), field));
    }
    for (id, field) in [("", "id"), ("w12", "id"), ("-1", "id")] {
        let r = s
            .client
            .get_warning(pb::GetWarningRequest { id: id.into() })
            .await;
        checks.push((r.map(drop), field));
    }
    for (request, field) in [
        (
            pb::StreamWarningsRequest {
                after: "garbage".into(),
                ..Default::default()
            },
            "after",
        ),
        (
            pb::StreamWarningsRequest {
                after: "r0.1".into(),
                ..Default::default()
            },
            "after",
        ),
        (
            pb::StreamWarningsRequest {
                levels: vec![7],
                ..Default::default()
            },
            "levels[0]",
        ),
    ] {
        checks.push((s.client.stream_warnings(request).await.map(drop), field));
    }
    for (result, field) in checks {
        let status = result.expect_err(field);
        assert_eq!(status.code(), Code::InvalidArgument, "{field}: {status:?}");
        assert!(
            status.message().contains(field),
            "{field}: {}",
            status.message()
        );
    }
}

async fn the_stream_resumes_after_a_position_and_filters(backend: Backend) {
    let mut s = platform(backend).await;
    insert(
        &s.store,
        &[
            warning(
                "C-1",
                "approaching_deadline",
                "reminder",
                "market",
                "330106",
            ),
            warning(
                "C-2",
                "acceptance_overdue",
                "yellow_card",
                "health",
                "330201",
            ),
            warning(
                "C-3",
                "statutory_limit_passed",
                "red_card",
                "market",
                "320101",
            ),
        ],
    )
    .await;
    let mut stream = s.stream(Default::default()).await;
    let one = next_warning(&mut stream).await;
    let two = next_warning(&mut stream).await;
    assert_eq!(cases(&[one, two.clone()]), ["C-1", "C-2"]);
    drop(stream);

    // Resumed after the second: the third, then one raised while the stream is open.
    let mut resumed = s
        .stream(pb::StreamWarningsRequest {
            after: two.position.clone(),
            ..Default::default()
        })
        .await;
    assert_eq!(next_warning(&mut resumed).await.case_no, "C-3");
    insert(
        &s.store,
        &[warning(
            "C-4",
            "promised_limit_passed",
            "yellow_card",
            "market",
            "330106",
        )],
    )
    .await;
    assert_eq!(next_warning(&mut resumed).await.case_no, "C-4");

    // Filters: each stream gets the stored warnings that match it, in order.
    let filters = [
        (
            pb::StreamWarningsRequest {
                department: "market".into(),
                ..Default::default()
            },
            vec!["C-1", "C-3", "C-4"],
        ),
        (
            pb::StreamWarningsRequest {
                region: "3302".into(),
                ..Default::default()
            },
            vec!["C-2"],
        ),
        (
            pb::StreamWarningsRequest {
                levels: levels(&[pb::WarningLevel::YellowCard, pb::WarningLevel::RedCard]),
                ..Default::default()
            },
            vec!["C-2", "C-3", "C-4"],
        ),
        (
            pb::StreamWarningsRequest {
                department: "market".into(),
                region: "3301".into(),
                levels: levels(&[pb::WarningLevel::Reminder]),
                ..Default::default()
            },
            vec!["C-1"],
        ),
    ];
    let mut streams = Vec::new();
    for (filter, expected) in filters {
        let mut stream = s.stream(filter.clone()).await;
        let mut got = Vec::new();
        for _ in 0..expected.len() {
            got.push(next_warning(&mut stream).await);
        }
        assert_eq!(cases(&got), expected, "{filter:?}");
        streams.push(stream);
    }
    // Then one warning that matches no filter, and two markers: the next warning of each
    // stream is the first marker matching its filter, so nothing in between leaked through.
    insert(
        &s.store,
        &[
            warning("X-1", "step_overdue", "reminder", "health", "320101"),
            warning(
                "M-1",
                "approaching_deadline",
                "reminder",
                "market",
                "330106",
            ),
            warning(
                "M-2",
                "statutory_limit_passed",
                "red_card",
                "health",
                "330201",
            ),
        ],
    )
    .await;
    let mut next = Vec::new();
    for mut stream in streams {
        next.push(next_warning(&mut stream).await.case_no);
    }
    assert_eq!(next, ["M-1", "M-2", "M-2", "M-1"]);
}

async fn streams_end_when_the_platform_stops(backend: Backend) {
    let mut s = platform(backend).await;
    let mut stream = s.stream(Default::default()).await;
    let stopped = tokio::time::timeout(
        egov_platform::testing::PATIENCE,
        async move { s.stop().await },
    );
    stopped
        .await
        .expect("the platform stops within its grace period");
    let end = tokio::time::timeout(egov_platform::testing::PATIENCE, stream.message())
        .await
        .expect("the stream ends");
    assert!(
        matches!(end, Ok(None) | Err(_)),
        "no warning after shutdown: {end:?}"
    );
}

on_both_databases!(
    warnings_are_listed_by_filters_and_pages_and_got_by_id,
    bad_requests_are_invalid_arguments_naming_the_field,
    the_stream_resumes_after_a_position_and_filters,
    streams_end_when_the_platform_stops,
);
