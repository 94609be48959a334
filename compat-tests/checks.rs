//! Health checks, haproxy and rproxy side by side and at the same time,
//! checking the same servers: when a server is stopped, blackholed or
//! made sick and then restored, both must say the same thing (the state
//! change messages, word for word but for check durations) at about the
//! same moment (within one check interval), and stop and resume sending it
//! traffic accordingly.

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};
use support::control::{self, Controlled, Mode};
use support::netns::{Ns, unique};
use support::proxy::{Lines, Running, Which};

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("address")
}

/// Masks the numbers that depend on timing rather than behaviour: the
/// check duration, and the sessions in flight on the server at that
/// instant (test traffic runs throughout).
fn normalize(line: &str) -> String {
    let mut out = line.to_string();
    for key in ["check duration: ", ". "] {
        let mut masked = String::new();
        let mut rest = out.as_str();
        while let Some(i) = rest.find(key) {
            let (a, b) = rest.split_at(i + key.len());
            masked.push_str(a);
            let digits = b.find(|c: char| !c.is_ascii_digit()).unwrap_or(b.len());
            let is_sessions = b[digits..].starts_with(" sessions active");
            if key == ". " && !is_sessions {
                rest = b;
                continue;
            }
            masked.push('N');
            rest = &b[digits..];
        }
        masked.push_str(rest);
        out = masked;
    }
    // drop the "[WARNING]  (pid) : " prefix
    match out.split_once(") : ") {
        Some((_, m)) => m.to_string(),
        None => out,
    }
}

/// Both proxies running at once on the same backend servers.
struct Pair {
    procs: Vec<(Which, Running, Lines, SocketAddr)>,
}

impl Pair {
    /// `cfg` has `@PORT@` where each proxy's frontend port goes.
    fn start(lb: &Ns, cfg: &str, ports: [u16; 2]) -> Option<Pair> {
        let mut procs = Vec::new();
        for (w, port) in [Which::Haproxy, Which::Rproxy].into_iter().zip(ports) {
            let text = cfg.replace("@PORT@", &port.to_string());
            let front = addr(&format!("127.0.0.1:{port}"));
            let mut p = Running::start(w, &lb.name, &text, front)?;
            let lines = p.record_stderr();
            procs.push((w, p, lines, front));
        }
        Some(Pair { procs })
    }

    /// When each proxy printed a line containing `needle` after `since`
    /// (waiting up to `max`).
    fn wait_for(
        &self,
        needle: &str,
        since: Instant,
        max: Duration,
    ) -> Vec<Option<(Instant, String)>> {
        let deadline = Instant::now() + max;
        loop {
            let found: Vec<Option<(Instant, String)>> = self
                .procs
                .iter()
                .map(|(_, _, lines, _)| {
                    lines
                        .lock()
                        .expect("lines")
                        .iter()
                        .find(|(t, l)| *t >= since && l.contains(needle))
                        .cloned()
                })
                .collect();
            if found.iter().all(Option::is_some) || Instant::now() > deadline {
                return found;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn dump(&self) -> String {
        let mut s = String::new();
        for (w, _, lines, _) in &self.procs {
            s.push_str(&format!("--- {}\n", w.name()));
            for (_, l) in lines.lock().expect("lines").iter() {
                s.push_str(l);
                s.push('\n');
            }
        }
        s
    }
}

/// Asserts both proxies reported `needle` (same text) within `tol` of
/// each other; returns haproxy's moment.
fn same_event(pair: &Pair, needle: &str, since: Instant, max: Duration, tol: Duration) -> Instant {
    let got = pair.wait_for(needle, since, max);
    let (Some((th, lh)), Some((tr, lr))) = (&got[0], &got[1]) else {
        panic!("'{needle}' not reported by both:\n{}", pair.dump());
    };
    eprintln!(
        "{needle}: haproxy +{:?}, rproxy +{:?}\n  {}\n  {}",
        th.duration_since(since),
        tr.duration_since(since),
        normalize(lh),
        normalize(lr)
    );
    assert_eq!(normalize(lh), normalize(lr), "same message for '{needle}'");
    let diff = if th > tr { *th - *tr } else { *tr - *th };
    assert!(
        diff <= tol,
        "'{needle}': haproxy and rproxy {diff:?} apart (tolerance {tol:?})"
    );
    *th
}

/// When each answer came, and from which server.
type Answers = Vec<(Instant, Option<String>)>;

/// Requests through each proxy every 50 ms while `f` runs; returns, per
/// proxy, when each answer came and from which server.
fn with_traffic<T>(lb: &Ns, fronts: Vec<SocketAddr>, f: impl FnOnce() -> T) -> (T, Vec<Answers>) {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut threads = Vec::new();
    for front in fronts {
        let stop = std::sync::Arc::clone(&stop);
        threads.push(lb.spawn(move || {
            let mut seen = Vec::new();
            // bounded: at most 10 minutes of 50 ms steps
            for _ in 0..12_000 {
                if stop.load(std::sync::atomic::Ordering::Relaxed) {
                    break;
                }
                seen.push((Instant::now(), control::request(front)));
                std::thread::sleep(Duration::from_millis(50));
            }
            seen
        }));
    }
    let r = f();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let seen = threads
        .into_iter()
        .map(|t| t.join().expect("traffic"))
        .collect();
    (r, seen)
}

/// The first moment `name` answered after `after`.
fn served(seen: &[(Instant, Option<String>)], name: &str, after: Instant) -> Option<Instant> {
    seen.iter()
        .find(|(t, n)| *t >= after && n.as_deref() == Some(name))
        .map(|(t, _)| *t)
}

fn timeline(tag: &str, server_opts: &str, tol: Duration, phase_max: Duration) {
    if !support::require_root() || support::haproxy_bin().is_none() {
        return;
    }
    let lb = Ns::new(unique(tag));
    let mut s1 = Controlled::start(&lb.name, "s1", addr("127.0.0.1:9001"));
    let _s2 = Controlled::start(&lb.name, "s2", addr("127.0.0.1:9002"));
    let cfg = format!(
        "global\n    nbthread 1\n\
         defaults\n    mode tcp\n    timeout connect 500ms\n    timeout client 5s\n    timeout server 5s\n\
         frontend f\n    bind 127.0.0.1:@PORT@\n    default_backend be\n\
         backend be\n    balance roundrobin\n    option httpchk GET /health\n\
         \x20   server s1 127.0.0.1:9001 check {server_opts}\n\
         \x20   server s2 127.0.0.1:9002 check {server_opts}\n"
    );
    let Some(pair) = Pair::start(&lb, &cfg, [8001, 8002]) else {
        return;
    };
    let fronts: Vec<SocketAddr> = pair.procs.iter().map(|p| p.3).collect();
    let ((down, up), traffic) = with_traffic(&lb, fronts, || {
        // Let the first checks pass on both.
        std::thread::sleep(phase_max / 3);
        // 1. stopped: refused connections
        let t = Instant::now();
        s1.set(Mode::Stopped);
        same_event(&pair, "Server be/s1 is DOWN", t, phase_max, tol);
        let t = Instant::now();
        s1.set(Mode::Up);
        same_event(&pair, "Server be/s1 is UP", t, phase_max, tol);
        // 2. blackholed: checks time out
        let t = Instant::now();
        s1.blackhole(true);
        same_event(&pair, "Server be/s1 is DOWN", t, phase_max * 2, tol);
        let t = Instant::now();
        s1.blackhole(false);
        same_event(&pair, "Server be/s1 is UP", t, phase_max, tol);
        // 3. sick: 500 to checks, traffic still answered
        let t = Instant::now();
        s1.set(Mode::Sick);
        let down = same_event(&pair, "Server be/s1 is DOWN", t, phase_max, tol);
        std::thread::sleep(Duration::from_millis(300));
        let t = Instant::now();
        s1.set(Mode::Up);
        let up = same_event(&pair, "Server be/s1 is UP", t, phase_max, tol);
        std::thread::sleep(tol + Duration::from_millis(500));
        (down, up)
    });
    for (i, seen) in traffic.iter().enumerate() {
        let who = pair.procs[i].0.name();
        // While sick and DOWN, s1 gets no traffic; it gets it back once UP.
        let after_down = down + tol + Duration::from_millis(200);
        let leak = seen
            .iter()
            .find(|(t, n)| *t > after_down && *t < up && n.as_deref() == Some("s1"));
        assert!(leak.is_none(), "{who}: traffic to a DOWN server");
        assert!(
            served(seen, "s1", up).is_some(),
            "{who}: s1 gets traffic again once UP"
        );
    }
}

/// The seed's `check inter 2000 rise 2 fall 3`.
#[test]
fn seed_timeline_matches_haproxy() {
    timeline(
        "ckseed",
        "inter 2000 rise 2 fall 3",
        Duration::from_millis(2300),
        Duration::from_secs(12),
    );
}

/// Fast checks with every interval set: `inter 200 fastinter 100
/// downinter 500 rise 3 fall 2`.
#[test]
fn fast_timeline_matches_haproxy() {
    timeline(
        "ckfast",
        "inter 200 fastinter 100 downinter 500 rise 3 fall 2",
        Duration::from_millis(700),
        Duration::from_secs(4),
    );
}

/// A scripted server's dialogue.
type Script = &'static [&'static [u8]];

/// Each kind of check against a server that passes it and one that fails
/// it, with `option log-health-checks`: the per-check lines and the DOWN
/// lines must be haproxy's.
#[test]
fn check_kinds_match_haproxy() {
    use support::servers::{Behaviour, Servers};
    if !support::require_root() || support::haproxy_bin().is_none() {
        return;
    }
    const HS: &[u8] = b"\x0a\x00\x00\x00\x0a5.7.42-log\x00\x01\x00\x00\x00abcdefgh\x00";
    const MYSQL_ERR: &[u8] = b"\x17\x00\x00\x00\xff\x15\x04#28000Access denied!!";
    const LDAP_OK: &[u8] = b"\x30\x0c\x02\x01\x01\x61\x07\x0a\x01\x00\x04\x00\x04\x00";
    const LDAP_BAD: &[u8] = b"\x30\x0c\x02\x01\x01\x61\x07\x0a\x01\x31\x04\x00\x04\x00";
    // (backend, check lines, good server, bad server)
    let kinds: &[(&str, &str, Script, Script)] = &[
        (
            "status",
            "option httpchk GET /health\n    http-check expect status 200",
            &[b"", b"HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\nok"],
            &[
                b"",
                b"HTTP/1.0 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n",
            ],
        ),
        (
            "rstatus",
            "option httpchk\n    http-check expect rstatus ^2",
            &[b"", b"HTTP/1.0 204 No Content\r\n\r\n"],
            &[b"", b"HTTP/1.0 404 Not Found\r\ncontent-length: 0\r\n\r\n"],
        ),
        (
            "string",
            "option httpchk\n    http-check expect string healthy",
            &[
                b"",
                b"HTTP/1.0 200 OK\r\ncontent-length: 12\r\n\r\ni am healthy",
            ],
            &[b"", b"HTTP/1.0 200 OK\r\ncontent-length: 4\r\n\r\nsick"],
        ),
        (
            "notstring",
            "option httpchk\n    http-check expect ! string sick",
            &[b"", b"HTTP/1.0 200 OK\r\ncontent-length: 4\r\n\r\nfine"],
            &[b"", b"HTTP/1.0 200 OK\r\ncontent-length: 4\r\n\r\nsick"],
        ),
        (
            "default",
            "option httpchk HEAD / HTTP/1.1\\r\\nHost:\\ x",
            &[b"", b"HTTP/1.1 301 Moved\r\ncontent-length: 0\r\n\r\n"],
            &[
                b"",
                b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\n\r\n",
            ],
        ),
        (
            "tcpcheck",
            "option tcp-check\n    tcp-check send PING\\r\\n\n    tcp-check expect string PONG",
            &[b"", b"PONG\r\n"],
            &[b"", b"NOPE\r\n"],
        ),
        (
            "redis",
            "option redis-check",
            &[b"", b"+PONG\r\n"],
            &[b"", b"-ERR nope\r\n"],
        ),
        (
            "smtp",
            "option smtpchk HELO example.org",
            &[b"220 mail ESMTP\r\n", b"250 hello\r\n", b"221 bye\r\n"],
            &[b"554 go away\r\n"],
        ),
        (
            "pgsql",
            "option pgsql-check user hc",
            &[b"", b"R\x00\x00\x00\x08\x00\x00\x00\x00"],
            &[b"", b"E\x00\x00\x00\x20SFATAL\x00Mno such role\x00\x00"],
        ),
        ("mysql", "option mysql-check", &[HS], &[MYSQL_ERR]),
        (
            "ssl",
            "option ssl-hello-chk",
            &[b"", b"\x16\x03\x01\x00\x02\x02\x00"],
            &[b"", b"HTTP/1.0 400 Bad Request\r\n\r\n"],
        ),
        (
            "ldap",
            "option ldap-check",
            &[b"", LDAP_OK],
            &[b"", LDAP_BAD],
        ),
    ];
    let lb = Ns::new(unique("ckkinds"));
    let mut specs = Vec::new();
    let mut cfg = String::from(
        "global\n    nbthread 1\n\
         defaults\n    mode tcp\n    timeout connect 500ms\n    timeout client 5s\n    timeout server 5s\n    timeout check 1s\n\
         frontend f\n    bind 127.0.0.1:@PORT@\n    default_backend status\n",
    );
    let names: Vec<String> = kinds.iter().map(|k| k.0.to_string()).collect();
    for (i, (name, lines, good, bad)) in kinds.iter().enumerate() {
        let (pg, pb) = (9100 + 2 * i as u16, 9101 + 2 * i as u16);
        specs.push((
            format!("{name}-good"),
            addr(&format!("127.0.0.1:{pg}")),
            Behaviour::Script(good),
        ));
        specs.push((
            format!("{name}-bad"),
            addr(&format!("127.0.0.1:{pb}")),
            Behaviour::Script(bad),
        ));
        cfg.push_str(&format!(
            "backend {name}\n    option log-health-checks\n    {lines}\n\
             \x20   server good 127.0.0.1:{pg} check inter 400 rise 1 fall 1\n\
             \x20   server bad 127.0.0.1:{pb} check inter 400 rise 1 fall 1\n"
        ));
    }
    let spec_refs: Vec<(&str, SocketAddr, Behaviour)> =
        specs.iter().map(|(n, a, b)| (n.as_str(), *a, *b)).collect();
    let _servers = Servers::start(&lb.path(), &spec_refs);
    let Some(pair) = Pair::start(&lb, &cfg, [8001, 8002]) else {
        return;
    };
    let since = Instant::now() - Duration::from_secs(10);
    let mut mismatches = Vec::new();
    for name in &names {
        for needle in [
            format!("Health check for server {name}/good"),
            format!("Health check for server {name}/bad"),
            format!("Server {name}/bad is DOWN"),
        ] {
            let got = pair.wait_for(&needle, since, Duration::from_secs(5));
            let show = |x: &Option<(Instant, String)>| x.as_ref().map(|(_, l)| normalize(l));
            let (h, r) = (show(&got[0]), show(&got[1]));
            eprintln!("{needle}:\n  haproxy {h:?}\n  rproxy  {r:?}");
            if h != r {
                mismatches.push(needle);
            }
        }
    }
    assert!(mismatches.is_empty(), "messages differ for {mismatches:?}");
}

/// Effects of state changes: backups take over when the active server is
/// DOWN and give back when it is UP; `on-marked-down shutdown-sessions`
/// cuts the sessions of a server going DOWN.
#[test]
fn effects_match_haproxy() {
    if !support::require_root() || support::haproxy_bin().is_none() {
        return;
    }
    let lb = Ns::new(unique("ckfx"));
    let s1 = Controlled::start(&lb.name, "s1", addr("127.0.0.1:9001"));
    let _b1 = Controlled::start(&lb.name, "b1", addr("127.0.0.1:9002"));
    let cfg = "global\n    nbthread 1\n\
         defaults\n    mode tcp\n    timeout connect 500ms\n    timeout client 10s\n    timeout server 10s\n\
         frontend f\n    bind 127.0.0.1:@PORT@\n    default_backend be\n\
         backend be\n    option httpchk GET /health\n\
         \x20   server s1 127.0.0.1:9001 check inter 300 rise 2 fall 2 on-marked-down shutdown-sessions\n\
         \x20   server b1 127.0.0.1:9002 check inter 300 rise 2 fall 2 backup\n";
    let Some(pair) = Pair::start(&lb, cfg, [8001, 8002]) else {
        return;
    };
    std::thread::sleep(Duration::from_millis(500));
    let fronts: Vec<SocketAddr> = pair.procs.iter().map(|p| p.3).collect();
    let mut held: Vec<_> = fronts
        .iter()
        .map(|f| {
            let f = *f;
            lb.run(move || control::hold(f)).expect("held session")
        })
        .collect();
    for (s, name) in &held {
        let _ = s;
        assert_eq!(name, "s1", "the active server takes the session");
    }
    let t = Instant::now();
    s1.set(Mode::Sick);
    let tol = Duration::from_millis(500);
    same_event(
        &pair,
        "Server be/s1 is DOWN",
        t,
        Duration::from_secs(5),
        tol,
    );
    for (i, (s, _)) in held.iter_mut().enumerate() {
        let who = pair.procs[i].0.name();
        assert!(
            control::ended(s, Duration::from_secs(2)).is_some(),
            "{who}: on-marked-down shutdown-sessions cuts the session"
        );
    }
    for f in &fronts {
        let f = *f;
        let got = lb.run(move || control::request(f));
        assert_eq!(got.as_deref(), Some("b1"), "the backup takes over");
    }
    let t = Instant::now();
    s1.set(Mode::Up);
    same_event(&pair, "Server be/s1 is UP", t, Duration::from_secs(5), tol);
    for f in &fronts {
        let f = *f;
        let got = lb.run(move || control::request(f));
        assert_eq!(got.as_deref(), Some("s1"), "the active server is back");
    }
}

/// `show stat` columns that say how a server takes part: `status` (e.g.
/// `MAINT (via be/s1)`), `weight` and `act` (the backend's is its count of
/// usable active servers), for every row of backend `be`.
fn be_states(sock: &std::path::Path) -> Vec<String> {
    let csv = support::cli(sock, "show stat");
    let mut lines = csv.lines();
    let cols: Vec<&str> = lines
        .next()
        .unwrap_or_default()
        .trim_start_matches("# ")
        .split(',')
        .collect();
    let at = |name: &str| cols.iter().position(|c| *c == name).expect("column");
    let (sv, st, w, act) = (at("svname"), at("status"), at("weight"), at("act"));
    lines
        .filter(|l| l.starts_with("be,"))
        .map(|l| {
            let v: Vec<&str> = l.split(',').collect();
            format!("{} {} w={} act={}", v[sv], v[st], v[w], v[act])
        })
        .collect()
}

/// `server … track`: s2 tracks s1 and s3 tracks s2, s4 is on its own.
/// Under both proxies at once, through the runtime API (maint, ready,
/// drain) and the checks (s1's listener stopped then back): the same
/// servers answer, `show stat` says the same, and the state-change lines
/// are the same ("Server be/s2 is going DOWN for maintenance via be/s1",
/// "Server be/s3 is DOWN via be/s2" …).
#[test]
fn track_matches_haproxy() {
    if !support::require_root() || support::haproxy_bin().is_none() {
        return;
    }
    let lb = Ns::new(unique("cktrack"));
    let s1 = Controlled::start(&lb.name, "s1", addr("127.0.0.1:9001"));
    let _s2 = Controlled::start(&lb.name, "s2", addr("127.0.0.1:9002"));
    let _s3 = Controlled::start(&lb.name, "s3", addr("127.0.0.1:9003"));
    let _s4 = Controlled::start(&lb.name, "s4", addr("127.0.0.1:9004"));
    let dir = std::env::temp_dir().join(unique("cktrack"));
    std::fs::create_dir_all(&dir).expect("dir");
    let cfg = format!(
        "global\n    nbthread 1\n    stats socket {}/@PORT@.sock level admin\n\
         defaults\n    mode tcp\n    timeout connect 500ms\n    timeout client 5s\n    timeout server 5s\n\
         frontend f\n    bind 127.0.0.1:@PORT@\n    default_backend be\n\
         backend be\n    balance roundrobin\n    option httpchk GET /health\n\
         \x20   server s1 127.0.0.1:9001 check inter 200 fall 1 rise 1\n\
         \x20   server s2 127.0.0.1:9002 track s1\n\
         \x20   server s3 127.0.0.1:9003 track s2\n\
         \x20   server s4 127.0.0.1:9004 check inter 200 fall 1 rise 1\n",
        dir.display()
    );
    let ports = [8001u16, 8002];
    let Some(pair) = Pair::start(&lb, &cfg, ports) else {
        return;
    };
    let socks: Vec<std::path::PathBuf> = ports
        .iter()
        .map(|p| dir.join(format!("{p}.sock")))
        .collect();
    let cli_both = |line: &str| {
        for s in &socks {
            support::cli(s, line);
        }
    };
    // Which servers answer N requests, per proxy (sorted, distinct).
    let served_by = |n: usize| -> Vec<Vec<String>> {
        pair.procs
            .iter()
            .map(|p| {
                let front = p.3;
                let mut got: Vec<String> = lb.run(move || {
                    (0..n)
                        .map(|_| control::request(front).unwrap_or_else(|| "-".into()))
                        .collect()
                });
                got.sort();
                got.dedup();
                got
            })
            .collect()
    };
    let start = Instant::now();
    std::thread::sleep(Duration::from_millis(800));
    let phase = |name: &str, expect: &[&str]| {
        let got = served_by(8);
        let states: Vec<Vec<String>> = socks.iter().map(|s| be_states(s)).collect();
        eprintln!(
            "{name}: haproxy {:?} {:?}\n        rproxy  {:?} {:?}",
            got[0], states[0], got[1], states[1]
        );
        assert_eq!(got[0], expect, "{name}: haproxy's servers");
        assert_eq!(got[1], got[0], "{name}: the same servers answer");
        assert_eq!(states[1], states[0], "{name}: the same show stat");
    };
    phase("start", &["s1", "s2", "s3", "s4"]);
    cli_both("set server be/s1 state maint");
    phase("s1 maint", &["s4"]);
    cli_both("set server be/s1 state ready");
    phase("s1 ready", &["s1", "s2", "s3", "s4"]);
    cli_both("set server be/s1 state drain");
    phase("s1 drain", &["s4"]);
    cli_both("set server be/s1 state ready");
    phase("s1 ready again", &["s1", "s2", "s3", "s4"]);
    cli_both("disable server be/s2");
    cli_both("set server be/s1 state maint");
    cli_both("set server be/s1 state ready");
    phase("s2 forced maint, s1 in and out", &["s1", "s4"]);
    cli_both("enable server be/s2");
    phase("s2 enabled", &["s1", "s2", "s3", "s4"]);
    let t = Instant::now();
    s1.set(Mode::Stopped);
    let tol = Duration::from_millis(700);
    same_event(
        &pair,
        "Server be/s3 is DOWN via be/s2",
        t,
        Duration::from_secs(4),
        tol,
    );
    phase("s1 DOWN by its checks", &["s4"]);
    let t = Instant::now();
    s1.set(Mode::Up);
    same_event(
        &pair,
        "Server be/s3 is UP via be/s2",
        t,
        Duration::from_secs(4),
        tol,
    );
    phase("s1 UP by its checks", &["s1", "s2", "s3", "s4"]);
    // Every state-change line, in order, the same.
    let lines: Vec<Vec<String>> = pair
        .procs
        .iter()
        .map(|(_, _, lines, _)| {
            lines
                .lock()
                .expect("lines")
                .iter()
                .filter(|(at, l)| *at >= start && l.contains("Server be/"))
                .map(|(_, l)| normalize(l))
                .collect()
        })
        .collect();
    for l in &lines[0] {
        eprintln!("  {l}");
    }
    assert!(
        lines[0]
            .iter()
            .any(|l| l.starts_with("Server be/s2 is going DOWN for maintenance via be/s1.")),
        "haproxy's inherited maintenance line:\n{}",
        pair.dump()
    );
    assert_eq!(lines[1], lines[0], "the same state-change lines");
    let _ = std::fs::remove_dir_all(&dir);
}
