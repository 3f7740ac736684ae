//! Supervision warnings (DESIGN §3): the rules, their levels, and the deadline rules that turn
//! a clock's due instant into a warning. Each rule is named after the rule in DESIGN §3 and
//! cites its source. The record rules (step limits, fees, suspensions ...) join this module as
//! they are built.

use std::fmt;

use chrono::{DateTime, Utc};

use crate::clock::ClockView;

/// The supervision rules of DESIGN §3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
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
}

impl Rule {
    pub const ALL: [Rule; 12] = [
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
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

/// A warning the rules decided to raise, before it is stored (and deduplicated by
/// case, rule and level).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarningDraft {
    pub rule: Rule,
    pub level: Level,
    /// The clock that fired it (`promised`, `step:review`), when a clock did.
    pub clock: Option<String>,
    /// The instant the rule became due.
    pub due_at: DateTime<Utc>,
    /// What happened, for the supervisor.
    pub message: String,
}

/// The deadline rule a clock's due instant belongs to, by the clock's key.
///
/// - `acceptance`: acceptance overdue, no decision 5 working days after receipt (ALL Art. 32).
/// - `approaching:*`: approaching deadline, a reminder before the promised limit (city practice).
/// - `promised` / `immediate`: promised limit passed (the department's public commitment).
/// - `statutory`: statutory limit passed (ALL Arts. 42-43).
/// - `certificate`: certificate overdue, 10 working days after approval (ALL Art. 44).
/// - `step:*`: step overdue, a step beyond its own limit (city practice).
pub fn deadline_rule(clock_key: &str) -> Option<(Rule, Level)> {
    let rule = match clock_key {
        "acceptance" => (Rule::AcceptanceOverdue, Level::YellowCard),
        "promised" | "immediate" => (Rule::PromisedLimitPassed, Level::YellowCard),
        "statutory" => (Rule::StatutoryLimitPassed, Level::RedCard),
        "certificate" => (Rule::CertificateOverdue, Level::YellowCard),
        k if k.starts_with("approaching:") => (Rule::ApproachingDeadline, Level::Reminder),
        k if k.starts_with("step:") => (Rule::StepOverdue, Level::Reminder),
        _ => return None,
    };
    Some(rule)
}

fn clock_phrase(key: &str) -> String {
    match key {
        "acceptance" => "acceptance decision deadline".to_owned(),
        "promised" => "promised limit".to_owned(),
        "immediate" => "same-day limit of an immediate item".to_owned(),
        "statutory" => "statutory limit".to_owned(),
        "certificate" => "certificate deadline".to_owned(),
        k => match k.strip_prefix("step:") {
            Some(step) => format!("limit of step {step:?}"),
            None => k.to_owned(),
        },
    }
}

/// The warning raised when the due instant `key` of a running clock arrives.
pub fn warning_for_due(
    key: &str,
    due_at: DateTime<Utc>,
    explanation: &str,
) -> Option<WarningDraft> {
    let (rule, level) = deadline_rule(key)?;
    let message = match key.strip_prefix("approaching:") {
        Some(clock) => format!("the {} is near: {explanation}", clock_phrase(clock)),
        None => format!("the {} passed: {explanation}", clock_phrase(key)),
    };
    Some(WarningDraft {
        rule,
        level,
        clock: Some(key.to_owned()),
        due_at,
        message,
    })
}

/// Warnings for clocks that stopped after their due instant: a case completed late, or pushed
/// late after its deadlines had already passed, still gets its warnings (at once).
pub fn warnings_for_late_clocks(clocks: &[ClockView]) -> Vec<WarningDraft> {
    clocks
        .iter()
        .filter(|c| c.status == "stopped_late")
        .filter_map(|c| {
            let (rule, level) = deadline_rule(&c.key)?;
            let stopped = c
                .stopped_at
                .map(|at| format!(" (stopped at {})", at.format("%Y-%m-%d %H:%M UTC")))
                .unwrap_or_default();
            Some(WarningDraft {
                rule,
                level,
                clock: Some(c.key.clone()),
                due_at: c.due_at,
                message: format!(
                    "the {} passed{stopped}: {}",
                    clock_phrase(&c.key),
                    c.explanation
                ),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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
