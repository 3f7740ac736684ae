//! The audit sink over the store (docs/design.md §9): every act the front hall audits is
//! appended to the hash-chained `audit_log`. Built by the composition root and handed to the
//! authorization layer as an [`AuditSink`]; `egov audit` lists what it wrote, `egov verify`
//! and the supervision platform's integrity worker check its chain.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};

use egov_runtime::access::{AuditEvent, AuditSink};
use egov_store::{NewAudit, Store};

/// Appends audited acts to the store's audit log. An append that fails is not the caller's
/// failure (the act itself is already decided), but it is a hole in the record of who did
/// what: it is logged as an error and counted ([`StoreAuditSink::failures`]).
#[derive(Debug)]
pub struct StoreAuditSink {
    store: Store,
    /// Acts appended since start.
    appended: AtomicU64,
    /// Appends that failed since start: each is an act missing from the audit log.
    failures: AtomicU64,
}

impl StoreAuditSink {
    pub fn new(store: Store) -> Self {
        StoreAuditSink {
            store,
            appended: AtomicU64::new(0),
            failures: AtomicU64::new(0),
        }
    }

    /// How many acts were appended since start.
    pub fn appended(&self) -> u64 {
        self.appended.load(Ordering::Relaxed)
    }

    /// How many acts could not be appended since start (each also logged as an error).
    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    /// Appends one act; the outcome is counted and a failure logged.
    pub async fn append(&self, event: AuditEvent) {
        let act = NewAudit {
            at: event.at,
            principal: event.principal,
            role: event.role,
            action: event.action,
            target: event.target,
            outcome: event.outcome,
            peer: event.peer,
        };
        match self.store.append_audit(&act).await {
            Ok(_) => {
                self.appended.fetch_add(1, Ordering::Relaxed);
            }
            Err(error) => {
                let failures = self.failures.fetch_add(1, Ordering::Relaxed) + 1;
                tracing::error!(
                    %error,
                    failures,
                    principal = %act.principal,
                    action = %act.action,
                    target = %act.target,
                    outcome = %act.outcome,
                    "AUDIT APPEND FAILED: this act is missing from the audit log"
                );
            }
        }
    }
}

impl AuditSink for StoreAuditSink {
    fn record(&self, event: AuditEvent) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(self.append(event))
    }
}
