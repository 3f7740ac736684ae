//! What the `egov` binary's process-level suites share.

pub mod processes;
