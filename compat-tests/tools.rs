//! The tools operators point at HAProxy, pointed at rproxy: Debian's
//! `prometheus-haproxy-exporter` (scraping the stats page's CSV and the
//! stats socket), `hatop` (driven in tmux), and `socat` on the runtime API
//! in one-shot and prompt mode — each compared with what it shows for
//! haproxy.

mod support;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::http::{HttpServers, exchange};
use support::netns::{Ns, unique};
use support::proxy::each;

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("address")
}

fn have(tool: &str) -> bool {
    let ok = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        support::require(tool);
    }
    ok
}

fn config(sock: &std::path::Path) -> String {
    format!(
        "global\n    nbthread 1\n    stats socket {} level admin\n\
         defaults\n    mode http\n    timeout connect 1s\n    timeout client 3s\n    timeout server 3s\n\
         frontend web\n    bind 127.0.0.1:8601\n    default_backend app\n\
         backend app\n    balance roundrobin\n\
         \x20   server s1 127.0.0.1:9601 check inter 500\n\
         \x20   server s2 127.0.0.1:9602 check inter 500\n\
         \x20   server s3 127.0.0.1:9601 backup\n\
         listen stats\n    bind 127.0.0.1:8602\n    stats enable\n    stats uri /stats\n    stats auth admin:pw\n",
        sock.display()
    )
}

/// Kills a child process when dropped.
struct Kill(Option<std::process::Child>);

impl Drop for Kill {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The exporter's series (metric name and labels, values left out), and
/// the value of `haproxy_up`.
fn scrape(ns: &Ns, uri: &str, port: u16) -> (BTreeSet<String>, String) {
    let child = Command::new("ip")
        .args(["netns", "exec", &ns.name, "prometheus-haproxy-exporter"])
        .arg(format!("--haproxy.scrape-uri={uri}"))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("exporter");
    let _guard = Kill(Some(child));
    let t = Instant::now();
    let mut text = String::new();
    while t.elapsed() < Duration::from_secs(10) {
        text = Command::new("ip")
            .args(["netns", "exec", &ns.name, "curl", "-s", "--max-time", "3"])
            .arg(format!("http://127.0.0.1:{port}/metrics"))
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        if text.contains("haproxy_up") {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let mut series = BTreeSet::new();
    let mut up = String::new();
    for l in text.lines() {
        if !l.starts_with("haproxy_") {
            continue;
        }
        let Some((name, value)) = l.rsplit_once(' ') else {
            continue;
        };
        if name == "haproxy_up" {
            up = value.to_string();
        }
        // The version differs by design; its presence is what counts.
        let name = if name.starts_with("haproxy_version_info{") {
            "haproxy_version_info"
        } else {
            name
        };
        series.insert(name.to_string());
    }
    (series, up)
}

#[test]
fn prometheus_exporter_and_hatop_see_the_same() {
    if !support::require_root()
        || support::haproxy_bin().is_none()
        || !have("prometheus-haproxy-exporter")
        || !have("hatop")
        || !have("tmux")
        || !have("socat")
    {
        return;
    }
    let ns = Ns::new(unique("tools"));
    let _servers = HttpServers::start(&ns.name, &[("s1", addr("127.0.0.1:9601"))]);
    let dir = std::env::temp_dir().join(unique("tools-sock"));
    std::fs::create_dir_all(&dir).expect("dir");
    let sock = dir.join("admin.sock");
    let cfg = config(&sock);
    let session = unique("hatop");
    let runs = each(&ns, &cfg, addr("127.0.0.1:8602"), || {
        // s2 is down after two failed checks
        std::thread::sleep(Duration::from_millis(1500));
        for _ in 0..4 {
            ns.run(|| {
                exchange(
                    addr("127.0.0.1:8601"),
                    b"GET / HTTP/1.1\r\nHost: t\r\n\r\n",
                    Duration::from_millis(100),
                )
            });
        }
        let over_http = scrape(&ns, "http://admin:pw@127.0.0.1:8602/stats;csv", 9611);
        let over_socket = scrape(&ns, &format!("unix:{}", sock.display()), 9612);
        // socat, one shot and prompt mode
        let socat = |input: &str| {
            let out = Command::new("sh")
                .args([
                    "-c",
                    &format!(
                        "printf '{input}' | socat -t 1 stdio unix-connect:{}",
                        sock.display()
                    ),
                ])
                .output()
                .expect("socat");
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        let one_shot = socat("show backend\\n");
        let prompt = socat("prompt\\nshow backend\\nget weight app/s1\\nquit\\n");
        // hatop in a terminal
        let _ = Command::new("tmux")
            .args(["new-session", "-d", "-x", "200", "-y", "50", "-s", &session])
            .arg(format!("hatop -s {}", sock.display()))
            .status();
        std::thread::sleep(Duration::from_millis(2500));
        let screen = Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &session])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &session])
            .status();
        (over_http, over_socket, one_shot, prompt, screen)
    });
    let _ = Command::new("tmux")
        .args(["kill-session", "-t", &session])
        .stderr(Stdio::null())
        .status();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(runs.len(), 2);
    let (h, r) = (&runs[0].1, &runs[1].1);
    assert_eq!(h.0.1, "1", "the exporter scrapes haproxy");
    assert_eq!(r.0.1, "1", "the exporter scrapes rproxy's stats page");
    assert_eq!(r.1.1, "1", "the exporter scrapes rproxy's stats socket");
    let diff = |a: &BTreeSet<String>, b: &BTreeSet<String>| -> Vec<String> {
        a.symmetric_difference(b).cloned().collect()
    };
    assert!(
        diff(&h.0.0, &r.0.0).is_empty(),
        "series over the stats page differ: {:?}",
        diff(&h.0.0, &r.0.0)
    );
    assert!(
        diff(&h.1.0, &r.1.0).is_empty(),
        "series over the socket differ: {:?}",
        diff(&h.1.0, &r.1.0)
    );
    assert_eq!(h.2, r.2, "socat one-shot");
    assert_eq!(h.3, r.3, "socat prompt mode");
    // hatop: the same servers, shown without a crash
    for (name, screen) in [("haproxy", &h.4), ("rproxy", &r.4)] {
        assert!(
            !screen.contains("Traceback") && !screen.contains("Error"),
            "hatop on {name}:\n{screen}"
        );
        for s in ["s1", "s2", "s3", "app", "web"] {
            assert!(screen.contains(s), "hatop on {name} shows {s}:\n{screen}");
        }
    }
}
