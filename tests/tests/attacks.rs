//! The attacks of issue 12 that authentication and authorization answer, each now refused
//! (docs/design.md "Trust"), over real gRPC on both databases; and the limits per credential.

#[path = "support/world.rs"]
#[allow(dead_code)]
mod support;

use std::time::Duration;

use egov_approval::testing::fixtures::{matter, record};
use egov_platform::testing::{connect, credential};
use egov_platform::{Limits, TrustSettings};
use egov_proto::approval::v1 as apb;
use egov_proto::approval::v1::approval_service_client::ApprovalServiceClient;
use egov_proto::supervision::v1 as spb;
use egov_proto::supervision::v1::scores_service_client::ScoresServiceClient;
use egov_proto::supervision::v1::supervision_service_client::SupervisionServiceClient;
use egov_runtime::access::{Authed, Principal, Role, Scope};
use egov_store::Backend;
use support::{World, world};
use tonic::Code;
use tonic_types::StatusExt;

fn market_hall() -> Principal {
    Principal {
        id: "hall-market".into(),
        role: Role::ServiceCentre,
        scope: Scope::Departments(vec!["market".into()]),
    }
}

fn inspector(region: &str) -> Principal {
    Principal {
        id: format!("inspector-{region}"),
        role: Role::Supervisor,
        scope: Scope::Region(region.into()),
    }
}

fn clerk() -> Principal {
    Principal {
        id: "clerk-market".into(),
        role: Role::Department,
        scope: Scope::Departments(vec!["market".into()]),
    }
}

async fn as_(w: &World, p: &Principal) -> Authed {
    let token = credential(&w.store, p, None).await;
    connect(w.running.addr, Some(&token)).await
}

fn refused(result: Result<impl std::fmt::Debug, tonic::Status>, code: Code) {
    match result {
        Err(status) => assert_eq!(status.code(), code, "{status:?}"),
        Ok(answer) => panic!("expected {code:?}, answered {answer:?}"),
    }
}

/// Runs `story` on a fresh world of each database.
macro_rules! on_both {
    ($name:ident, $story:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$story(super::Backend::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$story(super::Backend::Postgres).await;
            }
        }
    };
}

async fn forged_refusal_closing_another_departments_case(backend: Backend) {
    let w = world(backend).await;
    let mut hall = ApprovalServiceClient::new(as_(&w, &market_hall()).await);
    let mut refusal = record(
        "C-OUT",
        "C-OUT-forged",
        "2024-04-15 09:10",
        egov_approval::testing::fixtures::acceptance(),
    );
    refusal.source = "attacker".into();
    refusal.body = Some(apb::record::Body::Refusal(apb::Refusal {
        reason: "forged".into(),
        handler: "nobody".into(),
    }));
    refused(
        hall.submit_records(apb::SubmitRecordsRequest {
            records: vec![refusal.clone()],
        })
        .await,
        Code::PermissionDenied,
    );
    let case = w
        .store
        .get_case("C-OUT")
        .await
        .expect("read")
        .expect("case");
    assert_eq!(
        case.records.len(),
        1,
        "the other department's case is untouched"
    );
    // Without any credential, the same record is not even read.
    let mut anonymous = ApprovalServiceClient::new(connect(w.running.addr, None).await);
    refused(
        anonymous
            .submit_records(apb::SubmitRecordsRequest {
                records: vec![refusal],
            })
            .await,
        Code::Unauthenticated,
    );
    // Its own case's record is stored with the hall's identity as its source, whatever it
    // claims.
    let mut own = record(
        "C-IN",
        "C-IN-accept",
        "2024-04-15 09:20",
        egov_approval::testing::fixtures::acceptance(),
    );
    own.source = "attacker".into();
    hall.submit_records(apb::SubmitRecordsRequest { records: vec![own] })
        .await
        .expect("its own case");
    let case = w.store.get_case("C-IN").await.expect("read").expect("case");
    let last = case.records.last().expect("a record");
    assert_eq!(last.source, "hall-market");
    w.running.stop().await;
}
on_both!(
    forged_refusal,
    forged_refusal_closing_another_departments_case
);

async fn catalogue_rules_registry_and_periods_are_for_admins(backend: Backend) {
    let w = world(backend).await;
    let before = w.store.get_matter("M-MKT").await.expect("read");
    for p in [market_hall(), inspector("3301"), clerk()] {
        let channel = as_(&w, &p).await;
        let mut a = ApprovalServiceClient::new(channel.clone());
        refused(
            a.update_rule_config(apb::UpdateRuleConfigRequest {
                change: Some(apb::update_rule_config_request::Change::ConfigJson(
                    r#"{"defaults":{}}"#.into(),
                )),
                expected_version: None,
            })
            .await,
            Code::PermissionDenied,
        );
        refused(
            a.upsert_matters(apb::UpsertMattersRequest {
                matters: vec![matter("M-MKT", "market", 5, 400)],
            })
            .await,
            Code::PermissionDenied,
        );
        refused(
            a.upsert_regions(apb::UpsertRegionsRequest {
                regions: vec![apb::Region {
                    code: "33".into(),
                    name: "renamed".into(),
                    ..Default::default()
                }],
            })
            .await,
            Code::PermissionDenied,
        );
        let mut s = SupervisionServiceClient::new(channel.clone());
        refused(
            s.delete_webhook(spb::DeleteWebhookRequest { id: "1".into() })
                .await,
            Code::PermissionDenied,
        );
        refused(
            s.list_webhooks(spb::ListWebhooksRequest::default()).await,
            Code::PermissionDenied,
        );
        let mut scores = ScoresServiceClient::new(channel);
        refused(
            scores
                .close_period(spb::ClosePeriodRequest {
                    period: "2024-03".into(),
                    ..Default::default()
                })
                .await,
            Code::PermissionDenied,
        );
        refused(
            scores
                .recompute_period(spb::RecomputePeriodRequest {
                    period: "2024-03".into(),
                    ..Default::default()
                })
                .await,
            Code::PermissionDenied,
        );
    }
    let after = w.store.get_matter("M-MKT").await.expect("read");
    assert_eq!(after, before, "the limit stays");
    w.running.stop().await;
}
on_both!(
    admin_only,
    catalogue_rules_registry_and_periods_are_for_admins
);

async fn closing_and_escalating_are_for_the_holding_office(backend: Backend) {
    let w = world(backend).await;
    let input = |office: &str, actor: &str| {
        Some(spb::WarningTransitionInput {
            id: w.warning_in.clone(),
            actor: actor.into(),
            reason: "why".into(),
            office: office.into(),
            ..Default::default()
        })
    };
    // No credential at all.
    let mut anonymous = SupervisionServiceClient::new(connect(w.running.addr, None).await);
    refused(
        anonymous
            .close_warning(spb::CloseWarningRequest {
                input: input("", ""),
            })
            .await,
        Code::Unauthenticated,
    );
    // Another city's office.
    let mut other = SupervisionServiceClient::new(as_(&w, &inspector("3302")).await);
    refused(
        other
            .close_warning(spb::CloseWarningRequest {
                input: input("", "x"),
            })
            .await,
        Code::PermissionDenied,
    );
    // The department may acknowledge, not close.
    let mut clerk = SupervisionServiceClient::new(as_(&w, &clerk()).await);
    refused(
        clerk
            .close_warning(spb::CloseWarningRequest {
                input: input("", "x"),
            })
            .await,
        Code::PermissionDenied,
    );
    // The city's office claiming to be the province's.
    let mut city = SupervisionServiceClient::new(as_(&w, &inspector("3301")).await);
    refused(
        city.escalate_warning(spb::EscalateWarningRequest {
            input: input("33", "x"),
        })
        .await,
        Code::PermissionDenied,
    );
    // Claiming to be "system": the history names the caller.
    let escalated = city
        .escalate_warning(spb::EscalateWarningRequest {
            input: input("", "system"),
        })
        .await
        .expect("its own county's card")
        .into_inner()
        .warning
        .expect("the warning");
    let last = escalated.history.last().expect("history");
    assert_eq!(last.actor, "inspector-3301");
    // No credential may carry the platform's own name.
    let system = Principal {
        id: "system".into(),
        ..inspector("33")
    };
    assert!(
        egov_trust::issue(&w.store, &system, "token", chrono::Utc::now(), None)
            .await
            .is_err()
    );
    w.running.stop().await;
}
on_both!(
    holding_office,
    closing_and_escalating_are_for_the_holding_office
);

async fn reading_is_narrowed_to_the_scope(backend: Backend) {
    let w = world(backend).await;
    let mut hall = ApprovalServiceClient::new(as_(&w, &market_hall()).await);
    // No filter: its own scope.
    let cases = hall
        .list_cases(apb::ListCasesRequest::default())
        .await
        .expect("its own cases")
        .into_inner()
        .cases;
    let numbers: Vec<&str> = cases.iter().map(|c| c.case_no.as_str()).collect();
    assert_eq!(numbers, ["C-IN"]);
    refused(
        hall.list_cases(apb::ListCasesRequest {
            department: "tax".into(),
            ..Default::default()
        })
        .await,
        Code::PermissionDenied,
    );
    refused(
        hall.get_case(apb::GetCaseRequest {
            case_no: "C-OUT".into(),
            ..Default::default()
        })
        .await,
        Code::PermissionDenied,
    );
    let mut city = ApprovalServiceClient::new(as_(&w, &inspector("3301")).await);
    refused(
        city.list_cases(apb::ListCasesRequest {
            region: "33".into(),
            ..Default::default()
        })
        .await,
        Code::PermissionDenied,
    );
    // The whole record log: only its subtree's records.
    refused(
        city.follow_records(apb::FollowRecordsRequest {
            region: "3302".into(),
            until_caught_up: true,
            ..Default::default()
        })
        .await,
        Code::PermissionDenied,
    );
    let mut log = city
        .follow_records(apb::FollowRecordsRequest {
            until_caught_up: true,
            ..Default::default()
        })
        .await
        .expect("its subtree's log")
        .into_inner();
    let mut seen = Vec::new();
    while let Some(m) = log.message().await.expect("the log") {
        seen.extend(m.record.and_then(|stored| stored.record).map(|r| r.case_no));
    }
    assert_eq!(seen, ["C-IN"]);
    // The hall may not follow the log at all.
    refused(
        hall.follow_records(apb::FollowRecordsRequest::default())
            .await,
        Code::PermissionDenied,
    );
    let mut warnings = SupervisionServiceClient::new(as_(&w, &inspector("3301")).await);
    let listed = warnings
        .list_warnings(spb::ListWarningsRequest::default())
        .await
        .expect("its warnings")
        .into_inner()
        .warnings;
    assert!(
        listed.iter().all(|x| x.region.starts_with("3301")),
        "{listed:?}"
    );
    refused(
        warnings
            .get_warning(spb::GetWarningRequest {
                id: w.warning_out.clone(),
            })
            .await,
        Code::PermissionDenied,
    );
    w.running.stop().await;
}
on_both!(narrowed, reading_is_narrowed_to_the_scope);

async fn one_credential_cannot_take_everything(backend: Backend) {
    // A bare platform: the world's own set-up would run the small bucket dry.
    let store = egov_platform::testing::fresh_store(backend).await;
    let clock = egov_runtime::clock::ManualClock::new(chrono::Utc::now());
    let running = egov_platform::testing::Running::start(egov_platform::Settings {
        trust: TrustSettings {
            limits: Limits {
                rate: 0.5,
                burst: 3.0,
                streams: 1,
            },
            ..TrustSettings::default()
        },
        ..egov_platform::testing::settings(egov_platform::Serve::Both, store.clone(), &clock)
    })
    .await;
    let as_ = |p: Principal| {
        let (store, addr) = (store.clone(), running.addr);
        async move { connect(addr, Some(&credential(&store, &p, None).await)).await }
    };
    let channel = as_(inspector("3301")).await;
    let mut a = ApprovalServiceClient::new(channel.clone());
    let mut last = None;
    for _ in 0..5 {
        if let Err(status) = a.list_regions(apb::ListRegionsRequest::default()).await {
            last = Some(status);
            break;
        }
    }
    let status = last.expect("the bucket runs dry");
    assert_eq!(status.code(), Code::ResourceExhausted);
    let retry = status
        .get_details_retry_info()
        .and_then(|r| r.retry_delay)
        .expect("a retry delay");
    assert!(retry > Duration::ZERO);
    // Another credential is served meanwhile.
    let mut other = ApprovalServiceClient::new(as_(clerk()).await);
    other
        .list_regions(apb::ListRegionsRequest::default())
        .await
        .expect("another client is not starved");
    // One stream at a time per credential.
    let mut s = SupervisionServiceClient::new(as_(clerk()).await);
    let _open = s
        .stream_warnings(spb::StreamWarningsRequest::default())
        .await
        .expect("the first stream");
    refused(
        s.stream_warnings(spb::StreamWarningsRequest::default())
            .await,
        Code::ResourceExhausted,
    );
    running.stop().await;
}
on_both!(limits, one_credential_cannot_take_everything);

/// A JWT of the city's identity provider, signed by `secret` (an HS256 key of its JWKS).
fn jwt(secret: &[u8], claims: serde_json::Value) -> String {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = Some("k1".into());
    jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
    .expect("a token")
}

async fn people_sign_in_with_the_identity_providers_jwts(backend: Backend) {
    use base64::Engine as _;
    let secret = b"the provider's key, 32 bytes at least";
    let jwks = serde_json::json!({"keys": [{
        "kty": "oct", "kid": "k1", "alg": "HS256",
        "k": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret),
    }]});
    let provider =
        egov_trust::JwtSettings::from_jwks("https://idp.city.example", "egov", &jwks.to_string())
            .expect("a JWKS");
    let store = egov_platform::testing::fresh_store(backend).await;
    let clock = egov_runtime::clock::ManualClock::new(chrono::Utc::now());
    let running = egov_platform::testing::Running::start(egov_platform::Settings {
        trust: TrustSettings {
            jwt: Some(provider),
            ..TrustSettings::default()
        },
        ..egov_platform::testing::settings(egov_platform::Serve::Both, store.clone(), &clock)
    })
    .await;
    let in_an_hour = chrono::Utc::now().timestamp() + 3600;
    let claims = |iss: &str, aud: &str, exp: i64, role: &str, scope: &str| {
        serde_json::json!({
            "iss": iss, "aud": aud, "exp": exp, "sub": "wang.li",
            "egov_role": role, "egov_scope": scope,
        })
    };
    let list = |token: String| {
        let addr = running.addr;
        async move {
            let mut s = SupervisionServiceClient::new(connect(addr, Some(&token)).await);
            s.list_warnings(spb::ListWarningsRequest::default()).await
        }
    };
    let good = jwt(
        secret,
        claims(
            "https://idp.city.example",
            "egov",
            in_an_hour,
            "supervisor",
            "region:3301",
        ),
    );
    list(good)
        .await
        .expect("a supervisor signed in at the provider");
    for (why, token) in [
        (
            "another issuer",
            jwt(
                secret,
                claims(
                    "https://evil.example",
                    "egov",
                    in_an_hour,
                    "supervisor",
                    "region:3301",
                ),
            ),
        ),
        (
            "another audience",
            jwt(
                secret,
                claims(
                    "https://idp.city.example",
                    "other",
                    in_an_hour,
                    "supervisor",
                    "region:3301",
                ),
            ),
        ),
        (
            "expired",
            jwt(
                secret,
                claims(
                    "https://idp.city.example",
                    "egov",
                    in_an_hour - 7200,
                    "supervisor",
                    "region:3301",
                ),
            ),
        ),
        (
            "another key",
            jwt(
                b"not the provider's key, but as long",
                claims(
                    "https://idp.city.example",
                    "egov",
                    in_an_hour,
                    "supervisor",
                    "region:3301",
                ),
            ),
        ),
        (
            "an admin's role with a region's scope",
            jwt(
                secret,
                claims(
                    "https://idp.city.example",
                    "egov",
                    in_an_hour,
                    "admin",
                    "region:3301",
                ),
            ),
        ),
    ] {
        refused(
            list(token).await.map_err(|s| {
                assert!(s.message().contains("identity token"), "{why}: {s:?}");
                s
            }),
            Code::Unauthenticated,
        );
    }
    // An analyst of the provider may not list warnings.
    let analyst = jwt(
        secret,
        claims(
            "https://idp.city.example",
            "egov",
            in_an_hour,
            "analyst",
            "region:3301",
        ),
    );
    refused(list(analyst).await, Code::PermissionDenied);
    running.stop().await;
}
on_both!(
    identity_provider,
    people_sign_in_with_the_identity_providers_jwts
);
