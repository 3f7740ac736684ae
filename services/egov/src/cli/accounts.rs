//! The command line of `egov accounts create|list|disable|passwd`: the local accounts people
//! sign in with (docs/design.md §8), on the platforms' database directly, like `egov tokens`.
//! A password is read from a prompt (without echo) or, when standard input is not a terminal,
//! from its first line: never from the command line, which other users of the machine can see.

use clap::{Args, Subcommand};

use super::TokensDbArgs;

#[derive(Debug, Subcommand)]
pub enum AccountsCommand {
    /// Create an account for a person; asks for its password. Example:
    /// egov accounts create zhang.wei --role supervisor --scope region:3301
    Create(AccountsCreateArgs),
    /// List the accounts: name, role, scope, created, disabled (never the password hashes).
    List(TokensDbArgs),
    /// Disable an account: it can no longer sign in, and the tokens it signed in to stop
    /// working within seconds.
    Disable(AccountNameArgs),
    /// Set an account's password (asked for); its current sessions are signed out.
    Passwd(AccountNameArgs),
}

#[derive(Debug, Args)]
pub struct AccountsCreateArgs {
    /// The account's name: the principal it signs in as ("system" is reserved).
    #[arg(value_name = "NAME")]
    pub name: String,
    /// admin, service_centre, department, supervisor or analyst (docs/design.md §8).
    #[arg(long, value_name = "ROLE")]
    pub role: String,
    /// Where it may act: `*` (admins only), `region:3301` (a region's subtree: supervisors,
    /// analysts) or `departments:market` (a department's staff).
    #[arg(long, value_name = "SCOPE")]
    pub scope: String,
    #[command(flatten)]
    pub db: TokensDbArgs,
}

#[derive(Debug, Args)]
pub struct AccountNameArgs {
    /// The account's name.
    #[arg(value_name = "NAME")]
    pub name: String,
    #[command(flatten)]
    pub db: TokensDbArgs,
}
