//! One attempt over HTTP: the signed POST and what its answer (or failure) says. A failed
//! answer is kept as its status and reason only: the receiver's body may echo anything it
//! knows (an internal server's "db_password=..."), and deliveries are listed over the API.

use super::*;

/// POSTs the delivery; `Ok` for a 2xx answer within [`TIMEOUT`], else why not, for the
/// operator. A destination the allow-list does not permit is not contacted: an address in
/// the URL is checked here, a name's addresses by the client's resolver (`Guard`).
pub(super) async fn post(
    http: &HttpClient,
    hook: &WebhookRow,
    delivery: &DeliveryRow,
    warning: &WarningRow,
) -> Result<(), String> {
    let uri: hyper::Uri = hook.url.parse().map_err(|e| format!("invalid URL: {e}"))?;
    if let Some(host) = crate::webhooks::destination::host_of(&uri) {
        http.guard
            .allow()
            .check_literal(host)
            .map_err(|reason| format!("forbidden destination: {reason}"))?;
    }
    let body = signature::body(delivery, warning);
    // Wall time: the receiver compares it with its own clock to refuse stale replays.
    let sig = signature::signature(hook.secret.as_bytes(), Utc::now().timestamp(), &body);
    let request = hyper::Request::post(uri)
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
        let response = http.client.request(request).await.map_err(|e| {
            let cause = root_cause(&e);
            if cause.starts_with("forbidden destination") {
                cause
            } else if e.is_connect() {
                format!("cannot connect: {cause}")
            } else {
                format!("request failed: {cause}")
            }
        })?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        // The body is dropped unread: the connection is not reused, which matters little
        // for an answer that failed.
        drop(response);
        Err(format!("HTTP {status}"))
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
