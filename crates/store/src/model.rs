//! The rows the store reads and writes: plain data, no SQL. Semantic content (a matter's
//! definition, a record's body, a case's view, a warning's detail) is JSON produced by the
//! services; the store keeps it verbatim and never interprets it.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::position::{LogPosition, WarningPosition};

/// Which database a [`crate::Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Backend {
    /// PostgreSQL: the production database, shared by both platforms.
    Postgres,
    /// A SQLite file in WAL mode: the embedded default, no server needed.
    Sqlite,
}

/// A jurisdiction's working-day calendar: the exceptions to "Monday-Friday are working days"
/// for the years it knows (docs/design.md §2, ALL Art. 82).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarRow {
    /// The calendar's id, referenced by matters ("cn", "cn-330100", ...).
    pub id: String,
    /// The jurisdiction's offset from UTC (Asia/Shanghai: 28 800), for "24:00 local time".
    pub utc_offset_seconds: i32,
    /// First year the calendar knows; deadlines before it are provisional.
    pub first_year: i32,
    /// Last year the calendar knows; deadlines after it are provisional.
    pub last_year: i32,
    /// The exception days, in date order when read back.
    pub days: Vec<CalendarDayRow>,
}

/// One exception day of a calendar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarDayRow {
    /// The day.
    pub date: NaiveDate,
    /// "holiday" (a weekday off) or "workday" (an adjusted working weekend day); the domain
    /// owns the vocabulary.
    pub kind: String,
    /// The holiday's name, for explanations ("Spring Festival").
    pub name: String,
}

/// One matter of the catalogue (docs/design.md §6).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatterRow {
    /// The matter code (事项编码), unique.
    pub matter_code: String,
    /// Its name, for listings.
    pub name: String,
    /// The responsible department, for filtering.
    pub department: String,
    /// immediate, promised, joint or reported.
    pub kind: String,
    /// The full matter as the services' JSON (limits, fee items, calendar id ...).
    pub definition: serde_json::Value,
    /// When this version of the matter was loaded; kept when an upsert changes nothing.
    pub updated_at: DateTime<Utc>,
}

/// One version of a matter in the versioned catalogue: `matter.updated_at` is when it came into
/// force (it applies to cases accepted, or received, from then on).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatterVersion {
    /// 1 for the first version loaded, then one more for each change.
    pub version: i64,
    /// The matter as that version defined it.
    pub matter: MatterRow,
}

/// What an upsert did to one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum UpsertOutcome {
    /// The row did not exist.
    Created,
    /// The row existed with different content and was replaced.
    Updated,
    /// The row existed with the same content (`updated_at` aside) and was left alone.
    Unchanged,
}

/// The current state of one case, as the approval platform computed it from its records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseRow {
    /// The case number (办件编号), unique.
    pub case_no: String,
    /// The matter the case is an instance of.
    pub matter_code: String,
    /// The handling department, for filtering and scores.
    pub department: String,
    /// The region code (行政区划); hierarchical, so a prefix selects a whole area.
    pub region: String,
    /// The state machine's state, in the domain's vocabulary.
    pub state: String,
    /// When the application was received.
    pub opened_at: DateTime<Utc>,
    /// `occurred_at` of the latest record applied.
    pub updated_at: DateTime<Utc>,
    /// Number of records stored for the case. Set by the store on commit (the expected version
    /// plus the number of records written); the optimistic concurrency token.
    pub version: i64,
    /// The earliest deadline of the case's open (running or paused) clocks, if any: a
    /// deadline, not a reminder. Past it, the case is overdue.
    pub next_due_at: Option<DateTime<Utc>>,
    /// Whether a clock stopped after its deadline, or had passed it when the case was last
    /// written. Together with `next_due_at` it answers "overdue now".
    pub overdue: bool,
    /// Whether a deadline lies beyond the calendar's known range (docs/design.md §2).
    pub provisional: bool,
    /// The services' JSON view of the case (clocks, explanations ...).
    pub view: serde_json::Value,
}

/// A case with its whole record log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseSnapshot {
    /// The case row.
    pub case: CaseRow,
    /// Its records in log order (the order they were committed, which the hash chain follows).
    pub records: Vec<StoredRecord>,
}

/// A record to append (docs/design.md §6 envelope; the oneof payload is `kind` + `body`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewRecord {
    /// Sender-chosen id, unique over all records: the idempotency key.
    pub event_id: String,
    /// The case it belongs to; must equal the case it is written with.
    pub case_no: String,
    /// When it happened, per the sender.
    pub occurred_at: DateTime<Utc>,
    /// The sending system.
    pub source: String,
    /// The record type ("application", "acceptance" ...).
    pub kind: String,
    /// The record's payload as the services' JSON.
    pub body: serde_json::Value,
}

/// A record as stored in the append-only, hash-chained log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredRecord {
    /// Its place in the log, assigned by the database; increases in commit order per case.
    pub seq: i64,
    /// See [`NewRecord::event_id`].
    pub event_id: String,
    /// See [`NewRecord::case_no`].
    pub case_no: String,
    /// See [`NewRecord::occurred_at`] (microsecond precision).
    pub occurred_at: DateTime<Utc>,
    /// When the store committed it (microsecond precision).
    pub received_at: DateTime<Utc>,
    /// See [`NewRecord::source`].
    pub source: String,
    /// See [`NewRecord::kind`].
    pub kind: String,
    /// See [`NewRecord::body`].
    pub body: serde_json::Value,
    /// Hex SHA-256 of the case's previous record; empty for the first record of a case.
    pub prev_hash: String,
    /// Hex SHA-256 of this record, see [`crate::chain::record_hash`].
    pub hash: String,
}

/// One case's part of a [`crate::Store::commit`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseWrite {
    /// The case's new state; `version` is ignored and set by the store.
    pub case: CaseRow,
    /// The version the caller read; `None` when the case must not exist yet.
    pub expected_version: Option<i64>,
    /// Records to append, in order; each must carry `case.case_no`.
    pub records: Vec<NewRecord>,
    /// Replaces ALL due instants of the case (an empty list removes them).
    pub due: Vec<DueInstant>,
    /// Warnings the new records raised (the record rules), inserted in the same transaction,
    /// skipping any (case_no, rule, level) already stored, like [`crate::Store::insert_warnings`];
    /// each must carry `case.case_no`.
    #[serde(default)]
    pub warnings: Vec<NewWarning>,
}

/// An instant at which a clock of a case needs attention; the supervision platform sleeps
/// until the earliest one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DueInstant {
    /// The case.
    pub case_no: String,
    /// Which clock: "promised", "statutory", "acceptance", "certificate",
    /// "approaching:promised" ...; unique per case.
    pub clock: String,
    /// When it is due (microsecond precision).
    pub due_at: DateTime<Utc>,
}

/// The due instants of one case, recomputed (after a rule configuration change), for
/// [`crate::Store::replace_due`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueReplacement {
    /// The case.
    pub case_no: String,
    /// The case's version the instants were computed from; a case at another version is left
    /// alone.
    pub expected_version: i64,
    /// All its due instants (they replace every stored one).
    pub due: Vec<DueInstant>,
}

/// A due instant that came, with the warning it raises.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Firing {
    /// The instant, exactly as read: it fires only if still stored with this `due_at`.
    pub due: DueInstant,
    /// What it raises; None when the rules raise nothing for it.
    pub warning: Option<NewWarning>,
}

/// A warning to raise; one per (case, rule, level) ever.

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewWarning {
    /// The case.
    pub case_no: String,
    /// The supervision rule (docs/design.md §3) that fired.
    pub rule: String,
    /// reminder, yellow card or red card, in the domain's vocabulary.
    pub level: String,
    /// Copied from the case so warnings filter without a join.
    pub department: String,
    /// Copied from the case so warnings filter without a join.
    pub region: String,
    /// Copied from the case.
    pub matter_code: String,
    /// The deadline that was missed or approaches, if the rule is about one.
    pub due_at: Option<DateTime<Utc>>,
    /// When the rule fired.
    pub raised_at: DateTime<Utc>,
    /// The services' JSON explanation.
    pub detail: serde_json::Value,
}

/// A stored warning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WarningRow {
    /// Its id, for lookups.
    pub id: i64,
    /// Its place in the warning stream, for [`crate::Store::read_warnings`].
    pub position: WarningPosition,
    /// See [`NewWarning::case_no`].
    pub case_no: String,
    /// See [`NewWarning::rule`].
    pub rule: String,
    /// See [`NewWarning::level`].
    pub level: String,
    /// See [`NewWarning::department`].
    pub department: String,
    /// See [`NewWarning::region`].
    pub region: String,
    /// See [`NewWarning::matter_code`].
    pub matter_code: String,
    /// See [`NewWarning::due_at`].
    pub due_at: Option<DateTime<Utc>>,
    /// See [`NewWarning::raised_at`].
    pub raised_at: DateTime<Utc>,
    /// Lifecycle state; "raised" when inserted.
    pub state: String,
    /// See [`NewWarning::detail`].
    pub detail: serde_json::Value,
    /// For yellow and red cards: when the department's response is due; set by
    /// [`crate::Store::set_correction_dues`] (None until then, and for reminders).
    #[serde(default)]
    pub correction_due_at: Option<DateTime<Utc>>,
    /// The region whose supervision office holds the warning: the case's region when raised,
    /// the region one level up after each escalation.
    #[serde(default)]
    pub office: String,
    /// For yellow and red cards: the first correction due set (by
    /// [`crate::Store::set_correction_dues`]), kept when an escalation replaces
    /// `correction_due_at`; "corrected in time" in the scores is judged against it.
    #[serde(default)]
    pub first_correction_due_at: Option<DateTime<Utc>>,
}

/// Where [`crate::Store::reassign_warning`] hands a warning, and on what condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reassignment<'a> {
    /// The office that must still hold the warning (the one read).
    pub from_office: &'a str,
    /// When set, the correction due the warning must still have (the one that passed).
    pub expected_due: Option<DateTime<Utc>>,
    /// The office that holds it from then on.
    pub office: &'a str,
    /// Its new correction due; None for none.
    pub correction_due_at: Option<DateTime<Utc>>,
}

/// One recorded state change of a warning (the correction workflow, docs/design.md §3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarningTransitionRow {
    /// The warning.
    pub warning_id: i64,
    /// When (microsecond precision).
    pub at: DateTime<Utc>,
    /// Who: a staff identifier, or "system".
    pub actor: String,
    /// The state left.
    pub from_state: String,
    /// The state entered.
    pub to_state: String,
    /// Why: the explanation, response or remark given.
    pub reason: String,
    /// References to attachments (documents of the answer), verbatim.
    pub attachments: Vec<String>,
    /// For an escalation: the region whose office holds the warning from then on.
    #[serde(default)]
    pub to_office: Option<String>,
}

/// Which cases [`crate::Store::list_cases`] returns; `None` (or empty) fields do not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseFilter {
    /// Exact department.
    pub department: Option<String>,
    /// Region code prefix: "3301" matches "330106".
    pub region_prefix: Option<String>,
    /// Any of these states.
    pub states: Vec<String>,
    /// Exact matter code.
    pub matter_code: Option<String>,
    /// Only overdue (`Some(true)`) or only not overdue (`Some(false)`) cases, judged at
    /// `now`: a case is overdue when a clock stopped late (`CaseRow::overdue`) or its earliest
    /// open deadline (`CaseRow::next_due_at`) is not after `now`.
    pub overdue: Option<bool>,
    /// The instant `overdue` is judged at; without it only `CaseRow::overdue` counts.
    pub now: Option<DateTime<Utc>>,
}

/// Which warnings a listing or stream returns; `None` (or empty) fields do not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarningFilter {
    /// Exact department.
    pub department: Option<String>,
    /// Region code prefix.
    pub region_prefix: Option<String>,
    /// Any of these levels; empty for every level.
    pub levels: Vec<String>,
    /// Exact rule.
    pub rule: Option<String>,
    /// Exact case.
    pub case_no: Option<String>,
    /// Exact lifecycle state.
    pub state: Option<String>,
    /// Exact holding office (a region code): the inbox of one supervision office.
    pub office: Option<String>,
}

/// One page of a listing: keyset pagination, so pages stay stable while rows are added.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    /// Rows per page; 0 means the default (100), more than 1000 is capped at 1000.
    pub size: u32,
    /// The `next` token of the previous page; `None` for the first page.
    pub token: Option<String>,
}

impl Page {
    /// Rows per page when none is asked for.
    pub const DEFAULT_SIZE: u32 = 100;
    /// The most rows one page returns.
    pub const MAX_SIZE: u32 = 1000;

    /// The first page with `size` rows.
    pub fn first(size: u32) -> Self {
        Page { size, token: None }
    }

    /// The page after the one that returned `token`.
    pub fn next(size: u32, token: impl Into<String>) -> Self {
        Page {
            size,
            token: Some(token.into()),
        }
    }

    /// The number of rows this page returns at most, after applying default and cap.
    pub fn effective_size(&self) -> u32 {
        match self.size {
            0 => Self::DEFAULT_SIZE,
            n => n.min(Self::MAX_SIZE),
        }
    }

    /// For lists paged by id, newest first: the id the page starts below (the token is the
    /// last id shown); `None` for the first page.
    pub fn before_id(&self) -> crate::Result<Option<i64>> {
        self.token
            .as_deref()
            .map(|t| {
                t.parse::<i64>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or(crate::StoreError::InvalidPageToken)
            })
            .transpose()
    }
}

/// A log position paired with the record at it, as returned by [`crate::Store::read_log`].
pub type LogEntry = (LogPosition, StoredRecord);
