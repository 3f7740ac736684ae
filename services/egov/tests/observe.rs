//! A server process as an operator runs it: `egov up --log-format json --metrics-addr ...`
//! writes one JSON object a line on stderr, a call's lines carrying its span (RPC,
//! principal, request id), and serves `/metrics` on the address it announces.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};

/// The address after `prefix` in `line` ("http://ADDR" up to the next '/' or the end).
fn address_after(line: &str, prefix: &str) -> Option<String> {
    let rest = &line[line.find(prefix)? + prefix.len()..];
    Some(rest.split(['/', ' ']).next()?.trim().to_owned())
}

#[test]
fn json_logs_carry_each_calls_span_and_metrics_are_served() {
    let dir = std::env::temp_dir().join(format!("egov-observe-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let data_dir = dir.to_str().expect("a UTF-8 path").to_owned();
    let mut server = Command::new(env!("CARGO_BIN_EXE_egov"))
        .args(["up", "--data-dir", &data_dir, "--listen", "127.0.0.1:0"])
        .args(["--log-format", "json", "--metrics-addr", "127.0.0.1:0"])
        .env("RUST_LOG", "info,egov_trust=debug")
        .env_remove("EGOV_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("egov up starts");
    let mut lines = BufReader::new(server.stdout.take().expect("stdout")).lines();
    let (mut grpc, mut metrics) = (None, None);
    while grpc.is_none() || metrics.is_none() {
        let line = lines
            .next()
            .expect("egov up announces its addresses")
            .expect("a line");
        if line.contains("listening on http://") {
            grpc = address_after(&line, "http://");
        } else if line.contains("metrics: http://") {
            metrics = address_after(&line, "http://");
        }
    }
    let (grpc, metrics) = (grpc.expect("grpc"), metrics.expect("metrics"));

    let status = Command::new(env!("CARGO_BIN_EXE_egov"))
        .args([
            "status",
            "--target",
            &format!("http://{grpc}"),
            "--data-dir",
            &data_dir,
        ])
        .env_remove("EGOV_TOKEN")
        .output()
        .expect("egov status runs");
    assert!(status.status.success(), "{status:?}");

    let mut socket = std::net::TcpStream::connect(&metrics).expect("the metrics port answers");
    socket
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: egov\r\nConnection: close\r\n\r\n")
        .expect("a request");
    let mut scraped = String::new();
    socket.read_to_string(&mut scraped).expect("an answer");
    assert!(scraped.starts_with("HTTP/1.1 200"), "{scraped}");
    assert!(
        scraped.contains("egov_db_pool_max_connections"),
        "{scraped}"
    );

    server.kill().expect("stopped");
    let mut stderr = String::new();
    server
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("the log");
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&dir);
    let logged: Vec<serde_json::Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let answered = logged
        .iter()
        .find(|l| {
            l["fields"]["message"] == "answered"
                && l["span"]["rpc"]
                    .as_str()
                    .is_some_and(|r| r.ends_with("/ListMatters"))
        })
        .unwrap_or_else(|| panic!("no line of the ListMatters call:\n{stderr}"));
    assert_eq!(answered["span"]["principal"], "local-admin", "{answered}");
    assert_eq!(answered["span"]["role"], "admin", "{answered}");
    assert!(
        answered["span"]["request_id"]
            .as_str()
            .is_some_and(|id| !id.is_empty()),
        "{answered}"
    );
}
