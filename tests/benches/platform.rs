//! The platform benchmark (issues 5 and 17): ingest through the record stream into PostgreSQL
//! beside the raw rate of a batched INSERT of the same rows into the same database in the same
//! run; the warning delay from due instant to arrival on the warning stream with many open
//! cases; the time to raise and stream a burst of warnings due at the same instant, each
//! checked to arrive once; the process's RSS (the supervision platform runs in it); and the
//! time to recompute the due instants of the open cases after a rule configuration change,
//! with the delays of the warnings due meanwhile and the time by stage. Each figure is printed
//! with its ratio to the goal of issue 17.
//!
//! `cargo bench -p egov-tests --bench platform` (defaults: 20,000 cases ingested, 100,000 open,
//! a 10,000 burst, 100,000 recomputed); `-- --goal` for every goal's size (1,000,000 open, a
//! 100,000 burst, 1,000,000 recomputed); `--cases N`, `--open N`, `--measured N`,
//! `--burst N`, `--recompute N` for one size; `--part ingest|warnings|recompute` to run one
//! part only. It needs the PostgreSQL server the tests use (`EGOV_TEST_DATABASE_URL`, default
//! postgres://postgres@127.0.0.1:5432/postgres) and creates a fresh database per part.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use egov_approval::testing::fixtures::*;
use egov_domain::clock::ClockView;
use egov_domain::limit::Limit;
use egov_platform::testing::spawn_approval_on;
use egov_platform::{Database, Platforms, Serve, Settings};
use egov_proto::approval::v1 as pb;
use egov_proto::supervision::v1 as sv;
use egov_proto::supervision::v1::supervision_service_client::SupervisionServiceClient;
use egov_runtime::clock::ManualClock;
use egov_runtime::clock::SystemClock;
use egov_runtime::shutdown;
use egov_store::Store;
use egov_store::{CaseRow, CaseWrite, DueInstant, NewRecord};
use tokio_stream::StreamExt;

/// Records per case in the ingest run: a whole ordinary life.
const RECORDS_PER_CASE: usize = 6;

fn case_records(n: usize) -> Vec<pb::Record> {
    let case = format!("BENCH-{n:07}");
    let e = |s: &str| format!("{case}-{s}");
    vec![
        record(
            &case,
            &e("a"),
            "2026-11-02 09:00",
            application("M-BENCH", "market", "330106"),
        ),
        record(&case, &e("b"), "2026-11-02 10:00", acceptance()),
        record(
            &case,
            &e("c"),
            "2026-11-03 09:00",
            step_started("undertake"),
        ),
        record(
            &case,
            &e("d"),
            "2026-11-04 09:00",
            egov_domain::record::RecordBody::StepCompleted {
                step: "undertake".into(),
                handler: "officer-1".into(),
                opinion: "complete".into(),
            },
        ),
        record(&case, &e("e"), "2026-11-05 09:00", decision(true)),
        record(&case, &e("f"), "2026-11-05 10:00", completion()),
    ]
}

struct IngestFigures {
    records: usize,
    stream_secs: f64,
    raw_secs: f64,
}

async fn ingest(cases: usize, streams: usize) -> IngestFigures {
    let url = egov_store::testing::fresh_postgres_url().await;
    let store = Store::connect(&url).await.expect("connect");
    let mut app =
        spawn_approval_on(store.clone(), ManualClock::new(local("2026-11-06 09:00"))).await;
    app.client
        .upsert_matters(pb::UpsertMattersRequest {
            matters: vec![matter("M-BENCH", "market", 10, 20)],
        })
        .await
        .expect("matter");
    let all: Vec<pb::Record> = (0..cases).flat_map(case_records).collect();
    let total = all.len();

    // Through the platform: `streams` concurrent StreamRecords calls, cases split between them.
    let per = cases.div_ceil(streams) * RECORDS_PER_CASE;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for chunk in all.chunks(per) {
        let mut client = app.client.clone();
        let chunk = chunk.to_vec();
        tasks.push(tokio::spawn(async move {
            let n = chunk.len();
            let outbound = tokio_stream::iter(
                chunk
                    .into_iter()
                    .map(|r| pb::StreamRecordsRequest { record: Some(r) }),
            );
            let mut acks = client
                .stream_records(outbound)
                .await
                .expect("stream")
                .into_inner();
            let mut stored = 0;
            while let Some(ack) = acks.next().await {
                let result = ack.expect("ack").result.expect("result");
                assert_eq!(result.status(), pb::RecordStatus::Stored, "{result:?}");
                stored += 1;
            }
            assert_eq!(stored, n);
        }));
    }
    for t in tasks {
        t.await.expect("stream task");
    }
    let stream_secs = started.elapsed().as_secs_f64();

    // Raw: the same rows, a batched INSERT of 1,000 rows per statement into a table of the
    // same shape (with its unique index), in the same database.
    let rows: Vec<_> = all
        .iter()
        .map(|r| {
            let d = egov_approval::ingest::convert(r.clone()).expect("valid");
            egov_store::testing::RawRecord {
                event_id: d.event_id.to_string(),
                case_no: d.case_no.to_string(),
                occurred_at: d.occurred_at,
                source: d.source.clone(),
                kind: d.kind().as_str().to_owned(),
                body: serde_json::to_string(&d.body).expect("json"),
            }
        })
        .collect();
    let raw_secs = egov_store::testing::raw_record_inserts(&url, &rows)
        .await
        .as_secs_f64();
    app.stop().await;
    store.close().await;
    IngestFigures {
        records: total,
        stream_secs,
        raw_secs,
    }
}

/// Open cases written straight into the store (the supervision platform only reads case rows
/// and due instants): one `promised` clock each, due at `due(i)`.
async fn open_cases(store: &Store, prefix: &str, n: usize, due: impl Fn(usize) -> DateTime<Utc>) {
    let opened = Utc::now();
    for start in (0..n).step_by(1000) {
        let writes: Vec<CaseWrite> = (start..n.min(start + 1000))
            .map(|i| {
                let case_no = format!("{prefix}-{i:07}");
                let due_at = due(i);
                let view = ClockView {
                    key: "promised".into(),
                    started_at: opened,
                    limit: Limit::working_days(10),
                    suspended: 0,
                    extension: 0,
                    due_at,
                    last_day: due_at.date_naive(),
                    status: "running".into(),
                    stopped_at: None,
                    provisional: false,
                    explanation: "bench: 10 working days".into(),
                    not_before: None,
                };
                CaseWrite {
                    case: CaseRow {
                        case_no: case_no.clone(),
                        matter_code: "M-BENCH".into(),
                        department: format!("dept-{}", i % 100),
                        region: "330106".into(),
                        state: "accepted".into(),
                        opened_at: opened,
                        updated_at: opened,
                        version: 0,
                        next_due_at: Some(due_at),
                        overdue: false,
                        provisional: false,
                        view: serde_json::json!({ "clocks": [view] }),
                    },
                    expected_version: None,
                    records: vec![NewRecord {
                        event_id: format!("{case_no}-a"),
                        case_no: case_no.clone(),
                        occurred_at: opened,
                        source: "bench".into(),
                        kind: "acceptance".into(),
                        body: serde_json::json!({"type": "acceptance", "handler": "h", "promised_due_at": null}),
                    }],
                    due: vec![DueInstant {
                        case_no,
                        clock: "promised".into(),
                        due_at,
                    }],
                    warnings: Vec::new(),
                }
            })
            .collect();
        store.commit(&writes, opened).await.expect("open cases");
    }
}

/// Open cases written straight into the store as the approval platform writes them: the
/// template case `RECO-0000000` (an application and an acceptance, in the market department)
/// goes through `SubmitRecords`, and the others are copies of its stored records, projection
/// row and due instants under their own case numbers (what a recomputation reads).
async fn open_cases_with_records(
    store: &Store,
    client: &mut pb::approval_service_client::ApprovalServiceClient<egov_runtime::access::Authed>,
    n: usize,
) {
    // Opened an hour ago by the system clock, so that its deadline and reminders lie ahead
    // of the supervision platform running meanwhile.
    let template = "RECO-0000000";
    let records = vec![
        record(
            template,
            &format!("{template}-a"),
            &local_minutes_ago(60),
            application("M-BENCH", "market", "330106"),
        ),
        record(
            template,
            &format!("{template}-b"),
            &local_minutes_ago(30),
            acceptance(),
        ),
    ];
    client
        .submit_records(pb::SubmitRecordsRequest { records })
        .await
        .expect("the template case");
    let row = store
        .get_case_rows(&[template.to_owned()])
        .await
        .expect("row")
        .pop()
        .expect("the template's row");
    let due = store.due_for_case(template).await.expect("due");
    let stored = store
        .load_cases(&[template.to_owned()])
        .await
        .expect("records")
        .pop()
        .expect("the template's records")
        .records;
    let received = Utc::now();
    for start in (1..n).step_by(2000) {
        let writes: Vec<CaseWrite> = (start..n.min(start + 2000))
            .map(|i| {
                let case_no = format!("RECO-{i:07}");
                CaseWrite {
                    case: CaseRow {
                        case_no: case_no.clone(),
                        version: 0,
                        ..row.clone()
                    },
                    expected_version: None,
                    records: stored
                        .iter()
                        .map(|r| NewRecord {
                            event_id: r.event_id.replace(template, &case_no),
                            case_no: case_no.clone(),
                            occurred_at: r.occurred_at,
                            source: r.source.clone(),
                            kind: r.kind.clone(),
                            body: r.body.clone(),
                        })
                        .collect(),
                    due: due
                        .iter()
                        .map(|d| DueInstant {
                            case_no: case_no.clone(),
                            ..d.clone()
                        })
                        .collect(),
                    warnings: Vec::new(),
                }
            })
            .collect();
        store.commit(&writes, received).await.expect("open cases");
    }
}

/// Local (Asia/Shanghai) time `minutes` before now, as the fixtures write it.
fn local_minutes_ago(minutes: i64) -> String {
    (Utc::now() - chrono::Duration::minutes(minutes))
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).expect("+08:00"))
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

struct RecomputeFigures {
    recomputed: u64,
    secs: f64,
    /// This process's CPU time during the change (the platform's share of the work).
    cpu_secs: f64,
    /// Where the second change's time went (the ingestor's own counters).
    stats: egov_approval::recompute::RecomputeStats,
    /// Delays of the warnings due while the first change was recomputed (ms).
    live_ms: Vec<f64>,
}

/// Seconds to recompute the due instants of `open` open cases after the default reminder
/// threshold changed (through `UpdateRuleConfig`), and how many were recomputed; meanwhile a
/// supervision platform on the same database raises warnings due every 20 ms, whose delays
/// are measured. A second change is then made through the ingestor directly, for the
/// breakdown of its time.
async fn recompute(open: usize) -> RecomputeFigures {
    let url = egov_store::testing::fresh_postgres_url().await;
    let store = Store::connect(&url).await.expect("connect");
    let mut app = spawn_approval_on(store.clone(), ManualClock::new(Utc::now())).await;
    app.client
        .upsert_matters(pb::UpsertMattersRequest {
            matters: vec![matter("M-BENCH", "market", 10, 20)],
        })
        .await
        .expect("matter");
    open_cases_with_records(&store, &mut app.client, open).await;
    let (supervision, mut stream) = start_supervision(&store).await;

    // Live warnings over the expected length of the recomputation (at least 2 s), every 20 ms.
    let live_window = chrono::Duration::milliseconds((open as i64 / 50).max(2000));
    let step = chrono::Duration::milliseconds(20);
    let live = (live_window.num_milliseconds() / 20) as usize;
    let start = Utc::now() + chrono::Duration::milliseconds(500);
    open_cases(&store, "LIVE", live, |i| start + step * i as i32).await;

    let cpu = cpu_secs();
    let started = Instant::now();
    let mut client = app.client.clone();
    let change = tokio::spawn(async move {
        client
            .update_rule_config(pb::UpdateRuleConfigRequest {
                change: Some(pb::update_rule_config_request::Change::DefaultsJson(
                    r#"{"approaching": {"working_days": 4}}"#.into(),
                )),
                expected_version: Some(0),
            })
            .await
            .expect("the change")
            .into_inner()
    });
    let mut live_ms = Vec::with_capacity(live);
    let mut seen = HashSet::new();
    while live_ms.len() < live {
        let w = next_warning(&mut stream, &mut seen).await;
        // The stream starts at its head: the template case's own warnings, if any, come first.
        if w.case_no.starts_with("LIVE-") {
            live_ms.push(delay_ms(&w));
        }
    }
    let answer = change.await.expect("the change's task");
    let secs = started.elapsed().as_secs_f64();
    let cpu_secs = cpu_secs() - cpu;
    let due = store.count_open_due().await.expect("count");
    assert!(
        due >= open as u64,
        "every case has its instants again: {due}"
    );
    supervision.stop().await;

    // The breakdown, from a second change of the thresholds.
    let catalogue = egov_approval::catalogue::Catalogue::open(store.clone())
        .await
        .expect("catalogue");
    let config: egov_domain::rules::RuleConfig =
        serde_json::from_str(r#"{"defaults": {"approaching": {"working_days": 3}}}"#)
            .expect("config");
    let ingestor = egov_approval::ingest::Ingestor::with_rules(
        catalogue,
        egov_runtime::clock::SystemClock::shared(),
        config,
    );
    let stats = ingestor
        .recompute_due_stats(&egov_domain::rules::DueScope::All)
        .await
        .expect("recompute");
    app.stop().await;
    store.close().await;
    RecomputeFigures {
        recomputed: answer.recomputed_cases as u64,
        secs,
        cpu_secs,
        stats,
        live_ms,
    }
}

/// A supervision platform on `store` (system clock), caught up with the log, and a warning
/// stream opened on it.
async fn start_supervision(
    store: &Store,
) -> (
    RunningSupervision,
    tonic::Streaming<sv::StreamWarningsResponse>,
) {
    let (trigger, stop) = shutdown::channel();
    let server = Platforms::build(Settings {
        grace: Duration::from_secs(5),
        ..Settings::new(
            Serve::Supervision,
            Database::Store(store.clone()),
            SystemClock::shared(),
        )
    })
    .await
    .expect("supervision");
    let addr = server.addr();
    let token = server
        .issue_credential(&egov_platform::testing::admin(), None)
        .await
        .expect("a credential")
        .token;
    let supervision = server.supervision().expect("supervision").clone();
    let serving = tokio::spawn(server.run_until_stopped(stop));
    // Let the follower read the log of the open cases before measuring.
    let head = store.log_head().await.expect("head");
    supervision.caught_up(Utc::now(), head).await;
    let mut client =
        SupervisionServiceClient::new(egov_platform::testing::connect(addr, Some(&token)).await);
    let stream = client
        .stream_warnings(sv::StreamWarningsRequest::default())
        .await
        .expect("stream")
        .into_inner();
    (RunningSupervision { trigger, serving }, stream)
}

struct RunningSupervision {
    trigger: shutdown::ShutdownTrigger,
    serving: tokio::task::JoinHandle<Result<(), tonic::transport::Error>>,
}

impl RunningSupervision {
    async fn stop(self) {
        self.trigger.trigger();
        let _ = self.serving.await;
    }
}

/// The next warning on the stream; panics if one arrives twice (by id, or by case, rule and
/// level, which the store keeps unique).
async fn next_warning(
    stream: &mut tonic::Streaming<sv::StreamWarningsResponse>,
    seen: &mut HashSet<(String, i32, i32)>,
) -> sv::Warning {
    let w = stream
        .next()
        .await
        .expect("stream open")
        .expect("warning")
        .warning
        .expect("warning");
    assert!(
        seen.insert((w.case_no.clone(), w.rule, w.level)),
        "a warning arrived twice: {} {} {}",
        w.case_no,
        w.rule,
        w.level
    );
    w
}

/// Due instant -> now, in milliseconds.
fn delay_ms(w: &sv::Warning) -> f64 {
    let arrived = Utc::now();
    let due = w.due_at.as_ref().expect("due_at");
    let due = DateTime::<Utc>::from_timestamp(due.seconds, due.nanos as u32).expect("time");
    (arrived - due).num_microseconds().unwrap_or_default() as f64 / 1000.0
}

/// This process's CPU time so far (user and system), from /proc.
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name and state.
    (ticks(11) + ticks(12)) / 100.0
}

/// This process's resident set now and at its peak, in MB, from /proc.
fn rss_mb() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (kb("VmRSS:") / 1024.0, kb("VmHWM:") / 1024.0)
}

struct WarningFigures {
    open_cases: u64,
    delays_ms: Vec<f64>,
    burst: usize,
    burst_secs: f64,
    /// This process's resident set (MB) with the open cases loaded and followed.
    rss_open_mb: f64,
    /// Its largest resident set (MB) sampled during the burst.
    rss_burst_mb: f64,
    /// Warnings that arrived: every one once (checked as they come).
    arrived: usize,
}

/// Warning delay (due instant -> arrival on the stream) with `open` open cases, and the time
/// to raise `burst` warnings due at the same instant; every warning is checked to arrive once.
async fn warnings(open: usize, measured: usize, burst: usize) -> WarningFigures {
    let url = egov_store::testing::fresh_postgres_url().await;
    let store = Store::connect(&url).await.expect("connect");
    let far = Utc::now() + chrono::Duration::days(30);
    eprintln!("loading {open} open cases ...");
    open_cases(&store, "OPEN", open, |i| {
        far + chrono::Duration::seconds(i as i64)
    })
    .await;
    let (supervision, mut stream) = start_supervision(&store).await;
    let rss_open_mb = rss_mb().0;
    let mut seen = HashSet::new();

    // Delay: `measured` cases due one by one over the next seconds.
    let start = Utc::now() + chrono::Duration::seconds(2);
    let step = chrono::Duration::milliseconds(10);
    open_cases(&store, "DUE", measured, |i| start + step * i as i32).await;
    let mut delays_ms = Vec::with_capacity(measured);
    while delays_ms.len() < measured {
        let w = next_warning(&mut stream, &mut seen).await;
        delays_ms.push(delay_ms(&w));
    }

    // Burst: `burst` cases all due at the same instant, far enough ahead to load them first.
    let at = Utc::now() + chrono::Duration::seconds(5 + (burst / 20_000) as i64);
    eprintln!("loading a burst of {burst} cases due at {at} ...");
    open_cases(&store, "BURST", burst, |_| at).await;
    let wait = (at - Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(wait).await;
    let peak_kb = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let sampling = tokio::spawn({
        let peak_kb = peak_kb.clone();
        async move {
            loop {
                peak_kb.fetch_max((rss_mb().0 * 1024.0) as u64, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    });
    let mut got = 0;
    while got < burst {
        next_warning(&mut stream, &mut seen).await;
        got += 1;
    }
    let burst_secs = (Utc::now() - at).num_microseconds().unwrap_or_default() as f64 / 1e6;
    sampling.abort();
    let rss_burst_mb = (peak_kb.load(Ordering::Relaxed) as f64 / 1024.0).max(rss_mb().0);
    // Nothing more may arrive: a duplicate would panic in `next_warning`.
    while let Ok(Some(w)) = tokio::time::timeout(Duration::from_secs(1), stream.next()).await {
        let w = w.expect("warning").warning.expect("warning");
        assert!(
            seen.insert((w.case_no.clone(), w.rule, w.level)),
            "a warning arrived twice: {} {}",
            w.case_no,
            w.rule
        );
    }
    // The cases open while the delays were measured: the far ones and the measured ones.
    let open_cases = (open + measured) as u64;

    drop(stream);
    supervision.stop().await;
    store.close().await;
    WarningFigures {
        open_cases,
        delays_ms,
        burst,
        burst_secs,
        rss_open_mb,
        rss_burst_mb,
        arrived: seen.len(),
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A figure beside its goal: how many times the goal it is (for a "less than" goal) or what
/// share of it is reached (for an "at least" goal), and whether it is met.
fn goal_row(name: &str, figure: f64, unit: &str, goal: Goal) {
    let (ratio, met, goal_text) = match goal {
        Goal::AtMost(g) => (figure / g, figure <= g, format!("<= {g} {unit}")),
        Goal::AtLeast(g) => (g / figure, figure >= g, format!(">= {g} {unit}")),
    };
    println!(
        "  {:<58} {:>10.2} {:<5} goal {:<14} {:>6.2}x {}",
        name,
        figure,
        unit,
        goal_text,
        ratio,
        if met { "met" } else { "MISSED" }
    );
}

#[derive(Clone, Copy)]
enum Goal {
    AtMost(f64),
    AtLeast(f64),
}

fn main() {
    // `cargo test --benches` runs bench targets with `--bench` absent: stay quick then.
    let quick = !std::env::args().any(|a| a == "--bench");
    // `--goal`: every row of issue 17's table at the size its goal is set for.
    let goal = std::env::args().any(|a| a == "--goal");
    let size = |name: &str, quick_size: usize, default: usize, goal_size: usize| {
        arg(
            name,
            if quick {
                quick_size
            } else if goal {
                goal_size
            } else {
                default
            },
        )
    };
    let cases = size("--cases", 200, 20_000, 20_000);
    let streams = arg("--streams", 2);
    let part = {
        let args: Vec<String> = std::env::args().collect();
        args.iter()
            .position(|a| a == "--part")
            .and_then(|i| args.get(i + 1).cloned())
    };
    let runs = |name: &str| part.as_deref().is_none_or(|p| p == name);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average at start: {}", load.trim());
    runtime.block_on(async {
        if runs("ingest") {
            let mut rows = Vec::new();
            let mut raw_rates = Vec::new();
            for streams in [1, streams] {
                let f = ingest(cases, streams).await;
                let rate = f.records as f64 / f.stream_secs;
                raw_rates.push(f.records as f64 / f.raw_secs);
                rows.push((streams, f.records, rate));
            }
            // The raw rate is measured in each run; the reference is their mean.
            let raw = raw_rates.iter().sum::<f64>() / raw_rates.len() as f64;
            println!();
            println!("ingest into PostgreSQL: {cases} cases of {RECORDS_PER_CASE} records");
            println!("  {:<52} {:>10} {:>8}", "path", "records/s", "vs raw");
            for (streams, _, rate) in &rows {
                println!(
                    "  {:<52} {:>10.0} {:>7.1}%",
                    format!("StreamRecords, {streams} concurrent stream(s)"),
                    rate,
                    100.0 * rate / raw
                );
            }
            println!(
                "  {:<52} {:>10.0} {:>8}",
                "raw batched INSERT, 1,000 rows/statement, 1 conn", raw, "100%"
            );
            if let Some((_, _, best)) = rows.iter().max_by(|a, b| a.2.total_cmp(&b.2)) {
                goal_row(
                    "ingest through StreamRecords vs raw INSERT (best)",
                    100.0 * best / raw,
                    "%",
                    Goal::AtLeast(50.0),
                );
            }
        }
        if runs("warnings") {
            let open = size("--open", 2_000, 100_000, 1_000_000);
            let measured = size("--measured", 100, 2_000, 2_000);
            let burst = size("--burst", 500, 10_000, 100_000);
            let mut w = warnings(open, measured, burst).await;
            w.delays_ms.sort_by(f64::total_cmp);
            println!();
            println!(
                "warnings (PostgreSQL, {} open cases, {} due one by one over {:.0} s)",
                w.open_cases,
                measured,
                measured as f64 / 100.0
            );
            println!(
                "  {:<52} {:>10}",
                "due instant -> arrival on the stream", "ms"
            );
            for (name, p) in [("p50", 0.50), ("p99", 0.99), ("max", 1.0)] {
                println!("  {:<52} {:>10.1}", name, percentile(&w.delays_ms, p));
            }
            println!(
                "  {:<52} {:>10.2}",
                format!(
                    "burst: {} warnings due at one instant, all arrived (s)",
                    w.burst
                ),
                w.burst_secs
            );
            println!(
                "  {:<52} {:>10}",
                "warnings arrived, each exactly once", w.arrived
            );
            goal_row(
                &format!("warning delay p99 at {} open", w.open_cases),
                percentile(&w.delays_ms, 0.99),
                "ms",
                Goal::AtMost(50.0),
            );
            goal_row(
                &format!("{} due at one instant, raised and streamed", w.burst),
                w.burst_secs,
                "s",
                Goal::AtMost(10.0 * w.burst as f64 / 100_000.0),
            );
            goal_row(
                &format!(
                    "process RSS with {} open (bench + supervision)",
                    w.open_cases
                ),
                w.rss_open_mb,
                "MB",
                Goal::AtMost(100.0),
            );
            goal_row(
                &format!("process RSS during the burst of {}", w.burst),
                w.rss_burst_mb,
                "MB",
                Goal::AtMost(100.0),
            );
        }
        if runs("recompute") {
            let open = size("--recompute", 1_000, 100_000, 1_000_000);
            let mut f = recompute(open).await;
            f.live_ms.sort_by(f64::total_cmp);
            let s = f.stats;
            println!();
            println!("rule configuration change (PostgreSQL, {open} open cases of 2 records)");
            println!("  {:<52} {:>10}", "default reminder threshold changed", "s");
            println!(
                "  {:<52} {:>10.2}",
                format!("{} open cases recomputed (UpdateRuleConfig)", f.recomputed),
                f.secs
            );
            println!("  {:<52} {:>10.0}", "cases/s", f.recomputed as f64 / f.secs);
            println!(
                "  {:<52} {:>10.2}",
                "CPU time of this process (s)", f.cpu_secs
            );
            println!(
                "  {:<52} {:>10}",
                format!(
                    "live warnings due meanwhile ({}), delay ms",
                    f.live_ms.len()
                ),
                ""
            );
            for (name, p) in [("p50", 0.50), ("p99", 0.99), ("max", 1.0)] {
                println!("  {:<52} {:>10.1}", name, percentile(&f.live_ms, p));
            }
            println!(
                "  second change, by stage (s): total {:.2}, reading {} pages {:.2}, computing \
                 {:.2}, writing {:.2} (batches overlap), {} cases, {} read again, {} replayed",
                s.total.as_secs_f64(),
                s.pages,
                s.read.as_secs_f64(),
                s.compute.as_secs_f64(),
                s.write.as_secs_f64(),
                s.cases,
                s.retried,
                s.replayed
            );
            goal_row(
                &format!("recompute of {} open cases", f.recomputed),
                f.secs,
                "s",
                Goal::AtMost(10.0 * open as f64 / 1_000_000.0),
            );
            goal_row(
                "live warning delay p99 during the recompute",
                percentile(&f.live_ms, 0.99),
                "ms",
                Goal::AtMost(50.0),
            );
        }
    });
    println!(
        "load average at end: {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
}
