//! The `egov` binary run as real platform processes for the fault and multi-instance suites:
//! starting and killing them, an operator's credential, a webhook receiver, overdue cases, and
//! the counts the suites compare (records stored, warnings listed).
#![allow(dead_code)] // each suite uses its own share of these

use chrono::{FixedOffset, Utc};
use egov_approval::testing::fixtures;
use egov_platform::testing::connect;
use egov_proto::approval::v1 as pb;
use egov_proto::approval::v1::approval_service_client::ApprovalServiceClient;
use egov_proto::supervision::v1 as spb;
use egov_proto::supervision::v1::supervision_service_client::SupervisionServiceClient;
use egov_runtime::access::Authed;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

/// How long any one thing the platforms do may take on a loaded machine before the test
/// gives up (a wait, never a timing assertion).
pub const PATIENCE: Duration = Duration::from_secs(90);

/// The binary, with no setting inherited from the environment of the test run.
pub fn egov() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_egov"));
    for var in [
        "EGOV_TARGET",
        "EGOV_DATABASE_URL",
        "EGOV_LISTEN",
        "EGOV_DATA_DIR",
        "EGOV_TOKEN",
        "RUST_LOG",
    ] {
        cmd.env_remove(var);
    }
    cmd.stdin(Stdio::null());
    cmd
}

/// A platform process: its address, and its log file (shown when the test fails).
pub struct Platform {
    pub name: String,
    child: Child,
    pub addr: SocketAddr,
    log: PathBuf,
}

impl Platform {
    /// Starts `egov <kind> serve` on `url`, port 0, and waits for its address.
    pub fn start(name: &str, kind: &str, url: &str, extra: &[&str]) -> Self {
        let log = std::env::temp_dir().join(format!(
            "egov-instances-{}-{name}-{}.log",
            std::process::id(),
            Utc::now().timestamp_nanos_opt().unwrap_or_default()
        ));
        let mut child = egov()
            .args([
                kind,
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--database-url",
                url,
            ])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("a log file"))
            .spawn()
            .expect("egov starts");
        let out = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let deadline = Instant::now() + PATIENCE;
        let addr = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = rx.recv_timeout(left).unwrap_or_else(|e| {
                panic!(
                    "{name} did not say where it listens ({e}); its log:\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                )
            });
            if let Some(url) = line.split("listening on http://").nth(1) {
                break url.trim().parse().expect("an address");
            }
        };
        Self {
            name: name.to_owned(),
            child,
            addr,
            log,
        }
    }

    /// kill -9: no shutdown of any kind.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
        let _ = std::fs::remove_file(&self.log);
    }

    pub fn tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let from = lines.len().saturating_sub(30);
        format!("--- {} ---\n{}", self.name, lines[from..].join("\n"))
    }
}

impl Drop for Platform {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An admin credential made on the database, as an operator does.
pub fn admin_token(url: &str) -> String {
    let out = egov()
        .args(["tokens", "create", "instances-test", "--role", "admin"])
        .args(["--database-url", url])
        .output()
        .expect("egov runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .expect("the token")
        .trim()
        .to_owned()
}

/// A webhook receiver answering 200 to every POST, keeping the delivery ids it got for each
/// warning and event (`12/raised`, `12/withdrawn`).
#[derive(Clone, Default)]
pub struct Receiver {
    seen: Arc<Mutex<HashMap<String, Vec<String>>>>,
}

impl Receiver {
    pub fn start(&self) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a port");
        let addr = listener.local_addr().expect("its address");
        let seen = self.seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let seen = seen.clone();
                std::thread::spawn(move || serve_http(stream, &seen));
            }
        });
        addr
    }

    pub fn deliveries(&self) -> HashMap<String, Vec<String>> {
        self.seen.lock().expect("not poisoned").clone()
    }
}

/// HTTP/1.1 requests on one connection (kept alive), each answered 200.
pub fn serve_http(stream: TcpStream, seen: &Mutex<HashMap<String, Vec<String>>>) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut writer = stream;
    loop {
        let mut length = 0_usize;
        let mut line = String::new();
        // The request line, then headers up to the blank line.
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let trimmed = line.trim_end();
            if trimmed.is_empty() {
                break;
            }
            if let Some((name, value)) = trimmed.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        // One delivery per warning and event (raised, and withdrawn when it is).
        if let Ok(json) = serde_json::from_slice::<serde_json::Value>(&body)
            && let Some(id) = json["warning"]["id"].as_str()
        {
            let event = json["event"].as_str().unwrap_or("raised");
            let delivery = json["delivery_id"].as_str().unwrap_or_default().to_owned();
            seen.lock()
                .expect("not poisoned")
                .entry(format!("{id}/{event}"))
                .or_default()
                .push(delivery);
        }
        let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
        if writer.write_all(answer).is_err() {
            return;
        }
    }
}

/// Local time (Asia/Shanghai) `days` ago plus `minutes`, as the fixtures take it.
pub fn local_ago(days: i64, minutes: i64) -> String {
    let t = Utc::now() - chrono::Duration::days(days) + chrono::Duration::minutes(minutes);
    t.with_timezone(&FixedOffset::east_opt(8 * 3600).expect("offset"))
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// A case applied for and accepted 60 days ago and never decided: every limit of its matter
/// (10 and 20 working days) has passed, so it is due at once when stored.
pub fn overdue_case(prefix: &str, n: usize) -> Vec<pb::Record> {
    let case = format!("{prefix}-{n:04}");
    vec![
        fixtures::record(
            &case,
            &format!("{case}-a"),
            &local_ago(60, 0),
            fixtures::application("M-FOOD", "market", "330106"),
        ),
        fixtures::record(
            &case,
            &format!("{case}-b"),
            &local_ago(60, 60),
            fixtures::acceptance(),
        ),
    ]
}

pub async fn approval(addr: SocketAddr, token: &str) -> ApprovalServiceClient<Authed> {
    ApprovalServiceClient::new(connect(addr, Some(token)).await)
}

pub async fn supervision(addr: SocketAddr, token: &str) -> SupervisionServiceClient<Authed> {
    SupervisionServiceClient::new(connect(addr, Some(token)).await)
}

pub fn status_of(r: &pb::RecordResult) -> pb::RecordStatus {
    pb::RecordStatus::try_from(r.status).unwrap_or(pb::RecordStatus::Unspecified)
}

/// Every warning, through every page.
pub async fn all_warnings(client: &mut SupervisionServiceClient<Authed>) -> Vec<spb::Warning> {
    let mut all = Vec::new();
    let mut token = String::new();
    loop {
        let page = client
            .list_warnings(spb::ListWarningsRequest {
                page_size: 1000,
                page_token: token,
                ..Default::default()
            })
            .await
            .expect("list warnings")
            .into_inner();
        all.extend(page.warnings);
        if page.next_page_token.is_empty() {
            return all;
        }
        token = page.next_page_token;
    }
}

/// Waits until `check` holds, polling; panics with `what` and the platforms' logs if not.
pub async fn eventually<F, Fut>(what: &str, platforms: &[&Platform], mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let deadline = Instant::now() + PATIENCE;
    loop {
        let last = match check().await {
            Ok(()) => return,
            Err(e) => e,
        };
        if Instant::now() > deadline {
            let logs: Vec<String> = platforms.iter().map(|p| p.tail()).collect();
            panic!("{what}: {last}\n{}", logs.join("\n"));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Streams `records` to one approval instance, one message per record, and returns the
/// event ids acknowledged STORED or DUPLICATE before the stream ended (by itself or because
/// the process was killed).
pub async fn stream_until_cut(
    mut client: ApprovalServiceClient<Authed>,
    records: Vec<pb::Record>,
    acked: Arc<Mutex<Vec<String>>>,
) {
    let requests = tokio_stream::iter(
        records
            .into_iter()
            .map(|record| pb::StreamRecordsRequest {
                record: Some(record),
            })
            .collect::<Vec<_>>(),
    );
    let Ok(answer) = client.stream_records(requests).await else {
        return;
    };
    let mut answers = answer.into_inner();
    while let Ok(Some(m)) = answers.message().await {
        let result = m.result.expect("a result");
        assert_ne!(status_of(&result), pb::RecordStatus::Rejected, "{result:?}");
        acked.lock().expect("not poisoned").push(result.event_id);
    }
}

/// A PostgreSQL cluster of the test's own, on a free port, that the test can stop and start
/// (the machine's shared server must not be restarted under other tests).
pub struct Cluster {
    dir: PathBuf,
    port: u16,
    bin: PathBuf,
}

impl Cluster {
    /// `initdb` of a fresh cluster in a temporary directory, started. As root (CI), the
    /// server runs as the `postgres` user, since PostgreSQL refuses to run as root.
    pub fn start() -> Self {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL's server binaries under /usr/lib/postgresql (scripts/test.sh installs them)")
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|b| b.join("initdb").exists())
            .max()
            .expect("initdb under /usr/lib/postgresql/*/bin");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let dir = std::env::temp_dir().join(format!(
            "egov-cluster-{}-{}",
            std::process::id(),
            Utc::now().timestamp_nanos_opt().unwrap_or_default()
        ));
        std::fs::create_dir_all(&dir).expect("the cluster's directory");
        let cluster = Self { dir, port, bin };
        if Self::as_root() {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&cluster.dir)
                .status()
                .expect("chown runs");
            assert!(ok.success(), "chown of the cluster's directory");
        }
        cluster.run(
            "initdb",
            &[
                "-D",
                &cluster.data(),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
            ],
        );
        cluster.up();
        cluster
    }

    fn as_root() -> bool {
        Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
    }

    fn data(&self) -> String {
        self.dir.join("data").to_string_lossy().into_owned()
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let path = self.bin.join(tool);
        let mut cmd = if Self::as_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        };
        let out = cmd
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("{tool} runs: {e}"));
        assert!(
            out.status.success(),
            "{tool} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts the server and waits until it accepts connections.
    pub fn up(&self) {
        // TCP only: a Unix socket's path (at most 107 bytes) under a deep TMPDIR (a soak's
        // round-10 directory with a 5-digit pid) was too long, and the server never started.
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=off",
            self.port
        );
        let log = self.dir.join("server.log").to_string_lossy().into_owned();
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-o",
                &options,
                "-l",
                &log,
                "-w",
                "start",
            ],
        );
    }

    /// Stops the server at once (`-m fast`: open connections are cut).
    pub fn down(&self) {
        self.run("pg_ctl", &["-D", &self.data(), "-m", "fast", "-w", "stop"]);
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new(self.bin.join("pg_ctl"))
            .args(["-D", &self.data(), "-m", "immediate", "stop"])
            .output();
        if Self::as_root() {
            let _ = Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(self.bin.join("pg_ctl"))
                .args(["-D", &self.data(), "-m", "immediate", "stop"])
                .output();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Waits until each of `cases` alike cases has the same warnings, none twice, and answers all
/// the warnings with how many of them are withdrawn. A card withdrawn because the records it
/// was raised on were incomplete (the rest arrived after an outage or a kill) is not one of
/// its case's warnings.
pub async fn every_case_warned_alike(
    addr: SocketAddr,
    token: &str,
    cases: usize,
    platforms: &[&Platform],
) -> (Vec<spb::Warning>, usize) {
    let withdrawn = |w: &spb::Warning| w.state == spb::WarningState::Withdrawn as i32;
    let warnings = std::cell::RefCell::new(Vec::new());
    eventually("every case's warnings are raised", platforms, || async {
        let mut client = supervision(addr, token).await;
        let all = all_warnings(&mut client).await;
        let mut by_case: BTreeMap<String, BTreeSet<(i32, i32)>> = BTreeMap::new();
        for w in all.iter().filter(|w| !withdrawn(w)) {
            assert!(
                by_case
                    .entry(w.case_no.clone())
                    .or_default()
                    .insert((w.rule, w.level)),
                "a warning raised twice: {w:?}"
            );
        }
        let kinds: BTreeSet<_> = by_case.values().cloned().collect();
        *warnings.borrow_mut() = all;
        if by_case.len() == cases && kinds.len() == 1 {
            Ok(())
        } else {
            Err(format!(
                "{} cases with warnings of {} kinds",
                by_case.len(),
                kinds.len()
            ))
        }
    })
    .await;
    let warnings = warnings.into_inner();
    let n = warnings.iter().filter(|w| withdrawn(w)).count();
    (warnings, n)
}

/// Waits until `receiver` has had `expected` deliveries (a warning's raising and, when it is
/// withdrawn, its withdrawal), each one delivery with one id; answers how many attempts were
/// sent again. An attempt is sent again only when the platform cannot know it was answered
/// (its process killed, or its database lost, between the POST and storing the answer): with
/// the same delivery id, by which receivers drop repeats (README, webhooks), and no more of
/// them than the attempts a hook may have in flight at once.
pub async fn every_warning_delivered_once(
    receiver: &Receiver,
    expected: usize,
    platforms: &[&Platform],
) -> usize {
    const IN_FLIGHT_PER_HOOK: usize = 4;
    let repeats = std::cell::Cell::new(0);
    eventually("every warning is delivered once", platforms, || async {
        let deliveries = receiver.deliveries();
        for (warning, ids) in &deliveries {
            let distinct: BTreeSet<&String> = ids.iter().collect();
            assert_eq!(distinct.len(), 1, "{warning}: two deliveries {distinct:?}");
        }
        repeats.set(deliveries.values().map(|ids| ids.len() - 1).sum());
        assert!(
            repeats.get() <= IN_FLIGHT_PER_HOOK,
            "{} attempts sent again: {deliveries:?}",
            repeats.get()
        );
        if deliveries.len() == expected {
            Ok(())
        } else {
            Err(format!("{} of {expected} delivered", deliveries.len()))
        }
    })
    .await;
    repeats.get()
}

/// Waits, looking every 2 ms, until `done` holds (e.g. a stream has had so many
/// acknowledgements, to cut it there); panics with `platform`'s log after [`PATIENCE`].
pub async fn soon(platform: &Platform, done: impl Fn() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !done() {
        assert!(Instant::now() < deadline, "{}", platform.tail());
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}
