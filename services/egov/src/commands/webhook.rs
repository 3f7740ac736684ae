//! `egov webhook add|list|remove|deliveries`: the supervision platform's webhooks, receivers
//! of warnings by signed HTTP POST (an SMS or e-mail gateway), and what was delivered to them.

use std::process::ExitCode;

use egov_proto::supervision::v1 as spb;

use crate::cli::{
    WebhookAddArgs, WebhookCommand, WebhookDeliveriesArgs, WebhookIdArgs, WebhookListArgs,
};
use crate::client;
use crate::commands::warnings::level;
use crate::output::{self, Table, local_time};
use crate::settings::Target;

pub async fn run(command: WebhookCommand) -> anyhow::Result<ExitCode> {
    match command {
        WebhookCommand::Add(args) => add(args).await,
        WebhookCommand::List(args) => list(args).await,
        WebhookCommand::Remove(args) => remove(args).await,
        WebhookCommand::Deliveries(args) => deliveries(args).await,
    }
}

/// The filters of a hook in a few words: `department market, region 3301*, yellow and up`.
fn filters(h: &spb::Webhook) -> String {
    let mut parts = Vec::new();
    if !h.department.is_empty() {
        parts.push(format!("department {}", h.department));
    }
    if !h.region.is_empty() {
        parts.push(format!("region {}*", h.region));
    }
    match h.min_level() {
        spb::WarningLevel::Unspecified | spb::WarningLevel::Reminder => {}
        spb::WarningLevel::YellowCard => parts.push("yellow and red cards".into()),
        spb::WarningLevel::RedCard => parts.push("red cards".into()),
    }
    if parts.is_empty() {
        "every warning".into()
    } else {
        parts.join(", ")
    }
}

async fn add(args: WebhookAddArgs) -> anyhow::Result<ExitCode> {
    let target = Target::from_args(&args.client)?;
    let hook = client::supervision(&target)
        .await?
        .create_webhook(spb::CreateWebhookRequest {
            url: args.url.clone(),
            secret: args.secret.clone(),
            department: args.department.clone().unwrap_or_default(),
            region: args.region.clone().unwrap_or_default(),
            min_level: args.min_level.map_or(0, |l| level(l) as i32),
            max_attempts: args.max_attempts.unwrap_or(0),
        })
        .await
        .map_err(|s| client::call_failed(&target, "adding the webhook", s))?
        .into_inner()
        .webhook
        .ok_or_else(|| anyhow::anyhow!("the platform answered without the webhook"))?;
    if args.json {
        println!("{}", output::json_line(&hook));
    } else {
        println!(
            "webhook {} added: {} gets {} (at most {} attempts each); \
             `egov webhook deliveries {}` shows what was sent",
            hook.id,
            hook.url,
            filters(&hook),
            hook.max_attempts,
            hook.id
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn list(args: WebhookListArgs) -> anyhow::Result<ExitCode> {
    let target = Target::from_args(&args.client)?;
    let hooks = client::supervision(&target)
        .await?
        .list_webhooks(spb::ListWebhooksRequest {})
        .await
        .map_err(|s| client::call_failed(&target, "listing webhooks", s))?
        .into_inner()
        .webhooks;
    if args.json {
        for h in &hooks {
            println!("{}", output::json_line(h));
        }
        return Ok(ExitCode::SUCCESS);
    }
    if hooks.is_empty() {
        println!("No webhooks. Add one with `egov webhook add URL --secret SECRET`.");
        return Ok(ExitCode::SUCCESS);
    }
    let mut table = Table::new(&[
        "id",
        "state",
        "pending",
        "delivered",
        "failed",
        "attempts",
        "filters",
        "url",
    ]);
    for h in &hooks {
        table.row(vec![
            h.id.clone(),
            if h.active { "active" } else { "removed" }.into(),
            h.pending.to_string(),
            h.delivered.to_string(),
            h.failed.to_string(),
            h.max_attempts.to_string(),
            filters(h),
            h.url.clone(),
        ]);
    }
    print!("{}", table.render());
    Ok(ExitCode::SUCCESS)
}

async fn remove(args: WebhookIdArgs) -> anyhow::Result<ExitCode> {
    let target = Target::from_args(&args.client)?;
    let hook = client::supervision(&target)
        .await?
        .delete_webhook(spb::DeleteWebhookRequest {
            id: args.id.clone(),
        })
        .await
        .map_err(|s| client::call_failed(&target, &format!("removing webhook {}", args.id), s))?
        .into_inner()
        .webhook
        .ok_or_else(|| anyhow::anyhow!("the platform answered without the webhook"))?;
    println!(
        "webhook {} removed ({} delivered, {} failed, {} cancelled); its deliveries stay listed",
        hook.id, hook.delivered, hook.failed, hook.cancelled
    );
    Ok(ExitCode::SUCCESS)
}

fn state_name(state: i32) -> String {
    spb::WebhookDeliveryState::try_from(state).map_or_else(
        |_| state.to_string(),
        |s| output::short(s.as_str_name(), "WEBHOOK_DELIVERY_STATE_"),
    )
}

async fn deliveries(args: WebhookDeliveriesArgs) -> anyhow::Result<ExitCode> {
    let target = Target::from_args(&args.client)?;
    let mut supervision = client::supervision(&target).await?;
    let mut states = Vec::new();
    if args.failed {
        states.push(spb::WebhookDeliveryState::Failed as i32);
    }
    if args.pending {
        states.push(spb::WebhookDeliveryState::Pending as i32);
    }
    let mut table = Table::new(&[
        "id",
        "warning",
        "state",
        "attempts",
        "delivered",
        "next attempt",
        "last error",
    ]);
    let mut token = String::new();
    let mut shown = 0u32;
    while shown < args.limit {
        let page = supervision
            .list_webhook_deliveries(spb::ListWebhookDeliveriesRequest {
                webhook_id: args.id.clone(),
                states: states.clone(),
                page_size: i32::try_from((args.limit - shown).min(1000)).unwrap_or(1000),
                page_token: token,
            })
            .await
            .map_err(|s| {
                client::call_failed(
                    &target,
                    &format!("listing the deliveries of webhook {}", args.id),
                    s,
                )
            })?
            .into_inner();
        for d in page.deliveries.iter().take((args.limit - shown) as usize) {
            shown += 1;
            if args.json {
                println!("{}", output::json_line(d));
            } else {
                table.row(vec![
                    d.id.clone(),
                    d.warning_id.clone(),
                    state_name(d.state),
                    d.attempts.to_string(),
                    local_time(d.delivered_at.as_ref()),
                    local_time(d.next_attempt_at.as_ref()),
                    if d.last_error.is_empty() {
                        "-".into()
                    } else {
                        d.last_error.clone()
                    },
                ]);
            }
        }
        if page.next_page_token.is_empty() || page.deliveries.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    if !args.json {
        if table.is_empty() {
            println!("No deliveries match.");
        } else {
            print!("{}", table.render());
        }
    }
    Ok(ExitCode::SUCCESS)
}
