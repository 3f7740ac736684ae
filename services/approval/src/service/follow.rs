//! The follow stream (`FollowRecords`): stored records after a position, then every new one
//! as commits wake it, filtered by the follower's scope, in the one follow loop
//! (`egov_runtime::follow`); and the background loop that keeps an instance on the stored rule
//! configuration.

use egov_runtime::follow::{Follower, Step, Wake, follow};

use super::*;

impl Approval {
    /// Streams stored records after `after`, then (unless `until_caught_up`) every new one.
    pub(super) fn follow(
        &self,
        after: LogPosition,
        until_caught_up: bool,
        scope: CaseScope,
    ) -> BoxStream<pb::FollowRecordsResponse> {
        let (tx, rx) = mpsc::channel(256);
        let this = self.clone();
        self.tasks.spawn(async move {
            let end = match this.follow_into(after, until_caught_up, scope, &tx).await {
                Err(status) => Some(status),
                // Ended by shutdown, not done: the client reconnects with its position.
                Ok(()) if this.shutdown.is_triggered() && !tx.is_closed() => {
                    Some(egov_runtime::error::shutting_down())
                }
                Ok(()) => None,
            };
            if let Some(status) = end {
                let _ = tx.send(Err(status)).await;
            }
        });
        Box::pin(ReceiverStream::new(rx))
    }

    pub(super) async fn follow_into(
        &self,
        after: LogPosition,
        until_caught_up: bool,
        scope: CaseScope,
        tx: &mpsc::Sender<Result<pb::FollowRecordsResponse, Status>>,
    ) -> Result<(), Status> {
        let store = self.store();
        // Subscribed before the first read: a record committed meanwhile is either in the
        // read or wakes the stream.
        let committed = self
            .records
            .subscribe(store, &self.shutdown, &self.tasks)
            .await
            .map_err(ApiError::from)?;
        let head = if until_caught_up {
            Some(store.log_head().await.map_err(ApiError::from)?)
        } else {
            None
        };
        let mut stream = RecordStream {
            store,
            after,
            head,
            scope,
            in_scope: HashMap::new(),
            tx,
        };
        let wake = Wake::new().pulse(committed).until(tx.closed());
        follow(&mut stream, wake, self.shutdown.clone(), POLL_INTERVAL).await
    }
}

/// One `FollowRecords` call: the records after its position in its scope, sent as they are
/// read; until the head it started at, if it asked to stop when caught up.
struct RecordStream<'a> {
    store: &'a Store,
    after: LogPosition,
    head: Option<LogPosition>,
    scope: CaseScope,
    /// Whether each case seen is in scope: a case's region and department never change.
    in_scope: HashMap<String, bool>,
    tx: &'a mpsc::Sender<Result<pb::FollowRecordsResponse, Status>>,
}

impl Follower for RecordStream<'_> {
    type Error = Status;

    async fn step(&mut self) -> Result<Step, Status> {
        let store = self.store;
        let entries = store
            .read_log(self.after, 500)
            .await
            .map_err(ApiError::from)?;
        let empty = entries.is_empty();
        if !self.scope.is_everything() {
            if self.in_scope.len() > SCOPE_CACHE {
                self.in_scope.clear();
            }
            let unknown: Vec<String> = entries
                .iter()
                .map(|(_, s)| &s.case_no)
                .filter(|c| !self.in_scope.contains_key(*c))
                .collect::<HashSet<_>>()
                .into_iter()
                .cloned()
                .collect();
            if !unknown.is_empty() {
                for row in store
                    .get_case_rows(&unknown)
                    .await
                    .map_err(ApiError::from)?
                {
                    let keep = self.scope.keeps(&row.region, &row.department);
                    self.in_scope.insert(row.case_no, keep);
                }
            }
        }
        for (position, stored) in entries {
            if self.head.is_some_and(|h| position > h) {
                return Ok(Step::Done);
            }
            if !self.scope.is_everything()
                && !self.in_scope.get(&stored.case_no).copied().unwrap_or(false)
            {
                self.after = position;
                continue;
            }
            let record = stored_to_domain(&stored)?;
            let msg = pb::FollowRecordsResponse {
                record: Some(stored_record_to_proto(
                    &stored,
                    &record,
                    stored.seq as u64,
                    position.to_string(),
                )),
            };
            if self.tx.send(Ok(msg)).await.is_err() {
                return Ok(Step::Done); // the follower hung up
            }
            self.after = position;
        }
        if !empty {
            return Ok(Step::Read);
        }
        if self.head.is_some() {
            return Ok(Step::Done);
        }
        Ok(Step::Empty)
    }

    /// Nothing readable: either nothing new, or records held back behind a transaction still
    /// open on the server (PostgreSQL reads only below the oldest one), looked for again soon.
    async fn pending(&mut self) -> Result<bool, Status> {
        Ok(self
            .store
            .log_pending(self.after)
            .await
            .map_err(ApiError::from)?)
    }
}

/// How often a platform looks for a rule configuration stored by another instance.
pub(super) const RULES_REFRESH: Duration = Duration::from_secs(5);

/// Keeps the ingestor on the stored rule configuration: a version stored by another instance
/// (its `UpdateRuleConfig` recomputed the open cases already) is picked up within
/// [`RULES_REFRESH`]. While none is stored, the configuration the platform started with stays.
pub(super) async fn follow_rule_config(ingestor: Ingestor, mut shutdown: Shutdown) {
    let mut seen: Option<i64> = None;
    loop {
        tokio::select! {
            () = tokio::time::sleep(RULES_REFRESH) => {}
            () = shutdown.wait() => return,
        }
        match rule_config::load(ingestor.catalogue().store()).await {
            Ok(Some((version, config))) if seen != Some(version) => {
                seen = Some(version);
                if *ingestor.rules() != config {
                    tracing::info!(
                        version,
                        "rule configuration changed elsewhere; in force now"
                    );
                    ingestor.set_rules(config);
                }
            }
            Ok(_) => {}
            Err(error) => tracing::debug!(%error, "cannot read the rule configuration"),
        }
    }
}

/// The cases a follower asked for: a region subtree and a department, each optional.
#[derive(Debug, Clone, Default)]
pub(super) struct CaseScope {
    pub(super) region: String,
    pub(super) department: String,
}

impl CaseScope {
    pub(super) fn is_everything(&self) -> bool {
        self.region.is_empty() && self.department.is_empty()
    }

    pub(super) fn keeps(&self, region: &str, department: &str) -> bool {
        egov_domain::jurisdiction::is_within(region, &self.region)
            && (self.department.is_empty() || self.department == department)
    }
}

/// Cases whose scope a filtered follower remembers before starting over.
pub(super) const SCOPE_CACHE: usize = 100_000;
