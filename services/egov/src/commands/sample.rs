//! `egov up --with-sample`: the sample city of `data/sample/` (embedded in the binary, so it
//! works from any directory) imported through the platform's own gRPC API, like any other
//! client would, then warnings printed live as the supervision platform raises them.

use std::io::Cursor;

use egov_proto::approval::v1 as pb;
use egov_proto::supervision::v1 as spb;
use egov_runtime::shutdown::Shutdown;
use indicatif::ProgressBar;

use super::jurisdiction::{self, Registry};
use super::{import, matters, warnings};
use crate::client;
use crate::settings::Target;

/// The sample jurisdiction tree: Zhejiang > Hangzhou > five districts.
pub const REGIONS: &str = include_str!("../../../../data/sample/regions.jsonl");
/// The sample departments: the 4 city bureaus of the catalogue.
pub const DEPARTMENTS: &str = include_str!("../../../../data/sample/departments.jsonl");
/// The sample catalogue: 8 matters of 4 departments of Hangzhou (3301).
pub const MATTERS: &str = include_str!("../../../../data/sample/matters.jsonl");
/// The sample records: ~40 cases of Oct-Nov 2026, some of them late.
pub const RECORDS: &str = include_str!("../../../../data/sample/records.jsonl");

/// Imports the sample if the catalogue is empty, then follows warnings until shutdown.
pub async fn run(target: Target, mut shutdown: Shutdown) {
    let stop = shutdown.clone();
    tokio::select! {
        result = load_and_watch(&target, stop) => {
            if let Err(e) = result {
                eprintln!("sample: {e:#}");
            }
        }
        () = shutdown.wait() => {}
    }
}

async fn load_and_watch(target: &Target, shutdown: Shutdown) -> anyhow::Result<()> {
    let mut approval = client::approval(target).await?;
    let catalogue = approval
        .list_matters(pb::ListMattersRequest {
            page_size: 1,
            ..Default::default()
        })
        .await
        .map_err(|s| client::call_failed(target, "reading the catalogue", s))?
        .into_inner();
    if catalogue.matters.is_empty() {
        println!("Importing the sample city (data/sample, embedded):");
        for (registry, text) in [
            (Registry::Regions, REGIONS),
            (Registry::Departments, DEPARTMENTS),
        ] {
            let (stored, rejected) =
                jurisdiction::import_from(&mut approval, target, registry, Cursor::new(text))
                    .await?;
            println!(
                "  {}: {stored} stored, {} refused",
                registry.noun(),
                rejected.len()
            );
        }
        let report = matters::import_matters(&mut approval, target, Cursor::new(MATTERS)).await?;
        println!("  matters: {}", report.render().trim_end());
        // Sent like `egov import`, grouped by case: the sample is history, and each case's
        // records arrive together, so the platform's late grace judges each case only once
        // its records have all arrived (see `import`).
        let report = import::import(
            &mut approval,
            target,
            Cursor::new(RECORDS),
            &ProgressBar::hidden(),
        )
        .await?;
        println!(
            "  records: {}",
            report.render().trim_end().replace('\n', "\n  ")
        );
        println!("  (the sample has one deliberately invalid line and one resent record)");
    } else {
        println!("The catalogue is not empty: the sample is not imported again.");
    }
    println!("Warnings as the supervision platform raises them (Ctrl-C to stop):");
    warnings::follow(
        target,
        spb::StreamWarningsRequest::default(),
        false,
        shutdown,
    )
    .await
}
