//! Idle connections: which connection has calls in flight, so that the accept loop
//! ([`crate::serve`]) can close a connection that has had none for the idle timeout (issue 14
//! item 9: idle sockets held by clients that went quiet used up the descriptors and locked out
//! every new client).
//!
//! Why calls and not bytes: HTTP/2 keepalive pings cross an idle connection every interval,
//! and a warning stream may carry nothing for hours while a supervisor's board waits on it. A
//! connection is idle when no call is in flight on it and none began or ended for the
//! timeout. The [`CallsLayer`], outermost around the router, counts each call from its request
//! to the end of its answer's body, on the connection's [`Activity`], found by the peer's
//! address and port (unique among open connections) in the registry [`Connections`].

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::Frame;
use tokio::time::{Instant, Sleep};
use tonic::body::Body;
use tonic::codegen::http;
use tonic::transport::server::TcpConnectInfo;

/// What one connection is doing: calls in flight, and when the last one began or ended.
#[derive(Debug)]
pub(crate) struct Activity {
    in_flight: AtomicUsize,
    last: Mutex<Instant>,
}

impl Activity {
    fn new() -> Self {
        Activity {
            in_flight: AtomicUsize::new(0),
            last: Mutex::new(Instant::now()),
        }
    }

    fn stamp(&self) {
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
    }

    fn begin(self: &Arc<Self>) -> Call {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        self.stamp();
        Call(self.clone())
    }

    /// When the connection became idle, or None while a call is in flight.
    fn idle_since(&self) -> Option<Instant> {
        let last = *self.last.lock().unwrap_or_else(|e| e.into_inner());
        (self.in_flight.load(Ordering::SeqCst) == 0).then_some(last)
    }
}

/// One call in flight; dropped when its answer has ended (or was dropped).
#[derive(Debug)]
struct Call(Arc<Activity>);

impl Drop for Call {
    fn drop(&mut self) {
        // Stamped before the count falls, so that an idle check never sees no call in flight
        // with the time of an older one.
        self.0.stamp();
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The open connections' activities, by peer address.
#[derive(Debug, Default)]
pub(crate) struct Connections(Mutex<HashMap<SocketAddr, Arc<Activity>>>);

impl Connections {
    /// Registers the connection from `peer`, until the returned watch is dropped.
    pub(crate) fn open(self: &Arc<Self>, peer: SocketAddr, timeout: Duration) -> IdleWatch {
        let activity = Arc::new(Activity::new());
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(peer, activity.clone());
        IdleWatch {
            connections: self.clone(),
            peer,
            activity,
            timeout,
            timer: Box::pin(tokio::time::sleep(timeout)),
        }
    }

    fn activity(&self, peer: SocketAddr) -> Option<Arc<Activity>> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&peer)
            .cloned()
    }
}

/// Watches one connection for idleness; unregisters it when dropped (the connection closed).
#[derive(Debug)]
pub(crate) struct IdleWatch {
    connections: Arc<Connections>,
    peer: SocketAddr,
    activity: Arc<Activity>,
    timeout: Duration,
    timer: Pin<Box<Sleep>>,
}

impl IdleWatch {
    /// Whether the connection has been idle for the timeout; if not, the task is woken when it
    /// may next be (the timer is re-armed from the last call's end, or a timeout ahead while a
    /// call is in flight).
    pub(crate) fn poll_expired(&mut self, cx: &mut Context<'_>) -> bool {
        loop {
            if self.timer.as_mut().poll(cx).is_pending() {
                return false;
            }
            let now = Instant::now();
            let next = match self.activity.idle_since() {
                Some(since) if now >= since + self.timeout => return true,
                Some(since) => since + self.timeout,
                None => now + self.timeout,
            };
            self.timer.as_mut().reset(next);
        }
    }
}

impl Drop for IdleWatch {
    fn drop(&mut self) {
        let mut open = self.connections.0.lock().unwrap_or_else(|e| e.into_inner());
        // A new connection from the same address and port may have replaced this one.
        if open
            .get(&self.peer)
            .is_some_and(|a| Arc::ptr_eq(a, &self.activity))
        {
            open.remove(&self.peer);
        }
    }
}

/// Counts each call on its connection's [`Activity`], from its request to the end of its
/// answer's body.
#[derive(Debug, Clone)]
pub(crate) struct CallsLayer(pub(crate) Arc<Connections>);

impl<S> tower_layer::Layer<S> for CallsLayer {
    type Service = Calls<S>;

    fn layer(&self, inner: S) -> Calls<S> {
        Calls {
            inner,
            connections: self.0.clone(),
        }
    }
}

/// The service of [`CallsLayer`].
#[derive(Debug, Clone)]
pub(crate) struct Calls<S> {
    inner: S,
    connections: Arc<Connections>,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, B> tower_service::Service<http::Request<Body>> for Calls<S>
where
    S: tower_service::Service<http::Request<Body>, Response = http::Response<B>>,
    S::Future: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<tonic::codegen::StdError>,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<Result<http::Response<Body>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let call = request
            .extensions()
            .get::<TcpConnectInfo>()
            .and_then(TcpConnectInfo::remote_addr)
            .and_then(|peer| self.connections.activity(peer))
            .map(|activity| activity.begin());
        let answer = self.inner.call(request);
        Box::pin(async move {
            let response = answer.await?;
            Ok(response.map(|body| match call {
                None => Body::new(body),
                Some(call) => Body::new(Counted { body, _call: call }),
            }))
        })
    }
}

/// An answer's body, holding its call in flight until it ends.
struct Counted<B> {
    body: B,
    _call: Call,
}

impl<B: http_body::Body<Data = Bytes> + Unpin> http_body::Body for Counted<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn idle_only_after_the_timeout_with_no_call_in_flight() {
        let connections = Arc::new(Connections::default());
        let peer = SocketAddr::from(([127, 0, 0, 1], 4000));
        let mut watch = connections.open(peer, Duration::from_secs(10));
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        assert!(!watch.poll_expired(&mut cx));
        let activity = connections.activity(peer).expect("registered");
        tokio::time::advance(Duration::from_secs(5)).await;
        let call = activity.begin();
        // A call in flight for longer than the timeout keeps the connection.
        tokio::time::advance(Duration::from_secs(30)).await;
        assert!(!watch.poll_expired(&mut cx));
        drop(call);
        tokio::time::advance(Duration::from_secs(9)).await;
        assert!(!watch.poll_expired(&mut cx), "9 s after the call ended");
        tokio::time::advance(Duration::from_secs(2)).await;
        assert!(watch.poll_expired(&mut cx), "11 s after the call ended");
        drop(watch);
        assert!(connections.activity(peer).is_none(), "unregistered");
    }
}
