//! The `ApprovalService` RPCs: thin adapters that check the request, call [`crate::ingest`],
//! the catalogue or the store, and answer in wire types. Errors become statuses in
//! [`crate::error`] only.

use egov_domain::rules::RuleConfig;
use std::collections::{HashMap, HashSet, VecDeque};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use egov_domain::case::{Case, CaseState};
use egov_domain::clock::{clocks, note_catalogue_version};
use egov_domain::ids::CaseNo;
use egov_domain::matter::Matter;
use egov_proto::approval::v1 as pb;
use egov_proto::approval::v1::approval_service_server::ApprovalService;
use egov_proto::limits;
use egov_runtime::clock::SharedClock;
use egov_runtime::shutdown::Shutdown;
use egov_runtime::tasks::Tasks;
use egov_store::{CaseFilter, LogPosition, Page, Store, UpsertOutcome};
use futures::Stream;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use crate::catalogue::{Catalogue, matter_row};
use crate::error::ApiError;
use crate::ingest::{Ingestor, convert, stored_to_domain};
use crate::jurisdiction;
use crate::rule_config::{self, Change};
use crate::view::{case_row_to_proto, case_to_proto, stored_record_to_proto};

/// Most items in one batch call; larger batches are refused so one call cannot hold a
/// transaction open for long.
pub const MAX_BATCH: usize = limits::MAX_BATCH;
/// How many stream messages are gathered into one transaction at most.
const STREAM_BATCH: usize = 1000;
/// How many batches of one stream are stored at once (planned while another commits).
const STREAM_IN_FLIGHT: usize = 3;
/// Default and largest page sizes of list calls.
const DEFAULT_PAGE: u32 = 50;
/// How often a follower looks for new records when nothing wakes it (SQLite, other processes).
const POLL_INTERVAL: Duration = Duration::from_millis(1000);
/// The longest wait before looking again at records held back by an open transaction.
const MAX_RECHECK: Duration = Duration::from_millis(200);

/// The approval platform's state shared by all calls.
#[derive(Debug, Clone)]
pub struct Approval {
    ingestor: Ingestor,
    clock: SharedClock,
    /// Bumped when records were committed, by this process or (on PostgreSQL, through ONE
    /// shared LISTEN connection) by any other: what wakes every `FollowRecords` stream, so a
    /// stream costs no database connection of its own.
    committed: Arc<watch::Sender<u64>>,
    shutdown: Shutdown,
    /// Where its workers and the tasks of its streams run, drained at shutdown.
    tasks: Tasks,
}

type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

fn page(size: i32, token: String) -> Page {
    Page {
        size: if size <= 0 { DEFAULT_PAGE } else { size as u32 },
        token: (!token.is_empty()).then_some(token),
    }
}

impl Approval {
    /// The platform on `store`, judging records by `rules` (the record rules fire at ingest,
    /// and the due instants follow its reminder thresholds). Its workers (the commit relay, the
    /// rule configuration's follower) and every stream's tasks run in `tasks` and end on
    /// `shutdown`. Built by the composition root (`crates/platform`) only.
    pub async fn with_rules(
        store: Store,
        clock: SharedClock,
        shutdown: Shutdown,
        tasks: Tasks,
        rules: RuleConfig,
    ) -> Result<Self, ApiError> {
        let catalogue = Catalogue::open(store.clone()).await?;
        let committed = Arc::new(watch::Sender::new(0));
        if let Some(notifications) = store.listen_for_records().await? {
            tasks.worker(
                "commit relay",
                relay_commits(notifications, committed.clone(), shutdown.clone()),
            );
        }
        let ingestor = Ingestor::with_rules(catalogue, clock.clone(), rules);
        tasks.worker(
            "rule configuration follower",
            follow_rule_config(ingestor.clone(), shutdown.clone()),
        );
        Ok(Self {
            ingestor,
            clock,
            committed,
            shutdown,
            tasks,
        })
    }

    pub fn catalogue(&self) -> &Catalogue {
        self.ingestor.catalogue()
    }

    fn store(&self) -> &Store {
        self.catalogue().store()
    }

    async fn submit(&self, records: Vec<pb::Record>) -> Result<Vec<pb::RecordResult>, ApiError> {
        let results = self.ingestor.submit(records).await?;
        if results
            .iter()
            .any(|r| r.status == pb::RecordStatus::Stored as i32)
        {
            self.committed.send_modify(|n| *n = n.wrapping_add(1));
        }
        Ok(results)
    }

    async fn upsert(&self, matters: Vec<pb::Matter>) -> Result<Vec<pb::MatterResult>, ApiError> {
        let now = self.clock.now();
        let mut results = Vec::with_capacity(matters.len());
        let mut valid: Vec<(usize, Matter)> = Vec::new();
        for (i, m) in matters.into_iter().enumerate() {
            let code = limits::echo_id(&m.matter_code);
            results.push(pb::MatterResult {
                matter_code: code,
                status: pb::MatterResultStatus::Unspecified.into(),
                violations: Vec::new(),
            });
            match Matter::try_from(m) {
                Ok(matter) => {
                    if self.catalogue().calendar(&matter.calendar).await?.is_none() {
                        results[i].status = pb::MatterResultStatus::Rejected.into();
                        results[i].violations.push(pb::FieldViolation {
                            field: "calendar".into(),
                            reason: format!(
                                "calendar {:?} is not loaded (the bundled one is \"cn\")",
                                matter.calendar.as_str()
                            ),
                        });
                    } else {
                        valid.push((i, matter));
                    }
                }
                Err(v) => {
                    results[i].status = pb::MatterResultStatus::Rejected.into();
                    results[i].violations = v.to_proto();
                }
            }
        }
        let rows: Vec<_> = valid.iter().map(|(_, m)| matter_row(m, now)).collect();
        let outcomes = self.store().upsert_matters(&rows).await?;
        for ((i, _), outcome) in valid.iter().zip(outcomes) {
            results[*i].status = match outcome {
                UpsertOutcome::Created => pb::MatterResultStatus::Created,
                UpsertOutcome::Updated => pb::MatterResultStatus::Updated,
                UpsertOutcome::Unchanged => pb::MatterResultStatus::Unchanged,
            }
            .into();
        }
        Ok(results)
    }

    async fn get_case(&self, case_no: &str, full: bool) -> Result<pb::Case, ApiError> {
        let case_no = CaseNo::parse(case_no).map_err(|e| ApiError::invalid(e.field, e.reason))?;
        let Some(snapshot) = self.store().get_case(case_no.as_str()).await? else {
            return Err(ApiError::NotFound(format!("case {case_no} not found")));
        };
        let records = snapshot
            .records
            .iter()
            .map(stored_to_domain)
            .collect::<Result<Vec<_>, _>>()?;
        let versions = self
            .catalogue()
            .matter_versions(&snapshot.case.matter_code)
            .await?;
        let versioned = crate::catalogue::version_in_force(&versions, &records)
            .cloned()
            .ok_or_else(|| ApiError::Internal(format!("matter of case {case_no} is gone")))?;
        let matter = versioned.matter.clone();
        let calendar = self
            .catalogue()
            .calendar(&matter.calendar)
            .await?
            .ok_or_else(|| ApiError::Internal(format!("calendar of case {case_no} is gone")))?;
        // Recomputed from the records, not read from the projection: a deadline is a pure
        // function of the records, the matter and the calendar.
        let case = Case::replay(&records.iter().collect::<Vec<_>>(), &matter)
            .map_err(|(_, e)| ApiError::Internal(format!("case {case_no} does not replay: {e}")))?;
        let mut clocks = clocks(&case, &matter, &calendar);
        // Once a matter has been edited, each clock says which version it counts from.
        if versions.len() > 1 {
            note_catalogue_version(&mut clocks, matter.code.as_str(), versioned.version);
        }
        let wire_records = if full {
            snapshot
                .records
                .iter()
                .zip(&records)
                .map(|(s, r)| stored_record_to_proto(s, r, s.seq as u64, String::new()))
                .collect()
        } else {
            Vec::new()
        };
        Ok(case_to_proto(
            &case,
            &clocks,
            wire_records,
            versioned.version,
            self.clock.now(),
        ))
    }

    /// Streams stored records after `after`, then (unless `until_caught_up`) every new one.
    fn follow(
        &self,
        after: LogPosition,
        until_caught_up: bool,
        scope: CaseScope,
    ) -> BoxStream<pb::FollowRecordsResponse> {
        let (tx, rx) = mpsc::channel(256);
        let this = self.clone();
        self.tasks.spawn(async move {
            if let Err(status) = this.follow_into(after, until_caught_up, scope, &tx).await {
                let _ = tx.send(Err(status)).await;
            }
        });
        Box::pin(ReceiverStream::new(rx))
    }

    async fn follow_into(
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
const RULES_REFRESH: Duration = Duration::from_secs(5);

/// Keeps the ingestor on the stored rule configuration: a version stored by another instance
/// (its `UpdateRuleConfig` recomputed the open cases already) is picked up within
/// [`RULES_REFRESH`]. While none is stored, the configuration the platform started with stays.
async fn follow_rule_config(ingestor: Ingestor, mut shutdown: Shutdown) {
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
async fn relay_commits(
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

/// A batch of a record stream being stored.
struct InFlight {
    cases: HashSet<String>,
    handle: tokio::task::JoinHandle<Result<Vec<pb::RecordResult>, ApiError>>,
}

type Acks = mpsc::Sender<Result<pb::StreamRecordsResponse, Status>>;

impl Approval {
    /// Stores a record stream batch by batch, with up to [`STREAM_IN_FLIGHT`] batches in
    /// flight: the next batch is planned while the previous one commits. A batch that shares a
    /// case with one in flight waits for it, so a case's records are admitted in the order
    /// they were sent; acknowledgements leave in that order too.
    async fn pipeline(
        self,
        mut inbound: mpsc::Receiver<Result<pb::StreamRecordsRequest, Status>>,
        acks: Acks,
    ) {
        let mut queue: VecDeque<InFlight> = VecDeque::new();
        // A message taken from the channel that belongs to the next batch.
        let mut carry: Option<Result<pb::StreamRecordsRequest, Status>> = None;
        // Why the client's side of the stream broke (an undecodable message): the stream ends
        // with it once everything before it is stored and acknowledged, never with OK.
        let mut ended_by: Option<Status> = None;
        loop {
            let first = match carry.take() {
                Some(m) => Some(m),
                None => tokio::select! {
                    biased;
                    done = async { (&mut queue.front_mut().expect("guarded").handle).await },
                        if !queue.is_empty() =>
                    {
                        queue.pop_front();
                        if !send_acks(done, &acks).await {
                            return;
                        }
                        continue;
                    }
                    m = inbound.recv() => m,
                },
            };
            let Some(first) = first else { break };
            let mut batch = vec![first];
            // Take what has arrived, up to a full batch; past that, finish the run of the last
            // case, so that consecutive batches of a stream sent case by case share no case
            // and can be stored concurrently.
            while let Ok(m) = inbound.try_recv() {
                if batch.len() >= STREAM_BATCH && case_of(&m) != batch.last().and_then(case_of) {
                    carry = Some(m);
                    break;
                }
                batch.push(m);
                if batch.len() >= 2 * STREAM_BATCH {
                    break;
                }
            }
            let mut records = Vec::with_capacity(batch.len());
            let mut failed = None;
            for m in batch {
                match m {
                    Ok(m) => records.push(m.record.unwrap_or_default()),
                    Err(status) => {
                        failed = Some(status);
                        break;
                    }
                }
            }
            if !records.is_empty() {
                let cases: HashSet<String> = records.iter().map(|r| r.case_no.clone()).collect();
                // Wait for every batch up to the last one sharing a case, and keep at most
                // STREAM_IN_FLIGHT running.
                let wait_for = queue
                    .iter()
                    .rposition(|f| !f.cases.is_disjoint(&cases))
                    .map_or(0, |i| i + 1)
                    .max((queue.len() + 1).saturating_sub(STREAM_IN_FLIGHT));
                for _ in 0..wait_for {
                    let f = queue.pop_front().expect("counted");
                    if !send_acks(f.handle.await, &acks).await {
                        return;
                    }
                }
                let this = self.clone();
                queue.push_back(InFlight {
                    cases,
                    handle: self.tasks.spawn(async move { this.submit(records).await }),
                });
            }
            if let Some(status) = failed {
                tracing::debug!(%status, "record stream ended by the client's error");
                ended_by = Some(status);
                break;
            }
        }
        while let Some(f) = queue.pop_front() {
            if !send_acks(f.handle.await, &acks).await {
                return;
            }
        }
        if let Some(status) = ended_by {
            let _ = acks.send(Err(status)).await;
        }
    }
}

/// What ends a record stream when its inbound side fails. An undecodable message is already
/// INVALID_ARGUMENT (`egov_proto::codec`); tonic's own framing errors (a truncated last frame,
/// a bad compression flag) come as INTERNAL, but they too are the sender's fault.
fn client_fault(status: Status) -> Status {
    if status.code() == tonic::Code::Internal {
        Status::invalid_argument(format!(
            "the record stream cannot be read on: {}",
            limits::shown_raw(status.message())
        ))
    } else {
        status
    }
}

fn case_of(m: &Result<pb::StreamRecordsRequest, Status>) -> Option<&str> {
    m.as_ref()
        .ok()
        .and_then(|m| m.record.as_ref())
        .map(|r| r.case_no.as_str())
}

/// Sends a batch's acknowledgements; false when the stream is over (client gone or error).
async fn send_acks(
    done: Result<Result<Vec<pb::RecordResult>, ApiError>, tokio::task::JoinError>,
    acks: &Acks,
) -> bool {
    let results = match done {
        Ok(Ok(results)) => results,
        Ok(Err(e)) => {
            let _ = acks.send(Err(e.into())).await;
            return false;
        }
        Err(join) => {
            tracing::error!(error = %join, "a record batch task failed");
            let _ = acks.send(Err(Status::internal("internal error"))).await;
            return false;
        }
    };
    for result in results {
        let ack = pb::StreamRecordsResponse {
            result: Some(result),
        };
        if acks.send(Ok(ack)).await.is_err() {
            return false;
        }
    }
    true
}

/// The cases a follower asked for: a region subtree and a department, each optional.
#[derive(Debug, Clone, Default)]
struct CaseScope {
    region: String,
    department: String,
}

impl CaseScope {
    fn is_everything(&self) -> bool {
        self.region.is_empty() && self.department.is_empty()
    }

    fn keeps(&self, region: &str, department: &str) -> bool {
        egov_domain::jurisdiction::is_within(region, &self.region)
            && (self.department.is_empty() || self.department == department)
    }
}

/// Cases whose scope a filtered follower remembers before starting over.
const SCOPE_CACHE: usize = 100_000;

fn check_batch(len: usize, field: &str) -> Result<(), ApiError> {
    if len == 0 {
        return Err(ApiError::invalid(field, "at least one item is required"));
    }
    if len > MAX_BATCH {
        return Err(ApiError::invalid(
            field,
            format!("{len} items; at most {MAX_BATCH} per call (use StreamRecords for more)"),
        ));
    }
    Ok(())
}

#[tonic::async_trait]
impl ApprovalService for Approval {
    async fn upsert_matters(
        &self,
        request: Request<pb::UpsertMattersRequest>,
    ) -> Result<Response<pb::UpsertMattersResponse>, Status> {
        let r = request.into_inner();
        limits::check(&r)?;
        let matters = r.matters;
        check_batch(matters.len(), "matters")?;
        let results = self.upsert(matters).await?;
        Ok(Response::new(pb::UpsertMattersResponse { results }))
    }

    async fn get_matter(
        &self,
        request: Request<pb::GetMatterRequest>,
    ) -> Result<Response<pb::GetMatterResponse>, Status> {
        let r = request.into_inner();
        limits::check(&r)?;
        let code = r.matter_code;
        if code.is_empty() {
            return Err(ApiError::invalid("matter_code", "is required").into());
        }
        let matter = self.catalogue().matter(&code).await?.ok_or_else(|| {
            ApiError::NotFound(format!(
                "matter {} is not in the catalogue",
                limits::shown(&code)
            ))
        })?;
        Ok(Response::new(pb::GetMatterResponse {
            matter: Some(matter.as_ref().into()),
        }))
    }

    async fn list_matter_versions(
        &self,
        request: Request<pb::ListMatterVersionsRequest>,
    ) -> Result<Response<pb::ListMatterVersionsResponse>, Status> {
        let r = request.into_inner();
        limits::check(&r)?;
        let code = r.matter_code;
        if code.is_empty() {
            return Err(ApiError::invalid("matter_code", "is required").into());
        }
        let versions = self.catalogue().matter_versions(&code).await?;
        if versions.is_empty() {
            return Err(
                ApiError::NotFound(format!("matter {code:?} is not in the catalogue")).into(),
            );
        }
        Ok(Response::new(pb::ListMatterVersionsResponse {
            versions: versions
                .iter()
                .map(|v| pb::MatterVersion {
                    version: v.version,
                    valid_from: crate::view::ts(v.valid_from),
                    matter: Some(v.matter.as_ref().into()),
                })
                .collect(),
        }))
    }

    async fn list_matters(
        &self,
        request: Request<pb::ListMattersRequest>,
    ) -> Result<Response<pb::ListMattersResponse>, Status> {
        let r = request.into_inner();
        limits::check(&r)?;
        let department = (!r.department.is_empty()).then_some(r.department.as_str());
        jurisdiction::subtree("region", &r.region)?;
        let region = (!r.region.is_empty()).then_some(r.region.as_str());
        let (rows, next) = self
            .store()
            .list_matters_within(department, region, page(r.page_size, r.page_token))
            .await
            .map_err(ApiError::from)?;
        let matters = rows
            .iter()
            .map(|row| crate::catalogue::matter_from_row(row).map(|m| pb::Matter::from(&m)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Response::new(pb::ListMattersResponse {
            matters,
            next_page_token: next.unwrap_or_default(),
        }))
    }

    async fn submit_records(
        &self,
        request: Request<pb::SubmitRecordsRequest>,
    ) -> Result<Response<pb::SubmitRecordsResponse>, Status> {
        let r = request.into_inner();
        limits::check(&r)?;
        let records = r.records;
        check_batch(records.len(), "records")?;
        let results = self.submit(records).await?;
        Ok(Response::new(pb::SubmitRecordsResponse { results }))
    }

    type StreamRecordsStream = BoxStream<pb::StreamRecordsResponse>;

    async fn stream_records(
        &self,
        request: Request<tonic::Streaming<pb::StreamRecordsRequest>>,
    ) -> Result<Response<Self::StreamRecordsStream>, Status> {
        let mut inbound = request.into_inner();
        // A reader task feeds a channel, so the batcher can take whatever has arrived without
        // losing a message to a cancelled read.
        let (in_tx, in_rx) =
            mpsc::channel::<Result<pb::StreamRecordsRequest, Status>>(STREAM_BATCH * 4);
        self.tasks.spawn(async move {
            loop {
                match inbound.message().await {
                    Ok(Some(m)) => {
                        if in_tx.send(Ok(m)).await.is_err() {
                            return;
                        }
                    }
                    Ok(None) => return,
                    Err(status) => {
                        let _ = in_tx.send(Err(client_fault(status))).await;
                        return;
                    }
                }
            }
        });
        let (out_tx, out_rx) = mpsc::channel(STREAM_BATCH * 2);
        let this = self.clone();
        self.tasks
            .spawn(async move { this.pipeline(in_rx, out_tx).await });
        Ok(Response::new(Box::pin(ReceiverStream::new(out_rx))))
    }

    async fn get_case(
        &self,
        request: Request<pb::GetCaseRequest>,
    ) -> Result<Response<pb::GetCaseResponse>, Status> {
        let r = request.into_inner();
        limits::check(&r)?;
        let view = pb::CaseView::try_from(r.view)
            .map_err(|_| ApiError::invalid("view", format!("{} is not a known value", r.view)))?;
        let full = view != pb::CaseView::Basic;
        let case = self.get_case(&r.case_no, full).await?;
        Ok(Response::new(pb::GetCaseResponse { case: Some(case) }))
    }

    async fn list_cases(
        &self,
        request: Request<pb::ListCasesRequest>,
    ) -> Result<Response<pb::ListCasesResponse>, Status> {
        let r = request.into_inner();
        limits::check(&r)?;
        let states = pb::CaseState::try_from(r.state)
            .ok()
            .and_then(wire_state_names)
            .ok_or_else(|| {
                ApiError::invalid("state", format!("{} is not a known value", r.state))
            })?;
        let nonempty = |s: String| (!s.is_empty()).then_some(s);
        let filter = CaseFilter {
            department: nonempty(r.department),
            region_prefix: nonempty(r.region),
            states,
            overdue: r.overdue,
            matter_code: nonempty(r.matter_code),
            now: Some(self.clock.now()),
        };
        let (rows, next) = self
            .store()
            .list_cases(&filter, page(r.page_size, r.page_token))
            .await
            .map_err(ApiError::from)?;
        let now = self.clock.now();
        Ok(Response::new(pb::ListCasesResponse {
            cases: rows.iter().map(|row| case_row_to_proto(row, now)).collect(),
            next_page_token: next.unwrap_or_default(),
        }))
    }

    type FollowRecordsStream = BoxStream<pb::FollowRecordsResponse>;

    async fn follow_records(
        &self,
        request: Request<pb::FollowRecordsRequest>,
    ) -> Result<Response<Self::FollowRecordsStream>, Status> {
        let r = request.into_inner();
        limits::check(&r)?;
        let after = if r.after.is_empty() {
            LogPosition::START
        } else {
            r.after.parse().map_err(|_| {
                ApiError::invalid("after", "is not a position token this server issued")
            })?
        };
        jurisdiction::subtree("region", &r.region)?;
        let filter = CaseScope {
            region: r.region,
            department: r.department,
        };
        Ok(Response::new(self.follow(after, r.until_caught_up, filter)))
    }

    async fn get_rule_config(
        &self,
        _request: Request<pb::GetRuleConfigRequest>,
    ) -> Result<Response<pb::RuleConfig>, Status> {
        let (version, config) = self.rule_config().await?;
        Ok(Response::new(pb::RuleConfig {
            version,
            config_json: rule_config::to_json(&config),
        }))
    }

    async fn update_rule_config(
        &self,
        request: Request<pb::UpdateRuleConfigRequest>,
    ) -> Result<Response<pb::UpdateRuleConfigResponse>, Status> {
        use pb::update_rule_config_request::Change as C;
        let r = request.into_inner();
        limits::check(&r)?;
        let change = match r.change {
            None => return Err(ApiError::invalid("change", "is required").into()),
            Some(C::ConfigJson(json)) => Change::Whole(json),
            Some(C::DefaultsJson(json)) => Change::Defaults(json),
            Some(C::Department(l)) => Change::Department {
                code: l.code,
                json: l.overrides_json,
            },
            Some(C::Matter(l)) => Change::Matter {
                code: l.code,
                json: l.overrides_json,
            },
        };
        let updated = rule_config::update(&self.ingestor, &change, r.expected_version).await?;
        Ok(Response::new(pb::UpdateRuleConfigResponse {
            config: Some(pb::RuleConfig {
                version: updated.version,
                config_json: rule_config::to_json(&updated.config),
            }),
            recomputed_cases: i64::try_from(updated.recomputed).unwrap_or(i64::MAX),
        }))
    }

    async fn upsert_regions(
        &self,
        request: Request<pb::UpsertRegionsRequest>,
    ) -> Result<Response<pb::UpsertRegionsResponse>, Status> {
        let r = request.into_inner();
        limits::check(&r)?;
        let regions = r.regions;
        check_batch(regions.len(), "regions")?;
        let results = jurisdiction::upsert_regions(self.store(), regions).await?;
        Ok(Response::new(pb::UpsertRegionsResponse { results }))
    }

    async fn list_regions(
        &self,
        request: Request<pb::ListRegionsRequest>,
    ) -> Result<Response<pb::ListRegionsResponse>, Status> {
        let r = request.into_inner();
        limits::check(&r)?;
        let region = r.region;
        jurisdiction::subtree("region", &region)?;
        let rows = self
            .store()
            .list_regions(&region)
            .await
            .map_err(ApiError::from)?;
        Ok(Response::new(pb::ListRegionsResponse {
            regions: rows
                .into_iter()
                .map(jurisdiction::region_to_proto)
                .collect(),
        }))
    }

    async fn upsert_departments(
        &self,
        request: Request<pb::UpsertDepartmentsRequest>,
    ) -> Result<Response<pb::UpsertDepartmentsResponse>, Status> {
        let r = request.into_inner();
        limits::check(&r)?;
        let departments = r.departments;
        check_batch(departments.len(), "departments")?;
        let results = jurisdiction::upsert_departments(self.store(), departments).await?;
        Ok(Response::new(pb::UpsertDepartmentsResponse { results }))
    }

    async fn list_departments(
        &self,
        request: Request<pb::ListDepartmentsRequest>,
    ) -> Result<Response<pb::ListDepartmentsResponse>, Status> {
        let r = request.into_inner();
        limits::check(&r)?;
        let region = r.region;
        jurisdiction::subtree("region", &region)?;
        let rows = self
            .store()
            .list_departments(&region)
            .await
            .map_err(ApiError::from)?;
        Ok(Response::new(pb::ListDepartmentsResponse {
            departments: rows
                .into_iter()
                .map(|d| pb::Department {
                    code: d.code,
                    name: d.name,
                    region: d.region,
                })
                .collect(),
        }))
    }
}

impl Approval {
    /// The rule configuration in force and its version: the stored one, or (version 0) the
    /// one this platform was started with when none is stored.
    pub async fn rule_config(&self) -> Result<(i64, RuleConfig), ApiError> {
        Ok(match rule_config::load(self.store()).await? {
            Some(stored) => stored,
            None => (0, (*self.ingestor.rules()).clone()),
        })
    }

    /// [`rule_config::update`] on this platform (what `UpdateRuleConfig` does).
    pub async fn update_rule_config(
        &self,
        change: &Change,
        expected_version: Option<i64>,
    ) -> Result<rule_config::Updated, ApiError> {
        rule_config::update(&self.ingestor, change, expected_version).await
    }
}

/// The domain's names of a wire case state, for the store filter (DECIDED covers both
/// outcomes); empty for no filter, None for a value no version of the contract knows.
fn wire_state_names(s: pb::CaseState) -> Option<Vec<String>> {
    use egov_domain::record::Outcome;
    let states = match s {
        pb::CaseState::Unspecified => vec![],
        pb::CaseState::Received => vec![CaseState::Received],
        pb::CaseState::AwaitingCorrection => vec![CaseState::AwaitingCorrection],
        pb::CaseState::Accepted => vec![CaseState::Accepted],
        pb::CaseState::Suspended => vec![CaseState::Suspended],
        pb::CaseState::Decided => vec![
            CaseState::Decided(Outcome::Approved),
            CaseState::Decided(Outcome::Denied),
        ],
        pb::CaseState::Completed => vec![CaseState::Completed],
        pb::CaseState::Refused => vec![CaseState::Refused],
        pb::CaseState::Withdrawn => vec![CaseState::Withdrawn],
    };
    Some(states.into_iter().map(|s| s.as_str().to_owned()).collect())
}

/// The per-record conversion, exposed for tools that validate files before sending them.
pub fn validate_record(record: pb::Record) -> Result<egov_domain::record::Record, pb::RecordError> {
    convert(record)
}
