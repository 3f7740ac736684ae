//! `egov accountability` as an office and a leader use it, against both platforms in-process
//! on port 0 over a fresh SQLite store: a red card (an irregular fee) is raised, the office
//! records a decision on it, and the register is exported as CSV, filtered.

mod support;

use support::admin_cli::{out, run};

use chrono::{DateTime, Utc};
use egov_approval::testing::fixtures;
use egov_platform::testing::{spawn_approval, spawn_supervision};
use egov_proto::approval::v1 as pb;
use egov_proto::supervision::v1 as spb;
use egov_store::Backend;

#[tokio::test]
async fn a_decision_is_recorded_and_the_register_exported_as_csv() {
    // Thursday 2 April 2026, 10:00 local.
    let now: DateTime<Utc> = "2026-04-02T02:00:00Z".parse().unwrap();
    let mut approval = spawn_approval(Backend::Sqlite, now).await;
    approval
        .client
        .upsert_matters(pb::UpsertMattersRequest {
            matters: vec![fixtures::matter("M-market", "market", 10, 20)],
        })
        .await
        .expect("matters");
    // An unlisted sampling fee: the record rule raises a red card with the records.
    let records = [
        fixtures::application("M-market", "market", "330106"),
        fixtures::acceptance(),
        fixtures::fee("sampling", 5_000),
    ]
    .into_iter()
    .enumerate()
    .map(|(i, body)| {
        fixtures::record(
            "C-1",
            &format!("C-1-{i}"),
            &format!("2026-04-01 09:0{i}"),
            body,
        )
    })
    .collect();
    approval
        .client
        .submit_records(pb::SubmitRecordsRequest { records })
        .await
        .expect("records");
    let mut supervision = spawn_supervision(approval.store.clone(), approval.clock.clone()).await;
    let red = supervision
        .client
        .list_warnings(spb::ListWarningsRequest {
            levels: vec![spb::WarningLevel::RedCard.into()],
            ..Default::default()
        })
        .await
        .expect("warnings")
        .into_inner()
        .warnings
        .into_iter()
        .next()
        .expect("the red card");
    let target = format!("http://{}", supervision.addr);
    let t = target.as_str();

    let recorded = out(&run(&[
        "accountability",
        "record",
        "--warning",
        &red.id,
        "--person",
        "王五",
        "--measure",
        "circulated-criticism",
        "--on",
        "2026-04-02",
        "--grounds",
        "charged a sampling fee, not in the catalogue",
        "--target",
        t,
    ])
    .await);
    assert_eq!(
        recorded.trim(),
        format!(
            "decision 1 recorded: 通报批评 (circulated_criticism) for 王五 of market, dated \
             2026-04-02, on warning {}",
            red.id
        )
    );
    let csv = out(&run(&[
        "accountability",
        "list",
        "--region",
        "3301",
        "--measure",
        "circulated-criticism",
        "--from",
        "2026-04-01",
        "--csv",
        "--target",
        t,
    ])
    .await);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "id,decided_on,department,region,person,measure,measure_name,grounds_of,grounds,office,\
         recorded_by,recorded_at"
    );
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(
        lines[1].starts_with(&format!(
            "1,2026-04-02,market,330106,王五,circulated_criticism,通报批评,warning {},\
             \"charged a sampling fee, not in the catalogue\",330106,",
            red.id
        )),
        "{csv}"
    );
    // Another measure: a header and nothing else.
    let none = out(&run(&[
        "accountability",
        "list",
        "--measure",
        "removal-from-post",
        "--csv",
        "--target",
        t,
    ])
    .await);
    assert_eq!(none.lines().count(), 1, "{none}");
    // A refusal (here: no such warning) is the command's failure, with the platform's words.
    let refused = run(&[
        "accountability",
        "record",
        "--warning",
        "999",
        "--measure",
        "admonition-talk",
        "--on",
        "2026-04-02",
        "--grounds",
        "x",
        "--target",
        t,
    ])
    .await;
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("NOT_FOUND")
            || String::from_utf8_lossy(&refused.stderr).contains("not found"),
        "{refused:?}"
    );
}
