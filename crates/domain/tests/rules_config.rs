//! The rules' configuration: the documented example file is the built-in default, layers
//! resolve matter over department over default with their sources, invalid values are refused
//! with their paths, and the effective reminder threshold moves due instants.

mod support;

use egov_domain::calendar::Calendar;
use egov_domain::case::Case;
use egov_domain::clock::{ClockView, clocks, due_instants};
use egov_domain::ids::{DepartmentCode, MatterCode};
use egov_domain::limit::Limit;
use egov_domain::matter::MatterKind;
use egov_domain::rules::{
    self, ConfigSource, DueScope, EffectiveRules, Level, Rule, RuleConfig, RuleConfigSpec,
    RuleOverrides, strip_json_comments,
};
use egov_domain::warning::warning_for_due;
use support::{at, matter, story};

const EXAMPLE: &str = include_str!("../data/rules.example.json");

fn parse(json: &str) -> Result<RuleConfig, String> {
    serde_json::from_str::<RuleConfig>(&strip_json_comments(json)).map_err(|e| e.to_string())
}

fn dept(code: &str) -> DepartmentCode {
    DepartmentCode::parse(code).unwrap()
}

fn code(code: &str) -> MatterCode {
    MatterCode::parse(code).unwrap()
}

#[test]
fn the_example_file_documents_exactly_the_built_in_defaults() {
    let config = parse(EXAMPLE).expect("the example parses");
    let effective = config.effective(&code("M-001"), &dept("market"));
    assert_eq!(effective, EffectiveRules::defaults());
    // Every value written out in the file is the built-in one, so every source is "default".
    let json = serde_json::to_value(&effective).unwrap();
    let text = json.to_string();
    assert!(
        !text.contains("department:") && !text.contains("matter:"),
        "{text}"
    );
    // Every rule's level is written out.
    let spec = config.spec();
    assert_eq!(spec.defaults.levels.len(), Rule::ALL.len());
    for rule in Rule::ALL {
        assert_eq!(spec.defaults.levels[&rule], rules::default_level(rule));
    }
    // And an empty file means the same.
    assert_eq!(
        parse("{}")
            .unwrap()
            .effective(&code("M-001"), &dept("market")),
        effective
    );
}

#[test]
fn a_configuration_round_trips_through_json() {
    let config = parse(EXAMPLE).unwrap();
    let json = serde_json::to_string(&config).unwrap();
    assert_eq!(parse(&json).unwrap(), config);
}

#[test]
fn matter_beats_department_beats_default_field_by_field() {
    let config = parse(
        r#"{
            // the whole city reminds three working days ahead
            "defaults": {"approaching": {"working_days": 3}},
            "departments": {
                "market": {
                    "approaching": {"working_days": 4},
                    "max_suspensions": 4,
                    "levels": {"irregular_fee": "yellow_card"}
                }
            },
            "matters": {
                "M-001": {
                    "approaching": {"working_days": 5},
                    "extension_working_days": {"promised": 5}
                }
            }
        }"#,
    )
    .unwrap();
    let d = ConfigSource::Default;
    let market = ConfigSource::Department(dept("market"));
    let m001 = ConfigSource::Matter(code("M-001"));
    let ten = Limit::working_days(10);

    let e = config.effective(&code("M-001"), &dept("market"));
    assert_eq!(
        (
            e.approaching_threshold(ten).value,
            e.approaching_threshold(ten).source
        ),
        (5, m001.clone())
    );
    assert_eq!(e.max_suspensions().value, 4);
    assert_eq!(e.max_suspensions().source, market);
    assert_eq!(e.level(Rule::IrregularFee).value, Level::YellowCard);
    assert_eq!(e.level(Rule::IrregularFee).source, market);
    assert_eq!(e.level(Rule::StepOverdue).source, d);
    let ext = e.extension_working_days(MatterKind::Promised);
    assert_eq!((ext.value, ext.source), (5, m001.clone()));
    let ext = e.extension_working_days(MatterKind::Joint);
    assert_eq!((ext.value, ext.source), (15, d.clone()));

    // Another matter of the same department: the department's values.
    let e = config.effective(&code("M-002"), &dept("market"));
    assert_eq!(e.approaching_threshold(ten).value, 4);
    assert_eq!(e.approaching_threshold(ten).source, market);

    // The matter in another department: the matter's threshold, the default's fee level.
    let e = config.effective(&code("M-001"), &dept("housing"));
    assert_eq!(e.approaching_threshold(ten).source, m001);
    assert_eq!(e.level(Rule::IrregularFee).value, Level::RedCard);
    assert_eq!(e.max_suspensions().value, 2);

    // Neither: the file's defaults, still "default".
    let e = config.effective(&code("M-002"), &dept("housing"));
    assert_eq!(
        (
            e.approaching_threshold(ten).value,
            e.approaching_threshold(ten).source
        ),
        (3, d)
    );
    // A short limit uses the short threshold, untouched by these layers.
    assert_eq!(e.approaching_threshold(Limit::working_days(3)).value, 1);
}

#[test]
fn every_invalid_value_is_refused_with_its_path() {
    let err = RuleConfig::new(
        serde_json::from_str::<RuleConfigSpec>(
            r#"{
                "defaults": {"approaching": {"working_days": 0}},
                "departments": {"market": {
                    "approaching": {"short_limit_working_days": 0, "short_limit_max_days": 4000},
                    "max_suspensions": 0
                }},
                "matters": {"M-001": {
                    "max_extensions": 2,
                    "extension_working_days": {"joint": 20, "immediate": 1, "promised": 10},
                    "correction_working_days": {"reminder": 1, "yellow_card": 0, "red_card": 5}
                }}
            }"#,
        )
        .unwrap(),
    )
    .unwrap_err();
    let got: Vec<String> = err.errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        got,
        [
            "defaults.approaching.working_days: must be at least 1: a reminder 0 working days \
             before the deadline would come only once the deadline has passed",
            "departments.market.approaching.short_limit_working_days: must be at least 1: a \
             reminder 0 working days before the deadline would come only once the deadline has \
             passed",
            "departments.market.approaching.short_limit_max_days: is more than 3650: not a \
             plausible number of days",
            "departments.market.max_suspensions: must be at least 1; to forbid suspensions for a \
             matter, list no suspension kinds in its catalogue entry",
            "matters.M-001.max_extensions: 2 is more than the law allows: a limit may be \
             extended once (ALL Art. 42)",
            "matters.M-001.extension_working_days.immediate: 1 is more than the law allows for \
             an immediate matter: at most 0 working days (ALL Art. 42)",
            "matters.M-001.extension_working_days.joint: 20 is more than the law allows for a \
             joint matter: at most 15 working days (ALL Art. 42)",
            "matters.M-001.correction_working_days.reminder: a reminder carries no correction \
             due; only yellow and red cards do",
            "matters.M-001.correction_working_days.yellow_card: must be at least 1 working day \
             to explain or correct",
        ]
    );
}

#[test]
fn a_file_with_an_invalid_value_or_an_unknown_name_does_not_parse() {
    let zero = parse(r#"{"defaults": {"approaching": {"working_days": 0}}}"#).unwrap_err();
    assert!(
        zero.contains("defaults.approaching.working_days: must be at least 1"),
        "{zero}"
    );
    for (json, expect) in [
        (
            r#"{"defaults": {"aproaching": {}}}"#,
            "unknown field `aproaching`",
        ),
        (
            r#"{"defaults": {"levels": {"late_fee": "red_card"}}}"#,
            "unknown variant `late_fee`",
        ),
        (
            r#"{"defaults": {"levels": {"irregular_fee": "black_card"}}}"#,
            "unknown variant `black_card`",
        ),
        (
            r#"{"defaults": {"extension_working_days": {"urgent": 1}}}"#,
            "unknown variant `urgent`",
        ),
        (r#"{"departments": {" market": {}}}"#, "blanks"),
        (r#"{"region": {}}"#, "unknown field `region`"),
    ] {
        let err = parse(json).unwrap_err();
        assert!(err.contains(expect), "{json}: {err}");
    }
}

#[test]
fn a_parse_error_points_into_the_commented_file() {
    // Line 3, after a comment line: the position survives the stripping of comments.
    let err =
        parse("{\n  // a comment\n  \"defaults\": {\"max_suspensions\": \"two\"}\n}").unwrap_err();
    assert!(err.contains("line 3"), "{err}");
}

#[test]
fn layers_are_set_through_the_api_validated_and_removed_when_empty() {
    let mut config = RuleConfig::default();
    let bad = RuleOverrides {
        max_extensions: Some(3),
        ..RuleOverrides::default()
    };
    let err = config.set_department(dept("market"), bad).unwrap_err();
    assert_eq!(err.errors[0].field, "max_extensions");
    assert_eq!(
        config,
        RuleConfig::default(),
        "a refused layer changes nothing"
    );

    let mut stricter = RuleOverrides::default();
    stricter.levels.insert(Rule::StepOverdue, Level::YellowCard);
    config.set_matter(code("M-001"), stricter).unwrap();
    let e = config.effective(&code("M-001"), &dept("market"));
    assert_eq!(e.level(Rule::StepOverdue).value, Level::YellowCard);
    config
        .set_matter(code("M-001"), RuleOverrides::default())
        .unwrap();
    assert_eq!(config, RuleConfig::default());
}

#[test]
fn only_reminder_thresholds_move_due_instants() {
    let base = parse(r#"{"departments": {"market": {"max_suspensions": 3}}}"#).unwrap();
    let levels = parse(
        r#"{"departments": {"market": {"max_suspensions": 4}},
            "matters": {"M-001": {"levels": {"step_overdue": "red_card"}}}}"#,
    )
    .unwrap();
    assert_eq!(base.due_scope_of_change(&levels), DueScope::Nothing);

    let dept_threshold = parse(
        r#"{"departments": {"market": {"max_suspensions": 3,
                                       "approaching": {"working_days": 3}}}}"#,
    )
    .unwrap();
    assert_eq!(
        base.due_scope_of_change(&dept_threshold),
        DueScope::Some {
            departments: [dept("market")].into(),
            matters: Default::default(),
        }
    );
    // Removing the layer again moves them back.
    assert_eq!(
        dept_threshold.due_scope_of_change(&base),
        DueScope::Some {
            departments: [dept("market")].into(),
            matters: Default::default(),
        }
    );
    let city = parse(r#"{"defaults": {"approaching": {"short_limit_max_days": 5}}}"#).unwrap();
    assert_eq!(base.due_scope_of_change(&city), DueScope::All);
}

#[test]
fn the_effective_threshold_moves_the_reminder_and_nothing_else() {
    // Accepted Monday 2024-03-04, promised 10 working days -> last day 03-18.
    let m = matter(MatterKind::Promised, 10, 20);
    let records = story(&[
        ("application", "2024-03-04 09:00"),
        ("acceptance", "2024-03-04 10:00"),
    ]);
    let case = Case::replay(&records.iter().collect::<Vec<_>>(), &m).unwrap();
    let cal = Calendar::china();
    let clocks = clocks(&case, &m, &cal);

    // Without overrides the configured instants are exactly the clock module's.
    let defaults = RuleConfig::default().effective(&case.matter_code, &case.department);
    assert_eq!(
        rules::due_instants(&case, &clocks, &cal, &defaults),
        due_instants(&clocks, &cal)
    );

    let config = parse(r#"{"matters": {"M-001": {"approaching": {"working_days": 4}}}}"#).unwrap();
    let effective = config.effective(&case.matter_code, &case.department);
    let got: Vec<_> = rules::due_instants(&case, &clocks, &cal, &effective)
        .into_iter()
        .map(|d| (d.clock, d.due_at))
        .collect();
    assert_eq!(
        got,
        [
            // Four working days left after the current day: 03-13, 03-14, 03-15, 03-18.
            ("approaching:promised".to_owned(), at("2024-03-12 00:00")),
            ("promised".to_owned(), at("2024-03-19 00:00")),
            ("statutory".to_owned(), at("2024-04-02 00:00")),
        ]
    );
    // The instant fires under the configuration that placed it, and an instant placed by the
    // old threshold is stale under the new one: judged from the case, it fires nothing.
    let w = rules::on_due(
        "approaching:promised",
        at("2024-03-12 00:00"),
        &case,
        &m,
        &cal,
        &effective,
    )
    .unwrap();
    assert_eq!(w.config, ConfigSource::Matter(code("M-001")));
    assert_eq!(w.due_at, at("2024-03-19 00:00"), "the deadline concerned");
    assert_eq!(
        rules::on_due(
            "approaching:promised",
            at("2024-03-12 00:00"),
            &case,
            &m,
            &cal,
            &defaults
        ),
        None
    );
}

#[test]
fn correction_dues_are_working_days_from_the_card() {
    let cal = Calendar::china();
    let e = EffectiveRules::defaults();
    // Raised Friday 2024-03-08: 03-11, 03-12, 03-13.
    let (due, source) = e
        .correction_due(Level::YellowCard, at("2024-03-08 10:00"), &cal)
        .unwrap();
    assert_eq!(due.due_at, at("2024-03-14 00:00"));
    assert_eq!(
        due.explanation,
        "yellow_card raised 2024-03-08, 3 working days -> due 2024-03-13 24:00"
    );
    assert_eq!(source, ConfigSource::Default);
    assert!(
        e.correction_due(Level::Reminder, at("2024-03-08 10:00"), &cal)
            .is_none()
    );
    let config =
        parse(r#"{"departments": {"market": {"correction_working_days": {"red_card": 1}}}}"#)
            .unwrap();
    let (due, source) = config
        .effective(&code("M-001"), &dept("market"))
        .correction_due(Level::RedCard, at("2024-03-08 10:00"), &cal)
        .unwrap();
    assert_eq!(due.due_at, at("2024-03-12 00:00"));
    assert_eq!(source, ConfigSource::Department(dept("market")));
}

fn view(key: &str, status: &str) -> ClockView {
    ClockView {
        key: key.into(),
        started_at: at("2024-03-04 10:00"),
        limit: Limit::working_days(10),
        suspended: 0,
        extension: 0,
        due_at: at("2024-03-19 00:00"),
        last_day: at("2024-03-18 12:00").date_naive(),
        status: status.into(),
        stopped_at: (status == "stopped_late").then(|| at("2024-03-20 10:00")),
        provisional: false,
        explanation: "accepted 2024-03-04, 10 working days -> due 2024-03-18 24:00".into(),
        not_before: None,
    }
}

#[test]
fn the_stored_instant_and_late_clock_paths_use_the_configuration_too() {
    let config = parse(
        r#"{"matters": {"M-001": {"levels": {"promised_limit_passed": "red_card"},
                                  "approaching": {"working_days": 3}}}}"#,
    )
    .unwrap();
    let e = config.effective(&code("M-001"), &dept("market"));
    let late = rules::on_late_clocks(
        &[
            view("promised", "stopped_late"),
            view("statutory", "running"),
        ],
        &e,
    );
    assert_eq!(late.len(), 1);
    assert_eq!(
        (late[0].rule, late[0].level, &late[0].config),
        (
            Rule::PromisedLimitPassed,
            Level::RedCard,
            &ConfigSource::Matter(code("M-001"))
        )
    );
    assert_eq!(
        late[0].message,
        "the promised limit passed (stopped at 2024-03-20 10:00): accepted 2024-03-04, 10 \
         working days -> due 2024-03-18 24:00"
    );
    let v = view("promised", "running");
    let reminder = rules::on_stored_due(
        "approaching:promised",
        v.due_at,
        Some(&v),
        v.utc_offset(),
        &e,
    )
    .unwrap();
    assert_eq!(reminder.config, ConfigSource::Matter(code("M-001")));
    assert_eq!(reminder.level, Level::Reminder);
    // The default-configuration wrapper the services call today words it the same way.
    let legacy = warning_for_due("approaching:promised", v.due_at, &v.explanation).unwrap();
    assert_eq!(legacy.message, reminder.message);
    assert_eq!(legacy.config, ConfigSource::Default);
    // The suspension's planned end fires from a stored instant too.
    let s = warning_for_due("suspension:planned_end", at("2024-03-11 17:00"), "").unwrap();
    assert_eq!(
        (s.rule, s.level),
        (Rule::SuspensionAbuse, Level::YellowCard)
    );
    assert_eq!(
        s.message,
        "a suspension is still open past its planned end 2024-03-11 17:00: the clocks stay \
         stopped until it ends (ALL Art. 45)"
    );
}
