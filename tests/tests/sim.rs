//! The simulator against the real platforms (issue 6), as `egov demo` runs it: both platforms
//! in process on a fresh SQLite file, on the simulator's clock, driven over gRPC.
//!
//! - The same seed twice gives the same warnings: the same cases, rules and levels, raised at
//!   the same simulated times, and the same workflow moves.
//! - A reduced month (twenty departments, two weeks and a backlog) makes every rule of
//!   docs/design.md §3 fire at least once, and the scores service ranks the departments.
//! - `egov simulate`'s load generator against the production set-up (PostgreSQL, the wall
//!   clock, each platform on its own port) stores what it sends at the rate asked for.

use std::collections::BTreeMap;

use egov_proto::supervision::v1 as spb;
use egov_proto::supervision::v1::supervision_service_client::SupervisionServiceClient;
use egov_sim::demo::{ALL_RULES, Demo, DemoSpec, Report};
use egov_sim::platforms::InProcess;
use egov_tests::{line, local_text, raised_at};

/// Runs `spec` on a fresh SQLite file; returns the report and every warning the platform
/// lists at the end, as readable lines.
async fn run(spec: DemoSpec) -> (Report, Vec<String>) {
    let store = egov_store::testing::fresh_sqlite().await;
    let demo = Demo::new(spec);
    let platforms = InProcess::start(
        store,
        demo.start_at(),
        "127.0.0.1:0".parse().expect("an address"),
    )
    .await
    .expect("the platforms start");
    let report = demo.run(&platforms, |_| {}).await.expect("the demo runs");
    let mut client = SupervisionServiceClient::new(
        platforms
            .channel()
            .await
            .expect("a client connects with the local admin's token"),
    );
    let mut lines = Vec::new();
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
        for w in &page.warnings {
            let state = w
                .state()
                .as_str_name()
                .trim_start_matches("WARNING_STATE_")
                .to_lowercase();
            lines.push(format!("{}, now {state}", line(w)));
            assert!(raised_at(w) <= report.end, "{}", line(w));
        }
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    lines.sort();
    platforms.stop().await;
    (report, lines)
}

/// A small city for a few days: fast, and still busy enough to raise cards of several rules
/// and work them.
fn small(seed: u64) -> DemoSpec {
    DemoSpec {
        departments: 6,
        days: 4,
        backlog_working_days: 8,
        speed: None,
        ..DemoSpec::month(seed)
    }
}

#[tokio::test]
async fn the_same_seed_raises_the_same_warnings_at_the_same_times() {
    let (first, a) = run(small(42)).await;
    let (second, b) = run(small(42)).await;
    assert!(
        first.progress.total_raised() > 20,
        "a busy enough run: {:?}",
        first.progress
    );
    assert!(
        first.progress.workflow.acknowledged > 0,
        "the desk works cards: {:?}",
        first.progress.workflow
    );
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x, y);
    }
    assert_eq!(first.progress, second.progress);
    assert!(
        first.ranking.as_ref().is_some_and(|r| !r.is_empty()),
        "the departments are ranked: {:?}",
        first.ranking
    );
    assert_eq!(first.ranking, second.ranking, "the same ranking");
    assert!(
        first.unexpected_rejections.is_empty(),
        "{:?}",
        first.unexpected_rejections
    );
}

#[tokio::test]
async fn a_reduced_month_makes_every_rule_fire() {
    let spec = DemoSpec {
        days: 10,
        speed: None,
        ..DemoSpec::month(7)
    };
    let (report, lines) = run(spec).await;
    let counts: BTreeMap<&str, u64> = ALL_RULES
        .into_iter()
        .map(|r| (r.as_str_name(), report.progress.of_rule(r)))
        .collect();
    eprintln!(
        "{} records, {} cases, {} warnings in {:?} (simulated {} .. {}): {counts:#?}\n{:?}",
        report.progress.records_sent,
        report.progress.cases,
        lines.len(),
        report.elapsed,
        local_text(report.start),
        local_text(report.end),
        report.progress.workflow,
    );
    assert!(
        report.silent_rules().is_empty(),
        "rules that never fired: {:?}; counts {counts:#?}",
        report.silent_rules()
    );
    assert!(
        report.unexpected_rejections.is_empty(),
        "{:?}",
        report.unexpected_rejections
    );
    assert_eq!(lines.len() as u64, report.progress.total_raised());
    let ranking = report.ranking.expect("a ranking");
    assert!(ranking.len() >= 10, "{ranking:?}");
    assert!(ranking.iter().any(|r| r.bottom_two), "{ranking:?}");
}

#[tokio::test]
async fn the_load_generator_sends_at_the_rate_asked_for() {
    use egov_platform::{Database, Platforms, Serve, Settings};
    use egov_runtime::clock::SystemClock;
    use egov_runtime::shutdown;
    use egov_sim::load::{self, LoadSpec};

    let store = egov_store::testing::fresh_postgres().await;
    let (trigger, stop) = shutdown::channel();
    let on = |serve| Settings {
        grace: std::time::Duration::from_secs(2),
        ..Settings::new(serve, Database::Store(store.clone()), SystemClock::shared())
    };
    let approval = Platforms::build(on(Serve::Approval))
        .await
        .expect("the approval platform starts");
    let supervision = Platforms::build(on(Serve::Supervision))
        .await
        .expect("the supervision platform starts");
    let (a, s) = (approval.addr(), supervision.addr());
    let token =
        egov_platform::testing::credential(&store, &egov_platform::testing::admin(), None).await;
    let approval = tokio::spawn(approval.run_until_stopped(stop.clone()));
    let supervision = tokio::spawn(supervision.run_until_stopped(stop));

    let spec = LoadSpec {
        seed: 3,
        departments: 6,
        rate: 300.0,
        duration: std::time::Duration::from_secs(2),
        open_cases: 100,
        run_id: "t".into(),
    };
    let report = load::run(
        load::connect(&format!("http://{a}"), Some(&token))
            .await
            .expect("approval"),
        Some(
            load::connect(&format!("http://{s}"), Some(&token))
                .await
                .expect("supervision"),
        ),
        &spec,
        |_| {},
    )
    .await
    .expect("the load runs");
    let p = &report.progress;
    // Sent at the rate asked for: 600 records over the 2 s, not fewer (a generator held back
    // by the platform's answers) nor more. How fast the platform answers them is not the
    // generator's doing: `achieved_rate` counts the wait for the last answers, which on a
    // loaded machine (two copies of the suite, a debug build) was 180 records a second
    // while every record was sent on time; the benchmarks measure the platform.
    assert!((500..=600).contains(&p.sent), "{report:?}");
    assert_eq!(
        p.stored + p.rejected,
        p.sent,
        "every record answered: {report:?}"
    );
    assert!(p.rejected * 20 <= p.sent, "few refusals: {report:?}");
    assert!(p.warnings.is_some());
    trigger.trigger();
    let _ = approval.await;
    let _ = supervision.await;
}
