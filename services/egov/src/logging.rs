//! Logging to stderr with `tracing-subscriber`: `info` for the egov crates and `warn` for
//! the rest by default; `RUST_LOG` replaces the default (e.g. `RUST_LOG=debug`). Text lines for
//! people, or with `--log-format json` one JSON object a line for a log collector, carrying
//! the spans the line was written in (each call's: its RPC, principal, role, peer and request
//! id, set by the front hall). With `--otlp-endpoint` the egov crates' spans are also exported
//! as OpenTelemetry traces by OTLP/gRPC (docs/design.md §5): calls, ingests, warnings raised.

use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};
use tokio::runtime::Handle;
use tracing_subscriber::filter::{EnvFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, Registry};

use crate::cli::LogFormat;

/// The default filter: egov's own crates at info, dependencies (sqlx, hyper, h2) quiet.
const DEFAULT_FILTER: &str = concat!(
    "warn,egov=info,egov_approval=info,egov_supervision=info,egov_store=info,",
    "egov_runtime=info,egov_platform=info,egov_trust=info"
);

/// The default of `egov demo`: the platforms' own log lines would bury the demo's output, so
/// only warnings and errors.
pub const QUIET_FILTER: &str = "warn";

/// Where a server process exports its traces.
#[derive(Debug, Clone, Copy)]
pub struct Otlp<'a> {
    /// The collector's OTLP/gRPC address (`--otlp-endpoint`).
    pub endpoint: &'a str,
    /// The process's `service.name` unless `OTEL_SERVICE_NAME` gives one.
    pub service: &'static str,
}

/// What logging set up that must be ended in order: the trace exporter's batch.
#[derive(Debug, Default)]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Sends the spans still batched and stops the exporter. Called once the command has
    /// ended, while the runtime that drives the exporter still runs.
    pub fn shutdown(self) {
        if let Some(provider) = self.provider
            && let Err(e) = provider.shutdown_with_timeout(Duration::from_secs(5))
        {
            eprintln!("warning: the last traces were not all exported: {e}");
        }
    }
}

/// Logging for a command: `format` on stderr, and traces to `otlp` when given, exported on
/// `runtime`. Fails only on an endpoint the exporter cannot use.
pub fn init(
    format: LogFormat,
    otlp: Option<Otlp<'_>>,
    runtime: &Handle,
) -> Result<Telemetry, String> {
    let provider = otlp.map(|o| provider(o, runtime)).transpose()?;
    init_with(DEFAULT_FILTER, format, provider.as_ref());
    Ok(Telemetry { provider })
}

/// Text logs with another default than [`DEFAULT_FILTER`] (`RUST_LOG` still wins), no traces.
pub fn init_with_default(default: &str) {
    init_with(default, LogFormat::Text, None);
}

fn init_with(default: &str, format: LogFormat, provider: Option<&SdkTracerProvider>) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let lines = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let lines: Box<dyn Layer<Registry> + Send + Sync> = match format {
        LogFormat::Text => {
            let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
            lines.with_ansi(ansi).boxed()
        }
        LogFormat::Json => lines
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .boxed(),
    };
    // The traces take egov's own spans whatever RUST_LOG says of the log lines: a trace with
    // holes is worse than none, and the dependencies' spans (h2, sqlx) would drown it.
    let traces = provider.map(|p| {
        tracing_subscriber::layer::Layer::with_filter(
            tracing_opentelemetry::layer().with_tracer(p.tracer("egov")),
            Targets::new().with_target("egov", tracing::Level::INFO),
        )
    });
    // A second init (never in the binary) would fail; logging is then already set up.
    let _ = tracing_subscriber::registry()
        .with(lines.with_filter(filter))
        .with(traces)
        .try_init();
}

/// The tracer provider exporting by OTLP/gRPC to `otlp`, batched (`OTEL_BSP_*` apply).
fn provider(otlp: Otlp<'_>, runtime: &Handle) -> Result<SdkTracerProvider, String> {
    // tonic's channel is made on the runtime that will drive it.
    let exporter = {
        let _entered = runtime.enter();
        opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(otlp.endpoint)
            .build()
            .map_err(|e| format!("--otlp-endpoint {:?}: {e}", otlp.endpoint))?
    };
    let mut resource = opentelemetry_sdk::Resource::builder();
    if std::env::var_os("OTEL_SERVICE_NAME").is_none() {
        resource = resource.with_service_name(otlp.service);
    }
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(OnRuntime {
            inner: exporter,
            runtime: runtime.clone(),
        })
        .with_resource(resource.build())
        .build())
}

/// The OTLP exporter driven on the process's runtime: the SDK's batch processor exports from
/// a thread of its own, where tonic would find no reactor (a known trap of the SDK).
#[derive(Debug)]
struct OnRuntime {
    inner: opentelemetry_otlp::SpanExporter,
    runtime: Handle,
}

impl SpanExporter for OnRuntime {
    fn export(&self, batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
        let export = self.inner.export(batch);
        let runtime = self.runtime.clone();
        async move { runtime.block_on(export) }
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &opentelemetry_sdk::Resource) {
        self.inner.set_resource(resource);
    }
}
