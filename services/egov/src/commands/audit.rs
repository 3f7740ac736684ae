//! `egov audit` and `egov verify` (docs/design.md §9): the audit log listed and filtered, and
//! the hash chains of the record log and the audit log checked. Both read the database
//! directly, as an administrator on its machine does: the whole log, without a platform
//! running, and so that a platform tampered with cannot vouch for itself.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use egov_store::audit::verify_audit_rows;
use egov_store::{AuditFilter, AuditRow, Page, Store, StoreOptions};

use crate::cli::{AuditArgs, DatabaseArgs, VerifyArgs};
use crate::output::{Table, local_zone};
use crate::settings::{ConfigError, DatabaseUrl, load_password};

/// Cases one verification page reads (one snapshot).
const CASES_PER_PAGE: u32 = 500;
/// Audit rows one verification page reads.
const AUDIT_PER_PAGE: u32 = 5_000;
/// How often `egov verify` reports progress, in cases or audit rows.
const PROGRESS_EVERY: u64 = 50_000;

/// Opens the database the flags name.
async fn open(args: &DatabaseArgs) -> anyhow::Result<Store> {
    let url = match &args.database_url {
        Some(url) if !url.trim().is_empty() => DatabaseUrl::parse(url)?,
        _ => {
            let file = args.data_dir.join("egov.db");
            if !file.exists() {
                return Err(ConfigError(format!(
                    "no database: {} does not exist (give --database-url, or the --data-dir \
                     of `egov up`)",
                    file.display()
                ))
                .into());
            }
            DatabaseUrl::sqlite_in(&args.data_dir)
        }
    };
    let password = match &args.database_password_file {
        Some(path) => Some(load_password(path)?),
        None => None,
    };
    let options = StoreOptions {
        max_connections: 2,
        acquire_timeout: Duration::from_secs(10),
        password,
    };
    Store::connect_with(url.expose(), &options)
        .await
        .with_context(|| format!("cannot open the database {url}"))
}

/// A `--since`/`--until` value: RFC 3339, or a local date meaning its midnight.
fn parse_time(flag: &str, text: &str) -> Result<DateTime<Utc>, ConfigError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .and_then(|t| local_zone().from_local_datetime(&t).single())
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| {
            ConfigError(format!(
                "{flag} {text:?}: expected RFC 3339 (2026-12-01T09:00:00+08:00) or a date \
                 (2026-12-01)"
            ))
        })
}

/// `egov audit`: the acts matching the filters, oldest first.
pub async fn list(args: AuditArgs) -> anyhow::Result<ExitCode> {
    let filter = AuditFilter {
        principal: args.principal.clone(),
        action: args.action.clone(),
        outcome: args.outcome.clone(),
        since: args
            .since
            .as_deref()
            .map(|t| parse_time("--since", t))
            .transpose()?,
        until: args
            .until
            .as_deref()
            .map(|t| parse_time("--until", t))
            .transpose()?,
    };
    let store = open(&args.database).await?;
    let mut rows: Vec<AuditRow> = Vec::new();
    let mut token = None;
    while rows.len() < args.limit as usize {
        let want = (args.limit as usize - rows.len()).min(Page::MAX_SIZE as usize) as u32;
        let page = match token.take() {
            None => Page::first(want),
            Some(token) => Page::next(want, token),
        };
        let (page, next) = store.list_audit(&filter, page).await?;
        rows.extend(page);
        match next {
            Some(next) => token = Some(next),
            None => break,
        }
    }
    store.close().await;
    if args.json {
        for row in &rows {
            println!("{}", serde_json::to_string(row)?);
        }
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        println!("no audited acts match");
        return Ok(ExitCode::SUCCESS);
    }
    let mut table = Table::new(&[
        "SEQ",
        "AT",
        "PRINCIPAL",
        "ROLE",
        "ACTION",
        "TARGET",
        "OUTCOME",
        "PEER",
    ]);
    for row in &rows {
        table.row(vec![
            row.seq.to_string(),
            row.at
                .with_timezone(&local_zone())
                .format("%Y-%m-%d %H:%M:%S")
                .to_string(),
            row.principal.clone(),
            row.role.clone(),
            row.action.rsplit('/').next().unwrap_or_default().to_owned(),
            row.target.clone(),
            row.outcome.clone(),
            row.peer.clone().unwrap_or_default(),
        ]);
    }
    print!("{}", table.render());
    Ok(ExitCode::SUCCESS)
}

/// `egov verify`: every case's record chain, then the audit chain. Exit 1 naming the first
/// broken item of each (and how many cases are broken), 0 with a summary.
pub async fn verify(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let store = open(&args.database).await?;
    let progress = |what: &str, n: u64| {
        if !args.quiet {
            eprintln!("verified {n} {what} ...");
        }
    };

    let (mut cases, mut records, mut broken_cases) = (0u64, 0u64, 0u64);
    let mut first_case_break = None;
    let mut after: Option<String> = None;
    loop {
        let reports = store
            .verify_chains(after.as_deref(), CASES_PER_PAGE)
            .await?;
        let Some(last) = reports.last() else { break };
        after = Some(last.case_no.clone());
        for report in reports {
            cases += 1;
            records += report.records;
            if let Some(brk) = report.broken {
                broken_cases += 1;
                first_case_break.get_or_insert((report.case_no, brk));
            }
            if cases.is_multiple_of(PROGRESS_EVERY) {
                progress("cases", cases);
            }
        }
    }

    let (mut audit_rows, mut audit_break) = (0u64, None);
    let mut prev: Option<AuditRow> = None;
    loop {
        let from = prev.as_ref().map_or(0, |p| p.seq);
        let rows = store.read_audit(from, AUDIT_PER_PAGE).await?;
        let Some(last) = rows.last().cloned() else {
            break;
        };
        audit_rows += rows.len() as u64;
        if let Some(brk) = verify_audit_rows(prev.as_ref(), &rows) {
            audit_break = Some(brk);
            break;
        }
        if audit_rows / PROGRESS_EVERY != (audit_rows - rows.len() as u64) / PROGRESS_EVERY {
            progress("audit rows", audit_rows);
        }
        prev = Some(last);
    }
    store.close().await;

    if first_case_break.is_none() && audit_break.is_none() {
        println!(
            "ok: {cases} case chains ({records} records) and the audit chain ({audit_rows} rows) \
             are intact"
        );
        return Ok(ExitCode::SUCCESS);
    }
    if let Some((case_no, brk)) = &first_case_break {
        let place = match (&brk.event_id, brk.seq) {
            (Some(event_id), Some(seq)) => format!("record {event_id} (seq {seq})"),
            _ => "its head".to_owned(),
        };
        println!(
            "BROKEN: case {case_no}, at {place}: {} ({broken_cases} of {cases} case chains broken)",
            brk.kind
        );
    }
    if let Some(brk) = &audit_break {
        println!("BROKEN: audit log, at seq {}: {}", brk.seq, brk.kind);
    }
    Ok(ExitCode::FAILURE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339_or_local_dates() {
        assert_eq!(
            parse_time("--since", "2026-12-01T09:00:00+08:00").unwrap(),
            "2026-12-01T01:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert!(parse_time("--since", "2026-12-01").is_ok());
        assert!(
            parse_time("--until", "yesterday")
                .unwrap_err()
                .0
                .contains("--until")
        );
    }
}
