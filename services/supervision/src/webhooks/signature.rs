//! What a receiver gets, and can check: the JSON body of a delivery, its `Egov-Signature`
//! (HMAC-SHA256 of `"<t>.<body>"` with the hook's secret, hex), and the retry schedule. Pure
//! functions, so the contract is tested without a network.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use egov_domain::warning::WarningDetail;
use egov_store::{DeliveryRow, WarningRow};
use hmac::{Hmac, KeyInit, Mac};
use serde::Serialize;
use sha2::Sha256;

use crate::wire::warning_to_proto;

/// The header carrying the delivery id, the same on every attempt: receivers deduplicate by
/// it (an attempt whose 2xx answer was lost on the way back is sent again).
pub const DELIVERY_HEADER: &str = "Egov-Delivery";
/// The header carrying `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
pub const SIGNATURE_HEADER: &str = "Egov-Signature";

/// The first pause before a retry.
pub const FIRST_RETRY: Duration = Duration::from_secs(1);
/// The longest pause between two attempts.
pub const MAX_RETRY: Duration = Duration::from_secs(600);

/// The body of one attempt of one delivery.
#[derive(Debug, Serialize)]
struct Body<'a> {
    delivery_id: String,
    hook_id: String,
    attempt: i64,
    /// `raised` (the warning raised, or changed state) or `withdrawn` (its ground disproved).
    event: &'a str,
    warning: WarningBody<'a>,
}

/// Why a withdrawn warning was withdrawn.
#[derive(Debug, Serialize)]
struct WithdrawalBody {
    event_id: String,
    reason: String,
}

/// The warning as a receiver reads it: names as stored (`yellow_card`, `missing_reasons`),
/// instants in RFC 3339 UTC, `null` when unset.
#[derive(Debug, Serialize)]
struct WarningBody<'a> {
    id: String,
    case_no: &'a str,
    matter_code: &'a str,
    rule: &'a str,
    level: &'a str,
    state: &'a str,
    department: &'a str,
    region: &'a str,
    message: String,
    raised_at: String,
    due_at: Option<String>,
    correction_due_at: Option<String>,
    /// Only for a withdrawn warning.
    #[serde(skip_serializing_if = "Option::is_none")]
    withdrawal: Option<WithdrawalBody>,
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// The JSON body of attempt `delivery.attempts` of `delivery`, carrying `warning` as it is
/// now (its current state).
pub fn body(delivery: &DeliveryRow, warning: &WarningRow) -> Vec<u8> {
    let body = Body {
        delivery_id: delivery.id.to_string(),
        hook_id: delivery.hook_id.to_string(),
        attempt: delivery.attempts,
        event: &delivery.event,
        warning: WarningBody {
            id: warning.id.to_string(),
            case_no: &warning.case_no,
            matter_code: &warning.matter_code,
            rule: &warning.rule,
            level: &warning.level,
            state: &warning.state,
            department: &warning.department,
            region: &warning.region,
            // The message supervisors read, with the configuration that decided it.
            message: warning_to_proto(warning, false).message,
            raised_at: rfc3339(warning.raised_at),
            due_at: warning.due_at.map(rfc3339),
            correction_due_at: warning.correction_due_at.map(rfc3339),
            withdrawal: WarningDetail::from_json(&warning.detail)
                .withdrawal
                .map(|w| WithdrawalBody {
                    event_id: w.event_id,
                    reason: w.reason,
                }),
        },
    };
    // Serializing plain strings and numbers cannot fail.
    serde_json::to_vec(&body).unwrap_or_default()
}

fn mac(secret: &[u8], t: i64, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The `Egov-Signature` value of `body` sent at `t` (unix seconds, wall time).
pub fn signature(secret: &[u8], t: i64, body: &[u8]) -> String {
    let digest = mac(secret, t, body).finalize().into_bytes();
    format!("t={t},v1={}", hex(&digest))
}

/// Whether `header` (an `Egov-Signature` value) signs `body` with `secret`, sent within
/// `tolerance` of `now` (unix seconds): what a receiver written in Rust checks. The
/// comparison is in constant time.
pub fn verify(secret: &[u8], header: &str, body: &[u8], now: i64, tolerance: i64) -> bool {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", value)) => t = value.parse::<i64>().ok(),
            Some(("v1", value)) => v1 = unhex(value),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return false;
    };
    (now - t).abs() <= tolerance && mac(secret, t, body).verify_slice(&v1).is_ok()
}

/// The pause after attempt `attempts` (1 for the first) failed: 1 s, 2 s, 4 s ... doubling,
/// at most [`MAX_RETRY`], less up to a quarter taken from `random` (so receivers that fail
/// together are not retried in lockstep).
pub fn retry_delay(attempts: i64, random: u64) -> Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
    let base = FIRST_RETRY
        .saturating_mul(1_u32 << doublings)
        .min(MAX_RETRY);
    let quarter_parts = u32::try_from(random % 1000).unwrap_or(0);
    // base × (4000 - k) / 4000 with k in 0..1000: between 75 % and 100 % of base.
    base.mul_f64(f64::from(4000 - quarter_parts) / 4000.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use egov_store::WarningPosition;
    use serde_json::json;

    fn row() -> WarningRow {
        let t = DateTime::parse_from_rfc3339("2024-03-04T03:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        serde_json::from_value(json!({
            "id": 42,
            "position": WarningPosition::START,
            "case_no": "C-1",
            "rule": "missing_reasons",
            "level": "yellow_card",
            "department": "market",
            "region": "330106",
            "matter_code": "M-FOOD",
            "due_at": null,
            "raised_at": t,
            "state": "raised",
            "detail": { "message": "refused without reasons", "config": "department:market" },
            "correction_due_at": null,
        }))
        .unwrap()
    }

    fn delivery() -> DeliveryRow {
        DeliveryRow {
            id: 7,
            hook_id: 3,
            warning_id: 42,
            event: "raised".into(),
            state: "pending".into(),
            attempts: 2,
            next_attempt_at: None,
            delivered_at: None,
            last_error: None,
            created_at: Utc::now(),
        }
    }

    #[test]
    fn the_body_carries_the_warning_and_the_attempt() {
        let body: serde_json::Value = serde_json::from_slice(&body(&delivery(), &row())).unwrap();
        assert_eq!(
            body,
            json!({
                "delivery_id": "7",
                "hook_id": "3",
                "attempt": 2,
                "event": "raised",
                "warning": {
                    "id": "42",
                    "case_no": "C-1",
                    "matter_code": "M-FOOD",
                    "rule": "missing_reasons",
                    "level": "yellow_card",
                    "state": "raised",
                    "department": "market",
                    "region": "330106",
                    "message": "refused without reasons (configuration: department:market)",
                    "raised_at": "2024-03-04T03:00:00Z",
                    "due_at": null,
                    "correction_due_at": null,
                }
            })
        );
        let mut withdrawn = row();
        withdrawn.state = "withdrawn".into();
        withdrawn.detail["withdrawal"] = json!({"event_id": "ev-9", "reason": "r"});
        let delivery = DeliveryRow {
            event: "withdrawn".into(),
            ..delivery()
        };
        let body: serde_json::Value =
            serde_json::from_slice(&super::body(&delivery, &withdrawn)).unwrap();
        assert_eq!(body["event"], "withdrawn");
        assert_eq!(body["warning"]["state"], "withdrawn");
        assert_eq!(
            body["warning"]["withdrawal"],
            json!({"event_id": "ev-9", "reason": "r"})
        );
    }

    #[test]
    fn a_signature_verifies_with_its_secret_only_and_while_fresh() {
        let body = br#"{"delivery_id":"7"}"#;
        let header = signature(b"0123456789abcdef", 1_700_000_000, body);
        assert!(header.starts_with("t=1700000000,v1="), "{header}");
        assert_eq!(header.len(), "t=1700000000,v1=".len() + 64);
        assert!(verify(
            b"0123456789abcdef",
            &header,
            body,
            1_700_000_100,
            300
        ));
        assert!(!verify(
            b"another-secret!!",
            &header,
            body,
            1_700_000_100,
            300
        ));
        assert!(!verify(
            b"0123456789abcdef",
            &header,
            b"{}",
            1_700_000_100,
            300
        ));
        assert!(!verify(
            b"0123456789abcdef",
            &header,
            body,
            1_700_001_000,
            300
        ));
        assert!(!verify(b"0123456789abcdef", "t=1,v1=zz", body, 1, 300));
        assert!(!verify(b"0123456789abcdef", "", body, 1, 300));
    }

    /// The reference value of the documented recipe, computed independently
    /// (`printf '1700000000.{}' | openssl dgst -sha256 -hmac 0123456789abcdef`).
    #[test]
    fn the_signature_is_the_documented_recipe() {
        assert_eq!(
            signature(b"0123456789abcdef", 1_700_000_000, b"{}"),
            format!(
                "t=1700000000,v1={}",
                "e4f8e2ecae2295b2ddb2f0b5584c8275e226c0ebe9b3b819e70156bb67122e3e"
            )
        );
    }

    #[test]
    fn retries_double_up_to_ten_minutes_with_a_quarter_of_jitter() {
        let secs = |attempts, random| retry_delay(attempts, random).as_secs_f64();
        assert_eq!(secs(1, 0), 1.0);
        assert_eq!(secs(2, 0), 2.0);
        assert_eq!(secs(3, 0), 4.0);
        assert_eq!(secs(10, 0), 512.0);
        assert_eq!(secs(11, 0), 600.0);
        assert_eq!(secs(500, 0), 600.0);
        assert_eq!(secs(1, 999), 0.75025);
        for random in [1, 77, 998, u64::MAX] {
            for attempts in 1..25 {
                let d = retry_delay(attempts, random);
                let base = retry_delay(attempts, 0);
                assert!(d <= base && d >= base.mul_f64(0.75), "{attempts} {random}");
            }
        }
    }
}
