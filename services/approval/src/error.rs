//! The one place where the approval platform's errors become gRPC statuses (STYLE §4): not
//! found -> NOT_FOUND, bad fields -> INVALID_ARGUMENT naming them, a broken business rule ->
//! FAILED_PRECONDITION, contention -> ABORTED/UNAVAILABLE (retry), anything else is logged and
//! answered as an opaque INTERNAL (never a SQL error's text).

use egov_proto::convert::FieldViolations;
use egov_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    InvalidFields(#[from] FieldViolations),
    #[error("{field}: {reason}")]
    InvalidArgument { field: String, reason: String },
    #[error("{0}")]
    FailedPrecondition(String),
    #[error("{0}")]
    Unavailable(String),
    /// An optimistic change lost a race (ABORTED: reload and retry).
    #[error("{0}")]
    Aborted(String),
    #[error("internal error: {0}")]
    Internal(String),
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
                FieldViolations::new(vec![egov_domain::error::FieldError::new(field, reason)])
                    .into()
            }
            ApiError::FailedPrecondition(m) => tonic::Status::failed_precondition(m),
            ApiError::Unavailable(m) => tonic::Status::unavailable(m),
            ApiError::Aborted(m) => tonic::Status::aborted(m),
            ApiError::Store(StoreError::Busy(_)) => {
                tonic::Status::unavailable("the database is busy; retry shortly")
            }
            ApiError::Store(e @ StoreError::NotFound { .. }) => {
                tonic::Status::not_found(e.to_string())
            }
            ApiError::Store(StoreError::Conflict { case_no }) => tonic::Status::aborted(format!(
                "case {case_no} was changed by another writer; retry"
            )),
            ApiError::Store(StoreError::InvalidPageToken) => {
                tonic::Status::invalid_argument("page_token: is not a token this server issued")
            }
            other => {
                tracing::error!(error = %other, "internal error");
                tonic::Status::internal("internal error; the server log has the details")
            }
        }
    }
}
