//! The one place where the platforms' errors become gRPC statuses (STYLE §4), for the approval
//! and the supervision platform alike: not found -> NOT_FOUND; bad fields -> INVALID_ARGUMENT
//! naming them, with a `google.rpc.BadRequest` detail listing them; a broken business rule ->
//! FAILED_PRECONDITION; an office acting outside its jurisdiction -> PERMISSION_DENIED;
//! contention -> ABORTED (reload and retry) or UNAVAILABLE (retry shortly), as is a database
//! that cannot be reached; anything else is logged and answered as an opaque INTERNAL (never a
//! SQL error's text).
//!
//! Every status but INVALID_ARGUMENT and INTERNAL carries a `google.rpc.ErrorInfo` (domain
//! `egov`, a stable UPPER_SNAKE reason, metadata such as a warning's current state), so that
//! clients branch on the reason and never on the English message; NOT_FOUND adds a
//! `google.rpc.ResourceInfo` and FAILED_PRECONDITION a `google.rpc.PreconditionFailure`. Every
//! reason is listed in `proto/README.md` ("Errors").

mod size;

pub use size::{SizeLimited, message_too_large};

use egov_domain::error::FieldError;
use egov_proto::convert::FieldViolations;
use egov_store::StoreError;

/// The domain of every `google.rpc.ErrorInfo` egov sends.
pub const DOMAIN: &str = "egov";

/// A refusal the client can act on: the message for people, and for programs a stable reason
/// (UPPER_SNAKE, listed in `proto/README.md`) with metadata, the resource concerned and the
/// precondition that failed, sent as `google.rpc` error details. Boxed: errors stay small.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(Box<Parts>);

#[derive(Debug, Clone, PartialEq, Eq)]
struct Parts {
    /// The `ErrorInfo.reason`.
    reason: String,
    /// The status message, in English.
    message: String,
    /// The `ErrorInfo.metadata` (e.g. `state` of a warning, `case_no`).
    metadata: Vec<(&'static str, String)>,
    /// The resource concerned, as (`ResourceInfo.resource_type`, `resource_name`).
    resource: Option<(&'static str, String)>,
    /// The failed precondition, as (`PreconditionFailure.Violation.type`, `subject`); its
    /// description is the message.
    precondition: Option<(&'static str, String)>,
}

impl Refusal {
    pub fn new(reason: impl Into<String>, message: impl Into<String>) -> Self {
        Refusal(Box::new(Parts {
            reason: reason.into(),
            message: message.into(),
            metadata: Vec::new(),
            resource: None,
            precondition: None,
        }))
    }

    /// Adds `key: value` to the `ErrorInfo` metadata.
    pub fn with(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.0.metadata.push((key, value.into()));
        self
    }

    /// Names the resource concerned (a `ResourceInfo` detail): `kind` is `case`, `warning` ...
    pub fn resource(mut self, kind: &'static str, name: impl Into<String>) -> Self {
        self.0.resource = Some((kind, name.into()));
        self
    }

    /// Names the precondition that failed (a `PreconditionFailure` detail): `kind` is the
    /// violation's type (`STATE`, `JURISDICTION`, ...), `subject` what it is about.
    pub fn precondition(mut self, kind: &'static str, subject: impl Into<String>) -> Self {
        self.0.precondition = Some((kind, subject.into()));
        self
    }

    /// The stable reason code.
    pub fn reason(&self) -> &str {
        &self.0.reason
    }

    /// The status with `code`, this refusal's message and its details.
    pub fn status(self, code: tonic::Code) -> tonic::Status {
        use tonic_types::{ErrorDetails, StatusExt};
        let Parts {
            reason,
            message,
            metadata,
            resource,
            precondition,
        } = *self.0;
        let mut details = ErrorDetails::with_error_info(
            reason,
            DOMAIN,
            metadata
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect::<std::collections::HashMap<_, _>>(),
        );
        if let Some((kind, name)) = resource {
            details.set_resource_info(kind, name, "", message.clone());
        }
        if let Some((kind, subject)) = precondition {
            details.add_precondition_failure_violation(kind, subject, message.clone());
        }
        tonic::Status::with_error_details(code, message, details)
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.message)
    }
}

/// Why a call of either platform failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The addressed case, matter or warning does not exist.
    #[error("{0}")]
    NotFound(Refusal),
    /// Fields of a converted message that are invalid, every one named.
    #[error(transparent)]
    InvalidFields(#[from] FieldViolations),
    /// A request field is missing or holds a value the contract does not know.
    #[error("{field}: {reason}")]
    InvalidArgument { field: String, reason: String },
    /// The request breaks a business rule in the current state (names it).
    #[error("{0}")]
    FailedPrecondition(Refusal),
    /// The acting office may not touch what another office holds.
    #[error("{0}")]
    PermissionDenied(Refusal),
    /// An optimistic change lost a race (ABORTED: reload and retry).
    #[error("{0}")]
    Aborted(Refusal),
    /// Stored data the platform cannot make sense of (a broken invariant, not a request error).
    #[error("internal error: {0}")]
    Internal(String),
    /// A storage call failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ApiError {
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        ApiError::InvalidArgument {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// NOT_FOUND for the `kind` (`case`, `warning` ...) named `name`: reason
    /// `<KIND>_NOT_FOUND`, with a `ResourceInfo`.
    pub fn not_found(kind: &'static str, name: impl Into<String>) -> Self {
        let name = name.into();
        ApiError::NotFound(
            Refusal::new(
                format!("{}_NOT_FOUND", kind.to_uppercase()),
                format!("{kind} {name} not found"),
            )
            .resource(kind, name),
        )
    }

    /// PERMISSION_DENIED for `reason`, with the message `message`.
    pub fn permission_denied(reason: &'static str, message: impl Into<String>) -> Self {
        ApiError::PermissionDenied(Refusal::new(reason, message))
    }
}

impl From<ApiError> for tonic::Status {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::NotFound(r) => r.status(tonic::Code::NotFound),
            ApiError::InvalidFields(v) => v.into(),
            ApiError::InvalidArgument { field, reason } => {
                FieldViolations::new(vec![FieldError::new(field, reason)]).into()
            }
            ApiError::FailedPrecondition(r) => r.status(tonic::Code::FailedPrecondition),
            ApiError::PermissionDenied(r) => r.status(tonic::Code::PermissionDenied),
            ApiError::Aborted(r) => r.status(tonic::Code::Aborted),
            // Busy includes no pooled connection within the acquire timeout, which is also
            // what an outage looks like once the pool has given up on the old connections.
            ApiError::Store(StoreError::Busy(_)) => unavailable(
                "the database is busy or unreachable; retry shortly",
                "DATABASE_BUSY",
            ),
            ApiError::Store(StoreError::Unavailable(e)) => {
                tracing::warn!(error = %e, "database unreachable");
                unavailable(
                    "the database is unreachable; retry shortly",
                    "DATABASE_UNAVAILABLE",
                )
            }
            ApiError::Store(StoreError::NotFound { what, key }) => {
                ApiError::not_found(what, key).into()
            }
            ApiError::Store(StoreError::Conflict { case_no }) => Refusal::new(
                "CONCURRENT_CHANGE",
                format!("case {case_no} was changed by another writer; retry"),
            )
            .with("case_no", case_no)
            .status(tonic::Code::Aborted),
            ApiError::Store(StoreError::InvalidPageToken) => {
                ApiError::invalid("page_token", "is not a token this server issued").into()
            }
            ApiError::Store(StoreError::PageTokenForOtherFilters) => ApiError::invalid(
                "page_token",
                "was issued for other filters; list again from the first page",
            )
            .into(),
            ApiError::Store(e @ StoreError::PositionAhead { .. }) => {
                use tonic_types::{ErrorDetails, StatusExt};
                let message = e.to_string();
                let StoreError::PositionAhead { position, head } = e else {
                    unreachable!()
                };
                tonic::Status::with_error_details(
                    tonic::Code::OutOfRange,
                    message,
                    ErrorDetails::with_error_info(
                        "POSITION_AHEAD_OF_STREAM",
                        DOMAIN,
                        std::collections::HashMap::from([
                            ("position".to_owned(), position),
                            ("head".to_owned(), head),
                        ]),
                    ),
                )
            }
            ApiError::Store(StoreError::Closed) => {
                tonic::Status::unavailable("the platform is shutting down")
            }
            other => {
                tracing::error!(error = %other, "internal error");
                tonic::Status::internal("internal error; the server log has the details")
            }
        }
    }
}

/// How a stream ends when the platform shuts down: UNAVAILABLE (never OK, which a client
/// would take for the end of the data), with `google.rpc.ErrorInfo` SHUTTING_DOWN, so the
/// client reconnects (to another instance, or after the restart) with its last position.
pub fn shutting_down() -> tonic::Status {
    unavailable(
        "the platform is shutting down; reconnect and resume from your last position",
        "SHUTTING_DOWN",
    )
}

/// UNAVAILABLE (retry policies retry it) with a `google.rpc.ErrorInfo` naming why, so that a
/// client can tell an outage from contention without reading the message.
fn unavailable(message: &str, reason: &str) -> tonic::Status {
    use tonic_types::{ErrorDetails, StatusExt};
    tonic::Status::with_error_details(
        tonic::Code::Unavailable,
        message,
        ErrorDetails::with_error_info(reason, DOMAIN, std::collections::HashMap::new()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic_types::StatusExt;

    #[test]
    fn database_outages_answer_unavailable_and_other_database_errors_internal() {
        use egov_store::testing::{pool_timed_out_error, unreachable_error};
        for (error, reason) in [
            (unreachable_error(), "DATABASE_UNAVAILABLE"),
            (pool_timed_out_error(), "DATABASE_BUSY"),
        ] {
            let status = tonic::Status::from(ApiError::Store(error));
            assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
            let details = status.get_error_details();
            let info = details.error_info().expect("an ErrorInfo detail");
            assert_eq!(info.reason, reason);
            assert_eq!(info.domain, "egov");
        }
        let status = tonic::Status::from(ApiError::Store(StoreError::Corrupt("x".into())));
        assert_eq!(status.code(), tonic::Code::Internal, "{status:?}");
    }

    #[test]
    fn a_bad_page_token_names_its_field_in_a_bad_request_detail() {
        let status = tonic::Status::from(ApiError::Store(StoreError::InvalidPageToken));
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        assert_eq!(
            status.message(),
            "invalid field: page_token (is not a token this server issued)"
        );
        let details = status.get_error_details();
        let bad = details.bad_request().expect("a BadRequest detail");
        assert_eq!(bad.field_violations[0].field, "page_token");
    }
}
