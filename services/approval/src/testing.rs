//! Test fixtures of the approval platform's wire values: matters and records in a few words.
//! The platform itself runs for tests through the composition root
//! (`egov_platform::testing`).

/// Builders of wire values for tests: matters and records in a few words.
pub mod fixtures {
    use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone, Utc};
    use egov_domain::calendar::CalendarId;
    use egov_domain::ids::{CaseNo, DepartmentCode, EventId, MatterCode, RegionCode};
    use egov_domain::limit::Limit;
    use egov_domain::matter::{Matter, MatterKind};
    use egov_domain::money::Fen;
    use egov_domain::record::{
        Application, Channel, IssueMethod, Outcome, RatingLevel, Record, RecordBody, SuspensionKind,
    };
    use egov_proto::approval::v1 as pb;

    /// Asia/Shanghai local time "2024-03-04 09:00" as UTC.
    pub fn local(t: &str) -> DateTime<Utc> {
        let naive = NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M").expect("local time");
        FixedOffset::east_opt(8 * 3600)
            .expect("offset")
            .from_local_datetime(&naive)
            .single()
            .expect("unambiguous")
            .with_timezone(&Utc)
    }

    /// A promised matter of `department` with the given limits in working days.
    pub fn matter(code: &str, department: &str, promised: u32, statutory: u32) -> pb::Matter {
        let kind = if statutory == 0 {
            MatterKind::Immediate
        } else {
            MatterKind::Promised
        };
        (&Matter {
            code: MatterCode::parse(code).expect("code"),
            name: format!("matter {code}"),
            department: DepartmentCode::parse(department).expect("department"),
            region: None,
            kind,
            statutory_limit: Limit::working_days(statutory),
            promised_limit: Limit::working_days(promised),
            step_limits: vec![],
            fee_items: vec![],
            suspension_kinds: vec![SuspensionKind::Testing],
            calendar: CalendarId::parse("cn").expect("calendar"),
        })
            .into()
    }

    /// A record of `case_no` at local time `at`.
    pub fn record(case_no: &str, event_id: &str, at: &str, body: RecordBody) -> pb::Record {
        (&Record {
            event_id: EventId::parse(event_id).expect("event id"),
            case_no: CaseNo::parse(case_no).expect("case no"),
            occurred_at: local(at),
            source: "test-centre".into(),
            body,
        })
            .into()
    }

    pub fn application(matter_code: &str, department: &str, region: &str) -> RecordBody {
        RecordBody::Application(Application {
            matter_code: MatterCode::parse(matter_code).expect("matter"),
            department: DepartmentCode::parse(department).expect("department"),
            region: RegionCode::parse(region).expect("region"),
            applicant_ref: "applicant-1".into(),
            channel: Channel::Window,
        })
    }

    pub fn acceptance() -> RecordBody {
        RecordBody::Acceptance {
            handler: "clerk-1".into(),
            promised_due_at: None,
        }
    }

    pub fn step_started(step: &str) -> RecordBody {
        RecordBody::StepStarted {
            step: step.into(),
            handler: "officer-1".into(),
            opinion: String::new(),
        }
    }

    pub fn suspension(planned_end: &str) -> RecordBody {
        RecordBody::SuspensionStarted {
            kind: Some(SuspensionKind::Testing),
            reason: "laboratory test of samples".into(),
            planned_end: local(planned_end),
            approver: "head-1".into(),
        }
    }

    pub fn suspension_ended() -> RecordBody {
        RecordBody::SuspensionEnded {
            result: "samples passed".into(),
        }
    }

    pub fn decision(approved: bool) -> RecordBody {
        RecordBody::Decision {
            outcome: if approved {
                Outcome::Approved
            } else {
                Outcome::Denied
            },
            reason: if approved {
                String::new()
            } else {
                "unsafe premises".into()
            },
            handler: "head-1".into(),
        }
    }

    pub fn completion() -> RecordBody {
        RecordBody::Completion {
            result: "licence granted".into(),
            certificate_no: "CERT-1".into(),
        }
    }

    pub fn certificate() -> RecordBody {
        RecordBody::CertificateIssued {
            certificate_no: "CERT-1".into(),
            method: IssueMethod::Electronic,
        }
    }

    pub fn fee(item: &str, fen: i64) -> RecordBody {
        RecordBody::Fee {
            fee_item: item.into(),
            amount_fen: Fen::new(fen).expect("fen"),
            receipt_no: "R-1".into(),
        }
    }

    pub fn rating(level: i64) -> RecordBody {
        RecordBody::Rating {
            level: RatingLevel::new(level).expect("level"),
            channel: Some(Channel::Online),
            comment: String::new(),
        }
    }
}
