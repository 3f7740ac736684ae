//! Webhooks as an attacker would use them (issue 12, item 6), over real gRPC on PostgreSQL and
//! on SQLite: a hook may not make the platform POST to the database port on loopback, to an
//! admin server on this machine or to the cloud's metadata service; a hook whose host name
//! resolves to loopback at delivery time (DNS rebinding) is not contacted; a receiver's
//! answer body (an internal server's "db_password=...") never reaches the API; a token in a
//! hook's query string is masked when hooks are listed.
//!
//! The supervision platform runs as in production, with no `--webhook-allow`, unless a story
//! says otherwise.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use egov_approval::testing::fixtures::*;
use egov_domain::record::RecordBody;
use egov_platform::testing::{PATIENCE, local_webhooks};
use egov_proto::supervision::v1 as pb;
use egov_store::{Backend, NewWebhook};
use egov_supervision::SupervisionOptions;
use egov_tests::*;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper::{Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

const SECRET: &str = "s3cret-for-the-sms-gateway";
const START: &str = "2024-03-04 09:00";

/// An HTTP server on 127.0.0.1:0 answering every request with `status` and `body`, counting
/// the requests: a local admin page, or a receiver that fails with a talkative body.
#[derive(Debug, Clone)]
struct Server {
    addr: SocketAddr,
    requests: Arc<AtomicUsize>,
}

impl Server {
    async fn start(status: u16, body: &'static str) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let requests = Arc::new(AtomicUsize::new(0));
        let counted = requests.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let counted = counted.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |_request| {
                        counted.fetch_add(1, Ordering::SeqCst);
                        let mut response =
                            Response::new(Full::new(Bytes::from_static(body.as_bytes())));
                        *response.status_mut() = StatusCode::from_u16(status).expect("a status");
                        async move { Ok::<_, Infallible>(response) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Server { addr, requests }
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

async fn create(w: &mut Platforms, url: &str) -> Result<pb::Webhook, tonic::Status> {
    w.supervision()
        .client
        .create_webhook(pb::CreateWebhookRequest {
            url: url.into(),
            secret: SECRET.into(),
            ..Default::default()
        })
        .await
        .map(|r| r.into_inner().webhook.expect("a webhook"))
}

/// Asserts that creating a hook to `url` is refused as INVALID_ARGUMENT naming `url` and
/// `reason`.
async fn refused_at_creation(w: &mut Platforms, url: &str, reason: &str) {
    let status = create(w, url)
        .await
        .expect_err("a hook to a non-public destination is refused");
    assert_eq!(
        status.code(),
        tonic::Code::InvalidArgument,
        "{url}: {status:?}"
    );
    let message = status.message();
    assert!(
        message.contains("url") && message.contains(reason),
        "{url}: {message}"
    );
    assert!(message.contains("--webhook-allow"), "{url}: {message}");
}

async fn hooks(w: &mut Platforms) -> pb::ListWebhooksResponse {
    w.supervision()
        .client
        .list_webhooks(pb::ListWebhooksRequest::default())
        .await
        .expect("list webhooks")
        .into_inner()
}

async fn deliveries(w: &mut Platforms, hook_id: &str) -> pb::ListWebhookDeliveriesResponse {
    w.supervision()
        .client
        .list_webhook_deliveries(pb::ListWebhookDeliveriesRequest {
            webhook_id: hook_id.into(),
            page_size: 100,
            ..Default::default()
        })
        .await
        .expect("list deliveries")
        .into_inner()
}

/// Raises one yellow card (a refusal without reasons) and waits until the deliverer has
/// enqueued its deliveries and made every attempt due now.
async fn raise_and_attempt(w: &mut Platforms, case_no: &str) {
    w.push(vec![
        rec(case_no, 1, START, application(MATTER, DEPARTMENT, REGION)),
        rec(
            case_no,
            2,
            START,
            RecordBody::Refusal {
                reason: " ".into(),
                handler: "clerk-1".into(),
            },
        ),
    ])
    .await;
    let card = w.next().await;
    assert_eq!(card.case_no, case_no);
    egov_store::testing::warnings_settled(&w.store).await;
    let head = w.store.warnings_head().await.expect("warnings head");
    let s = w.supervision().supervision.clone();
    tokio::time::timeout(PATIENCE, s.deliveries_enqueued(head))
        .await
        .expect("the deliveries are enqueued");
    let now = w.now();
    tokio::time::timeout(PATIENCE, s.deliveries_idle(now))
        .await
        .expect("the deliverer is idle");
}

// ----- the attacks ---------------------------------------------------------------------------

async fn create_webhook_to_the_database_port_on_loopback_is_refused(backend: Backend) {
    let mut w = Platforms::start(backend, START).await;
    refused_at_creation(&mut w, "http://127.0.0.1:5432/", "loopback").await;
    refused_at_creation(&mut w, "http://[::1]:5432/", "loopback").await;
    refused_at_creation(&mut w, "http://[::ffff:127.0.0.1]:5432/", "loopback").await;
    refused_at_creation(&mut w, "http://0.0.0.0:5432/", "unspecified").await;
    // Loopback spelled as the resolver reads it: resolved, then refused.
    refused_at_creation(&mut w, "http://2130706433:5432/", "loopback").await;
    refused_at_creation(&mut w, "http://0x7f.1:5432/", "loopback").await;
    assert!(hooks(&mut w).await.webhooks.is_empty());
    w.the_end().await;
}

async fn create_webhook_to_a_local_admin_server_is_refused(backend: Backend) {
    let admin = Server::start(200, "admin console: db_password=secret").await;
    let mut w = Platforms::start(backend, START).await;
    let port = admin.addr.port();
    refused_at_creation(
        &mut w,
        &format!("http://127.0.0.1:{port}/admin"),
        "loopback",
    )
    .await;
    refused_at_creation(
        &mut w,
        &format!("http://localhost:{port}/admin"),
        "loopback",
    )
    .await;
    refused_at_creation(&mut w, "http://10.0.0.5:8080/admin", "private").await;
    refused_at_creation(&mut w, "http://192.168.1.1/admin", "private").await;
    refused_at_creation(&mut w, "http://[fd12::1]/admin", "unique local").await;
    assert!(hooks(&mut w).await.webhooks.is_empty());
    assert_eq!(admin.requests(), 0, "the admin server was never contacted");
    w.the_end().await;
}

async fn create_webhook_to_the_metadata_service_is_refused(backend: Backend) {
    let mut w = Platforms::start(backend, START).await;
    refused_at_creation(
        &mut w,
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "metadata",
    )
    .await;
    refused_at_creation(&mut w, "http://[fd00:ec2::254]/latest/", "metadata").await;
    refused_at_creation(&mut w, "http://169.254.10.1/", "link-local").await;
    refused_at_creation(&mut w, "http://[fe80::1]/", "link-local").await;
    assert!(hooks(&mut w).await.webhooks.is_empty());
    w.the_end().await;
}

/// A hook whose host resolved to a public address when it was created and resolves to
/// loopback now (DNS rebinding), or one stored before the check existed: stored here directly,
/// as no CreateWebhook would accept it today. The attempt resolves the name, finds loopback
/// and fails with the reason, without contacting the server.
async fn a_host_name_resolving_to_loopback_is_refused_at_delivery_time(backend: Backend) {
    let internal = Server::start(200, "ok").await;
    let mut w = Platforms::start(backend, START).await;
    let mut ids = Vec::new();
    for url in [
        format!("http://localhost:{}/hook", internal.addr.port()),
        format!("http://{}/hook", internal.addr),
    ] {
        let row = w
            .store
            .create_webhook(&NewWebhook {
                url,
                secret: SECRET.into(),
                department: None,
                region_prefix: None,
                min_level: None,
                max_attempts: 3,
                created_at: w.now(),
            })
            .await
            .expect("a hook stored");
        ids.push(row.id.to_string());
    }
    raise_and_attempt(&mut w, "R-1").await;
    for (id, host) in ids.iter().zip(["localhost resolves to", "127.0.0.1 is"]) {
        let listed = deliveries(&mut w, id).await.deliveries;
        assert_eq!(listed.len(), 1, "{listed:?}");
        let d = &listed[0];
        assert_eq!(d.attempts, 1, "{d:?}");
        assert_ne!(d.state(), pb::WebhookDeliveryState::Delivered, "{d:?}");
        assert!(
            d.last_error.starts_with("forbidden destination: ")
                && d.last_error.contains(host)
                && d.last_error.contains("loopback"),
            "{}",
            d.last_error
        );
    }
    assert_eq!(
        internal.requests(),
        0,
        "the internal server was never contacted"
    );
    w.the_end().await;
}

async fn list_webhook_deliveries_shows_no_response_body(backend: Backend) {
    let talkative = Server::start(500, "internal error; db_password=secret").await;
    let mut w = Platforms::start_with_options(
        backend,
        START,
        local_webhooks(SupervisionOptions::without_corrections()),
    )
    .await;
    let hook = create(&mut w, &format!("http://{}/hook", talkative.addr))
        .await
        .expect("a receiver on loopback, allowed by the allow-list");
    raise_and_attempt(&mut w, "B-1").await;
    assert!(talkative.requests() >= 1, "the receiver was called");
    let answer = deliveries(&mut w, &hook.id).await;
    assert_eq!(answer.deliveries.len(), 1, "{answer:?}");
    assert_eq!(
        answer.deliveries[0].last_error, "HTTP 500 Internal Server Error",
        "the status and its reason only"
    );
    let shown = format!("{answer:?}");
    assert!(
        !shown.contains("db_password") && !shown.contains("secret"),
        "{shown}"
    );
    let shown = format!("{:?}", hooks(&mut w).await);
    assert!(!shown.contains("db_password"), "{shown}");
    w.the_end().await;
}

async fn list_webhooks_masks_a_query_string_token(backend: Backend) {
    let receiver = Server::start(200, "ok").await;
    let mut w = Platforms::start_with_options(
        backend,
        START,
        local_webhooks(SupervisionOptions::without_corrections()),
    )
    .await;
    let url = format!("http://{}/hook?token=tok-5f2a9c&channel=sms", receiver.addr);
    let created = create(&mut w, &url).await.expect("a hook");
    let masked = format!("http://{}/hook?token=***&channel=***", receiver.addr);
    assert_eq!(created.url, masked, "the creation's answer is masked too");
    let listed = hooks(&mut w).await;
    assert_eq!(listed.webhooks.len(), 1);
    assert_eq!(listed.webhooks[0].url, masked);
    assert!(!format!("{listed:?}").contains("tok-5f2a9c"));
    // The receiver still gets its token: only what is shown is masked.
    raise_and_attempt(&mut w, "T-1").await;
    assert_eq!(receiver.requests(), 1);
    let stored = w.store.webhooks().await.expect("hooks");
    assert_eq!(stored[0].url, url);
    w.the_end().await;
}

macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        mod postgres {
            $(#[tokio::test] async fn $name() { super::$name(egov_store::Backend::Postgres).await })*
        }
        mod sqlite {
            $(#[tokio::test] async fn $name() { super::$name(egov_store::Backend::Sqlite).await })*
        }
    };
}

on_both_databases!(
    create_webhook_to_the_database_port_on_loopback_is_refused,
    create_webhook_to_a_local_admin_server_is_refused,
    create_webhook_to_the_metadata_service_is_refused,
    a_host_name_resolving_to_loopback_is_refused_at_delivery_time,
    list_webhook_deliveries_shows_no_response_body,
    list_webhooks_masks_a_query_string_token,
);
