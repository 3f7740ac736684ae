//! `egov scores` as an analyst uses it, against both platforms in-process on port 0 over a
//! fresh SQLite store: the ranking as a table, CSV and JSON, one department month by month,
//! closing a period and listing its versions, and a bad period named in the error.

mod support;

use support::admin_cli::{out, run};

use std::time::Duration;

use chrono::{DateTime, Utc};
use egov_approval::testing::fixtures;
use egov_platform::testing::spawn_approval;
use egov_platform::testing::spawn_supervision;
use egov_proto::approval::v1 as pb;
use egov_store::Backend;

/// Case `n` of `department`: accepted Monday 2026-11-02, decided and completed `days` later.
fn case(department: &str, n: usize, decided: &str, rating: i64) -> Vec<pb::Record> {
    let case = format!("{department}-{n:02}");
    let id = |k: usize| format!("{case}-{k}");
    vec![
        fixtures::record(
            &case,
            &id(1),
            "2026-11-02 09:00",
            fixtures::application(&format!("M-{department}"), department, "330106"),
        ),
        fixtures::record(&case, &id(2), "2026-11-02 10:00", fixtures::acceptance()),
        fixtures::record(
            &case,
            &id(3),
            &format!("{decided} 10:00"),
            fixtures::decision(true),
        ),
        fixtures::record(
            &case,
            &id(4),
            &format!("{decided} 11:00"),
            fixtures::completion(),
        ),
        fixtures::record(
            &case,
            &id(5),
            &format!("{decided} 11:30"),
            fixtures::certificate(),
        ),
        fixtures::record(
            &case,
            &id(6),
            &format!("{decided} 12:00"),
            fixtures::rating(rating),
        ),
    ]
}

#[tokio::test]
async fn scores_print_as_a_table_csv_and_json_and_periods_close() {
    let now: DateTime<Utc> = "2026-11-26T06:00:00Z".parse().unwrap();
    let mut approval = spawn_approval(Backend::Sqlite, now).await;
    approval
        .client
        .upsert_matters(pb::UpsertMattersRequest {
            matters: ["market", "tax", "health"]
                .iter()
                .map(|d| fixtures::matter(&format!("M-{d}"), d, 10, 20))
                .collect(),
        })
        .await
        .expect("matters");
    let supervision = spawn_supervision(approval.store.clone(), approval.clock.clone()).await;
    // market: both on time and early; tax: one early, one on the last day; health: one late.
    let mut records = Vec::new();
    records.extend(case("market", 1, "2026-11-05", 1));
    records.extend(case("market", 2, "2026-11-06", 2));
    records.extend(case("tax", 1, "2026-11-05", 2));
    records.extend(case("tax", 2, "2026-11-16", 3));
    records.extend(case("health", 1, "2026-11-20", 5));
    let results = approval
        .client
        .submit_records(pb::SubmitRecordsRequest { records })
        .await
        .expect("records")
        .into_inner()
        .results;
    assert!(
        results
            .iter()
            .all(|r| r.status() == pb::RecordStatus::Stored),
        "{results:?}"
    );
    supervision.settled().await;
    egov_supervision::scores::follower::settle(&supervision.supervision, Duration::from_secs(10))
        .await
        .expect("the scores follower catches up");
    let target = format!("http://{}", supervision.addr);

    let table = run(&["scores", "--period", "2026-11", "--target", &target]).await;
    assert!(table.status.success(), "{table:?}");
    let text = out(&table);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("scores 2026-11 (2026-11-01 to 2026-11-30), all regions; open"),
        "{text}"
    );
    assert!(lines[1].starts_with("RANK"), "{text}");
    let depts: Vec<&str> = lines[2..]
        .iter()
        .map(|l| l.split_whitespace().nth(1).unwrap_or_default())
        .collect();
    assert_eq!(depts, ["market", "tax", "health"], "{text}");
    assert!(lines[4].contains("bottom-two"), "{text}");
    // The grade follows the score (default: by score, 90 / 80 / 60), and one of the bottom two
    // is never above pass.
    let grade_of = |line: &str| {
        line.split_whitespace()
            .nth(4)
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(grade_of(lines[2]), "excellent", "{text}");
    assert!(
        ["pass", "fail"].contains(&grade_of(lines[4]).as_str()),
        "{text}"
    );
    assert!(lines[2].contains("100.0%"), "{text}");

    let csv = run(&[
        "scores", "--period", "2026-11", "--csv", "--target", &target,
    ])
    .await;
    let text = out(&csv);
    let mut rows = text.lines();
    let header: Vec<&str> = rows.next().unwrap().split(',').collect();
    assert_eq!(
        &header[..5],
        ["period", "rank", "department", "region", "score"]
    );
    let market: Vec<&str> = rows.next().unwrap().split(',').collect();
    assert_eq!(&market[..4], ["2026-11", "1", "market", "330106"]);
    let column = |name: &str| header.iter().position(|h| *h == name).unwrap();
    assert_eq!(market[column("on_time_rate")], "1.0000");
    assert_eq!(market[column("completed")], "2");
    assert_eq!(market[column("grade")], "excellent");

    let json = run(&[
        "scores", "--period", "2026-11", "--json", "--target", &target,
    ])
    .await;
    let value: serde_json::Value = serde_json::from_str(out(&json).trim()).expect("one JSON");
    assert_eq!(value["period"], "2026-11");
    assert_eq!(value["departments"].as_array().unwrap().len(), 3);

    let history = run(&[
        "scores",
        "department",
        "tax",
        "--from",
        "2026-10",
        "--to",
        "2026-11",
        "--target",
        &target,
    ])
    .await;
    let text = out(&history);
    assert!(text.starts_with("tax (region 330106)"), "{text}");
    assert!(
        text.contains("2026-10") && text.contains("2026-11"),
        "{text}"
    );

    let closed = run(&[
        "scores",
        "close",
        "2026-10",
        "--reason",
        "month end",
        "--target",
        &target,
    ])
    .await;
    assert!(closed.status.success(), "{closed:?}");
    assert!(
        out(&closed).starts_with("2026-10 closed: version 1 at "),
        "{}",
        out(&closed)
    );
    let versions = run(&["scores", "versions", "2026-10", "--target", &target]).await;
    assert!(
        // Closed by the credential's principal (the test admin), not a name the caller gives.
        out(&versions).contains("by test-admin (month end)"),
        "{}",
        out(&versions)
    );
    let open = run(&["scores", "close", "2026-11", "--target", &target]).await;
    assert_eq!(open.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&open.stderr).contains("not over"),
        "{open:?}"
    );

    let bad = run(&["scores", "--period", "2026-13", "--target", &target]).await;
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("period"),
        "{bad:?}"
    );
    supervision.stop().await;
}

/// A bad score configuration stops the platform before it binds, naming the field.
#[tokio::test]
async fn a_bad_score_configuration_is_refused_at_start() {
    let dir = std::env::temp_dir().join(format!("egov-scores-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let file = dir.join("scores.json");
    std::fs::write(
        &file,
        "// too much weight\n{\"weights\": {\"on_time_rate\": 45}}\n",
    )
    .expect("the file");
    let o = run(&[
        "supervision",
        "serve",
        "--scores",
        file.to_str().unwrap(),
        "--data-dir",
        dir.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
    ])
    .await;
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("weights: add up to 105.00; they must add up to base (100.00)"),
        "{err}"
    );
}
