//! Trust (issue 12, docs/design.md "Trust"): who is calling and what they may do, for every
//! RPC of both platforms. The composition root (`crates/platform`) builds one [`Trust`] and
//! wraps its whole router in [`Trust::layer`]; the services ask the [`Caller`] the layer puts
//! in each request about the targets they load.
//!
//! - [`credential`]: bearer tokens, shown once, stored as their SHA-256, with expiry and
//!   revocation (`egov tokens create|list|revoke`);
//! - [`policy`]: the Cedar policy (`deploy/policy.cedar`), the one decision point, the region
//!   tree as its scope hierarchy, deny by default;
//! - [`accounts`]: local accounts (argon2id password hashes) and `SignIn`, their exchange
//!   for a short-lived session token;
//! - [`jwt`]: people's JWTs from the city's identity provider (issuer, audience, JWKS);
//! - [`limits`]: calls and streams per credential;
//! - [`hall`]: the layer that authenticates, limits, authorizes and audits every call.
//!
//! [`Caller`]: egov_runtime::access::Caller

#![forbid(unsafe_code)]

pub mod accounts;
pub mod credential;
pub mod hall;
pub mod jwt;
pub mod limits;
pub mod policy;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use egov_runtime::access::{AuditEvent, AuditSink, Principal};
use egov_store::Store;

pub use crate::credential::{Issued, hash_token, issue};
pub use crate::hall::HallLayer;
pub use crate::jwt::JwtSettings;
pub use crate::limits::Limits;
pub use crate::policy::{Policy, PolicyError};

/// How the front hall is set up.
#[derive(Clone)]
pub struct TrustSettings {
    /// The text of a city's own policy; None for the built-in one (`deploy/policy.cedar`).
    pub policy: Option<String>,
    /// What each credential may ask.
    pub limits: Limits,
    /// Mutual TLS: the principal of each client certificate subject the acceptor verified.
    pub certificates: HashMap<String, Principal>,
    /// How long a looked-up credential is trusted before it is read again: a revocation takes
    /// effect within this in every process.
    pub credential_cache: Duration,
    /// Where refused and state-changing calls go; None: the root's default, the audit log in
    /// the store (`egov_platform::StoreAuditSink`), or a log line where there is none.
    pub audit: Option<Arc<dyn AuditSink>>,
    /// People's JWTs from the city's identity provider; None: not accepted.
    pub jwt: Option<JwtSettings>,
    /// How long the token a local account signs in to works (`--session-ttl`).
    pub session_ttl: Duration,
}

impl std::fmt::Debug for TrustSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrustSettings")
            .field("policy", &self.policy.as_ref().map(|_| "(a city's own)"))
            .field("limits", &self.limits)
            .field(
                "certificates",
                &self.certificates.keys().collect::<Vec<_>>(),
            )
            .field("credential_cache", &self.credential_cache)
            .field("session_ttl", &self.session_ttl)
            .finish_non_exhaustive()
    }
}

impl Default for TrustSettings {
    fn default() -> Self {
        TrustSettings {
            policy: None,
            limits: Limits::default(),
            certificates: HashMap::new(),
            credential_cache: Duration::from_secs(5),
            audit: None,
            jwt: None,
            session_ttl: accounts::DEFAULT_SESSION_TTL,
        }
    }
}

/// The audit sink of a process without the audit log: every event as a log line.
#[derive(Debug, Clone, Copy)]
pub struct LogAudit;

impl AuditSink for LogAudit {
    fn record(&self, event: AuditEvent) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        tracing::info!(
            target: "egov::audit",
            principal = %event.principal,
            role = %event.role,
            action = %event.action,
            outcome = %event.outcome,
            peer = event.peer.as_deref().unwrap_or(""),
            "audit"
        );
        Box::pin(async {})
    }
}

/// What the layer shares between calls.
pub(crate) struct Inner {
    policy: Arc<Policy>,
    credentials: credential::Credentials,
    limiter: limits::Limiter,
    certificates: HashMap<String, Arc<Principal>>,
    audit: Arc<dyn AuditSink>,
    jwt: Option<JwtSettings>,
    /// The sign-in service (its limits on failed attempts are the process's).
    access: accounts::Access,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inner").finish_non_exhaustive()
    }
}

/// The front hall of one process.
#[derive(Debug, Clone)]
pub struct Trust {
    inner: Arc<Inner>,
}

impl Trust {
    /// The front hall over `store`'s credentials.
    pub fn new(settings: TrustSettings, store: Store) -> Result<Trust, PolicyError> {
        let policy = match &settings.policy {
            Some(text) => Policy::parse(text)?,
            None => Policy::builtin(),
        };
        Ok(Trust {
            inner: Arc::new(Inner {
                policy: Arc::new(policy),
                access: accounts::Access::new(store.clone(), settings.session_ttl),
                credentials: credential::Credentials::new(store, settings.credential_cache),
                limiter: limits::Limiter::new(settings.limits),
                certificates: settings
                    .certificates
                    .into_iter()
                    .map(|(subject, p)| (subject, Arc::new(p)))
                    .collect(),
                audit: settings.audit.unwrap_or_else(|| Arc::new(LogAudit)),
                jwt: settings.jwt,
            }),
        })
    }

    /// The layer to wrap the whole router in.
    pub fn layer(&self) -> HallLayer {
        HallLayer {
            inner: self.inner.clone(),
        }
    }

    /// The sign-in service (`egov.access.v1.AccessService`), for the root's router.
    pub fn access(&self) -> accounts::Access {
        self.inner.access.clone()
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.inner.policy
    }

    /// The policy in force as the decision point the web console asks which actions to offer.
    pub fn authorizer(&self) -> Arc<dyn egov_runtime::access::Authorize> {
        self.inner.policy.clone()
    }
}
