//! `egov complaints` as an office and a complainant use it, against both platforms in-process
//! on port 0 over a fresh SQLite store: a named complaint filed, forwarded, reported on, closed
//! as substantiated with the complainant's feedback, and shown with its history.

mod support;

use support::admin_cli::{out, run};

use chrono::{DateTime, Utc};
use egov_platform::testing::{spawn_approval, spawn_supervision};
use egov_proto::approval::v1 as pb;
use egov_store::Backend;

#[tokio::test]
async fn a_complaint_is_worked_from_the_command_line() {
    let now: DateTime<Utc> = "2026-03-02T02:00:00Z".parse().unwrap();
    let mut approval = spawn_approval(Backend::Sqlite, now).await;
    approval
        .client
        .upsert_regions(pb::UpsertRegionsRequest {
            regions: [("33", "浙江省"), ("3301", "杭州市"), ("330106", "西湖区")]
                .into_iter()
                .map(|(code, name)| pb::Region {
                    code: code.into(),
                    name: name.into(),
                    ..Default::default()
                })
                .collect(),
        })
        .await
        .expect("regions");
    approval
        .client
        .upsert_departments(pb::UpsertDepartmentsRequest {
            departments: vec![pb::Department {
                code: "market".into(),
                name: "市场监管".into(),
                region: "330106".into(),
            }],
        })
        .await
        .expect("departments");
    let supervision = spawn_supervision(approval.store.clone(), approval.clock.clone()).await;
    let target = format!("http://{}", supervision.addr);
    let t = target.as_str();

    let filed = out(&run(&[
        "complaints",
        "file",
        "--about",
        "department",
        "market",
        "--summary",
        "asked for an unlisted fee",
        "--name",
        "Wang Fang",
        "--contact",
        "13800000000",
        "--target",
        t,
    ])
    .await);
    assert!(
        filed.starts_with("complaint 1 filed; the acceptance decision is due by 2026-03-09 24:00"),
        "{filed}"
    );
    let listed = out(&run(&["complaints", "list", "--target", t]).await);
    assert!(listed.contains("Wang Fang (13800000000)"), "{listed}");
    let forwarded = out(&run(&[
        "complaints",
        "forward",
        "1",
        "--due",
        "2026-03-20",
        "--note",
        "check the fee",
        "--target",
        t,
    ])
    .await);
    assert!(
        forwarded.contains("report due: 2026-03-20 24:00"),
        "{forwarded}"
    );
    out(&run(&[
        "complaints",
        "report",
        "1",
        "--reason",
        "refunded",
        "--target",
        t,
    ])
    .await);
    let closed = out(&run(&[
        "complaints",
        "close",
        "1",
        "--substantiated",
        "--note",
        "refunded",
        "--target",
        t,
    ])
    .await);
    assert!(closed.contains("outcome: substantiated"), "{closed}");
    out(&run(&["complaints", "feedback", "1", "--satisfied", "--target", t]).await);
    let shown = out(&run(&["complaints", "show", "1", "--target", t]).await);
    assert!(
        shown.starts_with("complaint 1: closed (department market"),
        "{shown}"
    );
    assert!(shown.contains("feedback: satisfied"), "{shown}");
    for step in ["file", "forward", "report", "close", "feedback"] {
        assert!(shown.contains(step), "{step}: {shown}");
    }
    // Refusing a closed complaint is the workflow's refusal, with its reason code.
    let refused = run(&[
        "complaints",
        "refuse",
        "1",
        "--reason",
        "late",
        "--target",
        t,
    ])
    .await;
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("closed"), "{err}");
}
