//! The front hall's layer (docs/design.md "Trust"): wraps the root's whole router, so no RPC is
//! reached around it. For every call it authenticates the caller (a bearer token, or the
//! mutual-TLS certificate the acceptor verified), applies the caller's limits, asks the
//! policy whether the role may make the call at all, puts the [`Caller`] in the request for
//! the service's own checks of what it loads, and hands every refused call and every
//! state-changing one (whatever its outcome) to the audit sink, with the target its request
//! names (`egov_proto::target`, read from the call's first message). A call without any
//! credential is let through only where the policy permits an anonymous caller (signing in).

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use chrono::Utc;
use egov_runtime::access::{AuditEvent, Caller, ClientCertificate, Target};
use egov_runtime::metrics::{CALLS_REFUSED, Subscriber};
use http_body::Frame;
use tokio::sync::OwnedSemaphorePermit;
use tonic::body::Body;
use tonic::transport::server::TcpConnectInfo;
use tonic_types::{ErrorDetails, StatusExt};
use tracing::Instrument;

use crate::Inner;

/// The [`tower::Layer`] of the front hall.
#[derive(Debug, Clone)]
pub struct HallLayer {
    pub(crate) inner: Arc<Inner>,
}

impl<S> tower::Layer<S> for HallLayer {
    type Service = Hall<S>;

    fn layer(&self, service: S) -> Hall<S> {
        Hall {
            service,
            inner: self.inner.clone(),
        }
    }
}

/// The front hall around one service (the router).
#[derive(Debug, Clone)]
pub struct Hall<S> {
    service: S,
    inner: Arc<Inner>,
}

/// The RPCs whose answer is a stream the caller holds open (limited per credential).
const STREAMS: [&str; 5] = [
    "StreamRecords",
    "FollowRecords",
    "StreamWarnings",
    "Watch",
    "ServerReflectionInfo",
];

/// The operators' probes (grpc.health.v1 and server reflection): they read nothing of the
/// platforms' data, and a health probe every few seconds must not fill the audit log.
const PROBES: [&str; 3] = ["Check", "Watch", "ServerReflectionInfo"];

/// Whether a call of `action` reads only (and so is audited only when refused).
fn reads_only(action: &str) -> bool {
    action.starts_with("Get")
        || action.starts_with("List")
        || action == "StreamWarnings"
        || action == "FollowRecords"
        || PROBES.contains(&action)
}

/// Who presented what.
struct Identified {
    /// The signed-in caller; None for an anonymous call the policy lets through (signing in).
    caller: Option<Caller>,
    /// The audit's who and role.
    name: String,
    role: &'static str,
    /// The unit of the limits: the credential's id, or the anonymous caller's address.
    credential: String,
}

/// Whether the first message of a call of `action` is read for its audit target: not a
/// client stream's (it may send its first record only later, and a batch of records names
/// many cases anyway).
fn peeks(action: &str) -> bool {
    action != "StreamRecords" && !PROBES.contains(&action)
}

impl<S> tower::Service<http::Request<Body>> for Hall<S>
where
    S: tower::Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<http::Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.service.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        // The clone that was polled ready serves this call (tower's contract).
        let ready = self.service.clone();
        let mut service = std::mem::replace(&mut self.service, ready);
        let inner = self.inner.clone();
        Box::pin(async move {
            let path = request.uri().path().to_owned();
            let method = path.rsplit('/').next().unwrap_or_default().to_owned();
            let peer_addr = request
                .extensions()
                .get::<TcpConnectInfo>()
                .and_then(TcpConnectInfo::remote_addr);
            let peer = peer_addr.map(|a| a.to_string());
            let audit =
                |principal: &str, role: &str, target: String, outcome: tonic::Code| AuditEvent {
                    principal: principal.to_owned(),
                    role: role.to_owned(),
                    action: path.clone(),
                    target,
                    outcome: code_name(outcome).to_owned(),
                    peer: peer.clone(),
                    at: Utc::now(),
                };
            let bearer = request
                .headers()
                .get(http::header::AUTHORIZATION)
                .map(|v| v.to_str().unwrap_or_default().to_owned());
            let certificate = request.extensions().get::<ClientCertificate>().cloned();
            let anonymous = format!(
                "anon:{}",
                peer_addr.map(|a| a.ip().to_string()).unwrap_or_default()
            );
            let identified = match inner
                .identify(bearer, certificate, &method, anonymous)
                .await
            {
                Ok(identified) => identified,
                Err(status) => {
                    refused(status.code());
                    // The body of a caller no one knows is not read, not even for the audit.
                    inner
                        .audit
                        .record(audit("anonymous", "", String::new(), status.code()))
                        .await;
                    return Ok(status.into_http());
                }
            };
            let action = inner.policy.action(&method).unwrap_or_default();
            // The first message is read before the call goes on, so that an audited act names
            // its target (decoded only when the act is audited).
            let (parts, body) = request.into_parts();
            let (message, body) = if peeks(action) {
                first_message(body).await
            } else {
                (None, body)
            };
            let target = || {
                message
                    .as_ref()
                    .map(|m| egov_proto::target::of(action, m))
                    .unwrap_or_default()
            };
            let name = identified.name.clone();
            let role = identified.role;
            let refuse = |status: tonic::Status| {
                refused(status.code());
                let event = audit(&name, role, target(), status.code());
                let sink = inner.audit.clone();
                async move {
                    sink.record(event).await;
                    Ok(status.into_http())
                }
            };
            if let Err(wait) = inner.limiter.call(&identified.credential) {
                return refuse(exhausted(
                    "RATE_LIMITED",
                    "too many calls from this credential",
                    wait,
                ))
                .await;
            }
            if let Some(caller) = &identified.caller
                && !caller.may(&Target::Call)
            {
                let denied = egov_runtime::error::Refusal::new(
                    "POLICY_DENIED",
                    format!(
                        "{} ({}) may not call {action}",
                        caller.principal.id, caller.principal.role
                    ),
                )
                .with("principal", caller.principal.id.clone())
                .with("action", action.to_string());
                return refuse(denied.status(tonic::Code::PermissionDenied)).await;
            }
            let permit: Option<OwnedSemaphorePermit> = if STREAMS.contains(&action) {
                match inner.limiter.stream(&identified.credential) {
                    Some(permit) => Some(permit),
                    None => {
                        return refuse(exhausted(
                            "TOO_MANY_STREAMS",
                            "too many streams open with this credential",
                            std::time::Duration::from_secs(1),
                        ))
                        .await;
                    }
                }
            } else {
                None
            };
            let mut request = http::Request::from_parts(parts, body);
            if let Some(caller) = identified.caller {
                request.extensions_mut().insert(caller);
            }
            // Every line the call logs carries who made it and which request it was (the
            // client's `x-request-id`, else one made here), for logs read as JSON.
            let request_id = request
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .map_or_else(new_request_id, |id| id.chars().take(64).collect());
            let span = tracing::info_span!(
                "call",
                otel.name = %path,
                otel.kind = "server",
                rpc = %path,
                principal = %name,
                role,
                peer = peer.as_deref().unwrap_or(""),
                request_id = %request_id,
            );
            // The call continues the trace its client sent, when it sent one.
            egov_runtime::trace::adopt_headers(&span, request.headers());
            let Ok(response) = service.call(request).instrument(span.clone()).await;
            span.in_scope(|| {
                let status = response
                    .headers()
                    .get("grpc-status")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("streaming");
                tracing::debug!(status, "answered");
            });
            let code = response
                .headers()
                .get("grpc-status")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<i32>().ok())
                .map_or(tonic::Code::Ok, tonic::Code::from_i32);
            // A read is audited when the service refused it (a target outside the scope).
            if !reads_only(action)
                || matches!(
                    code,
                    tonic::Code::PermissionDenied | tonic::Code::Unauthenticated
                )
            {
                inner.audit.record(audit(&name, role, target(), code)).await;
            }
            Ok(match permit {
                None => response,
                Some(permit) => response.map(|body| {
                    Body::new(Held {
                        body,
                        _permit: permit,
                        _subscriber: Subscriber::open(action),
                    })
                }),
            })
        })
    }
}

impl Inner {
    /// The caller of `request`: its bearer token, else its verified client certificate, else
    /// anonymous where the policy lets an anonymous caller make the call (`anonymous` is then
    /// its unit of limits).
    async fn identify(
        &self,
        bearer: Option<String>,
        certificate: Option<ClientCertificate>,
        method: &str,
        anonymous: String,
    ) -> Result<Identified, tonic::Status> {
        let action = self
            .policy
            .action(method)
            .ok_or_else(|| tonic::Status::unimplemented(format!("no such RPC: {method}")))?;
        let caller = |principal: Arc<egov_runtime::access::Principal>, credential| Identified {
            name: principal.id.clone(),
            role: principal.role.as_str(),
            caller: Some(Caller::new(principal, action, self.policy.clone())),
            credential,
        };
        if let Some(value) = bearer {
            let token = value
                .strip_prefix("Bearer ")
                .ok_or_else(|| tonic::Status::unauthenticated("a bearer token is expected"))?
                .trim();
            // A JWT of the identity provider: three dot-separated parts, never an API token.
            if !token.starts_with(crate::credential::TOKEN_PREFIX)
                && let Some(jwt) = &self.jwt
            {
                let principal = jwt.principal(token).map_err(|reason| {
                    tonic::Status::unauthenticated(format!(
                        "the identity token is refused: {reason}"
                    ))
                })?;
                let credential = format!("jwt:{}", principal.id);
                return Ok(caller(Arc::new(principal), credential));
            }
            let known = self
                .credentials
                .find(token)
                .await
                .map_err(|error| {
                    tracing::error!(%error, "cannot look up a credential");
                    tonic::Status::unavailable("cannot check the credential now")
                })?
                .ok_or_else(|| tonic::Status::unauthenticated("unknown credential"))?;
            if known.revoked {
                return Err(tonic::Status::unauthenticated("the credential was revoked"));
            }
            // The wall clock, not the platforms' (a demo's or a test's clock runs in the past
            // or the future): a credential's validity is a fact of the real world.
            if known.expires_at.is_some_and(|at| at <= Utc::now()) {
                return Err(tonic::Status::unauthenticated("the credential has expired"));
            }
            return Ok(caller(known.principal, known.id));
        }
        if let Some(certificate) = certificate {
            return match self.certificates.get(&certificate.subject) {
                Some(principal) => Ok(caller(
                    principal.clone(),
                    format!("cert:{}", certificate.subject),
                )),
                None => Err(tonic::Status::unauthenticated(
                    "the client certificate is not mapped to a principal",
                )),
            };
        }
        if self.policy.allows_anonymous(action) {
            return Ok(Identified {
                caller: None,
                name: "anonymous".to_owned(),
                role: "",
                credential: anonymous,
            });
        }
        Err(tonic::Status::unauthenticated("a credential is required"))
    }
}

/// The largest first message read for its target; a larger one is passed on unread.
const PEEK_MAX: usize = 4 << 20;

/// The first gRPC message of `body` (without its 5-byte frame header; None when it is
/// compressed, larger than [`PEEK_MAX`] or incomplete), and a body that gives what was read,
/// then the rest.
async fn first_message(mut body: Body) -> (Option<Bytes>, Body) {
    let mut frames = std::collections::VecDeque::new();
    let mut data = bytes::BytesMut::new();
    let mut error = None;
    let mut ended = false;
    let wanted = |data: &bytes::BytesMut| -> Option<usize> {
        let header: [u8; 4] = data.get(1..5)?.try_into().ok()?;
        Some(5 + u32::from_be_bytes(header) as usize)
    };
    loop {
        if let Some(n) = wanted(&data)
            && (data.len() >= n || n > PEEK_MAX + 5)
        {
            break;
        }
        match http_body_util::BodyExt::frame(&mut body).await {
            None => {
                ended = true;
                break;
            }
            Some(Ok(frame)) => {
                if let Some(chunk) = frame.data_ref() {
                    data.extend_from_slice(chunk);
                }
                frames.push_back(frame);
            }
            Some(Err(status)) => {
                error = Some(status);
                break;
            }
        }
    }
    let message = match wanted(&data) {
        Some(n) if data.first() == Some(&0) && data.len() >= n => Some(data.freeze().slice(5..n)),
        _ => None,
    };
    let replay = Replay {
        frames,
        error,
        rest: (!ended).then_some(body),
    };
    (message, Body::new(replay))
}

/// A request body of which the front hall read the start: that start again, then the rest.
struct Replay {
    frames: std::collections::VecDeque<Frame<Bytes>>,
    error: Option<tonic::Status>,
    rest: Option<Body>,
}

impl http_body::Body for Replay {
    type Data = Bytes;
    type Error = tonic::Status;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, tonic::Status>>> {
        let this = self.get_mut();
        if let Some(frame) = this.frames.pop_front() {
            return Poll::Ready(Some(Ok(frame)));
        }
        if let Some(error) = this.error.take() {
            return Poll::Ready(Some(Err(error)));
        }
        match &mut this.rest {
            Some(rest) => Pin::new(rest).poll_frame(cx),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.frames.is_empty()
            && self.error.is_none()
            && self
                .rest
                .as_ref()
                .is_none_or(http_body::Body::is_end_stream)
    }
}

/// RESOURCE_EXHAUSTED telling the client when to retry.
pub(crate) fn exhausted(reason: &str, message: &str, wait: std::time::Duration) -> tonic::Status {
    let mut details = ErrorDetails::with_retry_info(Some(wait));
    details.set_error_info(
        reason,
        egov_runtime::error::DOMAIN,
        std::collections::HashMap::new(),
    );
    tonic::Status::with_error_details(tonic::Code::ResourceExhausted, message, details)
}

/// The canonical name of a gRPC code, as the audit log stores it.
pub fn code_name(code: tonic::Code) -> &'static str {
    match code {
        tonic::Code::Ok => "OK",
        tonic::Code::Cancelled => "CANCELLED",
        tonic::Code::Unknown => "UNKNOWN",
        tonic::Code::InvalidArgument => "INVALID_ARGUMENT",
        tonic::Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        tonic::Code::NotFound => "NOT_FOUND",
        tonic::Code::AlreadyExists => "ALREADY_EXISTS",
        tonic::Code::PermissionDenied => "PERMISSION_DENIED",
        tonic::Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        tonic::Code::FailedPrecondition => "FAILED_PRECONDITION",
        tonic::Code::Aborted => "ABORTED",
        tonic::Code::OutOfRange => "OUT_OF_RANGE",
        tonic::Code::Unimplemented => "UNIMPLEMENTED",
        tonic::Code::Internal => "INTERNAL",
        tonic::Code::Unavailable => "UNAVAILABLE",
        tonic::Code::DataLoss => "DATA_LOSS",
        tonic::Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// A stream's answer holding its credential's stream slot until it ends, and counted as
/// open meanwhile.
struct Held {
    body: Body,
    _permit: OwnedSemaphorePermit,
    _subscriber: Subscriber,
}

/// A request id for a call whose client sent none: 64 random bits, in hex.
fn new_request_id() -> String {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        return "-".to_owned();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Counts a refused call by its code.
fn refused(code: tonic::Code) {
    metrics::counter!(CALLS_REFUSED, "code" => code_name(code)).increment(1);
}

impl http_body::Body for Held {
    type Data = Bytes;
    type Error = tonic::Status;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, tonic::Status>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}
