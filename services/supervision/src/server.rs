//! Running the supervision platform: `build()` checks the database answers and binds the port
//! (0 in tests), exposing the address; `run_until_stopped()` starts the workers and serves
//! until the shutdown signal, then stops accepting, lets the streams end, and joins the
//! workers.

use std::net::SocketAddr;
use std::time::Duration;

use egov_proto::supervision::v1::supervision_service_server::SupervisionServiceServer;
use egov_runtime::clock::SharedClock;
use egov_runtime::serve::{self, Bound};
use egov_runtime::shutdown::Shutdown;
use egov_store::{Store, StoreError};

use crate::service::Supervision;

/// Largest message accepted or sent: a full page of warnings with long explanations fits.
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;

/// The tonic service, for composing with other services on one port (the workers are started
/// separately, with [`Supervision::spawn_workers`]).
pub fn grpc_service(supervision: Supervision) -> SupervisionServiceServer<Supervision> {
    SupervisionServiceServer::new(supervision)
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES)
}

/// The supervision platform, bound and ready to serve.
#[derive(Debug)]
pub struct SupervisionServer {
    bound: Bound,
    supervision: Supervision,
    shutdown: Shutdown,
}

impl SupervisionServer {
    /// Prepares the platform on `store` (already migrated by `Store::connect`) and binds
    /// `listen`.
    pub async fn build(
        listen: SocketAddr,
        store: Store,
        clock: SharedClock,
        shutdown: Shutdown,
    ) -> Result<Self, BuildError> {
        Self::build_with(listen, Supervision::new(store, clock, shutdown)).await
    }

    /// [`SupervisionServer::build`] for a platform made with
    /// [`Supervision::with_options`]; it serves until the platform's shutdown signal.
    pub async fn build_with(
        listen: SocketAddr,
        supervision: Supervision,
    ) -> Result<Self, BuildError> {
        // Fail at start, not in the first worker pass, when the database does not answer.
        supervision.store().ping().await?;
        let bound = serve::bind(listen)
            .await
            .map_err(|e| BuildError::Bind(listen, e))?;
        Ok(Self {
            bound,
            shutdown: supervision.shutdown(),
            supervision,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.bound.local_addr()
    }

    pub fn supervision(&self) -> &Supervision {
        &self.supervision
    }

    /// Starts the workers and serves until the shutdown signal; then stops accepting, drains
    /// the calls within `grace` (warning streams end themselves on the signal), and waits for
    /// the workers, which end on the same signal after their current batch.
    pub async fn run_until_stopped(self, grace: Duration) -> Result<(), tonic::transport::Error> {
        let workers = self.supervision.spawn_workers();
        let router = tonic::transport::Server::builder()
            .add_service(crate::scores::service::grpc_service(
                self.supervision.clone(),
            ))
            .add_service(grpc_service(self.supervision));
        let served = self.bound.serve(router, self.shutdown, grace).await;
        match served {
            Ok(()) => workers.join().await,
            // Serving failed without a shutdown signal: the workers would run on unseen.
            Err(_) => workers.abort().await,
        }
        tracing::info!("the supervision platform stopped");
        served
    }
}

/// Why the platform could not start.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("cannot listen on {0}: {1}")]
    Bind(SocketAddr, #[source] std::io::Error),
    #[error("the database does not answer: {0}")]
    Database(#[from] StoreError),
}
