//! The log follower: reads the record log from its persisted cursor and raises the warnings
//! that no due instant will, for clocks that STOPPED after their deadline. A case completed
//! late, or pushed late after its deadlines had passed, never had (or no longer has) a due
//! instant for them, yet gets its warnings at once. It also withdraws the warnings whose
//! ground the cases' records, as it reads them, disproved (`crate::withdraw`).
//!
//! Each batch's warnings and the new cursor are written in ONE transaction
//! (`advance_cursor_with_warnings`), so a restart resumes exactly after the last batch done:
//! nothing lost, nothing raised twice. It runs in the one follow loop, `egov_runtime::follow`.

use std::collections::HashSet;

use egov_runtime::follow::{Follower, Step, Wake, follow};
use egov_store::{LogEntry, LogPosition, NewWarning, Store};

use crate::service::Supervision;
use crate::workers::{BATCH, WorkerError};
use crate::{raise, withdraw};

/// The follower's name in the store's consumer cursors.
pub(crate) const CONSUMER: &str = "supervision.log";

/// The persisted position, or the start of the log for a first run.
async fn cursor(store: &Store) -> Result<LogPosition, WorkerError> {
    match store.get_cursor(CONSUMER).await? {
        None => Ok(LogPosition::START),
        Some(token) => token.parse().map_err(|_| WorkerError::Cursor(token)),
    }
}

/// The cases a batch of the log touches, each once, in the order first seen.
pub(crate) fn cases_of(entries: &[LogEntry]) -> Vec<String> {
    let mut seen = HashSet::new();
    entries
        .iter()
        .filter(|(_, r)| seen.insert(r.case_no.as_str()))
        .map(|(_, r)| r.case_no.clone())
        .collect()
}

/// The log follower's state between steps: its position, persisted with each batch.
struct LogFollower<'a> {
    s: &'a Supervision,
    after: LogPosition,
}

impl Follower for LogFollower<'_> {
    type Error = WorkerError;

    async fn step(&mut self) -> Result<Step, WorkerError> {
        let (s, store) = (self.s, self.s.store());
        let entries = store.read_log(self.after, BATCH).await?;
        let Some(&(last, _)) = entries.last() else {
            return Ok(Step::Empty);
        };
        let case_nos = cases_of(&entries);
        // The cases as they are now, not as of each record: a clock stopped late by an
        // earlier record is still stopped late, and its warning is raised once.
        let rows = store.get_case_rows(&case_nos).await?;
        let now = s.clock().now();
        // Before the cursor moves past the batch: a restart judges it again.
        let withdrawn = withdraw::disproved(s, &rows, now).await?;
        let rules = s.rules();
        let warnings: Vec<NewWarning> = rows
            .iter()
            .flat_map(|row| raise::late_warnings(row, &rules, now))
            .collect();
        let raised = store
            .advance_cursor_with_warnings(CONSUMER, &last.to_string(), &warnings)
            .await?;
        self.after = last;
        s.progress().batch(&s.progress().log_batches, raised.len());
        crate::workers::count_raised(&raised);
        raise::trace_raised(&raised, &raise::traces(&rows));
        s.progress().log_done(last);
        tracing::debug!(
            records = entries.len(),
            cases = rows.len(),
            raised = raised.len(),
            withdrawn = withdrawn.len(),
            position = %last,
            "followed the log"
        );
        Ok(Step::Read)
    }

    /// Records committed but held back (PostgreSQL) are read again soon.
    async fn pending(&mut self) -> Result<bool, WorkerError> {
        Ok(self.s.store().log_pending(self.after).await?)
    }
}

/// One life of the follower: returns on shutdown, or with the first error.
pub(crate) async fn run(s: &Supervision) -> Result<(), WorkerError> {
    // Subscribed before the first read, so a commit made meanwhile still wakes the follower.
    let wake = Wake::new()
        .pulse(s.records_pulse().await?)
        .kick(&s.progress().log_kick);
    let after = cursor(s.store()).await?;
    s.progress().log_done(after);
    let mut follower = LogFollower { s, after };
    follow(&mut follower, wake, s.shutdown(), s.options().fallback_poll).await
}
