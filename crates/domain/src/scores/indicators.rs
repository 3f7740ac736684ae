//! The indicators of docs/design.md §4 as integer counters and exact ratios.
//!
//! Everything a department does in a day adds to a [`Counters`]: integers only (cases, cards,
//! ratings, basis points, fen), so summing days into a month, a quarter or a year is exact in
//! any order and reproducible to the fen and the day. Rates are derived at the end as
//! [`Ratio`]s of two counters and compared exactly; they are rounded only for display
//! ([`Ratio::basis_points`]).

use std::cmp::Ordering;
use std::ops::{Add, AddAssign, Sub};

use serde::{Deserialize, Serialize};

/// Basis points in one: a share of 1 is 10 000 bp.
pub const BP: i64 = 10_000;

/// What a department did, per local day (and summed over a period). Every field is a count
/// or a sum of integers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Counters {
    /// Cases accepted (受理), counted on the day of acceptance.
    pub accepted: i64,
    /// Cases completed (办结), counted on the day of completion.
    pub completed: i64,
    /// Completed cases whose decision came by the promised deadline (the promised clock, or
    /// an immediate item's same-day clock, stopped on time); on the day of completion.
    pub on_time: i64,
    /// Completed cases decided before the last day of the promised limit (on time, with a
    /// working day or more to spare).
    pub early: i64,
    /// Completed cases with a promised limit of at least one day: those whose used share is
    /// averaged (an immediate item's limit is zero days).
    pub share_cases: i64,
    /// The sum over those cases of the used share of the promised limit, in basis points per
    /// case (days used / days promised, rounded half up to 1 bp).
    pub share_bp_sum: i64,
    /// Ratings (好差评) given, on the day of the rating.
    pub ratings: i64,
    /// Ratings of level 1 or 2 (very satisfied, satisfied).
    pub satisfied: i64,
    /// Ratings of level 4 or 5 (bad reviews).
    pub bad_reviews: i64,
    /// Reminders raised, on the day raised (local).
    pub reminders: i64,
    /// Yellow cards raised.
    pub yellow_cards: i64,
    /// Red cards raised.
    pub red_cards: i64,
    /// Warnings of the rule `procedure_anomaly` (any level).
    pub anomalies: i64,
    /// Warnings of the rule `irregular_fee` (any level).
    pub irregular_fees: i64,
    /// Yellow and red cards answered before their correction due, counted on the day the card
    /// was raised (so the rate compares cards with their own answers).
    pub corrected_in_time: i64,
    /// Fees collected, in fen, on the day of the fee record.
    pub fees_fen: i64,
    /// Complaints about the department closed as substantiated, on the day closed
    /// (docs/design.md §3.3).
    pub complaints_substantiated: i64,
    /// Accountability decisions against the department or a person in it, per measure, on the
    /// day the decision is dated (docs/design.md §3.4): 诫勉谈话, 通报批评, 效能告诫, 调离岗位.
    pub admonition_talks: i64,
    pub circulated_criticisms: i64,
    pub efficiency_warnings: i64,
    pub removals_from_post: i64,
}

impl Counters {
    /// The field names, in the order of [`Counters::to_array`]: the column names of the
    /// rollup tables and of the analysts' views.
    pub const NAMES: [&'static str; 21] = [
        "accepted",
        "completed",
        "on_time",
        "early",
        "share_cases",
        "share_bp_sum",
        "ratings",
        "satisfied",
        "bad_reviews",
        "reminders",
        "yellow_cards",
        "red_cards",
        "anomalies",
        "irregular_fees",
        "corrected_in_time",
        "fees_fen",
        "complaints_substantiated",
        "admonition_talks",
        "circulated_criticisms",
        "efficiency_warnings",
        "removals_from_post",
    ];

    /// The values in the order of [`Counters::NAMES`].
    pub fn to_array(&self) -> [i64; 21] {
        [
            self.accepted,
            self.completed,
            self.on_time,
            self.early,
            self.share_cases,
            self.share_bp_sum,
            self.ratings,
            self.satisfied,
            self.bad_reviews,
            self.reminders,
            self.yellow_cards,
            self.red_cards,
            self.anomalies,
            self.irregular_fees,
            self.corrected_in_time,
            self.fees_fen,
            self.complaints_substantiated,
            self.admonition_talks,
            self.circulated_criticisms,
            self.efficiency_warnings,
            self.removals_from_post,
        ]
    }

    /// The counters from values in the order of [`Counters::NAMES`].
    pub fn from_array(a: [i64; 21]) -> Counters {
        Counters {
            accepted: a[0],
            completed: a[1],
            on_time: a[2],
            early: a[3],
            share_cases: a[4],
            share_bp_sum: a[5],
            ratings: a[6],
            satisfied: a[7],
            bad_reviews: a[8],
            reminders: a[9],
            yellow_cards: a[10],
            red_cards: a[11],
            anomalies: a[12],
            irregular_fees: a[13],
            corrected_in_time: a[14],
            fees_fen: a[15],
            complaints_substantiated: a[16],
            admonition_talks: a[17],
            circulated_criticisms: a[18],
            efficiency_warnings: a[19],
            removals_from_post: a[20],
        }
    }

    pub fn is_zero(&self) -> bool {
        *self == Counters::default()
    }

    /// Accountability decisions per measure, in the order of `Measure::ALL`.
    pub fn accountability(&self) -> [i64; 4] {
        [
            self.admonition_talks,
            self.circulated_criticisms,
            self.efficiency_warnings,
            self.removals_from_post,
        ]
    }

    /// The counters of one accountability decision of `measure`.
    pub fn of_decision(measure: crate::accountability::Measure) -> Counters {
        use crate::accountability::Measure as M;
        let mut c = Counters::default();
        *match measure {
            M::AdmonitionTalk => &mut c.admonition_talks,
            M::CirculatedCriticism => &mut c.circulated_criticisms,
            M::EfficiencyWarning => &mut c.efficiency_warnings,
            M::RemovalFromPost => &mut c.removals_from_post,
        } += 1;
        c
    }

    /// Yellow and red cards: the warnings that carry a correction due.
    pub fn cards(&self) -> i64 {
        self.yellow_cards + self.red_cards
    }

    /// On-time completion rate: on time / completed.
    pub fn on_time_rate(&self) -> Ratio {
        Ratio::new(self.on_time, self.completed)
    }

    /// Early completion rate: early / completed.
    pub fn early_rate(&self) -> Ratio {
        Ratio::new(self.early, self.completed)
    }

    /// Average used share of the promised limit: the mean of the cases' shares.
    pub fn average_used_share(&self) -> Ratio {
        Ratio::new(self.share_bp_sum, self.share_cases * BP)
    }

    /// One minus the average used share, at least 0: the time promised and not needed.
    pub fn unused_share(&self) -> Ratio {
        let whole = self.share_cases * BP;
        Ratio::new((whole - self.share_bp_sum).max(0), whole)
    }

    /// Satisfaction rate: ratings of level 1 or 2 / ratings.
    pub fn satisfaction_rate(&self) -> Ratio {
        Ratio::new(self.satisfied, self.ratings)
    }

    /// Bad-review rate: ratings of level 4 or 5 / ratings.
    pub fn bad_review_rate(&self) -> Ratio {
        Ratio::new(self.bad_reviews, self.ratings)
    }

    /// Cards answered within their correction due / cards.
    pub fn corrected_in_time_rate(&self) -> Ratio {
        Ratio::new(self.corrected_in_time, self.cards())
    }
}

impl Add for Counters {
    type Output = Counters;
    fn add(self, rhs: Counters) -> Counters {
        let (a, b) = (self.to_array(), rhs.to_array());
        Counters::from_array(std::array::from_fn(|i| a[i] + b[i]))
    }
}

impl AddAssign for Counters {
    fn add_assign(&mut self, rhs: Counters) {
        *self = *self + rhs;
    }
}

impl Sub for Counters {
    type Output = Counters;
    fn sub(self, rhs: Counters) -> Counters {
        let (a, b) = (self.to_array(), rhs.to_array());
        Counters::from_array(std::array::from_fn(|i| a[i] - b[i]))
    }
}

impl std::iter::Sum for Counters {
    fn sum<I: Iterator<Item = Counters>>(iter: I) -> Counters {
        iter.fold(Counters::default(), Add::add)
    }
}

/// An exact ratio of two non-negative integers. A zero denominator means "no data" (no case
/// completed, no rating given): such a rate is neither good nor bad, and the composite score
/// leaves it out ([`crate::scores::config`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Ratio {
    pub numerator: i64,
    pub denominator: i64,
}

impl Ratio {
    pub fn new(numerator: i64, denominator: i64) -> Ratio {
        Ratio {
            numerator,
            denominator,
        }
    }

    pub fn has_data(&self) -> bool {
        self.denominator > 0
    }

    /// The ratio in basis points rounded half up (87.5 % is 8 750); None without data.
    pub fn basis_points(&self) -> Option<i64> {
        self.has_data().then(|| {
            div_round_half_up(
                i128::from(self.numerator) * i128::from(BP),
                i128::from(self.denominator),
            ) as i64
        })
    }

    /// Exact comparison; a ratio without data is lower than any with data (so it never wins
    /// a tie-break), and two without data are equal.
    pub fn cmp_exact(&self, other: &Ratio) -> Ordering {
        match (self.has_data(), other.has_data()) {
            (false, false) => Ordering::Equal,
            (false, true) => Ordering::Less,
            (true, false) => Ordering::Greater,
            (true, true) => (i128::from(self.numerator) * i128::from(other.denominator))
                .cmp(&(i128::from(other.numerator) * i128::from(self.denominator))),
        }
    }

    /// Whether the ratio is at least `percent` %.
    pub fn at_least_percent(&self, percent: u32) -> bool {
        self.has_data()
            && i128::from(self.numerator) * 100
                >= i128::from(percent) * i128::from(self.denominator)
    }
}

/// `n / d` rounded half up, for non-negative `n` and positive `d` (half away from zero for a
/// negative `n`).
pub fn div_round_half_up(n: i128, d: i128) -> i128 {
    debug_assert!(d > 0);
    if n >= 0 {
        (2 * n + d) / (2 * d)
    } else {
        -((-2 * n + d) / (2 * d))
    }
}

/// What a department's matters in the catalogue promise, against the law: how many matters
/// and fee items it lists, and its promised/statutory ratios (docs/design.md §4, "speed-up of
/// promised vs statutory limits in the catalogue").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CatalogueStats {
    /// Matters in the catalogue.
    pub matters: i64,
    /// Fee items over those matters.
    pub fee_items: i64,
    /// Matters whose promised and statutory limits compare: the same unit and a statutory
    /// limit of at least one day (immediate items are due the same day by both).
    pub ratio_matters: i64,
    /// The sum over those matters of promised / statutory, in basis points per matter
    /// (rounded half up).
    pub ratio_bp_sum: i64,
}

impl CatalogueStats {
    /// The average promised/statutory ratio (10 of 20 days is 0.5).
    pub fn average_ratio(&self) -> Ratio {
        Ratio::new(self.ratio_bp_sum, self.ratio_matters * BP)
    }

    /// The speed-up the catalogue promises: 1 - the average ratio, at least 0.
    pub fn speed_up(&self) -> Ratio {
        let whole = self.ratio_matters * BP;
        Ratio::new((whole - self.ratio_bp_sum).max(0), whole)
    }
}

impl Add for CatalogueStats {
    type Output = CatalogueStats;
    fn add(self, rhs: CatalogueStats) -> CatalogueStats {
        CatalogueStats {
            matters: self.matters + rhs.matters,
            fee_items: self.fee_items + rhs.fee_items,
            ratio_matters: self.ratio_matters + rhs.ratio_matters,
            ratio_bp_sum: self.ratio_bp_sum + rhs.ratio_bp_sum,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_add_and_subtract_field_by_field() {
        let a = Counters {
            accepted: 3,
            fees_fen: 1_050,
            ..Counters::default()
        };
        let b = Counters {
            accepted: 1,
            red_cards: 2,
            ..Counters::default()
        };
        let sum = a + b;
        assert_eq!((sum.accepted, sum.red_cards, sum.fees_fen), (4, 2, 1_050));
        assert_eq!(sum - b, a);
        assert!((a - a).is_zero());
        assert_eq!(Counters::from_array(sum.to_array()), sum);
        assert_eq!([a, b].into_iter().sum::<Counters>(), sum);
    }

    #[test]
    fn rates_are_exact_and_rounded_only_for_display() {
        // 2 of 3 on time: 6 666.67 bp, shown as 6 667.
        let c = Counters {
            completed: 3,
            on_time: 2,
            early: 1,
            share_cases: 3,
            share_bp_sum: 5_000 + 7_500 + 12_000,
            ..Counters::default()
        };
        assert_eq!(c.on_time_rate().basis_points(), Some(6_667));
        assert_eq!(c.early_rate().basis_points(), Some(3_333));
        // (0.5 + 0.75 + 1.2) / 3 = 0.816 666...: 8 167 bp; unused 1 833.
        assert_eq!(c.average_used_share().basis_points(), Some(8_167));
        assert_eq!(c.unused_share().basis_points(), Some(1_833));
        assert_eq!(c.satisfaction_rate().basis_points(), None);
        assert!(c.on_time_rate().cmp_exact(&c.early_rate()).is_gt());
        assert!(c.satisfaction_rate().cmp_exact(&c.early_rate()).is_lt());
        assert!(Ratio::new(1, 2).at_least_percent(50));
        assert!(!Ratio::new(49, 100).at_least_percent(50));
        assert_eq!(div_round_half_up(5, 2), 3);
        assert_eq!(div_round_half_up(-5, 2), -3);
    }

    #[test]
    fn a_catalogue_speed_up_is_one_minus_the_average_ratio() {
        // Two matters: 10 of 20 days (5 000 bp) and 5 of 20 (2 500 bp): average 3 750, speed-up
        // 6 250.
        let s = CatalogueStats {
            matters: 3,
            fee_items: 2,
            ratio_matters: 2,
            ratio_bp_sum: 7_500,
        };
        assert_eq!(s.average_ratio().basis_points(), Some(3_750));
        assert_eq!(s.speed_up().basis_points(), Some(6_250));
    }
}
