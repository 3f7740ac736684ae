//! The scores' messages on the wire (`egov.supervision.v1.ScoresService`): from the domain's
//! counters, ratios and rankings to their protobuf form, and the checks of request fields.

use chrono::{DateTime, Utc};
use egov_domain::ids::{DepartmentCode, RegionCode};
use egov_domain::scores::ranking::ComponentKind;
use egov_domain::scores::{CatalogueStats, Counters, Grade, Period, Ranked, Ratio};
use egov_proto::supervision::v1 as pb;
use egov_store::scores::{ScoreLateRow, ScoreSnapshotRow};
use pbjson_types::Timestamp;

use crate::error::ApiError;
use crate::scores::calendar;

pub(crate) fn ts(t: DateTime<Utc>) -> Option<Timestamp> {
    Some(Timestamp::from(t))
}

/// The period named by `text` (field `field`), or the current year for an empty one.
pub(crate) fn period(text: &str, field: &str, now: DateTime<Utc>) -> Result<Period, ApiError> {
    let text = text.trim();
    if text.is_empty() {
        return Period::year(chrono::Datelike::year(&calendar().local_date(now)))
            .map_err(|e| ApiError::invalid(field, e.reason));
    }
    Period::parse(text).map_err(|e| ApiError::invalid(field, e.reason))
}

/// A region subtree: None for every region.
pub(crate) fn region(text: &str) -> Result<Option<String>, ApiError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    RegionCode::parse(text)
        .map(|r| Some(r.to_string()))
        .map_err(|e| ApiError::invalid("region", e.reason))
}

/// A department code (required).
pub(crate) fn department(text: &str) -> Result<String, ApiError> {
    DepartmentCode::parse(text.trim())
        .map(|d| d.to_string())
        .map_err(|e| ApiError::invalid("department", e.reason))
}

pub(crate) fn ratio(r: Ratio) -> Option<pb::Ratio> {
    Some(pb::Ratio {
        numerator: r.numerator,
        denominator: r.denominator,
        basis_points: r.basis_points().unwrap_or(0),
    })
}

pub(crate) fn catalogue(department: &str, c: &CatalogueStats) -> pb::CatalogueStats {
    pb::CatalogueStats {
        department: department.to_owned(),
        matters: c.matters,
        fee_items: c.fee_items,
        compared_matters: c.ratio_matters,
        average_promised_statutory_ratio: ratio(c.average_ratio()),
        speed_up: ratio(c.speed_up()),
    }
}

pub(crate) fn indicators(department: &str, c: &Counters, cat: &CatalogueStats) -> pb::Indicators {
    pb::Indicators {
        accepted: c.accepted,
        completed: c.completed,
        on_time: c.on_time,
        early: c.early,
        share_cases: c.share_cases,
        share_basis_points_sum: c.share_bp_sum,
        ratings: c.ratings,
        satisfied: c.satisfied,
        bad_reviews: c.bad_reviews,
        reminders: c.reminders,
        yellow_cards: c.yellow_cards,
        red_cards: c.red_cards,
        anomalies: c.anomalies,
        irregular_fees: c.irregular_fees,
        corrected_in_time: c.corrected_in_time,
        fees_fen: c.fees_fen,
        complaints_substantiated: c.complaints_substantiated,
        admonition_talks: c.admonition_talks,
        circulated_criticisms: c.circulated_criticisms,
        efficiency_warnings: c.efficiency_warnings,
        removals_from_post: c.removals_from_post,
        on_time_rate: ratio(c.on_time_rate()),
        early_rate: ratio(c.early_rate()),
        average_used_share: ratio(c.average_used_share()),
        satisfaction_rate: ratio(c.satisfaction_rate()),
        bad_review_rate: ratio(c.bad_review_rate()),
        corrected_in_time_rate: ratio(c.corrected_in_time_rate()),
        catalogue: Some(catalogue(department, cat)),
    }
}

pub(crate) fn department_score(r: &Ranked, late_changes: u64) -> pb::DepartmentScore {
    let u = &r.unit;
    pb::DepartmentScore {
        department: u.department.clone(),
        region: u.region.clone(),
        ranked: r.rank.is_some(),
        rank: r.rank.unwrap_or(0),
        position: r.position.unwrap_or(0),
        score_hundredths: r.card.total.get(),
        score: r.card.total.to_string(),
        bottom_two: r.bottom_two,
        leadership_review: r.leadership_review,
        indicators: Some(indicators(&u.department, &u.counters, &u.catalogue)),
        components: r
            .card
            .components
            .iter()
            .map(|c| pb::ScoreComponent {
                name: c.name.clone(),
                kind: match c.kind {
                    ComponentKind::Weighted => pb::ScoreComponentKind::Weighted,
                    ComponentKind::Deduction => pb::ScoreComponentKind::Deduction,
                    ComponentKind::Bonus => pb::ScoreComponentKind::Bonus,
                }
                .into(),
                points_hundredths: c.points.get(),
            })
            .collect(),
        late_changes,
        grade: grade(r.grade).into(),
    }
}

pub(crate) fn grade(g: Option<Grade>) -> pb::Grade {
    match g {
        None => pb::Grade::Unspecified,
        Some(Grade::Excellent) => pb::Grade::Excellent,
        Some(Grade::Good) => pb::Grade::Good,
        Some(Grade::Pass) => pb::Grade::Pass,
        Some(Grade::Fail) => pb::Grade::Fail,
    }
}

pub(crate) fn period_version(row: &ScoreSnapshotRow) -> pb::PeriodVersion {
    pb::PeriodVersion {
        period: row.period.clone(),
        version: u64::try_from(row.version).unwrap_or(0),
        computed_at: ts(row.computed_at),
        actor: row.actor.clone(),
        reason: row.reason.clone(),
    }
}

pub(crate) fn late_change(row: &ScoreLateRow) -> pb::LateChange {
    pb::LateChange {
        department: row.department.clone(),
        source: row.source.clone(),
        key: row.key.clone(),
        detail: row.detail.clone(),
        noted_at: ts(row.noted_at),
    }
}
