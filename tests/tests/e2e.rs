//! End to end, as a supervisor sees it: the approval and the supervision platform over real
//! gRPC on 127.0.0.1:0, sharing one fresh database and one manual clock, each story run on
//! PostgreSQL and on SQLite. The supervisor's warning stream is open before the story begins;
//! warnings are read from it as the clock reaches them (a timeout, never a sleep), silence is
//! proved once the workers have caught up with the clock and the log, and at the end the
//! warning list holds exactly what was read.
//!
//! Times are local (Asia/Shanghai). The matter (M-FOOD, market department) promises 10 and the
//! law allows 20 working days (ALL Art. 42); acceptance is due within 5 (Art. 32); a certificate
//! within 10 of an approval (Art. 44). The start day is not counted (Civil Code Art. 201): a limit
//! of N working days from day A ends at 24:00 of the N-th working day after A. March 2024 has no
//! holidays; 2024-04-04..06 are Tomb-sweeping days off and Sunday 04-07 is worked; 2025-10-01..08
//! are National Day (and Mid-autumn) days off and Saturday 10-11 is worked. Each expected instant
//! is worked out by hand in the comments and checked against `egov_domain`.

use chrono::{Duration, NaiveDate};
use egov_approval::ingest::LATE_GRACE;
use egov_approval::testing::fixtures::*;
use egov_domain::calendar::Calendar;
use egov_proto::approval::v1 as apb;
use egov_proto::approval::v1::DeadlineClockKind;
use egov_proto::supervision::v1 as pb;
use egov_store::Backend;
use egov_tests::*;

fn day(s: &str) -> NaiveDate {
    s.parse().expect("a date")
}

fn opened(case: &str, received: &str, accepted: &str) -> Vec<apb::Record> {
    vec![
        rec(case, 1, received, application(MATTER, DEPARTMENT, REGION)),
        rec(case, 2, accepted, acceptance()),
    ]
}

/// Decision (approved), completion and certificate, numbered from `n`, all at `at`.
fn done(case: &str, n: u32, at: &str) -> Vec<apb::Record> {
    vec![
        rec(case, n, at, decision(true)),
        rec(case, n + 1, at, completion()),
        rec(case, n + 2, at, certificate()),
    ]
}

/// 1. Received, accepted, handled, approved, completed and the certificate served, each before
///    its deadline: however far the clock then runs, no warning at all.
async fn a_case_handled_on_time_raises_nothing(backend: Backend) {
    let mut w = Platforms::start(backend, "2024-03-04 09:00").await;
    let c = "ZJ-0001";
    // Mon 03-04 09:00 received, 10:00 accepted.
    //   acceptance: 5 working days after 03-04 = 03-05..03-08, 03-11 -> 03-11 24:00 (stopped)
    //   promised: 10 working days -> 03-18 24:00; its reminder at the start of the 2nd
    //     working day before 03-18, Thu 03-14 (Fri 03-15 is the 1st)
    //   statutory: 20 working days -> 04-01 24:00
    let mut records = opened(c, "2024-03-04 09:00", "2024-03-04 10:00");
    w.push_at("2024-03-04 10:00", records.clone()).await;
    assert_eq!(
        expected_due(&records),
        due_list(&[
            ("approaching:promised", "2024-03-14 00:00"),
            ("promised", "2024-03-19 00:00"),
            ("statutory", "2024-04-02 00:00"),
        ])
    );
    assert_eq!(w.stored_due(c).await, expected_due(&records));

    let steps = [
        rec(c, 3, "2024-03-05 09:00", step_started("undertake")),
        rec(c, 4, "2024-03-07 16:00", step_completed("undertake")),
    ];
    w.push_at("2024-03-05 09:00", vec![steps[0].clone()]).await;
    w.push_at("2024-03-07 16:00", vec![steps[1].clone()]).await;
    // Fri 03-08 approved and completed: the decision clocks stop; the certificate clock runs,
    // 10 working days after 03-08 = 03-11..03-15, 03-18..03-22 -> 03-22 24:00.
    let decided = [
        rec(c, 5, "2024-03-08 11:00", decision(true)),
        rec(c, 6, "2024-03-08 11:30", completion()),
    ];
    w.push_at("2024-03-08 11:30", decided.to_vec()).await;
    records.extend(steps.into_iter().chain(decided));
    assert_eq!(
        expected_due(&records),
        due_list(&[("certificate", "2024-03-23 00:00")])
    );
    assert_eq!(w.stored_due(c).await, expected_due(&records));
    // Mon 03-11 the certificate is served and the applicant rates the service.
    w.push_at(
        "2024-03-11 09:05",
        vec![
            rec(c, 7, "2024-03-11 09:00", certificate()),
            rec(c, 8, "2024-03-11 09:05", rating(1)),
        ],
    )
    .await;
    assert_eq!(w.stored_due(c).await, [], "nothing left to watch");

    w.quiet_at("2024-03-19 00:00").await;
    w.quiet_at("2024-04-02 00:00").await;
    w.the_end().await;
    assert_eq!(w.seen(), []);
}

/// 2. Accepted Wed 2024-03-20, promised in 10 working days: the reminder comes at the start of
///    the 2nd working day before the last day, not a minute earlier; the case is then done on
///    its last day and nothing more comes.
async fn the_reminder_comes_at_the_start_of_the_second_working_day_before_the_last(
    backend: Backend,
) {
    let mut w = Platforms::start(backend, "2024-03-20 09:00").await;
    let c = "ZJ-0002";
    // 10 working days after Wed 03-20: 03-21, 03-22, 03-25..03-29, 04-01, 04-02, 04-03 ->
    // the last day is Wed 04-03, due 04-03 24:00. Working days left after Fri 03-29: 3
    // (04-01..04-03); after Mon 04-01 begins: 2 -> the reminder at Mon 04-01 00:00.
    let records = opened(c, "2024-03-20 09:00", "2024-03-20 14:00");
    w.push_at("2024-03-20 14:00", records.clone()).await;
    let cal = Calendar::china();
    let last_day = cal.add_working_days(day("2024-03-20"), 10);
    assert_eq!(last_day, day("2024-04-03"));
    assert_eq!(cal.working_days_between(day("2024-03-31"), last_day), 3);
    assert_eq!(cal.working_days_between(day("2024-04-01"), last_day), 2);
    assert_eq!(
        expected_due_of(&records, "approaching:promised"),
        local("2024-04-01 00:00")
    );
    assert_eq!(
        expected_due_of(&records, "promised"),
        cal.end_of_day(last_day)
    );

    w.quiet_at("2024-03-29 18:00").await;
    let reminder = w.arrives_at("2024-04-01 00:00").await;
    assert_eq!(
        line(&reminder),
        "ZJ-0002 approaching_deadline reminder, due 2024-04-03 24:00, raised 2024-04-01 00:00"
    );
    assert_eq!(reminder.state(), pb::WarningState::Raised);
    assert_eq!(reminder.clock_kind(), DeadlineClockKind::Promised);
    assert_eq!(
        reminder.message,
        "the promised limit is near: accepted 2024-03-20, 10 working days -> due 2024-04-03 24:00"
    );
    assert_eq!(
        (
            reminder.department.as_str(),
            reminder.region.as_str(),
            reminder.matter_code.as_str()
        ),
        (DEPARTMENT, REGION, MATTER)
    );

    // Approved, completed and served on the last day, 15:00-16:00: no card.
    w.push_at("2024-04-03 16:00", done(c, 3, "2024-04-03 15:00"))
        .await;
    w.quiet_at("2024-04-04 00:00").await;
    w.the_end().await;
    assert_eq!(w.seen(), [reminder]);
}

/// 3. Accepted Mon 2024-03-04 and still undecided when the promised limit runs out at 24:00 of
///    its last day, Mon 03-18: a yellow card at that instant, explaining the count.
async fn undecided_at_the_promised_deadline_is_a_yellow_card(backend: Backend) {
    let mut w = Platforms::start(backend, "2024-03-04 09:00").await;
    let c = "ZJ-0003";
    // 10 working days after 03-04: 03-05..03-08, 03-11..03-15, 03-18 -> due 03-18 24:00.
    let records = opened(c, "2024-03-04 09:00", "2024-03-04 10:00");
    w.push_at("2024-03-04 10:00", records.clone()).await;
    w.push_at(
        "2024-03-06 09:00",
        vec![rec(c, 3, "2024-03-06 09:00", step_started("review"))],
    )
    .await;
    assert_eq!(
        expected_due_of(&records, "promised"),
        Calendar::china().end_of_day(day("2024-03-18"))
    );

    let reminder = w.arrives_at("2024-03-14 00:00").await;
    assert_eq!(
        line(&reminder),
        "ZJ-0003 approaching_deadline reminder, due 2024-03-18 24:00, raised 2024-03-14 00:00"
    );
    let yellow = w.arrives_at("2024-03-19 00:00").await;
    assert_eq!(
        line(&yellow),
        "ZJ-0003 promised_limit_passed yellow_card, due 2024-03-18 24:00, raised 2024-03-19 00:00"
    );
    assert_eq!(yellow.clock_kind(), DeadlineClockKind::Promised);
    assert_eq!(
        yellow.clock_explanation,
        "accepted 2024-03-04, 10 working days -> due 2024-03-18 24:00"
    );
    assert_eq!(
        yellow.message,
        "the promised limit passed: accepted 2024-03-04, 10 working days -> due 2024-03-18 24:00"
    );

    // Decided late, Wed 03-20: the clock stops late, which is the same yellow card (one per
    // case, rule and level), not a second one.
    w.push_at("2024-03-20 11:00", done(c, 4, "2024-03-20 10:00"))
        .await;
    w.quiet().await;
    w.the_end().await;
    assert_eq!(lines(w.seen()).len(), 2);
}

/// 4. Accepted Mon 2024-03-25 and still open at the statutory deadline, counted across the
///    Tomb-sweeping days off: a red card at 24:00 of the 20th working day.
async fn still_open_at_the_statutory_deadline_is_a_red_card(backend: Backend) {
    let mut w = Platforms::start(backend, "2024-03-25 09:00").await;
    let c = "ZJ-0004";
    // Working days after Mon 03-25: 03-26..03-29 (4), 04-01..04-03 (7), [04-04..04-06 off],
    // Sun 04-07 worked (8), 04-08 (9), 04-09 (10: promised last day), 04-10..04-12 (13),
    // 04-15..04-19 (18), 04-22 (19), 04-23 (20: statutory last day).
    // Reminder: the 2nd working day before 04-09 is Sun 04-07 (04-08 is the 1st).
    let records = opened(c, "2024-03-25 09:00", "2024-03-25 10:00");
    w.push_at("2024-03-25 10:00", records.clone()).await;
    assert_eq!(
        expected_due(&records),
        due_list(&[
            ("approaching:promised", "2024-04-07 00:00"),
            ("promised", "2024-04-10 00:00"),
            ("statutory", "2024-04-24 00:00"),
        ])
    );
    let cal = Calendar::china();
    assert_eq!(
        cal.add_working_days(day("2024-03-25"), 20),
        day("2024-04-23")
    );

    let reminder = w.arrives_at("2024-04-07 00:00").await;
    assert_eq!(reminder.rule(), pb::WarningRule::ApproachingDeadline);
    let yellow = w.arrives_at("2024-04-10 00:00").await;
    assert_eq!(yellow.rule(), pb::WarningRule::PromisedLimitPassed);
    let red = w.arrives_at("2024-04-24 00:00").await;
    assert_eq!(
        line(&red),
        "ZJ-0004 statutory_limit_passed red_card, due 2024-04-23 24:00, raised 2024-04-24 00:00"
    );
    assert_eq!(red.clock_kind(), DeadlineClockKind::Statutory);
    assert_eq!(
        red.clock_explanation,
        "accepted 2024-03-25, 20 working days; Tomb-sweeping Day days off 04-04..04-06 \
         skipped, the adjusted working day 04-07 counted -> due 2024-04-23 24:00"
    );
    assert_eq!(
        red.message,
        format!("the statutory limit passed: {}", red.clock_explanation)
    );

    // Denied (with reasons) and completed on Thu 04-25: nothing more.
    w.push_at(
        "2024-04-25 10:00",
        vec![
            rec(c, 3, "2024-04-25 09:00", decision(false)),
            rec(c, 4, "2024-04-25 10:00", completion()),
        ],
    )
    .await;
    w.the_end().await;
    assert_eq!(w.seen().len(), 3);
}

/// 5. Received Wed 2024-03-20 and no acceptance decision within 5 working days: a yellow card
///    for acceptance overdue. Accepted late, the case counts as accepted on the day of
///    receipt (ALL Art. 32), so its promised clock runs from 03-20, not from the acceptance.
async fn no_acceptance_decision_in_five_working_days_is_a_yellow_card(backend: Backend) {
    let mut w = Platforms::start(backend, "2024-03-20 15:00").await;
    let c = "ZJ-0005";
    // 5 working days after 03-20: 03-21, 03-22, 03-25, 03-26, 03-27 -> due 03-27 24:00.
    let received = vec![rec(
        c,
        1,
        "2024-03-20 15:00",
        application(MATTER, DEPARTMENT, REGION),
    )];
    w.push(received.clone()).await;
    // Without an acceptance decision the case will count as accepted on receipt, so its
    // decision clocks already run from 03-20, judged no earlier than the acceptance deadline:
    // promised 10 working days -> 04-03 (04-04 is Tomb-sweeping Day), statutory 20 -> 04-18.
    assert_eq!(
        expected_due(&received),
        due_list(&[
            ("acceptance", "2024-03-28 00:00"),
            ("approaching:promised", "2024-04-01 00:00"),
            ("promised", "2024-04-04 00:00"),
            ("statutory", "2024-04-19 00:00"),
        ])
    );

    let overdue = w.arrives_at("2024-03-28 00:00").await;
    assert_eq!(
        line(&overdue),
        "ZJ-0005 acceptance_overdue yellow_card, due 2024-03-27 24:00, raised 2024-03-28 00:00"
    );
    assert_eq!(overdue.clock_kind(), DeadlineClockKind::Acceptance);
    assert_eq!(
        overdue.clock_explanation,
        "received 2024-03-20, 5 working days -> due 2024-03-27 24:00"
    );

    // Accepted Fri 03-29, two days late: deemed accepted on 03-20, so the promised limit ends
    // on 04-03 (as in story 2) and its reminder comes at Mon 04-01 00:00. The acceptance clock
    // stopped late: the same acceptance-overdue card, not a second one.
    let late = rec(c, 2, "2024-03-29 10:00", acceptance());
    w.push_at("2024-03-29 10:00", vec![late.clone()]).await;
    let records = [received, vec![late]].concat();
    assert_eq!(
        expected_due(&records)[..2],
        due_list(&[
            ("approaching:promised", "2024-04-01 00:00"),
            ("promised", "2024-04-04 00:00"),
        ])
    );
    w.quiet().await;
    let reminder = w.arrives_at("2024-04-01 00:00").await;
    assert_eq!(
        line(&reminder),
        "ZJ-0005 approaching_deadline reminder, due 2024-04-03 24:00, raised 2024-04-01 00:00"
    );
    assert_eq!(
        reminder.clock_explanation,
        "deemed accepted on receipt 2024-03-20, 10 working days -> due 2024-04-03 24:00"
    );

    w.push_at("2024-04-02 11:00", done(c, 3, "2024-04-02 10:00"))
        .await;
    w.the_end().await;
    assert_eq!(w.seen(), [overdue, reminder]);
}

/// 6. A suspension (laboratory tests) from Fri 2024-03-08 to Tue 03-12 suspends the working
///    days 03-11 and 03-12 (the weekend is not a working day anyway): the yellow card comes
///    exactly 2 working days later than it would have without it.
async fn a_suspension_moves_the_yellow_card_by_its_working_days(backend: Backend) {
    let mut w = Platforms::start(backend, "2024-03-04 09:00").await;
    let c = "ZJ-0006";
    let accepted = opened(c, "2024-03-04 09:00", "2024-03-04 10:00");
    w.push_at("2024-03-04 10:00", accepted.clone()).await;
    // Without the suspension: due 03-18 24:00 (story 3).
    let without = expected_due_of(&accepted, "promised");
    assert_eq!(without, local("2024-03-19 00:00"));

    let suspension = [
        rec(c, 3, "2024-03-08 10:00", suspension("2024-03-12 17:00")),
        rec(c, 4, "2024-03-12 16:00", suspension_ended()),
    ];
    w.push_at("2024-03-08 10:00", vec![suspension[0].clone()])
        .await;
    // Paused clocks are not watched; the suspension's planned end is (suspension abuse).
    assert_eq!(
        w.stored_due(c).await,
        due_list(&[("suspension:planned_end", "2024-03-12 17:00")]),
        "paused clocks are not watched"
    );
    w.push_at("2024-03-12 16:00", vec![suspension[1].clone()])
        .await;
    // Suspended: the days d with 03-08 < d <= 03-12, of which 03-11 and 03-12 are working
    // days: N = 2. Counting 10 without them: 03-05..03-08 (4), 03-13..03-15 (7),
    // 03-18..03-20 (10) -> due 03-20 24:00; reminder at the start of 03-18 (03-19 is the 1st
    // working day before 03-20); statutory 04-01 + 2 working days -> 04-03 24:00.
    const N: u32 = 2;
    let records = [accepted, suspension.to_vec()].concat();
    assert_eq!(
        expected_due(&records),
        due_list(&[
            ("approaching:promised", "2024-03-18 00:00"),
            ("promised", "2024-03-21 00:00"),
            ("statutory", "2024-04-04 00:00"),
        ])
    );
    assert_eq!(w.stored_due(c).await, expected_due(&records));
    let cal = Calendar::china();
    let with = cal.end_of_day(cal.add_working_days(day("2024-03-18"), N));
    assert_eq!(with, local("2024-03-21 00:00"));

    let reminder = w.arrives_at("2024-03-18 00:00").await;
    assert_eq!(reminder.rule(), pb::WarningRule::ApproachingDeadline);
    w.clock.set(without);
    w.quiet().await;
    let yellow = w.arrives_at("2024-03-21 00:00").await;
    assert_eq!(raised_at(&yellow), with);
    assert_eq!(
        line(&yellow),
        "ZJ-0006 promised_limit_passed yellow_card, due 2024-03-20 24:00, raised 2024-03-21 00:00"
    );
    assert_eq!(
        yellow.clock_explanation,
        "accepted 2024-03-04, 10 working days; 2 working days suspended -> due 2024-03-20 24:00"
    );

    w.push_at("2024-03-22 10:00", done(c, 5, "2024-03-22 10:00"))
        .await;
    w.the_end().await;
    assert_eq!(w.seen(), [reminder, yellow]);
}

/// 7. A service centre re-syncs and sends the whole batch again, twice: each record answers
///    DUPLICATE with its original sequence number, state and receipt time, and the warnings
///    come as if nothing had been resent.
async fn a_resent_batch_is_a_duplicate_and_raises_nothing_new(backend: Backend) {
    let mut w = Platforms::start(backend, "2024-03-04 09:00").await;
    let c = "ZJ-0007";
    let batch = vec![
        rec(
            c,
            1,
            "2024-03-04 09:00",
            application(MATTER, DEPARTMENT, REGION),
        ),
        rec(c, 2, "2024-03-04 10:00", acceptance()),
        rec(c, 3, "2024-03-05 09:00", step_started("undertake")),
    ];
    let first = w.push_at("2024-03-05 09:00", batch.clone()).await;
    let due = w.stored_due(c).await;

    let same_answers = |again: &[apb::RecordResult]| {
        assert_eq!(again.len(), first.len());
        for (a, b) in first.iter().zip(again) {
            assert_eq!(b.status(), apb::RecordStatus::Duplicate, "{b:?}");
            assert_eq!(
                (&a.event_id, a.sequence, a.case_state, &a.received_at),
                (&b.event_id, b.sequence, b.case_state, &b.received_at)
            );
        }
    };
    // Wed 03-13, before the reminder; then Mon 03-18 23:00, an hour before the yellow card.
    w.at("2024-03-13 12:00");
    let again = w.submit(batch.clone()).await;
    same_answers(&again);
    assert_eq!(w.stored_due(c).await, due, "the deadlines did not move");
    w.quiet().await;
    let reminder = w.arrives_at("2024-03-14 00:00").await;
    w.at("2024-03-18 23:00");
    let again = w.submit(batch.clone()).await;
    same_answers(&again);
    w.quiet().await;
    let yellow = w.arrives_at("2024-03-19 00:00").await;
    assert_eq!(
        lines(&[reminder.clone(), yellow.clone()]),
        [
            "ZJ-0007 approaching_deadline reminder, due 2024-03-18 24:00, raised 2024-03-14 00:00",
            "ZJ-0007 promised_limit_passed yellow_card, due 2024-03-18 24:00, raised 2024-03-19 00:00",
        ]
    );

    // Completed Wed 03-20; on Thu 03-21 the whole history is sent once more.
    let rest = done(c, 4, "2024-03-20 10:00");
    let rest_first = w.push_at("2024-03-20 10:00", rest.clone()).await;
    w.at("2024-03-21 09:00");
    let everything = w.submit([batch, rest].concat()).await;
    same_answers(&everything[..3]);
    for (a, b) in rest_first.iter().zip(&everything[3..]) {
        assert_eq!(b.status(), apb::RecordStatus::Duplicate, "{b:?}");
        assert_eq!((a.sequence, &a.received_at), (b.sequence, &b.received_at));
    }
    w.the_end().await;
    assert_eq!(w.seen(), [reminder, yellow]);
}

/// 8. One batch holds two good cases and a bad record: the bad one is REJECTED with
///    INVALID_ARGUMENT naming its field; the good ones are stored and their cases get their
///    warnings later as usual. The corrected record, sent again with the same id, is stored.
async fn a_bad_record_in_a_good_batch_costs_only_itself(backend: Backend) {
    let mut w = Platforms::start(backend, "2024-03-04 09:00").await;
    let (c1, c2) = ("ZJ-0008", "ZJ-0009");
    let mut bad = rec(c1, 3, "2024-03-04 10:30", step_started("undertake"));
    if let Some(apb::record::Body::StepStarted(s)) = &mut bad.body {
        s.handler.clear();
    }
    w.at("2024-03-04 11:00");
    let results = w
        .submit(vec![
            rec(
                c1,
                1,
                "2024-03-04 09:00",
                application(MATTER, DEPARTMENT, REGION),
            ),
            rec(c1, 2, "2024-03-04 10:00", acceptance()),
            bad,
            rec(
                c2,
                1,
                "2024-03-04 09:30",
                application(MATTER, DEPARTMENT, REGION),
            ),
        ])
        .await;
    use apb::RecordStatus::{Rejected, Stored};
    assert_eq!(
        results.iter().map(|r| r.status()).collect::<Vec<_>>(),
        [Stored, Stored, Rejected, Stored]
    );
    let error = results[2].error.as_ref().expect("an error");
    assert_eq!(error.code, tonic::Code::InvalidArgument as i32, "{error:?}");
    assert_eq!(error.field, "step_started.handler");
    assert!(
        error.message.contains("step_started.handler"),
        "{}",
        error.message
    );
    assert_eq!(results[1].case_state(), apb::CaseState::Accepted);
    assert_eq!(results[3].case_state(), apb::CaseState::Received);

    // Rejected records are not remembered: corrected, the same id is stored.
    w.push_at(
        "2024-03-05 09:00",
        vec![rec(c1, 3, "2024-03-04 10:30", step_started("undertake"))],
    )
    .await;

    // ZJ-0009, received 03-04 and never decided: acceptance due 03-11 24:00; from then on it
    // counts as accepted on receipt (ALL Art. 32), so its promised limit runs from 03-04 like
    // ZJ-0008's. ZJ-0008, accepted 03-04: reminder 03-14 00:00, yellow card at 03-18 24:00.
    let overdue = w.arrives_at("2024-03-12 00:00").await;
    let mut reminders = vec![w.arrives_at("2024-03-14 00:00").await];
    reminders.push(w.next().await);
    let mut yellows = vec![w.arrives_at("2024-03-19 00:00").await];
    yellows.push(w.next().await);
    assert_eq!(
        lines(&[overdue]),
        ["ZJ-0009 acceptance_overdue yellow_card, due 2024-03-11 24:00, raised 2024-03-12 00:00"]
    );
    assert_eq!(
        sorted_lines(&[reminders, yellows].concat()),
        [
            "ZJ-0008 approaching_deadline reminder, due 2024-03-18 24:00, raised 2024-03-14 00:00",
            "ZJ-0008 promised_limit_passed yellow_card, due 2024-03-18 24:00, raised 2024-03-19 00:00",
            "ZJ-0009 approaching_deadline reminder, due 2024-03-18 24:00, raised 2024-03-14 00:00",
            "ZJ-0009 promised_limit_passed yellow_card, due 2024-03-18 24:00, raised 2024-03-19 00:00",
        ]
    );

    // Both closed on Wed 03-20: ZJ-0008 approved, ZJ-0009 refused with reasons.
    let mut closing = done(c1, 4, "2024-03-20 10:00");
    closing.push(rec(c2, 2, "2024-03-20 10:00", refusal()));
    w.push_at("2024-03-20 10:00", closing).await;
    w.the_end().await;
}

/// 9. A record that happened earlier arrives later and changes the outcome. ZJ-0010 was
///    accepted on Mon 2024-03-04; its suspension for laboratory tests from Wed 03-06 to Fri
///    03-08 is only sent on Fri 03-15, after later records and after the reminder. Placed by
///    its own time, it moves the deadline from 03-18 24:00 to 03-20 24:00: the yellow card
///    that was due on 03-19 00:00 does not come, and the case, done on 03-20, gets none.
async fn a_suspension_sent_late_moves_the_deadline_and_saves_the_card(backend: Backend) {
    let mut w = Platforms::start(backend, "2024-03-04 09:00").await;
    let c = "ZJ-0010";
    let mut records = opened(c, "2024-03-04 09:00", "2024-03-04 10:00");
    w.push_at("2024-03-04 10:00", records.clone()).await;
    let undertake = [
        rec(c, 3, "2024-03-05 09:00", step_started("undertake")),
        rec(c, 4, "2024-03-13 09:00", step_completed("undertake")),
    ];
    w.push_at("2024-03-05 09:00", vec![undertake[0].clone()])
        .await;
    w.push_at("2024-03-13 09:00", vec![undertake[1].clone()])
        .await;
    records.extend(undertake);
    assert_eq!(
        expected_due_of(&records, "promised"),
        local("2024-03-19 00:00"),
        "as sent so far: the yellow card is due 03-18 24:00"
    );
    let reminder = w.arrives_at("2024-03-14 00:00").await;
    assert_eq!(
        line(&reminder),
        "ZJ-0010 approaching_deadline reminder, due 2024-03-18 24:00, raised 2024-03-14 00:00"
    );

    // Fri 03-15 10:00 the department system re-syncs the suspension it held back. Suspended:
    // 03-07 and 03-08 (start < d <= end) -> 10 working days end on 03-20.
    let late = vec![
        rec(c, 5, "2024-03-06 10:00", suspension("2024-03-08 17:00")),
        rec(c, 6, "2024-03-08 16:00", suspension_ended()),
    ];
    let results = w.push_at("2024-03-15 10:00", late.clone()).await;
    assert_eq!(results[1].case_state(), apb::CaseState::Accepted);
    records.extend(late);
    assert_eq!(
        expected_due(&records),
        due_list(&[
            ("approaching:promised", "2024-03-18 00:00"),
            ("promised", "2024-03-21 00:00"),
            ("statutory", "2024-04-04 00:00"),
        ])
    );
    assert_eq!(w.stored_due(c).await, expected_due(&records));

    // The moved reminder instant is the same reminder (one per case, rule and level).
    w.quiet_at("2024-03-18 00:00").await;
    // Where the yellow card was due before the late records: nothing.
    w.quiet_at("2024-03-19 00:00").await;
    w.quiet_at("2024-03-20 12:00").await;
    // Approved, completed and served on the new last day.
    w.push_at("2024-03-20 16:00", done(c, 7, "2024-03-20 15:00"))
        .await;
    w.the_end().await;
    assert_eq!(w.seen(), [reminder]);
}

/// 10. A service centre back from an outage pushes a case whose deadlines all passed while it
///     was offline, in two batches a second apart: first the application alone, then its
///     acceptance and a step. Its warnings come once the late grace has passed after the last
///     batch, and only the true ones: the acceptance was on time, so no acceptance-overdue
///     card, although the first batch alone looked overdue.
async fn a_case_pushed_after_its_deadlines_gets_only_its_true_warnings(backend: Backend) {
    let mut w = Platforms::start(backend, "2024-04-15 10:00").await;
    let c = "ZJ-0011";
    let t0 = w.now();
    w.push(vec![rec(
        c,
        1,
        "2024-03-04 09:00",
        application(MATTER, DEPARTMENT, REGION),
    )])
    .await;
    // The acceptance deadline (03-11 24:00) is long past, and so are the decision deadlines
    // that run from receipt without an acceptance decision: all judged LATE_GRACE after this
    // write.
    let judged = t0 + LATE_GRACE;
    assert_eq!(
        w.stored_due(c).await,
        [
            ("acceptance".to_owned(), judged),
            ("approaching:promised".to_owned(), judged),
            ("promised".to_owned(), judged),
            ("statutory".to_owned(), judged),
        ]
    );
    let t1 = t0 + Duration::seconds(1);
    w.clock.set(t1);
    let rest = vec![
        rec(c, 2, "2024-03-04 10:00", acceptance()),
        rec(c, 3, "2024-03-05 09:00", step_started("undertake")),
    ];
    w.push(rest.clone()).await;
    // The true deadlines: promised 03-18 24:00 and statutory 04-01 24:00, both past (the
    // reminder's too): all judged LATE_GRACE after the second write.
    let records = [
        vec![rec(
            c,
            1,
            "2024-03-04 09:00",
            application(MATTER, DEPARTMENT, REGION),
        )],
        rest,
    ]
    .concat();
    assert_eq!(
        expected_due(&records),
        due_list(&[
            ("approaching:promised", "2024-03-14 00:00"),
            ("promised", "2024-03-19 00:00"),
            ("statutory", "2024-04-02 00:00"),
        ])
    );
    let mut stored = w.stored_due(c).await;
    stored.sort();
    assert_eq!(
        stored,
        [
            ("approaching:promised".to_owned(), t1 + LATE_GRACE),
            ("promised".to_owned(), t1 + LATE_GRACE),
            ("statutory".to_owned(), t1 + LATE_GRACE),
        ]
    );

    // When the first batch's grace ends, and just before the second's: nothing.
    w.clock.set(t0 + LATE_GRACE);
    w.quiet().await;
    w.clock.set(t1 + LATE_GRACE - Duration::milliseconds(1));
    w.quiet().await;
    w.clock.set(t1 + LATE_GRACE);
    let got = w.next_n(2).await;
    assert_eq!(
        sorted_lines(&got),
        [
            "ZJ-0011 promised_limit_passed yellow_card, due 2024-03-18 24:00, raised 2024-04-15 10:00:04",
            "ZJ-0011 statutory_limit_passed red_card, due 2024-04-01 24:00, raised 2024-04-15 10:00:04",
        ]
    );
    w.quiet().await;

    // The centre then sends the decision it took on 04-12: late, the same two cards.
    w.push_at("2024-04-15 10:05", done(c, 4, "2024-04-12 10:00"))
        .await;
    w.the_end().await;
    assert_eq!(w.seen(), got);
}

/// 11. The supervision platform stops in the middle of a run. While it is down, deadlines pass
///     (a yellow card and a reminder), a case is completed late, a new case arrives. A new
///     platform on the same store raises every warning owed exactly once; the list and a stream
///     from the start agree; another restart raises nothing.
async fn a_supervision_restart_loses_and_repeats_nothing(backend: Backend) {
    let mut w = Platforms::start(backend, "2024-03-01 09:00").await;
    // D accepted Fri 03-01: promised last day 03-15 (03-04..03-08, 03-11..03-15), reminder
    //   at the start of 03-13.
    // A accepted Mon 03-04: last day 03-18, reminder at the start of 03-14.
    // C accepted Tue 03-05: last day 03-19 (03-06..03-08, 03-11..03-15, 03-18, 03-19),
    //   reminder at the start of 03-15.
    let d = opened("D", "2024-03-01 09:00", "2024-03-01 10:00");
    let a = opened("A", "2024-03-04 09:00", "2024-03-04 10:00");
    let c = opened("C", "2024-03-05 09:00", "2024-03-05 10:00");
    assert_eq!(
        [&d, &a, &c].map(|r| expected_due(r)[..2].to_vec()),
        [
            due_list(&[
                ("approaching:promised", "2024-03-13 00:00"),
                ("promised", "2024-03-16 00:00")
            ]),
            due_list(&[
                ("approaching:promised", "2024-03-14 00:00"),
                ("promised", "2024-03-19 00:00")
            ]),
            due_list(&[
                ("approaching:promised", "2024-03-15 00:00"),
                ("promised", "2024-03-20 00:00")
            ]),
        ]
    );
    w.push_at("2024-03-01 10:00", d).await;
    w.push_at("2024-03-04 10:00", a).await;
    w.push_at("2024-03-05 10:00", c).await;
    let d_reminder = w.arrives_at("2024-03-13 00:00").await;
    let a_reminder = w.arrives_at("2024-03-14 00:00").await;
    assert_eq!(
        (d_reminder.case_no.as_str(), a_reminder.case_no.as_str()),
        ("D", "A")
    );

    // Thu 03-14 09:00 the supervision platform stops.
    w.at("2024-03-14 09:00");
    w.quiet().await;
    w.stop_supervision().await;
    // While it is down: B is received (never accepted: acceptance due 03-21 24:00, after
    // 03-15, 03-18..03-21); C's reminder instant passes (03-15 00:00); D's promised deadline
    // passes (03-15 24:00) and D is completed late on Mon 03-18; A's passes (03-18 24:00).
    let b = vec![rec(
        "B",
        1,
        "2024-03-14 09:00",
        application(MATTER, DEPARTMENT, REGION),
    )];
    // Undecided, B counts as accepted on receipt once its acceptance deadline passes: its
    // promised limit runs from 03-14 (last day 03-28), its statutory one to 04-12.
    assert_eq!(
        expected_due(&b),
        due_list(&[
            ("acceptance", "2024-03-22 00:00"),
            ("approaching:promised", "2024-03-26 00:00"),
            ("promised", "2024-03-29 00:00"),
            ("statutory", "2024-04-13 00:00"),
        ])
    );
    w.push(b).await;
    w.push_at("2024-03-18 11:00", done("D", 3, "2024-03-18 10:00"))
        .await;
    w.at("2024-03-19 12:00");

    // Tue 03-19 12:00 a new platform starts on the same store. Its stream from the start
    // replays the two reminders as they were, then what was owed meanwhile, raised now:
    // A's yellow and C's reminder (due instants), D's yellow (its clock stopped late).
    let before = w.start_supervision().await;
    let replayed = w.next_n(2).await;
    assert_eq!(
        replayed, before,
        "the stream from the start replays what was read"
    );
    let owed = w.next_n(3).await;
    assert_eq!(
        sorted_lines(&owed),
        [
            "A promised_limit_passed yellow_card, due 2024-03-18 24:00, raised 2024-03-19 12:00",
            "C approaching_deadline reminder, due 2024-03-19 24:00, raised 2024-03-19 12:00",
            "D promised_limit_passed yellow_card, due 2024-03-15 24:00, raised 2024-03-19 12:00",
        ]
    );
    w.quiet().await;
    // Then on time again: C's yellow at 03-19 24:00, B's acceptance overdue at 03-21 24:00.
    let c_yellow = w.arrives_at("2024-03-20 00:00").await;
    let b_overdue = w.arrives_at("2024-03-22 00:00").await;
    assert_eq!(
        lines(&[c_yellow, b_overdue]),
        [
            "C promised_limit_passed yellow_card, due 2024-03-19 24:00, raised 2024-03-20 00:00",
            "B acceptance_overdue yellow_card, due 2024-03-21 24:00, raised 2024-03-22 00:00",
        ]
    );
    w.quiet().await;
    let all = w.listed().await;
    assert_eq!(all.len(), 7);
    let mut again = w.supervision().stream(Default::default()).await;
    let mut streamed = Vec::new();
    for _ in 0..all.len() {
        streamed.push(egov_platform::testing::next_warning(&mut again).await);
    }
    // The same warnings, each once. Compared by id, not in order: both follow the stream's
    // (transaction, position) order, in which A's yellow and C's reminder (the due loop) and
    // D's yellow (the log follower), raised in concurrent transactions, may stand either way,
    // and the stream may be read before or after the last of them is listed.
    assert_eq!(
        by_id(streamed),
        by_id(all),
        "a stream from the start agrees with the list"
    );

    // Another restart, at once: nothing owed, nothing raised again.
    w.at("2024-03-22 09:00");
    w.stop_supervision().await;
    let before = w.start_supervision().await;
    let replayed = w.next_n(before.len()).await;
    assert_eq!(
        replayed, before,
        "the same stream order after another restart"
    );
    w.quiet().await;
    assert_eq!(w.supervision().supervision.stats().raised, 0);

    // All three closed on Fri 03-22 (A and C late: the same yellow cards, not new ones).
    let mut closing = done("A", 3, "2024-03-22 10:00");
    closing.extend(done("C", 3, "2024-03-22 10:00"));
    closing.push(rec("B", 2, "2024-03-22 10:00", refusal()));
    w.push_at("2024-03-22 10:00", closing).await;
    w.the_end().await;
    assert_eq!(w.seen().len(), 7);
}

/// 12. Accepted Tue 2025-09-30, the day before National Day: the eight days off and the worked
///     Saturday 10-11 put the promised deadline at 24:00 of Tue 10-21, a week after a count of
///     plain weekdays would (10-14). The yellow card comes at that instant.
async fn a_yellow_card_after_national_day_comes_when_the_calendar_says(backend: Backend) {
    let mut w = Platforms::start(backend, "2025-09-30 09:00").await;
    let c = "ZJ-0012";
    // Working days after 09-30: [10-01..10-08 off], 10-09 (1), 10-10 (2), Sat 10-11 worked
    // (3), 10-13..10-17 (8), 10-20 (9), 10-21 (10) -> due 10-21 24:00. Reminder at the start
    // of the 2nd working day before 10-21: Fri 10-17 (Mon 10-20 is the 1st).
    let records = opened(c, "2025-09-30 09:00", "2025-09-30 10:00");
    w.push_at("2025-09-30 10:00", records.clone()).await;
    let cal = Calendar::china();
    assert_eq!(
        cal.add_working_days(day("2025-09-30"), 10),
        day("2025-10-21")
    );
    assert_eq!(
        expected_due(&records)[..2],
        due_list(&[
            ("approaching:promised", "2025-10-17 00:00"),
            ("promised", "2025-10-22 00:00"),
        ])
    );

    // Through the holiday and the plain-weekday deadline: nothing.
    w.quiet_at("2025-10-08 23:59").await;
    w.quiet_at("2025-10-15 00:00").await;
    let reminder = w.arrives_at("2025-10-17 00:00").await;
    let yellow = w.arrives_at("2025-10-22 00:00").await;
    assert_eq!(
        lines(&[reminder, yellow.clone()]),
        [
            "ZJ-0012 approaching_deadline reminder, due 2025-10-21 24:00, raised 2025-10-17 00:00",
            "ZJ-0012 promised_limit_passed yellow_card, due 2025-10-21 24:00, raised 2025-10-22 00:00",
        ]
    );
    assert_eq!(
        yellow.clock_explanation,
        "accepted 2025-09-30, 10 working days; National Day days off 10-01..10-05 skipped, \
         Mid-autumn Festival day off 10-06 skipped, National Day days off 10-07..10-08 skipped, \
         the adjusted working day 10-11 counted -> due 2025-10-21 24:00"
    );

    w.push_at("2025-10-23 10:00", done(c, 3, "2025-10-23 10:00"))
        .await;
    w.the_end().await;
    assert_eq!(w.seen().len(), 2);
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
    a_case_handled_on_time_raises_nothing,
    the_reminder_comes_at_the_start_of_the_second_working_day_before_the_last,
    undecided_at_the_promised_deadline_is_a_yellow_card,
    still_open_at_the_statutory_deadline_is_a_red_card,
    no_acceptance_decision_in_five_working_days_is_a_yellow_card,
    a_suspension_moves_the_yellow_card_by_its_working_days,
    a_resent_batch_is_a_duplicate_and_raises_nothing_new,
    a_bad_record_in_a_good_batch_costs_only_itself,
    a_suspension_sent_late_moves_the_deadline_and_saves_the_card,
    a_case_pushed_after_its_deadlines_gets_only_its_true_warnings,
    a_supervision_restart_loses_and_repeats_nothing,
    a_yellow_card_after_national_day_comes_when_the_calendar_says,
);
