//! The composite score of one department in one period, and the ranking of departments
//! (docs/design.md §4): the bottom two of a ranking flagged, and a unit in the bottom two of two
//! consecutive years flagged for leadership review (the city's own rule).
//!
//! The score, on a `base` of 100 points by default ([`crate::scores::config`]):
//!
//! ```text
//! score = Σ weighted components − min(Σ deductions, max_total) + bonuses, at least 0
//! weighted component i = weight_i × base / W × rate_i
//!     W = the sum of the weights of the indicators with data in the period
//! deduction j = points_j × count_j × per_cases / max(accepted, per_cases)   (per_cases > 0)
//!             = points_j × count_j                                          (per_cases = 0)
//! ```
//!
//! Every component is computed exactly from integers and rounded half up to the hundredth of a
//! point, and the score is the sum of its components as shown: a person can add them up, and
//! the same counters give the same score on every machine.
//!
//! Ranking: by score (highest first); equal scores by on-time rate (exact, highest first),
//! then fewer red cards, then fewer yellow cards. Departments equal in all of these share a
//! rank (1, 2, 2, 4) and are listed by department code. Only departments with at least
//! `min_cases` cases accepted or completed and at least `min_completed` (1) completed in the
//! period are ranked (one with nothing completed has nothing measured); the others are listed
//! last, unranked. The bottom two: with at least three ranked departments, those whose shared
//! rank reaches into the last two places (with a tie over the second-to-last place, every
//! department of the tie is flagged). Every ranked department then gets its grade
//! ([`crate::scores::grade`]), a bottom-two one no better than the configured ceiling.

use std::cmp::Ordering;
use std::collections::BTreeSet;

use crate::accountability::Measure;

use serde::{Deserialize, Serialize};

use crate::scores::config::{Points, ScoreConfig};
use crate::scores::grade::Grade;
use crate::scores::indicators::{CatalogueStats, Counters, Ratio, div_round_half_up};

/// What a department brings to a period's assessment: its counters summed over the period,
/// its catalogue, and the region it belongs to (for rankings of a region subtree).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitInput {
    pub department: String,
    /// Region code; empty when unknown (then only in rankings of the whole city).
    pub region: String,
    pub counters: Counters,
    pub catalogue: CatalogueStats,
}

/// Which part of the score a component is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ComponentKind {
    Weighted,
    Deduction,
    Bonus,
}

/// One term of a score, rounded half up to the hundredth; the score is their sum (at least 0).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Component {
    /// The indicator, deduction or bonus name of the configuration (`on_time_rate`,
    /// `red_card`, `no_cards` ...), or `deduction_cap` for the part of the deductions the cap
    /// gave back.
    pub name: String,
    pub kind: ComponentKind,
    /// Points added (weighted, bonus) or taken off (deduction, negative).
    pub points: Points,
}

/// A department's score in a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScoreCard {
    pub total: Points,
    /// Whether it handled enough cases to be ranked.
    pub eligible: bool,
    pub components: Vec<Component>,
}

/// The score of `unit` by `config`.
pub fn score(config: &ScoreConfig, unit: &UnitInput) -> ScoreCard {
    let spec = config.spec();
    let c = &unit.counters;
    let base = i128::from(spec.base.get());
    let mut components = Vec::new();
    let rates: [Ratio; 6] = [
        c.on_time_rate(),
        c.early_rate(),
        c.unused_share(),
        unit.catalogue.speed_up(),
        c.satisfaction_rate(),
        c.corrected_in_time_rate(),
    ];
    let weights = spec.weights.named();
    let with_data: i128 = weights
        .iter()
        .zip(&rates)
        .filter(|(_, r)| r.has_data())
        .map(|((_, w), _)| i128::from(w.get()))
        .sum();
    let mut total: i128 = 0;
    if with_data == 0 {
        // Nothing measurable happened: the full base, neither reward nor punishment.
        total += base;
    } else {
        for ((name, w), r) in weights.iter().zip(&rates) {
            if !r.has_data() {
                continue;
            }
            // In hundredths: weight × base / W × rate, all three in hundredths.
            let part = div_round_half_up(
                i128::from(w.get()) * base * i128::from(r.numerator),
                with_data * i128::from(r.denominator),
            );
            total += part;
            components.push(component(name, ComponentKind::Weighted, part));
        }
    }
    let d = &spec.deductions;
    let counts = [
        c.reminders,
        c.yellow_cards,
        c.red_cards,
        c.anomalies,
        c.irregular_fees,
        c.bad_reviews,
        c.complaints_substantiated,
    ];
    let (scale_num, scale_den) = if d.per_cases == 0 {
        (1, 1)
    } else {
        let per = i128::from(d.per_cases);
        (per, per.max(i128::from(c.accepted)))
    };
    let mut deducted: i128 = 0;
    for ((name, points), count) in d.named().iter().zip(counts) {
        if points.get() == 0 || count == 0 {
            continue;
        }
        let part = div_round_half_up(
            i128::from(points.get()) * i128::from(count) * scale_num,
            scale_den,
        );
        deducted += part;
        components.push(component(name, ComponentKind::Deduction, -part));
    }
    // Accountability decisions cost their measure's points each, unscaled (a decision judges a
    // conduct, not a rate: `AccountabilityPoints`).
    for (measure, count) in Measure::ALL.into_iter().zip(c.accountability()) {
        let points = d.accountability.of(measure);
        if points.get() == 0 || count == 0 {
            continue;
        }
        let part = i128::from(points.get()) * i128::from(count);
        deducted += part;
        components.push(component(
            &format!("accountability.{measure}"),
            ComponentKind::Deduction,
            -part,
        ));
    }
    let cap = i128::from(d.max_total.get());
    if deducted > cap {
        components.push(component(
            "deduction_cap",
            ComponentKind::Deduction,
            deducted - cap,
        ));
        deducted = cap;
    }
    total -= deducted;
    let b = &spec.bonuses;
    if c.cards() == 0 && b.no_cards.get() > 0 {
        let part = i128::from(b.no_cards.get());
        total += part;
        components.push(component("no_cards", ComponentKind::Bonus, part));
    }
    if b.early_rate.points.get() > 0
        && c.early_rate()
            .at_least_percent(b.early_rate.at_least_percent)
    {
        let part = i128::from(b.early_rate.points.get());
        total += part;
        components.push(component("early_rate", ComponentKind::Bonus, part));
    }
    ScoreCard {
        total: Points::hundredths(total.max(0) as i64),
        eligible: c.accepted + c.completed >= i64::from(spec.min_cases)
            && c.completed >= i64::from(spec.min_completed),
        components,
    }
}

fn component(name: &str, kind: ComponentKind, hundredths: i128) -> Component {
    Component {
        name: name.to_owned(),
        kind,
        points: Points::hundredths(hundredths as i64),
    }
}

/// A department's place in a ranking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ranked {
    pub unit: UnitInput,
    pub card: ScoreCard,
    /// 1 for the best; shared by departments equal in score and every tie-break. None when not
    /// ranked (too few cases).
    pub rank: Option<u32>,
    /// The place in the list (1, 2, 3 ... with no gaps); None when not ranked.
    pub position: Option<u32>,
    /// In the bottom two of this ranking.
    pub bottom_two: bool,
    /// In the bottom two of this ranking and of the same ranking of the year before (set by
    /// [`flag_leadership_review`]).
    pub leadership_review: bool,
    /// The grade of this ranking ([`crate::scores::grade`]); None when not ranked.
    pub grade: Option<Grade>,
}

/// The order of two ranked departments: better first; Equal means the same rank.
fn compare(a: &Ranked, b: &Ranked) -> Ordering {
    let (ca, cb) = (&a.unit.counters, &b.unit.counters);
    b.card
        .total
        .cmp(&a.card.total)
        .then_with(|| cb.on_time_rate().cmp_exact(&ca.on_time_rate()))
        .then_with(|| ca.red_cards.cmp(&cb.red_cards))
        .then_with(|| ca.yellow_cards.cmp(&cb.yellow_cards))
}

/// Scores and ranks `units`: the ranked departments in rank order, then the unranked ones by
/// department code.
pub fn rank(config: &ScoreConfig, units: Vec<UnitInput>) -> Vec<Ranked> {
    let mut all: Vec<Ranked> = units
        .into_iter()
        .map(|unit| Ranked {
            card: score(config, &unit),
            unit,
            rank: None,
            position: None,
            bottom_two: false,
            leadership_review: false,
            grade: None,
        })
        .collect();
    all.sort_by(|a, b| {
        b.card
            .eligible
            .cmp(&a.card.eligible)
            .then_with(|| {
                if a.card.eligible {
                    compare(a, b)
                } else {
                    Ordering::Equal
                }
            })
            .then_with(|| a.unit.department.cmp(&b.unit.department))
    });
    let n = all.iter().filter(|r| r.card.eligible).count();
    let mut group_start = 0;
    for i in 0..n {
        if i > 0 && compare(&all[i - 1], &all[i]) != Ordering::Equal {
            group_start = i;
        }
        all[i].rank = Some(group_start as u32 + 1);
        all[i].position = Some(i as u32 + 1);
    }
    if n >= 3 {
        // A tie group is flagged when its last place is one of the last two.
        let mut i = 0;
        while i < n {
            let mut j = i;
            while j + 1 < n && all[j + 1].rank == all[i].rank {
                j += 1;
            }
            if j + 2 >= n {
                for r in &mut all[i..=j] {
                    r.bottom_two = true;
                }
            }
            i = j + 1;
        }
    }
    let grades = &config.spec().grades;
    for r in &mut all[..n] {
        if let Some(rank) = r.rank {
            r.grade = Some(grades.grade(r.card.total, rank, n as u32, r.bottom_two));
        }
    }
    all
}

/// Flags for leadership review the departments in the bottom two of `this_year` that were in
/// the bottom two of `last_year` too (the same ranking: the same region subtree, the year
/// before).
pub fn flag_leadership_review(this_year: &mut [Ranked], last_year: &[Ranked]) {
    let before: BTreeSet<&str> = last_year
        .iter()
        .filter(|r| r.bottom_two)
        .map(|r| r.unit.department.as_str())
        .collect();
    for r in this_year {
        r.leadership_review = r.bottom_two && before.contains(r.unit.department.as_str());
    }
}

#[cfg(test)]
mod tests;
