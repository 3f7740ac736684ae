//! Binding and serving the root's gRPC router: `bind()` takes the port (0 in tests) and
//! exposes the address before anything is served; `serve()` runs until the shutdown signal,
//! then stops accepting, lets in-flight calls finish within a grace period, and returns. The
//! accept loop limits the connections of each peer address, closes connections that send
//! nothing within a handshake timeout, and closes connections that have had no call in flight
//! for the idle timeout ([`crate::idle`]), so idle sockets cannot lock out every other client.
//! With TLS ([`crate::tls`]) each admitted connection is wrapped for its handshake, which
//! runs on the connection's own task within the same timeout.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Sleep;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::server::{Connected, TcpConnectInfo};

use egov_runtime::shutdown::Shutdown;

use crate::idle::{Connections, IdleWatch};
use crate::tls::{Conn, PeerCertificates, Reloading};

/// The HTTP/2 flow-control window of each stream (the bytes a client may send ahead of what the
/// platform has read), and of each connection. h2 answers a peer whose small DATA frames pile
/// up unread with GOAWAY ENHANCE_YOUR_CALM `too_many_data_frames`: every buffered frame under
/// 256 bytes costs its shortfall from a budget of half the connection window. With hyper's
/// 1 MiB for both, one record stream sent a record per frame (grpcio's way) and read slower than
/// it arrives (the platform stores in batches) could buffer ~8,000 frames of ~130 bytes, whose
/// cost (~1 MiB) exceeds the budget (512 KiB): the connection was cut. A 64 KiB stream window
/// (gRPC's own default) caps one stream's cost near 70 KiB for such records, and a 4 MiB
/// connection window gives a 2 MiB budget: dozens of lagging streams on one connection fit.
pub(crate) const STREAM_WINDOW: u32 = 64 * 1024;
pub(crate) const CONNECTION_WINDOW: u32 = 4 * 1024 * 1024;

/// TLS for the accept loop: the configuration in force, and where verified client
/// certificates are kept.
#[derive(Debug, Clone)]
pub(crate) struct Tls {
    pub reloading: Arc<Reloading>,
    pub peers: Arc<PeerCertificates>,
}

/// Limits on the clients' connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// The most connections open at once from one peer IP address; more are closed as soon
    /// as they are accepted.
    pub per_peer: usize,
    /// How long a new connection may stay silent (not one byte of the HTTP/2 preface) before
    /// it is closed.
    pub handshake_timeout: Duration,
    /// How often HTTP/2 pings check that a connection's peer is still there, and how long
    /// its answer may take before the connection is closed.
    pub keepalive_interval: Duration,
    pub keepalive_timeout: Duration,
    /// How long a connection may have no call in flight before it is closed; None keeps
    /// idle connections open. A client's channel connects again for its next call.
    pub idle_timeout: Option<Duration>,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            per_peer: 64,
            handshake_timeout: Duration::from_secs(10),
            keepalive_interval: Duration::from_secs(30),
            keepalive_timeout: Duration::from_secs(10),
            idle_timeout: Some(DEFAULT_IDLE_TIMEOUT),
        }
    }
}

/// How long a connection may have no call in flight by default: long enough for a client's
/// bursts of calls (a service centre's batches, a CLI session) to share one connection.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// The open connections per peer address.
#[derive(Debug, Default)]
struct Peers(Mutex<HashMap<IpAddr, usize>>);

impl Peers {
    /// A slot for one more connection of `ip`, or None when it has `limit` already.
    fn admit(self: &Arc<Self>, ip: IpAddr, limit: usize) -> Option<Slot> {
        let mut open = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let count = open.entry(ip).or_default();
        if *count >= limit {
            return None;
        }
        *count += 1;
        Some(Slot {
            peers: self.clone(),
            ip,
        })
    }
}

/// One admitted connection; dropping it (the connection closed) frees its place.
#[derive(Debug)]
struct Slot {
    peers: Arc<Peers>,
    ip: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.peers.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = open.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// An admitted connection: holds its peer's slot, fails its reads when the peer stays silent
/// past the handshake timeout, and ends them (end of stream) when it has been idle for the
/// idle timeout; hyper then closes it.
pub(crate) struct Admitted {
    stream: TcpStream,
    _slot: Slot,
    /// Until the first byte arrives.
    silent_until: Option<Pin<Box<Sleep>>>,
    idle: Option<IdleWatch>,
}

impl Connected for Admitted {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> TcpConnectInfo {
        self.stream.connect_info()
    }
}

impl AsyncRead for Admitted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        match Pin::new(&mut this.stream).poll_read(cx, buf) {
            Poll::Ready(result) => {
                if buf.filled().len() > before {
                    this.silent_until = None;
                }
                Poll::Ready(result)
            }
            Poll::Pending => {
                let silent_too_long = this
                    .silent_until
                    .as_mut()
                    .is_some_and(|deadline| deadline.as_mut().poll(cx).is_ready());
                if silent_too_long {
                    return Poll::Ready(Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "the peer sent nothing within the handshake timeout",
                    )));
                }
                // Only when nothing is waiting to be read: a call that has arrived is served.
                // One sent in the instant before the close fails UNAVAILABLE, which clients
                // retry on a new connection.
                if this.idle.as_mut().is_some_and(|idle| idle.poll_expired(cx)) {
                    tracing::debug!("closing a connection idle for the idle timeout");
                    return Poll::Ready(Ok(()));
                }
                Poll::Pending
            }
        }
    }
}

impl AsyncWrite for Admitted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

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
        router: crate::Routed,
        shutdown: Shutdown,
        grace: Duration,
        limits: ConnectionLimits,
        tls: Option<Tls>,
        connections: Arc<Connections>,
    ) -> Result<(), tonic::transport::Error> {
        let addr = self.addr;
        let peers = Arc::new(Peers::default());
        let incoming = TcpListenerStream::new(self.listener).filter_map(move |stream| {
            let stream = match stream {
                Ok(stream) => stream,
                Err(error) => return Some(Err(error)),
            };
            let peer = stream.peer_addr().ok();
            let ip = peer.map_or(IpAddr::from([0, 0, 0, 0]), |a| a.ip());
            let Some(slot) = peers.admit(ip, limits.per_peer) else {
                tracing::warn!(%ip, limit = limits.per_peer, "too many connections from one peer; closing the new one");
                return None;
            };
            // Nagle's algorithm would hold the last segment of an answer until the client's
            // delayed ACK (~40 ms a call); tonic sets TCP_NODELAY only on listeners it binds.
            if let Err(error) = stream.set_nodelay(true) {
                tracing::debug!(%error, "cannot set TCP_NODELAY");
            }
            let admitted = Admitted {
                stream,
                _slot: slot,
                silent_until: Some(Box::pin(tokio::time::sleep(limits.handshake_timeout))),
                idle: peer
                    .zip(limits.idle_timeout)
                    .map(|(peer, timeout)| connections.open(peer, timeout)),
            };
            Some(Ok(match &tls {
                // The configuration in force now: a reloaded certificate serves from the
                // next connection on.
                Some(tls) => Conn::tls(
                    admitted,
                    &tls.reloading.acceptor(),
                    tokio::time::sleep(limits.handshake_timeout),
                    tls.peers.clone(),
                ),
                None => Conn::Plain(admitted),
            }))
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
