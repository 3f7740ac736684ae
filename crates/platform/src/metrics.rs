//! Metrics in Prometheus text format on an HTTP port of the process (`--metrics-addr`,
//! `GET /metrics`): the counters and histograms the services record as things happen (named
//! in `egov_runtime::metrics`), and gauges read at each scrape (due instants pending, each
//! follower's lag, the database pool's use). One recorder per process, installed by the first
//! platform that exports metrics; a process without `--metrics-addr` installs none.

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use egov_runtime::metrics::{DB_POOL_CONNECTIONS, DB_POOL_MAX, DUE_PENDING, FOLLOWER_LAG};
use egov_runtime::shutdown::Shutdown;
use egov_store::Store;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;

/// How long a scrape waits for the database's gauges before it answers without them.
const SAMPLE_PATIENCE: Duration = Duration::from_secs(2);

/// The histograms' buckets, in seconds: from a fast batch (5 ms) to a warning a day late.
const BUCKETS: [f64; 16] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0, 300.0, 3600.0, 21600.0,
    86400.0,
];

/// The process's recorder, installed on first use.
fn handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new();
            // A constant list of increasing buckets: the builder accepts it.
            let builder = builder
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &BUCKETS)
                .unwrap_or_else(|_| PrometheusBuilder::new());
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("another metrics recorder is installed; /metrics shows none");
            }
            egov_runtime::metrics::describe();
            handle
        })
        .clone()
}

/// The metrics port, bound and not yet serving.
#[derive(Debug)]
pub(crate) struct MetricsPort {
    listener: TcpListener,
    addr: SocketAddr,
}

impl MetricsPort {
    /// Binds `addr` (port 0: a free one) and installs the recorder.
    pub async fn bind(addr: SocketAddr) -> std::io::Result<MetricsPort> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        handle();
        Ok(MetricsPort { listener, addr })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Answers `GET /metrics` until `shutdown`.
    pub async fn serve(self, store: Store, shutdown: Shutdown) {
        let handle = handle();
        let app = axum::Router::new().route(
            "/metrics",
            axum::routing::get(move || {
                let (store, handle) = (store.clone(), handle.clone());
                async move {
                    sample(&store).await;
                    handle.run_upkeep();
                    (
                        [(
                            axum::http::header::CONTENT_TYPE,
                            "text/plain; version=0.0.4; charset=utf-8",
                        )],
                        handle.render(),
                    )
                }
            }),
        );
        let mut stop = shutdown;
        let served = axum::serve(self.listener, app)
            .with_graceful_shutdown(async move { stop.wait().await })
            .await;
        if let Err(error) = served {
            tracing::error!(%error, "the metrics port failed");
        }
    }
}

/// Sets the gauges read from the store; a database that does not answer in time leaves them
/// as they were (the health check says why).
async fn sample(store: &Store) {
    let pool = store.pool_use();
    metrics::gauge!(DB_POOL_CONNECTIONS, "state" => "idle").set(pool.idle);
    metrics::gauge!(DB_POOL_CONNECTIONS, "state" => "in_use")
        .set(pool.open - pool.idle.min(pool.open));
    metrics::gauge!(DB_POOL_MAX).set(pool.max);
    let read = async {
        let due = store.count_open_due().await?;
        let lags = store.cursor_lags().await?;
        Ok::<_, egov_store::StoreError>((due, lags))
    };
    match tokio::time::timeout(SAMPLE_PATIENCE, read).await {
        Ok(Ok((due, lags))) => {
            metrics::gauge!(DUE_PENDING).set(due as f64);
            for (cursor, lag) in lags {
                metrics::gauge!(FOLLOWER_LAG, "cursor" => cursor).set(lag as f64);
            }
        }
        Ok(Err(error)) => tracing::debug!(%error, "metrics: cannot read the database's gauges"),
        Err(_) => tracing::debug!("metrics: the database's gauges took too long"),
    }
}
