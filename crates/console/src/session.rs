//! Who is at the browser: the session cookie (`egov_session`: HttpOnly, SameSite=Strict,
//! Secure under TLS), the signed-in user it stands for (kept in memory, with the platform's
//! session token from `egov.access.v1.AccessService/SignIn`), the CSRF token every form
//! carries, and the visitor's language.
//!
//! Every visitor gets a random session id at once, before signing in (the middleware in
//! `lib.rs`), so that the sign-in form has a CSRF token too; nothing is stored for it until
//! a sign-in succeeds, which issues a fresh id (a planted id never becomes a signed-in one).
//! The CSRF token is an HMAC of the session id under the console's secret: nothing to store,
//! and worthless with another session.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use chrono::{DateTime, Utc};
use egov_runtime::access::Principal;
use hmac::{KeyInit, Mac};

use crate::App;
use crate::i18n::Lang;

/// The cookie holding the session id.
pub const SESSION_COOKIE: &str = "egov_session";
/// The cookie holding the chosen language.
pub const LANG_COOKIE: &str = "egov_lang";

/// The most signed-in sessions kept; beyond it the expired ones go, then the oldest.
const MAX_SESSIONS: usize = 10_000;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// A signed-in person.
#[derive(Debug)]
pub struct User {
    /// Who the platform says they are (name, role, scope), as SignIn answered.
    pub principal: Principal,
    /// The platform's bearer token, sent with every call made for them; never leaves the
    /// server.
    pub token: String,
    /// When the token stops working (wall clock): the session ends with it.
    pub expires_at: DateTime<Utc>,
}

/// The signed-in sessions by id.
#[derive(Debug, Default)]
pub struct Sessions(Mutex<HashMap<String, Arc<User>>>);

impl Sessions {
    pub fn get(&self, id: &str) -> Option<Arc<User>> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let user = map.get(id)?.clone();
        if user.expires_at <= Utc::now() {
            map.remove(id);
            return None;
        }
        Some(user)
    }

    /// Stores `user` under a new id, which it returns.
    pub fn insert(&self, user: User) -> String {
        let id = new_id();
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_SESSIONS {
            let now = Utc::now();
            map.retain(|_, u| u.expires_at > now);
            if map.len() >= MAX_SESSIONS
                && let Some(oldest) = map
                    .iter()
                    .min_by_key(|(_, u)| u.expires_at)
                    .map(|(k, _)| k.clone())
            {
                map.remove(&oldest);
            }
        }
        map.insert(id.clone(), Arc::new(user));
        id
    }

    pub fn remove(&self, id: &str) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).remove(id);
    }
}

/// 32 random bytes in hex: a session id no one guesses.
pub fn new_id() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the system's random source works");
    hex(&bytes)
}

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The CSRF token of session `id`.
pub fn csrf_token(secret: &[u8], id: &str) -> String {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(b"egov-console csrf\0");
    mac.update(id.as_bytes());
    hex(&mac.finalize().into_bytes())
}

/// Whether `token` is the CSRF token of session `id` (compared in constant time).
pub fn csrf_ok(secret: &[u8], id: &str, token: &str) -> bool {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(b"egov-console csrf\0");
    mac.update(id.as_bytes());
    let Some(bytes) = unhex(token) else {
        return false;
    };
    mac.verify_slice(&bytes).is_ok()
}

pub fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The value of cookie `name` in a request's headers.
pub fn cookie<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The `Set-Cookie` value of the session cookie.
pub fn session_cookie(id: &str, secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    )
}

/// Whoever made the request: their session id and CSRF token, the signed-in user if any,
/// their language and address.
#[derive(Debug, Clone)]
pub struct Visitor {
    pub session: String,
    pub csrf: String,
    pub user: Option<Arc<User>>,
    pub lang: Lang,
    /// The browser's address, handed to the platform's calls for the audit log and the
    /// anonymous sign-in limits.
    pub peer: Option<SocketAddr>,
    /// The page's path, for the language switch to come back to.
    pub path: String,
}

impl FromRequestParts<Arc<App>> for Visitor {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &Arc<App>,
    ) -> Result<Visitor, Self::Rejection> {
        // The middleware gave every request a session id, in the cookie header if the
        // browser had none.
        let session = cookie(&parts.headers, SESSION_COOKIE)
            .unwrap_or_default()
            .to_owned();
        let lang = cookie(&parts.headers, LANG_COOKIE).map_or_else(Lang::default, Lang::parse);
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0);
        Ok(Visitor {
            csrf: csrf_token(&app.secret, &session),
            user: app.sessions.get(&session),
            session,
            lang,
            peer,
            path: parts.uri.path().to_owned(),
        })
    }
}

impl Visitor {
    /// Whether a form's CSRF token is this session's.
    pub fn csrf_ok(&self, app: &App, token: &str) -> bool {
        !self.session.is_empty() && csrf_ok(&app.secret, &self.session, token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_csrf_token_is_good_for_its_session_only() {
        let token = csrf_token(b"secret", "s1");
        assert!(csrf_ok(b"secret", "s1", &token));
        assert!(!csrf_ok(b"secret", "s2", &token));
        assert!(!csrf_ok(b"other", "s1", &token));
        assert!(!csrf_ok(b"secret", "s1", "zz"));
    }
}
