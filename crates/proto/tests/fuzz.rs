//! Property-based fuzzing of the protobuf and ProtoJSON conversions (issue 14): whatever a
//! sender makes of a message (arbitrary bytes, arbitrary JSON, arbitrary field values with
//! NULs, huge numbers, unknown enum numbers, impossible instants), the conversion answers a
//! value or field errors, never panics; an error stays small; and what it accepts goes back
//! to the wire and in again unchanged.

use egov_domain::matter::Matter;
use egov_domain::record::Record;
use egov_proto::approval::v1 as pb;
use egov_proto::convert::FieldViolations;
use egov_proto::supervision::v1 as spb;
use egov_proto::{codec, json, limits};
use pbjson_types::Timestamp;
use proptest::prelude::*;
use prost::Message;

/// Text as senders get it wrong: empty, blank, control characters and NUL, any Unicode,
/// and over every bound.
fn text(wild: bool) -> BoxedStrategy<String> {
    if !wild {
        return "[a-z0-9][a-z0-9-]{0,10}".boxed();
    }
    prop_oneof![
        4 => "[a-zA-Z0-9 ._-]{0,12}",
        2 => "\\PC{0,40}",
        1 => ".{0,20}",
        1 => Just("a\0b".to_owned()),
        1 => Just(" padded ".to_owned()),
        1 => (0usize..6000).prop_map(|n| "x".repeat(n)),
    ]
    .boxed()
}

/// A region code: digits, unless anything goes.
fn region(wild: bool) -> BoxedStrategy<String> {
    if wild {
        text(true)
    } else {
        "[1-9][0-9]{1,8}".boxed()
    }
}

fn texts(wild: bool) -> BoxedStrategy<Vec<String>> {
    if !wild {
        return prop::collection::vec(text(false), 1..4).boxed();
    }
    prop_oneof![
        4 => prop::collection::vec(text(wild), 0..4),
        1 => (0usize..300).prop_map(|n| vec!["m".to_owned(); n]),
    ]
    .boxed()
}

/// Enum numbers: known ones mostly, any i32 sometimes.
fn number(wild: bool) -> BoxedStrategy<i32> {
    if !wild {
        return (1i32..3).boxed();
    }
    prop_oneof![4 => -1i32..14, 1 => any::<i32>()].boxed()
}

fn timestamp(wild: bool) -> BoxedStrategy<Option<Timestamp>> {
    if !wild {
        // 2024-01-01 to 2025-01-01, so every planned end or due instant can follow it.
        return (1_704_067_200i64..1_735_689_600, 0i32..1_000_000_000)
            .prop_map(|(seconds, nanos)| Some(Timestamp { seconds, nanos }))
            .boxed();
    }
    let seconds = prop_oneof![
        4 => 946_684_800i64..4_102_444_800,
        1 => any::<i64>(),
        1 => Just(i64::MIN),
        1 => Just(253_402_300_800i64),
    ];
    let nanos = prop_oneof![4 => 0i32..1_000_000_000, 1 => any::<i32>()];
    prop::option::weighted(
        0.9,
        (seconds, nanos).prop_map(|(seconds, nanos)| Timestamp { seconds, nanos }),
    )
    .boxed()
}

fn body(wild: bool) -> BoxedStrategy<Option<pb::record::Body>> {
    use pb::record::Body as B;
    let body = prop_oneof![
        (
            text(wild),
            text(wild),
            region(wild),
            text(wild),
            number(wild)
        )
            .prop_map(|(m, d, r, a, c)| B::Application(pb::Application {
                matter_code: m,
                department: d,
                region: r,
                applicant_ref: a,
                channel: c,
            })),
        (text(wild), timestamp(wild)).prop_map(|(h, t)| B::Acceptance(pb::Acceptance {
            handler: h,
            promised_due_at: t,
        })),
        (texts(wild), text(wild)).prop_map(|(m, h)| B::CorrectionNotice(pb::CorrectionNotice {
            materials: m,
            handler: h,
        })),
        Just(B::CorrectionReceived(pb::CorrectionReceived {})),
        (text(wild), text(wild)).prop_map(|(r, h)| B::Refusal(pb::Refusal {
            reason: r,
            handler: h
        })),
        (text(wild), text(wild), text(wild)).prop_map(|(s, h, o)| B::StepStarted(
            pb::StepStarted {
                step: s,
                handler: h,
                opinion: o,
            }
        )),
        (text(wild), text(wild), text(wild)).prop_map(|(s, h, o)| B::StepCompleted(
            pb::StepCompleted {
                step: s,
                handler: h,
                opinion: o,
            }
        )),
        (number(wild), text(wild), timestamp(wild), text(wild)).prop_map(|(k, r, t, a)| {
            B::SuspensionStarted(pb::SuspensionStarted {
                kind: k,
                reason: r,
                planned_end: t,
                approver: a,
            })
        }),
        text(wild).prop_map(|r| B::SuspensionEnded(pb::SuspensionEnded { result: r })),
        (any::<u32>(), text(wild), text(wild)).prop_map(|(d, a, r)| B::Extension(pb::Extension {
            working_days: d,
            approver: a,
            reason: r,
        })),
        (number(wild), text(wild), text(wild)).prop_map(|(o, r, h)| B::Decision(pb::Decision {
            outcome: o,
            reason: r,
            handler: h,
        })),
        (text(wild), any::<i64>(), text(wild)).prop_map(|(f, a, r)| B::Fee(pb::Fee {
            fee_item: f,
            amount_fen: a,
            receipt_no: r,
        })),
        (text(wild), text(wild)).prop_map(|(r, c)| B::Completion(pb::Completion {
            result: r,
            certificate_no: c,
        })),
        (text(wild), number(wild)).prop_map(|(c, m)| B::CertificateIssued(pb::CertificateIssued {
            certificate_no: c,
            method: m,
        })),
        text(wild).prop_map(|r| B::Withdrawal(pb::Withdrawal { reason: r })),
        (number(wild), number(wild), text(wild)).prop_map(|(l, c, t)| B::Rating(pb::Rating {
            level: l,
            channel: c,
            comment: t,
        })),
    ];
    if !wild {
        return body.prop_map(Some).boxed();
    }
    prop::option::weighted(0.95, body).boxed()
}

fn record(wild: bool) -> impl Strategy<Value = pb::Record> {
    (
        text(wild),
        text(wild),
        timestamp(wild),
        text(wild),
        body(wild),
    )
        .prop_map(|(e, c, t, s, b)| pb::Record {
            event_id: e,
            case_no: c,
            occurred_at: t,
            source: s,
            body: b,
        })
}

fn limit() -> impl Strategy<Value = Option<pb::TimeLimit>> {
    prop::option::weighted(
        0.9,
        (prop_oneof![0u32..40, any::<u32>()], number(true))
            .prop_map(|(amount, unit)| pb::TimeLimit { amount, unit }),
    )
}

fn matter() -> impl Strategy<Value = pb::Matter> {
    let steps = prop::collection::vec(
        (text(true), limit()).prop_map(|(step, limit)| pb::StepLimit { step, limit }),
        0..5,
    );
    let fees = prop::collection::vec(
        (text(true), text(true), any::<i64>()).prop_map(|(fee_item, name, max_fen)| pb::FeeItem {
            fee_item,
            name,
            max_fen,
        }),
        0..5,
    );
    (
        (text(true), text(true), text(true), number(true)),
        (limit(), limit(), steps, fees),
        (
            prop::collection::vec(number(true), 0..20),
            text(true),
            text(true),
        ),
    )
        .prop_map(
            |(
                (code, name, department, kind),
                (statutory, promised, steps, fees),
                (kinds, calendar, region),
            )| {
                pb::Matter {
                    matter_code: code,
                    name,
                    department,
                    kind,
                    statutory_limit: statutory,
                    promised_limit: promised,
                    step_limits: steps,
                    fee_items: fees,
                    allowed_suspension_kinds: kinds,
                    calendar,
                    region,
                }
            },
        )
}

/// An error a sender gets back stays small, whatever was sent.
fn small(v: &FieldViolations) {
    assert!(!v.violations().is_empty());
    let e = v.to_record_error();
    assert!(
        e.message.len() < 8 * 1024,
        "an error of {} bytes",
        e.message.len()
    );
    assert!(e.field_violations.len() <= limits::MAX_REPORTED);
    let status = tonic::Status::from(v.clone());
    assert!(status.message().len() < 8 * 1024);
}

/// Cases per property: 512 in the normal suite; a longer run sets `EGOV_FUZZ_CASES`
/// (`EGOV_FUZZ_CASES=100000 cargo test -p egov-proto --test fuzz --release`).
fn cases() -> u32 {
    std::env::var("EGOV_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(512)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    /// Any record: a domain record that goes back to the wire (and through a JSON line)
    /// unchanged, or field errors.
    #[test]
    fn any_record_converts_or_names_its_fields(wire in record(true)) {
        match Record::try_from(wire.clone()) {
            Ok(record) => {
                let back = pb::Record::from(&record);
                prop_assert_eq!(Record::try_from(back.clone()).unwrap(), record.clone());
                let line = json::record_line(&back).expect("an accepted record prints");
                prop_assert_eq!(json::decode_record_line(&line).unwrap(), record);
            }
            Err(v) => small(&v),
        }
    }

    /// Records made of valid values (every body kind): converted, and unchanged through the
    /// wire and a JSON line; the round trip the wild cases seldom reach.
    #[test]
    fn plausible_records_round_trip(wire in record(false)) {
        match Record::try_from(wire.clone()) {
            Ok(record) => {
                let back = pb::Record::from(&record);
                prop_assert_eq!(Record::try_from(back.clone()).unwrap(), record.clone());
                let line = json::record_line(&back).expect("an accepted record prints");
                prop_assert_eq!(json::decode_record_line(&line).unwrap(), record);
            }
            // Only numbers the plain values leave free: a planned end before the start, a
            // negative fee, an implausible extension.
            Err(v) => {
                small(&v);
                for field in v.fields() {
                    prop_assert!(
                        [
                            "suspension_started.planned_end",
                            "fee.amount_fen",
                            "extension.working_days",
                        ]
                        .contains(&field),
                        "{:?}",
                        v
                    );
                }
            }
        }
    }

    /// Any matter: a domain matter that round-trips, or field errors.
    #[test]
    fn any_matter_converts_or_names_its_fields(wire in matter()) {
        match Matter::try_from(wire.clone()) {
            Ok(matter) => {
                let back = pb::Matter::from(&matter);
                prop_assert_eq!(Matter::try_from(back).unwrap(), matter);
            }
            Err(v) => small(&v),
        }
    }

    /// Any bytes: prost decodes them or says why (which the codec turns into
    /// INVALID_ARGUMENT), and what decodes converts or names its fields.
    #[test]
    fn any_bytes_decode_or_are_invalid_argument(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        match pb::Record::decode(bytes.as_slice()) {
            Ok(wire) => if let Err(v) = Record::try_from(wire) { small(&v) },
            Err(e) => {
                let status = codec::undecodable(&e.to_string());
                prop_assert_eq!(status.code(), tonic::Code::InvalidArgument);
            }
        }
        match pb::Matter::decode(bytes.as_slice()) {
            Ok(wire) => if let Err(v) = Matter::try_from(wire) { small(&v) },
            Err(e) => {
                prop_assert_eq!(codec::undecodable(&e.to_string()).code(), tonic::Code::InvalidArgument);
            }
        }
        for result in [
            spb::ListWarningsRequest::decode(bytes.as_slice()).map(|r| limits::check(&r)),
            spb::AnswerWarningRequest::decode(bytes.as_slice()).map(|r| limits::check(&r)),
            pb::ListCasesRequest::decode(bytes.as_slice()).map(|r| limits::check(&r)),
            pb::UpsertRegionsRequest::decode(bytes.as_slice()).map(|r| limits::check(&r)),
        ] {
            match result {
                Ok(Err(v)) => small(&v),
                Ok(Ok(())) => {}
                Err(e) => prop_assert_eq!(
                    codec::undecodable(&e.to_string()).code(),
                    tonic::Code::InvalidArgument
                ),
            }
        }
    }

    /// Any text as a JSON line, and JSON lines built from arbitrary records (which may hold
    /// instants no line can print): a record, or an error, never a panic.
    #[test]
    fn any_json_line_decodes_or_is_refused(line in "\\PC{0,200}", wire in record(true)) {
        let _ = json::decode_record_line(&line);
        let _ = json::decode_matter_line(&line);
        if let Ok(line) = json::record_line(&wire) {
            match json::decode_record_line(&line) {
                Ok(_) => {}
                Err(json::LineError::Invalid(v)) => small(&v),
                Err(json::LineError::Json(_)) => {}
            }
        }
    }

    /// JSON with the right shape and wrong values: every field of a line set to odd values.
    #[test]
    fn json_with_odd_values_decodes_or_is_refused(
        seconds in any::<i64>(),
        amount in any::<i128>(),
        level in any::<i64>(),
        name in "\\PC{0,30}",
    ) {
        let lines = [
            format!(r#"{{"eventId":{name:?},"caseNo":"C","occurredAt":"{seconds}","source":"s","fee":{{"feeItem":"F","amountFen":"{amount}","receiptNo":"R"}}}}"#),
            format!(r#"{{"eventId":"e","caseNo":"C","occurredAt":"2024-02-08T09:00:00Z","source":"s","rating":{{"level":{level},"channel":{name:?}}}}}"#),
            format!(r#"{{"eventId":"e","caseNo":"C","occurredAt":{seconds},"source":"s","withdrawal":{{"reason":{name:?}}}}}"#),
        ];
        for line in lines {
            match json::decode_record_line(&line) {
                Ok(_) | Err(json::LineError::Json(_)) => {}
                Err(json::LineError::Invalid(v)) => small(&v),
            }
        }
    }
}
