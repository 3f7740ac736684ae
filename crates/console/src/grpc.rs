//! The console's way to the platforms: the root's own gRPC services, called in process
//! through the front hall (the [`Channel`] the root hands over), with the signed-in person's
//! session token, so the policy, the scopes, the limits and the audit apply to every page and
//! every action exactly as to any other client. The browser's address goes with each call as
//! its peer, for the audit log and the anonymous sign-in limits.

use std::convert::Infallible;
use std::net::SocketAddr;

use egov_proto::access::v1::access_service_client::AccessServiceClient;
use egov_proto::approval::v1::approval_service_client::ApprovalServiceClient;
use egov_proto::supervision::v1::supervision_service_client::SupervisionServiceClient;
use tonic::transport::server::TcpConnectInfo;

/// The platforms' router behind the front hall, as one in-process service.
pub type Channel = tower::util::BoxCloneSyncService<
    http::Request<tonic::body::Body>,
    http::Response<tonic::body::Body>,
    Infallible,
>;

/// Makes the clients and their requests.
#[derive(Clone)]
pub struct Grpc {
    channel: Channel,
}

impl std::fmt::Debug for Grpc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Grpc").finish_non_exhaustive()
    }
}

impl Grpc {
    pub fn new(channel: Channel) -> Grpc {
        Grpc { channel }
    }

    pub fn access(&self) -> AccessServiceClient<Channel> {
        AccessServiceClient::new(self.channel.clone())
    }

    pub fn approval(&self) -> ApprovalServiceClient<Channel> {
        ApprovalServiceClient::new(self.channel.clone())
    }

    pub fn supervision(&self) -> SupervisionServiceClient<Channel> {
        SupervisionServiceClient::new(self.channel.clone())
    }
}

/// `message` as a call with `token` (none: anonymous) from `peer`.
pub fn request<T>(message: T, token: Option<&str>, peer: Option<SocketAddr>) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if let Some(token) = token
        && let Ok(value) = format!("Bearer {token}").parse()
    {
        request.metadata_mut().insert("authorization", value);
    }
    request.extensions_mut().insert(TcpConnectInfo {
        local_addr: None,
        remote_addr: peer,
    });
    request
}
