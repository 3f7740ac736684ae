//! The server commands' observability options: where metrics are served, and how log lines
//! are written.

use clap::{Args, ValueEnum};

/// Metrics and logs of a server process.
#[derive(Debug, Clone, Args)]
pub struct ObserveArgs {
    /// Serve metrics in Prometheus format on this address (`GET /metrics`), e.g.
    /// 0.0.0.0:9464; off by default, so a process on a laptop opens no second port. The
    /// deployments in deploy/ turn it on.
    #[arg(long, env = "EGOV_METRICS_ADDR", value_name = "ADDR")]
    pub metrics_addr: Option<String>,
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
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}
