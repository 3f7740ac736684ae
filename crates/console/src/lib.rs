//! The web console (issue 15): supervision offices, departments and the public in a browser,
//! in Chinese by default and English on request. Served on a port of its own
//! (`--console-addr`) by the composition root, which hands it the platforms' gRPC router
//! behind the front hall as an in-process [`Channel`]: the console is a client of the
//! platforms' own services, calling them with the signed-in person's session token, so the
//! policy, scopes, limits and audit apply unchanged to every page and action.
//!
//! - `session`: the session cookie, the signed-in users, CSRF tokens;
//! - `i18n`: the Fluent catalogues (`locales/`), local time;
//! - `render`: the templates (`templates/`);
//! - `pages/`: sign-in, the office's board with its live feed, the inbox and the
//!   department's view with the correction workflow's actions, the case page with its clocks
//!   and working-day calendars, the public lookup;
//! - [`query_code`]: the public's query codes;
//! - `assets/`: the style sheet and the one script, built into the binary (no CDN).
//!
//! Every response carries a strict Content-Security-Policy (only the console's own script,
//! style and server-sent events), and every POST is checked for its CSRF token.

#![forbid(unsafe_code)]

mod grpc;
mod i18n;
mod pages;
pub mod query_code;
mod render;
mod session;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use egov_runtime::access::Authorize;
use egov_runtime::clock::SharedClock;
use egov_runtime::shutdown::Shutdown;
use tokio::net::TcpListener;

pub use crate::grpc::Channel;
use crate::grpc::Grpc;
use crate::i18n::Catalogues;
use crate::render::Pages;
use crate::session::Sessions;

/// Where the console listens and what it keeps secret.
#[derive(Clone)]
pub struct ConsoleSettings {
    /// Where to listen; port 0 picks a free one ([`Console::addr`] tells which).
    pub listen: SocketAddr,
    /// The key of the public's query codes and of the CSRF tokens. The same secret gives the
    /// same codes after a restart; production sets it (`--console-secret`).
    pub secret: Vec<u8>,
}

// By hand: the secret is never printed.
impl std::fmt::Debug for ConsoleSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleSettings")
            .field("listen", &self.listen)
            .field("secret", &"***")
            .finish()
    }
}

impl ConsoleSettings {
    /// `listen` with a random secret: query codes good until the process ends.
    pub fn random_secret(listen: SocketAddr) -> ConsoleSettings {
        let mut secret = vec![0u8; 32];
        getrandom::fill(&mut secret).expect("the system's random source works");
        ConsoleSettings { listen, secret }
    }
}

/// What the root gives the console to work with.
pub struct Platform {
    /// The platforms' router behind the front hall.
    pub channel: Channel,
    /// The policy the front hall asks: the console offers an action only where it allows it.
    pub policy: Arc<dyn Authorize>,
    /// The console's own credential for the public lookup (the public has none); the page
    /// shows only what the lookup is meant to show.
    pub public_token: String,
    /// "Now" for the time left to a deadline: the platforms' clock.
    pub clock: SharedClock,
    /// Whether the console is served over TLS (cookies are then `Secure`).
    pub tls: bool,
}

impl std::fmt::Debug for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Platform")
            .field("tls", &self.tls)
            .finish_non_exhaustive()
    }
}

/// The console's state, shared by every request.
pub(crate) struct App {
    grpc: Grpc,
    policy: Arc<dyn Authorize>,
    public_token: String,
    clock: SharedClock,
    secret: Vec<u8>,
    secure: bool,
    sessions: Sessions,
    catalogues: Arc<Catalogues>,
    pages: Pages,
    /// Ends the live feeds, so that draining does not wait for them.
    shutdown: Shutdown,
}

/// The console's port, bound and not yet serving.
#[derive(Debug)]
pub struct Console {
    listener: TcpListener,
    addr: SocketAddr,
    secret: Vec<u8>,
}

impl Console {
    /// Binds `settings.listen` (port 0: a free one).
    pub async fn bind(settings: ConsoleSettings) -> std::io::Result<Console> {
        let listener = TcpListener::bind(settings.listen).await?;
        let addr = listener.local_addr()?;
        Ok(Console {
            listener,
            addr,
            secret: settings.secret,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until `shutdown`, then lets the requests in flight finish (the live feeds end
    /// with the signal).
    pub async fn serve(self, platform: Platform, shutdown: Shutdown) {
        let catalogues = Arc::new(Catalogues::new());
        let app = Arc::new(App {
            grpc: Grpc::new(platform.channel),
            policy: platform.policy,
            public_token: platform.public_token,
            clock: platform.clock,
            secret: self.secret,
            secure: platform.tls,
            sessions: Sessions::default(),
            pages: Pages::new(catalogues.clone()),
            catalogues,
            shutdown: shutdown.clone(),
        });
        let router = pages::router()
            .layer(axum::middleware::from_fn_with_state(app.clone(), frame))
            .with_state(app);
        let mut stop = shutdown;
        let served = axum::serve(
            self.listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move { stop.wait().await })
        .await;
        if let Err(error) = served {
            tracing::error!(%error, "the console's port failed");
        }
    }
}

/// The Content-Security-Policy of every response: the console's own script and style only,
/// no inline code, no frames, forms and connections to itself.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Around every request: a session id for a visitor without one, and the security headers.
async fn frame(State(app): State<Arc<App>>, mut request: Request, next: Next) -> Response {
    let fresh = if session::cookie(request.headers(), session::SESSION_COOKIE)
        .is_some_and(|id| id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        None
    } else {
        let id = session::new_id();
        // The handlers read the id from the cookie header, as on every later request.
        let others: Vec<String> = request
            .headers()
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .map(str::trim)
            .filter(|pair| !pair.is_empty() && !pair.starts_with("egov_session="))
            .map(str::to_owned)
            .collect();
        let cookies = others
            .into_iter()
            .chain([format!("{}={id}", session::SESSION_COOKIE)])
            .collect::<Vec<_>>()
            .join("; ");
        if let Ok(value) = HeaderValue::from_str(&cookies) {
            request.headers_mut().insert(header::COOKIE, value);
        }
        Some(id)
    };
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if let Some(id) = fresh
        && !headers.contains_key(header::SET_COOKIE)
        && let Ok(value) = HeaderValue::from_str(&session::session_cookie(&id, app.secure))
    {
        headers.insert(header::SET_COOKIE, value);
    }
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response.into_response()
}
