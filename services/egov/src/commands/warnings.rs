//! `egov watch` (warnings live, from `StreamWarnings`), `egov warnings` (a list, from
//! `ListWarnings`) and `egov warning ack|answer|close|escalate` (the correction workflow).
//!
//! `watch` remembers the `position` of the last warning it printed; when the connection drops
//! it reconnects and resumes after that position, so a supervisor who reconnects misses
//! nothing and sees nothing twice.

use std::process::ExitCode;
use std::time::Duration;

use egov_proto::supervision::v1 as spb;
use egov_runtime::shutdown::Shutdown;

use crate::cli::{
    Level, Rule, WarningCommand, WarningFilterArgs, WarningTransitionArgs, WarningsArgs, WatchArgs,
};
use crate::client;
use crate::output::{self, Table, local_time};
use crate::settings::Target;

/// The longest wait between two reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

pub fn level(l: Level) -> spb::WarningLevel {
    match l {
        Level::Reminder => spb::WarningLevel::Reminder,
        Level::Yellow => spb::WarningLevel::YellowCard,
        Level::Red => spb::WarningLevel::RedCard,
    }
}

pub fn rule(r: Rule) -> spb::WarningRule {
    use spb::WarningRule as W;
    match r {
        Rule::ApproachingDeadline => W::ApproachingDeadline,
        Rule::PromisedLimitPassed => W::PromisedLimitPassed,
        Rule::StatutoryLimitPassed => W::StatutoryLimitPassed,
        Rule::AcceptanceOverdue => W::AcceptanceOverdue,
        Rule::StepOverdue => W::StepOverdue,
        Rule::RepeatedCorrection => W::RepeatedCorrection,
        Rule::MissingReasons => W::MissingReasons,
        Rule::SuspensionAbuse => W::SuspensionAbuse,
        Rule::ExtensionAbuse => W::ExtensionAbuse,
        Rule::IrregularFee => W::IrregularFee,
        Rule::ProcedureAnomaly => W::ProcedureAnomaly,
        Rule::CertificateOverdue => W::CertificateOverdue,
        Rule::Integrity => W::Integrity,
        Rule::ComplaintOverdue => W::ComplaintOverdue,
    }
}

fn levels(filter: &WarningFilterArgs) -> Vec<i32> {
    filter.level.iter().map(|l| level(*l) as i32).collect()
}

pub async fn watch(args: WatchArgs) -> anyhow::Result<ExitCode> {
    let target = Target::from_args(&args.client)?;
    let request = spb::StreamWarningsRequest {
        department: args.filter.department.clone().unwrap_or_default(),
        region: args.filter.region.clone().unwrap_or_default(),
        levels: levels(&args.filter),
        after: args.after.clone().unwrap_or_default(),
        office: args.filter.office.clone().unwrap_or_default(),
        // A person watching is told where the backlog ends; JSON lines stay warnings only.
        mark_caught_up: !args.json,
    };
    if !args.json {
        eprintln!("Watching warnings at {target} (Ctrl-C to stop)...");
    }
    follow(&target, request, args.json, Shutdown::never()).await?;
    Ok(ExitCode::SUCCESS)
}

/// Prints every warning of the stream, reconnecting after a drop, until `shutdown` (or until
/// the platform closes the stream for good: it is shutting down).
pub async fn follow(
    target: &Target,
    mut request: spb::StreamWarningsRequest,
    json: bool,
    mut shutdown: Shutdown,
) -> anyhow::Result<()> {
    let mut supervision = client::supervision(target).await?;
    let mut failures = 0u32;
    loop {
        let opened = tokio::select! {
            opened = supervision.stream_warnings(request.clone()) => opened,
            () = shutdown.wait() => return Ok(()),
        };
        let mut stream = match opened {
            Ok(response) => response.into_inner(),
            Err(status) if client::is_transient(&status) => {
                failures += 1;
                reconnecting(&status, failures, &mut shutdown).await;
                continue;
            }
            Err(status) => return Err(client::call_failed(target, "watching warnings", status)),
        };
        if failures > 0 {
            eprintln!("reconnected to {target}; resuming after the last warning shown");
            failures = 0;
        }
        loop {
            let message = tokio::select! {
                m = stream.message() => m,
                () = shutdown.wait() => return Ok(()),
            };
            match message {
                Ok(Some(response)) => {
                    if response.caught_up {
                        eprintln!("(caught up: new warnings appear as they are raised)");
                    }
                    let Some(warning) = response.warning else {
                        continue;
                    };
                    if json {
                        println!("{}", output::json_line(&warning));
                    } else {
                        println!("{}", output::warning_line(&warning));
                    }
                    request.after = warning.position;
                }
                // The platform ends the stream when it shuts down: wait for it to come back.
                Ok(None) => {
                    failures += 1;
                    reconnecting(
                        &tonic::Status::unavailable("the stream was closed by the platform"),
                        failures,
                        &mut shutdown,
                    )
                    .await;
                    break;
                }
                Err(status) if client::is_transient(&status) => {
                    failures += 1;
                    reconnecting(&status, failures, &mut shutdown).await;
                    break;
                }
                Err(status) => {
                    return Err(client::call_failed(target, "watching warnings", status));
                }
            }
        }
    }
}

async fn reconnecting(status: &tonic::Status, failures: u32, shutdown: &mut Shutdown) {
    let wait = Duration::from_millis(250 << failures.min(5)).min(MAX_BACKOFF);
    if failures == 1 || failures.is_multiple_of(10) {
        eprintln!(
            "connection lost ({}); reconnecting every {}s...",
            status.message(),
            wait.as_secs_f32()
        );
    }
    tokio::select! {
        () = tokio::time::sleep(wait) => {}
        () = shutdown.wait() => {}
    }
}

pub async fn list(args: WarningsArgs) -> anyhow::Result<ExitCode> {
    let target = Target::from_args(&args.client)?;
    let mut supervision = client::supervision(&target).await?;
    let mut table = Table::new(&[
        "raised",
        "level",
        "rule",
        "state",
        "case",
        "department",
        "office",
        "message",
    ]);
    let mut token = String::new();
    let mut shown = 0u32;
    while shown < args.limit {
        let page = supervision
            .list_warnings(spb::ListWarningsRequest {
                department: args.filter.department.clone().unwrap_or_default(),
                region: args.filter.region.clone().unwrap_or_default(),
                levels: levels(&args.filter),
                case_no: args.case_no.clone().unwrap_or_default(),
                rules: args.rule.iter().map(|r| rule(*r) as i32).collect(),
                states: Vec::new(),
                page_size: i32::try_from((args.limit - shown).min(1000)).unwrap_or(1000),
                page_token: token,
                office: args.filter.office.clone().unwrap_or_default(),
            })
            .await
            .map_err(|s| client::call_failed(&target, "listing warnings", s))?
            .into_inner();
        for w in page.warnings.iter().take((args.limit - shown) as usize) {
            shown += 1;
            if args.json {
                println!("{}", output::json_line(w));
            } else {
                table.row(vec![
                    local_time(w.raised_at.as_ref()),
                    output::level_name(w.level),
                    output::rule_name(w.rule),
                    output::warning_state_name(w.state),
                    w.case_no.clone(),
                    w.department.clone(),
                    w.office.clone(),
                    w.message.clone(),
                ]);
            }
        }
        if page.next_page_token.is_empty() || page.warnings.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    if !args.json {
        if table.is_empty() {
            println!("No warnings match.");
        } else {
            print!("{}", table.render());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `egov warning ack|answer|close|escalate ID --actor NAME --reason TEXT [--attachment REF]`:
/// one workflow transition; prints the warning's new state and its history.
pub async fn transition(command: WarningCommand) -> anyhow::Result<ExitCode> {
    let (verb, args): (&str, WarningTransitionArgs) = match command {
        WarningCommand::Ack(a) => ("acknowledging", a),
        WarningCommand::Answer(a) => ("answering", a),
        WarningCommand::Close(a) => ("closing", a),
        WarningCommand::Escalate(a) => ("escalating", a),
    };
    let target = Target::from_args(&args.client)?;
    let mut supervision = client::supervision(&target).await?;
    let input = Some(spb::WarningTransitionInput {
        id: args.id.clone(),
        actor: args.actor.clone(),
        reason: args.reason.clone(),
        attachments: args.attachments.clone(),
        office: args.office.clone().unwrap_or_default(),
    });
    let what = format!("{verb} warning {}", args.id);
    let failed = |s| client::call_failed(&target, &what, s);
    let warning = match verb {
        "acknowledging" => {
            supervision
                .acknowledge_warning(spb::AcknowledgeWarningRequest { input })
                .await
                .map_err(failed)?
                .into_inner()
                .warning
        }
        "answering" => {
            supervision
                .answer_warning(spb::AnswerWarningRequest { input })
                .await
                .map_err(failed)?
                .into_inner()
                .warning
        }
        "closing" => {
            supervision
                .close_warning(spb::CloseWarningRequest { input })
                .await
                .map_err(failed)?
                .into_inner()
                .warning
        }
        _ => {
            supervision
                .escalate_warning(spb::EscalateWarningRequest { input })
                .await
                .map_err(failed)?
                .into_inner()
                .warning
        }
    };
    let Some(warning) = warning else {
        anyhow::bail!("the platform answered without the warning");
    };
    if args.json {
        println!("{}", output::json_line(&warning));
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "warning {} is now {}",
        warning.id,
        output::warning_state_name(warning.state)
    );
    let mut table = Table::new(&["at", "state", "actor", "note"]);
    for t in &warning.history {
        let mut note = t.note.clone();
        if !t.office.is_empty() {
            note = format!("{note} [now held by the office of region {}]", t.office);
        }
        if !t.attachments.is_empty() {
            note = format!("{note} [attachments: {}]", t.attachments.join(", "));
        }
        table.row(vec![
            local_time(t.at.as_ref()),
            output::warning_state_name(t.state),
            t.actor.clone(),
            note,
        ]);
    }
    print!("{}", table.render());
    Ok(ExitCode::SUCCESS)
}
