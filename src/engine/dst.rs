//! The address a client connected to, looked up on first use: most
//! sessions never need it, and it costs a getsockname(2) and a
//! getsockopt(2) per connection.

use std::net::SocketAddr;
use std::sync::OnceLock;
use tokio::net::TcpStream;

pub struct Dst<'a> {
    stream: Option<&'a TcpStream>,
    addr: OnceLock<Option<SocketAddr>>,
}

impl<'a> Dst<'a> {
    pub fn of(stream: &'a TcpStream) -> Self {
        Dst {
            stream: Some(stream),
            addr: OnceLock::new(),
        }
    }

    /// An address already known (or known to be missing).
    pub fn known(addr: Option<SocketAddr>) -> Self {
        Dst {
            stream: None,
            addr: OnceLock::from(addr),
        }
    }

    pub fn get(&self) -> Option<SocketAddr> {
        *self.addr.get_or_init(|| self.stream.and_then(original_dst))
    }
}

/// Client's original destination: with TPROXY or a plain bind it is the
/// local address; with iptables REDIRECT it is SO_ORIGINAL_DST.
fn original_dst(s: &TcpStream) -> Option<SocketAddr> {
    let local = s.local_addr().ok()?;
    if local.is_ipv4()
        && let Ok(orig) = nix::sys::socket::getsockopt(s, nix::sys::socket::sockopt::OriginalDst)
    {
        let ip = std::net::Ipv4Addr::from(u32::from_be(orig.sin_addr.s_addr));
        let port = u16::from_be(orig.sin_port);
        return Some(SocketAddr::new(ip.into(), port));
    }
    Some(local)
}
