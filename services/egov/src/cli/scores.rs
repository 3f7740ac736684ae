//! `egov scores`: the performance scores of a period, a department, the closed periods and
//! their versions.

use super::*;

/// `egov scores [--period P] [--region R] [--csv|--json]`, or one of its subcommands.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ScoresArgs {
    #[command(subcommand)]
    pub command: Option<ScoresCommand>,
    #[command(flatten)]
    pub show: ScoresShowArgs,
}

#[derive(Debug, Subcommand)]
pub enum ScoresCommand {
    /// Close a period that is over: freeze its scores as version 1. Records arriving later are
    /// reported as late changes and leave it as it is.
    Close(ScoresPeriodArgs),
    /// Recompute a closed period from the rollups as they are now (late changes included) as
    /// its next version; the earlier versions are kept.
    Recompute(ScoresPeriodArgs),
    /// The versions of a closed period and the late changes since the newest.
    Versions(ScoresVersionsArgs),
    /// One department's indicators and score period by period (the months of the current year
    /// by default).
    Department(ScoresDepartmentArgs),
}

#[derive(Debug, Args)]
pub struct ScoresShowArgs {
    /// A year (2025), a quarter (2025-Q3) or a month (2025-07); default: the current year.
    #[arg(long, value_name = "PERIOD")]
    pub period: Option<String>,
    /// Rank only the departments of this region subtree (3301: a city and its districts).
    #[arg(long, value_name = "CODE")]
    pub region: Option<String>,
    /// Print CSV, one row per department (rates as fractions, fees in yuan), for spreadsheets.
    #[arg(long, conflicts_with = "json")]
    pub csv: bool,
    /// Print the whole answer as one JSON object (canonical protobuf JSON of GetScoresResponse).
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub client: ClientArgs,
}

#[derive(Debug, Args)]
pub struct ScoresPeriodArgs {
    /// The period: 2025, 2025-Q3 or 2025-07.
    #[arg(value_name = "PERIOD")]
    pub period: String,
    /// Ignored, kept for older scripts: the version names the principal of the credential.
    #[arg(
        long,
        env = "USER",
        hide_env_values = true,
        default_value = "egov",
        value_name = "NAME"
    )]
    pub actor: String,
    /// Why (kept with the version).
    #[arg(long, default_value = "", value_name = "TEXT")]
    pub reason: String,
    /// Print the version as one JSON object.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub client: ClientArgs,
}

#[derive(Debug, Args)]
pub struct ScoresVersionsArgs {
    /// The period: 2025, 2025-Q3 or 2025-07.
    #[arg(value_name = "PERIOD")]
    pub period: String,
    /// Print the answer as one JSON object.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub client: ClientArgs,
}

#[derive(Debug, Args)]
pub struct ScoresDepartmentArgs {
    /// The department code.
    #[arg(value_name = "CODE")]
    pub code: String,
    /// The first period (2025-01, 2025-Q1 or 2024); default: January of the current year.
    #[arg(long, value_name = "PERIOD")]
    pub from: Option<String>,
    /// The last period, of the same kind as --from; default: the last of its year.
    #[arg(long, value_name = "PERIOD")]
    pub to: Option<String>,
    /// Print CSV, one row per period.
    #[arg(long, conflicts_with = "json")]
    pub csv: bool,
    /// Print the answer as one JSON object.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub client: ClientArgs,
}
