//! TCP mode, haproxy and rproxy side by side on the same configuration and
//! traffic: who the servers see (transparent set-ups of the seed), which
//! server gets each connection, and when connections end.

mod support;

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use support::client::{self, Ending};
use support::netns::{Ns, Topology, unique};
use support::proxy::{Which, each};
use support::servers::{Behaviour, Servers};

fn sa(ip: IpAddr, port: u16) -> SocketAddr {
    SocketAddr::new(ip, port)
}

fn transparent_setup(topo: &Topology) {
    let servers = Servers::start(
        &topo.servers.path(),
        &[
            ("s1", sa(topo.server_ips[0], 8080), Behaviour::Echo),
            ("s2", sa(topo.server_ips[1], 8080), Behaviour::Echo),
        ],
    );
    let cfg = format!(
        "global\n    nbthread 1\n\
         defaults\n    mode tcp\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n\
         listen http1\n    bind {vip}:80\n    balance roundrobin\n    source 0.0.0.0 usesrc clientip\n\
         \x20   server http1_1 {s1}:8080\n    server http1_2 {s2}:8080\n",
        vip = topo.vip,
        s1 = topo.server_ips[0],
        s2 = topo.server_ips[1],
    );
    let vip = sa(topo.vip, 80);
    let client_ns = topo.client.path();
    let results = each(&topo.lb, &cfg, vip, || {
        let ns = client_ns.clone();
        std::thread::spawn(move || {
            support::netns::enter(&ns);
            (0..4)
                .map(|_| client::banner(vip, None))
                .collect::<Vec<_>>()
        })
        .join()
        .expect("client")
    });
    assert_eq!(results.len(), 2);
    for (w, probes) in &results {
        for p in probes {
            assert_eq!(
                p.peer_ip().as_deref(),
                Some(topo.client_ip.to_string().as_str()),
                "{}: the server must see the client's own address, got {:?}",
                w.name(),
                p.banner()
            );
        }
    }
    let seq =
        |i: usize| -> Vec<Option<String>> { results[i].1.iter().map(|p| p.server()).collect() };
    assert_eq!(
        seq(0),
        seq(1),
        "same server sequence under haproxy and rproxy"
    );
    assert_eq!(
        seq(1),
        vec![
            Some("s1".into()),
            Some("s2".into()),
            Some("s1".into()),
            Some("s2".into())
        ]
    );
    drop(servers);
}

/// The seed's dual-subnet layout: servers route back through the load
/// balancer, and see the client's address (`usesrc clientip`).
#[test]
fn seed_dual_subnet_servers_see_client_address() {
    if !support::require_root() || support::haproxy_bin().is_none() {
        return;
    }
    transparent_setup(&Topology::dual_subnet("dual"));
}

/// The seed's single-subnet layout: servers on the load balancer's subnet
/// with it as gateway, clients in another subnet.
#[test]
fn seed_single_subnet_servers_see_client_address() {
    if !support::require_root() || support::haproxy_bin().is_none() {
        return;
    }
    transparent_setup(&Topology::single_subnet("single"));
}

/// Sequences of `n` connections to `listen lb` on 127.0.0.1:port with
/// three echo servers; `bind_ips` picks each connection's source address.
fn sequences(
    tag: &str,
    backend: &str,
    n: usize,
    bind_ips: Option<Vec<IpAddr>>,
) -> Vec<(Which, Vec<Option<String>>)> {
    let lb = Ns::new(unique(tag));
    let servers = Servers::start(
        &lb.path(),
        &[
            (
                "s1",
                "127.0.0.1:9001".parse().expect("addr"),
                Behaviour::Echo,
            ),
            (
                "s2",
                "127.0.0.1:9002".parse().expect("addr"),
                Behaviour::Echo,
            ),
            (
                "s3",
                "127.0.0.1:9003".parse().expect("addr"),
                Behaviour::Echo,
            ),
        ],
    );
    let cfg = format!(
        "global\n    nbthread 1\n\
         defaults\n    mode tcp\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n\
         listen lb\n    bind 127.0.0.1:8000\n{backend}"
    );
    let to: SocketAddr = "127.0.0.1:8000".parse().expect("addr");
    let path = lb.path();
    let r = each(&lb, &cfg, to, || {
        let path = path.clone();
        let ips = bind_ips.clone();
        std::thread::spawn(move || {
            support::netns::enter(&path);
            (0..n)
                .map(|i| {
                    let bind = ips.as_ref().map(|v| SocketAddr::new(v[i % v.len()], 0));
                    let s = client::banner(to, bind).server();
                    // Let the proxy see the close before the next pick:
                    // leastconn's choice depends on it, and a loaded
                    // machine would otherwise race the two.
                    std::thread::sleep(Duration::from_millis(20));
                    s
                })
                .collect::<Vec<_>>()
        })
        .join()
        .expect("client")
    });
    drop(servers);
    r
}

fn assert_same(r: &[(Which, Vec<Option<String>>)], what: &str) -> Vec<Option<String>> {
    if r.is_empty() {
        return Vec::new();
    }
    assert_eq!(
        r[0].1, r[1].1,
        "{what}: haproxy and rproxy picked differently"
    );
    r[1].1.clone()
}

fn names(v: &[Option<String>]) -> String {
    v.iter()
        .map(|s| s.as_deref().unwrap_or("-"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn balance_sequences_match_haproxy() {
    if !support::require_root() || support::haproxy_bin().is_none() {
        return;
    }
    let cases: &[(&str, &str)] = &[
        (
            "rr-weights",
            "    balance roundrobin\n    server s1 127.0.0.1:9001 weight 1\n    server s2 127.0.0.1:9002 weight 2\n    server s3 127.0.0.1:9003 weight 3\n",
        ),
        (
            "static-rr",
            "    balance static-rr\n    server s1 127.0.0.1:9001 weight 5\n    server s2 127.0.0.1:9002 weight 3\n    server s3 127.0.0.1:9003 weight 1\n",
        ),
        (
            "leastconn",
            "    balance leastconn\n    server s1 127.0.0.1:9001 weight 3\n    server s2 127.0.0.1:9002\n    server s3 127.0.0.1:9003\n",
        ),
        (
            "first",
            "    balance first\n    server s1 127.0.0.1:9001 id 3\n    server s2 127.0.0.1:9002 id 1\n    server s3 127.0.0.1:9003 id 2\n",
        ),
        (
            "backup",
            "    balance roundrobin\n    server s1 127.0.0.1:9001 disabled\n    server s2 127.0.0.1:9002 backup\n    server s3 127.0.0.1:9003 backup\n",
        ),
        (
            "allbackups",
            "    balance roundrobin\n    option allbackups\n    server s1 127.0.0.1:9001 disabled\n    server s2 127.0.0.1:9002 backup\n    server s3 127.0.0.1:9003 backup\n",
        ),
        (
            "weight-zero",
            "    balance roundrobin\n    server s1 127.0.0.1:9001 weight 0\n    server s2 127.0.0.1:9002\n    server s3 127.0.0.1:9003\n",
        ),
    ];
    for (tag, backend) in cases {
        let r = sequences(tag, backend, 12, None);
        let seq = assert_same(&r, tag);
        eprintln!("{tag}: {}", names(&seq));
        assert!(
            seq.iter().all(Option::is_some),
            "{tag}: every connection was served"
        );
    }
}

#[test]
fn balance_source_matches_haproxy() {
    if !support::require_root() || support::haproxy_bin().is_none() {
        return;
    }
    let ips: Vec<IpAddr> = (1..=12)
        .map(|i| format!("127.0.0.{i}").parse().expect("ip"))
        .collect();
    for (tag, ht) in [
        ("src-map", ""),
        ("src-cons", "    hash-type consistent\n"),
        ("src-aval", "    hash-type map-based sdbm avalanche\n"),
    ] {
        let backend = format!(
            "    balance source\n{ht}    server s1 127.0.0.1:9001\n    server s2 127.0.0.1:9002 weight 2\n    server s3 127.0.0.1:9003\n"
        );
        let r = sequences(tag, &backend, 12, Some(ips.clone()));
        let seq = assert_same(&r, tag);
        eprintln!("{tag}: {}", names(&seq));
    }
}

/// When timeouts fire, each proxy closes at the same moment (within a
/// tolerance) and in the same way.
#[test]
fn timeouts_match_haproxy() {
    if !support::require_root() || support::haproxy_bin().is_none() {
        return;
    }
    let lb = Ns::new(unique("tmo"));
    let _servers = Servers::start(
        &lb.path(),
        &[
            (
                "echo",
                "127.0.0.1:9001".parse().expect("addr"),
                Behaviour::Echo,
            ),
            (
                "silent",
                "127.0.0.1:9002".parse().expect("addr"),
                Behaviour::Silent,
            ),
        ],
    );
    // 9003: nothing listens (refused). 9004: SYNs dropped (connect timeout).
    lb.sh("iptables -A INPUT -p tcp --dport 9004 -j DROP");
    let cfg = "global\n    nbthread 1\n\
        defaults\n    mode tcp\n    timeout connect 400ms\n    timeout client 1200ms\n    timeout server 800ms\n\
        listen client_idle\n    bind 127.0.0.1:8001\n    timeout server 5s\n    server s 127.0.0.1:9001\n\
        listen server_idle\n    bind 127.0.0.1:8002\n    timeout client 5s\n    server s 127.0.0.1:9002\n\
        listen refused\n    bind 127.0.0.1:8003\n    timeout client 10s\n    retries 2\n    server s 127.0.0.1:9003\n\
        listen blackhole\n    bind 127.0.0.1:8004\n    timeout client 10s\n    retries 1\n    server s 127.0.0.1:9004\n\
        listen tunnel\n    bind 127.0.0.1:8005\n    timeout tunnel 600ms\n    server s 127.0.0.1:9001\n\
        listen nosrv\n    bind 127.0.0.1:8006\n";
    let path = lb.path();
    let probes = |port: u16, send: &'static [u8]| {
        let path = path.clone();
        move || {
            let path = path.clone();
            std::thread::spawn(move || {
                support::netns::enter(&path);
                let to: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
                client::probe(to, None, send, false, Duration::from_secs(6))
            })
            .join()
            .expect("client")
        }
    };
    // (port, data sent, what it shows)
    let cases: &[(u16, &'static [u8], &str)] = &[
        (8001, b"", "client timeout while idle"),
        (8002, b"ping", "server timeout while idle"),
        (8003, b"", "refused, 2 retries with turn-around delay"),
        (8004, b"", "connect timeout, 1 retry"),
        (8005, b"", "tunnel timeout replaces client/server"),
        (8006, b"", "no server"),
    ];
    for (port, send, what) in cases {
        let r = each(
            &lb,
            cfg,
            format!("127.0.0.1:{port}").parse().expect("addr"),
            probes(*port, send),
        );
        let (h, p) = (&r[0].1, &r[1].1);
        let tol = Duration::from_millis(300);
        let diff = h.elapsed.abs_diff(p.elapsed);
        eprintln!(
            "{what}: haproxy {:?} after {:?}, rproxy {:?} after {:?}",
            h.ending, h.elapsed, p.ending, p.elapsed
        );
        assert_eq!(h.ending, p.ending, "{what}: same ending");
        assert!(
            diff <= tol,
            "{what}: haproxy ended after {:?}, rproxy after {:?}",
            h.elapsed,
            p.elapsed
        );
        assert_ne!(
            p.ending,
            Ending::StillOpen,
            "{what}: the connection must end"
        );
    }
}

/// Server maxconn with a queue: a second client waits for the first one's
/// slot, and gives up at `timeout queue`.
#[test]
fn maxconn_queue_matches_haproxy() {
    if !support::require_root() || support::haproxy_bin().is_none() {
        return;
    }
    let lb = Ns::new(unique("queue"));
    let _servers = Servers::start(
        &lb.path(),
        &[(
            "silent",
            "127.0.0.1:9001".parse().expect("addr"),
            Behaviour::Silent,
        )],
    );
    let cfg = "global\n    nbthread 1\n\
        defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 10s\n    timeout server 10s\n    timeout queue 700ms\n\
        listen q\n    bind 127.0.0.1:8000\n    server s 127.0.0.1:9001 maxconn 1\n";
    let path = lb.path();
    let r = each(&lb, cfg, "127.0.0.1:8000".parse().expect("addr"), || {
        let path = path.clone();
        std::thread::spawn(move || {
            support::netns::enter(&path);
            let to: SocketAddr = "127.0.0.1:8000".parse().expect("addr");
            // The first holds the only slot; the second is queued then
            // dropped at `timeout queue`.
            let holder = std::thread::spawn(move || {
                client::probe(to, None, b"x", false, Duration::from_millis(1500))
            });
            std::thread::sleep(Duration::from_millis(200));
            let queued = client::probe(to, None, b"y", false, Duration::from_secs(3));
            let first = holder.join().expect("holder");
            (first, queued)
        })
        .join()
        .expect("client")
    });
    let ((h1, h2), (p1, p2)) = (&r[0].1, &r[1].1);
    eprintln!(
        "queued: haproxy {:?} {:?}, rproxy {:?} {:?}",
        h2.ending, h2.elapsed, p2.ending, p2.elapsed
    );
    assert_eq!(h1.ending, p1.ending);
    assert_eq!(h2.ending, p2.ending);
    let diff = h2.elapsed.abs_diff(p2.elapsed);
    assert!(
        diff <= Duration::from_millis(300),
        "queue timeout: haproxy {:?}, rproxy {:?}",
        h2.elapsed,
        p2.elapsed
    );
}

/// `minconn` with `fullconn`: while the backend is lightly loaded a server
/// takes only `minconn` connections, the rest wait in the queue.
#[test]
fn minconn_fullconn_match_haproxy() {
    if !support::require_root() || support::haproxy_bin().is_none() {
        return;
    }
    let lb = Ns::new(unique("minconn"));
    let servers = Servers::start(
        &lb.path(),
        &[(
            "silent",
            "127.0.0.1:9001".parse().expect("addr"),
            Behaviour::Silent,
        )],
    );
    let cfg = "global\n    nbthread 1\n\
        defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 10s\n    timeout server 10s\n    timeout queue 5s\n\
        listen q\n    bind 127.0.0.1:8000\n    fullconn 100\n    server s 127.0.0.1:9001 maxconn 10 minconn 2\n";
    let path = lb.path();
    let seen = &servers;
    let r = each(&lb, cfg, "127.0.0.1:8000".parse().expect("addr"), || {
        seen.clear();
        let path = path.clone();
        let held = std::thread::spawn(move || {
            support::netns::enter(&path);
            let to: SocketAddr = "127.0.0.1:8000".parse().expect("addr");
            (0..4)
                .filter_map(|_| std::net::TcpStream::connect(to).ok())
                .collect::<Vec<_>>()
        })
        .join()
        .expect("client");
        std::thread::sleep(Duration::from_millis(500));
        let n = seen.names().len();
        drop(held);
        n
    });
    eprintln!("connections reaching the server: {r:?}");
    assert_eq!(r.len(), 2);
    assert_eq!(r[0].1, r[1].1, "same number served as haproxy");
    assert_eq!(r[1].1, 2, "minconn applies below fullconn");
}

/// Frontend and `bind … maxconn` limits across two threads: connections
/// beyond them wait (in the backlog) and are served as slots free up.
#[test]
fn frontend_and_bind_maxconn_match_haproxy() {
    if !support::require_root() || support::haproxy_bin().is_none() {
        return;
    }
    let lb = Ns::new(unique("femax"));
    let servers = Servers::start(
        &lb.path(),
        &[(
            "silent",
            "127.0.0.1:9001".parse().expect("addr"),
            Behaviour::Silent,
        )],
    );
    let cfg = "global\n    nbthread 1\n\
        defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 10s\n    timeout server 10s\n\
        listen q\n    bind 127.0.0.1:8000 maxconn 1\n    bind 127.0.0.1:8001\n    maxconn 3\n    server s 127.0.0.1:9001\n";
    let path = lb.path();
    let seen = &servers;
    let r = each(&lb, cfg, "127.0.0.1:8001".parse().expect("addr"), || {
        seen.clear();
        let path = path.clone();
        let connect = move |port: u16, n: usize| {
            let path = path.clone();
            std::thread::spawn(move || {
                support::netns::enter(&path);
                let to: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
                (0..n)
                    .filter_map(|_| std::net::TcpStream::connect(to).ok())
                    .collect::<Vec<_>>()
            })
            .join()
            .expect("client")
        };
        let on_limited = connect(8000, 2);
        std::thread::sleep(Duration::from_millis(300));
        let on_other = connect(8001, 3);
        std::thread::sleep(Duration::from_millis(500));
        let first = seen.names().len();
        drop(on_limited);
        std::thread::sleep(Duration::from_millis(500));
        let then = seen.names().len();
        drop(on_other);
        (first, then)
    });
    eprintln!("served (at first, after the bind's clients left): {r:?}");
    assert_eq!(r.len(), 2);
    assert_eq!(r[0].1.0, r[1].1.0, "same as haproxy");
    assert_eq!(r[1].1.0, 3, "frontend maxconn 3, bind maxconn 1");
    // Which waiting client gets the freed slot first differs: haproxy
    // resumes the bind's listener before the frontend's queue, rproxy
    // serves the longest-waiting client. Either way more are served.
    for (w, (first, then)) in &r {
        assert!(then > first, "{}: freed slots are reused", w.name());
    }
}
