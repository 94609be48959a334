//! Model-level tests: configuration text in, typed `Config` out.

use super::model::*;
use super::*;
use std::time::Duration;

fn load_text(text: &str) -> Loaded {
    let opts = LoadOptions {
        env: [("ADDR".to_string(), "127.0.0.1".to_string())].into(),
        ..LoadOptions::default()
    };
    load_sources(&[("t.cfg".into(), text.as_bytes().to_vec())], opts)
}

fn valid(text: &str) -> Config {
    let l = load_text(text);
    let errors: Vec<String> = l
        .diags
        .iter()
        .filter(|d| d.fatal)
        .map(|d| d.render(0))
        .collect();
    assert!(errors.is_empty(), "unexpected errors: {errors:#?}");
    l.config
}

fn ms(n: u64) -> Option<Duration> {
    Some(Duration::from_millis(n))
}

#[test]
fn defaults_are_folded_into_proxies() {
    let c = valid(
        "defaults\n mode http\n timeout connect 5s\n timeout client 30s\n timeout server 30s\n option forwardfor\n retries 5\n\
         frontend fe\n bind :8080\n default_backend be\n\
         defaults\n mode http\n timeout connect 1s\n\
         backend be\n server s1 127.0.0.1:80\n",
    );
    let fe = c.proxy("fe").unwrap();
    assert_eq!(fe.mode, Mode::Http);
    assert_eq!(fe.timeouts.client, ms(30_000));
    assert!(fe.forwardfor.is_some());
    assert_eq!(fe.retries, 5);
    // the backend follows the *last* defaults before it
    let be = c.backend("be").unwrap();
    assert_eq!(be.mode, Mode::Http);
    assert_eq!(be.timeouts.connect, ms(1_000));
    assert_eq!(be.timeouts.server, None);
    assert!(be.forwardfor.is_none());
    assert_eq!(be.retries, 3);
}

#[test]
fn named_defaults_and_from_chains() {
    let c = valid(
        "defaults base\n timeout connect 2s\n timeout client 3s\n timeout server 4s\n\
         defaults web from base\n mode http\n\
         defaults other\n mode tcp\n\
         listen l from web\n bind :80\n server s 127.0.0.1:80\n",
    );
    let l = c.proxy("l").unwrap();
    assert_eq!(l.mode, Mode::Http);
    assert_eq!(l.timeouts.connect, ms(2_000));
    assert_eq!(l.defaults.as_deref(), Some("web"));
}

#[test]
fn timeouts_resolved_as_haproxy() {
    let c = valid(
        "defaults\n timeout connect 5s\n timeout client 30s\n timeout server 40s\n\
         listen l\n bind :80\n timeout http-request 10s\n server s 127.0.0.1:80\n\
         listen m\n bind :81\n timeout queue 7s\n timeout tunnel 1h\n server s 127.0.0.1:80\n",
    );
    let l = &c.proxy("l").unwrap().timeouts;
    assert_eq!(l.queue, ms(5_000), "queue falls back to connect");
    assert_eq!(l.tarpit, ms(5_000), "tarpit falls back to connect");
    assert_eq!(
        l.http_keep_alive,
        ms(10_000),
        "keep-alive falls back to http-request"
    );
    assert_eq!(l.client_fin, ms(30_000));
    assert_eq!(l.server_fin, ms(40_000));
    let m = &c.proxy("m").unwrap().timeouts;
    assert_eq!(m.queue, ms(7_000));
    assert_eq!(
        m.http_request,
        ms(30_000),
        "http-request falls back to client"
    );
    assert_eq!(m.http_keep_alive, ms(30_000));
    assert_eq!(m.tunnel, ms(3_600_000));
}

#[test]
fn legacy_keywords_map_to_modern_meaning() {
    let l = load_text(
        "defaults\n contimeout 4000\n clitimeout 42000\n srvtimeout 43000\n redispatch\n\
         listen http1 198.18.0.1:80\n mode http\n option forceclose\n reqadd X-Foo:\\ bar\n block if { path /admin }\n\
         server s1 198.19.0.10:80 cookie s1 check inter 2000 rise 2 fall 3\n",
    );
    assert_eq!(l.verdict, Verdict::Valid, "{:?}", l.diags);
    let p = l.config.proxy("http1").unwrap();
    assert_eq!(p.timeouts.connect, ms(4_000));
    assert_eq!(p.timeouts.client, ms(42_000));
    assert_eq!(p.timeouts.server, ms(43_000));
    assert_eq!(p.redispatch, Some(-1));
    assert_eq!(p.http_conn_mode, Some(HttpConnMode::Close));
    assert_eq!(p.binds.len(), 1);
    assert_eq!(p.binds[0].addrs[0].to_string(), "198.18.0.1:80");
    assert!(
        matches!(&p.rules.http_request[0].action, HttpAction::AddHeader { name, .. } if name == "X-Foo")
    );
    assert!(matches!(
        p.rules.http_request[1].action,
        HttpAction::Deny(_)
    ));
    let warned: Vec<&str> = l
        .diags
        .iter()
        .filter(|d| d.rproxy_only)
        .map(|d| d.message.as_str())
        .collect();
    assert!(
        warned
            .iter()
            .any(|m| m.contains("'contimeout' was removed"))
    );
    assert!(
        warned
            .iter()
            .any(|m| m.contains("listen http1 198.18.0.1:80"))
    );
}

#[test]
fn servers_inherit_default_server() {
    let c = valid(
        "defaults\n timeout connect 1s\n timeout client 1s\n timeout server 1s\n default-server inter 3s fall 5\n\
         backend b\n default-server rise 4\n server a 127.0.0.1:80 check\n server b 127.0.0.1:81 check rise 1 weight 7 backup\n\
         listen l\n bind :80\n server c 127.0.0.1:82\n",
    );
    let b = c.backend("b").unwrap();
    let a = &b.servers[0].opts;
    assert_eq!(a.check.inter, Duration::from_secs(3));
    assert_eq!((a.check.rise, a.check.fall), (4, 5));
    let s = &b.servers[1].opts;
    assert_eq!((s.check.rise, s.weight, s.backup), (1, 7, true));
    assert_eq!(b.servers[1].puid, 2);
    // a default-server in a backend does not leak into the next section
    let cs = &c.proxy("l").unwrap().servers[0].opts;
    assert_eq!(cs.check.rise, 2);
    assert_eq!(cs.check.inter, Duration::from_secs(3));
}

#[test]
fn transparent_source() {
    let c = valid(
        "defaults\n timeout connect 1s\n timeout client 1s\n timeout server 1s\n\
         listen tp\n bind 198.18.0.1:80 transparent\n source 0.0.0.0 usesrc clientip\n\
         server s1 198.19.0.10:80 source 198.19.0.1 usesrc client\n server s2 198.19.0.11:80\n",
    );
    let p = c.proxy("tp").unwrap();
    assert!(p.binds[0].transparent);
    let src = p.source.as_ref().unwrap();
    assert_eq!(src.usesrc, Some(UseSrc::ClientIp));
    let s1 = p.servers[0].opts.source.as_ref().unwrap();
    assert_eq!(s1.usesrc, Some(UseSrc::Client));
    assert!(p.servers[1].opts.source.is_none());
}

#[test]
fn acls_bind_at_section_end() {
    // HAProxy shares an ACL between its lines: a line added after the rule
    // that uses it still counts.
    let c = valid(
        "defaults\n mode http\n timeout connect 1s\n timeout client 1s\n timeout server 1s\n\
         frontend fe\n bind :80\n acl api path_beg /api\n use_backend be if api\n acl api path_beg /v2\n default_backend be\n\
         backend be\n server s 127.0.0.1:80\n",
    );
    let fe = c.proxy("fe").unwrap();
    let cond = fe.rules.use_backends[0].cond.as_ref().unwrap();
    match &cond.alternatives[0][0].acl {
        AclRef::Resolved(acl) => assert_eq!(acl.terms.len(), 2),
        other => panic!("{other:?}"),
    }
}

#[test]
fn environment_and_conditions() {
    let c = valid(
        "global\n setenv PORT 8443\n\
         .if defined(ADDR) && version_atleast(2.4)\n\
         frontend fe\n bind \"${ADDR}:${PORT}\"\n bind $ADDR:9000\n timeout client 1s\n\
         .else\n\
         frontend other\n bind :1\n\
         .endif\n",
    );
    let fe = c.proxy("fe").unwrap();
    assert_eq!(fe.binds[0].addrs[0].to_string(), "127.0.0.1:8443");
    assert_eq!(fe.binds[1].addrs[0].to_string(), "127.0.0.1:9000");
    assert!(c.proxy("other").is_none());
}

#[test]
fn verdicts() {
    assert_eq!(load_text("").verdict, Verdict::NoListener);
    assert_eq!(
        load_text("global\n maxconn 10\n").verdict,
        Verdict::NoListener
    );
    assert_eq!(load_text("frontend f\n bind :80\n").verdict, Verdict::Valid);
    assert_eq!(
        load_text("frontend f\n bnd :80\n").verdict,
        Verdict::Invalid
    );
    // a missing final LF is accepted (HAProxy 2.6 refuses it)
    assert_eq!(load_text("frontend f\n bind :80").verdict, Verdict::Valid);
}

#[test]
fn all_errors_are_reported() {
    let l = load_text("frontend f\n bind :80\n foo\n timeout client 1.5s\n bar\n");
    let lines: Vec<u32> = l
        .diags
        .iter()
        .filter(|d| d.fatal)
        .filter_map(|d| d.origin.as_ref().map(|o| o.line))
        .collect();
    assert_eq!(lines, vec![3, 4, 5]);
}

#[test]
fn server_ids_as_haproxy_numbers_them() {
    let c = valid(
        "backend b\n server s1 127.0.0.1:1\n server s2 127.0.0.1:2 id 1\n server s3 127.0.0.1:3\n\
         backend c\n server s1 127.0.0.1:1 id 10\n server s2 127.0.0.1:2 id 5\n server s3 127.0.0.1:3\n",
    );
    let ids = |b: &str| -> Vec<u32> {
        c.backend(b)
            .unwrap()
            .servers
            .iter()
            .map(|s| s.puid)
            .collect()
    };
    assert_eq!(ids("b"), vec![2, 1, 4]);
    assert_eq!(ids("c"), vec![10, 5, 3]);
}

/// `track` is refused as HAProxy refuses it: with checks of its own, to
/// an unchecked server, to an unknown proxy, in a loop.
#[test]
fn track_errors_are_haproxys() {
    let errors = |text: &str| -> Vec<String> {
        load_text(text)
            .diags
            .iter()
            .filter(|d| d.fatal)
            .map(|d| d.render(0))
            .collect()
    };
    let head = "defaults\n mode http\n timeout connect 1s\n timeout client 5s\n timeout server 5s\nbackend be\n";
    let e = errors(&format!(
        "{head} server s1 127.0.0.1:1 check\n server s2 127.0.0.1:2 track s1 check\n"
    ));
    assert!(
        e.iter().any(|l| l
            .contains("'server be/s2' : unable to enable checks and tracking at the same time!")),
        "{e:#?}"
    );
    let e = errors(&format!(
        "{head} server s1 127.0.0.1:1\n server s2 127.0.0.1:2 track s1\n server s3 127.0.0.1:3 track zz/s1\n"
    ));
    assert!(
        e.iter().any(|l| l.contains(
            "'server be/s2' : unable to use be/s1 for tracking as it does not have any check nor agent enabled."
        )),
        "{e:#?}"
    );
    assert!(
        e.iter().any(
            |l| l.contains("'server be/s3' : unable to find required proxy 'zz' for tracking.")
        ),
        "{e:#?}"
    );
    let e = errors(&format!(
        "{head} server s3 127.0.0.1:3 track s4\n server s4 127.0.0.1:4 track s3\n"
    ));
    assert!(
        e.iter().any(|l| l.contains(
            "'server be/s4' : unable to track be/s3 as it belongs to a tracking chain looping back to be/s4."
        )),
        "{e:#?}"
    );
    valid(&format!(
        "{head} server s1 127.0.0.1:1 check\n server s2 127.0.0.1:2 track s1\n server s3 127.0.0.1:3 track be/s2\n"
    ));
}
