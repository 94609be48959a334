//! The built-in Prometheus exporter (`http-request use-service
//! prometheus-exporter`), haproxy and rproxy side by side: the same
//! configuration and traffic, then scrapes with and without `scope=` and
//! `no-maint`. Compared: the status and headers, the `# HELP` / `# TYPE`
//! lines in order, the series (name and labels) in order, and the values
//! of every series except the time-, process- and encoding-dependent ones
//! listed in `MASKED` with their reason; then the exporter's own counting
//! in `show stat` and its log lines.

mod support;

use std::net::SocketAddr;
use std::time::Duration;
use support::cli;
use support::http::{HttpServers, exchange};
use support::netns::{Ns, unique};
use support::proxy::{BOTH, Running};

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("address")
}

/// Metrics whose values are not compared (their presence, labels and
/// order are), with the reason.
const MASKED: &[(&str, &str)] = &[
    ("haproxy_process_uptime_seconds", "time"),
    ("haproxy_process_start_time_seconds", "time"),
    (
        "haproxy_process_pool_allocated_bytes",
        "memory (rproxy has no pools: 0)",
    ),
    (
        "haproxy_process_pool_used_bytes",
        "memory (rproxy has no pools: 0)",
    ),
    (
        "haproxy_process_max_fds",
        "file descriptor limit of the process",
    ),
    (
        "haproxy_process_max_sockets",
        "file descriptor limit of the process",
    ),
    (
        "haproxy_process_connections_total",
        "HAProxy also counts its health checks' sessions",
    ),
    ("haproxy_process_current_connection_rate", "rate"),
    ("haproxy_process_max_connection_rate", "rate"),
    ("haproxy_process_current_session_rate", "rate"),
    ("haproxy_process_max_session_rate", "rate"),
    ("haproxy_process_current_tasks", "scheduler internals"),
    ("haproxy_process_current_run_queue", "scheduler internals"),
    ("haproxy_process_idle_time_percent", "CPU load"),
    (
        "haproxy_process_jobs",
        "HAProxy also counts its health checks",
    ),
    (
        "haproxy_process_bytes_out_total",
        "bytes (header encoding, body sizes)",
    ),
    ("haproxy_process_bytes_out_rate", "rate"),
    ("haproxy_frontend_bytes_in_total", "bytes"),
    ("haproxy_frontend_bytes_out_total", "bytes"),
    (
        "haproxy_frontend_max_sessions",
        "when a closed connection is seen",
    ),
    ("haproxy_frontend_max_session_rate", "rate"),
    ("haproxy_frontend_http_requests_rate_max", "rate"),
    ("haproxy_frontend_connections_rate_max", "rate"),
    ("haproxy_listener_bytes_in_total", "bytes"),
    ("haproxy_listener_bytes_out_total", "bytes"),
    (
        "haproxy_listener_max_sessions",
        "when a closed connection is seen",
    ),
    ("haproxy_backend_bytes_in_total", "bytes"),
    ("haproxy_backend_bytes_out_total", "bytes"),
    (
        "haproxy_backend_max_sessions",
        "when a closed connection is seen",
    ),
    ("haproxy_backend_max_session_rate", "rate"),
    ("haproxy_backend_check_last_change_seconds", "time"),
    ("haproxy_backend_downtime_seconds_total", "time"),
    ("haproxy_backend_last_session_seconds", "time"),
    ("haproxy_backend_queue_time_average_seconds", "timing"),
    ("haproxy_backend_connect_time_average_seconds", "timing"),
    ("haproxy_backend_response_time_average_seconds", "timing"),
    ("haproxy_backend_total_time_average_seconds", "timing"),
    ("haproxy_backend_max_queue_time_seconds", "timing"),
    ("haproxy_backend_max_connect_time_seconds", "timing"),
    ("haproxy_backend_max_response_time_seconds", "timing"),
    ("haproxy_backend_max_total_time_seconds", "timing"),
    ("haproxy_server_bytes_in_total", "bytes"),
    ("haproxy_server_bytes_out_total", "bytes"),
    (
        "haproxy_server_max_sessions",
        "when a closed connection is seen",
    ),
    ("haproxy_server_max_session_rate", "rate"),
    (
        "haproxy_server_check_failures_total",
        "checks keep failing as time passes",
    ),
    ("haproxy_server_check_last_change_seconds", "time"),
    ("haproxy_server_downtime_seconds_total", "time"),
    ("haproxy_server_last_session_seconds", "time"),
    ("haproxy_server_check_duration_seconds", "timing"),
    ("haproxy_server_queue_time_average_seconds", "timing"),
    ("haproxy_server_connect_time_average_seconds", "timing"),
    ("haproxy_server_response_time_average_seconds", "timing"),
    ("haproxy_server_total_time_average_seconds", "timing"),
    ("haproxy_server_max_queue_time_seconds", "timing"),
    ("haproxy_server_max_connect_time_seconds", "timing"),
    ("haproxy_server_max_response_time_seconds", "timing"),
    ("haproxy_server_max_total_time_seconds", "timing"),
    (
        "haproxy_server_idle_connections_current",
        "idle server connections: rproxy's per-thread pools are not counted (0)",
    ),
    (
        "haproxy_server_unsafe_idle_connections_current",
        "idle server connections: rproxy's per-thread pools are not counted (0)",
    ),
    (
        "haproxy_server_safe_idle_connections_current",
        "idle server connections: rproxy's per-thread pools are not counted (0)",
    ),
    (
        "haproxy_server_need_connections_current",
        "HAProxy's estimate of needed server connections (rproxy: 0)",
    ),
];

/// Single series not compared: (metric, `proxy` label, reason).
const MASKED_SERIES: &[(&str, &str, &str)] = &[
    ("haproxy_backend_sessions_total", "promb", BACKEND_RULES),
    ("haproxy_backend_current_sessions", "promb", BACKEND_RULES),
];

/// A difference rproxy has for every request a backend's own rules
/// answer (deny, return, redirect, use-service), not only the exporter.
const BACKEND_RULES: &str = "rproxy counts a backend's sessions when a server is assigned, so a request its own rules answer is not one";

/// The headers compared, besides the status line.
const HEADERS: &[&str] = &[
    "cache-control",
    "content-type",
    "content-length",
    "transfer-encoding",
    "connection",
];

struct Scrape {
    what: String,
    /// Status line and the `HEADERS`, lower-cased, in order.
    head: String,
    body: String,
}

/// Undoes the chunked transfer coding; `None` when it is broken.
fn dechunk(mut b: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = b.windows(2).position(|w| w == b"\r\n")?;
        let size = std::str::from_utf8(&b[..eol]).ok()?;
        let n = usize::from_str_radix(size.split(';').next()?.trim(), 16).ok()?;
        b = &b[eol + 2..];
        if n == 0 {
            return Some(out);
        }
        out.extend_from_slice(b.get(..n)?);
        b = b.get(n + 2..)?;
    }
}

fn scrape(lb: &Ns, port: u16, method: &str, path: &str) -> Scrape {
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: metrics\r\nUser-Agent: compat-test\r\nConnection: close\r\n\r\n"
    );
    let to = SocketAddr::from(([127, 0, 0, 1], port));
    let (raw, _) = lb.run(move || exchange(to, req.as_bytes(), Duration::from_secs(2)));
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(raw.len());
    let text = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let mut lines = text.split("\r\n");
    let mut head = lines.next().unwrap_or_default().to_string();
    for l in lines {
        if HEADERS.iter().any(|h| l.starts_with(&format!("{h}:"))) {
            head.push_str(" | ");
            head.push_str(l);
        }
    }
    let rest = raw.get(split + 4..).unwrap_or_default();
    let body = if rest.is_empty() {
        String::new()
    } else if text.contains("transfer-encoding: chunked") {
        dechunk(rest).map_or_else(
            || "(broken chunked body)".to_string(),
            |b| String::from_utf8_lossy(&b).into_owned(),
        )
    } else {
        String::from_utf8_lossy(rest).into_owned()
    };
    Scrape {
        what: format!("{method} :{port}{path}"),
        head,
        body,
    }
}

/// A series: `name{labels}` (the build version label normalized) and its
/// value.
fn series(body: &str) -> Vec<(String, String)> {
    body.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (key, value) = l.rsplit_once(' ').unwrap_or((l, ""));
            let key = match key.split_once("{version=\"") {
                Some((name, _)) => format!("{name}{{version=\"…\"}}"),
                None => key.to_string(),
            };
            (key, value.to_string())
        })
        .collect()
}

fn metric_of(key: &str) -> &str {
    key.split('{').next().unwrap_or(key)
}

fn masked(key: &str) -> bool {
    let name = metric_of(key);
    MASKED.iter().any(|(m, _)| *m == name)
        || MASKED_SERIES
            .iter()
            .any(|(m, px, _)| *m == name && key.contains(&format!("proxy=\"{px}\"")))
}

fn compare(h: &Scrape, r: &Scrape, report: &mut Vec<String>) {
    let what = &h.what;
    if h.head != r.head {
        report.push(format!(
            "{what}: head\n  haproxy {}\n  rproxy  {}",
            h.head, r.head
        ));
    }
    let meta = |s: &Scrape| -> Vec<String> {
        s.body
            .lines()
            .filter(|l| l.starts_with("# "))
            .map(str::to_string)
            .collect()
    };
    let (hm, rm) = (meta(h), meta(r));
    if hm != rm {
        let missing: Vec<&String> = hm.iter().filter(|l| !rm.contains(l)).collect();
        let extra: Vec<&String> = rm.iter().filter(|l| !hm.contains(l)).collect();
        report.push(format!(
            "{what}: HELP/TYPE lines differ (order or set)\n  only haproxy: {missing:?}\n  only rproxy: {extra:?}"
        ));
    }
    let (hs, rs) = (series(&h.body), series(&r.body));
    let hk: Vec<&String> = hs.iter().map(|(k, _)| k).collect();
    let rk: Vec<&String> = rs.iter().map(|(k, _)| k).collect();
    if hk != rk {
        let missing: Vec<&&String> = hk.iter().filter(|k| !rk.contains(k)).collect();
        let extra: Vec<&&String> = rk.iter().filter(|k| !hk.contains(k)).collect();
        report.push(format!(
            "{what}: series differ (order or set)\n  only haproxy: {missing:?}\n  only rproxy: {extra:?}"
        ));
        return;
    }
    for ((key, a), (_, b)) in hs.iter().zip(&rs) {
        if a != b && !masked(key) {
            report.push(format!("{what}: {key} haproxy {a} rproxy {b}"));
        }
    }
}

/// `show stat` columns compared for the exporter's frontends after the
/// scrapes: how the service is counted.
const COUNTED: &[&str] = &[
    "scur",
    "stot",
    "dreq",
    "ereq",
    "hrsp_1xx",
    "hrsp_2xx",
    "hrsp_3xx",
    "hrsp_4xx",
    "hrsp_5xx",
    "hrsp_other",
    "req_tot",
    "conn_tot",
    "intercepted",
    "status",
];

/// `show stat` fields not compared: (row, column, reason).
const MASKED_STAT: &[(&str, &str, &str)] = &[("promb/BACKEND", "stot", BACKEND_RULES)];

fn stat_rows(csv: &str, proxies: &[&str]) -> Vec<String> {
    let mut lines = csv.lines();
    let cols: Vec<&str> = lines
        .next()
        .unwrap_or_default()
        .trim_start_matches("# ")
        .split(',')
        .collect();
    lines
        .filter(|l| proxies.iter().any(|p| l.starts_with(&format!("{p},"))))
        .map(|l| {
            let v: Vec<&str> = l.split(',').collect();
            let row = format!("{}/{}", v[0], v.get(1).unwrap_or(&""));
            let mut out = row.clone();
            for c in COUNTED {
                if MASKED_STAT.iter().any(|(r, m, _)| row == *r && m == c) {
                    continue;
                }
                if let Some(i) = cols.iter().position(|x| x == c) {
                    out.push_str(&format!(" {c}={}", v.get(i).unwrap_or(&"")));
                }
            }
            out
        })
        .collect()
}

/// A `<PROMEX>` log line without what varies: client port, dates, the
/// active time and the byte count (the body's numbers differ).
fn log_shape(line: &str) -> String {
    let f: Vec<&str> = line.split(' ').collect();
    let mut out = Vec::new();
    for (i, w) in f.iter().enumerate() {
        match i {
            0 => out.push(w.split(':').next().unwrap_or("").to_string()),
            1 => out.push("[date]".into()),
            4 => out.push(w.rsplit_once('/').map_or(*w, |(t, _)| t).to_string() + "/Ta"),
            6 => out.push("bytes".into()),
            _ => out.push((*w).to_string()),
        }
    }
    out.join(" ")
}

struct Outcome {
    scrapes: Vec<Scrape>,
    stats: Vec<String>,
    logs: Vec<String>,
}

#[test]
fn prometheus_exporter_matches_haproxy() {
    if !support::require_root() || support::haproxy_bin().is_none() {
        return;
    }
    let lb = Ns::new(unique("prom"));
    let servers = HttpServers::start(
        &lb.name,
        &[
            ("s1", addr("127.0.0.1:9201")),
            ("s3", addr("127.0.0.1:9203")),
            ("t1", addr("127.0.0.1:9204")),
        ],
    );
    let mut outcomes = Vec::new();
    for w in BOTH {
        let dir = std::env::temp_dir().join(unique(&format!("prom-{}", w.name())));
        std::fs::create_dir_all(&dir).expect("dir");
        let sock = dir.join("admin.sock");
        // s2 is refused (DOWN after two checks), s4 disabled (MAINT), s5
        // drained and s6 stopping (NOLB) from the CLI; s1 takes the
        // traffic. `prom` serves the metrics from its own rules, `promb`
        // from a backend's.
        let cfg = format!(
            "global\n    nbthread 1\n    maxconn 500\n    stats socket {} level admin\n\
             defaults\n    mode http\n    log stderr format raw local0\n    option httplog\n\
             \x20   timeout connect 1s\n    timeout client 3s\n    timeout server 3s\n\
             frontend web\n    bind 127.0.0.1:8201 name web-in\n    option socket-stats\n\
             \x20   http-request deny if {{ path /deny }}\n\
             \x20   http-request return status 200 content-type text/plain string ok if {{ path /local }}\n\
             \x20   default_backend app\n\
             backend app\n    balance roundrobin\n    option httpchk GET /health\n\
             \x20   stick-table type ip size 1k\n\
             \x20   server s1 127.0.0.1:9201 check inter 300 rise 1 fall 2 maxconn 50 maxqueue 10 pool-max-conn 10\n\
             \x20   server s2 127.0.0.1:9202 check inter 300 rise 1 fall 2\n\
             \x20   server s3 127.0.0.1:9203 backup check inter 300 rise 1 fall 2\n\
             \x20   server s4 127.0.0.1:9201 check disabled\n\
             \x20   server s5 127.0.0.1:9203 weight 3\n\
             \x20   server s6 127.0.0.1:9203\n\
             listen tcp\n    mode tcp\n    option tcplog\n    bind 127.0.0.1:8203\n    server t1 127.0.0.1:9204\n\
             frontend prom\n    bind 127.0.0.1:8202\n\
             \x20   http-request use-service prometheus-exporter if {{ path /metrics }}\n\
             frontend prom2\n    bind 127.0.0.1:8204\n    default_backend promb\n\
             backend promb\n    http-request use-service prometheus-exporter\n",
            sock.display()
        );
        let Some(mut p) = Running::start(w, &lb.name, &cfg, addr("127.0.0.1:8201")) else {
            return;
        };
        let stderr = p.record_stderr();
        std::thread::sleep(Duration::from_millis(1500));
        for c in [
            "set server app/s5 state drain",
            "set server app/s6 health stopping",
        ] {
            cli(&sock, c);
        }
        // Deterministic traffic: one request per connection.
        for path in ["/", "/a", "/b", "/deny", "/local", "/status/404"] {
            scrape(&lb, 8201, "GET", path);
        }
        lb.run(|| {
            exchange(
                addr("127.0.0.1:8201"),
                b"BROKEN\r\n\r\n",
                Duration::from_millis(300),
            )
        });
        lb.run(|| {
            exchange(
                addr("127.0.0.1:8203"),
                b"GET /over-tcp HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
                Duration::from_millis(300),
            )
        });
        std::thread::sleep(Duration::from_millis(200));
        let mut scrapes = Vec::new();
        for (port, method, path) in [
            (8202, "GET", "/metrics"),
            (8202, "GET", "/metrics?scope=global"),
            (8202, "GET", "/metrics?scope=frontend"),
            (8202, "GET", "/metrics?scope=listener&scope=sticktable"),
            (8202, "GET", "/metrics?scope=backend"),
            (8202, "GET", "/metrics?scope=server"),
            (8202, "GET", "/metrics?scope=server&no-maint"),
            (8202, "GET", "/metrics?scope=backend&scope=server&no-maint"),
            (8202, "GET", "/metrics?scope="),
            (8202, "GET", "/metrics?scope=bad"),
            (8202, "GET", "/metrics?scope"),
            (8202, "HEAD", "/metrics"),
            (8202, "GET", "/elsewhere"),
            (8204, "GET", "/anything?scope=frontend&scope=backend"),
            (8202, "GET", "/metrics?scope=frontend&scope=backend"),
        ] {
            scrapes.push(scrape(&lb, port, method, path));
        }
        std::thread::sleep(Duration::from_millis(200));
        let stats = stat_rows(&cli(&sock, "show stat"), &["prom", "prom2", "promb"]);
        std::thread::sleep(Duration::from_millis(200));
        drop(p.stop());
        let logs = stderr
            .lock()
            .expect("lines")
            .iter()
            .filter(|(_, l)| l.contains("<PROMEX>"))
            .map(|(_, l)| log_shape(l))
            .collect();
        let _ = std::fs::remove_dir_all(&dir);
        outcomes.push(Outcome {
            scrapes,
            stats,
            logs,
        });
    }
    servers.take();
    assert_eq!(outcomes.len(), 2);
    let (h, r) = (&outcomes[0], &outcomes[1]);
    // The scenario did what it should under haproxy.
    let full = &h.scrapes[0].body;
    for want in [
        "haproxy_server_status{proxy=\"app\",server=\"s4\",state=\"MAINT\"} 1",
        "haproxy_server_status{proxy=\"app\",server=\"s2\",state=\"DOWN\"} 1",
        "haproxy_server_status{proxy=\"app\",server=\"s5\",state=\"DRAIN\"} 1",
        "haproxy_server_status{proxy=\"app\",server=\"s6\",state=\"NOLB\"} 1",
        "haproxy_server_http_responses_total{proxy=\"app\",server=\"s1\",code=\"2xx\"} 3",
        "haproxy_frontend_requests_denied_total{proxy=\"web\"} 1",
    ] {
        assert!(
            full.contains(want),
            "haproxy's scrape lacks {want:?}:\n{full}"
        );
    }
    // Every exporter answer is logged (all but the one for /elsewhere).
    assert_eq!(
        h.logs.len(),
        h.scrapes.len() - 1,
        "haproxy's <PROMEX> log lines: {:#?}",
        h.logs
    );
    let mut report = Vec::new();
    for (a, b) in h.scrapes.iter().zip(&r.scrapes) {
        compare(a, b, &mut report);
    }
    if h.stats != r.stats {
        report.push(format!(
            "show stat after the scrapes\n  haproxy {:?}\n  rproxy  {:?}",
            h.stats, r.stats
        ));
    }
    if h.logs != r.logs {
        report.push(format!(
            "log lines\n  haproxy {:#?}\n  rproxy  {:#?}",
            h.logs, r.logs
        ));
    }
    assert!(report.is_empty(), "differences:\n{}", report.join("\n"));
}
