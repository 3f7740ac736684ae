//! One attempt over HTTP: the signed POST and what its answer (or failure) says.

use super::*;

/// POSTs the delivery; `Ok` for a 2xx answer within [`TIMEOUT`], else why not, for the
/// operator.
pub(super) async fn post(
    client: &HttpClient,
    hook: &WebhookRow,
    delivery: &DeliveryRow,
    warning: &WarningRow,
) -> Result<(), String> {
    let body = signature::body(delivery, warning);
    // Wall time: the receiver compares it with its own clock to refuse stale replays.
    let sig = signature::signature(hook.secret.as_bytes(), Utc::now().timestamp(), &body);
    let request = hyper::Request::post(hook.url.as_str())
        .header(CONTENT_TYPE, "application/json")
        .header(
            USER_AGENT,
            concat!("egov-webhooks/", env!("CARGO_PKG_VERSION")),
        )
        .header(DELIVERY_HEADER, delivery.id.to_string())
        .header(SIGNATURE_HEADER, sig)
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| format!("invalid request: {e}"))?;
    let exchange = async {
        let response = client.request(request).await.map_err(|e| {
            let cause = root_cause(&e);
            if e.is_connect() {
                format!("cannot connect: {cause}")
            } else {
                format!("request failed: {cause}")
            }
        })?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        // Some of the answer's body says why, for the operator.
        let text = match Limited::new(response.into_body(), 64 * 1024)
            .collect()
            .await
        {
            Ok(collected) => String::from_utf8_lossy(&collected.to_bytes()).into_owned(),
            Err(_) => String::new(),
        };
        let text: String = text
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .take(ERROR_BODY)
            .collect();
        let text = text.trim();
        Err(if text.is_empty() {
            format!("HTTP {status}")
        } else {
            format!("HTTP {status}: {text}")
        })
    };
    match tokio::time::timeout(TIMEOUT, exchange).await {
        Ok(result) => result,
        Err(_) => Err(format!("no answer within {} s", TIMEOUT.as_secs())),
    }
}

/// The innermost cause of an error ("Connection refused (os error 111)").
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}
