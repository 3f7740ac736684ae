//! What a request may hold: the one place where every text field of every request is checked
//! (no NUL, a length limit by the field's kind) and every list is bounded, before anything
//! else looks at it (proto/README.md has the table).
//!
//! A hostile or broken sender must not cost more than its own request: a NUL byte would make
//! PostgreSQL refuse a whole batch, a 10 MB name would be answered to every client that lists
//! it, and a list of 100,000 entries would keep a core busy. Invalid UTF-8 never gets here:
//! prost refuses it while decoding, and [`crate::codec`] answers INVALID_ARGUMENT naming the
//! field.
//!
//! The items of a batch (records and matters, by their conversions in [`crate::convert`];
//! regions and departments, by the registry) are checked one by one, so one bad item is refused
//! on its own with its field path; the other requests are checked whole by [`check`]. A value is never echoed back in full: [`shown`] cuts it to
//! [`ECHO_CHARS`] characters, and a status lists at most [`MAX_REPORTED`] violations.

use egov_domain::error::FieldError;

use crate::approval::v1 as pb;
use crate::convert::FieldViolations;
use crate::supervision::v1 as spb;

/// The kinds of text on the wire, each with its longest value in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Text {
    /// Identifiers and codes: event ids, case numbers, matter, department and region codes,
    /// steps, fee items, receipt and certificate numbers, warning ids, periods, calendars.
    Id,
    /// Positions and page tokens this server issued, and passwords.
    Token,
    /// Names of things and people: matter, region, department and fee item names, handlers,
    /// approvers, actors, applicant references, a record's source system.
    Name,
    /// Free text: reasons, opinions, comments, results, correction materials.
    Prose,
    /// URLs, webhook secrets and attachment references.
    Url,
    /// A rule configuration (JSON) in `UpdateRuleConfig`.
    Json,
}

impl Text {
    /// The longest value of this kind, in characters (Unicode scalar values).
    pub const fn max_chars(self) -> usize {
        match self {
            Text::Id => 128,
            Text::Token => 512,
            Text::Name => 200,
            Text::Prose => 4000,
            Text::Url => 2048,
            Text::Json => 1 << 20,
        }
    }
}

/// Items in one batch call (`SubmitRecords`, `UpsertMatters`, `UpsertRegions`,
/// `UpsertDepartments`); a stream has no bound, it is stored in batches of this size.
pub const MAX_BATCH: usize = 1000;
/// Materials one correction notice asks for.
pub const MAX_MATERIALS: usize = 100;
/// Step limits, and fee items, of one matter.
pub const MAX_MATTER_ITEMS: usize = 200;
/// Suspension kinds a matter allows (there are 8; a kind listed twice is refused anyway).
pub const MAX_SUSPENSION_KINDS: usize = 16;
/// Attachments of one workflow transition.
pub const MAX_ATTACHMENTS: usize = 20;
/// Enum values in one filter list (levels, rules, states).
pub const MAX_FILTER_VALUES: usize = 32;
/// Characters of a request's value repeated in an error message.
pub const ECHO_CHARS: usize = 64;
/// Violations listed in one error (the rest are counted).
pub const MAX_REPORTED: usize = 20;

/// `value` for an error message: Debug-quoted, cut to [`ECHO_CHARS`] characters.
pub fn shown(value: &str) -> String {
    let mut s = format!("{:?}", cut(value));
    if value.chars().nth(ECHO_CHARS).is_some() {
        s.push_str("...");
    }
    s
}

/// `value` cut to [`ECHO_CHARS`] characters, unquoted (for text of our own, like prost's).
pub fn shown_raw(value: &str) -> String {
    let mut s = cut(value).to_owned();
    if value.chars().nth(ECHO_CHARS).is_some() {
        s.push_str("...");
    }
    s
}

/// An item's identifier as its result repeats it (`RecordResult.event_id`,
/// `MatterResult.matter_code`, `RegistryResult.code`): as sent when it is an acceptable id, cut
/// to [`ECHO_CHARS`] characters (and `...`) when it is longer than any id may be.
pub fn echo_id(value: &str) -> String {
    if value.len() > Text::Id.max_chars() && value.chars().nth(Text::Id.max_chars()).is_some() {
        shown_raw(value)
    } else {
        value.to_owned()
    }
}

fn cut(value: &str) -> &str {
    value
        .char_indices()
        .nth(ECHO_CHARS)
        .map_or(value, |(i, _)| &value[..i])
}

/// Why `value` is not acceptable text of `kind`, if it is not. Linear in the value's length
/// (a value far beyond the limit is refused by its byte length alone).
pub fn text_error(value: &str, kind: Text) -> Option<String> {
    let max = kind.max_chars();
    if value.len() > max && (value.len() > 4 * max || value.chars().count() > max) {
        return Some(format!("is longer than {max} characters"));
    }
    if value.as_bytes().contains(&0) {
        return Some("must not contain NUL characters".to_owned());
    }
    None
}

/// The violations found while one message is checked.
#[derive(Debug, Default)]
pub struct Found(Vec<FieldError>);

impl Found {
    /// Checks one text field at `path`.
    pub fn text(&mut self, path: &str, value: &str, kind: Text) {
        if let Some(reason) = text_error(value, kind) {
            self.0.push(FieldError::new(path, reason));
        }
    }

    /// Checks that the list at `path` has at most `max` items; false when it has more (its
    /// items are then not checked one by one: the request is refused anyway).
    pub fn list(&mut self, path: &str, len: usize, max: usize) -> bool {
        if len > max {
            self.0.push(FieldError::new(
                path,
                format!("has {len} items; at most {max} are allowed"),
            ));
            return false;
        }
        true
    }

    /// Checks a list of text at `path` (`path[i]` names a bad item).
    pub fn texts(&mut self, path: &str, values: &[String], max: usize, kind: Text) {
        if self.list(path, values.len(), max) {
            for (i, v) in values.iter().enumerate() {
                self.text(&format!("{path}[{i}]"), v, kind);
            }
        }
    }

    pub fn into_result(self) -> Result<(), FieldViolations> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(FieldViolations::new(self.0))
        }
    }
}

/// A request message whose text and lists can be checked.
pub trait Bounded {
    /// Adds what is wrong with the message's text and lists to `found`.
    fn check(&self, found: &mut Found);
}

/// Checks a whole request: INVALID_ARGUMENT naming every field out of bounds.
pub fn check<T: Bounded>(message: &T) -> Result<(), FieldViolations> {
    let mut found = Found::default();
    message.check(&mut found);
    found.into_result()
}

/// The message of a request, once [`check`]ed: what every RPC reads its request by.
pub fn checked<T: Bounded>(request: tonic::Request<T>) -> Result<T, tonic::Status> {
    let message = request.into_inner();
    check(&message)?;
    Ok(message)
}

// ---------------------------------------------------------------------------------------------
// Records and matters, checked one by one by their conversions.

impl Bounded for pb::Record {
    fn check(&self, f: &mut Found) {
        use Text::{Id, Name, Prose};
        use pb::record::Body as B;
        f.text("event_id", &self.event_id, Id);
        f.text("case_no", &self.case_no, Id);
        f.text("source", &self.source, Name);
        match &self.body {
            None | Some(B::CorrectionReceived(_)) => {}
            Some(B::Application(a)) => {
                f.text("application.matter_code", &a.matter_code, Id);
                f.text("application.department", &a.department, Id);
                f.text("application.region", &a.region, Id);
                f.text("application.applicant_ref", &a.applicant_ref, Name);
            }
            Some(B::Acceptance(a)) => f.text("acceptance.handler", &a.handler, Name),
            Some(B::CorrectionNotice(c)) => {
                f.texts(
                    "correction_notice.materials",
                    &c.materials,
                    MAX_MATERIALS,
                    Prose,
                );
                f.text("correction_notice.handler", &c.handler, Name);
            }
            Some(B::Refusal(r)) => {
                f.text("refusal.reason", &r.reason, Prose);
                f.text("refusal.handler", &r.handler, Name);
            }
            Some(B::StepStarted(s)) => {
                f.text("step_started.step", &s.step, Id);
                f.text("step_started.handler", &s.handler, Name);
                f.text("step_started.opinion", &s.opinion, Prose);
            }
            Some(B::StepCompleted(s)) => {
                f.text("step_completed.step", &s.step, Id);
                f.text("step_completed.handler", &s.handler, Name);
                f.text("step_completed.opinion", &s.opinion, Prose);
            }
            Some(B::SuspensionStarted(s)) => {
                f.text("suspension_started.reason", &s.reason, Prose);
                f.text("suspension_started.approver", &s.approver, Name);
            }
            Some(B::SuspensionEnded(s)) => f.text("suspension_ended.result", &s.result, Prose),
            Some(B::Extension(e)) => {
                f.text("extension.approver", &e.approver, Name);
                f.text("extension.reason", &e.reason, Prose);
            }
            Some(B::Decision(d)) => {
                f.text("decision.reason", &d.reason, Prose);
                f.text("decision.handler", &d.handler, Name);
            }
            Some(B::Fee(x)) => {
                f.text("fee.fee_item", &x.fee_item, Id);
                f.text("fee.receipt_no", &x.receipt_no, Id);
            }
            Some(B::Completion(c)) => {
                f.text("completion.result", &c.result, Prose);
                f.text("completion.certificate_no", &c.certificate_no, Id);
            }
            Some(B::CertificateIssued(c)) => {
                f.text("certificate_issued.certificate_no", &c.certificate_no, Id);
            }
            Some(B::Withdrawal(w)) => f.text("withdrawal.reason", &w.reason, Prose),
            Some(B::Rating(r)) => f.text("rating.comment", &r.comment, Prose),
        }
    }
}

impl Bounded for pb::Matter {
    fn check(&self, f: &mut Found) {
        use Text::{Id, Name};
        f.text("matter_code", &self.matter_code, Id);
        f.text("name", &self.name, Name);
        f.text("department", &self.department, Id);
        f.text("calendar", &self.calendar, Id);
        f.text("region", &self.region, Id);
        if f.list("step_limits", self.step_limits.len(), MAX_MATTER_ITEMS) {
            for (i, s) in self.step_limits.iter().enumerate() {
                f.text(&format!("step_limits[{i}].step"), &s.step, Id);
            }
        }
        if f.list("fee_items", self.fee_items.len(), MAX_MATTER_ITEMS) {
            for (i, x) in self.fee_items.iter().enumerate() {
                f.text(&format!("fee_items[{i}].fee_item"), &x.fee_item, Id);
                f.text(&format!("fee_items[{i}].name"), &x.name, Name);
            }
        }
        f.list(
            "allowed_suspension_kinds",
            self.allowed_suspension_kinds.len(),
            MAX_SUSPENSION_KINDS,
        );
    }
}

// ---------------------------------------------------------------------------------------------
// `egov.approval.v1` requests.

impl Bounded for pb::UpsertMattersRequest {
    /// The list only: each matter is checked on its own and refused in its own result.
    fn check(&self, f: &mut Found) {
        f.list("matters", self.matters.len(), MAX_BATCH);
    }
}

impl Bounded for pb::SubmitRecordsRequest {
    /// The list only: each record is checked on its own and refused in its own result.
    fn check(&self, f: &mut Found) {
        f.list("records", self.records.len(), MAX_BATCH);
    }
}

impl Bounded for pb::GetMatterRequest {
    fn check(&self, f: &mut Found) {
        f.text("matter_code", &self.matter_code, Text::Id);
    }
}

impl Bounded for pb::ListMatterVersionsRequest {
    fn check(&self, f: &mut Found) {
        f.text("matter_code", &self.matter_code, Text::Id);
    }
}

impl Bounded for pb::ListMattersRequest {
    fn check(&self, f: &mut Found) {
        f.text("department", &self.department, Text::Id);
        f.text("region", &self.region, Text::Id);
        f.text("page_token", &self.page_token, Text::Token);
    }
}

impl Bounded for pb::GetCaseRequest {
    fn check(&self, f: &mut Found) {
        f.text("case_no", &self.case_no, Text::Id);
    }
}

impl Bounded for pb::ListCasesRequest {
    fn check(&self, f: &mut Found) {
        f.text("department", &self.department, Text::Id);
        f.text("region", &self.region, Text::Id);
        f.text("matter_code", &self.matter_code, Text::Id);
        f.text("page_token", &self.page_token, Text::Token);
    }
}

impl Bounded for pb::FollowRecordsRequest {
    fn check(&self, f: &mut Found) {
        f.text("after", &self.after, Text::Token);
        f.text("region", &self.region, Text::Id);
        f.text("department", &self.department, Text::Id);
    }
}

impl Bounded for pb::GetRuleConfigRequest {
    fn check(&self, _: &mut Found) {}
}

impl Bounded for pb::UpdateRuleConfigRequest {
    fn check(&self, f: &mut Found) {
        use pb::update_rule_config_request::Change as C;
        match &self.change {
            None => {}
            Some(C::ConfigJson(j)) => f.text("config_json", j, Text::Json),
            Some(C::DefaultsJson(j)) => f.text("defaults_json", j, Text::Json),
            Some(C::Department(l)) => {
                f.text("department.code", &l.code, Text::Id);
                f.text("department.overrides_json", &l.overrides_json, Text::Json);
            }
            Some(C::Matter(l)) => {
                f.text("matter.code", &l.code, Text::Id);
                f.text("matter.overrides_json", &l.overrides_json, Text::Json);
            }
        }
    }
}

impl Bounded for pb::UpsertRegionsRequest {
    /// The list only: each region is checked on its own and refused in its own result.
    fn check(&self, f: &mut Found) {
        f.list("regions", self.regions.len(), MAX_BATCH);
    }
}

impl Bounded for pb::Region {
    fn check(&self, f: &mut Found) {
        f.text("code", &self.code, Text::Id);
        f.text("name", &self.name, Text::Name);
        f.text("parent", &self.parent, Text::Id);
    }
}

impl Bounded for pb::Department {
    fn check(&self, f: &mut Found) {
        f.text("code", &self.code, Text::Id);
        f.text("name", &self.name, Text::Name);
        f.text("region", &self.region, Text::Id);
    }
}

impl Bounded for pb::ListRegionsRequest {
    fn check(&self, f: &mut Found) {
        f.text("region", &self.region, Text::Id);
    }
}

impl Bounded for pb::UpsertDepartmentsRequest {
    /// The list only: each department is checked on its own and refused in its own result.
    fn check(&self, f: &mut Found) {
        f.list("departments", self.departments.len(), MAX_BATCH);
    }
}

impl Bounded for pb::ListDepartmentsRequest {
    fn check(&self, f: &mut Found) {
        f.text("region", &self.region, Text::Id);
    }
}

// ---------------------------------------------------------------------------------------------
// `egov.supervision.v1` requests.

impl Bounded for spb::StreamWarningsRequest {
    fn check(&self, f: &mut Found) {
        f.text("department", &self.department, Text::Id);
        f.text("region", &self.region, Text::Id);
        f.list("levels", self.levels.len(), MAX_FILTER_VALUES);
        f.text("after", &self.after, Text::Token);
        f.text("office", &self.office, Text::Id);
    }
}

impl Bounded for spb::ListWarningsRequest {
    fn check(&self, f: &mut Found) {
        f.text("department", &self.department, Text::Id);
        f.text("region", &self.region, Text::Id);
        f.list("levels", self.levels.len(), MAX_FILTER_VALUES);
        f.text("case_no", &self.case_no, Text::Id);
        f.list("rules", self.rules.len(), MAX_FILTER_VALUES);
        f.list("states", self.states.len(), MAX_FILTER_VALUES);
        f.text("page_token", &self.page_token, Text::Token);
        f.text("office", &self.office, Text::Id);
    }
}

impl Bounded for spb::GetWarningRequest {
    fn check(&self, f: &mut Found) {
        f.text("id", &self.id, Text::Id);
    }
}

impl Bounded for Option<spb::WarningTransitionInput> {
    /// The input of every workflow move (acknowledge, answer, close, escalate).
    fn check(&self, f: &mut Found) {
        let Some(input) = self else { return };
        f.text("input.id", &input.id, Text::Id);
        f.text("input.actor", &input.actor, Text::Name);
        f.text("input.reason", &input.reason, Text::Prose);
        f.texts(
            "input.attachments",
            &input.attachments,
            MAX_ATTACHMENTS,
            Text::Url,
        );
        f.text("input.office", &input.office, Text::Id);
    }
}

impl Bounded for crate::access::v1::SignInRequest {
    fn check(&self, f: &mut Found) {
        f.text("name", &self.name, Text::Name);
        f.text("password", &self.password, Text::Token);
    }
}

macro_rules! bounded_by_input {
    ($($request:ty),*) => {$(
        impl Bounded for $request {
            fn check(&self, f: &mut Found) {
                self.input.check(f);
            }
        }
    )*};
}

bounded_by_input!(
    spb::AcknowledgeWarningRequest,
    spb::AnswerWarningRequest,
    spb::CloseWarningRequest,
    spb::EscalateWarningRequest
);

impl Bounded for spb::CreateWebhookRequest {
    fn check(&self, f: &mut Found) {
        f.text("url", &self.url, Text::Url);
        f.text("secret", &self.secret, Text::Url);
        f.text("department", &self.department, Text::Id);
        f.text("region", &self.region, Text::Id);
    }
}

impl Bounded for spb::ListWebhooksRequest {
    fn check(&self, _: &mut Found) {}
}

impl Bounded for spb::DeleteWebhookRequest {
    fn check(&self, f: &mut Found) {
        f.text("id", &self.id, Text::Id);
    }
}

impl Bounded for spb::ListWebhookDeliveriesRequest {
    fn check(&self, f: &mut Found) {
        f.text("webhook_id", &self.webhook_id, Text::Id);
        f.list("states", self.states.len(), MAX_FILTER_VALUES);
        f.text("page_token", &self.page_token, Text::Token);
    }
}

impl Bounded for spb::GetScoresRequest {
    fn check(&self, f: &mut Found) {
        f.text("period", &self.period, Text::Id);
        f.text("region", &self.region, Text::Id);
    }
}

impl Bounded for spb::GetRankingRequest {
    fn check(&self, f: &mut Found) {
        f.text("period", &self.period, Text::Id);
        f.text("region", &self.region, Text::Id);
    }
}

impl Bounded for spb::GetDepartmentIndicatorsRequest {
    #[allow(deprecated)] // `from` is still checked: old clients send it
    fn check(&self, f: &mut Found) {
        f.text("department", &self.department, Text::Id);
        f.text("from", &self.from, Text::Id);
        f.text("first_period", &self.first_period, Text::Id);
        f.text("to", &self.to, Text::Id);
    }
}

impl Bounded for spb::GetCatalogueStatsRequest {
    fn check(&self, f: &mut Found) {
        f.text("department", &self.department, Text::Id);
    }
}

impl Bounded for spb::ClosePeriodRequest {
    fn check(&self, f: &mut Found) {
        f.text("period", &self.period, Text::Id);
        f.text("actor", &self.actor, Text::Name);
        f.text("reason", &self.reason, Text::Prose);
    }
}

impl Bounded for spb::RecomputePeriodRequest {
    fn check(&self, f: &mut Found) {
        f.text("period", &self.period, Text::Id);
        f.text("actor", &self.actor, Text::Name);
        f.text("reason", &self.reason, Text::Prose);
    }
}

impl Bounded for spb::ListPeriodVersionsRequest {
    fn check(&self, f: &mut Found) {
        f.text("period", &self.period, Text::Id);
    }
}

impl Bounded for spb::FileComplaintRequest {
    fn check(&self, f: &mut Found) {
        f.text("subject", &self.subject, Text::Id);
        f.text("summary", &self.summary, Text::Prose);
        if let Some(c) = &self.complainant {
            f.text("complainant.name", &c.name, Text::Name);
            f.text("complainant.contact", &c.contact, Text::Name);
        }
    }
}

impl Bounded for spb::ListComplaintsRequest {
    fn check(&self, f: &mut Found) {
        f.text("department", &self.department, Text::Id);
        f.text("office", &self.office, Text::Id);
        f.list("states", self.states.len(), MAX_FILTER_VALUES);
        f.text("page_token", &self.page_token, Text::Id);
    }
}

impl Bounded for spb::DecideComplaintRequest {
    fn check(&self, f: &mut Found) {
        f.text("id", &self.id, Text::Id);
        f.text("reason", &self.reason, Text::Prose);
    }
}

impl Bounded for spb::ForwardComplaintRequest {
    fn check(&self, f: &mut Found) {
        f.text("id", &self.id, Text::Id);
        f.text("note", &self.note, Text::Prose);
    }
}

impl Bounded for spb::ReportComplaintRequest {
    fn check(&self, f: &mut Found) {
        f.text("id", &self.id, Text::Id);
        f.text("report", &self.report, Text::Prose);
    }
}

impl Bounded for spb::CloseComplaintRequest {
    fn check(&self, f: &mut Found) {
        f.text("id", &self.id, Text::Id);
        f.text("note", &self.note, Text::Prose);
    }
}

impl Bounded for spb::RecordComplaintFeedbackRequest {
    fn check(&self, f: &mut Found) {
        f.text("id", &self.id, Text::Id);
        f.text("comment", &self.comment, Text::Prose);
    }
}

impl Bounded for spb::GetComplaintRequest {
    fn check(&self, f: &mut Found) {
        f.text("id", &self.id, Text::Id);
    }
}

impl Bounded for spb::RecordAccountabilityRequest {
    fn check(&self, f: &mut Found) {
        use spb::record_accountability_request::Basis;
        match &self.basis {
            Some(Basis::WarningId(id)) => f.text("warning_id", id, Text::Id),
            Some(Basis::ComplaintId(id)) => f.text("complaint_id", id, Text::Id),
            None => {}
        }
        f.text("department", &self.department, Text::Id);
        f.text("person", &self.person, Text::Name);
        f.text("decided_on", &self.decided_on, Text::Id);
        f.text("grounds", &self.grounds, Text::Prose);
    }
}

impl Bounded for spb::ListAccountabilityRequest {
    fn check(&self, f: &mut Found) {
        f.text("region", &self.region, Text::Id);
        f.text("department", &self.department, Text::Id);
        f.list("measures", self.measures.len(), MAX_FILTER_VALUES);
        f.text("from", &self.from, Text::Id);
        f.text("to", &self.to, Text::Id);
        f.text("page_token", &self.page_token, Text::Id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_and_length_are_refused_by_kind() {
        assert_eq!(text_error("window-7", Text::Name), None);
        assert!(text_error("a\0b", Text::Prose).unwrap().contains("NUL"));
        assert!(text_error(&"x".repeat(129), Text::Id).is_some());
        assert_eq!(text_error(&"x".repeat(128), Text::Id), None);
        // Characters, not bytes: 128 three-byte characters are an acceptable id.
        assert_eq!(text_error(&"办".repeat(128), Text::Id), None);
        assert!(text_error(&"办".repeat(129), Text::Id).is_some());
    }

    #[test]
    fn echoed_values_are_cut() {
        let long = "y".repeat(1_000_000);
        let s = shown(&long);
        assert!(s.len() < 80, "{}", s.len());
        assert!(s.ends_with("..."));
        assert_eq!(shown("ab"), "\"ab\"");
    }

    #[test]
    fn a_record_is_checked_field_by_field_with_its_path() {
        let r = pb::Record {
            event_id: "e\0".into(),
            source: "s".repeat(201),
            body: Some(pb::record::Body::CorrectionNotice(pb::CorrectionNotice {
                materials: vec!["m".into(); MAX_MATERIALS + 1],
                handler: "h".into(),
            })),
            ..Default::default()
        };
        let e = check(&r).unwrap_err();
        assert_eq!(
            e.fields(),
            ["event_id", "source", "correction_notice.materials"]
        );
    }
}
