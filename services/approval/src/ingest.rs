//! Record ingest: from a batch of records to one transaction.
//!
//! For a batch, the platform (1) converts and validates each record on its own, (2) answers
//! resends of stored `event_id`s with their original outcome, (3) loads every case the batch
//! touches in one query, (4) admits the records case by case through the domain's state
//! machine, placing late records by their own time, (5) recomputes each touched case's clocks
//! and due instants, and (6) writes all records, case projections and due instants in ONE
//! transaction with multi-row statements. A record that fails any step is reported on its own;
//! the rest of the batch is stored. If another writer changed a case meanwhile, the store
//! refuses the commit and the batch is planned again from fresh state.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};

use chrono::{DateTime, SubsecRound, Utc};
use egov_domain::calendar::Calendar;
use egov_domain::case::{Case, CaseState, TransitionError, admit};
use egov_domain::clock::{clocks, note_catalogue_version};
use egov_domain::ids::{CaseNo, EventId};
use egov_domain::matter::Matter;
use egov_domain::record::{Record, RecordBody};
use egov_domain::rules::{self, EffectiveRules, RuleConfig, WarningDraft};
use egov_domain::warning::WarningDetail;
use egov_proto::approval::v1 as pb;
use egov_proto::convert::FieldViolations;
use egov_runtime::clock::SharedClock;
use egov_store::{CaseRow, CaseWrite, DueInstant, NewRecord, NewWarning, StoreError, StoredRecord};
use serde::Deserialize;

use crate::catalogue::{CaseMatter, Catalogue, version_in_force};
use crate::error::ApiError;
use crate::view::case_row;

/// How often a batch is planned again when other writers keep changing its cases.
const MAX_ATTEMPTS: u32 = 8;

/// The outcome of one record.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Stored(Accepted),
    Duplicate(Accepted),
    Rejected(pb::RecordError),
}

/// What a stored record's sender is told.
#[derive(Debug, Clone, PartialEq)]
pub struct Accepted {
    /// The record's sequence number in the log (increasing within its case).
    pub sequence: u64,
    /// The case's state right after the record was admitted.
    pub case_state: CaseState,
    pub received_at: DateTime<Utc>,
}

impl Verdict {
    pub fn to_proto(&self, event_id: String) -> pb::RecordResult {
        let (status, accepted, error) = match self {
            Verdict::Stored(a) => (pb::RecordStatus::Stored, Some(a), None),
            Verdict::Duplicate(a) => (pb::RecordStatus::Duplicate, Some(a), None),
            Verdict::Rejected(e) => (pb::RecordStatus::Rejected, None, Some(e.clone())),
        };
        pb::RecordResult {
            event_id,
            status: status.into(),
            sequence: accepted.map_or(0, |a| a.sequence),
            case_state: accepted.map_or(pb::CaseState::Unspecified, |a| a.case_state.into()) as i32,
            received_at: accepted.map(|a| a.received_at.into()),
            error,
        }
    }
}

mod verdict;
use verdict::{broken_rule, dated_ahead, rejected};

/// Converts one wire record: the domain value, or the per-record error naming every bad field.
pub fn convert(record: pb::Record) -> Result<Record, pb::RecordError> {
    Record::try_from(record)
        .map(normalize)
        .map_err(|v| v.to_record_error())
}

/// Times are kept to the microsecond on both databases; truncating on the way in makes a
/// resend compare equal to what was stored.
fn normalize(mut r: Record) -> Record {
    r.occurred_at = r.occurred_at.trunc_subsecs(6);
    match &mut r.body {
        RecordBody::Acceptance {
            promised_due_at: Some(t),
            ..
        } => *t = t.trunc_subsecs(6),
        RecordBody::SuspensionStarted { planned_end, .. } => {
            *planned_end = planned_end.trunc_subsecs(6)
        }
        _ => {}
    }
    r
}

/// The domain record a stored row holds.
pub fn stored_to_domain(s: &StoredRecord) -> Result<Record, ApiError> {
    let corrupt =
        |what: String| ApiError::Internal(format!("stored record {}: {what}", s.event_id));
    Ok(Record {
        event_id: EventId::parse(s.event_id.clone()).map_err(|e| corrupt(e.to_string()))?,
        case_no: CaseNo::parse(s.case_no.clone()).map_err(|e| corrupt(e.to_string()))?,
        occurred_at: s.occurred_at,
        source: s.source.clone(),
        body: RecordBody::deserialize(&s.body).map_err(|e| corrupt(e.to_string()))?,
    })
}

/// One case while a batch is planned.
#[derive(Default)]
struct Work {
    row: Option<CaseRow>,
    stored: Vec<StoredRecord>,
    /// Stored records then admitted ones, in log order: what `admit` replays.
    records: Vec<Record>,
    matter: Option<Arc<Matter>>,
    /// The catalogue versions of the case's matter, and the one `matter` is.
    versions: Vec<CaseMatter>,
    version: i64,
    /// Batch indexes of the records admitted in this batch, in order.
    new: Vec<usize>,
    case: Option<Case>,
    /// The matter's calendar, once looked up (None: not loaded).
    calendar: Option<Option<Arc<Calendar>>>,
    /// The rules as configured for the case's matter and department, once known.
    rules: Option<EffectiveRules>,
    /// What the record rules raised on the records admitted in this batch.
    drafts: Vec<WarningDraft>,
}

impl Work {
    /// The calendar and effective rules of the case `case` of `matter`, looked up once.
    async fn judged_by(
        &mut self,
        ingestor: &Ingestor,
        matter: &Matter,
        case: &Case,
    ) -> Result<Option<(Arc<Calendar>, EffectiveRules)>, ApiError> {
        if self.calendar.is_none() {
            self.calendar = Some(ingestor.catalogue.calendar(&matter.calendar).await?);
        }
        let rules = self
            .rules
            .get_or_insert_with(|| {
                ingestor
                    .rules()
                    .effective(&case.matter_code, &case.department)
            })
            .clone();
        Ok(self.calendar.clone().flatten().map(|c| (c, rules)))
    }
}

/// A warning of `draft` against `case`, as the store takes it: record rules have no deadline
/// (`due_at` is None) unless the draft is about a clock.
pub fn record_warning(case: &Case, draft: WarningDraft, now: DateTime<Utc>) -> NewWarning {
    NewWarning {
        case_no: case.case_no.to_string(),
        rule: draft.rule.as_str().to_owned(),
        level: draft.level.as_str().to_owned(),
        department: case.department.to_string(),
        region: case.region.to_string(),
        matter_code: case.matter_code.to_string(),
        due_at: draft.clock.is_some().then_some(draft.due_at),
        raised_at: now,
        detail: WarningDetail {
            message: draft.message,
            config: draft.config.to_string(),
            event_id: draft.event_id.map(|e| e.as_str().to_owned()),
            clock: draft.clock,
            ..WarningDetail::default()
        }
        .to_json(),
    }
}

/// How long after a case's last write a deadline that had already passed when the case was
/// written is judged. A case pushed late (a re-sync after an outage, a bulk import) arrives in
/// several batches: judged at once, its acceptance deadline would fire before the acceptance
/// record, still in flight, arrives and stops the clock. Each new write of the case moves the
/// instant again, so a case is judged once it has been quiet this long.
pub const LATE_GRACE: chrono::Duration = chrono::Duration::seconds(3);

/// How far ahead of the platform's clock a record may be dated by default: a record is dated
/// when it happened, so only the clocks' disagreement is allowed (5 minutes, as Kerberos and
/// most signed-request schemes allow).
pub const DEFAULT_MAX_CLOCK_SKEW: chrono::Duration = chrono::Duration::minutes(5);

/// Plans and writes batches of records.
#[derive(Debug, Clone)]
pub struct Ingestor {
    catalogue: Catalogue,
    clock: SharedClock,
    late_grace: chrono::Duration,
    /// A record dated further ahead of `clock` than this is refused (`occurred_at`).
    max_clock_skew: chrono::Duration,
    /// The supervision rules' configuration: the record rules fire here, and the due instants
    /// follow its reminder thresholds. Shared by the clones, replaced by [`Ingestor::set_rules`].
    rules: Arc<RwLock<Arc<RuleConfig>>>,
}

impl Ingestor {
    /// An ingestor judging records by the built-in rule configuration.
    pub fn new(catalogue: Catalogue, clock: SharedClock) -> Self {
        Self::with_rules(catalogue, clock, RuleConfig::default())
    }

    /// An ingestor judging records by `rules`.
    pub fn with_rules(catalogue: Catalogue, clock: SharedClock, rules: RuleConfig) -> Self {
        Self {
            catalogue,
            clock,
            late_grace: LATE_GRACE,
            max_clock_skew: DEFAULT_MAX_CLOCK_SKEW,
            rules: Arc::new(RwLock::new(Arc::new(rules))),
        }
    }

    /// This ingestor refusing records dated more than `skew` ahead of its clock.
    pub fn with_max_clock_skew(mut self, skew: chrono::Duration) -> Self {
        self.max_clock_skew = skew;
        self
    }

    /// The rule configuration records are judged by now.
    pub fn rules(&self) -> Arc<RuleConfig> {
        self.rules
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Judges records from now on by `rules` (this ingestor and its clones). A batch being
    /// planned keeps the configuration it started with.
    pub fn set_rules(&self, rules: RuleConfig) {
        *self
            .rules
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(rules);
    }

    /// The due instants of `case` as stored, by `effective`: [`rules::due_instants`], with a
    /// deadline already past at `now` judged [`LATE_GRACE`] from now (so the rest of a case
    /// in flight can stop its clock first). Used at ingest and when a rule configuration
    /// change recomputes open cases.
    pub fn due_rows(
        &self,
        case: &Case,
        clocks: &[egov_domain::clock::DeadlineClock],
        calendar: &Calendar,
        effective: &EffectiveRules,
        now: DateTime<Utc>,
    ) -> Vec<DueInstant> {
        let case_no = case.case_no.to_string();
        rules::due_instants(case, clocks, calendar, effective)
            .into_iter()
            .map(|d| DueInstant {
                case_no: case_no.clone(),
                clock: d.clock,
                due_at: self.stored_due_at(d.due_at, now),
            })
            .collect()
    }

    /// A due instant as stored at `now`: one already past is judged [`LATE_GRACE`] from now.
    pub(crate) fn stored_due_at(&self, at: DateTime<Utc>, now: DateTime<Utc>) -> DateTime<Utc> {
        if at <= now { now + self.late_grace } else { at }
    }

    pub fn catalogue(&self) -> &Catalogue {
        &self.catalogue
    }

    /// The clock records are stamped by.
    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// Stores what is valid in `batch` and answers every record, in order.
    pub async fn submit(&self, batch: Vec<pb::Record>) -> Result<Vec<pb::RecordResult>, ApiError> {
        let ids: Vec<String> = batch
            .iter()
            .map(|r| egov_proto::limits::echo_id(&r.event_id))
            .collect();
        let converted: Vec<_> = batch.into_iter().map(convert).collect();
        let verdicts = self.submit_converted(&converted).await?;
        Ok(verdicts
            .iter()
            .zip(ids)
            .map(|(v, id)| v.to_proto(id))
            .collect())
    }

    /// [`Ingestor::submit`] for records already converted. Its span is what the warnings
    /// these records cause join later (`egov_runtime::trace`).
    #[tracing::instrument(name = "ingest", skip_all, fields(records = batch.len()))]
    pub async fn submit_converted(
        &self,
        batch: &[Result<Record, pb::RecordError>],
    ) -> Result<Vec<Verdict>, ApiError> {
        let mut attempt = 1;
        loop {
            match self.attempt(batch).await {
                Err(ApiError::Store(StoreError::Conflict { case_no }))
                    if attempt < MAX_ATTEMPTS =>
                {
                    tracing::debug!(%case_no, attempt, "concurrent write on a case; planning again");
                    attempt += 1;
                }
                // A deadlock victim or a busy database: the transaction was rolled back whole,
                // so planning again from fresh state is safe.
                Err(ApiError::Store(StoreError::Busy(e))) if attempt < MAX_ATTEMPTS => {
                    tracing::debug!(error = %e, attempt, "database busy; planning again");
                    tokio::time::sleep(std::time::Duration::from_millis(10 << attempt.min(6)))
                        .await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn attempt(
        &self,
        batch: &[Result<Record, pb::RecordError>],
    ) -> Result<Vec<Verdict>, ApiError> {
        let now = self.clock.now().trunc_subsecs(6);
        let trace = egov_runtime::trace::current();
        let rules_now = self.rules();
        let store = self.catalogue.store();
        let mut verdicts: Vec<Option<Verdict>> = vec![None; batch.len()];
        // The first occurrence of each event_id is planned; later copies in the same batch get
        // its outcome (a resend inside one batch is still a resend).
        let mut first_of: HashMap<&str, usize> = HashMap::new();
        let mut copies: Vec<(usize, usize)> = Vec::new();
        let mut candidates = Vec::new();
        for (i, r) in batch.iter().enumerate() {
            match r {
                Err(e) => verdicts[i] = Some(Verdict::Rejected(e.clone())),
                Ok(r) => match first_of.get(r.event_id.as_str()) {
                    Some(&j) => copies.push((i, j)),
                    None => {
                        first_of.insert(r.event_id.as_str(), i);
                        candidates.push(i);
                    }
                },
            }
        }
        let record = |i: usize| batch[i].as_ref().expect("candidates are valid records");

        let ids: Vec<String> = candidates
            .iter()
            .map(|&i| record(i).event_id.to_string())
            .collect();
        let mut already: HashMap<String, StoredRecord> = store
            .find_records(&ids)
            .await?
            .into_iter()
            .map(|s| (s.event_id.clone(), s))
            .collect();

        let case_nos: Vec<String> = candidates
            .iter()
            .map(|&i| record(i).case_no.to_string())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let mut work: HashMap<String, Work> = HashMap::new();
        for snapshot in store.load_cases(&case_nos).await? {
            let records = snapshot
                .records
                .iter()
                .map(stored_to_domain)
                .collect::<Result<Vec<_>, _>>()?;
            let versions = self
                .catalogue
                .matter_versions(&snapshot.case.matter_code)
                .await?;
            let chosen = version_in_force(&versions, &records).cloned();
            work.insert(
                snapshot.case.case_no.clone(),
                Work {
                    row: Some(snapshot.case),
                    stored: snapshot.records,
                    records,
                    matter: chosen.as_ref().map(|c| c.matter.clone()),
                    version: chosen.map_or(0, |c| c.version),
                    versions,
                    ..Work::default()
                },
            );
        }

        // A record stored between the two reads (the original of a resend, committed by a
        // concurrent call) is in its case's snapshot though `find_records` missed it: it is a
        // resend all the same.
        for w in work.values() {
            for s in &w.stored {
                if first_of.contains_key(s.event_id.as_str()) && !already.contains_key(&s.event_id)
                {
                    already.insert(s.event_id.clone(), s.clone());
                }
            }
        }

        let mut matters: HashMap<String, Vec<CaseMatter>> = HashMap::new();
        let mut state_after: HashMap<usize, CaseState> = HashMap::new();
        // Procedure anomalies of refused records of known cases, stored after the batch.
        let mut anomalies: Vec<NewWarning> = Vec::new();
        for &i in &candidates {
            let r = record(i);
            if let Some(stored) = already.get(r.event_id.as_str()) {
                verdicts[i] = Some(self.resend(r, stored, work.get(r.case_no.as_str()))?);
                continue;
            }
            if now
                .checked_add_signed(self.max_clock_skew)
                .is_some_and(|latest| r.occurred_at > latest)
            {
                verdicts[i] = Some(dated_ahead(r.occurred_at, now, self.max_clock_skew));
                continue;
            }
            let w = work.entry(r.case_no.to_string()).or_default();
            let matter = match (&w.matter, &r.body) {
                (Some(m), _) => m.clone(),
                (None, RecordBody::Application(app)) if w.records.is_empty() => {
                    let code = app.matter_code.as_str();
                    if !matters.contains_key(code) {
                        matters
                            .insert(code.to_owned(), self.catalogue.matter_versions(code).await?);
                    }
                    w.versions = matters[code].clone();
                    match version_in_force(&w.versions, std::slice::from_ref(r)) {
                        Some(m) => {
                            w.version = m.version;
                            m.matter.clone()
                        }
                        None => {
                            verdicts[i] = Some(rejected(
                                tonic::Code::FailedPrecondition,
                                "MATTER_NOT_FOUND",
                                "application.matter_code",
                                format!(
                                    "application.matter_code: matter {code:?} is not in the \
                                     catalogue; upsert it before sending applications for it"
                                ),
                            ));
                            continue;
                        }
                    }
                }
                (None, _) => {
                    verdicts[i] = Some(broken_rule(&TransitionError::NoApplication {
                        kind: r.kind(),
                    }));
                    continue;
                }
            };
            // The catalogue version in force at the case's acceptance (or receipt): an
            // acceptance record may choose another version than the one the case had so far.
            let mut matter = matter;
            if !w.records.is_empty() {
                let with_r: Vec<Record> = w.records.iter().cloned().chain([r.clone()]).collect();
                if let Some(v) = version_in_force(&w.versions, &with_r)
                    && v.version != w.version
                {
                    w.version = v.version;
                    matter = v.matter.clone();
                    w.case = None;
                }
            }
            if w.case.is_none() && !w.records.is_empty() {
                // The case before this record, for the record rules (and admit's fast path).
                let stored: Vec<&Record> = w.records.iter().collect();
                w.case = Case::replay(&stored, &matter).ok();
            }
            match admit(&w.records, w.case.as_ref(), r, &matter) {
                Ok(case) => {
                    if let Some((calendar, effective)) = w.judged_by(self, &matter, &case).await? {
                        let drafts = rules::on_record(
                            w.case.as_ref(),
                            &case,
                            r,
                            &matter,
                            &calendar,
                            &effective,
                        );
                        w.drafts.extend(drafts);
                    }
                    state_after.insert(i, case.state);
                    w.records.push(r.clone());
                    w.new.push(i);
                    w.case = Some(case);
                    w.matter = Some(matter);
                }
                Err(e) => {
                    if let Some(case) = w.case.clone()
                        && let Some((calendar, effective)) =
                            w.judged_by(self, &matter, &case).await?
                        && let Some(draft) = rules::on_refused(r, &e, &calendar, &effective)
                    {
                        anomalies.push(record_warning(&case, draft, now));
                    }
                    verdicts[i] = Some(broken_rule(&e));
                }
            }
        }

        let mut writes = Vec::new();
        for w in work.values() {
            let (Some(case), Some(matter)) = (&w.case, &w.matter) else {
                continue;
            };
            if w.new.is_empty() {
                continue;
            }
            let Some(calendar) = self.catalogue.calendar(&matter.calendar).await? else {
                for &i in &w.new {
                    verdicts[i] = Some(rejected(
                        tonic::Code::FailedPrecondition,
                        "CALENDAR_NOT_LOADED",
                        "",
                        format!(
                            "matter {} counts on calendar {:?}, which is not loaded",
                            matter.code,
                            matter.calendar.as_str()
                        ),
                    ));
                }
                continue;
            };
            let effective = rules_now.effective(&case.matter_code, &case.department);
            let mut clocks = clocks(case, matter, &calendar);
            if w.versions.len() > 1 {
                note_catalogue_version(&mut clocks, matter.code.as_str(), w.version);
            }
            let due = self.due_rows(case, &clocks, &calendar, &effective, now);
            let case_no = case.case_no.to_string();
            let mut records = Vec::with_capacity(w.new.len());
            for &i in &w.new {
                let r = record(i);
                records.push(NewRecord {
                    event_id: r.event_id.to_string(),
                    case_no: case_no.clone(),
                    occurred_at: r.occurred_at,
                    source: r.source.clone(),
                    kind: r.kind().as_str().to_owned(),
                    body: serde_json::to_value(&r.body)
                        .map_err(|e| ApiError::Internal(format!("record body: {e}")))?,
                });
            }
            writes.push(CaseWrite {
                case: case_row(case, &clocks, now, trace.as_deref()),
                expected_version: w.row.as_ref().map(|r| r.version),
                records,
                due,
                warnings: w
                    .drafts
                    .iter()
                    .map(|d| record_warning(case, d.clone(), now))
                    .collect(),
            });
        }

        if !writes.is_empty() {
            let stored = store.commit(&writes, now).await?;
            let stored: HashMap<&str, &StoredRecord> =
                stored.iter().map(|s| (s.event_id.as_str(), s)).collect();
            for w in work.values() {
                for &i in &w.new {
                    if verdicts[i].is_some() {
                        continue;
                    }
                    let Some(s) = stored.get(record(i).event_id.as_str()) else {
                        return Err(ApiError::Internal(format!(
                            "the store did not return stored record {}",
                            record(i).event_id
                        )));
                    };
                    verdicts[i] = Some(Verdict::Stored(Accepted {
                        sequence: s.seq as u64,
                        case_state: state_after[&i],
                        received_at: s.received_at,
                    }));
                }
            }
        }

        if !anomalies.is_empty() {
            store.insert_warnings(&anomalies).await?;
        }
        if trace.is_some() {
            let raised = writes.iter().flat_map(|w| &w.warnings).chain(&anomalies);
            for w in raised {
                egov_runtime::trace::warning_raised(None, &w.case_no, &w.rule, &w.level, None);
            }
        }

        for (i, j) in copies {
            let original = verdicts[j].clone();
            verdicts[i] = Some(match original {
                Some(Verdict::Stored(a) | Verdict::Duplicate(a)) => {
                    let (copy, first) = (record(i), record(j));
                    if copy == first {
                        Verdict::Duplicate(a)
                    } else {
                        different_content(copy)
                    }
                }
                Some(rejection) => rejection,
                None => unreachable!("every planned record has a verdict"),
            });
        }
        Ok(verdicts
            .into_iter()
            .map(|v| v.expect("every record has a verdict"))
            .collect())
    }

    /// The answer to a resend of a stored `event_id`: the original outcome when the content is
    /// the same; ALREADY_EXISTS when it differs (a new fact needs a new id).
    fn resend(
        &self,
        r: &Record,
        stored: &StoredRecord,
        w: Option<&Work>,
    ) -> Result<Verdict, ApiError> {
        let original = stored_to_domain(stored)?;
        if &original != r {
            return Ok(different_content(r));
        }
        let Some(w) = w else {
            return Err(ApiError::Internal(format!(
                "record {} is stored but its case {} is not",
                stored.event_id, stored.case_no
            )));
        };
        let index = w
            .stored
            .iter()
            .position(|s| s.event_id == stored.event_id)
            .unwrap_or(0);
        // The state as answered the first time: the case replayed up to this record.
        let state = match &w.matter {
            Some(m) => {
                let prefix: Vec<&Record> = w.records[..=index].iter().collect();
                Case::replay(&prefix, m)
                    .map(|c| c.state)
                    .unwrap_or(CaseState::Received)
            }
            None => CaseState::Received,
        };
        Ok(Verdict::Duplicate(Accepted {
            sequence: stored.seq as u64,
            case_state: state,
            received_at: stored.received_at,
        }))
    }
}

fn different_content(r: &Record) -> Verdict {
    rejected(
        tonic::Code::AlreadyExists,
        "EVENT_ID_REUSED",
        "event_id",
        format!(
            "event_id: {:?} is already stored with different content; a resend must be \
             identical, and a new fact needs a new event_id",
            r.event_id.as_str()
        ),
    )
}
