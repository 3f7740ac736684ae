//! Who may do what (docs/design.md §4a and "Trust"), over real gRPC on both databases: every
//! RPC of both platforms as every role, in and out of its scope, anonymous, with an expired
//! and with a revoked credential, checking the exact code; the policy covers every RPC; and
//! each attack of issue 12 that authorization answers is refused.

#[path = "support/world.rs"]
mod support;

use chrono::{Duration, Utc};
use egov_approval::testing::fixtures::{application, matter, record};
use egov_platform::testing::{admin, connect, credential};
use egov_proto::access::v1 as xpb;
use egov_proto::access::v1::access_service_client::AccessServiceClient;
use egov_proto::approval::v1 as apb;
use egov_proto::approval::v1::approval_service_client::ApprovalServiceClient;
use egov_proto::supervision::v1 as spb;
use egov_proto::supervision::v1::accountability_service_client::AccountabilityServiceClient;
use egov_proto::supervision::v1::complaints_service_client::ComplaintsServiceClient;
use egov_proto::supervision::v1::scores_service_client::ScoresServiceClient;
use egov_proto::supervision::v1::supervision_service_client::SupervisionServiceClient;
use egov_runtime::access::{Authed, Principal, Role, Scope};
use egov_store::Backend;
use prost::Message;
use support::{World, world};
use tonic::Code;

/// Every RPC's method name, from the services' descriptors.
fn methods() -> Vec<String> {
    let set = prost_types::FileDescriptorSet::decode(egov_proto::FILE_DESCRIPTOR_SET)
        .expect("the descriptors decode");
    set.file
        .iter()
        .filter(|f| f.package().starts_with("egov."))
        .flat_map(|f| &f.service)
        .flat_map(|s| &s.method)
        .map(|m| m.name().to_owned())
        .collect()
}

#[test]
fn the_policy_names_every_rpc_and_nothing_else() {
    let policy = egov_trust::Policy::builtin();
    let mut actions: Vec<String> = policy.actions().map(str::to_owned).collect();
    let mut rpcs = methods();
    assert_eq!(rpcs.len(), 44);
    // And the operators' probes every server also serves: grpc.health.v1, reflection.
    rpcs.extend(["Check", "Watch", "ServerReflectionInfo"].map(str::to_owned));
    actions.sort();
    rpcs.sort();
    assert_eq!(
        actions, rpcs,
        "deploy/policy.cedarschema's actions are the RPCs and the probes"
    );
}

#[test]
fn only_signing_in_and_the_probes_are_open_without_a_credential() {
    let policy = egov_trust::Policy::builtin();
    let mut open: Vec<&str> = policy
        .actions()
        .filter(|a| policy.allows_anonymous(a))
        .collect();
    open.sort_unstable();
    assert_eq!(
        open,
        [
            "Check",
            "FileComplaint",
            "ServerReflectionInfo",
            "SignIn",
            "Watch"
        ]
    );
}

/// Calls `method` on `channel`, at the in-scope or the out-of-scope target.
async fn call(
    w: &World,
    channel: &Authed,
    method: &str,
    inside: bool,
) -> Result<(), tonic::Status> {
    let mut a = ApprovalServiceClient::new(channel.clone());
    let mut s = SupervisionServiceClient::new(channel.clone());
    let mut sc = ScoresServiceClient::new(channel.clone());
    let mut cc = ComplaintsServiceClient::new(channel.clone());
    let mut ac = AccountabilityServiceClient::new(channel.clone());
    let (department, region, county, case, warning) = if inside {
        ("market", "3301", "330106", "C-IN", &w.warning_in)
    } else {
        ("tax", "3302", "330201", "C-OUT", &w.warning_out)
    };
    let complaint = if inside {
        w.complaint_in.clone()
    } else {
        w.complaint_out.clone()
    };
    let matter_code = if inside { "M-MKT" } else { "M-TAX" };
    let fresh = format!("N-{}", uuid_ish());
    let new_case = record(
        &fresh,
        &format!("{fresh}-a"),
        "2024-04-15 09:30",
        application(matter_code, department, county),
    );
    let transition = Some(spb::WarningTransitionInput {
        id: warning.clone(),
        actor: "whoever".into(),
        reason: "because".into(),
        ..Default::default()
    });
    match method {
        "UpsertMatters" => a
            .upsert_matters(apb::UpsertMattersRequest {
                matters: vec![matter(matter_code, department, 5, 20)],
            })
            .await
            .map(ok),
        "GetMatter" => a
            .get_matter(apb::GetMatterRequest {
                matter_code: matter_code.into(),
            })
            .await
            .map(ok),
        "ListMatters" => a
            .list_matters(apb::ListMattersRequest::default())
            .await
            .map(ok),
        "ListMatterVersions" => a
            .list_matter_versions(apb::ListMatterVersionsRequest {
                matter_code: matter_code.into(),
            })
            .await
            .map(ok),
        "SubmitRecords" => a
            .submit_records(apb::SubmitRecordsRequest {
                records: vec![new_case],
            })
            .await
            .map(ok),
        "StreamRecords" => {
            let request = apb::StreamRecordsRequest {
                record: Some(new_case),
            };
            let mut answers = a
                .stream_records(tokio_stream::iter(vec![request]))
                .await?
                .into_inner();
            answers.message().await.map(ok)
        }
        "GetCase" => a
            .get_case(apb::GetCaseRequest {
                case_no: case.into(),
                ..Default::default()
            })
            .await
            .map(ok),
        "ListCases" => a
            .list_cases(apb::ListCasesRequest {
                department: department.into(),
                region: region.into(),
                ..Default::default()
            })
            .await
            .map(ok),
        "FollowRecords" => a
            .follow_records(apb::FollowRecordsRequest {
                until_caught_up: true,
                department: department.into(),
                region: region.into(),
                ..Default::default()
            })
            .await
            .map(ok),
        "GetRuleConfig" => a
            .get_rule_config(apb::GetRuleConfigRequest {})
            .await
            .map(ok),
        "UpdateRuleConfig" => a
            .update_rule_config(apb::UpdateRuleConfigRequest {
                change: Some(apb::update_rule_config_request::Change::ConfigJson(
                    w.rules_json.clone(),
                )),
                expected_version: None,
            })
            .await
            .map(ok),
        "UpsertRegions" => a
            .upsert_regions(apb::UpsertRegionsRequest {
                regions: vec![apb::Region {
                    code: "33".into(),
                    name: "浙江省".into(),
                    ..Default::default()
                }],
            })
            .await
            .map(ok),
        "ListRegions" => a
            .list_regions(apb::ListRegionsRequest::default())
            .await
            .map(ok),
        "UpsertDepartments" => a
            .upsert_departments(apb::UpsertDepartmentsRequest {
                departments: vec![apb::Department {
                    code: department.into(),
                    name: department.into(),
                    region: region.into(),
                }],
            })
            .await
            .map(ok),
        "ListDepartments" => a
            .list_departments(apb::ListDepartmentsRequest::default())
            .await
            .map(ok),
        "StreamWarnings" => s
            .stream_warnings(spb::StreamWarningsRequest {
                department: department.into(),
                region: region.into(),
                ..Default::default()
            })
            .await
            .map(ok),
        "ListWarnings" => s
            .list_warnings(spb::ListWarningsRequest {
                department: department.into(),
                region: region.into(),
                ..Default::default()
            })
            .await
            .map(ok),
        "GetWarning" => s
            .get_warning(spb::GetWarningRequest {
                id: warning.clone(),
            })
            .await
            .map(ok),
        "AcknowledgeWarning" => s
            .acknowledge_warning(spb::AcknowledgeWarningRequest { input: transition })
            .await
            .map(ok),
        "AnswerWarning" => s
            .answer_warning(spb::AnswerWarningRequest { input: transition })
            .await
            .map(ok),
        "CloseWarning" => s
            .close_warning(spb::CloseWarningRequest { input: transition })
            .await
            .map(ok),
        "EscalateWarning" => s
            .escalate_warning(spb::EscalateWarningRequest { input: transition })
            .await
            .map(ok),
        "CreateWebhook" => s
            .create_webhook(spb::CreateWebhookRequest {
                url: "http://receiver.example/hook".into(),
                secret: "s3cret-s3cret-s3cret".into(),
                ..Default::default()
            })
            .await
            .map(ok),
        "ListWebhooks" => s
            .list_webhooks(spb::ListWebhooksRequest::default())
            .await
            .map(ok),
        "DeleteWebhook" => s
            .delete_webhook(spb::DeleteWebhookRequest { id: "999".into() })
            .await
            .map(ok),
        "ListWebhookDeliveries" => s
            .list_webhook_deliveries(spb::ListWebhookDeliveriesRequest {
                webhook_id: w.hook.clone(),
                ..Default::default()
            })
            .await
            .map(ok),
        "GetScores" => sc
            .get_scores(spb::GetScoresRequest {
                period: "2024-03".into(),
                region: region.into(),
            })
            .await
            .map(ok),
        "GetRanking" => sc
            .get_ranking(spb::GetRankingRequest {
                period: "2024-03".into(),
                region: region.into(),
            })
            .await
            .map(ok),
        "GetDepartmentIndicators" => sc
            .get_department_indicators(spb::GetDepartmentIndicatorsRequest {
                department: department.into(),
                first_period: "2024-01".into(),
                to: "2024-03".into(),
                ..Default::default()
            })
            .await
            .map(ok),
        "GetCatalogueStats" => sc
            .get_catalogue_stats(spb::GetCatalogueStatsRequest {
                department: department.into(),
            })
            .await
            .map(ok),
        "ClosePeriod" => sc
            .close_period(spb::ClosePeriodRequest {
                period: "2024-03".into(),
                ..Default::default()
            })
            .await
            .map(ok),
        "RecomputePeriod" => sc
            .recompute_period(spb::RecomputePeriodRequest {
                period: "2024-03".into(),
                ..Default::default()
            })
            .await
            .map(ok),
        "ListPeriodVersions" => sc
            .list_period_versions(spb::ListPeriodVersionsRequest {
                period: "2024-03".into(),
            })
            .await
            .map(ok),
        // The world's account, whose password every caller may know: signing in is open.
        "SignIn" => AccessServiceClient::new(channel.clone())
            .sign_in(xpb::SignInRequest {
                name: SIGNER.into(),
                password: SIGNER_PASSWORD.into(),
            })
            .await
            .map(ok),
        "FileComplaint" => cc
            .file_complaint(spb::FileComplaintRequest {
                subject: department.into(),
                subject_kind: spb::ComplaintSubject::Department.into(),
                summary: "kept waiting".into(),
                ..Default::default()
            })
            .await
            .map(ok),
        "GetComplaint" => cc
            .get_complaint(spb::GetComplaintRequest { id: complaint })
            .await
            .map(ok),
        "ListComplaints" => cc
            .list_complaints(spb::ListComplaintsRequest {
                department: department.into(),
                office: region.into(),
                ..Default::default()
            })
            .await
            .map(ok),
        "DecideComplaint" => cc
            .decide_complaint(spb::DecideComplaintRequest {
                id: complaint,
                accept: false,
                reason: "not ours".into(),
            })
            .await
            .map(ok),
        "ForwardComplaint" => cc
            .forward_complaint(spb::ForwardComplaintRequest {
                id: complaint,
                ..Default::default()
            })
            .await
            .map(ok),
        "ReportComplaint" => cc
            .report_complaint(spb::ReportComplaintRequest {
                id: complaint,
                report: "refunded".into(),
            })
            .await
            .map(ok),
        "CloseComplaint" => cc
            .close_complaint(spb::CloseComplaintRequest {
                id: complaint,
                outcome: spb::ComplaintOutcome::Substantiated.into(),
                ..Default::default()
            })
            .await
            .map(ok),
        "RecordComplaintFeedback" => cc
            .record_complaint_feedback(spb::RecordComplaintFeedbackRequest {
                id: complaint,
                satisfied: true,
                ..Default::default()
            })
            .await
            .map(ok),
        "RecordAccountability" => ac
            .record_accountability(spb::RecordAccountabilityRequest {
                basis: Some(spb::record_accountability_request::Basis::WarningId(
                    warning.clone(),
                )),
                measure: spb::AccountabilityMeasure::AdmonitionTalk.into(),
                // A valid day in the past: the policy, not a field, decides out of scope.
                decided_on: "2000-01-03".into(),
                grounds: "left unanswered".into(),
                ..Default::default()
            })
            .await
            .map(ok),
        "ListAccountability" => ac
            .list_accountability(spb::ListAccountabilityRequest {
                department: department.into(),
                region: region.into(),
                ..Default::default()
            })
            .await
            .map(ok),
        other => panic!("no call for {other}: add it to this table"),
    }
}

/// The account `SignIn` signs in to.
const SIGNER: &str = "signer.hz";
const SIGNER_PASSWORD: &str = "a password long enough";

/// Drops a call's answer: the code is what counts here.
fn ok<T>(_: T) {}

/// A case number no other call used.
fn uuid_ish() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!("{:06}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// What a call must answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Allowed: OK for a read; for a write not refused (it may break a business rule, such
    /// as closing a card twice, which is the workflow's answer, not the policy's).
    Allowed,
    Denied,
}

/// The reference data every signed-in principal reads, and signing in and filing a
/// complaint, open to everyone.
const REFERENCE: [&str; 8] = [
    "SignIn",
    "FileComplaint",
    "GetMatter",
    "ListMatters",
    "ListMatterVersions",
    "GetRuleConfig",
    "ListRegions",
    "ListDepartments",
];

/// The RPCs each role may call on its own scope (docs/design.md §4a); everything else it is
/// refused, and the same calls aimed outside its scope too.
fn scoped(role: Role) -> &'static [&'static str] {
    match role {
        Role::Admin => &[],
        Role::ServiceCentre => &["SubmitRecords", "StreamRecords", "GetCase", "ListCases"],
        Role::Department => &[
            "GetCase",
            "ListCases",
            "ListWarnings",
            "GetWarning",
            "StreamWarnings",
            "AcknowledgeWarning",
            "AnswerWarning",
            "GetDepartmentIndicators",
            "GetCatalogueStats",
            "GetComplaint",
            "ListComplaints",
            "ReportComplaint",
            "ListAccountability",
        ],
        Role::Supervisor => &[
            "GetCase",
            "ListCases",
            "FollowRecords",
            "ListWarnings",
            "GetWarning",
            "StreamWarnings",
            "CloseWarning",
            "EscalateWarning",
            "GetScores",
            "GetRanking",
            "GetDepartmentIndicators",
            "GetCatalogueStats",
            "ListPeriodVersions",
            "GetComplaint",
            "ListComplaints",
            "DecideComplaint",
            "ForwardComplaint",
            "CloseComplaint",
            "RecordComplaintFeedback",
            "RecordAccountability",
            "ListAccountability",
        ],
        Role::Analyst => &[
            "GetScores",
            "GetRanking",
            "GetDepartmentIndicators",
            "GetCatalogueStats",
            "ListPeriodVersions",
            "ListAccountability",
        ],
    }
}

/// Calls that name no target: the same whether "in" or "out" of scope.
const UNSCOPED: [&str; 1] = ["ListPeriodVersions"];

fn expect(role: Role, method: &str, inside: bool) -> Expect {
    if role == Role::Admin || REFERENCE.contains(&method) {
        return Expect::Allowed;
    }
    if scoped(role).contains(&method) && (inside || UNSCOPED.contains(&method)) {
        Expect::Allowed
    } else {
        Expect::Denied
    }
}

fn reads_only(method: &str) -> bool {
    method.starts_with("Get")
        || method.starts_with("List")
        || method == "StreamWarnings"
        || method == "FollowRecords"
}

fn principal(id: &str, role: Role, scope: Scope) -> Principal {
    Principal {
        id: id.into(),
        role,
        scope,
    }
}

async fn every_rpc_as_every_role(backend: Backend) {
    let w = world(backend).await;
    egov_trust::accounts::create_account(
        &w.store,
        SIGNER,
        "analyst",
        "region:3301",
        SIGNER_PASSWORD,
        Utc::now(),
    )
    .await
    .expect("the account");
    let market = || Scope::Departments(vec!["market".into()]);
    let city = || Scope::Region("3301".into());
    // The admin last: its moves (an escalation) would take the in-scope card out of the
    // supervisor's office.
    let roles = [
        principal("hall-3301", Role::ServiceCentre, market()),
        principal("clerk", Role::Department, market()),
        principal("inspector", Role::Supervisor, city()),
        principal("leader", Role::Analyst, city()),
        principal("operator", Role::Admin, Scope::All),
    ];
    let mut failures = Vec::new();
    for p in &roles {
        let token = credential(&w.store, p, None).await;
        let channel = connect(w.running.addr, Some(&token)).await;
        for method in methods() {
            for inside in [true, false] {
                let got = call(&w, &channel, &method, inside).await;
                let code = got.as_ref().err().map_or(Code::Ok, tonic::Status::code);
                let fine = match expect(p.role, &method, inside) {
                    Expect::Allowed if reads_only(&method) => code == Code::Ok,
                    Expect::Allowed => !matches!(
                        code,
                        Code::PermissionDenied | Code::Unauthenticated | Code::ResourceExhausted
                    ),
                    Expect::Denied => code == Code::PermissionDenied,
                };
                if !fine {
                    failures.push(format!(
                        "{} {method} {}: {got:?}",
                        p.role,
                        if inside { "in scope" } else { "out of scope" }
                    ));
                }
            }
        }
    }
    // No credential, an expired one, a revoked one: UNAUTHENTICATED, whatever the call, but
    // for signing in without any credential (the policy's one anonymous call).
    let expired = credential(&w.store, &admin(), Some(Utc::now() - Duration::hours(1))).await;
    let revoked = egov_trust::issue(&w.store, &admin(), "token", Utc::now(), None)
        .await
        .expect("a credential");
    w.store
        .revoke_credential(&revoked.id, Utc::now())
        .await
        .expect("revoked");
    for (who, token) in [
        ("anonymous", None),
        ("expired", Some(expired.as_str())),
        ("revoked", Some(revoked.token.as_str())),
        (
            "forged",
            Some("egov_0000000000000000000000000000000000000000000000000000000000000000"),
        ),
    ] {
        let channel = connect(w.running.addr, token).await;
        for method in methods() {
            let got = call(&w, &channel, &method, true).await;
            let expected =
                if who == "anonymous" && (method == "SignIn" || method == "FileComplaint") {
                    None
                } else {
                    Some(Code::Unauthenticated)
                };
            if got.as_ref().err().map(tonic::Status::code) != expected {
                failures.push(format!("{who} {method}: {got:?}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} wrong answers:\n{}",
        failures.len(),
        failures.join("\n")
    );
    let _ = &w.clock;
    w.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rpc_as_every_role_sqlite() {
    every_rpc_as_every_role(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rpc_as_every_role_postgres() {
    every_rpc_as_every_role(Backend::Postgres).await;
}
