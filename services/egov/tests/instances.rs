//! Several instances of each platform on one PostgreSQL database, run as real `egov`
//! processes, with kill -9 of either platform in the middle of its work (issue 14, item 11,
//! and the fault-injection suite's process kills): the work is shared, and nothing is stored,
//! raised, delivered or counted twice, nor lost.
//!
//! PostgreSQL only: several processes on one SQLite file is not a deployment egov supports
//! (the embedded default is one `egov up`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use chrono::{FixedOffset, Utc};
use egov_approval::testing::fixtures;
use egov_platform::testing::connect;
use egov_proto::approval::v1 as pb;
use egov_proto::approval::v1::approval_service_client::ApprovalServiceClient;
use egov_proto::supervision::v1 as spb;
use egov_proto::supervision::v1::scores_service_client::ScoresServiceClient;
use egov_proto::supervision::v1::supervision_service_client::SupervisionServiceClient;
use egov_runtime::access::Authed;
use egov_store::testing::fresh_postgres_url;
use sqlx::{Connection, PgConnection};

/// How long any one thing the platforms do may take on a loaded machine before the test
/// gives up (a wait, never a timing assertion).
const PATIENCE: Duration = Duration::from_secs(90);

/// The binary, with no setting inherited from the environment of the test run.
fn egov() -> Command {
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
struct Platform {
    name: String,
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
}

impl Platform {
    /// Starts `egov <kind> serve` on `url`, port 0, and waits for its address.
    fn start(name: &str, kind: &str, url: &str, extra: &[&str]) -> Self {
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
    fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
        let _ = std::fs::remove_file(&self.log);
    }

    fn tail(&self) -> String {
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
fn admin_token(url: &str) -> String {
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

/// A webhook receiver answering 200 to every POST, counting deliveries by warning id.
#[derive(Clone, Default)]
struct Receiver {
    seen: Arc<Mutex<HashMap<String, usize>>>,
}

impl Receiver {
    fn start(&self) -> SocketAddr {
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

    fn counts(&self) -> HashMap<String, usize> {
        self.seen.lock().expect("not poisoned").clone()
    }
}

/// HTTP/1.1 requests on one connection (kept alive), each answered 200.
fn serve_http(stream: TcpStream, seen: &Mutex<HashMap<String, usize>>) {
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
        if let Ok(json) = serde_json::from_slice::<serde_json::Value>(&body)
            && let Some(id) = json["warning"]["id"].as_str()
        {
            *seen
                .lock()
                .expect("not poisoned")
                .entry(id.to_owned())
                .or_default() += 1;
        }
        let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
        if writer.write_all(answer).is_err() {
            return;
        }
    }
}

/// Local time (Asia/Shanghai) `days` ago plus `minutes`, as the fixtures take it.
fn local_ago(days: i64, minutes: i64) -> String {
    let t = Utc::now() - chrono::Duration::days(days) + chrono::Duration::minutes(minutes);
    t.with_timezone(&FixedOffset::east_opt(8 * 3600).expect("offset"))
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// A case applied for and accepted 60 days ago and never decided: every limit of its matter
/// (10 and 20 working days) has passed, so it is due at once when stored.
fn overdue_case(prefix: &str, n: usize) -> Vec<pb::Record> {
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

async fn approval(addr: SocketAddr, token: &str) -> ApprovalServiceClient<Authed> {
    ApprovalServiceClient::new(connect(addr, Some(token)).await)
}

async fn supervision(addr: SocketAddr, token: &str) -> SupervisionServiceClient<Authed> {
    SupervisionServiceClient::new(connect(addr, Some(token)).await)
}

fn status_of(r: &pb::RecordResult) -> pb::RecordStatus {
    pb::RecordStatus::try_from(r.status).unwrap_or(pb::RecordStatus::Unspecified)
}

/// (stored, distinct event ids) in the record log.
async fn stored_records(url: &str) -> (i64, i64) {
    let mut db = PgConnection::connect(url).await.expect("the test database");
    sqlx::query_as("SELECT count(*), count(DISTINCT event_id) FROM records")
        .fetch_one(&mut db)
        .await
        .expect("counted")
}

/// Every warning, through every page.
async fn all_warnings(client: &mut SupervisionServiceClient<Authed>) -> Vec<spb::Warning> {
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
async fn eventually<F, Fut>(what: &str, platforms: &[&Platform], mut check: F)
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
async fn stream_until_cut(
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_of_each_platform_share_one_database_through_kills_and_nothing_happens_twice() {
    let began = Instant::now();
    let lap = |what: &str| eprintln!("{:>6.1} s  {what}", began.elapsed().as_secs_f64());
    let url = fresh_postgres_url().await;
    let token = admin_token(&url);
    let receiver = Receiver::default();
    let hook = receiver.start();
    let allow = ["--webhook-allow", "127.0.0.1"];

    // Two of each on one fresh database, started at once (their migrations race too).
    let starts: Vec<_> = [
        ("approval-1", "approval"),
        ("approval-2", "approval"),
        ("supervision-1", "supervision"),
        ("supervision-2", "supervision"),
    ]
    .into_iter()
    .map(|(name, kind)| {
        let url = url.clone();
        std::thread::spawn(move || Platform::start(name, kind, &url, &allow))
    })
    .collect();
    let mut started: Vec<Platform> = starts
        .into_iter()
        .map(|s| s.join().expect("started"))
        .collect();
    let s2 = started.pop().expect("supervision-2");
    let s1 = started.pop().expect("supervision-1");
    let a2 = started.pop().expect("approval-2");
    let a1 = started.pop().expect("approval-1");

    let mut admin_a1 = approval(a1.addr, &token).await;
    admin_a1
        .upsert_matters(pb::UpsertMattersRequest {
            matters: vec![fixtures::matter("M-FOOD", "market", 10, 20)],
        })
        .await
        .expect("the matter is stored");
    let mut admin_s2 = supervision(s2.addr, &token).await;
    admin_s2
        .create_webhook(spb::CreateWebhookRequest {
            url: format!("http://{hook}/egov"),
            secret: "a-secret-of-the-gateway".into(),
            ..Default::default()
        })
        .await
        .expect("the hook is stored");

    // A stream of supervision-1's warnings, to kill it as it raises them.
    let mut s1_stream = supervision(s1.addr, &token)
        .await
        .stream_warnings(spb::StreamWarningsRequest::default())
        .await
        .expect("a stream")
        .into_inner();

    // 1. The same 200 cases sent to both approval instances at once, in batches of 2 cases,
    //    one from the first case on and the other from the last one back, so that they meet:
    //    each record is stored by exactly one of them, and the other answers DUPLICATE.
    const SHARED: usize = 200;
    let shared: Vec<pb::Record> = (0..SHARED).flat_map(|n| overdue_case("SH", n)).collect();
    let mut sends = Vec::new();
    for (addr, backwards) in [(a1.addr, false), (a2.addr, true)] {
        let (token, records) = (token.clone(), shared.clone());
        sends.push(tokio::spawn(async move {
            let mut client = approval(addr, &token).await;
            let mut stored = BTreeSet::new();
            let mut batches: Vec<&[pb::Record]> = records.chunks(4).collect();
            if backwards {
                batches.reverse();
            }
            for batch in batches {
                let results = client
                    .submit_records(pb::SubmitRecordsRequest {
                        records: batch.to_vec(),
                    })
                    .await
                    .expect("a batch is answered")
                    .into_inner()
                    .results;
                for r in results {
                    match status_of(&r) {
                        pb::RecordStatus::Stored => {
                            stored.insert(r.event_id);
                        }
                        pb::RecordStatus::Duplicate => {}
                        other => panic!("{other:?}: {r:?}"),
                    }
                }
            }
            stored
        }));
    }
    let by_1 = sends.remove(0).await.expect("sent to approval-1");
    let by_2 = sends.remove(0).await.expect("sent to approval-2");
    assert!(
        by_1.is_disjoint(&by_2),
        "a record stored by both instances: {:?}",
        by_1.intersection(&by_2).next()
    );
    assert_eq!(by_1.len() + by_2.len(), 2 * SHARED);
    lap(&format!(
        "records sent to both: {} stored by approval-1, {} by approval-2",
        by_1.len(),
        by_2.len()
    ));
    assert_eq!(
        stored_records(&url).await,
        (2 * SHARED as i64, 2 * SHARED as i64)
    );

    // 2. kill -9 of a supervision instance as soon as it streams the first of the warnings
    //    those cases are due (once they have been quiet for the late grace of 3 s): the other
    //    raises and delivers what it did not.
    tokio::time::timeout(PATIENCE, s1_stream.message())
        .await
        .expect("a first warning")
        .expect("the stream goes on")
        .expect("a warning");
    s1.kill();

    // 3. kill -9 of an approval instance in the middle of a record stream: the client sends
    //    everything again to the other instance, as a client that lost its connection does.
    const STREAMED: usize = 300;
    let streamed: Vec<pb::Record> = (0..STREAMED).flat_map(|n| overdue_case("ST", n)).collect();
    let acked = Arc::new(Mutex::new(Vec::new()));
    let stream = tokio::spawn(stream_until_cut(
        approval(a1.addr, &token).await,
        streamed.clone(),
        acked.clone(),
    ));
    let deadline = Instant::now() + PATIENCE;
    while acked.lock().expect("not poisoned").len() < 100 {
        assert!(Instant::now() < deadline, "{}", a1.tail());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    a1.kill();
    let _ = stream.await;
    let acked_before_kill: BTreeSet<String> = acked
        .lock()
        .expect("not poisoned")
        .iter()
        .cloned()
        .collect();
    let mut client = approval(a2.addr, &token).await;
    let mut again = BTreeMap::new();
    for batch in streamed.chunks(100) {
        for r in client
            .submit_records(pb::SubmitRecordsRequest {
                records: batch.to_vec(),
            })
            .await
            .expect("a batch is answered")
            .into_inner()
            .results
        {
            again.insert(r.event_id.clone(), status_of(&r));
        }
    }
    for id in &acked_before_kill {
        assert_eq!(
            again.get(id),
            Some(&pb::RecordStatus::Duplicate),
            "{id} was acknowledged before the kill, so it is stored"
        );
    }
    let total = (2 * (SHARED + STREAMED)) as i64;
    assert_eq!(stored_records(&url).await, (total, total));
    lap(&format!(
        "approval-1 killed after acknowledging {} records; all {total} stored once",
        acked_before_kill.len()
    ));

    // A supervision instance started again after its kill joins the work.
    let s1 = Platform::start("supervision-1b", "supervision", &url, &allow);
    let platforms = [&a2, &s1, &s2];

    // Every case got the same warnings (they are alike), once: no case lacks one, none twice.
    let cases = SHARED + STREAMED;
    let warnings = std::cell::RefCell::new(Vec::new());
    eventually("every case's warnings are raised", &platforms, || async {
        let mut client = supervision(s1.addr, &token).await;
        let all = all_warnings(&mut client).await;
        let mut by_case: BTreeMap<String, BTreeSet<(i32, i32)>> = BTreeMap::new();
        for w in &all {
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
    let per_case = warnings.len() / cases;
    assert!(per_case >= 1);
    assert_eq!(warnings.len(), per_case * cases);
    lap(&format!("{} warnings, {per_case} per case", warnings.len()));

    // Both streams, from the start, show each warning once in each state it reached.
    for p in [&s1, &s2] {
        let mut client = supervision(p.addr, &token).await;
        let mut stream = client
            .stream_warnings(spb::StreamWarningsRequest::default())
            .await
            .expect("a stream")
            .into_inner();
        let mut seen = BTreeSet::new();
        let mut ids = BTreeSet::new();
        while ids.len() < warnings.len() {
            let m = tokio::time::timeout(PATIENCE, stream.message())
                .await
                .unwrap_or_else(|_| panic!("{}: stream stalled at {}", p.name, ids.len()))
                .expect("the stream goes on")
                .expect("a message");
            let w = m.warning.expect("a warning");
            assert!(
                seen.insert((w.id.clone(), w.state, w.position.clone())),
                "{}: shown twice: {w:?}",
                p.name
            );
            ids.insert(w.id);
        }
        lap(&format!(
            "{}: {} stream messages, no repeat",
            p.name,
            seen.len()
        ));
    }

    // Every warning delivered to the hook exactly once, by whichever instance sent it.
    eventually("every warning is delivered", &platforms, || async {
        let counts = receiver.counts();
        if let Some((id, n)) = counts.iter().find(|(_, n)| **n > 1) {
            panic!("warning {id} delivered {n} times");
        }
        if counts.len() == warnings.len() {
            Ok(())
        } else {
            Err(format!("{} of {} delivered", counts.len(), warnings.len()))
        }
    })
    .await;

    lap("every warning delivered once");

    // The scores count each case and each card once.
    let year = |days: i64| {
        (Utc::now() - chrono::Duration::days(days))
            .format("%Y")
            .to_string()
    };
    let levels = |level: spb::WarningLevel| {
        warnings.iter().filter(|w| w.level == level as i32).count() as i64
    };
    let (yellow, red) = (
        levels(spb::WarningLevel::YellowCard),
        levels(spb::WarningLevel::RedCard),
    );
    eventually(
        "the scores count every case and card once",
        &platforms,
        || async {
            let mut scores = ScoresServiceClient::new(connect(s2.addr, Some(&token)).await);
            let answer = scores
                .get_department_indicators(spb::GetDepartmentIndicatorsRequest {
                    department: "market".into(),
                    from: year(61),
                    to: year(0),
                    kind: spb::PeriodKind::Year as i32,
                })
                .await
                .map_err(|s| s.to_string())?
                .into_inner();
            let sum = |f: fn(&spb::Indicators) -> i64| {
                answer
                    .periods
                    .iter()
                    .filter_map(|p| p.indicators.as_ref())
                    .map(f)
                    .sum::<i64>()
            };
            let got = (
                sum(|i| i.accepted),
                sum(|i| i.yellow_cards),
                sum(|i| i.red_cards),
            );
            if got == (cases as i64, yellow, red) {
                Ok(())
            } else {
                Err(format!(
                    "(accepted, yellow, red) = {got:?}, expected {:?}",
                    (cases, yellow, red)
                ))
            }
        },
    )
    .await;

    lap("the scores count each case and card once");
    drop((a2, s1, s2));
}
