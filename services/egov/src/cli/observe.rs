//! The server commands' observability options: where metrics are served, how log lines
//! are written, where traces are exported, and where the web console is served for people.

use clap::{Args, ValueEnum};

/// Metrics and logs of a server process.
#[derive(Debug, Clone, Args)]
pub struct ObserveArgs {
    /// Serve metrics in Prometheus format on this address (`GET /metrics`), e.g.
    /// 0.0.0.0:9464; off by default, so a process on a laptop opens no second port. The
    /// deployments in deploy/ turn it on.
    #[arg(long, env = "EGOV_METRICS_ADDR", value_name = "ADDR")]
    pub metrics_addr: Option<String>,
    /// Serve the web console (crates/console) on this address, e.g. 127.0.0.1:8080; off by
    /// default. It calls the platforms' services in process, through the front hall.
    #[arg(long, env = "EGOV_CONSOLE_ADDR", value_name = "ADDR")]
    pub console_addr: Option<String>,
    /// The console's secret (at least 16 characters): the key of the public's query codes
    /// and of its CSRF tokens. Keep it: another secret gives every case another code.
    /// Without it a random one is made at each start.
    #[arg(
        long,
        env = "EGOV_CONSOLE_SECRET",
        value_name = "TEXT",
        hide_env_values = true
    )]
    pub console_secret: Option<String>,
    /// How log lines are written to stderr: `text` for people, `json` (one JSON object a
    /// line, with each call's span: its RPC, principal and the ids it names) for a log
    /// collector.
    #[arg(
        long,
        env = "EGOV_LOG_FORMAT",
        value_enum,
        default_value_t = LogFormat::Text
    )]
    pub log_format: LogFormat,
    /// Export traces by OTLP/gRPC to this collector, e.g. http://otel-collector:4317; off by
    /// default. A call continues the trace its client sent (`traceparent`), and the warnings
    /// a record causes, raised later by either platform, are spans of its ingest's trace.
    /// The SDK's OTEL_* variables (OTEL_SERVICE_NAME, OTEL_BSP_SCHEDULE_DELAY ...) apply.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT", value_name = "URL")]
    pub otlp_endpoint: Option<String>,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

impl ObserveArgs {
    /// The web console's settings, when `--console-addr` asks for it.
    pub fn console(&self) -> Result<Option<egov_platform::ConsoleSettings>, String> {
        let Some(text) = &self.console_addr else {
            return Ok(None);
        };
        let listen = text.trim().parse().map_err(|_| {
            format!(
                "--console-addr {text:?}: expected an IP address and a port, such as 127.0.0.1:8080"
            )
        })?;
        Ok(Some(match &self.console_secret {
            Some(secret) if secret.chars().count() < 16 => {
                return Err("--console-secret: at least 16 characters".to_owned());
            }
            Some(secret) => egov_platform::ConsoleSettings {
                listen,
                secret: secret.as_bytes().to_vec(),
            },
            None => egov_platform::ConsoleSettings::random_secret(listen),
        }))
    }
}
