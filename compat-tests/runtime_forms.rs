//! The runtime API's other output forms, haproxy and rproxy side by side
//! on the same configuration and traffic: `show stat` and `show info` in
//! their `typed` and `json` forms (with `desc`, `float`, object filters,
//! `up`), `show schema json`, the stats page's `;typed`, `;json` and
//! `;json-schema`; then `show errors` after the same malformed request and
//! response, and `show sess` while a TCP connection and an HTTP request
//! are held.

mod support;

use regex::Regex;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;
use support::cli;
use support::http::{HttpServers, exchange};
use support::netns::{Ns, unique};
use support::proxy::each;

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("address")
}

/// Statistics fields whose values depend on time, on the process, or on
/// how each implementation counts its own internals, and are not
/// compared (their presence, position, tags and type are):
/// * time and rates: ages, durations, averages and maxima of times, the
///   per-second rates (a request landing on either side of a second);
/// * `bin`/`bout` and the h1 module's counters: HTTP byte counts depend on
///   header encoding, and HAProxy's backend h1 counters include its
///   health checks;
/// * `need_conn_est`: HAProxy's estimate of server connections to keep;
///   `srv_icur` and `idle_conn_cur`: its idle server connections, which
///   rproxy keeps per thread without counting them (reported as 0, a
///   documented difference).
const STAT_MASKED: &[&str] = &[
    "lastchg",
    "downtime",
    "check_duration",
    "lastsess",
    "qtime",
    "ctime",
    "rtime",
    "ttime",
    "qtime_max",
    "ctime_max",
    "rtime_max",
    "ttime_max",
    "rate",
    "rate_max",
    "req_rate",
    "req_rate_max",
    "conn_rate",
    "conn_rate_max",
    "bin",
    "bout",
    "need_conn_est",
    "srv_icur",
    "idle_conn_cur",
    "h1_open_connections",
    "h1_open_streams",
    "h1_total_connections",
    "h1_total_streams",
    "h1_bytes_in",
    "h1_bytes_out",
];

/// `show info` fields whose values are compared: the others are the
/// version, the process, the host's limits, memory and time.
const INFO_COMPARED: &[&str] = &[
    "Name",
    "Nbthread",
    "Nbproc",
    "Process_num",
    "Maxconn",
    "Hard_maxconn",
    "Maxpipes",
    "ConnRateLimit",
    "SessRateLimit",
    "SslRateLimit",
    "MaxSslConns",
    "CompressBpsRateLim",
    "node",
    "description",
    "Stopping",
    "Unstoppable Jobs",
    "ActivePeers",
    "ConnectedPeers",
    "BusyPolling",
    "FailedResolutions",
    "DebugCommandsIssued",
    "CumRecvLogs",
    "Memmax_MB",
    "Memmax_bytes",
];

/// A typed line split into what identifies it (object, position, name,
/// tags, type) and its value (with the description, if any).
fn split_typed(line: &str) -> (String, String, String) {
    // OBJ.IID.SID.POS.NAME.PID:TAGS:TYPE:VALUE or POS.NAME.PID:TAGS:TYPE:VALUE
    let mut parts = line.splitn(4, ':');
    let head = parts.next().unwrap_or_default();
    let tags = parts.next().unwrap_or_default();
    let ty = parts.next().unwrap_or_default();
    let value = parts.next().unwrap_or_default();
    let fields: Vec<&str> = head.split('.').collect();
    let name = fields
        .get(fields.len().saturating_sub(2))
        .copied()
        .unwrap_or_default()
        .to_string();
    (format!("{head}:{tags}:{ty}"), name, value.to_string())
}

/// Differences between two typed outputs: lines must be the same
/// (identity, tags, type) and in the same order; values must be equal
/// unless `compared` rejects the field's name.
fn compare_typed(
    what: &str,
    h: &str,
    r: &str,
    compared: &dyn Fn(&str) -> bool,
    report: &mut Vec<String>,
) {
    let hl: Vec<_> = h
        .lines()
        .filter(|l| !l.is_empty())
        .map(split_typed)
        .collect();
    let rl: Vec<_> = r
        .lines()
        .filter(|l| !l.is_empty())
        .map(split_typed)
        .collect();
    let hk: Vec<&String> = hl.iter().map(|(k, _, _)| k).collect();
    let rk: Vec<&String> = rl.iter().map(|(k, _, _)| k).collect();
    if hk != rk {
        let only_h: Vec<_> = hk.iter().filter(|k| !rk.contains(k)).collect();
        let only_r: Vec<_> = rk.iter().filter(|k| !hk.contains(k)).collect();
        report.push(format!(
            "{what}: lines differ ({} vs {}); only haproxy {only_h:?}; only rproxy {only_r:?}",
            hk.len(),
            rk.len()
        ));
        return;
    }
    for ((k, name, hv), (_, _, rv)) in hl.iter().zip(&rl) {
        if compared(name) && hv != rv {
            report.push(format!("{what} {k}: haproxy {hv:?} rproxy {rv:?}"));
        }
    }
}

/// The JSON text with every value replaced by its type alone: what must
/// be identical (structure, order, names, positions, tags, types).
fn json_skeleton(text: &str) -> String {
    let re =
        Regex::new(r#""value":\{"type":"([a-z0-9]+)","value":("(?:[^"\\]|\\.)*"|[-0-9.e]+)\}"#)
            .expect("regex");
    re.replace_all(text, r#""value":{"type":"$1"}"#)
        .into_owned()
}

/// `(objType/proxyId/id/name) → value` of a `show stat json` document.
fn json_values(text: &str) -> BTreeMap<String, serde_json::Value> {
    let doc: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
    let mut out = BTreeMap::new();
    for row in doc.as_array().into_iter().flatten() {
        for f in row.as_array().into_iter().flatten() {
            let key = format!(
                "{}/{}/{}/{}",
                f["objType"], f["proxyId"], f["id"], f["field"]["name"]
            );
            out.insert(key, f["value"]["value"].clone());
        }
    }
    out
}

fn compare_json(what: &str, h: &str, r: &str, report: &mut Vec<String>) {
    compare_json_with(what, h, r, &|n| !STAT_MASKED.contains(&n), report);
}

fn compare_json_with(
    what: &str,
    h: &str,
    r: &str,
    compared: &dyn Fn(&str) -> bool,
    report: &mut Vec<String>,
) {
    for (who, text) in [("haproxy", h), ("rproxy", r)] {
        if let Err(e) = serde_json::from_str::<serde_json::Value>(text) {
            report.push(format!(
                "{what}: {who}'s output is not JSON ({e}): {text:.200}"
            ));
            return;
        }
    }
    let (hs, rs) = (json_skeleton(h), json_skeleton(r));
    if hs != rs {
        let at = hs
            .bytes()
            .zip(rs.bytes())
            .position(|(a, b)| a != b)
            .unwrap_or(hs.len().min(rs.len()));
        let from = at.saturating_sub(150);
        report.push(format!(
            "{what}: JSON structure differs at byte {at}:\n  haproxy …{}\n  rproxy  …{}",
            &hs[from..(at + 150).min(hs.len())],
            &rs[from..(at + 150).min(rs.len())]
        ));
        return;
    }
    let (hv, rv) = (json_values(h), json_values(r));
    for (k, a) in &hv {
        let name = k.rsplit('/').next().unwrap_or_default().trim_matches('"');
        if compared(name) && rv.get(k) != Some(a) {
            report.push(format!("{what} {k}: haproxy {a} rproxy {:?}", rv.get(k)));
        }
    }
}

/// A GET on the stats page: content type and body.
fn page(to: SocketAddr, path: &str) -> (String, String) {
    let req = format!("GET {path} HTTP/1.0\r\nHost: t\r\n\r\n");
    let (resp, _) = exchange(to, req.as_bytes(), Duration::from_millis(400));
    let text = String::from_utf8_lossy(&resp).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let header = |name: &str| {
        head.lines().find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix(&format!("{name}:"))
                .map(|v| v.trim().to_string())
        })
    };
    let ctype = header("content-type").unwrap_or_default();
    // HAProxy chunks the page, rproxy gives its length.
    let body = if header("transfer-encoding").is_some_and(|v| v == "chunked") {
        dechunk(body)
    } else {
        body.to_string()
    };
    (ctype, body)
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].strip_prefix("\r\n").unwrap_or(&after[n..]);
    }
    out
}

struct Forms {
    stat_typed: String,
    stat_typed_desc_user: String,
    stat_json: String,
    stat_json_user: String,
    stat_json_up: String,
    stat_servers_typed: String,
    stat_listener_json: String,
    stat_filter_no_proxy: String,
    info_typed: String,
    info_json: String,
    info_typed_desc_float: String,
    info_desc: String,
    info_float: String,
    schema: String,
    page_typed: (String, String),
    page_json: (String, String),
    page_schema: (String, String),
}

#[test]
fn typed_and_json_forms_match_haproxy() {
    if !support::require_root() || support::haproxy_bin().is_none() {
        return;
    }
    let lb = Ns::new(unique("forms"));
    let servers = HttpServers::start(
        &lb.name,
        &[
            ("s1", addr("127.0.0.1:9201")),
            ("t1", addr("127.0.0.1:9204")),
        ],
    );
    let dir = std::env::temp_dir().join(unique("forms-sock"));
    std::fs::create_dir_all(&dir).expect("dir");
    let admin = dir.join("admin.sock");
    let user = dir.join("user.sock");
    let cfg = format!(
        "global\n    nbthread 1\n    maxconn 400\n    node forms-node\n    description forms test\n\
         \x20   stats socket {} level admin\n    stats socket {} level user\n\
         defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n\
         frontend web\n    bind 127.0.0.1:8201 name web-in\n    option socket-stats\n\
         \x20   http-request deny if {{ path /deny }}\n    default_backend app\n\
         backend app\n    balance roundrobin\n    cookie SRVID insert indirect nocache\n\
         \x20   server s1 127.0.0.1:9201 check inter 300 rise 1 fall 2 cookie a maxconn 50 maxqueue 10\n\
         \x20   server s2 127.0.0.1:9202 check inter 300 rise 1 fall 2 cookie b\n\
         \x20   server s3 127.0.0.1:9201 backup cookie c\n\
         \x20   server s4 127.0.0.1:9201 check disabled\n\
         listen tcp\n    mode tcp\n    bind 127.0.0.1:8203\n    balance leastconn\n    server t1 127.0.0.1:9204\n\
         listen stats\n    bind 127.0.0.1:8202\n    stats enable\n    stats uri /stats\n    stats show-legends\n",
        admin.display(),
        user.display()
    );
    let runs = each(&lb, &cfg, addr("127.0.0.1:8202"), || {
        // s2 is refused: two failed checks take it DOWN.
        std::thread::sleep(Duration::from_millis(1200));
        for p in ["/", "/a", "/deny", "/b"] {
            let req = format!("GET {p} HTTP/1.1\r\nHost: t\r\n\r\n").into_bytes();
            lb.run(move || exchange(addr("127.0.0.1:8201"), &req, Duration::from_millis(200)));
            // One client at a time (smax is compared): each proxy sees
            // this client's close before the next one connects.
            std::thread::sleep(Duration::from_millis(150));
        }
        lb.run(|| {
            exchange(
                addr("127.0.0.1:8201"),
                b"BROKEN\r\n\r\n",
                Duration::from_millis(200),
            )
        });
        lb.run(|| {
            exchange(
                addr("127.0.0.1:8203"),
                b"GET /over-tcp HTTP/1.0\r\n\r\n",
                Duration::from_millis(300),
            )
        });
        std::thread::sleep(Duration::from_millis(200));
        let pg = |path: &'static str| lb.run(move || page(addr("127.0.0.1:8202"), path));
        Forms {
            stat_typed: cli(&admin, "show stat typed"),
            stat_typed_desc_user: cli(&user, "show stat typed desc"),
            stat_json: cli(&admin, "show stat json"),
            stat_json_user: cli(&user, "show stat json"),
            stat_json_up: cli(&admin, "show stat json up"),
            stat_servers_typed: cli(&admin, "show stat app 4 -1 typed no-maint"),
            stat_listener_json: cli(&admin, "show stat web 8 1 json"),
            stat_filter_no_proxy: cli(&admin, "show stat typed desc up"),
            info_typed: cli(&user, "show info typed"),
            info_json: cli(&user, "show info json"),
            info_typed_desc_float: cli(&user, "show info typed desc float"),
            info_desc: cli(&user, "show info desc"),
            info_float: cli(&user, "show info float"),
            schema: cli(&user, "show schema json"),
            page_typed: pg("/stats;typed"),
            page_json: pg("/stats;json;up"),
            page_schema: pg("/stats;json-schema;csv"),
        }
    });
    drop(servers);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(runs.len(), 2);
    let (h, r) = (&runs[0].1, &runs[1].1);
    assert!(
        h.stat_typed.contains("F.2.0.0.pxname.1:KNS:str:web"),
        "haproxy's typed form: {:.300}",
        h.stat_typed
    );
    let mut report = Vec::new();
    let stat = |n: &str| !STAT_MASKED.contains(&n);
    compare_typed(
        "show stat typed",
        &h.stat_typed,
        &r.stat_typed,
        &stat,
        &mut report,
    );
    compare_typed(
        "show stat typed desc (user level)",
        &h.stat_typed_desc_user,
        &r.stat_typed_desc_user,
        &stat,
        &mut report,
    );
    compare_typed(
        "show stat app 4 -1 typed no-maint",
        &h.stat_servers_typed,
        &r.stat_servers_typed,
        &stat,
        &mut report,
    );
    compare_json("show stat json", &h.stat_json, &r.stat_json, &mut report);
    compare_json(
        "show stat json (user level)",
        &h.stat_json_user,
        &r.stat_json_user,
        &mut report,
    );
    compare_json(
        "show stat json up",
        &h.stat_json_up,
        &r.stat_json_up,
        &mut report,
    );
    compare_json(
        "show stat web 8 1 json",
        &h.stat_listener_json,
        &r.stat_listener_json,
        &mut report,
    );
    if h.stat_filter_no_proxy != r.stat_filter_no_proxy {
        report.push(format!(
            "show stat typed desc up (three words: a filter): haproxy {:?} rproxy {:?}",
            h.stat_filter_no_proxy, r.stat_filter_no_proxy
        ));
    }
    let info = |n: &str| INFO_COMPARED.contains(&n);
    compare_typed(
        "show info typed",
        &h.info_typed,
        &r.info_typed,
        &info,
        &mut report,
    );
    compare_typed(
        "show info typed desc float",
        &h.info_typed_desc_float,
        &r.info_typed_desc_float,
        &|_: &str| false,
        &mut report,
    );
    for (what, a, b) in [
        ("show info desc", &h.info_desc, &r.info_desc),
        ("show info float", &h.info_float, &r.info_float),
    ] {
        // Keys (and descriptions) in order; values are not compared.
        let shape = |t: &str| -> Vec<String> {
            t.lines()
                .map(|l| match l.split_once(": ") {
                    Some((k, v)) => format!("{k} {}", v.rsplit_once(":\"").map_or("", |(_, d)| d)),
                    None => l.to_string(),
                })
                .collect()
        };
        if shape(a) != shape(b) {
            report.push(format!(
                "{what}: keys differ\n  haproxy {:?}\n  rproxy  {:?}",
                shape(a),
                shape(b)
            ));
        }
    }
    // Information JSON: same structure; compared values as in the typed form.
    let hs = json_skeleton(&h.info_json);
    let rs = json_skeleton(&r.info_json);
    if hs != rs || serde_json::from_str::<serde_json::Value>(&r.info_json).is_err() {
        report.push(format!(
            "show info json: structure differs\n  haproxy {hs:.400}\n  rproxy  {rs:.400}"
        ));
    }
    if h.schema != r.schema {
        report.push(format!(
            "show schema json differs:\n  haproxy {:?}\n  rproxy  {:?}",
            h.schema, r.schema
        ));
    }
    if h.page_typed.0 != r.page_typed.0 {
        report.push(format!(
            "page ;typed content type: {:?} vs {:?}",
            h.page_typed.0, r.page_typed.0
        ));
    }
    // The page's own request: HAProxy counts it in req_tot and
    // intercepted as soon as its head is in, rproxy when it ends.
    let page_fields = |n: &str| stat(n) && n != "req_tot" && n != "intercepted";
    compare_typed(
        "page ;typed",
        &h.page_typed.1,
        &r.page_typed.1,
        &page_fields,
        &mut report,
    );
    if h.page_json.0 != r.page_json.0 {
        report.push(format!(
            "page ;json content type: {:?} vs {:?}",
            h.page_json.0, r.page_json.0
        ));
    }
    compare_json_with(
        "page ;json;up",
        &h.page_json.1,
        &r.page_json.1,
        &page_fields,
        &mut report,
    );
    if h.page_schema != r.page_schema {
        report.push(format!(
            "page ;json-schema differs: {:?} vs {:?}",
            h.page_schema.0, r.page_schema.0
        ));
    }
    assert!(report.is_empty(), "differences:\n{}", report.join("\n"));
}

/// `show errors` with dates and the client's port masked, and the
/// stream's "end of input seen" flag (0x8) cleared: whether the server's
/// close arrives with its bad response or just after is a race, in
/// HAProxy as in rproxy.
fn mask_errors(text: &str) -> String {
    let date = Regex::new(r"\[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d\.\d{3}\]").expect("regex");
    let src = Regex::new(r"src 127\.0\.0\.1:\d+").expect("regex");
    let reos = Regex::new(r"H1 stream flags 0x([0-9a-f]{8})").expect("regex");
    let t = date.replace_all(text, "[DATE]");
    let t = src.replace_all(&t, "src 127.0.0.1:PORT");
    reos.replace_all(&t, |c: &regex::Captures| {
        let v = u32::from_str_radix(&c[1], 16).unwrap_or(0) & !0x8;
        format!("H1 stream flags 0x{v:08x}")
    })
    .into_owned()
}

/// A `show sess` line reduced to what both must agree on: the field names
/// in order, and proto, src, fe, be, srv.
fn sess_line(line: &str, ports: &BTreeMap<u16, &str>) -> String {
    let names = Regex::new(r"([a-z_]+)=").expect("regex");
    let skeleton: Vec<&str> = names
        .captures_iter(line)
        .filter_map(|c| c.get(1).map(|m| m.as_str()))
        .collect();
    let get = |k: &str| {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(&format!("{k}=")))
            .unwrap_or("-")
            .to_string()
    };
    // Clients are told apart by their port, the same role in both runs.
    let src = get("src");
    let src = match src.rsplit_once(':') {
        Some((ip, port)) => match port.parse::<u16>().ok().and_then(|p| ports.get(&p)) {
            Some(role) => format!("{ip}:<{role}>"),
            None => src.clone(),
        },
        None => src,
    };
    format!(
        "proto={} src={src} fe={} be={} srv={} | {}",
        get("proto"),
        get("fe"),
        get("be"),
        get("srv"),
        skeleton.join(",")
    )
}

struct Observed {
    errors_all: String,
    errors_web_request: String,
    errors_app_response: String,
    errors_bad_proxy: String,
    sess: Vec<String>,
    sess_detail: Vec<String>,
    sess_unknown: String,
}

#[test]
fn errors_and_sessions_match_haproxy() {
    if !support::require_root() || support::haproxy_bin().is_none() {
        return;
    }
    let lb = Ns::new(unique("sess"));
    let servers = HttpServers::start(
        &lb.name,
        &[
            ("s1", addr("127.0.0.1:9211")),
            ("t1", addr("127.0.0.1:9214")),
        ],
    );
    let dir = std::env::temp_dir().join(unique("sess-sock"));
    std::fs::create_dir_all(&dir).expect("dir");
    let admin = dir.join("admin.sock");
    let cfg = format!(
        "global\n    nbthread 1\n    stats socket {} level admin\n\
         defaults\n    mode http\n    timeout connect 1s\n    timeout client 10s\n    timeout server 10s\n\
         frontend web\n    bind 127.0.0.1:8211\n    default_backend app\n\
         backend app\n    server s1 127.0.0.1:9211\n\
         listen tcp\n    mode tcp\n    bind 127.0.0.1:8213\n    server t1 127.0.0.1:9214\n",
        admin.display()
    );
    let runs = each(&lb, &cfg, addr("127.0.0.1:8211"), || {
        let bad = b"GET / HTTP/1.1\r\nHost: a\r\nBad Header: x\r\n\r\n";
        lb.run(|| exchange(addr("127.0.0.1:8211"), bad, Duration::from_millis(300)));
        // The server's answer to /garbage is not HTTP.
        lb.run(|| {
            exchange(
                addr("127.0.0.1:8211"),
                b"GET /garbage HTTP/1.1\r\nHost: a\r\n\r\n",
                Duration::from_millis(300),
            )
        });
        // Held: a TCP connection, and an HTTP request the server answers
        // after 3 s.
        let (tx, rx) = std::sync::mpsc::channel();
        let holder = lb.spawn(move || {
            let mut tcp = TcpStream::connect(addr("127.0.0.1:8213")).ok()?;
            let mut http = TcpStream::connect(addr("127.0.0.1:8211")).ok()?;
            std::thread::sleep(Duration::from_millis(100));
            let _ = http.write_all(b"GET /slow HTTP/1.1\r\nHost: a\r\n\r\n");
            let ports = (
                tcp.local_addr().ok()?.port(),
                http.local_addr().ok()?.port(),
            );
            let _ = tx.send(ports);
            let mut buf = [0u8; 1024];
            let _ = http.set_read_timeout(Some(Duration::from_secs(5)));
            let _ = http.read(&mut buf);
            let _ = tcp.write_all(b"x");
            Some(())
        });
        let (tcp_port, http_port) = rx.recv_timeout(Duration::from_secs(5)).expect("held");
        std::thread::sleep(Duration::from_millis(400));
        let ports: BTreeMap<u16, &str> = [(tcp_port, "tcp client"), (http_port, "http client")]
            .into_iter()
            .collect();
        let listing = cli(&admin, "show sess");
        let sess: Vec<String> = listing
            .lines()
            .filter(|l| !l.is_empty())
            .map(|l| sess_line(l, &ports))
            .collect();
        let tcp_ptr = listing
            .lines()
            .find(|l| l.contains(&format!(":{tcp_port} ")))
            .and_then(|l| l.split(':').next())
            .unwrap_or("0x0")
            .to_string();
        let detail = cli(&admin, &format!("show sess {tcp_ptr}"));
        // The detailed dump's lines on the stream's identity, with
        // pointers, dates, ports, the stream's number and its internal
        // state masked; HAProxy goes on with its scheduler and buffers,
        // which rproxy does not print.
        let ptr = Regex::new(r"^0x[0-9a-f]+: \[[^\]]*\]").expect("regex");
        let port = Regex::new(r":\d+\b").expect("regex");
        let state = Regex::new(
            r"\b(id|flags|conn_retries|conn_exp|conn_et|srv_conn|pend_pos|waiting|epoch)=[^ ,]*",
        )
        .expect("regex");
        let sess_detail: Vec<String> = detail
            .lines()
            .take(5)
            .map(|l| {
                let l = ptr.replace(l, "PTR: [DATE]");
                // HAProxy adds the backend connection's source address.
                let l = match l.strip_prefix("  backend=") {
                    Some(b) => {
                        format!("  backend={}", b.split(" addr=").next().unwrap_or_default())
                    }
                    None => l.into_owned(),
                };
                let l = port.replace_all(&l, ":PORT");
                // The proxies' and servers' ids in parentheses stay.
                state
                    .replace_all(&l, |c: &regex::Captures| {
                        if c[0].starts_with("id=") && l.contains(&format!("({}", &c[0])) {
                            c[0].to_string()
                        } else {
                            format!("{}=_", &c[1])
                        }
                    })
                    .into_owned()
            })
            .collect();
        let sess_unknown = cli(&admin, "show sess 0x1");
        let _ = holder.join();
        Observed {
            errors_all: cli(&admin, "show errors"),
            errors_web_request: cli(&admin, "show errors web request"),
            errors_app_response: cli(&admin, "show errors app response"),
            errors_bad_proxy: cli(&admin, "show errors request"),
            sess,
            sess_detail,
            sess_unknown,
        }
    });
    drop(servers);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(runs.len(), 2);
    let (h, r) = (&runs[0].1, &runs[1].1);
    assert!(
        h.errors_all.contains("frontend web (#2): invalid request")
            && h.errors_all.contains("invalid response"),
        "haproxy captured both: {}",
        h.errors_all
    );
    assert!(
        h.sess.iter().any(|l| l.contains("<tcp client>"))
            && h.sess.iter().any(|l| l.contains("<http client>")),
        "haproxy lists the held connections: {:?}",
        h.sess
    );
    let mut report = Vec::new();
    for (what, a, b) in [
        ("show errors", &h.errors_all, &r.errors_all),
        (
            "show errors web request",
            &h.errors_web_request,
            &r.errors_web_request,
        ),
        (
            "show errors app response",
            &h.errors_app_response,
            &r.errors_app_response,
        ),
        (
            "show errors request",
            &h.errors_bad_proxy,
            &r.errors_bad_proxy,
        ),
        ("show sess 0x1", &h.sess_unknown, &r.sess_unknown),
    ] {
        let (a, b) = (mask_errors(a), mask_errors(b));
        if a != b {
            report.push(format!("{what}:\n--- haproxy\n{a}--- rproxy\n{b}"));
        }
    }
    if h.sess != r.sess {
        report.push(format!(
            "show sess:\n  haproxy {:#?}\n  rproxy  {:#?}",
            h.sess, r.sess
        ));
    }
    if h.sess_detail != r.sess_detail {
        report.push(format!(
            "show sess <tcp stream>:\n  haproxy {:#?}\n  rproxy  {:#?}",
            h.sess_detail, r.sess_detail
        ));
    }
    assert!(report.is_empty(), "differences:\n{}", report.join("\n"));
}
