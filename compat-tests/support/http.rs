//! HTTP test servers and clients: a server that records every request it
//! receives (raw bytes) and answers according to the path, and a client
//! that sends raw bytes and collects everything it gets back.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One request as a server received it.
#[derive(Clone, Debug)]
pub struct Received {
    pub server: String,
    /// Index of the connection on that server (1-based, in accept order).
    pub conn: usize,
    pub raw: Vec<u8>,
}

pub struct HttpServers {
    pub log: Arc<Mutex<Vec<Received>>>,
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

/// The answer of a test server for a request line's path:
/// * `/slow…`: waits 3 s first;
/// * `/close…`: no length, the body ends with the connection;
/// * `/chunked…`: a chunked body;
/// * `/setcookie…`: `Set-Cookie: SRVID=fromsrv; Path=/app` and `other=1`;
/// * `/garbage…`: not HTTP;
/// * `/hangup…`: closes without answering;
/// * `/status/NNN…`: that status;
/// * `/cache…`: a response with `Cache-Control: max-age=60`;
/// * anything else: 200 with the server's name as the body.
fn answer(name: &str, path: &str, head: bool) -> Option<(Vec<u8>, bool)> {
    if path.starts_with("/slow") {
        std::thread::sleep(Duration::from_secs(3));
    }
    let body = name.as_bytes();
    let with_len = |extra: &str, status: &str| {
        let mut r = format!(
            "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\n{extra}Content-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        if !head {
            r.extend_from_slice(body);
        }
        (r, false)
    };
    Some(if path.starts_with("/close") {
        let mut r = b"HTTP/1.1 200 OK\r\nServer: test\r\n\r\n".to_vec();
        r.extend_from_slice(body);
        (r, true)
    } else if path.starts_with("/chunked") {
        let mut r = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        r.extend_from_slice(format!("{:x};ext=1\r\n", body.len()).as_bytes());
        r.extend_from_slice(body);
        r.extend_from_slice(b"\r\n0\r\nX-Trailer: t\r\n\r\n");
        (r, false)
    } else if path.starts_with("/setcookie") {
        with_len(
            "Set-Cookie: SRVID=fromsrv; Path=/app\r\nSet-Cookie: other=1\r\n",
            "200 OK",
        )
    } else if path.starts_with("/cache") {
        with_len("Cache-Control: max-age=60\r\n", "200 OK")
    } else if path.starts_with("/garbage") {
        (b"this is not http\r\n\r\n".to_vec(), true)
    } else if path.starts_with("/hangup") {
        return None;
    } else if let Some(code) = path.strip_prefix("/status/") {
        let code = &code[..3.min(code.len())];
        with_len("", &format!("{code} Whatever"))
    } else {
        with_len("X-Server: yes\r\n", "200 OK")
    })
}

/// Reads one request (head and body framed by Content-Length or chunked)
/// from `c`; `None` at the end of the connection.
fn read_request(c: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Vec<u8>> {
    let mut tmp = [0u8; 16384];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let cl: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            let chunked = head
                .lines()
                .any(|l| l.starts_with("transfer-encoding:") && l.contains("chunked"));
            let body_start = end + 4;
            let total = if chunked {
                buf[body_start..]
                    .windows(5)
                    .position(|w| w == b"0\r\n\r\n")
                    .map(|p| body_start + p + 5)
            } else if buf.len() >= body_start + cl {
                Some(body_start + cl)
            } else {
                None
            };
            if let Some(t) = total {
                return Some(buf.drain(..t).collect());
            }
        }
        match c.read(&mut tmp) {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&tmp[..n]),
        }
    }
}

impl HttpServers {
    /// Starts `(name, addr)` servers inside namespace `ns` (by name).
    pub fn start(ns: &str, specs: &[(&str, SocketAddr)]) -> HttpServers {
        let log = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        for (name, addr) in specs {
            let (name, addr) = (name.to_string(), *addr);
            let (log, stop) = (Arc::clone(&log), Arc::clone(&stop));
            let path = format!("/var/run/netns/{ns}");
            let (tx, rx) = std::sync::mpsc::channel();
            threads.push(std::thread::spawn(move || {
                super::netns::enter(&path);
                let l = TcpListener::bind(addr).unwrap_or_else(|e| panic!("bind {addr}: {e}"));
                l.set_nonblocking(true).expect("nonblocking");
                let _ = tx.send(());
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    match l.accept() {
                        Ok((mut c, _)) => {
                            n += 1;
                            let (log, name, conn) = (Arc::clone(&log), name.clone(), n);
                            std::thread::spawn(move || {
                                let _ = c.set_nonblocking(false);
                                let _ = c.set_read_timeout(Some(Duration::from_secs(10)));
                                let mut buf = Vec::new();
                                while let Some(raw) = read_request(&mut c, &mut buf) {
                                    let line = String::from_utf8_lossy(&raw).into_owned();
                                    let mut parts = line.split(' ');
                                    let method = parts.next().unwrap_or("").to_string();
                                    let path = parts.next().unwrap_or("").to_string();
                                    log.lock().expect("log").push(Received {
                                        server: name.clone(),
                                        conn,
                                        raw,
                                    });
                                    // A WebSocket upgrade or a CONNECT: agree, then
                                    // echo raw bytes, prefixed with the server name.
                                    if method == "CONNECT" || path.starts_with("/ws") {
                                        let resp: &[u8] = if method == "CONNECT" {
                                            b"HTTP/1.1 200 Connection established\r\n\r\n"
                                        } else {
                                            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
                                        };
                                        if c.write_all(resp).is_err() {
                                            return;
                                        }
                                        let mut pending = std::mem::take(&mut buf);
                                        let mut tmp = [0u8; 4096];
                                        loop {
                                            if !pending.is_empty() {
                                                let mut out = format!("{name}:").into_bytes();
                                                out.extend_from_slice(&pending);
                                                if c.write_all(&out).is_err() {
                                                    return;
                                                }
                                                pending.clear();
                                            }
                                            match c.read(&mut tmp) {
                                                Ok(0) | Err(_) => return,
                                                Ok(n) => pending.extend_from_slice(&tmp[..n]),
                                            }
                                        }
                                    }
                                    let Some((resp, close)) =
                                        answer(&name, &path, method == "HEAD")
                                    else {
                                        return;
                                    };
                                    if c.write_all(&resp).is_err() || close {
                                        return;
                                    }
                                }
                            });
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(2)),
                    }
                }
            }));
            rx.recv_timeout(Duration::from_secs(5)).expect("listening");
        }
        HttpServers { log, stop, threads }
    }

    /// The requests received since the last call.
    pub fn take(&self) -> Vec<Received> {
        std::mem::take(&mut *self.log.lock().expect("log"))
    }
}

impl Drop for HttpServers {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Sends `data` on a new connection and reads until the proxy closes or
/// stays quiet for `quiet`; returns the bytes and whether it closed.
pub fn exchange(to: SocketAddr, data: &[u8], quiet: Duration) -> (Vec<u8>, bool) {
    let Ok(mut s) = TcpStream::connect_timeout(&to, Duration::from_secs(2)) else {
        return (Vec::new(), true);
    };
    let _ = s.write_all(data);
    read_all(&mut s, quiet)
}

/// Reads until close or `quiet` without bytes (bounded at 10 s).
pub fn read_all(s: &mut TcpStream, quiet: Duration) -> (Vec<u8>, bool) {
    let start = Instant::now();
    let mut out = Vec::new();
    let mut buf = [0u8; 65536];
    let _ = s.set_read_timeout(Some(quiet));
    loop {
        if start.elapsed() > Duration::from_secs(10) {
            return (out, false);
        }
        match s.read(&mut buf) {
            Ok(0) => return (out, true),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return (out, false);
            }
            Err(_) => return (out, true),
        }
    }
}
