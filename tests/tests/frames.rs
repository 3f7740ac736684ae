//! Clients that send one small HTTP/2 DATA frame per message, as grpcio does when its
//! application writes record by record (issue 14 item 4): several such record streams at once,
//! each faster than the platform stores, must all be stored without the server cutting the
//! connections off (GOAWAY ENHANCE_YOUR_CALM `too_many_data_frames`, h2's defence against
//! floods of small frames, which counts the frames buffered unread against a budget of half
//! the connection window). Over real HTTP/2 and gRPC on both databases, with a raw h2 client,
//! since tonic's own client gathers messages into large frames.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use egov_approval::testing::fixtures::{application, local};
use egov_platform::testing::{PATIENCE, fresh_store, spawn_approval_on};
use egov_proto::approval::v1 as apb;
use egov_runtime::clock::ManualClock;
use egov_store::Backend;
use egov_tests::{DEPARTMENT, MATTER, REGION, rec, the_matter};
use prost::Message;

/// Concurrent clients, each on its own connection, and the records each streams.
const CLIENTS: usize = 3;
const RECORDS: usize = 8_000;

/// One gRPC message: the 5-byte prefix (uncompressed, length) and the encoded message.
fn framed(m: &impl Message) -> Bytes {
    let body = m.encode_to_vec();
    let mut out = BytesMut::with_capacity(5 + body.len());
    out.put_u8(0);
    out.put_u32(u32::try_from(body.len()).expect("a small message"));
    out.put_slice(&body);
    out.freeze()
}

/// Streams `RECORDS` records of client `c` to `addr`, one DATA frame per record, and answers
/// how many acknowledgements said STORED, and the stream's grpc-status.
async fn stream_frame_by_frame(
    addr: std::net::SocketAddr,
    token: String,
    c: usize,
) -> (usize, String) {
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (client, connection) = h2::client::handshake(tcp).await.expect("HTTP/2 handshake");
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            eprintln!("client {c}: connection ended: {error}");
        }
    });
    let mut client = client.ready().await.expect("ready");
    let request = tonic::codegen::http::Request::builder()
        .method("POST")
        .uri(format!(
            "http://{addr}/egov.approval.v1.ApprovalService/StreamRecords"
        ))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .header("authorization", format!("Bearer {token}"))
        .body(())
        .expect("a request");
    let (response, mut send) = client.send_request(request, false).expect("sent");
    let sender = tokio::spawn(async move {
        for i in 0..RECORDS {
            let record = rec(
                &format!("F{c}-{i}"),
                1,
                "2024-03-04 09:00",
                application(MATTER, DEPARTMENT, REGION),
            );
            let message = framed(&apb::StreamRecordsRequest {
                record: Some(record),
            });
            // Exactly one DATA frame per message: wait for the window to hold all of it.
            send.reserve_capacity(message.len());
            while send.capacity() < message.len() {
                match futures::future::poll_fn(|cx| send.poll_capacity(cx)).await {
                    Some(Ok(_)) => {}
                    Some(Err(error)) => return Err(format!("record {i}: {error}")),
                    None => return Err(format!("record {i}: the stream closed")),
                }
            }
            send.send_data(message, false)
                .map_err(|error| format!("record {i}: {error}"))?;
        }
        send.send_data(Bytes::new(), true)
            .map_err(|error| format!("end of stream: {error}"))
    });
    let response = response.await.expect("response headers");
    assert_eq!(response.status(), 200);
    let mut body = response.into_body();
    let mut buffer = BytesMut::new();
    let mut stored = 0;
    while let Some(chunk) = body.data().await {
        let chunk = chunk.unwrap_or_else(|error| panic!("client {c}: {error}"));
        let _ = body.flow_control().release_capacity(chunk.len());
        buffer.extend_from_slice(&chunk);
        while buffer.len() >= 5 {
            let len = u32::from_be_bytes(buffer[1..5].try_into().expect("4 bytes")) as usize;
            if buffer.len() < 5 + len {
                break;
            }
            buffer.advance(5);
            let ack = apb::StreamRecordsResponse::decode(buffer.split_to(len)).expect("an ack");
            if ack
                .result
                .is_some_and(|r| r.status() == apb::RecordStatus::Stored)
            {
                stored += 1;
            }
        }
    }
    let trailers = body.trailers().await.expect("trailers").unwrap_or_default();
    let status = trailers
        .get("grpc-status")
        .map(|v| v.to_str().unwrap_or_default().to_owned())
        .unwrap_or_default();
    sender
        .await
        .expect("the sender ran")
        .unwrap_or_else(|error| panic!("client {c} could not send: {error}"));
    (stored, status)
}

async fn concurrent_streams_of_small_frames_are_all_stored(backend: Backend) {
    let mut app = spawn_approval_on(
        fresh_store(backend).await,
        ManualClock::new(local("2024-03-04 09:00")),
    )
    .await;
    app.client
        .upsert_matters(apb::UpsertMattersRequest {
            matters: vec![the_matter()],
        })
        .await
        .expect("the matter");
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            tokio::spawn(stream_frame_by_frame(
                app.addr,
                app.admin_token().to_owned(),
                c,
            ))
        })
        .collect();
    for (c, client) in clients.into_iter().enumerate() {
        let (stored, status) = tokio::time::timeout(PATIENCE * 30, client)
            .await
            .expect("the stream ends")
            .expect("the client ran");
        assert_eq!((stored, status.as_str()), (RECORDS, "0"), "client {c}");
    }
    app.stop().await;
}

mod postgres {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_streams_of_small_frames_are_all_stored() {
        super::concurrent_streams_of_small_frames_are_all_stored(egov_store::Backend::Postgres)
            .await;
    }
}

mod sqlite {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_streams_of_small_frames_are_all_stored() {
        super::concurrent_streams_of_small_frames_are_all_stored(egov_store::Backend::Sqlite).await;
    }
}
