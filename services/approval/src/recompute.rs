//! Re-timing open cases after something they count on changed: the reminder thresholds of the
//! rule configuration ([`Ingestor::recompute_due`]) or a working-day calendar
//! ([`Ingestor::recompute_calendar`]).
//!
//! A threshold change moves only the reminders (`approaching:*` instants): the deadlines stay,
//! so each open case's reminders are computed from the clock views its projection row keeps
//! (written with its due instants, at the same version) and only those instants are replaced;
//! no record is read and no case replayed. Pages of [`RECOMPUTE_BATCH`] case rows are read one
//! after another while the pages before them are computed and written
//! ([`RECOMPUTE_IN_FLIGHT`] at once), each written in one transaction that replaces a case's
//! instants only while the case is still at the version read. A case a concurrent commit
//! changed meanwhile is read and computed again (that commit already used the new
//! configuration).
//!
//! A calendar edit moves deadlines, so the cases it touches are replayed from their records:
//! exactly the open cases with a clock counting on that calendar that has not stopped and whose
//! span (from its start to its last day, or on to the end of the known range for a provisional
//! clock) holds a changed day.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{NaiveDate, SubsecRound};
use egov_domain::calendar::Calendar;
use egov_domain::case::{Case, CaseState};
use egov_domain::clock::{ClockView, clocks};
use egov_domain::ids::{DepartmentCode, MatterCode};
use egov_domain::rules::approaching_deadline::{self, Approaching, reminder_at_view};
use egov_domain::rules::{DueScope, EffectiveRules, RuleConfig};
use egov_store::{CaseRow, DueInstant, DueReplacement};
use futures::StreamExt;
use futures::stream::FuturesUnordered;

use crate::catalogue::{CaseMatter, version_in_force};
use crate::error::ApiError;
use crate::ingest::{Ingestor, stored_to_domain};
use crate::view::clock_views;

/// Open cases read, computed and replaced per transaction.
pub const RECOMPUTE_BATCH: u32 = 2000;

/// How many batches are computed and written at once (the next page is read meanwhile).
const RECOMPUTE_IN_FLIGHT: usize = 3;

/// How often a batch's cases changed by concurrent commits are read and computed again.
const MAX_ATTEMPTS: u32 = 5;

/// Cases computed between two yields to the runtime, so that a large recomputation never
/// holds a worker thread (and the platform's other tasks) for long.
const YIELD_EVERY: usize = 256;

/// The states of closed cases, whose due instants a change leaves alone.
fn closed_states() -> Vec<String> {
    [
        CaseState::Completed,
        CaseState::Refused,
        CaseState::Withdrawn,
    ]
    .into_iter()
    .filter(|s| s.is_closed())
    .map(|s| s.as_str().to_owned())
    .collect()
}

/// Where a recomputation's time went, logged when it ends (and read by the benchmark).
#[derive(Debug, Clone, Copy, Default)]
pub struct RecomputeStats {
    /// Open cases whose instants were replaced.
    pub cases: u64,
    /// Pages of case rows read.
    pub pages: u64,
    /// Time spent reading pages (the reader waits for nothing else).
    pub read: Duration,
    /// Time spent computing instants (all batches together).
    pub compute: Duration,
    /// Time spent in the replacing transactions (all batches together, overlapping).
    pub write: Duration,
    /// Cases read again because a concurrent commit changed them.
    pub retried: u64,
    /// Cases replayed from their records instead (their matter's versions count on
    /// different calendars, so the view alone does not say which one).
    pub replayed: u64,
    /// From start to end.
    pub total: Duration,
}

impl RecomputeStats {
    fn add(&mut self, other: &RecomputeStats) {
        self.cases += other.cases;
        self.compute += other.compute;
        self.write += other.write;
        self.retried += other.retried;
        self.replayed += other.replayed;
    }
}

/// The calendar each matter's cases count on, when every version of the matter counts on the
/// same one (None: they differ, or the calendar is not loaded; such cases are replayed).
type MatterCalendars = HashMap<String, Option<Arc<Calendar>>>;

impl Ingestor {
    /// Recomputes, by the configuration in force, the reminders of the open cases in `scope`
    /// (what a change of the reminder thresholds moves). Returns how many cases were
    /// recomputed.
    pub async fn recompute_due(&self, scope: &DueScope) -> Result<u64, ApiError> {
        Ok(self.recompute_due_stats(scope).await?.cases)
    }

    /// [`Ingestor::recompute_due`] with where the time went.
    pub async fn recompute_due_stats(&self, scope: &DueScope) -> Result<RecomputeStats, ApiError> {
        let started = Instant::now();
        let (departments, matters): (Vec<String>, Vec<String>) = match scope {
            DueScope::Nothing => return Ok(RecomputeStats::default()),
            DueScope::All => (Vec::new(), Vec::new()),
            DueScope::Some {
                departments,
                matters,
            } => (
                departments.iter().map(ToString::to_string).collect(),
                matters.iter().map(ToString::to_string).collect(),
            ),
        };
        let scope = match scope {
            DueScope::All => None,
            _ => Some((departments.as_slice(), matters.as_slice())),
        };
        let store = self.catalogue().store();
        let closed = closed_states();
        let rules = self.rules();
        let mut calendars = MatterCalendars::new();
        let mut stats = RecomputeStats::default();
        let mut after: Option<String> = None;
        let mut exhausted = false;
        let mut in_flight = FuturesUnordered::new();
        loop {
            while !exhausted && in_flight.len() < RECOMPUTE_IN_FLIGHT {
                let read = Instant::now();
                let rows = store
                    .open_case_rows(&closed, scope, after.as_deref(), RECOMPUTE_BATCH)
                    .await?;
                stats.read += read.elapsed();
                stats.pages += 1;
                let Some(last) = rows.last() else {
                    exhausted = true;
                    break;
                };
                after = Some(last.case_no.clone());
                for row in &rows {
                    if !calendars.contains_key(&row.matter_code) {
                        let calendar = self.matter_calendar(&row.matter_code).await?;
                        calendars.insert(row.matter_code.clone(), calendar);
                    }
                }
                in_flight.push(self.reminders_batch(rows, rules.clone(), calendars.clone()));
            }
            match in_flight.next().await {
                Some(done) => stats.add(&done?),
                None => break,
            }
        }
        stats.total = started.elapsed();
        tracing::info!(
            cases = stats.cases,
            pages = stats.pages,
            read_ms = stats.read.as_millis() as u64,
            compute_ms = stats.compute.as_millis() as u64,
            write_ms = stats.write.as_millis() as u64,
            retried = stats.retried,
            replayed = stats.replayed,
            total_ms = stats.total.as_millis() as u64,
            "reminders recomputed"
        );
        Ok(stats)
    }

    /// The one calendar every version of the matter `code` counts on, if there is one.
    async fn matter_calendar(&self, code: &str) -> Result<Option<Arc<Calendar>>, ApiError> {
        let versions = self.catalogue().matter_versions(code).await?;
        let ids: HashSet<&str> = versions
            .iter()
            .map(|v| v.matter.calendar.as_str())
            .collect();
        match (ids.len(), versions.first()) {
            (1, Some(v)) => self.catalogue().calendar(&v.matter.calendar).await,
            _ => Ok(None),
        }
    }

    /// Computes and replaces the reminders of `rows`, again for the cases a concurrent commit
    /// changed meanwhile.
    async fn reminders_batch(
        &self,
        mut rows: Vec<CaseRow>,
        rules: Arc<RuleConfig>,
        calendars: MatterCalendars,
    ) -> Result<RecomputeStats, ApiError> {
        let store = self.catalogue().store();
        let closed = closed_states();
        let mut stats = RecomputeStats::default();
        let mut approaching: HashMap<(String, String), Approaching> = HashMap::new();
        for attempt in 0..MAX_ATTEMPTS {
            let computing = Instant::now();
            let now = self.clock().now().trunc_subsecs(6);
            let mut replacements = Vec::with_capacity(rows.len());
            let mut replay = Vec::new();
            for (i, row) in rows.iter().enumerate() {
                if i % YIELD_EVERY == YIELD_EVERY - 1 {
                    tokio::task::yield_now().await;
                }
                if closed.contains(&row.state) {
                    continue;
                }
                let Some(calendar) = calendars.get(&row.matter_code).cloned().flatten() else {
                    replay.push(row.case_no.clone());
                    continue;
                };
                let key = (row.matter_code.clone(), row.department.clone());
                let a = match approaching.get(&key) {
                    Some(a) => *a,
                    None => {
                        let a = effective_approaching(&rules, row);
                        approaching.insert(key, a);
                        a
                    }
                };
                let due = clock_views(row)
                    .iter()
                    .filter_map(|v| {
                        reminder_at_view(v, &calendar, &a).map(|at| DueInstant {
                            case_no: row.case_no.clone(),
                            clock: format!("{}{}", approaching_deadline::PREFIX, v.key),
                            due_at: self.stored_due_at(at, now),
                        })
                    })
                    .collect();
                replacements.push(DueReplacement {
                    case_no: row.case_no.clone(),
                    expected_version: row.version,
                    due,
                });
            }
            stats.compute += computing.elapsed();
            if !replay.is_empty() {
                stats.replayed += replay.len() as u64;
                stats.cases += self.replay_batch(replay).await?;
            }
            let writing = Instant::now();
            let replaced = store
                .replace_due_keyed(&replacements, approaching_deadline::PREFIX)
                .await?;
            stats.write += writing.elapsed();
            stats.cases += replaced.len() as u64;
            let replaced: HashSet<&str> = replaced.iter().map(String::as_str).collect();
            let again: Vec<String> = replacements
                .iter()
                .filter(|r| !replaced.contains(r.case_no.as_str()))
                .map(|r| r.case_no.clone())
                .collect();
            if again.is_empty() {
                return Ok(stats);
            }
            if attempt + 1 < MAX_ATTEMPTS {
                stats.retried += again.len() as u64;
                rows = store.get_case_rows(&again).await?;
            } else {
                tracing::warn!(
                    cases = again.len(),
                    "reminders not recomputed: the cases kept changing (their commits used \
                     the new configuration)"
                );
            }
        }
        Ok(stats)
    }

    /// The open cases of `case_nos` replayed from their stored records, with the matter
    /// version in force and its calendar; a case whose matter, version or calendar is unknown,
    /// or that does not replay, is left out. `versions` keeps each matter's versions read, so
    /// that a batch reads them once, not once per case.
    async fn replay_open(
        &self,
        case_nos: &[String],
        versions: &mut HashMap<String, Vec<CaseMatter>>,
    ) -> Result<Vec<Replayed>, ApiError> {
        let closed = closed_states();
        let mut out = Vec::with_capacity(case_nos.len());
        let snapshots = self.catalogue().store().load_cases(case_nos).await?;
        for (i, snapshot) in snapshots.iter().enumerate() {
            if i % YIELD_EVERY == YIELD_EVERY - 1 {
                tokio::task::yield_now().await;
            }
            if closed.contains(&snapshot.case.state) {
                continue;
            }
            let records = snapshot
                .records
                .iter()
                .map(stored_to_domain)
                .collect::<Result<Vec<_>, _>>()?;
            let code = &snapshot.case.matter_code;
            if !versions.contains_key(code) {
                let v = self.catalogue().matter_versions(code).await?;
                versions.insert(code.clone(), v);
            }
            let Some(versioned) = version_in_force(&versions[code], &records) else {
                continue;
            };
            let matter = versioned.matter.clone();
            let Some(calendar) = self.catalogue().calendar(&matter.calendar).await? else {
                continue;
            };
            let Ok(case) = Case::replay(&records.iter().collect::<Vec<_>>(), &matter) else {
                tracing::warn!(case_no = %snapshot.case.case_no, "case does not replay");
                continue;
            };
            out.push(Replayed {
                case_no: snapshot.case.case_no.clone(),
                expected_version: snapshot.case.version,
                updated_at: snapshot.case.updated_at,
                case,
                version: versioned.version,
                several_versions: versions[code].len() > 1,
                matter,
                calendar,
            });
        }
        Ok(out)
    }

    /// Replays `case_nos` from their records and replaces all their due instants, again for
    /// those a concurrent commit changed meanwhile. Returns how many were replaced.
    pub(crate) async fn replay_batch(&self, mut case_nos: Vec<String>) -> Result<u64, ApiError> {
        let store = self.catalogue().store();
        let rules = self.rules();
        // One read of each matter's versions per batch, not one per case.
        let mut versions: HashMap<String, Vec<CaseMatter>> = HashMap::new();
        let mut done = 0u64;
        for _ in 0..MAX_ATTEMPTS {
            let now = self.clock().now().trunc_subsecs(6);
            let mut replacements = Vec::with_capacity(case_nos.len());
            for r in self.replay_open(&case_nos, &mut versions).await? {
                let effective = rules.effective(&r.case.matter_code, &r.case.department);
                let clocks = clocks(&r.case, &r.matter, &r.calendar);
                replacements.push(DueReplacement {
                    due: self.due_rows(&r.case, &clocks, &r.calendar, &effective, now),
                    case_no: r.case_no,
                    expected_version: r.expected_version,
                });
            }
            let replaced = store.replace_due(&replacements).await?;
            done += replaced.len() as u64;
            let replaced: HashSet<&str> = replaced.iter().map(String::as_str).collect();
            case_nos = replacements
                .iter()
                .filter(|r| !replaced.contains(r.case_no.as_str()))
                .map(|r| r.case_no.clone())
                .collect();
            if case_nos.is_empty() {
                return Ok(done);
            }
        }
        tracing::warn!(
            cases = case_nos.len(),
            "due instants not recomputed: the cases kept changing (their commits used the new \
             configuration)"
        );
        Ok(done)
    }
}

/// The reminder thresholds in force for the case of `row`; the built-in ones for a row whose
/// codes do not parse (as the supervision platform judges it).
fn effective_approaching(rules: &RuleConfig, row: &CaseRow) -> Approaching {
    match (
        MatterCode::parse(row.matter_code.clone()),
        DepartmentCode::parse(row.department.clone()),
    ) {
        (Ok(matter), Ok(department)) => rules.effective(&matter, &department).approaching(),
        _ => EffectiveRules::defaults().approaching(),
    }
}

/// Whether a calendar edit that changed the days `changed` (sorted) moves the clock `view`:
/// one that has not stopped and whose span, from its start's local day to its last day (on
/// and on when provisional or paused), holds a changed day.
pub fn touched_by(view: &ClockView, calendar: &Calendar, changed: &[NaiveDate]) -> bool {
    if view.status.starts_with("stopped") {
        return false;
    }
    let from = calendar.local_date(view.started_at);
    // A paused clock's last day moves on with its suspension, over days not yet known.
    let to = if view.provisional || view.status == "paused" {
        NaiveDate::MAX
    } else {
        view.last_day
    };
    let i = changed.partition_point(|d| *d < from);
    changed.get(i).is_some_and(|d| *d <= to)
}

/// The days a calendar edit changed: those whose kind differs between `old` and `new` (a day
/// listed in one only counts as changed), and the first day of a newly known range (which ends
/// the provisional deadlines that ran beyond the old one). Sorted.
pub fn changed_days(old: &Calendar, new: &Calendar) -> Vec<NaiveDate> {
    let kinds = |c: &Calendar| -> HashMap<NaiveDate, String> {
        c.days()
            .iter()
            .map(|d| (d.date, d.kind.as_str().to_owned()))
            .collect()
    };
    let (before, after) = (kinds(old), kinds(new));
    let mut changed: Vec<NaiveDate> = before
        .iter()
        .filter(|(date, kind)| after.get(*date) != Some(*kind))
        .chain(after.iter().filter(|(date, _)| !before.contains_key(*date)))
        .map(|(date, _)| *date)
        .collect();
    let (old_end, new_end) = (old.known_range().1, new.known_range().1);
    if new_end > old_end {
        changed.extend(old_end.succ_opt());
    }
    changed.sort_unstable();
    changed.dedup();
    changed
}

impl Ingestor {
    /// Re-times the open cases the edit of `calendar` (which changed the days `changed`,
    /// sorted: [`changed_days`]) touches ([`touched_by`]): replays each from its records and
    /// writes its projection and due instants, as a commit of the case would. Returns how many
    /// cases were re-timed.
    pub async fn recompute_calendar(
        &self,
        calendar: &Calendar,
        changed: &[NaiveDate],
    ) -> Result<u64, ApiError> {
        if changed.is_empty() {
            return Ok(0);
        }
        let store = self.catalogue().store();
        let closed = closed_states();
        // Whether any version of each matter counts on this calendar.
        let mut counts_on: HashMap<String, bool> = HashMap::new();
        let mut after: Option<String> = None;
        let mut touched = Vec::new();
        let mut total = 0u64;
        loop {
            let rows = store
                .open_case_rows(&closed, None, after.as_deref(), RECOMPUTE_BATCH)
                .await?;
            let Some(last) = rows.last() else { break };
            after = Some(last.case_no.clone());
            for row in &rows {
                if !counts_on.contains_key(&row.matter_code) {
                    let versions = self.catalogue().matter_versions(&row.matter_code).await?;
                    let on = versions.iter().any(|v| &v.matter.calendar == calendar.id());
                    counts_on.insert(row.matter_code.clone(), on);
                }
                if counts_on[&row.matter_code]
                    && clock_views(row)
                        .iter()
                        .any(|v| touched_by(v, calendar, changed))
                {
                    touched.push(row.case_no.clone());
                }
            }
            if touched.len() >= RECOMPUTE_BATCH as usize {
                total += self.retime_batch(std::mem::take(&mut touched)).await?;
            }
        }
        if !touched.is_empty() {
            total += self.retime_batch(touched).await?;
        }
        tracing::info!(
            calendar = calendar.id().as_str(),
            changed_days = changed.len(),
            cases = total,
            "open cases re-timed after a calendar edit"
        );
        Ok(total)
    }

    /// Replays `case_nos` and writes their projections and due instants (a commit without
    /// records at the version read), again from fresh state when a concurrent commit changed
    /// one of them meanwhile.
    async fn retime_batch(&self, case_nos: Vec<String>) -> Result<u64, ApiError> {
        let store = self.catalogue().store();
        let mut versions: HashMap<String, Vec<CaseMatter>> = HashMap::new();
        // The clocks are re-timed by this work: what they raise later joins its trace.
        let trace = egov_runtime::trace::current();
        for _ in 0..MAX_ATTEMPTS {
            let rules = self.rules();
            let now = self.clock().now().trunc_subsecs(6);
            let mut writes = Vec::with_capacity(case_nos.len());
            for r in self.replay_open(&case_nos, &mut versions).await? {
                let effective = rules.effective(&r.case.matter_code, &r.case.department);
                let mut clocks = clocks(&r.case, &r.matter, &r.calendar);
                if r.several_versions {
                    egov_domain::clock::note_catalogue_version(
                        &mut clocks,
                        r.matter.code.as_str(),
                        r.version,
                    );
                }
                let due = self.due_rows(&r.case, &clocks, &r.calendar, &effective, now);
                writes.push(egov_store::CaseWrite {
                    case: crate::view::case_row(&r.case, &clocks, r.updated_at, trace.as_deref()),
                    expected_version: Some(r.expected_version),
                    records: Vec::new(),
                    due,
                    warnings: Vec::new(),
                });
            }
            match store.commit(&writes, now).await {
                Ok(_) => return Ok(writes.len() as u64),
                Err(egov_store::StoreError::Conflict { case_no }) => {
                    tracing::debug!(%case_no, "a re-timed case changed meanwhile; again");
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(ApiError::Internal(
            "open cases not re-timed after a calendar edit: they kept changing".into(),
        ))
    }
}

/// An open case replayed by [`Ingestor::replay_open`], with what its re-timing needs.
struct Replayed {
    case_no: String,
    /// The projection's version read, for the optimistic write.
    expected_version: i64,
    updated_at: chrono::DateTime<chrono::Utc>,
    case: Case,
    matter: Arc<egov_domain::matter::Matter>,
    /// The matter's catalogue version in force, and whether the matter has more than one.
    version: i64,
    several_versions: bool,
    calendar: Arc<Calendar>,
}
