//! Logging to stderr with `tracing-subscriber`: `info` for the egov crates and `warn` for
//! the rest by default; `RUST_LOG` replaces the default (e.g. `RUST_LOG=debug`).

use tracing_subscriber::EnvFilter;

/// The default filter: egov's own crates at info, dependencies (sqlx, hyper, h2) quiet.
const DEFAULT_FILTER: &str =
    "warn,egov=info,egov_approval=info,egov_supervision=info,egov_store=info,egov_runtime=info";

pub fn init() {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    // A second init (never in the binary) would fail; logging is then already set up.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .try_init();
}
