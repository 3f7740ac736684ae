//! Complaints end to end (docs/design.md §3.3), over real gRPC through the front hall on both
//! databases, on the injected clock: a named complaint filed by the public without a
//! credential runs late on its acceptance decision (a reminder, then a yellow card, each the
//! moment it is due), then is forwarded, reported on by the department, closed as
//! substantiated, and the complainant's feedback recorded; and the department complained about
//! never sees who complained, through any RPC it may call.

use egov_approval::testing::fixtures::local;
use egov_platform::testing::{connect, credential};
use egov_proto::supervision::v1 as pb;
use egov_proto::supervision::v1::complaints_service_client::ComplaintsServiceClient;
use egov_proto::supervision::v1::scores_service_client::ScoresServiceClient;
use egov_proto::supervision::v1::supervision_service_client::SupervisionServiceClient;
use egov_runtime::access::{Authed, Principal, Role, Scope};
use egov_store::Backend;
use egov_tests::*;
use tonic::Code;

const NAME: &str = "Wang Fang";
const CONTACT: &str = "13800000000";

async fn client_of(p: &mut Platforms, who: Option<&Principal>) -> Authed {
    let addr = p.supervision().addr;
    match who {
        Some(principal) => {
            let token = credential(&p.store, principal, None).await;
            connect(addr, Some(&token)).await
        }
        None => connect(addr, None).await,
    }
}

fn office() -> Principal {
    Principal {
        id: "office-330106".into(),
        role: Role::Supervisor,
        scope: Scope::Region(REGION.into()),
    }
}

fn clerk() -> Principal {
    Principal {
        id: "clerk-market".into(),
        role: Role::Department,
        scope: Scope::Departments(vec![DEPARTMENT.into()]),
    }
}

async fn file_named(public: &mut ComplaintsServiceClient<Authed>) -> String {
    public
        .file_complaint(pb::FileComplaintRequest {
            subject: DEPARTMENT.into(),
            subject_kind: pb::ComplaintSubject::Department.into(),
            summary: "asked for a fee the catalogue does not list".into(),
            complainant: Some(pb::Complainant {
                name: NAME.into(),
                contact: CONTACT.into(),
            }),
            channel: pb::ComplaintChannel::Online.into(),
        })
        .await
        .expect("the public files without a credential")
        .into_inner()
        .id
}

async fn a_named_complaint_from_filing_to_feedback(backend: Backend) {
    // Monday 2 March 2026.
    let mut p = Platforms::start(backend, "2026-03-02 09:00").await;
    p.register_regions(&[]).await;
    let mut public = ComplaintsServiceClient::new(client_of(&mut p, None).await);
    let mut desk = ComplaintsServiceClient::new(client_of(&mut p, Some(&office())).await);
    let mut clerk_desk = ComplaintsServiceClient::new(client_of(&mut p, Some(&clerk())).await);

    p.at("2026-03-02 10:00");
    let filed = public
        .file_complaint(pb::FileComplaintRequest {
            subject: DEPARTMENT.into(),
            subject_kind: pb::ComplaintSubject::Department.into(),
            summary: "asked for a fee the catalogue does not list".into(),
            complainant: Some(pb::Complainant {
                name: NAME.into(),
                contact: CONTACT.into(),
            }),
            channel: pb::ComplaintChannel::Online.into(),
        })
        .await
        .expect("filed")
        .into_inner();
    // 5 working days, the filing day not counted: Tuesday 3 to Monday 9 March, due at 24:00.
    let due = filed.acceptance_due_at.expect("a due");
    assert_eq!(
        chrono::DateTime::from_timestamp(due.seconds, due.nanos as u32),
        Some(local("2026-03-10 00:00"))
    );
    // The public cannot register a phone call: that is the office's.
    let phone = public
        .file_complaint(pb::FileComplaintRequest {
            subject: DEPARTMENT.into(),
            subject_kind: pb::ComplaintSubject::Department.into(),
            summary: "x".into(),
            channel: pb::ComplaintChannel::Phone.into(),
            ..Default::default()
        })
        .await
        .expect_err("refused");
    assert_eq!(phone.code(), Code::PermissionDenied);

    // The office lets the decision run late: the reminder at the end of the 4th working day,
    // the card when the 5th ends; each the moment it is due, and nothing else.
    let reminder = p.arrives_at("2026-03-07 00:00").await;
    let id = filed.id.clone();
    let case = format!("complaint#{id}/acceptance");
    assert_eq!(
        (reminder.case_no.as_str(), reminder.rule(), reminder.level()),
        (
            case.as_str(),
            pb::WarningRule::ApproachingDeadline,
            pb::WarningLevel::Reminder
        )
    );
    assert_eq!(reminder.region, REGION, "held by the office");
    assert!(reminder.department.is_empty(), "no department's warning");
    let card = p.arrives_at("2026-03-10 00:00").await;
    assert_eq!(
        (card.case_no.as_str(), card.rule(), card.level()),
        (
            case.as_str(),
            pb::WarningRule::ComplaintOverdue,
            pb::WarningLevel::YellowCard
        )
    );
    assert!(
        card.message.contains("no acceptance decision"),
        "{}",
        card.message
    );
    assert!(!card.message.contains(NAME));

    // Accepted and forwarded, with the report due Friday 20 March.
    p.at("2026-03-10 09:00");
    let due = local("2026-03-21 00:00");
    let forwarded = desk
        .forward_complaint(pb::ForwardComplaintRequest {
            id: id.clone(),
            report_due_at: Some(due.into()),
            note: "check the fee and refund it if unlawful".into(),
        })
        .await
        .expect("forwarded")
        .into_inner()
        .complaint
        .expect("the complaint");
    assert_eq!(forwarded.state(), pb::ComplaintState::Forwarded);
    assert_eq!(
        forwarded.complainant.as_ref().map(|c| c.name.as_str()),
        Some(NAME)
    );
    // Deciding again is the workflow's refusal, naming the state.
    let again = desk
        .decide_complaint(pb::DecideComplaintRequest {
            id: id.clone(),
            accept: true,
            reason: String::new(),
        })
        .await
        .expect_err("no longer filed");
    assert_eq!(again.code(), Code::FailedPrecondition);

    // The department sees the complaint, not the complainant, and reports.
    p.at("2026-03-12 15:00");
    let seen = clerk_desk
        .get_complaint(pb::GetComplaintRequest { id: id.clone() })
        .await
        .expect("the department reads it")
        .into_inner()
        .complaint
        .expect("the complaint");
    assert!(seen.complainant.is_none() && !seen.anonymous, "{seen:?}");
    let reported = clerk_desk
        .report_complaint(pb::ReportComplaintRequest {
            id: id.clone(),
            report: "the fee was charged in error and refunded on 12 March".into(),
        })
        .await
        .expect("reported")
        .into_inner()
        .complaint
        .expect("the complaint");
    assert_eq!(reported.state(), pb::ComplaintState::Reported);
    assert!(reported.complainant.is_none());

    // The office closes it as substantiated, and records the complainant's feedback.
    p.at("2026-03-13 10:00");
    desk.close_complaint(pb::CloseComplaintRequest {
        id: id.clone(),
        outcome: pb::ComplaintOutcome::Substantiated.into(),
        note: "the fee is refunded; the window staff were instructed".into(),
    })
    .await
    .expect("closed");
    let done = desk
        .record_complaint_feedback(pb::RecordComplaintFeedbackRequest {
            id: id.clone(),
            satisfied: true,
            comment: "refunded quickly".into(),
        })
        .await
        .expect("feedback")
        .into_inner()
        .complaint
        .expect("the complaint");
    assert_eq!(done.state(), pb::ComplaintState::Closed);
    assert_eq!(done.outcome(), pb::ComplaintOutcome::Substantiated);
    assert_eq!(done.feedback_satisfied, Some(true));
    let moves: Vec<(&str, &str, &str)> = done
        .history
        .iter()
        .map(|e| (e.r#move.as_str(), e.actor.as_str(), e.notice.as_str()))
        .collect();
    let closed_notice = format!(
        "Your complaint {id} was found substantiated: the fee is refunded; the window staff \
         were instructed"
    );
    assert_eq!(
        moves,
        [
            ("file", "public", ""),
            (
                "forward",
                "office-330106",
                &*format!(
                    "Your complaint {id} has been accepted and forwarded to the department \
                     concerned for its report."
                )
            ),
            ("report", "clerk-market", ""),
            ("close", "office-330106", closed_notice.as_str()),
            ("feedback", "office-330106", ""),
        ]
    );
    // The substantiated complaint counts against the department in the month it was closed.
    let channel = client_of(&mut p, Some(&office())).await;
    let scores = ScoresServiceClient::new(channel)
        .get_scores(pb::GetScoresRequest {
            period: "2026-03".into(),
            region: REGION.into(),
        })
        .await
        .expect("scores")
        .into_inner();
    let market = scores
        .departments
        .iter()
        .find(|d| d.department == DEPARTMENT)
        .expect("the department is scored");
    assert_eq!(
        market
            .indicators
            .as_ref()
            .map(|i| i.complaints_substantiated),
        Some(1)
    );
    assert!(
        market
            .components
            .iter()
            .any(|c| c.name == "substantiated_complaint" && c.points_hundredths == -200),
        "{market:?}"
    );
    // Reported in time: no card on the report's due, and nothing else was raised.
    p.quiet_at("2026-03-25 00:00").await;
    assert_eq!(p.seen().len(), 2);
}

/// Every RPC the department may call, and those it may not: none answers with the
/// complainant's name or contact, in a message or in an error.
async fn the_department_never_sees_the_complainant(backend: Backend) {
    let mut p = Platforms::start(backend, "2026-03-02 09:00").await;
    p.register_regions(&[]).await;
    let mut public = ComplaintsServiceClient::new(client_of(&mut p, None).await);
    let mut desk = ComplaintsServiceClient::new(client_of(&mut p, Some(&office())).await);
    let channel = client_of(&mut p, Some(&clerk())).await;
    let mut c = ComplaintsServiceClient::new(channel.clone());
    let mut s = SupervisionServiceClient::new(channel);
    let late = file_named(&mut public).await;
    let id = file_named(&mut public).await;
    // One forwarded and left unreported past its due: the department's card.
    desk.forward_complaint(pb::ForwardComplaintRequest {
        id: late.clone(),
        report_due_at: Some(local("2026-03-04 00:00").into()),
        note: String::new(),
    })
    .await
    .expect("forwarded");
    p.at("2026-03-04 00:00");
    let card = p.next().await;
    assert_eq!(card.department, DEPARTMENT);
    assert_eq!(card.case_no, format!("complaint#{late}/report"));
    desk.forward_complaint(pb::ForwardComplaintRequest {
        id: id.clone(),
        report_due_at: Some(local("2026-03-20 00:00").into()),
        note: String::new(),
    })
    .await
    .expect("forwarded");
    // The office sees them, so the test can fail.
    let office_view = desk
        .get_complaint(pb::GetComplaintRequest { id: id.clone() })
        .await
        .expect("read");
    assert!(format!("{office_view:?}").contains(NAME));

    let mut answers: Vec<(&str, String)> = Vec::new();
    macro_rules! tried {
        ($name:expr, $call:expr) => {
            answers.push(($name, format!("{:?}", $call.await)));
        };
    }
    tried!(
        "GetComplaint",
        c.get_complaint(pb::GetComplaintRequest { id: id.clone() })
    );
    tried!(
        "ListComplaints",
        c.list_complaints(pb::ListComplaintsRequest::default())
    );
    tried!(
        "ListComplaints filed",
        c.list_complaints(pb::ListComplaintsRequest {
            states: vec![pb::ComplaintState::Forwarded.into()],
            ..Default::default()
        })
    );
    tried!(
        "ReportComplaint",
        c.report_complaint(pb::ReportComplaintRequest {
            id: id.clone(),
            report: "looked into it".into(),
        })
    );
    tried!(
        "ReportComplaint again",
        c.report_complaint(pb::ReportComplaintRequest {
            id: id.clone(),
            report: "again".into(),
        })
    );
    tried!(
        "DecideComplaint",
        c.decide_complaint(pb::DecideComplaintRequest {
            id: id.clone(),
            accept: true,
            reason: String::new(),
        })
    );
    tried!(
        "ForwardComplaint",
        c.forward_complaint(pb::ForwardComplaintRequest {
            id: id.clone(),
            ..Default::default()
        })
    );
    tried!(
        "CloseComplaint",
        c.close_complaint(pb::CloseComplaintRequest {
            id: id.clone(),
            outcome: 1,
            note: String::new(),
        })
    );
    tried!(
        "RecordComplaintFeedback",
        c.record_complaint_feedback(pb::RecordComplaintFeedbackRequest {
            id: id.clone(),
            satisfied: true,
            comment: String::new(),
        })
    );
    tried!(
        "FileComplaint",
        c.file_complaint(pb::FileComplaintRequest {
            subject: DEPARTMENT.into(),
            subject_kind: pb::ComplaintSubject::Department.into(),
            summary: "a second complaint".into(),
            ..Default::default()
        })
    );
    tried!(
        "ListWarnings",
        s.list_warnings(pb::ListWarningsRequest::default())
    );
    tried!(
        "GetWarning",
        s.get_warning(pb::GetWarningRequest {
            id: card.id.clone()
        })
    );
    let got = s
        .list_warnings(pb::ListWarningsRequest::default())
        .await
        .expect("the department lists its warnings")
        .into_inner();
    assert!(
        got.warnings.iter().any(|w| w.id == card.id),
        "the department's card is its to see: {got:?}"
    );
    for (rpc, answer) in &answers {
        assert!(
            !answer.contains(NAME) && !answer.contains(CONTACT),
            "{rpc} shows the complainant: {answer}"
        );
    }
    // The reads did read the complaint (so the check above is not vacuous).
    assert!(answers[0].1.contains(&id), "{}", answers[0].1);
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

on_both_databases!(
    a_named_complaint_from_filing_to_feedback,
    the_department_never_sees_the_complainant,
);
