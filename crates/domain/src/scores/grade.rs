//! Grades (考核等次, docs/design.md §4): each ranked department of a period's ranking gets
//! excellent, good, pass or fail by configurable thresholds: by score, by rank, or both (the
//! lower of the two); a department in the bottom two is never above its configured ceiling
//! ("pass" by default, "fail" where the city wants it so).
//!
//! By score: at least `score.excellent` points is excellent, at least `score.good` good, at
//! least `score.pass` pass, else fail. By rank, of n ranked departments, one whose (shared) rank
//! r has r × 100 ≤ n × `rank.excellent_percent` is excellent, likewise good and pass, else fail:
//! integers only, so the same ranking gives the same grades on every machine, and a tie shares
//! its grade as it shares its rank. A department not ranked (too few cases) has no grade.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::FieldError;
use crate::scores::config::Points;

/// A department's grade in a period, best first (so `Ord` puts the better grade first and
/// `max` is the worse one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grade {
    Excellent,
    Good,
    Pass,
    Fail,
}

impl Grade {
    pub fn as_str(self) -> &'static str {
        match self {
            Grade::Excellent => "excellent",
            Grade::Good => "good",
            Grade::Pass => "pass",
            Grade::Fail => "fail",
        }
    }

    /// The grade in Chinese, as letters and notices print it.
    pub fn chinese(self) -> &'static str {
        match self {
            Grade::Excellent => "优秀",
            Grade::Good => "良好",
            Grade::Pass => "合格",
            Grade::Fail => "不合格",
        }
    }
}

impl fmt::Display for Grade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Grade {
    type Err = String;
    fn from_str(s: &str) -> Result<Grade, String> {
        match s {
            "excellent" => Ok(Grade::Excellent),
            "good" => Ok(Grade::Good),
            "pass" => Ok(Grade::Pass),
            "fail" => Ok(Grade::Fail),
            other => Err(format!(
                "unknown grade {other:?}: excellent, good, pass or fail"
            )),
        }
    }
}

/// What grades are given by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GradeBasis {
    Score,
    Rank,
    /// The lower of the grade by score and the grade by rank.
    Both,
}

/// The lowest score of each grade but fail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScoreThresholds {
    pub excellent: Points,
    pub good: Points,
    pub pass: Points,
}

impl Default for ScoreThresholds {
    fn default() -> Self {
        ScoreThresholds {
            excellent: Points::whole(90),
            good: Points::whole(80),
            pass: Points::whole(60),
        }
    }
}

/// The share of the ranked departments, from the top, that each grade but fail reaches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RankThresholds {
    pub excellent_percent: u32,
    pub good_percent: u32,
    pub pass_percent: u32,
}

impl Default for RankThresholds {
    fn default() -> Self {
        RankThresholds {
            excellent_percent: 20,
            good_percent: 50,
            pass_percent: 100,
        }
    }
}

/// The grades' configuration (`grades` in the score configuration file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GradeConfig {
    pub by: GradeBasis,
    pub score: ScoreThresholds,
    pub rank: RankThresholds,
    /// The best grade a department of the bottom two may have: `pass` or `fail`.
    pub bottom_two: Grade,
}

impl Default for GradeConfig {
    fn default() -> Self {
        GradeConfig {
            by: GradeBasis::Score,
            score: ScoreThresholds::default(),
            rank: RankThresholds::default(),
            bottom_two: Grade::Pass,
        }
    }
}

impl GradeConfig {
    /// Every invalid field, by dotted path under `grades`.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let s = &self.score;
        if s.pass.get() < 0 {
            errors.push(FieldError::new("grades.score.pass", "must not be negative"));
        }
        if s.good < s.pass {
            errors.push(FieldError::new(
                "grades.score.good",
                format!("{} is below pass ({})", s.good, s.pass),
            ));
        }
        if s.excellent < s.good {
            errors.push(FieldError::new(
                "grades.score.excellent",
                format!("{} is below good ({})", s.excellent, s.good),
            ));
        }
        let r = &self.rank;
        for (path, p) in [
            ("grades.rank.excellent_percent", r.excellent_percent),
            ("grades.rank.good_percent", r.good_percent),
            ("grades.rank.pass_percent", r.pass_percent),
        ] {
            if p > 100 {
                errors.push(FieldError::new(path, "must be at most 100"));
            }
        }
        if r.good_percent < r.excellent_percent {
            errors.push(FieldError::new(
                "grades.rank.good_percent",
                "must be at least excellent_percent",
            ));
        }
        if r.pass_percent < r.good_percent {
            errors.push(FieldError::new(
                "grades.rank.pass_percent",
                "must be at least good_percent",
            ));
        }
        if self.bottom_two < Grade::Pass {
            errors.push(FieldError::new(
                "grades.bottom_two",
                "the bottom two are never above pass: pass or fail",
            ));
        }
        errors
    }

    /// The grade by score alone.
    pub fn by_score(&self, total: Points) -> Grade {
        let s = &self.score;
        if total >= s.excellent {
            Grade::Excellent
        } else if total >= s.good {
            Grade::Good
        } else if total >= s.pass {
            Grade::Pass
        } else {
            Grade::Fail
        }
    }

    /// The grade by rank alone: `rank` (1 for the best, shared by ties) of `ranked`.
    pub fn by_rank(&self, rank: u32, ranked: u32) -> Grade {
        let within = |percent: u32| u64::from(rank) * 100 <= u64::from(ranked) * u64::from(percent);
        let r = &self.rank;
        if within(r.excellent_percent) {
            Grade::Excellent
        } else if within(r.good_percent) {
            Grade::Good
        } else if within(r.pass_percent) {
            Grade::Pass
        } else {
            Grade::Fail
        }
    }

    /// The grade of a ranked department: by the configured basis, then no better than
    /// `bottom_two` for one of the bottom two.
    pub fn grade(&self, total: Points, rank: u32, ranked: u32, bottom_two: bool) -> Grade {
        let grade = match self.by {
            GradeBasis::Score => self.by_score(total),
            GradeBasis::Rank => self.by_rank(rank, ranked),
            GradeBasis::Both => self.by_score(total).max(self.by_rank(rank, ranked)),
        };
        if bottom_two {
            grade.max(self.bottom_two)
        } else {
            grade
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pts(n: i64) -> Points {
        Points::hundredths(n)
    }

    #[test]
    fn by_score_each_threshold_is_the_lowest_score_of_its_grade() {
        let g = GradeConfig::default();
        assert_eq!(g.by_score(pts(9_000)), Grade::Excellent);
        assert_eq!(g.by_score(pts(8_999)), Grade::Good);
        assert_eq!(g.by_score(pts(8_000)), Grade::Good);
        assert_eq!(g.by_score(pts(7_999)), Grade::Pass);
        assert_eq!(g.by_score(pts(6_000)), Grade::Pass);
        assert_eq!(g.by_score(pts(5_999)), Grade::Fail);
        assert_eq!(g.by_score(pts(0)), Grade::Fail);
    }

    #[test]
    fn by_rank_shares_are_exact_and_ties_share_a_grade() {
        let g = GradeConfig::default();
        // 10 ranked: top 20 % = ranks 1-2, 50 % = 3-5, the rest pass (pass_percent 100).
        let grades: Vec<Grade> = (1..=10).map(|r| g.by_rank(r, 10)).collect();
        use Grade::*;
        assert_eq!(
            grades,
            [
                Excellent, Excellent, Good, Good, Good, Pass, Pass, Pass, Pass, Pass
            ]
        );
        // 3 ranked: 20 % of 3 is 0.6 places, so nobody is excellent by rank.
        assert_eq!(g.by_rank(1, 3), Good);
        // A tie of ranks 2 and 2 among 10 shares excellent.
        assert_eq!(g.by_rank(2, 10), Excellent);
        let strict = GradeConfig {
            rank: RankThresholds {
                excellent_percent: 10,
                good_percent: 40,
                pass_percent: 80,
            },
            ..GradeConfig::default()
        };
        assert_eq!(strict.by_rank(9, 10), Fail);
        assert_eq!(strict.by_rank(8, 10), Pass);
    }

    #[test]
    fn both_takes_the_lower_and_the_bottom_two_are_capped() {
        let both = GradeConfig {
            by: GradeBasis::Both,
            ..GradeConfig::default()
        };
        // 95 points but rank 4 of 10: good by rank.
        assert_eq!(both.grade(pts(9_500), 4, 10, false), Grade::Good);
        // Rank 1 of 10 but 70 points: pass by score.
        assert_eq!(both.grade(pts(7_000), 1, 10, false), Grade::Pass);
        // A bottom-two department with an excellent score is still pass at best ...
        let g = GradeConfig::default();
        assert_eq!(g.grade(pts(9_500), 9, 10, true), Grade::Pass);
        // ... and fail where configured; a failing score stays fail either way.
        let harsh = GradeConfig {
            bottom_two: Grade::Fail,
            ..GradeConfig::default()
        };
        assert_eq!(harsh.grade(pts(9_500), 9, 10, true), Grade::Fail);
        assert_eq!(g.grade(pts(1_000), 9, 10, true), Grade::Fail);
        // Outside the bottom two the cap does nothing.
        assert_eq!(harsh.grade(pts(9_500), 8, 10, false), Grade::Excellent);
    }

    #[test]
    fn bad_thresholds_are_named_by_their_path() {
        let bad = GradeConfig {
            score: ScoreThresholds {
                excellent: pts(7_000),
                good: pts(8_000),
                pass: pts(-1),
            },
            rank: RankThresholds {
                excellent_percent: 60,
                good_percent: 50,
                pass_percent: 101,
            },
            bottom_two: Grade::Good,
            ..GradeConfig::default()
        };
        let paths: Vec<String> = bad.validate().into_iter().map(|e| e.field).collect();
        assert_eq!(
            paths,
            [
                "grades.score.pass",
                "grades.score.excellent",
                "grades.rank.pass_percent",
                "grades.rank.good_percent",
                "grades.bottom_two",
            ]
        );
        assert!(GradeConfig::default().validate().is_empty());
    }

    #[test]
    fn grades_read_and_print_by_name() {
        for g in [Grade::Excellent, Grade::Good, Grade::Pass, Grade::Fail] {
            assert_eq!(g.as_str().parse::<Grade>(), Ok(g));
            assert_eq!(serde_json::to_string(&g).unwrap(), format!("\"{g}\""));
        }
        assert!("great".parse::<Grade>().is_err());
    }
}
