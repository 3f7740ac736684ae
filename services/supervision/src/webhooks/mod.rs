//! Webhooks (issue 4): warnings notified beyond the gRPC stream, by HTTP POST of a signed JSON
//! body, so that SMS or e-mail gateways can be attached. The registry's RPCs
//! (`CreateWebhook`, `ListWebhooks`, `DeleteWebhook`, `ListWebhookDeliveries`) are here; the
//! outbox lives in the store (`egov_store::webhooks`), the loops that fill and empty it in
//! [`deliver`], and the request a receiver gets in [`signature`].
//!
//! What a hook gets: every warning that matches its filters (department, region subtree,
//! lowest level) and is raised, or changes state, after the hook was created, **once**, and
//! its withdrawal (docs/design.md §3.2) once more: a delivery is unique per (hook, warning,
//! event), the event `raised` or `withdrawn`, and a warning per (case, rule, level). Each
//! attempt is a `POST` of `{"delivery_id", "hook_id", "attempt", "event", "warning": {...}}`
//! (a withdrawn warning's carries `"withdrawal": {"event_id", "reason"}`) with the headers
//! `Content-Type: application/json`, `Egov-Delivery: <delivery id>` (the same on every
//! attempt) and `Egov-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
//!
//! Verifying a signature (Python; `secret` and `body` as bytes, `header` the
//! `Egov-Signature` value):
//!
//! ```text
//! import hmac, hashlib, time
//! fields = dict(part.split("=", 1) for part in header.split(","))
//! signed = fields["t"].encode() + b"." + body
//! expected = hmac.new(secret, signed, hashlib.sha256).hexdigest()
//! ok = hmac.compare_digest(expected, fields["v1"]) and abs(time.time() - int(fields["t"])) < 300
//! ```
//!
//! ([`signature::verify`] does the same in Rust.) Deduplicate by `Egov-Delivery`: an attempt
//! whose 2xx answer is lost on its way back is sent again.
//!
//! Retry policy: a 2xx answer within 10 seconds (wall time) delivers, once and for all.
//! Anything else (another status, a refused connection, no answer in time) is retried after
//! 1 s, 2 s, 4 s ... doubling up to 10 minutes apart, each pause shortened by up to a quarter
//! at random, on the platform's clock; after the hook's `max_attempts` (default 20: about
//! 1 h 45 min of retries) the delivery is given up (FAILED, with its last error, in
//! `ListWebhookDeliveries`). At most 4 attempts per hook and 32 in all are in flight, each on
//! a task of its own: a dead receiver delays neither the warnings nor the other hooks.
//!
//! Destinations (issue 12, item 6): only public addresses, unless the admin's allow-list
//! (`--webhook-allow`) names the host or its network, checked when a hook is created and on
//! the addresses every attempt connects to ([`destination`]). A failed attempt keeps the
//! answer's status and a short reason, never the receiver's body (it may echo anything the
//! receiver knows); URLs are listed with their query values and passwords masked.
//!
//! Only http:// is spoken: a TLS client (rustls and a crypto backend) would be the heaviest
//! dependency of the platform, for one feature. For an https:// receiver, run a
//! TLS-terminating relay (a reverse proxy) next to the platform and point the hook at it.

pub mod deliver;
pub mod destination;
pub mod signature;

use std::collections::HashMap;

use egov_domain::ids::{DepartmentCode, RegionCode};
use egov_domain::warning::Level;
use egov_proto::supervision::v1 as pb;
use egov_store::{DeliveryCounts, DeliveryRow, NewWebhook, Page, StoreError, WebhookRow};
use pbjson_types::Timestamp;

use crate::error::ApiError;
use crate::service::Supervision;
use crate::wire::DEFAULT_PAGE_SIZE;

/// Attempts per delivery when the request asks for none.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 20;
/// The most attempts a hook may ask for.
pub const MAX_ATTEMPTS: u32 = 100;
/// The shortest secret accepted: a guessable key makes the signature worthless.
pub const MIN_SECRET_CHARS: usize = 16;
/// The longest URL accepted.
const MAX_URL_CHARS: usize = 2048;

/// The delivery states as stored, with their wire values.
const DELIVERY_STATES: [(&str, pb::WebhookDeliveryState); 4] = [
    ("pending", pb::WebhookDeliveryState::Pending),
    ("delivered", pb::WebhookDeliveryState::Delivered),
    ("failed", pb::WebhookDeliveryState::Failed),
    ("cancelled", pb::WebhookDeliveryState::Cancelled),
];

/// A hook's URL, checked: http:// with a host, no credentials.
pub fn parse_url(url: &str) -> Result<String, ApiError> {
    let invalid = |reason: &str| ApiError::invalid("url", reason);
    if url.is_empty() {
        return Err(invalid("is required"));
    }
    if url.trim() != url || url.chars().any(char::is_control) {
        return Err(invalid(
            "must not contain blanks around it or control characters",
        ));
    }
    if url.chars().count() > MAX_URL_CHARS {
        return Err(invalid(&format!(
            "is longer than {MAX_URL_CHARS} characters"
        )));
    }
    let uri: hyper::Uri = url
        .parse()
        .map_err(|_| invalid("is not a URL: expected http://host[:port]/path"))?;
    match uri.scheme_str() {
        Some("http") => {}
        Some(s) if s.eq_ignore_ascii_case("https") => {
            return Err(invalid(
                "https:// is not supported (this build has no TLS client): run a \
                 TLS-terminating relay, such as a reverse proxy, on the local network and \
                 give its http:// address here",
            ));
        }
        _ => return Err(invalid("must start with http://")),
    }
    let Some(authority) = uri.authority() else {
        return Err(invalid("has no host: expected http://host[:port]/path"));
    };
    if authority.as_str().contains('@') {
        return Err(invalid(
            "must not carry credentials (user:password@): the signature authenticates egov \
             to the receiver",
        ));
    }
    if authority.host().is_empty() {
        return Err(invalid("has no host: expected http://host[:port]/path"));
    }
    Ok(url.to_owned())
}

fn parse_secret(secret: &str) -> Result<String, ApiError> {
    let invalid = |reason: &str| ApiError::invalid("secret", reason);
    if secret.is_empty() {
        return Err(invalid(
            "is required: the key receivers check the Egov-Signature with",
        ));
    }
    let chars = secret.chars().count();
    if chars < MIN_SECRET_CHARS {
        return Err(invalid(&format!(
            "must be at least {MIN_SECRET_CHARS} characters (e.g. 32 random hex digits: \
             `openssl rand -hex 16`)"
        )));
    }
    if chars > 256 || secret.chars().any(char::is_control) {
        return Err(invalid(
            "must be at most 256 characters, without control characters",
        ));
    }
    Ok(secret.to_owned())
}

fn level_name(level: i32) -> Result<Option<&'static str>, ApiError> {
    let wire = pb::WarningLevel::try_from(level)
        .map_err(|_| ApiError::invalid("min_level", format!("{level} is not a warning level")))?;
    if wire == pb::WarningLevel::Unspecified {
        return Ok(None);
    }
    Level::ALL
        .into_iter()
        .find(|l| pb::WarningLevel::from(*l) == wire)
        .map(|l| Some(l.as_str()))
        .ok_or_else(|| ApiError::invalid("min_level", format!("{level} is not a warning level")))
}

/// A `CreateWebhookRequest` as the hook to store, registered at `now`.
pub fn new_webhook(
    r: pb::CreateWebhookRequest,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<NewWebhook, ApiError> {
    let url = parse_url(&r.url)?;
    let secret = parse_secret(&r.secret)?;
    let department = (!r.department.is_empty())
        .then(|| DepartmentCode::parse(r.department))
        .transpose()
        .map_err(|e| ApiError::invalid("department", e.reason))?;
    let region = (!r.region.is_empty())
        .then(|| RegionCode::parse(r.region))
        .transpose()
        .map_err(|e| ApiError::invalid("region", e.reason))?;
    let min_level = level_name(r.min_level)?;
    let max_attempts = match r.max_attempts {
        0 => DEFAULT_MAX_ATTEMPTS,
        n @ 1..=MAX_ATTEMPTS => n,
        n => {
            return Err(ApiError::invalid(
                "max_attempts",
                format!("{n} is not between 1 and {MAX_ATTEMPTS}"),
            ));
        }
    };
    Ok(NewWebhook {
        url,
        secret,
        department: department.map(String::from),
        region_prefix: region.map(|r| r.as_str().to_owned()),
        min_level: min_level.map(str::to_owned),
        max_attempts: i64::from(max_attempts),
        created_at: now,
    })
}

/// A hook id of a request, in `field`.
pub fn hook_id(id: &str, field: &str) -> Result<i64, ApiError> {
    if id.is_empty() {
        return Err(ApiError::invalid(field, "is required"));
    }
    id.parse::<i64>().ok().filter(|id| *id > 0).ok_or_else(|| {
        ApiError::invalid(
            field,
            format!("{} is not a webhook id", egov_proto::limits::shown(id)),
        )
    })
}

fn ts(t: chrono::DateTime<chrono::Utc>) -> Option<Timestamp> {
    Some(Timestamp::from(t))
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// The wire hook (never its secret).
pub fn webhook_to_proto(row: &WebhookRow, counts: DeliveryCounts) -> pb::Webhook {
    let min_level = row
        .min_level
        .as_deref()
        .and_then(Level::parse)
        .map_or(pb::WarningLevel::Unspecified, pb::WarningLevel::from);
    pb::Webhook {
        id: row.id.to_string(),
        url: destination::mask_url(&row.url),
        department: row.department.clone().unwrap_or_default(),
        region: row.region_prefix.clone().unwrap_or_default(),
        min_level: min_level.into(),
        max_attempts: u32::try_from(row.max_attempts).unwrap_or(u32::MAX),
        active: row.active,
        created_at: ts(row.created_at),
        removed_at: row.removed_at.and_then(ts),
        pending: count(counts.pending),
        delivered: count(counts.delivered),
        failed: count(counts.failed),
        cancelled: count(counts.cancelled),
    }
}

/// The wire delivery.
pub fn delivery_to_proto(row: &DeliveryRow) -> pb::WebhookDelivery {
    let state = DELIVERY_STATES
        .iter()
        .find(|(name, _)| *name == row.state)
        .map_or(pb::WebhookDeliveryState::Unspecified, |(_, wire)| *wire);
    pb::WebhookDelivery {
        id: row.id.to_string(),
        webhook_id: row.hook_id.to_string(),
        warning_id: row.warning_id.to_string(),
        state: state.into(),
        attempts: u32::try_from(row.attempts).unwrap_or(u32::MAX),
        delivered_at: row.delivered_at.and_then(ts),
        last_error: row
            .last_error
            .as_deref()
            .map(short_error)
            .unwrap_or_default(),
        next_attempt_at: row.next_attempt_at.and_then(ts),
        created_at: ts(row.created_at),
        event: row.event.clone(),
    }
}

/// A stored error as shown: rows written before issue 12 kept up to 200 characters of the
/// receiver's answer after its status (`HTTP 500 ...: <body>`), which may hold the
/// receiver's own secrets; only the status and its reason are shown.
fn short_error(stored: &str) -> String {
    match stored.strip_prefix("HTTP ") {
        Some(rest) => {
            let status = rest.split_once(':').map_or(rest, |(status, _)| status);
            format!("HTTP {}", status.trim())
        }
        None => stored.to_owned(),
    }
}

fn state_names(values: &[i32]) -> Result<Vec<String>, ApiError> {
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            DELIVERY_STATES
                .iter()
                .find(|(_, wire)| *wire as i32 == v)
                .map(|(name, _)| (*name).to_owned())
                .ok_or_else(|| {
                    ApiError::invalid(
                        format!("states[{i}]"),
                        format!("{v} is not a webhook delivery state"),
                    )
                })
        })
        .collect()
}

fn not_found(id: i64) -> ApiError {
    ApiError::not_found("webhook", id.to_string())
}

impl Supervision {
    pub(crate) async fn create_hook(
        &self,
        r: pb::CreateWebhookRequest,
    ) -> Result<pb::CreateWebhookResponse, ApiError> {
        let hook = new_webhook(r, self.clock().now())?;
        let uri: hyper::Uri = hook
            .url
            .parse()
            .map_err(|_| ApiError::invalid("url", "is not a URL"))?;
        let host = destination::host_of(&uri).unwrap_or_default();
        self.deliverer()
            .allow()
            .check_at_creation(host)
            .await
            .map_err(|reason| ApiError::invalid("url", reason))?;
        let row = self.store().create_webhook(&hook).await?;
        // The host only: a receiver's path or query may carry a token of its own.
        let host = uri.authority().map(ToString::to_string).unwrap_or_default();
        tracing::info!(hook = row.id, %host, "webhook created");
        self.deliverer().wake();
        Ok(pb::CreateWebhookResponse {
            webhook: Some(webhook_to_proto(&row, DeliveryCounts::default())),
        })
    }

    pub(crate) async fn list_hooks(&self) -> Result<pb::ListWebhooksResponse, ApiError> {
        let store = self.store();
        let hooks = store.webhooks().await?;
        let ids: Vec<i64> = hooks.iter().map(|h| h.id).collect();
        let counts: HashMap<i64, DeliveryCounts> = store.delivery_counts(&ids).await?;
        Ok(pb::ListWebhooksResponse {
            webhooks: hooks
                .iter()
                .map(|h| webhook_to_proto(h, counts.get(&h.id).copied().unwrap_or_default()))
                .collect(),
        })
    }

    pub(crate) async fn remove_hook(
        &self,
        r: pb::DeleteWebhookRequest,
    ) -> Result<pb::DeleteWebhookResponse, ApiError> {
        let id = hook_id(&r.id, "id")?;
        let row = match self.store().remove_webhook(id, self.clock().now()).await {
            Ok(row) => row,
            Err(StoreError::NotFound { .. }) => return Err(not_found(id)),
            Err(e) => return Err(e.into()),
        };
        tracing::info!(hook = id, "webhook removed");
        self.deliverer().wake();
        let counts = self.store().delivery_counts(&[id]).await?;
        Ok(pb::DeleteWebhookResponse {
            webhook: Some(webhook_to_proto(
                &row,
                counts.get(&id).copied().unwrap_or_default(),
            )),
        })
    }

    pub(crate) async fn hook_deliveries(
        &self,
        r: pb::ListWebhookDeliveriesRequest,
    ) -> Result<pb::ListWebhookDeliveriesResponse, ApiError> {
        let id = hook_id(&r.webhook_id, "webhook_id")?;
        let states = state_names(&r.states)?;
        let size = u32::try_from(r.page_size)
            .map_err(|_| ApiError::invalid("page_size", "must not be negative"))?;
        let page = Page {
            size: if size == 0 { DEFAULT_PAGE_SIZE } else { size },
            token: (!r.page_token.is_empty()).then_some(r.page_token),
        };
        let store = self.store();
        if store.get_webhook(id).await?.is_none() {
            return Err(not_found(id));
        }
        let (rows, next) = store.list_deliveries(id, &states, page).await?;
        Ok(pb::ListWebhookDeliveriesResponse {
            deliveries: rows.iter().map(delivery_to_proto).collect(),
            next_page_token: next.unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> pb::CreateWebhookRequest {
        pb::CreateWebhookRequest {
            url: "http://127.0.0.1:8080/warnings".into(),
            secret: "0123456789abcdef".into(),
            ..Default::default()
        }
    }

    fn field_of(e: ApiError) -> String {
        match e {
            ApiError::InvalidArgument { field, reason } => format!("{field}: {reason}"),
            other => panic!("not a field error: {other}"),
        }
    }

    #[test]
    fn a_valid_request_takes_the_defaults() {
        let hook = new_webhook(request(), chrono::Utc::now()).unwrap();
        assert_eq!(hook.url, "http://127.0.0.1:8080/warnings");
        assert_eq!(hook.max_attempts, 20);
        assert_eq!(
            (hook.department, hook.region_prefix, hook.min_level),
            (None, None, None)
        );
        let hook = new_webhook(
            pb::CreateWebhookRequest {
                department: "market".into(),
                region: "3301".into(),
                min_level: pb::WarningLevel::YellowCard.into(),
                max_attempts: 5,
                ..request()
            },
            chrono::Utc::now(),
        )
        .unwrap();
        assert_eq!(hook.department.as_deref(), Some("market"));
        assert_eq!(hook.region_prefix.as_deref(), Some("3301"));
        assert_eq!(hook.min_level.as_deref(), Some("yellow_card"));
        assert_eq!(hook.max_attempts, 5);
    }

    #[test]
    fn bad_fields_are_named_with_their_reason() {
        let bad =
            |r: pb::CreateWebhookRequest| field_of(new_webhook(r, chrono::Utc::now()).unwrap_err());
        let https = bad(pb::CreateWebhookRequest {
            url: "https://sms.example/hook".into(),
            ..request()
        });
        assert!(
            https.starts_with("url: https:// is not supported"),
            "{https}"
        );
        assert!(https.contains("TLS-terminating relay"), "{https}");
        for url in [
            "",
            "ftp://x/",
            "127.0.0.1:80/x",
            "http://",
            "http://u:p@host/x",
            " http://a/",
        ] {
            let e = bad(pb::CreateWebhookRequest {
                url: url.into(),
                ..request()
            });
            assert!(e.starts_with("url: "), "{url:?}: {e}");
        }
        assert!(
            bad(pb::CreateWebhookRequest {
                secret: String::new(),
                ..request()
            })
            .starts_with("secret: is required")
        );
        assert!(
            bad(pb::CreateWebhookRequest {
                secret: "short".into(),
                ..request()
            })
            .starts_with("secret: must be at least 16")
        );
        assert!(
            bad(pb::CreateWebhookRequest {
                region: "33x".into(),
                ..request()
            })
            .starts_with("region: ")
        );
        assert!(
            bad(pb::CreateWebhookRequest {
                department: " m".into(),
                ..request()
            })
            .starts_with("department: ")
        );
        assert_eq!(
            bad(pb::CreateWebhookRequest {
                min_level: 9,
                ..request()
            }),
            "min_level: 9 is not a warning level"
        );
        assert_eq!(
            bad(pb::CreateWebhookRequest {
                max_attempts: 101,
                ..request()
            }),
            "max_attempts: 101 is not between 1 and 100"
        );
    }

    #[test]
    fn stored_errors_show_no_answer_body() {
        assert_eq!(
            short_error("HTTP 500 Internal Server Error: db_password=secret"),
            "HTTP 500 Internal Server Error"
        );
        assert_eq!(
            short_error("HTTP 503 Service Unavailable"),
            "HTTP 503 Service Unavailable"
        );
        assert_eq!(
            short_error("cannot connect: refused"),
            "cannot connect: refused"
        );
    }

    #[test]
    fn ids_and_states_are_checked() {
        assert_eq!(hook_id("3", "id").unwrap(), 3);
        for bad in ["", "0", "-1", "x"] {
            assert!(hook_id(bad, "webhook_id").is_err(), "{bad}");
        }
        assert_eq!(
            state_names(&[pb::WebhookDeliveryState::Failed as i32]).unwrap(),
            ["failed"]
        );
        assert_eq!(
            field_of(state_names(&[1, 0]).unwrap_err()),
            "states[1]: 0 is not a webhook delivery state"
        );
    }
}
