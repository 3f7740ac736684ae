//! The due loop: raises deadline warnings the moment they are due (docs/design.md §5: "deadlines
//! are data"), and runs the correction pass ([`crate::corrections`]) and the complaints' due pass
//! ([`crate::complaints::due`]) with every pass, waking at the earliest correction due and
//! complaint due too. The approval platform stores every running clock's due instants;
//! this loop fires those that came, in batches of up to [`BATCH`], each batch in ONE store call,
//! then sleeps until the earliest one left, unless a commit (which may bring an earlier instant),
//! the fallback poll or shutdown wakes it first.
//!
//! Firing is safe to repeat and to run on several instances at once: the store deletes only
//! the instants still stored unchanged and raises one warning per (case, rule, level).
//!
//! Unlike the log follower and the warning streams, the loop reads due instants with plain
//! reads, not through the stream horizon of PostgreSQL (rows held back behind transactions
//! still open): a wake-up by a commit sees what the commit stored, so it needs no quick
//! second look (`egov_runtime::follow::Recheck`), and it sleeps on its own timer, not in the
//! follow loop.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use egov_runtime::follow::Wake;
use egov_store::{CaseRow, Firing};

use crate::raise;
use crate::service::Supervision;
use crate::workers::{BATCH, WorkerError};

/// A pass this long is logged with where its time went.
const SLOW_PASS: std::time::Duration = std::time::Duration::from_secs(1);

/// One life of the loop: returns on shutdown, or with the first store error.
pub(crate) async fn run(s: &Supervision) -> Result<(), WorkerError> {
    // Subscribed before the first look, so a commit made meanwhile still wakes the loop.
    let records = s.records_pulse().await?;
    // New cards (of either platform) need their correction due stamped.
    let warnings = s.warnings_pulse().await?;
    let mut wake = Wake::new()
        .pulse(records)
        .pulse(warnings)
        .kick(&s.progress().due_kick);
    let mut shutdown = s.shutdown();
    let clock = s.clock();
    loop {
        let now = clock.now();
        let started = std::time::Instant::now();
        s.refresh_rules().await;
        fire_due_until(s, now).await?;
        let fired = started.elapsed();
        if s.options().corrections {
            crate::corrections::run_pass(s, now).await?;
        }
        crate::complaints::due::run_pass(s, now).await?;
        let pass = started.elapsed();
        if pass >= SLOW_PASS {
            // What the issue of a 16 s gap after a burst's first pass could not see.
            tracing::info!(
                fire_ms = fired.as_millis() as u64,
                corrections_ms = (pass - fired).as_millis() as u64,
                %now,
                "a slow pass of the due loop"
            );
        }
        s.progress().due_done(now);
        let next = [
            s.store().next_due().await?,
            if s.options().corrections {
                s.store().next_correction_due().await?
            } else {
                None
            },
            s.store().next_complaint_due().await?,
        ]
        .into_iter()
        .flatten()
        .min();
        let sleep = async {
            match next {
                Some(at) => clock.sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            () = shutdown.wait() => return Ok(()),
            () = sleep => {}
            () = wake.woken() => {}
            () = tokio::time::sleep(s.options().fallback_poll) => {}
        }
    }
}

/// Fires everything due at or before `now`, a batch at a time: the next batch is read (after
/// the last instant of the one before, by key) and judged while the one before it commits, so
/// a burst costs one transaction per batch and no wait between them. An instant stored
/// meanwhile before that key is left for the next pass, which a commit's wake-up starts.
async fn fire_due_until(s: &Supervision, now: DateTime<Utc>) -> Result<(), WorkerError> {
    let started = std::time::Instant::now();
    let mut stats = PassStats::default();
    let mut batch = prepare(s, now, None, &mut stats).await?;
    while let Some(Prepared {
        firings,
        traces,
        last,
        full,
    }) = batch
    {
        let next = async {
            if full {
                let mut read = PassStats::default();
                let next = prepare(s, now, Some(&last), &mut read).await;
                next.map(|n| (n, read))
            } else {
                Ok((None, PassStats::default()))
            }
        };
        let (fired, next) = tokio::join!(fire(s, firings, &traces, now), next);
        let (raised, fire_time) = fired?;
        let (next, read) = next?;
        stats.raised += raised;
        stats.fire += fire_time;
        stats.read += read.read;
        stats.batches += 1;
        batch = next;
    }
    if stats.batches > 0 {
        tracing::debug!(
            batches = stats.batches,
            raised = stats.raised,
            read_ms = stats.read.as_millis() as u64,
            fire_ms = stats.fire.as_millis() as u64,
            total_ms = started.elapsed().as_millis() as u64,
            %now,
            "fired due instants"
        );
    }
    Ok(())
}

/// Where a pass's time went (reading and judging overlap with firing).
#[derive(Debug, Default)]
struct PassStats {
    batches: u64,
    raised: usize,
    read: std::time::Duration,
    fire: std::time::Duration,
}

/// A batch of firings, judged and ready to store.
struct Prepared {
    firings: Vec<Firing>,
    /// The trace context of the batch's cases that have one (`raise::traces`).
    traces: HashMap<String, String>,
    /// The batch's last instant: the next batch starts after it.
    last: egov_store::DueInstant,
    /// A full batch may have left more behind.
    full: bool,
}

/// Reads the next batch due at `now` (after `after`) with its cases' rows, and judges it.
async fn prepare(
    s: &Supervision,
    now: DateTime<Utc>,
    after: Option<&egov_store::DueInstant>,
    stats: &mut PassStats,
) -> Result<Option<Prepared>, WorkerError> {
    let started = std::time::Instant::now();
    let store = s.store();
    let due = store.due_until_after(now, after, BATCH).await?;
    let Some(last) = due.last().cloned() else {
        return Ok(None);
    };
    let full = due.len() == BATCH as usize;
    let mut seen = HashSet::new();
    let case_nos: Vec<String> = due
        .iter()
        .filter(|d| seen.insert(d.case_no.as_str()))
        .map(|d| d.case_no.clone())
        .collect();
    let rows = store.get_case_rows(&case_nos).await?;
    let by_case: HashMap<&str, &CaseRow> = rows.iter().map(|r| (r.case_no.as_str(), r)).collect();
    let rules = s.rules();
    let traces = raise::traces(&rows);
    let firings: Vec<Firing> = due
        .into_iter()
        .map(|d| raise::firing(d, &by_case, &rules, now))
        .collect();
    stats.read += started.elapsed();
    Ok(Some(Prepared {
        firings,
        traces,
        last,
        full,
    }))
}

/// Stores a batch of firings (one transaction); answers how many warnings it raised and how
/// long it took.
async fn fire(
    s: &Supervision,
    firings: Vec<Firing>,
    traces: &HashMap<String, String>,
    now: DateTime<Utc>,
) -> Result<(usize, std::time::Duration), WorkerError> {
    let started = std::time::Instant::now();
    let raised = s.store().fire_due(&firings).await?;
    s.progress().batch(&s.progress().due_batches, raised.len());
    crate::workers::count_raised(&raised);
    raise::trace_raised(&raised, traces);
    for warning in &raised {
        if let Some(due_at) = warning.due_at {
            // Milliseconds are plenty for a delay judged in seconds to days.
            let delay = (now - due_at).num_milliseconds().max(0) as f64 / 1000.0;
            metrics::histogram!(egov_runtime::metrics::WARNING_DELAY_SECONDS).record(delay);
        }
    }
    Ok((raised.len(), started.elapsed()))
}
