//! The scores follower: keeps the score rollups up to date as records and warnings arrive.
//!
//! It reads the record log from its cursor `scores.log` and, for each case a batch touches,
//! computes what the case adds to its department's days NOW (from all its records and its
//! stored clocks, at its current version), replacing what it added before; likewise for each
//! warning read from the warning stream (cursor `scores.warnings`; a warning comes again at
//! each state change). The store adds the differences to the daily rollups in the same
//! transaction as the cursor, so a restart neither loses nor repeats a batch, and a fact is
//! only ever replaced by one at least as new, so two instances following at once agree.
//! Because facts are recomputed from the current state, a record that arrives late or out of
//! order counts exactly as if it had come in time; when its change lands in a closed period it
//! is noted late.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use egov_runtime::follow::{Follower, Step, Wake, follow};
use egov_store::scores::{ScoreBatch, ScoreFacts};
use egov_store::{LogPosition, Store, WarningFilter, WarningPosition};

use crate::error::ApiError;
use crate::scores::{case_facts, merge_regions, warning_facts};
use crate::service::Supervision;
use crate::workers::{BATCH, WorkerError};

/// The follower's cursor in the record log.
pub const LOG_CURSOR: &str = "scores.log";
/// The follower's cursor in the warning stream.
pub const WARNINGS_CURSOR: &str = "scores.warnings";

/// Record event ids named per case in a late note, at most.
const DETAIL_IDS: usize = 20;

async fn log_cursor(store: &Store) -> Result<LogPosition, WorkerError> {
    match store.get_cursor(LOG_CURSOR).await? {
        None => Ok(LogPosition::START),
        Some(token) => token.parse().map_err(|_| WorkerError::Cursor(token)),
    }
}

async fn warnings_cursor(store: &Store) -> Result<WarningPosition, WorkerError> {
    match store.get_cursor(WARNINGS_CURSOR).await? {
        None => Ok(WarningPosition::START),
        Some(token) => token.parse().map_err(|_| WorkerError::Cursor(token)),
    }
}

/// One batch of the record log: the facts of every case it touches. Returns the records read.
async fn log_batch(s: &Supervision) -> Result<usize, WorkerError> {
    let store = s.store();
    let after = log_cursor(store).await?;
    let entries = store.read_log(after, BATCH).await?;
    let Some(&(last, _)) = entries.last() else {
        return Ok(0);
    };
    let mut events: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (_, r) in &entries {
        events.entry(&r.case_no).or_default().push(&r.event_id);
    }
    let case_nos: Vec<String> = events.keys().map(|c| (*c).to_owned()).collect();
    let cases = store.load_cases(&case_nos).await?;
    let facts: Vec<ScoreFacts> = cases
        .iter()
        .map(|c| {
            let ids = &events[c.case.case_no.as_str()];
            let mut detail = ids
                .iter()
                .take(DETAIL_IDS)
                .copied()
                .collect::<Vec<_>>()
                .join(",");
            if ids.len() > DETAIL_IDS {
                detail.push_str(&format!(" and {} more", ids.len() - DETAIL_IDS));
            }
            case_facts(c, detail)
        })
        .collect();
    let known: BTreeMap<String, String> = store.score_units().await?.into_iter().collect();
    let units = merge_regions(
        &known,
        cases
            .iter()
            .map(|c| (c.case.department.as_str(), c.case.region.as_str())),
    );
    let position = last.to_string();
    let applied = store
        .apply_score_facts(&ScoreBatch {
            facts: &facts,
            units: &units,
            cursor: Some((LOG_CURSOR, &position)),
            note_late: true,
            at: s.clock().now(),
        })
        .await?;
    tracing::debug!(
        records = entries.len(),
        cases = facts.len(),
        late = applied.late,
        %position,
        "scores followed the log"
    );
    Ok(entries.len())
}

/// One batch of the warning stream. Returns the warnings read.
async fn warnings_batch(s: &Supervision) -> Result<usize, WorkerError> {
    let store = s.store();
    let after = warnings_cursor(store).await?;
    let rows = store
        .read_warnings(after, &WarningFilter::default(), BATCH)
        .await?;
    let Some(last) = rows.last() else {
        return Ok(0);
    };
    let ids: Vec<i64> = rows.iter().map(|w| w.id).collect();
    let progress = store.warning_progress(&ids).await?;
    let rules = s.rules();
    let facts: Vec<ScoreFacts> = rows
        .iter()
        .filter_map(|w| warning_facts(w, progress.get(&w.id), &rules))
        .collect();
    let position = last.position.to_string();
    store
        .apply_score_facts(&ScoreBatch {
            facts: &facts,
            units: &[],
            cursor: Some((WARNINGS_CURSOR, &position)),
            note_late: true,
            at: s.clock().now(),
        })
        .await?;
    Ok(rows.len())
}

/// One pass: a batch of each stream. Returns how many rows it read.
pub(crate) async fn pass(s: &Supervision) -> Result<usize, WorkerError> {
    let _one_at_a_time = s.scores_state().pass.lock().await;
    Ok(log_batch(s).await? + warnings_batch(s).await?)
}

/// The scores follower: its two cursors are read back from the store at each pass, which the
/// tools' `settle` and `drain` run as well.
struct ScoresFollower<'a>(&'a Supervision);

impl Follower for ScoresFollower<'_> {
    type Error = WorkerError;

    async fn step(&mut self) -> Result<Step, WorkerError> {
        Ok(if pass(self.0).await? > 0 {
            Step::Read
        } else {
            Step::Empty
        })
    }

    async fn pending(&mut self) -> Result<bool, WorkerError> {
        let store = self.0.store();
        Ok(store.log_pending(log_cursor(store).await?).await?
            || store
                .warnings_pending(warnings_cursor(store).await?, &WarningFilter::default())
                .await?)
    }
}

/// One life of the follower: returns on shutdown, or with the first error.
pub(crate) async fn run(s: &Supervision) -> Result<(), WorkerError> {
    // Subscribed before the first read, so a commit made meanwhile still wakes the follower.
    let wake = Wake::new()
        .pulse(s.records_pulse().await?)
        .pulse(s.warnings_pulse().await?);
    let poll = s.options().fallback_poll;
    follow(&mut ScoresFollower(s), wake, s.shutdown(), poll).await
}

/// Runs passes until one reads nothing: everything readable now is in the rollups (rows that
/// an open transaction still holds back on PostgreSQL come later, as late as they are).
pub(crate) async fn drain(s: &Supervision) -> Result<(), ApiError> {
    while pass(s).await.map_err(worker_error)? > 0 {}
    Ok(())
}

fn worker_error(e: WorkerError) -> ApiError {
    match e {
        WorkerError::Store(e) => ApiError::Store(e),
        other => ApiError::Internal(other.to_string()),
    }
}

/// Waits until the follower has taken in every record and warning committed so far, running
/// passes itself (for tests and tools: the rollups are then complete). On PostgreSQL rows held
/// back by an open transaction of the server are waited for. Fails after `patience`.
pub async fn settle(s: &Supervision, patience: Duration) -> Result<(), ApiError> {
    let store = s.store();
    let wait = async {
        loop {
            drain(s).await?;
            let log = store
                .log_pending(log_cursor(store).await.map_err(worker_error)?)
                .await?;
            let warned = store
                .warnings_pending(
                    warnings_cursor(store).await.map_err(worker_error)?,
                    &WarningFilter::default(),
                )
                .await?;
            if !log && !warned {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(patience, wait)
        .await
        .map_err(|_| ApiError::Internal("the scores follower did not catch up".into()))?
}

/// Recomputes the facts of every case and warning from what is stored now, then the rollups
/// from the facts: the full rebuild, which must give exactly what following gives. Facts are
/// written with the version they were computed from, so following may go on meanwhile.
pub async fn rebuild(s: &Supervision) -> Result<u64, ApiError> {
    let store = s.store();
    let mut page = egov_store::Page::first(egov_store::Page::MAX_SIZE);
    let mut known: BTreeMap<String, String> = BTreeMap::new();
    loop {
        let (rows, next) = store
            .list_cases(&egov_store::CaseFilter::default(), page)
            .await?;
        let case_nos: Vec<String> = rows.iter().map(|c| c.case_no.clone()).collect();
        let cases = store.load_cases(&case_nos).await?;
        let facts: Vec<ScoreFacts> = cases
            .iter()
            .map(|c| case_facts(c, "rebuild".into()))
            .collect();
        let units = merge_regions(
            &known,
            cases
                .iter()
                .map(|c| (c.case.department.as_str(), c.case.region.as_str())),
        );
        known.extend(units.iter().cloned());
        store
            .apply_score_facts(&ScoreBatch {
                facts: &facts,
                units: &units,
                cursor: None,
                note_late: false,
                at: s.clock().now(),
            })
            .await?;
        match next {
            Some(token) => page = egov_store::Page::next(egov_store::Page::MAX_SIZE, token),
            None => break,
        }
    }
    let rules = s.rules();
    let mut after = WarningPosition::START;
    let mut seen = HashSet::new();
    loop {
        let rows = store
            .read_warnings(after, &WarningFilter::default(), BATCH)
            .await?;
        let Some(last) = rows.last() else { break };
        after = last.position;
        let rows: Vec<_> = rows.into_iter().filter(|w| seen.insert(w.id)).collect();
        let ids: Vec<i64> = rows.iter().map(|w| w.id).collect();
        let progress = store.warning_progress(&ids).await?;
        let facts: Vec<ScoreFacts> = rows
            .iter()
            .filter_map(|w| warning_facts(w, progress.get(&w.id), &rules))
            .collect();
        store
            .apply_score_facts(&ScoreBatch {
                facts: &facts,
                units: &[],
                cursor: None,
                note_late: false,
                at: s.clock().now(),
            })
            .await?;
    }
    Ok(store.rebuild_score_rollups().await?)
}
