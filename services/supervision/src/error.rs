//! The one place where the supervision platform's errors become gRPC statuses (STYLE §4): not
//! found -> NOT_FOUND, bad fields -> INVALID_ARGUMENT naming them, contention -> UNAVAILABLE
//! (retry), anything else is logged and answered as an opaque INTERNAL (never a SQL error's
//! text).

use egov_domain::error::FieldError;
use egov_proto::convert::FieldViolations;
use egov_store::StoreError;

/// Why a supervision call failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The addressed warning does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The warning is not in a state the requested transition leaves from (names it).
    #[error("{0}")]
    FailedPrecondition(String),
    /// The acting office may not touch a warning held by another office.
    #[error("{0}")]
    PermissionDenied(String),
    /// The warning kept changing under a transition; retry.
    #[error("{0}")]
    Aborted(String),
    /// A request field is missing or holds a value the contract does not know.
    #[error("{field}: {reason}")]
    InvalidArgument { field: String, reason: String },
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
            ApiError::FailedPrecondition(m) => tonic::Status::failed_precondition(m),
            ApiError::Aborted(m) => tonic::Status::aborted(m),
            ApiError::PermissionDenied(m) => tonic::Status::permission_denied(m),
            // The same shape as the approval platform's field errors: the message names the
            // field, and a `google.rpc.BadRequest` detail lists it for clients that read details.
            ApiError::InvalidArgument { field, reason } => {
                FieldViolations::new(vec![FieldError::new(field, reason)]).into()
            }
            ApiError::Store(StoreError::Busy(_)) => {
                tonic::Status::unavailable("the database is busy; retry shortly")
            }
            ApiError::Store(StoreError::InvalidPageToken) => {
                FieldViolations::new(vec![FieldError::new(
                    "page_token",
                    "is not a token this server issued",
                )])
                .into()
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
