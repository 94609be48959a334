//! `tcp-request connection|session|content` rules, haproxy and rproxy side
//! by side: access control on the client address, content inspection
//! with `inspect-delay` (a TLS ClientHello arriving in pieces), SNI-based
//! routing, and the counters the refusals feed (`dcon`, `dses`, `dreq`).

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;
use support::client::{Ending, probe};
use support::netns::{Ns, unique};
use support::proxy::each;
use support::servers::{Behaviour, Servers};

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("address")
}

/// A minimal TLS ClientHello carrying `name` in its SNI extension.
fn client_hello(name: &str) -> Vec<u8> {
    let mut list = vec![0u8];
    list.extend((name.len() as u16).to_be_bytes());
    list.extend(name.as_bytes());
    let mut ext_data = (list.len() as u16).to_be_bytes().to_vec();
    ext_data.extend(&list);
    let mut sni = vec![0u8, 0];
    sni.extend((ext_data.len() as u16).to_be_bytes());
    sni.extend(&ext_data);
    let mut body = vec![3u8, 3];
    body.extend([7u8; 32]);
    body.push(0);
    body.extend([0u8, 2, 0x13, 0x01]);
    body.extend([1u8, 0]);
    body.extend((sni.len() as u16).to_be_bytes());
    body.extend(&sni);
    let mut hs = vec![1u8];
    hs.extend(&(body.len() as u32).to_be_bytes()[1..]);
    hs.extend(&body);
    let mut rec = vec![0x16u8, 3, 1];
    rec.extend((hs.len() as u16).to_be_bytes());
    rec.extend(&hs);
    rec
}

/// Sends `first`, waits, sends `rest`, and reports the server that
/// answered (the banner's first word) and how the connection ended.
fn in_two_parts(to: SocketAddr, first: &[u8], rest: &[u8], gap: Duration) -> (String, String) {
    let Ok(mut s) = TcpStream::connect(to) else {
        return ("-".into(), "refused".into());
    };
    let _ = s.write_all(first);
    std::thread::sleep(gap);
    let _ = s.write_all(rest);
    let _ = s.set_read_timeout(Some(Duration::from_millis(800)));
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let ending = loop {
        match s.read(&mut buf) {
            Ok(0) => break "eof",
            Ok(n) => data.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break "reset",
            Err(_) => break "open",
        }
    };
    let text = String::from_utf8_lossy(&data);
    let server = text.split_whitespace().next().unwrap_or("-").to_string();
    (server, ending.to_string())
}

/// pxname/svname → (dcon, dses, dreq, stot).
fn denials(csv: &str) -> Vec<(String, String)> {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines
        .next()
        .unwrap_or_default()
        .trim_start_matches("# ")
        .split(',')
        .collect();
    let col = |n: &str| header.iter().position(|c| *c == n).unwrap_or(0);
    let (dcon, dses, dreq, stot, conn_tot) = (
        col("dcon"),
        col("dses"),
        col("dreq"),
        col("stot"),
        col("conn_tot"),
    );
    lines
        .filter(|l| l.contains("FRONTEND") || l.contains("BACKEND"))
        .map(|l| {
            let v: Vec<&str> = l.split(',').collect();
            (
                format!("{}/{}", v[0], v[1]),
                format!(
                    "dcon={} dses={} dreq={} stot={} conn_tot={}",
                    v[dcon], v[dses], v[dreq], v[stot], v[conn_tot]
                ),
            )
        })
        .collect()
}

#[test]
fn tcp_request_rules_match_haproxy() {
    if !support::require_root() || support::haproxy_bin().is_none() {
        return;
    }
    let lb = Ns::new(unique("tcprules"));
    let servers = Servers::start(
        &lb.path(),
        &[
            ("a", addr("127.0.0.1:9201"), Behaviour::Echo),
            ("other", addr("127.0.0.1:9202"), Behaviour::Echo),
        ],
    );
    let dir = std::env::temp_dir().join(unique("tcprules-sock"));
    std::fs::create_dir_all(&dir).expect("dir");
    let sock = dir.join("admin.sock");
    let cfg = format!(
        "global\n    nbthread 1\n    stats socket {} level admin\n\
         defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 3s\n    timeout server 3s\n\
         frontend tls\n    bind 127.0.0.1:8201\n\
         \x20   tcp-request connection reject if {{ src 127.0.0.2 }}\n\
         \x20   tcp-request inspect-delay 2s\n\
         \x20   tcp-request content accept if {{ req.ssl_hello_type 1 }}\n\
         \x20   tcp-request content reject\n\
         \x20   use_backend a if {{ req.ssl_sni -i a.example }}\n\
         \x20   default_backend other\n\
         frontend plain\n    bind 127.0.0.1:8202\n\
         \x20   tcp-request content reject if {{ src 127.0.0.3 }}\n\
         \x20   default_backend other\n\
         backend a\n    server a 127.0.0.1:9201\n\
         backend other\n    server other 127.0.0.1:9202\n",
        sock.display()
    );
    let runs = each(&lb, &cfg, addr("127.0.0.1:8202"), || {
        let mut out: Vec<(String, String)> = Vec::new();
        let tls = addr("127.0.0.1:8201");
        let plain = addr("127.0.0.1:8202");
        let wait = Duration::from_millis(700);
        // refused on the client address: nothing reaches a server
        let p = lb.run(move || probe(tls, Some(addr("127.0.0.2:0")), b"", false, wait));
        out.push((
            "connection reject".into(),
            // The reset can reach the client before its connect(2) has
            // returned (then seen as refused) or just after: both are the
            // connection reset at once, with no data.
            format!(
                "{:?} {}",
                p.server(),
                match p.ending {
                    Ending::Refused | Ending::Reset => "reset at once".to_string(),
                    other => format!("{other:?}"),
                }
            ),
        ));
        // SNI routing, in one piece and in two
        for (what, name) in [("sni a", "a.example"), ("sni b", "b.example")] {
            let hello = client_hello(name);
            let p = lb.run(move || probe(tls, None, &hello, false, wait));
            out.push((what.into(), format!("{:?}", p.server())));
        }
        let hello = client_hello("A.EXAMPLE");
        let (first, rest) = hello.split_at(20);
        let (first, rest) = (first.to_vec(), rest.to_vec());
        let r = lb.run(move || in_two_parts(tls, &first, &rest, Duration::from_millis(300)));
        out.push(("sni in two parts".into(), r.0));
        // not TLS: refused once the data shows it
        let p = lb.run(move || probe(tls, None, b"hello\n", false, wait));
        out.push((
            "content reject".into(),
            format!("{:?} closed={}", p.server(), p.ending != Ending::StillOpen),
        ));
        // content reject on an address, without inspect-delay
        let p = lb.run(move || probe(plain, Some(addr("127.0.0.3:0")), b"x\n", false, wait));
        out.push((
            "content reject by src".into(),
            format!("{:?} closed={}", p.server(), p.ending != Ending::StillOpen),
        ));
        let p = lb.run(move || probe(plain, Some(addr("127.0.0.4:0")), b"x\n", false, wait));
        out.push(("allowed".into(), format!("{:?}", p.server())));
        std::thread::sleep(Duration::from_millis(200));
        out.extend(denials(&support::cli(&sock, "show stat")));
        out
    });
    drop(servers);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(runs.len(), 2);
    let (h, r) = (&runs[0].1, &runs[1].1);
    assert!(
        h.iter().any(|(k, v)| k == "sni a" && v.contains("\"a\"")),
        "haproxy routes by SNI: {h:?}"
    );
    let diffs: Vec<String> = h
        .iter()
        .zip(r)
        .filter(|(a, b)| a != b)
        .map(|(a, b)| format!("{}: haproxy {} | rproxy {}", a.0, a.1, b.1))
        .collect();
    assert_eq!(h.len(), r.len(), "haproxy {h:?}\nrproxy {r:?}");
    assert!(diffs.is_empty(), "differences:\n{}", diffs.join("\n"));
}
