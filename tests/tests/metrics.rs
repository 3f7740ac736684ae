//! Metrics scraped over HTTP while the platforms run (issue 13, "what an operator expects"):
//! both platforms in one process with `--metrics-addr`, records sent over gRPC, the clock
//! moved past their deadlines; the warning-delay histogram counted exactly the warnings the
//! due loop raised, the records counter the records stored, and the gauges read from the
//! database are there. On PostgreSQL, then on SQLite, in one test: the recorder is one per
//! process, so the two runs are compared by what each added.

use std::net::SocketAddr;

use egov_approval::testing::fixtures::{acceptance, application, local, matter, record};
use egov_platform::Serve;
use egov_platform::testing::{
    PATIENCE, Running, committed_log_head, connect, fresh_store, settings,
};
use egov_proto::approval::v1 as apb;
use egov_proto::approval::v1::approval_service_client::ApprovalServiceClient;
use egov_proto::supervision::v1 as spb;
use egov_proto::supervision::v1::supervision_service_client::SupervisionServiceClient;
use egov_runtime::clock::ManualClock;
use egov_store::Backend;
use egov_supervision::SupervisionOptions;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The text of `GET /metrics`.
async fn scrape(addr: SocketAddr) -> String {
    let mut socket = tokio::net::TcpStream::connect(addr)
        .await
        .expect("the metrics port answers");
    socket
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: egov\r\nConnection: close\r\n\r\n")
        .await
        .expect("a request");
    let mut answer = String::new();
    socket.read_to_string(&mut answer).await.expect("an answer");
    let (head, body) = answer.split_once("\r\n\r\n").expect("headers and a body");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("text/plain"), "{head}");
    body.to_owned()
}

/// The sum of the samples of `name` whose labels contain `labels` (every sample for "").
fn sample(text: &str, name: &str, labels: &str) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let (metric, rest) = match series.split_once('{') {
                Some((m, rest)) => (m, rest),
                None => (series, ""),
            };
            (metric == name && rest.contains(labels)).then(|| value.parse::<f64>().ok())?
        })
        .sum()
}

async fn one_run(backend: Backend) {
    let store = fresh_store(backend).await;
    let clock = ManualClock::new(local("2024-03-04 09:00"));
    let running = Running::start(egov_platform::Settings {
        metrics: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
        supervision: SupervisionOptions::without_corrections(),
        ..settings(Serve::Both, store.clone(), &clock)
    })
    .await;
    let metrics = running.metrics.expect("a metrics port");
    let channel = connect(running.addr, Some(&running.admin)).await;
    let mut approval = ApprovalServiceClient::new(channel.clone());
    approval
        .upsert_matters(apb::UpsertMattersRequest {
            matters: vec![matter("M-FOOD", "market", 10, 20)],
        })
        .await
        .expect("the catalogue");

    let before = scrape(metrics).await;
    let cases = 5;
    let records: Vec<apb::Record> = (0..cases)
        .flat_map(|i| {
            let case = format!("ZJ-{i:04}");
            [
                record(
                    &case,
                    &format!("{case}-1"),
                    "2024-03-04 09:00",
                    application("M-FOOD", "market", "330106"),
                ),
                record(
                    &case,
                    &format!("{case}-2"),
                    "2024-03-04 10:00",
                    acceptance(),
                ),
            ]
        })
        .collect();
    let sent = records.len();
    approval
        .submit_records(apb::SubmitRecordsRequest { records })
        .await
        .expect("stored");

    // Past the promised (03-18) and the statutory (04-01) deadlines at once: a yellow and a
    // red card per case, each raised by the due loop (no reminder: its deadline passed).
    let now = local("2024-04-10 09:00");
    clock.set(now);
    let supervision = running.supervision.clone().expect("served");
    tokio::time::timeout(
        PATIENCE,
        supervision.caught_up(now, committed_log_head(&store).await),
    )
    .await
    .expect("the workers caught up");
    egov_store::testing::warnings_settled(&store).await;
    let warnings = SupervisionServiceClient::new(channel)
        .list_warnings(spb::ListWarningsRequest {
            page_size: 1000,
            ..Default::default()
        })
        .await
        .expect("listed")
        .into_inner()
        .warnings;
    assert_eq!(warnings.len(), 2 * cases, "{warnings:?}");

    let after = scrape(metrics).await;
    let added =
        |name: &str, labels: &str| sample(&after, name, labels) - sample(&before, name, labels);
    assert_eq!(
        added("egov_warning_delay_seconds_count", ""),
        warnings.len() as f64,
        "the warning-delay histogram counted every warning raised:\n{after}"
    );
    assert!(
        after.contains("egov_warning_delay_seconds_bucket{le="),
        "{after}"
    );
    assert_eq!(
        added("egov_records_total", "outcome=\"stored\""),
        sent as f64
    );
    assert_eq!(added("egov_ingest_batch_seconds_count", ""), 1.0);
    assert_eq!(
        added(
            "egov_warnings_raised_total",
            "rule=\"promised_limit_passed\""
        ),
        cases as f64
    );
    // Read from the database at the scrape: the cases are open, so their clocks still have
    // due instants (the certificate's and the acceptance's are gone, the statutory's fired).
    assert!(after.contains("egov_due_instants_pending"), "{after}");
    assert_eq!(
        sample(
            &after,
            "egov_follower_lag_rows",
            "cursor=\"supervision.log\""
        ),
        0.0,
        "the log follower caught up"
    );
    assert!(sample(&after, "egov_db_pool_max_connections", "") >= 1.0);
    assert!(after.contains("# HELP egov_records_total"), "{after}");
    running.stop().await;
}

#[tokio::test]
async fn a_scrape_during_a_run_counts_the_warnings_raised_on_both_databases() {
    one_run(Backend::Postgres).await;
    one_run(Backend::Sqlite).await;
}
