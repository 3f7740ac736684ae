//! Messages over a service's size limit answered RESOURCE_EXHAUSTED (with `google.rpc.ErrorInfo`
//! MESSAGE_TOO_LARGE), where tonic says OUT_OF_RANGE: gRPC reserves OUT_OF_RANGE for a value
//! past the end of a range the client may iterate (and our stream positions use it so), while
//! standard clients expect RESOURCE_EXHAUSTED for a message that is too large.
//!
//! tonic refuses an oversized unary request before any handler runs, answering with the status
//! in the response headers: [`SizeLimited`] wraps a generated server and rewrites that answer.
//! A stream's handler meets the refusal as the stream's error and maps it with
//! [`message_too_large`] itself.

use std::convert::Infallible;
use std::task::{Context, Poll};

use tonic::codegen::{BoxFuture, Service, http};
use tonic::server::NamedService;

use super::Refusal;

/// The status tonic gives a message over the limit: OUT_OF_RANGE with this message prefix.
const TONIC_TOO_LARGE: [&str; 2] = [
    "Error, decoded message length too large: ",
    "Error, encoded message length too large: ",
];

/// RESOURCE_EXHAUSTED MESSAGE_TOO_LARGE for tonic's OUT_OF_RANGE "message length too large";
/// any other status unchanged.
pub fn message_too_large(status: tonic::Status) -> tonic::Status {
    if status.code() != tonic::Code::OutOfRange {
        return status;
    }
    let Some(detail) = TONIC_TOO_LARGE
        .iter()
        .find_map(|prefix| status.message().strip_prefix(prefix))
    else {
        return status;
    };
    // "found 17000000 bytes, the limit is: 16777216 bytes"
    let limit = detail
        .rsplit_once("the limit is: ")
        .map(|(_, l)| l.trim_end_matches(" bytes").to_owned())
        .unwrap_or_default();
    Refusal::new(
        "MESSAGE_TOO_LARGE",
        format!("the message is too large: {detail}; send less in each message"),
    )
    .with("limit_bytes", limit)
    .status(tonic::Code::ResourceExhausted)
}

/// A generated server whose answers to oversized requests are RESOURCE_EXHAUSTED (see the
/// module comment); everything else passes through untouched.
#[derive(Debug, Clone)]
pub struct SizeLimited<S>(pub S);

impl<S: NamedService> NamedService for SizeLimited<S> {
    const NAME: &'static str = S::NAME;
}

impl<S, B> Service<http::Request<B>> for SizeLimited<S>
where
    S: Service<http::Request<B>, Response = http::Response<tonic::body::Body>, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Infallible>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let answer = self.0.call(request);
        Box::pin(async move {
            let response = answer.await?;
            // A refusal before the handler is a headers-only answer carrying the status.
            Ok(match tonic::Status::from_header_map(response.headers()) {
                Some(status) if status.code() == tonic::Code::OutOfRange => {
                    let mapped = message_too_large(status);
                    if mapped.code() == tonic::Code::ResourceExhausted {
                        mapped.into_http()
                    } else {
                        response
                    }
                }
                _ => response,
            })
        })
    }
}
