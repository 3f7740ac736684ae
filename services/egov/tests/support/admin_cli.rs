//! The `egov` binary run as a client of test platforms started in the test's process, with
//! their admin credential and nothing inherited from the environment of the test run.
#![allow(dead_code)] // each suite uses its own share of these

use std::process::{Command, Output, Stdio};

pub fn egov() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_egov"));
    for var in ["EGOV_TARGET", "EGOV_DATABASE_URL", "RUST_LOG", "USER"] {
        cmd.env_remove(var);
    }
    // The test platforms' admin credential (egov_platform::testing).
    cmd.env("EGOV_TOKEN", egov_platform::testing::ADMIN_TOKEN);
    cmd.stdin(Stdio::null());
    cmd
}

/// Runs `egov` with `list` off the runtime's threads, so the platforms it calls keep serving.
pub async fn run(list: &[&str]) -> Output {
    let args: Vec<String> = list.iter().map(|s| (*s).to_owned()).collect();
    tokio::task::spawn_blocking(move || egov().args(&args).output().expect("egov runs"))
        .await
        .expect("the command thread")
}

/// The standard output of a command that must have succeeded.
pub fn out(o: &Output) -> String {
    assert!(o.status.success(), "{o:?}");
    String::from_utf8_lossy(&o.stdout).into_owned()
}
