//! What a supervision warning is (docs/design.md §3): the [`Rule`] that raised it, its [`Level`],
//! and the [`WarningDraft`] the rules hand to the platforms before it is stored (one warning per
//! case, rule and level). The rules themselves, one module each with its source, live in
//! [`crate::rules`]; the functions at the end of this file are the deadline rules' entry points
//! with the default configuration, kept here because the services call them by these paths.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};

use crate::clock::ClockView;
use crate::ids::EventId;
use crate::rules::{self, ConfigSource, EffectiveRules};

/// The supervision rules of docs/design.md §3, named as in the configuration file and on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    ApproachingDeadline,
    PromisedLimitPassed,
    StatutoryLimitPassed,
    AcceptanceOverdue,
    StepOverdue,
    RepeatedCorrection,
    MissingReasons,
    SuspensionAbuse,
    ExtensionAbuse,
    IrregularFee,
    ProcedureAnomaly,
    CertificateOverdue,
    /// Not a rule of the law: a hash chain broke (docs/design.md §9).
    Integrity,
    /// A complaint's deadline passed: the office's acceptance decision, or the department's
    /// report (docs/design.md §3.3, `crate::complaint::clock`).
    ComplaintOverdue,
}

impl Rule {
    pub const ALL: [Rule; 14] = [
        Rule::ApproachingDeadline,
        Rule::PromisedLimitPassed,
        Rule::StatutoryLimitPassed,
        Rule::AcceptanceOverdue,
        Rule::StepOverdue,
        Rule::RepeatedCorrection,
        Rule::MissingReasons,
        Rule::SuspensionAbuse,
        Rule::ExtensionAbuse,
        Rule::IrregularFee,
        Rule::ProcedureAnomaly,
        Rule::CertificateOverdue,
        Rule::Integrity,
        Rule::ComplaintOverdue,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Rule::ApproachingDeadline => "approaching_deadline",
            Rule::PromisedLimitPassed => "promised_limit_passed",
            Rule::StatutoryLimitPassed => "statutory_limit_passed",
            Rule::AcceptanceOverdue => "acceptance_overdue",
            Rule::StepOverdue => "step_overdue",
            Rule::RepeatedCorrection => "repeated_correction",
            Rule::MissingReasons => "missing_reasons",
            Rule::SuspensionAbuse => "suspension_abuse",
            Rule::ExtensionAbuse => "extension_abuse",
            Rule::IrregularFee => "irregular_fee",
            Rule::ProcedureAnomaly => "procedure_anomaly",
            Rule::CertificateOverdue => "certificate_overdue",
            Rule::Integrity => "integrity",
            Rule::ComplaintOverdue => "complaint_overdue",
        }
    }

    pub fn parse(name: &str) -> Option<Rule> {
        Self::ALL.into_iter().find(|r| r.as_str() == name)
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How serious a warning is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// 提醒: a heads-up before a limit passes.
    Reminder,
    /// 黄牌: a breach the department must explain or correct.
    YellowCard,
    /// 红牌: a serious breach (statutory limit, irregular fee, an ignored yellow card).
    RedCard,
}

impl Level {
    pub const ALL: [Level; 3] = [Level::Reminder, Level::YellowCard, Level::RedCard];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Reminder => "reminder",
            Level::YellowCard => "yellow_card",
            Level::RedCard => "red_card",
        }
    }

    pub fn parse(name: &str) -> Option<Level> {
        Self::ALL.into_iter().find(|l| l.as_str() == name)
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a warning's `detail` column holds (JSON), written and read only through this type:
/// the words of the warning and where they came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarningDetail {
    /// The warning in words.
    #[serde(default, deserialize_with = "text")]
    pub message: String,
    /// The configuration that decided it (`default`, `department:market`, `matter:...`).
    #[serde(default, deserialize_with = "text")]
    pub config: String,
    /// The key of the due instant or clock it is about (`promised`, `approaching:promised`,
    /// `step:review`); none for a rule of the record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock: Option<String>,
    /// The explanation of that clock's deadline, as the case's view gave it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explanation: Option<String>,
    /// Whether that deadline was provisional; written by the deadline rules only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisional: Option<bool>,
    /// The record that raised it, for a rule of the record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// For the red card a yellow card's passed correction due raised: that yellow card's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub yellow_card: Option<i64>,
    /// Set when the warning was withdrawn: the record that disproved its ground.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawal: Option<Withdrawal>,
}

/// Why a warning was withdrawn ([`crate::rules::withdrawal`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Withdrawal {
    /// The record that disproved the warning's ground (for the red card of a withdrawn yellow
    /// card, the record that disproved the yellow card's).
    #[serde(default, deserialize_with = "text")]
    pub event_id: String,
    /// The reason, as stored in the warning's history.
    #[serde(default, deserialize_with = "text")]
    pub reason: String,
}

/// A text field of a stored detail; a null (written by older builds) reads as empty.
fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

impl WarningDetail {
    /// The JSON the `detail` column stores.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    /// The detail a stored `detail` column holds; one that does not have this shape reads as
    /// empty (the warning still shows, without words).
    pub fn from_json(json: &serde_json::Value) -> Self {
        Self::deserialize(json).unwrap_or_default()
    }
}

/// A warning the rules decided to raise, before it is stored (and deduplicated by
/// case, rule and level).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarningDraft {
    /// Which rule of docs/design.md §3 fired.
    pub rule: Rule,
    /// How serious it is, as the effective configuration says for the rule.
    pub level: Level,
    /// The due instant that fired it (`promised`, `approaching:promised`, `step:review`,
    /// `suspension:planned_end`), for time rules; None for record rules.
    pub clock: Option<String>,
    /// The instant the warning is about: the deadline concerned for time rules (a clock's
    /// deadline, also for the reminder before it; a suspension's planned end), the record's
    /// `occurred_at` for record rules.
    pub due_at: DateTime<Utc>,
    /// What happened, in English, naming the facts (which fee item, how much against which
    /// maximum, which step, which deadline and how it was computed).
    pub message: String,
    /// The record that fired it, for record rules (and refused records).
    pub event_id: Option<EventId>,
    /// Which configuration decided the warning: the most specific source among the level and
    /// the thresholds the rule used (`default`, `department:market`, `matter:M-001`).
    pub config: ConfigSource,
}

/// The deadline rule a due instant belongs to, by its key, at the default level (docs/design.md
/// §3). See [`rules::rule_for_key`] for the keys; the level a deployment uses is configuration
/// ([`EffectiveRules::level`]).
pub fn deadline_rule(clock_key: &str) -> Option<(Rule, Level)> {
    let rule = rules::rule_for_key(clock_key)?;
    Some((rule, rules::default_level(rule)))
}

/// The warning raised when the stored due instant `key` of a case arrives, with the default
/// configuration: [`rules::on_stored_due`] with [`EffectiveRules::defaults`], from the
/// clock's explanation alone.
pub fn warning_for_due(
    key: &str,
    due_at: DateTime<Utc>,
    explanation: &str,
) -> Option<WarningDraft> {
    rules::stored_due(
        key,
        due_at,
        explanation,
        None,
        crate::local::china_offset(),
        &EffectiveRules::defaults(),
    )
}

/// Warnings for clocks that stopped after their due instant, with the default configuration:
/// [`rules::on_late_clocks`] with [`EffectiveRules::defaults`].
pub fn warnings_for_late_clocks(clocks: &[ClockView]) -> Vec<WarningDraft> {
    rules::on_late_clocks(clocks, &EffectiveRules::defaults())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_warning_detail_round_trips_and_reads_old_or_odd_columns() {
        let full = WarningDetail {
            message: "m".into(),
            config: "department:market".into(),
            clock: Some("approaching:promised".into()),
            explanation: Some("e".into()),
            provisional: Some(false),
            event_id: Some("ev-1".into()),
            yellow_card: Some(7),
            withdrawal: Some(Withdrawal {
                event_id: "ev-2".into(),
                reason: "r".into(),
            }),
        };
        assert_eq!(WarningDetail::from_json(&full.to_json()), full);
        let bare = WarningDetail {
            message: "m".into(),
            ..WarningDetail::default()
        };
        assert_eq!(
            bare.to_json(),
            serde_json::json!({"message": "m", "config": ""})
        );
        let old =
            serde_json::json!({"message": "m", "config": null, "clock": null, "yellow_card": 3});
        assert_eq!(
            WarningDetail::from_json(&old),
            WarningDetail {
                message: "m".into(),
                yellow_card: Some(3),
                ..WarningDetail::default()
            }
        );
        assert_eq!(
            WarningDetail::from_json(&serde_json::json!({"message": 1})),
            WarningDetail::default()
        );
        assert_eq!(
            WarningDetail::from_json(&serde_json::json!({})),
            WarningDetail::default()
        );
    }

    #[test]
    fn names_round_trip() {
        for r in Rule::ALL {
            assert_eq!(Rule::parse(r.as_str()), Some(r));
        }
        for l in Level::ALL {
            assert_eq!(Level::parse(l.as_str()), Some(l));
        }
    }

    #[test]
    fn each_deadline_clock_has_its_rule_and_level() {
        let cases = [
            ("acceptance", Rule::AcceptanceOverdue, Level::YellowCard),
            (
                "approaching:promised",
                Rule::ApproachingDeadline,
                Level::Reminder,
            ),
            (
                "approaching:immediate",
                Rule::ApproachingDeadline,
                Level::Reminder,
            ),
            ("promised", Rule::PromisedLimitPassed, Level::YellowCard),
            ("immediate", Rule::PromisedLimitPassed, Level::YellowCard),
            ("statutory", Rule::StatutoryLimitPassed, Level::RedCard),
            ("certificate", Rule::CertificateOverdue, Level::YellowCard),
            ("step:review", Rule::StepOverdue, Level::Reminder),
        ];
        for (key, rule, level) in cases {
            assert_eq!(deadline_rule(key), Some((rule, level)), "{key}");
        }
        assert_eq!(deadline_rule("unknown"), None);
    }

    #[test]
    fn a_due_warning_says_what_passed_and_why() {
        let due: DateTime<Utc> = "2024-03-15T16:00:00Z".parse().unwrap();
        let w = warning_for_due("statutory", due, "accepted 2024-02-08 ...").unwrap();
        assert_eq!(
            w.message,
            "the statutory limit passed: accepted 2024-02-08 ..."
        );
        let w = warning_for_due("approaching:promised", due, "x").unwrap();
        assert_eq!(w.message, "the promised limit is near: x");
    }
}
