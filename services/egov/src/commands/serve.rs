//! The server commands: `egov up` (both platforms in one process on one port) and
//! `egov approval serve` / `egov supervision serve` (one platform each, for deployment).
//!
//! Start-up order: settings are validated (exit 2 on a bad value), the database is opened and
//! migrated, the platforms are prepared, and only then is the port bound and announced. Ctrl-C
//! or SIGTERM triggers the shared shutdown signal: the server stops accepting, streams end
//! themselves, calls in flight get the grace period, the background workers finish their
//! batch, and the database pool is closed. A second Ctrl-C exits at once.

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Context;
use egov_approval::Approval;
use egov_runtime::clock::{SharedClock, SystemClock};
use egov_runtime::serve;
use egov_runtime::shutdown::{self, ShutdownTrigger};
use egov_store::{Store, StoreOptions};
use egov_supervision::{Supervision, Workers};

use super::sample;
use crate::cli::{ServerArgs, UpArgs};
use crate::settings::{ServerSettings, Target};

/// Which platforms one process serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platforms {
    Both,
    Approval,
    Supervision,
}

impl Platforms {
    fn approval(self) -> bool {
        matches!(self, Platforms::Both | Platforms::Approval)
    }

    fn supervision(self) -> bool {
        matches!(self, Platforms::Both | Platforms::Supervision)
    }

    fn describe(self) -> &'static str {
        match self {
            Platforms::Both => "approval + supervision platforms",
            Platforms::Approval => "approval platform",
            Platforms::Supervision => "supervision platform",
        }
    }
}

pub async fn up(args: UpArgs) -> anyhow::Result<ExitCode> {
    run(&args.server, Platforms::Both, args.with_sample).await
}

pub async fn approval(args: ServerArgs) -> anyhow::Result<ExitCode> {
    run(&args, Platforms::Approval, false).await
}

pub async fn supervision(args: ServerArgs) -> anyhow::Result<ExitCode> {
    run(&args, Platforms::Supervision, false).await
}

async fn run(
    args: &ServerArgs,
    platforms: Platforms,
    with_sample: bool,
) -> anyhow::Result<ExitCode> {
    let settings = ServerSettings::from_args(args)?;
    let (trigger, shutdown) = shutdown::channel();
    tokio::spawn(stop_on_signals(trigger));

    if let Some(dir) = &settings.data_dir {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the data directory {}", dir.display()))?;
    }
    tracing::info!(database = %settings.database, "opening the database");
    let options = StoreOptions {
        max_connections: settings.db_max_connections,
        acquire_timeout: settings.db_timeout,
    };
    let store = Store::connect_with(settings.database.expose(), &options)
        .await
        .with_context(|| {
            format!(
                "cannot open the database {} (is it running and reachable? waited {}s)",
                settings.database,
                settings.db_timeout.as_secs()
            )
        })?;
    let clock: SharedClock = SystemClock::shared();
    // The --rules file wins over the stored configuration and is recorded as a new version;
    // without it, the stored one (or the built-in one) is in force.
    let (rules_version, rules) = egov_approval::rule_config::adopt(&store, settings.rules.clone())
        .await
        .map_err(|e| anyhow::anyhow!("cannot set up the rule configuration: {e}"))?;
    tracing::info!(version = rules_version, "rule configuration in force");

    let mut router = tonic::transport::Server::builder();
    let mut routes = None;
    if platforms.approval() {
        let approval = Approval::with_rules(
            store.clone(),
            clock.clone(),
            shutdown.clone(),
            rules.clone(),
        )
        .await
        .context("cannot prepare the approval platform")?;
        routes = Some(router.add_service(egov_approval::grpc_service(approval)));
    }
    let mut supervision = None;
    if platforms.supervision() {
        let platform = Supervision::with_rules(
            store.clone(),
            clock.clone(),
            shutdown.clone(),
            rules.clone(),
        );
        if let Some(scores) = settings.scores.clone() {
            platform.set_score_config(scores);
        }
        let service = egov_supervision::grpc_service(platform.clone());
        let scores = egov_supervision::scores::service::grpc_service(platform.clone());
        routes = Some(match routes {
            Some(routes) => routes.add_service(service).add_service(scores),
            None => router.add_service(service).add_service(scores),
        });
        supervision = Some(platform);
    }
    let routes = routes.expect("at least one platform is served");

    let bound = match serve::bind(settings.listen).await {
        Ok(bound) => bound,
        Err(e) => {
            store.close().await;
            return Err(anyhow::Error::new(e).context(format!(
                "cannot listen on {} (is another egov already running there? pick another \
                 port with --listen)",
                settings.listen
            )));
        }
    };
    // The due loop and the log follower raise the warnings (the service only serves them);
    // they end on the shutdown signal after their current batch.
    let workers: Option<Workers> = supervision.as_ref().map(Supervision::spawn_workers);
    let addr = bound.local_addr();
    announce(platforms, addr, &settings, with_sample);
    tracing::info!(%addr, platforms = platforms.describe(), "serving");

    let sample =
        with_sample.then(|| tokio::spawn(sample::run(Target::local(addr), shutdown.clone())));
    let served = bound.serve(routes, shutdown.clone(), settings.grace).await;

    if let Some(sample) = sample {
        sample.abort();
    }
    if let Some(workers) = workers {
        match &served {
            Ok(()) => workers.join().await,
            // Serving failed without a shutdown signal: the workers would run on unseen.
            Err(_) => workers.abort().await,
        }
    }
    store.close().await;
    served.context("the gRPC server failed")?;
    println!("egov stopped.");
    Ok(ExitCode::SUCCESS)
}

/// What a person sees on start: where it listens, on which database, and what to try next.
fn announce(platforms: Platforms, addr: SocketAddr, settings: &ServerSettings, with_sample: bool) {
    let target = Target::local(addr);
    println!("egov {} listening on http://{addr}", platforms.describe());
    println!("  database: {}", settings.database);
    if with_sample || platforms != Platforms::Both {
        return;
    }
    let flag = if target.as_str() == "http://127.0.0.1:50051" {
        String::new()
    } else {
        format!(" --target {target}")
    };
    let steps = [
        (
            format!("egov matters import{flag} data/sample/matters.jsonl"),
            "the matter catalogue",
        ),
        (
            format!("egov import{flag} data/sample/records.jsonl"),
            "case records",
        ),
        (format!("egov watch{flag}"), "warnings as they are raised"),
        (format!("egov warnings{flag}"), "the current warnings"),
    ];
    let width = steps.iter().map(|(c, _)| c.len()).max().unwrap_or(0);
    println!("Try it from another terminal (or start with `egov up --with-sample`):");
    for (command, what) in steps {
        println!("  {command:<width$}  # {what}");
    }
    println!("Stop with Ctrl-C.");
}

/// Triggers shutdown on the first Ctrl-C or SIGTERM; a second one exits at once.
async fn stop_on_signals(trigger: ShutdownTrigger) {
    signal().await;
    tracing::info!("stopping: finishing calls in flight (Ctrl-C again to exit at once)");
    trigger.trigger();
    signal().await;
    eprintln!("exiting at once");
    std::process::exit(130);
}

#[cfg(unix)]
async fn signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for SIGTERM; only Ctrl-C stops the server");
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(not(unix))]
async fn signal() {
    let _ = tokio::signal::ctrl_c().await;
}
