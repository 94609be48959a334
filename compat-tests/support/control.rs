//! A test server whose health an experiment controls: it can be UP,
//! stopped (connections refused), blackholed (packets dropped), or sick
//! (answering 500 to health checks while still serving traffic). It speaks
//! just enough HTTP/1.0: `GET /health` is the check, any other request is
//! traffic and is answered with the server's name, and recorded.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Mode {
    Up = 0,
    /// Listener closed: connections are refused.
    Stopped = 1,
    /// `/health` answers 500; traffic is still served.
    Sick = 2,
}

pub struct Controlled {
    pub name: String,
    pub addr: SocketAddr,
    mode: Arc<AtomicU8>,
    stop: Arc<AtomicBool>,
    /// When each traffic request arrived.
    pub traffic: Arc<Mutex<Vec<Instant>>>,
    thread: Option<std::thread::JoinHandle<()>>,
    ns: String,
    blackholed: bool,
}

impl Controlled {
    /// Starts serving `name` on `addr` inside namespace `ns` (by name).
    pub fn start(ns: &str, name: &str, addr: SocketAddr) -> Controlled {
        let mode = Arc::new(AtomicU8::new(Mode::Up as u8));
        let stop = Arc::new(AtomicBool::new(false));
        let traffic = Arc::new(Mutex::new(Vec::new()));
        let path = format!("/var/run/netns/{ns}");
        let (m, st, tr, n) = (
            Arc::clone(&mode),
            Arc::clone(&stop),
            Arc::clone(&traffic),
            name.to_string(),
        );
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            super::netns::enter(&path);
            let mut listener: Option<TcpListener> = None;
            let _ = tx.send(());
            while !st.load(Ordering::Relaxed) {
                let want = m.load(Ordering::Relaxed) != Mode::Stopped as u8;
                if want && listener.is_none() {
                    listener = bind(addr);
                } else if !want && let Some(l) = listener.take() {
                    // Connections already in the backlog are served
                    // before the close: closing would reset them, and
                    // whether a check meets a reset or a refusal would
                    // then depend on timing.
                    while let Ok((c, _)) = l.accept() {
                        let (m, tr, n) = (Arc::clone(&m), Arc::clone(&tr), n.clone());
                        std::thread::spawn(move || serve(c, &n, &m, &tr));
                    }
                }
                match listener.as_ref().map(TcpListener::accept) {
                    Some(Ok((c, _))) => {
                        let (m, tr, n) = (Arc::clone(&m), Arc::clone(&tr), n.clone());
                        std::thread::spawn(move || serve(c, &n, &m, &tr));
                    }
                    _ => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        rx.recv_timeout(Duration::from_secs(5))
            .expect("server thread");
        // wait until it listens
        let t = Instant::now();
        while !super::proxy::listening(ns, addr.port()) && t.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(10));
        }
        Controlled {
            name: name.to_string(),
            addr,
            mode,
            stop,
            traffic,
            thread: Some(thread),
            ns: ns.to_string(),
            blackholed: false,
        }
    }

    pub fn set(&self, m: Mode) {
        self.mode.store(m as u8, Ordering::Relaxed);
    }

    /// Drops every packet to the server's port (or stops doing so).
    pub fn blackhole(&mut self, on: bool) {
        if on == self.blackholed {
            return;
        }
        let op = if on { "-A" } else { "-D" };
        let status = std::process::Command::new("ip")
            .args([
                "netns", "exec", &self.ns, "iptables", op, "INPUT", "-p", "tcp",
            ])
            .args(["--dport", &self.addr.port().to_string(), "-j", "DROP"])
            .status()
            .expect("iptables");
        assert!(status.success(), "iptables {op}");
        self.blackholed = on;
    }
}

fn bind(addr: SocketAddr) -> Option<TcpListener> {
    let s = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        None,
    )
    .ok()?;
    s.set_reuse_address(true).ok()?;
    s.bind(&addr.into()).ok()?;
    s.listen(128).ok()?;
    s.set_nonblocking(true).ok()?;
    Some(s.into())
}

fn serve(mut c: TcpStream, name: &str, mode: &AtomicU8, traffic: &Mutex<Vec<Instant>>) {
    let _ = c.set_nonblocking(false);
    let _ = c.set_read_timeout(Some(Duration::from_secs(5)));
    let mut req = Vec::new();
    let mut buf = [0u8; 4096];
    while !req.windows(4).any(|w| w == b"\r\n\r\n") {
        match c.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => req.extend_from_slice(&buf[..n]),
        }
    }
    let line = String::from_utf8_lossy(&req);
    if line.starts_with("GET /hold") {
        // A long session: answer the head, then wait for the client.
        traffic.lock().expect("traffic").push(Instant::now());
        let _ = c.write_all(format!("HTTP/1.0 200 OK\r\n\r\n{name}\n").as_bytes());
        let _ = c.set_read_timeout(Some(Duration::from_secs(30)));
        while matches!(c.read(&mut buf), Ok(n) if n > 0) {}
        return;
    }
    let health = line.starts_with("GET /health") || line.contains(" /health ");
    let answer = if health {
        if mode.load(Ordering::Relaxed) == Mode::Sick as u8 {
            "HTTP/1.0 500 Internal Server Error\r\ncontent-length: 0\r\n\r\n".to_string()
        } else {
            "HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\nok".to_string()
        }
    } else {
        traffic.lock().expect("traffic").push(Instant::now());
        format!(
            "HTTP/1.0 200 OK\r\ncontent-length: {}\r\n\r\n{name}",
            name.len()
        )
    };
    let _ = c.write_all(answer.as_bytes());
}

impl Drop for Controlled {
    fn drop(&mut self) {
        self.blackhole(false);
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One request through a proxy: the name of the server that answered.
pub fn request(to: SocketAddr) -> Option<String> {
    let mut s = TcpStream::connect_timeout(&to, Duration::from_millis(500)).ok()?;
    let _ = s.set_read_timeout(Some(Duration::from_secs(3)));
    s.write_all(b"GET /traffic HTTP/1.0\r\n\r\n").ok()?;
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out);
    let (head, body) = text.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.0 200").then(|| body.to_string())
}

/// Opens a long session through a proxy (`GET /hold`); returns the stream
/// and the server that took it.
pub fn hold(to: SocketAddr) -> Option<(TcpStream, String)> {
    let mut s = TcpStream::connect_timeout(&to, Duration::from_millis(500)).ok()?;
    s.write_all(b"GET /hold HTTP/1.0\r\n\r\n").ok()?;
    let _ = s.set_read_timeout(Some(Duration::from_secs(3)));
    let mut got = Vec::new();
    let mut b = [0u8; 256];
    while !got.ends_with(b"\n") || !got.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut b) {
            Ok(0) | Err(_) => return None,
            Ok(n) => got.extend_from_slice(&b[..n]),
        }
    }
    let text = String::from_utf8_lossy(&got);
    let name = text.split("\r\n\r\n").nth(1)?.trim().to_string();
    Some((s, name))
}

/// Waits (up to `max`) for the peer to end a held session; returns when.
pub fn ended(s: &mut TcpStream, max: Duration) -> Option<Instant> {
    let _ = s.set_read_timeout(Some(max));
    let mut b = [0u8; 64];
    match s.read(&mut b) {
        Ok(0) => Some(Instant::now()),
        Err(e)
            if e.kind() != std::io::ErrorKind::WouldBlock
                && e.kind() != std::io::ErrorKind::TimedOut =>
        {
            Some(Instant::now())
        }
        _ => None,
    }
}
