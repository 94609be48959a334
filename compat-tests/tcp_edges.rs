//! TCP mode under bad or unusual conditions, haproxy and rproxy side by
//! side: half-closed connections, a server that vanishes mid-transfer,
//! running out of file descriptors, IPv6, and running as a daemon.

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};
use support::client::{self, Ending, Probe};
use support::netns::{Ns, unique};
use support::proxy::{BOTH, Running, Which, each};
use support::servers::{Behaviour, Servers};

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("address")
}

/// Runs `f` on a thread inside `ns`.
fn in_ns<T: Send + 'static>(ns: &Ns, f: impl FnOnce() -> T + Send + 'static) -> T {
    ns.run(f)
}

fn same_ending(r: &[(Which, Probe)], what: &str) {
    assert_eq!(r.len(), 2, "{what}: both proxies ran");
    let (h, p) = (&r[0].1, &r[1].1);
    eprintln!(
        "{what}: haproxy {:?} after {:?} ({} bytes), rproxy {:?} after {:?} ({} bytes)",
        h.ending,
        h.elapsed,
        h.data.len(),
        p.ending,
        p.elapsed,
        p.data.len()
    );
    assert_eq!(h.ending, p.ending, "{what}: same ending");
}

/// A client that sends its request and half-closes still gets the
/// server's answer; with `timeout client-fin` a half-closed client whose
/// server stays silent is dropped at that timeout.
#[test]
fn half_close_matches_haproxy() {
    if !support::require_root() || support::haproxy_bin().is_none() {
        return;
    }
    let lb = Ns::new(unique("hclose"));
    let _servers = Servers::start(
        &lb.path(),
        &[
            ("count", addr("127.0.0.1:9001"), Behaviour::Count),
            ("silent", addr("127.0.0.1:9002"), Behaviour::Silent),
        ],
    );
    let cfg = "global\n    nbthread 1\n\
        defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n\
        listen count\n    bind 127.0.0.1:8001\n    server s 127.0.0.1:9001\n\
        listen fin\n    bind 127.0.0.1:8002\n    timeout client-fin 600ms\n    server s 127.0.0.1:9002\n";

    let r = each(&lb, cfg, addr("127.0.0.1:8002"), || {
        in_ns(&lb, || {
            client::probe(
                addr("127.0.0.1:8001"),
                None,
                b"hello",
                true,
                Duration::from_secs(3),
            )
        })
    });
    same_ending(&r, "half-closed client, answering server");
    for (w, p) in &r {
        assert_eq!(
            String::from_utf8_lossy(&p.data),
            "got 5\n",
            "{}: the answer reaches the half-closed client",
            w.name()
        );
        assert_eq!(p.ending, Ending::Eof, "{}", w.name());
    }

    let r = each(&lb, cfg, addr("127.0.0.1:8002"), || {
        in_ns(&lb, || {
            client::probe(
                addr("127.0.0.1:8002"),
                None,
                b"x",
                true,
                Duration::from_secs(3),
            )
        })
    });
    same_ending(&r, "half-closed client, silent server (client-fin)");
    let (h, p) = (&r[0].1, &r[1].1);
    assert!(
        h.elapsed.abs_diff(p.elapsed) <= Duration::from_millis(300),
        "client-fin: haproxy {:?}, rproxy {:?}",
        h.elapsed,
        p.elapsed
    );
    assert!(p.elapsed < Duration::from_secs(2), "client-fin applies");
}

/// A server that resets the connection mid-transfer: the client's side is
/// closed as haproxy closes it, and a session on another server is
/// untouched.
#[test]
fn server_vanishing_mid_transfer() {
    if !support::require_root() || support::haproxy_bin().is_none() {
        return;
    }
    let lb = Ns::new(unique("vanish"));
    let _servers = Servers::start(
        &lb.path(),
        &[
            ("abort", addr("127.0.0.1:9001"), Behaviour::Abort(2 << 20)),
            ("echo", addr("127.0.0.1:9002"), Behaviour::Echo),
        ],
    );
    let cfg = "global\n    nbthread 1\n\
        defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n\
        listen abort\n    bind 127.0.0.1:8001\n    server s 127.0.0.1:9001\n\
        listen echo\n    bind 127.0.0.1:8002\n    server s 127.0.0.1:9002\n";
    let r = each(&lb, cfg, addr("127.0.0.1:8002"), || {
        in_ns(&lb, || {
            // A long-lived session on the healthy server.
            let mut other = TcpStream::connect(addr("127.0.0.1:8002")).expect("connect");
            other
                .set_read_timeout(Some(Duration::from_secs(3)))
                .expect("timeout");
            let mut banner = [0u8; 64];
            let _ = other.read(&mut banner);
            let aborted = client::probe(
                addr("127.0.0.1:8001"),
                None,
                b"",
                false,
                Duration::from_secs(3),
            );
            other.write_all(b"still here").expect("write after abort");
            let mut echo = [0u8; 10];
            other.read_exact(&mut echo).expect("echo after abort");
            assert_eq!(&echo, b"still here");
            aborted
        })
    });
    same_ending(&r, "server reset mid-transfer");
    for (w, p) in &r {
        assert!(
            p.server().as_deref() == Some("abort"),
            "{}: the transfer started",
            w.name()
        );
        assert_ne!(p.ending, Ending::StillOpen, "{}", w.name());
    }
}

/// Running out of file descriptors (`no strict-limits`, a hard limit of
/// 64 and maxconn 1000): the proxy keeps running, and serves new
/// connections once descriptors are free again.
#[test]
fn fd_exhaustion_pauses_accepting() {
    if !support::require_root() || support::haproxy_bin().is_none() {
        return;
    }
    let lb = Ns::new(unique("fds"));
    let _servers = Servers::start(
        &lb.path(),
        &[("echo", addr("127.0.0.1:9001"), Behaviour::Echo)],
    );
    let cfg = "global\n    nbthread 1\n    maxconn 1000\n    no strict-limits\n\
        defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 10s\n    timeout server 10s\n\
        listen echo\n    bind 127.0.0.1:8001 backlog 512\n    server s 127.0.0.1:9001\n";
    for w in BOTH {
        let Some(mut p) = Running::start_with(
            w,
            &lb.name,
            cfg,
            addr("127.0.0.1:8001"),
            &["prlimit", "--nofile=64:64"],
        ) else {
            return;
        };
        let (served, after) = in_ns(&lb, || {
            // Far more clients than descriptors; each waits for its banner.
            let clients: Vec<TcpStream> = (0..100)
                .filter_map(|_| TcpStream::connect(addr("127.0.0.1:8001")).ok())
                .collect();
            let deadline = Instant::now() + Duration::from_millis(1500);
            let mut served = 0;
            for mut c in clients.iter() {
                let left = deadline.saturating_duration_since(Instant::now());
                let _ = c.set_read_timeout(Some(left.max(Duration::from_millis(1))));
                let mut b = [0u8; 64];
                if matches!(c.read(&mut b), Ok(n) if n > 0) {
                    served += 1;
                }
            }
            drop(clients);
            std::thread::sleep(Duration::from_millis(500));
            let after = client::banner(addr("127.0.0.1:8001"), None);
            (served, after)
        });
        eprintln!(
            "{}: {served} of 100 clients served at 64 descriptors; afterwards {:?}",
            w.name(),
            after.banner()
        );
        assert!(p.alive(), "{} survived descriptor exhaustion", w.name());
        assert!(
            served > 0 && served < 100,
            "{}: served some, not all",
            w.name()
        );
        assert_eq!(
            after.server().as_deref(),
            Some("echo"),
            "{}: serves again once descriptors are free",
            w.name()
        );
        let stderr = p.stop();
        assert!(
            stderr.contains("FD limit (64) too low for maxconn=1000"),
            "{}: says why:\n{stderr}",
            w.name()
        );
    }
}

/// Without `strict-limits` either way, haproxy 2.6 refuses a maxconn the
/// descriptor limit cannot hold; rproxy (a documented difference) starts,
/// says so, and lowers maxconn: excess clients wait in the backlog.
#[test]
fn fd_limit_too_low_for_maxconn() {
    if !support::require_root() || support::haproxy_bin().is_none() {
        return;
    }
    let cfg = "global\n    nbthread 1\n    maxconn 1000\n\
        defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 10s\n    timeout server 10s\n\
        listen echo\n    bind 127.0.0.1:8001\n    server s 127.0.0.1:9001\n";
    let dir = std::env::temp_dir().join(unique("fdlow"));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("t.cfg");
    std::fs::write(&path, cfg).expect("cfg");
    // -c does not apply limits: start for real, in a namespace of its own.
    let lb = Ns::new(unique("fdlow"));
    let run = |w: Which| {
        let bin = w.bin().expect("binary");
        let mut child = Command::new("ip")
            .args(["netns", "exec", &lb.name, "prlimit", "--nofile=64:64"])
            .arg(bin)
            .arg("-db")
            .arg("-f")
            .arg(&path)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn");
        std::thread::sleep(Duration::from_millis(700));
        let running = matches!(child.try_wait(), Ok(None));
        let _ = child.kill();
        let out = child.wait_with_output().expect("wait");
        (
            running,
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (h_running, h_code, h_err) = run(Which::Haproxy);
    assert!(!h_running && h_code == Some(1), "haproxy refuses: {h_err}");
    assert!(h_err.contains("Cannot raise FD limit to"), "{h_err}");
    let (r_running, _, r_err) = run(Which::Rproxy);
    assert!(r_running, "rproxy starts: {r_err}");
    assert!(
        r_err.contains("[WARNING]") && r_err.contains("rproxy lowers maxconn to"),
        "{r_err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// IPv6: binds on ::1 and on :: (v4v6 by default, `v6only` on request),
/// servers on ::1; the server sees the client's IPv6 address.
#[test]
fn ipv6_matches_haproxy() {
    if !support::require_root() || support::haproxy_bin().is_none() {
        return;
    }
    let lb = Ns::new(unique("ipv6"));
    let _servers = Servers::start(
        &lb.path(),
        &[("echo6", addr("[::1]:9001"), Behaviour::Echo)],
    );
    let cfg = "global\n    nbthread 1\n\
        defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n\
        listen loop6\n    bind [::1]:8001\n    server s [::1]:9001\n\
        listen any\n    bind :::8002 v4v6\n    server s ipv6@::1:9001\n\
        listen only6\n    bind :::8003 v6only\n    server s [::1]:9001\n";
    let r = each(&lb, cfg, addr("[::1]:8003"), || {
        in_ns(&lb, || {
            [
                client::banner(addr("[::1]:8001"), None),
                client::banner(addr("127.0.0.1:8002"), None),
                client::banner(addr("[::1]:8002"), None),
                client::banner(addr("127.0.0.1:8003"), None),
                client::banner(addr("[::1]:8003"), None),
            ]
        })
    });
    assert_eq!(r.len(), 2);
    let show = |p: &[Probe; 5]| -> Vec<(Option<String>, Option<String>, Ending)> {
        p.iter()
            .map(|x| (x.server(), x.peer_ip(), x.ending))
            .collect()
    };
    eprintln!("haproxy {:?}\nrproxy  {:?}", show(&r[0].1), show(&r[1].1));
    assert_eq!(show(&r[0].1), show(&r[1].1), "same outcome for each bind");
    let p = &r[1].1;
    assert_eq!(p[0].peer_ip().as_deref(), Some("[::1]"));
    assert_eq!(p[1].server().as_deref(), Some("echo6"), "v4v6 takes IPv4");
    assert_eq!(p[3].ending, Ending::Refused, "v6only refuses IPv4");
}

/// Kills the process named in a pid file when dropped.
struct PidGuard(Option<i32>);

impl Drop for PidGuard {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

/// `-D -p PIDFILE`, as init scripts run it: the command returns once the
/// daemon is running, the pid file names it, it serves, and SIGTERM to
/// that pid stops it.
#[test]
fn daemon_with_pidfile() {
    if !support::require_root() || support::haproxy_bin().is_none() {
        return;
    }
    let lb = Ns::new(unique("daemon"));
    let _servers = Servers::start(
        &lb.path(),
        &[("echo", addr("127.0.0.1:9001"), Behaviour::Echo)],
    );
    let cfg = "global\n    nbthread 1\n\
        defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n\
        listen echo\n    bind 127.0.0.1:8001\n    server s 127.0.0.1:9001\n";
    for w in BOTH {
        let Some(bin) = w.bin() else { return };
        let dir = std::env::temp_dir().join(unique(w.name()));
        std::fs::create_dir_all(&dir).expect("dir");
        let cfg_path = dir.join("d.cfg");
        let pidfile = dir.join("d.pid");
        std::fs::write(&cfg_path, cfg).expect("cfg");
        let t = Instant::now();
        let status = Command::new("ip")
            .args(["netns", "exec", &lb.name])
            .arg(&bin)
            .arg("-D")
            .arg("-p")
            .arg(&pidfile)
            .arg("-f")
            .arg(&cfg_path)
            .status()
            .expect("run");
        assert!(status.success(), "{}: -D exits 0", w.name());
        assert!(t.elapsed() < Duration::from_secs(5));
        let text = std::fs::read_to_string(&pidfile).expect("pid file written before exit");
        let pid: i32 = text.trim().parse().expect("pid");
        let guard = PidGuard(Some(pid));
        assert!(
            text.ends_with('\n'),
            "{}: pid file ends with a newline",
            w.name()
        );
        assert!(
            std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "{}: the pid file names a running process",
            w.name()
        );
        let probe = in_ns(&lb, || client::banner(addr("127.0.0.1:8001"), None));
        assert_eq!(
            probe.server().as_deref(),
            Some("echo"),
            "{} serves",
            w.name()
        );
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGTERM,
        )
        .expect("kill");
        let t = Instant::now();
        while std::path::Path::new(&format!("/proc/{pid}/status")).exists()
            && !std::fs::read_to_string(format!("/proc/{pid}/status"))
                .unwrap_or_default()
                .contains("State:\tZ")
            && t.elapsed() < Duration::from_secs(5)
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "{}: SIGTERM stops the daemon",
            w.name()
        );
        drop(guard);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// The PROXY protocol: `send-proxy` / `send-proxy-v2` put HAProxy's header
/// before the client's bytes, and `accept-proxy` takes the client's
/// address from it. The echo server sends back what it received, header
/// included, so the client sees the exact bytes.
#[test]
fn proxy_protocol_matches_haproxy() {
    if !support::require_root() || support::haproxy_bin().is_none() {
        return;
    }
    let lb = Ns::new(unique("pp"));
    let _servers = Servers::start(
        &lb.path(),
        &[("echo", addr("127.0.0.1:9001"), Behaviour::Echo)],
    );
    let cfg = "global\n    nbthread 1\n\
        defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 2s\n    timeout server 2s\n\
        listen front\n    bind 127.0.0.1:8001\n    server s 127.0.0.1:8002 send-proxy\n\
        listen back\n    bind 127.0.0.1:8002 accept-proxy\n    server s 127.0.0.1:9001 send-proxy\n\
        listen v2\n    bind 127.0.0.1:8003\n    server s 127.0.0.1:9001 send-proxy-v2\n";
    let mut port = 41000u16;
    let r = each(&lb, cfg, addr("127.0.0.1:8003"), || {
        port += 10;
        let p = port;
        in_ns(&lb, move || {
            let from = |k: u16| Some(addr(&format!("127.0.0.1:{}", p + k)));
            let wait = Duration::from_millis(800);
            (
                p,
                client::probe(addr("127.0.0.1:8001"), from(1), b"hi", false, wait),
                client::probe(addr("127.0.0.1:8003"), from(2), b"hi", false, wait),
                client::probe(
                    addr("127.0.0.1:8002"),
                    from(3),
                    b"GET / HTTP/1.0\r\n\r\n",
                    false,
                    wait,
                ),
            )
        })
    });
    assert_eq!(r.len(), 2);
    for (w, (p, chained, v2, garbage)) in &r {
        let after_banner = |pr: &Probe| -> Vec<u8> {
            let d = &pr.data;
            let nl = d
                .iter()
                .position(|b| *b == b'\n')
                .map_or(d.len(), |i| i + 1);
            d[nl..].to_vec()
        };
        // front → back carries the client's address; back's own header
        // then names the client and the address it first came to.
        let expect_v1 = format!("PROXY TCP4 127.0.0.1 127.0.0.1 {} 8001\r\nhi", p + 1);
        assert_eq!(
            String::from_utf8_lossy(&after_banner(chained)),
            expect_v1,
            "{}: accept-proxy then send-proxy",
            w.name()
        );
        let mut expect_v2 =
            b"\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x0c\x7f\x00\x00\x01\x7f\x00\x00\x01".to_vec();
        expect_v2.extend_from_slice(&(p + 2).to_be_bytes());
        expect_v2.extend_from_slice(&8003u16.to_be_bytes());
        expect_v2.extend_from_slice(b"hi");
        assert_eq!(after_banner(v2), expect_v2, "{}: send-proxy-v2", w.name());
        assert!(
            garbage.data.is_empty() && garbage.ending != Ending::StillOpen,
            "{}: no PROXY header, connection closed: {garbage:?}",
            w.name()
        );
    }
    assert_eq!(r[0].1.3.ending, r[1].1.3.ending, "same close");
}

/// Bulk transfers in both directions, spliced (rproxy's default and
/// `option splice-response`/`splice-request`) and copied (`-dS` is the
/// copy path's twin): every byte arrives, in time. A reader that takes a
/// pipe's worth of data for a drained socket would stall here.
#[test]
fn bulk_transfers_complete() {
    if !support::require_root() || support::haproxy_bin().is_none() {
        return;
    }
    let lb = Ns::new(unique("bulk"));
    const SIZE: usize = 24 << 20;
    let _servers = Servers::start(
        &lb.path(),
        &[
            ("down", addr("127.0.0.1:9011"), Behaviour::Stream(SIZE)),
            ("up", addr("127.0.0.1:9012"), Behaviour::Count),
        ],
    );
    let cfg = "global\n    nbthread 2\n\
        defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 10s\n    timeout server 10s\n\
        listen down\n    bind 127.0.0.1:8011\n    server s 127.0.0.1:9011\n\
        listen down_eager\n    bind 127.0.0.1:8013\n    option splice-response\n    server s 127.0.0.1:9011\n\
        listen up\n    bind 127.0.0.1:8012\n    option splice-request\n    server s 127.0.0.1:9012\n";
    let runs = each(&lb, cfg, addr("127.0.0.1:8013"), || {
        let mut out = Vec::new();
        for port in [8011u16, 8013] {
            let p = in_ns(&lb, move || {
                client::probe(
                    addr(&format!("127.0.0.1:{port}")),
                    None,
                    b"",
                    false,
                    Duration::from_secs(15),
                )
            });
            // banner line, then the bytes
            let body = p.data.iter().filter(|b| **b == b'x').count();
            out.push(format!("port {port}: {body} bytes, {:?}", p.ending));
        }
        let upload = vec![b'y'; SIZE];
        let p = in_ns(&lb, move || {
            client::probe(
                addr("127.0.0.1:8012"),
                None,
                &upload,
                true,
                Duration::from_secs(15),
            )
        });
        out.push(format!(
            "upload answer: {}",
            String::from_utf8_lossy(&p.data).trim()
        ));
        out
    });
    assert_eq!(runs.len(), 2);
    let (h, r) = (&runs[0].1, &runs[1].1);
    assert!(
        h[0].starts_with(&format!("port 8011: {SIZE} bytes")),
        "haproxy delivers everything: {h:?}"
    );
    assert_eq!(h, r, "haproxy (left) and rproxy (right)");
}
