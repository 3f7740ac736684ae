//! The operators' tools over real gRPC on both databases (issue 13 item 7): `grpc.health.v1`
//! answers SERVING for each platform service a process serves and for the whole server, to a
//! caller without a credential, and NOT_SERVING from the shutdown signal on; server reflection
//! (v1 and v1alpha) lists the services and describes them without the `.proto` files, as
//! grpcurl needs; a gzip-compressed request is taken and its answer compressed. (The health
//! check following the database down and up is in crates/platform/tests/outage.rs.)

use egov_approval::testing::fixtures::{local, matter};
use egov_platform::Serve;
use egov_platform::testing::{PATIENCE, Running, connect, fresh_store, settings};
use egov_proto::approval::v1 as apb;
use egov_proto::approval::v1::approval_service_client::ApprovalServiceClient;
use egov_runtime::clock::ManualClock;
use egov_store::Backend;
use prost::Message;
use tonic::Code;
use tonic::codec::CompressionEncoding::Gzip;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

const APPROVAL: &str = "egov.approval.v1.ApprovalService";
const SUPERVISION: &str = "egov.supervision.v1.SupervisionService";
const SCORES: &str = "egov.supervision.v1.ScoresService";

async fn start(backend: Backend, serve: Serve) -> Running {
    let store = fresh_store(backend).await;
    let clock = ManualClock::new(local("2024-04-15 10:00"));
    Running::start(settings(serve, store, &clock)).await
}

/// The status `service` has, asked without a credential.
async fn check(running: &Running, service: &str) -> Result<ServingStatus, tonic::Status> {
    let mut health = HealthClient::new(connect(running.addr, None).await);
    let answer = health
        .check(HealthCheckRequest {
            service: service.to_owned(),
        })
        .await?;
    Ok(answer.into_inner().status())
}

/// Waits until `service` is SERVING (the first look at the database and the workers runs
/// as the platforms start).
async fn serving(running: &Running, service: &str) {
    let started = std::time::Instant::now();
    loop {
        match check(running, service).await {
            Ok(ServingStatus::Serving) => return,
            Ok(_) => {
                assert!(
                    started.elapsed() < PATIENCE,
                    "{service:?} was not SERVING within {PATIENCE:?}"
                );
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            Err(status) => panic!("{service:?}: {status:?}"),
        }
    }
}

async fn health_serves_each_platform_service_without_a_credential(backend: Backend) {
    let both = start(backend, Serve::Both).await;
    for service in [
        "",
        APPROVAL,
        SUPERVISION,
        SCORES,
        "egov.supervision.v1.ComplaintsService",
        "egov.supervision.v1.AccountabilityService",
        "liveness",
    ] {
        serving(&both, service).await;
    }
    let unknown = check(&both, "egov.nothing.v1.Nothing")
        .await
        .expect_err("an unknown service");
    assert_eq!(unknown.code(), Code::NotFound, "{unknown:?}");

    // The whole server goes NOT_SERVING at the shutdown signal, and a watch of it then ends
    // (rather than holding the drain to its grace period).
    let mut health = HealthClient::new(connect(both.addr, None).await);
    let mut watch = health
        .watch(HealthCheckRequest::default())
        .await
        .expect("a watch without a credential")
        .into_inner();
    let first = watch.message().await.expect("a status").expect("one");
    assert_eq!(first.status(), ServingStatus::Serving);
    both.stop().await;
    let mut last = None;
    while let Ok(Some(status)) = watch.message().await {
        last = Some(status.status());
    }
    assert_eq!(last, Some(ServingStatus::NotServing));

    // One platform's process answers for its own services only.
    let approval = start(backend, Serve::Approval).await;
    serving(&approval, APPROVAL).await;
    serving(&approval, "").await;
    let other = check(&approval, SUPERVISION)
        .await
        .expect_err("not served here");
    assert_eq!(other.code(), Code::NotFound, "{other:?}");
    approval.stop().await;
}

mod reflection {
    //! A reflection client of each version, as grpcurl is one.
    use super::*;

    pub async fn v1(running: &Running) -> (Vec<String>, prost_types::FileDescriptorProto) {
        use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
        use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
        use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
        use tonic_reflection::pb::v1::{ServerReflectionRequest, ServerReflectionResponse};
        let ask = |request| ServerReflectionRequest {
            host: String::new(),
            message_request: Some(request),
        };
        let mut client = ServerReflectionClient::new(connect(running.addr, None).await);
        let answers: Vec<ServerReflectionResponse> = client
            .server_reflection_info(tokio_stream::iter([
                ask(MessageRequest::ListServices(String::new())),
                ask(MessageRequest::FileContainingSymbol(
                    "egov.approval.v1.ApprovalService.SubmitRecords".into(),
                )),
            ]))
            .await
            .expect("reflection without a credential")
            .into_inner()
            .try_collect()
            .await
            .expect("reflection answers");
        let mut names = Vec::new();
        let mut file = None;
        for answer in answers {
            match answer.message_response {
                Some(MessageResponse::ListServicesResponse(list)) => {
                    names.extend(list.service.into_iter().map(|s| s.name));
                }
                Some(MessageResponse::FileDescriptorResponse(files)) => {
                    file = files.file_descriptor_proto.first().map(|bytes| {
                        prost_types::FileDescriptorProto::decode(bytes.as_slice())
                            .expect("a file descriptor")
                    });
                }
                other => panic!("unexpected answer {other:?}"),
            }
        }
        names.sort();
        (names, file.expect("the file of the symbol"))
    }

    pub async fn v1alpha(running: &Running) -> Vec<String> {
        use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient;
        use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest;
        use tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse;
        use tonic_reflection::pb::v1alpha::{ServerReflectionRequest, ServerReflectionResponse};
        let mut client = ServerReflectionClient::new(connect(running.addr, None).await);
        let answers: Vec<ServerReflectionResponse> = client
            .server_reflection_info(tokio_stream::iter([ServerReflectionRequest {
                host: String::new(),
                message_request: Some(MessageRequest::ListServices(String::new())),
            }]))
            .await
            .expect("reflection without a credential")
            .into_inner()
            .try_collect()
            .await
            .expect("reflection answers");
        let mut names: Vec<String> = answers
            .into_iter()
            .flat_map(|answer| match answer.message_response {
                Some(MessageResponse::ListServicesResponse(list)) => list.service,
                other => panic!("unexpected answer {other:?}"),
            })
            .map(|s| s.name)
            .collect();
        names.sort();
        names
    }

    use futures::TryStreamExt as _;
}

async fn reflection_lists_and_describes_the_services_without_proto_files(backend: Backend) {
    let both = start(backend, Serve::Both).await;
    let (names, file) = reflection::v1(&both).await;
    let mut expected = vec![
        APPROVAL,
        SCORES,
        "egov.supervision.v1.ComplaintsService",
        "egov.supervision.v1.AccountabilityService",
        SUPERVISION,
        "egov.access.v1.AccessService",
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
    ];
    expected.sort_unstable();
    assert_eq!(names, expected);
    assert_eq!(file.package(), "egov.approval.v1");
    let service = file
        .service
        .iter()
        .find(|s| s.name() == "ApprovalService")
        .expect("the service in its file");
    assert!(service.method.iter().any(|m| m.name() == "SubmitRecords"));
    assert_eq!(reflection::v1alpha(&both).await, expected);
    both.stop().await;

    let supervision = start(backend, Serve::Supervision).await;
    let (names, _) = reflection::v1(&supervision).await;
    assert!(!names.iter().any(|n| n == APPROVAL), "{names:?}");
    assert!(names.iter().any(|n| n == SUPERVISION), "{names:?}");
    supervision.stop().await;
}

async fn a_gzip_request_is_taken_and_answered_compressed(backend: Backend) {
    let both = start(backend, Serve::Both).await;
    let mut client = ApprovalServiceClient::new(connect(both.addr, Some(&both.admin)).await)
        .send_compressed(Gzip)
        .accept_compressed(Gzip);
    // A message large enough that compressing it matters.
    let matters: Vec<apb::Matter> = (0..50)
        .map(|i| matter(&format!("M-{i:03}"), "market", 5, 20))
        .collect();
    let upserted = client
        .upsert_matters(apb::UpsertMattersRequest { matters })
        .await
        .expect("a gzip-compressed request is taken");
    assert!(
        upserted
            .get_ref()
            .results
            .iter()
            .all(|r| r.status() == apb::MatterResultStatus::Created),
        "{upserted:?}"
    );
    let listed = client
        .list_matters(apb::ListMattersRequest {
            page_size: 100,
            ..Default::default()
        })
        .await
        .expect("listed");
    assert_eq!(
        listed
            .metadata()
            .get("grpc-encoding")
            .and_then(|v| v.to_str().ok()),
        Some("gzip"),
        "the answer is compressed for a client that accepts gzip"
    );
    assert_eq!(listed.get_ref().matters.len(), 50);
    both.stop().await;
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
    health_serves_each_platform_service_without_a_credential,
    reflection_lists_and_describes_the_services_without_proto_files,
    a_gzip_request_is_taken_and_answered_compressed,
);
