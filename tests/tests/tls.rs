//! TLS end to end (issue 12, item 5): the supervision platform served by the root over TLS
//! with certificates made here (a CA, the server's certificate, clients' certificates), and
//! called over real gRPC by tonic's own TLS client, on PostgreSQL and on SQLite.
//!
//! Server TLS: a client that trusts the CA is served; a plaintext client and a client that
//! trusts another CA are not. Mutual TLS: a client without a certificate (or with one of
//! another CA) is refused before any call reaches a service; one with a certificate is
//! served, and its subject reaches each call's extensions as the `ClientCertificate`
//! authentication maps (seen through the root's test probe). Reload: the certificate files
//! replaced on disk are served to the next connection, without a restart.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use egov_platform::testing::{
    ADMIN_TOKEN, CertificateProbe, PATIENCE, Running, fresh_store, settings,
};
use egov_platform::{Serve, Settings, TlsSettings};
use egov_proto::supervision::v1 as pb;
use egov_proto::supervision::v1::supervision_service_client::SupervisionServiceClient;
use egov_runtime::access::{Bearer, ClientCertificate, Principal, Role, Scope, authed};
use egov_runtime::clock::ManualClock;
use egov_store::Backend;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

// ----- certificates --------------------------------------------------------------------------

/// A certificate authority of the test.
struct Ca {
    issuer: Issuer<'static, KeyPair>,
    pem: String,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let key = KeyPair::generate().unwrap();
        let pem = params.self_signed(&key).unwrap().pem();
        Ca {
            issuer: Issuer::new(params, key),
            pem,
        }
    }

    /// A certificate and its key (PEM) for `names`, with `common_name` as its subject.
    fn issue(
        &self,
        common_name: &str,
        names: &[&str],
        usage: ExtendedKeyUsagePurpose,
    ) -> (String, String) {
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.extended_key_usages = vec![usage];
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    /// A server certificate for 127.0.0.1 and localhost.
    fn server(&self) -> (String, String) {
        self.issue(
            "egov platform",
            &["localhost", "127.0.0.1"],
            ExtendedKeyUsagePurpose::ServerAuth,
        )
    }

    /// A client certificate with the subject `name`.
    fn client(&self, name: &str) -> (String, String) {
        self.issue(name, &[], ExtendedKeyUsagePurpose::ClientAuth)
    }
}

/// A directory of the test's files, removed at the end.
struct Files(PathBuf);

impl Files {
    fn new() -> Files {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "egov-tls-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Files(dir)
    }

    /// Writes `text` to `name` as a rotation would: a new file renamed over the old one.
    fn put(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        let fresh = self.0.join(format!("{name}.new"));
        std::fs::write(&fresh, text).unwrap();
        std::fs::rename(&fresh, &path).unwrap();
        path
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

// ----- platform and clients ------------------------------------------------------------------

/// The supervision platform over TLS with `tls`, recording the certificates calls carry. A
/// service centre's certificate subject `centre-330106` is the principal of a supervisor of
/// 3301 (`--client-principals`).
async fn serve(backend: Backend, tls: TlsSettings) -> (Running, CertificateProbe) {
    let store = fresh_store(backend).await;
    let clock = ManualClock::new(chrono::Utc::now());
    let probe = CertificateProbe::default();
    let base = settings(Serve::Supervision, store, &clock);
    let mut trust = base.trust.clone();
    trust.certificates.insert(
        "centre-330106".into(),
        Principal {
            id: "office-3301".into(),
            role: Role::Supervisor,
            scope: Scope::parse("region:3301").expect("a scope"),
        },
    );
    let running = Running::start(Settings {
        tls: Some(tls),
        certificate_probe: Some(probe.clone()),
        trust,
        ..base
    })
    .await;
    (running, probe)
}

fn tls_settings(files: &Files, client_ca: Option<&Path>) -> TlsSettings {
    TlsSettings {
        client_ca: client_ca.map(Path::to_owned),
        // Often, so that a replaced file is taken soon; the test waits for it, never sleeps.
        reload_every: Duration::from_millis(50),
        ..TlsSettings::new(files.path("server.pem"), files.path("server.key"))
    }
}

/// A new connection to `running` over TLS trusting `ca`, presenting `identity` if any.
async fn connect(
    running: &Running,
    ca: &str,
    identity: Option<&(String, String)>,
) -> Result<Channel, tonic::transport::Error> {
    let mut config = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca));
    if let Some((cert, key)) = identity {
        config = config.identity(Identity::from_pem(cert, key));
    }
    Endpoint::from_shared(format!("https://127.0.0.1:{}", running.addr.port()))
        .unwrap()
        .connect_timeout(PATIENCE)
        .tls_config(config)?
        .connect()
        .await
}

/// One call over `channel` with the test admin's token: a cheap read of the webhook registry.
async fn call(channel: Channel) -> Result<pb::ListWebhooksResponse, tonic::Status> {
    SupervisionServiceClient::new(authed(channel, Bearer::new(ADMIN_TOKEN)))
        .list_webhooks(pb::ListWebhooksRequest::default())
        .await
        .map(tonic::Response::into_inner)
}

/// One call over `channel` with no token: the client certificate is the only credential.
async fn call_by_certificate(channel: Channel) -> Result<pb::ListWarningsResponse, tonic::Status> {
    SupervisionServiceClient::new(channel)
        .list_warnings(pb::ListWarningsRequest::default())
        .await
        .map(tonic::Response::into_inner)
}

/// Whether a new connection trusting `ca` (presenting `identity`) gets an answer.
async fn served(running: &Running, ca: &str, identity: Option<&(String, String)>) -> bool {
    match connect(running, ca, identity).await {
        // With TLS 1.3 a refused client certificate may only show at the first call.
        Ok(channel) => call(channel).await.is_ok(),
        Err(_) => false,
    }
}

// ----- the stories ---------------------------------------------------------------------------

async fn server_tls_serves_clients_that_trust_its_ca_only(backend: Backend) {
    let files = Files::new();
    let ca = Ca::new("egov test CA");
    let (cert, key) = ca.server();
    files.put("server.pem", &cert);
    files.put("server.key", &key);
    let (running, probe) = serve(backend, tls_settings(&files, None)).await;

    let channel = connect(&running, &ca.pem, None)
        .await
        .expect("a client trusting the CA connects");
    call(channel).await.expect("and is served");

    let plaintext = Endpoint::from_shared(format!("http://{}", running.addr))
        .unwrap()
        .connect_timeout(PATIENCE)
        .connect()
        .await;
    if let Ok(channel) = plaintext {
        let status = call(channel)
            .await
            .expect_err("a plaintext client is not served");
        assert_ne!(status.code(), tonic::Code::Ok);
    }

    let other = Ca::new("another CA");
    assert!(
        connect(&running, &other.pem, None).await.is_err(),
        "a client trusting another CA refuses the server's certificate"
    );
    assert_eq!(
        probe.seen(),
        [None],
        "one call was served, without a client certificate"
    );
    running.stop().await;
}

async fn mutual_tls_refuses_clients_without_a_certificate_and_names_the_others(backend: Backend) {
    let files = Files::new();
    let ca = Ca::new("egov test CA");
    let (cert, key) = ca.server();
    files.put("server.pem", &cert);
    files.put("server.key", &key);
    let clients = Ca::new("service centres CA");
    let client_ca = files.put("clients.pem", &clients.pem);
    let (running, probe) = serve(backend, tls_settings(&files, Some(&client_ca))).await;

    assert!(
        !served(&running, &ca.pem, None).await,
        "a client without a certificate is refused at the handshake"
    );
    let stranger = Ca::new("stranger CA").client("centre-330106");
    assert!(
        !served(&running, &ca.pem, Some(&stranger)).await,
        "a certificate of another CA is refused"
    );
    assert!(
        probe.seen().is_empty(),
        "no refused client reached a service: {:?}",
        probe.seen()
    );

    let centre = clients.client("centre-330106");
    let channel = connect(&running, &ca.pem, Some(&centre))
        .await
        .expect("a client with a certificate of the client CA connects");
    // The certificate alone authenticates: its subject is the configured principal, a
    // supervisor of 3301, who may list the warnings of that subtree...
    call_by_certificate(channel.clone())
        .await
        .expect("and is served as its principal");
    // ...but not the webhook registry, an admin's.
    let status = SupervisionServiceClient::new(channel)
        .list_webhooks(pb::ListWebhooksRequest::default())
        .await
        .expect_err("a supervisor may not list webhooks");
    assert_eq!(status.code(), tonic::Code::PermissionDenied, "{status:?}");
    let expected = Some(ClientCertificate {
        subject: "centre-330106".into(),
    });
    assert_eq!(
        probe.seen(),
        [expected.clone(), expected],
        "each call carries the certificate's subject in its extensions"
    );
    running.stop().await;
}

async fn a_replaced_certificate_is_served_to_new_connections_without_a_restart(backend: Backend) {
    let files = Files::new();
    let old_ca = Ca::new("this year's CA");
    let (cert, key) = old_ca.server();
    files.put("server.pem", &cert);
    files.put("server.key", &key);
    let (running, _probe) = serve(backend, tls_settings(&files, None)).await;
    let old_channel = connect(&running, &old_ca.pem, None)
        .await
        .expect("the first certificate is served");
    call(old_channel.clone()).await.expect("a call");

    // Rotation: a certificate of a new CA replaces the files, key first (a certificate that
    // does not fit the key in force meanwhile is not taken).
    let new_ca = Ca::new("next year's CA");
    let (cert, key) = new_ca.server();
    files.put("server.key", &key);
    files.put("server.pem", &cert);
    let started = std::time::Instant::now();
    while !served(&running, &new_ca.pem, None).await {
        assert!(
            started.elapsed() < PATIENCE,
            "the new certificate was not served within {PATIENCE:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        !served(&running, &old_ca.pem, None).await,
        "new connections get the new certificate only"
    );
    call(old_channel)
        .await
        .expect("a connection opened before the rotation goes on");
    running.stop().await;
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
    server_tls_serves_clients_that_trust_its_ca_only,
    mutual_tls_refuses_clients_without_a_certificate_and_names_the_others,
    a_replaced_certificate_is_served_to_new_connections_without_a_restart,
);
