//! Listening sockets from `bind` lines: one socket per address and port
//! (port ranges expand), with IP_TRANSPARENT, v6only/v4v6, interface,
//! defer-accept, backlog. Created at start-up, before privileges are
//! dropped, and handed to the engine threads.

use crate::config::address::{Endpoint, Port};
use crate::config::model::{Bind, Config, Proxy};
use crate::diag::Origin;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;

/// A bound, listening socket and what it belongs to.
#[derive(Debug)]
pub struct Listener {
    pub socket: Socket,
    pub addr: ListenAddr,
    /// Index of the proxy in `Config::proxies`.
    pub proxy: usize,
    /// Index of the bind line in the proxy.
    pub bind: usize,
    /// HAProxy's listener id: `bind … id N`, else the next free number in
    /// the proxy, one per address and port.
    pub luid: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListenAddr {
    Inet(SocketAddr),
    Unix(std::path::PathBuf),
}

impl std::fmt::Display for ListenAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ListenAddr::Inet(a) => write!(f, "{a}"),
            ListenAddr::Unix(p) => write!(f, "{}", p.display()),
        }
    }
}

/// A bind failure, reported as HAProxy reports it.
#[derive(Debug)]
pub struct BindError {
    pub origin: Origin,
    pub proxy: String,
    pub addr: String,
    pub error: io::Error,
}

impl BindError {
    pub fn message(&self) -> String {
        format!(
            "Binding [{}] for proxy {}: cannot bind socket ({}) for [{}]",
            self.origin,
            self.proxy,
            crate::util::io_error_text(&self.error),
            self.addr
        )
    }
}

/// The socket addresses one bind address expands to.
fn expand(ep: &Endpoint) -> Vec<ListenAddr> {
    match ep {
        Endpoint::Inet { port, .. } => {
            let Some(ip) = ep.ip() else { return Vec::new() };
            match port {
                Port::Fixed(p) => vec![ListenAddr::Inet(SocketAddr::new(ip, *p))],
                Port::Range(a, b) => (*a..=*b)
                    .map(|p| ListenAddr::Inet(SocketAddr::new(ip, p)))
                    .collect(),
                _ => Vec::new(),
            }
        }
        Endpoint::Unix(p) => vec![ListenAddr::Unix(p.clone())],
        _ => Vec::new(),
    }
}

/// Options that decide how a listening socket is made.
#[derive(Clone, Copy, Debug)]
pub struct ListenOpts {
    pub backlog: i32,
    pub reuseport: bool,
}

/// Binds every listener of every enabled frontend. `copies` sockets are
/// made per address when the engine runs one accept loop per thread with
/// SO_REUSEPORT.
pub fn bind_all(
    cfg: &Config,
    global_maxconn: u32,
    reuseport: bool,
    copies: usize,
    inherited: &mut super::takeover::Inherited,
) -> Result<Vec<Listener>, BindError> {
    let mut out = Vec::new();
    for (pi, p) in cfg.proxies.iter().enumerate() {
        if !p.kind.has_frontend() || p.disabled {
            continue;
        }
        let mut used: std::collections::HashSet<u32> =
            p.binds.iter().filter_map(|b| b.id).collect();
        let mut next = 1u32;
        for (bi, b) in p.binds.iter().enumerate() {
            let backlog = b
                .backlog
                .or(p.backlog)
                .or(b.maxconn)
                .or(p.maxconn)
                .unwrap_or(global_maxconn)
                .clamp(1, i32::MAX as u32) as i32;
            let mut explicit = b.id;
            for ep in &b.addrs {
                for addr in expand(ep) {
                    let luid = match explicit.take() {
                        Some(id) => id,
                        None => {
                            while used.contains(&next) {
                                next += 1;
                            }
                            used.insert(next);
                            next
                        }
                    };
                    // Sockets taken over from the process being replaced
                    // come first; more are bound beside them if needed.
                    let taken = match &addr {
                        ListenAddr::Inet(sa) => inherited.take(sa),
                        ListenAddr::Unix(_) => Vec::new(),
                    };
                    let fresh = if taken.is_empty() {
                        copies.max(1)
                    } else if reuseport {
                        copies.saturating_sub(taken.len())
                    } else {
                        0
                    };
                    for socket in taken {
                        let _ = socket.set_nonblocking(true);
                        let _ = socket.listen(backlog);
                        out.push(Listener {
                            socket,
                            addr: addr.clone(),
                            proxy: pi,
                            bind: bi,
                            luid,
                        });
                    }
                    for _ in 0..fresh {
                        let socket = bind_one(&addr, b, ListenOpts { backlog, reuseport })
                            .map_err(|error| BindError {
                                origin: b.origin.clone(),
                                proxy: p.name.clone(),
                                addr: addr.to_string(),
                                error,
                            })?;
                        out.push(Listener {
                            socket,
                            addr: addr.clone(),
                            proxy: pi,
                            bind: bi,
                            luid,
                        });
                        if matches!(addr, ListenAddr::Unix(_)) {
                            break;
                        }
                    }
                }
            }
        }
    }
    Ok(out)
}

/// Frontends that have at least one listener.
pub fn has_listeners(cfg: &Config) -> bool {
    cfg.proxies
        .iter()
        .any(|p: &Proxy| p.kind.has_frontend() && !p.disabled && !p.binds.is_empty())
}

/// An integer TCP-level socket option socket2 does not wrap.
fn set_int(s: &Socket, opt: libc::c_int, value: libc::c_int) -> io::Result<()> {
    // SAFETY: setsockopt reads one c_int from a live stack value, on a
    // socket this function borrows.
    let r = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::IPPROTO_TCP,
            opt,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

pub fn bind_one(addr: &ListenAddr, b: &Bind, opts: ListenOpts) -> io::Result<Socket> {
    match addr {
        ListenAddr::Inet(sa) => {
            let domain = if sa.is_ipv4() {
                Domain::IPV4
            } else {
                Domain::IPV6
            };
            let s = Socket::new(
                domain,
                Type::STREAM.nonblocking().cloexec(),
                Some(Protocol::TCP),
            )?;
            s.set_reuse_address(true)?;
            if opts.reuseport {
                s.set_reuse_port(true)?;
            }
            if sa.is_ipv6() {
                // Linux listens on both families by default; `v6only` and
                // `v4v6` say it explicitly.
                s.set_only_v6(b.v6only && !b.v4v6)?;
            }
            if b.transparent {
                super::connect::make_transparent(&s, sa.is_ipv4())?;
            }
            if let Some(iface) = &b.interface {
                s.bind_device(Some(iface.as_bytes()))?;
            }
            if let Some(mss) = b.mss {
                let _ = s.set_tcp_mss(mss.unsigned_abs());
            }
            s.bind(&SockAddr::from(*sa))?;
            if b.defer_accept {
                // Wake accept() only once data arrived.
                set_int(&s, libc::TCP_DEFER_ACCEPT, 1)?;
            }
            if b.tfo {
                // TCP Fast Open, with the listen queue as its queue length.
                set_int(&s, libc::TCP_FASTOPEN, opts.backlog)?;
            }
            if let Some(ut) = b.tcp_ut {
                s.set_tcp_user_timeout(Some(ut))?;
            }
            s.listen(opts.backlog)?;
            Ok(s)
        }
        ListenAddr::Unix(path) => {
            let s = Socket::new(Domain::UNIX, Type::STREAM.nonblocking().cloexec(), None)?;
            let _ = std::fs::remove_file(path);
            s.bind(&SockAddr::unix(path)?)?;
            if let Some(mode) = b.mode {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
            }
            s.listen(opts.backlog)?;
            Ok(s)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{LoadOptions, load_sources};

    fn tcp_int(s: &Socket, opt: libc::c_int) -> libc::c_int {
        let mut v: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: getsockopt writes at most `len` bytes into `v`.
        let r = unsafe {
            libc::getsockopt(
                s.as_raw_fd(),
                libc::IPPROTO_TCP,
                opt,
                (&mut v as *mut libc::c_int).cast(),
                &mut len,
            )
        };
        assert_eq!(r, 0);
        v
    }

    #[test]
    fn bind_options_reach_the_socket() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let text = format!(
            "frontend f\n    mode tcp\n    bind 127.0.0.1:{port} tfo tcp-ut 30s defer-accept backlog 77 mss 1300\n    default_backend b\nbackend b\n    mode tcp\n    server s 127.0.0.1:1\n"
        );
        let loaded = load_sources(
            &[("t.cfg".into(), text.as_bytes().to_vec())],
            LoadOptions::default(),
        );
        assert!(loaded.diags.iter().all(|d| !d.fatal));
        let cfg = loaded.config;
        let l = bind_all(&cfg, 100, false, 1, &mut Default::default()).expect("bind");
        assert_eq!(l.len(), 1);
        let s = &l[0].socket;
        assert_eq!(tcp_int(s, libc::TCP_FASTOPEN), 77);
        assert_eq!(tcp_int(s, libc::TCP_USER_TIMEOUT), 30_000);
        assert!(tcp_int(s, libc::TCP_DEFER_ACCEPT) > 0);
        assert_eq!(tcp_int(s, libc::TCP_MAXSEG), 1300);
    }
}
