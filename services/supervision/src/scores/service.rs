//! The `ScoresService` RPCs: thin adapters that check the request ([`super::wire`]), assemble
//! the period's results ([`super::PeriodView`]) and answer in wire types. Errors become
//! statuses in [`crate::error`] only.

use std::collections::BTreeMap;

use egov_domain::scores::{Period, PeriodKind, score};
use egov_proto::supervision::v1 as pb;
use egov_proto::supervision::v1::scores_service_server::{ScoresService, ScoresServiceServer};
use egov_runtime::access::{Caller, Scope, Target};
use tonic::{Request, Response, Status};

use super::wire::{self, ts};
use super::{Context, PeriodView, freeze};
use crate::MAX_MESSAGE_BYTES;
use crate::error::{ApiError, Refusal};
use crate::service::Supervision;

/// The most periods one `GetDepartmentIndicators` call covers (ten years of months).
const MAX_PERIODS: usize = 120;

/// The tonic service, for composing with the platform's other services on one port.
pub fn grpc_service(
    supervision: Supervision,
) -> egov_runtime::error::SizeLimited<ScoresServiceServer<Supervision>> {
    egov_runtime::error::SizeLimited(
        ScoresServiceServer::new(supervision)
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES),
    )
}

impl Supervision {
    async fn scores(&self, r: pb::GetScoresRequest) -> Result<pb::GetScoresResponse, ApiError> {
        let period = wire::period(&r.period, "period", self.clock().now())?;
        let region = wire::region(&r.region)?;
        let ctx = Context::load(self.store()).await?;
        let view = PeriodView::load(self, period, &ctx).await?;
        let ranked = view.ranking(self, region.as_deref(), &ctx).await?;
        let mut late: BTreeMap<&str, u64> = BTreeMap::new();
        for l in &view.late {
            *late.entry(&l.department).or_default() += 1;
        }
        let departments: Vec<pb::DepartmentScore> = ranked
            .iter()
            .map(|r| {
                wire::department_score(
                    r,
                    late.get(r.unit.department.as_str()).copied().unwrap_or(0),
                )
            })
            .collect();
        let in_scope: u64 = departments.iter().map(|d| d.late_changes).sum();
        Ok(pb::GetScoresResponse {
            period: period.to_string(),
            first_day: Some(period.first_day().into()),
            last_day: Some(period.last_day().into()),
            region: region.unwrap_or_default(),
            closed: view.snapshot.is_some(),
            version: view.snapshot.as_ref().map_or(0, |s| s.version as u64),
            computed_at: ts(view.computed_at),
            departments,
            late_changes: in_scope,
            config_json: serde_json::to_string(&view.assessment.config)
                .map_err(|e| ApiError::Internal(e.to_string()))?,
        })
    }

    async fn ranking(&self, r: pb::GetRankingRequest) -> Result<pb::GetRankingResponse, ApiError> {
        let scores = self
            .scores(pb::GetScoresRequest {
                period: r.period,
                region: r.region,
            })
            .await?;
        Ok(pb::GetRankingResponse {
            period: scores.period,
            region: scores.region,
            closed: scores.closed,
            version: scores.version,
            entries: scores
                .departments
                .iter()
                .filter(|d| d.ranked)
                .map(|d| pb::RankingEntry {
                    rank: d.rank,
                    position: d.position,
                    department: d.department.clone(),
                    region: d.region.clone(),
                    score_hundredths: d.score_hundredths,
                    score: d.score.clone(),
                    bottom_two: d.bottom_two,
                    leadership_review: d.leadership_review,
                    grade: d.grade,
                })
                .collect(),
        })
    }

    async fn department_history(
        &self,
        r: pb::GetDepartmentIndicatorsRequest,
    ) -> Result<pb::GetDepartmentIndicatorsResponse, ApiError> {
        let department = wire::department(&r.department)?;
        if pb::PeriodKind::try_from(r.kind).is_err() {
            return Err(ApiError::invalid(
                "kind",
                format!("{} is not a known value", r.kind),
            ));
        }
        let now = self.clock().now();
        let (first, field) = first_period(&r)?;
        let from = if first.is_empty() {
            let year = wire::period("", field, now)?;
            let kind = match r.kind() {
                pb::PeriodKind::Unspecified | pb::PeriodKind::Month => PeriodKind::Month,
                pb::PeriodKind::Quarter => PeriodKind::Quarter,
                pb::PeriodKind::Year => PeriodKind::Year,
            };
            Period::containing(year.first_day(), kind)
        } else {
            wire::period(first, field, now)?
        };
        let to = if r.to.trim().is_empty() {
            Period::containing(from.the_year().last_day(), from.kind())
        } else {
            wire::period(&r.to, "to", now)?
        };
        if to.kind() != from.kind() {
            return Err(ApiError::invalid(
                "to",
                format!(
                    "must be a {} like `{field}` ({from}), not a {}",
                    from.kind().as_str(),
                    to.kind().as_str()
                ),
            ));
        }
        let periods = from.through(to);
        if periods.is_empty() {
            return Err(ApiError::invalid(
                "to",
                format!("{to} comes before `{field}` ({from})"),
            ));
        }
        if periods.len() > MAX_PERIODS {
            return Err(ApiError::invalid(
                "to",
                format!(
                    "{from} to {to} is {} periods; at most {MAX_PERIODS} per call",
                    periods.len()
                ),
            ));
        }
        let ctx = Context::load(self.store()).await?;
        let mut out = Vec::with_capacity(periods.len());
        for p in periods {
            let view = PeriodView::load(self, p, &ctx).await?;
            let unit = view
                .assessment
                .units
                .iter()
                .find(|u| u.department == department)
                .cloned()
                .unwrap_or_else(|| egov_domain::scores::UnitInput {
                    department: department.clone(),
                    region: ctx.regions.get(&department).cloned().unwrap_or_default(),
                    counters: Default::default(),
                    catalogue: ctx.catalogue.get(&department).copied().unwrap_or_default(),
                });
            let card = score(&view.assessment.config, &unit);
            // The grade is the city-wide ranking's: a grade by rank needs the others.
            let grade = view
                .assessment
                .ranking(None)
                .into_iter()
                .find(|r| r.unit.department == department)
                .and_then(|r| r.grade);
            out.push(pb::DepartmentPeriod {
                period: p.to_string(),
                closed: view.snapshot.is_some(),
                version: view.snapshot.as_ref().map_or(0, |s| s.version as u64),
                indicators: Some(wire::indicators(
                    &department,
                    &unit.counters,
                    &unit.catalogue,
                )),
                score_hundredths: card.total.get(),
                score: card.total.to_string(),
                grade: wire::grade(grade).into(),
            });
        }
        Ok(pb::GetDepartmentIndicatorsResponse {
            region: ctx.regions.get(&department).cloned().unwrap_or_default(),
            department,
            periods: out,
        })
    }

    async fn catalogue_stats(
        &self,
        r: pb::GetCatalogueStatsRequest,
    ) -> Result<pb::GetCatalogueStatsResponse, ApiError> {
        let only = (!r.department.trim().is_empty())
            .then(|| wire::department(&r.department))
            .transpose()?;
        let (per, all) = super::catalogue(self.store()).await?;
        let departments: Vec<pb::CatalogueStats> = per
            .iter()
            .filter(|(d, _)| only.as_ref().is_none_or(|o| o == *d))
            .map(|(d, c)| wire::catalogue(d, c))
            .collect();
        let total = match &only {
            None => wire::catalogue("", &all),
            Some(d) => wire::catalogue(d, &per.get(d).copied().unwrap_or_default()),
        };
        Ok(pb::GetCatalogueStatsResponse {
            total: Some(total),
            departments,
        })
    }

    async fn versions(
        &self,
        r: pb::ListPeriodVersionsRequest,
    ) -> Result<pb::ListPeriodVersionsResponse, ApiError> {
        let period = required_period(&r.period, self)?;
        let versions = self.store().score_snapshots(&period.to_string()).await?;
        let late = match versions.last() {
            Some(v) => self.store().score_late(&v.period, v.late_through).await?,
            None => Vec::new(),
        };
        Ok(pb::ListPeriodVersionsResponse {
            versions: versions.iter().map(wire::period_version).collect(),
            late_changes: late.iter().map(wire::late_change).collect(),
        })
    }
}

fn required_period(text: &str, s: &Supervision) -> Result<Period, ApiError> {
    if text.trim().is_empty() {
        return Err(ApiError::invalid("period", "is required"));
    }
    wire::period(text, "period", s.clock().now())
}

/// Checks that the caller may read `department`'s figures: an admin anything; a department
/// user its own; someone of a region's subtree a department registered in it
/// (docs/design.md "Trust"). An empty `department` (every department) is for admins only.
async fn check_department(
    s: &Supervision,
    caller: &Caller,
    department: &str,
) -> Result<(), Status> {
    let department = department.trim();
    match &caller.principal.scope {
        Scope::All => caller.check(&Target::Call),
        _ if department.is_empty() => Err(ApiError::permission_denied(
            "DEPARTMENT_REQUIRED",
            "name a department within your scope",
        )
        .into()),
        Scope::Departments(_) => caller.check(&Target::Department(department.to_owned())),
        Scope::Region(_) => {
            let registered = s
                .store()
                .get_department(department)
                .await
                .map_err(ApiError::from)?
                .ok_or_else(|| {
                    Status::from(ApiError::PermissionDenied(
                        Refusal::new(
                            "OUTSIDE_SCOPE",
                            format!("department {department} is not registered in your region"),
                        )
                        .with("department", department),
                    ))
                })?;
            // The department's cases within its region: placed under both.
            caller.check(&Target::Case {
                department: department.to_owned(),
                region: registered.region,
            })
        }
    }
}

#[tonic::async_trait]
impl ScoresService for Supervision {
    async fn get_scores(
        &self,
        request: Request<pb::GetScoresRequest>,
    ) -> Result<Response<pb::GetScoresResponse>, Status> {
        let caller = Caller::of(&request)?;
        let mut r = egov_proto::limits::checked(request)?;
        caller.narrow(&mut String::new(), &mut r.region)?;
        Ok(Response::new(self.scores(r).await?))
    }

    async fn get_ranking(
        &self,
        request: Request<pb::GetRankingRequest>,
    ) -> Result<Response<pb::GetRankingResponse>, Status> {
        let caller = Caller::of(&request)?;
        let mut r = egov_proto::limits::checked(request)?;
        caller.narrow(&mut String::new(), &mut r.region)?;
        Ok(Response::new(self.ranking(r).await?))
    }

    async fn get_department_indicators(
        &self,
        request: Request<pb::GetDepartmentIndicatorsRequest>,
    ) -> Result<Response<pb::GetDepartmentIndicatorsResponse>, Status> {
        let caller = Caller::of(&request)?;
        let r = egov_proto::limits::checked(request)?;
        check_department(self, &caller, &r.department).await?;
        Ok(Response::new(self.department_history(r).await?))
    }

    async fn get_catalogue_stats(
        &self,
        request: Request<pb::GetCatalogueStatsRequest>,
    ) -> Result<Response<pb::GetCatalogueStatsResponse>, Status> {
        let caller = Caller::of(&request)?;
        let r = egov_proto::limits::checked(request)?;
        check_department(self, &caller, &r.department).await?;
        Ok(Response::new(self.catalogue_stats(r).await?))
    }

    async fn close_period(
        &self,
        request: Request<pb::ClosePeriodRequest>,
    ) -> Result<Response<pb::ClosePeriodResponse>, Status> {
        let caller = Caller::of(&request)?;
        let r = egov_proto::limits::checked(request)?;
        let period = required_period(&r.period, self)?;
        // The authenticated principal closes it (the request's `actor` is ignored).
        let actor = caller.principal.id.as_str();
        let row = freeze(self, period, 0, actor, r.reason.trim()).await?;
        Ok(Response::new(pb::ClosePeriodResponse {
            version: Some(wire::period_version(&row)),
        }))
    }

    async fn recompute_period(
        &self,
        request: Request<pb::RecomputePeriodRequest>,
    ) -> Result<Response<pb::RecomputePeriodResponse>, Status> {
        let caller = Caller::of(&request)?;
        let r = egov_proto::limits::checked(request)?;
        let period = required_period(&r.period, self)?;
        let actor = caller.principal.id.as_str();
        let current = self
            .store()
            .score_snapshots(&period.to_string())
            .await
            .map_err(ApiError::from)?
            .pop()
            .ok_or_else(|| super::period_not_closed(period))?;
        let row = freeze(self, period, current.version, actor, r.reason.trim()).await?;
        let included = self
            .store()
            .score_late(&row.period, current.late_through)
            .await
            .map_err(ApiError::from)?
            .iter()
            .filter(|l| l.id <= row.late_through)
            .count();
        Ok(Response::new(pb::RecomputePeriodResponse {
            version: Some(wire::period_version(&row)),
            late_changes_included: included as u64,
        }))
    }

    async fn list_period_versions(
        &self,
        request: Request<pb::ListPeriodVersionsRequest>,
    ) -> Result<Response<pb::ListPeriodVersionsResponse>, Status> {
        Ok(Response::new(
            self.versions(egov_proto::limits::checked(request)?).await?,
        ))
    }
}

/// The first period asked for and the field that named it: `first_period`, or the deprecated
/// `from` (kept for clients of the first contract) when it is empty; both set must agree.
#[allow(deprecated)]
fn first_period(r: &pb::GetDepartmentIndicatorsRequest) -> Result<(&str, &'static str), ApiError> {
    let (new, old) = (r.first_period.trim(), r.from.trim());
    match (new.is_empty(), old.is_empty()) {
        (false, false) if new != old => Err(ApiError::invalid(
            "first_period",
            "differs from `from`, its deprecated name; send only `first_period`",
        )),
        (true, false) => Ok((old, "from")),
        _ => Ok((new, "first_period")),
    }
}
