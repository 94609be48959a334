//! Load tools for bench/run that wrk does not cover:
//!
//! * `latency ADDR RATE SECS CONNS`: HTTP/1.1 GETs at a fixed rate over
//!   CONNS kept-alive connections; latency counted from each request's
//!   scheduled time (no coordinated omission); prints `p50_ms p99_ms sent`.
//! * `idle ADDR COUNT SECS`: opens COUNT idle connections and holds them
//!   for SECS seconds; prints `opened N` once they are all open.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("latency") => latency(&args[2..]),
        Some("idle") => idle(&args[2..]),
        _ => {
            eprintln!("usage: bench_client latency ADDR RATE SECS CONNS | idle ADDR COUNT SECS");
            std::process::exit(2);
        }
    }
}

fn arg<T: std::str::FromStr>(a: &[String], i: usize) -> T {
    a.get(i).and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        eprintln!("bad argument {i}");
        std::process::exit(2)
    })
}

fn read_response(s: &mut TcpStream, buf: &mut Vec<u8>) -> bool {
    // Reads one response with a Content-Length body.
    buf.clear();
    let mut tmp = [0u8; 16384];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            while buf.len() < end + 4 + len {
                match s.read(&mut tmp) {
                    Ok(0) | Err(_) => return false,
                    Ok(n) => buf.extend_from_slice(&tmp[..n]),
                }
            }
            return true;
        }
        match s.read(&mut tmp) {
            Ok(0) | Err(_) => return false,
            Ok(n) => buf.extend_from_slice(&tmp[..n]),
        }
    }
}

fn latency(a: &[String]) {
    let addr: SocketAddr = arg(a, 0);
    let rate: f64 = arg(a, 1);
    let secs: f64 = arg(a, 2);
    let conns: usize = arg(a, 3);
    let per_conn = rate / conns as f64;
    let start = Instant::now() + Duration::from_millis(100);
    let handles: Vec<_> = (0..conns)
        .map(|c| {
            std::thread::spawn(move || {
                let mut lat = Vec::new();
                let Ok(mut s) = TcpStream::connect(addr) else {
                    return lat;
                };
                let _ = s.set_nodelay(true);
                let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                let req = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n";
                let interval = Duration::from_secs_f64(1.0 / per_conn);
                // spread the connections over one interval
                let mut next = start + interval.mul_f64(c as f64 / conns as f64);
                let end = start + Duration::from_secs_f64(secs);
                let mut buf = Vec::with_capacity(16384);
                while next < end {
                    let now = Instant::now();
                    if next > now {
                        std::thread::sleep(next - now);
                    }
                    if s.write_all(req).is_err() || !read_response(&mut s, &mut buf) {
                        break;
                    }
                    lat.push(next.elapsed());
                    next += interval;
                }
                lat
            })
        })
        .collect();
    let mut all: Vec<Duration> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap_or_default())
        .collect();
    all.sort();
    if all.is_empty() {
        println!("nan nan 0");
        return;
    }
    let pct =
        |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)].as_secs_f64() * 1000.0;
    println!("{:.3} {:.3} {}", pct(0.50), pct(0.99), all.len());
}

fn idle(a: &[String]) {
    let addr: SocketAddr = arg(a, 0);
    let count: usize = arg(a, 1);
    let secs: u64 = arg(a, 2);
    let mut held = Vec::with_capacity(count);
    for _ in 0..count {
        match TcpStream::connect_timeout(&addr, Duration::from_secs(5)) {
            Ok(s) => held.push(s),
            Err(e) => {
                eprintln!("connect failed after {}: {e}", held.len());
                break;
            }
        }
    }
    println!("opened {}", held.len());
    let _ = std::io::stdout().flush();
    std::thread::sleep(Duration::from_secs(secs));
    drop(held);
}
