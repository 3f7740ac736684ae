//! The `AccountabilityService` RPCs (docs/design.md §3.4): thin adapters that load the grounds
//! of a decision (a warning or a complaint), ask the policy whether the caller's office covers
//! them, ask the domain (`egov_domain::accountability`) whether they admit a decision and
//! whether its fields hold, store it in the register, and count it in the scores as a fact of
//! source `accountability` on the day it is dated.

use chrono::NaiveDate;
use egov_domain::accountability::{
    Basis, Decision, DecisionInput, Grounds, GroundsError, Measure, admissible,
};
use egov_domain::scores::Counters;
use egov_proto::convert::FieldViolations;
use egov_proto::supervision::v1 as pb;
use egov_proto::supervision::v1::accountability_service_server::{
    AccountabilityService, AccountabilityServiceServer,
};
use egov_runtime::access::{Caller, Target};
use egov_store::Page;
use egov_store::accountability::{DecisionFilter, DecisionRow, NewDecision};
use egov_store::scores::{ScoreBatch, ScoreDay, ScoreFacts};
use pbjson_types::Timestamp;
use tonic::{Request, Response, Status};

use crate::MAX_MESSAGE_BYTES;
use crate::error::{ApiError, Refusal};
use crate::scores::calendar;
use crate::service::Supervision;

/// The source of a decision's score fact (`score_facts.source`).
const SOURCE: &str = "accountability";

/// The tonic service, for composing with the platform's other services on one port.
pub fn grpc_service(
    supervision: Supervision,
) -> egov_runtime::error::SizeLimited<AccountabilityServiceServer<Supervision>> {
    egov_runtime::error::SizeLimited(
        AccountabilityServiceServer::new(supervision)
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES),
    )
}

/// What the grounds of a decision are, as loaded: the policy's target, the domain's facts
/// and where the decision is kept.
struct Loaded {
    basis: Basis,
    target: Target,
    level: String,
    state: String,
    outcome: Option<String>,
    department: String,
    region: String,
    office: String,
    on: Option<NaiveDate>,
}

impl Loaded {
    fn grounds(&self) -> Grounds<'_> {
        match self.basis {
            Basis::Warning(_) => Grounds::Warning {
                level: &self.level,
                state: &self.state,
                department: &self.department,
                raised_on: self.on.unwrap_or(NaiveDate::MIN),
            },
            Basis::Complaint(_) => Grounds::Complaint {
                state: &self.state,
                outcome: self.outcome.as_deref(),
                closed_on: self.on,
            },
        }
    }
}

fn measure_in(n: i32, field: &str) -> Result<Option<Measure>, ApiError> {
    let m = pb::AccountabilityMeasure::try_from(n)
        .map_err(|_| ApiError::invalid(field, format!("{n} is not a known value")))?;
    Ok(match m {
        pb::AccountabilityMeasure::Unspecified => None,
        pb::AccountabilityMeasure::AdmonitionTalk => Some(Measure::AdmonitionTalk),
        pb::AccountabilityMeasure::CirculatedCriticism => Some(Measure::CirculatedCriticism),
        pb::AccountabilityMeasure::EfficiencyWarning => Some(Measure::EfficiencyWarning),
        pb::AccountabilityMeasure::RemovalFromPost => Some(Measure::RemovalFromPost),
    })
}

fn measure_out(m: Option<Measure>) -> pb::AccountabilityMeasure {
    match m {
        Some(Measure::AdmonitionTalk) => pb::AccountabilityMeasure::AdmonitionTalk,
        Some(Measure::CirculatedCriticism) => pb::AccountabilityMeasure::CirculatedCriticism,
        Some(Measure::EfficiencyWarning) => pb::AccountabilityMeasure::EfficiencyWarning,
        Some(Measure::RemovalFromPost) => pb::AccountabilityMeasure::RemovalFromPost,
        None => pb::AccountabilityMeasure::Unspecified,
    }
}

fn decision_out(row: &DecisionRow) -> pb::AccountabilityDecision {
    use pb::accountability_decision::Basis as B;
    let measure = Measure::parse(&row.measure);
    pb::AccountabilityDecision {
        id: row.id.to_string(),
        basis: Some(match row.basis_kind.as_str() {
            "complaint" => B::ComplaintId(row.basis_id.to_string()),
            _ => B::WarningId(row.basis_id.to_string()),
        }),
        department: row.department.clone(),
        region: row.region.clone(),
        office: row.office.clone(),
        person: row.person.clone(),
        measure: measure_out(measure).into(),
        measure_name: measure.map(Measure::chinese).unwrap_or_default().to_owned(),
        decided_on: row.decided_on.to_string(),
        grounds: row.grounds.clone(),
        recorded_at: Some(Timestamp::from(row.recorded_at)),
        recorded_by: row.recorded_by.clone(),
    }
}

/// A positive id of field `field`.
fn id_of(text: &str, field: &str) -> Result<i64, ApiError> {
    text.trim()
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| ApiError::invalid(field, "is not an id"))
}

/// A `YYYY-MM-DD` filter date, or None when empty.
fn day_of(text: &str, field: &str) -> Result<Option<NaiveDate>, ApiError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| ApiError::invalid(field, "is not a date (YYYY-MM-DD)"))
}

impl Supervision {
    /// The grounds `basis` names, NOT_FOUND when not stored.
    async fn load_grounds(&self, basis: Basis) -> Result<Loaded, ApiError> {
        let cal = calendar();
        match basis {
            Basis::Warning(id) => {
                let w = self
                    .store()
                    .get_warning(id)
                    .await?
                    .ok_or_else(|| ApiError::not_found("warning", id.to_string()))?;
                Ok(Loaded {
                    basis,
                    target: Target::Warning {
                        department: w.department.clone(),
                        region: w.region.clone(),
                        office: w.office.clone(),
                    },
                    level: w.level,
                    state: w.state,
                    outcome: None,
                    department: w.department,
                    region: w.region,
                    office: w.office,
                    on: Some(cal.local_date(w.raised_at)),
                })
            }
            Basis::Complaint(id) => {
                let c = self
                    .store()
                    .get_complaint(id)
                    .await?
                    .ok_or_else(|| ApiError::not_found("complaint", id.to_string()))?;
                Ok(Loaded {
                    basis,
                    target: Target::Complaint {
                        department: c.department.clone(),
                        region: c.region.clone(),
                        office: c.office.clone(),
                    },
                    level: String::new(),
                    state: c.state,
                    outcome: c.outcome,
                    department: c.department,
                    region: c.region,
                    office: c.office,
                    on: c.closed_at.map(|t| cal.local_date(t)),
                })
            }
        }
    }

    async fn record(
        &self,
        caller: &Caller,
        r: pb::RecordAccountabilityRequest,
    ) -> Result<DecisionRow, Status> {
        use pb::record_accountability_request::Basis as B;
        let basis = match &r.basis {
            Some(B::WarningId(id)) => Basis::Warning(id_of(id, "warning_id")?),
            Some(B::ComplaintId(id)) => Basis::Complaint(id_of(id, "complaint_id")?),
            None => {
                return Err(ApiError::invalid(
                    "basis",
                    "is required: the red card's warning_id or the complaint_id",
                )
                .into());
            }
        };
        let measure = measure_in(r.measure, "measure")?;
        let input = DecisionInput {
            person: &r.person,
            measure: measure.map_or("", Measure::as_str),
            decided_on: &r.decided_on,
            grounds: &r.grounds,
        };
        let today = calendar().local_date(self.clock().now());
        let invalid = |bad| ApiError::InvalidFields(FieldViolations::new(bad));
        // Every field is checked before anything is loaded, the date against its grounds after.
        Decision::parse(input, today, NaiveDate::MIN).map_err(invalid)?;
        let loaded = self.load_grounds(basis).await?;
        caller.check(&loaded.target)?;
        let refused = |e: GroundsError| {
            ApiError::FailedPrecondition(
                Refusal::new(e.reason(), e.to_string())
                    .with(basis.kind(), basis.id().to_string())
                    .precondition(
                        if matches!(basis, Basis::Warning(_)) {
                            "WARNING"
                        } else {
                            "COMPLAINT"
                        },
                        basis.id().to_string(),
                    ),
            )
        };
        let earliest = admissible(&loaded.grounds()).map_err(refused)?;
        let department = r.department.trim();
        if !department.is_empty() && department != loaded.department {
            return Err(ApiError::FailedPrecondition(
                Refusal::new(
                    "DEPARTMENT_MISMATCH",
                    format!(
                        "the {basis} is about department {}, not {department}",
                        loaded.department
                    ),
                )
                .with("department", loaded.department.clone()),
            )
            .into());
        }
        let decision = Decision::parse(input, today, earliest).map_err(invalid)?;
        let stored = self
            .store()
            .record_decision(&NewDecision {
                recorded_at: self.clock().now(),
                recorded_by: caller.principal.id.clone(),
                basis_kind: basis.kind().to_owned(),
                basis_id: basis.id(),
                department: loaded.department,
                region: loaded.region,
                office: loaded.office,
                person: decision.person.clone().unwrap_or_default(),
                measure: decision.measure.as_str().to_owned(),
                decided_on: decision.decided_on,
                grounds: decision.grounds.clone(),
            })
            .await
            .map_err(ApiError::from)?;
        let person = decision.person.clone().unwrap_or_default();
        let Some(stored) = stored else {
            // Stored before: its score fact is applied again (it adds nothing when it was
            // applied), so a call that stored the decision but failed before counting it is
            // healed by its retry rather than left uncounted.
            let before = self
                .store()
                .decisions_on(basis.kind(), basis.id())
                .await
                .map_err(ApiError::from)?;
            if let Some(row) = before
                .iter()
                .find(|r| r.person == person && r.measure == decision.measure.as_str())
            {
                self.count_decision(row, decision.measure).await?;
            }
            return Err(ApiError::FailedPrecondition(
                Refusal::new(
                    "ALREADY_RECORDED",
                    format!(
                        "a {} of {} on the {basis} is already in the register",
                        decision.measure,
                        decision.person.as_deref().unwrap_or("the department")
                    ),
                )
                .with(basis.kind(), basis.id().to_string()),
            )
            .into());
        };
        self.count_decision(&stored, decision.measure).await?;
        Ok(stored)
    }

    /// The decision's fact for the scores: one of its measure against its department on the
    /// day it is dated (docs/design.md §4). Its key is the decision's number and a decision
    /// never changes, so applying it again (a retry) adds nothing.
    async fn count_decision(&self, row: &DecisionRow, measure: Measure) -> Result<(), ApiError> {
        let facts = ScoreFacts {
            source: SOURCE.into(),
            key: row.id.to_string(),
            version: 1,
            department: row.department.clone(),
            days: vec![ScoreDay {
                day: row.decided_on,
                counters: Counters::of_decision(measure).to_array(),
            }],
            detail: format!("accountability {} ({measure})", row.id),
        };
        self.store()
            .apply_score_facts(&ScoreBatch {
                facts: &[facts],
                units: &[],
                cursor: None,
                note_late: true,
                at: self.clock().now(),
            })
            .await?;
        Ok(())
    }
}

#[tonic::async_trait]
impl AccountabilityService for Supervision {
    async fn record_accountability(
        &self,
        request: Request<pb::RecordAccountabilityRequest>,
    ) -> Result<Response<pb::RecordAccountabilityResponse>, Status> {
        let caller = Caller::of(&request)?;
        let r = egov_proto::limits::checked(request)?;
        let row = self.record(&caller, r).await?;
        Ok(Response::new(pb::RecordAccountabilityResponse {
            decision: Some(decision_out(&row)),
        }))
    }

    async fn list_accountability(
        &self,
        request: Request<pb::ListAccountabilityRequest>,
    ) -> Result<Response<pb::ListAccountabilityResponse>, Status> {
        let caller = Caller::of(&request)?;
        let mut r = egov_proto::limits::checked(request)?;
        let measures = r
            .measures
            .iter()
            .enumerate()
            .map(|(i, n)| {
                measure_in(*n, &format!("measures[{i}]"))?
                    .map(|m| m.as_str().to_owned())
                    .ok_or_else(|| ApiError::invalid(format!("measures[{i}]"), "is unspecified"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let (from, to) = (day_of(&r.from, "from")?, day_of(&r.to, "to")?);
        caller.narrow(&mut r.department, &mut r.region)?;
        let filter = DecisionFilter {
            region: (!r.region.is_empty()).then(|| r.region.clone()),
            department: (!r.department.is_empty()).then(|| r.department.clone()),
            measures,
            from,
            to,
        };
        let page = Page {
            size: r.page_size,
            token: (!r.page_token.is_empty()).then(|| r.page_token.clone()),
        };
        let (rows, next) = self
            .store()
            .list_decisions(&filter, page)
            .await
            .map_err(ApiError::from)?;
        Ok(Response::new(pb::ListAccountabilityResponse {
            decisions: rows.iter().map(decision_out).collect(),
            next_page_token: next.unwrap_or_default(),
        }))
    }
}
