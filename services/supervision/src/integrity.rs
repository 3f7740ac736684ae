//! The integrity worker (docs/design.md §9): re-verifies the hash chains of the record log and
//! the audit log while the platform runs, and raises the alarm when a link breaks.
//!
//! Three loops, each kept alive on its own:
//! - the **log follower** (cursor `integrity.log`) reads new records and re-verifies the whole
//!   chain of every case they joined, so a new link is checked with everything before it (a
//!   first start begins at the head of each log: the sweep covers what came before);
//! - the **audit follower** (cursor `integrity.audit`, a `seq`) checks each new audit row, and
//!   the row it links to, again;
//! - the **sweep** verifies every case's chain and the whole audit chain at start, and again
//!   every [`SupervisionOptions::integrity_sweep`](crate::SupervisionOptions) (default daily),
//!   page by page, so a change to a record no new link touches is still found.
//!
//! The alarm: an error in the log, [`WorkerStats::integrity_breaks`](crate::WorkerStats), and
//! a warning of rule `integrity` (`egov_domain::rules::integrity`) held by the province office,
//! one per broken case chain and per broken audit row. A follower's warnings and its cursor are
//! written in one transaction, as the log follower's are.

use std::sync::atomic::Ordering;

use chrono::{DateTime, Utc};
use egov_domain::rules::WarningDraft;
use egov_domain::rules::integrity;
use egov_domain::warning::WarningDetail;
use egov_store::{AuditBreak, ChainReport, LogPosition, NewWarning, Store};

use crate::service::Supervision;
use egov_runtime::follow::{Follower, Step, Wake, follow};

use crate::workers::{BATCH, WorkerError};

/// The log follower's name in the store's consumer cursors.
pub(crate) const LOG_CONSUMER: &str = "integrity.log";
/// The audit follower's.
pub(crate) const AUDIT_CONSUMER: &str = "integrity.audit";

/// Cases one sweep page verifies (one snapshot).
const SWEEP_CASES: u32 = 500;

/// Runs the three loops until shutdown.
pub(crate) async fn run(s: &Supervision) {
    tokio::join!(
        crate::workers::keep_alive("integrity log follower", s, || follow_log(s)),
        crate::workers::keep_alive("integrity audit follower", s, || follow_audit(s)),
        crate::workers::keep_alive("integrity sweep", s, || sweep(s)),
    );
}

/// Follows the record log: verifies the chain of every case a batch touches.
struct LogLinks<'a> {
    s: &'a Supervision,
    after: LogPosition,
}

impl Follower for LogLinks<'_> {
    type Error = WorkerError;

    async fn step(&mut self) -> Result<Step, WorkerError> {
        let (s, store) = (self.s, self.s.store());
        let entries = store.read_log(self.after, BATCH).await?;
        let Some(&(last, _)) = entries.last() else {
            return Ok(Step::Empty);
        };
        let case_nos = crate::follower::cases_of(&entries);
        let reports = store.verify_cases(&case_nos).await?;
        let warnings = record_alarms(s, &reports).await?;
        store
            .advance_cursor_with_warnings(LOG_CONSUMER, &last.to_string(), &warnings)
            .await?;
        self.after = last;
        s.progress()
            .integrity_checked
            .fetch_add(reports.len() as u64, Ordering::Relaxed);
        Ok(Step::Read)
    }

    async fn pending(&mut self) -> Result<bool, WorkerError> {
        Ok(self.s.store().log_pending(self.after).await?)
    }
}

async fn follow_log(s: &Supervision) -> Result<(), WorkerError> {
    // Subscribed before the first read, so a commit made meanwhile still wakes the follower.
    let wake = Wake::new().pulse(s.records_pulse().await?);
    // A first start follows from the head: the sweep at start verifies what came before.
    let after = match s.store().get_cursor(LOG_CONSUMER).await? {
        None => s.store().log_head().await?,
        Some(token) => token.parse().map_err(|_| WorkerError::Cursor(token))?,
    };
    let mut links = LogLinks { s, after };
    follow(&mut links, wake, s.shutdown(), s.options().fallback_poll).await
}

/// Follows the audit log: verifies each new row's link to the one before.
struct AuditLinks<'a> {
    s: &'a Supervision,
    after: i64,
}

impl Follower for AuditLinks<'_> {
    type Error = WorkerError;

    async fn step(&mut self) -> Result<Step, WorkerError> {
        let (s, store) = (self.s, self.s.store());
        let rows = store.read_audit(self.after, BATCH).await?;
        let Some(last) = rows.last() else {
            return Ok(Step::Empty);
        };
        let last = last.seq;
        let warnings = match check_audit_from(store, self.after, &rows).await? {
            Some(broken) => vec![audit_alarm(s, &broken).await?],
            None => Vec::new(),
        };
        store
            .advance_cursor_with_warnings(AUDIT_CONSUMER, &last.to_string(), &warnings)
            .await?;
        self.after = last;
        Ok(Step::Read)
    }

    /// Audit rows are appended in short transactions of their own and never held back.
    async fn pending(&mut self) -> Result<bool, WorkerError> {
        Ok(false)
    }
}

async fn follow_audit(s: &Supervision) -> Result<(), WorkerError> {
    let after: i64 = match s.store().get_cursor(AUDIT_CONSUMER).await? {
        None => s
            .store()
            .audit_before(i64::MAX)
            .await?
            .map_or(0, |row| row.seq),
        Some(token) => token.parse().map_err(|_| WorkerError::Cursor(token))?,
    };
    let mut links = AuditLinks { s, after };
    // The audit log is not notified: new rows are looked for at the fallback poll.
    follow(
        &mut links,
        Wake::new(),
        s.shutdown(),
        s.options().fallback_poll,
    )
    .await
}

/// The first break among `rows` (read after `after`), checking again the row they link to.
async fn check_audit_from(
    store: &Store,
    after: i64,
    rows: &[egov_store::AuditRow],
) -> Result<Option<AuditBreak>, WorkerError> {
    if after == 0 {
        return Ok(egov_store::audit::verify_audit_rows(None, rows));
    }
    let prev = store.audit_before(after + 1).await?;
    match prev {
        Some(prev) if prev.seq == after && prev.recomputed_hash() == prev.hash => {
            Ok(egov_store::audit::verify_audit_rows(Some(&prev), rows))
        }
        Some(prev) if prev.seq == after => Ok(Some(AuditBreak {
            seq: after,
            kind: egov_store::AuditBreakKind::ContentChanged,
        })),
        // The row the cursor stands on is gone.
        _ => Ok(Some(AuditBreak {
            seq: after,
            kind: egov_store::AuditBreakKind::Gap,
        })),
    }
}

/// One pass over every chain at start, then one every `integrity_sweep`.
async fn sweep(s: &Supervision) -> Result<(), WorkerError> {
    let store = s.store();
    let mut shutdown = s.shutdown();
    loop {
        let mut after: Option<String> = None;
        let mut cases = 0u64;
        loop {
            if shutdown.is_triggered() {
                return Ok(());
            }
            let reports = store.verify_chains(after.as_deref(), SWEEP_CASES).await?;
            let Some(last) = reports.last() else { break };
            after = Some(last.case_no.clone());
            cases += reports.len() as u64;
            let warnings = record_alarms(s, &reports).await?;
            if !warnings.is_empty() {
                store.insert_warnings(&warnings).await?;
            }
        }
        let mut prev = None;
        let mut rows_checked = 0u64;
        loop {
            if shutdown.is_triggered() {
                return Ok(());
            }
            let from = prev.as_ref().map_or(0, |p: &egov_store::AuditRow| p.seq);
            let rows = store.read_audit(from, BATCH).await?;
            let Some(last) = rows.last().cloned() else {
                break;
            };
            rows_checked += rows.len() as u64;
            if let Some(broken) = egov_store::audit::verify_audit_rows(prev.as_ref(), &rows) {
                let warning = audit_alarm(s, &broken).await?;
                store.insert_warnings(&[warning]).await?;
            }
            prev = Some(last);
        }
        s.progress()
            .integrity_checked
            .fetch_add(cases, Ordering::Relaxed);
        s.progress()
            .integrity_sweeps
            .fetch_add(1, Ordering::Relaxed);
        tracing::info!(cases, audit_rows = rows_checked, "integrity sweep done");
        tokio::select! {
            biased;
            () = shutdown.wait() => return Ok(()),
            () = tokio::time::sleep(s.options().integrity_sweep) => {}
        }
    }
}

/// The alarm for each broken chain among `reports`: logged, counted, and the warnings to raise.
async fn record_alarms(
    s: &Supervision,
    reports: &[ChainReport],
) -> Result<Vec<NewWarning>, WorkerError> {
    let broken: Vec<&ChainReport> = reports.iter().filter(|r| !r.is_intact()).collect();
    if broken.is_empty() {
        return Ok(Vec::new());
    }
    let case_nos: Vec<String> = broken.iter().map(|r| r.case_no.clone()).collect();
    let rows = s.store().get_case_rows(&case_nos).await?;
    let level = integrity::level(&s.rules());
    let now = s.clock().now();
    let mut warnings = Vec::with_capacity(broken.len());
    for report in broken {
        let Some(brk) = &report.broken else { continue };
        let what = brk.kind.to_string();
        s.progress()
            .integrity_breaks
            .fetch_add(1, Ordering::Relaxed);
        tracing::error!(
            case_no = %report.case_no,
            seq = ?brk.seq,
            event_id = ?brk.event_id,
            what = %what,
            "INTEGRITY ALARM: a case's record chain is broken"
        );
        let record = brk.seq.zip(brk.event_id.as_deref());
        let draft = integrity::record_chain_broken(level, &report.case_no, record, &what, now);
        let row = rows.iter().find(|r| r.case_no == report.case_no);
        warnings.push(new_warning(
            draft,
            &report.case_no,
            row.map_or("", |r| r.department.as_str()),
            &integrity::holding_region(row.map_or("", |r| r.region.as_str())),
            row.map_or("", |r| r.matter_code.as_str()),
            brk.event_id.clone(),
            now,
        ));
    }
    Ok(warnings)
}

/// The alarm for a broken audit chain: logged, counted, and the warning to raise, held by the
/// province office (the one province registered; else no region, seen by every view).
async fn audit_alarm(s: &Supervision, broken: &AuditBreak) -> Result<NewWarning, WorkerError> {
    s.progress()
        .integrity_breaks
        .fetch_add(1, Ordering::Relaxed);
    let what = broken.kind.to_string();
    tracing::error!(seq = broken.seq, what = %what, "INTEGRITY ALARM: the audit chain is broken");
    let provinces: Vec<String> = s
        .store()
        .list_regions("")
        .await?
        .into_iter()
        .filter(|r| r.code.len() == 2)
        .map(|r| r.code)
        .collect();
    let region = match provinces.as_slice() {
        [one] => one.clone(),
        _ => String::new(),
    };
    let level = integrity::level(&s.rules());
    let now = s.clock().now();
    let draft = integrity::audit_chain_broken(level, broken.seq, &what, now);
    Ok(new_warning(
        draft,
        &integrity::audit_case_no(broken.seq),
        "",
        &region,
        "",
        None,
        now,
    ))
}

fn new_warning(
    draft: WarningDraft,
    case_no: &str,
    department: &str,
    region: &str,
    matter_code: &str,
    event_id: Option<String>,
    now: DateTime<Utc>,
) -> NewWarning {
    NewWarning {
        case_no: case_no.to_owned(),
        rule: draft.rule.as_str().to_owned(),
        level: draft.level.as_str().to_owned(),
        department: department.to_owned(),
        region: region.to_owned(),
        matter_code: matter_code.to_owned(),
        due_at: Some(draft.due_at),
        raised_at: now,
        detail: WarningDetail {
            message: draft.message,
            config: draft.config.to_string(),
            event_id,
            ..WarningDetail::default()
        }
        .to_json(),
    }
}
