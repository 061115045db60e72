//! Spin's `allowed_outbound_hosts`: parses the entries and decides whether an
//! outbound connection (scheme, host, port) is allowed.
//!
//! Entry syntax (as in Spin): `scheme://host[:port]` with an optional single
//! trailing `/`.
//! - scheme: a name such as `http`, `https`, `redis`, or `*` for any scheme;
//! - host: a DNS name (`example.com`, `localhost`, `cart.spin.internal`),
//!   `*.example.com` (any subdomain, not the domain itself), `*` (any host),
//!   an IP address (`127.0.0.1`, `[::1]`), a CIDR block (`10.0.0.0/8`), or
//!   `self` / `self.alt` (the app itself, i.e. relative URLs without an
//!   authority; Spin does not treat `self` as `*.spin.internal`: service
//!   chaining needs `http://<component>.spin.internal` or `http://*.spin.internal`);
//! - port: a number, `*`, or a range `8000..8080` (end excluded, as in Spin).
//!   Without a port the scheme's well-known port applies (http 80, https 443,
//!   redis 6379, mysql 3306, postgres 5432, mqtt 1883); a scheme without a
//!   well-known port (including `*`) needs an explicit port.
//!
//! `*://*:*` allows everything. Entries containing `{{ variable }}` templates
//! must be expanded first (see `Variables::allowed_hosts`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Host {
    Any,
    /// Any subdomain of the domain; holds `.domain`.
    Subdomain(String),
    ToSelf,
    Name(String),
    Cidr(IpAddr, u8),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Ports {
    Any,
    One(u16),
    /// `start..end`, end excluded.
    Range(u16, u16),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    /// `None` is any scheme.
    scheme: Option<String>,
    host: Host,
    ports: Ports,
}

/// The parsed `allowed_outbound_hosts` of one component.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedHosts {
    entries: Vec<Entry>,
}

impl AllowedHosts {
    /// Parses every entry; the error names the first bad entry and why.
    pub fn parse(entries: &[String]) -> Result<AllowedHosts, String> {
        let entries = entries.iter().map(|e| parse_entry(e).map_err(|why| format!("invalid allowed outbound host {e:?}: {why}"))).collect::<Result<_, _>>()?;
        Ok(AllowedHosts { entries })
    }

    /// Whether a connection to `host:port` over `scheme` is allowed. `host` is
    /// as it appears in the URL (case does not matter; IPv6 with or without
    /// brackets); `port` is the explicit port or the scheme's default. An
    /// empty `host` means a relative URL (a request to this app), see
    /// [`AllowedHosts::allows_relative`].
    pub fn allows(&self, scheme: &str, host: &str, port: u16) -> bool {
        if host.is_empty() {
            return self.allows_relative(scheme);
        }
        let scheme = scheme.to_ascii_lowercase();
        let host = host.trim().to_ascii_lowercase();
        let ip = parse_ip_literal(&host);
        self.entries.iter().any(|e| scheme_allows(&e.scheme, &scheme) && host_allows(&e.host, &host, ip) && ports_allow(&e.ports, port))
    }

    /// Whether a relative URL (no authority: the request goes to this app
    /// itself) is allowed over `scheme`: needs a `self` (or `*`) host entry.
    pub fn allows_relative(&self, scheme: &str) -> bool {
        let scheme = scheme.to_ascii_lowercase();
        self.entries.iter().any(|e| scheme_allows(&e.scheme, &scheme) && matches!(e.host, Host::Any | Host::ToSelf))
    }

    /// Whether an entry allows everything (`*://*:*`).
    pub fn allows_all(&self) -> bool {
        self.entries.iter().any(|e| e.scheme.is_none() && e.host == Host::Any && e.ports == Ports::Any)
    }

    /// Whether no entry is present (nothing is allowed).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The component an `allowed_outbound_hosts` entry reaches by service
/// chaining: `<id>` for `<id>.spin.internal`, `*` for `*.spin.internal`;
/// `None` for any other entry, or one that does not parse (a template
/// among them: its host is not known yet).
pub fn chaining_target(entry: &str) -> Option<String> {
    match parse_entry(entry).ok()?.host {
        Host::Subdomain(suffix) if suffix == ".spin.internal" => Some("*".into()),
        Host::Name(name) => name.strip_suffix(".spin.internal").map(str::to_string),
        _ => None,
    }
}

fn scheme_allows(allowed: &Option<String>, scheme: &str) -> bool {
    allowed.as_deref().is_none_or(|s| s == scheme)
}

fn host_allows(allowed: &Host, host: &str, ip: Option<IpAddr>) -> bool {
    match allowed {
        Host::Any => true,
        Host::Subdomain(suffix) => ip.is_none() && host.ends_with(suffix.as_str()),
        Host::ToSelf => false,
        Host::Name(name) => ip.is_none() && host == name,
        Host::Cidr(net, prefix) => ip.is_some_and(|ip| in_cidr(ip, *net, *prefix)),
    }
}

fn ports_allow(allowed: &Ports, port: u16) -> bool {
    match allowed {
        Ports::Any => true,
        Ports::One(p) => *p == port,
        Ports::Range(start, end) => (*start..*end).contains(&port),
    }
}

fn parse_entry(entry: &str) -> Result<Entry, String> {
    let url = entry.trim();
    if url == "insecure:allow-all" {
        return Err("'insecure:allow-all' is not allowed; use '*://*:*' if you really want to allow all outbound traffic".into());
    }
    if url.contains("{{") {
        return Err("contains a variable template; expand it before parsing".into());
    }
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(match url {
            "*" | ":" | "" | "?" => {
                "hosts must be in the form <scheme>://<host>[:<port>], with `*` wildcards allowed for each; use '*://*:*' to allow all outbound networking"
                    .into()
            }
            _ => "a scheme is required (for example 'https://' or '*://'), as in 'https://example.com'".into(),
        });
    };
    let (host, port) = split_host_port(rest)?;
    let ports = parse_ports(port, scheme)?;
    let scheme = parse_scheme(scheme)?;
    let host = parse_host(host)?;
    Ok(Entry { scheme, host, ports })
}

fn split_host_port(rest: &str) -> Result<(&str, &str), String> {
    match rest.rsplit_once(':') {
        None => Ok((rest, "")),
        Some((host, "")) => Ok((host, "")),
        Some((host, tail)) => {
            // A bare IPv6 address or block has colons of its own.
            if parse_host(rest).is_ok() {
                return Ok((rest, ""));
            }
            let port = match tail.split_once('/') {
                Some((port, "")) => port,
                Some(_) => return Err("must not include a path".into()),
                None => tail,
            };
            Ok((host, port))
        }
    }
}

fn well_known_port(scheme: &str) -> Option<u16> {
    Some(match scheme {
        "http" => 80,
        "https" => 443,
        "redis" => 6379,
        "mysql" => 3306,
        "postgres" => 5432,
        "mqtt" => 1883,
        _ => return None,
    })
}

fn parse_ports(port: &str, scheme: &str) -> Result<Ports, String> {
    if port.is_empty() {
        return well_known_port(&scheme.to_ascii_lowercase())
            .map(Ports::One)
            .ok_or_else(|| format!("no port was given and scheme {scheme:?} has no default port; add one, e.g. ':443', or ':*' for any port"));
    }
    if port == "*" {
        return Ok(Ports::Any);
    }
    if port.starts_with('{') {
        return Err("port lists are not supported".into());
    }
    let number = |p: &str| p.parse::<u16>().map_err(|_| format!("port {port:?} is not a number from 0 to 65535"));
    match port.split_once("..") {
        Some((start, end)) => Ok(Ports::Range(number(start)?, number(end)?)),
        None => Ok(Ports::One(number(port)?)),
    }
}

fn parse_scheme(scheme: &str) -> Result<Option<String>, String> {
    if scheme == "*" {
        return Ok(None);
    }
    if scheme.starts_with('{') {
        return Err("scheme lists are not supported".into());
    }
    if scheme.is_empty() || !scheme.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(format!("scheme {scheme:?} must be `*` or letters only"));
    }
    Ok(Some(scheme.to_ascii_lowercase()))
}

fn parse_host(host: &str) -> Result<Host, String> {
    let host = host.trim();
    if host == "*" {
        return Ok(Host::Any);
    }
    if host == "self" || host == "self.alt" {
        return Ok(Host::ToSelf);
    }
    if host.starts_with('{') {
        return Err("host lists are not supported".into());
    }
    if let Some(cidr) = parse_cidr(host) {
        return Ok(cidr);
    }
    let host = host.strip_suffix('/').unwrap_or(host);
    if host.contains('/') {
        return Err("must not include a path".into());
    }
    if let Some(domain) = host.strip_prefix("*.") {
        if domain.contains('*') {
            return Err("wildcards are allowed only as a prefix, as in '*.example.com'".into());
        }
        check_domain(domain)?;
        return Ok(Host::Subdomain(format!(".{}", domain.to_ascii_lowercase())));
    }
    if host.contains('*') {
        return Err("wildcards are allowed only as a prefix, as in '*.example.com'".into());
    }
    if host.starts_with('[') {
        return match parse_ip_literal(host) {
            Some(ip) => Ok(Host::Cidr(ip, full_prefix(ip))),
            None => Err(format!("{host:?} is not a valid IPv6 address")),
        };
    }
    check_domain(host)?;
    Ok(Host::Name(host.to_ascii_lowercase()))
}

/// `addr` or `addr/prefix` (IPv4 or unbracketed IPv6); host bits are dropped.
fn parse_cidr(host: &str) -> Option<Host> {
    let (addr, prefix) = match host.split_once('/') {
        Some((addr, prefix)) => (addr, Some(prefix)),
        None => (host, None),
    };
    let ip: IpAddr = addr.parse().ok()?;
    let max = full_prefix(ip);
    let prefix = match prefix {
        Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max)?,
        None => max,
    };
    Some(Host::Cidr(truncate(ip, prefix), prefix))
}

fn full_prefix(ip: IpAddr) -> u8 {
    if ip.is_ipv4() { 32 } else { 128 }
}

fn truncate(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(u32::from(v4) & mask))
        }
        IpAddr::V6(v6) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask))
        }
    }
}

fn in_cidr(ip: IpAddr, net: IpAddr, prefix: u8) -> bool {
    ip.is_ipv4() == net.is_ipv4() && truncate(ip, prefix) == net
}

/// An IP address as written in a URL host: `1.2.3.4`, `[::1]` or `::1`.
fn parse_ip_literal(host: &str) -> Option<IpAddr> {
    if let Some(inner) = host.strip_prefix('[') {
        return inner.strip_suffix(']')?.parse::<Ipv6Addr>().ok().map(IpAddr::V6);
    }
    host.parse().ok()
}

fn check_domain(domain: &str) -> Result<(), String> {
    if domain.is_empty() {
        return Err("the host name is empty".into());
    }
    if !domain.is_ascii() {
        return Err(format!("host {domain:?} must be ASCII (use the punycode 'xn--' form)"));
    }
    if let Some(c) = domain.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))) {
        return Err(format!("host {domain:?} contains the invalid character {c:?}"));
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.iter().any(|l| l.is_empty()) {
        return Err(format!("host {domain:?} has an empty label"));
    }
    if labels.last().is_some_and(|l| l.chars().all(|c| c.is_ascii_digit())) {
        return Err(format!("host {domain:?} is neither a domain name nor a valid IP address"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(entries: &[&str]) -> AllowedHosts {
        let owned: Vec<String> = entries.iter().map(|s| s.to_string()).collect();
        AllowedHosts::parse(&owned).unwrap_or_else(|e| panic!("{e}"))
    }

    fn entry(e: &str) -> Result<Entry, String> {
        parse_entry(e)
    }

    #[test]
    fn scheme_is_required() {
        let e = AllowedHosts::parse(&["example.com".to_owned()]).unwrap_err();
        assert!(e.contains("example.com") && e.contains("scheme"), "{e}");
        for bad in ["spin.fermyon.dev:80", "localhost", "localhost:3001", "[::1]", "[::1]:8080", "*"] {
            assert!(entry(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn missing_port_means_scheme_default() {
        let h = hosts(&["http://example.com", "https://secure.example.com"]);
        assert!(h.allows("http", "example.com", 80));
        assert!(!h.allows("http", "example.com", 8080));
        assert!(!h.allows("https", "example.com", 443));
        assert!(h.allows("https", "secure.example.com", 443));
        assert!(!h.allows("https", "secure.example.com", 80));
    }

    #[test]
    fn wildcard_scheme_needs_explicit_port() {
        let e = entry("*://example.com").unwrap_err();
        assert!(e.contains("port"), "{e}");
        let h = hosts(&["*://spin.fermyon.dev:7777"]);
        assert!(h.allows("http", "spin.fermyon.dev", 7777));
        assert!(h.allows("https", "spin.fermyon.dev", 7777));
        assert!(h.allows("redis", "spin.fermyon.dev", 7777));
    }

    #[test]
    fn explicit_port_and_trailing_slash() {
        let h = hosts(&["http://spin.fermyon.dev:4444/", "https://my.api.com/"]);
        assert!(h.allows("http", "spin.fermyon.dev", 4444));
        assert!(h.allows("https", "my.api.com", 443));
    }

    #[test]
    fn port_range_excludes_its_end() {
        let h = hosts(&["http://localhost:8000..8080"]);
        assert!(h.allows("http", "localhost", 8000));
        assert!(h.allows("http", "localhost", 8079));
        assert!(!h.allows("http", "localhost", 8080));
        assert!(!h.allows("http", "localhost", 7999));
    }

    #[test]
    fn any_port() {
        let h = hosts(&["http://localhost:*"]);
        assert!(h.allows("http", "localhost", 1));
        assert!(h.allows("http", "LOCALHOST", 65535));
        assert!(!h.allows("https", "localhost", 443));
    }

    #[test]
    fn allow_all_entry() {
        let h = hosts(&["*://*:*"]);
        assert!(h.allows_all());
        assert!(h.allows("https", "anything.example", 1234));
        assert!(h.allows_relative("http"));
        assert!(!hosts(&["http://*:*"]).allows_all());
        assert!(!hosts(&["*://*:80"]).allows_all());
    }

    #[test]
    fn insecure_allow_all_is_rejected() {
        let e = entry("insecure:allow-all").unwrap_err();
        assert!(e.contains("*://*:*"), "{e}");
    }

    #[test]
    fn subdomain_wildcard_matches_subdomains_only() {
        let h = hosts(&["http://*.example.com", "http://*.example2.com:8383"]);
        assert!(h.allows("http", "a.example.com", 80));
        assert!(h.allows("http", "a.b.example.com", 80));
        assert!(h.allows("http", "a.b.example2.com", 8383));
        assert!(!h.allows("http", "a.b.example2.com", 80));
        assert!(!h.allows("http", "example.com", 80));
        assert!(!h.allows("http", "myexample.com", 80));
        let h = hosts(&["http://*.Example.COM"]);
        assert!(h.allows("http", "foo.example.com", 80));
    }

    #[test]
    fn self_allows_relative_urls_only() {
        let h = hosts(&["http://self"]);
        assert!(h.allows_relative("http"));
        assert!(h.allows("http", "", 80));
        assert!(!h.allows_relative("https"));
        assert!(!h.allows("http", "self", 80));
        assert!(!h.allows("http", "cart.spin.internal", 80));
        assert!(hosts(&["https://self.alt"]).allows_relative("https"));
        assert!(!hosts(&["http://example.com"]).allows_relative("http"));
    }

    #[test]
    fn service_chaining_hosts_can_be_listed() {
        let h = hosts(&["http://cart.spin.internal"]);
        assert!(h.allows("http", "cart.spin.internal", 80));
        assert!(!h.allows("http", "users.spin.internal", 80));
        let h = hosts(&["http://*.spin.internal"]);
        assert!(h.allows("http", "users.spin.internal", 80));
    }

    #[test]
    fn ip_addresses_and_cidr_blocks() {
        let h = hosts(&["http://192.168.1.1", "http://[::1]:8001", "*://127.0.0.1/24:63551", "http://10.0.0.0/8"]);
        assert!(h.allows("http", "192.168.1.1", 80));
        assert!(!h.allows("http", "192.168.1.2", 80));
        assert!(h.allows("http", "[::1]", 8001));
        assert!(h.allows("http", "::1", 8001));
        assert!(h.allows("tcp", "127.0.0.9", 63551));
        assert!(!h.allows("tcp", "127.0.1.9", 63551));
        assert!(h.allows("http", "10.200.3.4", 80));
        let v6 = hosts(&["http://2001:db8::/32", "https://[2001:db8::1]:443"]);
        assert!(v6.allows("http", "[2001:db8:abcd::1]", 80));
        assert!(!v6.allows("http", "[2001:db9::1]", 80));
        assert!(v6.allows("https", "2001:db8::1", 443));
        assert!(entry("http://2001:db8::/32:443").is_ok());
        assert!(entry("http://::1/128").is_ok());
        assert!(entry("*://127.0.0.0/24").is_err());
    }

    #[test]
    fn other_schemes_have_their_default_ports() {
        let h = hosts(&["redis://cache.local", "postgres://db.local", "mysql://my.local"]);
        assert!(h.allows("redis", "cache.local", 6379));
        assert!(h.allows("postgres", "db.local", 5432));
        assert!(h.allows("mysql", "my.local", 3306));
        assert!(entry("tcp://x.local").is_err());
    }

    #[test]
    fn malformed_entries_are_rejected() {
        for bad in [
            "http://example.com:notaport",
            "http://example.com:8080..70000",
            "http://example.com:99999",
            "http://self:notaport",
            "http://*:notaport",
            "http://[::1]:notaport",
            "http://*.example.com:8080..",
            "http://*.example.com:8O8O",
            "http://example.com:8080/p",
            "http://*.example.com/p",
            "http://spin.fermyon.dev/a",
            "http://127.0.0.0/24/p",
            "http://[::1junk",
            "http://*.",
            "http://*.:8080",
            "http://example%.com",
            "http://exa[mple.com",
            r"http://exa\mple.com",
            "http://example.com:80:90",
            "http://[vG.example]",
            "http://[::1]/foo",
            "http://ff00::/8/extra",
            "http://[::1",
            "http://[::1]junk",
            "http://[::1]::80",
            "http://example.com//",
            "http://self//",
            "http://*.127.0.0.1",
            "http://*.[::1]",
            "http://a*.example.com",
            "ht-tp://example.com",
            "{http,https}://example.com",
            "http://{a,b}.com",
            "https://{{ host }}",
        ] {
            assert!(entry(bad).is_err(), "expected {bad:?} to be rejected");
        }
    }

    #[test]
    fn parse_error_names_the_entry() {
        let e = AllowedHosts::parse(&["https://ok.com".to_owned(), "http://bad.com:port".to_owned()]).unwrap_err();
        assert!(e.contains("http://bad.com:port"), "{e}");
    }

    #[test]
    fn empty_list_allows_nothing() {
        let h = AllowedHosts::parse(&[]).unwrap();
        assert!(h.is_empty());
        assert!(!h.allows("https", "example.com", 443));
        assert!(!h.allows_relative("http"));
    }
}
