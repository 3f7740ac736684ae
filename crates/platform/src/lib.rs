//! The composition root: the one place where egov's platforms are assembled, bound, served
//! and shut down. `egov up`, `egov approval serve`, `egov supervision serve`, the demo, every
//! test helper ([`testing`]) and the benchmarks start their platforms here, and nowhere else
//! is a router assembled or a worker started (`tests/tests/tidy.rs` checks it).
//!
//! [`Platforms::build`] opens (or takes) the store, settles the rule configuration, prepares
//! the platforms the [`Settings`] ask for and binds the port (0 in tests), exposing its
//! address; [`Platforms::run_until_stopped`] starts the workers, serves until the shutdown
//! signal, then drains in order: the calls in flight within the grace period, then every
//! tracked task (the workers in start order: the approval platform's rule configuration
//! follower, the due loop, the log follower, the webhook deliverer, the scores follower; then
//! the streams' tasks and relays), and closes the store it opened.
//!
//! What every call and every process shares is added once, here: the services are put on the
//! router in [`Platforms::routes`] (the place for authentication layers, health, reflection
//! and the web console), and the tasks are started in [`Platforms::run_until_stopped`].

#![forbid(unsafe_code)]

pub mod audit;
mod console;
mod health;
mod idle;
mod metrics;
mod serve;
pub mod testing;
pub mod tls;

use std::net::SocketAddr;
use std::time::Duration;

use egov_approval::Approval;
use egov_domain::rules::RuleConfig;
use egov_domain::scores::ScoreConfig;
use egov_runtime::access::Principal;
use egov_runtime::clock::SharedClock;
use egov_runtime::error::ApiError;
use egov_runtime::shutdown::{self, Shutdown, ShutdownTrigger};
use egov_runtime::tasks::Tasks;
use egov_store::{Store, StoreError, StoreOptions};
use egov_supervision::{Supervision, SupervisionOptions};
pub use egov_trust::{Limits, Trust, TrustSettings};
use tonic::service::Routes;
use tonic::transport::server::Router;

pub use crate::audit::StoreAuditSink;
pub use crate::console::PUBLIC_PRINCIPAL as CONSOLE_PUBLIC_PRINCIPAL;
pub use crate::health::DEFAULT_HEALTH_INTERVAL;
use crate::health::Health;
use crate::serve::{Bound, Tls};
pub use crate::serve::{ConnectionLimits, DEFAULT_IDLE_TIMEOUT};
use crate::tls::{CertificateProbe, ClientCertificates, PeerCertificates, Reloading};
pub use crate::tls::{TlsError, TlsSettings};
pub use egov_console::{ConsoleSettings, query_code};

/// The router of one process: every service behind the front hall, and that behind the layer
/// that hands each call its client certificate (outermost).
pub(crate) type Routed = Router<
    tower_layer::Stack<
        egov_trust::HallLayer,
        tower_layer::Stack<
            tonic::service::InterceptorLayer<ClientCertificates>,
            tower_layer::Stack<crate::idle::CallsLayer, tower_layer::Identity>,
        >,
    >,
>;

/// How long in-flight calls, then the background tasks, get to finish after shutdown.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(10);

/// How far ahead of the platform's clock a record may be dated (see `--max-clock-skew`).
pub const DEFAULT_MAX_CLOCK_SKEW: Duration = Duration::from_secs(5 * 60);

/// Which platforms one process (one port) serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Serve {
    /// Both on one port, as `egov up` and the demo run them.
    Both,
    Approval,
    Supervision,
}

impl Serve {
    pub fn approval(self) -> bool {
        matches!(self, Serve::Both | Serve::Approval)
    }

    pub fn supervision(self) -> bool {
        matches!(self, Serve::Both | Serve::Supervision)
    }

    pub fn describe(self) -> &'static str {
        match self {
            Serve::Both => "approval + supervision platforms",
            Serve::Approval => "approval platform",
            Serve::Supervision => "supervision platform",
        }
    }
}

/// Where the platforms keep their data.
#[derive(Clone)]
pub enum Database {
    /// Opened (and migrated) by the root, and closed by it at the end.
    Url { url: String, options: StoreOptions },
    /// A store opened by the caller (tests share one between platforms); the caller closes it.
    Store(Store),
}

// By hand: the URL may carry a password, which no log line may show.
impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Database::Url { url, options } => f
                .debug_struct("Url")
                .field("url", &egov_store::redact_url(url))
                .field("options", options)
                .finish(),
            Database::Store(store) => f.debug_tuple("Store").field(store).finish(),
        }
    }
}

/// Which supervision rules' configuration the platforms run with.
#[derive(Debug, Clone, PartialEq)]
pub enum Rules {
    /// Production: the given one (`--rules FILE`) wins over the stored one and is recorded as a
    /// new version; without one, the stored one (or the built-in one) is in force.
    Adopt(Option<RuleConfig>),
    /// Tests and the demo: this one, as it is, without storing it.
    Given(RuleConfig),
}

/// What a process is built from.
#[derive(Debug, Clone)]
pub struct Settings {
    pub serve: Serve,
    pub database: Database,
    /// "Now" for every rule: `SystemClock` in production, a `ManualClock` in tests and the demo.
    pub clock: SharedClock,
    pub rules: Rules,
    /// The score configuration; None: the built-in one.
    pub scores: Option<ScoreConfig>,
    /// How the supervision workers and streams wait, and whether the correction workflow's
    /// timers run.
    pub supervision: SupervisionOptions,
    /// Where to listen; port 0 picks a free one ([`Platforms::addr`] tells which).
    pub listen: SocketAddr,
    /// How long calls in flight, then the background tasks, get at shutdown.
    pub grace: Duration,
    /// Limits on the clients' connections (per peer, silent ones, idle ones, keepalive).
    pub connections: ConnectionLimits,
    /// TLS on the port (mutual with a client CA), reloaded when its files change; None:
    /// plaintext, as `egov up` and the demo serve on loopback.
    pub tls: Option<TlsSettings>,
    /// Tests only: records the client certificate each call carried (see
    /// [`testing::CertificateProbe`]).
    pub certificate_probe: Option<CertificateProbe>,
    /// Who may call, and what they may do (docs/design.md "Trust"): the policy, the limits per
    /// credential, the client certificates' principals, the audit sink.
    pub trust: TrustSettings,
    /// How far ahead of `clock` a record may be dated before it is refused.
    pub max_clock_skew: Duration,
    /// How often the process looks at its database and workers for `grpc.health.v1`.
    pub health_interval: Duration,
    /// Where to serve metrics in Prometheus format (`GET /metrics`); None: nowhere.
    pub metrics: Option<SocketAddr>,
    /// Where to serve the web console, and its secret; None: no console.
    pub console: Option<ConsoleSettings>,
}

impl Settings {
    /// `serve` on `database` at `clock`, on a free local port, with the built-in rules, the
    /// default supervision options and the default grace period.
    pub fn new(serve: Serve, database: Database, clock: SharedClock) -> Self {
        Settings {
            serve,
            database,
            clock,
            rules: Rules::Given(RuleConfig::default()),
            scores: None,
            supervision: SupervisionOptions::default(),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            grace: DEFAULT_GRACE,
            connections: ConnectionLimits::default(),
            tls: None,
            certificate_probe: None,
            trust: TrustSettings::default(),
            max_clock_skew: DEFAULT_MAX_CLOCK_SKEW,
            health_interval: DEFAULT_HEALTH_INTERVAL,
            metrics: None,
            console: None,
        }
    }
}

/// Why the platforms could not start.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("cannot open the database: {0}")]
    Database(#[source] StoreError),
    #[error("cannot set up the rule configuration: {0}")]
    Rules(#[source] ApiError),
    #[error("cannot prepare the approval platform: {0}")]
    Approval(#[source] ApiError),
    #[error("cannot use the access policy: {0}")]
    Policy(#[source] egov_trust::PolicyError),
    #[error("cannot listen on {0}: {1}")]
    Bind(SocketAddr, #[source] std::io::Error),
    #[error("cannot set up TLS: {0}")]
    Tls(#[source] TlsError),
    #[error("cannot set up the web console: {0}")]
    Console(String),
}

/// The platforms of one process, bound and ready to serve.
#[derive(Debug)]
pub struct Platforms {
    serve: Serve,
    bound: Bound,
    store: Store,
    /// Whether the root opened the store, and so closes it.
    owns_store: bool,
    clock: SharedClock,
    approval: Option<Approval>,
    supervision: Option<Supervision>,
    /// The platforms' own signal, fired when the caller's fires (or serving fails).
    trigger: ShutdownTrigger,
    shutdown: Shutdown,
    tasks: Tasks,
    rules_version: Option<i64>,
    grace: Duration,
    connections: ConnectionLimits,
    /// The open connections' calls in flight, for closing idle ones.
    open: std::sync::Arc<crate::idle::Connections>,
    /// TLS on the port, when the settings ask for it.
    tls: Option<Tls>,
    certificate_probe: Option<CertificateProbe>,
    /// The front hall every call passes through.
    trust: Trust,
    /// What `grpc.health.v1` answers, kept by a task of its own while serving.
    health: Health,
    health_interval: Duration,
    /// The metrics port, when the settings ask for one.
    metrics: Option<crate::metrics::MetricsPort>,
    /// The web console's port, when the settings ask for one.
    console: Option<crate::console::ConsolePort>,
    /// Where the console serves (kept after its port is handed to its task).
    console_addr: Option<SocketAddr>,
}

impl Platforms {
    /// Opens the store, settles the rules, prepares the platforms and binds the port.
    pub async fn build(settings: Settings) -> Result<Platforms, BuildError> {
        let (store, owns_store) = match &settings.database {
            Database::Url { url, options } => (
                Store::connect_with(url, options)
                    .await
                    .map_err(BuildError::Database)?,
                true,
            ),
            Database::Store(store) => {
                // Fail at start, not in the first worker pass, when the database does not
                // answer.
                store.ping().await.map_err(BuildError::Database)?;
                (store.clone(), false)
            }
        };
        match Self::prepare(settings, &store).await {
            Ok(platforms) => Ok(Platforms {
                owns_store,
                ..platforms
            }),
            Err(e) => {
                if owns_store {
                    store.close().await;
                }
                Err(e)
            }
        }
    }

    async fn prepare(settings: Settings, store: &Store) -> Result<Platforms, BuildError> {
        let Settings {
            serve,
            database: _,
            clock,
            rules,
            scores,
            supervision: options,
            listen,
            grace,
            connections,
            tls,
            certificate_probe,
            trust,
            max_clock_skew,
            health_interval,
            metrics,
            console,
        } = settings;
        // Before anything starts: a certificate that does not load is a start-up error.
        let tls = tls
            .map(|settings| {
                Reloading::load(settings).map(|reloading| Tls {
                    reloading: std::sync::Arc::new(reloading),
                    peers: std::sync::Arc::new(PeerCertificates::default()),
                })
            })
            .transpose()
            .map_err(BuildError::Tls)?;
        // Every refused and state-changing call goes to the audit log (docs/design.md §9).
        let audit = trust.audit.clone().unwrap_or_else(|| {
            std::sync::Arc::new(StoreAuditSink::new(store.clone())) as std::sync::Arc<_>
        });
        let trust = TrustSettings {
            audit: Some(audit),
            ..trust
        };
        let trust = Trust::new(trust, store.clone()).map_err(BuildError::Policy)?;
        let (rules_version, rules) = match rules {
            Rules::Adopt(file) => {
                let (version, rules) = egov_approval::rule_config::adopt(store, file)
                    .await
                    .map_err(BuildError::Rules)?;
                (Some(version), rules)
            }
            Rules::Given(rules) => (None, rules),
        };
        let (trigger, shutdown) = shutdown::channel();
        let tasks = Tasks::new();
        let approval = if serve.approval() {
            Some(
                Approval::with_rules(
                    store.clone(),
                    clock.clone(),
                    shutdown.clone(),
                    tasks.clone(),
                    rules.clone(),
                )
                .await
                .map_err(BuildError::Approval)?
                .with_max_clock_skew(
                    chrono::Duration::from_std(max_clock_skew).unwrap_or(chrono::Duration::MAX),
                ),
            )
        } else {
            None
        };
        let supervision = serve.supervision().then(|| {
            let supervision = Supervision::new(
                store.clone(),
                clock.clone(),
                shutdown.clone(),
                tasks.clone(),
                options,
                rules,
            );
            if let Some(scores) = scores {
                supervision.set_score_config(scores);
            }
            supervision
        });
        let bound = async {
            let bound = serve::bind(listen)
                .await
                .map_err(|e| BuildError::Bind(listen, e))?;
            let metrics = match metrics {
                Some(addr) => Some(
                    crate::metrics::MetricsPort::bind(addr)
                        .await
                        .map_err(|e| BuildError::Bind(addr, e))?,
                ),
                None => None,
            };
            let console = match console {
                Some(settings) => Some(crate::console::ConsolePort::bind(settings, store).await?),
                None => None,
            };
            Ok((bound, metrics, console))
        };
        let (bound, metrics, console) = match bound.await {
            Ok(bound) => bound,
            Err(e) => {
                // Nothing serves: the approval platform's relays end with the signal.
                trigger.trigger();
                tasks.drain(grace).await;
                return Err(e);
            }
        };
        Ok(Platforms {
            serve,
            bound,
            store: store.clone(),
            owns_store: false,
            clock,
            approval,
            supervision,
            trigger,
            shutdown,
            tasks,
            rules_version,
            grace,
            connections,
            open: Default::default(),
            tls,
            certificate_probe,
            trust,
            health: Health::new(serve).await,
            health_interval,
            metrics,
            console_addr: console.as_ref().map(crate::console::ConsolePort::addr),
            console,
        })
    }

    /// Where the platforms serve.
    pub fn addr(&self) -> SocketAddr {
        self.bound.local_addr()
    }

    /// Where metrics are served (`GET /metrics`), when they are.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(crate::metrics::MetricsPort::addr)
    }

    /// Where the web console is served, when it is.
    pub fn console_addr(&self) -> Option<SocketAddr> {
        self.console_addr
    }

    /// Which platforms this process serves.
    pub fn serve(&self) -> Serve {
        self.serve
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// The stored version of the rule configuration in force, when the root adopted it.
    pub fn rules_version(&self) -> Option<i64> {
        self.rules_version
    }

    /// The approval platform, when this process serves it.
    pub fn approval(&self) -> Option<&Approval> {
        self.approval.as_ref()
    }

    /// The supervision platform, when this process serves it: to wait for its workers
    /// (`Supervision::caught_up`) in tests and the demo.
    pub fn supervision(&self) -> Option<&Supervision> {
        self.supervision.as_ref()
    }

    /// The tracked tasks, for a task of the process that must end before the store closes
    /// (the sample loader of `egov up --with-sample`).
    pub fn tasks(&self) -> &Tasks {
        &self.tasks
    }

    /// The front hall: its policy (the access tests enumerate its actions).
    pub fn trust(&self) -> &Trust {
        &self.trust
    }

    /// Issues a bearer token for `principal` (never expiring when `expires_at` is None): the
    /// local admin credential of `egov up` and the demo, the simulated city's service centres,
    /// the test clients.
    pub async fn issue_credential(
        &self,
        principal: &Principal,
        expires_at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<egov_trust::Issued, egov_trust::credential::IssueError> {
        egov_trust::issue(
            &self.store,
            principal,
            "token",
            chrono::Utc::now(),
            expires_at,
        )
        .await
    }

    /// The platforms' own shutdown signal, for such a task to watch.
    pub fn shutdown(&self) -> Shutdown {
        self.shutdown.clone()
    }

    /// Whether the port speaks TLS.
    pub fn tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Every service of this process on one router: the one place to wrap them all. The
    /// outermost layer hands each call the subject of its peer's verified client certificate
    /// (mutual TLS), for the layers inside it. Besides the platforms: `grpc.health.v1` and
    /// server reflection (v1 and v1alpha) of the services served, which the policy opens to
    /// callers without a credential. Every platform service takes gzip-compressed requests,
    /// and compresses its answers for a client that asks for it.
    fn routes(&self) -> Routed {
        // Keepalive pings find connections whose peer went away without closing them. The
        // front hall wraps the whole router, inside the certificates' layer: no RPC is
        // reached around it.
        let certificates = ClientCertificates {
            peers: self
                .tls
                .as_ref()
                .map_or_else(Default::default, |tls| tls.peers.clone()),
            probe: self.certificate_probe.clone(),
        };
        // Outermost, the calls in flight on each connection, for closing idle ones.
        tonic::transport::Server::builder()
            .layer(crate::idle::CallsLayer(self.open.clone()))
            .layer(tonic::service::InterceptorLayer::new(certificates))
            .http2_keepalive_interval(Some(self.connections.keepalive_interval))
            .http2_keepalive_timeout(Some(self.connections.keepalive_timeout))
            .initial_stream_window_size(serve::STREAM_WINDOW)
            .initial_connection_window_size(serve::CONNECTION_WINDOW)
            .layer(self.trust.layer())
            .add_routes(self.services())
    }

    /// The platforms' services behind the front hall as one in-process service: the web
    /// console's way to them. No client certificate reaches it (none is put in its calls),
    /// and every call passes the front hall as over the port.
    fn in_process(&self) -> egov_console::Channel {
        use tower_layer::Layer;
        egov_console::Channel::new(self.trust.layer().layer(self.services()))
    }

    /// Every service the port serves, before the layers.
    fn services(&self) -> Routes {
        use egov_runtime::error::SizeLimited;
        use tonic::codec::CompressionEncoding::Gzip;
        let mut routes = Routes::builder();
        let mut names = vec![
            tonic_health::pb::health_server::SERVICE_NAME,
            tonic_reflection::pb::v1::server_reflection_server::SERVICE_NAME,
            tonic_reflection::pb::v1alpha::server_reflection_server::SERVICE_NAME,
            egov_proto::access::v1::access_service_server::SERVICE_NAME,
        ];
        // Signing in, on every process: a person's way to a credential (docs/design.md §8).
        routes.add_service(self.trust.access().grpc_service());
        // gzip is set on the generated server inside the size limit's wrapper.
        if let Some(approval) = &self.approval {
            let SizeLimited(server) = egov_approval::grpc_service(approval.clone());
            routes.add_service(SizeLimited(
                server.accept_compressed(Gzip).send_compressed(Gzip),
            ));
            names.push(egov_proto::approval::v1::approval_service_server::SERVICE_NAME);
        }
        if let Some(supervision) = &self.supervision {
            let SizeLimited(warnings) = egov_supervision::grpc_service(supervision.clone());
            let SizeLimited(scores) =
                egov_supervision::scores::service::grpc_service(supervision.clone());
            let SizeLimited(complaints) =
                egov_supervision::complaints::grpc_service(supervision.clone());
            let SizeLimited(accountability) =
                egov_supervision::accountability::grpc_service(supervision.clone());
            routes
                .add_service(SizeLimited(
                    warnings.accept_compressed(Gzip).send_compressed(Gzip),
                ))
                .add_service(SizeLimited(
                    scores.accept_compressed(Gzip).send_compressed(Gzip),
                ))
                .add_service(SizeLimited(
                    complaints.accept_compressed(Gzip).send_compressed(Gzip),
                ))
                .add_service(SizeLimited(
                    accountability.accept_compressed(Gzip).send_compressed(Gzip),
                ));
            names.extend([
                egov_proto::supervision::v1::supervision_service_server::SERVICE_NAME,
                egov_proto::supervision::v1::scores_service_server::SERVICE_NAME,
                egov_proto::supervision::v1::complaints_service_server::SERVICE_NAME,
                egov_proto::supervision::v1::accountability_service_server::SERVICE_NAME,
            ]);
        }
        // The descriptors are compiled into the binary: one that does not decode is a build
        // fault, found by the reflection test, not a condition of the running process.
        let reflection = || {
            names.iter().fold(
                tonic_reflection::server::Builder::configure()
                    .register_encoded_file_descriptor_set(egov_proto::FILE_DESCRIPTOR_SET)
                    .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET),
                |builder, name| builder.with_service_name(*name),
            )
        };
        routes
            .add_service(self.health.service())
            .add_service(
                reflection()
                    .build_v1()
                    .expect("the contract's descriptors decode"),
            )
            .add_service(
                reflection()
                    .build_v1alpha()
                    .expect("the contract's descriptors decode"),
            );
        routes.routes()
    }

    /// Starts the workers, serves until `stop` fires, then drains: calls in flight within the
    /// grace period, then every tracked task in order within it again, and closes the store
    /// the root opened.
    pub async fn run_until_stopped(
        mut self,
        mut stop: Shutdown,
    ) -> Result<(), tonic::transport::Error> {
        let routes = self.routes();
        if let Some(supervision) = &self.supervision {
            supervision.spawn_workers();
        }
        self.tasks.spawn(self.health.clone().run(
            self.store.clone(),
            self.tasks.clone(),
            self.shutdown.clone(),
            self.health_interval,
        ));
        if let Some(port) = self.metrics.take() {
            self.tasks
                .spawn(port.serve(self.store.clone(), self.shutdown.clone()));
        }
        match &self.tls {
            Some(tls) => self
                .tasks
                .spawn(tls.reloading.clone().watch(self.shutdown.clone())),
            None => self
                .tasks
                .spawn(crate::tls::hangups_without_tls(self.shutdown.clone())),
        };
        if let Some(console) = self.console.take() {
            self.tasks.spawn(console.serve(
                self.in_process(),
                self.trust.authorizer(),
                self.clock.clone(),
                false,
                self.shutdown.clone(),
            ));
        }
        let trigger = self.trigger.clone();
        let forward = tokio::spawn(async move {
            stop.wait().await;
            trigger.trigger();
        });
        let served = self
            .bound
            .serve(
                routes,
                self.shutdown.clone(),
                self.grace,
                self.connections,
                self.tls.clone(),
                self.open.clone(),
            )
            .await;
        forward.abort();
        match &served {
            Ok(()) => {
                self.tasks.drain(self.grace).await;
            }
            Err(_) => {
                // Serving failed without a shutdown signal: the workers would run on unseen.
                self.trigger.trigger();
                self.tasks.abort(self.grace).await;
            }
        }
        if self.owns_store {
            self.store.close().await;
        }
        tracing::info!(platforms = self.serve.describe(), "stopped");
        served
    }
}
