//! `egov regions import|list` and `egov departments import|list`: the jurisdiction tree and
//! the departments through `UpsertRegions`/`UpsertDepartments` (in batches, each line answered)
//! and `ListRegions`/`ListDepartments`.

use std::process::ExitCode;

use std::io::BufRead;

use anyhow::Context;
use egov_proto::approval::v1 as pb;
use egov_proto::approval::v1::approval_service_client::ApprovalServiceClient;
use egov_runtime::access::Authed;
use serde::de::DeserializeOwned;

use super::lines::{self, Lines};
use super::matters::Rejection;
use crate::cli::{RegistryImportArgs, RegistryListArgs};
use crate::client;
use crate::output::{self, Table};
use crate::settings::Target;

/// Entries per upsert call (the platform takes up to 1000).
const BATCH: usize = 500;

/// Which registry a command works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registry {
    Regions,
    Departments,
}

impl Registry {
    pub fn noun(self) -> &'static str {
        match self {
            Registry::Regions => "regions",
            Registry::Departments => "departments",
        }
    }
}

/// Reads every line of `args.file`, sends the valid ones in batches, and reports what became
/// of each line; exit 1 when any line was refused.
pub async fn import(registry: Registry, args: RegistryImportArgs) -> anyhow::Result<ExitCode> {
    let target = Target::from_args(&args.client)?;
    let reader = lines::open(&args.file)?;
    let mut approval = client::approval(&target).await?;
    let (stored, rejected) = import_from(&mut approval, &target, registry, reader)
        .await
        .with_context(|| format!("importing {}", args.file.display()))?;
    println!(
        "{}: {stored} {} stored, {} refused",
        args.file.display(),
        registry.noun(),
        rejected.len()
    );
    for r in &rejected {
        println!("  {r}");
    }
    Ok(if rejected.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Sends every valid entry of `reader` in batches; answers how many were stored and every
/// refused line, by line number.
pub async fn import_from(
    approval: &mut ApprovalServiceClient<Authed>,
    target: &Target,
    registry: Registry,
    reader: impl BufRead,
) -> anyhow::Result<(usize, Vec<Rejection>)> {
    let mut source = Lines::new(reader);
    let mut stored = 0usize;
    let mut rejected: Vec<Rejection> = Vec::new();
    let mut batch: Vec<(usize, String)> = Vec::new();
    let mut regions = Vec::new();
    let mut departments = Vec::new();
    loop {
        let line = source.next_line()?;
        let done = line.is_none();
        if let Some(line) = line {
            let parsed = match registry {
                Registry::Regions => parse::<pb::Region>(&line.text).map(|r| {
                    let code = r.code.clone();
                    regions.push(r);
                    code
                }),
                Registry::Departments => parse::<pb::Department>(&line.text).map(|d| {
                    let code = d.code.clone();
                    departments.push(d);
                    code
                }),
            };
            match parsed {
                Ok(code) => batch.push((line.number, code)),
                Err(e) => rejected.push(Rejection {
                    line: line.number,
                    matter_code: None,
                    violations: vec![(String::new(), e)],
                }),
            }
        }
        if batch.len() >= BATCH || (done && !batch.is_empty()) {
            let what = format!("importing {}", registry.noun());
            let results = match registry {
                Registry::Regions => {
                    approval
                        .upsert_regions(pb::UpsertRegionsRequest {
                            regions: std::mem::take(&mut regions),
                        })
                        .await
                        .map_err(|s| client::call_failed(target, &what, s))?
                        .into_inner()
                        .results
                }
                Registry::Departments => {
                    approval
                        .upsert_departments(pb::UpsertDepartmentsRequest {
                            departments: std::mem::take(&mut departments),
                        })
                        .await
                        .map_err(|s| client::call_failed(target, &what, s))?
                        .into_inner()
                        .results
                }
            };
            for ((number, code), result) in std::mem::take(&mut batch).into_iter().zip(results) {
                if result.stored {
                    stored += 1;
                } else {
                    rejected.push(Rejection {
                        line: number,
                        matter_code: None,
                        violations: result
                            .violations
                            .into_iter()
                            .map(|v| (format!("{code}: {}", v.field), v.reason))
                            .collect(),
                    });
                }
            }
        }
        if done {
            break;
        }
    }
    rejected.sort_by_key(|r| r.line);
    Ok((stored, rejected))
}

fn parse<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    serde_json::from_str(text).map_err(|e| format!("not a valid entry: {e}"))
}

/// Prints the registry's entries of a subtree, as a table or JSON lines.
pub async fn list(registry: Registry, args: RegistryListArgs) -> anyhow::Result<ExitCode> {
    let target = Target::from_args(&args.client)?;
    let mut approval = client::approval(&target).await?;
    let within = args.within.clone().unwrap_or_default();
    let what = format!("listing {}", registry.noun());
    let table = match registry {
        Registry::Regions => {
            let regions = approval
                .list_regions(pb::ListRegionsRequest { region: within })
                .await
                .map_err(|s| client::call_failed(&target, &what, s))?
                .into_inner()
                .regions;
            let mut table = Table::new(&["code", "level", "parent", "name"]);
            for r in &regions {
                if args.json {
                    println!("{}", output::json_line(r));
                }
                let level = pb::RegionLevel::try_from(r.level).map_or_else(
                    |_| r.level.to_string(),
                    |l| output::short(l.as_str_name(), "REGION_LEVEL_"),
                );
                table.row(vec![
                    r.code.clone(),
                    level,
                    r.parent.clone(),
                    r.name.clone(),
                ]);
            }
            table
        }
        Registry::Departments => {
            let departments = approval
                .list_departments(pb::ListDepartmentsRequest { region: within })
                .await
                .map_err(|s| client::call_failed(&target, &what, s))?
                .into_inner()
                .departments;
            let mut table = Table::new(&["code", "region", "name"]);
            for d in &departments {
                if args.json {
                    println!("{}", output::json_line(d));
                }
                table.row(vec![d.code.clone(), d.region.clone(), d.name.clone()]);
            }
            table
        }
    };
    if !args.json {
        if table.is_empty() {
            println!(
                "No {} registered here: load them with `egov {} import FILE`.",
                registry.noun(),
                registry.noun()
            );
        } else {
            print!("{}", table.render());
        }
    }
    Ok(ExitCode::SUCCESS)
}
