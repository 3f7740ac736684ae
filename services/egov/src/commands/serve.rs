//! The server commands: `egov up` (both platforms in one process on one port) and
//! `egov approval serve` / `egov supervision serve` (one platform each, for deployment).
//!
//! Start-up order: settings are validated (exit 2 on a bad value), then the composition root
//! (`egov_platform`) opens and migrates the database, prepares the platforms, and only then
//! binds the port, which is announced. Ctrl-C or SIGTERM triggers the shutdown signal: the
//! server stops accepting, streams end themselves, calls in flight get the grace period, the
//! background tasks finish their batch in order, and the database pool is closed. A second
//! Ctrl-C exits at once.

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Context;
use egov_platform::{BuildError, Database, Platforms, Rules, Serve, Settings};
use egov_runtime::access::{Principal, Role, Scope};
use egov_runtime::clock::SystemClock;
use egov_runtime::shutdown::{self, ShutdownTrigger};
use egov_store::StoreOptions;

use super::sample;
use crate::cli::{ServerArgs, UpArgs};
use crate::settings::{ADMIN_TOKEN_FILE, ServerSettings, Target};

pub async fn up(args: UpArgs) -> anyhow::Result<ExitCode> {
    run(&args.server, Serve::Both, args.with_sample).await
}

pub async fn approval(args: ServerArgs) -> anyhow::Result<ExitCode> {
    run(&args, Serve::Approval, false).await
}

pub async fn supervision(args: ServerArgs) -> anyhow::Result<ExitCode> {
    run(&args, Serve::Supervision, false).await
}

async fn run(args: &ServerArgs, serve: Serve, with_sample: bool) -> anyhow::Result<ExitCode> {
    let settings = ServerSettings::from_args(args)?;
    if with_sample && settings.tls.is_some() {
        // The sample loader talks to the platform as a client over loopback, in plaintext.
        return Err(crate::settings::ConfigError(
            "--with-sample: only without --tls-cert; import the sample with `egov matters import` \
             and `egov import` (with --target https://... --ca FILE) instead"
                .into(),
        )
        .into());
    }
    let (trigger, stop) = shutdown::channel();
    tokio::spawn(stop_on_signals(trigger));

    if let Some(dir) = &settings.data_dir {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the data directory {}", dir.display()))?;
    }
    tracing::info!(database = %settings.database, "opening the database");
    let database = Database::Url {
        url: settings.database.expose().to_owned(),
        options: StoreOptions {
            max_connections: settings.db_max_connections,
            acquire_timeout: settings.db_timeout,
            password: settings.database_password.clone(),
        },
    };
    // Production always runs on the system clock; the --rules file wins over the stored
    // configuration and is recorded as a new version.
    let platforms = Platforms::build(Settings {
        rules: Rules::Adopt(settings.rules.clone()),
        scores: settings.scores.clone(),
        listen: settings.listen,
        grace: settings.grace,
        connections: settings.connections,
        tls: settings.tls.clone(),
        supervision: egov_supervision::SupervisionOptions {
            webhook_allow: settings.webhook_allow.clone(),
            ..Default::default()
        },
        trust: settings.trust.clone(),
        max_clock_skew: settings.max_clock_skew,
        metrics: settings.metrics,
        console: settings.console.clone(),
        ..Settings::new(serve, database, SystemClock::shared())
    })
    .await
    .map_err(|e| match e {
        BuildError::Database(e) => anyhow::Error::new(e).context(format!(
            "cannot open the database {} (is it running and reachable? waited {}s)",
            settings.database,
            settings.db_timeout.as_secs()
        )),
        BuildError::Bind(_, e) => anyhow::Error::new(e).context(format!(
            "cannot listen on {} (is another egov already running there? pick another \
             port with --listen)",
            settings.listen
        )),
        BuildError::Tls(e) => crate::settings::ConfigError(e.to_string()).into(),
        other => anyhow::Error::new(other),
    })?;
    if let Some(version) = platforms.rules_version() {
        tracing::info!(version, "rule configuration in force");
    }
    let addr = platforms.addr();
    // The local admin credential (docs/design.md "Trust"): made on the first start in the
    // data directory, for the command line on this machine.
    let local_admin = match &settings.data_dir {
        Some(dir) => Some(local_admin(&platforms, dir).await?),
        None => None,
    };
    announce(serve, addr, &settings, with_sample);
    tracing::info!(%addr, platforms = serve.describe(), "serving");
    if let Some(metrics) = platforms.metrics_addr() {
        println!("  metrics: http://{metrics}/metrics");
    }
    if let Some(console) = platforms.console_addr() {
        println!("  console: http://{console}/");
    }

    if with_sample {
        let platform_stop = platforms.shutdown();
        platforms.tasks().spawn(sample::run(
            Target::local(addr).with_token(local_admin),
            platform_stop,
        ));
    }
    platforms
        .run_until_stopped(stop)
        .await
        .context("the gRPC server failed")?;
    println!("egov stopped.");
    Ok(ExitCode::SUCCESS)
}

/// The token of the local admin in `dir`: the one stored there when it is still valid in this
/// database, else a new one written there (mode 0600: only this user may read it).
pub async fn local_admin(platforms: &Platforms, dir: &std::path::Path) -> anyhow::Result<String> {
    let path = dir.join(ADMIN_TOKEN_FILE);
    if let Ok(text) = std::fs::read_to_string(&path) {
        let token = text.trim();
        let stored = platforms
            .store()
            .find_credential(&egov_trust::hash_token(token))
            .await?;
        if stored.is_some_and(|c| c.revoked_at.is_none()) {
            return Ok(token.to_owned());
        }
    }
    let issued = platforms
        .issue_credential(
            &Principal {
                id: "local-admin".to_owned(),
                role: Role::Admin,
                scope: Scope::All,
            },
            None,
        )
        .await?;
    write_secret(&path, &issued.token)
        .with_context(|| format!("cannot write the local admin credential {}", path.display()))?;
    tracing::info!(path = %path.display(), id = %issued.id, "local admin credential created");
    Ok(issued.token)
}

/// Writes `text` to a new file only its owner may read.
pub fn write_secret(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    // An older file keeps its mode on open: set it again.
    #[cfg(unix)]
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    file.write_all(text.as_bytes())?;
    file.write_all(b"\n")
}

/// What a person sees on start: where it listens, on which database, and what to try next.
fn announce(serve: Serve, addr: SocketAddr, settings: &ServerSettings, with_sample: bool) {
    let target = Target::local(addr);
    match &settings.tls {
        Some(tls) => {
            let mutual = if tls.client_ca.is_some() {
                " (mutual: clients present a certificate)"
            } else {
                ""
            };
            println!(
                "egov {} listening on https://{addr}{mutual}",
                serve.describe()
            );
        }
        None => println!("egov {} listening on http://{addr}", serve.describe()),
    }
    println!("  database: {}", settings.database);
    if with_sample || serve != Serve::Both || settings.tls.is_some() {
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
