//! A database outage while the platforms serve (PostgreSQL, the only database that can go away
//! under a running process): the test puts a TCP proxy it can cut between the platforms and
//! the server; while it is cut, calls answer UNAVAILABLE (so standard retry policies retry)
//! within a few seconds instead of hanging on the pool; once it is restored, calls succeed
//! again within a few seconds, and a warning stream open across the outage (or re-opened by
//! its reader after an UNAVAILABLE) delivers a warning raised after it. The health check
//! (`grpc.health.v1`) says NOT_SERVING while it is cut, and SERVING again once it is back.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use egov_platform::{Database, Platforms, Serve, Settings};
use egov_proto::approval::v1 as apb;
use egov_proto::approval::v1::approval_service_client::ApprovalServiceClient;
use egov_proto::supervision::v1 as spb;
use egov_proto::supervision::v1::supervision_service_client::SupervisionServiceClient;
use egov_runtime::clock::ManualClock;
use egov_runtime::shutdown;
use egov_store::StoreOptions;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;
use tokio::task::JoinSet;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// A TCP proxy to the database that the test cuts (every connection closed, new ones closed
/// on accept, as a server going away looks to a client) and restores.
struct Proxy {
    addr: SocketAddr,
    cut: Arc<AtomicBool>,
    links: Arc<Mutex<JoinSet<()>>>,
}

impl Proxy {
    async fn start(upstream: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("an address");
        let cut = Arc::new(AtomicBool::new(false));
        let links = Arc::new(Mutex::new(JoinSet::new()));
        let (c, l) = (cut.clone(), links.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    return;
                };
                if c.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let upstream = upstream.clone();
                l.lock().await.spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        });
        Proxy { addr, cut, links }
    }

    async fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        self.links.lock().await.abort_all();
    }

    fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

/// The test admin's token of the platform under test.
static TOKEN: std::sync::OnceLock<String> = std::sync::OnceLock::new();

async fn authed(target: &str) -> egov_runtime::access::Authed {
    let channel = tonic::transport::Channel::from_shared(target.to_owned())
        .expect("a target")
        .connect()
        .await
        .expect("the platform's port answers");
    egov_runtime::access::authed(
        channel,
        egov_runtime::access::Bearer::new(TOKEN.get().expect("a token")),
    )
}

async fn list_cases(target: &str) -> Result<(), tonic::Status> {
    let mut client = ApprovalServiceClient::new(authed(target).await);
    client
        .list_cases(apb::ListCasesRequest::default())
        .await
        .map(|_| ())
}

/// The warning stream from the beginning of the log (a reader re-opens it after an error).
async fn stream_warnings(target: &str) -> tonic::Streaming<spb::StreamWarningsResponse> {
    SupervisionServiceClient::new(authed(target).await)
        .stream_warnings(spb::StreamWarningsRequest::default())
        .await
        .expect("the stream opens")
        .into_inner()
}

/// A fresh PostgreSQL database behind a proxy, and the URL that reaches it through the proxy.
async fn behind_proxy() -> (Proxy, String) {
    let url = egov_store::testing::fresh_postgres_url().await;
    // postgres://USER@HOST:PORT/DB: the proxy stands in for HOST:PORT.
    let (head, rest) = url.split_at(url.rfind('@').expect("a user") + 1);
    let (upstream, path) = rest.split_at(rest.find('/').expect("a database"));
    let proxy = Proxy::start(upstream.to_owned()).await;
    let through_proxy = format!("{head}{}{path}", proxy.addr);
    (proxy, through_proxy)
}

#[tokio::test]
async fn a_database_outage_answers_unavailable_and_calls_recover_when_it_returns() {
    let (proxy, through_proxy) = behind_proxy().await;

    let platforms = Platforms::build(Settings::new(
        Serve::Both,
        Database::Url {
            url: through_proxy,
            // The default acquire timeout: the fail-fast bound under test.
            options: StoreOptions {
                max_connections: 4,
                ..StoreOptions::default()
            },
        },
        ManualClock::new("2024-03-04T01:00:00Z".parse().expect("an instant")).shared(),
    ))
    .await
    .expect("the platform starts");
    let target = format!("http://{}", platforms.addr());
    let store = platforms.store().clone();
    let token = platforms
        .issue_credential(&egov_platform::testing::admin(), None)
        .await
        .expect("a credential")
        .token;
    TOKEN.set(token).expect("one platform under test");
    let (trigger, stop) = shutdown::channel();
    let serving = tokio::spawn(platforms.run_until_stopped(stop));
    list_cases(&target)
        .await
        .expect("answers before the outage");
    let mut warnings = stream_warnings(&target).await;

    proxy.cut().await;
    let started = Instant::now();
    let status = list_cases(&target).await.expect_err("the database is gone");
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "failed fast: {:?}",
        started.elapsed()
    );
    assert!(!status.message().contains("postgres"), "{status:?}");

    proxy.restore();
    let restored = Instant::now();
    loop {
        match list_cases(&target).await {
            Ok(()) => break,
            Err(s) => {
                assert_eq!(s.code(), tonic::Code::Unavailable, "{s:?}");
                assert!(
                    restored.elapsed() < Duration::from_secs(10),
                    "no recovery within 10 s: {s:?}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }

    // A warning raised now reaches the stream within a few seconds.
    let raised = Instant::now();
    loop {
        let warning = egov_store::NewWarning {
            case_no: "C-OUT".into(),
            rule: "missing_reasons".into(),
            level: "yellow_card".into(),
            department: "market".into(),
            region: "330106".into(),
            matter_code: "M-FOOD".into(),
            due_at: None,
            raised_at: "2024-03-04T01:00:00Z".parse().expect("an instant"),
            detail: serde_json::json!({"message": "case C-OUT: a refusal without reasons"}),
        };
        match store.insert_warnings(&[warning]).await {
            Ok(_) => break,
            Err(e) => assert!(raised.elapsed() < Duration::from_secs(10), "{e}"),
        }
    }
    loop {
        assert!(
            raised.elapsed() < Duration::from_secs(10),
            "the warning did not reach the stream within 10 s"
        );
        match tokio::time::timeout(Duration::from_secs(10), warnings.message()).await {
            Ok(Ok(Some(m))) if m.warning.as_ref().is_some_and(|w| w.case_no == "C-OUT") => break,
            Ok(Ok(Some(_))) => {}
            Ok(Ok(None)) => warnings = stream_warnings(&target).await,
            Ok(Err(status)) => {
                assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
                warnings = stream_warnings(&target).await;
            }
            Err(_) => panic!("the stream hung"),
        }
    }

    trigger.trigger();
    serving
        .await
        .expect("the server task")
        .expect("served and stopped");
}

/// The statuses of the whole server and of each platform service, asked without a credential.
async fn health(target: &str) -> Vec<ServingStatus> {
    let channel = tonic::transport::Channel::from_shared(target.to_owned())
        .expect("a target")
        .connect()
        .await
        .expect("the platform's port answers");
    let mut client = HealthClient::new(channel);
    let mut statuses = Vec::new();
    for service in [
        "",
        "egov.approval.v1.ApprovalService",
        "egov.supervision.v1.SupervisionService",
        "egov.supervision.v1.ScoresService",
    ] {
        let answer = client
            .check(HealthCheckRequest {
                service: service.to_owned(),
            })
            .await
            .expect("health answers, whatever the database");
        statuses.push(answer.into_inner().status());
    }
    statuses
}

/// Waits (generously) until every status is `want`.
async fn health_becomes(target: &str, want: ServingStatus) {
    let started = Instant::now();
    loop {
        let statuses = health(target).await;
        if statuses.iter().all(|s| *s == want) {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "health is {statuses:?}, not {want:?}, after 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn health_says_not_serving_while_the_database_is_away() {
    let (proxy, through_proxy) = behind_proxy().await;
    let platforms = Platforms::build(Settings {
        health_interval: Duration::from_millis(200),
        ..Settings::new(
            Serve::Both,
            Database::Url {
                url: through_proxy,
                options: StoreOptions {
                    max_connections: 4,
                    ..StoreOptions::default()
                },
            },
            ManualClock::new("2024-03-04T01:00:00Z".parse().expect("an instant")).shared(),
        )
    })
    .await
    .expect("the platform starts");
    let target = format!("http://{}", platforms.addr());
    let (trigger, stop) = shutdown::channel();
    let serving = tokio::spawn(platforms.run_until_stopped(stop));
    health_becomes(&target, ServingStatus::Serving).await;

    proxy.cut().await;
    health_becomes(&target, ServingStatus::NotServing).await;
    // Live all the same: a liveness probe does not restart a process for an outage.
    let channel = tonic::transport::Channel::from_shared(target.clone())
        .expect("a target")
        .connect()
        .await
        .expect("the platform's port answers");
    let live = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: "liveness".to_owned(),
        })
        .await
        .expect("liveness answers");
    assert_eq!(live.into_inner().status(), ServingStatus::Serving);

    proxy.restore();
    health_becomes(&target, ServingStatus::Serving).await;

    trigger.trigger();
    serving
        .await
        .expect("the server task")
        .expect("served and stopped");
}
