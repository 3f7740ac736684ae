//! egov command line: wires the crates together and does nothing else (STYLE: the binary only
//! wires). Parses the command line ([`cli`]), sets up logging, runs the command
//! ([`commands`]) on a Tokio runtime, and turns its outcome into the exit code: 0 success,
//! 1 failure (or an import with rejected lines), 2 invalid command line or settings.
//!
//! Map of the modules:
//! - [`cli`]: clap types, the help text.
//! - [`settings`]: validated settings (database URL with its password masked, addresses).
//! - [`commands`]: one module per command.
//! - [`client`]: connecting to the platforms, and failed calls as advice.
//! - [`output`]: tables, local times, warning lines, JSON Lines.
//! - [`logging`]: `tracing-subscriber` set-up, and the OTLP trace exporter.

#![forbid(unsafe_code)]

mod cli;
mod client;
mod commands;
mod logging;
mod output;
mod settings;

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let telemetry = match (&cli.command, cli.command.observe()) {
        (cli::Command::Demo(_), _) => {
            logging::init_with_default(logging::QUIET_FILTER);
            Ok(logging::Telemetry::default())
        }
        (_, Some((observe, service))) => {
            let otlp = observe
                .otlp_endpoint
                .as_deref()
                .map(|endpoint| logging::Otlp { endpoint, service });
            logging::init(observe.log_format, otlp, runtime.handle())
        }
        (_, None) => logging::init(cli::LogFormat::Text, None, runtime.handle()),
    };
    let telemetry = match telemetry {
        Ok(telemetry) => telemetry,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let outcome = runtime.block_on(commands::run(cli.command));
    // Off the runtime's threads: the exporter's last batch is driven by them.
    telemetry.shutdown();
    // Tasks still running (a client's reconnect loop) must not hold the exit.
    runtime.shutdown_timeout(Duration::from_secs(1));
    match outcome {
        Ok(code) => code,
        Err(e) if e.is::<settings::ConfigError>() => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
