//! The supervision platform (docs/design.md §1, §3, §5): follows what the approval platform stores
//! in the shared database and raises deadline warnings the moment they are due, then serves them to
//! supervisors over gRPC (`egov.supervision.v1`).
//!
//! Map of the modules:
//! - [`grpc_service`]: the tonic service, which the composition root (`crates/platform`) puts
//!   on its port with the scores service; the root also starts the workers and drains them.
//! - [`service`]: [`Supervision`], the state shared by RPCs and workers, and the
//!   `SupervisionService` RPCs (stream, list, get).
//! - [`workers`]: starting (in the platform's tracked tasks), keeping alive and observing the
//!   background workers:
//!   - `scheduler`: the due loop, which sleeps until the next due instant and fires it;
//!   - `follower`: the log follower (cursor `supervision.log`), which raises warnings for
//!     clocks that stopped late;
//!   - the webhook deliverer and the scores follower (below).
//! - [`corrections`]: the correction workflow: transitions (RPCs and rules) and the pass the due
//!   loop runs to stamp cards with their correction due and fire the dues passed unanswered.
//! - [`raise`]: from a due instant or a late clock and the case's row to the warning stored.
//! - [`wire`]: warnings and request filters on the wire.
//! - the followers run in the one follow loop, `egov_runtime::follow`, woken by one store
//!   subscription per channel (`egov_runtime::pulse`) shared by the workers and the streams.
//! - [`error`]: the shared mapping from errors to gRPC statuses (`egov_runtime::error`).
//! - [`webhooks`]: warnings POSTed, signed, to registered HTTP receivers (SMS or e-mail
//!   gateways) through an outbox: the registry's RPCs, the deliverer (a worker that
//!   follows the warning stream by cursor `supervision.webhooks` and sends, retrying with
//!   backoff), and the signature receivers check.
//! - [`integrity`]: the integrity worker, which re-verifies the hash chains of the record log
//!   and the audit log (cursors `integrity.log`, `integrity.audit`, and a sweep at start and
//!   daily) and raises an `integrity` warning when a link breaks (docs/design.md §9).
//! - [`scores`]: performance scores (docs/design.md §4): the scores follower (a worker keeping the
//!   daily rollups up to date by cursors `scores.log` and `scores.warnings`), periods closed
//!   and recomputed, and the `ScoresService` RPCs.
//! - [`complaints`]: the `ComplaintsService` RPCs (docs/design.md §3.3) and the complaints' due
//!   pass, which the due loop runs to raise their reminders and cards.
//! - [`accountability`]: the `AccountabilityService` RPCs (docs/design.md §3.4): decisions for
//!   red cards and substantiated complaints, the register, and their facts in the scores.
//!
//! Architecture invariants (docs/design.md §7), each tested against both databases in `tests/`:
//! - one warning per (case, rule, level), however often an instance restarts, however many
//!   instances run: firing deletes only instants still stored unchanged, and the store
//!   refuses a second warning of the same key;
//! - the follower never loses a batch nor does one twice across restarts: its warnings and
//!   its cursor are written in one transaction;
//! - time is the injected clock's: the due loop wakes when the clock reaches the next due
//!   instant or a commit may bring an earlier one, not on a fixed scan (a slow wall-clock poll
//!   only covers wake-ups that cannot be notified).

#![forbid(unsafe_code)]

pub mod accountability;
pub mod complaints;
pub mod corrections;
pub mod error;
mod follower;
pub mod integrity;
pub mod raise;
mod scheduler;
pub mod scores;
pub mod service;
pub mod webhooks;
pub mod wire;
mod withdraw;
pub mod workers;

pub use service::Supervision;
pub use workers::{SupervisionOptions, WorkerStats};

use egov_proto::supervision::v1::supervision_service_server::SupervisionServiceServer;

/// Largest message accepted or sent: a full page of warnings with long explanations fits.
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;

/// The tonic service, for the composition root to put on its port (with
/// [`scores::service::grpc_service`]; the workers are started by
/// [`Supervision::spawn_workers`]).
pub fn grpc_service(
    supervision: Supervision,
) -> egov_runtime::error::SizeLimited<SupervisionServiceServer<Supervision>> {
    egov_runtime::error::SizeLimited(
        SupervisionServiceServer::new(supervision)
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES),
    )
}
