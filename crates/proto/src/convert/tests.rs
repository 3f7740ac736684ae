//! Round trips (domain -> wire -> domain, JSON line -> wire -> domain) and the violation
//! reports of the inbound conversions.

use chrono::{DateTime, NaiveDate, Utc};
use egov_domain::calendar::CalendarId;
use egov_domain::ids::{CaseNo, DepartmentCode, EventId, MatterCode, RegionCode};
use egov_domain::limit::Limit;
use egov_domain::matter::{FeeItem, Matter, MatterKind, StepLimit};
use egov_domain::money::Fen;
use egov_domain::record::{
    Application, Channel, IssueMethod, Outcome, RatingLevel, Record, RecordBody, RecordKind,
    SuspensionKind,
};
use pbjson_types::Timestamp;
use tonic_types::StatusExt;

use super::FieldViolations;
use crate::approval::v1 as pb;
use crate::json;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().into()
}

fn record(n: usize, body: RecordBody) -> Record {
    Record {
        event_id: EventId::parse(format!("e-{n}")).unwrap(),
        case_no: CaseNo::parse("ZJ-2024-000001").unwrap(),
        occurred_at: at("2024-02-08T09:30:00.123456789+08:00"),
        source: "hall-window-7".into(),
        body,
    }
}

/// One record of every kind, with every optional field set somewhere.
fn every_kind() -> Vec<Record> {
    let bodies = vec![
        RecordBody::Application(Application {
            matter_code: MatterCode::parse("M-001").unwrap(),
            department: DepartmentCode::parse("market").unwrap(),
            region: RegionCode::parse("330106").unwrap(),
            applicant_ref: "ap-77f1".into(),
            channel: Channel::Online,
        }),
        RecordBody::Acceptance {
            handler: "h-1".into(),
            promised_due_at: Some(at("2024-02-29T16:00:00Z")),
        },
        RecordBody::CorrectionNotice {
            materials: vec!["lease contract".into(), "floor plan".into()],
            handler: "h-1".into(),
        },
        RecordBody::CorrectionReceived,
        RecordBody::Refusal {
            reason: "outside the department's remit".into(),
            handler: "h-2".into(),
        },
        RecordBody::StepStarted {
            step: "review".into(),
            handler: "h-3".into(),
            opinion: String::new(),
        },
        RecordBody::StepCompleted {
            step: "review".into(),
            handler: "h-3".into(),
            opinion: "materials complete".into(),
        },
        RecordBody::SuspensionStarted {
            kind: Some(SuspensionKind::ExpertReview),
            reason: "fire safety appraisal".into(),
            planned_end: at("2024-02-20T10:00:00+08:00"),
            approver: "head-1".into(),
        },
        RecordBody::SuspensionEnded {
            result: "passed".into(),
        },
        RecordBody::Extension {
            working_days: 10,
            approver: "head-1".into(),
            reason: "site inspection".into(),
        },
        RecordBody::Decision {
            outcome: Outcome::Denied,
            reason: "site unsuitable".into(),
            handler: "h-4".into(),
        },
        RecordBody::Fee {
            fee_item: "F01".into(),
            amount_fen: Fen::new(12_345).unwrap(),
            receipt_no: "R-0001".into(),
        },
        RecordBody::Completion {
            result: "denied".into(),
            certificate_no: "LIC-9".into(),
        },
        RecordBody::CertificateIssued {
            certificate_no: "LIC-9".into(),
            method: IssueMethod::Electronic,
        },
        RecordBody::Withdrawal {
            reason: String::new(),
        },
        RecordBody::Rating {
            level: RatingLevel::new(4).unwrap(),
            channel: Some(Channel::Window),
            comment: "slow".into(),
        },
    ];
    bodies
        .into_iter()
        .enumerate()
        .map(|(n, b)| record(n, b))
        .collect()
}

fn matter() -> Matter {
    Matter {
        code: MatterCode::parse("M-001").unwrap(),
        name: "食品经营许可".into(),
        department: DepartmentCode::parse("market").unwrap(),
        region: Some(RegionCode::parse("330106").unwrap()),
        kind: MatterKind::Promised,
        statutory_limit: Limit::working_days(20),
        promised_limit: Limit::working_days(10),
        step_limits: vec![StepLimit {
            step: "review".into(),
            limit: Limit::calendar_days(3),
        }],
        fee_items: vec![FeeItem {
            fee_item: "F01".into(),
            name: "inspection".into(),
            max: Fen::new(20_000).unwrap(),
        }],
        suspension_kinds: vec![SuspensionKind::Testing, SuspensionKind::ExpertReview],
        calendar: CalendarId::parse("cn").unwrap(),
    }
}

#[test]
fn every_record_kind_survives_domain_to_wire_to_domain() {
    let records = every_kind();
    let kinds: Vec<RecordKind> = records.iter().map(Record::kind).collect();
    assert_eq!(kinds, RecordKind::ALL, "the sample covers every kind once");
    for r in records {
        let wire = pb::Record::from(&r);
        assert_eq!(Record::try_from(wire).as_ref(), Ok(&r), "{}", r.kind());
    }
}

#[test]
fn every_record_kind_survives_a_json_line() {
    for r in every_kind() {
        let line = json::encode_record_line(&r).unwrap();
        assert!(!line.contains('\n'));
        assert_eq!(json::decode_record_line(&line).unwrap(), r, "{line}");
    }
}

#[test]
fn a_suspension_without_kind_is_kept_as_a_fact_for_the_rules() {
    let r = record(
        1,
        RecordBody::SuspensionStarted {
            kind: None,
            reason: String::new(),
            planned_end: at("2024-03-01T00:00:00Z"),
            approver: String::new(),
        },
    );
    let wire = pb::Record::from(&r);
    let Some(pb::record::Body::SuspensionStarted(s)) = &wire.body else {
        panic!("wrong body");
    };
    assert_eq!(s.kind(), pb::SuspensionKind::Unspecified);
    assert_eq!(Record::try_from(wire).unwrap(), r);
}

#[test]
fn the_line_format_is_canonical_protobuf_json() {
    let r = record(
        0,
        RecordBody::Fee {
            fee_item: "F01".into(),
            amount_fen: Fen::new(5000).unwrap(),
            receipt_no: "R-1".into(),
        },
    );
    assert_eq!(
        json::encode_record_line(&r).unwrap(),
        r#"{"eventId":"e-0","caseNo":"ZJ-2024-000001","occurredAt":"2024-02-08T01:30:00.123456789+00:00","source":"hall-window-7","fee":{"feeItem":"F01","amountFen":"5000","receiptNo":"R-1"}}"#
    );
    let c = record(1, RecordBody::CorrectionReceived);
    assert!(
        json::encode_record_line(&c)
            .unwrap()
            .ends_with(r#""correctionReceived":{}}"#)
    );
}

/// Sample lines as a service centre might write them by hand: proto (snake_case) names, numbers
/// for int64, local offsets. One per record kind.
const LINES: [&str; 16] = [
    r#"{"event_id":"a1","case_no":"C-1","occurred_at":"2024-02-08T09:00:00+08:00","source":"win","application":{"matter_code":"M-001","department":"market","region":"330106","applicant_ref":"ap-1","channel":"CHANNEL_WINDOW"}}"#,
    r#"{"eventId":"a2","caseNo":"C-1","occurredAt":"2024-02-09T09:00:00+08:00","source":"win","acceptance":{"handler":"h-1","promisedDueAt":"2024-03-01T00:00:00+08:00"}}"#,
    r#"{"event_id":"a3","case_no":"C-1","occurred_at":"2024-02-09T09:00:00+08:00","source":"win","correction_notice":{"materials":["lease","plan"],"handler":"h-1"}}"#,
    r#"{"event_id":"a4","case_no":"C-1","occurred_at":"2024-02-10T09:00:00+08:00","source":"win","correction_received":{}}"#,
    r#"{"event_id":"a5","case_no":"C-1","occurred_at":"2024-02-10T09:00:00+08:00","source":"win","refusal":{"reason":"not our remit","handler":"h-1"}}"#,
    r#"{"event_id":"a6","case_no":"C-1","occurred_at":"2024-02-10T09:00:00+08:00","source":"win","step_started":{"step":"undertake","handler":"h-2"}}"#,
    r#"{"event_id":"a7","case_no":"C-1","occurred_at":"2024-02-10T09:00:00+08:00","source":"win","step_completed":{"step":"undertake","handler":"h-2","opinion":"ok"}}"#,
    r#"{"event_id":"a8","case_no":"C-1","occurred_at":"2024-02-10T09:00:00+08:00","source":"win","suspension_started":{"kind":"SUSPENSION_KIND_HEARING","reason":"hearing requested","planned_end":"2024-02-20T17:00:00+08:00","approver":"head"}}"#,
    r#"{"event_id":"a9","case_no":"C-1","occurred_at":"2024-02-10T09:00:00+08:00","source":"win","suspension_ended":{"result":"held"}}"#,
    r#"{"event_id":"a10","case_no":"C-1","occurred_at":"2024-02-10T09:00:00+08:00","source":"win","extension":{"working_days":10,"approver":"head","reason":"complex"}}"#,
    r#"{"event_id":"a11","case_no":"C-1","occurred_at":"2024-02-10T09:00:00+08:00","source":"win","decision":{"outcome":"DECISION_OUTCOME_APPROVED","handler":"h-3"}}"#,
    r#"{"event_id":"a12","case_no":"C-1","occurred_at":"2024-02-10T09:00:00+08:00","source":"win","fee":{"fee_item":"F01","amount_fen":5000,"receipt_no":"R-1"}}"#,
    r#"{"event_id":"a13","case_no":"C-1","occurred_at":"2024-02-10T09:00:00+08:00","source":"win","completion":{"result":"approved","certificate_no":"L-1"}}"#,
    r#"{"event_id":"a14","case_no":"C-1","occurred_at":"2024-02-10T09:00:00+08:00","source":"win","certificate_issued":{"certificate_no":"L-1","method":"CERTIFICATE_METHOD_MAIL"}}"#,
    r#"{"event_id":"a15","case_no":"C-1","occurred_at":"2024-02-10T09:00:00+08:00","source":"win","withdrawal":{}}"#,
    r#"{"event_id":"a16","case_no":"C-1","occurred_at":"2024-02-10T09:00:00+08:00","source":"win","rating":{"level":1,"channel":"CHANNEL_ONLINE","comment":"fast"}}"#,
];

#[test]
fn sample_lines_of_every_kind_decode_to_the_domain() {
    let records: Vec<Record> = LINES
        .iter()
        .map(|l| json::decode_record_line(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    let kinds: Vec<RecordKind> = records.iter().map(Record::kind).collect();
    assert_eq!(kinds, RecordKind::ALL);

    assert_eq!(records[0].occurred_at, at("2024-02-08T01:00:00Z"));
    let RecordBody::Application(a) = &records[0].body else {
        panic!()
    };
    assert_eq!((a.region.as_str(), a.channel), ("330106", Channel::Window));
    assert_eq!(
        records[1].body,
        RecordBody::Acceptance {
            handler: "h-1".into(),
            promised_due_at: Some(at("2024-02-29T16:00:00Z")),
        }
    );
    assert_eq!(
        records[7].body,
        RecordBody::SuspensionStarted {
            kind: Some(SuspensionKind::Hearing),
            reason: "hearing requested".into(),
            planned_end: at("2024-02-20T09:00:00Z"),
            approver: "head".into(),
        }
    );
    assert_eq!(
        records[10].body,
        RecordBody::Decision {
            outcome: Outcome::Approved,
            reason: String::new(),
            handler: "h-3".into(),
        }
    );
    assert_eq!(
        records[11].body,
        RecordBody::Fee {
            fee_item: "F01".into(),
            amount_fen: Fen::new(5000).unwrap(),
            receipt_no: "R-1".into(),
        }
    );
    assert_eq!(
        records[15].body,
        RecordBody::Rating {
            level: RatingLevel::new(1).unwrap(),
            channel: Some(Channel::Online),
            comment: "fast".into(),
        }
    );
    // Each line, written back and read again, is the same record.
    for r in &records {
        let line = json::encode_record_line(r).unwrap();
        assert_eq!(&json::decode_record_line(&line).unwrap(), r);
    }
}

#[test]
fn lines_that_are_not_the_contract_are_refused_as_json_errors() {
    for line in [
        "",
        "{not json",
        // A misspelt field is an error, not silently dropped data.
        r#"{"event_id":"a","case_no":"C","occurred_at":"2024-02-08T09:00:00+08:00","source":"s","acceptance":{"handlr":"h"}}"#,
        r#"{"event_id":"a","case_no":"C","occurred_at":"2024-02-08T09:00:00+08:00","source":"s","decision":{"outcome":"MAYBE","handler":"h"}}"#,
        r#"{"event_id":"a","case_no":"C","occurred_at":"yesterday","source":"s","withdrawal":{}}"#,
        r#"{"event_id":"a","case_no":"C","occurred_at":"2024-02-08T09:00:00+08:00","source":"s","withdrawal":{},"refusal":{}}"#,
    ] {
        assert!(
            matches!(
                json::decode_record_line(line),
                Err(json::LineError::Json(_))
            ),
            "{line}"
        );
    }
}

#[test]
fn every_bad_field_is_listed_with_its_path() {
    let wire = pb::Record {
        event_id: String::new(),
        case_no: " C-1".into(),
        occurred_at: None,
        source: String::new(),
        body: Some(pb::record::Body::Application(pb::Application {
            matter_code: String::new(),
            department: "market".into(),
            region: "33x".into(),
            applicant_ref: " ".into(),
            channel: 0,
        })),
    };
    let err = Record::try_from(wire).unwrap_err();
    assert_eq!(
        err.fields(),
        [
            "event_id",
            "case_no",
            "occurred_at",
            "application.matter_code",
            "application.region",
            "application.channel",
            "source",
            "application.applicant_ref",
        ]
    );
    assert_eq!(err.violations()[0].reason, "is required");
}

#[test]
fn typed_and_text_fields_of_one_body_are_reported_together() {
    let cases: Vec<(pb::record::Body, Vec<&str>)> = vec![
        (
            pb::record::Body::Acceptance(pb::Acceptance {
                handler: String::new(),
                promised_due_at: Some(Timestamp {
                    seconds: 0,
                    nanos: -1,
                }),
            }),
            vec!["acceptance.promised_due_at", "acceptance.handler"],
        ),
        (
            pb::record::Body::Fee(pb::Fee {
                fee_item: String::new(),
                amount_fen: -5,
                receipt_no: "R".into(),
            }),
            vec!["fee.amount_fen", "fee.fee_item"],
        ),
        (
            pb::record::Body::Rating(pb::Rating {
                level: 6,
                channel: 42,
                comment: "x".repeat(4001),
            }),
            // Text out of bounds is found first (crate::limits), then the typed fields.
            vec!["rating.comment", "rating.level", "rating.channel"],
        ),
        (
            pb::record::Body::SuspensionStarted(pb::SuspensionStarted {
                kind: 99,
                reason: String::new(),
                planned_end: None,
                approver: String::new(),
            }),
            vec!["suspension_started.kind", "suspension_started.planned_end"],
        ),
        (
            pb::record::Body::Decision(pb::Decision {
                outcome: 0,
                reason: String::new(),
                handler: String::new(),
            }),
            vec!["decision.outcome", "decision.handler"],
        ),
        (
            pb::record::Body::CertificateIssued(pb::CertificateIssued {
                certificate_no: String::new(),
                method: 0,
            }),
            vec![
                "certificate_issued.method",
                "certificate_issued.certificate_no",
            ],
        ),
        (
            pb::record::Body::CorrectionNotice(pb::CorrectionNotice {
                materials: vec!["lease".into(), String::new()],
                handler: "h".into(),
            }),
            vec!["correction_notice.materials[1]"],
        ),
        (
            pb::record::Body::Extension(pb::Extension {
                working_days: 0,
                approver: String::new(),
                reason: String::new(),
            }),
            vec!["extension.working_days"],
        ),
    ];
    for (body, fields) in cases {
        let wire = pb::Record {
            event_id: "e".into(),
            case_no: "C".into(),
            occurred_at: Some(Timestamp {
                seconds: 1_700_000_000,
                nanos: 0,
            }),
            source: "s".into(),
            body: Some(body),
        };
        assert_eq!(Record::try_from(wire).unwrap_err().fields(), fields);
    }
}

#[test]
fn a_record_without_body_or_with_an_impossible_instant_is_refused() {
    let wire = pb::Record {
        event_id: "e".into(),
        case_no: "C".into(),
        occurred_at: Some(Timestamp {
            seconds: 400_000_000_000,
            nanos: 0,
        }),
        source: "s".into(),
        body: None,
    };
    let err = Record::try_from(wire).unwrap_err();
    assert_eq!(err.fields(), ["occurred_at", "body"]);
    assert!(err.violations()[0].reason.contains("years 1 to 9999"));
    assert!(
        err.violations()[1]
            .reason
            .starts_with("is required: exactly one of")
    );
}

#[test]
fn violations_become_invalid_argument_with_bad_request_details() {
    let err = Record::try_from(pb::Record::default()).unwrap_err();
    let status = tonic::Status::from(err.clone());
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert_eq!(
        status.message(),
        "invalid fields: event_id (is required); case_no (is required); occurred_at (is \
         required); body (is required: exactly one of application, acceptance, \
         correction_notice, correction_received, refusal, step_started, step_completed, \
         suspension_started, suspension_ended, extension, decision, fee, completion, \
         certificate_issued, withdrawal, rating); source (is required)"
    );
    let details = status
        .get_details_bad_request()
        .expect("BadRequest details");
    let fields: Vec<&str> = details
        .field_violations
        .iter()
        .map(|v| v.field.as_str())
        .collect();
    assert_eq!(fields, err.fields());

    let nested = err.within("records[3]");
    assert_eq!(nested.fields()[0], "records[3].event_id");
    let e = nested.to_record_error();
    assert_eq!(e.code, tonic::Code::InvalidArgument as i32);
    assert_eq!(e.field, "records[3].event_id");
    assert_eq!(e.field_violations.len(), 5);
}

#[test]
fn one_violation_reads_as_a_sentence() {
    let v = FieldViolations::new(vec![egov_domain::error::FieldError::new(
        "acceptance.handler",
        "is required",
    )]);
    assert_eq!(
        v.to_string(),
        "invalid field: acceptance.handler (is required)"
    );
}

#[test]
fn a_rating_without_a_channel_stays_without_one() {
    let r = record(
        0,
        RecordBody::Rating {
            level: RatingLevel::new(2).unwrap(),
            channel: None,
            comment: String::new(),
        },
    );
    let wire = pb::Record::from(&r);
    let Some(pb::record::Body::Rating(rating)) = &wire.body else {
        panic!()
    };
    assert_eq!(rating.channel(), pb::Channel::Unspecified);
    assert_eq!(Record::try_from(wire), Ok(r));
}

#[test]
fn a_matter_survives_domain_to_wire_to_domain_and_a_json_line() {
    let m = matter();
    assert_eq!(Matter::try_from(pb::Matter::from(&m)), Ok(m.clone()));
    let line = json::matter_line(&pb::Matter::from(&m)).unwrap();
    assert_eq!(json::decode_matter_line(&line).unwrap(), m);
    assert!(line.contains(
        r#""allowedSuspensionKinds":["SUSPENSION_KIND_TESTING","SUSPENSION_KIND_EXPERT_REVIEW"]"#
    ));
    assert!(line.contains(r#""statutoryLimit":{"amount":20,"unit":"LIMIT_UNIT_WORKING_DAYS"}"#));
}

#[test]
fn every_bad_field_of_a_matter_is_listed_with_its_path() {
    let mut wire = pb::Matter::from(&matter());
    wire.matter_code = String::new();
    wire.name = String::new();
    wire.kind = 0;
    wire.statutory_limit = None;
    wire.promised_limit = Some(pb::TimeLimit { amount: 5, unit: 0 });
    wire.step_limits.push(pb::StepLimit {
        step: "review".into(),
        limit: None,
    });
    wire.fee_items[0].max_fen = -1;
    wire.allowed_suspension_kinds = vec![4, 4, 0, 77];
    wire.calendar = "CN".into();
    wire.region = "x".into();
    let err = Matter::try_from(wire).unwrap_err();
    assert_eq!(
        err.fields(),
        [
            "matter_code",
            "statutory_limit",
            "promised_limit.unit",
            "kind",
            "step_limits[1].limit",
            "fee_items[0].max_fen",
            "allowed_suspension_kinds[1]",
            "allowed_suspension_kinds[2]",
            "allowed_suspension_kinds[3]",
            "calendar",
            "region",
            "name",
            "step_limits[1].step",
        ]
    );
}

#[test]
fn the_domains_own_matter_rules_are_reported_too() {
    let mut wire = pb::Matter::from(&matter());
    wire.promised_limit = Some(pb::TimeLimit {
        amount: 25,
        unit: pb::LimitUnit::WorkingDays.into(),
    });
    let err = Matter::try_from(wire).unwrap_err();
    assert_eq!(err.fields(), ["promised_limit"]);
    assert!(
        err.violations()[0]
            .reason
            .contains("longer than the statutory limit")
    );
}

#[test]
fn dates_convert_both_ways_and_impossible_ones_are_refused() {
    let d = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
    let wire = pb::Date::from(d);
    assert_eq!((wire.year, wire.month, wire.day), (2024, 2, 29));
    assert_eq!(NaiveDate::try_from(wire), Ok(d));
    let bad = pb::Date {
        year: 2023,
        month: 2,
        day: 29,
    };
    assert!(NaiveDate::try_from(bad).is_err());
}

#[test]
fn the_descriptor_set_describes_every_service() {
    use prost::Message as _;
    let fds = prost_types::FileDescriptorSet::decode(crate::FILE_DESCRIPTOR_SET).unwrap();
    let services: Vec<String> = fds
        .file
        .iter()
        .flat_map(|f| {
            f.service
                .iter()
                .map(move |s| format!("{}.{}", f.package(), s.name()))
        })
        .collect();
    assert_eq!(
        services,
        [
            "egov.access.v1.AccessService",
            "egov.approval.v1.ApprovalService",
            "egov.supervision.v1.AccountabilityService",
            "egov.supervision.v1.ComplaintsService",
            "egov.supervision.v1.ScoresService",
            "egov.supervision.v1.SupervisionService"
        ]
    );
}

/// The contract documents every message, field, oneof, enum, enum value, service and method
/// with a leading comment (read from the descriptors' source info).
#[test]
fn every_element_of_the_contract_is_documented() {
    use prost::Message as _;
    use prost_types::{DescriptorProto, EnumDescriptorProto};

    fn message(
        m: &DescriptorProto,
        path: Vec<i32>,
        name: String,
        out: &mut Vec<(Vec<i32>, String)>,
    ) {
        for (i, f) in m.field.iter().enumerate() {
            out.push((child(&path, 2, i), format!("{name}.{}", f.name())));
        }
        for (i, o) in m.oneof_decl.iter().enumerate() {
            // proto3 `optional` fields get a synthetic oneof that has no source of its own.
            let synthetic = m
                .field
                .iter()
                .any(|f| f.proto3_optional() && usize::try_from(f.oneof_index()).ok() == Some(i));
            if synthetic {
                continue;
            }
            out.push((child(&path, 8, i), format!("{name}.{}", o.name())));
        }
        for (i, n) in m.nested_type.iter().enumerate() {
            let n_name = format!("{name}.{}", n.name());
            out.push((child(&path, 3, i), n_name.clone()));
            message(n, child(&path, 3, i), n_name, out);
        }
        for (i, e) in m.enum_type.iter().enumerate() {
            let e_name = format!("{name}.{}", e.name());
            out.push((child(&path, 4, i), e_name.clone()));
            enumeration(e, child(&path, 4, i), e_name, out);
        }
    }
    fn enumeration(
        e: &EnumDescriptorProto,
        path: Vec<i32>,
        name: String,
        out: &mut Vec<(Vec<i32>, String)>,
    ) {
        for (i, v) in e.value.iter().enumerate() {
            out.push((child(&path, 2, i), format!("{name}.{}", v.name())));
        }
    }
    fn child(path: &[i32], field: i32, index: usize) -> Vec<i32> {
        let mut p = path.to_vec();
        p.extend([field, i32::try_from(index).unwrap()]);
        p
    }

    let fds = prost_types::FileDescriptorSet::decode(crate::FILE_DESCRIPTOR_SET).unwrap();
    let mut missing = Vec::new();
    let mut checked = 0;
    for file in fds.file.iter().filter(|f| f.package().starts_with("egov.")) {
        let documented: std::collections::HashSet<&[i32]> = file
            .source_code_info
            .as_ref()
            .expect("source info")
            .location
            .iter()
            .filter(|l| !l.leading_comments().trim().is_empty())
            .map(|l| l.path.as_slice())
            .collect();
        let mut elements = Vec::new();
        for (i, m) in file.message_type.iter().enumerate() {
            let name = format!("{}.{}", file.package(), m.name());
            elements.push((vec![4, i32::try_from(i).unwrap()], name.clone()));
            message(m, vec![4, i32::try_from(i).unwrap()], name, &mut elements);
        }
        for (i, e) in file.enum_type.iter().enumerate() {
            let name = format!("{}.{}", file.package(), e.name());
            elements.push((vec![5, i32::try_from(i).unwrap()], name.clone()));
            enumeration(e, vec![5, i32::try_from(i).unwrap()], name, &mut elements);
        }
        for (i, s) in file.service.iter().enumerate() {
            let name = format!("{}.{}", file.package(), s.name());
            elements.push((vec![6, i32::try_from(i).unwrap()], name.clone()));
            for (j, m) in s.method.iter().enumerate() {
                elements.push((
                    child(&[6, i32::try_from(i).unwrap()], 2, j),
                    format!("{name}.{}", m.name()),
                ));
            }
        }
        checked += elements.len();
        missing.extend(
            elements
                .into_iter()
                .filter(|(path, _)| !documented.contains(path.as_slice()))
                .map(|(_, name)| name),
        );
    }
    assert!(checked > 300, "only {checked} elements found");
    assert!(missing.is_empty(), "undocumented: {missing:#?}");
}
