//! What the approval platform checks itself, beyond the front hall's check of every call
//! (docs/design.md "Trust"): records are pushed only into cases within the caller's scope,
//! and a service centre's identity is each record's `source`; cases and the record log are
//! read only within the caller's scope.

use std::collections::HashMap;

use egov_proto::approval::v1 as pb;
use egov_runtime::access::{Caller, Role, Scope, Target};
use egov_store::Store;
use tonic::Status;

use crate::error::ApiError;

/// Checks that every record of `records` falls in a case within the caller's scope, and
/// stamps a service centre's records with its identity (the sender cannot name another).
/// An admin (every scope) pushes on anyone's behalf (bulk imports keep their files' sources).
pub async fn admit(
    caller: &Caller,
    store: &Store,
    records: &mut [pb::Record],
) -> Result<(), Status> {
    if caller.principal.scope == Scope::All {
        return Ok(());
    }
    if caller.principal.role == Role::ServiceCentre {
        for r in records.iter_mut() {
            r.source.clone_from(&caller.principal.id);
        }
    }
    // The stored cases the records of this batch continue (their department and region).
    let continued: Vec<String> = records
        .iter()
        .filter(|r| !matches!(r.body, Some(pb::record::Body::Application(_))))
        .map(|r| r.case_no.clone())
        .collect();
    let stored: HashMap<String, (String, String)> = store
        .get_case_rows(&continued)
        .await
        .map_err(ApiError::from)?
        .into_iter()
        .map(|c| (c.case_no, (c.department, c.region)))
        .collect();
    for r in records.iter() {
        let (department, region) = match &r.body {
            Some(pb::record::Body::Application(a)) => (a.department.clone(), a.region.clone()),
            _ => match stored.get(&r.case_no) {
                Some(place) => place.clone(),
                // No such case: the ingest rejects the record on its own (nothing to protect).
                None => continue,
            },
        };
        caller.check(&Target::Case { department, region })?;
    }
    Ok(())
}

/// Checks that the case `case_no` lies within the caller's scope (NOT_FOUND stays the
/// ingest's answer for a case that does not exist).
pub async fn check_case(caller: &Caller, store: &Store, case_no: &str) -> Result<(), Status> {
    if caller.principal.scope == Scope::All {
        return caller.check(&Target::Call);
    }
    let rows = store
        .get_case_rows(&[case_no.to_owned()])
        .await
        .map_err(ApiError::from)?;
    match rows.into_iter().next() {
        Some(c) => caller.check(&Target::Case {
            department: c.department,
            region: c.region,
        }),
        // Out of scope and missing look the same to a caller outside: no probing for cases.
        None => Err(ApiError::not_found("case", case_no).into()),
    }
}
