//! Statistics and the runtime API, haproxy and rproxy side by side: the
//! same configuration and traffic, then `show stat` (same header, the same
//! deterministic fields per row), `show info` (same keys), runtime
//! commands (same replies, same effects on traffic) and the stats page
//! (authentication challenge, CSV, admin form).

mod support;

use std::net::SocketAddr;
use std::time::Duration;
use support::cli;
use support::http::{HttpServers, exchange};
use support::netns::{Ns, unique};
use support::proxy::each;

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("address")
}

/// `pxname/svname` → the row's fields by column name.
type Table = Vec<(String, Vec<(String, String)>)>;

fn parse_csv(text: &str) -> (String, Table) {
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default().to_string();
    let cols: Vec<String> = header
        .trim_start_matches("# ")
        .split(',')
        .map(str::to_string)
        .collect();
    let mut rows = Vec::new();
    for l in lines.filter(|l| !l.is_empty()) {
        let vals: Vec<&str> = l.split(',').collect();
        let key = format!("{}/{}", vals[0], vals.get(1).unwrap_or(&""));
        let fields = cols
            .iter()
            .zip(vals.iter())
            .map(|(c, v)| (c.clone(), v.to_string()))
            .collect();
        rows.push((key, fields));
    }
    (header, rows)
}

/// The columns whose values depend only on configuration and traffic.
const DETERMINISTIC: &[&str] = &[
    "pxname",
    "svname",
    "qcur",
    "qmax",
    "scur",
    "slim",
    "stot",
    "dreq",
    "dresp",
    "ereq",
    "econ",
    "eresp",
    "wretr",
    "wredis",
    "status",
    "weight",
    "act",
    "bck",
    "chkdown",
    "qlimit",
    "pid",
    "iid",
    "sid",
    "lbtot",
    "tracked",
    "type",
    "check_status",
    "check_code",
    "hrsp_1xx",
    "hrsp_2xx",
    "hrsp_3xx",
    "hrsp_4xx",
    "hrsp_5xx",
    "hrsp_other",
    "req_tot",
    "cli_abrt",
    "srv_abrt",
    "check_desc",
    "check_rise",
    "check_fall",
    "check_health",
    "addr",
    "cookie",
    "mode",
    "algo",
    "conn_tot",
    "intercepted",
    "dcon",
    "dses",
    "wrew",
    "uweight",
    "eint",
    "comp_in",
    "comp_out",
    "comp_byp",
    "comp_rsp",
    "agent_status",
    "agent_code",
    "-",
    "ssl_sess",
];

fn field<'a>(row: &'a [(String, String)], name: &str) -> &'a str {
    row.iter()
        .find(|(c, _)| c == name)
        .map_or("", |(_, v)| v.as_str())
}

fn compare_tables(what: &str, h: &Table, r: &Table, extra: &[&str], report: &mut Vec<String>) {
    let hk: Vec<&String> = h.iter().map(|(k, _)| k).collect();
    let rk: Vec<&String> = r.iter().map(|(k, _)| k).collect();
    if hk != rk {
        report.push(format!(
            "{what}: rows differ\n  haproxy {hk:?}\n  rproxy  {rk:?}"
        ));
        return;
    }
    for ((key, hr), (_, rr)) in h.iter().zip(r) {
        for c in DETERMINISTIC.iter().chain(extra) {
            // HAProxy 2.6 counts the end of a keep-alive connection to its
            // stats applet as a client abort on the stats proxy; rproxy
            // serves the page in the proxy itself and counts none.
            if key.starts_with("stats/") && *c == "cli_abrt" {
                continue;
            }
            let (a, b) = (field(hr, c), field(rr, c));
            if a != b {
                report.push(format!("{what} {key} {c}: haproxy {a:?} rproxy {b:?}"));
            }
        }
    }
}

struct Outcome {
    csv_before: String,
    info_keys: Vec<String>,
    replies: Vec<(String, String)>,
    csv_after: String,
    served_after_disable: Vec<String>,
    page: Vec<(String, String)>,
    csv_after_page: String,
}

fn status_and(headers: &[u8], names: &[&str]) -> String {
    let text = String::from_utf8_lossy(headers);
    let mut lines = text.split("\r\n");
    let mut out = lines.next().unwrap_or_default().to_string();
    for l in lines {
        let lower = l.to_ascii_lowercase();
        if names.iter().any(|n| lower.starts_with(&format!("{n}:"))) {
            out.push_str(" | ");
            out.push_str(&lower);
        }
    }
    out
}

#[test]
fn stats_and_runtime_api_match_haproxy() {
    if !support::require_root() || support::haproxy_bin().is_none() {
        return;
    }
    let lb = Ns::new(unique("stats"));
    let servers = HttpServers::start(
        &lb.name,
        &[
            ("s1", addr("127.0.0.1:9101")),
            ("s3", addr("127.0.0.1:9103")),
            ("t1", addr("127.0.0.1:9104")),
        ],
    );
    let dir = std::env::temp_dir().join(unique("statsock"));
    std::fs::create_dir_all(&dir).expect("dir");
    let admin = dir.join("admin.sock");
    let user = dir.join("user.sock");
    let cfg = format!(
        "global\n    nbthread 1\n    maxconn 500\n    stats socket {} level admin\n    stats socket {} level user\n\
         defaults\n    mode http\n    timeout connect 1s\n    timeout client 3s\n    timeout server 3s\n\
         frontend web\n    bind 127.0.0.1:8101\n    http-request deny if {{ path /deny }}\n\
         \x20   http-request return status 200 content-type text/plain string ok if {{ path /local }}\n\
         \x20   default_backend app\n\
         backend app\n    balance roundrobin\n    cookie SRVID insert indirect nocache\n\
         \x20   server s1 127.0.0.1:9101 check inter 300 rise 1 fall 2 cookie a maxconn 50 maxqueue 10\n\
         \x20   server s2 127.0.0.1:9102 check inter 300 rise 1 fall 2 cookie b\n\
         \x20   server s3 127.0.0.1:9103 backup cookie c\n\
         \x20   server s4 127.0.0.1:9101 check disabled\n\
         listen tcp\n    mode tcp\n    bind 127.0.0.1:8103\n    balance leastconn\n    server t1 127.0.0.1:9104\n\
         listen stats\n    bind 127.0.0.1:8102\n    stats enable\n    stats uri /stats\n    stats refresh 10s\n\
         \x20   stats auth admin:secret\n    stats admin if TRUE\n",
        admin.display(),
        user.display()
    );
    let get = |p: &str| format!("GET {p} HTTP/1.1\r\nHost: test.example\r\n\r\n").into_bytes();
    let runs = each(&lb, &cfg, addr("127.0.0.1:8102"), || {
        // s2 is refused: two failed checks take it DOWN.
        std::thread::sleep(Duration::from_millis(1500));
        for p in ["/", "/a", "/b", "/deny", "/local", "/c"] {
            let data = get(p);
            lb.run(move || exchange(addr("127.0.0.1:8101"), &data, Duration::from_millis(200)));
        }
        lb.run(|| {
            exchange(
                addr("127.0.0.1:8101"),
                b"BROKEN\r\n\r\n",
                Duration::from_millis(200),
            )
        });
        let over_tcp = get("/over-tcp");
        lb.run(move || {
            exchange(
                addr("127.0.0.1:8103"),
                &over_tcp,
                Duration::from_millis(300),
            )
        });
        std::thread::sleep(Duration::from_millis(200));
        let csv_before = cli(&admin, "show stat");
        let info_keys = cli(&user, "show info")
            .lines()
            .filter_map(|l| l.split_once(':').map(|(k, _)| k.to_string()))
            .collect();
        let mut replies = Vec::new();
        for (sock, line) in [
            (&admin, "get weight app/s1"),
            (&admin, "set weight app/s1 300"),
            (&admin, "set weight app/s1 abc"),
            (&admin, "set weight app/s1"),
            (&admin, "get weight nope/s1"),
            (&admin, "get weight app/nope"),
            (&admin, "get weight app"),
            (&admin, "set server app/s1 state foo"),
            (&admin, "enable health app/s3"),
            (&admin, "set maxconn server app/s1 x"),
            (&admin, "set maxconn frontend nope 5"),
            (&admin, "set maxconn global 99999999"),
            (&admin, "show servers state nope"),
            (&admin, "show backend"),
            (&admin, "show cli level"),
            (&user, "show cli level"),
            (&user, "disable server app/s1"),
            (&user, "clear counters"),
            (&admin, "set weight app/s1 3;get weight app/s1"),
            (&admin, "set server app/s1 weight 50%;get weight app/s1"),
            (&admin, "set maxconn server app/s1 20"),
            (&admin, "disable frontend nope"),
            (&admin, "disable frontend"),
            (&admin, "disable frontend web"),
            (&admin, "disable frontend web"),
            (&admin, "enable frontend web"),
            (&admin, "enable frontend web"),
            (&user, "shutdown frontend tcp"),
            (&admin, "shutdown frontend tcp"),
            (&admin, "shutdown frontend tcp"),
            (&admin, "enable frontend tcp"),
            (&admin, "disable server app/s1"),
        ] {
            replies.push((line.to_string(), cli(sock, line)));
        }
        std::thread::sleep(Duration::from_millis(100));
        let csv_after = cli(&admin, "show stat");
        // s1 in maintenance, s2 down: the backup serves.
        let mut served_after_disable = Vec::new();
        for _ in 0..3 {
            let (resp, _) = lb.run(move || {
                exchange(
                    addr("127.0.0.1:8101"),
                    b"GET /x HTTP/1.1\r\nHost: t\r\n\r\n",
                    Duration::from_millis(200),
                )
            });
            let text = String::from_utf8_lossy(&resp).into_owned();
            served_after_disable.push(text.rsplit("\r\n\r\n").next().unwrap_or("").to_string());
        }
        replies.push(("enable server".into(), cli(&admin, "enable server app/s1")));
        // The stats page: the challenge, CSV with credentials, an admin
        // action through the form.
        let mut page = Vec::new();
        let (r, _) = lb.run(|| {
            exchange(
                addr("127.0.0.1:8102"),
                b"GET /stats HTTP/1.1\r\nHost: t\r\n\r\n",
                Duration::from_millis(200),
            )
        });
        page.push((
            "no credentials".into(),
            status_and(&r, &["www-authenticate"]),
        ));
        let (r, _) = lb.run(|| {
            exchange(
                addr("127.0.0.1:8102"),
                b"GET /stats;csv HTTP/1.1\r\nHost: t\r\nAuthorization: Basic YWRtaW46c2VjcmV0\r\n\r\n",
                Duration::from_millis(300),
            )
        });
        let text = String::from_utf8_lossy(&r).into_owned();
        let header_line = text
            .lines()
            .find(|l| l.starts_with("# pxname"))
            .unwrap_or("(none)")
            .to_string();
        page.push((
            "csv".into(),
            format!(
                "{} {}",
                status_and(&r, &["content-type", "refresh"]),
                header_line
            ),
        ));
        let form = "s=s3&action=drain&b=app";
        let post = format!(
            "POST /stats HTTP/1.1\r\nHost: t\r\nAuthorization: Basic YWRtaW46c2VjcmV0\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
            form.len()
        );
        let (r, _) = lb.run(move || {
            exchange(
                addr("127.0.0.1:8102"),
                post.as_bytes(),
                Duration::from_millis(300),
            )
        });
        page.push(("admin post".into(), status_and(&r, &["location"])));
        std::thread::sleep(Duration::from_millis(100));
        let csv_after_page = cli(&admin, "show stat");
        Outcome {
            csv_before,
            info_keys,
            replies,
            csv_after,
            served_after_disable,
            page,
            csv_after_page,
        }
    });
    servers.take();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(runs.len(), 2);
    let (h, r) = (&runs[0].1, &runs[1].1);
    let mut report = Vec::new();
    let (hh, ht) = parse_csv(&h.csv_before);
    let (rh, rt) = parse_csv(&r.csv_before);
    if hh != rh {
        report.push(format!("CSV headers differ:\n  {hh}\n  {rh}"));
    }
    assert!(ht.len() > 5, "haproxy's show stat: {}", h.csv_before);
    // Bytes: exact in TCP mode (HTTP counts depend on header encoding).
    compare_tables("before", &ht, &rt, &[], &mut report);
    for key in ["tcp/FRONTEND", "tcp/t1", "tcp/BACKEND"] {
        let hb = ht.iter().find(|(k, _)| k == key);
        let rb = rt.iter().find(|(k, _)| k == key);
        if let (Some((_, a)), Some((_, b))) = (hb, rb) {
            for c in ["bin", "bout"] {
                if field(a, c) != field(b, c) {
                    report.push(format!(
                        "{key} {c}: haproxy {} rproxy {}",
                        field(a, c),
                        field(b, c)
                    ));
                }
            }
        }
    }
    let (_, ht2) = parse_csv(&h.csv_after);
    let (_, rt2) = parse_csv(&r.csv_after);
    compare_tables("after commands", &ht2, &rt2, &["slim"], &mut report);
    let (_, ht3) = parse_csv(&h.csv_after_page);
    let (_, rt3) = parse_csv(&r.csv_after_page);
    compare_tables("after page", &ht3, &rt3, &[], &mut report);
    let missing: Vec<&String> = h
        .info_keys
        .iter()
        .filter(|k| !r.info_keys.contains(k))
        .collect();
    if !missing.is_empty() || h.info_keys != r.info_keys {
        report.push(format!(
            "show info keys differ: missing {missing:?}\n  haproxy {:?}\n  rproxy  {:?}",
            h.info_keys, r.info_keys
        ));
    }
    for ((cmd, a), (_, b)) in h.replies.iter().zip(&r.replies) {
        if a != b {
            report.push(format!("reply to {cmd:?}: haproxy {a:?} rproxy {b:?}"));
        }
    }
    if h.served_after_disable != r.served_after_disable {
        report.push(format!(
            "served after disable: haproxy {:?} rproxy {:?}",
            h.served_after_disable, r.served_after_disable
        ));
    }
    assert!(
        h.served_after_disable.iter().all(|s| s == "s3"),
        "the backup serves once s1 is in maintenance: {:?}",
        h.served_after_disable
    );
    for ((what, a), (_, b)) in h.page.iter().zip(&r.page) {
        if a != b {
            report.push(format!("stats page {what}: haproxy {a:?} rproxy {b:?}"));
        }
    }
    assert!(report.is_empty(), "differences:\n{}", report.join("\n"));
}

/// `server-state-file` + `load-server-state-from-file`: what an operator
/// set (maintenance, weights, drain) survives a restart when the state was
/// saved with `show servers state` before it.
#[test]
fn server_state_survives_restart() {
    if !support::require_root() || support::haproxy_bin().is_none() {
        return;
    }
    let lb = Ns::new(unique("ssf"));
    let servers = HttpServers::start(
        &lb.name,
        &[
            ("s1", addr("127.0.0.1:9111")),
            ("s2", addr("127.0.0.1:9112")),
        ],
    );
    let mut outs = Vec::new();
    for w in support::proxy::BOTH {
        let dir = std::env::temp_dir().join(unique(&format!("ssf-{}", w.name())));
        std::fs::create_dir_all(&dir).expect("dir");
        let sock = dir.join("admin.sock");
        let state = dir.join("state");
        let cfg = format!(
            "global\n    nbthread 1\n    stats socket {} level admin\n    server-state-file {}\n\
             defaults\n    mode http\n    timeout connect 1s\n    timeout client 3s\n    timeout server 3s\n\
             \x20   load-server-state-from-file global\n\
             frontend web\n    bind 127.0.0.1:8111\n    default_backend app\n\
             backend app\n    server s1 127.0.0.1:9111 check inter 300\n    server s2 127.0.0.1:9112 check inter 300\n\
             \x20   server s3 127.0.0.1:9111 check inter 300\n    server s4 127.0.0.1:9112\n",
            sock.display(),
            state.display()
        );
        let Some(p) = support::proxy::Running::start(w, &lb.name, &cfg, addr("127.0.0.1:8111"))
        else {
            return;
        };
        std::thread::sleep(Duration::from_millis(700));
        for c in [
            "set server app/s1 state maint",
            "set weight app/s2 7",
            "set server app/s3 state drain",
            "set weight app/s4 0",
        ] {
            cli(&sock, c);
        }
        std::fs::write(&state, cli(&sock, "show servers state")).expect("state");
        drop(p.stop());
        let Some(p) = support::proxy::Running::start(w, &lb.name, &cfg, addr("127.0.0.1:8111"))
        else {
            return;
        };
        std::thread::sleep(Duration::from_millis(700));
        let (_, rows) = parse_csv(&cli(&sock, "show stat"));
        let view: Vec<String> = rows
            .iter()
            .filter(|(k, _)| k.starts_with("app/"))
            .map(|(k, r)| {
                format!(
                    "{k} {} {} {}",
                    field(r, "status"),
                    field(r, "weight"),
                    field(r, "uweight")
                )
            })
            .collect();
        drop(p.stop());
        let _ = std::fs::remove_dir_all(&dir);
        outs.push(view);
    }
    servers.take();
    assert!(
        outs[0].iter().any(|l| l.starts_with("app/s1 MAINT")),
        "haproxy restores maintenance: {:?}",
        outs[0]
    );
    assert_eq!(
        outs[0], outs[1],
        "haproxy (left) and rproxy (right) after a restart"
    );
}
