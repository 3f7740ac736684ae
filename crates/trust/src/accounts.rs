//! Local accounts of the embedded default identity provider (docs/design.md §8): people's names
//! with argon2id password hashes (`egov accounts create|list|disable|passwd`), and `SignIn`,
//! which exchanges a name and password for a short-lived session token carrying the account's
//! role and scope. A wrong password, an unknown name and a disabled account answer alike after
//! the same work, and failed attempts are limited per name.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chrono::{DateTime, Utc};
use egov_proto::access::v1 as pb;
use egov_proto::access::v1::access_service_server::{AccessService, AccessServiceServer};
use egov_runtime::access::{Principal, Role, SYSTEM, Scope};
use egov_runtime::error::ApiError;
use egov_store::Store;
use egov_store::credentials::AccountRow;

use crate::credential::issue;

/// Shorter passwords are refused when an account is made or its password changed.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// How long a session token works unless the platform is told otherwise (`--session-ttl`).
pub const DEFAULT_SESSION_TTL: Duration = Duration::from_secs(8 * 3600);
/// Failed sign-ins one name may have within [`FAILURE_WINDOW`] before further attempts wait.
pub const MAX_FAILURES: u32 = 5;
/// The window failed sign-ins are counted in (from the first one).
pub const FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);

/// Why an account cannot be made or changed.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("the account name {0:?} is reserved, empty, too long or holds spaces")]
    BadName(String),
    #[error("the role {0:?} is unknown: admin, service_centre, department, supervisor or analyst")]
    BadRole(String),
    #[error("the scope {0:?} is not *, region:CODE or departments:CODE,CODE")]
    BadScope(String),
    #[error("an admin's scope is * and only an admin's is")]
    AdminScope,
    #[error("a password has at least {MIN_PASSWORD_CHARS} characters")]
    ShortPassword,
    #[error("the account {0:?} exists already")]
    Exists(String),
    #[error("cannot hash the password: {0}")]
    Hash(String),
    #[error(transparent)]
    Store(#[from] egov_store::StoreError),
}

/// The argon2id hash (a PHC string, with its own random salt and parameters) of `password`.
pub fn hash_password(password: &str) -> Result<String, AccountError> {
    let mut salt = [0_u8; 16];
    getrandom::fill(&mut salt).map_err(|e| AccountError::Hash(e.to_string()))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| AccountError::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AccountError::Hash(e.to_string()))
}

/// Whether `password` is the one `phc` was made from (false for a hash that does not parse).
pub fn verify_password(phc: &str, password: &str) -> bool {
    PasswordHash::new(phc)
        .and_then(|hash| Argon2::default().verify_password(password.as_bytes(), &hash))
        .is_ok()
}

/// The hash an unknown name is checked against, so that it costs what a known one does.
static DECOY: LazyLock<String> = LazyLock::new(|| {
    hash_password("the decoy of names no account has").unwrap_or_else(|_| String::new())
});

/// Checks what an account is made of; the name trimmed.
fn check(name: &str, role: &str, scope: &str) -> Result<(String, Role, Scope), AccountError> {
    let name = name.trim();
    if name.is_empty()
        || name == SYSTEM
        || name == "anonymous"
        || name.chars().count() > 200
        || name.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(AccountError::BadName(name.to_owned()));
    }
    let role = Role::parse(role).ok_or_else(|| AccountError::BadRole(role.to_owned()))?;
    let scope = Scope::parse(scope).ok_or_else(|| AccountError::BadScope(scope.to_owned()))?;
    if (role == Role::Admin) != (scope == Scope::All) {
        return Err(AccountError::AdminScope);
    }
    Ok((name.to_owned(), role, scope))
}

fn check_password(password: &str) -> Result<(), AccountError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AccountError::ShortPassword);
    }
    Ok(())
}

/// Makes the account `name` with `role`, `scope` and `password`.
pub async fn create_account(
    store: &Store,
    name: &str,
    role: &str,
    scope: &str,
    password: &str,
    now: DateTime<Utc>,
) -> Result<(), AccountError> {
    let (name, role, scope) = check(name, role, scope)?;
    check_password(password)?;
    let password = password.to_owned();
    let password_hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| AccountError::Hash(e.to_string()))??;
    let created = store
        .create_account(&AccountRow {
            name: name.clone(),
            password_hash,
            role: role.as_str().to_owned(),
            scope: scope.to_text(),
            created_at: now,
            disabled_at: None,
        })
        .await?;
    if !created {
        return Err(AccountError::Exists(name));
    }
    Ok(())
}

/// Gives the account `name` a new password and signs out its sessions; answers how many.
pub async fn change_password(
    store: &Store,
    name: &str,
    password: &str,
    now: DateTime<Utc>,
) -> Result<u64, AccountError> {
    check_password(password)?;
    let password = password.to_owned();
    let hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| AccountError::Hash(e.to_string()))??;
    Ok(store.set_account_password(name.trim(), &hash, now).await?)
}

/// Counts failed sign-ins per name (in this process), so that guessing a password costs
/// [`FAILURE_WINDOW`] per [`MAX_FAILURES`] guesses. Names without an account are counted
/// too: whether a name has one shows nowhere.
#[derive(Debug, Default)]
pub(crate) struct Attempts {
    /// Per name: when its window began, and its failures in it.
    failures: Mutex<HashMap<String, (Instant, u32)>>,
}

/// Past this many names the windows that ended are dropped, and if all are live, all are
/// (bounded memory whatever names arrive).
const ATTEMPTS_MAX: usize = 100_000;

impl Attempts {
    /// Ok when `name` may try; else how long until it may.
    fn may_try(&self, name: &str) -> Result<(), Duration> {
        let failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        match failures.get(name) {
            Some((since, n)) if *n >= MAX_FAILURES && since.elapsed() < FAILURE_WINDOW => {
                Err(FAILURE_WINDOW.saturating_sub(since.elapsed()))
            }
            _ => Ok(()),
        }
    }

    fn failed(&self, name: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if failures.len() >= ATTEMPTS_MAX {
            failures.retain(|_, (since, _)| since.elapsed() < FAILURE_WINDOW);
            if failures.len() >= ATTEMPTS_MAX {
                failures.clear();
            }
        }
        let entry = failures
            .entry(name.to_owned())
            .or_insert((Instant::now(), 0));
        if entry.0.elapsed() >= FAILURE_WINDOW {
            *entry = (Instant::now(), 0);
        }
        entry.1 += 1;
    }

    fn succeeded(&self, name: &str) {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name);
    }
}

/// The `egov.access.v1.AccessService` of one process.
#[derive(Debug, Clone)]
pub struct Access {
    store: Store,
    session_ttl: Duration,
    attempts: Arc<Attempts>,
}

impl Access {
    pub(crate) fn new(store: Store, session_ttl: Duration) -> Access {
        Access {
            store,
            session_ttl,
            attempts: Arc::new(Attempts::default()),
        }
    }

    /// The gRPC service, for the root's router.
    pub fn grpc_service(self) -> AccessServiceServer<Access> {
        AccessServiceServer::new(self)
    }
}

/// What every refused sign-in answers, whatever the reason.
fn refused() -> tonic::Status {
    tonic::Status::unauthenticated("wrong account name or password")
}

#[tonic::async_trait]
impl AccessService for Access {
    async fn sign_in(
        &self,
        request: tonic::Request<pb::SignInRequest>,
    ) -> Result<tonic::Response<pb::SignInResponse>, tonic::Status> {
        let pb::SignInRequest { name, password } = egov_proto::limits::checked(request)?;
        if let Err(wait) = self.attempts.may_try(&name) {
            return Err(crate::hall::exhausted(
                "SIGN_IN_RATE_LIMITED",
                "too many failed sign-ins for this account; wait",
                wait,
            ));
        }
        let account = self
            .store
            .get_account(&name)
            .await
            .map_err(ApiError::from)?;
        let phc = account.as_ref().map(|a| a.password_hash.clone());
        // The same argon2id work for a known and an unknown name, off the async threads.
        let matches = tokio::task::spawn_blocking(move || {
            verify_password(phc.as_deref().unwrap_or(DECOY.as_str()), &password)
        })
        .await
        .unwrap_or(false);
        let account = match account {
            Some(account) if matches && account.disabled_at.is_none() => account,
            _ => {
                self.attempts.failed(&name);
                return Err(refused());
            }
        };
        self.attempts.succeeded(&name);
        let (Some(role), Some(scope)) = (Role::parse(&account.role), Scope::parse(&account.scope))
        else {
            return Err(ApiError::Internal(format!(
                "the account {:?} has an unknown role or scope",
                account.name
            ))
            .into());
        };
        let principal = Principal {
            id: account.name,
            role,
            scope,
        };
        let now = Utc::now();
        let expires_at = now
            + chrono::Duration::from_std(self.session_ttl).unwrap_or(chrono::Duration::hours(8));
        let issued = issue(&self.store, &principal, "session", now, Some(expires_at))
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "cannot issue a session");
                tonic::Status::internal("cannot issue a session")
            })?;
        Ok(tonic::Response::new(pb::SignInResponse {
            token: issued.token,
            credential_id: issued.id,
            expires_at: Some(pbjson_types::Timestamp {
                seconds: expires_at.timestamp(),
                nanos: i32::try_from(expires_at.timestamp_subsec_nanos()).unwrap_or(0),
            }),
            principal: principal.id,
            role: principal.role.as_str().to_owned(),
            scope: principal.scope.to_text(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let hash = hash_password("correct horse battery").expect("hashed");
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password(&hash, "correct horse battery"));
        assert!(!verify_password(&hash, "correct horse battery "));
        assert!(!verify_password("not a hash", "correct horse battery"));
        assert_ne!(
            hash,
            hash_password("correct horse battery").expect("hashed")
        );
    }

    #[test]
    fn failures_are_limited_per_name() {
        let attempts = Attempts::default();
        for _ in 0..MAX_FAILURES {
            assert!(attempts.may_try("zhang").is_ok());
            attempts.failed("zhang");
        }
        assert!(attempts.may_try("zhang").is_err());
        assert!(attempts.may_try("li").is_ok());
    }

    #[test]
    fn names_roles_and_scopes_are_checked() {
        assert!(check("system", "admin", "*").is_err());
        assert!(check("two words", "analyst", "region:33").is_err());
        assert!(check("zhang", "admin", "region:33").is_err());
        assert!(check("zhang", "analyst", "*").is_err());
        assert!(check("zhang", "analyst", "region:33").is_ok());
    }
}
