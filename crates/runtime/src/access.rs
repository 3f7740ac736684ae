//! The seams between the front hall's pieces (docs/design.md §5): what the TLS acceptor learns
//! of a peer, and how an audited act leaves the authorization layer. Authentication and policy
//! live in their own crate, the audit log's storage in the store; both meet here so that
//! neither depends on the other.

use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, Utc};

/// The subject of a client's verified TLS certificate (mutual TLS), put in each request's
/// extensions by the acceptor, so authentication can map it to a principal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCertificate {
    /// The certificate's subject common name (or, without one, its first DNS name).
    pub subject: String,
}

/// One act for the audit log: a state-changing call (whatever its outcome) or a refused one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// Who: the authenticated principal's id, or "anonymous".
    pub principal: String,
    /// The principal's role ("admin", "supervisor", ...), or "" when unauthenticated.
    pub role: String,
    /// What: the RPC's full method name, e.g. "/egov.supervision.v1.SupervisionService/CloseWarning".
    pub action: String,
    /// On what: the target the call names (a warning id, a case, a hook), "" when none.
    pub target: String,
    /// How it ended: "OK" or the gRPC code's name ("PERMISSION_DENIED", ...).
    pub outcome: String,
    /// The peer's socket address, when known.
    pub peer: Option<String>,
    /// When the call was decided (wall clock).
    pub at: DateTime<Utc>,
}

/// Where audited acts go. The front hall awaits `record` before answering, so an act that
/// changed state is in the log when its caller learns of it.
pub trait AuditSink: Send + Sync + 'static {
    fn record(&self, event: AuditEvent) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}
