//! Debian's own init script, unchanged, driving rproxy: `/etc/init.d/haproxy`
//! with `HAPROXY=` pointing at rproxy. The defaults file the script reads
//! (`/etc/default/haproxy`) is replaced for the test only, by a bind mount
//! in a private mount namespace, so the machine's files stay untouched.
//! Each step (start, status, reload, restart, stop) is checked on the pid
//! file, the processes and the traffic.

mod support;

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;
use support::http::exchange;
use support::netns::{Ns, unique};

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("address")
}

/// Runs `/etc/init.d/haproxy CMD` in the namespace with the test's
/// defaults file; returns (exit status, output).
fn init(ns: &Ns, defaults: &std::path::Path, cmd: &str) -> (i32, String) {
    let script = format!(
        "mount --bind {} /etc/default/haproxy && /etc/init.d/haproxy {cmd}",
        defaults.display()
    );
    let out = Command::new("ip")
        .args([
            "netns", "exec", &ns.name, "unshare", "-m", "sh", "-c", &script,
        ])
        .env("_SYSTEMCTL_SKIP_REDIRECT", "1")
        .output()
        .expect("init script");
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn answer(ns: &Ns) -> String {
    let (r, _) = ns.run(|| {
        exchange(
            addr("127.0.0.1:8501"),
            b"GET / HTTP/1.1\r\nHost: t\r\n\r\n",
            Duration::from_millis(200),
        )
    });
    let t = String::from_utf8_lossy(&r).into_owned();
    t.rsplit("\r\n\r\n").next().unwrap_or("").to_string()
}

fn pids(pidfile: &std::path::Path) -> Vec<i32> {
    std::fs::read_to_string(pidfile)
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/status")).is_ok_and(|s| !s.contains("State:\tZ"))
}

struct Cleanup(std::path::PathBuf, std::path::PathBuf);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = Command::new("pkill")
            .args(["-9", "-f", &self.1.display().to_string()])
            .status();
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn cfg(answer: &str) -> String {
    format!(
        "global\n    nbthread 1\n\
         defaults\n    mode http\n    timeout connect 1s\n    timeout client 3s\n    timeout server 3s\n\
         frontend web\n    bind 127.0.0.1:8501\n    http-request return status 200 content-type text/plain string {answer}\n"
    )
}

#[test]
fn debian_init_script_drives_rproxy() {
    if !support::require_root() {
        return;
    }
    if !std::path::Path::new("/etc/init.d/haproxy").exists() {
        support::require("Debian's haproxy package (/etc/init.d/haproxy)");
        return;
    }
    let ns = Ns::new(unique("initd"));
    let dir = std::env::temp_dir().join(unique("initd"));
    std::fs::create_dir_all(&dir).expect("dir");
    let conf = dir.join("haproxy.cfg");
    let pidfile = dir.join("haproxy.pid");
    let defaults = dir.join("default");
    let _cleanup = Cleanup(dir.clone(), conf.clone());
    std::fs::write(&conf, cfg("one")).expect("cfg");
    std::fs::write(
        &defaults,
        format!(
            "HAPROXY={}\nCONFIG={}\nPIDFILE={}\n",
            support::rproxy_bin().display(),
            conf.display(),
            pidfile.display()
        ),
    )
    .expect("defaults");

    let (code, out) = init(&ns, &defaults, "start");
    assert_eq!(code, 0, "start: {out}");
    let first = pids(&pidfile);
    assert_eq!(first.len(), 1, "one pid in the pid file");
    assert!(alive(first[0]), "the pid file names a live process");
    assert_eq!(answer(&ns), "one");

    let (code, out) = init(&ns, &defaults, "status");
    assert_eq!(code, 0, "status: {out}");
    assert!(out.contains("is running"), "status: {out}");

    std::fs::write(&conf, cfg("two")).expect("cfg");
    let (code, out) = init(&ns, &defaults, "reload");
    assert_eq!(code, 0, "reload: {out}");
    std::thread::sleep(Duration::from_millis(300));
    let second = pids(&pidfile);
    assert_eq!(second.len(), 1);
    assert_ne!(second, first, "reload starts a new process");
    assert!(!alive(first[0]), "the old process finished");
    assert_eq!(answer(&ns), "two");

    // A broken configuration: reload refuses, the old process serves on.
    std::fs::write(
        &conf,
        "frontend web\n    bind 127.0.0.1:8501\n    nonsense\n",
    )
    .expect("cfg");
    let (code, _) = init(&ns, &defaults, "reload");
    assert_ne!(code, 0, "reload of a broken configuration fails");
    assert_eq!(pids(&pidfile), second);
    assert_eq!(answer(&ns), "two");

    std::fs::write(&conf, cfg("three")).expect("cfg");
    let (code, out) = init(&ns, &defaults, "restart");
    assert_eq!(code, 0, "restart: {out}");
    std::thread::sleep(Duration::from_millis(200));
    let third = pids(&pidfile);
    assert_eq!(third.len(), 1);
    assert!(!alive(second[0]));
    assert_eq!(answer(&ns), "three");

    let (code, out) = init(&ns, &defaults, "stop");
    assert_eq!(code, 0, "stop: {out}");
    std::thread::sleep(Duration::from_millis(200));
    assert!(!alive(third[0]), "stopped");
    assert!(!pidfile.exists(), "the script removes the pid file");
    let (code, out) = init(&ns, &defaults, "status");
    assert_ne!(code, 0, "status after stop: {out}");
}
