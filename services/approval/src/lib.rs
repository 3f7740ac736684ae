//! The approval platform (docs/design.md §1): the gRPC server that takes in what service-centre
//! systems record about each case, validates it, stores it with the case's projection and due
//! instants in one transaction, and emits the stored records to followers.
//!
//! Map of the modules:
//! - [`grpc_service`]: the tonic service, which the composition root (`crates/platform`)
//!   puts on its port; this crate assembles no server and spawns nothing outside the
//!   [`egov_runtime::tasks::Tasks`] it is given.
//! - [`service`]: the `ApprovalService` RPCs, thin adapters over the modules below.
//! - [`ingest`]: the record pipeline, batch by batch, into one transaction.
//! - [`rule_config`]: the supervision rules' configuration in the database, and applying a
//!   change to the open cases' due instants.
//! - [`recompute`]: re-timing the open cases after a change of the reminder thresholds
//!   (from their stored clock views) or of a calendar (replaying the cases it touches).
//! - [`jurisdiction`]: the registry of regions and departments.
//! - [`catalogue`]: matters and working-day calendars from the shared database.
//! - [`view`]: case projections and their wire form.
//! - [`error`]: the shared mapping from errors to gRPC statuses (`egov_runtime::error`).

#![forbid(unsafe_code)]

pub mod access;
pub mod catalogue;
pub mod error;
pub mod ingest;
pub mod jurisdiction;
pub mod recompute;
pub mod rule_config;
pub mod service;
pub mod testing;
pub mod view;

pub use service::Approval;

use egov_proto::approval::v1::approval_service_server::ApprovalServiceServer;

/// Largest message accepted: a full batch of records with long texts fits comfortably.
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;

/// The tonic service, for the composition root to put on its port.
pub fn grpc_service(
    approval: Approval,
) -> egov_runtime::error::SizeLimited<ApprovalServiceServer<Approval>> {
    egov_runtime::error::SizeLimited(
        ApprovalServiceServer::new(approval)
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES),
    )
}
