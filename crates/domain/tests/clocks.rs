//! The deadline clocks of whole cases: worked cases around Spring Festival 2024 and National
//! Day 2025, told as records in and clocks out, with their explanations.

mod support;

use egov_domain::calendar::Calendar;
use egov_domain::case::Case;
use egov_domain::clock::{ClockKind, ClockStatus, DeadlineClock, clocks, due_instants};
use egov_domain::matter::MatterKind;
use support::{at, matter, story};

fn clocks_of(
    kind: MatterKind,
    promised: u32,
    statutory: u32,
    steps: &[(&str, &str)],
) -> Vec<DeadlineClock> {
    let m = matter(kind, promised, statutory);
    let records = story(steps);
    let case = Case::replay(&records.iter().collect::<Vec<_>>(), &m).expect("story replays");
    clocks(&case, &m, &Calendar::china())
}

fn clock(clocks: &[DeadlineClock], key: &str) -> DeadlineClock {
    clocks
        .iter()
        .find(|c| c.key() == key)
        .unwrap_or_else(|| panic!("no {key} clock in {clocks:#?}"))
        .clone()
}

#[test]
fn spring_festival_2024_with_a_suspension() {
    let clocks = clocks_of(
        MatterKind::Promised,
        10,
        20,
        &[
            ("application", "2024-02-06 09:00"),
            ("acceptance", "2024-02-08 10:00"),
            ("suspension_started", "2024-02-26 10:00"),
            ("suspension_ended", "2024-02-28 16:00"),
        ],
    );
    let statutory = clock(&clocks, "statutory");
    assert_eq!(statutory.status, ClockStatus::Running);
    assert_eq!(statutory.deadline.due_at, at("2024-03-16 00:00"));
    assert_eq!(
        statutory.deadline.explanation,
        "accepted 2024-02-08, 20 working days; Spring Festival days off 02-10..02-17 skipped, \
         the adjusted working day 02-18 counted; 2 working days suspended -> due 2024-03-15 24:00"
    );
    // 10 working days end on 02-28; the two suspended days inside that period push it to 03-01.
    let promised = clock(&clocks, "promised");
    assert_eq!(promised.deadline.last_day.to_string(), "2024-03-01");
    assert_eq!(promised.deadline.suspended, 2);
    // The acceptance decision came on time: received 02-06, due within 5 working days.
    let acceptance = clock(&clocks, "acceptance");
    assert!(matches!(
        acceptance.status,
        ClockStatus::Stopped { on_time: true, .. }
    ));
    assert_eq!(acceptance.deadline.last_day.to_string(), "2024-02-19");
}

#[test]
fn a_late_acceptance_counts_from_receipt() {
    // Received 2024-02-07; 5 working days end 2024-02-20 (02-08, 02-09, 02-18, 02-19, 02-20).
    // Accepted 2024-02-22: late, so the case counts as accepted on receipt (ALL Art. 32).
    let clocks = clocks_of(
        MatterKind::Promised,
        10,
        20,
        &[
            ("application", "2024-02-07 09:00"),
            ("acceptance", "2024-02-22 10:00"),
        ],
    );
    let acceptance = clock(&clocks, "acceptance");
    assert_eq!(acceptance.deadline.last_day.to_string(), "2024-02-20");
    assert!(matches!(
        acceptance.status,
        ClockStatus::Stopped { on_time: false, .. }
    ));
    let promised = clock(&clocks, "promised");
    assert_eq!(promised.started_at, at("2024-02-07 09:00"));
    assert!(
        promised
            .deadline
            .explanation
            .starts_with("deemed accepted on receipt 2024-02-07, 10 working days")
    );
}

#[test]
fn national_day_2025_certificate_clock() {
    // Approved 2025-09-29; 10 working days: 09-30 (1), 10-09 (2), 10-10 (3), 10-11 adjusted
    // (4), 10-13..10-17 (5-9), 10-20 (10).
    let clocks = clocks_of(
        MatterKind::Promised,
        10,
        20,
        &[
            ("application", "2025-09-22 09:00"),
            ("acceptance", "2025-09-23 10:00"),
            ("decision", "2025-09-29 15:00"),
        ],
    );
    let certificate = clock(&clocks, "certificate");
    assert_eq!(certificate.deadline.last_day.to_string(), "2025-10-20");
    assert_eq!(certificate.status, ClockStatus::Running);
    // The decision stopped both decision clocks on time.
    for key in ["promised", "statutory"] {
        assert!(matches!(
            clock(&clocks, key).status,
            ClockStatus::Stopped { on_time: true, .. }
        ));
    }
}

#[test]
fn an_open_suspension_pauses_the_decision_clocks_and_schedules_nothing() {
    let clocks = clocks_of(
        MatterKind::Promised,
        10,
        20,
        &[
            ("application", "2024-03-04 09:00"),
            ("acceptance", "2024-03-04 10:00"),
            ("suspension_started", "2024-03-06 10:00"),
        ],
    );
    assert_eq!(clock(&clocks, "promised").status, ClockStatus::Paused);
    assert_eq!(clock(&clocks, "statutory").status, ClockStatus::Paused);
    let due = due_instants(&clocks, &Calendar::china());
    assert!(due.iter().all(|d| !d.clock.contains("promised")), "{due:?}");
}

#[test]
fn an_extension_moves_both_decision_clocks() {
    let base = &[
        ("application", "2024-03-04 09:00"),
        ("acceptance", "2024-03-04 10:00"),
    ];
    let before = clocks_of(MatterKind::Promised, 10, 20, base);
    let mut extended_story = base.to_vec();
    extended_story.push(("extension", "2024-03-08 10:00"));
    let after = clocks_of(MatterKind::Promised, 10, 20, &extended_story);
    for key in ["promised", "statutory"] {
        let (b, a) = (clock(&before, key), clock(&after, key));
        assert_eq!(a.extension, 10);
        assert_eq!(
            Calendar::china().working_days_between(b.deadline.last_day, a.deadline.last_day),
            10
        );
    }
}

#[test]
fn an_immediate_item_is_due_the_same_working_day() {
    // Accepted on Saturday 2024-03-09: due at the end of the next working day, Monday 03-11.
    let clocks = clocks_of(
        MatterKind::Immediate,
        0,
        0,
        &[
            ("application", "2024-03-09 09:00"),
            ("acceptance", "2024-03-09 09:05"),
        ],
    );
    let immediate = clock(&clocks, "immediate");
    assert_eq!(immediate.kind, ClockKind::Immediate);
    assert_eq!(immediate.deadline.due_at, at("2024-03-12 00:00"));
    assert!(clocks.iter().all(|c| c.kind != ClockKind::Promised));
}

#[test]
fn step_limits_clock_each_step() {
    let clocks = clocks_of(
        MatterKind::Promised,
        10,
        20,
        &[
            ("application", "2024-03-04 09:00"),
            ("acceptance", "2024-03-04 10:00"),
            ("step_started", "2024-03-05 10:00"),
        ],
    );
    // "review" has a 3-working-day limit in the test matter: 03-06, 03-07, 03-08.
    let review = clock(&clocks, "step:review");
    assert_eq!(review.deadline.last_day.to_string(), "2024-03-08");
}

#[test]
fn due_instants_remind_two_working_days_before_the_promised_deadline() {
    // Accepted Monday 2024-03-04, 10 working days: last day Monday 03-18. Two working days
    // remain from the start of Thursday 03-14 (03-15 and 03-18 are left). The acceptance
    // clock stopped at acceptance, so it needs no wake-up.
    let clocks = clocks_of(
        MatterKind::Promised,
        10,
        20,
        &[
            ("application", "2024-03-04 09:00"),
            ("acceptance", "2024-03-04 10:00"),
        ],
    );
    let due = due_instants(&clocks, &Calendar::china());
    let names: Vec<_> = due.iter().map(|d| d.clock.as_str()).collect();
    assert_eq!(names, ["approaching:promised", "promised", "statutory"]);
    let approaching = due
        .iter()
        .find(|d| d.clock == "approaching:promised")
        .unwrap();
    assert_eq!(approaching.due_at, at("2024-03-14 00:00"));
    let promised = due.iter().find(|d| d.clock == "promised").unwrap();
    assert_eq!(promised.due_at, at("2024-03-19 00:00"));
}

#[test]
fn without_an_acceptance_decision_the_case_counts_as_accepted_on_receipt() {
    // Received Monday 2024-03-04, never decided: the acceptance deadline is 03-11 24:00; from
    // then on the decision clocks run from receipt (ALL Art. 32): promised 10 working days ->
    // 03-18, statutory 20 -> 04-01.
    let clocks = clocks_of(
        MatterKind::Promised,
        10,
        20,
        &[("application", "2024-03-04 09:00")],
    );
    let promised = clock(&clocks, "promised");
    assert_eq!(promised.deadline.last_day.to_string(), "2024-03-18");
    assert_eq!(promised.not_before, Some(at("2024-03-12 00:00")));
    assert!(promised.deadline.explanation.starts_with(
        "received (counts as accepted without an acceptance decision) 2024-03-04, 10 working days"
    ));
    let due = due_instants(&clocks, &Calendar::china());
    let got: Vec<_> = due.iter().map(|d| (d.clock.as_str(), d.due_at)).collect();
    assert_eq!(
        got,
        [
            ("acceptance", at("2024-03-12 00:00")),
            ("approaching:promised", at("2024-03-14 00:00")),
            ("promised", at("2024-03-19 00:00")),
            ("statutory", at("2024-04-02 00:00")),
        ]
    );
}

#[test]
fn a_deemed_decision_clock_is_not_judged_before_the_acceptance_deadline() {
    // Promised 3 working days from receipt would end 03-07, before the acceptance deadline
    // (03-11 24:00): the department may still decide on acceptance until then, so the
    // promised limit is judged at the acceptance deadline, and no reminder comes first.
    let clocks = clocks_of(
        MatterKind::Promised,
        3,
        20,
        &[("application", "2024-03-04 09:00")],
    );
    let promised = clock(&clocks, "promised");
    assert_eq!(promised.deadline.due_at, at("2024-03-08 00:00"));
    assert!(!promised.is_overdue(at("2024-03-11 23:59")));
    assert!(promised.is_overdue(at("2024-03-12 00:00")));
    let due = due_instants(&clocks, &Calendar::china());
    let got: Vec<_> = due.iter().map(|d| (d.clock.as_str(), d.due_at)).collect();
    assert_eq!(
        got,
        [
            ("acceptance", at("2024-03-12 00:00")),
            ("promised", at("2024-03-12 00:00")),
            ("statutory", at("2024-04-02 00:00")),
        ]
    );
}

#[test]
fn a_pending_correction_runs_no_decision_clock() {
    // The applicant's turn: only the (stopped) acceptance clock exists.
    let clocks = clocks_of(
        MatterKind::Promised,
        10,
        20,
        &[
            ("application", "2024-03-04 09:00"),
            ("correction_notice", "2024-03-05 09:00"),
        ],
    );
    assert_eq!(clocks.len(), 1);
    assert!(matches!(
        clocks[0].status,
        ClockStatus::Stopped { on_time: true, .. }
    ));
}

#[test]
fn an_open_step_ends_with_the_case() {
    // The review step (3 working days) is still open when the applicant withdraws on 03-06:
    // the step clock stops there (on time) and wakes nobody.
    let clocks = clocks_of(
        MatterKind::Promised,
        10,
        20,
        &[
            ("application", "2024-03-04 09:00"),
            ("acceptance", "2024-03-04 10:00"),
            ("step_started", "2024-03-05 10:00"),
            ("withdrawal", "2024-03-06 10:00"),
        ],
    );
    let review = clock(&clocks, "step:review");
    assert_eq!(
        review.status,
        ClockStatus::Stopped {
            at: at("2024-03-06 10:00"),
            on_time: true
        }
    );
    assert!(due_instants(&clocks, &Calendar::china()).is_empty());
}

// ---- Issue 10: events change a limit only while it runs, in time order (docs/design.md §2) --------

use egov_domain::limit::Limit;
use egov_domain::matter::Matter;
use egov_domain::record::{Outcome, RecordBody, SuspensionKind};
use support::{at as local, plain, records};

fn replay(m: &Matter, steps: Vec<(&str, RecordBody)>) -> Vec<DeadlineClock> {
    let records = records(steps);
    let case = Case::replay(&records.iter().collect::<Vec<_>>(), m).expect("story replays");
    clocks(&case, m, &Calendar::china())
}

fn expert_review(planned_end: &str) -> RecordBody {
    RecordBody::SuspensionStarted {
        kind: Some(SuspensionKind::ExpertReview),
        reason: "expert review".into(),
        planned_end: local(planned_end),
        approver: "head".into(),
    }
}

fn extension(working_days: u32) -> RecordBody {
    RecordBody::Extension {
        working_days,
        approver: "head".into(),
        reason: "site visit".into(),
    }
}

fn approval() -> RecordBody {
    RecordBody::Decision {
        outcome: Outcome::Approved,
        reason: String::new(),
        handler: "zhao".into(),
    }
}

fn stopped(c: &DeadlineClock) -> Option<bool> {
    match c.status {
        ClockStatus::Stopped { on_time, .. } => Some(on_time),
        _ => None,
    }
}

/// Item 1: a suspension that starts on the limit's last day still counts: at 11:00 of
/// 2024-03-06 the promised limit (2 working days from 03-04) has 13 hours left.
#[test]
fn issue10_item1_a_suspension_starting_on_the_last_day_counts() {
    let m = matter(MatterKind::Promised, 2, 20);
    let clocks = replay(
        &m,
        vec![
            ("2024-03-04 10:00", plain("application")),
            ("2024-03-04 10:00", plain("acceptance")),
            ("2024-03-06 11:00", expert_review("2024-03-08 17:00")),
            ("2024-03-08 16:00", plain("suspension_ended")),
            ("2024-03-08 17:00", approval()),
        ],
    );
    let promised = clock(&clocks, "promised");
    assert_eq!(promised.deadline.last_day.to_string(), "2024-03-08");
    assert_eq!(promised.deadline.due_at, at("2024-03-09 00:00"));
    assert_eq!(promised.deadline.suspended, 2);
    assert_eq!(stopped(&promised), Some(true), "{promised:#?}");
    assert_eq!(
        promised.deadline.explanation,
        "accepted 2024-03-04, 2 working days; 2 working days suspended -> due 2024-03-08 24:00"
    );
    // The statutory clock (20 working days: 04-01, plus 2) was right before and stays so.
    let statutory = clock(&clocks, "statutory");
    assert_eq!(statutory.deadline.last_day.to_string(), "2024-04-03");
    assert_eq!(stopped(&statutory), Some(true));
}

/// While that suspension is open, the promised clock is paused (it counted), not overdue.
#[test]
fn issue10_item1_the_clock_is_paused_by_a_suspension_on_its_last_day() {
    let m = matter(MatterKind::Promised, 2, 20);
    let clocks = replay(
        &m,
        vec![
            ("2024-03-04 10:00", plain("application")),
            ("2024-03-04 10:00", plain("acceptance")),
            ("2024-03-06 11:00", expert_review("2024-03-08 17:00")),
        ],
    );
    let promised = clock(&clocks, "promised");
    assert_eq!(promised.status, ClockStatus::Paused);
    assert_eq!(promised.deadline.last_day.to_string(), "2024-03-08");
}

/// Item 2: an extension approved after the promised limit passed does not revive it; the
/// statutory limit, still running, is extended.
#[test]
fn issue10_item2_an_extension_after_the_limit_passed_does_not_revive_it() {
    let m = matter(MatterKind::Promised, 2, 20);
    let clocks = replay(
        &m,
        vec![
            ("2024-03-04 10:00", plain("application")),
            ("2024-03-04 10:00", plain("acceptance")),
            ("2024-03-11 15:00", extension(10)),
            ("2024-03-12 10:00", approval()),
        ],
    );
    let promised = clock(&clocks, "promised");
    assert_eq!(promised.deadline.last_day.to_string(), "2024-03-06");
    assert_eq!(promised.extension, 0);
    assert_eq!(stopped(&promised), Some(false), "the decision is late");
    assert_eq!(
        promised.deadline.explanation,
        "accepted 2024-03-04, 2 working days; extension of 2024-03-11 came after the promised \
         limit passed on 2024-03-06 24:00: not applied -> due 2024-03-06 24:00"
    );
    assert_eq!(promised.passed_events.len(), 1);
    assert!(promised.passed_events[0].extension);
    let statutory = clock(&clocks, "statutory");
    assert_eq!(statutory.extension, 10);
    // 04-01 + 10: 04-02, 03, (Qingming 04-04..06 off), the adjusted Sunday 04-07, 08..12, 15, 16.
    assert_eq!(statutory.deadline.last_day.to_string(), "2024-04-16");
    assert!(statutory.passed_events.is_empty());
}

/// Item 3: a suspension after the due does not count, and a later extension cannot make it
/// count: each event is judged against the due as the events before it left it.
#[test]
fn issue10_item3_events_apply_in_time_order() {
    let m = matter(MatterKind::Promised, 2, 20);
    let clocks = replay(
        &m,
        vec![
            ("2024-03-04 10:00", plain("application")),
            ("2024-03-04 10:00", plain("acceptance")),
            ("2024-03-08 10:00", expert_review("2024-03-15 17:00")),
            ("2024-03-15 16:00", plain("suspension_ended")),
            ("2024-03-18 10:00", extension(10)),
            ("2024-03-19 10:00", approval()),
        ],
    );
    let promised = clock(&clocks, "promised");
    assert_eq!(promised.deadline.last_day.to_string(), "2024-03-06");
    assert_eq!(promised.deadline.suspended, 0);
    assert_eq!(promised.extension, 0);
    assert_eq!(stopped(&promised), Some(false));
    assert_eq!(
        promised.deadline.explanation,
        "accepted 2024-03-04, 2 working days; suspension of 2024-03-08 came after the promised \
         limit passed on 2024-03-06 24:00: not counted; extension of 2024-03-18 came after the \
         promised limit passed on 2024-03-06 24:00: not applied -> due 2024-03-06 24:00"
    );
    // The statutory limit counts both, in order: 04-01 + 5 suspended (03-11..15) + 10 = 15
    // working days after 04-01 (Qingming 04-04..06 off, the adjusted Sunday 04-07 worked).
    let statutory = clock(&clocks, "statutory");
    assert_eq!(statutory.deadline.suspended, 5);
    assert_eq!(statutory.extension, 10);
    assert_eq!(statutory.deadline.last_day.to_string(), "2024-04-23");
}

/// Item 3, the other way round: an extension in time moves the due, and a suspension that
/// then starts before the moved due counts.
#[test]
fn issue10_item3_an_extension_in_time_lets_a_later_suspension_count() {
    let m = matter(MatterKind::Promised, 2, 20);
    let clocks = replay(
        &m,
        vec![
            ("2024-03-04 10:00", plain("application")),
            ("2024-03-04 10:00", plain("acceptance")),
            ("2024-03-05 10:00", extension(10)),
            ("2024-03-08 10:00", expert_review("2024-03-15 17:00")),
            ("2024-03-15 16:00", plain("suspension_ended")),
        ],
    );
    let promised = clock(&clocks, "promised");
    // 12 working days from 03-04: 03-20; plus 03-11..15 suspended: 03-27.
    assert_eq!(promised.extension, 10);
    assert_eq!(promised.deadline.suspended, 5);
    assert_eq!(promised.deadline.last_day.to_string(), "2024-03-27");
}

/// Item 4: a calendar-day limit whose last day is a rest day ends on the first working day
/// after the rest (Civil Code Art. 203): 5 calendar days from 2024-02-05 end on 02-10, inside
/// Spring Festival, so the adjusted working Sunday 02-18.
#[test]
fn issue10_item4_a_calendar_day_limit_ending_on_a_rest_day_moves_on() {
    let mut m = matter(MatterKind::Promised, 2, 20);
    m.promised_limit = Limit::calendar_days(5);
    let clocks = replay(
        &m,
        vec![
            ("2024-02-05 10:00", plain("application")),
            ("2024-02-05 10:00", plain("acceptance")),
        ],
    );
    let promised = clock(&clocks, "promised");
    assert_eq!(promised.deadline.last_day.to_string(), "2024-02-18");
    assert_eq!(
        promised.deadline.explanation,
        "accepted 2024-02-05, 5 calendar days; the last day 2024-02-10 is a rest day: moved to \
         2024-02-18 (Civil Code Art. 203) -> due 2024-02-18 24:00"
    );
    // A plain weekend: 3 calendar days from Wednesday 2024-03-06 end on Saturday, so Monday.
    m.promised_limit = Limit::calendar_days(3);
    let clocks = replay(
        &m,
        vec![
            ("2024-03-06 10:00", plain("application")),
            ("2024-03-06 10:00", plain("acceptance")),
        ],
    );
    assert_eq!(
        clock(&clocks, "promised").deadline.last_day.to_string(),
        "2024-03-11"
    );
}

/// A stored clock view tells the offset of the calendar it was computed on (its due instant is
/// 24:00 local of its last day), so that a warning raised from the view alone reads in local
/// time; at the end of time, where no offset fits, mainland China's.
#[test]
fn a_clock_view_knows_its_calendars_offset() {
    use egov_domain::clock::ClockView;
    use egov_domain::local::china_offset;
    let clocks = clocks_of(
        MatterKind::Promised,
        10,
        20,
        &[
            ("application", "2024-03-04 09:00"),
            ("acceptance", "2024-03-04 10:00"),
        ],
    );
    for c in &clocks {
        let view = ClockView::from(c);
        assert_eq!(view.utc_offset(), china_offset(), "{}", view.key);
    }
    let mut end = ClockView::from(&clocks[0]);
    end.last_day = chrono::NaiveDate::MAX;
    end.due_at = chrono::DateTime::<chrono::Utc>::MAX_UTC;
    assert_eq!(end.utc_offset(), china_offset());
}
