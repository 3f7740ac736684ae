//! The process's `grpc.health.v1` answer (issue 13 item 7), for load balancers and
//! Kubernetes' gRPC probes: SERVING only while the database answers and every worker of the
//! process still runs, for each platform service the process serves and for "" (the whole
//! server); NOT_SERVING otherwise, from before the workers start until they run, and from the
//! shutdown signal on, so that a balancer stops sending new calls while the old ones drain.
//!
//! One more name, [`LIVENESS`], is SERVING while every worker runs, whatever the database
//! does: a liveness probe restarts a process whose worker died, which it would not recover
//! from, but not every process during a database outage, which they all ride out.

use std::time::Duration;

use egov_runtime::shutdown::Shutdown;
use egov_runtime::tasks::Tasks;
use egov_store::Store;
use tonic_health::ServingStatus;
use tonic_health::pb::health_server::HealthServer;
use tonic_health::server::{HealthReporter, HealthService};

use crate::Serve;

/// The service name of the liveness check.
pub const LIVENESS: &str = "liveness";

/// How often the process looks at its database and workers by default.
pub const DEFAULT_HEALTH_INTERVAL: Duration = Duration::from_secs(5);

/// The statuses one process reports.
#[derive(Debug, Clone)]
pub(crate) struct Health {
    reporter: HealthReporter,
    /// The full names of the services the process serves, and "" for the whole server.
    names: Vec<&'static str>,
}

impl Health {
    /// The statuses of a process serving `serve`, all NOT_SERVING until [`Health::run`]
    /// finds the process well.
    pub async fn new(serve: Serve) -> Health {
        let mut names = vec![""];
        if serve.approval() {
            names.push(egov_proto::approval::v1::approval_service_server::SERVICE_NAME);
        }
        if serve.supervision() {
            names.extend([
                egov_proto::supervision::v1::supervision_service_server::SERVICE_NAME,
                egov_proto::supervision::v1::scores_service_server::SERVICE_NAME,
                egov_proto::supervision::v1::complaints_service_server::SERVICE_NAME,
                egov_proto::supervision::v1::accountability_service_server::SERVICE_NAME,
            ]);
        }
        let health = Health {
            reporter: HealthReporter::new(),
            names,
        };
        health.set(ServingStatus::NotServing).await;
        health
            .reporter
            .set_service_status(LIVENESS, ServingStatus::Serving)
            .await;
        health
    }

    /// The `grpc.health.v1.Health` service answering these statuses.
    pub fn service(&self) -> HealthServer<HealthService> {
        HealthServer::new(HealthService::from_health_reporter(self.reporter.clone()))
    }

    async fn set(&self, status: ServingStatus) {
        for name in &self.names {
            self.reporter.set_service_status(name, status).await;
        }
    }

    /// Looks every `interval` until `shutdown`: the database answers a ping within the
    /// interval (at least a second), and no worker of `tasks` has ended. At the signal it
    /// reports NOT_SERVING and then ends every `Watch` stream, which would otherwise hold the
    /// server's drain to its grace period.
    pub async fn run(
        mut self,
        store: Store,
        tasks: Tasks,
        mut shutdown: Shutdown,
        interval: Duration,
    ) {
        let patience = interval.max(Duration::from_secs(1));
        let mut serving = None;
        let mut alive = true;
        loop {
            let ended = tasks.ended_workers();
            if alive && !ended.is_empty() {
                alive = false;
                tracing::error!(workers = %ended.join(", "), "health: workers ended; not live");
                self.reporter
                    .set_service_status(LIVENESS, ServingStatus::NotServing)
                    .await;
            }
            let problem = match tokio::time::timeout(patience, store.ping()).await {
                Ok(Ok(())) if ended.is_empty() => None,
                Ok(Ok(())) => Some(format!("workers ended: {}", ended.join(", "))),
                Ok(Err(error)) => Some(format!("the database does not answer: {error}")),
                Err(_) => Some(format!("the database does not answer within {patience:?}")),
            };
            let now_serving = problem.is_none();
            if serving != Some(now_serving) {
                match &problem {
                    None => tracing::info!("health: serving"),
                    Some(problem) => tracing::warn!(%problem, "health: not serving"),
                }
                self.set(if now_serving {
                    ServingStatus::Serving
                } else {
                    ServingStatus::NotServing
                })
                .await;
                serving = Some(now_serving);
            }
            tokio::select! {
                () = shutdown.wait() => break,
                () = tokio::time::sleep(interval) => {}
            }
        }
        self.set(ServingStatus::NotServing).await;
        self.reporter
            .set_service_status(LIVENESS, ServingStatus::NotServing)
            .await;
        for name in std::mem::take(&mut self.names) {
            self.reporter.clear_service_status(name).await;
        }
        self.reporter.clear_service_status(LIVENESS).await;
    }
}
