//! Every supervision rule of docs/design.md §3 as case stories: records in (local times,
//! Asia/Shanghai, March 2024 unless said), time run to a given instant, warnings out, each with the
//! instant it was raised, its rule, level, the configuration that decided it, and its message. Each
//! rule also has a story in which it must not fire.

mod support;

use egov_domain::matter::{FeeItem, Matter, MatterKind};
use egov_domain::money::Fen;
use egov_domain::record::{Outcome, RecordBody, SuspensionKind};
use egov_domain::rules::{RuleConfig, RuleConfigSpec, RuleOverrides};
use support::rules::warnings;
use support::{at, matter, plain, records};

/// The test matter: M-001 of department `market`, promised 10 and statutory 20 working days,
/// step `review` limited to 3 working days, testing allowed as a suspension, and one fee item.
fn m() -> Matter {
    let mut m = matter(MatterKind::Promised, 10, 20);
    m.fee_items = vec![FeeItem {
        fee_item: "F01".into(),
        name: "Inspection fee".into(),
        max: Fen::new(10_000).unwrap(),
    }];
    m
}

fn defaults() -> RuleConfig {
    RuleConfig::default()
}

/// A configuration with one matter layer for M-001.
fn for_matter(o: RuleOverrides) -> RuleConfig {
    let mut spec = RuleConfigSpec::default();
    spec.matters
        .insert(egov_domain::ids::MatterCode::parse("M-001").unwrap(), o);
    RuleConfig::new(spec).unwrap()
}

fn check(got: Vec<String>, want: &[&str]) {
    assert_eq!(
        got,
        want.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        "\ngot:\n{}\n",
        got.join("\n")
    );
}

fn app() -> RecordBody {
    plain("application")
}
fn acc() -> RecordBody {
    plain("acceptance")
}
fn approval() -> RecordBody {
    plain("decision")
}
fn step(started: bool, name: &str) -> RecordBody {
    let (step, handler, opinion) = (name.to_owned(), "li".to_owned(), String::new());
    if started {
        RecordBody::StepStarted {
            step,
            handler,
            opinion,
        }
    } else {
        RecordBody::StepCompleted {
            step,
            handler,
            opinion,
        }
    }
}
fn notice(materials: &[&str]) -> RecordBody {
    RecordBody::CorrectionNotice {
        materials: materials.iter().map(|m| m.to_string()).collect(),
        handler: "wang".into(),
    }
}
fn refusal(reason: &str) -> RecordBody {
    RecordBody::Refusal {
        reason: reason.into(),
        handler: "wang".into(),
    }
}
fn decision(outcome: Outcome, reason: &str) -> RecordBody {
    RecordBody::Decision {
        outcome,
        reason: reason.into(),
        handler: "zhao".into(),
    }
}
fn suspension(kind: Option<SuspensionKind>, reason: &str, planned_end: &str) -> RecordBody {
    RecordBody::SuspensionStarted {
        kind,
        reason: reason.into(),
        planned_end: at(planned_end),
        approver: "head".into(),
    }
}
fn testing(planned_end: &str) -> RecordBody {
    suspension(Some(SuspensionKind::Testing), "lab test", planned_end)
}
fn extension(working_days: u32, approver: &str, reason: &str) -> RecordBody {
    RecordBody::Extension {
        working_days,
        approver: approver.into(),
        reason: reason.into(),
    }
}
fn fee(item: &str, fen: i64, receipt: &str) -> RecordBody {
    RecordBody::Fee {
        fee_item: item.into(),
        amount_fen: Fen::new(fen).unwrap(),
        receipt_no: receipt.into(),
    }
}
fn accepted_promising(local: &str) -> RecordBody {
    RecordBody::Acceptance {
        handler: "wang".into(),
        promised_due_at: Some(at(local)),
    }
}

/// Accepted Monday 2024-03-04: promised 10 working days end Monday 03-18, statutory 20 end
/// Monday 04-01 (no holiday in between; Qingming is 04-04).
fn accepted_monday() -> Vec<(&'static str, RecordBody)> {
    vec![("2024-03-04 09:00", app()), ("2024-03-04 10:00", acc())]
}

// ---- deadline rules ------------------------------------------------------------------------

#[test]
fn approaching_deadline_reminds_two_working_days_before_the_promised_limit() {
    // From the start of Thursday 03-14 two working days remain (03-15 and 03-18).
    check(
        warnings(
            m(),
            defaults(),
            &records(accepted_monday()),
            "2024-03-14 12:00",
        ),
        &[
            "2024-03-14 00:00 approaching_deadline reminder (default): the promised limit is \
           near: accepted 2024-03-04, 10 working days -> due 2024-03-18 24:00",
        ],
    );
}

#[test]
fn approaching_deadline_does_not_remind_of_a_case_decided_before() {
    let mut story = accepted_monday();
    story.push(("2024-03-13 16:00", approval()));
    check(
        warnings(m(), defaults(), &records(story), "2024-03-25 00:00"),
        &[],
    );
}

#[test]
fn approaching_deadline_short_limits_remind_one_working_day_before() {
    // Promised 3 working days from Monday 03-04: 03-05, 03-06, 03-07. From the start of
    // Wednesday 03-06 one working day remains after the current one (03-07), the same count
    // as the 2-day reminder uses.
    let m = {
        let mut m = m();
        m.promised_limit.amount = 3;
        m
    };
    check(
        warnings(
            m,
            defaults(),
            &records(accepted_monday()),
            "2024-03-06 12:00",
        ),
        &[
            "2024-03-06 00:00 approaching_deadline reminder (default): the promised limit is \
           near: accepted 2024-03-04, 3 working days -> due 2024-03-07 24:00",
        ],
    );
}

#[test]
fn promised_limit_passed_at_the_end_of_the_last_day() {
    check(
        warnings(
            m(),
            defaults(),
            &records(accepted_monday()),
            "2024-03-19 00:00",
        ),
        &[
            "2024-03-14 00:00 approaching_deadline reminder (default): the promised limit is \
             near: accepted 2024-03-04, 10 working days -> due 2024-03-18 24:00",
            "2024-03-19 00:00 promised_limit_passed yellow_card (default): the promised limit \
             passed: accepted 2024-03-04, 10 working days -> due 2024-03-18 24:00",
        ],
    );
}

#[test]
fn promised_limit_not_passed_by_a_decision_on_its_last_day() {
    let mut story = accepted_monday();
    story.push((
        "2024-03-18 23:59",
        decision(Outcome::Denied, "unsafe premises"),
    ));
    let got = warnings(m(), defaults(), &records(story), "2024-04-10 00:00");
    assert!(
        got.iter().all(|w| !w.contains("passed")),
        "{}",
        got.join("\n")
    );
}

#[test]
fn statutory_limit_passed_is_a_red_card() {
    let got = warnings(
        m(),
        defaults(),
        &records(accepted_monday()),
        "2024-04-02 00:00",
    );
    check(
        got[2..].to_vec(),
        &[
            "2024-04-02 00:00 statutory_limit_passed red_card (default): the statutory limit \
           passed: accepted 2024-03-04, 20 working days -> due 2024-04-01 24:00",
        ],
    );
}

#[test]
fn statutory_limit_not_passed_when_decided_in_time_though_late_on_the_promise() {
    let mut story = accepted_monday();
    story.push(("2024-03-29 10:00", approval()));
    let got = warnings(m(), defaults(), &records(story), "2024-04-08 00:00");
    let rules: Vec<&str> = got.iter().map(|w| w.split(' ').nth(2).unwrap()).collect();
    assert_eq!(rules, ["approaching_deadline", "promised_limit_passed"]);
}

#[test]
fn acceptance_overdue_five_working_days_after_receipt() {
    check(
        warnings(
            m(),
            defaults(),
            &records(vec![("2024-03-04 09:00", app())]),
            "2024-03-12 00:00",
        ),
        &[
            "2024-03-12 00:00 acceptance_overdue yellow_card (default): the acceptance decision \
           deadline passed: received 2024-03-04, 5 working days -> due 2024-03-11 24:00",
        ],
    );
}

#[test]
fn acceptance_not_overdue_when_accepted_on_the_fifth_day() {
    let story = vec![("2024-03-04 09:00", app()), ("2024-03-11 17:00", acc())];
    check(
        warnings(m(), defaults(), &records(story), "2024-03-12 12:00"),
        &[],
    );
}

#[test]
fn step_overdue_even_though_the_case_is_on_time() {
    // Review started Tuesday 03-05, 3 working days: 03-06, 03-07, 03-08.
    let mut story = accepted_monday();
    story.push(("2024-03-05 10:00", step(true, "review")));
    check(
        warnings(m(), defaults(), &records(story), "2024-03-09 12:00"),
        &[
            "2024-03-09 00:00 step_overdue reminder (default): the limit of step \"review\" \
           passed: step started 2024-03-05, 3 working days -> due 2024-03-08 24:00",
        ],
    );
}

#[test]
fn step_not_overdue_when_completed_in_time_nor_for_a_step_without_a_limit() {
    let mut story = accepted_monday();
    story.push(("2024-03-05 10:00", step(true, "review")));
    story.push(("2024-03-05 11:00", step(true, "undertake")));
    story.push(("2024-03-08 18:00", step(false, "review")));
    check(
        warnings(m(), defaults(), &records(story), "2024-03-12 00:00"),
        &[],
    );
}

#[test]
fn certificate_overdue_ten_working_days_after_approval() {
    // National Day and Mid-autumn 2025: approved Monday 09-29; 09-30, 10-09, 10-10, 10-11
    // (adjusted working Saturday), 10-13..10-17, 10-20.
    let story = vec![
        ("2025-09-22 09:00", app()),
        ("2025-09-23 10:00", acc()),
        ("2025-09-29 15:00", approval()),
    ];
    check(
        warnings(m(), defaults(), &records(story), "2025-10-21 00:00"),
        &[
            "2025-10-21 00:00 certificate_overdue yellow_card (default): the certificate \
           deadline passed: approved 2025-09-29, 10 working days; National Day days off \
           10-01..10-05 skipped, Mid-autumn Festival day off 10-06 skipped, National Day days \
           off 10-07..10-08 skipped, the adjusted working day 10-11 counted -> due 2025-10-20 \
           24:00",
        ],
    );
}

#[test]
fn certificate_not_overdue_when_issued_in_time() {
    let story = vec![
        ("2025-09-22 09:00", app()),
        ("2025-09-23 10:00", acc()),
        ("2025-09-29 15:00", approval()),
        ("2025-10-10 11:00", plain("certificate_issued")),
    ];
    check(
        warnings(m(), defaults(), &records(story), "2025-11-30 00:00"),
        &[],
    );
}

// ---- record rules --------------------------------------------------------------------------

#[test]
fn repeated_correction_fires_on_the_second_notice_and_only_once() {
    let story = vec![
        ("2024-03-04 09:00", app()),
        ("2024-03-05 09:00", notice(&["floor plan"])),
        ("2024-03-06 09:00", plain("correction_received")),
        ("2024-03-07 09:00", notice(&["lease", "fire inspection"])),
        ("2024-03-08 09:00", plain("correction_received")),
        ("2024-03-11 09:00", notice(&["id copy"])),
        ("2024-03-12 09:00", plain("correction_received")),
        ("2024-03-12 10:00", acc()),
    ];
    check(
        warnings(m(), defaults(), &records(story), "2024-03-12 10:00"),
        &[
            "2024-03-07 09:00 repeated_correction yellow_card (default): a 2nd correction notice \
           on 2024-03-07 09:00, after the first on 2024-03-05 09:00: one notice must list every \
           missing material (\"tell everything once\", ALL Art. 32); this notice asks for: \
           lease, fire inspection",
        ],
    );
}

#[test]
fn repeated_correction_not_for_one_notice() {
    let story = vec![
        ("2024-03-04 09:00", app()),
        ("2024-03-05 09:00", notice(&["floor plan", "lease"])),
        ("2024-03-06 09:00", plain("correction_received")),
        ("2024-03-07 09:00", acc()),
    ];
    check(
        warnings(m(), defaults(), &records(story), "2024-03-07 09:00"),
        &[],
    );
}

#[test]
fn missing_reasons_for_a_refusal_and_a_denial() {
    let refused = vec![
        ("2024-03-04 09:00", app()),
        ("2024-03-05 09:00", refusal("")),
    ];
    check(
        warnings(m(), defaults(), &records(refused), "2024-03-05 09:00"),
        &[
            "2024-03-05 09:00 missing_reasons yellow_card (default): wang refused to accept the \
           application on 2024-03-05 09:00 without reasons: the applicant must be told why \
           (ALL Art. 32)",
        ],
    );
    let mut denied = accepted_monday();
    denied.push(("2024-03-06 09:00", decision(Outcome::Denied, "  ")));
    check(
        warnings(m(), defaults(), &records(denied), "2024-03-06 09:00"),
        &[
            "2024-03-06 09:00 missing_reasons yellow_card (default): zhao denied the \
           application on 2024-03-06 09:00 without reasons: the applicant must be told why \
           (ALL Art. 38)",
        ],
    );
}

#[test]
fn missing_reasons_not_for_an_approval_or_a_reasoned_refusal() {
    let mut approved = accepted_monday();
    approved.push(("2024-03-06 09:00", decision(Outcome::Approved, "")));
    check(
        warnings(m(), defaults(), &records(approved), "2024-03-06 09:00"),
        &[],
    );
    let refused = vec![
        ("2024-03-04 09:00", app()),
        ("2024-03-05 09:00", refusal("not in our jurisdiction")),
    ];
    check(
        warnings(m(), defaults(), &records(refused), "2024-03-05 09:00"),
        &[],
    );
}

#[test]
fn suspension_abuse_a_kind_the_matter_does_not_allow() {
    let mut story = accepted_monday();
    story.push(("2024-03-05 10:00", testing("2024-03-06 17:00")));
    story.push(("2024-03-06 16:00", plain("suspension_ended")));
    story.push((
        "2024-03-07 10:00",
        suspension(
            Some(SuspensionKind::Hearing),
            "neighbour objects",
            "2024-03-08 17:00",
        ),
    ));
    story.push(("2024-03-08 15:00", plain("suspension_ended")));
    // The third breaks the count too, but the case has its warning already.
    story.push(("2024-03-11 10:00", suspension(None, "", "2024-03-12 17:00")));
    story.push(("2024-03-12 15:00", plain("suspension_ended")));
    check(
        warnings(m(), defaults(), &records(story), "2024-03-12 15:00"),
        &[
            "2024-03-07 10:00 suspension_abuse yellow_card (default): the suspension started \
           2024-03-07 10:00 is of kind hearing, which matter M-001 does not allow (it allows \
           testing) (ALL Art. 45)",
        ],
    );
}

#[test]
fn suspension_abuse_without_kind_or_reason() {
    let mut story = accepted_monday();
    story.push((
        "2024-03-05 10:00",
        suspension(None, " ", "2024-03-06 17:00"),
    ));
    check(
        warnings(m(), defaults(), &records(story), "2024-03-05 10:00"),
        &[
            "2024-03-05 10:00 suspension_abuse yellow_card (default): the suspension started \
           2024-03-05 10:00 has no kind and has no reason (ALL Art. 45)",
        ],
    );
}

#[test]
fn suspension_abuse_more_suspensions_than_allowed_unless_the_matter_allows_more() {
    let mut story = accepted_monday();
    for (start, end) in [
        ("2024-03-05 10:00", "2024-03-05 16:00"),
        ("2024-03-06 10:00", "2024-03-06 16:00"),
        ("2024-03-07 10:00", "2024-03-07 16:00"),
    ] {
        story.push((start, testing("2024-03-29 17:00")));
        story.push((end, plain("suspension_ended")));
    }
    let records = records(story);
    check(
        warnings(m(), defaults(), &records, "2024-03-07 16:00"),
        &[
            "2024-03-07 10:00 suspension_abuse yellow_card (default): the suspension started \
           2024-03-07 10:00 is the 3rd on this case, more than the 2 allowed [default] \
           (ALL Art. 45)",
        ],
    );
    // Two proper suspensions are within the default; the matter may allow three.
    check(
        warnings(m(), defaults(), &records[..6], "2024-03-07 16:00"),
        &[],
    );
    let three = for_matter(RuleOverrides {
        max_suspensions: Some(3),
        ..RuleOverrides::default()
    });
    check(warnings(m(), three, &records, "2024-03-07 16:00"), &[]);
}

#[test]
fn suspension_abuse_still_open_past_its_planned_end() {
    let mut story = accepted_monday();
    story.push(("2024-03-06 10:00", testing("2024-03-11 17:00")));
    check(
        warnings(m(), defaults(), &records(story), "2024-03-12 00:00"),
        &[
            "2024-03-11 17:00 suspension_abuse yellow_card (default): the testing suspension \
           (lab test) started 2024-03-06 10:00 is still open past its planned end 2024-03-11 \
           17:00: the clocks stay stopped until it ends (ALL Art. 45)",
        ],
    );
}

#[test]
fn suspension_ended_before_its_planned_end_is_no_abuse() {
    let mut story = accepted_monday();
    story.push(("2024-03-06 10:00", testing("2024-03-11 17:00")));
    story.push(("2024-03-11 12:00", plain("suspension_ended")));
    check(
        warnings(m(), defaults(), &records(story), "2024-03-12 00:00"),
        &[],
    );
}

#[test]
fn extension_abuse_more_days_than_the_law_allows() {
    let mut story = accepted_monday();
    story.push((
        "2024-03-12 10:00",
        extension(12, "head", "site visit needed"),
    ));
    check(
        warnings(m(), defaults(), &records(story), "2024-03-12 10:00"),
        &[
            "2024-03-12 10:00 extension_abuse yellow_card (default): the extension of 12 \
           working days on 2024-03-12 10:00 is more than the 10 allowed for a promised matter \
           [default] (ALL Art. 42)",
        ],
    );
}

#[test]
fn extension_abuse_a_second_extension_and_one_without_approver() {
    let mut story = accepted_monday();
    story.push((
        "2024-03-12 10:00",
        extension(5, "head", "site visit needed"),
    ));
    story.push(("2024-03-13 10:00", extension(6, "", "")));
    check(
        warnings(m(), defaults(), &records(story), "2024-03-13 10:00"),
        &[
            "2024-03-13 10:00 extension_abuse yellow_card (default): the extension of 6 working \
           days on 2024-03-13 10:00 is the 2nd on this case, more than the 1 allowed [default] \
           and brings the case's extensions to 11 working days, more than the 10 allowed for a \
           promised matter [default] and has no approver, though the agency head must approve \
           and has no reason for the applicant (ALL Art. 42)",
        ],
    );
}

#[test]
fn extension_abuse_not_for_one_approved_extension_within_the_law() {
    let mut story = accepted_monday();
    story.push((
        "2024-03-12 10:00",
        extension(10, "head", "site visit needed"),
    ));
    check(
        warnings(m(), defaults(), &records(story.clone()), "2024-03-12 10:00"),
        &[],
    );
    // A joint matter may extend by 15.
    let joint = {
        let mut m = m();
        m.kind = MatterKind::Joint;
        m.statutory_limit.amount = 45;
        m
    };
    story.pop();
    story.push(("2024-03-12 10:00", extension(15, "head", "three agencies")));
    check(
        warnings(joint, defaults(), &records(story), "2024-03-12 10:00"),
        &[],
    );
}

#[test]
fn irregular_fee_not_in_the_catalogue() {
    let mut story = accepted_monday();
    story.push(("2024-03-05 10:00", fee("F09", 5_000, "R-1")));
    check(
        warnings(m(), defaults(), &records(story), "2024-03-05 10:00"),
        &[
            "2024-03-05 10:00 irregular_fee red_card (default): fee item \"F09\" charged ¥50.00 \
           on 2024-03-05 10:00 is not in the catalogue of matter M-001 (ALL Arts. 58-59); \
           receipt R-1",
        ],
    );
}

#[test]
fn irregular_fee_above_the_catalogue_amount_also_when_split() {
    let mut story = accepted_monday();
    story.push(("2024-03-05 10:00", fee("F01", 15_000, "R-1")));
    check(
        warnings(m(), defaults(), &records(story), "2024-03-05 10:00"),
        &[
            "2024-03-05 10:00 irregular_fee red_card (default): fee item \"F01\" (Inspection fee) \
           charged ¥150.00 on 2024-03-05 10:00, above the catalogue's maximum of ¥100.00 \
           (ALL Arts. 58-59); receipt R-1",
        ],
    );
    let mut split = accepted_monday();
    split.push(("2024-03-05 10:00", fee("F01", 6_000, "R-1")));
    split.push(("2024-03-06 10:00", fee("F01", 6_000, "R-2")));
    check(
        warnings(m(), defaults(), &records(split), "2024-03-06 10:00"),
        &[
            "2024-03-06 10:00 irregular_fee red_card (default): fee item \"F01\" (Inspection fee) \
           charged ¥60.00 on 2024-03-06 10:00, bringing the item's total on this case to \
           ¥120.00, above the catalogue's maximum of ¥100.00 (ALL Arts. 58-59); receipt R-2",
        ],
    );
}

#[test]
fn irregular_fee_not_for_the_catalogue_amount_even_after_completion() {
    let mut story = accepted_monday();
    story.push(("2024-03-06 10:00", approval()));
    story.push(("2024-03-06 11:00", plain("completion")));
    story.push(("2024-03-07 10:00", fee("F01", 10_000, "R-1")));
    check(
        warnings(m(), defaults(), &records(story), "2024-03-07 10:00"),
        &[],
    );
}

#[test]
fn procedure_anomaly_an_acceptance_promising_another_day() {
    let story = vec![
        ("2024-03-04 09:00", app()),
        ("2024-03-04 10:00", accepted_promising("2024-03-21 00:00")),
    ];
    check(
        warnings(m(), defaults(), &records(story), "2024-03-04 10:00"),
        &[
            "2024-03-04 10:00 procedure_anomaly yellow_card (default): the acceptance on \
           2024-03-04 10:00 promises a decision by 2024-03-20 24:00, later than the promised \
           limit allows: accepted 2024-03-04, 10 working days -> due 2024-03-18 24:00",
        ],
    );
}

#[test]
fn procedure_anomaly_not_for_a_promise_on_the_last_day() {
    for promise in ["2024-03-18 17:30", "2024-03-19 00:00"] {
        let story = vec![
            ("2024-03-04 09:00", app()),
            ("2024-03-04 10:00", accepted_promising(promise)),
        ];
        check(
            warnings(m(), defaults(), &records(story), "2024-03-04 10:00"),
            &[],
        );
    }
}

#[test]
fn procedure_anomaly_for_refused_records_out_of_order() {
    let story = vec![
        ("2024-03-04 09:00", app()),
        ("2024-03-04 11:00", approval()),
        ("2024-03-04 12:00", plain("fee")),
        ("2024-03-05 10:00", acc()),
        ("2024-03-05 11:00", plain("completion")),
        ("2024-03-05 12:00", step(false, "review")),
    ];
    check(
        warnings(m(), defaults(), &records(story), "2024-03-05 12:00"),
        &[
            "2024-03-04 11:00 procedure_anomaly yellow_card (default): records out of order: \
             a decision record of 2024-03-04 11:00: a decision before the application was \
             accepted (ALL Arts. 32-34)",
            "2024-03-04 12:00 procedure_anomaly yellow_card (default): records out of order: \
             a fee record of 2024-03-04 12:00: a fee record on a case never accepted (it is \
             received): work before acceptance runs on no clock (ALL Art. 32)",
            "2024-03-05 11:00 procedure_anomaly yellow_card (default): records out of order: \
             a completion record of 2024-03-05 11:00: a completion without a decision \
             (ALL Arts. 37-38)",
            "2024-03-05 12:00 procedure_anomaly yellow_card (default): records out of order: \
             a step_completed record of 2024-03-05 12:00: step \"review\" completed before it \
             started: the step's times are reversed",
        ],
    );
}

#[test]
fn procedure_anomaly_for_a_late_record_that_would_reorder_the_stored_ones() {
    // The decision is stored; a suspension reported later claims the case was suspended
    // when the decision was taken.
    let mut story = accepted_monday();
    story.push(("2024-03-06 10:00", approval()));
    let mut records = records(story);
    let late = support::record(9, "2024-03-05 10:00", testing("2024-03-08 17:00"));
    records.push(late);
    let got = warnings(m(), defaults(), &records, "2024-03-06 10:00");
    check(
        got,
        &[
            "2024-03-05 10:00 procedure_anomaly yellow_card (default): records out of order: \
           a suspension_started record of 2024-03-05 10:00, placed by its time, puts the stored \
           decision record e3 out of order: a decision record while a special procedure stops \
           the clock: the suspension must end first (ALL Art. 45)",
        ],
    );
}

#[test]
fn procedure_anomaly_not_for_the_senders_duplicates() {
    // A second suspension start and a record after completion are refused, but they are the
    // sender's errors, not supervision's.
    let mut story = accepted_monday();
    story.push(("2024-03-05 10:00", testing("2024-03-08 17:00")));
    story.push(("2024-03-05 11:00", testing("2024-03-08 17:00")));
    story.push(("2024-03-06 10:00", plain("suspension_ended")));
    story.push(("2024-03-07 10:00", approval()));
    story.push(("2024-03-07 11:00", plain("completion")));
    story.push(("2024-03-08 10:00", plain("withdrawal")));
    check(
        warnings(m(), defaults(), &records(story), "2024-03-08 10:00"),
        &[],
    );
}

// ---- configuration in the stories ----------------------------------------------------------

#[test]
fn a_warning_names_the_configuration_that_fired_it() {
    let config = RuleConfig::new(serde_json_spec(
        r#"{
                "departments": {"market": {"approaching": {"working_days": 3},
                                           "levels": {"irregular_fee": "yellow_card"}}},
                "matters": {"M-001": {"levels": {"irregular_fee": "red_card"}}}
            }"#,
    ))
    .unwrap();
    let mut story = accepted_monday();
    story.push(("2024-03-05 10:00", fee("F09", 100, "R-1")));
    let got = warnings(m(), config, &records(story), "2024-03-13 12:00");
    let heads: Vec<&str> = got
        .iter()
        .map(|w| &w[..w.find("):").unwrap() + 1])
        .collect();
    assert_eq!(
        heads,
        [
            "2024-03-05 10:00 irregular_fee red_card (matter:M-001)",
            // Three working days before 03-18: from the start of Wednesday 03-13.
            "2024-03-13 00:00 approaching_deadline reminder (department:market)",
        ]
    );
}

fn serde_json_spec(json: &str) -> RuleConfigSpec {
    serde_json::from_str(json).unwrap()
}

// ---- Issue 10: events in time order (docs/design.md §2) -------------------------------------------

/// Promised 2 working days from Monday 2024-03-04: due 03-06 24:00.
fn promised_two() -> Matter {
    let mut m = m();
    m.promised_limit.amount = 2;
    m
}

fn fired(got: &[String], rule: &str) -> Vec<String> {
    got.iter().filter(|w| w.contains(rule)).cloned().collect()
}

/// Item 1: the suspension starting on the last day counts, so the decision on 03-08 17:00 is
/// on time: no promised_limit_passed.
#[test]
fn issue10_item1_no_warning_for_a_decision_in_time_after_a_last_day_suspension() {
    let mut story = accepted_monday();
    story.push((
        "2024-03-06 11:00",
        suspension(
            Some(SuspensionKind::ExpertReview),
            "expert review",
            "2024-03-08 17:00",
        ),
    ));
    story.push(("2024-03-08 16:00", plain("suspension_ended")));
    story.push(("2024-03-08 17:00", approval()));
    let got = warnings(
        promised_two(),
        defaults(),
        &records(story),
        "2024-03-20 00:00",
    );
    assert!(fired(&got, "promised_limit_passed").is_empty(), "{got:#?}");
}

/// Item 2: the extension after the promised limit passed does not revive it: the limit passed
/// warning stands, and the late extension is an extension-abuse anomaly.
#[test]
fn issue10_item2_a_late_extension_is_extension_abuse_and_the_limit_stays_passed() {
    let mut story = accepted_monday();
    story.push((
        "2024-03-11 15:00",
        extension(10, "head", "site visit needed"),
    ));
    story.push(("2024-03-12 10:00", approval()));
    let got = warnings(
        promised_two(),
        defaults(),
        &records(story),
        "2024-03-20 00:00",
    );
    let abuse = fired(&got, "extension_abuse");
    assert_eq!(
        abuse,
        vec![
            "2024-03-11 15:00 extension_abuse yellow_card (default): the extension of 10 working \
             days on 2024-03-11 15:00 came after the promised limit passed on 2024-03-06 24:00, \
             though it must be approved within the limit (ALL Art. 42)"
                .to_owned()
        ],
        "{got:#?}"
    );
    assert_eq!(fired(&got, "promised_limit_passed").len(), 1, "{got:#?}");
    assert!(fired(&got, "statutory_limit_passed").is_empty(), "{got:#?}");
}

/// An extension in time is no abuse (the counterpart of item 2).
#[test]
fn issue10_item2_an_extension_within_the_limit_is_no_abuse() {
    let mut story = accepted_monday();
    story.push((
        "2024-03-06 15:00",
        extension(10, "head", "site visit needed"),
    ));
    story.push(("2024-03-12 10:00", approval()));
    let got = warnings(
        promised_two(),
        defaults(),
        &records(story),
        "2024-03-20 00:00",
    );
    assert!(fired(&got, "extension_abuse").is_empty(), "{got:#?}");
    assert!(fired(&got, "promised_limit_passed").is_empty(), "{got:#?}");
}

/// Item 3: a suspension after the due and a later extension change nothing: the promised limit
/// passed on 03-06 and the decision on 03-19 is late.
#[test]
fn issue10_item3_events_out_of_order_do_not_hide_a_passed_limit() {
    let mut story = accepted_monday();
    story.push(("2024-03-08 10:00", testing("2024-03-15 17:00")));
    story.push(("2024-03-15 16:00", plain("suspension_ended")));
    story.push((
        "2024-03-18 10:00",
        extension(10, "head", "site visit needed"),
    ));
    story.push(("2024-03-19 10:00", approval()));
    let got = warnings(
        promised_two(),
        defaults(),
        &records(story),
        "2024-03-25 00:00",
    );
    assert_eq!(fired(&got, "promised_limit_passed").len(), 1, "{got:#?}");
    assert_eq!(fired(&got, "extension_abuse").len(), 1, "{got:#?}");
}
