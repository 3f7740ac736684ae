//! Every supervision rule of docs/design.md §3, end to end: one case story per rule, records in
//! over the approval platform's gRPC and warnings out of the supervisor's stream, on PostgreSQL and
//! on SQLite. Record rules fire when the record arrives (raised at the commit, no deadline); time
//! rules fire at their due instant, moved by the manual clock. A last story shows that a
//! department's configuration changes the outcome and that the warning names it.
//!
//! Times are local (Asia/Shanghai); March 2024 has no holidays. The story matter (M-RULES,
//! market department) promises 10 and the law allows 20 working days; its step "review" has a
//! limit of 2 working days; it may charge "inspection" up to 100.00 yuan; it allows testing
//! suspensions. A limit of N working days from day A ends at 24:00 of the N-th working day
//! after A.

use egov_approval::testing::fixtures::*;
use egov_domain::calendar::CalendarId;
use egov_domain::ids::{DepartmentCode, MatterCode};
use egov_domain::limit::Limit;
use egov_domain::matter::{FeeItem, Matter, MatterKind, StepLimit};
use egov_domain::money::Fen;
use egov_domain::record::{RecordBody, SuspensionKind};
use egov_domain::rules::{Level, Rule, RuleConfig, RuleConfigSpec, RuleOverrides};
use egov_proto::approval::v1 as apb;
use egov_proto::supervision::v1 as pb;
use egov_store::Backend;
use egov_tests::*;

const M: &str = "M-RULES";
const DEPT: &str = "market";
const OTHER_DEPT: &str = "transport";

fn rules_matter() -> apb::Matter {
    (&Matter {
        code: MatterCode::parse(M).expect("code"),
        name: "street stall licence".into(),
        department: DepartmentCode::parse(DEPT).expect("department"),
        region: None,
        kind: MatterKind::Promised,
        statutory_limit: Limit::working_days(20),
        promised_limit: Limit::working_days(10),
        step_limits: vec![StepLimit {
            step: "review".into(),
            limit: Limit::working_days(2),
        }],
        fee_items: vec![FeeItem {
            fee_item: "inspection".into(),
            name: "site inspection".into(),
            max: Fen::new(10_000).expect("fen"),
        }],
        suspension_kinds: vec![SuspensionKind::Testing],
        calendar: CalendarId::parse("cn").expect("calendar"),
    })
        .into()
}

async fn start(backend: Backend, now: &str) -> Platforms {
    start_with(backend, now, RuleConfig::default()).await
}

async fn start_with(backend: Backend, now: &str, rules: RuleConfig) -> Platforms {
    Platforms::start_with(backend, now, rules, vec![rules_matter()]).await
}

/// Received and accepted in `dept` at the two times.
fn opened_in(case: &str, dept: &str, received: &str, accepted: &str) -> Vec<apb::Record> {
    vec![
        rec(case, 1, received, application(M, dept, REGION)),
        rec(case, 2, accepted, acceptance()),
    ]
}

fn opened(case: &str, received: &str, accepted: &str) -> Vec<apb::Record> {
    opened_in(case, DEPT, received, accepted)
}

/// "C-1 step_overdue reminder, raised 2024-03-07 00:00": what fired, how seriously, when.
fn said(w: &pb::Warning) -> String {
    let rule = w.rule().as_str_name().trim_start_matches("WARNING_RULE_");
    let level = w.level().as_str_name().trim_start_matches("WARNING_LEVEL_");
    let what = format!("{rule} {level}").to_lowercase();
    format!("{} {what}, raised {}", w.case_no, local_text(raised_at(w)))
}

fn suspended(kind: Option<SuspensionKind>, reason: &str, planned_end: &str) -> RecordBody {
    RecordBody::SuspensionStarted {
        kind,
        reason: reason.into(),
        planned_end: local(planned_end),
        approver: "head-1".into(),
    }
}

/// Step overdue (city practice): "review" started Mon 03-04 11:00 with a limit of 2 working
/// days -> 03-06 24:00; the reminder comes then, not a minute earlier, with the deadline.
async fn a_step_past_its_own_limit_is_a_reminder(backend: Backend) {
    let mut w = start(backend, "2024-03-04 09:00").await;
    let c = "R-STEP";
    let mut records = opened(c, "2024-03-04 09:00", "2024-03-04 10:00");
    records.push(rec(c, 3, "2024-03-04 11:00", step_started("review")));
    w.push_at("2024-03-04 11:00", records).await;
    let warning = w.arrives_at("2024-03-07 00:00").await;
    assert_eq!(
        said(&warning),
        "R-STEP step_overdue reminder, raised 2024-03-07 00:00"
    );
    assert_eq!(deadline_text(due_at(&warning)), "2024-03-06 24:00");
    assert_eq!(warning.step, "review");
    assert!(warning.message.contains("review"), "{}", warning.message);
    w.quiet().await;
}

/// Repeated correction notice (ALL Art. 32, "tell everything once"): the second notice is a
/// yellow card at once.
async fn a_second_correction_notice_is_a_yellow_card(backend: Backend) {
    let mut w = start(backend, "2024-03-04 09:00").await;
    let c = "R-CORR";
    let notice = |m: &str| RecordBody::CorrectionNotice {
        materials: vec![m.into()],
        handler: "clerk-1".into(),
    };
    w.push_at(
        "2024-03-04 10:00",
        vec![
            rec(c, 1, "2024-03-04 09:00", application(M, DEPT, REGION)),
            rec(c, 2, "2024-03-04 10:00", notice("floor plan")),
        ],
    )
    .await;
    w.push_at(
        "2024-03-05 09:00",
        vec![rec(
            c,
            3,
            "2024-03-05 09:00",
            RecordBody::CorrectionReceived,
        )],
    )
    .await;
    w.quiet().await;
    w.push_at(
        "2024-03-05 10:00",
        vec![rec(c, 4, "2024-03-05 10:00", notice("fire permit"))],
    )
    .await;
    let warning = w.next().await;
    assert_eq!(
        said(&warning),
        "R-CORR repeated_correction yellow_card, raised 2024-03-05 10:00"
    );
    assert_eq!(warning.due_at, None, "a record rule has no deadline");
    assert!(
        warning.message.contains("2nd correction notice")
            && warning.message.contains("fire permit"),
        "{}",
        warning.message
    );
    w.quiet().await;
}

/// Refusal without reasons (ALL Art. 32): a yellow card when the refusal arrives.
async fn a_refusal_without_reasons_is_a_yellow_card(backend: Backend) {
    let mut w = start(backend, "2024-03-04 09:00").await;
    let c = "R-WHY";
    w.push_at(
        "2024-03-04 11:00",
        vec![
            rec(c, 1, "2024-03-04 09:00", application(M, DEPT, REGION)),
            rec(
                c,
                2,
                "2024-03-04 11:00",
                RecordBody::Refusal {
                    reason: " ".into(),
                    handler: "clerk-1".into(),
                },
            ),
        ],
    )
    .await;
    let warning = w.next().await;
    assert_eq!(
        said(&warning),
        "R-WHY missing_reasons yellow_card, raised 2024-03-04 11:00"
    );
    assert!(
        warning.message.contains("without reasons"),
        "{}",
        warning.message
    );
    w.quiet().await;
}

/// Suspension abuse (ALL Art. 45), three ways, a case each: a suspension with no kind and no
/// reason (at once), one still open at its planned end (at the planned end), and a third
/// suspension on one case (at once; two are allowed by default).
async fn suspensions_without_kind_overdue_or_too_many_are_yellow_cards(backend: Backend) {
    let mut w = start(backend, "2024-03-04 09:00").await;
    let mut bare = opened("R-SUS1", "2024-03-04 09:00", "2024-03-04 10:00");
    bare.push(rec(
        "R-SUS1",
        3,
        "2024-03-04 11:00",
        suspended(None, "", "2024-03-06 09:00"),
    ));
    w.push_at("2024-03-04 11:00", bare).await;
    let warning = w.next().await;
    assert_eq!(
        said(&warning),
        "R-SUS1 suspension_abuse yellow_card, raised 2024-03-04 11:00"
    );
    // It ends in time: its planned end raises nothing more.
    w.push_at(
        "2024-03-05 09:00",
        vec![rec("R-SUS1", 4, "2024-03-05 09:00", suspension_ended())],
    )
    .await;

    let mut late = opened("R-SUS2", "2024-03-04 09:00", "2024-03-04 10:00");
    late.push(rec(
        "R-SUS2",
        3,
        "2024-03-05 10:00",
        suspension("2024-03-08 09:00"),
    ));
    w.push_at("2024-03-05 10:00", late).await;
    let warning = w.arrives_at("2024-03-08 09:00").await;
    assert_eq!(
        said(&warning),
        "R-SUS2 suspension_abuse yellow_card, raised 2024-03-08 09:00"
    );
    assert_eq!(local_text(due_at(&warning)), "2024-03-08 09:00");

    let c = "R-SUS3";
    w.at("2024-03-11 09:00");
    w.push(opened(c, "2024-03-11 09:00", "2024-03-11 09:00"))
        .await;
    for (n, (start, end)) in [
        ("2024-03-11 10:00", "2024-03-11 11:00"),
        ("2024-03-11 12:00", "2024-03-11 13:00"),
    ]
    .into_iter()
    .enumerate()
    {
        let n = 3 + 2 * n as u32;
        w.push_at(end, vec![rec(c, n, start, suspension("2024-03-12 09:00"))])
            .await;
        w.push(vec![rec(c, n + 1, end, suspension_ended())]).await;
    }
    w.quiet().await;
    w.push_at(
        "2024-03-11 14:00",
        vec![rec(
            c,
            7,
            "2024-03-11 14:00",
            suspension("2024-03-12 09:00"),
        )],
    )
    .await;
    let warning = w.next().await;
    assert_eq!(
        said(&warning),
        "R-SUS3 suspension_abuse yellow_card, raised 2024-03-11 14:00"
    );
    assert!(warning.message.contains("3rd"), "{}", warning.message);
    w.quiet().await;
}

/// Extension abuse (ALL Art. 42): 12 working days on a promised matter, where 10 are allowed.
async fn an_extension_beyond_the_law_is_a_yellow_card(backend: Backend) {
    let mut w = start(backend, "2024-03-04 09:00").await;
    let c = "R-EXT";
    let mut records = opened(c, "2024-03-04 09:00", "2024-03-04 10:00");
    records.push(rec(
        c,
        3,
        "2024-03-06 10:00",
        RecordBody::Extension {
            working_days: 12,
            approver: "head-1".into(),
            reason: "expert review of the site".into(),
        },
    ));
    w.push_at("2024-03-06 10:00", records).await;
    let warning = w.next().await;
    assert_eq!(
        said(&warning),
        "R-EXT extension_abuse yellow_card, raised 2024-03-06 10:00"
    );
    assert!(
        warning.message.contains("12 working days"),
        "{}",
        warning.message
    );
    w.quiet().await;
}

/// Irregular fee (ALL Arts. 58-59): an item not in the catalogue, and an amount above the
/// catalogue's, each a red card when charged.
async fn fees_off_the_catalogue_or_above_it_are_red_cards(backend: Backend) {
    let mut w = start(backend, "2024-03-04 09:00").await;
    let mut off = opened("R-FEE1", "2024-03-04 09:00", "2024-03-04 10:00");
    off.push(rec("R-FEE1", 3, "2024-03-04 11:00", fee("sampling", 5_000)));
    w.push_at("2024-03-04 11:00", off).await;
    let warning = w.next().await;
    assert_eq!(
        said(&warning),
        "R-FEE1 irregular_fee red_card, raised 2024-03-04 11:00"
    );
    assert!(
        warning.message.contains("not in the catalogue"),
        "{}",
        warning.message
    );

    let mut above = opened("R-FEE2", "2024-03-04 09:00", "2024-03-04 10:00");
    above.push(rec(
        "R-FEE2",
        3,
        "2024-03-04 12:00",
        fee("inspection", 9_000),
    ));
    w.push_at("2024-03-04 12:00", above).await;
    w.quiet().await;
    w.push_at(
        "2024-03-04 13:00",
        vec![rec(
            "R-FEE2",
            4,
            "2024-03-04 13:00",
            fee("inspection", 2_000),
        )],
    )
    .await;
    let warning = w.next().await;
    assert_eq!(
        said(&warning),
        "R-FEE2 irregular_fee red_card, raised 2024-03-04 13:00"
    );
    assert!(
        warning.message.contains("above the catalogue"),
        "{}",
        warning.message
    );
    w.quiet().await;
}

/// Procedure anomaly: a decision before acceptance is refused by the approval platform AND
/// raised as a yellow card against the case.
async fn a_decision_before_acceptance_is_refused_and_an_anomaly(backend: Backend) {
    let mut w = start(backend, "2024-03-04 09:00").await;
    let c = "R-ORDER";
    w.push_at(
        "2024-03-04 09:00",
        vec![rec(c, 1, "2024-03-04 09:00", application(M, DEPT, REGION))],
    )
    .await;
    w.at("2024-03-04 10:00");
    let results = w
        .submit(vec![rec(c, 2, "2024-03-04 10:00", decision(true))])
        .await;
    assert_eq!(
        results[0].status(),
        apb::RecordStatus::Rejected,
        "{results:?}"
    );
    let warning = w.next().await;
    assert_eq!(
        said(&warning),
        "R-ORDER procedure_anomaly yellow_card, raised 2024-03-04 10:00"
    );
    assert!(
        warning.message.contains("out of order"),
        "{}",
        warning.message
    );
    // A resend of the refused record raises nothing new.
    w.submit(vec![rec(c, 2, "2024-03-04 10:00", decision(true))])
        .await;
    w.quiet().await;
}

/// Certificate overdue (ALL Art. 44): approved and completed Tue 03-05, no certificate 10
/// working days later (03-19 24:00): a yellow card then.
async fn no_certificate_ten_working_days_after_approval_is_a_yellow_card(backend: Backend) {
    let mut w = start(backend, "2024-03-04 09:00").await;
    let c = "R-CERT";
    let mut records = opened(c, "2024-03-04 09:00", "2024-03-04 10:00");
    records.push(rec(c, 3, "2024-03-05 10:00", decision(true)));
    records.push(rec(c, 4, "2024-03-05 10:30", completion()));
    w.push_at("2024-03-05 10:30", records).await;
    let warning = w.arrives_at("2024-03-20 00:00").await;
    assert_eq!(
        said(&warning),
        "R-CERT certificate_overdue yellow_card, raised 2024-03-20 00:00"
    );
    assert_eq!(deadline_text(due_at(&warning)), "2024-03-19 24:00");
    w.quiet().await;
}

/// A department's configuration: the market department allows one suspension per case and
/// makes suspension abuse a red card, and makes a step overdue a yellow card. A second
/// suspension in the market department is a red card naming `department:market`; the same in
/// the transport department (the defaults) raises nothing. The market's step overdue is a
/// yellow card that names its configuration too.
async fn a_department_configuration_changes_the_outcome_and_is_named(backend: Backend) {
    let market = RuleOverrides {
        max_suspensions: Some(1),
        levels: [
            (Rule::SuspensionAbuse, Level::RedCard),
            (Rule::StepOverdue, Level::YellowCard),
        ]
        .into(),
        ..RuleOverrides::default()
    };
    let rules = RuleConfig::new(RuleConfigSpec {
        departments: [(DepartmentCode::parse(DEPT).expect("department"), market)].into(),
        ..RuleConfigSpec::default()
    })
    .expect("a valid configuration");
    let mut w = start_with(backend, "2024-03-04 09:00", rules).await;
    for (c, dept) in [("R-CFG-M", DEPT), ("R-CFG-T", OTHER_DEPT)] {
        let mut records = opened_in(c, dept, "2024-03-04 09:00", "2024-03-04 09:30");
        records.extend([
            rec(c, 3, "2024-03-04 10:00", suspension("2024-03-05 09:00")),
            rec(c, 4, "2024-03-04 11:00", suspension_ended()),
        ]);
        w.push_at("2024-03-04 11:00", records).await;
    }
    w.quiet().await;
    for c in ["R-CFG-M", "R-CFG-T"] {
        w.push_at(
            "2024-03-04 12:00",
            vec![rec(
                c,
                5,
                "2024-03-04 12:00",
                suspension("2024-03-29 09:00"),
            )],
        )
        .await;
    }
    let warning = w.next().await;
    assert_eq!(
        said(&warning),
        "R-CFG-M suspension_abuse red_card, raised 2024-03-04 12:00"
    );
    assert!(
        warning
            .message
            .ends_with("(configuration: department:market)"),
        "{}",
        warning.message
    );
    w.quiet().await;

    // A time rule judged by the department's level: "review" started Tue 03-05 10:00 with
    // a limit of 2 working days -> 03-07 24:00.
    w.push_at(
        "2024-03-05 10:00",
        vec![
            rec("R-CFG-M", 6, "2024-03-05 09:00", suspension_ended()),
            rec("R-CFG-M", 7, "2024-03-05 10:00", step_started("review")),
        ],
    )
    .await;
    let warning = w.arrives_at("2024-03-08 00:00").await;
    assert_eq!(
        said(&warning),
        "R-CFG-M step_overdue yellow_card, raised 2024-03-08 00:00"
    );
    assert!(
        warning
            .message
            .ends_with("(configuration: department:market)"),
        "{}",
        warning.message
    );
    w.quiet().await;
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
    a_step_past_its_own_limit_is_a_reminder,
    a_second_correction_notice_is_a_yellow_card,
    a_refusal_without_reasons_is_a_yellow_card,
    suspensions_without_kind_overdue_or_too_many_are_yellow_cards,
    an_extension_beyond_the_law_is_a_yellow_card,
    fees_off_the_catalogue_or_above_it_are_red_cards,
    a_decision_before_acceptance_is_refused_and_an_anomaly,
    no_certificate_ten_working_days_after_approval_is_a_yellow_card,
    a_department_configuration_changes_the_outcome_and_is_named,
);
