//! HTTP mode, haproxy and rproxy side by side on the same configuration
//! and requests: the bytes the client gets back and the requests the
//! servers receive must be the same — routing, balancing, cookie
//! persistence, header rules, redirects, local answers, error pages and
//! connection handling.

mod support;

use std::net::SocketAddr;
use std::time::Duration;
use support::http::{HttpServers, Received, exchange};
use support::netns::{Ns, unique};
use support::proxy::each;

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("address")
}

/// One scenario: requests sent to a frontend port, each on its own
/// connection (a request may hold several pipelined messages).
struct Case {
    name: &'static str,
    port: u16,
    requests: Vec<Vec<u8>>,
}

/// Cases where which idle server connection carries a pipelined request
/// is up to each proxy's pool (HAProxy's choice depends on when its
/// previous stream released the connection): only the requests count.
const POOL_DEPENDENT: &[&str] = &["keep-alive and pipelining"];

fn get(path: &str, extra: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: test.example\r\n{extra}\r\n").into_bytes()
}

/// What one proxy did with a case: per request, the client's bytes and
/// whether the connection closed; then what the servers received.
type Outcome = (Vec<(Vec<u8>, bool)>, Vec<(String, usize, Vec<u8>)>);

fn play(lb: &Ns, servers: &HttpServers, c: &Case) -> Outcome {
    servers.take();
    let mut out = Vec::new();
    for r in &c.requests {
        let to = addr(&format!("127.0.0.1:{}", c.port));
        let r = r.clone();
        out.push(lb.run(move || exchange(to, &r, Duration::from_millis(400))));
    }
    // let servers finish recording
    std::thread::sleep(Duration::from_millis(50));
    // Connections are numbered in order of first use within the case:
    // what matters is which requests shared one.
    let mut order: Vec<(String, usize)> = Vec::new();
    let seen = servers
        .take()
        .into_iter()
        .map(|Received { server, conn, raw }| {
            let key = (server.clone(), conn);
            let n = match order.iter().position(|k| *k == key) {
                Some(i) => i + 1,
                None => {
                    order.push(key);
                    order.len()
                }
            };
            (server, n, raw)
        })
        .collect();
    (out, seen)
}

fn show(b: &[u8]) -> String {
    String::from_utf8_lossy(b).replace("\r\n", "\\r\\n\n")
}

/// Runs every case through haproxy then rproxy and compares.
fn compare(tag: &str, cfg: &str, cases: &[Case], first_port: u16) {
    if !support::require_root() || support::haproxy_bin().is_none() {
        return;
    }
    let lb = Ns::new(unique(tag));
    let servers = HttpServers::start(
        &lb.name,
        &[
            ("s1", addr("127.0.0.1:9001")),
            ("s2", addr("127.0.0.1:9002")),
        ],
    );
    let results = each(&lb, cfg, addr(&format!("127.0.0.1:{first_port}")), || {
        cases
            .iter()
            .map(|c| play(&lb, &servers, c))
            .collect::<Vec<_>>()
    });
    assert_eq!(results.len(), 2);
    let mut diffs = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        let (h, r) = (&results[0].1[i], &results[1].1[i]);
        for (k, (hc, rc)) in h.0.iter().zip(&r.0).enumerate() {
            if hc != rc {
                diffs.push(format!(
                    "{} request {k}: client got\n--- haproxy (closed {})\n{}\n--- rproxy (closed {})\n{}",
                    c.name,
                    hc.1,
                    show(&hc.0),
                    rc.1,
                    show(&rc.0)
                ));
            }
        }
        let strip = |v: &Vec<(String, usize, Vec<u8>)>| -> Vec<(String, Vec<u8>)> {
            v.iter()
                .map(|(s, _, raw)| (s.clone(), raw.clone()))
                .collect()
        };
        let differ = if POOL_DEPENDENT.contains(&c.name) {
            strip(&h.1) != strip(&r.1)
        } else {
            h.1 != r.1
        };
        if differ {
            let fmt = |v: &Vec<(String, usize, Vec<u8>)>| {
                v.iter()
                    .map(|(s, n, raw)| format!("[{s} conn {n}] {}", show(raw)))
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            diffs.push(format!(
                "{}: servers received\n--- haproxy\n{}\n--- rproxy\n{}",
                c.name,
                fmt(&h.1),
                fmt(&r.1)
            ));
        }
    }
    assert!(diffs.is_empty(), "{}", diffs.join("\n\n"));
}

const DEFAULTS: &str = "global\n    nbthread 1\n\
    defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 2s\n    timeout http-request 2s\n";

/// The seed: round robin over two servers with inserted cookies and
/// `check inter 2000 rise 2 fall 3`; plus the other persistence modes.
#[test]
fn cookies_match_haproxy() {
    let cfg = format!(
        "{DEFAULTS}\
        listen seed\n    bind 127.0.0.1:8001\n    balance roundrobin\n    cookie SERVERID insert indirect nocache\n\
        \x20   server s1 127.0.0.1:9001 cookie s1 check inter 2000 rise 2 fall 3\n\
        \x20   server s2 127.0.0.1:9002 cookie s2 check inter 2000 rise 2 fall 3\n\
        listen attrs\n    bind 127.0.0.1:8002\n    cookie SRVID insert httponly secure domain .example.com attr SameSite=Lax\n\
        \x20   server s1 127.0.0.1:9001 cookie a\n    server s2 127.0.0.1:9002 cookie b\n\
        listen rewrite\n    bind 127.0.0.1:8003\n    cookie SRVID rewrite\n\
        \x20   server s1 127.0.0.1:9001 cookie a\n    server s2 127.0.0.1:9002 cookie b\n\
        listen prefix\n    bind 127.0.0.1:8004\n    cookie SRVID prefix\n\
        \x20   server s1 127.0.0.1:9001 cookie a\n    server s2 127.0.0.1:9002 cookie b\n\
        listen nocookie\n    bind 127.0.0.1:8005\n    cookie SRVID insert\n\
        \x20   server s1 127.0.0.1:9001\n    server s2 127.0.0.1:9002 cookie b\n\
        listen persist\n    bind 127.0.0.1:8006\n    cookie SRVID insert indirect\n    option persist\n    option redispatch\n\
        \x20   server s1 127.0.0.1:9001 cookie a\n    server dead 127.0.0.1:9099 cookie d\n"
    );
    let cases = vec![
        Case {
            name: "seed round robin, cookies inserted",
            port: 8001,
            requests: (0..4).map(|_| get("/", "")).collect(),
        },
        Case {
            name: "seed cookie sticks and is removed",
            port: 8001,
            requests: vec![
                get("/", "Cookie: SERVERID=s2\r\n"),
                get("/a", "Cookie: other=1; SERVERID=s2; more=2\r\n"),
                get("/b", "Cookie: SERVERID=nope\r\n"),
            ],
        },
        Case {
            name: "seed nocache on a cacheable response",
            port: 8001,
            requests: vec![get("/cache", ""), get("/cache", "Cookie: SERVERID=s1\r\n")],
        },
        Case {
            name: "cookie attributes",
            port: 8002,
            requests: vec![get("/", ""), get("/", "Cookie: SRVID=b\r\n")],
        },
        Case {
            name: "rewrite mode",
            port: 8003,
            requests: vec![
                get("/setcookie", ""),
                get("/setcookie", "Cookie: SRVID=b\r\n"),
            ],
        },
        Case {
            name: "prefix mode",
            port: 8004,
            requests: vec![
                b"GET /setcookie HTTP/1.1\r\nHost: h\r\n\r\n".to_vec(),
                get("/", "Cookie: JSESSIONID=x; SRVID=b~xyz\r\n"),
            ],
        },
        Case {
            name: "server without cookie",
            port: 8005,
            requests: vec![get("/", ""), get("/", "")],
        },
        Case {
            name: "persist to a dead server, redispatched",
            port: 8006,
            requests: vec![get("/", "Cookie: SRVID=d\r\n")],
        },
    ];
    compare("ckmode", &cfg, &cases, 8001);
}

/// Header rules, request-line rules, redirects, local answers.
#[test]
fn rules_match_haproxy() {
    let dir = std::env::temp_dir().join(unique("errfile"));
    std::fs::create_dir_all(&dir).expect("dir");
    let ef = dir.join("403.http");
    std::fs::write(
        &ef,
        "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 7\r\n\r\nnot you",
    )
    .expect("errorfile");
    let cfg = format!(
        "{DEFAULTS}\
        listen hdrs\n    bind 127.0.0.1:8011\n\
        \x20   http-request set-header X-Client %[src]\n\
        \x20   http-request add-header X-Added yes\n\
        \x20   http-request del-header X-Remove\n\
        \x20   http-request replace-header X-Rep (.*)b(.*) [\\1|\\2]\n\
        \x20   http-request replace-value X-List ^(.)(.*) <\\2>\n\
        \x20   http-request set-path /newpath if {{ path_beg /old }}\n\
        \x20   http-request set-query a=1 if {{ path_beg /q }}\n\
        \x20   http-request set-method PUT if {{ path /m }}\n\
        \x20   http-response set-header X-Resp %[status]\n\
        \x20   http-response del-header X-Server\n\
        \x20   http-after-response add-header X-After 1\n\
        \x20   server s1 127.0.0.1:9001\n\
        listen redirects\n    bind 127.0.0.1:8012\n\
        \x20   http-request redirect location /new code 301 if {{ path /loc }}\n\
        \x20   http-request redirect prefix https://x.example if {{ path_beg /rp }}\n\
        \x20   http-request redirect prefix /p drop-query append-slash code 308 if {{ path_beg /as }}\n\
        \x20   http-request redirect scheme https if {{ path_beg /sch }}\n\
        \x20   http-request redirect location /sc set-cookie FOO=bar if {{ path /sc }}\n\
        \x20   redirect location /legacy code 303 if {{ path /old-style }}\n\
        \x20   server s1 127.0.0.1:9001\n\
        listen answers\n    bind 127.0.0.1:8013\n\
        \x20   errorfile 403 {ef}\n\
        \x20   http-request deny if {{ path /deny }}\n\
        \x20   http-request deny deny_status 429 if {{ path /slowdown }}\n\
        \x20   http-request return status 200 content-type text/plain string hello hdr X-A v1 if {{ path /ret }}\n\
        \x20   http-request return status 404 if {{ path /ret404 }}\n\
        \x20   http-request auth realm Private if {{ path /auth }}\n\
        \x20   http-request auth if {{ path /auth2 }}\n\
        \x20   server s1 127.0.0.1:9001\n\
        userlist L\n    user admin insecure-password secret\n\
        \x20   user ops password $6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1\n\
        listen authz\n    bind 127.0.0.1:8014\n    http-request auth realm R unless {{ http_auth(L) }}\n    server s1 127.0.0.1:9001\n",
        ef = ef.display()
    );
    let cases = vec![
        Case {
            name: "header rules",
            port: 8011,
            requests: vec![get(
                "/",
                "X-Remove: 1\r\nX-Rep: ab, cb\r\nX-List: ab, cb,  de\r\nX-Client: spoofed\r\n",
            )],
        },
        Case {
            name: "request line rules",
            port: 8011,
            requests: vec![get("/old/x?k=v", ""), get("/q?old=1", ""), get("/m", "")],
        },
        Case {
            name: "redirects",
            port: 8012,
            requests: vec![
                get("/loc", ""),
                get("/rp/a?b", ""),
                get("/as/x?y=1", ""),
                get("/sch?q=1", ""),
                get("/sc", ""),
                get("/old-style", ""),
                b"POST /loc HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc".to_vec(),
            ],
        },
        Case {
            name: "local answers",
            port: 8013,
            requests: vec![
                get("/deny", ""),
                get("/slowdown", ""),
                get("/ret", ""),
                b"HEAD /ret HTTP/1.1\r\nHost: h\r\n\r\n".to_vec(),
                get("/ret404", ""),
                get("/auth", ""),
                get("/auth2", ""),
                [get("/deny", ""), get("/", "")].concat(),
                b"GET /ret HTTP/1.0\r\n\r\n".to_vec(),
            ],
        },
        Case {
            name: "userlist authentication",
            port: 8014,
            requests: vec![
                get("/", ""),
                get("/", "Authorization: Basic YWRtaW46c2VjcmV0\r\n"),
                get("/", "Authorization: Basic b3BzOnNlY3JldA==\r\n"),
                get("/", "Authorization: Basic b3BzOndyb25n\r\n"),
            ],
        },
    ];
    compare("rules", &cfg, &cases, 8011);
    let _ = std::fs::remove_dir_all(&dir);
}

/// X-Forwarded-For / X-Original-To, routing with HTTP ACLs, hash
/// balancing, connection modes, bodies and error pages.
#[test]
fn forwarding_matches_haproxy() {
    let cfg = format!(
        "{DEFAULTS}\
        frontend route\n    bind 127.0.0.1:8021\n\
        \x20   acl api path_beg /api\n    acl img hdr_end(host) -i img.example\n\
        \x20   use_backend b2 if api\n    use_backend b2 if img\n\
        \x20   use_backend b2 if {{ method DELETE }}\n\
        \x20   use_backend b2 if {{ url_param(to) two }}\n\
        \x20   default_backend b1\n\
        backend b1\n    server s1 127.0.0.1:9001\n\
        backend b2\n    server s2 127.0.0.1:9002\n\
        listen xff\n    bind 127.0.0.1:8022\n    option forwardfor\n    option originalto\n    server s1 127.0.0.1:9001\n\
        listen xffnone\n    bind 127.0.0.1:8023\n    option forwardfor if-none header X-Client\n    server s1 127.0.0.1:9001\n\
        listen xffexcept\n    bind 127.0.0.1:8024\n    option forwardfor except 127.0.0.0/8\n    server s1 127.0.0.1:9001\n\
        listen urihash\n    bind 127.0.0.1:8025\n    balance uri\n    server s1 127.0.0.1:9001\n    server s2 127.0.0.1:9002\n\
        listen paramhash\n    bind 127.0.0.1:8026\n    balance url_param user\n    server s1 127.0.0.1:9001\n    server s2 127.0.0.1:9002\n\
        listen hdrhash\n    bind 127.0.0.1:8027\n    balance hdr(X-Key)\n    hash-type consistent\n    server s1 127.0.0.1:9001\n    server s2 127.0.0.1:9002\n\
        listen srvclose\n    bind 127.0.0.1:8028\n    option http-server-close\n    server s1 127.0.0.1:9001\n\
        listen close\n    bind 127.0.0.1:8029\n    option httpclose\n    server s1 127.0.0.1:9001\n\
        listen errors\n    bind 127.0.0.1:8030\n    retries 0\n    timeout server 1s\n    server s1 127.0.0.1:9001\n\
        listen refused\n    bind 127.0.0.1:8031\n    retries 0\n    server dead 127.0.0.1:9099\n\
        listen sendname\n    bind 127.0.0.1:8032\n    http-send-name-header X-Server\n    server s2 127.0.0.1:9002\n"
    );
    let keys = ["alice", "bob", "carol", "dave", "eve", "frank"];
    let cases = vec![
        Case {
            name: "use_backend with HTTP ACLs",
            port: 8021,
            requests: vec![
                get("/api/x", ""),
                get("/", ""),
                b"GET / HTTP/1.1\r\nHost: cdn.img.example\r\n\r\n".to_vec(),
                b"DELETE /r HTTP/1.1\r\nHost: h\r\n\r\n".to_vec(),
                get("/p?to=two", ""),
            ],
        },
        Case {
            name: "forwardfor and originalto",
            port: 8022,
            requests: vec![get("/", "X-Forwarded-For: 9.9.9.9\r\n")],
        },
        Case {
            name: "http-send-name-header",
            port: 8032,
            requests: vec![get("/", "X-Server: forged\r\nX-Server: again\r\n")],
        },
        Case {
            name: "forwardfor if-none",
            port: 8023,
            requests: vec![get("/", ""), get("/", "X-Client: 5.5.5.5\r\n")],
        },
        Case {
            name: "forwardfor except",
            port: 8024,
            requests: vec![get("/", "")],
        },
        Case {
            name: "balance uri",
            port: 8025,
            requests: keys.iter().map(|k| get(&format!("/{k}?x=1"), "")).collect(),
        },
        Case {
            name: "balance url_param",
            port: 8026,
            requests: keys.iter().map(|k| get(&format!("/p?user={k}"), "")).collect(),
        },
        Case {
            name: "balance hdr consistent",
            port: 8027,
            requests: keys.iter().map(|k| get("/", &format!("X-Key: {k}\r\n"))).collect(),
        },
        Case {
            name: "keep-alive and pipelining",
            port: 8022,
            requests: vec![
                [get("/1", ""), get("/2", ""), get("/3", "Connection: close\r\n")].concat(),
                b"GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /b HTTP/1.0\r\n\r\n".to_vec(),
            ],
        },
        Case {
            name: "http-server-close",
            port: 8028,
            requests: vec![[get("/1", ""), get("/2", "")].concat()],
        },
        Case {
            name: "httpclose",
            port: 8029,
            requests: vec![[get("/1", ""), get("/2", "")].concat()],
        },
        Case {
            name: "bodies",
            port: 8022,
            requests: vec![
                get("/chunked", ""),
                get("/close", ""),
                b"HEAD / HTTP/1.1\r\nHost: h\r\n\r\n".to_vec(),
                get("/status/204", ""),
                b"POST /post HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n".to_vec(),
                b"POST /post HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello".to_vec(),
            ],
        },
        Case {
            name: "server errors",
            port: 8030,
            requests: vec![get("/garbage", ""), get("/hangup", ""), get("/slow", "")],
        },
        Case {
            name: "no server",
            port: 8031,
            requests: vec![get("/", ""), [get("/a", ""), get("/b", "")].concat()],
        },
    ];
    compare("fwd", &cfg, &cases, 8021);
}

/// A tunnel through the proxy: the upgrade (or CONNECT) request, the
/// server's answer, then bytes both ways. Returns what the client read
/// after each step.
fn tunnel(to: SocketAddr, request: &[u8]) -> Vec<String> {
    use std::io::{Read, Write};
    let mut out = Vec::new();
    let Ok(mut s) = std::net::TcpStream::connect(to) else {
        return vec!["refused".into()];
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
    let _ = s.write_all(request);
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    out.push(String::from_utf8_lossy(&got).into_owned());
    for msg in [&b"hello"[..], &b" \x00binary\xff"[..]] {
        let _ = s.write_all(msg);
        std::thread::sleep(Duration::from_millis(100));
        let n = s.read(&mut buf).unwrap_or(0);
        out.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    // The client closes its side: the tunnel ends.
    let _ = s.shutdown(std::net::Shutdown::Write);
    let n = s.read(&mut buf).unwrap_or(usize::MAX);
    out.push(format!("after close: {n}"));
    out
}

/// WebSocket upgrades and CONNECT become tunnels: the 101 (or 200)
/// answer relayed, then raw bytes both ways until one side closes.
#[test]
fn tunnels_match_haproxy() {
    if !support::require_root() || support::haproxy_bin().is_none() {
        return;
    }
    let lb = Ns::new(unique("tunnel"));
    let servers = HttpServers::start(&lb.name, &[("s1", addr("127.0.0.1:9001"))]);
    let cfg = format!(
        "{DEFAULTS}    timeout tunnel 3s\n\
         frontend web\n    bind 127.0.0.1:8061\n    default_backend app\n\
         backend app\n    server s1 127.0.0.1:9001\n"
    );
    let ws = b"GET /ws HTTP/1.1\r\nHost: test.example\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".to_vec();
    let connect = b"CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n".to_vec();
    let runs = each(&lb, &cfg, addr("127.0.0.1:8061"), || {
        let mut out = Vec::new();
        for req in [&ws, &connect] {
            let req = req.clone();
            out.push(lb.run(move || tunnel(addr("127.0.0.1:8061"), &req)));
            std::thread::sleep(Duration::from_millis(50));
            out.push(
                servers
                    .take()
                    .into_iter()
                    .map(|r| String::from_utf8_lossy(&r.raw).into_owned())
                    .collect(),
            );
        }
        out
    });
    assert_eq!(runs.len(), 2);
    let (h, r) = (&runs[0].1, &runs[1].1);
    assert!(
        h[0].get(1).is_some_and(|e| e == "s1:hello"),
        "haproxy tunnels the WebSocket: {h:?}"
    );
    assert_eq!(h, r, "haproxy (left) and rproxy (right)");
}
