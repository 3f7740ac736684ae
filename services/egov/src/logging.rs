//! Logging to stderr with `tracing-subscriber`: `info` for the egov crates and `warn` for
//! the rest by default; `RUST_LOG` replaces the default (e.g. `RUST_LOG=debug`). Text lines for
//! people, or with `--log-format json` one JSON object a line for a log collector, carrying
//! the spans the line was written in (each call's: its RPC, principal, role, peer and request
//! id, set by the front hall).

use tracing_subscriber::EnvFilter;

use crate::cli::LogFormat;

/// The default filter: egov's own crates at info, dependencies (sqlx, hyper, h2) quiet.
const DEFAULT_FILTER: &str = concat!(
    "warn,egov=info,egov_approval=info,egov_supervision=info,egov_store=info,",
    "egov_runtime=info,egov_platform=info,egov_trust=info"
);

/// The default of `egov demo`: the platforms' own log lines would bury the demo's output, so
/// only warnings and errors.
pub const QUIET_FILTER: &str = "warn";

pub fn init(format: LogFormat) {
    init_with(DEFAULT_FILTER, format);
}

/// [`init`] with another default than [`DEFAULT_FILTER`] (`RUST_LOG` still wins), in text.
pub fn init_with_default(default: &str) {
    init_with(default, LogFormat::Text);
}

fn init_with(default: &str, format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second init (never in the binary) would fail; logging is then already set up.
    let _ = match format {
        LogFormat::Text => {
            let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
            builder.with_ansi(ansi).try_init()
        }
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .try_init(),
    };
}
