//! Log lines, haproxy and rproxy side by side: the same traffic (HTTP and
//! TCP; successes, denials, redirects, server errors and timeouts,
//! refused connections), logged to a UDP socket and to a Unix datagram
//! socket the test reads; each line compared field by field, with what
//! depends on the moment masked (dates, PIDs, client ports) and timers
//! compared within a tolerance.

mod support;

use std::net::{SocketAddr, UdpSocket};
use std::os::unix::net::UnixDatagram;
use std::time::Duration;
use support::http::{HttpServers, exchange};
use support::netns::{Ns, unique};
use support::proxy::each;

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("address")
}

/// Masks what legitimately differs between two runs.
fn mask(line: &str) -> String {
    let re = |p: &str| regex::Regex::new(p).expect("regex");
    let mut l = line.to_string();
    // syslog header: date and pid
    l = re(r"^<(\d+)>\w{3} [ \d]\d \d\d:\d\d:\d\d ")
        .replace(&l, "<$1>DATE ")
        .into_owned();
    support::logs::mask_traffic(&l)
}

/// Timer groups such as `0/0/1/2/3` or `1/-1/3003`: compared with a
/// tolerance, -1 exactly.
fn timers_close(a: &str, b: &str, tol: i64) -> bool {
    let pa: Vec<&str> = a.split('/').collect();
    let pb: Vec<&str> = b.split('/').collect();
    pa.len() == pb.len()
        && pa
            .iter()
            .zip(&pb)
            .all(|(x, y)| match (x.parse::<i64>(), y.parse::<i64>()) {
                (Ok(x), Ok(y)) => (x == -1) == (y == -1) && (x - y).abs() <= tol,
                _ => x == y,
            })
}

fn same_line(a: &str, b: &str) -> bool {
    let (a, b) = (mask(a), mask(b));
    let ta: Vec<&str> = a.split(' ').collect();
    let tb: Vec<&str> = b.split(' ').collect();
    ta.len() == tb.len()
        && ta.iter().zip(&tb).all(|(x, y)| {
            x == y
                || (x.contains('/')
                    && x.chars()
                        .all(|c| c.is_ascii_digit() || c == '/' || c == '-')
                    && timers_close(x, y, 150))
        })
}

/// Reads datagrams until `quiet` passes without one.
fn drain_udp(s: &UdpSocket, quiet: Duration) -> Vec<String> {
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    let _ = s.set_read_timeout(Some(quiet));
    while let Ok(n) = s.recv(&mut buf) {
        out.push(String::from_utf8_lossy(&buf[..n]).trim_end().to_string());
    }
    out
}

fn drain_unix(s: &UnixDatagram, quiet: Duration) -> Vec<String> {
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    let _ = s.set_read_timeout(Some(quiet));
    while let Ok(n) = s.recv(&mut buf) {
        out.push(String::from_utf8_lossy(&buf[..n]).trim_end().to_string());
    }
    out
}

#[test]
fn log_lines_match_haproxy() {
    if !support::require_root() || support::haproxy_bin().is_none() {
        return;
    }
    let lb = Ns::new(unique("logs"));
    let servers = HttpServers::start(&lb.name, &[("s1", addr("127.0.0.1:9001"))]);
    let dir = std::env::temp_dir().join(unique("logsock"));
    std::fs::create_dir_all(&dir).expect("dir");
    let sock_path = dir.join("log.sock");
    let unix = UnixDatagram::bind(&sock_path).expect("unix log socket");
    let udp = lb.run(|| UdpSocket::bind("127.0.0.1:5514").expect("udp log socket"));
    let cfg = format!(
        "global\n    nbthread 1\n    log 127.0.0.1:5514 local0\n    log {} local1 info\n\
         defaults\n    log global\n    timeout connect 1s\n    timeout client 3s\n    timeout server 1s\n\
         frontend web\n    mode http\n    bind 127.0.0.1:8001\n    option httplog\n\
         \x20   capture request header Host len 20\n    capture cookie SRVID len 32\n\
         \x20   http-request deny if {{ path /deny }}\n\
         \x20   http-request redirect location /there if {{ path /redir }}\n\
         \x20   use_backend nobody if {{ path /none }}\n    default_backend app\n\
         backend app\n    mode http\n    cookie SRVID insert indirect\n    server s1 127.0.0.1:9001 cookie a\n\
         backend nobody\n    mode http\n    retries 0\n    server dead 127.0.0.1:9099\n\
         frontend custom\n    mode http\n    bind 127.0.0.1:8002\n\
         \x20   log-format \"%ci %HM %HU %HP %HV %ST %{{+Q}}r %b/%s %tsc\"\n    default_backend app\n\
         listen tcp\n    mode tcp\n    bind 127.0.0.1:8003\n    option tcplog\n    server s1 127.0.0.1:9001\n\
         listen tcprefused\n    mode tcp\n    bind 127.0.0.1:8004\n    option tcplog\n    retries 1\n    server dead 127.0.0.1:9099\n\
         listen plain\n    mode tcp\n    bind 127.0.0.1:8005\n    server s1 127.0.0.1:9001\n",
        sock_path.display()
    );
    let get = |p: &str| format!("GET {p} HTTP/1.1\r\nHost: test.example\r\n\r\n").into_bytes();
    let traffic: Vec<(u16, Vec<u8>)> = vec![
        (8001, get("/")),
        (8001, get("/deny")),
        (8001, get("/redir")),
        (8001, get("/none")),
        (8001, get("/slow")),
        (8001, get("/garbage")),
        (
            8001,
            b"GET / HTTP/1.1\r\nHost: test.example\r\nCookie: SRVID=a\r\n\r\n".to_vec(),
        ),
        (8001, b"BROKEN\r\n\r\n".to_vec()),
        (8002, get("/x?y=1")),
        (8003, get("/over-tcp")),
        (8004, b"hello".to_vec()),
        (8005, get("/plain")),
    ];
    let runs = each(&lb, &cfg, addr("127.0.0.1:8005"), || {
        drain_udp(&udp, Duration::from_millis(100));
        drain_unix(&unix, Duration::from_millis(10));
        for (port, data) in &traffic {
            let to = addr(&format!("127.0.0.1:{port}"));
            let data = data.clone();
            lb.run(move || exchange(to, &data, Duration::from_millis(300)));
        }
        std::thread::sleep(Duration::from_millis(300));
        (
            drain_udp(&udp, Duration::from_millis(300)),
            drain_unix(&unix, Duration::from_millis(100)),
        )
    });
    servers.take();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(runs.len(), 2);
    let ((hu, hx), (ru, rx)) = (&runs[0].1, &runs[1].1);
    let mut report = Vec::new();
    for (what, h, r) in [("udp", hu, ru), ("unix", hx, rx)] {
        let n = h.len().max(r.len());
        for i in 0..n {
            let (a, b) = (h.get(i), r.get(i));
            let ok = matches!((a, b), (Some(a), Some(b)) if same_line(a, b));
            if !ok {
                report.push(format!(
                    "{what} line {i}:\n  haproxy {}\n  rproxy  {}",
                    a.map_or("(none)".into(), |x| mask(x)),
                    b.map_or("(none)".into(), |x| mask(x))
                ));
            }
        }
        assert!(!h.is_empty(), "haproxy logged on {what}");
    }
    assert!(
        report.is_empty(),
        "log lines differ:\n{}",
        report.join("\n")
    );
}
