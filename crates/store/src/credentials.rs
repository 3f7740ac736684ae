//! Credentials and local accounts (issue 12, docs/design.md "Trust"): the store keeps a
//! credential's hash with its principal, role, scope and validity, and an account's argon2id
//! hash; what a token is, how it is hashed and what a role may do belong to `crates/trust`.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::dialect::Dialect;
use crate::error::{Result, StoreError};
use crate::rows::micros;
use crate::store::{Store, on_db};

/// A credential to store: its token is already hashed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCredential {
    /// Its public id (`egov tokens list|revoke`).
    pub id: String,
    /// Hex SHA-256 of the token.
    pub token_hash: String,
    /// Who it authenticates (the actor of its acts).
    pub principal: String,
    /// The role name (`admin`, `service_centre`, ...).
    pub role: String,
    /// Where it may act: "*", "region:R" or "departments:D1,D2".
    pub scope: String,
    /// "token" or "session".
    pub kind: String,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it stops working; None: never.
    pub expires_at: Option<DateTime<Utc>>,
}

/// A stored credential (without its hash, which only lookups use).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct CredentialRow {
    /// Its public id (`egov tokens list|revoke`).
    pub id: String,
    /// Who it authenticates (the actor of its acts).
    pub principal: String,
    /// The role name (`admin`, `service_centre`, ...).
    pub role: String,
    /// Where it may act: "*", "region:R" or "departments:D1,D2".
    pub scope: String,
    /// "token" (API token) or "session" (an account signed in).
    pub kind: String,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it stops working; None: never.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A local account.
#[derive(Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AccountRow {
    /// The account name (the principal it signs in as).
    pub name: String,
    /// The argon2id PHC string. Never printed.
    pub password_hash: String,
    /// The role name (`admin`, `service_centre`, ...).
    pub role: String,
    /// Where it may act: "*", "region:R" or "departments:D1,D2".
    pub scope: String,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it was disabled, if it was.
    pub disabled_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for AccountRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountRow")
            .field("name", &self.name)
            .field("role", &self.role)
            .field("scope", &self.scope)
            .field("disabled_at", &self.disabled_at)
            .finish_non_exhaustive()
    }
}

const CREDENTIAL_COLUMNS: &str =
    "id, principal, role, scope, kind, created_at, expires_at, revoked_at";

impl Store {
    /// Stores a credential; its id and hash must be new.
    pub async fn create_credential(&self, c: &NewCredential) -> Result<()> {
        on_db!(self, |pool| {
            sqlx::query(
                "INSERT INTO credentials (id, token_hash, principal, role, scope, kind, \
                     created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&c.id)
            .bind(&c.token_hash)
            .bind(&c.principal)
            .bind(&c.role)
            .bind(&c.scope)
            .bind(&c.kind)
            .bind(micros(c.created_at))
            .bind(c.expires_at.map(micros))
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(())
    }

    /// The credential whose token hashes to `token_hash`, valid or not (the caller judges
    /// expiry and revocation).
    pub async fn find_credential(&self, token_hash: &str) -> Result<Option<CredentialRow>> {
        let sql = format!("SELECT {CREDENTIAL_COLUMNS} FROM credentials WHERE token_hash = $1");
        Ok(on_db!(self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(token_hash)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// Every credential, newest first.
    pub async fn list_credentials(&self) -> Result<Vec<CredentialRow>> {
        let sql =
            format!("SELECT {CREDENTIAL_COLUMNS} FROM credentials ORDER BY created_at DESC, id");
        Ok(on_db!(self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .fetch_all(pool)
                .await?
        }))
    }

    /// Revokes the credential `id` at `at` (a second revocation keeps the first instant).
    pub async fn revoke_credential(&self, id: &str, at: DateTime<Utc>) -> Result<()> {
        let changed = on_db!(self, |pool| {
            sqlx::query(
                "UPDATE credentials SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1",
            )
            .bind(id)
            .bind(micros(at))
            .execute(pool)
            .await?
            .rows_affected()
        });
        if changed == 0 {
            return Err(StoreError::NotFound {
                what: "credential",
                key: id.to_owned(),
            });
        }
        Ok(())
    }

    /// Creates or replaces the account `name`.
    pub async fn upsert_account(&self, a: &AccountRow) -> Result<()> {
        on_db!(self, |pool| {
            sqlx::query(
                "INSERT INTO accounts (name, password_hash, role, scope, created_at, disabled_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (name) DO UPDATE SET \
                 password_hash = $2, role = $3, scope = $4, disabled_at = $6",
            )
            .bind(&a.name)
            .bind(&a.password_hash)
            .bind(&a.role)
            .bind(&a.scope)
            .bind(micros(a.created_at))
            .bind(a.disabled_at.map(micros))
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(())
    }

    /// The account `name`, if there is one.
    pub async fn get_account(&self, name: &str) -> Result<Option<AccountRow>> {
        Ok(on_db!(self, |pool| {
            sqlx::query_as(
                "SELECT name, password_hash, role, scope, created_at, disabled_at \
                 FROM accounts WHERE name = $1",
            )
            .bind(name)
            .fetch_optional(pool)
            .await?
        }))
    }

    /// Creates the account `a.name`; false, writing nothing, when an account of that name exists.
    pub async fn create_account(&self, a: &AccountRow) -> Result<bool> {
        let created = on_db!(self, |pool| {
            sqlx::query(
                "INSERT INTO accounts (name, password_hash, role, scope, created_at, disabled_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (name) DO NOTHING",
            )
            .bind(&a.name)
            .bind(&a.password_hash)
            .bind(&a.role)
            .bind(&a.scope)
            .bind(micros(a.created_at))
            .bind(a.disabled_at.map(micros))
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(created == 1)
    }

    /// Every account, by name.
    pub async fn list_accounts(&self) -> Result<Vec<AccountRow>> {
        Ok(on_db!(self, |pool| {
            sqlx::query_as(
                "SELECT name, password_hash, role, scope, created_at, disabled_at \
                 FROM accounts ORDER BY name",
            )
            .fetch_all(pool)
            .await?
        }))
    }

    /// Disables the account `name` at `at` (a second time keeps the first instant) and, in the
    /// same transaction, revokes every session it signed in to: a disabled account's tokens stop
    /// working, not only its password. Answers how many sessions were revoked.
    pub async fn disable_account(&self, name: &str, at: DateTime<Utc>) -> Result<u64> {
        self.change_account(
            name,
            "UPDATE accounts SET disabled_at = COALESCE(disabled_at, $2) WHERE name = $1",
            Change::At,
            at,
        )
        .await
    }

    /// Sets the password hash of the account `name` and revokes its sessions (whoever knew the
    /// old password is signed out). Answers how many sessions were revoked.
    pub async fn set_account_password(
        &self,
        name: &str,
        password_hash: &str,
        at: DateTime<Utc>,
    ) -> Result<u64> {
        self.change_account(
            name,
            "UPDATE accounts SET password_hash = $2 WHERE name = $1",
            Change::Text(password_hash),
            at,
        )
        .await
    }

    /// Runs `update` on the account `name` (binds: name, then `change`) and revokes its
    /// sessions at `at`, in one transaction; NotFound when there is no such account.
    async fn change_account(
        &self,
        name: &str,
        update: &'static str,
        change: Change<'_>,
        at: DateTime<Utc>,
    ) -> Result<u64> {
        let revoked = on_db!(self, |pool, Db| {
            let mut tx = Db::begin_write(pool).await?;
            let query = sqlx::query(update).bind(name);
            let query = match change {
                Change::At => query.bind(micros(at)),
                Change::Text(text) => query.bind(text),
            };
            let changed = query.execute(&mut *tx).await?.rows_affected();
            if changed == 0 {
                return Err(StoreError::NotFound {
                    what: "account",
                    key: name.to_owned(),
                });
            }
            let revoked = sqlx::query(
                "UPDATE credentials SET revoked_at = $2 \
                 WHERE principal = $1 AND kind = 'session' AND revoked_at IS NULL",
            )
            .bind(name)
            .bind(micros(at))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            tx.commit().await?;
            revoked
        });
        Ok(revoked)
    }
}

/// The second value an account's change binds.
enum Change<'a> {
    /// The instant of the change.
    At,
    /// A new value (a password hash).
    Text(&'a str),
}
