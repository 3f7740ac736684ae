//! The demo's web console: the people of the simulated city who sign in to it (a supervision
//! office of the city, the staff of one department, an analyst), made as local accounts in
//! the demo's database, and a few cases with the query codes the public looks them up with.

use anyhow::Context;
use chrono::Utc;
use egov_proto::approval::v1 as apb;
use egov_proto::approval::v1::approval_service_client::ApprovalServiceClient;
use egov_sim::platforms::InProcess;

/// The demo's one password for its people (a demo on a laptop; never a real deployment's).
pub const DEMO_PASSWORD: &str = "egov-demo-2026";

/// The region the simulated city is (Hangzhou), whose office the demo's supervisor is.
const CITY: &str = "3301";

/// Makes the demo's accounts and prints how to reach the console: its address, the
/// accounts, and three cases with their query codes for the public lookup.
pub async fn announce(platforms: &InProcess, secret: &[u8]) -> anyhow::Result<()> {
    let Some(addr) = platforms.console_addr() else {
        return Ok(());
    };
    let mut approval = ApprovalServiceClient::new(platforms.channel().await?);
    let departments = approval
        .list_departments(apb::ListDepartmentsRequest {
            region: CITY.to_owned(),
        })
        .await
        .context("cannot list the city's departments")?
        .into_inner()
        .departments;
    let department = departments
        .first()
        .map_or_else(|| "D-UNKNOWN".to_owned(), |d| d.code.clone());
    let people = [
        ("supervisor", "supervisor", format!("region:{CITY}")),
        ("clerk", "department", format!("departments:{department}")),
        ("analyst", "analyst", format!("region:{CITY}")),
    ];
    for (name, role, scope) in &people {
        egov_trust::accounts::create_account(
            platforms.store(),
            name,
            role,
            scope,
            DEMO_PASSWORD,
            Utc::now(),
        )
        .await
        .with_context(|| format!("cannot create the demo account {name}"))?;
    }
    let cases = approval
        .list_cases(apb::ListCasesRequest {
            page_size: 3,
            ..Default::default()
        })
        .await
        .context("cannot list the city's cases")?
        .into_inner()
        .cases;
    println!();
    println!("The web console: http://{addr}/  (中文; English from the page's header)");
    for (name, role, scope) in &people {
        println!("  sign in as {name:<10} password {DEMO_PASSWORD}  ({role}, {scope})");
    }
    println!("  the public's lookup, http://{addr}/public, by case number and query code:");
    for case in cases {
        println!(
            "    {}  {}",
            case.case_no,
            egov_platform::query_code::query_code(secret, &case.case_no)
        );
    }
    Ok(())
}
