//! The follow stream (`FollowRecords`): stored records after a position, then every new one
//! as commits wake it, filtered by the follower's scope; and the two background loops that
//! keep an instance current (commit notifications, the stored rule configuration).

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
        mut after: LogPosition,
        until_caught_up: bool,
        scope: CaseScope,
        tx: &mpsc::Sender<Result<pb::FollowRecordsResponse, Status>>,
    ) -> Result<(), Status> {
        // Whether each case seen is in scope: a case's region and department never change.
        let mut in_scope: HashMap<String, bool> = HashMap::new();
        let store = self.store();
        let mut committed = self.committed.subscribe();
        let mut shutdown = self.shutdown.clone();
        let head = if until_caught_up {
            Some(store.log_head().await.map_err(ApiError::from)?)
        } else {
            None
        };
        let mut held_back = Duration::ZERO;
        loop {
            let entries = store.read_log(after, 500).await.map_err(ApiError::from)?;
            let empty = entries.is_empty();
            if !scope.is_everything() {
                if in_scope.len() > SCOPE_CACHE {
                    in_scope.clear();
                }
                let unknown: Vec<String> = entries
                    .iter()
                    .map(|(_, s)| &s.case_no)
                    .filter(|c| !in_scope.contains_key(*c))
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
                        let keep = scope.keeps(&row.region, &row.department);
                        in_scope.insert(row.case_no, keep);
                    }
                }
            }
            for (position, stored) in entries {
                if head.is_some_and(|h| position > h) {
                    return Ok(());
                }
                if !scope.is_everything()
                    && !in_scope.get(&stored.case_no).copied().unwrap_or(false)
                {
                    after = position;
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
                if tx.send(Ok(msg)).await.is_err() {
                    return Ok(()); // the follower hung up
                }
                after = position;
            }
            if !empty {
                continue;
            }
            if head.is_some() {
                return Ok(());
            }
            // Nothing readable: either nothing new, or records held back behind a transaction
            // still open on the server (PostgreSQL reads only below the oldest one). Held back,
            // look again soon; otherwise wait to be woken, with a slow poll for wake-ups that
            // cannot be notified (other processes on SQLite, a notification lost on reconnect).
            let pending = store.log_pending(after).await.map_err(ApiError::from)?;
            let wait = if pending {
                held_back = (held_back * 2).clamp(Duration::from_millis(10), MAX_RECHECK);
                held_back
            } else {
                held_back = Duration::ZERO;
                POLL_INTERVAL
            };
            tokio::select! {
                _ = committed.changed() => {}
                () = shutdown.wait() => return Ok(()),
                () = tx.closed() => return Ok(()),
                () = tokio::time::sleep(wait) => {}
            }
        }
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

/// Forwards the store's commit notifications to the in-process signal until shutdown.
pub(super) async fn relay_commits(
    mut notifications: egov_store::Notifications,
    committed: Arc<watch::Sender<u64>>,
    mut shutdown: Shutdown,
) {
    loop {
        tokio::select! {
            received = notifications.recv() => match received {
                Ok(()) => committed.send_modify(|n| *n = n.wrapping_add(1)),
                Err(error) => {
                    // The followers' slow poll covers the gap while the listener recovers.
                    tracing::warn!(%error, "record notifications failed; retrying in 1 s");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            },
            () = shutdown.wait() => return,
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
