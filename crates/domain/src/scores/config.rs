//! The composite score's configuration (docs/design.md §4: "weights, deductions and bonuses in
//! configuration, a documented default"): a JSON file with `//` and `/* */` comments, the
//! documented example being `crates/domain/data/scores.example.json`. Every field may be left
//! out; an empty file `{}` is the built-in default ([`ScoreConfig::default`]).
//!
//! Like the rule configuration ([`crate::rules::config`]), a [`ScoreConfig`] validates on
//! creation: deserializing one refuses unknown fields and values that make no sense, naming
//! every bad field by its dotted path (`weights: add up to 95; they must add up to base
//! (100)`). Points are written with at most two decimals (`0.5`) and held as integer
//! hundredths ([`Points`]), so no float ever enters a score.

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

use crate::accountability::Measure;
use crate::error::FieldError;
use crate::scores::grade::GradeConfig;

/// The largest number of points any field may hold: a base of 1 000 points is already more
/// than any assessment uses.
const MAX_POINTS: i64 = 1_000 * 100;

/// The largest `per_cases`, `min_cases` and `min_completed`: beyond a million the numbers stop meaning anything.
const MAX_CASES: u32 = 1_000_000;

/// Points to the hundredth, held as an integer number of hundredths (`87.45` is 8 745).
/// Written in files as a number with at most two decimals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Points(i64);

impl Points {
    /// `n` hundredths of a point.
    pub const fn hundredths(n: i64) -> Points {
        Points(n)
    }

    /// Whole points.
    pub const fn whole(n: i64) -> Points {
        Points(n * 100)
    }

    /// The number of hundredths.
    pub const fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for Points {
    /// `87.45`, `-3.00`, `100.00`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let a = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", a / 100, a % 100)
    }
}

impl Serialize for Points {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0 % 100 == 0 {
            s.serialize_i64(self.0 / 100)
        } else {
            // Two decimals print back exactly: the shortest float that reads as n / 100.
            s.serialize_f64(self.0 as f64 / 100.0)
        }
    }
}

impl<'de> Deserialize<'de> for Points {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Points, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Points;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number of points with at most two decimals")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Points, E> {
                v.checked_mul(100)
                    .filter(|h| h.abs() <= MAX_POINTS * 10)
                    .map(Points)
                    .ok_or_else(|| E::custom(format!("{v} points is not a plausible value")))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Points, E> {
                let v = i64::try_from(v)
                    .map_err(|_| E::custom(format!("{v} points is not a plausible value")))?;
                self.visit_i64(v)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Points, E> {
                let h = v * 100.0;
                // The file's decimal is read once into hundredths; a third decimal would be
                // silently rounded, so it is refused instead.
                if !h.is_finite() || h.abs() > (MAX_POINTS * 10) as f64 {
                    return Err(E::custom(format!("{v} points is not a plausible value")));
                }
                if (h - h.round()).abs() > 1e-6 {
                    return Err(E::custom(format!("{v}: points have at most two decimals")));
                }
                Ok(Points(h.round() as i64))
            }
        }
        d.deserialize_any(V)
    }
}

/// The weights of the indicators in the weighted part of the score; they add up to `base`.
/// An indicator without data in a period (no case completed, no rating, no card) is left out
/// and its weight shared by the others in proportion, so a department is neither rewarded
/// nor punished for what did not happen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Weights {
    /// Completed cases decided by the promised deadline / completed cases.
    pub on_time_rate: Points,
    /// Completed cases decided before the last day of the promised limit / completed cases.
    pub early_rate: Points,
    /// 1 - the average used share of the promised limit (at least 0).
    pub unused_share: Points,
    /// 1 - the average promised/statutory ratio of the department's matters in the catalogue.
    pub catalogue_speed_up: Points,
    /// Ratings of level 1 or 2 / ratings.
    pub satisfaction_rate: Points,
    /// Yellow and red cards answered within their correction due / cards.
    pub corrected_in_time_rate: Points,
}

impl Default for Weights {
    fn default() -> Self {
        Weights {
            on_time_rate: Points::whole(40),
            early_rate: Points::whole(10),
            unused_share: Points::whole(10),
            catalogue_speed_up: Points::whole(10),
            satisfaction_rate: Points::whole(20),
            corrected_in_time_rate: Points::whole(10),
        }
    }
}

impl Weights {
    /// (name, weight) in a fixed order: the order of the score's components.
    pub fn named(&self) -> [(&'static str, Points); 6] {
        [
            ("on_time_rate", self.on_time_rate),
            ("early_rate", self.early_rate),
            ("unused_share", self.unused_share),
            ("catalogue_speed_up", self.catalogue_speed_up),
            ("satisfaction_rate", self.satisfaction_rate),
            ("corrected_in_time_rate", self.corrected_in_time_rate),
        ]
    }
}

/// Points taken off per occurrence. With `per_cases` = N > 0 an occurrence costs its points
/// per N cases accepted in the period (a department with fewer than N cases pays the full
/// points), so a large department is not ranked down for its size; 0 makes every occurrence
/// cost its points whatever the size. The sum is capped at `max_total`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Deductions {
    pub per_cases: u32,
    pub max_total: Points,
    pub reminder: Points,
    pub yellow_card: Points,
    pub red_card: Points,
    /// On top of the card the anomaly raised.
    pub procedure_anomaly: Points,
    /// On top of the card the irregular fee raised.
    pub irregular_fee: Points,
    pub bad_review: Points,
    /// A complaint about the department closed as substantiated (docs/design.md §3.3).
    pub substantiated_complaint: Points,
    /// Accountability decisions, per measure (docs/design.md §3.4).
    pub accountability: AccountabilityPoints,
}

impl Default for Deductions {
    fn default() -> Self {
        Deductions {
            per_cases: 100,
            max_total: Points::whole(40),
            reminder: Points::whole(0),
            yellow_card: Points::whole(1),
            red_card: Points::whole(3),
            procedure_anomaly: Points::whole(0),
            irregular_fee: Points::whole(2),
            bad_review: Points::hundredths(50),
            substantiated_complaint: Points::whole(2),
            accountability: AccountabilityPoints::default(),
        }
    }
}

impl Deductions {
    /// (name, points per occurrence) in a fixed order.
    pub fn named(&self) -> [(&'static str, Points); 7] {
        [
            ("reminder", self.reminder),
            ("yellow_card", self.yellow_card),
            ("red_card", self.red_card),
            ("procedure_anomaly", self.procedure_anomaly),
            ("irregular_fee", self.irregular_fee),
            ("bad_review", self.bad_review),
            ("substantiated_complaint", self.substantiated_complaint),
        ]
    }
}

/// Points taken off per accountability decision (docs/design.md §3.4), by its measure, in the
/// period of the day it is dated; 0 leaves a measure out of the score. Unlike the other
/// deductions they are not scaled by `per_cases`: a decision judges a conduct, not a rate, and
/// a removal from post weighs the same in a large department as in a small one. They count
/// towards `max_total` with the others.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AccountabilityPoints {
    /// 诫勉谈话.
    pub admonition_talk: Points,
    /// 通报批评.
    pub circulated_criticism: Points,
    /// 效能告诫.
    pub efficiency_warning: Points,
    /// 调离岗位.
    pub removal_from_post: Points,
}

impl Default for AccountabilityPoints {
    fn default() -> Self {
        AccountabilityPoints {
            admonition_talk: Points::whole(1),
            circulated_criticism: Points::whole(2),
            efficiency_warning: Points::whole(3),
            removal_from_post: Points::whole(5),
        }
    }
}

impl AccountabilityPoints {
    /// The points of `measure`.
    pub fn of(&self, measure: Measure) -> Points {
        match measure {
            Measure::AdmonitionTalk => self.admonition_talk,
            Measure::CirculatedCriticism => self.circulated_criticism,
            Measure::EfficiencyWarning => self.efficiency_warning,
            Measure::RemovalFromPost => self.removal_from_post,
        }
    }
}

/// The early-completion bonus: `points` when at least `at_least_percent` % of the completed
/// cases were early.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EarlyBonus {
    pub at_least_percent: u32,
    pub points: Points,
}

impl Default for EarlyBonus {
    fn default() -> Self {
        EarlyBonus {
            at_least_percent: 50,
            points: Points::whole(3),
        }
    }
}

/// Points added on top of the weighted part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Bonuses {
    /// A period without a yellow or red card.
    pub no_cards: Points,
    /// A period of mostly early completions.
    pub early_rate: EarlyBonus,
}

impl Default for Bonuses {
    fn default() -> Self {
        Bonuses {
            no_cards: Points::whole(2),
            early_rate: EarlyBonus::default(),
        }
    }
}

/// The shape of a score configuration file or API body, before validation; absent fields take
/// the built-in values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScoreConfigSpec {
    /// The points of a perfect record in the weighted part (100).
    pub base: Points,
    /// Cases accepted plus completed in a period for a department to be ranked in it (1): a
    /// department that handled nothing is listed, not ranked.
    pub min_cases: u32,
    /// Cases completed in a period for a department to be ranked in it (1): one with accepted
    /// cases but none completed has no data for most rates, and would otherwise get the full
    /// base plus the bonuses and could top the ranking on nothing measured.
    pub min_completed: u32,
    pub weights: Weights,
    pub deductions: Deductions,
    pub bonuses: Bonuses,
    /// How a ranked department's grade follows from its score and rank ([`GradeConfig`]).
    pub grades: GradeConfig,
}

impl Default for ScoreConfigSpec {
    fn default() -> Self {
        ScoreConfigSpec {
            base: Points::whole(100),
            min_cases: 1,
            min_completed: 1,
            weights: Weights::default(),
            deductions: Deductions::default(),
            bonuses: Bonuses::default(),
            grades: GradeConfig::default(),
        }
    }
}

impl ScoreConfigSpec {
    /// Every invalid field, by dotted path.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let base = self.base.get();
        if base <= 0 || base > MAX_POINTS {
            errors.push(FieldError::new(
                "base",
                format!("must be more than 0 and at most {}", Points(MAX_POINTS)),
            ));
        }
        let mut points = |path: String, p: Points| {
            if p.get() < 0 {
                errors.push(FieldError::new(path, "must not be negative"));
            } else if base > 0 && p.get() > base {
                errors.push(FieldError::new(
                    path,
                    format!("{p} is more than the base ({})", self.base),
                ));
            }
        };
        for (name, w) in self.weights.named() {
            points(format!("weights.{name}"), w);
        }
        for (name, d) in self.deductions.named() {
            points(format!("deductions.{name}"), d);
        }
        for m in Measure::ALL {
            points(
                format!("deductions.accountability.{m}"),
                self.deductions.accountability.of(m),
            );
        }
        points("deductions.max_total".into(), self.deductions.max_total);
        points("bonuses.no_cards".into(), self.bonuses.no_cards);
        points(
            "bonuses.early_rate.points".into(),
            self.bonuses.early_rate.points,
        );
        let sum: i64 = self.weights.named().iter().map(|(_, w)| w.get()).sum();
        if base > 0 && sum != base {
            errors.push(FieldError::new(
                "weights",
                format!(
                    "add up to {}; they must add up to base ({})",
                    Points(sum),
                    self.base
                ),
            ));
        }
        if self.bonuses.early_rate.at_least_percent > 100 {
            errors.push(FieldError::new(
                "bonuses.early_rate.at_least_percent",
                "must be at most 100",
            ));
        }
        for (path, n) in [
            ("deductions.per_cases", self.deductions.per_cases),
            ("min_cases", self.min_cases),
            ("min_completed", self.min_completed),
        ] {
            if n > MAX_CASES {
                errors.push(FieldError::new(
                    path,
                    format!("must be at most {MAX_CASES}"),
                ));
            }
        }
        errors.extend(self.grades.validate());
        errors
    }
}

/// A score configuration that was refused, with every bad field.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid score configuration: {}", .errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct ScoreConfigError {
    pub errors: Vec<FieldError>,
}

/// A validated score configuration. Deserializing one validates it; serializing writes every
/// field (the built-in values included), so a stored snapshot says exactly how it was scored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ScoreConfigSpec", into = "ScoreConfigSpec")]
pub struct ScoreConfig {
    spec: ScoreConfigSpec,
}

impl ScoreConfig {
    pub fn new(spec: ScoreConfigSpec) -> Result<ScoreConfig, ScoreConfigError> {
        let errors = spec.validate();
        if errors.is_empty() {
            Ok(ScoreConfig { spec })
        } else {
            Err(ScoreConfigError { errors })
        }
    }

    pub fn spec(&self) -> &ScoreConfigSpec {
        &self.spec
    }
}

impl TryFrom<ScoreConfigSpec> for ScoreConfig {
    type Error = ScoreConfigError;
    fn try_from(spec: ScoreConfigSpec) -> Result<Self, ScoreConfigError> {
        ScoreConfig::new(spec)
    }
}

impl From<ScoreConfig> for ScoreConfigSpec {
    fn from(c: ScoreConfig) -> Self {
        c.spec
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_print_with_two_decimals() {
        assert_eq!(Points::hundredths(8_745).to_string(), "87.45");
        assert_eq!(Points::hundredths(-300).to_string(), "-3.00");
        assert_eq!(Points::hundredths(-5).to_string(), "-0.05");
        assert_eq!(Points::whole(100).to_string(), "100.00");
    }

    #[test]
    fn the_default_is_valid_and_its_weights_fill_the_base() {
        let spec = ScoreConfigSpec::default();
        assert!(spec.validate().is_empty(), "{:?}", spec.validate());
        let sum: i64 = spec.weights.named().iter().map(|(_, w)| w.get()).sum();
        assert_eq!(sum, spec.base.get());
    }

    #[test]
    fn bad_values_are_named_by_their_path() {
        let mut spec = ScoreConfigSpec::default();
        spec.weights.early_rate = Points::whole(5);
        spec.deductions.red_card = Points::whole(-1);
        spec.bonuses.early_rate.at_least_percent = 101;
        let errors = ScoreConfig::new(spec).unwrap_err().errors;
        let paths: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            paths,
            [
                "deductions.red_card",
                "weights",
                "bonuses.early_rate.at_least_percent"
            ]
        );
        assert_eq!(
            errors[1].reason,
            "add up to 95.00; they must add up to base (100.00)"
        );
    }
}
