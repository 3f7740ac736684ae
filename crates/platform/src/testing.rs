//! Test fixtures of the composition root: the approval and the supervision platform, each on
//! 127.0.0.1:0 through [`Platforms`] like every other process, over a given (or fresh)
//! database of either kind and a manual clock, with a client connected; and waits that replace
//! sleeping: [`TestSupervision::settled`] until the workers have caught up, [`next_warning`]
//! for the next streamed warning. Used by the services' tests, the end-to-end suite and the
//! command line's tests.
//!
//! Every platform started here gets an admin credential ([`Running::admin`]), and the
//! clients carry it; [`credential`] issues one of another role, [`connect`] a channel with it.

use std::net::SocketAddr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use egov_domain::rules::RuleConfig;
use egov_proto::approval::v1::approval_service_client::ApprovalServiceClient;
use egov_proto::supervision::v1 as pb;
use egov_proto::supervision::v1::supervision_service_client::SupervisionServiceClient;
use egov_runtime::access::{Authed, Bearer, Principal, Role, Scope, authed};
use egov_runtime::clock::{Clock, ManualClock};
use egov_runtime::shutdown::{self, ShutdownTrigger};
use egov_store::{Backend, CaseFilter, LogPosition, Page, Store};
use egov_supervision::{Supervision, SupervisionOptions};
use tokio::task::JoinHandle;
use tonic::transport::Channel;

pub use crate::tls::CertificateProbe;
use crate::{Database, Platforms, Rules, Serve, Settings};

/// How long a test waits for something that should happen at once before it fails.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// How long calls in flight and the tasks get when a test stops a platform.
const GRACE: Duration = Duration::from_secs(2);

/// A fresh database of the given kind.
pub async fn fresh_store(backend: Backend) -> Store {
    egov_store::testing::fresh(backend).await
}

/// The settings of one test platform: `serve` on `store` at `clock`, on a free port. Records
/// may be dated any time ahead of the clock: a story's manual clock stands still while it sends
/// the records of the days ahead (the clock-skew check has its own test, with
/// [`spawn_approval_with_skew`]).
pub fn settings(serve: Serve, store: Store, clock: &ManualClock) -> Settings {
    Settings {
        grace: GRACE,
        max_clock_skew: Duration::MAX,
        // Health flips within a fraction of a second, so its tests wait briefly.
        health_interval: Duration::from_millis(200),
        ..Settings::new(serve, Database::Store(store), clock.shared())
    }
}

/// `options` letting webhooks reach receivers on loopback (127.0.0.0/8 and ::1), as the
/// tests' receivers listen: production refuses them unless `--webhook-allow` names them.
pub fn local_webhooks(options: SupervisionOptions) -> SupervisionOptions {
    SupervisionOptions {
        webhook_allow: egov_supervision::webhooks::destination::WebhookAllow::loopback(),
        ..options
    }
}

/// A platform built by the root and serving on a task of its own until it is stopped.
#[derive(Debug)]
pub struct Running {
    pub addr: SocketAddr,
    /// Where metrics are served, when the settings asked for it.
    pub metrics: Option<SocketAddr>,
    /// Where the web console is served, when the settings asked for it.
    pub console: Option<SocketAddr>,
    /// A token of the test admin ("test-admin", every scope): what the test clients carry.
    pub admin: String,
    /// The platforms' state (to wait for the supervision workers).
    pub approval: Option<egov_approval::Approval>,
    pub supervision: Option<Supervision>,
    trigger: ShutdownTrigger,
    server: Option<JoinHandle<()>>,
}

impl Running {
    /// Builds `settings` through the root and serves them.
    pub async fn start(settings: Settings) -> Running {
        let platforms = Platforms::build(settings)
            .await
            .expect("the platforms start");
        let addr = platforms.addr();
        let metrics = platforms.metrics_addr();
        let console = platforms.console_addr();
        // Two platforms of one test share a store, and so the one admin credential.
        if platforms
            .store()
            .find_credential(&egov_trust::hash_token(ADMIN_TOKEN))
            .await
            .expect("the credentials are readable")
            .is_none()
        {
            egov_trust::credential::store_token(
                platforms.store(),
                &admin(),
                ADMIN_TOKEN,
                "token",
                Utc::now(),
                None,
            )
            .await
            .expect("the test admin's credential is stored");
        }
        let admin = ADMIN_TOKEN.to_owned();
        let approval = platforms.approval().cloned();
        let supervision = platforms.supervision().cloned();
        let (trigger, stop) = shutdown::channel();
        let server = tokio::spawn(async move {
            platforms
                .run_until_stopped(stop)
                .await
                .expect("the platforms serve");
        });
        Running {
            addr,
            metrics,
            console,
            admin,
            approval,
            supervision,
            trigger,
            server: Some(server),
        }
    }

    /// Stops the platforms and waits for them (server, streams and tasks) to finish.
    pub async fn stop(mut self) {
        self.trigger.trigger();
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.trigger.trigger();
    }
}

/// The test admin's token, the same in every test database (each test's own, never a
/// production one), so that the command line's tests can pass it by EGOV_TOKEN.
pub const ADMIN_TOKEN: &str = "egov_test-admin-of-a-test-database";

/// The test admin: every scope.
pub fn admin() -> Principal {
    Principal {
        id: "test-admin".to_owned(),
        role: Role::Admin,
        scope: Scope::All,
    }
}

/// An admin named `name` (every scope): the actor of the workflow moves a test makes as it.
pub fn admin_named(name: &str) -> Principal {
    Principal {
        id: name.to_owned(),
        ..admin()
    }
}

/// A token of `principal` in `store`, valid until `expires_at` (None: until revoked).
pub async fn credential(
    store: &Store,
    principal: &Principal,
    expires_at: Option<DateTime<Utc>>,
) -> String {
    egov_trust::issue(store, principal, "token", Utc::now(), expires_at)
        .await
        .expect("a credential is stored")
        .token
}

/// A channel to `addr` whose calls carry `token` (None: anonymous calls).
pub async fn connect(addr: SocketAddr, token: Option<&str>) -> Authed {
    let channel = Channel::from_shared(format!("http://{addr}"))
        .expect("a valid address")
        .connect()
        .await
        .expect("a client connects");
    authed(channel, token.map_or_else(Bearer::none, Bearer::new))
}

/// A running approval platform for one test.
#[derive(Debug)]
pub struct TestApproval {
    pub addr: SocketAddr,
    pub store: Store,
    pub clock: ManualClock,
    pub client: ApprovalServiceClient<Authed>,
    running: Running,
}

/// Starts the approval platform on a fresh database, its clock at `now`.
pub async fn spawn_approval(backend: Backend, now: DateTime<Utc>) -> TestApproval {
    spawn_approval_on(fresh_store(backend).await, ManualClock::new(now)).await
}

/// Starts the approval platform on a given store and clock.
pub async fn spawn_approval_on(store: Store, clock: ManualClock) -> TestApproval {
    spawn_approval_with(store, clock, RuleConfig::default()).await
}

/// [`spawn_approval_on`] judging records by the rule configuration `rules`.
pub async fn spawn_approval_with(
    store: Store,
    clock: ManualClock,
    rules: RuleConfig,
) -> TestApproval {
    let settings = Settings {
        rules: Rules::Given(rules),
        ..settings(Serve::Approval, store.clone(), &clock)
    };
    start_approval(settings, store, clock).await
}

/// [`spawn_approval_on`] refusing records dated more than `skew` ahead of `clock`, as
/// production does (`--max-clock-skew`).
pub async fn spawn_approval_with_skew(
    store: Store,
    clock: ManualClock,
    skew: Duration,
) -> TestApproval {
    let settings = Settings {
        max_clock_skew: skew,
        ..settings(Serve::Approval, store.clone(), &clock)
    };
    start_approval(settings, store, clock).await
}

async fn start_approval(settings: Settings, store: Store, clock: ManualClock) -> TestApproval {
    let running = Running::start(settings).await;
    let addr = running.addr;
    let client = ApprovalServiceClient::new(connect(addr, Some(&running.admin)).await);
    TestApproval {
        addr,
        store,
        clock,
        client,
        running,
    }
}

impl TestApproval {
    /// A client calling as `principal`.
    pub async fn client_as(&self, principal: &Principal) -> ApprovalServiceClient<Authed> {
        let token = credential(&self.store, principal, None).await;
        ApprovalServiceClient::new(connect(self.addr, Some(&token)).await)
    }

    /// The test admin's token.
    pub fn admin_token(&self) -> &str {
        &self.running.admin
    }

    /// Stops the platform and waits for it to finish.
    pub async fn stop(self) {
        self.running.stop().await;
    }
}

/// A running supervision platform for one test.
#[derive(Debug)]
pub struct TestSupervision {
    pub addr: SocketAddr,
    pub client: SupervisionServiceClient<Authed>,
    pub store: Store,
    pub clock: ManualClock,
    /// The platform's state, to wait for its workers and read their counters.
    pub supervision: Supervision,
    running: Running,
}

/// Starts the supervision platform (server and workers) on `store`, its time given by
/// `clock`, without the correction workflow's timers (`SupervisionOptions::without_corrections`):
/// stories of the raise alone, whose clocks run for weeks past their cards' correction dues.
pub async fn spawn_supervision(store: Store, clock: ManualClock) -> TestSupervision {
    spawn_supervision_with(store, clock, SupervisionOptions::without_corrections()).await
}

/// [`spawn_supervision`] with other options: a fallback poll of an hour shows that the
/// workers wake on time and commits alone.
pub async fn spawn_supervision_with(
    store: Store,
    clock: ManualClock,
    options: SupervisionOptions,
) -> TestSupervision {
    spawn_supervision_with_rules(store, clock, options, RuleConfig::default()).await
}

/// [`spawn_supervision_with`] raising warnings by the rule configuration `rules`.
pub async fn spawn_supervision_with_rules(
    store: Store,
    clock: ManualClock,
    options: SupervisionOptions,
    rules: RuleConfig,
) -> TestSupervision {
    let running = Running::start(Settings {
        rules: Rules::Given(rules),
        supervision: options,
        ..settings(Serve::Supervision, store.clone(), &clock)
    })
    .await;
    let addr = running.addr;
    let supervision = running
        .supervision
        .clone()
        .expect("the supervision platform is served");
    let client = SupervisionServiceClient::new(connect(addr, Some(&running.admin)).await);
    TestSupervision {
        addr,
        client,
        store,
        clock,
        supervision,
        running,
    }
}

impl TestSupervision {
    /// A client calling as `principal`.
    pub async fn client_as(&self, principal: &Principal) -> SupervisionServiceClient<Authed> {
        let token = credential(&self.store, principal, None).await;
        SupervisionServiceClient::new(connect(self.addr, Some(&token)).await)
    }

    /// The test admin's token.
    pub fn admin_token(&self) -> &str {
        &self.running.admin
    }

    /// Waits until the workers have fired everything due at the clock's current time and
    /// followed every record committed so far, and every warning stored by then is listed
    /// (on PostgreSQL lists and streams hold warnings back while an older transaction of
    /// this database is open). Panics when the workers make no progress for [`PATIENCE`]:
    /// this wait tells a hang from slowness and is no speed test (the benchmarks are), since a
    /// loaded machine (two suites at once) can take longer than that for a burst of 10,000.
    pub async fn settled(&self) {
        let now = self.clock.now();
        let wait = async {
            let head = committed_log_head(&self.store).await;
            self.supervision.caught_up(now, head).await;
            egov_store::testing::warnings_settled(&self.store).await;
        };
        tokio::pin!(wait);
        let mut last = self.progress().await;
        loop {
            tokio::select! {
                () = &mut wait => return,
                () = tokio::time::sleep(PATIENCE) => {}
            }
            let mark = self.progress().await;
            if mark == last {
                panic!(
                    "the workers did not catch up with {now} and the log: no progress in \
                     {PATIENCE:?} ({mark:?})"
                );
            }
            last = mark;
        }
    }

    /// What moves while the workers work: their counters and the due instants left.
    async fn progress(&self) -> (egov_supervision::WorkerStats, Option<u64>) {
        (
            self.supervision.stats(),
            self.store.count_open_due().await.ok(),
        )
    }

    /// Every warning, through all pages of `ListWarnings` with `filter` (its page fields
    /// ignored).
    pub async fn list_all(&mut self, filter: pb::ListWarningsRequest) -> Vec<pb::Warning> {
        let mut all = Vec::new();
        let mut token = String::new();
        loop {
            let page = self
                .client
                .list_warnings(pb::ListWarningsRequest {
                    page_size: 1000,
                    page_token: token,
                    ..filter.clone()
                })
                .await
                .expect("list warnings")
                .into_inner();
            all.extend(page.warnings);
            if page.next_page_token.is_empty() {
                return all;
            }
            token = page.next_page_token;
        }
    }

    /// Opens a warning stream.
    pub async fn stream(
        &mut self,
        request: pb::StreamWarningsRequest,
    ) -> tonic::Streaming<pb::StreamWarningsResponse> {
        self.client
            .stream_warnings(request)
            .await
            .expect("stream warnings")
            .into_inner()
    }

    /// Stops the platform and waits for it (server, streams and workers) to finish.
    pub async fn stop(self) {
        self.running.stop().await;
    }
}

/// The position of the last record committed so far. `Store::log_head` alone may be behind:
/// on PostgreSQL the log holds records back while any older writing transaction of the
/// server is open (other tests' too), so this reads the log until it has as many records as
/// the cases say were stored (a case's version counts its records).
pub async fn committed_log_head(store: &Store) -> LogPosition {
    let mut stored: i64 = 0;
    let mut page = Page::first(Page::MAX_SIZE);
    loop {
        let (cases, next) = store
            .list_cases(&CaseFilter::default(), page)
            .await
            .expect("list cases");
        stored += cases.iter().map(|c| c.version).sum::<i64>();
        match next {
            Some(token) => page = Page::next(Page::MAX_SIZE, token),
            None => break,
        }
    }
    let (mut head, mut read) = (LogPosition::START, 0_i64);
    while read < stored {
        let entries = store.read_log(head, 10_000).await.expect("read the log");
        match entries.last() {
            Some((last, _)) => {
                head = *last;
                read += entries.len() as i64;
            }
            // Held back: an older transaction of the server is still open.
            None => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
    head
}

/// The next warning of a stream. Panics if none comes within [`PATIENCE`], or the stream
/// ends or fails.
pub async fn next_warning(
    stream: &mut tonic::Streaming<pb::StreamWarningsResponse>,
) -> pb::Warning {
    match tokio::time::timeout(PATIENCE, stream.message()).await {
        Ok(Ok(Some(m))) => m.warning.expect("a warning in the message"),
        Ok(Ok(None)) => panic!("the warning stream ended"),
        Ok(Err(status)) => panic!("the warning stream failed: {status}"),
        Err(_) => panic!("no warning within {PATIENCE:?}"),
    }
}
