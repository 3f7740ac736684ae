//! Typed settings from the command line and its environment fallbacks, validated before any
//! port is bound or any connection is made (STYLE §6). A bad value is a [`ConfigError`]: one
//! line naming the flag and what is expected, exit code 2. Database URLs are kept in a
//! [`DatabaseUrl`] whose `Display` masks the password, so no message or log line can leak it.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use egov_domain::rules::{RuleConfig, strip_json_comments};
use egov_domain::scores::ScoreConfig;
use egov_platform::{ConnectionLimits, TlsSettings};
use egov_store::{Password, redact_url};
use egov_supervision::webhooks::destination::WebhookAllow;

use crate::cli::{ClientArgs, ServerArgs};

mod principals;
use principals::load_client_principals;

/// An invalid setting; the process exits with code 2.
#[derive(Debug)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

fn invalid(message: impl Into<String>) -> ConfigError {
    ConfigError(message.into())
}

/// A checked database URL. `Display` shows it with the password masked; [`DatabaseUrl::expose`]
/// gives the real text, for the store only.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// Checks the URL's shape: `postgres://` or `postgresql://` with a host, or `sqlite://`
    /// with a file path. Whether the server answers is for the store to find out.
    pub fn parse(url: &str) -> Result<Self, ConfigError> {
        let url = url.trim();
        let shown = redact_url(url);
        if let Some(rest) = url
            .strip_prefix("postgres://")
            .or_else(|| url.strip_prefix("postgresql://"))
        {
            // The user info ends at the last `@`: a password may hold unencoded `/ ? # @`.
            let after_user = rest.rfind('@').map_or(rest, |at| &rest[at + 1..]);
            let host_port = after_user.split(['/', '?', '#']).next().unwrap_or_default();
            // `[::1]:5432` (IPv6 in brackets) or `host:5432`, the port optional in both.
            let (host, port) = match host_port.strip_prefix('[') {
                Some(v6) => match v6.split_once(']') {
                    Some((h, "")) => (h, None),
                    Some((h, p)) => (h, Some(p.strip_prefix(':').unwrap_or(p))),
                    None => ("", None),
                },
                None => match host_port.rsplit_once(':') {
                    Some((h, p)) => (h, Some(p)),
                    None => (host_port, None),
                },
            };
            if host.is_empty() {
                return Err(invalid(format!(
                    "--database-url {shown}: no host; expected postgres://USER:PASSWORD@HOST:5432/DB"
                )));
            }
            if let Some(port) = port
                && port.parse::<u16>().is_err()
            {
                return Err(invalid(format!(
                    "--database-url {shown}: port {port:?} is not a number from 0 to 65535"
                )));
            }
            Ok(Self(encode_password_delimiters(url)))
        } else if let Some(path) = url.strip_prefix("sqlite:") {
            let path = path.trim_start_matches("//");
            let file = path.split('?').next().unwrap_or_default();
            if file.is_empty() || file.contains(":memory:") || path.contains("mode=memory") {
                return Err(invalid(format!(
                    "--database-url {shown}: name a database file, e.g. sqlite://./egov-data/egov.db"
                )));
            }
            Ok(Self(url.to_owned()))
        } else {
            Err(invalid(format!(
                "--database-url {shown}: expected postgres://USER:PASSWORD@HOST:5432/DB or \
                 sqlite://PATH/TO/FILE.db"
            )))
        }
    }

    /// The default embedded database: `egov.db` in `dir`.
    pub fn sqlite_in(dir: &std::path::Path) -> Self {
        Self(format!("sqlite://{}", dir.join("egov.db").display()))
    }

    /// The real URL, password included: only for connecting.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// `url` with the `/ ? # @` of its password percent-encoded, so that a URL parser finds the
/// host after the last `@` as a person reading it does (a password pasted unencoded from a
/// password manager, say).
fn encode_password_delimiters(url: &str) -> String {
    let scheme_end = url.find("://").map_or(0, |i| i + 3);
    let (head, rest) = url.split_at(scheme_end);
    let Some(at) = rest.rfind('@') else {
        return url.to_owned();
    };
    let Some((user, password)) = rest[..at].split_once(':') else {
        return url.to_owned();
    };
    let mut encoded = String::with_capacity(password.len());
    for c in password.chars() {
        match c {
            '/' => encoded.push_str("%2F"),
            '?' => encoded.push_str("%3F"),
            '#' => encoded.push_str("%23"),
            '@' => encoded.push_str("%40"),
            c => encoded.push(c),
        }
    }
    format!("{head}{user}:{encoded}{}", &rest[at..])
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact_url(&self.0))
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

/// The settings of a server command (`up`, `approval serve`, `supervision serve`).
#[derive(Debug, Clone)]
pub struct ServerSettings {
    pub database: DatabaseUrl,
    /// The password read from `--database-password-file`, set on the connection apart from
    /// the URL.
    pub database_password: Option<Password>,
    pub listen: SocketAddr,
    /// The directory to create before connecting, for the embedded SQLite default.
    pub data_dir: Option<PathBuf>,
    pub grace: Duration,
    /// Limits on the clients' connections.
    pub connections: ConnectionLimits,
    /// How far ahead of the clock a record may be dated (`--max-clock-skew`).
    pub max_clock_skew: Duration,
    /// Pool settings for the store.
    pub db_timeout: Duration,
    pub db_max_connections: u32,
    /// The supervision rules' configuration given with `--rules`. It wins over the one stored
    /// in the database and is recorded there as a new version; None: the stored one is in
    /// force (the built-in one when none is stored).
    pub rules: Option<RuleConfig>,
    /// The score configuration given with `--scores`; None: the built-in one.
    pub scores: Option<ScoreConfig>,
    /// TLS on the port (`--tls-cert`, `--tls-key`, `--client-ca`), checked to load.
    pub tls: Option<TlsSettings>,
    /// Non-public webhook destinations allowed (`--webhook-allow`).
    pub webhook_allow: WebhookAllow,
    /// The front hall: the policy given with `--policy` (checked), the limits per credential,
    /// the client certificates' principals.
    pub trust: egov_platform::TrustSettings,
    /// Where to serve metrics (`--metrics-addr`); None: nowhere.
    pub metrics: Option<SocketAddr>,
    /// The web console (`--console-addr`, `--console-secret`); None: none.
    pub console: Option<egov_platform::ConsoleSettings>,
}

impl ServerSettings {
    pub fn from_args(args: &ServerArgs) -> Result<Self, ConfigError> {
        let listen = parse_listen(&args.listen)?;
        if args.db_max_connections < 2 {
            // The workers and the calls each hold a connection at times; one would deadlock.
            return Err(invalid("--db-max-connections: must be at least 2"));
        }
        if args.connections.max_connections_per_peer == 0 {
            return Err(invalid("--max-connections-per-peer: must be at least 1"));
        }
        if args.connections.handshake_timeout == 0 || args.connections.keepalive == 0 {
            return Err(invalid(
                "--handshake-timeout and --keepalive: must be at least 1 second",
            ));
        }
        let (database, data_dir) = match &args.database_url {
            Some(url) if !url.trim().is_empty() => (DatabaseUrl::parse(url)?, None),
            _ => {
                if args.data_dir.as_os_str().is_empty() {
                    return Err(invalid("--data-dir: must name a directory"));
                }
                (
                    DatabaseUrl::sqlite_in(&args.data_dir),
                    Some(args.data_dir.clone()),
                )
            }
        };
        let database_password = match &args.database_password_file {
            Some(path) => {
                if !database.expose().starts_with("postgres") {
                    return Err(invalid(format!(
                        "--database-password-file {}: only for a postgres:// --database-url",
                        path.display()
                    )));
                }
                Some(load_password(path)?)
            }
            None => None,
        };
        let rules = match &args.rules {
            Some(path) => Some(load_rules(path)?),
            None => None,
        };
        let scores = match &args.scores {
            Some(path) => Some(load_scores(path)?),
            None => None,
        };
        let tls = match (&args.tls_cert, &args.tls_key) {
            (Some(cert), Some(key)) => {
                let tls = TlsSettings {
                    client_ca: args.client_ca.clone(),
                    ..TlsSettings::new(cert, key)
                };
                egov_platform::tls::check(&tls).map_err(|e| invalid(e.to_string()))?;
                Some(tls)
            }
            (None, None) if args.client_ca.is_some() => {
                return Err(invalid(
                    "--client-ca: only with --tls-cert and --tls-key (mutual TLS is TLS)",
                ));
            }
            (None, None) => None,
            _ => {
                return Err(invalid(
                    "--tls-cert and --tls-key: give both (the certificate and its key)",
                ));
            }
        };
        let webhook_allow = WebhookAllow::parse(&args.webhook_allow)
            .map_err(|e| invalid(format!("--webhook-allow: {e}")))?;
        let policy = match &args.policy {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    invalid(format!("--policy {}: cannot read it: {e}", path.display()))
                })?;
                egov_trust::Policy::parse(&text)
                    .map_err(|e| invalid(format!("--policy {}: {e}", path.display())))?;
                Some(text)
            }
            None => None,
        };
        if args.rate_limit == 0 || args.max_streams == 0 {
            return Err(invalid(
                "--rate-limit and --max-streams: must be at least 1",
            ));
        }
        let certificates = match &args.client_principals {
            Some(path) => load_client_principals(path)?,
            None => Default::default(),
        };
        let jwt = match (&args.jwks, &args.jwt_issuer, &args.jwt_audience) {
            (Some(path), Some(issuer), Some(audience)) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    invalid(format!("--jwks {}: cannot read it: {e}", path.display()))
                })?;
                let mut jwt = egov_trust::JwtSettings::from_jwks(issuer, audience, &text)
                    .map_err(|e| invalid(format!("--jwks {}: {e}", path.display())))?;
                jwt.role_claim.clone_from(&args.jwt_role_claim);
                jwt.scope_claim.clone_from(&args.jwt_scope_claim);
                Some(jwt)
            }
            (None, None, None) => None,
            _ => {
                return Err(invalid(
                    "--jwks, --jwt-issuer and --jwt-audience: give all three or none",
                ));
            }
        };
        let session_ttl = crate::commands::tokens::parse_validity(&args.session_ttl)
            .ok()
            .and_then(|d| d.to_std().ok())
            .ok_or_else(|| {
                invalid(format!(
                    "--session-ttl {:?}: expected a time such as 8h, 30m or 1d",
                    args.session_ttl
                ))
            })?;
        let trust = egov_platform::TrustSettings {
            jwt,
            session_ttl,
            policy,
            limits: egov_platform::Limits {
                rate: f64::from(args.rate_limit),
                burst: 2.0 * f64::from(args.rate_limit),
                streams: args.max_streams,
            },
            certificates,
            ..Default::default()
        };
        let metrics = match &args.observe.metrics_addr {
            Some(text) => Some(text.trim().parse().map_err(|_| {
                invalid(format!(
                    "--metrics-addr {text:?}: expected an IP address and a port, such as \
                     0.0.0.0:9464"
                ))
            })?),
            None => None,
        };
        Ok(Self {
            console: args.observe.console().map_err(invalid)?,
            trust,
            metrics,
            rules,
            scores,
            tls,
            webhook_allow,
            database,
            database_password,
            listen,
            data_dir,
            grace: Duration::from_secs(args.grace),
            connections: ConnectionLimits {
                per_peer: args.connections.max_connections_per_peer,
                handshake_timeout: Duration::from_secs(args.connections.handshake_timeout),
                keepalive_interval: Duration::from_secs(args.connections.keepalive),
                idle_timeout: (args.connections.idle_timeout > 0)
                    .then(|| Duration::from_secs(args.connections.idle_timeout)),
                ..ConnectionLimits::default()
            },
            max_clock_skew: Duration::from_secs(args.max_clock_skew),
            db_timeout: Duration::from_secs(args.db_timeout.max(1)),
            db_max_connections: args.db_max_connections,
        })
    }
}

/// Reads a password file (`--database-password-file`): its content without surrounding white
/// space (a trailing newline most of all), which must not be empty. The message names the
/// file, never its content.
pub fn load_password(path: &Path) -> Result<Password, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        invalid(format!(
            "--database-password-file {}: cannot read it: {e}",
            path.display()
        ))
    })?;
    let password = text.trim();
    if password.is_empty() {
        return Err(invalid(format!(
            "--database-password-file {}: the file is empty",
            path.display()
        )));
    }
    Ok(Password::new(password))
}

/// Reads a rule configuration file: JSON with `//` and `/* */` comments, validated; a bad
/// file is a [`ConfigError`] naming the file and every bad field.
pub fn load_rules(path: &Path) -> Result<RuleConfig, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| invalid(format!("--rules {}: cannot read it: {e}", path.display())))?;
    parse_rules(&text).map_err(|e| invalid(format!("--rules {}: {e}", path.display())))
}

/// A rule configuration from the text of a file (see [`load_rules`]).
pub fn parse_rules(text: &str) -> Result<RuleConfig, String> {
    serde_json::from_str::<RuleConfig>(&strip_json_comments(text)).map_err(|e| e.to_string())
}

/// Reads a score configuration file (`--scores`): JSON with comments, validated; a bad file is
/// a [`ConfigError`] naming the file and every bad field.
pub fn load_scores(path: &Path) -> Result<ScoreConfig, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| invalid(format!("--scores {}: cannot read it: {e}", path.display())))?;
    serde_json::from_str::<ScoreConfig>(&strip_json_comments(&text))
        .map_err(|e| invalid(format!("--scores {}: {e}", path.display())))
}

/// Parses a listen address such as `127.0.0.1:50051` or `[::]:50051`.
pub fn parse_listen(text: &str) -> Result<SocketAddr, ConfigError> {
    text.trim().parse().map_err(|_| {
        invalid(format!(
            "--listen {text:?}: expected an IP address and a port, such as 127.0.0.1:50051 \
             (this machine only) or 0.0.0.0:50051 (every interface)"
        ))
    })
}

/// TLS of a client connection: the CA that signed the platform's certificate, and a client
/// certificate for mutual TLS.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientTls {
    /// The CA certificate(s), PEM.
    pub ca: Vec<u8>,
    /// The client's certificate and key, PEM.
    pub identity: Option<(Vec<u8>, Vec<u8>)>,
}

// By hand: a key is never printed.
impl fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientTls")
            .field("client_certificate", &self.identity.is_some())
            .finish_non_exhaustive()
    }
}

/// The file `egov up` and `egov demo` keep their local admin credential in (mode 0600), in
/// their data directory; the client commands on the same machine read it when no --token
/// is given.
pub const ADMIN_TOKEN_FILE: &str = "admin.token";

/// A checked client target: an `http://` or `https://` URL with a host and port, for
/// https:// the TLS to speak, and the bearer token the calls carry (docs/design.md "Trust").
#[derive(Clone, PartialEq, Eq)]
pub struct Target {
    url: String,
    tls: Option<ClientTls>,
    token: Option<String>,
}

// By hand: the token is a secret, which no log line may show.
impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Target")
            .field("url", &self.url)
            .field("tls", &self.tls)
            .finish_non_exhaustive()
    }
}

fn read_pem(flag: &str, path: &Path) -> Result<Vec<u8>, ConfigError> {
    std::fs::read(path)
        .map_err(|e| invalid(format!("{flag} {}: cannot read it: {e}", path.display())))
}

impl Target {
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let text = text.trim().trim_end_matches('/');
        let bad = || {
            invalid(format!(
                "--target {text:?}: expected the platform's URL, such as http://127.0.0.1:50051"
            ))
        };
        let rest = text
            .strip_prefix("http://")
            .or_else(|| text.strip_prefix("https://"))
            .ok_or_else(bad)?;
        if rest.is_empty() || rest.contains(['/', ' ', '?', '#']) {
            return Err(bad());
        }
        tonic::transport::Endpoint::from_shared(text.to_owned()).map_err(|_| bad())?;
        Ok(Self {
            url: text.to_owned(),
            tls: None,
            token: None,
        })
    }

    /// The target of a client command, with its credential: --token (EGOV_TOKEN), else the
    /// local admin credential in --data-dir, when `egov up` made one there.
    pub fn from_args(args: &ClientArgs) -> Result<Self, ConfigError> {
        let token = match &args.token {
            Some(token) => Some(token.trim().to_owned()),
            None => std::fs::read_to_string(args.data_dir.join(ADMIN_TOKEN_FILE))
                .ok()
                .map(|t| t.trim().to_owned()),
        };
        let target = Self::parse(&args.target)?.with_token(token);
        let https = target.url.starts_with("https://");
        match (&args.ca, https) {
            (None, false) if args.client_cert.is_none() => Ok(target),
            (Some(ca), true) => {
                let ca = read_pem("--ca", ca)?;
                let identity = match (&args.client_cert, &args.client_key) {
                    (Some(cert), Some(key)) => {
                        Some((read_pem("--tls-cert", cert)?, read_pem("--tls-key", key)?))
                    }
                    _ => None,
                };
                Ok(Self {
                    tls: Some(ClientTls { ca, identity }),
                    ..target
                })
            }
            (None, true) => Err(invalid(format!(
                "--target {}: https:// needs --ca FILE (or EGOV_CA), the CA certificate that \
                 signed the platform's certificate",
                target.url
            ))),
            (_, false) => Err(invalid(format!(
                "--ca and --tls-cert are for an https:// --target, not {}",
                target.url
            ))),
        }
    }

    /// This target with `token` on every call.
    pub fn with_token(self, token: Option<String>) -> Self {
        Self { token, ..self }
    }

    /// The bearer token the calls carry, if any.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// The URL of a server listening on `addr`, for talking to oneself (a wildcard address is
    /// reached on loopback).
    pub fn local(addr: SocketAddr) -> Self {
        let ip = match addr.ip() {
            std::net::IpAddr::V4(ip) if ip.is_unspecified() => {
                std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)
            }
            std::net::IpAddr::V6(ip) if ip.is_unspecified() => {
                std::net::IpAddr::V6(std::net::Ipv6Addr::LOCALHOST)
            }
            ip => ip,
        };
        Self {
            url: format!("http://{}", SocketAddr::new(ip, addr.port())),
            tls: None,
            token: None,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.url
    }

    /// The TLS to speak (an https:// target).
    pub fn tls(&self) -> Option<&ClientTls> {
        self.tls.as_ref()
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_masked() {
        assert_eq!(
            redact_url("postgres://egov:s3cr3t@db:5432/egov"),
            "postgres://egov:***@db:5432/egov"
        );
        assert_eq!(
            redact_url("postgres://egov@db/egov?sslmode=require&password=s3cr3t"),
            "postgres://egov@db/egov?sslmode=require&password=***"
        );
        assert_eq!(
            redact_url("postgres://a:b:c@d@host/x"),
            "postgres://a:***@host/x"
        );
        assert_eq!(
            redact_url("sqlite://./egov-data/egov.db"),
            "sqlite://./egov-data/egov.db"
        );
        let url = DatabaseUrl::parse("postgres://egov:s3cr3t@db/egov").unwrap();
        assert!(!url.to_string().contains("s3cr3t"));
        assert!(!format!("{url:?}").contains("s3cr3t"));
        assert!(url.expose().contains("s3cr3t"));
    }

    #[test]
    fn passwords_with_unencoded_delimiters_are_masked_and_encoded() {
        for raw in ["se/cret", "se?cret", "se#cret", "se@cret", "s/e?c#r@et:x"] {
            let text = format!("postgres://egov:{raw}@db:5432/egov?sslmode=disable");
            let url = DatabaseUrl::parse(&text).expect("the host is after the last @");
            assert_eq!(
                url.to_string(),
                "postgres://egov:***@db:5432/egov?sslmode=disable"
            );
            assert!(!format!("{url:?}").contains("cret"));
            assert!(
                url.expose().ends_with("@db:5432/egov?sslmode=disable"),
                "{}",
                url.expose()
            );
            assert!(!url.expose().contains(raw), "{}", url.expose());
        }
        let e = DatabaseUrl::parse("postgres://egov:se/cr?et@db:port/egov")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("cr"), "{e}");
        assert_eq!(
            encode_password_delimiters("postgres://u:a/b?c#d@e@h/db"),
            "postgres://u:a%2Fb%3Fc%23d%40e@h/db"
        );
    }

    #[test]
    fn a_password_file_is_read_trimmed_and_named_when_missing() {
        let dir = std::env::temp_dir().join(format!("egov-pw-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("password");
        std::fs::write(&file, "  s3cr3t\n").unwrap();
        assert_eq!(load_password(&file).unwrap().expose(), "s3cr3t");
        std::fs::write(&file, "\n").unwrap();
        let e = load_password(&file).unwrap_err().to_string();
        assert!(
            e.contains("empty") && e.contains(&file.display().to_string()),
            "{e}"
        );
        let missing = dir.join("missing");
        let e = load_password(&missing).unwrap_err().to_string();
        assert!(
            e.starts_with("--database-password-file") && e.contains(&missing.display().to_string()),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn database_urls_are_checked_without_echoing_secrets() {
        for good in [
            "postgres://egov:pw@localhost:5432/egov",
            "postgresql://localhost/egov",
            "postgres://[::1]:5432/egov",
            "sqlite://./egov-data/egov.db",
            "sqlite:///var/lib/egov/egov.db",
        ] {
            assert!(DatabaseUrl::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "mysql://u:topsecret@h/db",
            "postgres://u:topsecret@/db",
            "postgres://u:topsecret@h:port/db",
            "sqlite://",
            "sqlite::memory:",
        ] {
            let e = DatabaseUrl::parse(bad).unwrap_err().to_string();
            assert!(!e.contains("topsecret"), "{e}");
            assert!(e.starts_with("--database-url"), "{e}");
            assert!(!e.contains('\n'), "{e}");
        }
    }

    #[test]
    fn listen_addresses_and_targets_are_checked() {
        assert!(parse_listen("127.0.0.1:0").is_ok());
        assert!(parse_listen("[::]:50051").is_ok());
        assert!(parse_listen("localhost").is_err());
        assert!(parse_listen("127.0.0.1:99999").is_err());
        assert!(Target::parse("http://127.0.0.1:50051").is_ok());
        assert!(Target::parse("https://egov.example:443/").is_ok());
        assert!(Target::parse("127.0.0.1:50051").is_err());
        assert!(Target::parse("http://").is_err());
        assert_eq!(
            Target::local("0.0.0.0:7000".parse().unwrap()).as_str(),
            "http://127.0.0.1:7000"
        );
    }

    #[test]
    fn rule_files_take_comments_and_name_bad_fields() {
        let rules = parse_rules(
            "// a department stricter than the default\n\
             {\"departments\": {\"market\": {\"max_suspensions\": 1 /* one */}}}",
        )
        .expect("a valid file");
        assert_eq!(rules.spec().departments.len(), 1);
        let example = include_str!("../../../crates/domain/data/rules.example.json");
        parse_rules(example).expect("the documented example parses");
        let error = parse_rules(
            "{\"departments\": {\"market\": {\"approaching\": {\"working_days\": 0}}}}",
        )
        .expect_err("a reminder 0 days before is refused");
        assert!(
            error.contains("departments.market.approaching.working_days"),
            "{error}"
        );
    }
}
