//! How a case looks from outside: the projection row the store keeps (state, next due instant,
//! flags, and the clocks as JSON for lists and for the supervision platform), and the wire
//! `Case` answered by `GetCase` and `ListCases` (with, for `GetCase`, each clock's count and
//! the calendar around the case: `view/count.rs`).

mod count;

use chrono::{DateTime, Utc};
use egov_domain::calendar::Calendar;
use egov_domain::case::{Case, CaseState};
use egov_domain::clock::{ClockStatus, ClockView, DeadlineClock};
use egov_proto::approval::v1 as pb;
use egov_proto::convert::clock_to_proto;
use egov_store::{CaseRow, StoredRecord};
use pbjson_types::Timestamp;

/// The stored projection of a case; `version` is set by the store. `trace` is the W3C context
/// of the work that wrote it (`egov_runtime::trace`), kept in the view so the warnings its
/// clocks raise later join that trace.
pub fn case_row(
    case: &Case,
    clocks: &[DeadlineClock],
    now: DateTime<Utc>,
    trace: Option<&str>,
) -> CaseRow {
    let views: Vec<ClockView> = clocks.iter().map(ClockView::from).collect();
    let mut view = serde_json::json!({ "clocks": views });
    if let Some(trace) = trace {
        view["trace"] = trace.into();
    }
    CaseRow {
        case_no: case.case_no.to_string(),
        matter_code: case.matter_code.to_string(),
        department: case.department.to_string(),
        region: case.region.to_string(),
        state: case.state.as_str().to_owned(),
        opened_at: case.received_at,
        updated_at: now,
        version: 0,
        next_due_at: clocks
            .iter()
            .filter(|c| matches!(c.status, ClockStatus::Running | ClockStatus::Paused))
            .map(DeadlineClock::judged_at)
            .min(),
        overdue: clocks.iter().any(|c| c.is_overdue(now)),
        provisional: clocks.iter().any(|c| c.deadline.provisional),
        view,
    }
}

/// The clocks kept in a case row's view.
pub fn clock_views(row: &CaseRow) -> Vec<ClockView> {
    row.view
        .get("clocks")
        .cloned()
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default()
}

pub(crate) fn ts(t: DateTime<Utc>) -> Option<Timestamp> {
    Some(Timestamp::from(t))
}

fn closed_at(case: &Case) -> Option<DateTime<Utc>> {
    match case.state {
        CaseState::Completed => case.completed_at,
        CaseState::Refused => case.refused_at,
        CaseState::Withdrawn => case.withdrawn_at,
        _ => None,
    }
}

/// The full wire case, from a replay of its records on `cal`, its matter's calendar.
pub fn case_to_proto(
    case: &Case,
    clocks: &[DeadlineClock],
    cal: &Calendar,
    records: Vec<pb::StoredRecord>,
    catalogue_version: i64,
    now: DateTime<Utc>,
) -> pb::Case {
    pb::Case {
        case_no: case.case_no.to_string(),
        state: pb::CaseState::from(case.state).into(),
        matter_code: case.matter_code.to_string(),
        department: case.department.to_string(),
        region: case.region.to_string(),
        opened_at: ts(case.received_at),
        closed_at: closed_at(case).and_then(ts),
        records,
        clocks: clocks
            .iter()
            .map(|c| pb::DeadlineClock {
                count: Some(count::clock_count(case, c, cal, now)),
                ..clock_to_proto(c, now)
            })
            .collect(),
        overdue: clocks.iter().any(|c| c.is_overdue(now)),
        provisional: clocks.iter().any(|c| c.deadline.provisional),
        catalogue_version,
        calendar: cal.id().as_str().to_owned(),
        calendar_days: count::calendar_days(case, clocks, cal),
        suspensions: count::suspensions(case, cal),
    }
}

/// A case for lists, from its projection row alone (no replay).
pub fn case_row_to_proto(row: &CaseRow, now: DateTime<Utc>) -> pb::Case {
    let clocks: Vec<pb::DeadlineClock> = clock_views(row)
        .iter()
        .map(|c| clock_view_to_proto(c, now))
        .collect();
    let state = CaseState::parse(&row.state)
        .map(pb::CaseState::from)
        .unwrap_or(pb::CaseState::Unspecified);
    pb::Case {
        case_no: row.case_no.clone(),
        state: state.into(),
        matter_code: row.matter_code.clone(),
        department: row.department.clone(),
        region: row.region.clone(),
        opened_at: ts(row.opened_at),
        closed_at: None,
        records: Vec::new(),
        overdue: clocks.iter().any(|c| {
            c.status == pb::DeadlineClockStatus::Overdue as i32
                || c.status == pb::DeadlineClockStatus::StoppedLate as i32
        }),
        provisional: row.provisional,
        clocks,
        catalogue_version: 0,
        calendar: String::new(),
        calendar_days: Vec::new(),
        suspensions: Vec::new(),
    }
}

fn clock_view_to_proto(c: &ClockView, now: DateTime<Utc>) -> pb::DeadlineClock {
    use pb::DeadlineClockStatus as S;
    let status = match c.status.as_str() {
        "stopped_on_time" => S::StoppedOnTime,
        "stopped_late" => S::StoppedLate,
        "running" | "paused" if c.is_overdue(now) => S::Overdue,
        "paused" => S::Paused,
        _ => S::Running,
    };
    let (kind, step) = match c.key.strip_prefix("step:") {
        Some(step) => (pb::DeadlineClockKind::Step, step.to_owned()),
        None => (
            match c.key.as_str() {
                "acceptance" => pb::DeadlineClockKind::Acceptance,
                "promised" => pb::DeadlineClockKind::Promised,
                "statutory" => pb::DeadlineClockKind::Statutory,
                "immediate" => pb::DeadlineClockKind::Immediate,
                "certificate" => pb::DeadlineClockKind::Certificate,
                _ => pb::DeadlineClockKind::Unspecified,
            },
            String::new(),
        ),
    };
    pb::DeadlineClock {
        kind: kind.into(),
        step,
        started_at: ts(c.started_at),
        limit: Some(c.limit.into()),
        due_at: ts(c.due_at),
        last_day: Some(c.last_day.into()),
        status: status.into(),
        stopped_at: c.stopped_at.and_then(ts),
        suspended_days: c.suspended,
        extension_days: c.extension,
        provisional: c.provisional,
        explanation: c.explanation.clone(),
        count: None,
    }
}

/// A stored record on the wire. `sequence` is its place within its case (1, 2, ...).
pub fn stored_record_to_proto(
    stored: &StoredRecord,
    record: &egov_domain::record::Record,
    sequence: u64,
    position: String,
) -> pb::StoredRecord {
    pb::StoredRecord {
        position,
        sequence,
        received_at: ts(stored.received_at),
        hash: stored.hash.clone(),
        prev_hash: stored.prev_hash.clone(),
        record: Some(record.into()),
    }
}
