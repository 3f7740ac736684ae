//! [`Supervision`], the platform's state shared by its RPCs and workers, and the
//! `SupervisionService` RPCs: thin adapters that check the request ([`crate::wire`]), ask the
//! store, and answer in wire types. Errors become statuses in [`crate::error`] only.

use egov_domain::rules::RuleConfig;
use std::pin::Pin;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use egov_proto::supervision::v1 as pb;
use egov_proto::supervision::v1::supervision_service_server::SupervisionService;
use egov_runtime::access::{Caller, Scope, Target};
use egov_runtime::clock::SharedClock;
use egov_runtime::follow::{Follower, Step, Wake, follow};
use egov_runtime::pulse::{Channel, Pulse};
use egov_runtime::shutdown::Shutdown;
use egov_runtime::tasks::Tasks;
use egov_store::{LogPosition, Page, Store, StoreError, WarningFilter, WarningPosition};
use futures::Stream;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use crate::error::{ApiError, Refusal};
use crate::wire::{ListQuery, stream_request, warning_id, warning_to_proto, warning_with_history};
use crate::workers::{BATCH, Progress, SupervisionOptions, WorkerStats};
use egov_domain::error::FieldError;
use egov_domain::jurisdiction::check_region;
use egov_domain::workflow::Action;
use egov_proto::convert::FieldViolations;

/// Warnings read from the store per round trip of a stream.
const STREAM_READ: u32 = 500;
/// How often the due loop looks for a rule configuration changed in the shared database.
const RULES_REFRESH: std::time::Duration = std::time::Duration::from_secs(5);

/// The rule configuration in force and where it came from.
#[derive(Debug)]
struct RulesInForce {
    config: Arc<RuleConfig>,
    /// The stored version it is, once one was taken from the database.
    version: Option<i64>,
    /// When the database was last asked (wall time).
    checked: Option<std::time::Instant>,
}
/// One `StreamWarnings` call: the warnings after its position, sent as they are read.
struct WarningStream<'a> {
    store: &'a Store,
    after: WarningPosition,
    filter: &'a WarningFilter,
    tx: &'a mpsc::Sender<Result<pb::StreamWarningsResponse, Status>>,
    /// The caught-up marker is still owed (asked for, and the backlog not yet all sent).
    mark_caught_up: bool,
}

impl Follower for WarningStream<'_> {
    type Error = ApiError;

    async fn step(&mut self) -> Result<Step, ApiError> {
        let rows = self
            .store
            .read_warnings(self.after, self.filter, STREAM_READ)
            .await?;
        if rows.is_empty() {
            // Caught up only when nothing is held back either (PostgreSQL reads below the
            // oldest open transaction): the warnings stored before now have all been sent.
            if self.mark_caught_up && !self.store.warnings_pending(self.after, self.filter).await? {
                self.mark_caught_up = false;
                let marker = pb::StreamWarningsResponse {
                    warning: None,
                    caught_up: true,
                };
                if self.tx.send(Ok(marker)).await.is_err() {
                    return Ok(Step::Done);
                }
            }
            return Ok(Step::Empty);
        }
        for row in rows {
            let msg = pb::StreamWarningsResponse {
                warning: Some(warning_to_proto(&row, false)),
                caught_up: false,
            };
            if self.tx.send(Ok(msg)).await.is_err() {
                return Ok(Step::Done); // the client hung up
            }
            self.after = row.position;
        }
        Ok(Step::Read)
    }

    /// Warnings stored but held back (PostgreSQL) are read again soon.
    async fn pending(&mut self) -> Result<bool, ApiError> {
        Ok(self.store.warnings_pending(self.after, self.filter).await?)
    }
}

/// Store pages a `ListWarnings` call reads at most when it picks rows by several rules or
/// states, so a sparse match cannot keep one call busy; the page then comes back short, with
/// a token to go on.
const MAX_PICK_READS: usize = 10;

/// The supervision platform's state: shared by all calls and all its workers; cheap to clone.
#[derive(Debug, Clone)]
pub struct Supervision {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Store,
    /// "Now" for the rules: when a warning is raised and which instants are due.
    clock: SharedClock,
    /// Ends the workers and the open warning streams.
    shutdown: Shutdown,
    /// Where the workers, the relays and the streams' tasks run, drained at shutdown.
    tasks: Tasks,
    /// Wakes the workers when records are committed (one store subscription for both).
    records: Pulse,
    /// Wakes the warning streams when warnings are stored (one subscription for all).
    warnings: Pulse,
    /// How far the workers got, and the kicks that make them look now.
    progress: Progress,
    /// How the workers and streams wait.
    options: SupervisionOptions,
    /// The supervision rules' configuration (levels and thresholds per matter and department):
    /// the one it started with, replaced by a newer one stored in the shared database (changed
    /// through the approval platform's `UpdateRuleConfig`), looked at by the due loop.
    rules: std::sync::RwLock<RulesInForce>,
    /// The webhook deliverer's state: its wake-ups, its slots, its HTTP client.
    deliverer: crate::webhooks::deliver::Deliverer,
    /// The scores' configuration and the scores follower's wake-ups.
    scores: crate::scores::ScoresState,
}

type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

impl Supervision {
    /// The platform on `store`, waiting as `options` say and raising warnings by the rule
    /// configuration `rules`. Its workers ([`Supervision::spawn_workers`]), its notification
    /// relays and the tasks of its streams run in `tasks` and end on `shutdown`. Built by the
    /// composition root (`crates/platform`) only.
    pub fn new(
        store: Store,
        clock: SharedClock,
        shutdown: Shutdown,
        tasks: Tasks,
        options: SupervisionOptions,
        rules: RuleConfig,
    ) -> Self {
        let webhook_allow = options.webhook_allow.clone();
        Supervision {
            inner: Arc::new(Inner {
                store,
                clock,
                shutdown,
                tasks,
                records: Pulse::new(Channel::Records),
                warnings: Pulse::new(Channel::Warnings),
                progress: Progress::new(),
                options,
                rules: std::sync::RwLock::new(RulesInForce {
                    config: Arc::new(rules),
                    version: None,
                    checked: None,
                }),
                deliverer: crate::webhooks::deliver::Deliverer::new(webhook_allow),
                scores: crate::scores::ScoresState::new(),
            }),
        }
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn clock(&self) -> &SharedClock {
        &self.inner.clock
    }

    pub(crate) fn shutdown(&self) -> Shutdown {
        self.inner.shutdown.clone()
    }

    pub(crate) fn progress(&self) -> &Progress {
        &self.inner.progress
    }

    pub(crate) fn deliverer(&self) -> &crate::webhooks::deliver::Deliverer {
        &self.inner.deliverer
    }

    pub(crate) fn scores_state(&self) -> &crate::scores::ScoresState {
        &self.inner.scores
    }

    /// The rule configuration warnings are raised by.
    pub fn rules(&self) -> Arc<RuleConfig> {
        self.inner
            .rules
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .config
            .clone()
    }

    /// Takes up a rule configuration stored in the shared database since the last look (at
    /// most every [`RULES_REFRESH`]). While none is stored, the one the platform started with
    /// stays; a stored one that does not parse is logged and ignored.
    pub(crate) async fn refresh_rules(&self) {
        let due = {
            let r = self.inner.rules.read().unwrap_or_else(|e| e.into_inner());
            r.checked.is_none_or(|t| t.elapsed() >= RULES_REFRESH)
        };
        if !due {
            return;
        }
        let stored = match self.inner.store.get_rule_config().await {
            Ok(stored) => stored,
            Err(error) => {
                tracing::debug!(%error, "cannot read the rule configuration");
                return;
            }
        };
        let mut r = self.inner.rules.write().unwrap_or_else(|e| e.into_inner());
        r.checked = Some(std::time::Instant::now());
        let Some((version, json)) = stored else {
            return;
        };
        if r.version == Some(version) {
            return;
        }
        match serde_json::from_str::<RuleConfig>(&egov_domain::rules::strip_json_comments(&json)) {
            Ok(config) => {
                tracing::info!(version, "rule configuration in force");
                r.config = Arc::new(config);
                r.version = Some(version);
            }
            Err(error) => tracing::warn!(version, %error, "stored rule configuration ignored"),
        }
    }

    pub(crate) fn options(&self) -> &SupervisionOptions {
        &self.inner.options
    }

    pub(crate) async fn records_pulse(&self) -> Result<watch::Receiver<u64>, StoreError> {
        self.inner
            .records
            .subscribe(&self.inner.store, &self.inner.shutdown, &self.inner.tasks)
            .await
    }

    pub(crate) async fn warnings_pulse(&self) -> Result<watch::Receiver<u64>, StoreError> {
        self.inner
            .warnings
            .subscribe(&self.inner.store, &self.inner.shutdown, &self.inner.tasks)
            .await
    }

    /// Applies a workflow transition asked for over the API (see [`crate::corrections::apply`])
    /// at the platform's clock, and answers the warning with its history.
    ///
    /// The actor is the authenticated caller (docs/design.md "Trust"): the request's `actor`
    /// is ignored, and its `office` may only narrow the caller's own region. The caller must
    /// be allowed the move on this warning (its department, its case's region, the office
    /// holding it) by the policy.
    async fn transition(
        &self,
        caller: &Caller,
        input: Option<pb::WarningTransitionInput>,
        action: Action,
    ) -> Result<pb::Warning, Status> {
        let input = input.ok_or_else(|| ApiError::invalid("input", "is required"))?;
        // Every bad field of the input is reported at once, not only the first.
        let mut bad = Vec::new();
        let id = match warning_id(&input.id) {
            Ok(id) => Some(id),
            Err(ApiError::InvalidArgument { reason, .. }) => {
                bad.push(FieldError::new("input.id", reason));
                None
            }
            Err(other) => return Err(other.into()),
        };
        if input.reason.trim().is_empty() {
            bad.push(FieldError::new("input.reason", "is required"));
        }
        let office = input.office.trim();
        if !office.is_empty()
            && let Err(reason) = check_region(office)
        {
            bad.push(FieldError::new("input.office", reason));
        }
        let Some(id) = id.filter(|_| bad.is_empty()) else {
            return Err(ApiError::InvalidFields(FieldViolations::new(bad)).into());
        };
        let office = match &caller.principal.scope {
            Scope::Region(own) if office.is_empty() => Some(own.as_str()),
            Scope::Region(own) if !office.starts_with(own.as_str()) => {
                return Err(ApiError::PermissionDenied(
                    Refusal::new(
                        "OUTSIDE_SCOPE",
                        format!(
                            "{} acts for the office of {own}, not of {office}",
                            caller.principal.id
                        ),
                    )
                    .with("principal", caller.principal.id.clone())
                    .with("office", office),
                )
                .into());
            }
            _ => (!office.is_empty()).then_some(office),
        };
        let row = self
            .store()
            .get_warning(id)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| ApiError::not_found("warning", id.to_string()))?;
        caller.check(&Target::Warning {
            department: row.department.clone(),
            region: row.region.clone(),
            office: row.office.clone(),
        })?;
        let actor = crate::corrections::Actor {
            who: &caller.principal.id,
            office,
        };
        let row = crate::corrections::apply(
            self,
            id,
            action,
            actor,
            &input.reason,
            &input.attachments,
            self.clock().now(),
        )
        .await?;
        let history = self
            .store()
            .warning_history(id)
            .await
            .map_err(ApiError::from)?;
        Ok(warning_with_history(&row, &history))
    }

    /// Starts the workers (the due loop, the log follower, the webhook deliverer, the scores
    /// follower) in the platform's tasks, in that order; they run until the shutdown signal.
    pub fn spawn_workers(&self) {
        crate::workers::spawn(self);
    }

    pub(crate) fn tasks(&self) -> &Tasks {
        &self.inner.tasks
    }

    /// Counters of this instance's workers.
    pub fn stats(&self) -> WorkerStats {
        self.inner.progress.stats()
    }

    /// Resolves once this instance's workers have fired everything due at or before `now`
    /// and followed the log through `log_head` (take it from [`Store::log_head`] after the
    /// writes of interest). Both are asked to look at once, so this does not wait for a
    /// poll. Never resolves if the workers are not running: put a timeout around it.
    pub async fn caught_up(&self, now: DateTime<Utc>, log_head: LogPosition) {
        let progress = &self.inner.progress;
        progress.due_kick.notify_one();
        progress.log_kick.notify_one();
        self.fired_through(now).await;
        let mut log = progress.log_through.subscribe();
        // The sender lives in `self`, so waiting ends only when the condition holds.
        let _ = log.wait_for(|p| p.is_some_and(|p| p >= log_head)).await;
    }

    /// Resolves once the due loop has fired everything due at or before `t`, whatever woke
    /// it (unlike [`Supervision::caught_up`], it does not ask the loop to look).
    pub async fn fired_through(&self, t: DateTime<Utc>) {
        let mut due = self.inner.progress.due_through.subscribe();
        let _ = due
            .wait_for(|done| done.is_some_and(|done| done >= t))
            .await;
    }

    /// Streams warnings after `after`, then every new one, until shutdown or the client
    /// hangs up.
    fn stream(
        &self,
        after: WarningPosition,
        filter: WarningFilter,
        mark_caught_up: bool,
    ) -> BoxStream<pb::StreamWarningsResponse> {
        let (tx, rx) = mpsc::channel(256);
        let this = self.clone();
        self.inner.tasks.spawn(async move {
            let end = match this.stream_into(after, &filter, mark_caught_up, &tx).await {
                Err(e) => Some(e.into()),
                // Ended by shutdown, not done: the client reconnects with its position.
                Ok(()) if this.shutdown().is_triggered() && !tx.is_closed() => {
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

    async fn stream_into(
        &self,
        after: WarningPosition,
        filter: &WarningFilter,
        mark_caught_up: bool,
        tx: &mpsc::Sender<Result<pb::StreamWarningsResponse, Status>>,
    ) -> Result<(), ApiError> {
        // Subscribed before the first read: a warning stored meanwhile is either in the read
        // or wakes the stream.
        let stored = self
            .inner
            .warnings
            .subscribe(self.store(), &self.inner.shutdown, &self.inner.tasks)
            .await?;
        let wake = Wake::new().pulse(stored).until(tx.closed());
        let mut stream = WarningStream {
            store: self.store(),
            after,
            filter,
            tx,
            mark_caught_up,
        };
        let poll = self.inner.options.fallback_poll;
        follow(&mut stream, wake, self.shutdown(), poll).await
    }

    /// One page of warnings. When several rules or states are asked for, the store's pages
    /// are read until this page is full: each read asks for no more rows than are still
    /// missing, so no matching row is read and left out, and the store's token goes on after
    /// the last row read.
    async fn list(&self, query: ListQuery) -> Result<pb::ListWarningsResponse, ApiError> {
        let store = self.store();
        let wanted = query.page.effective_size();
        if !query.picks() {
            let (rows, next) = store.list_warnings(&query.filter, query.page).await?;
            return Ok(pb::ListWarningsResponse {
                warnings: rows.iter().map(|r| warning_to_proto(r, false)).collect(),
                next_page_token: next.unwrap_or_default(),
            });
        }
        let mut kept = Vec::new();
        let mut token = query.page.token.clone();
        for _ in 0..MAX_PICK_READS {
            let missing = wanted - kept.len() as u32;
            let page = Page {
                size: missing.min(BATCH),
                token,
            };
            let (rows, next) = store.list_warnings(&query.filter, page).await?;
            kept.extend(rows.into_iter().filter(|r| query.keeps(r)));
            token = next;
            if token.is_none() || kept.len() as u32 >= wanted {
                break;
            }
        }
        Ok(pb::ListWarningsResponse {
            warnings: kept.iter().map(|r| warning_to_proto(r, false)).collect(),
            next_page_token: token.unwrap_or_default(),
        })
    }
}

#[tonic::async_trait]
impl SupervisionService for Supervision {
    type StreamWarningsStream = BoxStream<pb::StreamWarningsResponse>;

    async fn stream_warnings(
        &self,
        request: Request<pb::StreamWarningsRequest>,
    ) -> Result<Response<Self::StreamWarningsStream>, Status> {
        let caller = Caller::of(&request)?;
        let mut r = egov_proto::limits::checked(request)?;
        caller.narrow(&mut r.department, &mut r.region)?;
        let mark_caught_up = r.mark_caught_up;
        let (after, filter) = stream_request(r)?;
        self.store()
            .check_warning_position(after)
            .await
            .map_err(ApiError::from)?;
        Ok(Response::new(self.stream(after, filter, mark_caught_up)))
    }

    async fn list_warnings(
        &self,
        request: Request<pb::ListWarningsRequest>,
    ) -> Result<Response<pb::ListWarningsResponse>, Status> {
        let caller = Caller::of(&request)?;
        let mut r = egov_proto::limits::checked(request)?;
        caller.narrow(&mut r.department, &mut r.region)?;
        let query = ListQuery::parse(r)?;
        Ok(Response::new(self.list(query).await?))
    }

    async fn get_warning(
        &self,
        request: Request<pb::GetWarningRequest>,
    ) -> Result<Response<pb::GetWarningResponse>, Status> {
        let caller = Caller::of(&request)?;
        let r = egov_proto::limits::checked(request)?;
        let id = warning_id(&r.id)?;
        let row = self
            .store()
            .get_warning(id)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| ApiError::not_found("warning", id.to_string()))?;
        caller.check(&Target::Warning {
            department: row.department.clone(),
            region: row.region.clone(),
            office: row.office.clone(),
        })?;
        let history = self
            .store()
            .warning_history(id)
            .await
            .map_err(ApiError::from)?;
        Ok(Response::new(pb::GetWarningResponse {
            warning: Some(warning_with_history(&row, &history)),
        }))
    }

    async fn acknowledge_warning(
        &self,
        request: Request<pb::AcknowledgeWarningRequest>,
    ) -> Result<Response<pb::AcknowledgeWarningResponse>, Status> {
        let caller = Caller::of(&request)?;
        let warning = self
            .transition(
                &caller,
                egov_proto::limits::checked(request)?.input,
                Action::Acknowledge,
            )
            .await?;
        Ok(Response::new(pb::AcknowledgeWarningResponse {
            warning: Some(warning),
        }))
    }

    async fn answer_warning(
        &self,
        request: Request<pb::AnswerWarningRequest>,
    ) -> Result<Response<pb::AnswerWarningResponse>, Status> {
        let caller = Caller::of(&request)?;
        let warning = self
            .transition(
                &caller,
                egov_proto::limits::checked(request)?.input,
                Action::Answer,
            )
            .await?;
        Ok(Response::new(pb::AnswerWarningResponse {
            warning: Some(warning),
        }))
    }

    async fn close_warning(
        &self,
        request: Request<pb::CloseWarningRequest>,
    ) -> Result<Response<pb::CloseWarningResponse>, Status> {
        let caller = Caller::of(&request)?;
        let warning = self
            .transition(
                &caller,
                egov_proto::limits::checked(request)?.input,
                Action::Close,
            )
            .await?;
        Ok(Response::new(pb::CloseWarningResponse {
            warning: Some(warning),
        }))
    }

    async fn escalate_warning(
        &self,
        request: Request<pb::EscalateWarningRequest>,
    ) -> Result<Response<pb::EscalateWarningResponse>, Status> {
        let caller = Caller::of(&request)?;
        let warning = self
            .transition(
                &caller,
                egov_proto::limits::checked(request)?.input,
                Action::Escalate,
            )
            .await?;
        Ok(Response::new(pb::EscalateWarningResponse {
            warning: Some(warning),
        }))
    }

    async fn create_webhook(
        &self,
        request: Request<pb::CreateWebhookRequest>,
    ) -> Result<Response<pb::CreateWebhookResponse>, Status> {
        Ok(Response::new(
            self.create_hook(egov_proto::limits::checked(request)?)
                .await?,
        ))
    }

    async fn list_webhooks(
        &self,
        _request: Request<pb::ListWebhooksRequest>,
    ) -> Result<Response<pb::ListWebhooksResponse>, Status> {
        Ok(Response::new(self.list_hooks().await?))
    }

    async fn delete_webhook(
        &self,
        request: Request<pb::DeleteWebhookRequest>,
    ) -> Result<Response<pb::DeleteWebhookResponse>, Status> {
        Ok(Response::new(
            self.remove_hook(egov_proto::limits::checked(request)?)
                .await?,
        ))
    }

    async fn list_webhook_deliveries(
        &self,
        request: Request<pb::ListWebhookDeliveriesRequest>,
    ) -> Result<Response<pb::ListWebhookDeliveriesResponse>, Status> {
        Ok(Response::new(
            self.hook_deliveries(egov_proto::limits::checked(request)?)
                .await?,
        ))
    }
}
