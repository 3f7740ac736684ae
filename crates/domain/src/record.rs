//! The record contract of docs/design.md §6 in domain terms: what a service-centre system says
//! happened to a case. One [`Record`] is one fact with its own time (`occurred_at`), which may
//! arrive late or out of order; the case is always rebuilt from its records in `occurred_at` order.
//!
//! Some defects are deliberately *not* refused here: a refusal without reasons, a suspension
//! without a kind, an extension without an approver, a fee outside the catalogue. They are facts
//! the supervision rules must see and flag (docs/design.md §3), so they are stored, not rejected.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::FieldError;
use crate::ids::{CaseNo, DepartmentCode, EventId, MatterCode, RegionCode};
use crate::money::Fen;

/// Longest free text accepted in a record (reasons, opinions, comments), in characters.
pub const MAX_TEXT_CHARS: usize = 4000;

/// Most working days one extension record may ask for (the law allows 10 or 15; more is
/// stored and flagged, up to this bound of plausibility).
pub const MAX_EXTENSION_DAYS: u32 = 250;

/// The years a record's times may fall in (UTC): no case of this platform began before 2000,
/// and a time after 2100 is a typing error (or hostile) that would push deadlines past what
/// anyone can act on. Documented in proto/README.md.
pub const PLAUSIBLE_YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

fn implausible(t: DateTime<Utc>) -> Option<String> {
    let year = chrono::Datelike::year(&t);
    (!PLAUSIBLE_YEARS.contains(&year)).then(|| {
        format!(
            "year {year} is outside {}..={}: not a plausible time",
            PLAUSIBLE_YEARS.start(),
            PLAUSIBLE_YEARS.end()
        )
    })
}

/// One fact about a case, as sent by a service-centre system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Sender-chosen, unique per record; a resend of the same id changes nothing.
    pub event_id: EventId,
    /// The case this fact belongs to.
    pub case_no: CaseNo,
    /// When it happened (not when it arrived): the case is replayed in this order.
    pub occurred_at: DateTime<Utc>,
    /// The sending system, kept for audit.
    pub source: String,
    /// What happened.
    pub body: RecordBody,
}

/// What happened, one variant per record kind of GB/T 39046 as used by docs/design.md §6.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RecordBody {
    /// 申请: the application was received; opens the case and its acceptance clock.
    Application(Application),
    /// 受理: accepted; the decision clocks start.
    Acceptance {
        handler: String,
        /// The sender's own computation of the promised deadline, checked against ours.
        promised_due_at: Option<DateTime<Utc>>,
    },
    /// 补正告知: one notice listing ALL missing materials ("tell everything once").
    CorrectionNotice {
        materials: Vec<String>,
        handler: String,
    },
    /// The corrected materials arrived; the acceptance clock runs again from here.
    CorrectionReceived,
    /// 不予受理: refused to accept; must carry reasons (a missing reason is flagged, not refused).
    Refusal { reason: String, handler: String },
    /// A handling step (承办, 审核, 批准, or the matter's own) began.
    StepStarted {
        step: String,
        handler: String,
        opinion: String,
    },
    /// A handling step ended, with the handler's opinion.
    StepCompleted {
        step: String,
        handler: String,
        opinion: String,
    },
    /// 特别程序: time not counted from here (ALL Art. 45).
    SuspensionStarted {
        /// None when the sender gave no kind: stored and flagged by the rules.
        kind: Option<SuspensionKind>,
        reason: String,
        planned_end: DateTime<Utc>,
        approver: String,
    },
    /// The special procedure ended; the clocks run again.
    SuspensionEnded { result: String },
    /// 延期 (ALL Art. 42): more working days, approved by the agency head.
    Extension {
        working_days: u32,
        approver: String,
        reason: String,
    },
    /// The decision on the application (a denial must carry reasons, ALL Art. 38).
    Decision {
        outcome: Outcome,
        reason: String,
        handler: String,
    },
    /// 收费: a fee collected (ALL Arts. 58-59: catalogue items only, at most their amount).
    Fee {
        fee_item: String,
        amount_fen: Fen,
        receipt_no: String,
    },
    /// 办结: the case is completed.
    Completion {
        result: String,
        certificate_no: String,
    },
    /// The certificate was issued or served (ALL Art. 44: within 10 working days of approval).
    CertificateIssued {
        certificate_no: String,
        method: IssueMethod,
    },
    /// The applicant withdrew the application.
    Withdrawal { reason: String },
    /// 好差评: the applicant's rating.
    Rating {
        level: RatingLevel,
        /// Where the rating was given; None when the sender did not say.
        channel: Option<Channel>,
        comment: String,
    },
}

/// The opening record of a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Application {
    pub matter_code: MatterCode,
    pub department: DepartmentCode,
    pub region: RegionCode,
    /// A pseudonymous reference to the applicant, never a raw identity number.
    pub applicant_ref: String,
    pub channel: Channel,
}

/// How an application reached the department.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Window,
    Online,
    Mail,
}

/// The special procedures whose time is not counted (ALL Art. 45).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SuspensionKind {
    Hearing,
    Tendering,
    Auction,
    Testing,
    Quarantine,
    Appraisal,
    ExpertReview,
    Other,
}

impl SuspensionKind {
    /// The kind's name, as in the record contract (`expert_review`).
    pub fn as_str(self) -> &'static str {
        match self {
            SuspensionKind::Hearing => "hearing",
            SuspensionKind::Tendering => "tendering",
            SuspensionKind::Auction => "auction",
            SuspensionKind::Testing => "testing",
            SuspensionKind::Quarantine => "quarantine",
            SuspensionKind::Appraisal => "appraisal",
            SuspensionKind::ExpertReview => "expert_review",
            SuspensionKind::Other => "other",
        }
    }
}

/// The outcome of a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Approved,
    Denied,
}

/// How a certificate reached the applicant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueMethod {
    InPerson,
    Mail,
    Electronic,
}

/// 好差评 level: 1 very satisfied ... 5 very dissatisfied; 4 and 5 are bad reviews.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct RatingLevel(u8);

impl RatingLevel {
    pub fn new(level: i64) -> Result<Self, FieldError> {
        match u8::try_from(level) {
            Ok(l @ 1..=5) => Ok(Self(l)),
            _ => Err(FieldError::new(
                "level",
                "must be 1 (very satisfied) to 5 (very dissatisfied)",
            )),
        }
    }

    pub fn get(self) -> u8 {
        self.0
    }

    pub fn is_bad_review(self) -> bool {
        self.0 >= 4
    }
}

impl TryFrom<u8> for RatingLevel {
    type Error = FieldError;
    fn try_from(value: u8) -> Result<Self, FieldError> {
        Self::new(value.into())
    }
}

impl From<RatingLevel> for u8 {
    fn from(value: RatingLevel) -> u8 {
        value.0
    }
}

/// The kind of a record, named as in the contract (`suspension_started`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RecordKind {
    Application,
    Acceptance,
    CorrectionNotice,
    CorrectionReceived,
    Refusal,
    StepStarted,
    StepCompleted,
    SuspensionStarted,
    SuspensionEnded,
    Extension,
    Decision,
    Fee,
    Completion,
    CertificateIssued,
    Withdrawal,
    Rating,
}

impl RecordKind {
    pub const ALL: [RecordKind; 16] = [
        RecordKind::Application,
        RecordKind::Acceptance,
        RecordKind::CorrectionNotice,
        RecordKind::CorrectionReceived,
        RecordKind::Refusal,
        RecordKind::StepStarted,
        RecordKind::StepCompleted,
        RecordKind::SuspensionStarted,
        RecordKind::SuspensionEnded,
        RecordKind::Extension,
        RecordKind::Decision,
        RecordKind::Fee,
        RecordKind::Completion,
        RecordKind::CertificateIssued,
        RecordKind::Withdrawal,
        RecordKind::Rating,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Application => "application",
            RecordKind::Acceptance => "acceptance",
            RecordKind::CorrectionNotice => "correction_notice",
            RecordKind::CorrectionReceived => "correction_received",
            RecordKind::Refusal => "refusal",
            RecordKind::StepStarted => "step_started",
            RecordKind::StepCompleted => "step_completed",
            RecordKind::SuspensionStarted => "suspension_started",
            RecordKind::SuspensionEnded => "suspension_ended",
            RecordKind::Extension => "extension",
            RecordKind::Decision => "decision",
            RecordKind::Fee => "fee",
            RecordKind::Completion => "completion",
            RecordKind::CertificateIssued => "certificate_issued",
            RecordKind::Withdrawal => "withdrawal",
            RecordKind::Rating => "rating",
        }
    }

    pub fn parse(name: &str) -> Option<RecordKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl fmt::Display for RecordKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl RecordBody {
    pub fn kind(&self) -> RecordKind {
        match self {
            RecordBody::Application(_) => RecordKind::Application,
            RecordBody::Acceptance { .. } => RecordKind::Acceptance,
            RecordBody::CorrectionNotice { .. } => RecordKind::CorrectionNotice,
            RecordBody::CorrectionReceived => RecordKind::CorrectionReceived,
            RecordBody::Refusal { .. } => RecordKind::Refusal,
            RecordBody::StepStarted { .. } => RecordKind::StepStarted,
            RecordBody::StepCompleted { .. } => RecordKind::StepCompleted,
            RecordBody::SuspensionStarted { .. } => RecordKind::SuspensionStarted,
            RecordBody::SuspensionEnded { .. } => RecordKind::SuspensionEnded,
            RecordBody::Extension { .. } => RecordKind::Extension,
            RecordBody::Decision { .. } => RecordKind::Decision,
            RecordBody::Fee { .. } => RecordKind::Fee,
            RecordBody::Completion { .. } => RecordKind::Completion,
            RecordBody::CertificateIssued { .. } => RecordKind::CertificateIssued,
            RecordBody::Withdrawal { .. } => RecordKind::Withdrawal,
            RecordBody::Rating { .. } => RecordKind::Rating,
        }
    }
}

impl Record {
    pub fn kind(&self) -> RecordKind {
        self.body.kind()
    }

    /// Checks what the types cannot: required free-text fields and length bounds. Returns every
    /// violation, with paths relative to the record (`acceptance.handler`), so a sender fixes
    /// all of them at once.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let e = &mut errors;
        let text = |errors: &mut Vec<FieldError>, path: &str, value: &str, required: bool| {
            if required && value.trim().is_empty() {
                errors.push(FieldError::new(path, "is required"));
            } else if value.chars().count() > MAX_TEXT_CHARS {
                errors.push(FieldError::new(
                    path,
                    format!("is longer than {MAX_TEXT_CHARS} characters"),
                ));
            }
        };
        text(e, "source", &self.source, true);
        if let Some(reason) = implausible(self.occurred_at) {
            e.push(FieldError::new("occurred_at", reason));
        }
        let k = self.kind().as_str();
        let p = |field: &str| format!("{k}.{field}");
        match &self.body {
            RecordBody::Application(a) => text(e, &p("applicant_ref"), &a.applicant_ref, true),
            RecordBody::Acceptance {
                handler,
                promised_due_at,
            } => {
                text(e, &p("handler"), handler, true);
                if let Some(reason) = promised_due_at.and_then(implausible) {
                    e.push(FieldError::new(p("promised_due_at"), reason));
                }
            }
            RecordBody::CorrectionNotice { materials, handler } => {
                text(e, &p("handler"), handler, true);
                if materials.is_empty() {
                    text(e, &p("materials"), "", true);
                }
                for (i, m) in materials.iter().enumerate() {
                    text(e, &format!("{k}.materials[{i}]"), m, true);
                }
            }
            RecordBody::CorrectionReceived => {}
            RecordBody::Refusal { reason, handler } => {
                text(e, &p("handler"), handler, true);
                text(e, &p("reason"), reason, false);
            }
            RecordBody::StepStarted {
                step,
                handler,
                opinion,
            }
            | RecordBody::StepCompleted {
                step,
                handler,
                opinion,
            } => {
                text(e, &p("step"), step, true);
                text(e, &p("handler"), handler, true);
                text(e, &p("opinion"), opinion, false);
            }
            RecordBody::SuspensionStarted {
                reason,
                approver,
                planned_end,
                ..
            } => {
                if *planned_end <= self.occurred_at {
                    e.push(FieldError::new(
                        p("planned_end"),
                        "must be after the suspension starts (occurred_at)",
                    ));
                } else if let Some(reason) = implausible(*planned_end) {
                    e.push(FieldError::new(p("planned_end"), reason));
                }
                text(e, &p("reason"), reason, false);
                text(e, &p("approver"), approver, false);
            }
            RecordBody::SuspensionEnded { result } => text(e, &p("result"), result, false),
            RecordBody::Extension {
                working_days,
                approver,
                reason,
            } => {
                if *working_days == 0 {
                    e.push(FieldError::new(p("working_days"), "must be at least 1"));
                } else if *working_days > MAX_EXTENSION_DAYS {
                    // More than the law allows is an anomaly the rules flag; beyond a year it
                    // is not a plausible request at all, and would push deadlines out of range.
                    e.push(FieldError::new(
                        p("working_days"),
                        format!("is more than {MAX_EXTENSION_DAYS}: not a plausible extension"),
                    ));
                }
                text(e, &p("approver"), approver, false);
                text(e, &p("reason"), reason, false);
            }
            RecordBody::Decision {
                reason, handler, ..
            } => {
                text(e, &p("handler"), handler, true);
                text(e, &p("reason"), reason, false);
            }
            RecordBody::Fee {
                fee_item,
                receipt_no,
                ..
            } => {
                text(e, &p("fee_item"), fee_item, true);
                text(e, &p("receipt_no"), receipt_no, true);
            }
            RecordBody::Completion {
                result,
                certificate_no,
            } => {
                text(e, &p("result"), result, true);
                text(e, &p("certificate_no"), certificate_no, false);
            }
            RecordBody::CertificateIssued { certificate_no, .. } => {
                text(e, &p("certificate_no"), certificate_no, true)
            }
            RecordBody::Withdrawal { reason } => text(e, &p("reason"), reason, false),
            RecordBody::Rating { comment, .. } => text(e, &p("comment"), comment, false),
        }
        errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(body: RecordBody) -> Record {
        Record {
            event_id: EventId::parse("e1").unwrap(),
            case_no: CaseNo::parse("C1").unwrap(),
            occurred_at: "2024-02-08T09:00:00+08:00".parse().unwrap(),
            source: "window-7".into(),
            body,
        }
    }

    #[test]
    fn every_kind_has_a_distinct_contract_name() {
        for kind in RecordKind::ALL {
            assert_eq!(RecordKind::parse(kind.as_str()), Some(kind));
        }
    }

    #[test]
    fn validate_names_every_missing_field_with_its_path() {
        let r = record(RecordBody::CorrectionNotice {
            materials: vec![],
            handler: " ".into(),
        });
        let fields: Vec<_> = r.validate().into_iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            ["correction_notice.handler", "correction_notice.materials"]
        );
    }

    #[test]
    fn defects_the_rules_must_see_are_not_refused() {
        let refusal = record(RecordBody::Refusal {
            reason: String::new(),
            handler: "h".into(),
        });
        assert!(refusal.validate().is_empty());
        let suspension = record(RecordBody::SuspensionStarted {
            kind: None,
            reason: String::new(),
            planned_end: "2024-03-01T00:00:00Z".parse().unwrap(),
            approver: String::new(),
        });
        assert!(suspension.validate().is_empty());
    }

    #[test]
    fn implausible_times_and_extensions_are_refused() {
        let mut r = record(RecordBody::Extension {
            working_days: 3_000_000,
            approver: "head".into(),
            reason: "r".into(),
        });
        r.occurred_at = "2240-01-01T00:00:00Z".parse().unwrap();
        let fields: Vec<_> = r.validate().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["occurred_at", "extension.working_days"]);
    }

    #[test]
    fn rating_levels_are_one_to_five() {
        assert!(RatingLevel::new(0).is_err());
        assert!(RatingLevel::new(6).is_err());
        assert!(RatingLevel::new(4).unwrap().is_bad_review());
        assert!(!RatingLevel::new(3).unwrap().is_bad_review());
    }

    #[test]
    fn records_round_trip_through_json() {
        let r = record(RecordBody::Fee {
            fee_item: "F01".into(),
            amount_fen: Fen::new(5000).unwrap(),
            receipt_no: "R1".into(),
        });
        let json = serde_json::to_string(&r.body).unwrap();
        assert_eq!(
            json,
            r#"{"type":"fee","fee_item":"F01","amount_fen":5000,"receipt_no":"R1"}"#
        );
        let back: RecordBody = serde_json::from_str(&json).unwrap();
        assert_eq!(back, r.body);
    }
}
