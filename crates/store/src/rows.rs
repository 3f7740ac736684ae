//! Raw rows as both backends return them (`sqlx::FromRow`, JSON still as text), their
//! conversion into the public rows of [`crate::model`], and the normalisations applied on
//! write (microsecond timestamps, compact JSON text) so both backends answer identically.

use chrono::{DateTime, NaiveDate, Timelike, Utc};

use crate::chain::Link;
use crate::error::{Result, corrupt};
use crate::model::{CaseRow, DueInstant, MatterRow, StoredRecord, WarningRow};
use crate::position::{LogPosition, WarningPosition};

/// PostgreSQL keeps microseconds, SQLite whatever it is given: truncate every timestamp before
/// writing so a value reads back the same from both (and equality on `due_at` is exact).
pub(crate) fn micros(t: DateTime<Utc>) -> DateTime<Utc> {
    let nanos = t.nanosecond();
    t.with_nanosecond(nanos - nanos % 1_000).unwrap_or(t)
}

/// The compact JSON text stored for a JSON value (and hashed, for record bodies).
/// (`Value`'s `Display` is compact JSON and cannot fail.)
pub(crate) fn json_text(value: &serde_json::Value) -> String {
    value.to_string()
}

fn parse_json(what: &str, text: &str) -> Result<serde_json::Value> {
    serde_json::from_str(text).map_err(|e| corrupt(what, e))
}

/// Columns of [`RawCase`], in order, for SELECT lists.
pub(crate) const CASE_COLUMNS: &str = "case_no, matter_code, department, region, state, \
     opened_at, updated_at, version, next_due_at, overdue, provisional, view";

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct RawCase {
    pub case_no: String,
    pub matter_code: String,
    pub department: String,
    pub region: String,
    pub state: String,
    pub opened_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
    pub next_due_at: Option<DateTime<Utc>>,
    pub overdue: bool,
    pub provisional: bool,
    pub view: String,
}

impl RawCase {
    pub fn into_row(self) -> Result<CaseRow> {
        Ok(CaseRow {
            view: parse_json("case view", &self.view)?,
            case_no: self.case_no,
            matter_code: self.matter_code,
            department: self.department,
            region: self.region,
            state: self.state,
            opened_at: self.opened_at,
            updated_at: self.updated_at,
            version: self.version,
            next_due_at: self.next_due_at,
            overdue: self.overdue,
            provisional: self.provisional,
        })
    }
}

/// Columns of [`RawRecord`], in order, for SELECT lists.
pub(crate) const RECORD_COLUMNS: &str = "seq, tx, event_id, case_no, occurred_at, received_at, \
     source, kind, body, prev_hash, hash";

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct RawRecord {
    pub seq: i64,
    pub tx: i64,
    pub event_id: String,
    pub case_no: String,
    pub occurred_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    pub source: String,
    pub kind: String,
    pub body: String,
    pub prev_hash: String,
    pub hash: String,
}

impl RawRecord {
    pub fn position(&self) -> LogPosition {
        LogPosition::new(self.tx, self.seq)
    }

    pub fn link(&self) -> Link<'_> {
        Link {
            seq: self.seq,
            event_id: &self.event_id,
            case_no: &self.case_no,
            occurred_at: self.occurred_at,
            source: &self.source,
            kind: &self.kind,
            body_json: &self.body,
            prev_hash: &self.prev_hash,
            hash: &self.hash,
        }
    }

    pub fn into_record(self) -> Result<StoredRecord> {
        Ok(StoredRecord {
            body: parse_json("record body", &self.body)?,
            seq: self.seq,
            event_id: self.event_id,
            case_no: self.case_no,
            occurred_at: self.occurred_at,
            received_at: self.received_at,
            source: self.source,
            kind: self.kind,
            prev_hash: self.prev_hash,
            hash: self.hash,
        })
    }
}

/// Columns of [`RawMatter`], in order, for SELECT lists.
pub(crate) const MATTER_COLUMNS: &str =
    "matter_code, name, department, kind, definition, updated_at";

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct RawMatter {
    pub matter_code: String,
    pub name: String,
    pub department: String,
    pub kind: String,
    pub definition: String,
    pub updated_at: DateTime<Utc>,
}

impl RawMatter {
    pub fn into_row(self) -> Result<MatterRow> {
        Ok(MatterRow {
            definition: parse_json("matter definition", &self.definition)?,
            matter_code: self.matter_code,
            name: self.name,
            department: self.department,
            kind: self.kind,
            updated_at: self.updated_at,
        })
    }
}

/// One row of the calendar/days join of `get_calendar`.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct RawCalendarDay {
    pub id: String,
    pub utc_offset_seconds: i32,
    pub first_year: i32,
    pub last_year: i32,
    pub day: Option<NaiveDate>,
    pub kind: Option<String>,
    pub name: Option<String>,
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct RawDue {
    pub case_no: String,
    pub clock: String,
    pub due_at: DateTime<Utc>,
}

impl From<RawDue> for DueInstant {
    fn from(raw: RawDue) -> Self {
        DueInstant {
            case_no: raw.case_no,
            clock: raw.clock,
            due_at: raw.due_at,
        }
    }
}

/// Columns of [`RawWarning`], in order, as a literal (for `concat!`).
macro_rules! warning_columns {
    () => {
        "id, tx, pos, case_no, rule, level, department, region, matter_code, due_at, raised_at, \
         state, detail, correction_due_at, coalesce(office, region) AS office, \
         first_correction_due_at"
    };
}
pub(crate) use warning_columns;

/// Columns of [`RawWarning`], in order, for SELECT and RETURNING lists.
pub(crate) const WARNING_COLUMNS: &str = warning_columns!();

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct RawWarning {
    pub id: i64,
    pub tx: i64,
    pub pos: i64,
    pub case_no: String,
    pub rule: String,
    pub level: String,
    pub department: String,
    pub region: String,
    pub matter_code: String,
    pub due_at: Option<DateTime<Utc>>,
    pub raised_at: DateTime<Utc>,
    pub state: String,
    pub detail: String,
    pub correction_due_at: Option<DateTime<Utc>>,
    pub office: String,
    pub first_correction_due_at: Option<DateTime<Utc>>,
}

impl RawWarning {
    pub fn into_row(self) -> Result<WarningRow> {
        Ok(WarningRow {
            detail: parse_json("warning detail", &self.detail)?,
            id: self.id,
            position: WarningPosition::new(self.tx, self.pos),
            case_no: self.case_no,
            rule: self.rule,
            level: self.level,
            department: self.department,
            region: self.region,
            matter_code: self.matter_code,
            due_at: self.due_at,
            raised_at: self.raised_at,
            state: self.state,
            correction_due_at: self.correction_due_at,
            office: self.office,
            first_correction_due_at: self.first_correction_due_at,
        })
    }
}

/// Rows to convert, failing on the first corrupt one.
pub(crate) fn convert<R, T>(raws: Vec<R>, f: impl Fn(R) -> Result<T>) -> Result<Vec<T>> {
    raws.into_iter().map(f).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn micros_truncates_not_rounds() {
        let t = DateTime::from_timestamp(1_700_000_000, 123_456_789).unwrap_or_default();
        assert_eq!(micros(t).nanosecond(), 123_456_000);
    }
}
