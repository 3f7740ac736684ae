//! Performance scores (绩效评估, docs/design.md §4): what each department did in a month, a quarter or
//! a year, a composite score on a 100-point base, and rankings with their flags.
//!
//! The pipeline, each step pure:
//! 1. [`facts`]: a case's records and clocks, a warning and its answer, the catalogue, each
//!    give integer [`Counters`] per local day of their department. The supervision platform
//!    keeps their sums per (department, day) as rollups, updated as records and warnings
//!    arrive.
//! 2. [`period`]: a [`Period`] is a span of local days; a department's counters over it are
//!    the sum of its days.
//! 3. [`indicators`]: rates are exact [`Ratio`]s of those counters (on time, early, used
//!    share, speed-up, satisfaction, bad reviews, corrected in time).
//! 4. [`config`] and [`ranking`]: the composite score by a validated [`ScoreConfig`], the
//!    ranking with deterministic ties, the bottom two, and leadership review for two bottom
//!    years in a row.
//! 5. [`grade`]: each ranked department's grade (excellent, good, pass, fail) by score, rank
//!    or both, the bottom two capped.
//!
//! A closed period is frozen as its [`Assessment`]: the inputs (every department's counters,
//! catalogue and region) and the configuration, from which every ranking of the period (the
//! city, any region subtree) is recomputed identically.

pub mod config;
pub mod facts;
pub mod grade;
pub mod indicators;
pub mod period;
pub mod ranking;

use serde::{Deserialize, Serialize};

use crate::jurisdiction::is_within;

pub use config::{Points, ScoreConfig, ScoreConfigError, ScoreConfigSpec};
pub use grade::{Grade, GradeBasis, GradeConfig};
pub use indicators::{CatalogueStats, Counters, Ratio};
pub use period::{Period, PeriodKind};
pub use ranking::{Ranked, ScoreCard, UnitInput, flag_leadership_review, rank, score};

/// Everything a period's scores are computed from: what a closed period stores (versioned),
/// and what an open period is assembled from the rollups on each query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assessment {
    pub period: Period,
    pub config: ScoreConfig,
    /// Every department with counters in the period or matters in the catalogue, by code.
    pub units: Vec<UnitInput>,
}

impl Assessment {
    /// The ranking of the departments in the region subtree `region` (every department when
    /// None or empty): a department belongs to a subtree when its region code starts with the
    /// subtree's code.
    pub fn ranking(&self, region: Option<&str>) -> Vec<Ranked> {
        let units = self
            .units
            .iter()
            .filter(|u| is_within(&u.region, region.unwrap_or("")))
            .cloned()
            .collect();
        rank(&self.config, units)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::strip_json_comments;

    #[test]
    fn the_documented_example_is_the_default() {
        let text = include_str!("../../data/scores.example.json");
        let parsed: ScoreConfig =
            serde_json::from_str(&strip_json_comments(text)).expect("the example parses");
        assert_eq!(parsed, ScoreConfig::default());
        let empty: ScoreConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(empty, ScoreConfig::default());
    }

    #[test]
    fn a_config_file_is_validated_with_paths() {
        let e = serde_json::from_str::<ScoreConfig>(r#"{"weights": {"on_time_rate": 45}}"#)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("weights: add up to 105.00; they must add up to base (100.00)"),
            "{e}"
        );
        let e = serde_json::from_str::<ScoreConfig>(r#"{"bonuses": {"no_card": 1}}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown field `no_card`"), "{e}");
        let e = serde_json::from_str::<ScoreConfig>(r#"{"deductions": {"red_card": 0.125}}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("at most two decimals"), "{e}");
        let half: ScoreConfig =
            serde_json::from_str(r#"{"deductions": {"red_card": 0.29}}"#).unwrap();
        assert_eq!(half.spec().deductions.red_card, Points::hundredths(29));
        // Serialized in full, and read back the same.
        let text = serde_json::to_string(&half).unwrap();
        assert!(text.contains("\"red_card\":0.29"), "{text}");
        assert_eq!(serde_json::from_str::<ScoreConfig>(&text).unwrap(), half);
    }

    #[test]
    fn a_region_subtree_takes_the_departments_whose_region_starts_with_it() {
        let unit = |department: &str, region: &str| UnitInput {
            department: department.into(),
            region: region.into(),
            counters: Counters::default(),
            catalogue: CatalogueStats::default(),
        };
        let a = Assessment {
            period: "2024".parse().unwrap(),
            config: ScoreConfig::default(),
            units: vec![
                unit("district", "330106"),
                unit("city", "3301"),
                unit("other-city", "3302"),
                // A department of unknown region is only in the whole tree.
                unit("nowhere", ""),
            ],
        };
        let in_ranking = |region: Option<&str>| {
            let mut d: Vec<String> = a
                .ranking(region)
                .into_iter()
                .map(|r| r.unit.department)
                .collect();
            d.sort();
            d
        };
        assert_eq!(in_ranking(Some("3301")), ["city", "district"]);
        assert_eq!(in_ranking(Some("33")).len(), 3);
        assert_eq!(in_ranking(None).len(), 4);
        assert_eq!(in_ranking(Some("")).len(), 4);
    }
}
