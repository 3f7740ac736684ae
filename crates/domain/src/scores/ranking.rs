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
mod tests {
    use super::*;
    use crate::scores::config::ScoreConfigSpec;

    fn unit(department: &str, counters: Counters) -> UnitInput {
        UnitInput {
            department: department.into(),
            region: "3301".into(),
            counters,
            catalogue: CatalogueStats {
                matters: 1,
                fee_items: 0,
                ratio_matters: 1,
                ratio_bp_sum: 5_000,
            },
        }
    }

    fn worked() -> Counters {
        Counters {
            accepted: 50,
            completed: 40,
            on_time: 36,
            early: 10,
            share_cases: 40,
            share_bp_sum: 40 * 7_000,
            ratings: 20,
            satisfied: 15,
            bad_reviews: 2,
            reminders: 5,
            yellow_cards: 4,
            red_cards: 1,
            anomalies: 0,
            irregular_fees: 1,
            corrected_in_time: 3,
            fees_fen: 0,
            complaints_substantiated: 0,
            admonition_talks: 0,
            circulated_criticisms: 0,
            efficiency_warnings: 0,
            removals_from_post: 0,
        }
    }

    #[test]
    fn a_worked_score() {
        // Weighted (all indicators have data, W = 100):
        //   on time 36/40 × 40 = 36; early 10/40 × 10 = 2.5; unused (1 - 0.7) × 10 = 3;
        //   catalogue (1 - 0.5) × 10 = 5; satisfaction 15/20 × 20 = 15; corrected 3/5 × 10 = 6
        //   -> 67.5
        // Deductions per 100 cases, 50 accepted -> the full points: yellow 4 × 1 = 4,
        //   red 1 × 3 = 3, irregular fee 1 × 2 = 2, bad reviews 2 × 0.5 = 1 -> 10
        // Bonuses: cards were raised; early 25 % < 50 % -> none.
        // Score 57.50.
        let card = score(&ScoreConfig::default(), &unit("a", worked()));
        assert_eq!(card.total, Points::hundredths(5_750));
        assert!(card.eligible);
        let shown: Vec<(String, i64)> = card
            .components
            .iter()
            .map(|c| (c.name.clone(), c.points.get()))
            .collect();
        assert_eq!(
            shown,
            [
                ("on_time_rate", 3_600),
                ("early_rate", 250),
                ("unused_share", 300),
                ("catalogue_speed_up", 500),
                ("satisfaction_rate", 1_500),
                ("corrected_in_time_rate", 600),
                ("yellow_card", -400),
                ("red_card", -300),
                ("irregular_fee", -200),
                ("bad_review", -100),
            ]
            .map(|(n, p)| (n.to_owned(), p))
        );
    }

    #[test]
    fn deductions_scale_with_size_and_stop_at_the_cap() {
        // 400 accepted: each card costs its points per 100 cases: a quarter.
        let big = Counters {
            accepted: 400,
            ..worked()
        };
        // 67.5 - (4 + 3 + 2 + 1) / 4 = 65.
        assert_eq!(
            score(&ScoreConfig::default(), &unit("a", big)).total,
            Points::hundredths(6_500)
        );
        let mut spec = ScoreConfigSpec::default();
        spec.deductions.max_total = Points::whole(5);
        let card = score(&ScoreConfig::new(spec).unwrap(), &unit("a", worked()));
        assert_eq!(card.total, Points::hundredths(6_250));
        assert!(card.components.iter().any(|c| c.name == "deduction_cap"));
    }

    #[test]
    fn accountability_decisions_cost_their_measures_points_unscaled() {
        // 400 accepted scales the cards to a quarter (65.00, above); the decisions are not
        // scaled: an admonition talk 1 and a removal from post 5 -> 59.00.
        let c = Counters {
            accepted: 400,
            admonition_talks: 1,
            removals_from_post: 1,
            ..worked()
        };
        let card = score(&ScoreConfig::default(), &unit("a", c));
        assert_eq!(card.total, Points::hundredths(5_900));
        let shown: Vec<(&str, i64)> = card
            .components
            .iter()
            .filter(|c| c.name.starts_with("accountability."))
            .map(|c| (c.name.as_str(), c.points.get()))
            .collect();
        assert_eq!(
            shown,
            [
                ("accountability.admonition_talk", -100),
                ("accountability.removal_from_post", -500)
            ]
        );
        // A measure configured 0 is not counted.
        let mut spec = ScoreConfigSpec::default();
        spec.deductions.accountability.removal_from_post = Points::whole(0);
        let card = score(&ScoreConfig::new(spec).unwrap(), &unit("a", c));
        assert_eq!(card.total, Points::hundredths(6_400));
    }

    #[test]
    fn indicators_without_data_leave_their_weight_to_the_others() {
        // No ratings and no cards: W = 40 + 10 + 10 + 10 = 70; weighted = (36 + 2.5 + 3 + 5)
        // × 100 / 70 = 66.428 571...; no cards: +2 bonus. 68.428 571 -> 68.43.
        let c = Counters {
            ratings: 0,
            satisfied: 0,
            bad_reviews: 0,
            reminders: 0,
            yellow_cards: 0,
            red_cards: 0,
            irregular_fees: 0,
            corrected_in_time: 0,
            ..worked()
        };
        assert_eq!(
            score(&ScoreConfig::default(), &unit("a", c)).total,
            Points::hundredths(6_843)
        );
        // Nothing at all: the base, and not ranked.
        let empty = UnitInput {
            catalogue: CatalogueStats::default(),
            ..unit("z", Counters::default())
        };
        let card = score(&ScoreConfig::default(), &empty);
        assert_eq!(card.total, Points::whole(102));
        assert!(!card.eligible);
    }

    #[test]
    fn ties_share_a_rank_and_the_bottom_two_take_in_a_tie_over_the_line() {
        let good = worked();
        let worse = Counters {
            on_time: 30,
            ..worked()
        };
        // Same score as `worse` but a lower on-time rate cannot happen without a lower score
        // here, so `worst` is simply worse still.
        let worst = Counters {
            on_time: 20,
            ..worked()
        };
        let units = vec![
            unit("e", worst),
            unit("d", worse),
            unit("c", worse),
            unit("b", good),
            unit("a", good),
            UnitInput {
                catalogue: CatalogueStats::default(),
                ..unit("idle", Counters::default())
            },
        ];
        let ranked = rank(&ScoreConfig::default(), units);
        let view: Vec<(&str, Option<u32>, Option<u32>, bool)> = ranked
            .iter()
            .map(|r| (r.unit.department.as_str(), r.rank, r.position, r.bottom_two))
            .collect();
        assert_eq!(
            view,
            [
                ("a", Some(1), Some(1), false),
                ("b", Some(1), Some(2), false),
                // c and d tie on places 3-4; place 4 is one of the last two (4, 5 of 5).
                ("c", Some(3), Some(3), true),
                ("d", Some(3), Some(4), true),
                ("e", Some(5), Some(5), true),
                ("idle", None, None, false),
            ]
        );
    }

    #[test]
    fn a_department_with_nothing_completed_is_listed_not_ranked() {
        // 5 cases accepted, none completed, no matter in the catalogue, no card: no rate has
        // data, so the score is the full base 100 + the no-cards bonus 2 = 102, above the
        // worked department's 57.50. Ranked, it would top the ranking on nothing measured.
        let fresh = UnitInput {
            catalogue: CatalogueStats::default(),
            ..unit(
                "fresh",
                Counters {
                    accepted: 5,
                    ..Counters::default()
                },
            )
        };
        let card = score(&ScoreConfig::default(), &fresh);
        assert_eq!(card.total, Points::whole(102));
        assert!(!card.eligible);
        let ranked = rank(
            &ScoreConfig::default(),
            vec![fresh.clone(), unit("worked", worked())],
        );
        let view: Vec<(&str, Option<u32>)> = ranked
            .iter()
            .map(|r| (r.unit.department.as_str(), r.rank))
            .collect();
        assert_eq!(view, [("worked", Some(1)), ("fresh", None)]);
        // One completed case is enough by default; `min_completed` raises the bar, 0 drops it.
        let one = Counters {
            completed: 1,
            ..fresh.counters
        };
        assert!(score(&ScoreConfig::default(), &unit("one", one)).eligible);
        let mut spec = ScoreConfigSpec {
            min_completed: 2,
            ..ScoreConfigSpec::default()
        };
        let two = ScoreConfig::new(spec.clone()).unwrap();
        assert!(!score(&two, &unit("one", one)).eligible);
        spec.min_completed = 0;
        assert!(score(&ScoreConfig::new(spec).unwrap(), &fresh).eligible);
    }

    #[test]
    fn equal_scores_are_parted_by_on_time_rate_then_cards() {
        // Identical counters: one rank, listed by code.
        let ranked = rank(
            &ScoreConfig::default(),
            vec![unit("y", worked()), unit("x", worked())],
        );
        assert_eq!((ranked[0].rank, ranked[1].rank), (Some(1), Some(1)));
        assert_eq!(ranked[0].unit.department, "x");
        // With the same total, the tie-breaks decide.
        let r = |c| Ranked {
            unit: unit("q", c),
            card: ScoreCard {
                total: Points::whole(50),
                eligible: true,
                components: Vec::new(),
            },
            rank: None,
            position: None,
            bottom_two: false,
            leadership_review: false,
            grade: None,
        };
        let fewer_reds = Counters {
            red_cards: 0,
            yellow_cards: 9,
            ..worked()
        };
        let better_on_time = Counters {
            on_time: 40,
            red_cards: 7,
            ..worked()
        };
        let fewer_yellows = Counters {
            yellow_cards: 0,
            ..worked()
        };
        assert_eq!(compare(&r(better_on_time), &r(fewer_reds)), Ordering::Less);
        assert_eq!(compare(&r(fewer_reds), &r(worked())), Ordering::Less);
        assert_eq!(compare(&r(fewer_yellows), &r(worked())), Ordering::Less);
        assert_eq!(compare(&r(worked()), &r(worked())), Ordering::Equal);
    }

    #[test]
    fn every_ranked_department_gets_a_grade_and_the_bottom_two_at_most_the_ceiling() {
        use crate::scores::grade::GradeBasis;
        // Scores well apart: a perfect department, then four with fewer on time.
        let units = |spec: &ScoreConfigSpec| {
            let units = [("a", 40), ("b", 38), ("c", 36), ("d", 30), ("e", 20)]
                .into_iter()
                .map(|(d, on_time)| {
                    unit(
                        d,
                        Counters {
                            on_time,
                            ..worked()
                        },
                    )
                })
                .chain([UnitInput {
                    catalogue: CatalogueStats::default(),
                    ..unit("idle", Counters::default())
                }])
                .collect();
            rank(&ScoreConfig::new(spec.clone()).unwrap(), units)
                .into_iter()
                .map(|r| (r.unit.department, r.card.total.get(), r.bottom_two, r.grade))
                .collect::<Vec<_>>()
        };
        let mut spec = ScoreConfigSpec::default();
        // By score with thresholds set around the worked scores (61.50, 59.50, 57.50, 51.50, 41.50).
        spec.grades.score.excellent = Points::whole(60);
        spec.grades.score.good = Points::whole(50);
        spec.grades.score.pass = Points::whole(45);
        use Grade::*;
        let got = units(&spec);
        assert_eq!(
            got.iter().map(|g| g.1).collect::<Vec<_>>(),
            [6_150, 5_950, 5_750, 5_150, 4_150, 10_200]
        );
        let grades = |got: &[(String, i64, bool, Option<Grade>)]| {
            got.iter().map(|g| (g.2, g.3)).collect::<Vec<_>>()
        };
        // d's 51.50 is good by score, but it is in the bottom two: pass; e fails on its score;
        // idle is not ranked and has no grade.
        assert_eq!(
            grades(&got),
            [
                (false, Some(Excellent)),
                (false, Some(Good)),
                (false, Some(Good)),
                (true, Some(Pass)),
                (true, Some(Fail)),
                (false, None),
            ]
        );
        // The city that wants the bottom two failed.
        spec.grades.bottom_two = Fail;
        assert_eq!(grades(&units(&spec))[3], (true, Some(Fail)));
        // By rank (20 % excellent, 50 % good, the rest pass): 5 ranked, rank 1 excellent,
        // ranks 2 good; 3 pass; the bottom two capped at fail.
        spec.grades.by = GradeBasis::Rank;
        assert_eq!(
            grades(&units(&spec))[..5],
            [
                (false, Some(Excellent)),
                (false, Some(Good)),
                (false, Some(Pass)),
                (true, Some(Fail)),
                (true, Some(Fail)),
            ]
        );
        // Both: the lower of the two (b is good by both, c pass by rank).
        spec.grades.by = GradeBasis::Both;
        spec.grades.bottom_two = Pass;
        assert_eq!(
            grades(&units(&spec))[..5],
            [
                (false, Some(Excellent)),
                (false, Some(Good)),
                (false, Some(Pass)),
                (true, Some(Pass)),
                (true, Some(Fail)),
            ]
        );
    }

    #[test]
    fn two_bottom_years_in_a_row_call_for_leadership_review() {
        let year = |on_time: [(&str, i64); 5]| {
            let units = on_time
                .into_iter()
                .map(|(d, on_time)| {
                    unit(
                        d,
                        Counters {
                            on_time,
                            ..worked()
                        },
                    )
                })
                .collect();
            rank(&ScoreConfig::default(), units)
        };
        let last = year([("a", 40), ("b", 38), ("c", 36), ("d", 20), ("e", 10)]);
        let mut this = year([("a", 40), ("b", 38), ("c", 10), ("d", 36), ("e", 20)]);
        flag_leadership_review(&mut this, &last);
        let flagged: Vec<(&str, bool, bool)> = this
            .iter()
            .map(|r| {
                (
                    r.unit.department.as_str(),
                    r.bottom_two,
                    r.leadership_review,
                )
            })
            .collect();
        assert_eq!(
            flagged,
            [
                ("a", false, false),
                ("b", false, false),
                ("d", false, false),
                ("e", true, true),
                ("c", true, false),
            ]
        );
    }
}
