//! Hostile connections at the root's accept loop: one peer address may hold only so many
//! connections (more are closed on accept, while other clients are served), and a connection
//! that sends nothing (or, with TLS, does not finish its handshake) is closed after the
//! handshake timeout.

use std::net::SocketAddr;
use std::time::Duration;

use egov_platform::testing::{connect, fresh_store};
use egov_platform::{ConnectionLimits, Database, Platforms, Serve, Settings};
use egov_proto::approval::v1 as apb;
use egov_proto::approval::v1::approval_service_client::ApprovalServiceClient;
use egov_runtime::clock::ManualClock;
use egov_runtime::shutdown;
use egov_store::Backend;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// The HTTP/2 client preface and an empty SETTINGS frame: what an idle client sends.
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00";

/// A connection from 127.0.0.2, a peer address of its own (all of 127/8 is this machine).
async fn connect_from_another_peer(server: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("a socket");
    socket
        .bind(SocketAddr::from(([127, 0, 0, 2], 0)))
        .expect("bind 127.0.0.2");
    socket.connect(server).await.expect("the port accepts")
}

/// Whether the server closes `stream` within `within` (what it sends before is skipped).
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 1024];
    tokio::time::timeout(within, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .is_ok()
}

/// An approval platform over a fresh SQLite store, serving with `limits` on a task: its
/// address, an admin token, the trigger that stops it, and the serving task.
async fn approval_serving(
    limits: ConnectionLimits,
) -> (
    SocketAddr,
    String,
    shutdown::ShutdownTrigger,
    tokio::task::JoinHandle<Result<(), tonic::transport::Error>>,
) {
    let platforms = Platforms::build(Settings {
        connections: limits,
        ..Settings::new(
            Serve::Approval,
            Database::Store(fresh_store(Backend::Sqlite).await),
            ManualClock::new("2024-03-04T01:00:00Z".parse().expect("an instant")).shared(),
        )
    })
    .await
    .expect("the platform starts");
    let addr = platforms.addr();
    let token = platforms
        .issue_credential(&egov_platform::testing::admin(), None)
        .await
        .expect("a credential")
        .token;
    let (trigger, stop) = shutdown::channel();
    (
        addr,
        token,
        trigger,
        tokio::spawn(platforms.run_until_stopped(stop)),
    )
}

#[tokio::test]
async fn a_peer_beyond_its_limit_is_closed_and_a_silent_connection_times_out() {
    let (addr, token, trigger, serving) = approval_serving(ConnectionLimits {
        per_peer: 3,
        handshake_timeout: Duration::from_millis(500),
        ..ConnectionLimits::default()
    })
    .await;

    let mut idle = Vec::new();
    for _ in 0..3 {
        let mut stream = connect_from_another_peer(addr).await;
        stream.write_all(PREFACE).await.expect("send the preface");
        idle.push(stream);
    }
    let mut extra = connect_from_another_peer(addr).await;
    assert!(
        closed_within(&mut extra, Duration::from_secs(5)).await,
        "a fourth connection from one peer is closed"
    );
    // A client from another address is served all the while.
    ApprovalServiceClient::new(connect(addr, Some(&token)).await)
        .list_cases(apb::ListCasesRequest::default())
        .await
        .expect("another client is served");
    for stream in &mut idle {
        assert!(
            !closed_within(stream, Duration::from_millis(200)).await,
            "the connections within the limit stay open past the handshake timeout"
        );
    }

    // One closed: its place is free again.
    drop(idle.pop());
    let mut again = None;
    for _ in 0..50 {
        let mut stream = connect_from_another_peer(addr).await;
        stream.write_all(PREFACE).await.expect("send the preface");
        if !closed_within(&mut stream, Duration::from_millis(200)).await {
            again = Some(stream);
            break;
        }
    }
    assert!(
        again.is_some(),
        "a freed place is given to a new connection"
    );

    // Silent: not one byte within the handshake timeout.
    let mut silent = TcpStream::connect(addr).await.expect("the port accepts");
    assert!(
        closed_within(&mut silent, Duration::from_secs(5)).await,
        "a silent connection is closed after the handshake timeout"
    );

    trigger.trigger();
    serving
        .await
        .expect("the server task")
        .expect("served and stopped");
}

/// With TLS, the handshake timeout bounds the whole handshake, not only its first byte: a
/// client that starts a ClientHello and stalls is closed, as is a silent one, while a client
/// that completes it is served.
#[tokio::test]
async fn a_stalled_tls_handshake_is_closed_after_the_handshake_timeout() {
    let dir = std::env::temp_dir().join(format!("egov-tls-stall-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a directory");
    let key = rcgen::KeyPair::generate().expect("a key");
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .expect("params")
        .self_signed(&key)
        .expect("a certificate");
    std::fs::write(dir.join("cert.pem"), cert.pem()).expect("write");
    std::fs::write(dir.join("key.pem"), key.serialize_pem()).expect("write");
    let platforms = Platforms::build(Settings {
        connections: ConnectionLimits {
            handshake_timeout: Duration::from_millis(500),
            ..ConnectionLimits::default()
        },
        tls: Some(egov_platform::TlsSettings::new(
            dir.join("cert.pem"),
            dir.join("key.pem"),
        )),
        ..Settings::new(
            Serve::Approval,
            Database::Store(fresh_store(Backend::Sqlite).await),
            ManualClock::new("2024-03-04T01:00:00Z".parse().expect("an instant")).shared(),
        )
    })
    .await
    .expect("the platform starts");
    let addr = platforms.addr();
    let (trigger, stop) = shutdown::channel();
    let serving = tokio::spawn(platforms.run_until_stopped(stop));

    // A TLS record header announcing a ClientHello of 255 bytes, and nothing more.
    let mut stalled = TcpStream::connect(addr).await.expect("the port accepts");
    stalled
        .write_all(&[0x16, 0x03, 0x01, 0x00, 0xff, 0x01])
        .await
        .expect("send the start of a handshake");
    assert!(
        closed_within(&mut stalled, Duration::from_secs(5)).await,
        "a handshake stalled after its first bytes is closed"
    );
    let mut silent = TcpStream::connect(addr).await.expect("the port accepts");
    assert!(
        closed_within(&mut silent, Duration::from_secs(5)).await,
        "a silent connection is closed"
    );

    let tls = tonic::transport::ClientTlsConfig::new()
        .ca_certificate(tonic::transport::Certificate::from_pem(cert.pem()));
    let channel = tonic::transport::Endpoint::from_shared(format!("https://{addr}"))
        .expect("an endpoint")
        .tls_config(tls)
        .expect("TLS")
        .connect()
        .await
        .expect("a client completing the handshake connects");
    // Answered by the platform (its front hall asks for a credential this client has none
    // of): the TLS connection carries calls.
    let answer = ApprovalServiceClient::new(channel)
        .list_cases(apb::ListCasesRequest::default())
        .await;
    assert!(
        matches!(&answer, Err(s) if s.code() == tonic::Code::Unauthenticated),
        "and is served: {answer:?}"
    );

    trigger.trigger();
    serving
        .await
        .expect("the server task")
        .expect("served and stopped");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Idle connections are closed after the idle timeout, which frees their peer's places
/// (issue 14 item 9: idle sockets locked out every new client), while a connection with a
/// call in flight stays open however quiet the call is.
#[tokio::test]
async fn an_idle_connection_is_closed_and_one_with_a_call_in_flight_is_not() {
    let (addr, token, trigger, serving) = approval_serving(ConnectionLimits {
        per_peer: 2,
        idle_timeout: Some(Duration::from_millis(800)),
        ..ConnectionLimits::default()
    })
    .await;

    // A record stream from 127.0.0.2 that sends nothing for several idle timeouts.
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .expect("an endpoint")
        .local_address(Some([127, 0, 0, 2].into()))
        .connect()
        .await
        .expect("a channel from 127.0.0.2");
    let (send, records) = tokio::sync::mpsc::channel::<apb::StreamRecordsRequest>(4);
    let mut request = tonic::Request::new(tokio_stream::wrappers::ReceiverStream::new(records));
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("metadata"),
    );
    let mut acks = ApprovalServiceClient::new(channel)
        .stream_records(request)
        .await
        .expect("the stream opens")
        .into_inner();

    // And an idle HTTP/2 connection from the same peer: the peer's two places are taken.
    let mut idle = connect_from_another_peer(addr).await;
    idle.write_all(PREFACE).await.expect("send the preface");
    assert!(
        closed_within(&mut idle, Duration::from_secs(10)).await,
        "the idle connection is closed"
    );
    // Its place is free again: a new connection of that peer is admitted (and, idle in its
    // turn, closed after the timeout, not at once).
    let mut next = connect_from_another_peer(addr).await;
    next.write_all(PREFACE).await.expect("send the preface");
    assert!(
        !closed_within(&mut next, Duration::from_millis(300)).await,
        "a new connection takes the freed place"
    );

    // The quiet stream outlives several idle timeouts, and still carries records.
    tokio::time::sleep(Duration::from_secs(2)).await;
    send.send(apb::StreamRecordsRequest {
        record: Some(apb::Record::default()),
    })
    .await
    .expect("the stream is open");
    let ack = tokio::time::timeout(Duration::from_secs(10), acks.message())
        .await
        .expect("an answer within 10 s");
    assert!(
        matches!(&ack, Ok(Some(_))),
        "the stream's connection was kept: {ack:?}"
    );

    trigger.trigger();
    drop(send);
    serving
        .await
        .expect("the server task")
        .expect("served and stopped");
}
