//! Every transition of the case state machine: for each state a case can be in, what each
//! record kind does to it (the state it leads to, or the typed error that refuses it), and how
//! late records are placed by their own time.

mod support;

use egov_domain::case::{Case, CaseState, TransitionError, admit};
use egov_domain::matter::MatterKind;
use support::{matter, rec, story};

/// The records that bring a fresh case to each state (local times, Asia/Shanghai).
fn setup(state: &str) -> Vec<(&'static str, &'static str)> {
    let app = ("application", "2024-03-04 09:00");
    let acc = ("acceptance", "2024-03-04 10:00");
    let step = ("step_started", "2024-03-04 11:00");
    let mut s = match state {
        "received" => vec![app],
        "awaiting_correction" => vec![app, ("correction_notice", "2024-03-04 10:00")],
        "accepted" => vec![app, acc],
        "suspended" => vec![app, acc, ("suspension_started", "2024-03-04 12:00")],
        "approved" => vec![app, acc, ("decision", "2024-03-04 12:00")],
        "denied" => vec![app, acc, ("denial", "2024-03-04 12:00")],
        "completed" => vec![
            app,
            acc,
            ("decision", "2024-03-04 12:00"),
            ("completion", "2024-03-04 13:00"),
        ],
        "refused" => vec![app, ("refusal", "2024-03-04 10:00")],
        "withdrawn" => vec![app, ("withdrawal", "2024-03-04 10:00")],
        other => panic!("no setup for {other}"),
    };
    // A running step named "undertake", so that step_completed has something to complete.
    if s.len() > 1 && s[1] == acc {
        s.insert(2, step);
    }
    s
}

/// The name of an outcome: the new state, or the error's variant name.
fn outcome(result: Result<Case, TransitionError>) -> String {
    match result {
        Ok(case) => case.state.as_str().to_owned(),
        Err(e) => {
            let debug = format!("{e:?}");
            debug
                .split([' ', '{', '('])
                .next()
                .unwrap_or_default()
                .to_owned()
        }
    }
}

fn check(state: &str, expected: &[(&str, &str)]) {
    let m = matter(MatterKind::Promised, 10, 20);
    let mut existing = story(&setup(state));
    // The setup's step is "review"; rename it so step_completed ("undertake") finds it and a
    // new step_started ("review") does not collide with it.
    for r in &mut existing {
        if let egov_domain::record::RecordBody::StepStarted { step, .. } = &mut r.body {
            *step = "undertake".into();
        }
    }
    let built = Case::replay(&existing.iter().collect::<Vec<_>>(), &m).expect("setup replays");
    assert_eq!(built.state.as_str(), state, "setup reaches {state}");
    assert_eq!(
        expected.len(),
        16,
        "every record kind is listed for {state}"
    );
    let mut failures = Vec::new();
    for (i, (kind, want)) in expected.iter().enumerate() {
        let new = rec(100 + i, kind, "2024-03-05 09:00");
        let got = outcome(admit(&existing, None, &new, &m));
        // Applying to the case at hand (the fast path for a record in time order) decides
        // exactly as a replay does.
        let fast = outcome(admit(&existing, Some(&built), &new, &m));
        if fast != got {
            failures.push(format!("{state} + {kind}: replay {got}, applied {fast}"));
        }
        if got != *want {
            failures.push(format!("{state} + {kind}: expected {want}, got {got}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn from_received() {
    check(
        "received",
        &[
            ("application", "AlreadyOpened"),
            ("acceptance", "accepted"),
            ("correction_notice", "awaiting_correction"),
            ("correction_received", "NoCorrectionPending"),
            ("refusal", "refused"),
            ("step_started", "NotAccepted"),
            ("step_completed", "NotAccepted"),
            ("suspension_started", "NotAccepted"),
            ("suspension_ended", "NotSuspended"),
            ("extension", "NotAccepted"),
            ("decision", "DecisionBeforeAcceptance"),
            ("fee", "NotAccepted"),
            ("completion", "NotAccepted"),
            ("certificate_issued", "CertificateWithoutApproval"),
            ("withdrawal", "withdrawn"),
            ("rating", "received"),
        ],
    );
}

#[test]
fn from_awaiting_correction() {
    check(
        "awaiting_correction",
        &[
            ("application", "AlreadyOpened"),
            ("acceptance", "accepted"),
            ("correction_notice", "awaiting_correction"),
            ("correction_received", "received"),
            ("refusal", "refused"),
            ("step_started", "NotAccepted"),
            ("step_completed", "NotAccepted"),
            ("suspension_started", "NotAccepted"),
            ("suspension_ended", "NotSuspended"),
            ("extension", "NotAccepted"),
            ("decision", "DecisionBeforeAcceptance"),
            ("fee", "NotAccepted"),
            ("completion", "NotAccepted"),
            ("certificate_issued", "CertificateWithoutApproval"),
            ("withdrawal", "withdrawn"),
            ("rating", "awaiting_correction"),
        ],
    );
}

#[test]
fn from_accepted() {
    check(
        "accepted",
        &[
            ("application", "AlreadyOpened"),
            ("acceptance", "AcceptanceAlreadyDecided"),
            ("correction_notice", "AcceptanceAlreadyDecided"),
            ("correction_received", "NoCorrectionPending"),
            ("refusal", "AcceptanceAlreadyDecided"),
            ("step_started", "accepted"),
            ("step_completed", "accepted"),
            ("suspension_started", "suspended"),
            ("suspension_ended", "NotSuspended"),
            ("extension", "accepted"),
            ("decision", "approved"),
            ("fee", "accepted"),
            ("completion", "CompletionWithoutDecision"),
            ("certificate_issued", "CertificateWithoutApproval"),
            ("withdrawal", "withdrawn"),
            ("rating", "accepted"),
        ],
    );
}

#[test]
fn from_suspended() {
    check(
        "suspended",
        &[
            ("application", "AlreadyOpened"),
            ("acceptance", "AcceptanceAlreadyDecided"),
            ("correction_notice", "AcceptanceAlreadyDecided"),
            ("correction_received", "NoCorrectionPending"),
            ("refusal", "AcceptanceAlreadyDecided"),
            ("step_started", "suspended"),
            ("step_completed", "suspended"),
            ("suspension_started", "AlreadySuspended"),
            ("suspension_ended", "accepted"),
            ("extension", "suspended"),
            ("decision", "WhileSuspended"),
            ("fee", "suspended"),
            ("completion", "WhileSuspended"),
            ("certificate_issued", "CertificateWithoutApproval"),
            ("withdrawal", "withdrawn"),
            ("rating", "suspended"),
        ],
    );
}

#[test]
fn from_approved() {
    check(
        "approved",
        &[
            ("application", "AlreadyOpened"),
            ("acceptance", "AcceptanceAlreadyDecided"),
            ("correction_notice", "AcceptanceAlreadyDecided"),
            ("correction_received", "NoCorrectionPending"),
            ("refusal", "AcceptanceAlreadyDecided"),
            ("step_started", "AfterDecision"),
            ("step_completed", "AfterDecision"),
            ("suspension_started", "AfterDecision"),
            ("suspension_ended", "NotSuspended"),
            ("extension", "AfterDecision"),
            ("decision", "AlreadyDecided"),
            ("fee", "approved"),
            ("completion", "completed"),
            ("certificate_issued", "approved"),
            ("withdrawal", "AfterDecision"),
            ("rating", "approved"),
        ],
    );
}

#[test]
fn from_denied() {
    check(
        "denied",
        &[
            ("application", "AlreadyOpened"),
            ("acceptance", "AcceptanceAlreadyDecided"),
            ("correction_notice", "AcceptanceAlreadyDecided"),
            ("correction_received", "NoCorrectionPending"),
            ("refusal", "AcceptanceAlreadyDecided"),
            ("step_started", "AfterDecision"),
            ("step_completed", "AfterDecision"),
            ("suspension_started", "AfterDecision"),
            ("suspension_ended", "NotSuspended"),
            ("extension", "AfterDecision"),
            ("decision", "AlreadyDecided"),
            ("fee", "denied"),
            ("completion", "completed"),
            ("certificate_issued", "CertificateWithoutApproval"),
            ("withdrawal", "AfterDecision"),
            ("rating", "denied"),
        ],
    );
}

#[test]
fn from_completed() {
    check(
        "completed",
        &[
            ("application", "AfterClose"),
            ("acceptance", "AfterClose"),
            ("correction_notice", "AfterClose"),
            ("correction_received", "AfterClose"),
            ("refusal", "AfterClose"),
            ("step_started", "AfterClose"),
            ("step_completed", "AfterClose"),
            ("suspension_started", "AfterClose"),
            ("suspension_ended", "AfterClose"),
            ("extension", "AfterClose"),
            ("decision", "AfterClose"),
            ("fee", "completed"),
            ("completion", "AfterClose"),
            ("certificate_issued", "completed"),
            ("withdrawal", "AfterClose"),
            ("rating", "completed"),
        ],
    );
}

#[test]
fn from_refused() {
    check(
        "refused",
        &[
            ("application", "AfterClose"),
            ("acceptance", "AfterClose"),
            ("correction_notice", "AfterClose"),
            ("correction_received", "AfterClose"),
            ("refusal", "AfterClose"),
            ("step_started", "AfterClose"),
            ("step_completed", "AfterClose"),
            ("suspension_started", "AfterClose"),
            ("suspension_ended", "AfterClose"),
            ("extension", "AfterClose"),
            ("decision", "AfterClose"),
            ("fee", "NotAccepted"),
            ("completion", "AfterClose"),
            ("certificate_issued", "CertificateWithoutApproval"),
            ("withdrawal", "AfterClose"),
            ("rating", "refused"),
        ],
    );
}

#[test]
fn from_withdrawn() {
    check(
        "withdrawn",
        &[
            ("application", "AfterClose"),
            ("acceptance", "AfterClose"),
            ("correction_notice", "AfterClose"),
            ("correction_received", "AfterClose"),
            ("refusal", "AfterClose"),
            ("step_started", "AfterClose"),
            ("step_completed", "AfterClose"),
            ("suspension_started", "AfterClose"),
            ("suspension_ended", "AfterClose"),
            ("extension", "AfterClose"),
            ("decision", "AfterClose"),
            ("fee", "NotAccepted"),
            ("completion", "AfterClose"),
            ("certificate_issued", "CertificateWithoutApproval"),
            ("withdrawal", "AfterClose"),
            ("rating", "withdrawn"),
        ],
    );
}

#[test]
fn a_first_record_that_is_not_an_application_is_refused() {
    let m = matter(MatterKind::Promised, 10, 20);
    let err = admit(&[], None, &rec(1, "acceptance", "2024-03-04 10:00"), &m).unwrap_err();
    assert!(
        matches!(err, TransitionError::NoApplication { .. }),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "the case has no application before this acceptance record (an application must come first)"
    );
}

#[test]
fn an_immediate_item_completes_without_a_separate_decision() {
    let m = matter(MatterKind::Immediate, 0, 0);
    let existing = story(&[
        ("application", "2024-03-04 09:00"),
        ("acceptance", "2024-03-04 09:05"),
    ]);
    let case = admit(
        &existing,
        None,
        &rec(3, "completion", "2024-03-04 09:30"),
        &m,
    )
    .unwrap();
    assert_eq!(case.state, CaseState::Completed);
    assert!(case.decision.is_some());
}

#[test]
fn a_late_record_is_placed_by_its_own_time() {
    let m = matter(MatterKind::Promised, 10, 20);
    // The step arrives after the decision was stored, but it happened before it.
    let existing = story(&[
        ("application", "2024-03-04 09:00"),
        ("acceptance", "2024-03-04 10:00"),
        ("decision", "2024-03-08 10:00"),
    ]);
    let late = rec(4, "step_started", "2024-03-05 09:00");
    let case = admit(&existing, None, &late, &m).unwrap();
    assert_eq!(
        case.state,
        CaseState::Decided(egov_domain::record::Outcome::Approved)
    );
    assert_eq!(case.steps.len(), 1);
}

#[test]
fn a_late_acceptance_after_a_stored_decision_is_still_in_order() {
    let m = matter(MatterKind::Promised, 10, 20);
    // The decision arrived first and was refused; here the acceptance is stored first and a
    // decision that claims to precede it is refused as a decision before acceptance.
    let existing = story(&[
        ("application", "2024-03-04 09:00"),
        ("acceptance", "2024-03-05 10:00"),
    ]);
    let early_decision = rec(3, "decision", "2024-03-05 09:00");
    let err = admit(&existing, None, &early_decision, &m).unwrap_err();
    assert_eq!(err, TransitionError::DecisionBeforeAcceptance);
}

#[test]
fn a_late_record_that_breaks_a_stored_one_is_refused_and_names_it() {
    let m = matter(MatterKind::Promised, 10, 20);
    let existing = story(&[
        ("application", "2024-03-04 09:00"),
        ("acceptance", "2024-03-04 10:00"),
        ("decision", "2024-03-08 10:00"),
    ]);
    // A withdrawal dated before the decision would make the stored decision follow a close.
    let late = rec(4, "withdrawal", "2024-03-06 09:00");
    let err = admit(&existing, None, &late, &m).unwrap_err();
    match err {
        TransitionError::ConflictsWithLater {
            event_id, cause, ..
        } => {
            assert_eq!(event_id, "e3");
            assert!(matches!(*cause, TransitionError::AfterClose { .. }));
        }
        other => panic!("expected a conflict with the stored decision, got {other:?}"),
    }
}

#[test]
fn corrected_materials_restart_the_acceptance_clock() {
    let m = matter(MatterKind::Promised, 10, 20);
    let records = story(&[
        ("application", "2024-03-04 09:00"),
        ("correction_notice", "2024-03-05 09:00"),
        ("correction_received", "2024-03-11 09:00"),
    ]);
    let case = Case::replay(&records.iter().collect::<Vec<_>>(), &m).unwrap();
    assert_eq!(case.state, CaseState::Received);
    assert_eq!(case.acceptance_clock_from, support::at("2024-03-11 09:00"));
    assert_eq!(case.correction_notices.len(), 1);
    assert_eq!(case.acceptance_decided_at, None);
}

#[test]
fn replay_is_independent_of_arrival_order() {
    let m = matter(MatterKind::Promised, 10, 20);
    let records = story(&[
        ("application", "2024-03-04 09:00"),
        ("acceptance", "2024-03-04 10:00"),
        ("step_started", "2024-03-05 10:00"),
        ("suspension_started", "2024-03-06 10:00"),
        ("suspension_ended", "2024-03-08 10:00"),
        ("decision", "2024-03-12 10:00"),
        ("completion", "2024-03-12 11:00"),
    ]);
    let in_order = Case::replay(&records.iter().collect::<Vec<_>>(), &m).unwrap();
    let reversed: Vec<_> = records.iter().rev().collect();
    let shuffled = Case::replay(&reversed, &m).unwrap();
    assert_eq!(in_order, shuffled);
    assert_eq!(in_order.state, CaseState::Completed);
}
