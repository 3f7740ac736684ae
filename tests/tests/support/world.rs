//! The world of the access tests (tests/tests/access.rs, tests/tests/attacks.rs): both
//! platforms on one port over a fresh database, two departments in two cities, a case and a
//! warning each.

use egov_approval::testing::fixtures::{application, local, matter, record};
use egov_platform::testing::{Running, connect, fresh_store, settings};
use egov_platform::{Serve, Settings, TrustSettings};
use egov_proto::approval::v1 as apb;
use egov_proto::approval::v1::approval_service_client::ApprovalServiceClient;
use egov_runtime::clock::ManualClock;
use egov_store::{Backend, NewWarning, Store};
use serde_json::json;

/// The world every call acts on: two departments in two cities, a case and a warning each.
/// "In scope" is the market department of city 3301 (case C-IN, county 330106); "out of
/// scope" the tax department of city 3302 (case C-OUT, county 330201).
pub struct World {
    pub running: Running,
    pub store: Store,
    pub clock: ManualClock,
    pub warning_in: String,
    pub warning_out: String,
    pub rules_json: String,
    /// A webhook's id.
    pub hook: String,
    /// A named complaint about the market department (office 3301), and one about tax (3302).
    pub complaint_in: String,
    pub complaint_out: String,
}

pub async fn world(backend: Backend) -> World {
    world_with(backend, TrustSettings::default()).await
}

/// [`world`] with the front hall set up by `trust` (limits, a policy).
pub async fn world_with(backend: Backend, trust: TrustSettings) -> World {
    let store = fresh_store(backend).await;
    let clock = ManualClock::new(local("2024-04-15 10:00"));
    let running = Running::start(Settings {
        trust,
        ..settings(Serve::Both, store.clone(), &clock)
    })
    .await;
    let channel = connect(running.addr, Some(&running.admin)).await;
    let mut a = ApprovalServiceClient::new(channel);
    let region = |code: &str, name: &str| apb::Region {
        code: code.into(),
        name: name.into(),
        ..Default::default()
    };
    a.upsert_regions(apb::UpsertRegionsRequest {
        regions: vec![
            region("33", "浙江省"),
            region("3301", "杭州市"),
            region("330106", "西湖区"),
            region("3302", "宁波市"),
            region("330201", "海曙区"),
        ],
    })
    .await
    .expect("regions");
    let department = |code: &str, r: &str| apb::Department {
        code: code.into(),
        name: code.into(),
        region: r.into(),
    };
    a.upsert_departments(apb::UpsertDepartmentsRequest {
        departments: vec![department("market", "3301"), department("tax", "3302")],
    })
    .await
    .expect("departments");
    a.upsert_matters(apb::UpsertMattersRequest {
        matters: vec![
            matter("M-MKT", "market", 5, 20),
            matter("M-TAX", "tax", 5, 20),
        ],
    })
    .await
    .expect("matters");
    a.submit_records(apb::SubmitRecordsRequest {
        records: vec![
            record(
                "C-IN",
                "C-IN-a",
                "2024-04-15 09:00",
                application("M-MKT", "market", "330106"),
            ),
            record(
                "C-OUT",
                "C-OUT-a",
                "2024-04-15 09:00",
                application("M-TAX", "tax", "330201"),
            ),
        ],
    })
    .await
    .expect("cases");
    // A hook of the admin's, for the deliveries listing.
    let hook =
        egov_proto::supervision::v1::supervision_service_client::SupervisionServiceClient::new(
            connect(running.addr, Some(&running.admin)).await,
        )
        .create_webhook(egov_proto::supervision::v1::CreateWebhookRequest {
            url: "http://receiver.example/hook".into(),
            secret: "s3cret-s3cret-s3cret".into(),
            ..Default::default()
        })
        .await
        .expect("a hook")
        .into_inner()
        .webhook
        .expect("the hook")
        .id;
    let rules_json = a
        .get_rule_config(apb::GetRuleConfigRequest {})
        .await
        .expect("rules")
        .into_inner()
        .config_json;
    // A record rule's card: no later record disproves it. (A deadline's card here would be
    // false, the case's clocks still running, and the log follower, reading the case's records
    // after it was stored on a loaded machine, would rightly withdraw it.)
    let card = |case: &str, department: &str, region: &str| NewWarning {
        case_no: case.into(),
        rule: "missing_reasons".into(),
        level: "yellow_card".into(),
        department: department.into(),
        region: region.into(),
        matter_code: "M-MKT".into(),
        due_at: Some(local("2024-04-15 09:00")),
        raised_at: local("2024-04-15 10:00"),
        detail: json!({"message": format!("{case}: a decision without its reasons")}),
    };
    let rows = store
        .insert_warnings(&[
            card("C-IN", "market", "330106"),
            card("C-OUT", "tax", "330201"),
        ])
        .await
        .expect("warnings");
    let complaint = |department: &str, office: &str| egov_store::complaints::NewComplaint {
        filed_at: local("2024-04-15 10:00"),
        channel: "online".into(),
        subject_kind: "department".into(),
        subject: department.into(),
        department: department.into(),
        region: office.into(),
        office: office.into(),
        summary: "charged a fee not in the catalogue".into(),
        complainant: Some(("Wang Fang".into(), "13800000000".into())),
        filed_by: "public".into(),
        acceptance_due_at: local("2024-04-23 00:00"),
        next_due_at: None,
    };
    let complaint_in = store
        .file_complaint(&complaint("market", "3301"))
        .await
        .expect("a complaint")
        .id
        .to_string();
    let complaint_out = store
        .file_complaint(&complaint("tax", "3302"))
        .await
        .expect("a complaint")
        .id
        .to_string();
    World {
        running,
        store,
        clock,
        warning_in: rows[0].id.to_string(),
        warning_out: rows[1].id.to_string(),
        rules_json,
        hook,
        complaint_in,
        complaint_out,
    }
}
