//! `egov case CASE_NO`: one case as the approval platform computes it: its records in the
//! order they happened, and every deadline clock with its status and the explanation a
//! supervisor can check by hand.

use std::process::ExitCode;

use egov_proto::approval::v1 as pb;
use pb::record::Body;

use crate::cli::CaseArgs;
use crate::client;
use crate::commands::matters::yuan;
use crate::output::{self, Table, local_time, short};
use crate::settings::Target;

pub async fn run(args: CaseArgs) -> anyhow::Result<ExitCode> {
    let target = Target::from_args(&args.client)?;
    let mut approval = client::approval(&target).await?;
    let case = approval
        .get_case(pb::GetCaseRequest {
            case_no: args.case_no.clone(),
            view: pb::CaseView::Full.into(),
        })
        .await
        .map_err(|s| client::call_failed(&target, &format!("case {}", args.case_no), s))?
        .into_inner()
        .case
        .unwrap_or_default();
    if args.json {
        println!("{}", output::json_line(&case));
    } else {
        print!("{}", render(&case));
    }
    Ok(ExitCode::SUCCESS)
}

/// The case as text: a header, the records, the clocks.
pub fn render(case: &pb::Case) -> String {
    let mut out = format!(
        "case {}  {}{}\n  matter {}{}, department {}, region {}\n  opened {}{}\n",
        case.case_no,
        output::case_state_name(case.state),
        if case.overdue { ", OVERDUE" } else { "" },
        case.matter_code,
        if case.catalogue_version > 0 {
            format!(" (catalogue version {})", case.catalogue_version)
        } else {
            String::new()
        },
        case.department,
        case.region,
        local_time(case.opened_at.as_ref()),
        case.closed_at
            .as_ref()
            .map(|t| format!(", closed {}", local_time(Some(t))))
            .unwrap_or_default(),
    );

    let mut records: Vec<&pb::StoredRecord> = case.records.iter().collect();
    // Replay order is the order things happened; storage order can differ for late records.
    records.sort_by_key(|s| {
        s.record
            .as_ref()
            .and_then(|r| r.occurred_at.as_ref())
            .map(|t| (t.seconds, t.nanos))
    });
    out.push_str(&format!("\nrecords ({}):\n", records.len()));
    let mut table = Table::new(&["  time", "kind", "details"]);
    for stored in records {
        let Some(record) = &stored.record else {
            continue;
        };
        let (kind, details) = describe(record);
        table.row(vec![
            format!("  {}", local_time(record.occurred_at.as_ref())),
            kind,
            details,
        ]);
    }
    out.push_str(&table.render());

    out.push_str(&format!("\ndeadline clocks ({}):\n", case.clocks.len()));
    let width = case
        .clocks
        .iter()
        .map(|c| output::clock_kind_name(c.kind, &c.step).len())
        .max()
        .unwrap_or(0);
    for clock in &case.clocks {
        out.push_str(&format!(
            "  {:<width$}  {:<15}  due {}{}\n",
            output::clock_kind_name(clock.kind, &clock.step),
            output::clock_status_name(clock.status),
            local_time(clock.due_at.as_ref()),
            if clock.provisional {
                " (provisional: beyond the known calendar)"
            } else {
                ""
            },
        ));
        if !clock.explanation.is_empty() {
            out.push_str(&format!("      {}\n", clock.explanation));
        }
    }
    out
}

/// A record's kind and its key fields, in a few words.
pub fn describe(record: &pb::Record) -> (String, String) {
    let Some(body) = &record.body else {
        return ("?".into(), String::new());
    };
    let join = |parts: Vec<String>| {
        parts
            .into_iter()
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let field = |name: &str, value: &str| {
        if value.is_empty() {
            String::new()
        } else {
            format!("{name} {value}")
        }
    };
    let (kind, details) = match body {
        Body::Application(a) => (
            "application",
            join(vec![
                field("matter", &a.matter_code),
                field("department", &a.department),
                field("region", &a.region),
                field("applicant", &a.applicant_ref),
                pb::Channel::try_from(a.channel)
                    .map(|c| short(c.as_str_name(), "CHANNEL_"))
                    .unwrap_or_default(),
            ]),
        ),
        Body::Acceptance(a) => (
            "acceptance",
            join(vec![
                field("handler", &a.handler),
                a.promised_due_at
                    .as_ref()
                    .map(|t| format!("sender's promised due {}", local_time(Some(t))))
                    .unwrap_or_default(),
            ]),
        ),
        Body::CorrectionNotice(c) => (
            "correction_notice",
            join(vec![
                field("materials", &c.materials.join("; ")),
                field("handler", &c.handler),
            ]),
        ),
        Body::CorrectionReceived(_) => ("correction_received", String::new()),
        Body::Refusal(r) => (
            "refusal",
            join(vec![
                field("reason", &r.reason),
                field("handler", &r.handler),
            ]),
        ),
        Body::StepStarted(s) => (
            "step_started",
            join(vec![
                s.step.clone(),
                field("handler", &s.handler),
                field("opinion", &s.opinion),
            ]),
        ),
        Body::StepCompleted(s) => (
            "step_completed",
            join(vec![
                s.step.clone(),
                field("handler", &s.handler),
                field("opinion", &s.opinion),
            ]),
        ),
        Body::SuspensionStarted(s) => (
            "suspension_started",
            join(vec![
                pb::SuspensionKind::try_from(s.kind)
                    .map(|k| short(k.as_str_name(), "SUSPENSION_KIND_"))
                    .unwrap_or_default(),
                field("reason", &s.reason),
                format!("planned end {}", local_time(s.planned_end.as_ref())),
                field("approver", &s.approver),
            ]),
        ),
        Body::SuspensionEnded(s) => ("suspension_ended", field("result", &s.result)),
        Body::Extension(e) => (
            "extension",
            join(vec![
                format!("+{} working days", e.working_days),
                field("approver", &e.approver),
                field("reason", &e.reason),
            ]),
        ),
        Body::Decision(d) => (
            "decision",
            join(vec![
                pb::DecisionOutcome::try_from(d.outcome)
                    .map(|o| short(o.as_str_name(), "DECISION_OUTCOME_"))
                    .unwrap_or_default(),
                field("reason", &d.reason),
                field("handler", &d.handler),
            ]),
        ),
        Body::Fee(f) => (
            "fee",
            join(vec![
                f.fee_item.clone(),
                yuan(f.amount_fen),
                field("receipt", &f.receipt_no),
            ]),
        ),
        Body::Completion(c) => (
            "completion",
            join(vec![
                c.result.clone(),
                field("certificate", &c.certificate_no),
            ]),
        ),
        Body::CertificateIssued(c) => (
            "certificate_issued",
            join(vec![
                c.certificate_no.clone(),
                pb::CertificateMethod::try_from(c.method)
                    .map(|m| short(m.as_str_name(), "CERTIFICATE_METHOD_"))
                    .unwrap_or_default(),
            ]),
        ),
        Body::Withdrawal(w) => ("withdrawal", field("reason", &w.reason)),
        Body::Rating(r) => (
            "rating",
            join(vec![
                format!("level {}", r.level),
                field("comment", &r.comment),
            ]),
        ),
    };
    (kind.to_owned(), details)
}
