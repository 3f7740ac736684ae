//! The pure core of egov: calendars and time-limit arithmetic, the case state machine,
//! deadline clocks, the supervision rules and their configuration, and performance scores. No
//! I/O lives here: no tokio, sqlx, tonic or prost. Services hand this crate facts and it
//! answers with decisions.
//!
//! Map of the modules:
//! - [`ids`], [`money`], [`error`]: values that validate on creation, and field errors.
//! - [`calendar`]: working-day calendars per jurisdiction, loaded from data.
//! - [`local`]: how a person reads an instant (local time, one format).
//! - [`limit`]: time-limit arithmetic (working and calendar days, suspensions, extensions).
//! - [`record`]: the record contract (docs/design.md §6) as domain types.
//! - [`matter`]: the matter catalogue.
//! - [`case`]: the case state machine, replayed from records in `occurred_at` order.
//! - [`clock`]: the deadline clocks of a case, their explanations and due instants.
//! - [`warning`]: what a warning is: its rule, level and draft.
//! - [`workflow`]: the correction workflow of a warning (raised -> acknowledged -> answered ->
//!   closed, or escalated), one typed error per refused move.
//! - [`jurisdiction`]: the region tree, departments, and the supervision office one level up.
//! - [`rules`]: every supervision rule of docs/design.md §3, one module each citing its source; the
//!   entry points for records ([`rules::on_record`], [`rules::on_refused`]) and due instants
//!   ([`rules::due_instants`], [`rules::on_due`]); thresholds and levels as configuration.
//! - [`complaint`]: complaints from the public, their workflow, clocks and who sees the
//!   complainant.
//! - [`accountability`]: accountability decisions for a red card or a substantiated complaint,
//!   their measures and the grounds that admit one.
//! - [`scores`]: performance scores (docs/design.md §4): per-day counters of cases and warnings,
//!   periods, indicators, the composite score and rankings with their flags.

#![forbid(unsafe_code)]

pub mod accountability;
pub mod calendar;
pub mod case;
pub mod clock;
pub mod complaint;
pub mod error;
pub mod ids;
pub mod jurisdiction;
pub mod limit;
pub mod local;
pub mod matter;
pub mod money;
pub mod record;
pub mod rules;
pub mod scores;
pub mod warning;
pub mod workflow;
