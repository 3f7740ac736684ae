//! What every egov service runs on: the injected [`clock`] (DESIGN §5: tests and the
//! simulator move time), the [`shutdown`] signal that streams and workers watch, and the
//! [`serve`] kit that binds a gRPC listener and serves it until shutdown, with a grace period.

#![forbid(unsafe_code)]

pub mod clock;
pub mod serve;
pub mod shutdown;
