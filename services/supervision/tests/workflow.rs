//! The correction workflow (docs/design.md §3) over real gRPC, against both databases, on an
//! injected clock: cards get their correction due (3 working days, China calendar), a yellow card
//! left unanswered gives its case a red card at its due, an unanswered red card escalates up the
//! jurisdiction tree office by office, supervisors act within their office's subtree, a card
//! answered in time does neither; every transition is in the warning's history (who, when, why) and
//! on the stream; invalid transitions are refused.

mod support;

use std::time::Duration;

use chrono::{DateTime, Utc};
use egov_approval::testing::fixtures::local;
use egov_platform::testing::{PATIENCE, TestSupervision, next_warning, spawn_supervision_with};
use egov_platform::testing::{admin_named, fresh_store};
use egov_proto::supervision::v1 as pb;
use egov_runtime::clock::ManualClock;
use egov_store::{Backend, NewWarning};
use egov_supervision::SupervisionOptions;
use serde_json::json;
use tonic::Code;

/// Monday 2024-04-15 10:00 +08:00; the correction due of a card raised then is 3 working days
/// later: Thursday 2024-04-18 24:00 +08:00.
const NOW: &str = "2024-04-15 10:00";

async fn platform(backend: Backend) -> TestSupervision {
    let store = fresh_store(backend).await;
    // The defaults: the correction workflow's timers on.
    spawn_supervision_with(
        store,
        ManualClock::new(local(NOW)),
        SupervisionOptions::default(),
    )
    .await
}

fn card(case: &str, level: &str, region: &str) -> NewWarning {
    NewWarning {
        case_no: case.into(),
        rule: "promised_limit_passed".into(),
        level: level.into(),
        department: "market".into(),
        region: region.into(),
        matter_code: "M-FOOD".into(),
        due_at: Some(local("2024-04-15 00:00")),
        raised_at: local(NOW),
        detail: json!({"message": format!("{case}: late"), "clock": "promised"}),
    }
}

/// Stores a card and waits until the platform stamped its correction due; returns it.
async fn raise(s: &mut TestSupervision, w: NewWarning) -> pb::Warning {
    let new = s.store.insert_warnings(&[w]).await.expect("insert");
    egov_store::testing::warnings_settled(&s.store).await;
    let id = new[0].id.to_string();
    let started = tokio::time::Instant::now();
    loop {
        let got = get(s, &id).await;
        if got.correction_due_at.is_some() {
            return got;
        }
        assert!(started.elapsed() < PATIENCE, "no correction due stamped");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn get(s: &mut TestSupervision, id: &str) -> pb::Warning {
    s.client
        .get_warning(pb::GetWarningRequest { id: id.into() })
        .await
        .expect("get")
        .into_inner()
        .warning
        .expect("warning")
}

fn input(
    id: &str,
    actor: &str,
    reason: &str,
    attachments: &[&str],
) -> Option<pb::WarningTransitionInput> {
    Some(pb::WarningTransitionInput {
        id: id.into(),
        actor: actor.into(),
        reason: reason.into(),
        attachments: attachments.iter().map(|a| (*a).to_owned()).collect(),
        office: String::new(),
    })
}

async fn ack(
    s: &mut TestSupervision,
    id: &str,
    actor: &str,
    reason: &str,
) -> Result<pb::Warning, tonic::Status> {
    // The actor is whoever calls: a credential of that name.
    s.client_as(&admin_named(actor))
        .await
        .acknowledge_warning(pb::AcknowledgeWarningRequest {
            input: input(id, actor, reason, &[]),
        })
        .await
        .map(|r| r.into_inner().warning.expect("warning"))
}

async fn answer(
    s: &mut TestSupervision,
    id: &str,
    actor: &str,
    reason: &str,
    attachments: &[&str],
) -> Result<pb::Warning, tonic::Status> {
    // The actor is whoever calls: a credential of that name.
    s.client_as(&admin_named(actor))
        .await
        .answer_warning(pb::AnswerWarningRequest {
            input: input(id, actor, reason, attachments),
        })
        .await
        .map(|r| r.into_inner().warning.expect("warning"))
}

async fn close(
    s: &mut TestSupervision,
    id: &str,
    actor: &str,
    reason: &str,
) -> Result<pb::Warning, tonic::Status> {
    // The actor is whoever calls: a credential of that name.
    s.client_as(&admin_named(actor))
        .await
        .close_warning(pb::CloseWarningRequest {
            input: input(id, actor, reason, &[]),
        })
        .await
        .map(|r| r.into_inner().warning.expect("warning"))
}

async fn escalate(
    s: &mut TestSupervision,
    id: &str,
    actor: &str,
    reason: &str,
) -> Result<pb::Warning, tonic::Status> {
    // The actor is whoever calls: a credential of that name.
    s.client_as(&admin_named(actor))
        .await
        .escalate_warning(pb::EscalateWarningRequest {
            input: input(id, actor, reason, &[]),
        })
        .await
        .map(|r| r.into_inner().warning.expect("warning"))
}

fn at(w: &pb::Warning) -> DateTime<Utc> {
    let t = w.correction_due_at.expect("correction due");
    DateTime::from_timestamp(t.seconds, t.nanos as u32).expect("time")
}

fn ts(t: Option<pbjson_types::Timestamp>) -> DateTime<Utc> {
    let t = t.expect("time");
    DateTime::from_timestamp(t.seconds, t.nanos as u32).expect("time")
}

async fn case_warnings(s: &mut TestSupervision, case: &str) -> Vec<pb::Warning> {
    s.list_all(pb::ListWarningsRequest {
        case_no: case.into(),
        ..Default::default()
    })
    .await
}

async fn an_unanswered_yellow_card_becomes_a_red_card_at_its_correction_due(backend: Backend) {
    let mut s = platform(backend).await;
    let yellow = raise(&mut s, card("C-Y", "yellow_card", "330106")).await;
    assert_eq!(
        at(&yellow),
        local("2024-04-19 00:00"),
        "3 working days, 24:00 local"
    );
    // Just before the due: nothing yet.
    s.clock.set(at(&yellow) - chrono::Duration::seconds(1));
    s.settled().await;
    assert_eq!(case_warnings(&mut s, "C-Y").await.len(), 1);
    // At the due: a red card of the same rule.
    s.clock.set(at(&yellow));
    s.settled().await;
    let all = case_warnings(&mut s, "C-Y").await;
    assert_eq!(all.len(), 2, "{all:?}");
    let red = all
        .iter()
        .find(|w| w.level == pb::WarningLevel::RedCard as i32)
        .expect("red");
    assert_eq!(red.rule, pb::WarningRule::PromisedLimitPassed as i32);
    assert_eq!(ts(red.raised_at), at(&yellow));
    assert!(
        red.message.contains("correction due") && red.message.contains(&yellow.id),
        "{}",
        red.message
    );
    // Once only, however often the loop passes.
    s.clock.advance(chrono::Duration::seconds(3600));
    s.settled().await;
    assert_eq!(case_warnings(&mut s, "C-Y").await.len(), 2);
}

async fn an_unanswered_red_card_escalates_up_the_tree_to_the_province(backend: Backend) {
    let mut s = platform(backend).await;
    let red = raise(&mut s, card("C-R", "red_card", "330106")).await;
    assert_eq!(
        red.office, "330106",
        "first held by the case's region office"
    );
    s.clock.set(at(&red));
    s.settled().await;
    let got = get(&mut s, &red.id).await;
    assert_eq!(got.state, pb::WarningState::Escalated as i32);
    assert_eq!(got.office, "3301");
    let last = got.history.last().expect("history");
    assert_eq!(got.history.len(), 2);
    assert_eq!(
        (last.actor.as_str(), last.office.as_str()),
        ("system", "3301")
    );
    assert_eq!(ts(last.at), at(&red));
    assert!(last.note.contains("region 3301"), "{}", last.note);
    // The city office gets its own correction due: 3 working days from the escalation, whose
    // day (Friday 2024-04-19, escalated at 00:00) is not counted: Wednesday 2024-04-24 24:00.
    assert_eq!(at(&got), local("2024-04-25 00:00"));
    let city_inbox = s
        .list_all(pb::ListWarningsRequest {
            office: "3301".into(),
            ..Default::default()
        })
        .await;
    assert_eq!(city_inbox.len(), 1);
    assert!(
        s.list_all(pb::ListWarningsRequest {
            office: "330106".into(),
            ..Default::default()
        })
        .await
        .is_empty()
    );
    // Unanswered at the city too: on to the province.
    s.clock.set(at(&got));
    s.settled().await;
    let got = get(&mut s, &red.id).await;
    assert_eq!(
        (got.state, got.office.as_str()),
        (pb::WarningState::Escalated as i32, "33")
    );
    assert_eq!(got.history.len(), 3);
    // Unanswered at the top: the due ends there, recorded, and nothing moves any more.
    s.clock.set(at(&got));
    s.settled().await;
    let top = get(&mut s, &red.id).await;
    assert_eq!(
        (top.state, top.office.as_str()),
        (pb::WarningState::Escalated as i32, "33")
    );
    assert_eq!(top.correction_due_at, None);
    assert_eq!(top.history.len(), 4);
    assert!(
        top.history[3].note.contains("top of the jurisdiction tree"),
        "{}",
        top.history[3].note
    );
    s.clock.advance(chrono::Duration::days(30));
    s.settled().await;
    assert_eq!(get(&mut s, &red.id).await.history.len(), 4);
}

async fn two_instances_escalate_a_passed_due_once(backend: Backend) {
    let mut s = platform(backend).await;
    let other = spawn_supervision_with(
        s.store.clone(),
        s.clock.clone(),
        SupervisionOptions::default(),
    )
    .await;
    let cards: Vec<NewWarning> = (0..40)
        .map(|i| card(&format!("C-TWO-{i}"), "red_card", "330106"))
        .collect();
    let first = raise(&mut s, cards[0].clone()).await;
    s.store.insert_warnings(&cards[1..]).await.expect("insert");
    egov_store::testing::warnings_settled(&s.store).await;
    s.settled().await;
    other.settled().await;
    s.clock.set(at(&first));
    s.settled().await;
    other.settled().await;
    let all = s
        .list_all(pb::ListWarningsRequest {
            office: "3301".into(),
            ..Default::default()
        })
        .await;
    assert_eq!(all.len(), 40, "every card went to the city, none beyond");
    for w in all.iter().take(10) {
        let got = get(&mut s, &w.id).await;
        assert_eq!(got.history.len(), 2, "escalated once: {:?}", got.history);
        assert_eq!(at(&got), local("2024-04-25 00:00"));
    }
    other.stop().await;
}

async fn supervisors_act_within_their_office_subtree(backend: Backend) {
    let mut s = platform(backend).await;
    let w = raise(&mut s, card("C-O", "yellow_card", "330106")).await;
    let with_office = |office: &str, reason: &str| {
        let mut i = input(&w.id, "sup:zhao", reason, &[]);
        if let Some(i) = i.as_mut() {
            i.office = office.into();
        }
        i
    };
    // A sibling district's office may not escalate it; the city's may.
    let e = s
        .client
        .escalate_warning(pb::EscalateWarningRequest {
            input: with_office("330105", "not ours"),
        })
        .await
        .expect_err("sibling office");
    assert_eq!(e.code(), Code::PermissionDenied);
    assert!(e.message().contains("330106"), "{}", e.message());
    let e = s
        .client
        .escalate_warning(pb::EscalateWarningRequest {
            input: with_office("3301x", "bad"),
        })
        .await
        .expect_err("bad office");
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("input.office"), "{}", e.message());
    let up = s
        .client
        .escalate_warning(pb::EscalateWarningRequest {
            input: with_office("3301", "the district does not answer"),
        })
        .await
        .expect("city escalates")
        .into_inner()
        .warning
        .expect("warning");
    assert_eq!(up.office, "3301");
    // Now held by the city: the district's office can no longer act on it.
    ack(&mut s, &w.id, "market:li", "seen").await.expect("ack");
    answer(&mut s, &w.id, "market:li", "fixed", &[])
        .await
        .expect("answer");
    let e = s
        .client
        .close_warning(pb::CloseWarningRequest {
            input: with_office("330106", "ok"),
        })
        .await
        .expect_err("district closes the city's warning");
    assert_eq!(e.code(), Code::PermissionDenied);
    let closed = s
        .client
        .close_warning(pb::CloseWarningRequest {
            input: with_office("33", "accepted by the province"),
        })
        .await
        .expect("the province may")
        .into_inner()
        .warning
        .expect("warning");
    assert_eq!(closed.state, pb::WarningState::Closed as i32);
}

async fn a_card_acknowledged_and_answered_in_time_does_not_fire(backend: Backend) {
    let mut s = platform(backend).await;
    let yellow = raise(&mut s, card("C-A", "yellow_card", "330106")).await;
    let red = raise(&mut s, card("C-B", "red_card", "330106")).await;
    for w in [&yellow, &red] {
        ack(&mut s, &w.id, "market:li", "seen").await.expect("ack");
        answer(&mut s, &w.id, "market:li", "corrected", &["doc-1"])
            .await
            .expect("answer");
    }
    s.clock
        .set(at(&red).max(at(&yellow)) + chrono::Duration::days(1));
    s.settled().await;
    assert_eq!(case_warnings(&mut s, "C-A").await.len(), 1);
    assert_eq!(
        get(&mut s, &red.id).await.state,
        pb::WarningState::Answered as i32
    );
}

async fn the_full_path_is_in_the_history_and_on_the_stream(backend: Backend) {
    let mut s = platform(backend).await;
    let mut stream = s.stream(Default::default()).await;
    let w = raise(&mut s, card("C-P", "yellow_card", "330106")).await;
    let first = next_warning(&mut stream).await;
    assert_eq!(first.state, pb::WarningState::Raised as i32);

    s.clock.advance(chrono::Duration::seconds(600));
    let acked = ack(&mut s, &w.id, "market:li", "we are on it")
        .await
        .expect("ack");
    assert_eq!(acked.state, pb::WarningState::Acknowledged as i32);
    let streamed = next_warning(&mut stream).await;
    assert_eq!(
        (streamed.id.as_str(), streamed.state),
        (w.id.as_str(), pb::WarningState::Acknowledged as i32)
    );
    assert_ne!(streamed.position, first.position);

    s.clock.advance(chrono::Duration::seconds(3600));
    answer(
        &mut s,
        &w.id,
        "market:li",
        "the licence was issued late; corrected",
        &["doc-7", "doc-8"],
    )
    .await
    .expect("answer");
    // The stream shows each warning in its latest state: read the answer before closing.
    assert_eq!(
        next_warning(&mut stream).await.state,
        pb::WarningState::Answered as i32
    );
    s.clock.advance(chrono::Duration::seconds(3600));
    let closed = close(&mut s, &w.id, "supervisor:wang", "accepted")
        .await
        .expect("close");
    assert_eq!(closed.state, pb::WarningState::Closed as i32);
    assert_eq!(
        next_warning(&mut stream).await.state,
        pb::WarningState::Closed as i32
    );

    let got = get(&mut s, &w.id).await;
    let h: Vec<(i32, &str, &str, DateTime<Utc>)> = got
        .history
        .iter()
        .map(|t| (t.state, t.actor.as_str(), t.note.as_str(), ts(t.at)))
        .collect();
    assert_eq!(
        h,
        [
            (
                pb::WarningState::Raised as i32,
                "system",
                "C-P: late",
                local(NOW)
            ),
            (
                pb::WarningState::Acknowledged as i32,
                "market:li",
                "we are on it",
                local("2024-04-15 10:10")
            ),
            (
                pb::WarningState::Answered as i32,
                "market:li",
                "the licence was issued late; corrected",
                local("2024-04-15 11:10")
            ),
            (
                pb::WarningState::Closed as i32,
                "supervisor:wang",
                "accepted",
                local("2024-04-15 12:10")
            ),
        ]
    );
    assert_eq!(got.history[2].attachments, ["doc-7", "doc-8"]);
    // Closed: the due passes without a red card.
    s.clock.set(at(&w) + chrono::Duration::days(1));
    s.settled().await;
    assert_eq!(case_warnings(&mut s, "C-P").await.len(), 1);
}

async fn invalid_transitions_are_refused(backend: Backend) {
    let mut s = platform(backend).await;
    let w = raise(&mut s, card("C-X", "yellow_card", "330106")).await;
    let e = answer(&mut s, &w.id, "market:li", "x", &[])
        .await
        .expect_err("answer before ack");
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert!(e.message().contains("raised"), "{}", e.message());
    let e = close(&mut s, &w.id, "sup", "x")
        .await
        .expect_err("close raised");
    assert_eq!(e.code(), Code::FailedPrecondition);
    ack(&mut s, &w.id, "market:li", "seen").await.expect("ack");
    let e = ack(&mut s, &w.id, "market:li", "again")
        .await
        .expect_err("ack twice");
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert!(e.message().contains("acknowledged"), "{}", e.message());
    let e = close(&mut s, &w.id, "sup", "x")
        .await
        .expect_err("close acknowledged");
    assert_eq!(e.code(), Code::FailedPrecondition);
    escalate(&mut s, &w.id, "sup", "no answer coming")
        .await
        .expect("escalate to the city");
    escalate(&mut s, &w.id, "sup", "the city does not answer either")
        .await
        .expect("escalate to the province");
    let e = escalate(&mut s, &w.id, "sup", "again")
        .await
        .expect_err("escalate above the province");
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert!(e.message().contains("top"), "{}", e.message());

    let e = ack(&mut s, "99999", "a", "b").await.expect_err("unknown");
    assert_eq!(e.code(), Code::NotFound);
    let e = ack(&mut s, &w.id, "a", "").await.expect_err("no reason");
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("reason"), "{}", e.message());
    // The refusals left no trace.
    assert_eq!(get(&mut s, &w.id).await.history.len(), 4);
}

on_both_databases!(
    an_unanswered_yellow_card_becomes_a_red_card_at_its_correction_due,
    an_unanswered_red_card_escalates_up_the_tree_to_the_province,
    supervisors_act_within_their_office_subtree,
    two_instances_escalate_a_passed_due_once,
    a_card_acknowledged_and_answered_in_time_does_not_fire,
    the_full_path_is_in_the_history_and_on_the_stream,
    invalid_transitions_are_refused,
);
