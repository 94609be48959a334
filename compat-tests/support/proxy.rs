//! Running haproxy or rproxy on a configuration for one test, inside a
//! namespace, and stopping it on drop.

use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Lines a process printed, with their arrival times.
pub type Lines = std::sync::Arc<std::sync::Mutex<Vec<(Instant, String)>>>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    Haproxy,
    Rproxy,
}

impl Which {
    pub fn name(self) -> &'static str {
        match self {
            Which::Haproxy => "haproxy",
            Which::Rproxy => "rproxy",
        }
    }

    pub fn bin(self) -> Option<PathBuf> {
        match self {
            Which::Haproxy => super::haproxy_bin(),
            Which::Rproxy => Some(super::rproxy_bin()),
        }
    }
}

pub struct Running {
    pub which: Which,
    child: Option<Child>,
    pub cfg: PathBuf,
    stderr: Option<std::process::ChildStderr>,
}

impl Running {
    /// Starts `which` in the foreground on `cfg_text`, inside namespace
    /// `ns` ("" = here), and waits until `ready` accepts connections.
    pub fn start(which: Which, ns: &str, cfg_text: &str, ready: SocketAddr) -> Option<Running> {
        Self::start_with(which, ns, cfg_text, ready, &[])
    }

    /// As `start`, with the proxy run through `wrapper` (for example
    /// `prlimit --nofile=64:64`).
    pub fn start_with(
        which: Which,
        ns: &str,
        cfg_text: &str,
        ready: SocketAddr,
        wrapper: &[&str],
    ) -> Option<Running> {
        let bin = which.bin()?;
        let dir = std::env::temp_dir().join(super::netns::unique(which.name()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let cfg = dir.join("test.cfg");
        std::fs::write(&cfg, cfg_text).expect("write cfg");
        let mut argv: Vec<std::ffi::OsString> = Vec::new();
        if !ns.is_empty() {
            argv.extend(["ip", "netns", "exec", ns].map(Into::into));
        }
        argv.extend(wrapper.iter().map(Into::into));
        argv.push(bin.into_os_string());
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..]);
        cmd.arg("-db")
            .arg("-f")
            .arg(&cfg)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn proxy");
        let stderr = child.stderr.take();
        let r = Running {
            which,
            child: Some(child),
            cfg,
            stderr,
        };
        // Ready when the port is listening (a test connection would count
        // as traffic and shift load-balancing sequences).
        let t = Instant::now();
        let mut up = false;
        while t.elapsed() < Duration::from_secs(10) {
            if listening(ns, ready.port()) {
                up = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(up, "{} did not start listening on {ready}", which.name());
        Some(r)
    }

    /// Reads stderr from now on in the background, each line stamped
    /// with the moment it arrived.
    pub fn record_stderr(&mut self) -> Lines {
        let lines: Lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        if let Some(e) = self.stderr.take() {
            let out = std::sync::Arc::clone(&lines);
            std::thread::spawn(move || {
                use std::io::BufRead;
                for line in std::io::BufReader::new(e).lines() {
                    let Ok(line) = line else { break };
                    out.lock().expect("lines").push((Instant::now(), line));
                }
            });
        }
        lines
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Whether the proxy process is still running.
    pub fn alive(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    pub fn signal(&self, sig: nix::sys::signal::Signal) {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.pid() as i32), sig);
    }

    /// Stops the proxy and returns what it printed on stderr.
    pub fn stop(mut self) -> String {
        self.kill()
    }

    fn kill(&mut self) -> String {
        let mut out = String::new();
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        if let Some(mut e) = self.stderr.take() {
            let _ = e.read_to_string(&mut out);
        }
        if let Some(d) = self.cfg.parent() {
            let _ = std::fs::remove_dir_all(d);
        }
        out
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.kill();
    }
}

/// Whether something listens on TCP `port` in namespace `ns`.
pub fn listening(ns: &str, port: u16) -> bool {
    let mut cmd = if ns.is_empty() {
        Command::new("ss")
    } else {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", ns, "ss"]);
        c
    };
    cmd.args(["-Hltn", &format!("sport = :{port}")]);
    cmd.output()
        .map(|o| !String::from_utf8_lossy(&o.stdout).trim().is_empty())
        .unwrap_or(false)
}

/// Both proxies, reference first.
pub const BOTH: [Which; 2] = [Which::Haproxy, Which::Rproxy];

/// Runs `scenario` against haproxy, then rproxy, on `cfg` in namespace
/// `lb`; empty when haproxy is missing outside CI.
pub fn each<T>(
    lb: &super::netns::Ns,
    cfg: &str,
    ready: SocketAddr,
    mut scenario: impl FnMut() -> T,
) -> Vec<(Which, T)> {
    let mut out = Vec::new();
    for w in BOTH {
        let Some(p) = Running::start(w, &lb.name, cfg, ready) else {
            return Vec::new();
        };
        let r = scenario();
        let stderr = p.stop();
        if std::env::var("RPROXY_TEST_VERBOSE").is_ok() {
            eprintln!("--- {} stderr:\n{stderr}", w.name());
        }
        out.push((w, r));
    }
    out
}
