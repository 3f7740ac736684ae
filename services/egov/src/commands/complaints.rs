//! `egov complaints file|list|show|accept|refuse|forward|report|close|feedback`: complaints and
//! their workflow (docs/design.md §3.3), through the supervision platform's
//! `ComplaintsService`. Every move is made by the credential's principal.

use std::process::ExitCode;

use egov_domain::calendar::Calendar;
use egov_proto::supervision::v1 as pb;
use egov_proto::supervision::v1::complaints_service_client::ComplaintsServiceClient;
use egov_runtime::access::Authed;

use crate::cli::{
    ClientArgs, ComplaintChannelArg, ComplaintCloseArgs, ComplaintFeedbackArgs, ComplaintFileArgs,
    ComplaintForwardArgs, ComplaintIdArgs, ComplaintListArgs, ComplaintReasonArgs,
    ComplaintSubjectArg, ComplaintsCommand,
};
use crate::client;
use crate::output::{Table, json_line, local_time};
use crate::settings::Target;

async fn connect(client: &ClientArgs) -> anyhow::Result<(Target, ComplaintsServiceClient<Authed>)> {
    let target = Target::from_args(client)?;
    let c = ComplaintsServiceClient::new(client::connect(&target).await?);
    Ok((target, c))
}

pub async fn run(command: ComplaintsCommand) -> anyhow::Result<ExitCode> {
    match command {
        ComplaintsCommand::File(a) => file(a).await,
        ComplaintsCommand::List(a) => list(a).await,
        ComplaintsCommand::Show(a) => show(a).await,
        ComplaintsCommand::Accept(a) => {
            let request = pb::DecideComplaintRequest {
                id: a.id.clone(),
                accept: true,
                reason: String::new(),
            };
            let (target, mut c) = connect(&a.client).await?;
            let r = c
                .decide_complaint(request)
                .await
                .map_err(|s| client::call_failed(&target, "accepting the complaint", s))?;
            print(r.into_inner().complaint, a.json)
        }
        ComplaintsCommand::Refuse(a) => decide_refuse(a).await,
        ComplaintsCommand::Forward(a) => forward(a).await,
        ComplaintsCommand::Report(a) => report(a).await,
        ComplaintsCommand::Close(a) => close(a).await,
        ComplaintsCommand::Feedback(a) => feedback(a).await,
    }
}

async fn file(a: ComplaintFileArgs) -> anyhow::Result<ExitCode> {
    let (target, mut c) = connect(&a.client).await?;
    let subject_kind = match a.about {
        ComplaintSubjectArg::Case => pb::ComplaintSubject::Case,
        ComplaintSubjectArg::Department => pb::ComplaintSubject::Department,
        ComplaintSubjectArg::Matter => pb::ComplaintSubject::Matter,
    };
    let channel = match a.channel {
        ComplaintChannelArg::Online => pb::ComplaintChannel::Online,
        ComplaintChannelArg::Phone => pb::ComplaintChannel::Phone,
        ComplaintChannelArg::Letter => pb::ComplaintChannel::Letter,
        ComplaintChannelArg::Visit => pb::ComplaintChannel::Visit,
    };
    let r = c
        .file_complaint(pb::FileComplaintRequest {
            subject: a.subject.clone(),
            subject_kind: subject_kind.into(),
            summary: a.summary.clone(),
            complainant: a.name.clone().map(|name| pb::Complainant {
                name,
                contact: a.contact.clone().unwrap_or_default(),
            }),
            channel: channel.into(),
        })
        .await
        .map_err(|s| client::call_failed(&target, "filing the complaint", s))?
        .into_inner();
    if a.json {
        println!("{}", json_line(&r));
    } else {
        println!(
            "complaint {} filed; the acceptance decision is due by {}",
            r.id,
            local_time(r.acceptance_due_at.as_ref())
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn list(a: ComplaintListArgs) -> anyhow::Result<ExitCode> {
    let (target, mut c) = connect(&a.client).await?;
    let r = c
        .list_complaints(pb::ListComplaintsRequest {
            department: a.department.clone().unwrap_or_default(),
            office: a.office.clone().unwrap_or_default(),
            ..Default::default()
        })
        .await
        .map_err(|s| client::call_failed(&target, "listing complaints", s))?
        .into_inner();
    if a.json {
        println!("{}", json_line(&r));
        return Ok(ExitCode::SUCCESS);
    }
    let mut t = Table::new(&[
        "ID",
        "FILED",
        "STATE",
        "DEPT",
        "OFFICE",
        "ABOUT",
        "COMPLAINANT",
    ]);
    for x in &r.complaints {
        t.row(vec![
            x.id.clone(),
            local_time(x.filed_at.as_ref()),
            state(x.state()).to_owned(),
            x.department.clone(),
            x.office.clone(),
            format!("{} {}", subject(x.subject_kind()), x.subject),
            complainant(x),
        ]);
    }
    if t.is_empty() {
        println!("no complaints");
    } else {
        print!("{}", t.render());
    }
    Ok(ExitCode::SUCCESS)
}

async fn show(a: ComplaintIdArgs) -> anyhow::Result<ExitCode> {
    let (target, mut c) = connect(&a.client).await?;
    let r = c
        .get_complaint(pb::GetComplaintRequest { id: a.id.clone() })
        .await
        .map_err(|s| client::call_failed(&target, &format!("reading complaint {}", a.id), s))?;
    print(r.into_inner().complaint, a.json)
}

async fn decide_refuse(a: ComplaintReasonArgs) -> anyhow::Result<ExitCode> {
    let (target, mut c) = connect(&a.client).await?;
    let r = c
        .decide_complaint(pb::DecideComplaintRequest {
            id: a.id.clone(),
            accept: false,
            reason: a.reason.clone(),
        })
        .await
        .map_err(|s| client::call_failed(&target, "refusing the complaint", s))?;
    print(r.into_inner().complaint, a.json)
}

async fn forward(a: ComplaintForwardArgs) -> anyhow::Result<ExitCode> {
    let report_due_at = match &a.due {
        None => None,
        Some(d) => {
            let date: chrono::NaiveDate = d
                .parse()
                .map_err(|_| anyhow::anyhow!("--due {d:?} is not a date (YYYY-MM-DD)"))?;
            Some(pbjson_types::Timestamp::from(
                Calendar::china().end_of_day(date),
            ))
        }
    };
    let (target, mut c) = connect(&a.client).await?;
    let r = c
        .forward_complaint(pb::ForwardComplaintRequest {
            id: a.id.clone(),
            report_due_at,
            note: a.note.clone(),
        })
        .await
        .map_err(|s| client::call_failed(&target, "forwarding the complaint", s))?;
    print(r.into_inner().complaint, a.json)
}

async fn report(a: ComplaintReasonArgs) -> anyhow::Result<ExitCode> {
    let (target, mut c) = connect(&a.client).await?;
    let r = c
        .report_complaint(pb::ReportComplaintRequest {
            id: a.id.clone(),
            report: a.reason.clone(),
        })
        .await
        .map_err(|s| client::call_failed(&target, "reporting on the complaint", s))?;
    print(r.into_inner().complaint, a.json)
}

async fn close(a: ComplaintCloseArgs) -> anyhow::Result<ExitCode> {
    let outcome = if a.substantiated {
        pb::ComplaintOutcome::Substantiated
    } else {
        pb::ComplaintOutcome::Unsubstantiated
    };
    let (target, mut c) = connect(&a.client).await?;
    let r = c
        .close_complaint(pb::CloseComplaintRequest {
            id: a.id.clone(),
            outcome: outcome.into(),
            note: a.note.clone(),
        })
        .await
        .map_err(|s| client::call_failed(&target, "closing the complaint", s))?;
    print(r.into_inner().complaint, a.json)
}

async fn feedback(a: ComplaintFeedbackArgs) -> anyhow::Result<ExitCode> {
    let (target, mut c) = connect(&a.client).await?;
    let r = c
        .record_complaint_feedback(pb::RecordComplaintFeedbackRequest {
            id: a.id.clone(),
            satisfied: a.satisfied,
            comment: a.comment.clone(),
        })
        .await
        .map_err(|s| client::call_failed(&target, "recording the feedback", s))?;
    print(r.into_inner().complaint, a.json)
}

fn state(s: pb::ComplaintState) -> &'static str {
    match s {
        pb::ComplaintState::Unspecified => "-",
        pb::ComplaintState::Filed => "filed",
        pb::ComplaintState::Refused => "refused",
        pb::ComplaintState::Accepted => "accepted",
        pb::ComplaintState::Forwarded => "forwarded",
        pb::ComplaintState::Reported => "reported",
        pb::ComplaintState::Closed => "closed",
    }
}

fn subject(s: pb::ComplaintSubject) -> &'static str {
    match s {
        pb::ComplaintSubject::Unspecified => "-",
        pb::ComplaintSubject::Case => "case",
        pb::ComplaintSubject::Department => "department",
        pb::ComplaintSubject::Matter => "matter",
    }
}

/// The complainant as this caller may see them.
fn complainant(c: &pb::Complaint) -> String {
    match (&c.complainant, c.anonymous) {
        (Some(p), _) => format!("{} ({})", p.name, p.contact),
        (None, true) => "anonymous".to_owned(),
        (None, false) => "named (not shown)".to_owned(),
    }
}

/// One complaint, as a block of lines and its history, or as JSON.
fn print(c: Option<pb::Complaint>, json: bool) -> anyhow::Result<ExitCode> {
    let c = c.unwrap_or_default();
    if json {
        println!("{}", json_line(&c));
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "complaint {}: {} ({} {}, department {}, office {})",
        c.id,
        state(c.state()),
        subject(c.subject_kind()),
        c.subject,
        c.department,
        c.office
    );
    println!("  complainant: {}", complainant(&c));
    println!("  summary: {}", c.summary);
    println!(
        "  acceptance due: {}",
        local_time(c.acceptance_due_at.as_ref())
    );
    if c.report_due_at.is_some() {
        println!("  report due: {}", local_time(c.report_due_at.as_ref()));
    }
    match c.outcome() {
        pb::ComplaintOutcome::Substantiated => println!("  outcome: substantiated"),
        pb::ComplaintOutcome::Unsubstantiated => println!("  outcome: not substantiated"),
        pb::ComplaintOutcome::Unspecified => {}
    }
    if let Some(satisfied) = c.feedback_satisfied {
        let word = if satisfied {
            "satisfied"
        } else {
            "not satisfied"
        };
        println!("  feedback: {word}");
    }
    let mut t = Table::new(&["#", "AT", "BY", "MOVE", "TO", "NOTE", "TOLD"]);
    for e in &c.history {
        t.row(vec![
            e.seq.to_string(),
            local_time(e.at.as_ref()),
            e.actor.clone(),
            e.r#move.clone(),
            state(e.to_state()).to_owned(),
            e.note.clone(),
            e.notice.clone(),
        ]);
    }
    if !t.is_empty() {
        print!("{}", t.render());
    }
    Ok(ExitCode::SUCCESS)
}
