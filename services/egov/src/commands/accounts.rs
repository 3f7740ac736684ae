//! `egov accounts create|list|disable|passwd`: the local accounts people sign in with
//! (docs/design.md §8), on the platforms' database directly. Passwords come from a prompt
//! without echo, or from standard input's first line when it is not a terminal (scripts,
//! `printf '%s\n' "$PW" | egov accounts create ...`), never from the command line.

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;

use anyhow::Context;
use chrono::Utc;

use crate::cli::AccountsCommand;
use crate::commands::tokens::open;
use crate::output;

pub async fn run(command: AccountsCommand) -> anyhow::Result<ExitCode> {
    match command {
        AccountsCommand::Create(args) => {
            let password = read_password(true)?;
            let store = open(&args.db).await?;
            let made = egov_trust::accounts::create_account(
                &store,
                &args.name,
                &args.role,
                &args.scope,
                &password,
                Utc::now(),
            )
            .await;
            store.close().await;
            made.context("cannot create the account")?;
            println!(
                "account {} ({}, {}) created; it signs in with SignIn",
                args.name.trim(),
                args.role,
                args.scope
            );
        }
        AccountsCommand::List(db) => {
            let store = open(&db).await?;
            let rows = store.list_accounts().await;
            store.close().await;
            println!(
                "{:<24} {:<15} {:<28} {:<16} disabled",
                "name", "role", "scope", "created"
            );
            for a in rows? {
                println!(
                    "{:<24} {:<15} {:<28} {:<16} {}",
                    a.name,
                    a.role,
                    a.scope,
                    output::local(a.created_at),
                    a.disabled_at.map_or("-".to_owned(), output::local),
                );
            }
        }
        AccountsCommand::Disable(args) => {
            let store = open(&args.db).await?;
            let result = store.disable_account(args.name.trim(), Utc::now()).await;
            store.close().await;
            let revoked = result.with_context(|| format!("cannot disable {}", args.name))?;
            println!(
                "account {} disabled; {revoked} session(s) revoked",
                args.name.trim()
            );
        }
        AccountsCommand::Passwd(args) => {
            let password = read_password(true)?;
            let store = open(&args.db).await?;
            let result =
                egov_trust::accounts::change_password(&store, &args.name, &password, Utc::now())
                    .await;
            store.close().await;
            let revoked =
                result.with_context(|| format!("cannot change {}'s password", args.name))?;
            println!(
                "password of {} changed; {revoked} session(s) signed out",
                args.name.trim()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A new password: asked twice on a terminal (without echo), else standard input's first line.
fn read_password(confirm: bool) -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("password: ").context("cannot read the password")?;
        if confirm {
            let again =
                rpassword::prompt_password("again: ").context("cannot read the password")?;
            anyhow::ensure!(first == again, "the two passwords differ");
        }
        return Ok(first);
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}
