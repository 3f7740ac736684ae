//! TLS on the platforms' port (issue 12, item 5; docs/design.md §5): the server's certificate
//! and key, and with a client CA mutual TLS, loaded from PEM files and reloaded without a
//! restart when the files change (looked at every few seconds, and at once on SIGHUP).
//!
//! The handshake runs in the root's own accept loop ([`crate::serve`]) with rustls
//! (tokio-rustls, the ring provider: the same rustls tonic's clients use), so the per-peer
//! limits and the handshake timeout cover it, and every new connection takes the
//! configuration in force at its accept: a rotated certificate is served from the next
//! connection on, while open connections keep theirs. A new file that does not load (a half
//! written key, a certificate that does not match it) keeps the old configuration in force
//! and is logged as an error once; the next good file is taken.

mod peer;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use egov_runtime::shutdown::Shutdown;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{self, RootCertStore, ServerConfig};

pub use peer::{CertificateProbe, subject_of};
pub(crate) use peer::{ClientCertificates, Conn, PeerCertificates};

/// How often the certificate files are looked at by default.
pub const DEFAULT_RELOAD_EVERY: Duration = Duration::from_secs(5);

/// Where the server's TLS material is (`--tls-cert`, `--tls-key`, `--client-ca`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    /// The server's certificate chain (PEM), its own certificate first.
    pub cert: PathBuf,
    /// The certificate's private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// With a CA bundle (PEM), mutual TLS: every client must present a certificate it
    /// signed, and the certificate's subject goes to each call as a
    /// `egov_runtime::access::ClientCertificate`.
    pub client_ca: Option<PathBuf>,
    /// How often the files are looked at for a change.
    pub reload_every: Duration,
}

impl TlsSettings {
    pub fn new(cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        TlsSettings {
            cert: cert.into(),
            key: key.into(),
            client_ca: None,
            reload_every: DEFAULT_RELOAD_EVERY,
        }
    }
}

/// Why the TLS material does not load; names the file.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{flag} {}: cannot read it: {source}", path.display())]
    Read {
        flag: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{flag} {}: {reason}", path.display())]
    Invalid {
        flag: &'static str,
        path: PathBuf,
        reason: String,
    },
}

/// The bytes of the three files, as last read: a change is a change of content (a rename
/// over the file, a Kubernetes secret's symbolic link switched, an edit in place).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Material {
    cert: Vec<u8>,
    key: Vec<u8>,
    client_ca: Option<Vec<u8>>,
}

fn read(flag: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        flag,
        path: path.to_owned(),
        source,
    })
}

impl Material {
    fn read(settings: &TlsSettings) -> Result<Material, TlsError> {
        Ok(Material {
            cert: read("--tls-cert", &settings.cert)?,
            key: read("--tls-key", &settings.key)?,
            client_ca: settings
                .client_ca
                .as_deref()
                .map(|path| read("--client-ca", path))
                .transpose()?,
        })
    }

    /// The server configuration, or which file is wrong and why.
    fn config(&self, settings: &TlsSettings) -> Result<Arc<ServerConfig>, TlsError> {
        let invalid = |flag, path: &Path, reason: String| TlsError::Invalid {
            flag,
            path: path.to_owned(),
            reason,
        };
        let certs = CertificateDer::pem_slice_iter(&self.cert)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| invalid("--tls-cert", &settings.cert, format!("not PEM: {e}")))?;
        if certs.is_empty() {
            return Err(invalid(
                "--tls-cert",
                &settings.cert,
                "holds no CERTIFICATE block".into(),
            ));
        }
        let key = PrivateKeyDer::from_pem_slice(&self.key).map_err(|e| {
            invalid(
                "--tls-key",
                &settings.key,
                format!("holds no private key: {e}"),
            )
        })?;
        // ring, as tonic's `tls-ring` clients: aws-lc-rs (with post-quantum key exchange, the
        // reason rustls 0.23.48 marks ring's provider deprecated) would add a C/CMake build
        // of a large library to every build of the workspace.
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| invalid("--tls-cert", &settings.cert, e.to_string()))?;
        let builder = match (&self.client_ca, &settings.client_ca) {
            (Some(pem), Some(path)) => {
                let mut roots = RootCertStore::empty();
                for cert in CertificateDer::pem_slice_iter(pem) {
                    let cert =
                        cert.map_err(|e| invalid("--client-ca", path, format!("not PEM: {e}")))?;
                    roots
                        .add(cert)
                        .map_err(|e| invalid("--client-ca", path, e.to_string()))?;
                }
                if roots.is_empty() {
                    return Err(invalid(
                        "--client-ca",
                        path,
                        "holds no CERTIFICATE block".into(),
                    ));
                }
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                        .build()
                        .map_err(|e| invalid("--client-ca", path, e.to_string()))?;
                builder.with_client_cert_verifier(verifier)
            }
            _ => builder.with_no_client_auth(),
        };
        let mut config = builder.with_single_cert(certs, key).map_err(|e| {
            invalid(
                "--tls-key",
                &settings.key,
                format!("does not fit the certificate of --tls-cert: {e}"),
            )
        })?;
        // gRPC is HTTP/2 only.
        config.alpn_protocols = vec![b"h2".to_vec()];
        Ok(Arc::new(config))
    }
}

/// Loads the files once: start-up validation, before any port is bound.
pub fn check(settings: &TlsSettings) -> Result<(), TlsError> {
    Material::read(settings)?.config(settings).map(drop)
}

/// Why `found` does not load, for the log.
fn bad_reason(settings: &TlsSettings, found: &Result<Material, String>) -> String {
    match found {
        Ok(material) => material
            .config(settings)
            .err()
            .map_or_else(String::new, |e| e.to_string()),
        Err(error) => error.clone(),
    }
}

/// The TLS configuration in force, and what it was loaded from.
#[derive(Debug)]
pub(crate) struct Reloading {
    settings: TlsSettings,
    current: RwLock<(Material, Arc<ServerConfig>)>,
    /// The material (or the read error's text) last found bad, and whether it was logged.
    last_bad: Mutex<Option<(Result<Material, String>, bool)>>,
}

impl Reloading {
    pub fn load(settings: TlsSettings) -> Result<Reloading, TlsError> {
        let material = Material::read(&settings)?;
        let config = material.config(&settings)?;
        Ok(Reloading {
            settings,
            current: RwLock::new((material, config)),
            last_bad: Mutex::new(None),
        })
    }

    /// An acceptor with the configuration in force now.
    pub fn acceptor(&self) -> TlsAcceptor {
        let current = self.current.read().unwrap_or_else(|e| e.into_inner());
        TlsAcceptor::from(current.1.clone())
    }

    /// Reads the files again and, when they changed and load, puts them in force. Answers
    /// whether the configuration changed. A bad set of files is logged as an error when a
    /// second look finds it unchanged: a rotation that renames the key, then the certificate,
    /// may be seen between the two, and is no error.
    pub fn reload(&self) -> bool {
        let found = Material::read(&self.settings).map_err(|e| e.to_string());
        let mut last_bad = self.last_bad.lock().unwrap_or_else(|e| e.into_inner());
        if let Ok(material) = &found
            && self.current.read().unwrap_or_else(|e| e.into_inner()).0 == *material
        {
            *last_bad = None;
            return false;
        }
        if let Some((bad, logged)) = last_bad.as_mut()
            && *bad == found
        {
            if !*logged {
                *logged = true;
                tracing::error!(
                    error = %bad_reason(&self.settings, &found),
                    "the changed TLS files do not load; the previous certificate stays in force"
                );
            }
            return false;
        }
        let loaded = found.clone().and_then(|m| {
            m.config(&self.settings)
                .map(|c| (m, c))
                .map_err(|e| e.to_string())
        });
        match loaded {
            Ok((material, config)) => {
                *self.current.write().unwrap_or_else(|e| e.into_inner()) = (material, config);
                *last_bad = None;
                tracing::info!(
                    cert = %self.settings.cert.display(),
                    "TLS certificate reloaded: new connections use it"
                );
                true
            }
            Err(error) => {
                tracing::debug!(%error, "the changed TLS files do not load (yet)");
                *last_bad = Some((found, false));
                false
            }
        }
    }

    /// Looks at the files every `reload_every`, and at once on SIGHUP, until `shutdown`.
    pub async fn watch(self: Arc<Self>, mut shutdown: Shutdown) {
        let mut hangups = Hangups::new();
        loop {
            tokio::select! {
                () = shutdown.wait() => return,
                () = tokio::time::sleep(self.settings.reload_every) => {}
                () = hangups.next() => tracing::info!("SIGHUP: looking at the TLS files"),
            }
            self.reload();
        }
    }
}

/// Without TLS there is nothing to reload, but SIGHUP must still not end the process (its
/// default action): the systemd units' `ExecReload=` sends it, and `systemctl reload` of a
/// plaintext deployment would otherwise be a crash and a restart. Answers each with a log line,
/// until `shutdown`.
pub(crate) async fn hangups_without_tls(mut shutdown: Shutdown) {
    let mut hangups = Hangups::new();
    loop {
        tokio::select! {
            () = shutdown.wait() => return,
            () = hangups.next() => tracing::info!("SIGHUP: no TLS files to look at; nothing to reload"),
        }
    }
}

/// The process's SIGHUPs, once its handler is installed (never one where there are none).
struct Hangups {
    #[cfg(unix)]
    signal: Option<tokio::signal::unix::Signal>,
}

impl Hangups {
    fn new() -> Self {
        Hangups {
            #[cfg(unix)]
            signal: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok(),
        }
    }

    async fn next(&mut self) {
        #[cfg(unix)]
        if let Some(signal) = self.signal.as_mut() {
            signal.recv().await;
            return;
        }
        std::future::pending::<()>().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(name: &str) -> (String, String) {
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec![name.to_owned()]).unwrap();
        (params.self_signed(&key).unwrap().pem(), key.serialize_pem())
    }

    /// A bad new file keeps the configuration in force; a good one replaces it; files are
    /// compared by content, so rewriting the same bytes changes nothing.
    #[test]
    fn reloading_takes_good_files_only() {
        let dir = std::env::temp_dir().join(format!("egov-tls-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let settings = TlsSettings::new(dir.join("cert.pem"), dir.join("key.pem"));
        let (cert, key) = pair("one.example");
        std::fs::write(&settings.cert, &cert).unwrap();
        std::fs::write(&settings.key, &key).unwrap();
        let reloading = Reloading::load(settings.clone()).expect("a good pair loads");
        let in_force = || reloading.current.read().unwrap().1.clone();
        let first = in_force();
        assert!(!reloading.reload(), "unchanged files");

        std::fs::write(&settings.key, "-----BEGIN PRIVATE KEY-----\nbroken").unwrap();
        assert!(!reloading.reload(), "a broken key is not taken");
        assert!(!reloading.reload(), "nor when looked at again");
        assert!(
            Arc::ptr_eq(&first, &in_force()),
            "the old configuration stays"
        );

        let (other_cert, _) = pair("two.example");
        std::fs::write(&settings.key, &key).unwrap();
        std::fs::write(&settings.cert, &other_cert).unwrap();
        assert!(
            !reloading.reload(),
            "a certificate that does not fit the key"
        );
        assert!(Arc::ptr_eq(&first, &in_force()));

        let (cert, key) = pair("three.example");
        std::fs::write(&settings.cert, &cert).unwrap();
        std::fs::write(&settings.key, &key).unwrap();
        assert!(reloading.reload(), "a good new pair is taken");
        assert!(!Arc::ptr_eq(&first, &in_force()));

        std::fs::remove_file(&settings.key).unwrap();
        assert!(!reloading.reload(), "a missing file keeps the old pair");
        let e = check(&settings).unwrap_err().to_string();
        assert!(
            e.starts_with("--tls-key") && e.contains("cannot read it"),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
