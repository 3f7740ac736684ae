//! The scores benchmark (issue 5): a year's ranking of 100 departments over 10 million cases in
//! PostgreSQL (goal: under 1 s), and the time to build the rollups.
//!
//! `cargo bench -p egov-tests --bench scores` (add `-- --cases N` to change the size). It needs
//! the PostgreSQL server the tests use (`EGOV_TEST_DATABASE_URL`, default
//! postgres://postgres@127.0.0.1:5432/postgres) and creates a fresh database.
//!
//! The facts of N cases (what each adds to its department's days: accepted and completed on a
//! day of 2025, on time or not, early or not, a used share, ratings, fees) and of N/10 warnings
//! are loaded with `INSERT ... SELECT generate_series` (the follower's path is measured
//! separately, per batch), over 100 departments in 10 districts with 5 matters each. Then:
//! - the rollup build: `Store::rebuild_score_rollups`, every (department, day) from the facts;
//! - the year's ranking: `GetScores 2025` over gRPC to a running supervision platform (the
//!   rollups summed over 365 days, the catalogue, the regions, the scores, the ranking, and
//!   the year before for leadership review), and the same for one district;
//! - the follower's incremental path: batches of 1,000 case facts replacing their previous
//!   facts and updating the rollups by difference.

use std::time::Instant;

use chrono::{DateTime, NaiveDate, Utc};
use egov_domain::calendar::CalendarId;
use egov_domain::ids::{DepartmentCode, MatterCode};
use egov_domain::limit::Limit;
use egov_domain::matter::{FeeItem, Matter, MatterKind};
use egov_domain::money::Fen;
use egov_platform::{Database, Platforms, Serve, Settings};
use egov_proto::supervision::v1 as sv;
use egov_proto::supervision::v1::scores_service_client::ScoresServiceClient;
use egov_runtime::clock::ManualClock;
use egov_runtime::shutdown;
use egov_store::scores::{ScoreBatch, ScoreDay, ScoreFacts};
use egov_store::{MatterRow, Store};
use egov_supervision::SupervisionOptions;

const DEPARTMENTS: usize = 100;

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn department(n: usize) -> String {
    format!("dept-{n:03}")
}

/// 100 departments in 10 districts of city 3301, 5 matters each.
async fn catalogue(store: &Store) {
    let mut rows = Vec::new();
    let mut units = Vec::new();
    for n in 0..DEPARTMENTS {
        units.push((department(n), format!("3301{:02}", n / 10 + 1)));
        for m in 0..5 {
            let matter = Matter {
                code: MatterCode::parse(format!("M-{n:03}-{m}")).unwrap(),
                name: format!("matter {m} of department {n}"),
                department: DepartmentCode::parse(department(n)).unwrap(),
                region: None,
                kind: MatterKind::Promised,
                statutory_limit: Limit::working_days(20),
                promised_limit: Limit::working_days(5 + 3 * m as u32),
                step_limits: vec![],
                fee_items: vec![FeeItem {
                    fee_item: "F".into(),
                    name: "fee".into(),
                    max: Fen::new(10_000).unwrap(),
                }],
                suspension_kinds: vec![],
                calendar: CalendarId::parse("cn").unwrap(),
            };
            rows.push(MatterRow {
                matter_code: matter.code.to_string(),
                name: matter.name.clone(),
                department: matter.department.to_string(),
                kind: "promised".into(),
                definition: serde_json::to_value(&matter).unwrap(),
                updated_at: Utc::now(),
            });
        }
    }
    store.upsert_matters(&rows).await.expect("matters");
    store
        .apply_score_facts(&ScoreBatch {
            facts: &[],
            units: &units,
            cursor: None,
            note_late: false,
            at: Utc::now(),
        })
        .await
        .expect("regions");
}

/// The follower's path: `batches` batches of 1,000 case facts, each replacing facts already
/// stored (a case that moved on) and updating the rollups by difference. Seconds per batch.
async fn incremental(store: &Store, batches: usize) -> f64 {
    let day = |n: usize| {
        NaiveDate::from_ymd_opt(2025, 1, 1).unwrap() + chrono::Days::new((n / 100 % 365) as u64)
    };
    let started = Instant::now();
    for b in 0..batches {
        let facts: Vec<ScoreFacts> = (0..1_000)
            .map(|i| {
                let g = b * 1_000 + i;
                let mut counters = [0; egov_store::scores::SCORE_COUNTERS.len()];
                counters[0] = 1; // accepted
                counters[1] = 1; // completed
                counters[2] = 1; // on time (was 80 %)
                counters[4] = 1; // share cases
                counters[5] = 6_000;
                ScoreFacts {
                    source: "case".into(),
                    key: format!("C-{g}"),
                    version: 2,
                    department: department(g % 100),
                    days: vec![ScoreDay {
                        day: day(g),
                        counters,
                    }],
                    detail: String::new(),
                }
            })
            .collect();
        store
            .apply_score_facts(&ScoreBatch {
                facts: &facts,
                units: &[],
                cursor: Some(("bench.scores", "p")),
                note_late: true,
                at: Utc::now(),
            })
            .await
            .expect("a batch");
    }
    started.elapsed().as_secs_f64() / batches as f64
}

async fn timed_scores(
    client: &mut ScoresServiceClient<egov_runtime::access::Authed>,
    period: &str,
    region: &str,
    runs: usize,
) -> (Vec<f64>, sv::GetScoresResponse) {
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..runs {
        let started = Instant::now();
        let r = client
            .get_scores(sv::GetScoresRequest {
                period: period.into(),
                region: region.into(),
            })
            .await
            .expect("scores")
            .into_inner();
        times.push(started.elapsed().as_secs_f64() * 1_000.0);
        last = Some(r);
    }
    times.sort_by(f64::total_cmp);
    (times, last.expect("a run"))
}

fn main() {
    // `cargo test --benches` runs bench targets with `--bench` absent: stay quick then.
    let quick = !std::env::args().any(|a| a == "--bench");
    let cases = arg("--cases", if quick { 100_000 } else { 10_000_000 });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let url = egov_store::testing::fresh_postgres_url().await;
        let store = Store::connect(&url).await.expect("connect");
        catalogue(&store).await;
        eprintln!("loading the facts of {cases} cases ...");
        let started = Instant::now();
        let facts = egov_store::testing::load_synthetic_score_facts(&url, cases).await;
        let load_secs = started.elapsed().as_secs_f64();

        let started = Instant::now();
        let rollup_rows = store.rebuild_score_rollups().await.expect("rollups");
        let build_secs = started.elapsed().as_secs_f64();
        egov_store::testing::analyze(&url, "score_daily").await;

        let clock = ManualClock::new(
            DateTime::parse_from_rfc3339("2026-01-15T10:00:00+08:00")
                .unwrap()
                .to_utc(),
        );
        let (_trigger, stop) = shutdown::channel();
        let server = Platforms::build(Settings {
            supervision: SupervisionOptions::without_corrections(),
            grace: std::time::Duration::from_secs(1),
            ..Settings::new(
                Serve::Supervision,
                Database::Store(store.clone()),
                clock.shared(),
            )
        })
        .await
        .expect("the supervision platform starts");
        let addr = server.addr();
        let token = server
            .issue_credential(&egov_platform::testing::admin(), None)
            .await
            .expect("a credential")
            .token;
        tokio::spawn(server.run_until_stopped(stop));
        let mut client =
            ScoresServiceClient::new(egov_platform::testing::connect(addr, Some(&token)).await);
        let (year, response) = timed_scores(&mut client, "2025", "", 7).await;
        let (district, _) = timed_scores(&mut client, "2025", "330101", 7).await;
        let (month, _) = timed_scores(&mut client, "2025-07", "", 7).await;
        let ranked = response.departments.iter().filter(|d| d.ranked).count();
        let completed: i64 = response
            .departments
            .iter()
            .map(|d| d.indicators.as_ref().map_or(0, |i| i.completed))
            .sum();
        assert_eq!(ranked, DEPARTMENTS);
        assert_eq!(completed, cases as i64);

        let started = Instant::now();
        let totals = store
            .score_totals(
                NaiveDate::from_ymd_opt(2025, 1, 1).unwrap(),
                NaiveDate::from_ymd_opt(2025, 12, 31).unwrap(),
            )
            .await
            .unwrap();
        let totals_ms = started.elapsed().as_secs_f64() * 1_000.0;
        assert_eq!(totals.len(), DEPARTMENTS);

        let batches = arg("--batches", if quick { 5 } else { 50 });
        let per_batch = incremental(&store, batches).await;

        println!();
        println!(
            "scores (PostgreSQL, {cases} cases and {} warnings of 2025, {DEPARTMENTS} departments)",
            cases / 10
        );
        println!(
            "  {:<60} {:>10.1}",
            format!("load {facts} fact rows (INSERT ... SELECT generate_series), s"),
            load_secs
        );
        println!(
            "  {:<60} {:>10.2}",
            format!("rollup build: {rollup_rows} (department, day) rows from the facts, s"),
            build_secs
        );
        let p = |t: &[f64]| (t[t.len() / 2], t[t.len() - 1]);
        for (what, t) in [
            (
                "GetScores 2025, 100 departments (median / max of 7), ms",
                &year,
            ),
            (
                "GetScores 2025, one district (median / max of 7), ms",
                &district,
            ),
            (
                "GetScores 2025-07, 100 departments (median / max of 7), ms",
                &month,
            ),
        ] {
            let (median, max) = p(t);
            println!("  {what:<60} {median:>6.1} / {max:.1}");
        }
        println!(
            "  {:<60} {:>10.1}",
            "the year's rollup totals alone (one query), ms", totals_ms
        );
        println!(
            "  {:<60} {:>10.1}",
            "follower: a batch of 1,000 case facts replaced, ms",
            per_batch * 1_000.0
        );
        println!(
            "  {:<60} {:>10.0}",
            "follower: case facts replaced per second",
            1_000.0 / per_batch
        );
    });
}
