//! Where a webhook may be delivered (issue 12, item 6; docs/design.md §5): to public addresses
//! only, unless the admin's allow-list (`--webhook-allow`) names the host or a network holding
//! the address. Otherwise anyone allowed to create a hook could make the platform POST to the
//! database port on loopback, an admin page on the office network or the cloud's metadata
//! service (server-side request forgery).
//!
//! The check runs twice: when a hook is created (its host, and every address the host
//! resolves to then), and for every attempt on the addresses the connection really uses: the
//! HTTP client resolves names through [`Guard`], which refuses the whole attempt when any
//! address is forbidden, and connects only to the addresses it checked. A name that resolved
//! to a public address at creation and to 127.0.0.1 later (DNS rebinding) is refused then.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper_util::client::legacy::connect::dns::Name;

/// How long a creation waits for the host's addresses; a name that does not resolve then is
/// accepted (the receiver may be set up later) and checked at every attempt.
const RESOLVE_AT_CREATION: Duration = Duration::from_secs(3);

/// Networks and host names the admin allows webhooks to reach although they are not public
/// (`--webhook-allow 10.1.2.0/24,sms-gateway.internal`). Empty by default: public addresses
/// only.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookAllow {
    /// Host names, lower case, matched exactly against a hook's host.
    hosts: Vec<String>,
    /// Networks (an address alone is a network of one).
    nets: Vec<Net>,
}

/// An IP network: an address and a prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Net {
    addr: IpAddr,
    len: u8,
}

impl Net {
    fn parse(text: &str) -> Option<Net> {
        let (addr, len) = match text.split_once('/') {
            Some((addr, len)) => (addr, Some(len)),
            None => (text, None),
        };
        let addr: IpAddr = addr.trim_matches(['[', ']']).parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let len = match len {
            Some(len) => len.parse::<u8>().ok().filter(|l| *l <= max)?,
            None => max,
        };
        Some(Net { addr, len })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => prefix_eq(&net.octets(), &ip.octets(), self.len),
            (IpAddr::V6(net), IpAddr::V6(ip)) => prefix_eq(&net.octets(), &ip.octets(), self.len),
            _ => false,
        }
    }
}

fn prefix_eq(a: &[u8], b: &[u8], len: u8) -> bool {
    let (bytes, bits) = (usize::from(len / 8), len % 8);
    if a[..bytes] != b[..bytes] {
        return false;
    }
    bits == 0 || {
        let mask = 0xff_u8 << (8 - bits);
        a[bytes] & mask == b[bytes] & mask
    }
}

impl WebhookAllow {
    /// The allow-list from its items: host names, addresses, or networks in CIDR notation
    /// (`127.0.0.1`, `10.0.0.0/8`, `fd00::/8`, `sms-gateway.internal`). A bad item is named in
    /// the error.
    pub fn parse<S: AsRef<str>>(items: &[S]) -> Result<WebhookAllow, String> {
        let mut allow = WebhookAllow::default();
        for item in items {
            let item = item.as_ref().trim();
            if item.is_empty() {
                continue;
            }
            if let Some(net) = Net::parse(item) {
                allow.nets.push(net);
            } else if item.contains('/') || item.parse::<IpAddr>().is_ok() {
                return Err(format!(
                    "{item:?} is not a network: expected ADDRESS/PREFIX, such as 10.0.0.0/8"
                ));
            } else if item
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
            {
                allow.hosts.push(item.to_ascii_lowercase());
            } else {
                return Err(format!(
                    "{item:?} is neither a host name nor an address or network"
                ));
            }
        }
        Ok(allow)
    }

    /// The loopback networks: for tests whose receivers listen on 127.0.0.1.
    pub fn loopback() -> WebhookAllow {
        WebhookAllow::parse(&["127.0.0.0/8", "::1"]).expect("valid networks")
    }

    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty() && self.nets.is_empty()
    }

    fn allows_host(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.hosts.contains(&host)
    }

    fn allows_ip(&self, ip: IpAddr) -> bool {
        self.nets.iter().any(|n| n.contains(ip))
    }

    /// Why `ip` (an address of `host`) may not be reached, if it may not.
    pub fn refuses(&self, host: &str, ip: IpAddr) -> Option<&'static str> {
        if self.allows_host(host) || self.allows_ip(ip) {
            return None;
        }
        forbidden(ip)
    }
}

/// An IPv4 address mapped into IPv6 (`::ffff:127.0.0.1`) as the IPv4 address it reaches.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// Why `ip` is not a public destination, or None when it is. The addresses refused are those
/// of the IANA special-purpose registries that do not reach the public internet.
pub fn forbidden(ip: IpAddr) -> Option<&'static str> {
    match canonical(ip) {
        IpAddr::V4(ip) => forbidden_v4(ip),
        IpAddr::V6(ip) => forbidden_v6(ip),
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(if ip == Ipv4Addr::new(169, 254, 169, 254) {
        "the cloud metadata service"
    } else if ip.is_loopback() {
        "a loopback address (127.0.0.0/8)"
    } else if ip.is_private() {
        "a private address (RFC 1918)"
    } else if ip.is_link_local() {
        "a link-local address (169.254.0.0/16)"
    } else if ip.is_unspecified() || a == 0 {
        "an unspecified address (0.0.0.0/8)"
    } else if ip.is_multicast() {
        "a multicast address"
    } else if ip.is_broadcast() {
        "the broadcast address"
    } else if a == 100 && (64..128).contains(&b) {
        "a shared (carrier-grade NAT) address (100.64.0.0/10)"
    } else if ip.is_documentation() || (a == 198 && (b == 18 || b == 19)) {
        "a documentation or benchmarking address"
    } else if a == 192 && b == 0 && c == 0 {
        "an IETF protocol address (192.0.0.0/24)"
    } else if a >= 240 {
        "a reserved address (240.0.0.0/4)"
    } else {
        return None;
    })
}

fn forbidden_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    // IPv4 addresses carried inside IPv6 reach what the IPv4 address reaches.
    let embedded = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    Some(
        if ip == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) {
            "the cloud metadata service"
        } else if ip.is_loopback() {
            "a loopback address (::1)"
        } else if ip.is_unspecified() {
            "an unspecified address (::)"
        } else if s[0] & 0xfe00 == 0xfc00 {
            "a unique local address (fc00::/7)"
        } else if s[0] & 0xffc0 == 0xfe80 {
            "a link-local address (fe80::/10)"
        } else if s[0] & 0xffc0 == 0xfec0 {
            "a site-local address (fec0::/10)"
        } else if ip.is_multicast() {
            "a multicast address"
        } else if s[0] == 0x2001 && s[1] == 0xdb8 {
            "a documentation address (2001:db8::/32)"
        } else if s[0] == 0x0100 && s[1] == 0 && s[2] == 0 && s[3] == 0 {
            "a discard address (100::/64)"
        } else if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
            return forbidden_v4(embedded(s[6], s[7]));
        } else if s[0] == 0x2002 {
            return forbidden_v4(embedded(s[1], s[2]));
        } else if s[..6] == [0, 0, 0, 0, 0, 0] {
            "an IPv4-compatible address (::/96)"
        } else {
            return None;
        },
    )
}

/// The refusal of `host`'s address `ip`, for the operator and the caller.
fn refusal(host: &str, ip: IpAddr, why: &str) -> String {
    let shown = canonical(ip);
    if host.parse::<IpAddr>().is_ok() {
        format!("{shown} is {why}; webhooks go to public addresses unless --webhook-allow names it")
    } else {
        format!(
            "{host} resolves to {shown}, {why}; webhooks go to public addresses unless \
             --webhook-allow names the host or its network"
        )
    }
}

/// The host of a URL's authority, without the brackets of an IPv6 address.
pub fn host_of(uri: &hyper::Uri) -> Option<&str> {
    uri.host()
        .map(|h| h.trim_start_matches('[').trim_end_matches(']'))
}

impl WebhookAllow {
    /// At creation: refuses a host that is, or resolves now to, a forbidden address. A name
    /// that does not resolve is accepted; every attempt checks again.
    pub async fn check_at_creation(&self, host: &str) -> Result<(), String> {
        if let Ok(ip) = host.parse::<IpAddr>() {
            return match self.refuses(host, ip) {
                Some(why) => Err(refusal(host, ip, why)),
                None => Ok(()),
            };
        }
        if self.allows_host(host) {
            return Ok(());
        }
        let lower = host.trim_end_matches('.').to_ascii_lowercase();
        // RFC 6761: these names are loopback whatever a resolver answers.
        if lower == "localhost" || lower.ends_with(".localhost") {
            let loopback = [
                SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
                SocketAddr::from((Ipv6Addr::LOCALHOST, 0)),
            ];
            return self.check_all(host, loopback.into_iter()).map(drop);
        }
        let resolved =
            tokio::time::timeout(RESOLVE_AT_CREATION, tokio::net::lookup_host((host, 0))).await;
        match resolved {
            Ok(Ok(addrs)) => self.check_all(host, addrs).map(drop),
            _ => Ok(()),
        }
    }

    /// The addresses of `host` when every one may be reached, else why not.
    fn check_all(
        &self,
        host: &str,
        addrs: impl Iterator<Item = SocketAddr>,
    ) -> Result<Vec<SocketAddr>, String> {
        let addrs: Vec<SocketAddr> = addrs.collect();
        for addr in &addrs {
            if let Some(why) = self.refuses(host, addr.ip()) {
                return Err(refusal(host, addr.ip(), why));
            }
        }
        Ok(addrs)
    }

    /// At an attempt, for a URL whose host is an address (the HTTP client does not resolve
    /// those, so [`Guard`] never sees them).
    pub fn check_literal(&self, host: &str) -> Result<(), String> {
        match host.parse::<IpAddr>() {
            Ok(ip) => match self.refuses(host, ip) {
                Some(why) => Err(refusal(host, ip, why)),
                None => Ok(()),
            },
            Err(_) => Ok(()),
        }
    }
}

/// The HTTP client's resolver: the system's, with every answer checked against the
/// allow-list. The client connects only to the addresses returned, so what was checked is
/// what is reached.
#[derive(Debug, Clone)]
pub(crate) struct Guard {
    allow: Arc<WebhookAllow>,
}

impl Guard {
    pub fn new(allow: WebhookAllow) -> Self {
        Guard {
            allow: Arc::new(allow),
        }
    }

    pub fn allow(&self) -> &WebhookAllow {
        &self.allow
    }
}

/// A forbidden destination found when resolving, as the attempt's error.
#[derive(Debug)]
pub(crate) struct Forbidden(pub String);

impl std::fmt::Display for Forbidden {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "forbidden destination: {}", self.0)
    }
}

impl std::error::Error for Forbidden {}

type Resolving =
    Pin<Box<dyn Future<Output = Result<std::vec::IntoIter<SocketAddr>, std::io::Error>> + Send>>;

impl tower_service::Service<Name> for Guard {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = std::io::Error;
    type Future = Resolving;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let allow = self.allow.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs = tokio::net::lookup_host((host.as_str(), 0)).await?;
            allow
                .check_all(&host, addrs)
                .map(Vec::into_iter)
                .map_err(|reason| std::io::Error::other(Forbidden(reason)))
        })
    }
}

/// `url` with its secrets masked for listing and logs: the password of its user info and the
/// value of every query parameter become `***` (a receiver's token often rides there).
pub fn mask_url(url: &str) -> String {
    let (before_fragment, fragment) = match url.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (url, None),
    };
    let (head, query) = match before_fragment.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (before_fragment, None),
    };
    let mut out = String::with_capacity(url.len());
    // The user info is between "://" and the last '@' of the authority.
    let scheme_end = head.find("://").map_or(0, |i| i + 3);
    let (scheme, rest) = head.split_at(scheme_end);
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    out.push_str(scheme);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            match userinfo.split_once(':') {
                Some((user, _)) => {
                    out.push_str(user);
                    out.push_str(":***");
                }
                None => out.push_str("***"),
            }
            out.push('@');
            out.push_str(host);
        }
        None => out.push_str(authority),
    }
    out.push_str(path);
    if let Some(query) = query {
        out.push('?');
        let masked: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) => format!("{key}=***"),
                None if pair.is_empty() => String::new(),
                // A bare value (`?abc123`) may be a token as well.
                None => "***".to_owned(),
            })
            .collect();
        out.push_str(&masked.join("&"));
    }
    if fragment.is_some() {
        out.push_str("#***");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn non_public_addresses_are_forbidden_with_their_reason() {
        for (addr, reason) in [
            ("127.0.0.1", "loopback"),
            ("127.9.9.9", "loopback"),
            ("10.1.2.3", "private"),
            ("172.16.0.1", "private"),
            ("192.168.1.1", "private"),
            ("169.254.169.254", "metadata"),
            ("169.254.1.1", "link-local"),
            ("0.0.0.0", "unspecified"),
            ("224.0.0.1", "multicast"),
            ("255.255.255.255", "broadcast"),
            ("100.64.0.1", "shared"),
            ("192.0.2.1", "documentation"),
            ("240.0.0.1", "reserved"),
            ("::1", "loopback"),
            ("::", "unspecified"),
            ("fd00:ec2::254", "metadata"),
            ("fd12::1", "unique local"),
            ("fe80::1", "link-local"),
            ("ff02::1", "multicast"),
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:169.254.169.254", "metadata"),
            ("64:ff9b::a00:1", "private"),
            ("2002:7f00:1::", "loopback"),
            ("2001:db8::1", "documentation"),
        ] {
            let why = forbidden(ip(addr)).unwrap_or_else(|| panic!("{addr} is not public"));
            assert!(why.contains(reason), "{addr}: {why}");
        }
        for public in ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "172.32.0.1"] {
            assert_eq!(forbidden(ip(public)), None, "{public}");
        }
    }

    #[test]
    fn the_allow_list_names_hosts_and_networks() {
        let allow = WebhookAllow::parse(&["10.1.0.0/16", "127.0.0.1", "SMS-Gateway.internal", " "])
            .unwrap();
        assert_eq!(allow.refuses("x", ip("10.1.200.3")), None);
        assert!(allow.refuses("x", ip("10.2.0.1")).is_some());
        assert_eq!(allow.refuses("x", ip("127.0.0.1")), None);
        assert_eq!(allow.refuses("x", ip("::ffff:127.0.0.1")), None);
        assert!(allow.refuses("x", ip("127.0.0.2")).is_some());
        assert_eq!(allow.refuses("sms-gateway.internal", ip("10.9.9.9")), None);
        assert_eq!(allow.refuses("x", ip("8.8.8.8")), None);
        assert!(WebhookAllow::parse(&["10.0.0.0/33"]).is_err());
        assert!(WebhookAllow::parse(&["bad host!"]).is_err());
        assert!(WebhookAllow::parse(&["fd00::/8"]).is_ok());
        assert!(WebhookAllow::default().is_empty());
    }

    #[tokio::test]
    async fn creation_refuses_addresses_and_loopback_names() {
        let none = WebhookAllow::default();
        let e = none.check_at_creation("127.0.0.1").await.unwrap_err();
        assert!(e.starts_with("127.0.0.1 is a loopback address"), "{e}");
        assert!(e.contains("--webhook-allow"), "{e}");
        let e = none.check_at_creation("localhost").await.unwrap_err();
        assert!(e.starts_with("localhost resolves to 127.0.0.1"), "{e}");
        assert!(none.check_at_creation("::1").await.is_err());
        assert!(none.check_at_creation("8.8.8.8").await.is_ok());
        let loopback = WebhookAllow::loopback();
        assert!(loopback.check_at_creation("127.0.0.1").await.is_ok());
        assert!(loopback.check_at_creation("localhost").await.is_ok());
        assert!(loopback.check_at_creation("10.0.0.1").await.is_err());
        let named = WebhookAllow::parse(&["localhost"]).unwrap();
        assert!(named.check_at_creation("localhost").await.is_ok());
    }

    #[test]
    fn secrets_in_urls_are_masked() {
        for (url, masked) in [
            (
                "http://sms.example/hook?token=abc123&x=1",
                "http://sms.example/hook?token=***&x=***",
            ),
            (
                "http://user:pw@sms.example:8080/h",
                "http://user:***@sms.example:8080/h",
            ),
            ("http://tok@sms.example/h", "http://***@sms.example/h"),
            ("http://sms.example/h?abc", "http://sms.example/h?***"),
            ("http://sms.example/h#frag", "http://sms.example/h#***"),
            ("http://sms.example/h", "http://sms.example/h"),
            ("http://sms.example?k=v", "http://sms.example?k=***"),
        ] {
            assert_eq!(mask_url(url), masked, "{url}");
        }
    }
}
