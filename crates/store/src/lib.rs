//! egov-store: the comprehensive database (docs/design.md §5), the only crate that knows SQL. One
//! API, [`Store`], over PostgreSQL (production) and a SQLite file in WAL mode (the embedded
//! default), each backend with its own migrations (`migrations/postgres`, `migrations/sqlite`). It
//! stores rows whose semantic content is the services' JSON and does not depend on the domain
//! crate.
//!
//! Map of the modules:
//! - [`store`]: [`Store`] itself: connecting and migrating, and every query, written once for
//!   both backends.
//! - `dialect`: the crate-private trait for what differs per backend, implemented in `pg`
//!   (`UNNEST` batches, LISTEN/NOTIFY, commit-ordered streams by transaction id) and
//!   `sqlite` (`BEGIN IMMEDIATE`, chunked multi-row `VALUES`).
//! - [`model`]: the rows read and written (cases, records, matters, calendars, due instants,
//!   warnings, filters, pages).
//! - [`position`]: [`LogPosition`] and [`WarningPosition`], the resumable positions of the two
//!   streams, and page tokens.
//! - [`jurisdiction`]: the registry of regions and departments.
//! - [`chain`]: the hash chain over each case's records and its verification.
//! - [`audit`]: the audit log (who did what), append-only and hash-chained in one chain,
//!   and its verification.
//! - [`notify`]: [`Notifications`], the wake-up on commit.
//! - `rows`: raw rows as the databases return them, and write-side normalisation
//!   (microsecond timestamps, compact JSON text).
//! - [`error`]: [`StoreError`], one variant per cause, and the classification of sqlx errors.
//! - [`webhooks`]: the registry of webhooks and their outbox of deliveries.
//! - [`scores`]: performance scores: per-day facts of cases and warnings, their daily
//!   rollups, snapshots of closed periods and late changes.
//! - [`accountability`]: the accountability register: decisions for red cards and
//!   substantiated complaints.
//! - [`complaints`]: complaints from the public, their moves and their next due instant.
//! - [`testing`]: fresh databases for tests of this and other crates.
//!
//! Architecture invariants (docs/design.md §7), each tested against both backends in
//! `tests/storage.rs`:
//! - a record is stored once: a known `event_id` makes a commit fail with nothing written;
//! - the log is append-only (triggers refuse UPDATE and DELETE) and hash-chained per case, so
//!   tampering past the triggers is found by [`Store::verify_chain`];
//! - [`Store::read_log`] and [`Store::read_warnings`] never skip a row, even when
//!   transactions commit out of sequence order; [`Store::list_warnings`] shows the warning
//!   stream's view (same rows, same order, positions as page tokens);
//! - one warning per (case, rule, level), however often it is raised;
//! - a warning's state changes ([`Store::transition_warning`]) are optimistic on the state
//!   read, recorded in its history, and move it to the end of the warning stream (stream
//!   order is `(tx, pos)`, renewed by each change), so a stream never misses one.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod accountability;
pub mod audit;
pub mod chain;
pub mod complaints;
pub mod credentials;
mod dialect;
pub mod error;
pub mod jurisdiction;
pub mod model;
pub mod notify;
mod pg;
pub mod position;
mod rows;
pub mod scores;
mod sqlite;
pub mod store;
pub mod testing;
pub mod url;
pub mod webhooks;

pub use audit::{AuditBreak, AuditBreakKind, AuditFilter, AuditRow, NewAudit};
pub use chain::{ChainBreak, ChainBreakKind, ChainReport};
pub use error::{Result, StoreError};
pub use jurisdiction::{DepartmentRow, RegionRow};
pub use model::{
    Backend, CalendarDayRow, CalendarRow, CaseFilter, CaseRow, CaseSnapshot, CaseWrite, DueInstant,
    DueReplacement, Firing, LogEntry, MatterRow, MatterVersion, NewRecord, NewWarning, Page,
    Reassignment, StoredRecord, UpsertOutcome, WarningFilter, WarningRow, WarningTransitionRow,
};
pub use notify::Notifications;
pub use position::{LogPosition, ParsePositionError, WarningPosition};
pub use store::{PoolUse, Store, StoreOptions};
pub use url::{Password, redact_url};
pub use webhooks::{
    DELIVERIES_CURSOR, DeliveryCounts, DeliveryOutcome, DeliveryRow, EVENT_RAISED, EVENT_WITHDRAWN,
    NewWebhook, WebhookRow,
};
