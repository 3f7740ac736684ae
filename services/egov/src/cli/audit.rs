//! The command line of `egov audit` and `egov verify`: commands that read the shared database
//! directly (the whole log, as an administrator on the database's machine does), not a
//! platform over gRPC.

use std::path::PathBuf;

use clap::Args;

/// Which database a command reads, as the platforms are given it.
#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// The shared database: postgres://USER:PASSWORD@HOST:PORT/DB, or sqlite://PATH/TO/FILE.db;
    /// default: the SQLite file in --data-dir. The password is never printed.
    #[arg(
        long,
        env = "EGOV_DATABASE_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub database_url: Option<String>,
    /// A file holding the PostgreSQL password, used instead of one in the URL.
    #[arg(long, env = "EGOV_DATABASE_PASSWORD_FILE", value_name = "FILE")]
    pub database_password_file: Option<PathBuf>,
    /// The directory of the embedded SQLite database (egov.db) `egov up` uses.
    #[arg(
        long,
        env = "EGOV_DATA_DIR",
        default_value = "./egov-data",
        value_name = "DIR"
    )]
    pub data_dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Only acts of this principal (a credential's or account's id, or "anonymous").
    #[arg(long, value_name = "ID")]
    pub principal: Option<String>,
    /// Only acts of this RPC: its full method name
    /// (/egov.supervision.v1.SupervisionService/CloseWarning) or its last part (CloseWarning).
    #[arg(long, value_name = "METHOD")]
    pub action: Option<String>,
    /// Only acts that ended so: OK, or a gRPC code's name (PERMISSION_DENIED, UNAUTHENTICATED,
    /// ...).
    #[arg(long, value_name = "CODE")]
    pub outcome: Option<String>,
    /// Only acts at or after this time: RFC 3339 (2026-12-01T09:00:00+08:00) or a local date
    /// (2026-12-01, from its midnight).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Only acts before this time (same forms as --since; a date means its midnight).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// The most acts to print, oldest first.
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub limit: u32,
    /// Print one JSON object per line (the stored row: seq, at, principal, role, action,
    /// target, outcome, peer, prev_hash, hash) instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Print no progress, only the outcome.
    #[arg(long)]
    pub quiet: bool,
    #[command(flatten)]
    pub database: DatabaseArgs,
}
