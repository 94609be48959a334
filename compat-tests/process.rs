//! The process life cycle as init systems drive it: Debian's systemd unit
//! (`-Ws`, `$NOTIFY_SOCKET`, reload by SIGUSR2, stop by SIGTERM) for
//! haproxy and rproxy side by side, and the privilege drop (`chroot`,
//! `user`, `group`; with `usesrc`, rproxy keeps CAP_NET_ADMIN where
//! HAProxy 2.6 refuses to start).

mod support;

use std::net::SocketAddr;
use std::os::unix::net::UnixDatagram;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::http::exchange;
use support::netns::{Ns, unique};
use support::proxy::{BOTH, Which};

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("address")
}

/// Kills a process (and the process group it leads) when dropped.
struct Reaper(Option<Child>);

impl Drop for Reaper {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(-(c.id() as i32)),
                nix::sys::signal::Signal::SIGKILL,
            );
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn recv_until(sock: &UnixDatagram, want: &str, max: Duration) -> Vec<String> {
    let mut got = Vec::new();
    let t = Instant::now();
    let mut buf = [0u8; 4096];
    while t.elapsed() < max {
        let _ = sock.set_read_timeout(Some(Duration::from_millis(100)));
        if let Ok(n) = sock.recv(&mut buf) {
            let m = String::from_utf8_lossy(&buf[..n]).into_owned();
            let done = m.contains(want);
            got.push(m);
            if done {
                break;
            }
        }
    }
    got
}

fn body(port: u16, ns: &Ns) -> String {
    let (r, _) = ns.run(move || {
        exchange(
            addr(&format!("127.0.0.1:{port}")),
            b"GET / HTTP/1.1\r\nHost: t\r\n\r\n",
            Duration::from_millis(200),
        )
    });
    let t = String::from_utf8_lossy(&r).into_owned();
    t.rsplit("\r\n\r\n").next().unwrap_or("").to_string()
}

fn cfg(version: &str) -> String {
    format!(
        "global\n    nbthread 1\n\
         defaults\n    mode http\n    timeout connect 1s\n    timeout client 3s\n    timeout server 3s\n\
         frontend web\n    bind 127.0.0.1:8301\n    http-request return status 200 content-type text/plain string {version}\n"
    )
}

/// What one proxy did under the unit: notify messages (pids masked),
/// answers before and after the reload, the reload check's status, the
/// exit status after SIGTERM.
fn run_as_unit(w: Which, ns: &Ns) -> Vec<String> {
    let Some(bin) = w.bin() else {
        return Vec::new();
    };
    let dir = std::env::temp_dir().join(unique(&format!("unit-{}", w.name())));
    std::fs::create_dir_all(&dir).expect("dir");
    let conf = dir.join("haproxy.cfg");
    let pidfile = dir.join("haproxy.pid");
    let notify = dir.join("notify");
    std::fs::write(&conf, cfg("v1")).expect("cfg");
    let sock = UnixDatagram::bind(&notify).expect("notify socket");
    let mut out = Vec::new();
    // ExecStart=/usr/sbin/haproxy -Ws -f $CONFIG -p $PIDFILE
    let child = {
        use std::os::unix::process::CommandExt;
        Command::new("ip")
            .args(["netns", "exec", &ns.name])
            .arg(&bin)
            .args(["-Ws", "-f"])
            .arg(&conf)
            .arg("-p")
            .arg(&pidfile)
            .env("NOTIFY_SOCKET", &notify)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("start")
    };
    let mut reaper = Reaper(Some(child));
    let mut msgs = recv_until(&sock, "READY=1", Duration::from_secs(10));
    let master = reaper.0.as_ref().map_or(0, |c| c.id() as i32);
    out.push(format!("answer before reload: {}", body(8301, ns)));
    let pid_in_file = std::fs::read_to_string(&pidfile).unwrap_or_default();
    out.push(format!(
        "pid file names the master: {}",
        pid_in_file.trim() == master.to_string()
    ));
    // ExecReload=/usr/sbin/haproxy -Ws -f $CONFIG -c -q
    std::fs::write(&conf, cfg("v2")).expect("cfg");
    let check = Command::new(&bin)
        .args(["-Ws", "-f"])
        .arg(&conf)
        .args(["-c", "-q"])
        .status()
        .map(|s| s.code().unwrap_or(-1))
        .unwrap_or(-1);
    out.push(format!("reload check exit: {check}"));
    // ExecReload=/bin/kill -USR2 $MAINPID
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(master),
        nix::sys::signal::Signal::SIGUSR2,
    );
    msgs.extend(recv_until(&sock, "READY=1", Duration::from_secs(10)));
    std::thread::sleep(Duration::from_millis(300));
    out.push(format!("answer after reload: {}", body(8301, ns)));
    // A configuration that does not load keeps the old worker serving.
    std::fs::write(
        &conf,
        "frontend broken\n    bind 127.0.0.1:8301\n    nonsense\n",
    )
    .expect("cfg");
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(master),
        nix::sys::signal::Signal::SIGUSR2,
    );
    msgs.extend(recv_until(&sock, "READY=1", Duration::from_secs(10)));
    std::thread::sleep(Duration::from_millis(300));
    out.push(format!("answer after failed reload: {}", body(8301, ns)));
    // systemctl stop: SIGTERM to the main pid
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(master),
        nix::sys::signal::Signal::SIGTERM,
    );
    msgs.extend(recv_until(&sock, "STOPPING=1", Duration::from_secs(5)));
    let mut status = None;
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(10) {
        if let Some(c) = reaper.0.as_mut()
            && let Ok(Some(s)) = c.try_wait()
        {
            status = Some(s);
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    out.push(format!(
        "master exit after SIGTERM: {:?}",
        status.map(|s| {
            use std::os::unix::process::ExitStatusExt;
            (s.code(), s.signal())
        })
    ));
    // Every process of the unit is gone.
    std::thread::sleep(Duration::from_millis(300));
    let left = Command::new("pgrep")
        .args(["-f", &conf.display().to_string()])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    out.push(format!("processes left: {}", left.lines().count()));
    let masked: Vec<String> = msgs
        .iter()
        .map(|m| m.replace(&master.to_string(), "MAINPID"))
        .collect();
    out.push(format!("notify: {masked:?}"));
    drop(reaper);
    let _ = std::fs::remove_dir_all(&dir);
    out
}

#[test]
fn systemd_unit_matches_haproxy() {
    if !support::require_root() || support::haproxy_bin().is_none() {
        return;
    }
    let ns = Ns::new(unique("unit"));
    let runs: Vec<Vec<String>> = BOTH.iter().map(|w| run_as_unit(*w, &ns)).collect();
    let (h, r) = (&runs[0], &runs[1]);
    assert!(
        h.iter().any(|l| l == "answer after reload: v2"),
        "haproxy reloads: {h:?}"
    );
    assert_eq!(
        h, r,
        "haproxy (left) and rproxy (right) under the systemd unit"
    );
}

/// `chroot`, `user`, `group`: the process runs as the user, in the jail;
/// with `usesrc clientip` rproxy keeps CAP_NET_ADMIN (HAProxy 2.6 refuses
/// to start, a documented difference).
#[test]
fn privilege_drop() {
    if !support::require_root() || support::haproxy_bin().is_none() {
        return;
    }
    let ns = Ns::new(unique("privs"));
    let jail = std::env::temp_dir().join(unique("jail"));
    std::fs::create_dir_all(&jail).expect("jail");
    let conf_dir = std::env::temp_dir().join(unique("privcfg"));
    std::fs::create_dir_all(&conf_dir).expect("dir");
    let conf = conf_dir.join("p.cfg");
    std::fs::write(
        &conf,
        format!(
            "global\n    nbthread 1\n    chroot {}\n    user nobody\n    group nogroup\n\
             defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\n\
             listen t\n    bind 127.0.0.1:8302\n    source 0.0.0.0 usesrc clientip\n    server s 127.0.0.1:9302\n",
            jail.display()
        ),
    )
    .expect("cfg");
    // HAProxy 2.6 refuses this combination.
    let Some(hap) = Which::Haproxy.bin() else {
        return;
    };
    let h = Command::new("ip")
        .args(["netns", "exec", &ns.name])
        .arg(&hap)
        .args(["-db", "-f"])
        .arg(&conf)
        .output()
        .expect("haproxy");
    assert_eq!(h.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&h.stderr).contains("global.uid cannot be changed"));
    // rproxy runs it unprivileged, keeping only what transparency needs.
    let child = Command::new("ip")
        .args(["netns", "exec", &ns.name])
        .arg(support::rproxy_bin())
        .args(["-db", "-f"])
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("rproxy");
    let reaper = Reaper(Some(child));
    let t = Instant::now();
    while !support::proxy::listening(&ns.name, 8302) && t.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = Command::new("pgrep")
        .args(["-f", &conf.display().to_string()])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let pid = pid.lines().last().unwrap_or("").to_string();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |k: &str| {
        status
            .lines()
            .find(|l| l.starts_with(k))
            .map(|l| l[k.len()..].trim().to_string())
            .unwrap_or_default()
    };
    let nobody = nix::unistd::User::from_name("nobody")
        .ok()
        .flatten()
        .map(|u| u.uid.as_raw())
        .unwrap_or(65534);
    let nogroup = nix::unistd::Group::from_name("nogroup")
        .ok()
        .flatten()
        .map(|g| g.gid.as_raw())
        .unwrap_or(65534);
    let uids: Vec<u32> = field("Uid:")
        .split_whitespace()
        .filter_map(|v| v.parse().ok())
        .collect();
    let gids: Vec<u32> = field("Gid:")
        .split_whitespace()
        .filter_map(|v| v.parse().ok())
        .collect();
    assert!(
        !uids.is_empty() && uids.iter().all(|u| *u == nobody),
        "uid: {uids:?}"
    );
    assert!(
        !gids.is_empty() && gids.iter().all(|g| *g == nogroup),
        "gid: {gids:?}"
    );
    assert_eq!(
        field("Groups:"),
        nogroup.to_string(),
        "supplementary groups"
    );
    let cap_eff = u64::from_str_radix(&field("CapEff:"), 16).unwrap_or(0);
    assert_eq!(
        cap_eff,
        (1 << 12) | (1 << 13),
        "only CAP_NET_ADMIN and CAP_NET_RAW"
    );
    let root = std::fs::read_link(format!("/proc/{pid}/root")).unwrap_or_default();
    assert_eq!(root, jail, "chroot");
    drop(reaper);
    let _ = std::fs::remove_dir_all(&jail);
    let _ = std::fs::remove_dir_all(&conf_dir);
}

/// SIGHUP dumps the servers' states, SIGTTOU pauses the listeners and
/// SIGTTIN resumes them: the same lines from both.
#[test]
fn state_dump_and_pause_signals_match_haproxy() {
    if !support::require_root() || support::haproxy_bin().is_none() {
        return;
    }
    let ns = Ns::new(unique("sighup"));
    let cfg = "global\n    nbthread 1\n\
        defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 3s\n    timeout server 3s\n\
        frontend fe\n    bind 127.0.0.1:8303\n    default_backend be\n\
        backend be\n    server s1 127.0.0.1:9303\n    server s2 127.0.0.1:9304 backup\n\
        listen solo\n    bind 127.0.0.1:8304\n    server s3 127.0.0.1:9305\n";
    let mut outs = Vec::new();
    for w in BOTH {
        let Some(mut p) = support::proxy::Running::start(w, &ns.name, cfg, addr("127.0.0.1:8304"))
        else {
            return;
        };
        let lines = p.record_stderr();
        std::thread::sleep(Duration::from_millis(200));
        for sig in [
            nix::sys::signal::Signal::SIGHUP,
            nix::sys::signal::Signal::SIGTTOU,
            nix::sys::signal::Signal::SIGTTIN,
        ] {
            p.signal(sig);
            std::thread::sleep(Duration::from_millis(300));
        }
        let got: Vec<String> = lines
            .lock()
            .expect("lines")
            .iter()
            .map(|(_, l)| {
                // the pid in "[WARNING]  (1234) : "
                match (l.find('('), l.find(") : ")) {
                    (Some(a), Some(b)) if a < b => format!("{}(PID){}", &l[..a], &l[b + 1..]),
                    _ => l.clone(),
                }
            })
            .filter(|l| l.contains("SIGHUP") || l.contains("Paused") || l.contains("Resumed"))
            // HAProxy's internal HTTP client proxy has no rproxy equivalent.
            .filter(|l| !l.contains("<HTTPCLIENT>"))
            .collect();
        drop(p);
        outs.push(got);
    }
    assert!(!outs[0].is_empty(), "haproxy printed the dump");
    assert_eq!(outs[0], outs[1], "haproxy (left) and rproxy (right)");
}

/// The master CLI (`-S`, as Debian's unit passes it): `show proc`, `@N`
/// commands forwarded to a worker, `reload`, help and errors — the same
/// as haproxy's, pids, uptimes and versions masked.
#[test]
fn master_cli_matches_haproxy() {
    if !support::require_root() || support::haproxy_bin().is_none() {
        return;
    }
    let ns = Ns::new(unique("mcli"));
    let mut outs = Vec::new();
    for w in BOTH {
        let Some(bin) = w.bin() else { return };
        let dir = std::env::temp_dir().join(unique(&format!("mcli-{}", w.name())));
        std::fs::create_dir_all(&dir).expect("dir");
        let conf = dir.join("m.cfg");
        let sock = dir.join("master.sock");
        std::fs::write(&conf, cfg("v1").replace("8301", "8305")).expect("cfg");
        let child = {
            use std::os::unix::process::CommandExt;
            Command::new("ip")
                .args(["netns", "exec", &ns.name])
                .arg(&bin)
                .args(["-W", "-db", "-S"])
                .arg(&sock)
                .arg("-f")
                .arg(&conf)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .process_group(0)
                .spawn()
                .expect("start")
        };
        let reaper = Reaper(Some(child));
        let t = Instant::now();
        while !(support::proxy::listening(&ns.name, 8305) && sock.exists())
            && t.elapsed() < Duration::from_secs(10)
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(300));
        let ask = |cmd: &str| -> String {
            let out = Command::new("sh")
                .args([
                    "-c",
                    &format!(
                        "printf '{cmd}\\n' | socat -t 2 stdio unix-connect:{}",
                        sock.display()
                    ),
                ])
                .output()
                .expect("socat");
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        let re = |p: &str| regex::Regex::new(p).expect("regex");
        let mask = |s: String| -> String {
            let s = re(r"\b\d{2,7}\b( +)(master|worker)")
                .replace_all(&s, "PID$1$2")
                .into_owned();
            let s = re(r"\d+d\d\dh\d\dm\d\ds")
                .replace_all(&s, "UPTIME")
                .into_owned();
            re(r"2\.6\.12\S*").replace_all(&s, "VERSION").into_owned()
        };
        let mut got = Vec::new();
        for cmd in [
            "help",
            "show proc",
            "@1 show backend",
            "@5 show info",
            "@!1 show info",
            "foo",
            "show cli level",
            "@master show cli level",
        ] {
            got.push((cmd.to_string(), mask(ask(cmd))));
        }
        let worker_pid = ask("show proc")
            .lines()
            .find(|l| l.contains(" worker "))
            .and_then(|l| l.split_whitespace().next().map(str::to_string))
            .unwrap_or_default();
        got.push((
            "@!PID show backend".into(),
            mask(ask(&format!("@!{worker_pid} show backend"))),
        ));
        got.push(("reload".into(), mask(ask("reload"))));
        std::thread::sleep(Duration::from_millis(1500));
        got.push(("show proc after reload".into(), mask(ask("show proc"))));
        drop(reaper);
        let _ = std::fs::remove_dir_all(&dir);
        outs.push(got);
    }
    let diffs: Vec<String> = outs[0]
        .iter()
        .zip(&outs[1])
        .filter(|(a, b)| a != b)
        .map(|(a, b)| format!("{}:\n--- haproxy\n{}\n--- rproxy\n{}", a.0, a.1, b.1))
        .collect();
    assert!(
        outs[0]
            .iter()
            .any(|(c, o)| c == "show proc" && o.contains("worker")),
        "haproxy's master lists its worker: {:?}",
        outs[0]
    );
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}

/// Soft stop (SIGUSR1): a connection in flight keeps working and the
/// process leaves once it ends; with `hard-stop-after`, it is cut at that
/// time. The same endings and timings (within 300 ms) as haproxy.
#[test]
fn soft_stop_and_hard_stop_after_match_haproxy() {
    use std::io::{Read, Write};
    if !support::require_root() || support::haproxy_bin().is_none() {
        return;
    }
    let ns = Ns::new(unique("softstop"));
    let _servers = support::servers::Servers::start(
        &ns.path(),
        &[(
            "echo",
            addr("127.0.0.1:9306"),
            support::servers::Behaviour::Echo,
        )],
    );
    let mut outs = Vec::new();
    for hard in [None, Some(1000u64)] {
        for w in BOTH {
            let cfg = format!(
                "global\n    nbthread 1\n{}\
                 defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 10s\n    timeout server 10s\n\
                 listen echo\n    bind 127.0.0.1:8306\n    server s 127.0.0.1:9306\n",
                hard.map_or(String::new(), |ms| format!("    hard-stop-after {ms}ms\n"))
            );
            let Some(mut p) =
                support::proxy::Running::start(w, &ns.name, &cfg, addr("127.0.0.1:8306"))
            else {
                return;
            };
            let result = ns.run(move || {
                let mut s = std::net::TcpStream::connect("127.0.0.1:8306").expect("connect");
                let _ = s.set_read_timeout(Some(Duration::from_millis(2500)));
                let mut buf = [0u8; 256];
                let _ = s.read(&mut buf); // banner
                s
            });
            let mut s = result;
            let t = Instant::now();
            p.signal(nix::sys::signal::Signal::SIGUSR1);
            std::thread::sleep(Duration::from_millis(300));
            // still served after the signal
            let _ = s.write_all(b"after\n");
            let mut buf = [0u8; 256];
            let n = s.read(&mut buf).unwrap_or(0);
            let echoed = String::from_utf8_lossy(&buf[..n]).contains("after");
            // then either we close, or hard-stop-after cuts us
            let ending = match s.read(&mut buf) {
                Ok(0) => format!(
                    "closed by proxy after ~{}s",
                    t.elapsed().as_secs_f32().round()
                ),
                Ok(_) => "more data".to_string(),
                Err(_) => "still open".to_string(),
            };
            drop(s);
            let t2 = Instant::now();
            while p.alive() && t2.elapsed() < Duration::from_secs(5) {
                std::thread::sleep(Duration::from_millis(20));
            }
            let alive = p.alive();
            drop(p);
            outs.push(format!(
                "hard-stop-after {hard:?}: echoed after signal {echoed}, {ending}, alive after client left {alive}"
            ));
        }
    }
    assert!(outs[0].contains("echoed after signal true"), "{outs:?}");
    assert_eq!(outs[0], outs[1], "without hard-stop-after");
    assert_eq!(outs[2], outs[3], "with hard-stop-after 1s");
}
