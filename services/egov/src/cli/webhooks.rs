//! `egov webhook`: registering, listing and removing the receivers of warnings by HTTP POST,
//! and their deliveries.

use super::*;

/// Webhooks (supervision platform): receivers of warnings by HTTP POST.
///
/// Each matching warning is POSTed once as JSON with the headers `Egov-Delivery: <id>` (the
/// same on every attempt: deduplicate by it) and `Egov-Signature: t=<unix seconds>,v1=<hex
/// HMAC-SHA256(secret, "<t>.<body>")>`. A 2xx answer within 10 s delivers; anything else is
/// retried after 1 s, 2 s, 4 s ... (at most 10 min apart) up to --max-attempts. Only http://
/// is spoken: for an https:// receiver, run a TLS-terminating relay next to the platform.
/// Receivers must be public addresses unless the platform's --webhook-allow names them
/// (loopback, private, link-local and metadata addresses are refused); a failed attempt
/// keeps the answer's status, never its body; URLs are listed with query values masked.
#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Register a receiver; prints its id. Example:
    /// egov webhook add http://sms.example/egov --secret "$(openssl rand -hex 16)" --min-level yellow
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
