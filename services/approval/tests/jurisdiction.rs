//! Jurisdictions over real gRPC, against both databases: the region tree and the departments
//! are registered item by item (a bad or orphaned item refused with its field, the rest
//! stored), listed by subtree, and the record log can be followed for one subtree.

use egov_approval::testing::fixtures::*;
use egov_platform::testing::{TestApproval, spawn_approval};
use egov_proto::approval::v1 as pb;
use egov_store::Backend;
use tokio_stream::StreamExt;

fn region(code: &str, name: &str) -> pb::Region {
    pb::Region {
        code: code.into(),
        name: name.into(),
        ..Default::default()
    }
}

fn department(code: &str, region: &str) -> pb::Department {
    pb::Department {
        code: code.into(),
        name: format!("{code} bureau"),
        region: region.into(),
    }
}

async fn regions(app: &mut TestApproval, regions: Vec<pb::Region>) -> Vec<pb::RegistryResult> {
    app.client
        .upsert_regions(pb::UpsertRegionsRequest { regions })
        .await
        .expect("upsert regions")
        .into_inner()
        .results
}

async fn the_tree_is_registered_item_by_item_and_listed_by_subtree(backend: Backend) {
    let mut app = spawn_approval(backend, local("2024-03-04 08:00")).await;
    let results = regions(
        &mut app,
        vec![
            region("33", "浙江省"),
            region("3301", "杭州市"),
            region("330106", "西湖区"),
            region("330105", "拱墅区"),
            // Orphan: its city 3302 is not registered.
            region("330203", "海曙区"),
            // No such level.
            region("33010", "?"),
            region("330106001", "北山街道"),
            region("3302", ""),
        ],
    )
    .await;
    let stored: Vec<bool> = results.iter().map(|r| r.stored).collect();
    assert_eq!(stored, [true, true, true, true, false, false, true, false]);
    assert_eq!(results[4].violations[0].field, "code");
    assert!(
        results[4].violations[0]
            .reason
            .contains("parent region 3302"),
        "{:?}",
        results[4].violations
    );
    assert!(results[5].violations[0].reason.contains("4 (city)"));
    assert_eq!(results[7].violations[0].field, "name");

    let city = app
        .client
        .list_regions(pb::ListRegionsRequest {
            region: "3301".into(),
        })
        .await
        .expect("list")
        .into_inner()
        .regions;
    let codes: Vec<(&str, &str, i32)> = city
        .iter()
        .map(|r| (r.code.as_str(), r.parent.as_str(), r.level))
        .collect();
    assert_eq!(
        codes,
        [
            ("3301", "33", pb::RegionLevel::City as i32),
            ("330105", "3301", pb::RegionLevel::County as i32),
            ("330106", "3301", pb::RegionLevel::County as i32),
            ("330106001", "330106", pb::RegionLevel::Township as i32),
        ]
    );

    let results = app
        .client
        .upsert_departments(pb::UpsertDepartmentsRequest {
            departments: vec![
                department("market", "3301"),
                department("xihu-housing", "330106"),
                department("gongshu-health", "330105"),
                department("ningbo-tax", "3302"),
            ],
        })
        .await
        .expect("upsert departments")
        .into_inner()
        .results;
    let stored: Vec<bool> = results.iter().map(|r| r.stored).collect();
    assert_eq!(stored, [true, true, true, false]);
    assert_eq!(results[3].violations[0].field, "region");
    let xihu: Vec<String> = app
        .client
        .list_departments(pb::ListDepartmentsRequest {
            region: "330106".into(),
        })
        .await
        .expect("list")
        .into_inner()
        .departments
        .into_iter()
        .map(|d| d.code)
        .collect();
    assert_eq!(xihu, ["xihu-housing"]);
    app.client
        .upsert_matters(pb::UpsertMattersRequest {
            matters: vec![
                matter("M-FOOD", "market", 10, 20),
                matter("M-HOUSE", "xihu-housing", 10, 20),
                matter("M-CLINIC", "gongshu-health", 10, 20),
                matter("M-TAX", "ningbo-tax", 10, 20),
            ],
        })
        .await
        .expect("matters");
    let matters_of = |region: &str| pb::ListMattersRequest {
        region: region.into(),
        ..Default::default()
    };
    for (region, want) in [
        ("330106", vec!["M-HOUSE"]),
        ("3301", vec!["M-CLINIC", "M-FOOD", "M-HOUSE"]),
        ("", vec!["M-CLINIC", "M-FOOD", "M-HOUSE", "M-TAX"]),
    ] {
        let got: Vec<String> = app
            .client
            .list_matters(matters_of(region))
            .await
            .expect("list matters")
            .into_inner()
            .matters
            .into_iter()
            .map(|m| m.matter_code)
            .collect();
        assert_eq!(got, want, "matters of {region:?}");
    }
    let e = app
        .client
        .list_departments(pb::ListDepartmentsRequest {
            region: "33-01".into(),
        })
        .await
        .expect_err("bad filter");
    assert_eq!(e.code(), tonic::Code::InvalidArgument);
    assert!(e.message().contains("region"), "{}", e.message());
}

async fn the_record_log_is_followed_for_one_subtree(backend: Backend) {
    let mut app = spawn_approval(backend, local("2024-03-04 08:00")).await;
    app.client
        .upsert_matters(pb::UpsertMattersRequest {
            matters: vec![
                matter("M-FOOD", "market", 10, 20),
                matter("M-HOUSE", "housing", 10, 20),
            ],
        })
        .await
        .expect("matters");
    let records = vec![
        record(
            "C-XIHU",
            "x1",
            "2024-03-04 09:00",
            application("M-FOOD", "market", "330106"),
        ),
        record(
            "C-GONGSHU",
            "g1",
            "2024-03-04 09:05",
            application("M-HOUSE", "housing", "330105"),
        ),
        record("C-XIHU", "x2", "2024-03-04 09:30", acceptance()),
        record("C-GONGSHU", "g2", "2024-03-04 09:35", acceptance()),
        record(
            "C-NINGBO",
            "n1",
            "2024-03-04 09:40",
            application("M-FOOD", "market", "330203"),
        ),
    ];
    app.client
        .submit_records(pb::SubmitRecordsRequest { records })
        .await
        .expect("submit");
    // `until_caught_up` follows what the log can return now; on PostgreSQL the log holds the
    // batch back while any older transaction of the server (another test's) is open.
    egov_store::testing::read_log_settled(&app.store, egov_store::LogPosition::START, 5).await;
    let follow = |region: &str, department: &str| pb::FollowRecordsRequest {
        until_caught_up: true,
        region: region.into(),
        department: department.into(),
        ..Default::default()
    };
    let ids = |request| {
        let mut client = app.client.clone();
        async move {
            client
                .follow_records(request)
                .await
                .expect("follow")
                .into_inner()
                .map(|r| {
                    r.expect("record")
                        .record
                        .expect("stored")
                        .record
                        .expect("record")
                        .event_id
                })
                .collect::<Vec<_>>()
                .await
        }
    };
    // Log order groups a batch's records by case; the subtree is what matters here.
    let ids = |request| {
        let got = ids(request);
        async move {
            let mut got = got.await;
            got.sort();
            got
        }
    };
    assert_eq!(ids(follow("330106", "")).await, ["x1", "x2"]);
    assert_eq!(ids(follow("3301", "")).await, ["g1", "g2", "x1", "x2"]);
    assert_eq!(ids(follow("33", "market")).await, ["n1", "x1", "x2"]);
    assert_eq!(ids(follow("", "")).await.len(), 5);
    let e = app
        .client
        .follow_records(follow("zj", ""))
        .await
        .expect_err("bad region");
    assert_eq!(e.code(), tonic::Code::InvalidArgument);
}

macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        mod postgres {
            $(#[tokio::test] async fn $name() { super::$name(egov_store::Backend::Postgres).await })*
        }
        mod sqlite {
            $(#[tokio::test] async fn $name() { super::$name(egov_store::Backend::Sqlite).await })*
        }
    };
}

on_both_databases!(
    the_tree_is_registered_item_by_item_and_listed_by_subtree,
    the_record_log_is_followed_for_one_subtree,
);
