//! Local accounts (issue 12, docs/design.md §8) over real gRPC on both databases: an account
//! signs in to a short-lived token that works with its role's scope; a wrong password, an
//! unknown name and a disabled account answer alike; failed attempts are limited per account;
//! a disabled account's token stops working; and the audit log names what each act is about
//! (its `target`).

// Some of the world (its clock, rules, hook) is for the other access tests.
#[allow(dead_code)]
#[path = "support/world.rs"]
mod support;

use std::time::Duration;

use chrono::Utc;
use egov_platform::TrustSettings;
use egov_platform::testing::connect;
use egov_proto::access::v1 as xpb;
use egov_proto::access::v1::access_service_client::AccessServiceClient;
use egov_proto::approval::v1 as apb;
use egov_proto::approval::v1::approval_service_client::ApprovalServiceClient;
use egov_proto::supervision::v1 as spb;
use egov_proto::supervision::v1::supervision_service_client::SupervisionServiceClient;
use egov_store::audit::AuditFilter;
use egov_store::{Backend, Page};
use support::{World, world_with};
use tonic::Code;

const PASSWORD: &str = "西湖 inspector's long password";

/// The world with credential lookups trusted for a short while, so a revocation shows soon.
async fn world(backend: Backend) -> World {
    world_with(
        backend,
        TrustSettings {
            credential_cache: Duration::from_millis(200),
            ..TrustSettings::default()
        },
    )
    .await
}

async fn sign_in(
    w: &World,
    name: &str,
    password: &str,
) -> Result<xpb::SignInResponse, tonic::Status> {
    AccessServiceClient::new(connect(w.running.addr, None).await)
        .sign_in(xpb::SignInRequest {
            name: name.into(),
            password: password.into(),
        })
        .await
        .map(tonic::Response::into_inner)
}

async fn list_warnings(w: &World, token: &str, region: &str) -> Result<usize, tonic::Status> {
    SupervisionServiceClient::new(connect(w.running.addr, Some(token)).await)
        .list_warnings(spb::ListWarningsRequest {
            region: region.into(),
            ..Default::default()
        })
        .await
        .map(|r| r.into_inner().warnings.len())
}

async fn accounts_sign_in_to_their_scope(backend: Backend) {
    let w = world(backend).await;
    egov_trust::accounts::create_account(
        &w.store,
        "inspector.hz",
        "supervisor",
        "region:3301",
        PASSWORD,
        Utc::now(),
    )
    .await
    .expect("the account");
    let session = sign_in(&w, "inspector.hz", PASSWORD)
        .await
        .expect("signed in");
    assert_eq!(
        (
            session.principal.as_str(),
            session.role.as_str(),
            session.scope.as_str()
        ),
        ("inspector.hz", "supervisor", "region:3301")
    );
    assert!(session.token.starts_with("egov_"));
    // Short-lived: 8 hours by default, by the wall clock.
    let expires = session.expires_at.expect("an expiry").seconds;
    let hours = (expires - Utc::now().timestamp()) as f64 / 3600.0;
    assert!((7.9..=8.0).contains(&hours), "{hours} hours");
    // Its role's scope: its city's warnings, not another city's; no catalogue changes.
    assert_eq!(
        list_warnings(&w, &session.token, "3301")
            .await
            .expect("its city's"),
        1
    );
    assert_eq!(
        list_warnings(&w, &session.token, "3302")
            .await
            .expect_err("another city")
            .code(),
        Code::PermissionDenied
    );
    let upsert = ApprovalServiceClient::new(connect(w.running.addr, Some(&session.token)).await)
        .upsert_regions(apb::UpsertRegionsRequest {
            regions: vec![apb::Region {
                code: "3303".into(),
                name: "温州市".into(),
                ..Default::default()
            }],
        })
        .await;
    assert_eq!(
        upsert.expect_err("an admin's").code(),
        Code::PermissionDenied
    );
    // The session is a credential of kind "session", listed with the tokens.
    let listed = w.store.list_credentials().await.expect("credentials");
    assert!(
        listed
            .iter()
            .any(|c| c.id == session.credential_id && c.kind == "session"),
        "{listed:?}"
    );
    w.running.stop().await;
}

async fn wrong_unknown_and_disabled_answer_alike(backend: Backend) {
    let w = world(backend).await;
    for (name, role, scope) in [
        ("clerk.market", "department", "departments:market"),
        ("leader.hz", "analyst", "region:3301"),
    ] {
        egov_trust::accounts::create_account(&w.store, name, role, scope, PASSWORD, Utc::now())
            .await
            .expect("the account");
    }
    let token = sign_in(&w, "clerk.market", PASSWORD)
        .await
        .expect("signed in")
        .token;
    assert_eq!(
        list_warnings(&w, &token, "").await.expect("its warnings"),
        1
    );
    w.store
        .disable_account("clerk.market", Utc::now())
        .await
        .expect("disabled");
    let wrong = sign_in(&w, "leader.hz", "not the password at all")
        .await
        .expect_err("a wrong password");
    let unknown = sign_in(&w, "nobody.at.all", PASSWORD)
        .await
        .expect_err("an unknown name");
    let disabled = sign_in(&w, "clerk.market", PASSWORD)
        .await
        .expect_err("a disabled account");
    for status in [&wrong, &unknown, &disabled] {
        assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
        assert_eq!(
            status.message(),
            wrong.message(),
            "nothing tells them apart"
        );
    }
    // The disabled account's token stops working (its sessions were revoked with it), within
    // the short while a credential lookup is trusted.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        match list_warnings(&w, &token, "").await {
            Err(status) if status.code() == Code::Unauthenticated => break,
            other => {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "the disabled account's token still works: {other:?}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    // Failed attempts are limited per account: after 5 (one above), even the right password
    // waits, with a retry delay; another account is not affected.
    for _ in 1..egov_trust::accounts::MAX_FAILURES {
        let status = sign_in(&w, "leader.hz", "still not it")
            .await
            .expect_err("wrong");
        assert_eq!(status.code(), Code::Unauthenticated);
    }
    let limited = sign_in(&w, "leader.hz", PASSWORD)
        .await
        .expect_err("limited");
    assert_eq!(limited.code(), Code::ResourceExhausted, "{limited:?}");
    let details = tonic_types::StatusExt::get_error_details(&limited);
    assert!(details.retry_info().is_some(), "a retry delay");
    egov_trust::accounts::create_account(
        &w.store,
        "other.hz",
        "analyst",
        "region:3301",
        PASSWORD,
        Utc::now(),
    )
    .await
    .expect("the account");
    sign_in(&w, "other.hz", PASSWORD)
        .await
        .expect("not limited");
    w.running.stop().await;
}

/// Issue 12 item 4: every audited act names its target: the warning a workflow move is
/// about, the matter changed, the period closed, the account signing in.
async fn the_audit_log_names_each_acts_target(backend: Backend) {
    let w = world(backend).await;
    egov_trust::accounts::create_account(
        &w.store,
        "inspector.hz",
        "supervisor",
        "region:3301",
        PASSWORD,
        Utc::now(),
    )
    .await
    .expect("the account");
    let _ = sign_in(&w, "inspector.hz", "a wrong password here").await;
    let token = sign_in(&w, "inspector.hz", PASSWORD)
        .await
        .expect("signed in")
        .token;
    let mut s = SupervisionServiceClient::new(connect(w.running.addr, Some(&token)).await);
    let input = |id: &str| {
        Some(spb::WarningTransitionInput {
            id: id.into(),
            reason: "seen".into(),
            ..Default::default()
        })
    };
    // Allowed (it may fail the workflow's rules: audited either way) and refused.
    let _ = s
        .close_warning(spb::CloseWarningRequest {
            input: input(&w.warning_in),
        })
        .await;
    let refused = s
        .escalate_warning(spb::EscalateWarningRequest {
            input: input(&w.warning_out),
        })
        .await
        .expect_err("another city's card");
    assert_eq!(refused.code(), Code::PermissionDenied);
    let mut a = ApprovalServiceClient::new(connect(w.running.addr, Some(&token)).await);
    let _ = a
        .get_case(apb::GetCaseRequest {
            case_no: "C-OUT".into(),
            ..Default::default()
        })
        .await
        .expect_err("another city's case");
    let (rows, _) = w
        .store
        .list_audit(&AuditFilter::default(), Page::first(1000))
        .await
        .expect("the audit log");
    let seen: Vec<(String, String, String, String)> = rows
        .iter()
        .map(|r| {
            (
                r.principal.clone(),
                r.action.rsplit('/').next().unwrap_or_default().to_owned(),
                r.target.clone(),
                r.outcome.clone(),
            )
        })
        .collect();
    let has = |principal: &str, action: &str, target: &str, outcome: Option<&str>| {
        seen.iter().any(|(p, a, t, o)| {
            p == principal && a == action && t == target && outcome.is_none_or(|x| x == o)
        })
    };
    let expected = [
        ("test-admin", "UpsertMatters", "M-MKT,M-TAX", Some("OK")),
        ("test-admin", "SubmitRecords", "C-IN,C-OUT", Some("OK")),
        (
            "test-admin",
            "UpsertRegions",
            "33,3301,330106 +2",
            Some("OK"),
        ),
        (
            "anonymous",
            "SignIn",
            "inspector.hz",
            Some("UNAUTHENTICATED"),
        ),
        ("anonymous", "SignIn", "inspector.hz", Some("OK")),
        ("inspector.hz", "CloseWarning", w.warning_in.as_str(), None),
        (
            "inspector.hz",
            "EscalateWarning",
            w.warning_out.as_str(),
            Some("PERMISSION_DENIED"),
        ),
        (
            "inspector.hz",
            "GetCase",
            "C-OUT",
            Some("PERMISSION_DENIED"),
        ),
    ];
    for (principal, action, target, outcome) in expected {
        assert!(
            has(principal, action, target, outcome),
            "no {principal} {action} {target} {outcome:?} in {seen:#?}"
        );
    }
    // A password is never in the log.
    assert!(!seen.iter().any(|(_, _, t, _)| t.contains("password")));
    w.running.stop().await;
}

macro_rules! on_both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(egov_store::Backend::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(egov_store::Backend::Postgres).await;
            }
        }
    )*};
}

on_both!(
    accounts_sign_in_to_their_scope,
    wrong_unknown_and_disabled_answer_alike,
    the_audit_log_names_each_acts_target,
);
