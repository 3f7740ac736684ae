//! The platform benchmark: ingest through the record stream into PostgreSQL beside the raw
//! rate of a batched INSERT of the same rows into the same database in the same run; the
//! warning delay from due instant to arrival on the warning stream with 100,000 open cases;
//! and the time to raise a burst of 10,000 warnings due at the same instant; and the time to
//! recompute the due instants of 100,000 open cases after a rule configuration change.
//!
//! `cargo bench -p egov-tests --bench platform` (add `-- --cases N` to change the ingest
//! size; `-- --part ingest|warnings|recompute` to run one part only). It needs the PostgreSQL server the tests use (`EGOV_TEST_DATABASE_URL`, default
//! postgres://postgres@127.0.0.1:5432/postgres) and creates a fresh database per part.

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

/// Open cases written straight into the store with real records (an application and an
/// acceptance each, what a recomputation replays), in the market department.
async fn open_cases_with_records(store: &Store, n: usize) {
    let opened = Utc::now();
    for start in (0..n).step_by(1000) {
        let writes: Vec<CaseWrite> = (start..n.min(start + 1000))
            .map(|i| {
                let case_no = format!("RECO-{i:07}");
                let records = [
                    record(
                        &case_no,
                        &format!("{case_no}-a"),
                        "2026-11-02 09:00",
                        application("M-BENCH", "market", "330106"),
                    ),
                    record(
                        &case_no,
                        &format!("{case_no}-b"),
                        "2026-11-02 10:00",
                        acceptance(),
                    ),
                ]
                .into_iter()
                .map(|r| {
                    let r = egov_approval::ingest::convert(r).expect("a valid record");
                    NewRecord {
                        event_id: r.event_id.to_string(),
                        case_no: case_no.clone(),
                        occurred_at: r.occurred_at,
                        source: r.source.clone(),
                        kind: r.kind().as_str().to_owned(),
                        body: serde_json::to_value(&r.body).expect("body"),
                    }
                })
                .collect();
                CaseWrite {
                    case: CaseRow {
                        case_no: case_no.clone(),
                        matter_code: "M-BENCH".into(),
                        department: "market".into(),
                        region: "330106".into(),
                        state: "accepted".into(),
                        opened_at: opened,
                        updated_at: opened,
                        version: 0,
                        next_due_at: None,
                        overdue: false,
                        provisional: false,
                        view: serde_json::json!({ "clocks": [] }),
                    },
                    expected_version: None,
                    records,
                    due: Vec::new(),
                    warnings: Vec::new(),
                }
            })
            .collect();
        store.commit(&writes, opened).await.expect("open cases");
    }
}

/// Seconds to recompute the due instants of `open` open cases after the default reminder
/// threshold changed (through `UpdateRuleConfig`), and how many were recomputed.
async fn recompute(open: usize) -> (u64, f64) {
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
    open_cases_with_records(&store, open).await;
    let started = Instant::now();
    let answer = app
        .client
        .update_rule_config(pb::UpdateRuleConfigRequest {
            change: Some(pb::update_rule_config_request::Change::DefaultsJson(
                r#"{"approaching": {"working_days": 4}}"#.into(),
            )),
            expected_version: Some(0),
        })
        .await
        .expect("the change")
        .into_inner();
    let secs = started.elapsed().as_secs_f64();
    let due = store.count_open_due().await.expect("count");
    assert!(
        due >= open as u64,
        "every case has its instants again: {due}"
    );
    (answer.recomputed_cases as u64, secs)
}

struct WarningFigures {
    open_cases: u64,
    delays_ms: Vec<f64>,
    burst: usize,
    burst_secs: f64,
}

/// Warning delay (due instant -> arrival on the stream) with `open` open cases, and the time
/// to raise `burst` warnings due at the same instant.
async fn warnings(open: usize, measured: usize, burst: usize) -> WarningFigures {
    let url = egov_store::testing::fresh_postgres_url().await;
    let store = Store::connect(&url).await.expect("connect");
    let far = Utc::now() + chrono::Duration::days(30);
    open_cases(&store, "OPEN", open, |i| {
        far + chrono::Duration::seconds(i as i64)
    })
    .await;

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
    let mut stream = client
        .stream_warnings(sv::StreamWarningsRequest::default())
        .await
        .expect("stream")
        .into_inner();

    // Delay: `measured` cases due one by one over the next seconds.
    let start = Utc::now() + chrono::Duration::seconds(2);
    let step = chrono::Duration::milliseconds(10);
    open_cases(&store, "DUE", measured, |i| start + step * i as i32).await;
    let mut delays_ms = Vec::with_capacity(measured);
    while delays_ms.len() < measured {
        let w = stream
            .next()
            .await
            .expect("stream open")
            .expect("warning")
            .warning
            .expect("warning");
        let arrived = Utc::now();
        let due = w.due_at.expect("due_at");
        let due = DateTime::<Utc>::from_timestamp(due.seconds, due.nanos as u32).expect("time");
        delays_ms.push((arrived - due).num_microseconds().unwrap_or_default() as f64 / 1000.0);
    }

    // Burst: `burst` cases all due at the same instant.
    let at = Utc::now() + chrono::Duration::seconds(5);
    open_cases(&store, "BURST", burst, |_| at).await;
    let wait = (at - Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(wait).await;
    let mut got = 0;
    while got < burst {
        stream.next().await.expect("stream open").expect("warning");
        got += 1;
    }
    let burst_secs = (Utc::now() - at).num_microseconds().unwrap_or_default() as f64 / 1e6;
    // The cases open while the delays were measured: the far ones and the measured ones.
    let open_cases = (open + measured) as u64;

    drop(stream);
    trigger.trigger();
    let _ = serving.await;
    store.close().await;
    WarningFigures {
        open_cases,
        delays_ms,
        burst,
        burst_secs,
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

fn main() {
    // `cargo test --benches` runs bench targets with `--bench` absent: stay quick then.
    let quick = !std::env::args().any(|a| a == "--bench");
    let cases = arg("--cases", if quick { 200 } else { 20_000 });
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
        }
        if runs("warnings") {
            let open = arg("--open", if quick { 2_000 } else { 100_000 });
            let measured = arg("--measured", if quick { 100 } else { 2_000 });
            let burst = arg("--burst", if quick { 500 } else { 10_000 });
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
        }
        if runs("recompute") {
            let open = arg("--recompute", if quick { 1_000 } else { 100_000 });
            let (recomputed, secs) = recompute(open).await;
            println!();
            println!("rule configuration change (PostgreSQL, {open} open cases of 2 records)");
            println!("  {:<52} {:>10}", "default reminder threshold changed", "s");
            println!(
                "  {:<52} {:>10.2}",
                format!("{recomputed} open cases recomputed (UpdateRuleConfig)"),
                secs
            );
            println!("  {:<52} {:>10.0}", "cases/s", recomputed as f64 / secs);
        }
    });
}
