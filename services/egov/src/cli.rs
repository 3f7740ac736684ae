//! The command line as clap types: every command and flag with its sentence of help, and the
//! "Getting started" sequence at the end of `egov --help`. Values that need checking beyond
//! their type (database URLs, addresses, targets) are kept as text here and validated in
//! [`crate::settings`], so a bad value fails with one clear line and never echoes a secret.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

mod accountability;
mod complaints;
mod connections;
mod observe;
mod scores;
mod warnings;
mod webhooks;

pub use accountability::*;
pub use complaints::*;
pub use connections::ConnectionArgs;
pub use observe::{LogFormat, ObserveArgs};
pub use scores::*;
pub use warnings::*;
pub use webhooks::*;
mod accounts;
mod audit;
pub use accounts::AccountsCommand;
pub use audit::{AuditArgs, DatabaseArgs, VerifyArgs};

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
  egov warning ack 12 --reason \"seen\"              # the correction workflow: ack|answer|close|escalate
  egov tokens create hall-1 --role service_centre --scope departments:market  # a credential, shown once
  egov webhook add http://sms.example/egov --secret \"$S\"    # warnings POSTed, signed, to an SMS/e-mail gateway
  egov case HZ-2026-0031                           # one case: records and deadline clocks, explained
  egov scores --period 2026-Q4 --region 3301       # departments ranked: indicators, scores, bottom two (--csv, --json)
  egov audit --outcome PERMISSION_DENIED           # who did what: the audit log (reads the database)
  egov verify                                      # check the record log's and the audit log's hash chains

Supervision rules: levels and thresholds (docs/design.md §3) are built in; `egov up --rules FILE` (also
`approval serve`, `supervision serve`; env EGOV_RULES) overrides them per matter and department
from a JSON file with comments, checked at start (exit 2 naming the bad field); the documented
example is crates/domain/data/rules.example.json. The configuration lives in the database: a file
given at start wins and is recorded as a new version; without one the stored one is in force.
`egov rules show` and `egov rules set FILE` read and change it on a running platform. A warning decided by a department's or a
matter's configuration ends with (configuration: department:market).

Production: serve over TLS with `--tls-cert FILE --tls-key FILE` (add `--client-ca FILE` for mutual
TLS), reloaded when the files change; clients then take `--target https://HOST:PORT --ca FILE`
(and `--tls-cert/--tls-key` for a client certificate). Webhooks reach public addresses only unless
`--webhook-allow` names a host or network (a gateway on 127.0.0.1: `--webhook-allow 127.0.0.1`).
See deploy/README.md.

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
    /// Bearer API tokens of machine clients and people (docs/design.md "Trust"): create one
    /// for a principal with a role and a scope (shown once, stored only as its hash), list
    /// them, revoke one. Works on the database directly, like `egov up`.
    #[command(subcommand)]
    Tokens(TokensCommand),
    /// Local accounts people sign in with (`SignIn`, to a short-lived token): create one with
    /// a role and a scope (its password asked for, stored as an argon2id hash), list them,
    /// disable one, change a password. Works on the database directly, like `egov tokens`.
    #[command(subcommand)]
    Accounts(AccountsCommand),
    /// The supervision rules' configuration in force, shared by both platforms: show it, or
    /// replace it (the due instants of the open cases it moves are recomputed).
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Performance scores (docs/design.md §4): each department's indicators, score and rank in a
    /// period (year, quarter or month) and region subtree, the bottom two and leadership
    /// review; close and recompute periods.
    Scores(ScoresArgs),
    /// Complaints from the public (docs/design.md §3.3): file, list, show, and work one through
    /// acceptance, forwarding, the department's report, closing and the complainant's feedback.
    #[command(subcommand)]
    Complaints(ComplaintsCommand),
    /// Accountability (docs/design.md §3.4): record a decision (诫勉谈话, 通报批评, 效能告诫,
    /// 调离岗位) for a red card or a substantiated complaint, and list or export the register.
    #[command(subcommand)]
    Accountability(AccountabilityCommand),
    /// The jurisdiction tree (province > city > county > township): import and list regions.
    #[command(subcommand)]
    Regions(RegistryCommand),
    /// The departments and the region each belongs to: import and list them.
    #[command(subcommand)]
    Departments(RegistryCommand),
    /// The audit log: who did what (every state-changing call and every refused one), with
    /// filters by principal, action, outcome and time. Reads the database directly.
    Audit(AuditArgs),
    /// Check the hash chains of the record log (every case) and of the audit log; exits 1
    /// naming the first broken item (case and record, or audit row) and what is wrong, 0 with a
    /// summary when every chain holds. Reads the database directly.
    Verify(VerifyArgs),
}

impl Command {
    /// A server command's observability options, with the name its process has in traces;
    /// other commands write text logs and export nothing.
    pub fn observe(&self) -> Option<(&ObserveArgs, &'static str)> {
        match self {
            Command::Up(args) => Some((&args.server.observe, "egov")),
            Command::Approval(ServeCommand::Serve(args)) => Some((&args.observe, "egov-approval")),
            Command::Supervision(ServeCommand::Serve(args)) => {
                Some((&args.observe, "egov-supervision"))
            }
            _ => None,
        }
    }
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
    /// Limits on the clients' connections.
    #[command(flatten)]
    pub connections: ConnectionArgs,
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
    /// Serve gRPC over TLS with this certificate chain (PEM, the server's certificate
    /// first); needs --tls-key. The files are looked at every 5 s (and at once on SIGHUP): a
    /// renewed certificate serves new connections without a restart, and a bad new file
    /// keeps the old one in force (logged as an error). Clients then use https:// and --ca.
    #[arg(long, env = "EGOV_TLS_CERT", value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM: PKCS#8, PKCS#1 or SEC1); keep it mode 0600.
    #[arg(long, env = "EGOV_TLS_KEY", value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Mutual TLS: clients must present a certificate signed by this CA (PEM bundle); its
    /// subject (common name, or first DNS name) identifies the client, e.g. a service
    /// centre's system. Needs --tls-cert.
    #[arg(
        long,
        env = "EGOV_CLIENT_CA",
        value_name = "FILE",
        requires = "tls_cert"
    )]
    pub client_ca: Option<PathBuf>,
    /// Non-public webhook destinations to allow, comma-separated: host names, addresses or
    /// networks (sms-gateway.internal,10.20.0.0/16). By default webhooks reach public
    /// addresses only: loopback, private (10/8, 172.16/12, 192.168/16, fc00::/7),
    /// link-local and cloud metadata addresses are refused, when a hook is created and
    /// again for the addresses each delivery connects to.
    #[arg(
        long,
        env = "EGOV_WEBHOOK_ALLOW",
        value_name = "LIST",
        value_delimiter = ','
    )]
    pub webhook_allow: Vec<String>,
    /// Who may do what: a Cedar policy file (see deploy/policy.cedar, the built-in one, and
    /// deploy/policy.cedarschema). Checked before the port is bound (exit 2 naming the error).
    #[arg(long, env = "EGOV_POLICY", value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Calls a second one credential may make (sustained; twice as many in a burst); beyond,
    /// RESOURCE_EXHAUSTED with a retry delay.
    #[arg(
        long,
        env = "EGOV_RATE_LIMIT",
        default_value_t = 2000,
        value_name = "N"
    )]
    pub rate_limit: u32,
    /// How long the token a local account signs in to (`SignIn`) works: `8h`, `30m`, `1d`.
    #[arg(
        long,
        env = "EGOV_SESSION_TTL",
        default_value = "8h",
        value_name = "DURATION"
    )]
    pub session_ttl: String,
    /// Streams one credential may hold open at once.
    #[arg(long, env = "EGOV_MAX_STREAMS", default_value_t = 64, value_name = "N")]
    pub max_streams: usize,
    /// Mutual TLS: a file mapping client certificate subjects to principals, one a line:
    /// `SUBJECT PRINCIPAL ROLE SCOPE` (e.g. `hall-xihu.example hall-xihu service_centre
    /// departments:market`); `#` starts a comment.
    #[arg(long, env = "EGOV_CLIENT_PRINCIPALS", value_name = "FILE")]
    pub client_principals: Option<PathBuf>,
    /// People's sign-in through the city's identity provider: the JWKS file of its signing
    /// keys. With it, a bearer JWT issued by --jwt-issuer for --jwt-audience is accepted, its
    /// `sub` the principal, its --jwt-role-claim and --jwt-scope-claim the role and scope.
    #[arg(long, env = "EGOV_JWKS", value_name = "FILE", requires_all = ["jwt_issuer", "jwt_audience"])]
    pub jwks: Option<PathBuf>,
    /// The issuer (`iss`) of accepted JWTs.
    #[arg(long, env = "EGOV_JWT_ISSUER", value_name = "URL")]
    pub jwt_issuer: Option<String>,
    /// The audience (`aud`) of accepted JWTs: this deployment.
    #[arg(long, env = "EGOV_JWT_AUDIENCE", value_name = "TEXT")]
    pub jwt_audience: Option<String>,
    /// The claim holding the role (admin, service_centre, department, supervisor, analyst).
    #[arg(long, default_value = "egov_role", value_name = "CLAIM")]
    pub jwt_role_claim: String,
    /// The claim holding the scope (`*`, `region:3301`, `departments:market`).
    #[arg(long, default_value = "egov_scope", value_name = "CLAIM")]
    pub jwt_scope_claim: String,
    #[command(flatten)]
    pub observe: ObserveArgs,
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
    /// The approval platform (`egov up` serves both platforms on one port), and the credential.
    #[command(flatten)]
    pub client: ClientArgs,
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

#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Create a token for a principal; prints it once (only its SHA-256 is stored). Example:
    /// egov tokens create hall-1 --role service_centre --scope departments:market --expires 90d
    Create(TokensCreateArgs),
    /// List the tokens: id, principal, role, scope, expiry, revocation (never the tokens).
    List(TokensDbArgs),
    /// Revoke a token by its id (from `egov tokens list`); every platform refuses it within
    /// seconds.
    Revoke(TokensRevokeArgs),
}

#[derive(Debug, Args)]
pub struct TokensCreateArgs {
    /// The principal's name: the actor of its acts, the source of its records ("system" is
    /// reserved for the platform).
    #[arg(value_name = "PRINCIPAL")]
    pub principal: String,
    /// admin, service_centre, department, supervisor or analyst (docs/design.md §8).
    #[arg(long, value_name = "ROLE")]
    pub role: String,
    /// Where it may act: `*` (everywhere; admins), `region:3301` (a region's subtree:
    /// supervisors, analysts, a region's service centre) or `departments:market,tax`.
    #[arg(long, default_value = "*", value_name = "SCOPE")]
    pub scope: String,
    /// How long it is valid: `90d`, `12h`, `30m`; without it, until revoked.
    #[arg(long, value_name = "DURATION")]
    pub expires: Option<String>,
    #[command(flatten)]
    pub db: TokensDbArgs,
}

#[derive(Debug, Args)]
pub struct TokensRevokeArgs {
    /// The token's id (t-...).
    #[arg(value_name = "ID")]
    pub id: String,
    #[command(flatten)]
    pub db: TokensDbArgs,
}

/// The database the tokens live in: the platforms' own.
#[derive(Debug, Clone, Args)]
pub struct TokensDbArgs {
    /// The platforms' database (as for `egov up`); default: the SQLite file in --data-dir.
    #[arg(
        long,
        env = "EGOV_DATABASE_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub database_url: Option<String>,
    /// The directory of the embedded database (as for `egov up`).
    #[arg(
        long,
        env = "EGOV_DATA_DIR",
        default_value = "./egov-data",
        value_name = "DIR"
    )]
    pub data_dir: PathBuf,
}

/// Where a client command finds the platforms, and its credential.
#[derive(Clone, Args)]
pub struct ClientArgs {
    /// The gRPC address of the platform (`egov up` serves both on one port).
    #[arg(
        long,
        env = "EGOV_TARGET",
        default_value = "http://127.0.0.1:50051",
        value_name = "URL"
    )]
    pub target: String,
    /// The CA certificate (PEM) that signed the platform's TLS certificate; needed for an
    /// https:// --target.
    #[arg(long, env = "EGOV_CA", value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// A client certificate (PEM) for a platform that asks for one (mutual TLS); needs
    /// --tls-key.
    #[arg(
        long = "tls-cert",
        env = "EGOV_CLIENT_CERT",
        value_name = "FILE",
        requires = "client_key"
    )]
    pub client_cert: Option<PathBuf>,
    /// The private key of the client certificate (PEM).
    #[arg(
        long = "tls-key",
        env = "EGOV_CLIENT_KEY",
        value_name = "FILE",
        requires = "client_cert"
    )]
    pub client_key: Option<PathBuf>,
    /// The bearer token to call with (from `egov tokens create`). Without it, the local admin
    /// credential that `egov up` or `egov demo` wrote into --data-dir is used.
    #[arg(long, env = "EGOV_TOKEN", value_name = "TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Where `egov up` keeps its data (and its local admin credential, admin.token).
    #[arg(long = "data-dir", default_value = "./egov-data", value_name = "DIR")]
    pub data_dir: std::path::PathBuf,
}

// By hand: the token is a secret.
impl std::fmt::Debug for ClientArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientArgs")
            .field("target", &self.target)
            .field("data_dir", &self.data_dir)
            .field("ca", &self.ca)
            .field("client_cert", &self.client_cert)
            .finish_non_exhaustive()
    }
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

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub client: ClientArgs,
}

#[cfg(test)]
mod tests;
