//! Socket addresses as HAProxy's `str2sa_range()` reads them for `bind`,
//! `server`, `source`, `log` and the other sections:
//! `[family@]host[:port[-port2]]`, `[v6]:port`, `*:port`, `:port`,
//! `unix@PATH` or `/PATH`, `abns@NAME`, `fd@N`, `sockpair@N`, `udp@…`.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, ToSocketAddrs};
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Stream,
    Dgram,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Host {
    Ip(IpAddr),
    /// A name resolved at start-up (libc), or left for `init-addr` rules.
    Name(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Port {
    /// No port: a server then uses the port the client connected to.
    None,
    Fixed(u16),
    /// `a-b` on a bind line: one listener per port; on a server `source`:
    /// the pool of local ports to pick from.
    Range(u16, u16),
    /// `+N` / `-N` on a server: offset from the client's destination port.
    Offset(i32),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Inet {
        family: Option<Family>,
        transport: Transport,
        host: Host,
        port: Port,
    },
    Unix(PathBuf),
    /// Linux abstract namespace socket (`abns@`).
    Abstract(String),
    /// An inherited socket (`fd@N`).
    Fd(i32),
    /// One end of a socketpair passed by the parent (`sockpair@N`).
    SockPair(i32),
}

impl Endpoint {
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            Endpoint::Inet {
                host: Host::Ip(ip), ..
            } => Some(*ip),
            _ => None,
        }
    }

    pub fn port(&self) -> Port {
        match self {
            Endpoint::Inet { port, .. } => *port,
            _ => Port::None,
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Inet { host, port, .. } => {
                match host {
                    Host::Ip(IpAddr::V6(a)) => write!(f, "{a}")?,
                    Host::Ip(IpAddr::V4(a)) => write!(f, "{a}")?,
                    Host::Name(n) => write!(f, "{n}")?,
                }
                match port {
                    Port::None => Ok(()),
                    Port::Fixed(p) => write!(f, ":{p}"),
                    Port::Range(a, b) => write!(f, ":{a}-{b}"),
                    Port::Offset(o) => write!(f, ":{o:+}"),
                }
            }
            Endpoint::Unix(p) => write!(f, "unix@{}", p.display()),
            Endpoint::Abstract(n) => write!(f, "abns@{n}"),
            Endpoint::Fd(n) => write!(f, "fd@{n}"),
            Endpoint::SockPair(n) => write!(f, "sockpair@{n}"),
        }
    }
}

/// Which keyword reads the address: each accepts a different subset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Use {
    /// `bind`: port or range required, comma lists allowed, stream only.
    Bind,
    /// `server`: port optional, `+N`/`-N` allowed, no range; names resolved later.
    Server,
    /// backend/defaults `source`: no port range, no offset.
    Source,
    /// server `source` option: port range allowed.
    ServerSource,
    /// `log`: datagram by default, port 514 when none.
    Log,
    /// `peer`, `nameserver`, `mailer`, `stats socket`, `-S`, `-x`: a plain address.
    Plain,
}

/// Parses one address (not a comma list). `resolve` turns host names into
/// IPs now, as HAProxy does for everything but servers.
pub fn parse(text: &str, use_: Use, resolve: bool) -> Result<Endpoint, String> {
    let (prefix, rest) = match text.find('@') {
        Some(i) if is_known_prefix(&text[..i]) => (&text[..i], &text[i + 1..]),
        _ => ("", text),
    };
    let dgram_default = use_ == Use::Log;
    let (family, transport) = match prefix {
        "" => (
            None,
            if dgram_default {
                Transport::Dgram
            } else {
                Transport::Stream
            },
        ),
        "ipv4" => (Some(Family::V4), default_transport(dgram_default)),
        "ipv6" => (Some(Family::V6), default_transport(dgram_default)),
        "tcp" => (None, Transport::Stream),
        "tcp4" => (Some(Family::V4), Transport::Stream),
        "tcp6" => (Some(Family::V6), Transport::Stream),
        "udp" => (None, Transport::Dgram),
        "udp4" => (Some(Family::V4), Transport::Dgram),
        "udp6" => (Some(Family::V6), Transport::Dgram),
        "unix" => return Ok(Endpoint::Unix(PathBuf::from(rest))),
        "abns" => return Ok(Endpoint::Abstract(rest.to_string())),
        "fd" | "sockpair" => {
            let n: i32 = rest
                .parse()
                .map_err(|_| format!("invalid {prefix} number '{rest}' in '{text}'"))?;
            return Ok(if prefix == "fd" {
                Endpoint::Fd(n)
            } else {
                Endpoint::SockPair(n)
            });
        }
        _ => return Err(format!("unknown address family '{prefix}' in '{text}'")),
    };
    if prefix.is_empty() && rest.starts_with('/') {
        return Ok(Endpoint::Unix(PathBuf::from(rest)));
    }
    if transport == Transport::Dgram && matches!(use_, Use::Bind | Use::Server) {
        return Err(format!("dgram-type address not acceptable in '{text}'"));
    }

    let (host_str, port_str) = split_host_port(rest);
    let port = parse_port(port_str, use_, text)?;
    let host = parse_host(host_str, family, resolve, text)?;
    let port = match (use_, port) {
        (Use::Log, Port::None) => Port::Fixed(514),
        (_, p) => p,
    };
    Ok(Endpoint::Inet {
        family,
        transport,
        host,
        port,
    })
}

fn default_transport(dgram: bool) -> Transport {
    if dgram {
        Transport::Dgram
    } else {
        Transport::Stream
    }
}

fn is_known_prefix(p: &str) -> bool {
    matches!(
        p,
        "ipv4"
            | "ipv6"
            | "tcp"
            | "tcp4"
            | "tcp6"
            | "udp"
            | "udp4"
            | "udp6"
            | "unix"
            | "abns"
            | "fd"
            | "sockpair"
    )
}

/// The last `:` starts the port, except inside `[...]`.
fn split_host_port(s: &str) -> (&str, Option<&str>) {
    if let Some(inner) = s.strip_prefix('[')
        && let Some(end) = inner.find(']')
    {
        let host = &inner[..end];
        let after = &inner[end + 1..];
        return (host, after.strip_prefix(':'));
    }
    match s.rfind(':') {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    }
}

fn parse_port(p: Option<&str>, use_: Use, text: &str) -> Result<Port, String> {
    let p = match p {
        None | Some("") => {
            if use_ == Use::Bind {
                return Err(format!("missing port specification in '{text}'"));
            }
            return Ok(Port::None);
        }
        Some(p) => p,
    };
    if let Some(first) = p.chars().next()
        && (first == '+' || first == '-')
    {
        if use_ != Use::Server {
            return Err(format!("port offset not permitted here in '{text}'"));
        }
        let n: i32 = p[1..]
            .parse()
            .map_err(|_| format!("invalid port offset '{p}' in '{text}'"))?;
        return Ok(Port::Offset(if first == '-' { -n } else { n }));
    }
    let (a, b) = match p.split_once('-') {
        Some((a, b)) => (a, Some(b)),
        None => (p, None),
    };
    let num = |s: &str| -> Result<u32, String> {
        if let Some(c) = s.chars().find(|c| !c.is_ascii_digit()) {
            return Err(format!(
                "invalid character '{c}' in port number '{p}' in '{text}'"
            ));
        }
        s.parse::<u32>().map_err(|_| format!("invalid port '{s}'"))
    };
    let lo = num(a)?;
    match b {
        None => {
            let bad = lo > 65535 || (lo == 0 && use_ == Use::Bind);
            if bad {
                return Err(format!("invalid port '{lo}'"));
            }
            Ok(Port::Fixed(lo as u16))
        }
        Some(b) => {
            let hi = num(b)?;
            if !matches!(use_, Use::Bind | Use::ServerSource) {
                return Err(format!("port range not permitted here in '{text}'"));
            }
            if lo == 0 || hi > 65535 || hi < lo {
                return Err(format!("invalid port range '{p}'"));
            }
            Ok(Port::Range(lo as u16, hi as u16))
        }
    }
}

fn parse_host(h: &str, family: Option<Family>, resolve: bool, text: &str) -> Result<Host, String> {
    if h.is_empty() || h == "*" {
        return Ok(Host::Ip(match family {
            Some(Family::V6) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            _ => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        }));
    }
    if let Ok(ip) = h.parse::<IpAddr>() {
        return match (family, ip) {
            (Some(Family::V4), IpAddr::V6(_)) | (Some(Family::V6), IpAddr::V4(_)) => {
                Err(format!("invalid address: '{h}' in '{text}'"))
            }
            _ => Ok(Host::Ip(ip)),
        };
    }
    if !resolve {
        return Ok(Host::Name(h.to_string()));
    }
    resolve_host(h, family)
        .map(Host::Ip)
        .ok_or_else(|| format!("invalid address: '{h}' in '{text}'"))
}

/// Resolves a host name with libc as HAProxy's `str2ip2()` does: the first
/// address of the wanted family, IPv4 first when the family is free.
pub fn resolve_host(name: &str, family: Option<Family>) -> Option<IpAddr> {
    if name.is_empty() || name.contains(|c: char| c == ':' && family != Some(Family::V6)) {
        if let Ok(ip) = name.parse::<IpAddr>() {
            return Some(ip);
        }
        return None;
    }
    let addrs: Vec<IpAddr> = (name, 0u16)
        .to_socket_addrs()
        .ok()?
        .map(|a| a.ip())
        .collect();
    match family {
        Some(Family::V4) => addrs.into_iter().find(IpAddr::is_ipv4),
        Some(Family::V6) => addrs.into_iter().find(IpAddr::is_ipv6),
        None => addrs
            .iter()
            .copied()
            .find(IpAddr::is_ipv4)
            .or_else(|| addrs.first().copied()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inet(host: &str, port: Port) -> Endpoint {
        Endpoint::Inet {
            family: None,
            transport: Transport::Stream,
            host: Host::Ip(host.parse().unwrap()),
            port,
        }
    }

    #[test]
    fn bind_forms() {
        assert_eq!(
            parse(":80", Use::Bind, true),
            Ok(inet("0.0.0.0", Port::Fixed(80)))
        );
        assert_eq!(
            parse("*:80", Use::Bind, true),
            Ok(inet("0.0.0.0", Port::Fixed(80)))
        );
        assert_eq!(
            parse("127.0.0.1:8080", Use::Bind, true),
            Ok(inet("127.0.0.1", Port::Fixed(8080)))
        );
        assert_eq!(
            parse(":::80", Use::Bind, true),
            Ok(inet("::", Port::Fixed(80)))
        );
        assert_eq!(
            parse("[::1]:80", Use::Bind, true),
            Ok(inet("::1", Port::Fixed(80)))
        );
        assert_eq!(
            parse("[127.0.0.1]:81", Use::Bind, true),
            Ok(inet("127.0.0.1", Port::Fixed(81)))
        );
        assert_eq!(
            parse("::1:8080", Use::Bind, true),
            Ok(inet("::1", Port::Fixed(8080)))
        );
        assert_eq!(
            parse(":8000-8010", Use::Bind, true),
            Ok(inet("0.0.0.0", Port::Range(8000, 8010)))
        );
        assert_eq!(
            parse("unix@/run/x.sock", Use::Bind, true),
            Ok(Endpoint::Unix("/run/x.sock".into()))
        );
        assert_eq!(
            parse("/run/y.sock", Use::Bind, true),
            Ok(Endpoint::Unix("/run/y.sock".into()))
        );
        assert_eq!(
            parse("abns@foo", Use::Bind, true),
            Ok(Endpoint::Abstract("foo".into()))
        );
        assert_eq!(parse("fd@3", Use::Bind, true), Ok(Endpoint::Fd(3)));
        match parse("ipv6@:80", Use::Bind, true) {
            Ok(Endpoint::Inet { host, family, .. }) => {
                assert_eq!(host, Host::Ip("::".parse().unwrap()));
                assert_eq!(family, Some(Family::V6));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bind_errors_match_haproxy() {
        assert_eq!(
            parse(":0", Use::Bind, true).unwrap_err(),
            "invalid port '0'"
        );
        assert_eq!(
            parse(":65536", Use::Bind, true).unwrap_err(),
            "invalid port '65536'"
        );
        assert_eq!(
            parse("1.2.3.4", Use::Bind, true).unwrap_err(),
            "missing port specification in '1.2.3.4'"
        );
        assert_eq!(
            parse("::", Use::Bind, true).unwrap_err(),
            "missing port specification in '::'"
        );
        assert_eq!(
            parse("*:", Use::Bind, true).unwrap_err(),
            "missing port specification in '*:'"
        );
        assert_eq!(
            parse(":http", Use::Bind, true).unwrap_err(),
            "invalid character 'h' in port number 'http' in ':http'"
        );
        assert_eq!(
            parse("udp@:80", Use::Bind, true).unwrap_err(),
            "dgram-type address not acceptable in 'udp@:80'"
        );
        assert_eq!(
            parse("1.2.3.4:90-80", Use::Bind, true).unwrap_err(),
            "invalid port range '90-80'"
        );
        assert_eq!(
            parse(":+5", Use::Bind, true).unwrap_err(),
            "port offset not permitted here in ':+5'"
        );
        assert_eq!(
            parse("nosuch.invalid:83", Use::Bind, true).unwrap_err(),
            "invalid address: 'nosuch.invalid' in 'nosuch.invalid:83'"
        );
    }

    #[test]
    fn server_forms() {
        assert_eq!(
            parse("127.0.0.1", Use::Server, false),
            Ok(inet("127.0.0.1", Port::None))
        );
        assert_eq!(
            parse("127.0.0.1:+10", Use::Server, false),
            Ok(inet("127.0.0.1", Port::Offset(10)))
        );
        assert_eq!(
            parse("127.0.0.1:-1", Use::Server, false),
            Ok(inet("127.0.0.1", Port::Offset(-1)))
        );
        assert_eq!(
            parse("127.0.0.1:80-90", Use::Server, false).unwrap_err(),
            "port range not permitted here in '127.0.0.1:80-90'"
        );
        assert_eq!(
            parse("127.0.0.1:65536", Use::Server, false).unwrap_err(),
            "invalid port '65536'"
        );
        match parse("db.example.invalid:5432", Use::Server, false) {
            Ok(Endpoint::Inet {
                host: Host::Name(n),
                port: Port::Fixed(5432),
                ..
            }) => {
                assert_eq!(n, "db.example.invalid")
            }
            other => panic!("{other:?}"),
        }
        // `::` is read as host ':' and only fails at resolution.
        assert!(matches!(
            parse("::", Use::Server, false),
            Ok(Endpoint::Inet {
                host: Host::Name(_),
                ..
            })
        ));
    }

    #[test]
    fn source_and_log() {
        assert_eq!(
            parse("1.2.3.4:1000-2000", Use::Source, true).unwrap_err(),
            "port range not permitted here in '1.2.3.4:1000-2000'"
        );
        assert_eq!(
            parse("1.2.3.4:1000-2000", Use::ServerSource, true),
            Ok(inet("1.2.3.4", Port::Range(1000, 2000)))
        );
        match parse("127.0.0.1", Use::Log, true) {
            Ok(Endpoint::Inet {
                transport: Transport::Dgram,
                port: Port::Fixed(514),
                ..
            }) => {}
            other => panic!("{other:?}"),
        }
        assert_eq!(
            parse("127.0.0.1:99999", Use::Log, true).unwrap_err(),
            "invalid port '99999'"
        );
    }

    #[test]
    fn localhost_resolves() {
        assert_eq!(
            resolve_host("localhost", Some(Family::V4)),
            Some("127.0.0.1".parse().unwrap())
        );
        assert_eq!(resolve_host("nosuch.invalid", None), None);
    }
}
