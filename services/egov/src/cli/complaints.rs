//! `egov complaints`: complaints from the public and their workflow (docs/design.md §3.3).

use super::*;

#[derive(Debug, Subcommand)]
pub enum ComplaintsCommand {
    /// File a complaint about a case, a department or a matter (online), or register one
    /// received by phone, letter or visit (a supervisor); prints its number.
    File(ComplaintFileArgs),
    /// List complaints, newest first (a department sees those about it, an office those it
    /// holds; the complainant only where the office handling it reads).
    List(ComplaintListArgs),
    /// One complaint with its history.
    Show(ComplaintIdArgs),
    /// Accept a filed complaint (the office handles it).
    Accept(ComplaintIdArgs),
    /// Refuse a filed complaint, with the reason the complainant is told.
    Refuse(ComplaintReasonArgs),
    /// Forward a complaint to the department, with the due date of its report.
    Forward(ComplaintForwardArgs),
    /// The department's report on a complaint forwarded to it.
    Report(ComplaintReasonArgs),
    /// Close a complaint as substantiated or not.
    Close(ComplaintCloseArgs),
    /// Record a named complainant's feedback on the outcome.
    Feedback(ComplaintFeedbackArgs),
}

/// What a complaint is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ComplaintSubjectArg {
    /// A case number.
    Case,
    /// A department code.
    Department,
    /// A matter code.
    Matter,
}

/// How a complaint came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ComplaintChannelArg {
    /// Filed by the complainant.
    Online,
    /// A phone call.
    Phone,
    /// A letter.
    Letter,
    /// A visit.
    Visit,
}

#[derive(Debug, Args)]
pub struct ComplaintFileArgs {
    /// What the complaint is about.
    #[arg(long, value_enum, value_name = "KIND")]
    pub about: ComplaintSubjectArg,
    /// The case number, department code or matter code.
    #[arg(value_name = "SUBJECT")]
    pub subject: String,
    /// What happened.
    #[arg(long, value_name = "TEXT")]
    pub summary: String,
    /// The complainant's name; leave out (with --contact) for an anonymous complaint.
    #[arg(long, value_name = "NAME", requires = "contact")]
    pub name: Option<String>,
    /// How the office tells the complainant its decisions (phone or address).
    #[arg(long, value_name = "TEXT", requires = "name")]
    pub contact: Option<String>,
    /// How it came in.
    #[arg(long, value_enum, default_value = "online")]
    pub channel: ComplaintChannelArg,
    /// Print the answer as one JSON object.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub client: ClientArgs,
}

#[derive(Debug, Args)]
pub struct ComplaintListArgs {
    /// Only complaints about this department.
    #[arg(long, value_name = "CODE")]
    pub department: Option<String>,
    /// Only complaints held by offices of this region subtree.
    #[arg(long, value_name = "CODE")]
    pub office: Option<String>,
    /// Print the answer as one JSON object.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub client: ClientArgs,
}

#[derive(Debug, Args)]
pub struct ComplaintIdArgs {
    /// The complaint's number.
    #[arg(value_name = "ID")]
    pub id: String,
    /// Print the complaint as one JSON object.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub client: ClientArgs,
}

#[derive(Debug, Args)]
pub struct ComplaintReasonArgs {
    /// The complaint's number.
    #[arg(value_name = "ID")]
    pub id: String,
    /// Why (a refusal), or what was found and done (a report).
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
    /// Print the complaint as one JSON object.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub client: ClientArgs,
}

#[derive(Debug, Args)]
pub struct ComplaintForwardArgs {
    /// The complaint's number.
    #[arg(value_name = "ID")]
    pub id: String,
    /// The report's due date (local, YYYY-MM-DD: due by its end); default 15 working days.
    #[arg(long, value_name = "DATE")]
    pub due: Option<String>,
    /// What the office asks of the department.
    #[arg(long, default_value = "", value_name = "TEXT")]
    pub note: String,
    /// Print the complaint as one JSON object.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub client: ClientArgs,
}

#[derive(Debug, Args)]
pub struct ComplaintCloseArgs {
    /// The complaint's number.
    #[arg(value_name = "ID")]
    pub id: String,
    /// Found substantiated.
    #[arg(
        long,
        conflicts_with = "unsubstantiated",
        required_unless_present = "unsubstantiated"
    )]
    pub substantiated: bool,
    /// Found not substantiated.
    #[arg(long)]
    pub unsubstantiated: bool,
    /// The office's findings (a named complainant is told them).
    #[arg(long, default_value = "", value_name = "TEXT")]
    pub note: String,
    /// Print the complaint as one JSON object.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub client: ClientArgs,
}

#[derive(Debug, Args)]
pub struct ComplaintFeedbackArgs {
    /// The complaint's number.
    #[arg(value_name = "ID")]
    pub id: String,
    /// The complainant is satisfied with the outcome.
    #[arg(
        long,
        conflicts_with = "unsatisfied",
        required_unless_present = "unsatisfied"
    )]
    pub satisfied: bool,
    /// The complainant is not satisfied.
    #[arg(long)]
    pub unsatisfied: bool,
    /// What they said.
    #[arg(long, default_value = "", value_name = "TEXT")]
    pub comment: String,
    /// Print the complaint as one JSON object.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub client: ClientArgs,
}
