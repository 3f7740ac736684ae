//! Connecting the client commands to a platform, and the one place that turns a failed call
//! into a message a person can act on ("is `egov up` running?").

use std::time::Duration;

use anyhow::anyhow;
use egov_proto::approval::v1::approval_service_client::ApprovalServiceClient;
use egov_proto::supervision::v1::supervision_service_client::SupervisionServiceClient;
use egov_runtime::access::{Authed, Bearer, authed};
use tonic::Code;
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};

use crate::settings::Target;

/// Largest message a client accepts: matches the platforms' limit, so a full page of cases
/// with every record fits.
const MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;

/// Opens a connection to `target` whose calls carry its credential, failing with advice when
/// nothing answers there.
pub async fn connect(target: &Target) -> anyhow::Result<Authed> {
    let mut endpoint = Endpoint::from_shared(target.as_str().to_owned())
        .map_err(|e| anyhow!("--target {target}: {e}"))?
        .connect_timeout(Duration::from_secs(5))
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(30))
        .keep_alive_while_idle(true);
    if let Some(tls) = target.tls() {
        let mut config = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(&tls.ca));
        if let Some((cert, key)) = &tls.identity {
            config = config.identity(Identity::from_pem(cert, key));
        }
        endpoint = endpoint
            .tls_config(config)
            .map_err(|e| anyhow!("--target {target}: cannot set up TLS: {}", root_cause(&e)))?;
    }
    let channel = endpoint
        .connect()
        .await
        .map_err(|e| unreachable(target, &e))?;
    Ok(authed(
        channel,
        target.token().map_or_else(Bearer::none, Bearer::new),
    ))
}

pub async fn approval(target: &Target) -> anyhow::Result<ApprovalServiceClient<Authed>> {
    Ok(approval_on(connect(target).await?))
}

pub async fn supervision(target: &Target) -> anyhow::Result<SupervisionServiceClient<Authed>> {
    Ok(supervision_on(connect(target).await?))
}

pub fn approval_on(channel: Authed) -> ApprovalServiceClient<Authed> {
    ApprovalServiceClient::new(channel)
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES)
}

pub fn supervision_on(channel: Authed) -> SupervisionServiceClient<Authed> {
    SupervisionServiceClient::new(channel)
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES)
}

/// The innermost cause of a transport error ("Connection refused (os error 111)").
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

fn unreachable(target: &Target, e: &(dyn std::error::Error + 'static)) -> anyhow::Error {
    if target.tls().is_some() {
        return anyhow!(
            "cannot reach the egov platform at {target} over TLS ({}): is it running, does \
             --ca hold the CA that signed its certificate, and does the certificate name the \
             host of --target? A platform with --client-ca also needs --tls-cert and --tls-key",
            root_cause(e)
        );
    }
    anyhow!(
        "cannot reach the egov platform at {target} ({}): is `egov up` running? Start it in \
         another terminal, or point --target (or EGOV_TARGET) at a running platform",
        root_cause(e)
    )
}

/// Whether a failed call may succeed when retried on a new connection.
pub fn is_transient(status: &tonic::Status) -> bool {
    matches!(
        status.code(),
        Code::Unavailable | Code::Unknown | Code::Aborted | Code::Cancelled
    )
}

/// A failed call as a message: `what` says what was being done ("listing warnings").
pub fn call_failed(target: &Target, what: &str, status: tonic::Status) -> anyhow::Error {
    match status.code() {
        Code::Unavailable => anyhow!(
            "{what}: the platform at {target} is unavailable ({}): is `egov up` running?",
            status.message()
        ),
        Code::Unimplemented => anyhow!(
            "{what}: the server at {target} does not offer this service; `egov up` serves both \
             platforms on one port, `egov approval serve` and `egov supervision serve` one each: \
             point --target at the right one"
        ),
        Code::NotFound => anyhow!("{}", status.message()),
        Code::Unauthenticated => anyhow!(
            "{what}: {} (give --token, or EGOV_TOKEN, a token from `egov tokens create`; on the \
             machine running `egov up`, its local admin credential in --data-dir is used)",
            status.message()
        ),
        Code::PermissionDenied => anyhow!("{what}: not allowed: {}", status.message()),
        Code::InvalidArgument => anyhow!("{what}: {}", status.message()),
        code => anyhow!("{what}: {} ({code:?})", status.message()),
    }
}
