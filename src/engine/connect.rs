//! Opening the connection to a server: the source address to bind
//! (`source`, `usesrc clientip|client|ADDR`, `interface`), the socket
//! options HAProxy sets, and the connect itself.

use super::dst::Dst;
use crate::config::address::{Endpoint, Port};
use crate::config::model::{Source, TcpKeepalive, UseSrc};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::io;
use std::net::{IpAddr, SocketAddr};
use tokio::net::{TcpSocket, TcpStream};

/// Why a connection attempt failed, in the terms that decide HAProxy's
/// retry policy and termination flags.
#[derive(Debug)]
pub enum ConnectError {
    /// Reported asynchronously by the kernel (ECONNREFUSED …): HAProxy
    /// waits a turn-around delay before trying the same server again.
    Async(io::Error),
    /// Failed at once (ENETUNREACH on a foreign source, EADDRNOTAVAIL …).
    Sync(io::Error),
    Timeout,
    /// The local source could not be set up (bind/transparent failed):
    /// HAProxy's resource error.
    Resource(io::Error),
}

/// The source address to use for one connection.
pub fn source_addr(src: &Source, client: Option<SocketAddr>) -> (Option<SocketAddr>, bool) {
    let base_ip = src.addr.ip();
    let base_port = match src.addr.port() {
        Port::Fixed(p) => p,
        _ => 0,
    };
    match (&src.usesrc, client) {
        (Some(UseSrc::ClientIp), Some(c)) => (Some(SocketAddr::new(c.ip(), 0)), true),
        (Some(UseSrc::Client), Some(c)) => (Some(c), true),
        (Some(UseSrc::Addr(ep)), _) => {
            let port = match ep.port() {
                Port::Fixed(p) => p,
                _ => 0,
            };
            (ep.ip().map(|ip| SocketAddr::new(ip, port)), true)
        }
        // hdr_ip needs the HTTP request; without a client address (unix
        // socket clients) the plain source applies.
        _ => (base_ip.map(|ip| SocketAddr::new(ip, base_port)), false),
    }
}

/// Port range of a server `source` (`addr:low-high`).
pub fn source_range(src: &Source) -> Option<(u16, u16)> {
    match src.addr.port() {
        Port::Range(a, b) => Some((a, b)),
        _ => None,
    }
}

fn is_unspecified(a: &SocketAddr) -> bool {
    a.ip().is_unspecified() && a.port() == 0
}

/// `option clitcpka`/`srvtcpka`: SO_KEEPALIVE, and the kernel's probe
/// timing only where `*tcpka-cnt|idle|intvl` overrides it.
pub fn set_keepalive(sock: &socket2::SockRef<'_>, ka: &TcpKeepalive) {
    let _ = sock.set_keepalive(true);
    if let Some(n) = ka.cnt {
        let _ = sock.set_tcp_keepalive(&socket2::TcpKeepalive::new().with_retries(n));
    }
    if let Some(t) = ka.idle {
        let _ = sock.set_tcp_keepalive(&socket2::TcpKeepalive::new().with_time(t));
    }
    if let Some(t) = ka.intvl {
        let _ = sock.set_tcp_keepalive(&socket2::TcpKeepalive::new().with_interval(t));
    }
}

/// Creates the socket, binds the source (transparently when asked), and
/// starts the connection.
pub async fn connect(
    target: SocketAddr,
    source: Option<&Source>,
    client: Option<SocketAddr>,
    keepalive: Option<&TcpKeepalive>,
    delay_ack: bool,
) -> Result<TcpStream, ConnectError> {
    let domain = if target.is_ipv4() {
        Domain::IPV4
    } else {
        Domain::IPV6
    };
    let sock = Socket::new(
        domain,
        Type::STREAM.nonblocking().cloexec(),
        Some(Protocol::TCP),
    )
    .map_err(ConnectError::Resource)?;
    if delay_ack {
        // Health checks: the handshake's last ACK leaves with the first
        // data, or not at all when the check closes at once (HAProxy's
        // CONNECT_DELACK_ALWAYS). They write once: Nagle never delays it.
        let _ = sock.set_tcp_quickack(false);
    } else {
        let _ = sock.set_tcp_nodelay(true);
    }
    if let Some(ka) = keepalive {
        set_keepalive(&socket2::SockRef::from(&sock), ka);
    }
    if let Some(src) = source {
        let (addr, transparent) = source_addr(src, client);
        if let Some(iface) = &src.interface {
            sock.bind_device(Some(iface.as_bytes()))
                .map_err(ConnectError::Resource)?;
        }
        if let Some(mut addr) = addr {
            // The source takes the server's family (HAProxy binds the
            // client's family; a mixed pair cannot connect anyway).
            if addr.is_ipv4() != target.is_ipv4() {
                if transparent {
                    return Err(ConnectError::Resource(io::Error::from_raw_os_error(
                        libc::EAFNOSUPPORT,
                    )));
                }
                addr = SocketAddr::new(
                    if target.is_ipv4() {
                        IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)
                    } else {
                        IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED)
                    },
                    addr.port(),
                );
            }
            if transparent {
                make_transparent(&sock, target.is_ipv4()).map_err(ConnectError::Resource)?;
            }
            if !is_unspecified(&addr) || transparent {
                if addr.port() == 0 {
                    set_bind_no_port(&sock);
                }
                let _ = sock.set_reuse_address(true);
                bind_source(&sock, addr, source_range(src)).map_err(ConnectError::Resource)?;
            }
        }
    }
    let std_stream: std::net::TcpStream = sock.into();
    let tsock = TcpSocket::from_std_stream(std_stream);
    match tsock.connect(target).await {
        Ok(s) => Ok(s),
        Err(e) if is_sync_error(&e) => Err(ConnectError::Sync(e)),
        Err(e) => Err(ConnectError::Async(e)),
    }
}

/// Errors connect() reports at once rather than through the poller.
fn is_sync_error(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(
            libc::ENETUNREACH
                | libc::EADDRNOTAVAIL
                | libc::EADDRINUSE
                | libc::EACCES
                | libc::EPERM
                | libc::EINVAL
                | libc::EAFNOSUPPORT
        )
    )
}

fn bind_source(sock: &Socket, addr: SocketAddr, range: Option<(u16, u16)>) -> io::Result<()> {
    match range {
        None => sock.bind(&SockAddr::from(addr)),
        Some((lo, hi)) => {
            // Pick a free port of the range, starting at a varying point.
            let span = u32::from(hi - lo) + 1;
            let start = (rand_u32() % span) as u16;
            let mut last = io::Error::from_raw_os_error(libc::EADDRNOTAVAIL);
            for i in 0..span {
                let port = lo + ((u32::from(start) + i) % span) as u16;
                match sock.bind(&SockAddr::from(SocketAddr::new(addr.ip(), port))) {
                    Ok(()) => return Ok(()),
                    Err(e) => last = e,
                }
            }
            Err(last)
        }
    }
}

fn rand_u32() -> u32 {
    let mut b = [0u8; 4];
    let _ = getrandom(&mut b);
    u32::from_ne_bytes(b)
}

fn getrandom(buf: &mut [u8]) -> io::Result<()> {
    // SAFETY: buf is a valid writable slice of the given length.
    let n = unsafe { libc::getrandom(buf.as_mut_ptr().cast(), buf.len(), 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// IP_BIND_ADDRESS_NO_PORT: let connect() choose the port, so that many
/// connections can share one source address.
fn set_bind_no_port(sock: &Socket) {
    let on: libc::c_int = 1;
    // SAFETY: plain setsockopt on an owned socket with an int argument.
    unsafe {
        libc::setsockopt(
            std::os::fd::AsRawFd::as_raw_fd(sock),
            libc::IPPROTO_IP,
            libc::IP_BIND_ADDRESS_NO_PORT,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

/// IP_TRANSPARENT (IPV6_TRANSPARENT): bind and connect from a foreign
/// address. Needs CAP_NET_ADMIN or CAP_NET_RAW, which start-up checks.
pub fn make_transparent(sock: &Socket, v4: bool) -> io::Result<()> {
    if v4 {
        sock.set_ip_transparent_v4(true)
    } else {
        let on: libc::c_int = 1;
        // SAFETY: setsockopt with an int argument on an owned socket.
        let r = unsafe {
            libc::setsockopt(
                std::os::fd::AsRawFd::as_raw_fd(sock),
                libc::SOL_IPV6,
                libc::IPV6_TRANSPARENT,
                (&on as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

/// Where to send a connection for a server address: its own port, the
/// port the client connected to, or that port plus an offset.
pub fn server_target(
    ep: &Endpoint,
    resolved: Option<IpAddr>,
    client_dst: &Dst<'_>,
) -> Option<SocketAddr> {
    let ip = match resolved {
        // `0.0.0.0` means "the client's original destination".
        Some(ip) if ip.is_unspecified() => client_dst.get()?.ip(),
        Some(ip) => ip,
        None => return None,
    };
    let port = match ep.port() {
        Port::Fixed(p) if p != 0 => p,
        Port::Offset(o) => {
            let base = i32::from(client_dst.get()?.port());
            u16::try_from(base + o).ok()?
        }
        _ => client_dst.get()?.port(),
    };
    Some(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::address::Use;
    use crate::config::address::parse;

    #[test]
    fn targets() {
        let dst: SocketAddr = "198.18.0.1:8080".parse().unwrap();
        let ep = parse("10.0.0.1", Use::Server, false).unwrap();
        assert_eq!(
            server_target(&ep, ep.ip(), &Dst::known(Some(dst))),
            Some("10.0.0.1:8080".parse().unwrap())
        );
        let ep = parse("10.0.0.1:+10", Use::Server, false).unwrap();
        assert_eq!(
            server_target(&ep, ep.ip(), &Dst::known(Some(dst))),
            Some("10.0.0.1:8090".parse().unwrap())
        );
        let ep = parse("10.0.0.1:81", Use::Server, false).unwrap();
        assert_eq!(
            server_target(&ep, ep.ip(), &Dst::known(Some(dst))),
            Some("10.0.0.1:81".parse().unwrap())
        );
        let ep = parse("0.0.0.0", Use::Server, false).unwrap();
        assert_eq!(
            server_target(&ep, ep.ip(), &Dst::known(Some(dst))),
            Some(dst)
        );
        assert_eq!(server_target(&ep, None, &Dst::known(Some(dst))), None);
    }
}
