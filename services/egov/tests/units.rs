//! The systemd units of deploy/systemd, brought up as far as this machine allows: it has no
//! systemd as PID 1, so the test is the process supervisor. It reads each unit as systemd
//! would (the `[Service]` section, `EnvironmentFile=` from deploy/egov.env.example with this
//! site's database and ports, `${VAR}` in `ExecStart=`, `$MAINPID` in `ExecReload=`), starts
//! `ExecStart=` with the built binary in place of /usr/local/bin/egov, waits until
//! `grpc.health.v1` says SERVING, reloads it with `ExecReload=`, stops it with `KillSignal=`
//! and requires a clean exit within `TimeoutStopSec=`; and a unit given a setting that is
//! wrong must exit with a status in `RestartPreventExitStatus=`, so that `Restart=on-failure`
//! does not loop on a misconfiguration. Not run here: `User=egov` and the sandboxing
//! directives, which need systemd (`scripts/check-deploy.sh` verifies them with
//! `systemd-analyze verify` where installed).

mod support;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use egov_platform::testing::connect;
use egov_store::testing::fresh_postgres_url;
use support::processes::PATIENCE;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

fn deploy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy")
}

/// The `[Service]` section of a unit: each key's last value (what these units use).
fn service_section(unit: &Path) -> HashMap<String, String> {
    let text = std::fs::read_to_string(unit).expect("the unit file");
    let mut section = "";
    let mut keys = HashMap::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if line.starts_with('[') {
            section = line;
            continue;
        }
        if section == "[Service]"
            && let Some((key, value)) = line.split_once('=')
        {
            keys.insert(key.trim().to_owned(), value.trim().to_owned());
        }
    }
    keys
}

/// An `EnvironmentFile=`: `KEY=VALUE` lines, comments and blank lines skipped.
fn environment_file(path: &Path) -> HashMap<String, String> {
    std::fs::read_to_string(path)
        .expect("the environment file")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

/// A command line with `${VAR}` and `$VAR` replaced from `env`, split on spaces (the units'
/// command lines quote nothing).
fn expand(line: &str, env: &HashMap<String, String>) -> Vec<String> {
    line.split_whitespace()
        .map(|word| {
            let mut out = word.to_owned();
            for (k, v) in env {
                out = out.replace(&format!("${{{k}}}"), v);
                out = out.replace(&format!("${k}"), v);
            }
            out
        })
        .collect()
}

/// The example environment file with this site's values: the test database, loopback ports
/// the system picks, plaintext (no certificate files here), and nothing for the client
/// commands.
fn site_environment(url: &str) -> HashMap<String, String> {
    let mut env = environment_file(&deploy().join("egov.env.example"));
    assert!(
        env.contains_key("EGOV_DATABASE_URL") && env.contains_key("EGOV_APPROVAL_LISTEN"),
        "the example names the database and the ports"
    );
    env.insert("EGOV_DATABASE_URL".into(), url.into());
    env.insert("EGOV_APPROVAL_LISTEN".into(), "127.0.0.1:0".into());
    env.insert("EGOV_SUPERVISION_LISTEN".into(), "127.0.0.1:0".into());
    for var in ["EGOV_TLS_CERT", "EGOV_TLS_KEY", "EGOV_TARGET", "EGOV_CA"] {
        env.remove(var);
    }
    env
}

/// Starts the unit's `ExecStart=` in `env` (and nothing else of the test's environment but
/// PATH), as systemd does; answers the process and the address it says it listens on.
fn exec_start(unit: &HashMap<String, String>, env: &HashMap<String, String>) -> Child {
    let argv = expand(&unit["ExecStart"], env);
    assert_eq!(
        argv[0], "/usr/local/bin/egov",
        "the unit runs the installed binary"
    );
    Command::new(env!("CARGO_BIN_EXE_egov"))
        .args(&argv[1..])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ExecStart runs")
}

/// The address the process says it listens on, and its log lines from then on.
fn listening(child: &mut Child) -> (SocketAddr, mpsc::Receiver<String>) {
    let out = child.stdout.take().expect("stdout");
    let err = child.stderr.take().expect("stderr");
    let (tx, rx) = mpsc::channel();
    let tx2 = tx.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            let _ = tx2.send(line);
        }
    });
    let deadline = Instant::now() + PATIENCE;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx
            .recv_timeout(left)
            .unwrap_or_else(|e| panic!("no address ({e}); output:\n{}", seen.join("\n")));
        if let Some(url) = line.split("listening on http://").nth(1) {
            return (url.trim().parse().expect("an address"), rx);
        }
        seen.push(line);
    }
}

/// Waits until `grpc.health.v1` answers SERVING for the whole server at `addr`.
async fn serving(addr: SocketAddr) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let mut health = HealthClient::new(connect(addr, None).await);
        let status = health
            .check(HealthCheckRequest::default())
            .await
            .map(|r| r.into_inner().status());
        if matches!(status, Ok(ServingStatus::Serving)) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "not SERVING within {PATIENCE:?}: {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `TimeoutStopSec=` as systemd reads a plain number: seconds.
fn stop_timeout(unit: &HashMap<String, String>) -> Duration {
    Duration::from_secs(
        unit["TimeoutStopSec"]
            .parse()
            .expect("TimeoutStopSec in seconds"),
    )
}

/// Waits for the process to exit within `within`; None if it did not.
fn exited_within(child: &mut Child, within: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test]
async fn each_unit_starts_serves_reloads_and_stops_cleanly_as_systemd_runs_it() {
    let url = fresh_postgres_url().await;
    let env = site_environment(&url);
    for name in ["egov-approval.service", "egov-supervision.service"] {
        let unit = service_section(&deploy().join("systemd").join(name));
        assert_eq!(unit["Type"], "exec", "{name}");
        assert_eq!(
            unit["EnvironmentFile"], "/etc/egov/egov.env",
            "{name} reads the file deploy/egov.env.example is the example of"
        );
        let mut child = exec_start(&unit, &env);
        let (addr, log) = listening(&mut child);
        serving(addr).await;

        // ExecReload= with $MAINPID: the certificates are looked at again; it keeps serving.
        let mut reload_env = env.clone();
        reload_env.insert("MAINPID".into(), child.id().to_string());
        let reload = expand(&unit["ExecReload"], &reload_env);
        let status = Command::new(&reload[0])
            .args(&reload[1..])
            .status()
            .expect("ExecReload runs");
        assert!(status.success(), "{name}: ExecReload: {status}");
        serving(addr).await;
        assert!(
            child.try_wait().expect("wait").is_none(),
            "{name}: still running after the reload"
        );

        // KillSignal=: a clean stop within TimeoutStopSec=, so systemd never has to SIGKILL.
        let signal = unit["KillSignal"].trim_start_matches("SIG").to_owned();
        let status = Command::new("kill")
            .args([format!("-{signal}"), child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
        let exit = exited_within(&mut child, stop_timeout(&unit));
        let lines: Vec<String> = log.try_iter().collect();
        assert!(
            matches!(exit, Some(s) if s.success()),
            "{name}: stopped by {signal} within TimeoutStopSec: {exit:?}; its log:\n{}",
            lines.join("\n")
        );
    }
}

#[tokio::test]
async fn a_misconfigured_unit_exits_with_a_status_that_stops_the_restarts() {
    let url = fresh_postgres_url().await;
    let mut env = site_environment(&url);
    // One pool connection deadlocks the workers: refused at start, before serving.
    env.insert("EGOV_DB_MAX_CONNECTIONS".into(), "1".into());
    for name in ["egov-approval.service", "egov-supervision.service"] {
        let unit = service_section(&deploy().join("systemd").join(name));
        assert_eq!(unit["Restart"], "on-failure", "{name}");
        let prevent: Vec<i32> = unit["RestartPreventExitStatus"]
            .split_whitespace()
            .map(|s| s.parse().expect("an exit status"))
            .collect();
        let mut child = exec_start(&unit, &env);
        let exit = exited_within(&mut child, PATIENCE).expect("it exits");
        assert!(
            exit.code().is_some_and(|c| prevent.contains(&c)),
            "{name}: exit {exit:?} is one of RestartPreventExitStatus={prevent:?}"
        );
    }
}
