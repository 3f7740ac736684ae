//! The command line as clap types: every command and flag with its sentence of help, and the
//! "Getting started" sequence at the end of `egov --help`. Values that need checking beyond
//! their type (database URLs, addresses, targets) are kept as text here and validated in
//! [`crate::settings`], so a bad value fails with one clear line and never echoes a secret.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Shown after the top-level help: the shortest path from nothing to a live warning.
const GETTING_STARTED: &str = "\
Getting started (one machine, no database server needed):
  egov demo                                        # a simulated city's month in a minute: every rule fires
  egov up --with-sample                            # both platforms + the sample city; warnings appear live
or step by step, in two terminals, from the repository root:
  egov up                                          # terminal 1: serves 127.0.0.1:50051, SQLite in ./egov-data
  egov matters import data/sample/matters.jsonl    # terminal 2: the matter catalogue
  egov import data/sample/records.jsonl            # the case records (JSON Lines)
  egov watch                                       # warnings as they are raised
  egov warnings --level red                        # the red cards
  egov warning ack 12 --actor li --reason \"seen\"   # the correction workflow: ack|answer|close|escalate
  egov webhook add http://127.0.0.1:8080/egov --secret \"$S\"  # warnings POSTed, signed, to an SMS/e-mail gateway
  egov case HZ-2026-0031                           # one case: records and deadline clocks, explained
  egov scores --period 2026-Q4 --region 3301       # departments ranked: indicators, scores, bottom two (--csv, --json)

Supervision rules: levels and thresholds (docs/design.md §3) are built in; `egov up --rules FILE` (also
`approval serve`, `supervision serve`; env EGOV_RULES) overrides them per matter and department
from a JSON file with comments, checked at start (exit 2 naming the bad field); the documented
example is crates/domain/data/rules.example.json. The configuration lives in the database: a file
given at start wins and is recorded as a new version; without one the stored one is in force.
`egov rules show` and `egov rules set FILE` read and change it on a running platform. A warning decided by a department's or a
matter's configuration ends with (configuration: department:market).

Exit codes: 0 success; 1 failure, or an import with rejected lines; 2 invalid command line or
settings. Logs go to stderr (RUST_LOG overrides the default level, e.g. RUST_LOG=debug).";

/// egov: real-time supervision of government approval cases.
///
/// An approval platform takes in case records (application, acceptance, steps, suspensions,
/// decision, completion ...) and computes every case's legal deadlines; a supervision platform
/// raises warnings the moment a deadline passes. Both share one database: an SQLite file by
/// default, PostgreSQL in production.
#[derive(Debug, Parser)]
#[command(name = "egov", version, after_long_help = GETTING_STARTED, after_help = GETTING_STARTED)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run both platforms in one process on one port, on an SQLite file by default: the quickest
    /// way to try egov.
    Up(UpArgs),
    /// A month of a simulated city in about a minute: both platforms on a fresh SQLite file,
    /// ~20 departments' service centres pushing records, warnings as they arrive, departments
    /// and supervisors working the cards, and a summary of every rule that fired.
    Demo(DemoArgs),
    /// The demo's traffic against platforms already running (e.g. on PostgreSQL), on the wall
    /// clock at a chosen rate, for load tests; reports the rate achieved.
    Simulate(SimulateArgs),
    /// The approval platform alone (takes in case records), for deployment.
    #[command(subcommand)]
    Approval(ServeCommand),
    /// The supervision platform alone (raises warnings), for deployment.
    #[command(subcommand)]
    Supervision(ServeCommand),
    /// The matter catalogue (事项目录): what can be applied for, with its time limits and fees.
    #[command(subcommand)]
    Matters(MattersCommand),
    /// Stream case records from a JSON Lines file into the approval platform, grouped by case
    /// (so a backlog in any order is judged case by case, complete), with a progress bar and a
    /// per-line report of rejections.
    Import(ImportArgs),
    /// Follow warnings live as they are raised (reconnects without missing any).
    Watch(WatchArgs),
    /// Show one case: its records and its deadline clocks, each explained.
    Case(CaseArgs),
    /// List warnings in the order they were raised.
    Warnings(WarningsArgs),
    /// Work one warning through the correction workflow: ack, answer, close or escalate it
    /// (who, why and attachments are kept in its history).
    #[command(subcommand)]
    Warning(WarningCommand),
    /// Webhooks: POST each warning, signed, to an HTTP receiver (an SMS or e-mail gateway),
    /// retried with backoff until it answers 2xx, never twice; see what was delivered.
    #[command(subcommand)]
    Webhook(WebhookCommand),
    /// Check that the platforms at --target answer (for scripts and health checks).
    Status(StatusArgs),
    /// The supervision rules' configuration in force, shared by both platforms: show it, or
    /// replace it (the due instants of the open cases it moves are recomputed).
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Performance scores (docs/design.md §4): each department's indicators, score and rank in a
    /// period (year, quarter or month) and region subtree, the bottom two and leadership
    /// review; close and recompute periods.
    Scores(ScoresArgs),
    /// The jurisdiction tree (province > city > county > township): import and list regions.
    #[command(subcommand)]
    Regions(RegistryCommand),
    /// The departments and the region each belongs to: import and list them.
    #[command(subcommand)]
    Departments(RegistryCommand),
}

/// Import or list a registry (regions or departments).
#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Create or replace entries from a JSON Lines file: for regions one
    /// `{"code": "3301", "name": "杭州市"}` per line (a parent before its children), for
    /// departments one `{"code": "market", "name": "市场监督管理局", "region": "3301"}` per line.
    /// Reports what was stored and every refused line with its fields.
    Import(RegistryImportArgs),
    /// List the entries of a subtree (or all).
    List(RegistryListArgs),
}

#[derive(Debug, Args)]
pub struct RegistryImportArgs {
    /// The JSON Lines file; blank lines and lines starting with '#' are skipped.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    #[command(flatten)]
    pub client: ClientArgs,
}

#[derive(Debug, Args)]
pub struct RegistryListArgs {
    /// Only the subtree of this region code (3301: a city and everything below it).
    #[arg(long, value_name = "REGION")]
    pub within: Option<String>,
    /// Print one JSON object per line instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub client: ClientArgs,
}

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
    /// Who closes or recomputes it (kept with the version).
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

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Print the configuration in force (JSON) and its version.
    Show(StatusArgs),
    /// Replace the whole configuration with a JSON file (comments allowed; see
    /// crates/domain/data/rules.example.json).
    Set(RulesSetArgs),
}

#[derive(Debug, Args)]
pub struct RulesSetArgs {
    /// The configuration file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Refuse the change if another version than this is in force (as `egov rules show`
    /// printed it); by default the file replaces whatever is in force.
    #[arg(long, value_name = "N")]
    pub expected_version: Option<i64>,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// Commands of one platform run alone.
#[derive(Debug, Subcommand)]
pub enum ServeCommand {
    /// Serve this platform alone on its own port, until Ctrl-C or SIGTERM.
    Serve(ServerArgs),
}

/// Where a platform keeps its data and listens; shared by `up` and the `serve` commands.
#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// The shared database: postgres://USER:PASSWORD@HOST:PORT/DB for production, or
    /// sqlite://PATH/TO/FILE.db; default: an SQLite file in --data-dir. The password is never
    /// printed; a password in the URL shows in the process list, so prefer
    /// --database-password-file (or give the URL in the environment).
    #[arg(
        long,
        env = "EGOV_DATABASE_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub database_url: Option<String>,
    /// A file holding the PostgreSQL password (a container secret, say), used instead of one
    /// in the URL so that it never shows in the process list; surrounding white space is
    /// ignored. Only with a postgres:// --database-url.
    #[arg(long, env = "EGOV_DATABASE_PASSWORD_FILE", value_name = "FILE")]
    pub database_password_file: Option<PathBuf>,
    /// The address and port to serve gRPC on (0.0.0.0:50051 to accept other machines; port 0
    /// picks a free port).
    #[arg(
        long,
        env = "EGOV_LISTEN",
        default_value = "127.0.0.1:50051",
        value_name = "ADDR"
    )]
    pub listen: String,
    /// The directory of the embedded SQLite database (egov.db), created when missing; unused
    /// with a postgres:// --database-url.
    #[arg(
        long,
        env = "EGOV_DATA_DIR",
        default_value = "./egov-data",
        value_name = "DIR"
    )]
    pub data_dir: PathBuf,
    /// How long to wait for a database connection, at start-up and for each call, in seconds.
    /// Short, so that during a database outage calls fail fast with UNAVAILABLE (and are
    /// retried) and recover within seconds once it is back.
    #[arg(
        long,
        env = "EGOV_DB_TIMEOUT",
        default_value_t = 5,
        value_name = "SECONDS"
    )]
    pub db_timeout: u64,
    /// The most database connections this process opens (PostgreSQL: keep the sum over all
    /// processes below the server's max_connections).
    #[arg(
        long,
        env = "EGOV_DB_MAX_CONNECTIONS",
        default_value_t = 10,
        value_name = "N"
    )]
    pub db_max_connections: u32,
    /// The most connections one client address may hold open at once; more are closed as soon
    /// as they are accepted, so that idle sockets of one peer cannot lock out the others.
    #[arg(
        long,
        env = "EGOV_MAX_CONNECTIONS_PER_PEER",
        default_value_t = 64,
        value_name = "N"
    )]
    pub max_connections_per_peer: usize,
    /// How long a new connection may send nothing before it is closed, in seconds.
    #[arg(
        long,
        env = "EGOV_HANDSHAKE_TIMEOUT",
        default_value_t = 10,
        value_name = "SECONDS"
    )]
    pub handshake_timeout: u64,
    /// How often HTTP/2 pings check that a client is still there, in seconds; one that does
    /// not answer within 10 s is closed.
    #[arg(
        long,
        env = "EGOV_KEEPALIVE",
        default_value_t = 30,
        value_name = "SECONDS"
    )]
    pub keepalive: u64,
    /// How far ahead of this server's clock a record may be dated, in seconds: a record dated
    /// later is refused (its `occurred_at`, with the reason), since records are dated when
    /// they happened. Raise it only for service centres whose clocks cannot be kept right.
    #[arg(
        long,
        env = "EGOV_MAX_CLOCK_SKEW",
        default_value_t = 300,
        value_name = "SECONDS"
    )]
    pub max_clock_skew: u64,
    /// How long calls in flight may finish after Ctrl-C or SIGTERM before the server closes
    /// them, in seconds.
    #[arg(long, default_value_t = 10, value_name = "SECONDS")]
    pub grace: u64,
    /// The supervision rules' levels and thresholds (docs/design.md §3), per matter and department:
    /// a JSON file, comments allowed; see crates/domain/data/rules.example.json. Checked before the
    /// port is bound (exit 2 naming the bad field). Default: the built-in configuration.
    #[arg(long, env = "EGOV_RULES", value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// The performance scores' weights, deductions and bonuses (docs/design.md §4): a JSON file,
    /// comments allowed; see crates/domain/data/scores.example.json. Checked before the port is
    /// bound (exit 2 naming the bad field). Default: the built-in configuration.
    #[arg(long, env = "EGOV_SCORES", value_name = "FILE")]
    pub scores: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct UpArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// After starting, import the bundled sample city (8 matters, ~40 cases of Oct-Nov 2026)
    /// if the catalogue is empty, then print warnings live as they are raised.
    #[arg(long)]
    pub with_sample: bool,
}

/// `egov demo`: the simulated city's month. Its time is the simulator's, only here: the
/// platforms of `up` and `serve` always run on the wall clock.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The seed of the city, its traffic and its people: the same seed raises the same
    /// warnings at the same simulated times.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub seed: u64,
    /// Simulated seconds per second: 3600 is an hour a second, the default a month in about a
    /// minute; 0 runs as fast as the platforms settle.
    #[arg(long, default_value_t = egov_sim::demo::DEFAULT_SPEED, value_name = "S")]
    pub speed: f64,
    /// Calendar days to simulate.
    #[arg(long, default_value_t = 30, value_name = "N")]
    pub days: u32,
    /// Departments in the city (city bureaus first, then district branches).
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub departments: usize,
    /// The first simulated day (the bundled calendar knows 2004-2026).
    #[arg(long, default_value = "2026-09-01", value_name = "YYYY-MM-DD")]
    pub start: chrono::NaiveDate,
    /// The SQLite file to create (it must not exist yet); default: egov.db in a new temporary
    /// directory, kept after the demo for `egov up --database-url sqlite://...`.
    #[arg(long, value_name = "FILE")]
    pub db: Option<PathBuf>,
    /// Where both platforms serve while the demo runs (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:0", value_name = "ADDR")]
    pub listen: String,
    /// After the month, keep serving (the clock stopped at the month's end) until Ctrl-C, so
    /// `egov case`, `egov warnings` and `egov watch` can look at the city.
    #[arg(long)]
    pub keep: bool,
    /// Print every warning as it is raised, not the first of each kind and the red cards.
    #[arg(long)]
    pub every_warning: bool,
}

/// `egov simulate`: the demo's traffic against running platforms, for load tests.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// The approval platform (`egov up` serves both platforms on one port).
    #[arg(
        long,
        env = "EGOV_TARGET",
        default_value = "http://127.0.0.1:50051",
        value_name = "URL"
    )]
    pub target: String,
    /// The supervision platform, to count the warnings raised during the run (give --target
    /// again when one `egov up` serves both); without it, warnings are not watched.
    #[arg(long, value_name = "URL")]
    pub supervision: Option<String>,
    /// Records a second to send: `500` or `500/s`.
    #[arg(long, default_value = "200/s", value_name = "N/s")]
    pub rate: String,
    /// How long to send: `90s`, `5m`, or seconds.
    #[arg(long, default_value = "60s", value_name = "DURATION")]
    pub duration: String,
    /// The seed of the city and its traffic.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub seed: u64,
    /// Departments in the city.
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub departments: usize,
    /// Cases in flight at once; their records interleave.
    #[arg(long, default_value_t = 500, value_name = "N")]
    pub open_cases: usize,
}

/// Where a client command finds the platforms.
#[derive(Debug, Clone, Args)]
pub struct ClientArgs {
    /// The gRPC address of the platform (`egov up` serves both on one port).
    #[arg(
        long,
        env = "EGOV_TARGET",
        default_value = "http://127.0.0.1:50051",
        value_name = "URL"
    )]
    pub target: String,
}

#[derive(Debug, Subcommand)]
pub enum MattersCommand {
    /// Create or update catalogue entries from a JSON Lines file (one egov.approval.v1.Matter
    /// per line, canonical protobuf JSON); reports created, updated, unchanged and rejected.
    Import(MattersImportArgs),
    /// List the catalogue, ordered by matter code.
    List(MattersListArgs),
    /// List every version of one matter, oldest first: a case counts from the version in force
    /// when it was accepted (or received).
    History(MattersHistoryArgs),
}

#[derive(Debug, Args)]
pub struct MattersHistoryArgs {
    /// The matter code.
    #[arg(value_name = "CODE")]
    pub code: String,
    /// Print one JSON object per line (canonical protobuf JSON of the MatterVersion) instead of
    /// a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub client: ClientArgs,
}

#[derive(Debug, Args)]
pub struct MattersImportArgs {
    /// The JSON Lines file of matters; blank lines and lines starting with '#' are skipped.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    #[command(flatten)]
    pub client: ClientArgs,
}

#[derive(Debug, Args)]
pub struct MattersListArgs {
    /// Only matters of this department code.
    #[arg(long, value_name = "CODE")]
    pub department: Option<String>,
    /// Only matters of the departments of this region subtree (3301: the city's and its
    /// districts' departments, as registered with `egov departments import`).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// Print one JSON object per line (canonical protobuf JSON of the Matter) instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub client: ClientArgs,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The JSON Lines file of records (one egov.approval.v1.Record per line, the same format
    /// as the gRPC stream); blank lines and lines starting with '#' are skipped. The file is
    /// read whole first, then sent grouped by case: each case's records together, in file
    /// order.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// Warning levels, as typed on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Level {
    /// 提醒: a notice to the handler.
    #[value(alias = "r")]
    Reminder,
    /// 黄牌: the department must respond.
    #[value(alias = "yellow-card")]
    Yellow,
    /// 红牌: a serious breach.
    #[value(alias = "red-card")]
    Red,
}

/// Supervision rules (docs/design.md §3), as typed on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Rule {
    /// Few working days left to the promised deadline.
    ApproachingDeadline,
    /// Not completed at the promised deadline.
    PromisedLimitPassed,
    /// Not completed at the statutory deadline.
    StatutoryLimitPassed,
    /// No acceptance decision within 5 working days of receipt.
    AcceptanceOverdue,
    /// A step exceeded its own limit.
    StepOverdue,
    /// A second correction notice on one case.
    RepeatedCorrection,
    /// A refusal or denial without reasons.
    MissingReasons,
    /// A suspension without kind or reason, over its planned end, or too many.
    SuspensionAbuse,
    /// More extension than the law allows, or no approver.
    ExtensionAbuse,
    /// A fee not in the catalogue, or above its amount.
    IrregularFee,
    /// Records out of order.
    ProcedureAnomaly,
    /// No certificate within 10 working days of approval.
    CertificateOverdue,
}

/// Filters shared by `watch` and `warnings`.
#[derive(Debug, Clone, Args)]
pub struct WarningFilterArgs {
    /// Only warnings of this department code.
    #[arg(long, value_name = "CODE")]
    pub department: Option<String>,
    /// Only warnings of cases whose region code starts with this prefix (3301: a city and all
    /// its districts).
    #[arg(long, value_name = "PREFIX")]
    pub region: Option<String>,
    /// Only warnings of this level; repeat the flag for several.
    #[arg(long, value_enum, value_name = "LEVEL")]
    pub level: Vec<Level>,
    /// Only warnings held by the supervision office of this region code (that office's inbox:
    /// warnings of its own region, and those escalated to it from below).
    #[arg(long, value_name = "REGION")]
    pub office: Option<String>,
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    #[command(flatten)]
    pub filter: WarningFilterArgs,
    /// Resume after this position (the `position` of a warning printed earlier with --json);
    /// without it, the whole warning log is replayed first, then new warnings follow.
    #[arg(long, value_name = "TOKEN")]
    pub after: Option<String>,
    /// Print one JSON object per line (canonical protobuf JSON of the Warning, with its
    /// position) instead of a readable line.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub client: ClientArgs,
}

#[derive(Debug, Args)]
pub struct CaseArgs {
    /// The case number (办件编号), e.g. HZ-2026-0031.
    #[arg(value_name = "CASE_NO")]
    pub case_no: String,
    /// Print the case as one JSON object (canonical protobuf JSON of the Case) instead of text.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub client: ClientArgs,
}

#[derive(Debug, Args)]
pub struct WarningsArgs {
    #[command(flatten)]
    pub filter: WarningFilterArgs,
    /// Only warnings of this rule; repeat the flag for several.
    #[arg(long, value_enum, value_name = "RULE")]
    pub rule: Vec<Rule>,
    /// Only warnings of this case number.
    #[arg(long = "case", value_name = "CASE_NO")]
    pub case_no: Option<String>,
    /// Print one JSON object per line (canonical protobuf JSON of the Warning) instead of a
    /// table.
    #[arg(long)]
    pub json: bool,
    /// The most warnings to print.
    #[arg(long, default_value_t = 50, value_name = "N")]
    pub limit: u32,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// The correction workflow (docs/design.md §3): raised -> acknowledged -> answered -> closed, or
/// escalated from any open state.
#[derive(Debug, Subcommand)]
pub enum WarningCommand {
    /// The department acknowledges a raised warning.
    Ack(WarningTransitionArgs),
    /// The department answers an acknowledged warning (an explanation or a correction).
    Answer(WarningTransitionArgs),
    /// A supervisor accepts the answer of an answered warning.
    Close(WarningTransitionArgs),
    /// A supervisor escalates an open warning to the supervision office one level up.
    Escalate(WarningTransitionArgs),
}

#[derive(Debug, Args)]
pub struct WarningTransitionArgs {
    /// The warning's id (as `egov warnings --json` prints it).
    #[arg(value_name = "ID")]
    pub id: String,
    /// Who makes the change: a staff identifier.
    #[arg(long, value_name = "NAME")]
    pub actor: String,
    /// Why: the remark, the answer's explanation or correction, the supervisor's reason.
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
    /// A reference to an attachment (document id or URL); repeat for several.
    #[arg(long = "attachment", value_name = "REF")]
    pub attachments: Vec<String>,
    /// The region code of the supervision office you act for: closing and escalating are then
    /// refused for warnings held by an office outside its subtree.
    #[arg(long, value_name = "REGION")]
    pub office: Option<String>,
    /// Print the warning as one JSON object (canonical protobuf JSON, with its history).
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// Webhooks (supervision platform): receivers of warnings by HTTP POST.
///
/// Each matching warning is POSTed once as JSON with the headers `Egov-Delivery: <id>` (the
/// same on every attempt: deduplicate by it) and `Egov-Signature: t=<unix seconds>,v1=<hex
/// HMAC-SHA256(secret, "<t>.<body>")>`. A 2xx answer within 10 s delivers; anything else is
/// retried after 1 s, 2 s, 4 s ... (at most 10 min apart) up to --max-attempts. Only http://
/// is spoken: for an https:// receiver, run a TLS-terminating relay next to the platform.
#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Register a receiver; prints its id. Example:
    /// egov webhook add http://127.0.0.1:8080/egov --secret "$(openssl rand -hex 16)" --min-level yellow
    Add(WebhookAddArgs),
    /// List the receivers (removed ones too), with their filters and delivery counts.
    List(WebhookListArgs),
    /// Remove a receiver: no new deliveries, pending ones cancelled; its history stays.
    Remove(WebhookIdArgs),
    /// Show a receiver's deliveries, newest first: attempts, delivery time, last error, next
    /// attempt.
    Deliveries(WebhookDeliveriesArgs),
}

#[derive(Debug, Args)]
pub struct WebhookAddArgs {
    /// Where to POST the warnings: http://HOST[:PORT]/PATH.
    #[arg(value_name = "URL")]
    pub url: String,
    /// The key of the Egov-Signature HMAC, at least 16 characters, shared with the receiver
    /// (prefer EGOV_WEBHOOK_SECRET to keep it out of the shell history). Never shown again.
    #[arg(
        long,
        env = "EGOV_WEBHOOK_SECRET",
        hide_env_values = true,
        value_name = "SECRET"
    )]
    pub secret: String,
    /// Only warnings of this department code.
    #[arg(long, value_name = "CODE")]
    pub department: Option<String>,
    /// Only warnings of cases whose region code starts with this prefix (3301: a city and all
    /// its districts).
    #[arg(long, value_name = "PREFIX")]
    pub region: Option<String>,
    /// Only warnings of this level or a more serious one (yellow: yellow and red cards).
    #[arg(long, value_enum, value_name = "LEVEL")]
    pub min_level: Option<Level>,
    /// Attempts before a delivery is given up, 1 to 100 (default 20: retries over about
    /// 1 h 45 min).
    #[arg(long, value_name = "N")]
    pub max_attempts: Option<u32>,
    /// Print the receiver as one JSON object (canonical protobuf JSON).
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub client: ClientArgs,
}

#[derive(Debug, Args)]
pub struct WebhookListArgs {
    /// Print one JSON object per line (canonical protobuf JSON of the Webhook) instead of a
    /// table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub client: ClientArgs,
}

#[derive(Debug, Args)]
pub struct WebhookIdArgs {
    /// The receiver's id (as `egov webhook list` prints it).
    #[arg(value_name = "ID")]
    pub id: String,
    #[command(flatten)]
    pub client: ClientArgs,
}

#[derive(Debug, Args)]
pub struct WebhookDeliveriesArgs {
    /// The receiver's id (as `egov webhook list` prints it).
    #[arg(value_name = "ID")]
    pub id: String,
    /// Only the deliveries given up after their last attempt.
    #[arg(long)]
    pub failed: bool,
    /// Only the deliveries still waiting for an attempt.
    #[arg(long)]
    pub pending: bool,
    /// The most deliveries to print.
    #[arg(long, default_value_t = 50, value_name = "N")]
    pub limit: u32,
    /// Print one JSON object per line (canonical protobuf JSON of the WebhookDelivery)
    /// instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub client: ClientArgs,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub client: ClientArgs,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_argument_has_help() {
        fn check(cmd: &clap::Command, path: &str) {
            let path = format!("{path} {}", cmd.get_name());
            assert!(
                cmd.get_about().is_some() || path == " egov",
                "{path} has no help"
            );
            for arg in cmd.get_arguments() {
                let id = arg.get_id().as_str();
                if id == "help" || id == "version" {
                    continue;
                }
                assert!(arg.get_help().is_some(), "{path} --{id} has no help");
            }
            for sub in cmd.get_subcommands() {
                if sub.get_name() != "help" {
                    check(sub, &path);
                }
            }
        }
        check(&Cli::command(), "");
    }
}
