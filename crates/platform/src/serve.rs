//! Binding and serving the root's gRPC router: `bind()` takes the port (0 in tests) and
//! exposes the address before anything is served; `serve()` runs until the shutdown signal,
//! then stops accepting, lets in-flight calls finish within a grace period, and returns.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::server::Router;

use egov_runtime::shutdown::Shutdown;

/// A bound listener, not yet serving.
#[derive(Debug)]
pub(crate) struct Bound {
    listener: TcpListener,
    addr: SocketAddr,
}

/// Binds `addr`; with port 0 the system picks a free port, which [`Bound::local_addr`] tells.
pub(crate) async fn bind(addr: SocketAddr) -> std::io::Result<Bound> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    Ok(Bound { listener, addr })
}

impl Bound {
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves `router` until `shutdown` fires, then drains for at most `grace`.
    pub async fn serve(
        self,
        router: Router,
        shutdown: Shutdown,
        grace: Duration,
    ) -> Result<(), tonic::transport::Error> {
        let addr = self.addr;
        // Nagle's algorithm would hold the last segment of an answer until the client's
        // delayed ACK (~40 ms a call); tonic sets TCP_NODELAY only on listeners it binds.
        let incoming = TcpListenerStream::new(self.listener).map(|stream| {
            stream.inspect(|s| {
                if let Err(error) = s.set_nodelay(true) {
                    tracing::debug!(%error, "cannot set TCP_NODELAY");
                }
            })
        });
        let mut stop = shutdown.clone();
        let serving =
            router.serve_with_incoming_shutdown(incoming, async move { stop.wait().await });
        tokio::pin!(serving);
        let mut stop = shutdown;
        tokio::select! {
            result = &mut serving => return result,
            () = stop.wait() => {}
        }
        match tokio::time::timeout(grace, serving).await {
            Ok(result) => result,
            Err(_) => {
                tracing::warn!(%addr, ?grace, "calls still running after the grace period; closing");
                Ok(())
            }
        }
    }
}
