//! What an audited call is about (docs/design.md §9, the audit log's `target`): read from the
//! call's request by one table keyed by the RPC's method name, so that every RPC's target is
//! decided here and nowhere else, and a new RPC without an entry is found by a test.
//!
//! The front hall sees a request as bytes on the wire before any service decodes it, so this
//! takes the first gRPC message's bytes (without its 5-byte frame header) and decodes only the
//! fields a target is made of: each entry reads a small view of its request, whose field numbers
//! are those of the contract (prost skips every other field without allocating), which keeps
//! the ingest path's extra work to a scan of its case numbers.

use prost::Message;

/// A list target names this many items, then how many more there are.
const LISTED: usize = 3;

/// The target of a call of `method` (the RPC's method name, e.g. "CloseWarning") whose first
/// request message is `message`: "" when the RPC names none, the method is unknown, or the
/// message does not decode (the service will answer that itself).
pub fn of(method: &str, message: &[u8]) -> String {
    let Some(read) = reader(method) else {
        return String::new();
    };
    read(message).unwrap_or_default()
}

/// Whether `method` has an entry in the table (a test checks every RPC of the contract has).
pub fn known(method: &str) -> bool {
    reader(method).is_some()
}

type Reader = fn(&[u8]) -> Option<String>;

/// The table: each RPC and how its target is read.
fn reader(method: &str) -> Option<Reader> {
    Some(match method {
        // egov.approval.v1.ApprovalService
        "UpsertMatters" => |b| Some(list(Matters::decode(b).ok()?.matters, |m| m.code)),
        "GetMatter" | "ListMatterVersions" => |b| Some(One::decode(b).ok()?.first),
        "ListMatters" => |b| {
            let r = MattersFilter::decode(b).ok()?;
            Some(filters(&[
                ("department", &r.department),
                ("region", &r.region),
            ]))
        },
        "SubmitRecords" => |b| Some(list(Records::decode(b).ok()?.records, |r| r.case_no)),
        "StreamRecords" => |b| Some(StreamRecord::decode(b).ok()?.record?.case_no),
        "GetCase" => |b| Some(One::decode(b).ok()?.first),
        "ListCases" => |b| {
            let r = CasesFilter::decode(b).ok()?;
            Some(filters(&[
                ("department", &r.department),
                ("region", &r.region),
                ("matter", &r.matter_code),
            ]))
        },
        "FollowRecords" => |b| {
            let r = FollowFilter::decode(b).ok()?;
            Some(filters(&[
                ("department", &r.department),
                ("region", &r.region),
            ]))
        },
        "GetRuleConfig" | "ListWebhooks" => |_| Some(String::new()),
        "UpdateRuleConfig" => |b| {
            let r = RuleChange::decode(b).ok()?;
            Some(match (r.department, r.matter) {
                (Some(d), _) => format!("department:{}", d.first),
                (_, Some(m)) => format!("matter:{}", m.first),
                _ if r.defaults_json.is_some() => "defaults".to_owned(),
                _ => "config".to_owned(),
            })
        },
        "UpsertRegions" | "UpsertDepartments" => {
            |b| Some(list(Registry::decode(b).ok()?.items, |i| i.first))
        }
        "ListRegions" | "ListDepartments" => |b| {
            let r = One::decode(b).ok()?;
            Some(filters(&[("region", &r.first)]))
        },
        // egov.supervision.v1.SupervisionService
        "StreamWarnings" => |b| {
            let r = StreamFilter::decode(b).ok()?;
            Some(filters(&[
                ("department", &r.department),
                ("region", &r.region),
                ("office", &r.office),
            ]))
        },
        "ListWarnings" => |b| {
            let r = WarningsFilter::decode(b).ok()?;
            Some(filters(&[
                ("department", &r.department),
                ("region", &r.region),
                ("case", &r.case_no),
            ]))
        },
        "GetWarning" | "DeleteWebhook" | "ListWebhookDeliveries" => {
            |b| Some(One::decode(b).ok()?.first)
        }
        "AcknowledgeWarning" | "AnswerWarning" | "CloseWarning" | "EscalateWarning" => {
            |b| Some(Transition::decode(b).ok()?.input?.first)
        }
        // A hook has no id before it is made: its destination's host (never the URL, whose
        // path or query may hold a token).
        "CreateWebhook" => |b| Some(host(&One::decode(b).ok()?.first)),
        // egov.supervision.v1.ScoresService
        "GetScores" | "GetRanking" => |b| {
            let r = Two::decode(b).ok()?;
            Some(match r.second.as_str() {
                "" => r.first,
                region => format!("{} region:{region}", r.first),
            })
        },
        "GetDepartmentIndicators" => |b| {
            let r = Three::decode(b).ok()?;
            Some(match (r.second.as_str(), r.third.as_str()) {
                ("", "") => r.first,
                (from, to) => format!("{} {from}..{to}", r.first),
            })
        },
        "GetCatalogueStats" => |b| {
            let r = One::decode(b).ok()?;
            Some(filters(&[("department", &r.first)]))
        },
        "ClosePeriod" | "RecomputePeriod" | "ListPeriodVersions" => {
            |b| Some(One::decode(b).ok()?.first)
        }
        // egov.supervision.v1.ComplaintsService: the subject filed against (never the
        // complainant, whose identity only the office handling the complaint may read), or the
        // complaint's number.
        "FileComplaint" => |b| {
            let r = Filed::decode(b).ok()?;
            let kind = match r.kind {
                1 => "case",
                2 => "department",
                3 => "matter",
                _ => "subject",
            };
            Some(format!("{kind}:{}", r.subject))
        },
        "GetComplaint"
        | "DecideComplaint"
        | "ForwardComplaint"
        | "ReportComplaint"
        | "CloseComplaint"
        | "RecordComplaintFeedback" => {
            |b| Some(format!("complaint:{}", One::decode(b).ok()?.first))
        }
        "ListComplaints" => |b| {
            let r = Two::decode(b).ok()?;
            Some(filters(&[("department", &r.first), ("office", &r.second)]))
        },
        // egov.supervision.v1.AccountabilityService: the grounds of a decision (never the
        // person's name), or the register's filters.
        "RecordAccountability" => |b| {
            let r = Two::decode(b).ok()?;
            Some(match (r.first.as_str(), r.second.as_str()) {
                ("", complaint) => format!("complaint:{complaint}"),
                (warning, _) => format!("warning:{warning}"),
            })
        },
        "ListAccountability" => |b| {
            let r = Two::decode(b).ok()?;
            Some(filters(&[("region", &r.first), ("department", &r.second)]))
        },
        // egov.access.v1.AccessService: the account's name (never its password).
        "SignIn" => |b| Some(One::decode(b).ok()?.first),
        _ => return None,
    })
}

/// "A", "A,B,C" or "A,B,C +7": a batch's items, the first few named.
fn list<T>(items: Vec<T>, name: impl Fn(T) -> String) -> String {
    let n = items.len();
    let named: Vec<String> = items.into_iter().take(LISTED).map(name).collect();
    let mut text = named.join(",");
    if n > LISTED {
        text.push_str(&format!(" +{}", n - LISTED));
    }
    text
}

/// "department:market region:3301": a list's filters that are set.
fn filters(pairs: &[(&str, &String)]) -> String {
    pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}:{v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The host (and port) of `url`, without scheme, credentials, path or query.
fn host(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    authority
        .rsplit_once('@')
        .map_or(authority, |(_, h)| h)
        .to_owned()
}

// Views of the requests: only the fields a target is made of, by their numbers in the contract.
// A test (tests below) encodes each real request and reads its target back through these.

/// The first field of a request or an item, a string: a code, an id, a period, a name. (A
/// view declares only string fields a message has as strings: prost refuses a field of
/// another wire type than declared.)
#[derive(Clone, PartialEq, Message)]
struct One {
    #[prost(string, tag = "1")]
    first: String,
}

/// A complaint's subject and its kind (`FileComplaintRequest`).
#[derive(Clone, PartialEq, Message)]
struct Filed {
    #[prost(string, tag = "1")]
    subject: String,
    #[prost(int32, tag = "2")]
    kind: i32,
}

/// A period and its region.
#[derive(Clone, PartialEq, Message)]
struct Two {
    #[prost(string, tag = "1")]
    first: String,
    #[prost(string, tag = "2")]
    second: String,
}

/// A department and a range of periods.
#[derive(Clone, PartialEq, Message)]
struct Three {
    #[prost(string, tag = "1")]
    first: String,
    #[prost(string, tag = "2")]
    second: String,
    #[prost(string, tag = "3")]
    third: String,
}

#[derive(Clone, PartialEq, Message)]
struct Matters {
    #[prost(message, repeated, tag = "1")]
    matters: Vec<MatterCode>,
}

#[derive(Clone, PartialEq, Message)]
struct MatterCode {
    /// `Matter.matter_code`.
    #[prost(string, tag = "1")]
    code: String,
}

#[derive(Clone, PartialEq, Message)]
struct MattersFilter {
    #[prost(string, tag = "1")]
    department: String,
    #[prost(string, tag = "4")]
    region: String,
}

#[derive(Clone, PartialEq, Message)]
struct Records {
    #[prost(message, repeated, tag = "1")]
    records: Vec<RecordCase>,
}

#[derive(Clone, PartialEq, Message)]
struct StreamRecord {
    #[prost(message, optional, tag = "1")]
    record: Option<RecordCase>,
}

#[derive(Clone, PartialEq, Message)]
struct RecordCase {
    /// `Record.case_no`.
    #[prost(string, tag = "2")]
    case_no: String,
}

#[derive(Clone, PartialEq, Message)]
struct CasesFilter {
    #[prost(string, tag = "1")]
    department: String,
    #[prost(string, tag = "2")]
    region: String,
    #[prost(string, tag = "5")]
    matter_code: String,
}

#[derive(Clone, PartialEq, Message)]
struct FollowFilter {
    #[prost(string, tag = "3")]
    region: String,
    #[prost(string, tag = "4")]
    department: String,
}

#[derive(Clone, PartialEq, Message)]
struct RuleChange {
    #[prost(string, optional, tag = "2")]
    defaults_json: Option<String>,
    #[prost(message, optional, tag = "3")]
    department: Option<One>,
    #[prost(message, optional, tag = "4")]
    matter: Option<One>,
}

#[derive(Clone, PartialEq, Message)]
struct Registry {
    /// Regions or departments, each with its code first.
    #[prost(message, repeated, tag = "1")]
    items: Vec<One>,
}

#[derive(Clone, PartialEq, Message)]
struct StreamFilter {
    #[prost(string, tag = "1")]
    department: String,
    #[prost(string, tag = "2")]
    region: String,
    #[prost(string, tag = "5")]
    office: String,
}

#[derive(Clone, PartialEq, Message)]
struct WarningsFilter {
    #[prost(string, tag = "1")]
    department: String,
    #[prost(string, tag = "2")]
    region: String,
    #[prost(string, tag = "4")]
    case_no: String,
}

#[derive(Clone, PartialEq, Message)]
struct Transition {
    /// `WarningTransitionInput`, whose `id` is its first field.
    #[prost(message, optional, tag = "1")]
    input: Option<One>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::v1 as xpb;
    use crate::approval::v1 as apb;
    use crate::supervision::v1 as spb;

    fn target(method: &str, request: &impl Message) -> String {
        of(method, &request.encode_to_vec())
    }

    #[test]
    fn every_rpc_of_the_contract_has_an_entry() {
        let set = prost_types::FileDescriptorSet::decode(crate::FILE_DESCRIPTOR_SET)
            .expect("the descriptors decode");
        let missing: Vec<String> = set
            .file
            .iter()
            .filter(|f| f.package().starts_with("egov."))
            .flat_map(|f| &f.service)
            .flat_map(|s| &s.method)
            .map(|m| m.name().to_owned())
            .filter(|m| !known(m))
            .collect();
        assert!(missing.is_empty(), "no target entry for {missing:?}");
    }

    #[test]
    fn a_complaint_is_audited_by_its_subject_or_number_never_its_complainant() {
        let filed = target(
            "FileComplaint",
            &spb::FileComplaintRequest {
                subject: "market".into(),
                subject_kind: spb::ComplaintSubject::Department as i32,
                summary: "charged twice".into(),
                complainant: Some(spb::Complainant {
                    name: "Wang Fang".into(),
                    contact: "13800000000".into(),
                }),
                channel: spb::ComplaintChannel::Phone as i32,
            },
        );
        assert_eq!(filed, "department:market");
        let closed = target(
            "CloseComplaint",
            &spb::CloseComplaintRequest {
                id: "17".into(),
                outcome: 1,
                note: "refunded".into(),
            },
        );
        assert_eq!(closed, "complaint:17");
        let listed = target(
            "ListComplaints",
            &spb::ListComplaintsRequest {
                office: "3301".into(),
                states: vec![1, 2],
                ..Default::default()
            },
        );
        assert_eq!(listed, "office:3301");
    }

    #[test]
    fn a_decision_is_audited_by_its_grounds_never_the_person() {
        use spb::record_accountability_request::Basis;
        let decision = |basis| spb::RecordAccountabilityRequest {
            basis: Some(basis),
            person: "王五".into(),
            measure: spb::AccountabilityMeasure::AdmonitionTalk as i32,
            decided_on: "2026-04-01".into(),
            grounds: "late".into(),
            ..Default::default()
        };
        assert_eq!(
            target(
                "RecordAccountability",
                &decision(Basis::WarningId("7".into()))
            ),
            "warning:7"
        );
        assert_eq!(
            target(
                "RecordAccountability",
                &decision(Basis::ComplaintId("3".into()))
            ),
            "complaint:3"
        );
        let listed = target(
            "ListAccountability",
            &spb::ListAccountabilityRequest {
                region: "3301".into(),
                department: "market".into(),
                measures: vec![1],
                ..Default::default()
            },
        );
        assert_eq!(listed, "region:3301 department:market");
    }

    #[test]
    fn each_request_names_what_it_is_about() {
        let transition = |id: &str| {
            Some(spb::WarningTransitionInput {
                id: id.into(),
                actor: "someone".into(),
                reason: "a reason".into(),
                attachments: vec!["doc://1".into()],
                office: "3301".into(),
            })
        };
        let record = |case: &str| apb::Record {
            event_id: format!("{case}-e"),
            case_no: case.into(),
            source: "hall".into(),
            ..Default::default()
        };
        let cases = [
            (
                "CloseWarning",
                target(
                    "CloseWarning",
                    &spb::CloseWarningRequest {
                        input: transition("w-17"),
                    },
                ),
                "w-17",
            ),
            (
                "AcknowledgeWarning",
                target(
                    "AcknowledgeWarning",
                    &spb::AcknowledgeWarningRequest {
                        input: transition("w-3"),
                    },
                ),
                "w-3",
            ),
            (
                "GetCase",
                target(
                    "GetCase",
                    &apb::GetCaseRequest {
                        case_no: "C-1".into(),
                        view: 2,
                    },
                ),
                "C-1",
            ),
            (
                "SubmitRecords",
                target(
                    "SubmitRecords",
                    &apb::SubmitRecordsRequest {
                        records: ["C-1", "C-2", "C-3", "C-4", "C-5"].map(record).to_vec(),
                    },
                ),
                "C-1,C-2,C-3 +2",
            ),
            (
                "StreamRecords",
                target(
                    "StreamRecords",
                    &apb::StreamRecordsRequest {
                        record: Some(record("C-9")),
                    },
                ),
                "C-9",
            ),
            (
                "DeleteWebhook",
                target(
                    "DeleteWebhook",
                    &spb::DeleteWebhookRequest { id: "12".into() },
                ),
                "12",
            ),
            (
                "CreateWebhook",
                target(
                    "CreateWebhook",
                    &spb::CreateWebhookRequest {
                        url: "https://user:pw@sms.example:8443/hook?token=secret".into(),
                        secret: "s3cret".into(),
                        ..Default::default()
                    },
                ),
                "sms.example:8443",
            ),
            (
                "UpsertMatters",
                target(
                    "UpsertMatters",
                    &apb::UpsertMattersRequest {
                        matters: vec![apb::Matter {
                            matter_code: "M-1".into(),
                            name: "a matter".into(),
                            ..Default::default()
                        }],
                    },
                ),
                "M-1",
            ),
            (
                "UpdateRuleConfig",
                target(
                    "UpdateRuleConfig",
                    &apb::UpdateRuleConfigRequest {
                        change: Some(apb::update_rule_config_request::Change::Matter(
                            apb::LayerChange {
                                code: "M-1".into(),
                                overrides_json: "{}".into(),
                            },
                        )),
                        expected_version: Some(3),
                    },
                ),
                "matter:M-1",
            ),
            (
                "UpsertDepartments",
                target(
                    "UpsertDepartments",
                    &apb::UpsertDepartmentsRequest {
                        departments: vec![apb::Department {
                            code: "market".into(),
                            name: "市场监管局".into(),
                            region: "3301".into(),
                        }],
                    },
                ),
                "market",
            ),
            (
                "UpsertRegions",
                target(
                    "UpsertRegions",
                    &apb::UpsertRegionsRequest {
                        regions: vec![apb::Region {
                            code: "3301".into(),
                            name: "杭州市".into(),
                            level: 2,
                            parent: "33".into(),
                        }],
                    },
                ),
                "3301",
            ),
            (
                "ListWarnings",
                target(
                    "ListWarnings",
                    &spb::ListWarningsRequest {
                        department: "market".into(),
                        levels: vec![1, 2],
                        case_no: "C-1".into(),
                        rules: vec![3],
                        ..Default::default()
                    },
                ),
                "department:market case:C-1",
            ),
            (
                "StreamWarnings",
                target(
                    "StreamWarnings",
                    &spb::StreamWarningsRequest {
                        region: "3301".into(),
                        after: "w1.2".into(),
                        office: "330106".into(),
                        ..Default::default()
                    },
                ),
                "region:3301 office:330106",
            ),
            (
                "ClosePeriod",
                target(
                    "ClosePeriod",
                    &spb::ClosePeriodRequest {
                        period: "2024-03".into(),
                        actor: "x".into(),
                        reason: "month end".into(),
                    },
                ),
                "2024-03",
            ),
            (
                "GetRanking",
                target(
                    "GetRanking",
                    &spb::GetRankingRequest {
                        period: "2024".into(),
                        region: "3301".into(),
                    },
                ),
                "2024 region:3301",
            ),
            (
                "ListWebhookDeliveries",
                target(
                    "ListWebhookDeliveries",
                    &spb::ListWebhookDeliveriesRequest {
                        webhook_id: "7".into(),
                        states: vec![1],
                        page_size: 10,
                        ..Default::default()
                    },
                ),
                "7",
            ),
            (
                "SignIn",
                target(
                    "SignIn",
                    &xpb::SignInRequest {
                        name: "zhang.wei".into(),
                        password: "never in the log".into(),
                    },
                ),
                "zhang.wei",
            ),
        ];
        for (method, got, expected) in cases {
            assert_eq!(got, expected, "{method}");
        }
    }

    #[test]
    fn an_undecodable_or_unknown_request_has_no_target() {
        assert_eq!(of("CloseWarning", &[0xff, 0xff, 0xff]), "");
        assert_eq!(of("NoSuchRpc", b""), "");
    }
}
