//! Test backends: each accepted connection first gets a line naming the
//! server and the peer address it saw, then an echo of what it sends
//! (or silence, or an immediate close, depending on the behaviour).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behaviour {
    /// "NAME PEER\n" then echo until EOF.
    Echo,
    /// Reads, never writes.
    Silent,
    /// Closes at once.
    Close,
    /// Sends the banner, then a byte stream of this many bytes, then closes.
    Stream(usize),
    /// Reads until EOF, then answers "got N\n" (the bytes it read) and
    /// closes: shows that a half-closed client still gets its answer.
    Count,
    /// Sends the banner and this many bytes, then resets the connection
    /// (a server that vanishes mid-transfer).
    Abort(usize),
    /// A scripted dialogue: sends the first part (if not empty), then for
    /// each further part reads what the client sends and answers with it;
    /// then closes.
    Script(&'static [&'static [u8]]),
}

/// One accepted connection as the server saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub server: String,
    pub peer: SocketAddr,
}

pub struct Servers {
    pub seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Servers {
    /// Starts `(name, addr, behaviour)` servers inside namespace `ns_path`
    /// ("" = the current one).
    pub fn start(ns_path: &str, specs: &[(&str, SocketAddr, Behaviour)]) -> Servers {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        for (name, addr, beh) in specs {
            let (name, addr, beh) = (name.to_string(), *addr, *beh);
            let (seen, stop) = (Arc::clone(&seen), Arc::clone(&stop));
            let ns = ns_path.to_string();
            let (tx, rx) = std::sync::mpsc::channel();
            threads.push(std::thread::spawn(move || {
                if !ns.is_empty() {
                    super::netns::enter(&ns);
                }
                let l = TcpListener::bind(addr).unwrap_or_else(|e| panic!("bind {addr}: {e}"));
                l.set_nonblocking(true).expect("nonblocking");
                let _ = tx.send(());
                while !stop.load(Ordering::Relaxed) {
                    match l.accept() {
                        Ok((c, peer)) => {
                            seen.lock().expect("seen").push(Seen {
                                server: name.clone(),
                                peer,
                            });
                            let name = name.clone();
                            std::thread::spawn(move || handle(c, &name, peer, beh));
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(2)),
                    }
                }
            }));
            rx.recv_timeout(Duration::from_secs(5))
                .expect("server listening");
        }
        Servers {
            seen,
            stop,
            threads,
        }
    }

    pub fn names(&self) -> Vec<String> {
        self.seen
            .lock()
            .expect("seen")
            .iter()
            .map(|s| s.server.clone())
            .collect()
    }

    pub fn clear(&self) {
        self.seen.lock().expect("seen").clear();
    }
}

fn handle(mut c: TcpStream, name: &str, peer: SocketAddr, beh: Behaviour) {
    let _ = c.set_read_timeout(Some(Duration::from_secs(30)));
    match beh {
        Behaviour::Close => {}
        Behaviour::Silent => {
            let mut buf = [0u8; 4096];
            while matches!(c.read(&mut buf), Ok(n) if n > 0) {}
        }
        Behaviour::Echo => {
            let _ = c.write_all(format!("{name} {peer}\n").as_bytes());
            let mut buf = [0u8; 16384];
            loop {
                match c.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if c.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                }
            }
        }
        Behaviour::Count => {
            let mut buf = [0u8; 16384];
            let mut total = 0;
            loop {
                match c.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => total += n,
                    Err(_) => return,
                }
            }
            std::thread::sleep(Duration::from_millis(200));
            let _ = c.write_all(format!("got {total}\n").as_bytes());
        }
        Behaviour::Script(parts) => {
            let _ = c.set_read_timeout(Some(Duration::from_secs(2)));
            if let Some(first) = parts.first()
                && !first.is_empty()
            {
                let _ = c.write_all(first);
            }
            let mut buf = [0u8; 4096];
            for p in parts.iter().skip(1) {
                match c.read(&mut buf) {
                    Ok(n) if n > 0 => {}
                    _ => return,
                }
                if c.write_all(p).is_err() {
                    return;
                }
            }
            // let the client read before the close
            std::thread::sleep(Duration::from_millis(50));
        }
        Behaviour::Abort(n) => {
            let _ = c.write_all(format!("{name} {peer}\n").as_bytes());
            let _ = c.write_all(&vec![b'x'; n]);
            // SO_LINGER 0: close(2) sends a reset.
            let _ = socket2::SockRef::from(&c).set_linger(Some(Duration::ZERO));
        }
        Behaviour::Stream(n) => {
            let _ = c.write_all(format!("{name} {peer}\n").as_bytes());
            let chunk = vec![b'x'; 65536];
            let mut left = n;
            while left > 0 {
                let k = left.min(chunk.len());
                if c.write_all(&chunk[..k]).is_err() {
                    break;
                }
                left -= k;
            }
        }
    }
}

impl Drop for Servers {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}
