//! The registry of jurisdictions behind `UpsertRegions`, `ListRegions`, `UpsertDepartments`
//! and `ListDepartments`: each item validated by the domain on its own, a region refused when
//! its parent is not registered (nor earlier in the same request), a department when its region
//! is not registered, so the stored tree never has holes.

use std::collections::HashSet;

use egov_domain::error::FieldError;
use egov_domain::jurisdiction::{Department, Region, RegionLevel};
use egov_proto::approval::v1 as pb;
use egov_store::{DepartmentRow, RegionRow, Store};

use crate::error::ApiError;

fn violations(errors: Vec<FieldError>) -> Vec<pb::FieldViolation> {
    errors
        .into_iter()
        .map(|e| pb::FieldViolation {
            field: e.field,
            reason: e.reason,
        })
        .collect()
}

fn refused(code: String, errors: Vec<FieldError>) -> pb::RegistryResult {
    pb::RegistryResult {
        code,
        stored: false,
        violations: violations(errors),
    }
}

fn level_to_proto(level: &str) -> pb::RegionLevel {
    match RegionLevel::parse(level) {
        Some(RegionLevel::Province) => pb::RegionLevel::Province,
        Some(RegionLevel::City) => pb::RegionLevel::City,
        Some(RegionLevel::County) => pb::RegionLevel::County,
        Some(RegionLevel::Township) => pb::RegionLevel::Township,
        None => pb::RegionLevel::Unspecified,
    }
}

/// A stored region in wire form.
pub fn region_to_proto(row: RegionRow) -> pb::Region {
    pb::Region {
        level: level_to_proto(&row.level).into(),
        code: row.code,
        name: row.name,
        parent: row.parent.unwrap_or_default(),
    }
}

/// Validates and stores `regions` in request order; one result each.
pub async fn upsert_regions(
    store: &Store,
    regions: Vec<pb::Region>,
) -> Result<Vec<pb::RegistryResult>, ApiError> {
    // Only text within bounds is looked up (an item out of bounds is refused below).
    let parents: Vec<&str> = regions
        .iter()
        .filter(|r| egov_proto::limits::check(*r).is_ok())
        .filter_map(|r| egov_domain::jurisdiction::parent_region(&r.code))
        .collect();
    let mut known: HashSet<String> = store
        .get_regions(&parents)
        .await?
        .into_iter()
        .map(|r| r.code)
        .collect();
    let mut results = Vec::with_capacity(regions.len());
    let mut rows = Vec::new();
    for r in &regions {
        if let Err(v) = egov_proto::limits::check(r) {
            results.push(refused(
                egov_proto::limits::echo_id(&r.code),
                v.into_inner(),
            ));
            continue;
        }
        let region = match Region::parse(&r.code, &r.name) {
            Ok(region) => region,
            Err(errors) => {
                results.push(refused(r.code.clone(), errors));
                continue;
            }
        };
        let parent = region.parent().map(str::to_owned);
        if let Some(p) = &parent
            && !known.contains(p)
        {
            results.push(refused(
                r.code.clone(),
                vec![FieldError::new(
                    "code",
                    format!(
                        "its parent region {p} is not registered; register {p} first (or \
                         earlier in the same request)"
                    ),
                )],
            ));
            continue;
        }
        known.insert(region.code.as_str().to_owned());
        rows.push(RegionRow {
            code: region.code.as_str().to_owned(),
            name: region.name,
            level: region.level.as_str().to_owned(),
            parent,
        });
        results.push(pb::RegistryResult {
            code: r.code.clone(),
            stored: true,
            violations: Vec::new(),
        });
    }
    store.upsert_regions(&rows).await?;
    Ok(results)
}

/// Validates and stores `departments` in request order; one result each.
pub async fn upsert_departments(
    store: &Store,
    departments: Vec<pb::Department>,
) -> Result<Vec<pb::RegistryResult>, ApiError> {
    // Only text within bounds is looked up (an item out of bounds is refused below).
    let regions: Vec<&str> = departments
        .iter()
        .filter(|d| egov_proto::limits::check(*d).is_ok())
        .map(|d| d.region.as_str())
        .collect();
    let known: HashSet<String> = store
        .get_regions(&regions)
        .await?
        .into_iter()
        .map(|r| r.code)
        .collect();
    let mut results = Vec::with_capacity(departments.len());
    let mut rows = Vec::new();
    for d in &departments {
        if let Err(v) = egov_proto::limits::check(d) {
            results.push(refused(
                egov_proto::limits::echo_id(&d.code),
                v.into_inner(),
            ));
            continue;
        }
        let department = match Department::parse(&d.code, &d.name, &d.region) {
            Ok(department) => department,
            Err(errors) => {
                results.push(refused(d.code.clone(), errors));
                continue;
            }
        };
        if !known.contains(department.region.as_str()) {
            results.push(refused(
                d.code.clone(),
                vec![FieldError::new(
                    "region",
                    format!(
                        "region {} is not registered; register it with UpsertRegions first",
                        department.region
                    ),
                )],
            ));
            continue;
        }
        rows.push(DepartmentRow {
            code: department.code.as_str().to_owned(),
            name: department.name,
            region: department.region.as_str().to_owned(),
        });
        results.push(pb::RegistryResult {
            code: d.code.clone(),
            stored: true,
            violations: Vec::new(),
        });
    }
    store.upsert_departments(&rows).await?;
    Ok(results)
}

/// Checks an optional subtree filter (empty: everything).
pub fn subtree(field: &str, region: &str) -> Result<(), ApiError> {
    egov_domain::jurisdiction::check_subtree(region)
        .map_err(|reason| ApiError::invalid(field, reason))
}
