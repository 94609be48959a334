//! Shared helpers for the differential tests: locating the binaries under
//! test, and refusing to skip silently in CI.

#![allow(dead_code)]

pub mod client;
pub mod control;
pub mod http;
pub mod logs;
pub mod netns;
pub mod proxy;
pub mod servers;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The rproxy binary cargo built for this test run.
pub fn rproxy_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_rproxy"))
}

/// The reference HAProxy, or `None` (after saying so) when it is missing
/// outside CI. In CI a missing prerequisite fails the test.
pub fn haproxy_bin() -> Option<PathBuf> {
    for p in [
        "/usr/sbin/haproxy",
        "/usr/local/sbin/haproxy",
        "/usr/bin/haproxy",
    ] {
        if Path::new(p).exists() {
            return Some(PathBuf::from(p));
        }
    }
    require("haproxy");
    None
}

/// Fails in CI, warns elsewhere.
pub fn require(what: &str) {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("prerequisite missing in CI: {what} (the README's test command installs it)");
    }
    eprintln!("SKIPPED: prerequisite missing: {what}");
}

/// Repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The output of one `-c` run.
#[derive(Debug)]
pub struct CheckRun {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl CheckRun {
    /// Every `[file:line]` printed on an ALERT line, as a sorted set.
    pub fn alert_lines(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .stderr
            .lines()
            .filter(|l| l.starts_with("[ALERT]"))
            .flat_map(locations)
            .collect();
        out.sort();
        out.dedup();
        out
    }

    pub fn warnings(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| l.starts_with("[WARNING]"))
            .collect()
    }
}

/// `[file:123]` occurrences in a line, as `file:123`.
pub fn locations(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(start) = rest.find('[') {
        let after = &rest[start + 1..];
        if let Some(end) = after.find(']') {
            let inner = &after[..end];
            if let Some((f, n)) = inner.rsplit_once(':')
                && !f.is_empty()
                && !n.is_empty()
                && n.bytes().all(|b| b.is_ascii_digit())
            {
                out.push(inner.to_string());
            }
            rest = &after[end + 1..];
        } else {
            break;
        }
    }
    out
}

/// Runs `bin -c -f file` in `dir` with a fixed, minimal environment.
pub fn check(bin: &Path, dir: &Path, file: &str, env: &[(&str, &str)], extra: &[&str]) -> CheckRun {
    let mut cmd = Command::new(bin);
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", "/root")
        .args(extra)
        .args(["-c", "-f", file]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run the proxy binary");
    CheckRun {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Topology tests need root (namespaces, iptables); in CI that is a hard
/// requirement, elsewhere the test is skipped loudly.
pub fn require_root() -> bool {
    if nix::unistd::Uid::effective().is_root() && std::path::Path::new("/usr/sbin/ip").exists()
        || std::path::Path::new("/sbin/ip").exists() && nix::unistd::Uid::effective().is_root()
    {
        return true;
    }
    require("root privileges and iproute2 (network namespaces)");
    false
}

/// One command line on a runtime-API (stats) Unix socket; the whole
/// answer, or "(no socket)" when nothing listens there.
pub fn cli(sock: &Path, line: &str) -> String {
    use std::io::{Read, Write};
    let Ok(mut s) = std::os::unix::net::UnixStream::connect(sock) else {
        return "(no socket)".into();
    };
    let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(5)));
    let _ = s.write_all(format!("{line}\n").as_bytes());
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}
