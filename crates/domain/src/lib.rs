//! The pure core of egov: calendars and time-limit arithmetic, the case state machine,
//! deadline clocks, and (later) the supervision rules and scores. No I/O lives here: no tokio,
//! sqlx, tonic or prost. Services hand this crate facts and it answers with decisions.
//!
//! Map of the modules:
//! - [`ids`], [`money`], [`error`]: values that validate on creation, and field errors.
//! - [`calendar`]: working-day calendars per jurisdiction, loaded from data.
//! - [`limit`]: time-limit arithmetic (working and calendar days, suspensions, extensions).
//! - [`record`]: the record contract (DESIGN §6) as domain types.
//! - [`matter`]: the matter catalogue.
//! - [`case`]: the case state machine, replayed from records in `occurred_at` order.
//! - [`clock`]: the deadline clocks of a case, their explanations and due instants.
//! - [`warning`]: supervision rules and levels; the deadline rules.

#![forbid(unsafe_code)]

pub mod calendar;
pub mod case;
pub mod clock;
pub mod error;
pub mod ids;
pub mod limit;
pub mod matter;
pub mod money;
pub mod record;
pub mod warning;
