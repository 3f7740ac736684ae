//! Builders shared by the domain's integration tests: records and matters in a few words.
#![allow(dead_code)]

pub mod rules;

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone, Utc};
use egov_domain::calendar::CalendarId;
use egov_domain::ids::{CaseNo, DepartmentCode, EventId, MatterCode, RegionCode};
use egov_domain::limit::{Limit, LimitUnit};
use egov_domain::matter::{Matter, MatterKind, StepLimit};
use egov_domain::money::Fen;
use egov_domain::record::{
    Application, Channel, IssueMethod, Outcome, RatingLevel, Record, RecordBody, SuspensionKind,
};

/// A local (Asia/Shanghai) time "2024-02-08 09:00" as UTC.
pub fn at(local: &str) -> DateTime<Utc> {
    let naive = NaiveDateTime::parse_from_str(local, "%Y-%m-%d %H:%M").expect("local time");
    FixedOffset::east_opt(8 * 3600)
        .unwrap()
        .from_local_datetime(&naive)
        .unwrap()
        .with_timezone(&Utc)
}

pub fn matter(kind: MatterKind, promised: u32, statutory: u32) -> Matter {
    Matter {
        code: MatterCode::parse("M-001").unwrap(),
        name: "Food business licence".into(),
        department: DepartmentCode::parse("market").unwrap(),
        region: None,
        kind,
        statutory_limit: Limit {
            amount: statutory,
            unit: LimitUnit::WorkingDays,
        },
        promised_limit: Limit {
            amount: promised,
            unit: LimitUnit::WorkingDays,
        },
        step_limits: vec![StepLimit {
            step: "review".into(),
            limit: Limit {
                amount: 3,
                unit: LimitUnit::WorkingDays,
            },
        }],
        fee_items: vec![],
        suspension_kinds: vec![SuspensionKind::Testing],
        calendar: CalendarId::parse("cn").unwrap(),
    }
}

/// The body of a record of the given contract kind, with plausible fields.
pub fn body(kind: &str, when: DateTime<Utc>) -> RecordBody {
    match kind {
        "application" => RecordBody::Application(Application {
            matter_code: MatterCode::parse("M-001").unwrap(),
            department: DepartmentCode::parse("market").unwrap(),
            region: RegionCode::parse("330106").unwrap(),
            applicant_ref: "A-1".into(),
            channel: Channel::Window,
        }),
        "acceptance" => RecordBody::Acceptance {
            handler: "h".into(),
            promised_due_at: None,
        },
        "correction_notice" => RecordBody::CorrectionNotice {
            materials: vec!["floor plan".into()],
            handler: "h".into(),
        },
        "correction_received" => RecordBody::CorrectionReceived,
        "refusal" => RecordBody::Refusal {
            reason: "not in scope".into(),
            handler: "h".into(),
        },
        "step_started" => RecordBody::StepStarted {
            step: "review".into(),
            handler: "h".into(),
            opinion: String::new(),
        },
        "step_completed" => RecordBody::StepCompleted {
            step: "undertake".into(),
            handler: "h".into(),
            opinion: "ok".into(),
        },
        "suspension_started" => RecordBody::SuspensionStarted {
            kind: Some(SuspensionKind::Testing),
            reason: "lab test".into(),
            planned_end: when + chrono::Duration::days(5),
            approver: "head".into(),
        },
        "suspension_ended" => RecordBody::SuspensionEnded {
            result: "passed".into(),
        },
        "extension" => RecordBody::Extension {
            working_days: 10,
            approver: "head".into(),
            reason: "complex".into(),
        },
        "decision" | "approval" => RecordBody::Decision {
            outcome: Outcome::Approved,
            reason: String::new(),
            handler: "h".into(),
        },
        "denial" => RecordBody::Decision {
            outcome: Outcome::Denied,
            reason: "unsafe premises".into(),
            handler: "h".into(),
        },
        "fee" => RecordBody::Fee {
            fee_item: "F01".into(),
            amount_fen: Fen::new(100).unwrap(),
            receipt_no: "R1".into(),
        },
        "completion" => RecordBody::Completion {
            result: "done".into(),
            certificate_no: "CERT-1".into(),
        },
        "certificate_issued" => RecordBody::CertificateIssued {
            certificate_no: "CERT-1".into(),
            method: IssueMethod::Electronic,
        },
        "withdrawal" => RecordBody::Withdrawal {
            reason: "moved".into(),
        },
        "rating" => RecordBody::Rating {
            level: RatingLevel::new(1).unwrap(),
            channel: Some(Channel::Online),
            comment: String::new(),
        },
        other => panic!("unknown record kind {other}"),
    }
}

/// A record of case C1 with its event id derived from its position.
pub fn rec(n: usize, kind: &str, local: &str) -> Record {
    let when = at(local);
    Record {
        event_id: EventId::parse(format!("e{n}")).unwrap(),
        case_no: CaseNo::parse("C1").unwrap(),
        occurred_at: when,
        source: "window-7".into(),
        body: body(kind, when),
    }
}

/// Records from `(kind, local time)` pairs, numbered in order.
pub fn story(steps: &[(&str, &str)]) -> Vec<Record> {
    steps
        .iter()
        .enumerate()
        .map(|(i, (kind, local))| rec(i + 1, kind, local))
        .collect()
}

/// A record of case C1 with the given body.
pub fn record(n: usize, local: &str, body: RecordBody) -> Record {
    Record {
        event_id: EventId::parse(format!("e{n}")).unwrap(),
        case_no: CaseNo::parse("C1").unwrap(),
        occurred_at: at(local),
        source: "window-7".into(),
        body,
    }
}

/// Records from `(local time, body)` pairs, numbered in order.
pub fn records(steps: Vec<(&str, RecordBody)>) -> Vec<Record> {
    steps
        .into_iter()
        .enumerate()
        .map(|(i, (local, body))| record(i + 1, local, body))
        .collect()
}

/// The plausible body of a record kind (as [`body`]), where its own time does not matter.
pub fn plain(kind: &str) -> RecordBody {
    body(kind, at("2024-01-01 00:00"))
}
