//! Where log messages go: UDP syslog servers, Unix datagram sockets
//! (`/dev/log`), stdout/stderr. Sending never blocks a connection: a full
//! or missing socket drops the message and counts the drop.

use crate::config::address::{Endpoint, Port};
use crate::config::model::{Level, LogDest, LogTarget, LogWireFormat};
use std::io::Write;
use std::net::{SocketAddr, UdpSocket};
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Messages dropped because a log socket could not take them.
pub static DROPPED: AtomicU64 = AtomicU64::new(0);

enum Out {
    Udp(UdpSocket),
    /// Reconnected when the socket went away (syslogd restarted).
    Unix {
        path: PathBuf,
        sock: Mutex<Option<UnixDatagram>>,
    },
    Stdout,
    Stderr,
    /// `ring@…` and other targets rproxy does not serve.
    Nowhere,
}

pub struct Sink {
    pub target: LogTarget,
    out: Out,
    /// For `sample` ratios.
    counter: AtomicU64,
}

fn unix_connect(path: &PathBuf) -> Option<UnixDatagram> {
    let s = UnixDatagram::unbound().ok()?;
    s.connect(path).ok()?;
    s.set_nonblocking(true).ok()?;
    Some(s)
}

impl Sink {
    pub fn new(target: &LogTarget) -> Sink {
        let out = match &target.dest {
            LogDest::Stdout => Out::Stdout,
            LogDest::Stderr => Out::Stderr,
            LogDest::Ring(_) => Out::Nowhere,
            LogDest::Addr(Endpoint::Unix(path)) => Out::Unix {
                path: path.clone(),
                sock: Mutex::new(unix_connect(path)),
            },
            LogDest::Addr(ep @ Endpoint::Inet { .. }) => {
                let port = match ep.port() {
                    Port::Fixed(p) => p,
                    _ => 514,
                };
                match ep.ip() {
                    Some(ip) => {
                        let to = SocketAddr::new(ip, port);
                        let bind: SocketAddr = if ip.is_ipv4() {
                            "0.0.0.0:0".parse().unwrap_or(to)
                        } else {
                            "[::]:0".parse().unwrap_or(to)
                        };
                        match UdpSocket::bind(bind).and_then(|s| {
                            s.connect(to)?;
                            s.set_nonblocking(true)?;
                            Ok(s)
                        }) {
                            Ok(s) => Out::Udp(s),
                            Err(_) => Out::Nowhere,
                        }
                    }
                    None => Out::Nowhere,
                }
            }
            LogDest::Addr(_) => Out::Nowhere,
        };
        Sink {
            target: target.clone(),
            out,
            counter: AtomicU64::new(0),
        }
    }

    /// Whether a message of `level` passes this target's filters, and the
    /// level it is sent at (`minlevel` raises the severity floor).
    pub fn accepts(&self, level: Level) -> Option<Level> {
        if level > self.target.max_level {
            return None;
        }
        if let Some(s) = &self.target.sample {
            let n = self.counter.fetch_add(1, Ordering::Relaxed) % u64::from(s.size) + 1;
            if !s
                .ranges
                .iter()
                .any(|(a, b)| n >= u64::from(*a) && n <= u64::from(*b))
            {
                return None;
            }
        }
        Some(level.max(self.target.min_level))
    }

    pub fn wire_format(&self) -> LogWireFormat {
        match self.out {
            // A terminal or pipe gets the message only unless a format was
            // asked for: HAProxy prints `raw` lines on stdout/stderr.
            Out::Stdout | Out::Stderr if self.target.format == LogWireFormat::Rfc3164 => {
                LogWireFormat::Raw
            }
            _ => self.target.format,
        }
    }

    pub fn send(&self, line: &[u8]) {
        let ok = match &self.out {
            Out::Udp(s) => s.send(line).is_ok(),
            Out::Unix { path, sock } => {
                let mut g = sock.lock().unwrap_or_else(|e| e.into_inner());
                let first = g.as_ref().map(|s| s.send(line));
                match first {
                    Some(Ok(_)) => true,
                    Some(Err(e)) if e.kind() == std::io::ErrorKind::WouldBlock => false,
                    _ => {
                        *g = unix_connect(path);
                        g.as_ref().is_some_and(|s| s.send(line).is_ok())
                    }
                }
            }
            Out::Stdout => std::io::stdout().lock().write_all(line).is_ok(),
            Out::Stderr => std::io::stderr().lock().write_all(line).is_ok(),
            Out::Nowhere => false,
        };
        if !ok {
            DROPPED.fetch_add(1, Ordering::Relaxed);
        }
    }
}
