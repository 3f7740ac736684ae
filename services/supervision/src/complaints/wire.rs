//! Complaints on the wire: from stored rows to `egov.supervision.v1.Complaint`, showing the
//! complainant only to a viewer the domain lets see them, and the request enums to the domain's.

use chrono::{DateTime, Utc};
use egov_domain::complaint::{Channel, ComplaintState, SubjectKind, Viewer};
use egov_proto::supervision::v1 as pb;
use egov_store::complaints::{ComplaintEventRow, ComplaintRow};
use pbjson_types::Timestamp;

use crate::error::ApiError;

pub(crate) fn ts(t: DateTime<Utc>) -> Option<Timestamp> {
    Some(Timestamp::from(t))
}

/// A timestamp of a request (field `field`).
pub(crate) fn time(t: &Timestamp, field: &str) -> Result<DateTime<Utc>, ApiError> {
    u32::try_from(t.nanos)
        .ok()
        .and_then(|n| DateTime::from_timestamp(t.seconds, n))
        .ok_or_else(|| ApiError::invalid(field, "is not a valid time"))
}

/// An enum number of a request that the contract does not know: INVALID_ARGUMENT naming the
/// field, never a silent default.
fn known<E: TryFrom<i32>>(n: i32, field: &str) -> Result<E, ApiError> {
    E::try_from(n).map_err(|_| ApiError::invalid(field, format!("{n} is not a known value")))
}

pub(crate) fn channel(n: i32) -> Result<Channel, ApiError> {
    Ok(match known::<pb::ComplaintChannel>(n, "channel")? {
        pb::ComplaintChannel::Unspecified | pb::ComplaintChannel::Online => Channel::Online,
        pb::ComplaintChannel::Phone => Channel::Phone,
        pb::ComplaintChannel::Letter => Channel::Letter,
        pb::ComplaintChannel::Visit => Channel::Visit,
    })
}

fn channel_out(name: &str) -> pb::ComplaintChannel {
    match Channel::parse(name) {
        Some(Channel::Online) => pb::ComplaintChannel::Online,
        Some(Channel::Phone) => pb::ComplaintChannel::Phone,
        Some(Channel::Letter) => pb::ComplaintChannel::Letter,
        Some(Channel::Visit) => pb::ComplaintChannel::Visit,
        None => pb::ComplaintChannel::Unspecified,
    }
}

/// The outcome a close names.
pub(crate) fn outcome(n: i32) -> Result<egov_domain::complaint::Outcome, ApiError> {
    use egov_domain::complaint::Outcome;
    match known::<pb::ComplaintOutcome>(n, "outcome")? {
        pb::ComplaintOutcome::Substantiated => Ok(Outcome::Substantiated),
        pb::ComplaintOutcome::Unsubstantiated => Ok(Outcome::Unsubstantiated),
        pb::ComplaintOutcome::Unspecified => Err(ApiError::invalid("outcome", "is required")),
    }
}

pub(crate) fn subject_kind(n: i32) -> Result<SubjectKind, ApiError> {
    match known::<pb::ComplaintSubject>(n, "subject_kind")? {
        pb::ComplaintSubject::Case => Ok(SubjectKind::Case),
        pb::ComplaintSubject::Department => Ok(SubjectKind::Department),
        pb::ComplaintSubject::Matter => Ok(SubjectKind::Matter),
        pb::ComplaintSubject::Unspecified => Err(ApiError::invalid(
            "subject_kind",
            "is required: a case, a department or a matter",
        )),
    }
}

fn subject_out(name: &str) -> pb::ComplaintSubject {
    match SubjectKind::parse(name) {
        Some(SubjectKind::Case) => pb::ComplaintSubject::Case,
        Some(SubjectKind::Department) => pb::ComplaintSubject::Department,
        Some(SubjectKind::Matter) => pb::ComplaintSubject::Matter,
        None => pb::ComplaintSubject::Unspecified,
    }
}

/// The stored name of the state `states[i]` asked for in a listing.
pub(crate) fn state_name(i: usize, n: i32) -> Result<String, ApiError> {
    let field = format!("states[{i}]");
    let state = match known::<pb::ComplaintState>(n, &field)? {
        pb::ComplaintState::Filed => ComplaintState::Filed,
        pb::ComplaintState::Refused => ComplaintState::Refused,
        pb::ComplaintState::Accepted => ComplaintState::Accepted,
        pb::ComplaintState::Forwarded => ComplaintState::Forwarded,
        pb::ComplaintState::Reported => ComplaintState::Reported,
        pb::ComplaintState::Closed => ComplaintState::Closed,
        pb::ComplaintState::Unspecified => {
            return Err(ApiError::invalid(field, "UNSPECIFIED is not a state"));
        }
    };
    Ok(state.as_str().to_owned())
}

fn state_out(name: &str) -> pb::ComplaintState {
    match ComplaintState::parse(name) {
        Some(ComplaintState::Filed) => pb::ComplaintState::Filed,
        Some(ComplaintState::Refused) => pb::ComplaintState::Refused,
        Some(ComplaintState::Accepted) => pb::ComplaintState::Accepted,
        Some(ComplaintState::Forwarded) => pb::ComplaintState::Forwarded,
        Some(ComplaintState::Reported) => pb::ComplaintState::Reported,
        Some(ComplaintState::Closed) => pb::ComplaintState::Closed,
        None => pb::ComplaintState::Unspecified,
    }
}

fn outcome_out(name: Option<&str>) -> pb::ComplaintOutcome {
    match name {
        Some("substantiated") => pb::ComplaintOutcome::Substantiated,
        Some("unsubstantiated") => pb::ComplaintOutcome::Unsubstantiated,
        _ => pb::ComplaintOutcome::Unspecified,
    }
}

/// The complaint of `row` with its history `events`, as `viewer` may see it: the complainant,
/// who filed it and what they were told only where the domain says the viewer sees the
/// complainant.
pub(crate) fn complaint(
    row: &ComplaintRow,
    events: &[ComplaintEventRow],
    viewer: &Viewer,
) -> pb::Complaint {
    let sees = viewer.sees_complainant(&row.office);
    let complainant = match (&row.complainant_name, &row.complainant_contact, sees) {
        (Some(name), Some(contact), true) => Some(pb::Complainant {
            name: name.clone(),
            contact: contact.clone(),
        }),
        _ => None,
    };
    pb::Complaint {
        id: row.id.to_string(),
        filed_at: ts(row.filed_at),
        channel: channel_out(&row.channel).into(),
        subject_kind: subject_out(&row.subject_kind).into(),
        subject: row.subject.clone(),
        department: row.department.clone(),
        region: row.region.clone(),
        office: row.office.clone(),
        summary: row.summary.clone(),
        anonymous: row.complainant_name.is_none(),
        complainant,
        state: state_out(&row.state).into(),
        acceptance_due_at: ts(row.acceptance_due_at),
        report_due_at: row.report_due_at.and_then(ts),
        outcome: outcome_out(row.outcome.as_deref()).into(),
        feedback_satisfied: row.feedback_satisfied,
        history: events
            .iter()
            .map(|e| pb::ComplaintEvent {
                seq: u64::try_from(e.seq).unwrap_or(0),
                at: ts(e.at),
                // A signed-in complainant's account name would name them.
                actor: if e.action == "file" && !sees {
                    String::new()
                } else {
                    e.actor.clone()
                },
                r#move: e.action.clone(),
                from_state: state_out(&e.from_state).into(),
                to_state: state_out(&e.to_state).into(),
                // The complainant's own words on the outcome are the office's to read.
                note: if e.action == "feedback" && !sees {
                    String::new()
                } else {
                    e.note.clone()
                },
                notice: if sees {
                    e.notice.clone().unwrap_or_default()
                } else {
                    String::new()
                },
            })
            .collect(),
    }
}
