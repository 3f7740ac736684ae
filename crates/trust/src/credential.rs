//! Bearer tokens (docs/design.md "Trust"): 256 bits from the operating system's generator,
//! shown once, stored only as their SHA-256 (a random token of that size needs no slow hash),
//! and looked up by that hash when a call presents one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use egov_runtime::access::{Principal, Role, SYSTEM, Scope};
use egov_store::Store;
use egov_store::credentials::{CredentialRow, NewCredential};
use sha2::{Digest, Sha256};

/// Every token starts with this, so that a leaked one is recognisable (secret scanners).
pub const TOKEN_PREFIX: &str = "egov_";

/// Why a credential could not be issued.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    #[error("the principal name {0:?} is reserved or empty")]
    ReservedName(String),
    #[error("cannot store the credential: {0}")]
    Store(#[from] egov_store::StoreError),
    #[error("the operating system's random generator failed: {0}")]
    Random(String),
}

/// A newly issued credential: the token (shown once) and its public id.
#[derive(Clone)]
pub struct Issued {
    pub id: String,
    pub token: String,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

fn random_hex(bytes: usize) -> Result<String, IssueError> {
    let mut buf = vec![0_u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| IssueError::Random(e.to_string()))?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

/// The stored form of a token.
pub fn hash_token(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Issues a token for `principal`, valid until `expires_at` (None: until revoked). `kind` is
/// "token" (an API token) or "session" (an account signed in).
pub async fn issue(
    store: &Store,
    principal: &Principal,
    kind: &str,
    now: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
) -> Result<Issued, IssueError> {
    let token = format!("{TOKEN_PREFIX}{}", random_hex(32)?);
    store_token(store, principal, &token, kind, now, expires_at).await
}

/// Stores `token` (chosen by the caller: the test fixtures' well-known one) for `principal`.
pub async fn store_token(
    store: &Store,
    principal: &Principal,
    token: &str,
    kind: &str,
    now: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
) -> Result<Issued, IssueError> {
    if principal.id.is_empty() || principal.id == SYSTEM || principal.id == "anonymous" {
        return Err(IssueError::ReservedName(principal.id.clone()));
    }
    let token = token.to_owned();
    let id = format!("t-{}", random_hex(6)?);
    store
        .create_credential(&NewCredential {
            id: id.clone(),
            token_hash: hash_token(&token),
            principal: principal.id.clone(),
            role: principal.role.as_str().to_owned(),
            scope: principal.scope.to_text(),
            kind: kind.to_owned(),
            created_at: now,
            expires_at,
        })
        .await?;
    Ok(Issued { id, token })
}

/// A stored credential as authentication uses it.
#[derive(Debug, Clone)]
pub(crate) struct Known {
    /// The credential's id: the unit of the per-credential limits.
    pub id: String,
    pub principal: Arc<Principal>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked: bool,
}

impl Known {
    fn of(row: CredentialRow) -> Option<Known> {
        let role = Role::parse(&row.role)?;
        let scope = Scope::parse(&row.scope)?;
        Some(Known {
            id: row.id,
            principal: Arc::new(Principal {
                id: row.principal,
                role,
                scope,
            }),
            expires_at: row.expires_at,
            revoked: row.revoked_at.is_some(),
        })
    }
}

/// Looks tokens up, keeping what it found for a short while: a call does not wait for the
/// database to learn who it is (the ingest path), and a revocation takes effect within
/// `ttl` in every process.
#[derive(Debug)]
pub(crate) struct Credentials {
    store: Store,
    ttl: Duration,
    cache: Mutex<HashMap<String, (Instant, Known)>>,
}

/// Past this many entries the cache starts over (bounded memory whatever tokens arrive).
const CACHE_MAX: usize = 10_000;

impl Credentials {
    pub fn new(store: Store, ttl: Duration) -> Credentials {
        Credentials {
            store,
            ttl,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The credential of `token`, if one is stored (valid or not).
    pub async fn find(&self, token: &str) -> Result<Option<Known>, egov_store::StoreError> {
        let hash = hash_token(token);
        if let Some((at, known)) = self
            .cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&hash)
            && at.elapsed() < self.ttl
        {
            return Ok(Some(known.clone()));
        }
        let Some(known) = self.store.find_credential(&hash).await?.and_then(Known::of) else {
            return Ok(None);
        };
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= CACHE_MAX {
            cache.clear();
        }
        cache.insert(hash, (Instant::now(), known.clone()));
        Ok(Some(known))
    }
}
