//! `egov tokens create|list|revoke`: the bearer credentials of machine clients and people
//! (docs/design.md "Trust"), on the platforms' database directly, as an operator at the
//! database would: a token is printed once and stored only as its SHA-256.

use std::process::ExitCode;

use anyhow::Context;
use chrono::Utc;
use egov_runtime::access::{Principal, Role, Scope};
use egov_store::{Store, StoreOptions};

use crate::cli::{TokensCommand, TokensDbArgs};
use crate::output;
use crate::settings::{ConfigError, DatabaseUrl};

pub async fn run(command: TokensCommand) -> anyhow::Result<ExitCode> {
    match command {
        TokensCommand::Create(args) => {
            let role = Role::parse(&args.role).ok_or_else(|| {
                ConfigError(format!(
                    "--role {:?}: expected admin, service_centre, department, supervisor or analyst",
                    args.role
                ))
            })?;
            let scope = Scope::parse(&args.scope).ok_or_else(|| {
                ConfigError(format!(
                    "--scope {:?}: expected *, region:CODE or departments:CODE,CODE",
                    args.scope
                ))
            })?;
            if (role == Role::Admin) != (scope == Scope::All) {
                return Err(ConfigError(
                    "--scope: an admin's is * and only an admin's is".to_owned(),
                )
                .into());
            }
            let expires_at = match &args.expires {
                Some(text) => Some(Utc::now() + parse_validity(text)?),
                None => None,
            };
            let store = open(&args.db).await?;
            let principal = Principal {
                id: args.principal.trim().to_owned(),
                role,
                scope,
            };
            let issued = egov_trust::issue(&store, &principal, "token", Utc::now(), expires_at)
                .await
                .context("cannot create the token")?;
            store.close().await;
            eprintln!(
                "token {} for {} ({role}, {}){}; it is shown once, keep it secret:",
                issued.id,
                principal.id,
                principal.scope.to_text(),
                expires_at.map_or(String::new(), |at| format!(", valid until {at}"))
            );
            println!("{}", issued.token);
        }
        TokensCommand::List(db) => {
            let store = open(&db).await?;
            let rows = store.list_credentials().await?;
            store.close().await;
            println!(
                "{:<16} {:<20} {:<15} {:<28} {:<8} {:<16} revoked",
                "id", "principal", "role", "scope", "kind", "expires"
            );
            for c in rows {
                println!(
                    "{:<16} {:<20} {:<15} {:<28} {:<8} {:<16} {}",
                    c.id,
                    c.principal,
                    c.role,
                    c.scope,
                    c.kind,
                    c.expires_at.map_or("never".to_owned(), output::local),
                    c.revoked_at.map_or("-".to_owned(), output::local),
                );
            }
        }
        TokensCommand::Revoke(args) => {
            let store = open(&args.db).await?;
            let result = store.revoke_credential(&args.id, Utc::now()).await;
            store.close().await;
            result.with_context(|| format!("cannot revoke {}", args.id))?;
            println!("token {} revoked", args.id);
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn open(db: &TokensDbArgs) -> anyhow::Result<Store> {
    let url = match &db.database_url {
        Some(url) if !url.trim().is_empty() => DatabaseUrl::parse(url)?,
        _ => DatabaseUrl::sqlite_in(&db.data_dir),
    };
    if let Some(dir) = db.database_url.is_none().then_some(&db.data_dir) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the data directory {}", dir.display()))?;
    }
    Store::connect_with(url.expose(), &StoreOptions::default())
        .await
        .with_context(|| format!("cannot open the database {url}"))
}

/// `90d`, `12h`, `30m`.
pub(crate) fn parse_validity(text: &str) -> Result<chrono::Duration, ConfigError> {
    let t = text.trim();
    let bad = || {
        ConfigError(format!(
            "--expires {text:?}: expected a time such as 90d, 12h or 30m"
        ))
    };
    let (number, unit) = t.split_at(t.len().saturating_sub(1));
    let n: i64 = number.parse().map_err(|_| bad())?;
    if n <= 0 {
        return Err(bad());
    }
    match unit {
        "d" => Ok(chrono::Duration::days(n)),
        "h" => Ok(chrono::Duration::hours(n)),
        "m" => Ok(chrono::Duration::minutes(n)),
        _ => Err(bad()),
    }
}
