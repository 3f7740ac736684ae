//! What the `egov` binary's process-level suites share.

pub mod admin_cli;
pub mod processes;
