//! A TLS connection of the accept loop, and what it learns of its peer: the handshake runs on
//! the connection's own task (the first read or write drives it, within the handshake
//! timeout), never in the accept loop, so a slow client holds only its own connection. The
//! subject of a verified client certificate is kept per peer address while the connection is
//! open, and [`ClientCertificates`] puts it in each call's extensions as a
//! [`ClientCertificate`] for authentication to map (docs/design.md §5).

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use egov_runtime::access::ClientCertificate;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;
use tonic::transport::server::{Connected, TcpConnectInfo};

use crate::serve::Admitted;

/// The subjects of the verified client certificates of the open connections, by the peer's
/// socket address (unique among the open connections of one listener).
#[derive(Debug, Default)]
pub(crate) struct PeerCertificates(Mutex<HashMap<SocketAddr, ClientCertificate>>);

impl PeerCertificates {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SocketAddr, ClientCertificate>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Tests only: the client certificate each call carried in its extensions (None: none), in
/// the order the calls arrived, as authentication sees them.
#[derive(Debug, Clone, Default)]
pub struct CertificateProbe(Arc<Mutex<Vec<Option<ClientCertificate>>>>);

impl CertificateProbe {
    pub fn seen(&self) -> Vec<Option<ClientCertificate>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// The interceptor that puts a call's [`ClientCertificate`] in its extensions; the outermost
/// layer of the router, so every other one (authentication) finds it there.
#[derive(Debug, Clone)]
pub(crate) struct ClientCertificates {
    pub peers: Arc<PeerCertificates>,
    pub probe: Option<CertificateProbe>,
}

impl tonic::service::Interceptor for ClientCertificates {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        // Never from the call itself: a client cannot claim a certificate by a header.
        request.extensions_mut().remove::<ClientCertificate>();
        let certificate = request
            .remote_addr()
            .and_then(|addr| self.peers.lock().get(&addr).cloned());
        if let Some(probe) = &self.probe {
            probe
                .0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(certificate.clone());
        }
        if let Some(certificate) = certificate {
            request.extensions_mut().insert(certificate);
        }
        Ok(request)
    }
}

/// A connection as the server sees it: plain, or TLS (its handshake on its first use).
pub(crate) enum Conn {
    Plain(Admitted),
    Tls(Box<TlsConn>),
}

pub(crate) struct TlsConn {
    state: State,
    info: TcpConnectInfo,
    peers: Arc<PeerCertificates>,
    /// Whether this connection put its peer's certificate in `peers` (and takes it out).
    registered: bool,
}

enum State {
    Handshake {
        accept: tokio_rustls::Accept<Admitted>,
        /// The whole handshake must end by then.
        deadline: Pin<Box<Sleep>>,
    },
    Ready(tokio_rustls::server::TlsStream<Admitted>),
    Failed,
}

impl Conn {
    pub fn tls(
        stream: Admitted,
        acceptor: &tokio_rustls::TlsAcceptor,
        deadline: Sleep,
        peers: Arc<PeerCertificates>,
    ) -> Conn {
        let info = stream.connect_info();
        Conn::Tls(Box::new(TlsConn {
            state: State::Handshake {
                accept: acceptor.accept(stream),
                deadline: Box::pin(deadline),
            },
            info,
            peers,
            registered: false,
        }))
    }
}

impl TlsConn {
    /// Drives the handshake; Ready(Ok) once the stream can carry data.
    fn poll_handshake(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let State::Handshake { accept, deadline } = &mut self.state else {
            return Poll::Ready(match self.state {
                State::Ready(_) => Ok(()),
                _ => Err(std::io::Error::other("the TLS handshake failed")),
            });
        };
        let peer = self.info.remote_addr;
        match Pin::new(accept).poll(cx) {
            Poll::Ready(Ok(stream)) => {
                let subject = stream
                    .get_ref()
                    .1
                    .peer_certificates()
                    .and_then(|chain| chain.first())
                    .and_then(|cert| subject_of(cert));
                if let (Some(subject), Some(addr)) = (subject, peer) {
                    self.peers
                        .lock()
                        .insert(addr, ClientCertificate { subject });
                    self.registered = true;
                }
                self.state = State::Ready(stream);
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(error)) => {
                tracing::debug!(?peer, %error, "TLS handshake refused");
                self.state = State::Failed;
                Poll::Ready(Err(error))
            }
            Poll::Pending => {
                if deadline.as_mut().poll(cx).is_ready() {
                    tracing::debug!(?peer, "TLS handshake not finished in time; closing");
                    self.state = State::Failed;
                    return Poll::Ready(Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "the TLS handshake did not finish within the handshake timeout",
                    )));
                }
                Poll::Pending
            }
        }
    }

    fn stream(&mut self) -> Pin<&mut tokio_rustls::server::TlsStream<Admitted>> {
        match &mut self.state {
            State::Ready(stream) => Pin::new(stream),
            _ => unreachable!("polled only after the handshake"),
        }
    }
}

impl Drop for TlsConn {
    fn drop(&mut self) {
        if self.registered
            && let Some(addr) = self.info.remote_addr
        {
            self.peers.lock().remove(&addr);
        }
    }
}

impl Connected for Conn {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> TcpConnectInfo {
        match self {
            Conn::Plain(stream) => stream.connect_info(),
            Conn::Tls(tls) => tls.info.clone(),
        }
    }
}

macro_rules! ready_or_return {
    ($tls:expr, $cx:expr) => {
        match $tls.poll_handshake($cx) {
            Poll::Ready(Ok(())) => {}
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        }
    };
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(stream) => Pin::new(stream).poll_read(cx, buf),
            Conn::Tls(tls) => {
                ready_or_return!(tls, cx);
                tls.stream().poll_read(cx, buf)
            }
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(stream) => Pin::new(stream).poll_write(cx, buf),
            Conn::Tls(tls) => {
                ready_or_return!(tls, cx);
                tls.stream().poll_write(cx, buf)
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(stream) => Pin::new(stream).poll_flush(cx),
            Conn::Tls(tls) => {
                ready_or_return!(tls, cx);
                tls.stream().poll_flush(cx)
            }
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(stream) => Pin::new(stream).poll_shutdown(cx),
            Conn::Tls(tls) => match &mut tls.state {
                State::Ready(stream) => Pin::new(stream).poll_shutdown(cx),
                // Nothing to close politely before the handshake ended.
                _ => Poll::Ready(Ok(())),
            },
        }
    }
}

// ----- the subject of a certificate ----------------------------------------------------------

/// One DER element: its tag, its content, and what follows it.
fn element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// The elements of a constructed value's content.
fn elements(mut content: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    std::iter::from_fn(move || {
        let (tag, value, rest) = element(content)?;
        content = rest;
        Some((tag, value))
    })
}

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const OID: u8 = 0x06;
const OCTET_STRING: u8 = 0x04;
/// id-at-commonName, 2.5.4.3.
const COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];
/// id-ce-subjectAltName, 2.5.29.17.
const SUBJECT_ALT_NAME: &[u8] = &[0x55, 0x1d, 0x11];
/// A GeneralName's dNSName, [2] IMPLICIT IA5String.
const DNS_NAME: u8 = 0x82;
/// A TBSCertificate's extensions, [3] EXPLICIT.
const EXTENSIONS: u8 = 0xa3;

/// The subject of an X.509 certificate (DER) as a principal's name: its common name, or
/// without one its first DNS name; None when it has neither (or is not a certificate).
pub fn subject_of(der: &[u8]) -> Option<String> {
    let (SEQUENCE, certificate, _) = element(der)? else {
        return None;
    };
    let (SEQUENCE, tbs, _) = element(certificate)? else {
        return None;
    };
    let mut fields = elements(tbs).peekable();
    // version [0] is optional; then serial, signature, issuer, validity, subject.
    if fields.peek().is_some_and(|(tag, _)| *tag == 0xa0) {
        fields.next();
    }
    let mut fields = fields.skip(4);
    let (_, subject) = fields.next()?;
    let common_name = elements(subject)
        .filter(|(tag, _)| *tag == SET)
        .flat_map(|(_, set)| elements(set))
        .filter(|(tag, _)| *tag == SEQUENCE)
        .find_map(|(_, pair)| {
            let mut parts = elements(pair);
            let (OID, oid) = parts.next()? else {
                return None;
            };
            (oid == COMMON_NAME)
                .then(|| parts.next())
                .flatten()
                .and_then(|(_, value)| text(value))
        });
    if common_name.is_some() {
        return common_name;
    }
    let (_, extensions) = fields.find(|(tag, _)| *tag == EXTENSIONS)?;
    let (SEQUENCE, extensions, _) = element(extensions)? else {
        return None;
    };
    elements(extensions).find_map(|(_, extension)| {
        let mut parts = elements(extension);
        let (OID, oid) = parts.next()? else {
            return None;
        };
        if oid != SUBJECT_ALT_NAME {
            return None;
        }
        let (_, names) = parts.find(|(tag, _)| *tag == OCTET_STRING)?;
        let (SEQUENCE, names, _) = element(names)? else {
            return None;
        };
        elements(names)
            .find(|(tag, _)| *tag == DNS_NAME)
            .and_then(|(_, name)| text(name))
    })
}

fn text(value: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(value).ok()?.trim();
    (!text.is_empty() && !text.chars().any(char::is_control)).then(|| text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::subject_of;

    fn certificate(cn: Option<&str>, dns: &[&str]) -> Vec<u8> {
        let mut params =
            rcgen::CertificateParams::new(dns.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .unwrap();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, "Hangzhou");
        if let Some(cn) = cn {
            params
                .distinguished_name
                .push(rcgen::DnType::CommonName, cn);
        }
        let key = rcgen::KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().der().to_vec()
    }

    #[test]
    fn the_subject_is_the_common_name_or_the_first_dns_name() {
        assert_eq!(
            subject_of(&certificate(Some("centre-330106"), &["a.example"])).as_deref(),
            Some("centre-330106")
        );
        assert_eq!(
            subject_of(&certificate(None, &["centre.example", "b.example"])).as_deref(),
            Some("centre.example")
        );
        assert_eq!(subject_of(&certificate(None, &[])), None);
        assert_eq!(subject_of(b"not a certificate"), None);
        assert_eq!(subject_of(&[]), None);
    }
}
