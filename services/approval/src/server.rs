//! Running the approval platform: `build()` connects to the database, migrates it and binds
//! the port (0 in tests), exposing the address; `run_until(shutdown)` serves.

use std::net::SocketAddr;
use std::time::Duration;

use egov_domain::rules::RuleConfig;
use egov_proto::approval::v1::approval_service_server::ApprovalServiceServer;
use egov_runtime::clock::SharedClock;
use egov_runtime::serve::{self, Bound};
use egov_runtime::shutdown::Shutdown;
use egov_store::Store;

use crate::error::ApiError;
use crate::service::Approval;

/// Largest message accepted: a full batch of records with long texts fits comfortably.
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;

/// The tonic service, for composing with other services on one port.
pub fn grpc_service(approval: Approval) -> ApprovalServiceServer<Approval> {
    ApprovalServiceServer::new(approval)
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES)
}

/// The approval platform, bound and ready to serve.
#[derive(Debug)]
pub struct ApprovalServer {
    bound: Bound,
    approval: Approval,
    shutdown: Shutdown,
}

impl ApprovalServer {
    /// Prepares the platform on `store` and binds `listen`.
    pub async fn build(
        listen: SocketAddr,
        store: Store,
        clock: SharedClock,
        shutdown: Shutdown,
    ) -> Result<Self, BuildError> {
        Self::build_with_rules(listen, store, clock, shutdown, RuleConfig::default()).await
    }

    /// [`ApprovalServer::build`] judging records by `rules`.
    pub async fn build_with_rules(
        listen: SocketAddr,
        store: Store,
        clock: SharedClock,
        shutdown: Shutdown,
        rules: RuleConfig,
    ) -> Result<Self, BuildError> {
        let approval = Approval::with_rules(store, clock, shutdown.clone(), rules).await?;
        let bound = serve::bind(listen)
            .await
            .map_err(|e| BuildError::Bind(listen, e))?;
        Ok(Self {
            bound,
            approval,
            shutdown,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.bound.local_addr()
    }

    pub fn approval(&self) -> &Approval {
        &self.approval
    }

    /// Serves until the shutdown signal, then drains within `grace`.
    pub async fn run_until_stopped(self, grace: Duration) -> Result<(), tonic::transport::Error> {
        let router = tonic::transport::Server::builder().add_service(grpc_service(self.approval));
        self.bound.serve(router, self.shutdown, grace).await
    }
}

/// Why the platform could not start.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("cannot listen on {0}: {1}")]
    Bind(SocketAddr, #[source] std::io::Error),
    #[error("cannot prepare the database: {0}")]
    Prepare(#[from] ApiError),
}
