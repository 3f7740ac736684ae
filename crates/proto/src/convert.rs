//! Conversions between the wire types of [`crate::approval::v1`] and the domain.
//!
//! Inbound (`TryFrom<proto> for domain`) checks everything a sender can get wrong and reports
//! every bad field at once, each with its dotted path in the contract (`acceptance.handler`,
//! `occurred_at`, `fee.amount_fen`, `fee_items[1].max_fen`), as [`FieldViolations`]. Outbound
//! (`From<&domain> for proto`) cannot fail: the domain only holds valid values.
//!
//! The checks themselves live in the domain (`CaseNo::parse`, `Fen::new`, `Record::validate`,
//! `Matter::validate`); this module only adds what exists on the wire alone: a missing message,
//! an enum left UNSPECIFIED or set to a number no version of the contract knows, an invalid
//! Timestamp. When a typed field fails, a stand-in value takes its place so that the rest of the
//! message can still be checked; a message with any violation is refused as a whole, so a
//! stand-in never leaves this module.

use std::fmt;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use egov_domain::calendar::CalendarId;
use egov_domain::case::CaseState;
use egov_domain::clock::{ClockKind, ClockStatus, DeadlineClock};
use egov_domain::error::FieldError;
use egov_domain::ids::{CaseNo, DepartmentCode, EventId, MatterCode, RegionCode};
use egov_domain::limit::{Limit, LimitUnit};
use egov_domain::matter::{FeeItem, Matter, MatterKind, StepLimit};
use egov_domain::money::Fen;
use egov_domain::record::{
    Application, Channel, IssueMethod, Outcome, RatingLevel, Record, RecordBody, SuspensionKind,
};
use egov_domain::warning::{Level, Rule};
use pbjson_types::Timestamp;
use tonic_types::{ErrorDetails, StatusExt};

use crate::approval::v1 as pb;
use crate::supervision::v1 as spb;

mod matter;
mod record;

/// Every invalid field of one message, each with its dotted path and the reason.
///
/// Returned by the inbound conversions; turned into a gRPC `INVALID_ARGUMENT` status (with
/// `google.rpc.BadRequest` details) by `From<FieldViolations> for tonic::Status`, or into the
/// per-item error of a batch answer by [`FieldViolations::to_record_error`] and
/// [`FieldViolations::to_proto`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct FieldViolations(Vec<FieldError>);

impl FieldViolations {
    /// Wraps a list of field errors (the domain's own, or built here).
    pub fn new(errors: Vec<FieldError>) -> Self {
        Self(errors)
    }

    /// The violations, in the order they were found.
    pub fn violations(&self) -> &[FieldError] {
        &self.0
    }

    /// The violations, by value.
    pub fn into_inner(self) -> Vec<FieldError> {
        self.0
    }

    /// The dotted paths of the violations, in order; handy in tests and log lines.
    pub fn fields(&self) -> Vec<&str> {
        self.0.iter().map(|e| e.field.as_str()).collect()
    }

    /// The same violations seen from an enclosing message: `acceptance.handler` becomes
    /// `records[3].acceptance.handler` for `parent = "records[3]"`.
    pub fn within(self, parent: &str) -> Self {
        Self(self.0.into_iter().map(|e| e.within(parent)).collect())
    }

    /// The violations as the wire's `FieldViolation` messages (e.g. for `MatterResult`): at
    /// most [`MAX_REPORTED`](crate::limits::MAX_REPORTED), so an error stays small.
    pub fn to_proto(&self) -> Vec<pb::FieldViolation> {
        self.reported()
            .iter()
            .map(|e| pb::FieldViolation {
                field: e.field.clone(),
                reason: e.reason.clone(),
            })
            .collect()
    }

    /// The violations an error lists (the first [`crate::limits::MAX_REPORTED`]).
    fn reported(&self) -> &[FieldError] {
        &self.0[..self.0.len().min(crate::limits::MAX_REPORTED)]
    }

    /// The error of a REJECTED `RecordResult`: code INVALID_ARGUMENT, this error's message, the
    /// first field, and every violation.
    pub fn to_record_error(&self) -> pb::RecordError {
        pb::RecordError {
            code: tonic::Code::InvalidArgument as i32,
            message: self.to_string(),
            field: self.0.first().map(|e| e.field.clone()).unwrap_or_default(),
            field_violations: self.to_proto(),
            reason: "INVALID_FIELDS".to_owned(),
        }
    }
}

impl fmt::Display for FieldViolations {
    /// `invalid fields: acceptance.handler (is required); occurred_at (is required)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.reported() {
            [] => f.write_str("invalid fields"),
            [one] => write!(f, "invalid field: {} ({})", one.field, one.reason),
            many => {
                f.write_str("invalid fields: ")?;
                for (i, e) in many.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    write!(f, "{} ({})", e.field, e.reason)?;
                }
                match self.0.len() - many.len() {
                    0 => Ok(()),
                    more => write!(f, "; and {more} more"),
                }
            }
        }
    }
}

impl From<FieldViolations> for tonic::Status {
    /// INVALID_ARGUMENT naming every field in the message, with a `google.rpc.BadRequest`
    /// detail listing them for clients that read details.
    fn from(v: FieldViolations) -> Self {
        let details = ErrorDetails::with_bad_request(
            v.reported()
                .iter()
                .map(|e| tonic_types::FieldViolation::new(e.field.clone(), e.reason.clone()))
                .collect::<Vec<_>>(),
        );
        tonic::Status::with_error_details(tonic::Code::InvalidArgument, v.to_string(), details)
    }
}

/// Collects violations while one message is converted.
#[derive(Debug, Default)]
struct Violations(Vec<FieldError>);

impl Violations {
    /// Starts with what [`crate::limits`] finds in `message` (a NUL, an over-long text, a list
    /// over its bound), so those fields are reported once, by their bound.
    fn bounds<T: crate::limits::Bounded>(message: &T) -> Self {
        Self(
            crate::limits::check(message)
                .err()
                .map(FieldViolations::into_inner)
                .unwrap_or_default(),
        )
    }

    /// The value of a checked field, or, when it is invalid, records why (unless that field
    /// was reported already) and returns `stand_in` so the rest of the message can still be
    /// checked.
    fn check<T>(&mut self, result: Result<T, FieldError>, stand_in: impl FnOnce() -> T) -> T {
        result.unwrap_or_else(|e| {
            if !self.overlaps(&e.field) {
                self.0.push(e);
            }
            stand_in()
        })
    }

    /// Whether a violation was found at `path`, above it or below it.
    fn overlaps(&self, path: &str) -> bool {
        self.0
            .iter()
            .any(|e| is_within(&e.field, path) || is_within(path, &e.field))
    }

    fn push(&mut self, field: impl Into<String>, reason: impl Into<String>) {
        self.0.push(FieldError::new(field, reason));
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether a violation was already found at `path` or below it.
    fn covers(&self, path: &str) -> bool {
        self.0.iter().any(|e| is_within(&e.field, path))
    }

    /// Adds what the domain's own checks found, except at a path already reported (or above or
    /// below one): there it would repeat the report, or describe a stand-in.
    fn extend_from_domain(&mut self, found: Vec<FieldError>) {
        let new: Vec<FieldError> = found
            .into_iter()
            .filter(|f| !self.overlaps(&f.field))
            .collect();
        self.0.extend(new);
    }
}

/// Whether `field` is `path` or a field below it (`fee_items[0].max_fen` is below `fee_items`).
fn is_within(field: &str, path: &str) -> bool {
    field
        .strip_prefix(path)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.') || rest.starts_with('['))
}

/// Stand-ins for identifiers that failed to parse. Parsing a constant that satisfies every rule
/// cannot fail; the value never leaves this module (see the module comment).
fn stand_in<T, E: fmt::Debug>(parsed: Result<T, E>) -> T {
    parsed.expect("stand-in identifiers are valid by construction")
}

// ---------------------------------------------------------------------------------------------
// Scalars shared by several messages.

/// A required instant. Accepts exactly the canonical Timestamp range (years 1 to 9999, nanos
/// 0..1e9), which is also what the JSON mapping can print.
fn instant(ts: Option<Timestamp>, field: &str) -> Result<DateTime<Utc>, FieldError> {
    let ts = ts.ok_or_else(|| FieldError::new(field, "is required"))?;
    let invalid = || {
        FieldError::new(
            field,
            format!(
                "is not a valid instant (seconds {}, nanos {}): years 1 to 9999 only",
                ts.seconds, ts.nanos
            ),
        )
    };
    let nanos = u32::try_from(ts.nanos)
        .ok()
        .filter(|n| *n < 1_000_000_000)
        .ok_or_else(invalid)?;
    DateTime::from_timestamp(ts.seconds, nanos)
        .filter(|t| (1..=9999).contains(&t.year()))
        .ok_or_else(invalid)
}

/// An optional instant: absent is fine, present must be valid.
fn optional_instant(
    ts: Option<Timestamp>,
    field: &str,
) -> Result<Option<DateTime<Utc>>, FieldError> {
    ts.map(|t| instant(Some(t), field)).transpose()
}

fn timestamp(t: DateTime<Utc>) -> Option<Timestamp> {
    Some(Timestamp::from(t))
}

/// The reason for an enum number that no version of the contract defines.
fn unknown_value(value: i32) -> String {
    format!("{value} is not a known value")
}

fn channel(value: i32, field: &str) -> Result<Channel, FieldError> {
    match pb::Channel::try_from(value) {
        Ok(pb::Channel::Window) => Ok(Channel::Window),
        Ok(pb::Channel::Online) => Ok(Channel::Online),
        Ok(pb::Channel::Mail) => Ok(Channel::Mail),
        Ok(pb::Channel::Unspecified) => Err(FieldError::new(field, "is required")),
        Err(_) => Err(FieldError::new(field, unknown_value(value))),
    }
}

fn channel_to_proto(c: Channel) -> pb::Channel {
    match c {
        Channel::Window => pb::Channel::Window,
        Channel::Online => pb::Channel::Online,
        Channel::Mail => pb::Channel::Mail,
    }
}

/// A rating's channel is optional: UNSPECIFIED means the sender did not say.
fn rating_channel(value: i32, field: &str) -> Result<Option<Channel>, FieldError> {
    match pb::Channel::try_from(value) {
        Ok(pb::Channel::Unspecified) => Ok(None),
        _ => channel(value, field).map(Some),
    }
}

/// UNSPECIFIED means "no kind given": stored and flagged by the rules, not refused.
fn suspension_kind(value: i32, field: &str) -> Result<Option<SuspensionKind>, FieldError> {
    use pb::SuspensionKind as P;
    match P::try_from(value) {
        Ok(P::Unspecified) => Ok(None),
        Ok(P::Hearing) => Ok(Some(SuspensionKind::Hearing)),
        Ok(P::Tendering) => Ok(Some(SuspensionKind::Tendering)),
        Ok(P::Auction) => Ok(Some(SuspensionKind::Auction)),
        Ok(P::Testing) => Ok(Some(SuspensionKind::Testing)),
        Ok(P::Quarantine) => Ok(Some(SuspensionKind::Quarantine)),
        Ok(P::Appraisal) => Ok(Some(SuspensionKind::Appraisal)),
        Ok(P::ExpertReview) => Ok(Some(SuspensionKind::ExpertReview)),
        Ok(P::Other) => Ok(Some(SuspensionKind::Other)),
        Err(_) => Err(FieldError::new(field, unknown_value(value))),
    }
}

pub fn suspension_kind_to_proto(kind: Option<SuspensionKind>) -> pb::SuspensionKind {
    use pb::SuspensionKind as P;
    match kind {
        None => P::Unspecified,
        Some(SuspensionKind::Hearing) => P::Hearing,
        Some(SuspensionKind::Tendering) => P::Tendering,
        Some(SuspensionKind::Auction) => P::Auction,
        Some(SuspensionKind::Testing) => P::Testing,
        Some(SuspensionKind::Quarantine) => P::Quarantine,
        Some(SuspensionKind::Appraisal) => P::Appraisal,
        Some(SuspensionKind::ExpertReview) => P::ExpertReview,
        Some(SuspensionKind::Other) => P::Other,
    }
}

fn outcome(value: i32, field: &str) -> Result<Outcome, FieldError> {
    match pb::DecisionOutcome::try_from(value) {
        Ok(pb::DecisionOutcome::Approved) => Ok(Outcome::Approved),
        Ok(pb::DecisionOutcome::Denied) => Ok(Outcome::Denied),
        Ok(pb::DecisionOutcome::Unspecified) => Err(FieldError::new(field, "is required")),
        Err(_) => Err(FieldError::new(field, unknown_value(value))),
    }
}

fn outcome_to_proto(o: Outcome) -> pb::DecisionOutcome {
    match o {
        Outcome::Approved => pb::DecisionOutcome::Approved,
        Outcome::Denied => pb::DecisionOutcome::Denied,
    }
}

fn issue_method(value: i32, field: &str) -> Result<IssueMethod, FieldError> {
    use pb::CertificateMethod as P;
    match P::try_from(value) {
        Ok(P::InPerson) => Ok(IssueMethod::InPerson),
        Ok(P::Mail) => Ok(IssueMethod::Mail),
        Ok(P::Electronic) => Ok(IssueMethod::Electronic),
        Ok(P::Unspecified) => Err(FieldError::new(field, "is required")),
        Err(_) => Err(FieldError::new(field, unknown_value(value))),
    }
}

fn issue_method_to_proto(m: IssueMethod) -> pb::CertificateMethod {
    match m {
        IssueMethod::InPerson => pb::CertificateMethod::InPerson,
        IssueMethod::Mail => pb::CertificateMethod::Mail,
        IssueMethod::Electronic => pb::CertificateMethod::Electronic,
    }
}

// ---------------------------------------------------------------------------------------------
// Cases and clocks (outbound only: the platform computes them, nobody sends them).

impl From<CaseState> for pb::CaseState {
    fn from(s: CaseState) -> Self {
        match s {
            CaseState::Received => pb::CaseState::Received,
            CaseState::AwaitingCorrection => pb::CaseState::AwaitingCorrection,
            CaseState::Accepted => pb::CaseState::Accepted,
            CaseState::Suspended => pb::CaseState::Suspended,
            CaseState::Decided(_) => pb::CaseState::Decided,
            CaseState::Completed => pb::CaseState::Completed,
            CaseState::Refused => pb::CaseState::Refused,
            CaseState::Withdrawn => pb::CaseState::Withdrawn,
        }
    }
}

impl From<NaiveDate> for pb::Date {
    fn from(d: NaiveDate) -> Self {
        pb::Date {
            year: d.year(),
            // Month and day are at most 31, so the casts are lossless.
            month: d.month() as i32,
            day: d.day() as i32,
        }
    }
}

impl TryFrom<pb::Date> for NaiveDate {
    type Error = FieldError;

    /// Paths are relative to the date: an invalid date is reported at the date itself.
    fn try_from(d: pb::Date) -> Result<Self, FieldError> {
        u32::try_from(d.month)
            .ok()
            .zip(u32::try_from(d.day).ok())
            .and_then(|(m, day)| NaiveDate::from_ymd_opt(d.year, m, day))
            .filter(|n| (1..=9999).contains(&n.year()))
            .ok_or_else(|| {
                FieldError::new(
                    "",
                    format!("{}-{}-{} is not a calendar date", d.year, d.month, d.day),
                )
            })
    }
}

fn clock_kind_to_proto(kind: ClockKind) -> pb::DeadlineClockKind {
    match kind {
        ClockKind::Acceptance => pb::DeadlineClockKind::Acceptance,
        ClockKind::Promised => pb::DeadlineClockKind::Promised,
        ClockKind::Statutory => pb::DeadlineClockKind::Statutory,
        ClockKind::Immediate => pb::DeadlineClockKind::Immediate,
        ClockKind::Certificate => pb::DeadlineClockKind::Certificate,
        ClockKind::Step => pb::DeadlineClockKind::Step,
    }
}

impl From<ClockKind> for pb::DeadlineClockKind {
    fn from(kind: ClockKind) -> Self {
        clock_kind_to_proto(kind)
    }
}

/// A clock as the wire shows it at `now`: a running or paused clock past its due instant is
/// OVERDUE (the domain's clocks have no notion of now, see [`DeadlineClock::is_overdue`]).
pub fn clock_to_proto(clock: &DeadlineClock, now: DateTime<Utc>) -> pb::DeadlineClock {
    let (status, stopped_at) = match clock.status {
        ClockStatus::Stopped { at, on_time: true } => {
            (pb::DeadlineClockStatus::StoppedOnTime, Some(at))
        }
        ClockStatus::Stopped { at, on_time: false } => {
            (pb::DeadlineClockStatus::StoppedLate, Some(at))
        }
        ClockStatus::Running | ClockStatus::Paused if clock.is_overdue(now) => {
            (pb::DeadlineClockStatus::Overdue, None)
        }
        ClockStatus::Running => (pb::DeadlineClockStatus::Running, None),
        ClockStatus::Paused => (pb::DeadlineClockStatus::Paused, None),
    };
    pb::DeadlineClock {
        kind: clock_kind_to_proto(clock.kind).into(),
        step: clock.step.clone().unwrap_or_default(),
        started_at: timestamp(clock.started_at),
        limit: Some(clock.limit.into()),
        due_at: timestamp(clock.deadline.due_at),
        last_day: Some(clock.deadline.last_day.into()),
        status: status.into(),
        stopped_at: stopped_at.map(Timestamp::from),
        suspended_days: clock.deadline.suspended,
        extension_days: clock.extension,
        provisional: clock.deadline.provisional,
        explanation: clock.deadline.explanation.clone(),
        count: None,
    }
}

impl From<Rule> for spb::WarningRule {
    fn from(rule: Rule) -> Self {
        use spb::WarningRule as W;
        match rule {
            Rule::ApproachingDeadline => W::ApproachingDeadline,
            Rule::PromisedLimitPassed => W::PromisedLimitPassed,
            Rule::StatutoryLimitPassed => W::StatutoryLimitPassed,
            Rule::AcceptanceOverdue => W::AcceptanceOverdue,
            Rule::StepOverdue => W::StepOverdue,
            Rule::RepeatedCorrection => W::RepeatedCorrection,
            Rule::MissingReasons => W::MissingReasons,
            Rule::SuspensionAbuse => W::SuspensionAbuse,
            Rule::ExtensionAbuse => W::ExtensionAbuse,
            Rule::IrregularFee => W::IrregularFee,
            Rule::ProcedureAnomaly => W::ProcedureAnomaly,
            Rule::CertificateOverdue => W::CertificateOverdue,
            Rule::Integrity => W::Integrity,
            Rule::ComplaintOverdue => W::ComplaintOverdue,
        }
    }
}

impl From<Level> for spb::WarningLevel {
    fn from(level: Level) -> Self {
        match level {
            Level::Reminder => spb::WarningLevel::Reminder,
            Level::YellowCard => spb::WarningLevel::YellowCard,
            Level::RedCard => spb::WarningLevel::RedCard,
        }
    }
}

#[cfg(test)]
mod tests;
