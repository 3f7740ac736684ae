//! `egov accountability`: accountability decisions and their register (docs/design.md §3.4).

use super::*;

#[derive(Debug, Subcommand)]
pub enum AccountabilityCommand {
    /// Record an accountability decision (责任追究) for a red card or a complaint closed as
    /// substantiated: the office whose region covers it, or an admin. The decision is kept on
    /// the department's record and costs it the measure's configured points
    /// (`deductions.accountability` of the score configuration) in the period of its date.
    ///
    /// Example: egov accountability record --warning 42 --person 王五 --measure
    /// circulated-criticism --on 2026-04-02 --grounds "the fee charged was not in the catalogue"
    Record(AccountabilityRecordArgs),
    /// The accountability register, newest first: an office or a leader sees its region
    /// subtree, a department its own record. Filter by region, department, measure and date;
    /// export with --csv (one line per decision, for a spreadsheet) or --json.
    ///
    /// Example: egov accountability list --region 3301 --measure removal-from-post --from
    /// 2026-01-01 --to 2026-12-31 --csv > register.csv
    List(AccountabilityListArgs),
}

/// An accountability measure, lightest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MeasureArg {
    /// 诫勉谈话: a leader's admonishing talk, put on file.
    AdmonitionTalk,
    /// 通报批评: criticism circulated to the units of the region.
    CirculatedCriticism,
    /// 效能告诫: a formal efficiency warning.
    EfficiencyWarning,
    /// 调离岗位: removal from the post where the fault happened.
    RemovalFromPost,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("grounds_of").required(true).args(["warning", "complaint"])))]
pub struct AccountabilityRecordArgs {
    /// The red card it is for: its warning id (`egov warnings --level red`).
    #[arg(long, value_name = "ID")]
    pub warning: Option<String>,
    /// The complaint closed as substantiated it is for: its number.
    #[arg(long, value_name = "ID")]
    pub complaint: Option<String>,
    /// The person held accountable; leave out when it is the department itself.
    #[arg(long, value_name = "NAME")]
    pub person: Option<String>,
    /// The department; leave out for the card's or complaint's, which it must be.
    #[arg(long, value_name = "CODE")]
    pub department: Option<String>,
    /// The measure taken.
    #[arg(long, value_enum)]
    pub measure: MeasureArg,
    /// The local day decided (YYYY-MM-DD): not after today, not before its grounds. The
    /// decision counts in this day's month, quarter and year.
    #[arg(long = "on", value_name = "DATE")]
    pub decided_on: String,
    /// The facts and the rule applied, as the decision document says.
    #[arg(long, value_name = "TEXT")]
    pub grounds: String,
    /// Print the decision as one JSON object.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub client: ClientArgs,
}

#[derive(Debug, Args)]
pub struct AccountabilityListArgs {
    /// Only decisions of departments in this region subtree (default: your scope).
    #[arg(long, value_name = "CODE")]
    pub region: Option<String>,
    /// Only this department's.
    #[arg(long, value_name = "CODE")]
    pub department: Option<String>,
    /// Only this measure (repeat for several).
    #[arg(long, value_enum)]
    pub measure: Vec<MeasureArg>,
    /// Only decisions dated on or after this local day (YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    pub from: Option<String>,
    /// Only decisions dated on or before this local day (YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    pub to: Option<String>,
    /// Export as CSV with a header line: every decision of every page.
    #[arg(long, conflicts_with = "json")]
    pub csv: bool,
    /// Export as JSON, one decision per line: every decision of every page.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub client: ClientArgs,
}
