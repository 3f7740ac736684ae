//! Performance scores (docs/design.md §4) on the supervision platform: the rollups kept up to date
//! as records and warnings arrive, and the assessments served to analysts.
//!
//! - [`follower`]: the scores follower, a worker that reads the record log and the warning
//!   stream by persisted cursors (`scores.log`, `scores.warnings`) and replaces, for every case
//!   and warning it reads, what it adds to its department's days (the domain's
//!   `scores::facts`), updating the daily rollups in the same transaction as its cursor. The
//!   approval platform's intake does no extra work for scores.
//! - this module: turning stored cases and warnings into facts, and assembling a period's
//!   [`Assessment`] (the rollups summed over the period, the catalogue, the departments'
//!   regions, the score configuration) live for an open period or from its snapshot for a
//!   closed one; closing and recomputing periods.
//! - [`service`]: the `ScoresService` RPCs; `wire`: their messages.
//!
//! Working days used are counted on the Chinese statutory calendar (`Calendar::china()`), as the
//! correction dues are; a matter's own calendar is not consulted yet.

pub mod follower;
pub mod service;
mod wire;

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock, RwLock};

use chrono::{DateTime, NaiveDate, Utc};
use egov_domain::calendar::Calendar;
use egov_domain::clock::ClockView;
use egov_domain::ids::{CaseNo, DepartmentCode, EventId, MatterCode};
use egov_domain::matter::Matter;
use egov_domain::record::{Record, RecordBody};
use egov_domain::rules::RuleConfig;
use egov_domain::scores::facts::{case_counters, catalogue_stats, common_region, warning_counters};
use egov_domain::scores::{
    Assessment, CatalogueStats, Counters, Period, Ranked, ScoreConfig, UnitInput,
    flag_leadership_review,
};
use egov_domain::warning::{Level, Rule};
use egov_domain::workflow::WarningState;
use egov_store::scores::{
    BuiltSnapshot, CounterValues, NewScoreSnapshot, ScoreDay, ScoreFacts, ScoreLateRow,
    ScoreResultRow, ScoreSnapshotRow, SnapshotOutcome, WarningProgress,
};
use egov_store::{CaseSnapshot, Page, Store, WarningRow};
use tokio::sync::Mutex;

use crate::error::{ApiError, Refusal};
use crate::service::Supervision;

/// The calendar working days are counted on (see the module documentation).
pub(crate) fn calendar() -> &'static Calendar {
    static CHINA: OnceLock<Calendar> = OnceLock::new();
    CHINA.get_or_init(Calendar::china)
}

/// The scores' share of the platform's state.
#[derive(Debug)]
pub struct ScoresState {
    /// The score configuration of open periods and new snapshots.
    config: RwLock<Arc<ScoreConfig>>,
    /// Held for each pass of the follower, so a pass run by a call (closing a period) and the
    /// worker's never overlap.
    pub(crate) pass: Mutex<()>,
}

impl ScoresState {
    pub(crate) fn new() -> Self {
        ScoresState {
            config: RwLock::new(Arc::new(ScoreConfig::default())),
            pass: Mutex::new(()),
        }
    }
}

impl Default for ScoresState {
    fn default() -> Self {
        Self::new()
    }
}

impl Supervision {
    /// The score configuration in force for open periods and new snapshots.
    pub fn score_config(&self) -> Arc<ScoreConfig> {
        self.scores_state()
            .config
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Replaces the score configuration (from `--scores FILE` at start).
    pub fn set_score_config(&self, config: ScoreConfig) {
        *self
            .scores_state()
            .config
            .write()
            .unwrap_or_else(|e| e.into_inner()) = Arc::new(config);
    }
}

/// A stored record as the domain's record; None (logged) for one that does not parse.
fn domain_record(s: &egov_store::StoredRecord) -> Option<Record> {
    let parsed = (|| -> Result<Record, String> {
        Ok(Record {
            event_id: EventId::parse(s.event_id.clone()).map_err(|e| e.to_string())?,
            case_no: CaseNo::parse(s.case_no.clone()).map_err(|e| e.to_string())?,
            occurred_at: s.occurred_at,
            source: s.source.clone(),
            body: serde_json::from_value::<RecordBody>(s.body.clone())
                .map_err(|e| e.to_string())?,
        })
    })();
    match parsed {
        Ok(r) => Some(r),
        Err(error) => {
            tracing::warn!(event_id = %s.event_id, %error, "a stored record does not parse; not scored");
            None
        }
    }
}

fn days(by_day: BTreeMap<NaiveDate, Counters>) -> Vec<ScoreDay> {
    by_day
        .into_iter()
        .map(|(day, c)| ScoreDay {
            day,
            counters: c.to_array(),
        })
        .collect()
}

/// What a case adds to its department, computed from its records and stored clocks, at its
/// current version. `detail` names what brought the change (for late notes).
pub fn case_facts(snapshot: &CaseSnapshot, detail: String) -> ScoreFacts {
    let records: Vec<Record> = snapshot.records.iter().filter_map(domain_record).collect();
    let clocks: Vec<ClockView> = crate::raise::clock_views(&snapshot.case);
    ScoreFacts {
        source: "case".into(),
        key: snapshot.case.case_no.clone(),
        version: snapshot.case.version,
        department: snapshot.case.department.clone(),
        days: days(case_counters(&records, &clocks, calendar())),
        detail,
    }
}

/// What a warning adds to its department on the day it was raised. A card is corrected in
/// time when its first answer came before its FIRST correction due as stored on the warning
/// (an escalation's later due does not count). The stored due, not one recomputed from the
/// rules in force, so a rules change does not alter old cards at the next rebuild and two
/// instances running different rule versions write the same fact. Only a card whose due is not
/// stamped yet (the due worker lags the raise) gets the due the `rules` set from its raise.
pub fn warning_facts(
    w: &WarningRow,
    progress: Option<&WarningProgress>,
    rules: &RuleConfig,
) -> Option<ScoreFacts> {
    let (Some(rule), Some(level)) = (Rule::parse(&w.rule), Level::parse(&w.level)) else {
        tracing::warn!(id = w.id, rule = %w.rule, level = %w.level, "a warning of an unknown rule or level; not scored");
        return None;
    };
    if rule == Rule::Integrity || w.department.is_empty() {
        // A broken chain is no department's act (docs/design.md §9), nor is a warning of no
        // department (an office's late acceptance decision on a complaint, §3.3).
        return None;
    }
    let due = w.first_correction_due_at.or_else(|| {
        let effective = match (
            MatterCode::parse(w.matter_code.clone()),
            DepartmentCode::parse(w.department.clone()),
        ) {
            (Ok(m), Ok(d)) => rules.effective(&m, &d),
            _ => egov_domain::rules::EffectiveRules::defaults(),
        };
        effective
            .correction_due(level, w.raised_at, calendar())
            .map(|(d, _)| d.due_at)
    });
    // A state this build does not know counts, as it did before it changed.
    let state = WarningState::parse(&w.state).unwrap_or(WarningState::Raised);
    let counters = warning_counters(
        rule,
        level,
        state,
        progress.and_then(|p| p.answered_at),
        due,
    );
    Some(ScoreFacts {
        source: "warning".into(),
        key: w.id.to_string(),
        version: progress.map_or(0, |p| p.transitions),
        department: w.department.clone(),
        days: vec![ScoreDay {
            day: calendar().local_date(w.raised_at),
            counters: counters.to_array(),
        }],
        detail: format!(
            "warning {} ({} {}, case {})",
            w.id, w.rule, w.level, w.case_no
        ),
    })
}

/// The region of each department: the registry's (`departments`), else the nearest common
/// region of its cases as the scores follower saw them. The one place to change when the
/// registry becomes the only source.
pub async fn department_regions(store: &Store) -> Result<BTreeMap<String, String>, ApiError> {
    let mut regions: BTreeMap<String, String> = store.score_units().await?.into_iter().collect();
    for d in store.list_departments("").await? {
        regions.insert(d.code, d.region);
    }
    Ok(regions)
}

/// Merges the regions of cases into the known regions of their departments: the changed
/// (department, region) pairs.
pub(crate) fn merge_regions<'a>(
    known: &BTreeMap<String, String>,
    cases: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Vec<(String, String)> {
    let mut merged: BTreeMap<String, String> = BTreeMap::new();
    for (department, region) in cases {
        let current = merged
            .get(department)
            .or_else(|| known.get(department))
            .cloned();
        let next = match current {
            None => region.to_owned(),
            Some(c) => common_region(&c, region),
        };
        if known.get(department) != Some(&next) {
            merged.insert(department.to_owned(), next);
        } else {
            merged.remove(department);
        }
    }
    merged.into_iter().collect()
}

/// The catalogue per department and over all, from the stored matters.
pub async fn catalogue(
    store: &Store,
) -> Result<(BTreeMap<String, CatalogueStats>, CatalogueStats), ApiError> {
    let mut matters: Vec<Matter> = Vec::new();
    let mut page = Page::first(Page::MAX_SIZE);
    loop {
        let (rows, next) = store.list_matters(None, page).await?;
        for row in rows {
            match serde_json::from_value::<Matter>(row.definition.clone()) {
                Ok(m) => matters.push(m),
                Err(error) => {
                    tracing::warn!(matter = %row.matter_code, %error, "a stored matter does not parse; left out of the catalogue statistics");
                }
            }
        }
        match next {
            Some(token) => page = Page::next(Page::MAX_SIZE, token),
            None => break,
        }
    }
    Ok(catalogue_stats(&matters))
}

/// What does not change between the periods of one query: the departments' regions and the
/// catalogue.
#[derive(Debug, Clone)]
pub(crate) struct Context {
    pub regions: BTreeMap<String, String>,
    pub catalogue: BTreeMap<String, CatalogueStats>,
}

impl Context {
    pub async fn load(store: &Store) -> Result<Context, ApiError> {
        Ok(Context {
            regions: department_regions(store).await?,
            catalogue: catalogue(store).await?.0,
        })
    }

    /// The assessment of `period` from its rollup totals: every department with counters, in
    /// the catalogue or in the registry.
    pub fn assessment(
        &self,
        period: Period,
        config: &ScoreConfig,
        totals: &[(String, CounterValues)],
    ) -> Assessment {
        let mut units: BTreeMap<&str, Counters> = BTreeMap::new();
        for (department, values) in totals {
            units.insert(department, Counters::from_array(*values));
        }
        for department in self.catalogue.keys().chain(self.regions.keys()) {
            units.entry(department).or_default();
        }
        Assessment {
            period,
            config: config.clone(),
            units: units
                .into_iter()
                .map(|(department, counters)| UnitInput {
                    department: department.to_owned(),
                    region: self.regions.get(department).cloned().unwrap_or_default(),
                    counters,
                    catalogue: self.catalogue.get(department).copied().unwrap_or_default(),
                })
                .collect(),
        }
    }
}

/// A period's results as served: the frozen snapshot of a closed period, or the live
/// assessment of an open one.
#[derive(Debug, Clone)]
pub(crate) struct PeriodView {
    pub assessment: Assessment,
    /// The version in force, for a closed period.
    pub snapshot: Option<ScoreSnapshotRow>,
    /// Late changes after the version in force.
    pub late: Vec<ScoreLateRow>,
    /// When these results were computed.
    pub computed_at: DateTime<Utc>,
}

impl PeriodView {
    pub async fn load(s: &Supervision, period: Period, ctx: &Context) -> Result<Self, ApiError> {
        let store = s.store();
        if let Some(snapshot) = store.latest_score_snapshot(&period.to_string()).await? {
            let json = snapshot.assessment.as_deref().unwrap_or_default();
            let assessment: Assessment = serde_json::from_str(json).map_err(|e| {
                ApiError::Internal(format!("the snapshot of {period} does not parse: {e}"))
            })?;
            let late = store
                .score_late(&snapshot.period, snapshot.late_through)
                .await?;
            return Ok(PeriodView {
                assessment,
                computed_at: snapshot.computed_at,
                snapshot: Some(snapshot),
                late,
            });
        }
        let totals = store
            .score_totals(period.first_day(), period.last_day())
            .await?;
        Ok(PeriodView {
            assessment: ctx.assessment(period, &s.score_config(), &totals),
            snapshot: None,
            late: Vec::new(),
            computed_at: s.clock().now(),
        })
    }

    /// The ranking of the region subtree `region`; for a year, with the leadership-review flag
    /// against the same ranking of the year before.
    pub async fn ranking(
        &self,
        s: &Supervision,
        region: Option<&str>,
        ctx: &Context,
    ) -> Result<Vec<Ranked>, ApiError> {
        let mut ranked = self.assessment.ranking(region);
        let period = self.assessment.period;
        if period.kind() == egov_domain::scores::PeriodKind::Year {
            let before = Box::pin(PeriodView::load(s, period.previous(), ctx)).await?;
            flag_leadership_review(&mut ranked, &before.assessment.ranking(region));
        }
        Ok(ranked)
    }
}

/// Closes `period` (expected version 0) or recomputes it (expected: its newest version): runs
/// the follower until it has read everything committed, then freezes the rollups as the next
/// version. FAILED_PRECONDITION for a period not over, already closed (close) or not closed
/// (recompute); ABORTED when another recomputation won the race.
pub(crate) async fn freeze(
    s: &Supervision,
    period: Period,
    expected: i64,
    actor: &str,
    reason: &str,
) -> Result<ScoreSnapshotRow, ApiError> {
    let now = s.clock().now();
    let today = calendar().local_date(now);
    if !period.is_over(today) {
        return Err(ApiError::FailedPrecondition(
            Refusal::new(
                "PERIOD_NOT_OVER",
                format!(
                    "period {period} is not over: it ends on {}, and today is {today}",
                    period.last_day()
                ),
            )
            .with("period", period.to_string())
            .with("last_day", period.last_day().to_string())
            .precondition("PERIOD", period.to_string()),
        ));
    }
    follower::drain(s).await?;
    let ctx = Context::load(s.store()).await?;
    let config = s.score_config();
    let new = NewScoreSnapshot {
        period: &period.to_string(),
        first_day: period.first_day(),
        last_day: period.last_day(),
        computed_at: now,
        actor,
        reason,
    };
    let outcome = s
        .store()
        .store_score_snapshot(&new, expected, |totals| {
            let assessment = ctx.assessment(period, &config, totals);
            Ok(BuiltSnapshot {
                results: assessment.ranking(None).iter().map(result_row).collect(),
                assessment: serde_json::to_string(&assessment).map_err(|e| e.to_string())?,
            })
        })
        .await?;
    match outcome {
        SnapshotOutcome::Stored(row) => Ok(row),
        SnapshotOutcome::VersionIs(0) => Err(period_not_closed(period)),
        SnapshotOutcome::VersionIs(v) if expected == 0 => Err(ApiError::FailedPrecondition(
            Refusal::new(
                "PERIOD_ALREADY_CLOSED",
                format!(
                    "period {period} is already closed (version {v}); RecomputePeriod stores a \
                     new version"
                ),
            )
            .with("period", period.to_string())
            .with("version", v.to_string())
            .precondition("PERIOD", period.to_string()),
        )),
        SnapshotOutcome::VersionIs(v) => Err(ApiError::Aborted(
            Refusal::new(
                "CONCURRENT_CHANGE",
                format!("period {period} was recomputed meanwhile (version {v}); retry"),
            )
            .with("period", period.to_string())
            .with("version", v.to_string()),
        )),
    }
}

/// A department's frozen result for `score_results` (the SQL view `score_grades`).
fn result_row(r: &Ranked) -> ScoreResultRow {
    ScoreResultRow {
        department: r.unit.department.clone(),
        region: r.unit.region.clone(),
        rank: r.rank.map(i64::from),
        position: r.position.map(i64::from),
        score_hundredths: r.card.total.get(),
        grade: r.grade.map(|g| g.as_str().to_owned()),
        bottom_two: r.bottom_two,
    }
}

/// FAILED_PRECONDITION PERIOD_NOT_CLOSED: a recomputation needs a closed period.
pub(crate) fn period_not_closed(period: Period) -> ApiError {
    ApiError::FailedPrecondition(
        Refusal::new(
            "PERIOD_NOT_CLOSED",
            format!("period {period} is not closed: close it first"),
        )
        .with("period", period.to_string())
        .precondition("PERIOD", period.to_string()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use egov_domain::rules::{RuleConfigSpec, RuleOverrides};
    use egov_store::WarningPosition;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    /// A yellow card raised on Monday 2024-03-04 with its first due stamped on the Thursday
    /// (3 working days) and an escalation's later due on the Friday a week later.
    fn card() -> WarningRow {
        serde_json::from_value(serde_json::json!({
            "id": 7,
            "position": WarningPosition::START,
            "case_no": "C-1",
            "rule": "missing_reasons",
            "level": "yellow_card",
            "department": "D-1",
            "region": "330106",
            "matter_code": "M-1",
            "due_at": null,
            "raised_at": at("2024-03-04T02:00:00Z"),
            "state": "answered",
            "detail": {},
            "correction_due_at": at("2024-03-15T02:00:00Z"),
            "office": "3301",
            "first_correction_due_at": at("2024-03-07T02:00:00Z"),
        }))
        .unwrap()
    }

    fn rules(yellow_days: u32) -> RuleConfig {
        RuleConfig::new(RuleConfigSpec {
            defaults: RuleOverrides {
                correction_working_days: [(Level::YellowCard, yellow_days)].into(),
                ..RuleOverrides::default()
            },
            ..RuleConfigSpec::default()
        })
        .unwrap()
    }

    fn corrected_in_time(w: &WarningRow, answered: &str, rules: &RuleConfig) -> i64 {
        let progress = WarningProgress {
            transitions: 3,
            answered_at: Some(at(answered)),
        };
        let facts = warning_facts(w, Some(&progress), rules).unwrap();
        Counters::from_array(facts.days[0].counters).corrected_in_time
    }

    #[test]
    fn corrected_in_time_is_judged_against_the_first_stored_due_whatever_the_rules_now() {
        let w = card();
        // Answered on the Wednesday: in time, with the rules of 3 days as with 1 or 20 now.
        for days in [1, 3, 20] {
            assert_eq!(
                corrected_in_time(&w, "2024-03-06T02:00:00Z", &rules(days)),
                1
            );
        }
        // Answered after the first due but before the escalation's: late, even with a rule of
        // 20 working days now.
        for days in [1, 3, 20] {
            assert_eq!(
                corrected_in_time(&w, "2024-03-12T02:00:00Z", &rules(days)),
                0
            );
        }
        // A card whose due is not stamped yet gets the due the rules set from its raise.
        let unstamped = WarningRow {
            correction_due_at: None,
            first_correction_due_at: None,
            ..card()
        };
        assert_eq!(
            corrected_in_time(&unstamped, "2024-03-12T02:00:00Z", &rules(3)),
            0
        );
        assert_eq!(
            corrected_in_time(&unstamped, "2024-03-12T02:00:00Z", &rules(20)),
            1
        );
    }

    /// The store's counter columns and the domain's counters are one list.
    #[test]
    fn the_store_counter_columns_are_the_domain_counters() {
        assert_eq!(egov_store::scores::SCORE_COUNTERS, Counters::NAMES);
    }
}
