//! The supervision workers as stories, against both databases: records go in over the
//! approval platform's gRPC, time moves only by the shared manual clock, and warnings come out
//! of the supervision platform's stream and list. Absence is checked after the workers have
//! caught up with the clock and the log (`settled`), never after a sleep.
//!
//! Local times are Asia/Shanghai; the matter promises 10 and allows 20 working days; March
//! 2024 has no holidays, and 2024-04-04 is Tomb-sweeping Day.

mod support;

use std::collections::HashSet;

use chrono::Duration;
use egov_approval::testing::fixtures::*;
use egov_domain::clock::ClockView;
use egov_domain::limit::Limit;
use egov_platform::testing::spawn_approval_on;
use egov_platform::testing::{next_warning, spawn_supervision, spawn_supervision_with};
use egov_proto::approval::v1::DeadlineClockKind;
use egov_proto::supervision::v1 as pb;
use egov_runtime::clock::Clock;
use egov_runtime::clock::ManualClock;
use egov_store::{Backend, CaseRow, CaseWrite, DueInstant, NewRecord};
use egov_supervision::SupervisionOptions;
use support::*;

fn opened(case: &str) -> Vec<egov_proto::approval::v1::Record> {
    vec![
        record(
            case,
            &format!("{case}-1"),
            "2024-03-04 09:00",
            application(MATTER, DEPARTMENT, REGION),
        ),
        record(case, &format!("{case}-2"), "2024-03-04 10:00", acceptance()),
    ]
}

/// Application and acceptance on 03-04, then decision, completion and certificate at `done`.
fn completed(case: &str, done: &str) -> Vec<egov_proto::approval::v1::Record> {
    let mut records = opened(case);
    records.extend([
        record(case, &format!("{case}-3"), done, decision(true)),
        record(case, &format!("{case}-4"), done, completion()),
        record(case, &format!("{case}-5"), done, certificate()),
    ]);
    records
}

async fn a_case_gets_a_reminder_then_a_yellow_then_a_red_card_each_when_due(backend: Backend) {
    let mut w = world(backend, "2024-03-04 10:00").await;
    let records = opened("C-1");
    w.push(records.clone()).await;
    let mut stream = w.supervision.stream(Default::default()).await;

    // The instants stored are the domain's, and they are the dates of the story.
    let expected = expected_due(&records);
    let stored: Vec<_> = w
        .store
        .due_for_case("C-1")
        .await
        .unwrap()
        .into_iter()
        .map(|d| (d.clock, d.due_at))
        .collect();
    assert_eq!(stored, expected);
    assert_eq!(
        expected,
        [
            ("approaching:promised".to_owned(), local("2024-03-14 00:00")),
            ("promised".to_owned(), local("2024-03-19 00:00")),
            ("statutory".to_owned(), local("2024-04-02 00:00")),
        ]
    );

    w.at("2024-03-13 23:59");
    w.supervision.settled().await;
    assert_eq!(w.warnings().await, [], "no reminder before it is due");
    w.at("2024-03-14 00:00");
    let reminder = next_warning(&mut stream).await;
    assert_eq!(reminder.case_no, "C-1");
    assert_eq!(reminder.rule(), pb::WarningRule::ApproachingDeadline);
    assert_eq!(reminder.level(), pb::WarningLevel::Reminder);
    assert_eq!(reminder.state(), pb::WarningState::Raised);
    assert_eq!(reminder.clock_kind(), DeadlineClockKind::Promised);
    assert_eq!(instant(&reminder.raised_at), local("2024-03-14 00:00"));
    assert_eq!(
        instant(&reminder.due_at),
        local("2024-03-19 00:00"),
        "the deadline it warns of"
    );
    assert_eq!(
        reminder.clock_explanation,
        "accepted 2024-03-04, 10 working days -> due 2024-03-18 24:00"
    );
    assert_eq!(
        reminder.message,
        "the promised limit is near: accepted 2024-03-04, 10 working days -> due 2024-03-18 24:00"
    );
    assert_eq!(
        (
            reminder.department.as_str(),
            reminder.region.as_str(),
            reminder.matter_code.as_str()
        ),
        (DEPARTMENT, REGION, MATTER)
    );

    w.at("2024-03-18 23:59");
    w.supervision.settled().await;
    assert_eq!(w.warnings().await.len(), 1);
    w.at("2024-03-19 00:00");
    let yellow = next_warning(&mut stream).await;
    assert_eq!(yellow.rule(), pb::WarningRule::PromisedLimitPassed);
    assert_eq!(yellow.level(), pb::WarningLevel::YellowCard);
    assert_eq!(instant(&yellow.due_at), local("2024-03-19 00:00"));

    w.at("2024-04-01 23:59");
    w.supervision.settled().await;
    assert_eq!(w.warnings().await.len(), 2);
    w.at("2024-04-02 00:00");
    let red = next_warning(&mut stream).await;
    assert_eq!(red.rule(), pb::WarningRule::StatutoryLimitPassed);
    assert_eq!(red.level(), pb::WarningLevel::RedCard);
    assert_eq!(red.clock_kind(), DeadlineClockKind::Statutory);

    w.at("2024-12-31 00:00");
    w.supervision.settled().await;
    assert_eq!(w.warnings().await, [reminder, yellow, red]);
    assert_eq!(w.store.due_for_case("C-1").await.unwrap(), []);
}

async fn an_application_never_accepted_is_a_yellow_card_after_five_working_days(backend: Backend) {
    let mut w = world(backend, "2024-03-04 09:00").await;
    let records = opened("C-1")[..1].to_vec();
    w.push(records.clone()).await;
    // Undecided, the case will count as accepted on receipt (ALL Art. 32): its decision
    // clocks run from 03-04, judged no earlier than the acceptance deadline.
    assert_eq!(
        expected_due(&records),
        [
            ("acceptance".to_owned(), local("2024-03-12 00:00")),
            ("approaching:promised".to_owned(), local("2024-03-14 00:00")),
            ("promised".to_owned(), local("2024-03-19 00:00")),
            ("statutory".to_owned(), local("2024-04-02 00:00")),
        ]
    );
    let mut stream = w.supervision.stream(Default::default()).await;
    w.at("2024-03-11 23:59");
    w.supervision.settled().await;
    assert_eq!(w.warnings().await, []);
    w.at("2024-03-12 00:00");
    let yellow = next_warning(&mut stream).await;
    assert_eq!(yellow.rule(), pb::WarningRule::AcceptanceOverdue);
    assert_eq!(yellow.level(), pb::WarningLevel::YellowCard);
    assert_eq!(yellow.clock_kind(), DeadlineClockKind::Acceptance);
    assert_eq!(instant(&yellow.due_at), local("2024-03-12 00:00"));
}

async fn a_case_completed_on_time_raises_nothing(backend: Backend) {
    let mut w = world(backend, "2024-03-04 10:00").await;
    w.push(opened("C-1")).await;
    w.at("2024-03-08 12:00");
    let rest = completed("C-1", "2024-03-08 11:00")[2..].to_vec();
    w.push(rest).await;
    assert_eq!(w.store.due_for_case("C-1").await.unwrap(), []);
    w.at("2024-12-31 00:00");
    w.supervision.settled().await;
    assert_eq!(w.warnings().await, []);
}

async fn a_suspension_moves_the_yellow_card_by_the_suspended_working_days(backend: Backend) {
    let mut w = world(backend, "2024-03-04 10:00").await;
    let mut records = opened("C-1");
    w.push(records.clone()).await;
    let mut cards = w
        .supervision
        .stream(pb::StreamWarningsRequest {
            levels: vec![pb::WarningLevel::YellowCard as i32],
            ..Default::default()
        })
        .await;
    w.at("2024-03-06 10:00");
    let started = record(
        "C-1",
        "C-1-3",
        "2024-03-06 10:00",
        suspension("2024-03-08 17:00"),
    );
    w.push(vec![started.clone()]).await;
    w.at("2024-03-08 16:00");
    let ended = record("C-1", "C-1-4", "2024-03-08 16:00", suspension_ended());
    w.push(vec![ended.clone()]).await;
    records.extend([started, ended]);
    // 03-07 and 03-08 were suspended: the promised deadline moves from 03-18 24:00 to 03-20.
    let promised = expected_due(&records)
        .into_iter()
        .find(|(clock, _)| clock == "promised")
        .expect("a promised instant")
        .1;
    assert_eq!(promised, local("2024-03-21 00:00"));

    w.at("2024-03-19 00:00");
    w.supervision.settled().await;
    let yellow_so_far = w
        .supervision
        .list_all(pb::ListWarningsRequest {
            levels: vec![pb::WarningLevel::YellowCard as i32],
            ..Default::default()
        })
        .await;
    assert_eq!(
        yellow_so_far,
        [],
        "not at the deadline without the suspension"
    );
    w.at("2024-03-21 00:00");
    let yellow = next_warning(&mut cards).await;
    assert_eq!(yellow.rule(), pb::WarningRule::PromisedLimitPassed);
    assert_eq!(instant(&yellow.due_at), local("2024-03-21 00:00"));
    assert!(
        yellow
            .clock_explanation
            .contains("2 working days suspended"),
        "{}",
        yellow.clock_explanation
    );
}

async fn a_case_pushed_after_its_deadlines_gets_its_warnings_at_once(backend: Backend) {
    let mut w = world(backend, "2024-04-15 10:00").await;
    let mut stream = w.supervision.stream(Default::default()).await;
    // Completed on 04-10: after the promised (03-18) and statutory (04-01) deadlines.
    w.push(completed("C-1", "2024-04-10 11:00")).await;
    let got = [
        next_warning(&mut stream).await,
        next_warning(&mut stream).await,
    ];
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
    for warning in &got {
        assert_eq!(instant(&warning.raised_at), local("2024-04-15 10:00"));
        assert!(
            warning.message.contains("(stopped at 2024-04-10 11:00)"),
            "{}",
            warning.message
        );
    }
    assert_eq!(
        w.clock.now(),
        local("2024-04-15 10:00"),
        "time did not move"
    );
    w.supervision.settled().await;
    assert_eq!(w.warnings().await, got);
}

async fn a_restart_neither_loses_nor_repeats_a_warning(backend: Backend) {
    let World {
        mut approval,
        supervision: mut first,
        store,
        clock,
    } = world(backend, "2024-03-04 10:00").await;
    let at = |t: &str| clock.set(local(t));
    push(&mut approval, opened("A")).await;
    let mut stream = first.stream(Default::default()).await;
    at("2024-03-14 00:00");
    let reminder = next_warning(&mut stream).await;
    assert_eq!(reminder.case_no, "A");
    first.stop().await;

    // While no supervision platform runs: B is received (never accepted), A's promised
    // deadline passes, C is pushed completed after its promised deadline, B becomes overdue.
    at("2024-03-14 09:00");
    push(
        &mut approval,
        vec![record(
            "B",
            "B-1",
            "2024-03-14 09:00",
            application(MATTER, DEPARTMENT, REGION),
        )],
    )
    .await;
    at("2024-03-19 00:00");
    at("2024-03-21 10:00");
    let c: Vec<_> = [
        (
            "C-1",
            "2024-03-05 09:00",
            application(MATTER, DEPARTMENT, REGION),
        ),
        ("C-2", "2024-03-05 10:00", acceptance()),
        ("C-3", "2024-03-21 09:00", decision(true)),
        ("C-4", "2024-03-21 09:30", completion()),
        ("C-5", "2024-03-21 09:45", certificate()),
    ]
    .into_iter()
    .map(|(id, t, body)| record("C", id, t, body))
    .collect();
    push(&mut approval, c).await;
    at("2024-03-22 00:00");

    let mut second = spawn_supervision(store.clone(), clock.clone()).await;
    second.settled().await;
    let all = second.list_all(Default::default()).await;
    use pb::WarningLevel::{Reminder, YellowCard};
    use pb::WarningRule::{AcceptanceOverdue, ApproachingDeadline, PromisedLimitPassed};
    assert_eq!(
        keys(&all),
        [
            ("A".to_owned(), ApproachingDeadline, Reminder),
            ("A".to_owned(), PromisedLimitPassed, YellowCard),
            ("B".to_owned(), AcceptanceOverdue, YellowCard),
            ("C".to_owned(), PromisedLimitPassed, YellowCard),
        ]
    );
    assert_eq!(
        all[0], reminder,
        "the reminder raised before the restart is kept as it was"
    );
    let mut from_start = second.stream(Default::default()).await;
    let mut streamed = Vec::new();
    for _ in 0..all.len() {
        streamed.push(next_warning(&mut from_start).await);
    }
    assert_eq!(streamed, all);
    // A (2 records), B (1) and C (5): the cursor stands at the last of the 8. Read with
    // patience: on PostgreSQL other tests' open transactions hold the log head back.
    let log =
        egov_store::testing::read_log_settled(&store, egov_store::LogPosition::START, 8).await;
    assert_eq!(log.len(), 8);
    assert_eq!(
        store.get_cursor("supervision.log").await.unwrap(),
        Some(log[7].0.to_string()),
        "the cursor is persisted where the follower stopped"
    );
    // A's statutory deadline, and B's three decision deadlines (undecided, B counts as
    // accepted on receipt): its reminder (03-26), promised (03-29) and statutory (04-13) ones.
    assert_eq!(
        store.count_open_due().await.unwrap(),
        4,
        "A's statutory deadline and B's decision deadlines are left"
    );
}

async fn two_instances_at_once_raise_each_warning_once(backend: Backend) {
    let mut w = world(backend, "2024-03-04 10:00").await;
    let mut other = spawn_supervision(w.store.clone(), w.clock.clone()).await;
    let cases: Vec<String> = (0..10).map(|i| format!("C-{i:02}")).collect();
    w.push(cases.iter().flat_map(|c| opened(c)).collect()).await;
    // Every deadline of the ten cases at once, then three cases completed late.
    w.at("2024-04-02 00:00");
    let late: Vec<String> = (0..3).map(|i| format!("L-{i}")).collect();
    w.push(
        late.iter()
            .flat_map(|c| completed(c, "2024-04-01 11:00"))
            .collect(),
    )
    .await;
    w.supervision.settled().await;
    other.settled().await;

    // Per case a yellow and a red card; the reminders are not raised, their deadlines having
    // passed before any instance looked.
    let all = w.warnings().await;
    assert_eq!(all.len(), 10 * 2 + 3);
    let unique: HashSet<_> = keys(&all).into_iter().collect();
    assert_eq!(unique.len(), all.len());
    let raised = w.supervision.supervision.stats().raised + other.supervision.stats().raised;
    assert_eq!(
        raised, 23,
        "each warning is counted by the instance that raised it"
    );
    let mut stream = other.stream(Default::default()).await;
    let mut streamed = Vec::new();
    for _ in 0..all.len() {
        streamed.push(next_warning(&mut stream).await);
    }
    assert_eq!(streamed, all);
}

async fn a_burst_of_ten_thousand_due_instants_is_fired_in_batches(backend: Backend) {
    let mut w = world(backend, "2024-03-04 10:00").await;
    let due_at = local("2024-03-19 00:00");
    let view = ClockView {
        key: "promised".into(),
        started_at: local("2024-03-04 10:00"),
        limit: Limit::working_days(10),
        suspended: 0,
        extension: 0,
        due_at,
        last_day: "2024-03-18".parse().unwrap(),
        status: "running".into(),
        stopped_at: None,
        provisional: false,
        explanation: "accepted 2024-03-04, 10 working days -> due 2024-03-18 24:00".into(),
        not_before: None,
    };
    let view = serde_json::json!({ "clocks": [view] });
    let writes: Vec<CaseWrite> = (0..10_000)
        .map(|i| {
            let case_no = format!("B-{i:05}");
            CaseWrite {
                case: CaseRow {
                    case_no: case_no.clone(),
                    matter_code: MATTER.into(),
                    department: DEPARTMENT.into(),
                    region: REGION.into(),
                    state: "accepted".into(),
                    opened_at: local("2024-03-04 09:00"),
                    updated_at: local("2024-03-04 10:00"),
                    version: 0,
                    next_due_at: Some(due_at),
                    overdue: false,
                    provisional: false,
                    view: view.clone(),
                },
                expected_version: None,
                records: vec![NewRecord {
                    event_id: format!("{case_no}-1"),
                    case_no: case_no.clone(),
                    occurred_at: local("2024-03-04 10:00"),
                    source: "burst".into(),
                    kind: "acceptance".into(),
                    body: serde_json::json!({}),
                }],
                due: vec![DueInstant {
                    case_no,
                    clock: "promised".into(),
                    due_at,
                }],
                warnings: Vec::new(),
            }
        })
        .collect();
    for chunk in writes.chunks(2_000) {
        w.store
            .commit(chunk, local("2024-03-04 10:00"))
            .await
            .unwrap();
    }
    w.supervision.settled().await;
    assert_eq!(w.supervision.supervision.stats().due_batches, 0);

    w.clock.set(due_at + Duration::minutes(1));
    w.supervision.settled().await;
    assert_eq!(w.store.count_open_due().await.unwrap(), 0);
    let stats = w.supervision.supervision.stats();
    assert_eq!(stats.due_batches, 10, "1000 instants per batch: {stats:?}");
    assert_eq!(stats.raised, 10_000);
    let all = w.warnings().await;
    assert_eq!(all.len(), 10_000);
    assert!(
        all.iter()
            .all(|w| w.rule() == pb::WarningRule::PromisedLimitPassed)
    );
}

async fn the_due_loop_wakes_on_the_clock_and_on_commits_alone(backend: Backend) {
    let store = egov_platform::testing::fresh_store(backend).await;
    let clock = ManualClock::new(local("2024-03-04 10:00"));
    let mut approval = spawn_approval_on(store.clone(), clock.clone()).await;
    approval
        .client
        .upsert_matters(egov_proto::approval::v1::UpsertMattersRequest {
            matters: vec![matter(MATTER, DEPARTMENT, 10, 20)],
        })
        .await
        .unwrap();
    push(&mut approval, opened("C-1")).await;
    // No fallback poll to speak of: only the clock and commits can wake the loop.
    let options = SupervisionOptions {
        fallback_poll: std::time::Duration::from_secs(3600),
        corrections: false,
        ..SupervisionOptions::default()
    };
    let mut s = spawn_supervision_with(store.clone(), clock.clone(), options).await;
    within("the first pass", s.supervision.fired_through(clock.now())).await;

    clock.set(local("2024-03-14 00:00"));
    within(
        "the pass when the clock reaches the reminder",
        s.supervision.fired_through(local("2024-03-14 00:00")),
    )
    .await;
    // Raised; listed once no older transaction of the server (other tests') holds it back.
    egov_store::testing::warnings_settled(&store).await;
    let all = s.list_all(Default::default()).await;
    assert_eq!(
        keys(&all),
        [(
            "C-1".to_owned(),
            pb::WarningRule::ApproachingDeadline,
            pb::WarningLevel::Reminder
        )]
    );

    // A late application whose acceptance deadline (03-13 00:00) has already passed. Its
    // instant is stored at once or a little later (the approval platform may give a case
    // pushed late a grace period for the rest of its records), either way before the sleeping
    // loop's next instant (03-19): only the commit's wake-up makes the loop look again.
    push(
        &mut approval,
        vec![record(
            "B",
            "B-1",
            "2024-03-06 09:00",
            application(MATTER, DEPARTMENT, REGION),
        )],
    )
    .await;
    let due = store.due_for_case("B").await.unwrap();
    assert_eq!(due[0].clock, "acceptance", "{due:?}");
    assert!(due[0].due_at < local("2024-03-19 00:00"), "{due:?}");
    clock.set(due[0].due_at);
    let store = &store;
    eventually("B's acceptance overdue", || async move {
        let (rows, _) = store
            .list_warnings(
                &egov_store::WarningFilter {
                    case_no: Some("B".into()),
                    ..Default::default()
                },
                egov_store::Page::default(),
            )
            .await
            .unwrap();
        rows.iter().any(|w| w.rule == "acceptance_overdue")
    })
    .await;
}

async fn a_store_error_pauses_the_due_loop_without_stopping_it(backend: Backend) {
    let mut w = world(backend, "2024-03-04 10:00").await;
    w.push(opened("C-1")).await;
    w.supervision.settled().await;
    let mut stream = w.supervision.stream(Default::default()).await;
    // The table of due instants goes missing as the reminder comes due: every pass fails.
    w.store
        .execute_raw("ALTER TABLE due_instants RENAME TO due_instants_away")
        .await
        .unwrap();
    w.at("2024-03-14 00:00");
    let s = &w.supervision.supervision;
    eventually("the due loop fails", || async move { s.stats().errors > 0 }).await;
    w.store
        .execute_raw("ALTER TABLE due_instants_away RENAME TO due_instants")
        .await
        .unwrap();
    let reminder = next_warning(&mut stream).await;
    assert_eq!(reminder.rule(), pb::WarningRule::ApproachingDeadline);
    assert_eq!(instant(&reminder.raised_at), local("2024-03-14 00:00"));
}

on_both_databases!(
    the_due_loop_wakes_on_the_clock_and_on_commits_alone,
    a_store_error_pauses_the_due_loop_without_stopping_it,
    a_case_gets_a_reminder_then_a_yellow_then_a_red_card_each_when_due,
    an_application_never_accepted_is_a_yellow_card_after_five_working_days,
    a_case_completed_on_time_raises_nothing,
    a_suspension_moves_the_yellow_card_by_the_suspended_working_days,
    a_case_pushed_after_its_deadlines_gets_its_warnings_at_once,
    a_restart_neither_loses_nor_repeats_a_warning,
    two_instances_at_once_raise_each_warning_once,
    a_burst_of_ten_thousand_due_instants_is_fired_in_batches,
);
