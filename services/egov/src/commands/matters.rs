//! `egov matters import FILE`, `egov matters list` and `egov matters history CODE`: the matter
//! catalogue through `UpsertMatters` (in batches), `ListMatters` and `ListMatterVersions`.
//!
//! Lines are checked here first (JSON, the `Matter` message, the catalogue's own rules), so a
//! bad line is reported with its number and every bad field, and never sent.

use std::fmt;
use std::io::BufRead;
use std::process::ExitCode;

use anyhow::Context;
use egov_proto::approval::v1 as pb;
use egov_proto::approval::v1::approval_service_client::ApprovalServiceClient;
use egov_runtime::access::Authed;

use super::lines::{self, Line};
use crate::cli::{MattersHistoryArgs, MattersImportArgs, MattersListArgs};
use crate::client;
use crate::output::{self, Table};
use crate::settings::Target;

/// Matters per `UpsertMatters` call (the platform takes up to 1000).
const BATCH: usize = 500;

/// A catalogue line that was not stored: its number, its code if known, and each bad field.
#[derive(Debug, Clone)]
pub struct Rejection {
    pub line: usize,
    pub matter_code: Option<String>,
    /// `(field, reason)`; the field is empty when the line as a whole is bad.
    pub violations: Vec<(String, String)>,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: ", self.line)?;
        if let Some(code) = &self.matter_code {
            write!(f, "matter_code {code}: ")?;
        }
        for (i, (field, reason)) in self.violations.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            if field.is_empty() {
                f.write_str(reason)?;
            } else {
                write!(f, "{field}: {reason}")?;
            }
        }
        Ok(())
    }
}

#[derive(Debug, Default)]
pub struct Report {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub rejected: Vec<Rejection>,
}

impl Report {
    pub fn render(&self) -> String {
        let mut out = format!(
            "{} created, {} updated, {} unchanged, {} rejected\n",
            self.created,
            self.updated,
            self.unchanged,
            self.rejected.len()
        );
        for r in &self.rejected {
            out.push_str(&format!("  {r}\n"));
        }
        out
    }
}

pub async fn import(args: MattersImportArgs) -> anyhow::Result<ExitCode> {
    let target = Target::from_args(&args.client)?;
    let reader = lines::open(&args.file)?;
    let mut approval = client::approval(&target).await?;
    let report = import_matters(&mut approval, &target, reader)
        .await
        .with_context(|| format!("importing {}", args.file.display()))?;
    println!("{}: {}", args.file.display(), report.render().trim_end());
    Ok(if report.rejected.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Upserts every valid matter of `reader`, in batches, and answers what became of each line.
pub async fn import_matters(
    client: &mut ApprovalServiceClient<Authed>,
    target: &Target,
    reader: impl BufRead,
) -> anyhow::Result<Report> {
    let mut report = Report::default();
    let mut source = lines::Lines::new(reader);
    let mut batch: Vec<(usize, pb::Matter)> = Vec::with_capacity(BATCH);
    loop {
        let line = source.next_line()?;
        let done = line.is_none();
        if let Some(line) = line {
            match parse(&line) {
                Ok(matter) => batch.push((line.number, matter)),
                Err(rejection) => report.rejected.push(rejection),
            }
        }
        if batch.len() >= BATCH || (done && !batch.is_empty()) {
            send(client, target, std::mem::take(&mut batch), &mut report).await?;
        }
        if done {
            report.rejected.sort_by_key(|r| r.line);
            return Ok(report);
        }
    }
}

async fn send(
    client: &mut ApprovalServiceClient<Authed>,
    target: &Target,
    batch: Vec<(usize, pb::Matter)>,
    report: &mut Report,
) -> anyhow::Result<()> {
    let (numbers, matters): (Vec<usize>, Vec<pb::Matter>) = batch.into_iter().unzip();
    let results = client
        .upsert_matters(pb::UpsertMattersRequest { matters })
        .await
        .map_err(|s| client::call_failed(target, "importing matters", s))?
        .into_inner()
        .results;
    for (line, result) in numbers.into_iter().zip(results) {
        match pb::MatterResultStatus::try_from(result.status) {
            Ok(pb::MatterResultStatus::Created) => report.created += 1,
            Ok(pb::MatterResultStatus::Updated) => report.updated += 1,
            Ok(pb::MatterResultStatus::Unchanged) => report.unchanged += 1,
            _ => report.rejected.push(Rejection {
                line,
                matter_code: Some(result.matter_code).filter(|c| !c.is_empty()),
                violations: result
                    .violations
                    .into_iter()
                    .map(|v| (v.field, v.reason))
                    .collect(),
            }),
        }
    }
    Ok(())
}

fn parse(line: &Line) -> Result<pb::Matter, Rejection> {
    let reject = |matter_code, violations| Rejection {
        line: line.number,
        matter_code,
        violations,
    };
    let matter = match egov_proto::json::parse_matter_line(&line.text) {
        Ok(m) => m,
        Err(e) => {
            let code = serde_json::from_str::<serde_json::Value>(&line.text)
                .ok()
                .and_then(|v| {
                    ["matter_code", "matterCode"]
                        .iter()
                        .find_map(|k| v.get(k)?.as_str().map(str::to_owned))
                });
            // A field's violation as the platform words one; a line that is not JSON whole.
            let violation = if e.syntax || e.path.is_empty() {
                (String::new(), e.to_string())
            } else {
                (e.path, e.reason)
            };
            return Err(reject(code, vec![violation]));
        }
    };
    let code = Some(matter.matter_code.clone()).filter(|c| !c.is_empty());
    match egov_domain::matter::Matter::try_from(matter.clone()) {
        Ok(_) => Ok(matter),
        Err(violations) => Err(reject(
            code,
            violations
                .violations()
                .iter()
                .map(|v| (v.field.clone(), v.reason.clone()))
                .collect(),
        )),
    }
}

pub async fn list(args: MattersListArgs) -> anyhow::Result<ExitCode> {
    let target = Target::from_args(&args.client)?;
    let mut approval = client::approval(&target).await?;
    let mut table = Table::new(&[
        "code",
        "department",
        "kind",
        "promised",
        "statutory",
        "fees",
        "name",
    ]);
    let mut token = String::new();
    loop {
        let page = approval
            .list_matters(pb::ListMattersRequest {
                department: args.department.clone().unwrap_or_default(),
                page_size: 1000,
                page_token: token,
                region: args.region.clone().unwrap_or_default(),
            })
            .await
            .map_err(|s| client::call_failed(&target, "listing matters", s))?
            .into_inner();
        for m in &page.matters {
            if args.json {
                println!("{}", output::json_line(m));
            } else {
                table.row(vec![
                    m.matter_code.clone(),
                    m.department.clone(),
                    pb::MatterKind::try_from(m.kind).map_or_else(
                        |_| m.kind.to_string(),
                        |k| output::short(k.as_str_name(), "MATTER_KIND_"),
                    ),
                    limit(m.promised_limit.as_ref()),
                    limit(m.statutory_limit.as_ref()),
                    m.fee_items
                        .iter()
                        .map(|f| format!("{} ≤{}", f.fee_item, yuan(f.max_fen)))
                        .collect::<Vec<_>>()
                        .join(", "),
                    m.name.clone(),
                ]);
            }
        }
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    if !args.json {
        if table.is_empty() {
            println!("The catalogue is empty: load one with `egov matters import FILE`.");
        } else {
            print!("{}", table.render());
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn history(args: MattersHistoryArgs) -> anyhow::Result<ExitCode> {
    let target = Target::from_args(&args.client)?;
    let mut approval = client::approval(&target).await?;
    let versions = approval
        .list_matter_versions(pb::ListMatterVersionsRequest {
            matter_code: args.code.clone(),
        })
        .await
        .map_err(|s| client::call_failed(&target, "listing the matter's versions", s))?
        .into_inner()
        .versions;
    if args.json {
        for v in &versions {
            println!("{}", output::json_line(v));
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut table = Table::new(&[
        "version",
        "in force from",
        "kind",
        "promised",
        "statutory",
        "name",
    ]);
    for v in &versions {
        let m = v.matter.clone().unwrap_or_default();
        table.row(vec![
            v.version.to_string(),
            output::local_time(v.valid_from.as_ref()),
            pb::MatterKind::try_from(m.kind).map_or_else(
                |_| m.kind.to_string(),
                |k| output::short(k.as_str_name(), "MATTER_KIND_"),
            ),
            limit(m.promised_limit.as_ref()),
            limit(m.statutory_limit.as_ref()),
            m.name.clone(),
        ]);
    }
    print!("{}", table.render());
    Ok(ExitCode::SUCCESS)
}

fn limit(l: Option<&pb::TimeLimit>) -> String {
    match l {
        None => "-".into(),
        Some(l) => match pb::LimitUnit::try_from(l.unit) {
            Ok(pb::LimitUnit::CalendarDays) => format!("{} calendar days", l.amount),
            _ if l.amount == 0 => "same day".into(),
            _ => format!("{} working days", l.amount),
        },
    }
}

/// Fen as yuan: 5000 -> "¥50", 12345 -> "¥123.45" (money is integer fen, docs/design.md §2).
pub fn yuan(fen: i64) -> String {
    if fen % 100 == 0 {
        format!("¥{}", fen / 100)
    } else {
        format!("¥{}.{:02}", fen / 100, (fen % 100).abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_catalogue_lines_name_their_fields() {
        let line = |text: &str| Line {
            number: 3,
            text: text.into(),
        };
        let r = parse(&line("nope")).unwrap_err();
        assert!(r.to_string().starts_with("line 3: not valid JSON"), "{r}");
        let r = parse(&line(
            r#"{"matterCode":"M-1","name":"x","department":"d","kind":"MATTER_KIND_PROMISED","statutoryLimit":{"amount":20,"unit":"LIMIT_UNIT_WORKING_DAYS"},"promisedLimit":{"amount":30,"unit":"LIMIT_UNIT_WORKING_DAYS"},"calendar":"cn"}"#,
        ))
        .unwrap_err();
        assert!(
            r.to_string()
                .starts_with("line 3: matter_code M-1: promised_limit: "),
            "{r}"
        );
    }

    #[test]
    fn money_reads_as_yuan() {
        assert_eq!(yuan(5000), "¥50");
        assert_eq!(yuan(12345), "¥123.45");
    }
}
