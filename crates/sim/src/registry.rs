//! The city on the wire: its matter catalogue (`UpsertMatters`), its regions and departments
//! (`UpsertRegions`, `UpsertDepartments`), and, at the end of a run, the month's ranking.
//!
//! Two functions here are the seams to the registry and the scores services:
//! [`register_jurisdictions`] and [`ranking`]. A platform without them (an older server)
//! answers UNIMPLEMENTED, which is reported, not fatal: the simulation itself needs only the
//! catalogue.

use anyhow::{Context, bail};
use egov_proto::approval::v1 as apb;
use egov_proto::approval::v1::approval_service_client::ApprovalServiceClient;
use egov_proto::supervision::v1 as spb;
use egov_proto::supervision::v1::scores_service_client::ScoresServiceClient;
use egov_runtime::access::Authed;

use crate::city::City;

/// What registering the city did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Registered {
    pub matters: usize,
    /// Regions and departments stored; None when the platform has no registry.
    pub jurisdictions: Option<(usize, usize)>,
}

/// Registers the whole city: regions and departments first (the registry wants a
/// department's region before the department), then the catalogue.
pub async fn register_city(
    approval: &mut ApprovalServiceClient<Authed>,
    city: &City,
) -> anyhow::Result<Registered> {
    let jurisdictions = register_jurisdictions(approval, city).await?;
    let matters = register_matters(approval, city).await?;
    Ok(Registered {
        matters,
        jurisdictions,
    })
}

/// The matter catalogue, in pages of 1000; every matter must be stored.
pub async fn register_matters(
    approval: &mut ApprovalServiceClient<Authed>,
    city: &City,
) -> anyhow::Result<usize> {
    let matters: Vec<apb::Matter> = city.matters.iter().map(apb::Matter::from).collect();
    for chunk in matters.chunks(1000) {
        let results = approval
            .upsert_matters(apb::UpsertMattersRequest {
                matters: chunk.to_vec(),
            })
            .await
            .context("registering the matter catalogue")?
            .into_inner()
            .results;
        if let Some(bad) = results
            .iter()
            .find(|r| r.status() == apb::MatterResultStatus::Rejected)
        {
            bail!(
                "the platform refused matter {}: {:?}",
                bad.matter_code,
                bad.violations
            );
        }
    }
    Ok(matters.len())
}

/// REGISTRY SEAM: the city's regions (with their ancestors) and departments, through the
/// approval platform's `UpsertRegions` and `UpsertDepartments`. None when the platform does
/// not offer them.
pub async fn register_jurisdictions(
    approval: &mut ApprovalServiceClient<Authed>,
    city: &City,
) -> anyhow::Result<Option<(usize, usize)>> {
    // Parents before children: the registry refuses a region whose parent is unknown.
    let mut regions: Vec<apb::Region> = city
        .used_regions()
        .into_iter()
        .map(|r| apb::Region {
            code: r.code.clone(),
            name: r.name.clone(),
            ..Default::default()
        })
        .collect();
    regions.sort_by_key(|r| r.code.len());
    let answer = approval
        .upsert_regions(apb::UpsertRegionsRequest {
            regions: regions.clone(),
        })
        .await;
    let results = match answer {
        Ok(a) => a.into_inner().results,
        Err(status) if status.code() == tonic::Code::Unimplemented => return Ok(None),
        Err(status) => return Err(status).context("registering the city's regions"),
    };
    if let Some(bad) = results.iter().find(|r| !r.stored) {
        bail!(
            "the platform refused region {}: {:?}",
            bad.code,
            bad.violations
        );
    }
    let departments: Vec<apb::Department> = city
        .departments
        .iter()
        .map(|d| apb::Department {
            code: d.code.clone(),
            name: d.name.clone(),
            region: d.region.clone(),
        })
        .collect();
    let results = approval
        .upsert_departments(apb::UpsertDepartmentsRequest {
            departments: departments.clone(),
        })
        .await
        .context("registering the city's departments")?
        .into_inner()
        .results;
    if let Some(bad) = results.iter().find(|r| !r.stored) {
        bail!(
            "the platform refused department {}: {:?}",
            bad.code,
            bad.violations
        );
    }
    Ok(Some((regions.len(), departments.len())))
}

/// One line of a period's ranking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RankingRow {
    /// 1 for the best; shared by ties.
    pub rank: u32,
    pub department: String,
    /// The composite score as the service writes it ("87.45").
    pub score: String,
    /// In the bottom two of the ranking (docs/design.md §4).
    pub bottom_two: bool,
}

/// SCORES SEAM: the ranking of the city's departments in `period` (`2026-09`), from the
/// supervision platform's scores service (`GetRanking`). None when the platform has no scores
/// service; the demo then prints its own count of cards per department instead.
pub async fn ranking(channel: Authed, period: &str) -> anyhow::Result<Option<Vec<RankingRow>>> {
    let mut scores = ScoresServiceClient::new(channel);
    let answer = scores
        .get_ranking(spb::GetRankingRequest {
            period: period.to_owned(),
            ..Default::default()
        })
        .await;
    let entries = match answer {
        Ok(a) => a.into_inner().entries,
        Err(status) if status.code() == tonic::Code::Unimplemented => return Ok(None),
        Err(status) => return Err(status).context("reading the month's ranking"),
    };
    Ok(Some(
        entries
            .into_iter()
            .map(|e| RankingRow {
                rank: e.rank,
                department: e.department,
                score: e.score,
                bottom_two: e.bottom_two,
            })
            .collect(),
    ))
}
