//! The platform's errors are the shared table's: see [`egov_runtime::error`], the one place
//! where errors of either platform become gRPC statuses.

pub use egov_runtime::error::{ApiError, Refusal};
