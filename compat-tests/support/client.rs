//! Test clients: connect (from a namespace), optionally send, and observe
//! how and when the proxy ends the connection.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// Orderly close (FIN).
    Eof,
    Reset,
    /// Still open when we stopped waiting.
    StillOpen,
    /// Could not connect.
    Refused,
}

#[derive(Clone, Debug)]
pub struct Probe {
    pub data: Vec<u8>,
    pub ending: Ending,
    pub elapsed: Duration,
}

impl Probe {
    /// The first line the server sent (its name and the peer it saw).
    pub fn banner(&self) -> Option<String> {
        let s = String::from_utf8_lossy(&self.data);
        s.lines()
            .next()
            .map(str::to_string)
            .filter(|l| !l.is_empty())
    }

    pub fn server(&self) -> Option<String> {
        self.banner()
            .and_then(|b| b.split_whitespace().next().map(str::to_string))
    }

    pub fn peer_ip(&self) -> Option<String> {
        self.banner()
            .and_then(|b| b.split_whitespace().nth(1).map(str::to_string))
            .and_then(|p| p.rsplit_once(':').map(|(ip, _)| ip.to_string()))
    }
}

/// Connects to `to` (from `bind`, if given), sends `send`, half-closes if
/// asked, and reads until the connection ends or `wait` elapses.
pub fn probe(
    to: SocketAddr,
    bind: Option<SocketAddr>,
    send: &[u8],
    half_close: bool,
    wait: Duration,
) -> Probe {
    let start = Instant::now();
    let sock = match to {
        SocketAddr::V4(_) => {
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
        }
        SocketAddr::V6(_) => {
            socket2::Socket::new(socket2::Domain::IPV6, socket2::Type::STREAM, None)
        }
    }
    .expect("socket");
    if let Some(b) = bind {
        sock.bind(&b.into()).expect("bind client");
    }
    if sock
        .connect_timeout(&to.into(), Duration::from_secs(3))
        .is_err()
    {
        return Probe {
            data: Vec::new(),
            ending: Ending::Refused,
            elapsed: start.elapsed(),
        };
    }
    let mut s: TcpStream = sock.into();
    if !send.is_empty() {
        let _ = s.write_all(send);
    }
    if half_close {
        let _ = s.shutdown(std::net::Shutdown::Write);
    }
    let mut data = Vec::new();
    let mut buf = [0u8; 65536];
    let ending = loop {
        let left = wait.saturating_sub(start.elapsed());
        if left.is_zero() {
            break Ending::StillOpen;
        }
        let _ = s.set_read_timeout(Some(left));
        match s.read(&mut buf) {
            Ok(0) => break Ending::Eof,
            Ok(n) => data.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break Ending::Reset,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                break Ending::StillOpen;
            }
            Err(_) => break Ending::Reset,
        }
    };
    Probe {
        data,
        ending,
        elapsed: start.elapsed(),
    }
}

/// Connects, reads the server's banner line, closes.
pub fn banner(to: SocketAddr, bind: Option<SocketAddr>) -> Probe {
    let start = Instant::now();
    let sock = socket2::Socket::new(
        if to.is_ipv4() {
            socket2::Domain::IPV4
        } else {
            socket2::Domain::IPV6
        },
        socket2::Type::STREAM,
        None,
    )
    .expect("socket");
    if let Some(b) = bind {
        sock.bind(&b.into()).expect("bind client");
    }
    if sock
        .connect_timeout(&to.into(), Duration::from_secs(3))
        .is_err()
    {
        return Probe {
            data: Vec::new(),
            ending: Ending::Refused,
            elapsed: start.elapsed(),
        };
    }
    let mut s: TcpStream = sock.into();
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let mut data = Vec::new();
    let mut b = [0u8; 1];
    while let Ok(1) = s.read(&mut b) {
        data.push(b[0]);
        if b[0] == b'\n' {
            break;
        }
    }
    Probe {
        ending: if data.is_empty() {
            Ending::Eof
        } else {
            Ending::StillOpen
        },
        data,
        elapsed: start.elapsed(),
    }
}
