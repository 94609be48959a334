//! Reloads under load: clients open new connections without pause (TCP
//! and HTTP) while the proxy is reloaded 50 times as the init script does
//! it (`-D -p PIDFILE -sf $(cat PIDFILE)`) and 50 times through the
//! master (SIGUSR2 to a `-W` master). rproxy must not fail a single
//! connection; haproxy's figures are printed beside for the record.

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use support::netns::{Ns, unique};
use support::proxy::{BOTH, Which, listening};
use support::servers::{Behaviour, Servers};

const RELOADS: usize = 50;

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("address")
}

#[derive(Default)]
struct Tally {
    ok: AtomicU64,
    failed: AtomicU64,
}

/// One client: new connections back to back until `stop`; a connection
/// fails when it is refused, reset, or ends without the expected answer.
fn client(ns: &Ns, to: SocketAddr, http: bool, stop: Arc<AtomicBool>, tally: Arc<Tally>) {
    let path = ns.path();
    std::thread::spawn(move || {
        support::netns::enter(&path);
        let deadline = Instant::now() + Duration::from_secs(120);
        while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
            let good = (|| -> Option<bool> {
                let mut s = TcpStream::connect_timeout(&to, Duration::from_secs(2)).ok()?;
                s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
                if http {
                    s.write_all(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
                        .ok()?;
                    let mut buf = Vec::new();
                    s.read_to_end(&mut buf).ok()?;
                    Some(buf.starts_with(b"HTTP/1.1 200") && buf.ends_with(b"ok"))
                } else {
                    let mut buf = [0u8; 64];
                    let n = s.read(&mut buf).ok()?;
                    Some(buf[..n].starts_with(b"echo "))
                }
            })()
            .unwrap_or(false);
            if good {
                tally.ok.fetch_add(1, Ordering::Relaxed);
            } else {
                tally.failed.fetch_add(1, Ordering::Relaxed);
            }
        }
    });
}

fn pid_from(file: &std::path::Path) -> Option<i32> {
    std::fs::read_to_string(file).ok()?.trim().parse().ok()
}

fn kill_all(conf: &std::path::Path) {
    let _ = Command::new("pkill")
        .args(["-9", "-f", &conf.display().to_string()])
        .status();
}

/// Kills every process started on this configuration when dropped.
struct Cleanup(std::path::PathBuf);

impl Drop for Cleanup {
    fn drop(&mut self) {
        kill_all(&self.0);
        if let Some(d) = self.0.parent() {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

/// Runs the load and the reloads; returns (ok, failed) per mode.
fn reloads(w: Which, ns: &Ns, master: bool) -> (u64, u64) {
    let Some(bin) = w.bin() else { return (0, 0) };
    let dir = std::env::temp_dir().join(unique(&format!("reload-{}", w.name())));
    std::fs::create_dir_all(&dir).expect("dir");
    let conf = dir.join("reload.cfg");
    let pidfile = dir.join("reload.pid");
    std::fs::write(
        &conf,
        "global\n    nbthread 2\n\
         defaults\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n\
         listen tcp\n    mode tcp\n    bind 127.0.0.1:8401\n    server echo 127.0.0.1:9401\n\
         frontend web\n    mode http\n    bind 127.0.0.1:8402\n    http-request return status 200 content-type text/plain string ok\n",
    )
    .expect("cfg");
    let _cleanup = Cleanup(conf.clone());
    let run = |extra: &[String]| {
        Command::new("ip")
            .args(["netns", "exec", &ns.name])
            .arg(&bin)
            .arg("-f")
            .arg(&conf)
            .arg("-p")
            .arg(&pidfile)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    };
    let started = if master {
        run(&["-W".into(), "-D".into()])
    } else {
        run(&["-D".into()])
    };
    assert!(started, "{} starts", w.name());
    let t = Instant::now();
    while !(listening(&ns.name, 8401) && listening(&ns.name, 8402))
        && t.elapsed() < Duration::from_secs(5)
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Tally::default());
    for (port, http) in [(8401, false), (8402, true), (8401, false), (8402, true)] {
        client(
            ns,
            addr(&format!("127.0.0.1:{port}")),
            http,
            Arc::clone(&stop),
            Arc::clone(&tally),
        );
    }
    std::thread::sleep(Duration::from_millis(200));
    for _ in 0..RELOADS {
        if master {
            if let Some(p) = pid_from(&pidfile) {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(p),
                    nix::sys::signal::Signal::SIGUSR2,
                );
            }
        } else {
            let old = pid_from(&pidfile)
                .map(|p| p.to_string())
                .unwrap_or_default();
            assert!(
                run(&["-D".into(), "-sf".into(), old]),
                "{} reloads",
                w.name()
            );
        }
        std::thread::sleep(Duration::from_millis(150));
    }
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    std::thread::sleep(Duration::from_millis(300));
    (
        tally.ok.load(Ordering::Relaxed),
        tally.failed.load(Ordering::Relaxed),
    )
}

#[test]
fn reload_under_load_loses_no_connection() {
    if !support::require_root() || support::haproxy_bin().is_none() {
        return;
    }
    let ns = Ns::new(unique("reload"));
    let _servers = Servers::start(
        &ns.path(),
        &[("echo", addr("127.0.0.1:9401"), Behaviour::Echo)],
    );
    let mut report = Vec::new();
    for master in [false, true] {
        for w in BOTH {
            let (ok, failed) = reloads(w, &ns, master);
            let mode = if master { "master SIGUSR2" } else { "-sf" };
            eprintln!(
                "reload under load ({mode}, {RELOADS} reloads): {}: {ok} connections served, {failed} failed",
                w.name()
            );
            report.push((w, master, ok, failed));
        }
    }
    for (w, master, ok, failed) in &report {
        if *w == Which::Rproxy {
            assert!(*ok > 100, "rproxy served traffic during the reloads ({ok})");
            assert_eq!(
                *failed, 0,
                "rproxy failed connections during reloads (master: {master})"
            );
        }
    }
}
