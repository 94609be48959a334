//! Logging to `/dev/log` as the seed's configuration does (`log /dev/log
//! local4`), received by Debian's rsyslog and written to a file: the same
//! lines from haproxy and rproxy. The proxies run in a private mount
//! namespace whose `/dev/log` is the test's rsyslog socket, so the
//! machine's `/dev` is left alone.

mod support;

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::http::{HttpServers, exchange};
use support::netns::{Ns, unique};
use support::proxy::BOTH;

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("address")
}

struct Kill(Option<Child>, std::path::PathBuf);

impl Drop for Kill {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&self.1);
    }
}

/// Masks what differs between two runs: the syslog date, host and the
/// program's pid, client ports and accept dates.
fn mask(line: &str) -> String {
    let re = |p: &str| regex::Regex::new(p).expect("regex");
    let mut l = re(r"^\w{3} [ \d]\d \d\d:\d\d:\d\d \S+ ")
        .replace(line, "DATE HOST ")
        .into_owned();
    l = support::logs::mask_traffic(&l);
    // timers within a few milliseconds are equal
    re(r" \d+/\d+/\d+/\d+/\d+ ")
        .replace_all(&l, " TIMERS ")
        .into_owned()
}

#[test]
fn rsyslog_receives_the_same_lines() {
    if !support::require_root() || support::haproxy_bin().is_none() {
        return;
    }
    if !std::path::Path::new("/usr/sbin/rsyslogd").exists() {
        support::require("rsyslog");
        return;
    }
    let ns = Ns::new(unique("rsyslog"));
    let servers = HttpServers::start(&ns.name, &[("s1", addr("127.0.0.1:9701"))]);
    let mut outs = Vec::new();
    for w in BOTH {
        let Some(bin) = w.bin() else { return };
        let dir = std::env::temp_dir().join(unique(&format!("rsyslog-{}", w.name())));
        std::fs::create_dir_all(&dir).expect("dir");
        let sock = dir.join("devlog");
        let file = dir.join("local4.log");
        let conf = dir.join("rsyslog.conf");
        std::fs::write(
            &conf,
            format!(
                "global(workDirectory=\"{d}\")\n\
                 module(load=\"imuxsock\" SysSock.Name=\"{s}\" SysSock.RateLimit.Interval=\"0\")\n\
                 local4.* action(type=\"omfile\" file=\"{f}\" template=\"RSYSLOG_TraditionalFileFormat\")\n",
                d = dir.display(),
                s = sock.display(),
                f = file.display()
            ),
        )
        .expect("rsyslog conf");
        let rsyslog = Command::new("/usr/sbin/rsyslogd")
            .args(["-n", "-f"])
            .arg(&conf)
            .arg("-i")
            .arg(dir.join("rsyslog.pid"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("rsyslogd");
        let _guard = Kill(Some(rsyslog), dir.clone());
        let t = Instant::now();
        while !sock.exists() && t.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(20));
        }
        let cfg = dir.join("p.cfg");
        std::fs::write(
            &cfg,
            "global\n    nbthread 1\n    log /dev/log local4\n\
             defaults\n    log global\n    mode http\n    option httplog\n    timeout connect 1s\n    timeout client 3s\n    timeout server 3s\n\
             listen http1\n    bind 127.0.0.1:8701\n    server s1 127.0.0.1:9701\n",
        )
        .expect("cfg");
        // A private /dev whose `log` is the test's rsyslog socket.
        let script = format!(
            "set -e; mkdir -p {d}/dev.orig; mount --bind /dev {d}/dev.orig; mount -t tmpfs none /dev; \
             for n in null zero urandom random; do touch /dev/$n; mount --bind {d}/dev.orig/$n /dev/$n; done; \
             touch /dev/log; mount --bind {s} /dev/log; exec {b} -db -f {c}",
            d = dir.display(),
            s = sock.display(),
            b = bin.display(),
            c = cfg.display()
        );
        let proxy = Command::new("ip")
            .args([
                "netns", "exec", &ns.name, "unshare", "-m", "sh", "-c", &script,
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("proxy");
        let _proxy = Kill(Some(proxy), dir.join("none"));
        let t = Instant::now();
        while !support::proxy::listening(&ns.name, 8701) && t.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(20));
        }
        for p in ["/", "/status/404", "/x?y=z"] {
            let req = format!("GET {p} HTTP/1.1\r\nHost: t\r\n\r\n").into_bytes();
            ns.run(move || exchange(addr("127.0.0.1:8701"), &req, Duration::from_millis(200)));
        }
        std::thread::sleep(Duration::from_millis(500));
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        outs.push(text.lines().map(mask).collect::<Vec<_>>());
    }
    servers.take();
    assert_eq!(
        outs[0].len(),
        3,
        "haproxy's lines through rsyslog: {:?}",
        outs[0]
    );
    assert_eq!(
        outs[0], outs[1],
        "haproxy (left) and rproxy (right) through rsyslog"
    );
}
