//! The rule configuration through the API (`GetRuleConfig`, `UpdateRuleConfig`), on PostgreSQL
//! and on SQLite: a change of a department's reminder threshold moves the due instants of its
//! open cases, and the reminder then arrives at the new instant; closed cases and other
//! departments are untouched; a bad configuration is INVALID_ARGUMENT naming the field; a stale
//! version is ABORTED.
//!
//! Times are local (Asia/Shanghai); March 2024 has no holidays. The matter promises 10 working
//! days: accepted Mon 03-04, the promised deadline is 03-18 24:00.

use egov_approval::testing::fixtures::*;
use egov_domain::calendar::CalendarId;
use egov_domain::ids::{DepartmentCode, MatterCode};
use egov_domain::limit::Limit;
use egov_domain::matter::{Matter, MatterKind};
use egov_domain::rules::RuleConfig;
use egov_proto::approval::v1 as apb;
use egov_proto::supervision::v1 as spb;
use egov_store::Backend;
use egov_tests::*;
use tonic::Code;

const M: &str = "M-CFG";
const DEPT: &str = "market";
const OTHER_DEPT: &str = "transport";
const REMINDER: &str = "approaching:promised";

fn the_matter() -> apb::Matter {
    (&Matter {
        code: MatterCode::parse(M).expect("code"),
        name: "street stall licence".into(),
        department: DepartmentCode::parse(DEPT).expect("department"),
        region: None,
        kind: MatterKind::Promised,
        statutory_limit: Limit::working_days(20),
        promised_limit: Limit::working_days(10),
        step_limits: vec![],
        fee_items: vec![],
        suspension_kinds: vec![],
        calendar: CalendarId::parse("cn").expect("calendar"),
    })
        .into()
}

fn opened_in(case: &str, dept: &str) -> Vec<apb::Record> {
    vec![
        rec(case, 1, "2024-03-04 09:00", application(M, dept, REGION)),
        rec(case, 2, "2024-03-04 10:00", acceptance()),
    ]
}

fn reminder_of(due: &[(String, chrono::DateTime<chrono::Utc>)]) -> Option<String> {
    due.iter()
        .find(|(clock, _)| clock == REMINDER)
        .map(|(_, t)| local_text(*t))
}

async fn update(
    w: &mut Platforms,
    change: apb::update_rule_config_request::Change,
    expected_version: Option<i64>,
) -> Result<apb::UpdateRuleConfigResponse, tonic::Status> {
    w.approval
        .client
        .update_rule_config(apb::UpdateRuleConfigRequest {
            change: Some(change),
            expected_version,
        })
        .await
        .map(tonic::Response::into_inner)
}

fn department(code: &str, json: &str) -> apb::update_rule_config_request::Change {
    apb::update_rule_config_request::Change::Department(apb::LayerChange {
        code: code.into(),
        overrides_json: json.into(),
    })
}

async fn a_department_threshold_change_moves_its_open_cases_reminders(backend: Backend) {
    let mut w = Platforms::start_with(
        backend,
        "2024-03-04 10:00",
        RuleConfig::default(),
        vec![the_matter()],
    )
    .await;
    // Two open market cases, one open transport case, one closed (completed) market case.
    let mut records = opened_in("CFG-OPEN-1", DEPT);
    records.extend(opened_in("CFG-OPEN-2", DEPT));
    records.extend(opened_in("CFG-OTHER", OTHER_DEPT));
    records.extend(opened_in("CFG-CLOSED", DEPT));
    records.push(rec("CFG-CLOSED", 3, "2024-03-04 10:10", decision(true)));
    records.push(rec("CFG-CLOSED", 4, "2024-03-04 10:20", completion()));
    w.push_at("2024-03-04 10:30", records).await;
    w.quiet().await;

    let before_open = w.stored_due("CFG-OPEN-1").await;
    let before_other = w.stored_due("CFG-OTHER").await;
    let before_closed = w.stored_due("CFG-CLOSED").await;
    // The default: at most 2 working days before 03-18 24:00.
    assert_eq!(
        reminder_of(&before_open).as_deref(),
        Some("2024-03-14 00:00")
    );

    let got = w
        .approval
        .client
        .get_rule_config(apb::GetRuleConfigRequest {})
        .await
        .expect("get")
        .into_inner();
    assert_eq!(got.version, 0, "nothing stored yet");

    // The market department is reminded 5 working days ahead.
    let answer = update(
        &mut w,
        department(DEPT, r#"{"approaching": {"working_days": 5}}"#),
        Some(0),
    )
    .await
    .expect("the change is accepted");
    let config = answer.config.expect("config");
    assert_eq!(config.version, 1);
    assert!(
        config.config_json.contains("\"working_days\": 5"),
        "{}",
        config.config_json
    );
    assert_eq!(answer.recomputed_cases, 2, "the two open market cases");

    let after_open = w.stored_due("CFG-OPEN-1").await;
    assert_eq!(
        reminder_of(&after_open).as_deref(),
        Some("2024-03-11 00:00")
    );
    assert_eq!(
        reminder_of(&w.stored_due("CFG-OPEN-2").await).as_deref(),
        Some("2024-03-11 00:00")
    );
    // Only the reminder moved.
    let without = |due: &[(String, chrono::DateTime<chrono::Utc>)]| {
        due.iter()
            .filter(|(c, _)| c != REMINDER)
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(without(&after_open), without(&before_open));
    assert_eq!(w.stored_due("CFG-OTHER").await, before_other);
    assert_eq!(w.stored_due("CFG-CLOSED").await, before_closed);

    // The stored configuration is what GetRuleConfig answers.
    let got = w
        .approval
        .client
        .get_rule_config(apb::GetRuleConfigRequest {})
        .await
        .expect("get")
        .into_inner();
    assert_eq!(got, config);

    // The reminders arrive at the new instant, and not a minute earlier.
    let first = w.arrives_at("2024-03-11 00:00").await;
    let second = w.next().await;
    let mut cases = vec![first.case_no.clone(), second.case_no.clone()];
    cases.sort();
    assert_eq!(cases, ["CFG-OPEN-1", "CFG-OPEN-2"]);
    w.quiet().await;
    // The other department's reminder stays where it was.
    let other = w.arrives_at("2024-03-14 00:00").await;
    assert_eq!(other.case_no, "CFG-OTHER");
    w.quiet().await;
}

async fn a_bad_configuration_names_the_field(backend: Backend) {
    let mut w = Platforms::start_with(
        backend,
        "2024-03-04 10:00",
        RuleConfig::default(),
        vec![the_matter()],
    )
    .await;
    let status = update(
        &mut w,
        department(DEPT, r#"{"approaching": {"working_days": 0}}"#),
        None,
    )
    .await
    .expect_err("refused");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(
        status
            .message()
            .contains("department.overrides_json.approaching.working_days"),
        "{}",
        status.message()
    );
    let status = update(
        &mut w,
        apb::update_rule_config_request::Change::ConfigJson(
            r#"{"matters": {"M-CFG": {"max_extensions": 2}}}"#.into(),
        ),
        None,
    )
    .await
    .expect_err("refused");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(
        status
            .message()
            .contains("config_json.matters.M-CFG.max_extensions"),
        "{}",
        status.message()
    );
    // Nothing was stored.
    assert_eq!(w.store.get_rule_config().await.expect("get"), None);
}

async fn a_stale_version_is_aborted(backend: Backend) {
    let mut w = Platforms::start_with(
        backend,
        "2024-03-04 10:00",
        RuleConfig::default(),
        vec![the_matter()],
    )
    .await;
    let defaults = apb::update_rule_config_request::Change::DefaultsJson(
        r#"{"approaching": {"working_days": 3}}"#.into(),
    );
    let first = update(&mut w, defaults.clone(), Some(0))
        .await
        .expect("first change");
    assert_eq!(first.config.expect("config").version, 1);
    let status = update(&mut w, defaults, Some(0))
        .await
        .expect_err("a change made against version 0");
    assert_eq!(status.code(), Code::Aborted, "{status:?}");
    assert!(
        status.message().contains("version 1"),
        "{}",
        status.message()
    );
}

/// The --rules file given at start wins and is recorded as a new version; without one, the
/// stored configuration is in force.
async fn the_start_file_wins_and_is_recorded(backend: Backend) {
    let store = egov_platform::testing::fresh_store(backend).await;
    let adopt = egov_approval::rule_config::adopt;
    assert_eq!(adopt(&store, None).await.expect("adopt").0, 0);
    let file: RuleConfig =
        serde_json::from_str(r#"{"defaults": {"max_suspensions": 3}}"#).expect("config");
    let (version, config) = adopt(&store, Some(file.clone())).await.expect("adopt");
    assert_eq!((version, &config), (1, &file));
    // The same file again: no new version.
    assert_eq!(adopt(&store, Some(file.clone())).await.expect("adopt").0, 1);
    // Without a file: the stored one.
    assert_eq!(adopt(&store, None).await.expect("adopt"), (1, file));
    // Another file wins.
    let (version, config) = adopt(&store, Some(RuleConfig::default()))
        .await
        .expect("adopt");
    assert_eq!((version, config), (2, RuleConfig::default()));
}

/// A level changed through the approval platform's API reaches the supervision platform from
/// the shared database: a supervision platform that started with the defaults raises the
/// market's promised-limit card as the red card its department's configuration says, and the
/// warning names that configuration.
async fn the_supervision_takes_up_a_stored_configuration(backend: Backend) {
    let mut w = Platforms::start_with(
        backend,
        "2024-03-04 10:00",
        RuleConfig::default(),
        vec![the_matter()],
    )
    .await;
    w.stop_supervision().await;
    update(
        &mut w,
        department(
            DEPT,
            r#"{ "levels": { "promised_limit_passed": "red_card" } }"#,
        ),
        None,
    )
    .await
    .expect("the market's level is stored");
    w.start_supervision().await;
    w.push_at("2024-03-04 10:30", opened_in("CFG-LEVEL", DEPT))
        .await;
    // Accepted 03-04, 10 working days: due 03-18 24:00.
    w.arrives_at("2024-03-14 00:00").await;
    let card = w.arrives_at("2024-03-19 00:00").await;
    assert_eq!(card.rule(), spb::WarningRule::PromisedLimitPassed);
    assert_eq!(card.level(), spb::WarningLevel::RedCard);
    assert!(
        card.message.contains("department:market"),
        "{}",
        card.message
    );
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
    a_department_threshold_change_moves_its_open_cases_reminders,
    a_bad_configuration_names_the_field,
    a_stale_version_is_aborted,
    the_start_file_wins_and_is_recorded,
    the_supervision_takes_up_a_stored_configuration,
);
