//! The front hall's layer on its own (docs/design.md §8): a client certificate the TLS
//! acceptor verified is mapped to its configured principal, an unmapped one is refused, and
//! the audit sink hears of every refusal and every state-changing call. (Over real gRPC the
//! acceptor puts the certificate in the request; here the test does.)

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use egov_runtime::access::{
    AuditEvent, AuditSink, Caller, ClientCertificate, Principal, Role, Scope,
};
use egov_store::Backend;
use egov_trust::{Trust, TrustSettings};
use tonic::body::Body;
use tower::{Service, ServiceExt};

/// Every audited event, in order.
#[derive(Debug, Default, Clone)]
struct Heard(Arc<Mutex<Vec<AuditEvent>>>);

impl AuditSink for Heard {
    fn record(&self, event: AuditEvent) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        self.0.lock().expect("the events").push(event);
        Box::pin(async {})
    }
}

/// The services behind the hall: answers OK with the caller's name in a header.
#[derive(Debug, Clone)]
struct Echo;

impl Service<http::Request<Body>> for Echo {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<http::Response<Body>, Infallible>> + Send>>;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Infallible>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let who = request
            .extensions()
            .get::<Caller>()
            .map(|c| c.principal.id.clone())
            .unwrap_or_default();
        Box::pin(async move {
            Ok(http::Response::builder()
                .header("x-caller", who)
                .body(Body::empty())
                .expect("a response"))
        })
    }
}

fn request(method: &str, subject: Option<&str>) -> http::Request<Body> {
    let mut request = http::Request::builder()
        .uri(format!(
            "http://egov/egov.approval.v1.ApprovalService/{method}"
        ))
        .body(Body::empty())
        .expect("a request");
    if let Some(subject) = subject {
        request.extensions_mut().insert(ClientCertificate {
            subject: subject.to_owned(),
        });
    }
    request
}

#[tokio::test]
async fn a_client_certificate_is_its_configured_principal() {
    let store = egov_store::testing::fresh(Backend::Sqlite).await;
    let heard = Heard::default();
    let hall_xihu = Principal {
        id: "hall-xihu".into(),
        role: Role::ServiceCentre,
        scope: Scope::Departments(vec!["market".into()]),
    };
    let trust = Trust::new(
        TrustSettings {
            certificates: HashMap::from([("hall-xihu.example".to_owned(), hall_xihu)]),
            audit: Some(Arc::new(heard.clone())),
            ..TrustSettings::default()
        },
        store,
    )
    .expect("the built-in policy");
    let mut hall = tower::Layer::layer(&trust.layer(), Echo);

    let answer = hall
        .ready()
        .await
        .expect("ready")
        .call(request("SubmitRecords", Some("hall-xihu.example")))
        .await
        .expect("an answer");
    assert_eq!(answer.headers()["x-caller"], "hall-xihu");
    assert!(answer.headers().get("grpc-status").is_none());

    let answer = hall
        .ready()
        .await
        .expect("ready")
        .call(request("SubmitRecords", Some("stranger.example")))
        .await
        .expect("an answer");
    assert_eq!(answer.headers()["grpc-status"], "16", "UNAUTHENTICATED");

    // The service centre may not change the rules.
    let answer = hall
        .ready()
        .await
        .expect("ready")
        .call(request("UpdateRuleConfig", Some("hall-xihu.example")))
        .await
        .expect("an answer");
    assert_eq!(answer.headers()["grpc-status"], "7", "PERMISSION_DENIED");

    // A read that was allowed is not audited; the rest are, with who and how it ended.
    let answer = hall
        .ready()
        .await
        .expect("ready")
        .call(request("ListMatters", Some("hall-xihu.example")))
        .await
        .expect("an answer");
    assert!(answer.headers().get("grpc-status").is_none());
    let events: Vec<(String, String, String)> = heard
        .0
        .lock()
        .expect("the events")
        .iter()
        .map(|e| (e.principal.clone(), e.action.clone(), e.outcome.clone()))
        .collect();
    let path = |m: &str| format!("/egov.approval.v1.ApprovalService/{m}");
    assert_eq!(
        events,
        [
            ("hall-xihu".into(), path("SubmitRecords"), "OK".into()),
            (
                "anonymous".into(),
                path("SubmitRecords"),
                "UNAUTHENTICATED".into()
            ),
            (
                "hall-xihu".into(),
                path("UpdateRuleConfig"),
                "PERMISSION_DENIED".into()
            ),
        ]
    );
}
