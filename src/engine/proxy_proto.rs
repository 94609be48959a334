//! The PROXY protocol (v1 text, v2 binary) as HAProxy speaks it:
//! `accept-proxy` on a bind reads the header a load balancer in front put
//! before the client's bytes, and `send-proxy`/`send-proxy-v2` on a server
//! writes one before forwarding. Written here rather than taken from a
//! crate because the bytes sent must be HAProxy's own (no TLVs on plain
//! TCP, TCP6 for mixed families) and the header is read with peeks, so
//! that not one byte of the client's data is consumed with it.

use crate::config::model::ProxyProtocol;
use nix::sys::socket::MsgFlags;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::AsRawFd;
use tokio::io::Interest;
use tokio::net::TcpStream;

const V2_SIG: &[u8; 12] = b"\r\n\r\n\0\r\nQUIT\n";
/// The longest v1 line ("PROXY TCP6 " + two full IPv6 addresses, ports).
const V1_MAX: usize = 107;
/// What a header may take: v2's fixed part and a generous TLV area.
const PEEK_MAX: usize = 16 + 536;

/// The client's addresses as a header gives them: `None` for v1 UNKNOWN
/// and v2 LOCAL, where the connection's own addresses stand.
pub type Addrs = Option<(SocketAddr, SocketAddr)>;

#[derive(Debug, PartialEq, Eq)]
enum Parsed {
    /// Not enough bytes to decide.
    Need,
    /// A complete header of `len` bytes.
    Done { len: usize, addrs: Addrs },
    /// Neither "PROXY " nor the v2 signature.
    NotHeader,
    /// A header, but a malformed one.
    Bad,
    /// A header for a protocol other than TCP over IPv4/IPv6.
    BadProto,
}

/// Reads a header at the start of `buf`, deciding as HAProxy's
/// `conn_recv_proxy` does.
fn parse(buf: &[u8]) -> Parsed {
    if buf.len() < 6 {
        return Parsed::Need;
    }
    if buf.starts_with(b"PROXY ") {
        return parse_v1(buf);
    }
    if buf.len() < 16 {
        return Parsed::Need;
    }
    if !buf.starts_with(V2_SIG) || buf[12] >> 4 != 2 {
        return Parsed::NotHeader;
    }
    parse_v2(buf)
}

fn parse_v1(buf: &[u8]) -> Parsed {
    if buf.len() < 9 {
        return Parsed::Need;
    }
    let rest = &buf[6..];
    if rest.starts_with(b"UNKNOWN\r\n") {
        return Parsed::Done {
            len: 6 + 9,
            addrs: None,
        };
    }
    let v6 = if rest.starts_with(b"TCP4 ") {
        false
    } else if rest.starts_with(b"TCP6 ") {
        true
    } else if b"UNKNOWN\r\n".starts_with(&rest[..rest.len().min(9)]) {
        return Parsed::Need;
    } else {
        return Parsed::BadProto;
    };
    let window = &buf[..buf.len().min(V1_MAX)];
    let Some(end) = window.windows(2).position(|w| w == b"\r\n") else {
        return if buf.len() >= V1_MAX {
            Parsed::Bad
        } else {
            Parsed::Need
        };
    };
    let Ok(line) = std::str::from_utf8(&buf[11..end]) else {
        return Parsed::Bad;
    };
    let f: Vec<&str> = line.split(' ').collect();
    let [src, dst, sport, dport] = f[..] else {
        return Parsed::Bad;
    };
    let ip = |s: &str| -> Option<IpAddr> {
        if v6 {
            s.parse::<Ipv6Addr>().ok().map(IpAddr::V6)
        } else {
            s.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
        }
    };
    let port = |s: &str| -> Option<u16> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    match (ip(src), ip(dst), port(sport), port(dport)) {
        (Some(s), Some(d), Some(sp), Some(dp)) => Parsed::Done {
            len: end + 2,
            addrs: Some((SocketAddr::new(s, sp), SocketAddr::new(d, dp))),
        },
        _ => Parsed::Bad,
    }
}

fn parse_v2(buf: &[u8]) -> Parsed {
    if buf.len() < 16 {
        return Parsed::Need;
    }
    let (ver_cmd, fam) = (buf[12], buf[13]);
    let body = usize::from(u16::from_be_bytes([buf[14], buf[15]]));
    let len = 16 + body;
    if len > PEEK_MAX {
        return Parsed::Bad;
    }
    if buf.len() < len {
        return Parsed::Need;
    }
    let a = &buf[16..len];
    match ver_cmd & 0x0f {
        // LOCAL: health checks of the balancer in front; keep our view.
        0 => Parsed::Done { len, addrs: None },
        1 => match fam {
            0x11 if a.len() >= 12 => {
                let ip = |o: usize| IpAddr::V4(Ipv4Addr::new(a[o], a[o + 1], a[o + 2], a[o + 3]));
                let port = |o: usize| u16::from_be_bytes([a[o], a[o + 1]]);
                Parsed::Done {
                    len,
                    addrs: Some((
                        SocketAddr::new(ip(0), port(8)),
                        SocketAddr::new(ip(4), port(10)),
                    )),
                }
            }
            0x21 if a.len() >= 36 => {
                let ip = |o: usize| {
                    let mut b = [0u8; 16];
                    b.copy_from_slice(&a[o..o + 16]);
                    IpAddr::V6(Ipv6Addr::from(b))
                };
                let port = |o: usize| u16::from_be_bytes([a[o], a[o + 1]]);
                Parsed::Done {
                    len,
                    addrs: Some((
                        SocketAddr::new(ip(0), port(32)),
                        SocketAddr::new(ip(16), port(34)),
                    )),
                }
            }
            // Too short for its family.
            0x11 | 0x21 => Parsed::Bad,
            // UNSPEC, UDP, unix sockets: keep the connection's addresses.
            _ => Parsed::Done { len, addrs: None },
        },
        _ => Parsed::Bad,
    }
}

/// Why no header could be read, in HAProxy's words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecvError {
    Empty,
    Abort,
    Timeout,
    Truncated,
    NotHeader,
    BadHeader,
    BadProto,
}

impl RecvError {
    pub fn message(self) -> &'static str {
        match self {
            RecvError::Empty => "Connection closed while waiting for PROXY protocol header",
            RecvError::Abort => "Connection error while waiting for PROXY protocol header",
            RecvError::Timeout => "Timeout while waiting for PROXY protocol header",
            RecvError::Truncated => "Truncated PROXY protocol header received",
            RecvError::NotHeader => {
                "Received something which does not look like a PROXY protocol header"
            }
            RecvError::BadHeader => "Received an invalid PROXY protocol header",
            RecvError::BadProto => "Received an unhandled protocol in the PROXY protocol header",
        }
    }

    /// Nothing was received: `option dontlognull` keeps these out of logs.
    pub fn is_null(self) -> bool {
        matches!(self, RecvError::Empty | RecvError::Abort)
    }
}

/// Reads a PROXY header from `s`, consuming exactly its bytes. As in
/// HAProxy the header must come whole in the first bytes received (they
/// are peeked, so there is no waiting for more): a partial one is
/// "truncated".
pub async fn receive(s: &TcpStream) -> Result<Addrs, RecvError> {
    let mut buf = [0u8; PEEK_MAX];
    let n = loop {
        s.readable().await.map_err(|_| RecvError::Abort)?;
        match s.try_io(Interest::READABLE, || {
            nix::sys::socket::recv(s.as_raw_fd(), &mut buf, MsgFlags::MSG_PEEK)
                .map_err(io::Error::from)
        }) {
            Ok(0) => return Err(RecvError::Empty),
            Ok(n) => break n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(_) => return Err(RecvError::Abort),
        }
    };
    match parse(&buf[..n]) {
        Parsed::Done { len, addrs } => {
            consume(s, len).await?;
            Ok(addrs)
        }
        Parsed::Need => Err(RecvError::Truncated),
        Parsed::NotHeader => Err(RecvError::NotHeader),
        Parsed::Bad => Err(RecvError::BadHeader),
        Parsed::BadProto => Err(RecvError::BadProto),
    }
}

/// Reads and drops the `len` bytes a peek showed to be the header.
async fn consume(s: &TcpStream, len: usize) -> Result<(), RecvError> {
    let mut buf = [0u8; PEEK_MAX];
    let mut left = len;
    while left > 0 {
        s.readable().await.map_err(|_| RecvError::Abort)?;
        match s.try_read(&mut buf[..left]) {
            Ok(0) => return Err(RecvError::Truncated),
            Ok(k) => left -= k,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(_) => return Err(RecvError::Abort),
        }
    }
    Ok(())
}

/// The header sent to a server for a client `src` that came to `dst`
/// (`None`: no client, as for a health check).
pub fn header(v: ProxyProtocol, addrs: Option<(SocketAddr, SocketAddr)>) -> Vec<u8> {
    // Mixed families are sent as IPv6, IPv4 ones mapped.
    let pair = addrs.map(|(s, d)| match (s.ip(), d.ip()) {
        (IpAddr::V4(_), IpAddr::V4(_)) | (IpAddr::V6(_), IpAddr::V6(_)) => (s, d),
        _ => (to_v6(s), to_v6(d)),
    });
    match v {
        ProxyProtocol::V1 => match pair {
            None => b"PROXY UNKNOWN\r\n".to_vec(),
            Some((s, d)) => format!(
                "PROXY {} {} {} {} {}\r\n",
                if s.is_ipv4() { "TCP4" } else { "TCP6" },
                s.ip(),
                d.ip(),
                s.port(),
                d.port()
            )
            .into_bytes(),
        },
        ProxyProtocol::V2 => {
            let mut out = V2_SIG.to_vec();
            match pair {
                None => out.extend_from_slice(&[0x20, 0x00, 0, 0]),
                Some((s, d)) => {
                    let (fam, len) = if s.is_ipv4() {
                        (0x11, 12u16)
                    } else {
                        (0x21, 36)
                    };
                    out.extend_from_slice(&[0x21, fam]);
                    out.extend_from_slice(&len.to_be_bytes());
                    for a in [s.ip(), d.ip()] {
                        match a {
                            IpAddr::V4(ip) => out.extend_from_slice(&ip.octets()),
                            IpAddr::V6(ip) => out.extend_from_slice(&ip.octets()),
                        }
                    }
                    out.extend_from_slice(&s.port().to_be_bytes());
                    out.extend_from_slice(&d.port().to_be_bytes());
                }
            }
            out
        }
    }
}

fn to_v6(a: SocketAddr) -> SocketAddr {
    match a.ip() {
        IpAddr::V4(ip) => SocketAddr::new(IpAddr::V6(ip.to_ipv6_mapped()), a.port()),
        IpAddr::V6(_) => a,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn v1_round_trip() {
        let pair = Some((sa("198.18.0.1:40000"), sa("198.18.1.1:80")));
        let h = header(ProxyProtocol::V1, pair);
        assert_eq!(h, b"PROXY TCP4 198.18.0.1 198.18.1.1 40000 80\r\n");
        let mut data = h.clone();
        data.extend_from_slice(b"GET /");
        assert_eq!(
            parse(&data),
            Parsed::Done {
                len: h.len(),
                addrs: pair
            }
        );
    }

    #[test]
    fn v2_round_trip_and_mixed_families() {
        for pair in [
            (sa("198.18.0.1:40000"), sa("198.18.1.1:80")),
            (sa("[::1]:1"), sa("[::2]:2")),
        ] {
            let h = header(ProxyProtocol::V2, Some(pair));
            assert_eq!(
                parse(&h),
                Parsed::Done {
                    len: h.len(),
                    addrs: Some(pair)
                }
            );
        }
        let h = header(ProxyProtocol::V1, Some((sa("198.18.0.1:1"), sa("[::1]:2"))));
        assert_eq!(h, b"PROXY TCP6 ::ffff:198.18.0.1 ::1 1 2\r\n");
        assert_eq!(
            header(ProxyProtocol::V2, None),
            b"\r\n\r\n\0\r\nQUIT\n\x20\x00\x00\x00"
        );
    }

    #[test]
    fn partial_and_invalid() {
        assert_eq!(parse(b"xx"), Parsed::Need);
        assert_eq!(parse(b"PROXY TCP4 1.2.3.4"), Parsed::Need);
        assert_eq!(parse(b"GET / HTTP/1.1\r\n"), Parsed::NotHeader);
        assert_eq!(parse(b"PROXY TCP4 1.2.3.4 5.6.7.8 1 x\r\n"), Parsed::Bad);
        assert_eq!(parse(b"PROXY TCP4 ::1 5.6.7.8 1 2\r\n"), Parsed::Bad);
        assert_eq!(
            parse(b"PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n"),
            Parsed::BadProto
        );
        assert_eq!(
            parse(b"PROXY UNKNOWN\r\nrest"),
            Parsed::Done {
                len: 15,
                addrs: None
            }
        );
        assert_eq!(parse(&V2_SIG[..5]), Parsed::Need);
        let mut long = b"PROXY ".to_vec();
        long.extend(std::iter::repeat_n(b'x', 120));
        assert_eq!(parse(&long), Parsed::BadProto);
        let mut long = b"PROXY TCP4 ".to_vec();
        long.extend(std::iter::repeat_n(b'1', 120));
        assert_eq!(parse(&long), Parsed::Bad);
    }
}
