//! Accountability end to end (docs/design.md §3.4), over real gRPC through the front hall on
//! both databases, on the injected clock: a red card is raised in March; the office of its
//! county records a removal from post in April, which appears in the register (and only under
//! the filters that match it), is audited, and costs the department the configured points in
//! April's score and nothing in March's; an office of another county is refused, a yellow card
//! is no grounds, the same decision twice is refused; with the measure configured 0 the score
//! is as before. A complaint is grounds only once closed as substantiated.

use egov_approval::testing::fixtures::{
    acceptance, application, certificate, completion, decision, fee,
};
use egov_domain::record::RecordBody;
use egov_domain::scores::{Points, ScoreConfig, ScoreConfigSpec};
use egov_platform::testing::{connect, credential};
use egov_proto::supervision::v1 as pb;
use egov_proto::supervision::v1::accountability_service_client::AccountabilityServiceClient;
use egov_proto::supervision::v1::complaints_service_client::ComplaintsServiceClient;
use egov_proto::supervision::v1::scores_service_client::ScoresServiceClient;
use egov_runtime::access::{Authed, Principal, Role, Scope};
use egov_store::Backend;
use egov_store::audit::AuditFilter;
use egov_tests::*;
use tonic::Code;
use tonic_types::StatusExt;

/// A county beside the story's, with an office of its own.
const OTHER_COUNTY: &str = "330108";

fn principal(id: &str, role: Role, scope: Scope) -> Principal {
    Principal {
        id: id.into(),
        role,
        scope,
    }
}

async fn channel_of(p: &mut Platforms, who: &Principal) -> Authed {
    let addr = p.supervision().addr;
    let token = credential(&p.store, who, None).await;
    connect(addr, Some(&token)).await
}

/// The reason of a refusal's `google.rpc.ErrorInfo`.
fn reason(status: &tonic::Status) -> String {
    status
        .get_error_details()
        .error_info()
        .map(|i| i.reason.clone())
        .unwrap_or_default()
}

fn decided(warning: &str, measure: pb::AccountabilityMeasure) -> pb::RecordAccountabilityRequest {
    pb::RecordAccountabilityRequest {
        basis: Some(pb::record_accountability_request::Basis::WarningId(
            warning.into(),
        )),
        department: String::new(),
        person: "王五".into(),
        measure: measure.into(),
        decided_on: "2026-04-02".into(),
        grounds: "charged a sampling fee the catalogue does not list (ALL Arts. 58-59)".into(),
    }
}

/// The department's score in `period` (hundredths) and its components.
async fn score(p: &mut Platforms, period: &str) -> (i64, Vec<(String, i64)>) {
    let admin = principal("leader", Role::Analyst, Scope::Region("3301".into()));
    let mut scores = ScoresServiceClient::new(channel_of(p, &admin).await);
    let answer = scores
        .get_scores(pb::GetScoresRequest {
            period: period.into(),
            region: REGION.into(),
        })
        .await
        .expect("scores")
        .into_inner();
    let market = answer
        .departments
        .iter()
        .find(|d| d.department == DEPARTMENT)
        .unwrap_or_else(|| panic!("the department is scored in {period}: {answer:?}"));
    (
        market.score_hundredths,
        market
            .components
            .iter()
            .map(|c| (c.name.clone(), c.points_hundredths))
            .collect(),
    )
}

async fn a_red_card_leads_to_a_decision_in_the_register_and_the_next_periods_score(
    backend: Backend,
) {
    // Monday 2 March 2026.
    let mut p = Platforms::start(backend, "2026-03-02 09:00").await;
    p.register_regions(&[(OTHER_COUNTY, "滨江区")]).await;
    // A sampling fee the catalogue does not list: a red card. A refusal without reasons: a
    // yellow card.
    p.push_at(
        "2026-03-03 11:00",
        vec![
            rec(
                "C-FEE",
                1,
                "2026-03-03 09:00",
                application(MATTER, DEPARTMENT, REGION),
            ),
            rec("C-FEE", 2, "2026-03-03 10:00", acceptance()),
            rec("C-FEE", 3, "2026-03-03 11:00", fee("sampling", 5_000)),
            rec("C-FEE", 4, "2026-03-03 11:00", decision(true)),
            rec("C-FEE", 5, "2026-03-03 11:00", certificate()),
            rec("C-FEE", 6, "2026-03-03 11:00", completion()),
            rec(
                "C-WHY",
                1,
                "2026-03-03 09:00",
                application(MATTER, DEPARTMENT, REGION),
            ),
            rec(
                "C-WHY",
                2,
                "2026-03-03 11:00",
                RecordBody::Refusal {
                    reason: " ".into(),
                    handler: "clerk-1".into(),
                },
            ),
        ],
    )
    .await;
    let cards = p.next_n(2).await;
    let red = cards
        .iter()
        .find(|w| w.level() == pb::WarningLevel::RedCard)
        .expect("a red card");
    let yellow = cards
        .iter()
        .find(|w| w.level() == pb::WarningLevel::YellowCard)
        .expect("a yellow card");
    assert_eq!(red.case_no, "C-FEE");
    // April: the department works on (a case accepted), and the office decides.
    p.push_at(
        "2026-04-01 10:00",
        vec![
            rec(
                "C-APR",
                1,
                "2026-04-01 09:00",
                application(MATTER, DEPARTMENT, REGION),
            ),
            rec("C-APR", 2, "2026-04-01 10:00", acceptance()),
        ],
    )
    .await;
    p.quiet_at("2026-04-02 10:00").await;
    let (march_before, _) = score(&mut p, "2026-03").await;
    let (april_before, components) = score(&mut p, "2026-04").await;
    assert!(
        !components
            .iter()
            .any(|(n, _)| n.starts_with("accountability.")),
        "{components:?}"
    );

    let office = principal(
        "office-330106",
        Role::Supervisor,
        Scope::Region(REGION.into()),
    );
    let mut desk = AccountabilityServiceClient::new(channel_of(&mut p, &office).await);
    let other = principal(
        "office-330108",
        Role::Supervisor,
        Scope::Region(OTHER_COUNTY.into()),
    );
    let mut elsewhere = AccountabilityServiceClient::new(channel_of(&mut p, &other).await);

    // An office of another county may not judge this department's card.
    let denied = elsewhere
        .record_accountability(decided(&red.id, pb::AccountabilityMeasure::RemovalFromPost))
        .await
        .expect_err("outside its region");
    assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");
    // A yellow card is no grounds.
    let refused = desk
        .record_accountability(decided(
            &yellow.id,
            pb::AccountabilityMeasure::AdmonitionTalk,
        ))
        .await
        .expect_err("not a red card");
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    assert_eq!(reason(&refused), "NOT_RED_CARD");
    // A bad field is named.
    let bad = desk
        .record_accountability(pb::RecordAccountabilityRequest {
            decided_on: "2026-04-03".into(),
            ..decided(&red.id, pb::AccountabilityMeasure::RemovalFromPost)
        })
        .await
        .expect_err("a decision not yet taken");
    assert_eq!(bad.code(), Code::InvalidArgument, "{bad:?}");
    assert!(bad.message().contains("decided_on"), "{bad:?}");

    // The office of the card's county records it.
    let recorded = desk
        .record_accountability(decided(&red.id, pb::AccountabilityMeasure::RemovalFromPost))
        .await
        .expect("recorded")
        .into_inner()
        .decision
        .expect("the decision");
    assert_eq!(recorded.department, DEPARTMENT);
    assert_eq!(recorded.measure_name, "调离岗位");
    assert_eq!(recorded.recorded_by, "office-330106");
    assert_eq!(
        recorded.basis,
        Some(pb::accountability_decision::Basis::WarningId(
            red.id.clone()
        ))
    );
    // Recording it again is refused, not counted twice.
    let again = desk
        .record_accountability(decided(&red.id, pb::AccountabilityMeasure::RemovalFromPost))
        .await
        .expect_err("already recorded");
    assert_eq!(reason(&again), "ALREADY_RECORDED");

    // The register: a leader of the city finds it by its filters, and not by others.
    let leader = principal("leader", Role::Analyst, Scope::Region("3301".into()));
    let mut register = AccountabilityServiceClient::new(channel_of(&mut p, &leader).await);
    let list = |measure: pb::AccountabilityMeasure, from: &str| pb::ListAccountabilityRequest {
        region: REGION.into(),
        department: DEPARTMENT.into(),
        measures: vec![measure.into()],
        from: from.into(),
        ..Default::default()
    };
    let found = register
        .list_accountability(list(
            pb::AccountabilityMeasure::RemovalFromPost,
            "2026-04-01",
        ))
        .await
        .expect("the register")
        .into_inner()
        .decisions;
    assert_eq!(found, std::slice::from_ref(&recorded));
    for (measure, from) in [
        (pb::AccountabilityMeasure::AdmonitionTalk, "2026-04-01"),
        (pb::AccountabilityMeasure::RemovalFromPost, "2026-04-03"),
    ] {
        let none = register
            .list_accountability(list(measure, from))
            .await
            .expect("the register")
            .into_inner()
            .decisions;
        assert!(none.is_empty(), "{none:?}");
    }
    // The other county's office sees nothing of it, and may not look into this county.
    let theirs = elsewhere
        .list_accountability(pb::ListAccountabilityRequest::default())
        .await
        .expect("its own register")
        .into_inner()
        .decisions;
    assert!(theirs.is_empty(), "{theirs:?}");
    let outside = elsewhere
        .list_accountability(pb::ListAccountabilityRequest {
            region: REGION.into(),
            ..Default::default()
        })
        .await
        .expect_err("outside its scope");
    assert_eq!(outside.code(), Code::PermissionDenied);

    // Audited by the front hall: the act, its grounds, its outcome (and the refusals).
    let (audit, _) = p
        .store
        .list_audit(
            &AuditFilter {
                action: Some("RecordAccountability".into()),
                ..AuditFilter::default()
            },
            egov_store::Page::default(),
        )
        .await
        .expect("the audit log");
    let acts: Vec<(&str, &str, &str)> = audit
        .iter()
        .map(|a| (a.principal.as_str(), a.target.as_str(), a.outcome.as_str()))
        .collect();
    let red_target = format!("warning:{}", red.id);
    assert!(
        acts.contains(&("office-330106", red_target.as_str(), "OK")),
        "{acts:?}"
    );
    assert!(
        acts.contains(&("office-330108", red_target.as_str(), "PERMISSION_DENIED")),
        "{acts:?}"
    );

    // April's score (the period of the decision) drops by the configured 5 points; March's,
    // the card's, does not change.
    let removal = ScoreConfigSpec::default()
        .deductions
        .accountability
        .removal_from_post;
    assert_eq!(removal, Points::whole(5));
    let (april, components) = score(&mut p, "2026-04").await;
    assert_eq!(april, april_before - removal.get(), "{components:?}");
    assert!(
        components.contains(&("accountability.removal_from_post".into(), -removal.get())),
        "{components:?}"
    );
    assert_eq!(score(&mut p, "2026-03").await.0, march_before);
    // Configured 0, the measure is not counted.
    let mut spec = ScoreConfigSpec::default();
    spec.deductions.accountability.removal_from_post = Points::whole(0);
    p.supervision()
        .supervision
        .set_score_config(ScoreConfig::new(spec).expect("a valid configuration"));
    let (april, components) = score(&mut p, "2026-04").await;
    assert_eq!(april, april_before, "{components:?}");

    // A complaint is grounds once closed as substantiated, and not before.
    let mut complaints = ComplaintsServiceClient::new(channel_of(&mut p, &office).await);
    let id = complaints
        .file_complaint(pb::FileComplaintRequest {
            subject: DEPARTMENT.into(),
            subject_kind: pb::ComplaintSubject::Department.into(),
            summary: "asked for a fee the catalogue does not list".into(),
            channel: pb::ComplaintChannel::Phone.into(),
            ..Default::default()
        })
        .await
        .expect("registered")
        .into_inner()
        .id;
    let on_complaint = pb::RecordAccountabilityRequest {
        basis: Some(pb::record_accountability_request::Basis::ComplaintId(
            id.clone(),
        )),
        person: String::new(),
        ..decided(&red.id, pb::AccountabilityMeasure::AdmonitionTalk)
    };
    let open = desk
        .record_accountability(on_complaint.clone())
        .await
        .expect_err("not closed");
    assert_eq!(reason(&open), "NOT_SUBSTANTIATED");
    complaints
        .decide_complaint(pb::DecideComplaintRequest {
            id: id.clone(),
            accept: true,
            reason: String::new(),
        })
        .await
        .expect("accepted");
    complaints
        .close_complaint(pb::CloseComplaintRequest {
            id: id.clone(),
            outcome: pb::ComplaintOutcome::Substantiated.into(),
            note: "the fee was refunded".into(),
        })
        .await
        .expect("closed");
    let on_it = desk
        .record_accountability(on_complaint)
        .await
        .expect("recorded")
        .into_inner()
        .decision
        .expect("the decision");
    assert_eq!(
        (on_it.person.as_str(), on_it.measure_name.as_str()),
        ("", "诫勉谈话")
    );
    let all = register
        .list_accountability(pb::ListAccountabilityRequest::default())
        .await
        .expect("the register")
        .into_inner()
        .decisions;
    assert_eq!(all, [on_it, recorded]);
}

macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        mod postgres {
            $(#[tokio::test] async fn $name() { super::$name(egov_store::Backend::Postgres).await })*
        }
        mod sqlite {
            $(#[tokio::test] async fn $name() { super::$name(egov_store::Backend::Sqlite).await })*
        }
    };
}

on_both_databases!(a_red_card_leads_to_a_decision_in_the_register_and_the_next_periods_score);
