//! The worked scores and rankings of `scores::ranking`: the composite score component by
//! component, deductions scaled and capped, accountability decisions, ties, the bottom two,
//! grades and leadership review.

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
