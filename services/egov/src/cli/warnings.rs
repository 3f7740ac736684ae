//! `egov watch`, `egov warnings` and the warning commands: levels and rules as typed, the
//! filters of a warning list or stream, and the workflow transitions of one warning.

use super::*;

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
    /// A hash chain broke: a stored record or an audit row was changed outside the platforms.
    Integrity,
    /// A complaint's acceptance decision or the department's report is late.
    ComplaintOverdue,
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
    /// Ignored, kept for older scripts: the history names the principal of the credential
    /// (--token), not a name the caller chooses.
    #[arg(long, default_value = "", value_name = "NAME")]
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
