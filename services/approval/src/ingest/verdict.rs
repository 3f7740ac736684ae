//! The rejections the ingest answers for one record: their codes, reasons and messages.

use super::*;

/// A rejection with `code`, the `google.rpc.ErrorInfo`-style `reason` (UPPER_SNAKE, listed in
/// `proto/README.md`), the field concerned (or "") and the message.
pub(super) fn rejected(code: tonic::Code, reason: &str, field: &str, message: String) -> Verdict {
    Verdict::Rejected(pb::RecordError {
        code: code as i32,
        message,
        field: field.to_owned(),
        field_violations: Vec::new(),
        reason: reason.to_owned(),
    })
}

/// A record dated in the future beyond the allowed clock skew: refused as a bad
/// `occurred_at` (what a clock set wrong or a typed-in year does), times in local time.
pub(super) fn dated_ahead(
    at: DateTime<Utc>,
    now: DateTime<Utc>,
    skew: chrono::Duration,
) -> Verdict {
    let local = |t: DateTime<Utc>| Calendar::china().local_time(t);
    let reason = format!(
        "is {} (local time), ahead of the platform's clock ({}) by more than the allowed clock \
         skew of {} s; a record is dated when it happened",
        local(at),
        local(now),
        skew.num_seconds()
    );
    Verdict::Rejected(
        FieldViolations::new(vec![egov_domain::error::FieldError::new(
            "occurred_at",
            reason,
        )])
        .to_record_error(),
    )
}

/// FAILED_PRECONDITION with the refusal's variant as its reason (`NO_APPLICATION`,
/// `ALREADY_OPENED`, `AFTER_CLOSE` ...): the variant names are the contract's reasons.
pub(super) fn broken_rule(e: &TransitionError) -> Verdict {
    rejected(
        tonic::Code::FailedPrecondition,
        &upper_snake_variant(&format!("{e:?}")),
        "",
        e.to_string(),
    )
}

/// `AfterClose { kind: .. }` -> `AFTER_CLOSE`.
fn upper_snake_variant(debug: &str) -> String {
    let name = debug
        .split(|c: char| !c.is_ascii_alphanumeric())
        .next()
        .unwrap_or_default();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}
