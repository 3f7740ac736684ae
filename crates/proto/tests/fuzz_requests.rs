//! Property-based fuzzing of every request message (issue 14): bytes shaped like protobuf
//! (random fields of every wire type, nested, truncated, mutated from real requests) decoded as
//! each request of both platforms, and arbitrary JSON values (built from the real field names,
//! so they reach deep) through the ProtoJSON import path and every request's JSON mapping.
//! Whatever comes in gives a value or a field error (an undecodable message is
//! INVALID_ARGUMENT naming what it could), never a panic, and an error stays small.
//! `fuzz.rs` holds the records' and matters' own properties.

use egov_domain::matter::Matter;
use egov_domain::record::Record;
use egov_proto::approval::v1 as pb;
use egov_proto::convert::FieldViolations;
use egov_proto::supervision::v1 as spb;
use egov_proto::{codec, json, limits};
use proptest::prelude::*;
use prost::Message;
use serde_json::Value;

/// An error a sender gets back stays small, whatever was sent.
fn small(v: &FieldViolations) {
    assert!(!v.violations().is_empty());
    let status = tonic::Status::from(v.clone());
    assert!(
        status.message().len() < 8 * 1024,
        "an error of {} bytes",
        status.message().len()
    );
    assert!(v.to_record_error().field_violations.len() <= limits::MAX_REPORTED);
}

/// An undecodable message is INVALID_ARGUMENT with a short message.
fn undecodable(e: &prost::DecodeError) {
    let status = codec::undecodable(&e.to_string());
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    assert!(status.message().len() < 8 * 1024);
}

/// What the services do with a decoded request before anything else: the limits, then the
/// domain conversions a request carries (records, matters).
fn judge<T: limits::Bounded>(request: &T) {
    if let Err(v) = limits::check(request) {
        small(&v);
    }
}

fn records(records: &[pb::Record]) {
    for r in records {
        judge(r);
        if let Err(v) = Record::try_from(r.clone()) {
            small(&v);
        }
    }
}

fn matters(matters: &[pb::Matter]) {
    for m in matters {
        judge(m);
        if let Err(v) = Matter::try_from(m.clone()) {
            small(&v);
        }
    }
}

/// Decodes `bytes` as `$t`, judges what decodes with `$then`, checks the error otherwise.
macro_rules! decode_as {
    ($bytes:expr, $($t:ty => $then:expr),* $(,)?) => {$(
        match <$t>::decode($bytes) {
            Ok(message) => {
                let then: fn(&$t) = $then;
                then(&message);
            }
            Err(e) => undecodable(&e),
        }
    )*};
}

/// Every request of both platforms, decoded from `bytes`.
fn every_request(bytes: &[u8]) {
    decode_as!(bytes,
        pb::UpsertMattersRequest => |r| { judge(r); matters(&r.matters) },
        pb::GetMatterRequest => judge,
        pb::ListMattersRequest => judge,
        pb::ListMatterVersionsRequest => judge,
        pb::SubmitRecordsRequest => |r| { judge(r); records(&r.records) },
        pb::StreamRecordsRequest => |r| records(r.record.as_slice()),
        pb::GetCaseRequest => judge,
        pb::ListCasesRequest => judge,
        pb::FollowRecordsRequest => judge,
        pb::GetRuleConfigRequest => judge,
        pb::UpdateRuleConfigRequest => judge,
        pb::UpsertRegionsRequest => judge,
        pb::ListRegionsRequest => judge,
        pb::UpsertDepartmentsRequest => judge,
        pb::ListDepartmentsRequest => judge,
        spb::StreamWarningsRequest => judge,
        spb::ListWarningsRequest => judge,
        spb::GetWarningRequest => judge,
        spb::AcknowledgeWarningRequest => judge,
        spb::AnswerWarningRequest => judge,
        spb::CloseWarningRequest => judge,
        spb::EscalateWarningRequest => judge,
        spb::CreateWebhookRequest => judge,
        spb::ListWebhooksRequest => judge,
        spb::DeleteWebhookRequest => judge,
        spb::ListWebhookDeliveriesRequest => judge,
        spb::GetScoresRequest => judge,
        spb::GetRankingRequest => judge,
        spb::GetDepartmentIndicatorsRequest => judge,
        spb::GetCatalogueStatsRequest => judge,
        spb::ClosePeriodRequest => judge,
        spb::RecomputePeriodRequest => judge,
        spb::ListPeriodVersionsRequest => judge,
        spb::FileComplaintRequest => judge,
        spb::GetComplaintRequest => judge,
        spb::ListComplaintsRequest => judge,
        spb::DecideComplaintRequest => judge,
        spb::ForwardComplaintRequest => judge,
        spb::ReportComplaintRequest => judge,
        spb::CloseComplaintRequest => judge,
        spb::RecordComplaintFeedbackRequest => judge,
    );
}

/// Parses `value` as `$t` through its ProtoJSON mapping and judges what parses.
macro_rules! from_json_as {
    ($value:expr, $($t:ty => $then:expr),* $(,)?) => {$(
        if let Ok(message) = serde_json::from_value::<$t>($value.clone()) {
            let then: fn(&$t) = $then;
            then(&message);
        }
    )*};
}

/// Every request of both platforms, parsed from the JSON `value` (what a gRPC-JSON gateway or
/// a client's JSON would hand over), and the import path's record and matter lines.
fn every_json(value: &Value) {
    let line = value.to_string();
    match json::decode_record_line(&line) {
        Ok(_) | Err(json::LineError::Json(_)) => {}
        Err(json::LineError::Invalid(v)) => small(&v),
    }
    match json::decode_matter_line(&line) {
        Ok(_) | Err(json::LineError::Json(_)) => {}
        Err(json::LineError::Invalid(v)) => small(&v),
    }
    from_json_as!(value,
        pb::Record => |r| records(std::slice::from_ref(r)),
        pb::Matter => |m| matters(std::slice::from_ref(m)),
        pb::UpsertMattersRequest => |r| { judge(r); matters(&r.matters) },
        pb::SubmitRecordsRequest => |r| { judge(r); records(&r.records) },
        pb::ListCasesRequest => judge,
        pb::UpdateRuleConfigRequest => judge,
        pb::UpsertRegionsRequest => judge,
        pb::UpsertDepartmentsRequest => judge,
        spb::ListWarningsRequest => judge,
        spb::StreamWarningsRequest => judge,
        spb::AnswerWarningRequest => judge,
        spb::CreateWebhookRequest => judge,
        spb::GetScoresRequest => judge,
        spb::ClosePeriodRequest => judge,
    );
}

// ----- bytes shaped like protobuf ------------------------------------------------------------

fn varint(mut n: u64, out: &mut Vec<u8>) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// One field: its number (the messages use 1 to 20), and a value of one of the wire types.
#[derive(Debug, Clone)]
enum Field {
    Varint(u32, u64),
    Fixed64(u32, u64),
    Fixed32(u32, u32),
    Bytes(u32, Vec<u8>),
    Nested(u32, Vec<Field>),
    /// A wire type protobuf does not have (6, 7) or a deprecated group (3, 4).
    Odd(u32, u8),
}

fn encode(fields: &[Field], out: &mut Vec<u8>) {
    for f in fields {
        let key = |n: u32, wire: u8| (u64::from(n) << 3) | u64::from(wire);
        match f {
            Field::Varint(n, v) => {
                varint(key(*n, 0), out);
                varint(*v, out);
            }
            Field::Fixed64(n, v) => {
                varint(key(*n, 1), out);
                out.extend_from_slice(&v.to_le_bytes());
            }
            Field::Fixed32(n, v) => {
                varint(key(*n, 5), out);
                out.extend_from_slice(&v.to_le_bytes());
            }
            Field::Bytes(n, b) => {
                varint(key(*n, 2), out);
                varint(b.len() as u64, out);
                out.extend_from_slice(b);
            }
            Field::Nested(n, inner) => {
                let mut b = Vec::new();
                encode(inner, &mut b);
                varint(key(*n, 2), out);
                varint(b.len() as u64, out);
                out.extend_from_slice(&b);
            }
            Field::Odd(n, wire) => varint(key(*n, *wire), out),
        }
    }
}

fn field_number() -> impl Strategy<Value = u32> {
    prop_oneof![8 => 1u32..20, 1 => any::<u32>().prop_map(|n| n >> 3)]
}

fn payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => "\\PC{0,30}".prop_map(String::into_bytes),
        1 => Just(b"a\0b".to_vec()),
        1 => prop::collection::vec(any::<u8>(), 0..40),
        // Not UTF-8.
        1 => Just(vec![0xff, 0xfe, b'x']),
    ]
}

fn fields() -> impl Strategy<Value = Vec<Field>> {
    let leaf = prop_oneof![
        (field_number(), prop_oneof![0u64..100, any::<u64>()])
            .prop_map(|(n, v)| Field::Varint(n, v)),
        (field_number(), any::<u64>()).prop_map(|(n, v)| Field::Fixed64(n, v)),
        (field_number(), any::<u32>()).prop_map(|(n, v)| Field::Fixed32(n, v)),
        (field_number(), payload()).prop_map(|(n, b)| Field::Bytes(n, b)),
        (
            field_number(),
            prop_oneof![Just(3u8), Just(4), Just(6), Just(7)]
        )
            .prop_map(|(n, w)| Field::Odd(n, w)),
    ];
    let field = leaf.prop_recursive(4, 48, 6, |inner| {
        (field_number(), prop::collection::vec(inner, 0..6))
            .prop_map(|(n, fields)| Field::Nested(n, fields))
    });
    prop::collection::vec(field, 0..10)
}

/// Protobuf-shaped bytes, sometimes cut short or with a byte changed.
fn shaped_bytes() -> impl Strategy<Value = Vec<u8>> {
    (fields(), any::<u16>(), any::<u8>(), 0u8..4).prop_map(|(fields, at, byte, edit)| {
        let mut bytes = Vec::new();
        encode(&fields, &mut bytes);
        if !bytes.is_empty() {
            let i = usize::from(at) % bytes.len();
            match edit {
                0 => bytes.truncate(i),
                1 => bytes[i] = byte,
                2 => bytes.insert(i, byte),
                _ => {}
            }
        }
        bytes
    })
}

// ----- JSON values made of the real field names ---------------------------------------------

/// Field names of the requests, records and matters, in both spellings, and a stranger.
const NAMES: &[&str] = &[
    "eventId",
    "event_id",
    "caseNo",
    "case_no",
    "occurredAt",
    "occurred_at",
    "source",
    "application",
    "acceptance",
    "correctionNotice",
    "refusal",
    "stepStarted",
    "stepCompleted",
    "suspensionStarted",
    "suspensionEnded",
    "extension",
    "decision",
    "fee",
    "completion",
    "certificateIssued",
    "withdrawal",
    "rating",
    "matterCode",
    "department",
    "region",
    "applicantRef",
    "channel",
    "handler",
    "promisedDueAt",
    "materials",
    "reason",
    "step",
    "opinion",
    "kind",
    "plannedEnd",
    "approver",
    "result",
    "workingDays",
    "outcome",
    "feeItem",
    "amountFen",
    "receiptNo",
    "certificateNo",
    "method",
    "level",
    "comment",
    "name",
    "statutoryLimit",
    "promisedLimit",
    "stepLimits",
    "feeItems",
    "maxFen",
    "amount",
    "unit",
    "allowedSuspensionKinds",
    "calendar",
    "records",
    "matters",
    "record",
    "pageSize",
    "pageToken",
    "levels",
    "states",
    "rule",
    "office",
    "input",
    "id",
    "actor",
    "attachments",
    "url",
    "secret",
    "minLevel",
    "maxAttempts",
    "period",
    "after",
    "json",
    "regions",
    "departments",
    "code",
    "stranger",
];

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        (0u64..30).prop_map(Value::from),
        "\\PC{0,20}".prop_map(Value::String),
        Just(Value::String("2024-02-08T09:00:00+08:00".into())),
        Just(Value::String("CHANNEL_WINDOW".into())),
        Just(Value::String("99999999999999999999999".into())),
        Just(Value::String("a\u{0}b".into())),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(NAMES), inner), 0..8).prop_map(|pairs| {
                Value::Object(
                    pairs
                        .into_iter()
                        .map(|(k, v)| ((*k).to_owned(), v))
                        .collect(),
                )
            }),
        ]
    })
}

/// Cases per property: 512 in the normal suite; a longer run sets `EGOV_FUZZ_CASES`
/// (`EGOV_FUZZ_CASES=100000 cargo test -p egov-proto --test fuzz_requests --release`).
fn cases() -> u32 {
    std::env::var("EGOV_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(512)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    /// Protobuf-shaped bytes as every request: a value judged by the limits and the
    /// conversions, or INVALID_ARGUMENT; never a panic.
    #[test]
    fn shaped_bytes_as_every_request(bytes in shaped_bytes()) {
        every_request(&bytes);
    }

    /// Any bytes at all as every request.
    #[test]
    fn any_bytes_as_every_request(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        every_request(&bytes);
    }

    /// A real request (records of every kind, as the sender built it), cut or changed at one
    /// byte, as every request.
    #[test]
    fn a_real_request_mutated(
        wire in prop::collection::vec(
            (any::<u8>(), "\\PC{0,12}").prop_map(|(n, text)| pb::Record {
                event_id: text.clone(),
                case_no: text,
                occurred_at: Some(pbjson_types::Timestamp { seconds: i64::from(n) << 24, nanos: 0 }),
                ..Default::default()
            }),
            0..4,
        ),
        at in any::<u16>(),
        byte in any::<u8>(),
    ) {
        let mut bytes = pb::SubmitRecordsRequest { records: wire }.encode_to_vec();
        if !bytes.is_empty() {
            let i = usize::from(at) % bytes.len();
            bytes[i] = byte;
            every_request(&bytes);
            bytes.truncate(i);
        }
        every_request(&bytes);
    }

    /// Arbitrary JSON values, made of the real field names, through the import path and every
    /// request's JSON mapping: a value, a field error, or a JSON error; never a panic.
    #[test]
    fn any_json_value_through_the_import_path(value in json_value()) {
        every_json(&value);
        // The same value as the body of a record, so bodies are reached.
        let record = serde_json::json!({
            "eventId": "e", "caseNo": "C", "occurredAt": "2024-02-08T09:00:00Z",
            "source": "s", "fee": value.clone(),
        });
        every_json(&record);
        let matter = serde_json::json!({
            "matterCode": "M", "name": "n", "department": "d", "kind": "MATTER_KIND_PROMISED",
            "statutoryLimit": value.clone(), "stepLimits": [value],
        });
        every_json(&matter);
    }
}
