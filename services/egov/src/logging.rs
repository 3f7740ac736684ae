//! Logging to stderr with `tracing-subscriber`: `info` for the egov crates and `warn` for
//! the rest by default; `RUST_LOG` replaces the default (e.g. `RUST_LOG=debug`).

use tracing_subscriber::EnvFilter;

/// The default filter: egov's own crates at info, dependencies (sqlx, hyper, h2) quiet.
const DEFAULT_FILTER: &str =
    "warn,egov=info,egov_approval=info,egov_supervision=info,egov_store=info,egov_runtime=info";

/// The default of `egov demo`: the platforms' own log lines would bury the demo's output, so
/// only warnings and errors.
pub const QUIET_FILTER: &str = "warn";

pub fn init() {
    init_with_default(DEFAULT_FILTER);
}

/// [`init`] with another default than [`DEFAULT_FILTER`] (`RUST_LOG` still wins).
pub fn init_with_default(default: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    // A second init (never in the binary) would fail; logging is then already set up.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .try_init();
}
