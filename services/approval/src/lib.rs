//! The approval platform (DESIGN §1): the gRPC server that takes in what service-centre
//! systems record about each case, validates it, stores it with the case's projection and due
//! instants in one transaction, and emits the stored records to followers.
//!
//! Map of the modules:
//! - [`server`]: configuration, `build()` (binds) and `run_until(shutdown)`.
//! - [`service`]: the `ApprovalService` RPCs, thin adapters over the modules below.
//! - [`ingest`]: the record pipeline, batch by batch, into one transaction.
//! - [`rule_config`]: the supervision rules' configuration in the database, and applying a
//!   change to the open cases' due instants.
//! - [`jurisdiction`]: the registry of regions and departments.
//! - [`catalogue`]: matters and working-day calendars from the shared database.
//! - [`view`]: case projections and their wire form.
//! - [`error`]: the one mapping from errors to gRPC statuses.

#![forbid(unsafe_code)]

pub mod catalogue;
pub mod error;
pub mod ingest;
pub mod jurisdiction;
pub mod rule_config;
pub mod server;
pub mod service;
pub mod view;

pub use server::{ApprovalServer, BuildError, grpc_service};
pub use service::Approval;
pub mod testing;
