//! `egov rules show|set`: the supervision rules' configuration through the approval platform.

use std::process::ExitCode;

use anyhow::Context;
use egov_domain::rules::strip_json_comments;
use egov_proto::approval::v1 as pb;

use crate::cli::{RulesSetArgs, StatusArgs};
use crate::client;
use crate::settings::Target;

pub async fn show(args: StatusArgs) -> anyhow::Result<ExitCode> {
    let target = Target::from_args(&args.client)?;
    let config = client::approval(&target)
        .await?
        .get_rule_config(pb::GetRuleConfigRequest {})
        .await
        .map_err(|s| client::call_failed(&target, "reading the rule configuration", s))?
        .into_inner();
    println!("// version {}", config.version);
    println!("{}", config.config_json);
    Ok(ExitCode::SUCCESS)
}

pub async fn set(args: RulesSetArgs) -> anyhow::Result<ExitCode> {
    let target = Target::from_args(&args.client)?;
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let response = client::approval(&target)
        .await?
        .update_rule_config(pb::UpdateRuleConfigRequest {
            change: Some(pb::update_rule_config_request::Change::ConfigJson(
                strip_json_comments(&text),
            )),
            expected_version: args.expected_version,
        })
        .await
        .map_err(|s| {
            client::call_failed(
                &target,
                &format!(
                    "setting the rule configuration from {}",
                    args.file.display()
                ),
                s,
            )
        })?
        .into_inner();
    let version = response.config.map_or(0, |c| c.version);
    println!(
        "rule configuration version {version} in force; due instants of {} open cases recomputed",
        response.recomputed_cases
    );
    Ok(ExitCode::SUCCESS)
}
