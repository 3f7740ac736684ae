//! The one place where the platforms' errors become gRPC statuses (STYLE §4), for the approval
//! and the supervision platform alike: not found -> NOT_FOUND; bad fields -> INVALID_ARGUMENT
//! naming them, with a `google.rpc.BadRequest` detail listing them; a broken business rule ->
//! FAILED_PRECONDITION; an office acting outside its jurisdiction -> PERMISSION_DENIED;
//! contention -> ABORTED (reload and retry) or UNAVAILABLE (retry shortly), as is a database
//! that cannot be reached (with a `google.rpc.ErrorInfo`: DATABASE_BUSY / DATABASE_UNAVAILABLE);
//! anything else is logged and answered as an opaque INTERNAL (never a SQL error's text).

use egov_domain::error::FieldError;
use egov_proto::convert::FieldViolations;
use egov_store::StoreError;

/// Why a call of either platform failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The addressed case, matter or warning does not exist.
    #[error("{0}")]
    NotFound(String),
    /// Fields of a converted message that are invalid, every one named.
    #[error(transparent)]
    InvalidFields(#[from] FieldViolations),
    /// A request field is missing or holds a value the contract does not know.
    #[error("{field}: {reason}")]
    InvalidArgument { field: String, reason: String },
    /// The request breaks a business rule in the current state (names it).
    #[error("{0}")]
    FailedPrecondition(String),
    /// The acting office may not touch what another office holds.
    #[error("{0}")]
    PermissionDenied(String),
    #[error("{0}")]
    Unavailable(String),
    /// An optimistic change lost a race (ABORTED: reload and retry).
    #[error("{0}")]
    Aborted(String),
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
}

impl From<ApiError> for tonic::Status {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::NotFound(m) => tonic::Status::not_found(m),
            ApiError::InvalidFields(v) => v.into(),
            ApiError::InvalidArgument { field, reason } => {
                FieldViolations::new(vec![FieldError::new(field, reason)]).into()
            }
            ApiError::FailedPrecondition(m) => tonic::Status::failed_precondition(m),
            ApiError::PermissionDenied(m) => tonic::Status::permission_denied(m),
            ApiError::Unavailable(m) => tonic::Status::unavailable(m),
            ApiError::Aborted(m) => tonic::Status::aborted(m),
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
            ApiError::Store(e @ StoreError::NotFound { .. }) => {
                tonic::Status::not_found(e.to_string())
            }
            ApiError::Store(StoreError::Conflict { case_no }) => tonic::Status::aborted(format!(
                "case {case_no} was changed by another writer; retry"
            )),
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
                        "egov",
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
        ErrorDetails::with_error_info(reason, "egov", std::collections::HashMap::new()),
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
