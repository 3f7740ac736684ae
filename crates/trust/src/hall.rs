//! The front hall's layer (docs/design.md "Trust"): wraps the root's whole router, so no RPC is
//! reached around it. For every call it authenticates the caller (a bearer token, or the
//! mutual-TLS certificate the acceptor verified), applies the caller's limits, asks the
//! policy whether the role may make the call at all, puts the [`Caller`] in the request for
//! the service's own checks of what it loads, and hands every refused call and every
//! state-changing one (whatever its outcome) to the audit sink.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use chrono::Utc;
use egov_runtime::access::{AuditEvent, Caller, ClientCertificate, Target};
use http_body::Frame;
use tokio::sync::OwnedSemaphorePermit;
use tonic::body::Body;
use tonic::transport::server::TcpConnectInfo;
use tonic_types::{ErrorDetails, StatusExt};

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
const STREAMS: [&str; 3] = ["StreamRecords", "FollowRecords", "StreamWarnings"];

/// Whether a call of `action` reads only (and so is audited only when refused).
fn reads_only(action: &str) -> bool {
    action.starts_with("Get")
        || action.starts_with("List")
        || action == "StreamWarnings"
        || action == "FollowRecords"
}

/// Who presented what.
struct Identified {
    caller: Caller,
    credential: String,
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

    fn call(&mut self, mut request: http::Request<Body>) -> Self::Future {
        // The clone that was polled ready serves this call (tower's contract).
        let ready = self.service.clone();
        let mut service = std::mem::replace(&mut self.service, ready);
        let inner = self.inner.clone();
        Box::pin(async move {
            let path = request.uri().path().to_owned();
            let method = path.rsplit('/').next().unwrap_or_default().to_owned();
            let peer = request
                .extensions()
                .get::<TcpConnectInfo>()
                .and_then(TcpConnectInfo::remote_addr)
                .map(|a| a.to_string());
            let audit = |principal: &str, role: &str, outcome: tonic::Code| AuditEvent {
                principal: principal.to_owned(),
                role: role.to_owned(),
                action: path.clone(),
                target: String::new(),
                outcome: code_name(outcome).to_owned(),
                peer: peer.clone(),
                at: Utc::now(),
            };
            let bearer = request
                .headers()
                .get(http::header::AUTHORIZATION)
                .map(|v| v.to_str().unwrap_or_default().to_owned());
            let certificate = request.extensions().get::<ClientCertificate>().cloned();
            let identified = match inner.identify(bearer, certificate, &method).await {
                Ok(identified) => identified,
                Err(status) => {
                    inner
                        .audit
                        .record(audit("anonymous", "", status.code()))
                        .await;
                    return Ok(status.into_http());
                }
            };
            let principal = identified.caller.principal.clone();
            let refuse = |status: tonic::Status| {
                let event = audit(&principal.id, principal.role.as_str(), status.code());
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
            let action = identified.caller.action;
            if !identified.caller.may(&Target::Call) {
                let denied = egov_runtime::error::Refusal::new(
                    "POLICY_DENIED",
                    format!(
                        "{} ({}) may not call {action}",
                        principal.id, principal.role
                    ),
                )
                .with("principal", principal.id.clone())
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
            request.extensions_mut().insert(identified.caller);
            let Ok(response) = service.call(request).await;
            if !reads_only(action) {
                let code = response
                    .headers()
                    .get("grpc-status")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<i32>().ok())
                    .map_or(tonic::Code::Ok, tonic::Code::from_i32);
                inner
                    .audit
                    .record(audit(&principal.id, principal.role.as_str(), code))
                    .await;
            }
            Ok(match permit {
                None => response,
                Some(permit) => response.map(|body| {
                    Body::new(Held {
                        body,
                        _permit: permit,
                    })
                }),
            })
        })
    }
}

impl Inner {
    /// The caller of `request`: its bearer token, else its verified client certificate.
    async fn identify(
        &self,
        bearer: Option<String>,
        certificate: Option<ClientCertificate>,
        method: &str,
    ) -> Result<Identified, tonic::Status> {
        let action = self
            .policy
            .action(method)
            .ok_or_else(|| tonic::Status::unimplemented(format!("no such RPC: {method}")))?;
        let caller = |principal, credential| Identified {
            caller: Caller::new(principal, action, self.policy.clone()),
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
        Err(tonic::Status::unauthenticated("a credential is required"))
    }
}

/// RESOURCE_EXHAUSTED telling the client when to retry.
fn exhausted(reason: &str, message: &str, wait: std::time::Duration) -> tonic::Status {
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

/// A stream's answer holding its credential's stream slot until it ends.
struct Held {
    body: Body,
    _permit: OwnedSemaphorePermit,
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
