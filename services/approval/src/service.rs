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
use egov_runtime::access::Caller;
use egov_runtime::clock::SharedClock;
use egov_runtime::pulse::{Channel, Pulse};
use egov_runtime::shutdown::Shutdown;
use egov_runtime::tasks::Tasks;
use egov_store::{CaseFilter, LogPosition, Page, Store, UpsertOutcome};
use futures::Stream;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use crate::catalogue::{Catalogue, matter_row};
use crate::error::{ApiError, Refusal};
use crate::ingest::{Ingestor, convert, stored_to_domain};
use crate::jurisdiction;
use crate::rule_config::{self, Change};
use crate::view::{case_row_to_proto, case_to_proto, stored_record_to_proto};

mod follow;
mod stream;

use follow::{CaseScope, follow_rule_config};
use stream::client_fault;

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

/// The approval platform's state shared by all calls.
#[derive(Debug, Clone)]
pub struct Approval {
    ingestor: Ingestor,
    clock: SharedClock,
    /// Beats when records were committed, by this process or (on PostgreSQL, through ONE
    /// shared LISTEN connection) by any other: what wakes every `FollowRecords` stream, so a
    /// stream costs no database connection of its own.
    records: Arc<Pulse>,
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
    /// and the due instants follow its reminder thresholds). Its worker (the rule
    /// configuration's follower), the commit relay its first stream starts, and every stream's
    /// tasks run in `tasks` and end on `shutdown`. Built by the composition root (`crates/platform`) only.
    pub async fn with_rules(
        store: Store,
        clock: SharedClock,
        shutdown: Shutdown,
        tasks: Tasks,
        rules: RuleConfig,
    ) -> Result<Self, ApiError> {
        let (catalogue, edit) = Catalogue::open_noting_edit(store.clone()).await?;
        let ingestor = Ingestor::with_rules(catalogue, clock.clone(), rules);
        if let Some((calendar, changed)) = edit {
            // Before the platform serves: no answer or due instant counts on the old days.
            ingestor.recompute_calendar(&calendar, &changed).await?;
        }
        tasks.worker(
            "rule configuration follower",
            follow_rule_config(ingestor.clone(), shutdown.clone()),
        );
        Ok(Self {
            ingestor,
            clock,
            records: Arc::new(Pulse::new(Channel::Records)),
            shutdown,
            tasks,
        })
    }

    /// This platform refusing records dated more than `skew` ahead of its clock (default
    /// [`crate::ingest::DEFAULT_MAX_CLOCK_SKEW`]).
    pub fn with_max_clock_skew(mut self, skew: chrono::Duration) -> Self {
        self.ingestor = self.ingestor.with_max_clock_skew(skew);
        self
    }

    pub fn catalogue(&self) -> &Catalogue {
        self.ingestor.catalogue()
    }

    fn store(&self) -> &Store {
        self.catalogue().store()
    }

    async fn submit(&self, records: Vec<pb::Record>) -> Result<Vec<pb::RecordResult>, ApiError> {
        let started = std::time::Instant::now();
        let results = self.ingestor.submit(records).await?;
        count_batch(&results, started.elapsed());
        if results
            .iter()
            .any(|r| r.status == pb::RecordStatus::Stored as i32)
        {
            self.records.beat();
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
            return Err(ApiError::not_found("case", case_no.as_str()));
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
            &calendar,
            wire_records,
            versioned.version,
            self.clock.now(),
        ))
    }
}

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
        let matter = self
            .catalogue()
            .matter(&code)
            .await?
            .ok_or_else(|| matter_not_found(&code))?;
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
            return Err(matter_not_found(&code).into());
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
        let caller = Caller::of(&request)?;
        let r = request.into_inner();
        limits::check(&r)?;
        let mut records = r.records;
        check_batch(records.len(), "records")?;
        crate::access::admit(&caller, self.store(), &mut records).await?;
        let results = self.submit(records).await?;
        Ok(Response::new(pb::SubmitRecordsResponse { results }))
    }

    type StreamRecordsStream = BoxStream<pb::StreamRecordsResponse>;

    async fn stream_records(
        &self,
        request: Request<tonic::Streaming<pb::StreamRecordsRequest>>,
    ) -> Result<Response<Self::StreamRecordsStream>, Status> {
        let caller = Caller::of(&request)?;
        let mut inbound = request.into_inner();
        // A reader task feeds a channel, so the batcher can take whatever has arrived without
        // losing a message to a cancelled read.
        let (in_tx, in_rx) =
            mpsc::channel::<Result<pb::StreamRecordsRequest, Status>>(STREAM_BATCH * 4);
        let store = self.store().clone();
        self.tasks.spawn(async move {
            loop {
                match inbound.message().await {
                    Ok(Some(mut m)) => {
                        // A record outside the caller's scope ends the stream, refused.
                        if let Some(record) = m.record.as_mut()
                            && let Err(status) =
                                crate::access::admit(&caller, &store, std::slice::from_mut(record))
                                    .await
                        {
                            let _ = in_tx.send(Err(status)).await;
                            return;
                        }
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
        let caller = Caller::of(&request)?;
        let r = request.into_inner();
        limits::check(&r)?;
        crate::access::check_case(&caller, self.store(), &r.case_no).await?;
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
        let caller = Caller::of(&request)?;
        let mut r = request.into_inner();
        limits::check(&r)?;
        caller.narrow(&mut r.department, &mut r.region)?;
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
        let caller = Caller::of(&request)?;
        let mut r = request.into_inner();
        limits::check(&r)?;
        caller.narrow(&mut r.department, &mut r.region)?;
        let after = if r.after.is_empty() {
            LogPosition::START
        } else {
            r.after.parse().map_err(|_| {
                ApiError::invalid("after", "is not a position token this server issued")
            })?
        };
        jurisdiction::subtree("region", &r.region)?;
        self.store()
            .check_log_position(after)
            .await
            .map_err(ApiError::from)?;
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

/// Counts a batch's records by outcome and its time to answer (`egov_runtime::metrics`).
fn count_batch(results: &[pb::RecordResult], took: std::time::Duration) {
    use egov_runtime::metrics::{INGEST_SECONDS, RECORDS};
    metrics::histogram!(INGEST_SECONDS).record(took.as_secs_f64());
    let (mut stored, mut duplicate, mut rejected) = (0, 0, 0);
    for result in results {
        match result.status() {
            pb::RecordStatus::Stored => stored += 1,
            pb::RecordStatus::Duplicate => duplicate += 1,
            _ => rejected += 1,
        }
    }
    for (outcome, n) in [
        ("stored", stored),
        ("duplicate", duplicate),
        ("rejected", rejected),
    ] {
        if n > 0 {
            metrics::counter!(RECORDS, "outcome" => outcome).increment(n);
        }
    }
}

/// NOT_FOUND MATTER_NOT_FOUND, naming the code (cut when it is longer than any code).
fn matter_not_found(code: &str) -> ApiError {
    ApiError::NotFound(
        Refusal::new(
            "MATTER_NOT_FOUND",
            format!("matter {} is not in the catalogue", limits::shown(code)),
        )
        .resource("matter", limits::echo_id(code)),
    )
}
