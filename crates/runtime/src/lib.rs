//! What every egov service runs on: the injected [`clock`] (docs/design.md §5: tests and the
//! simulator move time), the [`shutdown`] signal that streams and workers watch, the tracked
//! set of [`tasks`] that shutdown drains, the one [`error`] table from errors to gRPC
//! statuses, and the one [`follow`] loop every follower of a cursor runs in, woken by a
//! [`pulse`] of store notifications, the names of the [`metrics`] the services record, and the
//! [`trace`] context carried from an ingest to the warnings it causes.
//! Binding and serving belong to the composition root, `crates/platform`.

#![forbid(unsafe_code)]

pub mod access;
pub mod clock;
pub mod error;
pub mod follow;
pub mod metrics;
pub mod pulse;
pub mod shutdown;
pub mod tasks;
pub mod trace;
