//! Accountability decisions (责任追究, docs/design.md §3.4): what the supervision office records
//! against a department, or a person in it, for a red card or a substantiated complaint; which
//! grounds admit one ([`admissible`]); and the decision's fields, validated on creation
//! ([`Decision::parse`]). The scores count each decision against its department on the day it
//! is dated (`scores::Counters`, priced per measure by `scores::config::AccountabilityPoints`).

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::error::FieldError;
use crate::warning::Level;

/// The measure taken, lightest first: the accountability measures of the city's efficiency
/// supervision rules (机关效能问责) that a supervision office itself decides. Heavier
/// sanctions (停职检查, 免职, 党纪政务处分) are the appointing authority's or the discipline
/// inspection's, outside this platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// 诫勉谈话: a leader's admonishing talk with the person, put on file.
    AdmonitionTalk,
    /// 通报批评: criticism circulated to the units of the region.
    CirculatedCriticism,
    /// 效能告诫: a formal efficiency warning; its holder cannot be graded excellent that year.
    EfficiencyWarning,
    /// 调离岗位: removal from the post where the fault happened.
    RemovalFromPost,
}

impl Measure {
    pub const ALL: [Measure; 4] = [
        Measure::AdmonitionTalk,
        Measure::CirculatedCriticism,
        Measure::EfficiencyWarning,
        Measure::RemovalFromPost,
    ];

    /// Its stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Measure::AdmonitionTalk => "admonition_talk",
            Measure::CirculatedCriticism => "circulated_criticism",
            Measure::EfficiencyWarning => "efficiency_warning",
            Measure::RemovalFromPost => "removal_from_post",
        }
    }

    /// Its name in the city's documents.
    pub fn chinese(self) -> &'static str {
        match self {
            Measure::AdmonitionTalk => "诫勉谈话",
            Measure::CirculatedCriticism => "通报批评",
            Measure::EfficiencyWarning => "效能告诫",
            Measure::RemovalFromPost => "调离岗位",
        }
    }

    /// The measure named `name` (its English wire name or its Chinese name).
    pub fn parse(name: &str) -> Option<Measure> {
        let name = name.trim();
        Self::ALL
            .into_iter()
            .find(|m| m.as_str() == name || m.chinese() == name)
    }
}

impl fmt::Display for Measure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a decision is for: a warning (which must be a red card) or a complaint (which must be
/// closed as substantiated).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "id")]
pub enum Basis {
    Warning(i64),
    Complaint(i64),
}

impl Basis {
    /// The stored kind: `warning` or `complaint`.
    pub fn kind(self) -> &'static str {
        match self {
            Basis::Warning(_) => "warning",
            Basis::Complaint(_) => "complaint",
        }
    }

    pub fn id(self) -> i64 {
        match self {
            Basis::Warning(id) | Basis::Complaint(id) => id,
        }
    }
}

impl fmt::Display for Basis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind(), self.id())
    }
}

/// What the grounds of a decision are, as stored: the facts [`admissible`] judges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grounds<'a> {
    /// A warning: its stored level (`reminder`, `yellow_card`, `red_card`), its state, its department (empty
    /// for an office's own card) and the local day it was raised.
    Warning {
        level: &'a str,
        state: &'a str,
        department: &'a str,
        raised_on: NaiveDate,
    },
    /// A complaint: its state, its outcome once closed, and the local day it was closed.
    Complaint {
        state: &'a str,
        outcome: Option<&'a str>,
        closed_on: Option<NaiveDate>,
    },
}

/// Why a warning or complaint admits no accountability decision.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GroundsError {
    #[error("the warning is a {level}, not a red card: only a red card is grounds")]
    NotRedCard { level: String },
    #[error("the red card was withdrawn (its ground was disproved): it is grounds for nothing")]
    Withdrawn,
    #[error("the red card is a supervision office's own, of no department")]
    NoDepartment,
    #[error("the complaint is not closed as substantiated (it is {state})")]
    NotSubstantiated { state: String },
}

impl GroundsError {
    /// The `google.rpc.ErrorInfo` reason.
    pub fn reason(&self) -> &'static str {
        match self {
            GroundsError::NotRedCard { .. } => "NOT_RED_CARD",
            GroundsError::Withdrawn => "WARNING_WITHDRAWN",
            GroundsError::NoDepartment => "NO_DEPARTMENT",
            GroundsError::NotSubstantiated { .. } => "NOT_SUBSTANTIATED",
        }
    }
}

/// Whether `grounds` admit an accountability decision (DESIGN §4: one "may follow a red card
/// or a substantiated complaint"), and from which local day: a decision is not dated before
/// what it answers happened.
pub fn admissible(grounds: &Grounds<'_>) -> Result<NaiveDate, GroundsError> {
    match *grounds {
        Grounds::Warning {
            level,
            state,
            department,
            raised_on,
        } => {
            if level != Level::RedCard.as_str() {
                return Err(GroundsError::NotRedCard {
                    level: level.to_owned(),
                });
            }
            if state == "withdrawn" {
                return Err(GroundsError::Withdrawn);
            }
            if department.is_empty() {
                return Err(GroundsError::NoDepartment);
            }
            Ok(raised_on)
        }
        Grounds::Complaint {
            state,
            outcome,
            closed_on,
        } => match (state, outcome, closed_on) {
            ("closed", Some("substantiated"), Some(day)) => Ok(day),
            _ => Err(GroundsError::NotSubstantiated {
                state: match outcome {
                    Some(o) if state == "closed" => format!("closed as {o}"),
                    _ => state.to_owned(),
                },
            }),
        },
    }
}

/// Longest a person's name may be, in characters.
pub const MAX_PERSON: usize = 64;
/// Longest the grounds' text may be, in characters.
pub const MAX_GROUNDS: usize = 4_000;

/// An accountability decision, validated: who, which measure, dated when, on what grounds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// The person held accountable; None when it is the department itself.
    pub person: Option<String>,
    pub measure: Measure,
    /// The local day the decision was taken: the day it counts in the scores.
    pub decided_on: NaiveDate,
    /// Why: the facts and the rule applied, as the decision document says.
    pub grounds: String,
}

/// The fields of a decision as they arrive.
#[derive(Debug, Clone, Copy)]
pub struct DecisionInput<'a> {
    pub person: &'a str,
    pub measure: &'a str,
    /// `YYYY-MM-DD`.
    pub decided_on: &'a str,
    pub grounds: &'a str,
}

impl Decision {
    /// Validates every field at once, each error naming its field: the measure is one of
    /// [`Measure::ALL`], `decided_on` a date neither after `today` nor before `earliest` (the
    /// day of its grounds), the grounds said, a person's name (optional) of at most
    /// [`MAX_PERSON`] characters.
    pub fn parse(
        input: DecisionInput<'_>,
        today: NaiveDate,
        earliest: NaiveDate,
    ) -> Result<Decision, Vec<FieldError>> {
        let mut bad = Vec::new();
        let person = input.person.trim();
        if person.chars().count() > MAX_PERSON {
            bad.push(FieldError::new(
                "person",
                format!("is longer than {MAX_PERSON} characters"),
            ));
        }
        let measure = Measure::parse(input.measure);
        if measure.is_none() {
            bad.push(FieldError::new(
                "measure",
                format!(
                    "{:?} is not a measure: one of {}",
                    input.measure.chars().take(64).collect::<String>(),
                    Measure::ALL.map(Measure::as_str).join(", ")
                ),
            ));
        }
        let decided_on = match NaiveDate::parse_from_str(input.decided_on.trim(), "%Y-%m-%d") {
            Err(_) => {
                bad.push(FieldError::new("decided_on", "is not a date (YYYY-MM-DD)"));
                None
            }
            Ok(d) if d > today => {
                bad.push(FieldError::new(
                    "decided_on",
                    format!("{d} is after today ({today}): record a decision once taken"),
                ));
                None
            }
            Ok(d) if d < earliest => {
                bad.push(FieldError::new(
                    "decided_on",
                    format!("{d} is before its grounds ({earliest})"),
                ));
                None
            }
            Ok(d) => Some(d),
        };
        let grounds = input.grounds.trim();
        if grounds.is_empty() {
            bad.push(FieldError::new(
                "grounds",
                "is required: the facts and the rule applied",
            ));
        } else if grounds.chars().count() > MAX_GROUNDS {
            bad.push(FieldError::new(
                "grounds",
                format!("is longer than {MAX_GROUNDS} characters"),
            ));
        }
        match (measure, decided_on) {
            (Some(measure), Some(decided_on)) if bad.is_empty() => Ok(Decision {
                person: (!person.is_empty()).then(|| person.to_owned()),
                measure,
                decided_on,
                grounds: grounds.to_owned(),
            }),
            _ => Err(bad),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn red(level: &'static str, state: &'static str, department: &'static str) -> Grounds<'static> {
        Grounds::Warning {
            level,
            state,
            department,
            raised_on: day("2026-03-10"),
        }
    }

    #[test]
    fn only_a_red_card_of_a_department_not_withdrawn_is_grounds() {
        assert_eq!(
            admissible(&red("red_card", "closed", "D1")),
            Ok(day("2026-03-10"))
        );
        assert!(admissible(&red("red_card", "escalated", "D1")).is_ok());
        assert_eq!(
            admissible(&red("yellow_card", "raised", "D1")).map_err(|e| e.reason()),
            Err("NOT_RED_CARD")
        );
        assert_eq!(
            admissible(&red("reminder", "raised", "D1")).map_err(|e| e.reason()),
            Err("NOT_RED_CARD")
        );
        assert_eq!(
            admissible(&red("red_card", "withdrawn", "D1")),
            Err(GroundsError::Withdrawn)
        );
        assert_eq!(
            admissible(&red("red_card", "raised", "")),
            Err(GroundsError::NoDepartment)
        );
    }

    #[test]
    fn only_a_complaint_closed_as_substantiated_is_grounds() {
        let closed = |outcome| Grounds::Complaint {
            state: "closed",
            outcome: Some(outcome),
            closed_on: Some(day("2026-03-20")),
        };
        assert_eq!(admissible(&closed("substantiated")), Ok(day("2026-03-20")));
        let refused = admissible(&closed("unsubstantiated")).unwrap_err();
        assert_eq!(refused.reason(), "NOT_SUBSTANTIATED");
        assert!(refused.to_string().contains("closed as unsubstantiated"));
        let open = Grounds::Complaint {
            state: "forwarded",
            outcome: None,
            closed_on: None,
        };
        assert_eq!(
            admissible(&open),
            Err(GroundsError::NotSubstantiated {
                state: "forwarded".into()
            })
        );
    }

    #[test]
    fn a_measure_is_named_in_english_or_chinese() {
        for m in Measure::ALL {
            assert_eq!(Measure::parse(m.as_str()), Some(m));
            assert_eq!(Measure::parse(m.chinese()), Some(m));
        }
        assert_eq!(Measure::parse("诫勉谈话"), Some(Measure::AdmonitionTalk));
        assert_eq!(Measure::parse("dismissal"), None);
    }

    fn input<'a>(
        person: &'a str,
        measure: &'a str,
        on: &'a str,
        grounds: &'a str,
    ) -> DecisionInput<'a> {
        DecisionInput {
            person,
            measure,
            decided_on: on,
            grounds,
        }
    }

    #[test]
    fn a_decision_validates_every_field_and_names_it() {
        let (today, earliest) = (day("2026-04-02"), day("2026-03-10"));
        let ok = Decision::parse(
            input(
                " 王五 ",
                "circulated_criticism",
                "2026-04-01",
                " late twice ",
            ),
            today,
            earliest,
        )
        .unwrap();
        assert_eq!(ok.person.as_deref(), Some("王五"));
        assert_eq!(ok.measure, Measure::CirculatedCriticism);
        assert_eq!(ok.decided_on, day("2026-04-01"));
        assert_eq!(ok.grounds, "late twice");
        let department =
            Decision::parse(input("", "效能告诫", "2026-03-10", "x"), today, earliest).unwrap();
        assert_eq!(department.person, None);

        let fields = |r: Result<Decision, Vec<FieldError>>| {
            r.unwrap_err()
                .into_iter()
                .map(|e| e.field)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            fields(Decision::parse(
                input(&"名".repeat(65), "fired", "2026-4-1x", "  "),
                today,
                earliest
            )),
            ["person", "measure", "decided_on", "grounds"]
        );
        assert_eq!(
            fields(Decision::parse(
                input("", "admonition_talk", "2026-04-03", "x"),
                today,
                earliest
            )),
            ["decided_on"]
        );
        assert_eq!(
            fields(Decision::parse(
                input("", "admonition_talk", "2026-03-09", "x"),
                today,
                earliest
            )),
            ["decided_on"]
        );
    }
}
