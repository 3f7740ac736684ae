//! `egov demo` and `egov simulate` as a user runs them: the binary, its output and exit codes.
//! The simulation itself (determinism, every rule firing, the load generator) is tested in
//! `tests/tests/sim.rs`.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

/// The binary, with no setting inherited from the environment of the test run.
fn egov(args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_egov"));
    for var in ["EGOV_TARGET", "RUST_LOG"] {
        cmd.env_remove(var);
    }
    cmd.args(args)
        .stdin(Stdio::null())
        .output()
        .expect("egov runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A fresh path under the temp dir for the demo's database, removed with its directory.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!(
            "egov-demo-test-{name}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        ));
        std::fs::create_dir_all(&dir).expect("a scratch directory");
        Scratch(dir)
    }

    fn db(&self) -> String {
        self.0.join("demo.db").display().to_string()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn a_short_demo_prints_the_city_the_warnings_and_every_rule() {
    let scratch = Scratch::new("short");
    let db = scratch.db();
    let out = egov(&[
        "demo",
        "--days",
        "2",
        "--departments",
        "4",
        "--speed",
        "0",
        "--db",
        &db,
    ]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    for expected in [
        "egov demo: a month of a simulated city",
        "4 departments of Hangzhou",
        "How often each rule of docs/design.md §3 fired:",
        "approaching-deadline",
        "certificate-overdue",
        "all rules",
        "Correction workflow:",
        &format!("the city is in {db}"),
        "egov case HZ-",
        "egov scores --period 2026-09",
    ] {
        assert!(stdout.contains(expected), "no {expected:?} in:\n{stdout}");
    }
    // Quiet logs: the platforms' own lines would bury the demo's output.
    assert!(
        !text(&out.stderr).contains(" INFO "),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn the_demo_wants_a_fresh_database_file() {
    let scratch = Scratch::new("exists");
    let db = scratch.db();
    std::fs::write(&db, b"").expect("a file");
    let out = egov(&["demo", "--db", &db]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("--db") && stderr.contains("the file exists"),
        "{stderr}"
    );
}

#[test]
fn bad_demo_and_simulate_settings_exit_2_naming_the_flag() {
    for (args, flag) in [
        (vec!["demo", "--speed=-5"], "--speed"),
        (vec!["demo", "--days", "0"], "--days"),
        (vec!["demo", "--listen", "nowhere"], "--listen"),
        (vec!["simulate", "--rate", "fast"], "--rate"),
        (vec!["simulate", "--duration", "5 days"], "--duration"),
        (vec!["simulate", "--target", "127.0.0.1"], "--target"),
    ] {
        let out = egov(&args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stderr).contains(flag),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
}
