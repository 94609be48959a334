//! `option X`: boolean options (which `no option X` clears) and the options
//! that take arguments (`forwardfor`, `httpchk`, `httplog` …).

use super::{B, D, DFL, DFLB, DLB, F, Flow, Sections, Status};
use crate::config::line::{Line, Modifier};
use crate::config::model::*;
use crate::config::parser::ProxyCtx;

use Status::{Enforced as E, Legacy, ParsedOnly as P};

type Flag = fn(&mut Options) -> &mut bool;

#[derive(Clone, Copy)]
enum Kind {
    Bool(Flag),
    Special(fn(&mut ProxyCtx, &Line) -> Flow),
}

pub struct OptionKeyword {
    pub name: &'static str,
    pub allowed: Sections,
    pub status: Status,
    kind: Kind,
}

const fn b(name: &'static str, allowed: Sections, status: Status, f: Flag) -> OptionKeyword {
    OptionKeyword {
        name,
        allowed,
        status,
        kind: Kind::Bool(f),
    }
}

const fn s(
    name: &'static str,
    allowed: Sections,
    status: Status,
    f: fn(&mut ProxyCtx, &Line) -> Flow,
) -> OptionKeyword {
    OptionKeyword {
        name,
        allowed,
        status,
        kind: Kind::Special(f),
    }
}

pub static OPTIONS: &[OptionKeyword] = &[
    b("abortonclose", DLB, P, |o| &mut o.abortonclose),
    b("accept-invalid-http-request", DFL, P, |o| {
        &mut o.accept_invalid_http_request
    }),
    b("accept-invalid-http-response", DLB, P, |o| {
        &mut o.accept_invalid_http_response
    }),
    b("allbackups", DLB, E, |o| &mut o.allbackups),
    b("checkcache", DLB, P, |o| &mut o.checkcache),
    b("clitcpka", DFL, E, |o| &mut o.clitcpka),
    b("contstats", DFL, P, |o| &mut o.contstats),
    b("disable-h2-upgrade", DFL, P, |o| &mut o.disable_h2_upgrade),
    b("dontlog-normal", DFL, E, |o| &mut o.dontlog_normal),
    b("dontlognull", DFL, E, |o| &mut o.dontlognull),
    b("h1-case-adjust-bogus-client", DFL, P, |o| {
        &mut o.h1_case_adjust_bogus_client
    }),
    b("h1-case-adjust-bogus-server", DLB, P, |o| {
        &mut o.h1_case_adjust_bogus_server
    }),
    b("http-buffer-request", DFLB, P, |o| {
        &mut o.http_buffer_request
    }),
    b("http-ignore-probes", DFL, E, |o| &mut o.http_ignore_probes),
    s("http-keep-alive", DFLB, E, conn_mode),
    b("http-no-delay", DFLB, P, |o| &mut o.http_no_delay),
    b("http-pretend-keepalive", DLB, P, |o| {
        &mut o.http_pretend_keepalive
    }),
    s("http-server-close", DFLB, E, conn_mode),
    b("http-use-proxy-header", DFL, P, |o| {
        &mut o.http_use_proxy_header
    }),
    s("httpclose", DFLB, E, conn_mode),
    b("independent-streams", DFLB, P, |o| {
        &mut o.independent_streams
    }),
    b("log-health-checks", DLB, E, |o| &mut o.log_health_checks),
    b("log-separate-errors", DFL, E, |o| {
        &mut o.log_separate_errors
    }),
    b("logasap", DFL, P, |o| &mut o.logasap),
    b("nolinger", DFLB, P, |o| &mut o.nolinger),
    b("persist", DLB, E, |o| &mut o.persist),
    b("prefer-last-server", DLB, P, |o| &mut o.prefer_last_server),
    s("redispatch", DLB, E, redispatch),
    b("socket-stats", DFL, E, |o| &mut o.socket_stats),
    b("splice-auto", DFLB, E, |o| &mut o.splice_auto),
    b("splice-request", DFLB, E, |o| &mut o.splice_request),
    b("splice-response", DFLB, E, |o| &mut o.splice_response),
    b("srvtcpka", DLB, E, |o| &mut o.srvtcpka),
    b("tcp-smart-accept", DFL, P, |o| &mut o.tcp_smart_accept),
    b("tcp-smart-connect", DLB, P, |o| &mut o.tcp_smart_connect),
    b("transparent", DLB, E, |o| &mut o.transparent),
    b("idle-close-on-response", DFL, P, |o| {
        &mut o.idle_close_on_response
    }),
    s("tcpka", DFLB, E, tcpka),
    s("forwardfor", DFLB, E, forwardfor),
    s("originalto", DFLB, E, originalto),
    s("http-restrict-req-hdr-names", DFLB, P, restrict_hdr_names),
    s("httpchk", DLB, E, super::checks::option_httpchk),
    s("ssl-hello-chk", DLB, E, super::checks::option_simple_check),
    s("redis-check", DLB, E, super::checks::option_simple_check),
    s("ldap-check", DLB, E, super::checks::option_simple_check),
    s("spop-check", DLB, P, super::checks::option_simple_check),
    s("tcp-check", DLB, E, super::checks::option_simple_check),
    s("external-check", DLB, P, super::checks::option_simple_check),
    s("smtpchk", DLB, E, super::checks::option_smtpchk),
    s("mysql-check", DLB, E, super::checks::option_mysql_check),
    s("pgsql-check", DLB, E, super::checks::option_pgsql_check),
    s("httplog", DFL, E, super::logs::option_log_style),
    s("httpslog", DFL, P, super::logs::option_log_style),
    s("tcplog", DFLB, E, super::logs::option_log_style),
    s("forceclose", DFLB, Legacy("option httpclose"), conn_mode),
    s(
        "http-tunnel",
        DFLB,
        Legacy("(nothing: remove it)"),
        http_tunnel,
    ),
];

static INDEX: super::Index<OptionKeyword> = super::Index::new(OPTIONS, |o| o.name);

/// Options whose `no`/`default` forms HAProxy refuses.
fn negatable(o: &OptionKeyword) -> bool {
    matches!(o.kind, Kind::Bool(_))
        || matches!(
            o.name,
            "http-keep-alive" | "http-server-close" | "httpclose" | "redispatch"
        )
}

pub fn option(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    let name = line.arg(1);
    if name == "http_proxy" {
        ctx.sv.alert_tight(
            line,
            "option 'http_proxy' is not supported any more since HAProxy 2.5. This option stopped working in HAProxy 1.9 and usually had nasty side effects. It can be more reliably implemented with combinations of 'http-request set-dst' and 'http-request set-uri', and even 'http-request do-resolve' if DNS resolution is desired.",
        );
        return Flow::Continue;
    }
    let Some(opt) = INDEX.get(name) else {
        let hint = super::suggest::best_match(
            name,
            OPTIONS
                .iter()
                .filter(|o| !matches!(o.status, Status::Legacy(_)))
                .map(|o| o.name),
        )
        .map(|b| format!("; did you mean '{b}' maybe ?"))
        .unwrap_or_else(|| ".".to_string());
        ctx.sv.alert(line, format!("unknown option '{name}'{hint}"));
        return Flow::Continue;
    };
    if line.modifier != Modifier::Std && !negatable(opt) {
        ctx.sv.alert_tight(
            line,
            format!("negation/default is not supported for option '{name}'."),
        );
        return Flow::Continue;
    }
    if line.modifier == Modifier::Default {
        // HAProxy 2.6 shifts the words of `default option X` so that X is
        // read as an argument, and refuses every such line.
        ctx.sv.alert(
            line,
            format!("'option {name}' cannot handle unexpected argument '{name}'."),
        );
        return Flow::Continue;
    }
    if !placement_ok(ctx, line, opt) {
        return Flow::Continue;
    }
    let before = ctx.sv.diags.fatal_count();
    let flow = match opt.kind {
        Kind::Bool(flag) => {
            if super::proxy::too_many(ctx, line, 1, &format!("option {name}")) {
                return Flow::Continue;
            }
            *flag(&mut ctx.px.options) = line.modifier != Modifier::No;
            Flow::Continue
        }
        Kind::Special(f) => f(ctx, line),
    };
    if ctx.sv.diags.fatal_count() == before && line.modifier != Modifier::No {
        let full = format!("option {name}");
        match opt.status {
            Status::Legacy(modern) => ctx.sv.legacy(line, &full, modern),
            st => ctx.sv.apply_status(line, st, || full.clone()),
        }
    }
    flow
}

fn placement_ok(ctx: &mut ProxyCtx, line: &Line, opt: &OptionKeyword) -> bool {
    let pxn = ctx.px.name.clone();
    match ctx.px.kind {
        ProxyKind::Defaults if !opt.allowed.has(D) => {
            ctx.sv.alert(
                line,
                format!("'option {}' not allowed in 'defaults' section.", opt.name),
            );
            false
        }
        ProxyKind::Frontend if !opt.allowed.has(F) => {
            ctx.sv.warn(
                line,
                format!(
                    "'{}' ignored because frontend '{pxn}' has no backend capability.",
                    opt.name
                ),
            );
            false
        }
        ProxyKind::Backend if !opt.allowed.has(B) => {
            if matches!(opt.name, "httplog" | "httpslog" | "tcplog") {
                ctx.sv.warn(
                    line,
                    format!(
                        "backend '{pxn}' : 'option {}' directive is ignored in backends.",
                        opt.name
                    ),
                );
            } else {
                ctx.sv.warn(
                    line,
                    format!(
                        "'{}' ignored because backend '{pxn}' has no frontend capability.",
                        opt.name
                    ),
                );
            }
            false
        }
        _ => true,
    }
}

/// `http-keep-alive`, `http-server-close`, `httpclose` (and the removed
/// `forceclose`, which meant `httpclose`): one connection mode per proxy.
fn conn_mode(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    let name = line.arg(1);
    if super::proxy::too_many(ctx, line, 1, &format!("option {name}")) {
        return Flow::Continue;
    }
    let mode = match name {
        "http-keep-alive" => HttpConnMode::KeepAlive,
        "http-server-close" => HttpConnMode::ServerClose,
        _ => HttpConnMode::Close,
    };
    if line.modifier == Modifier::No {
        if ctx.px.http_conn_mode == Some(mode) {
            ctx.px.http_conn_mode = None;
        }
    } else {
        ctx.px.http_conn_mode = Some(mode);
    }
    Flow::Continue
}

fn http_tunnel(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    // Tunnel mode was removed in 2.1: HAProxy now always parses every
    // request, which is what rproxy does. Nothing to map.
    let _ = ctx;
    let _ = line;
    Flow::Continue
}

fn redispatch(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    if line.modifier == Modifier::No {
        ctx.px.redispatch = None;
        return Flow::Continue;
    }
    // The optional interval goes through atol(): garbage reads as 0,
    // which disables redispatch.
    let interval = if line.arg(2).is_empty() {
        -1
    } else {
        super::proxy::atol_value(ctx, line, 2) as i32
    };
    ctx.px.redispatch = Some(interval).filter(|i| *i != 0);
    Flow::Continue
}

fn tcpka(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    if super::proxy::too_many(ctx, line, 1, "option tcpka") {
        return Flow::Continue;
    }
    let on = line.modifier != Modifier::No;
    if ctx.px.kind.has_frontend() {
        ctx.px.options.clitcpka = on;
    }
    if ctx.px.kind.has_backend() {
        ctx.px.options.srvtcpka = on;
    }
    Flow::Continue
}

fn parse_net(s: &str) -> Option<(std::net::IpAddr, u8)> {
    let (addr, mask) = match s.split_once('/') {
        Some((a, m)) => (a, Some(m)),
        None => (s, None),
    };
    let ip: std::net::IpAddr = addr.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let bits = match mask {
        None => max,
        Some(m) => {
            if let Ok(b) = m.parse::<u8>() {
                b
            } else if let Ok(std::net::IpAddr::V4(m4)) = m.parse::<std::net::IpAddr>() {
                u32::from(m4).count_ones() as u8
            } else {
                return None;
            }
        }
    };
    (bits <= max).then_some((ip, bits))
}

fn addr_header(
    ctx: &mut ProxyCtx,
    line: &Line,
    name: &str,
    default_header: &str,
) -> Option<AddrHeader> {
    let mut h = AddrHeader {
        header: default_header.to_string(),
        except: None,
        if_none: false,
    };
    let mut i = 2;
    while i < line.len() {
        match line.arg(i) {
            "except" => {
                match parse_net(line.arg(i + 1)) {
                    Some(n) => h.except = Some(n),
                    None => {
                        ctx.sv.alert(
                            line,
                            format!("'option {name} except' expects <address>[/mask] as argument."),
                        );
                        return None;
                    }
                }
                i += 2;
            }
            "header" => {
                if line.arg(i + 1).is_empty() {
                    ctx.sv.alert(
                        line,
                        format!("'option {name} header' expects <header_name> as argument."),
                    );
                    return None;
                }
                h.header = line.arg(i + 1).to_string();
                i += 2;
            }
            "if-none" if name == "forwardfor" => {
                h.if_none = true;
                i += 1;
            }
            _ => {
                let opts = if name == "forwardfor" {
                    "'except', 'header' and 'if-none'"
                } else {
                    "'except' and 'header'"
                };
                ctx.sv.alert(
                    line,
                    format!("'option {name}' only supports optional values: {opts}."),
                );
                return None;
            }
        }
    }
    Some(h)
}

fn forwardfor(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    if let Some(h) = addr_header(ctx, line, "forwardfor", "x-forwarded-for") {
        ctx.px.forwardfor = Some(h);
    }
    Flow::Continue
}

fn originalto(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    if let Some(h) = addr_header(ctx, line, "originalto", "x-original-to") {
        ctx.px.originalto = Some(h);
    }
    Flow::Continue
}

fn restrict_hdr_names(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    match line.arg(2) {
        "preserve" | "reject" | "delete" => {}
        other => ctx.sv.alert(
            line,
            format!(
                "invalid parameter '{other}'. option 'http-restrict-req-hdr-names' expects 'preserve', 'reject' or 'delete' option."
            ),
        ),
    }
    Flow::Continue
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks() {
        assert_eq!(
            parse_net("10.0.0.0/8"),
            Some(("10.0.0.0".parse().unwrap(), 8))
        );
        assert_eq!(
            parse_net("10.0.0.0/255.255.0.0"),
            Some(("10.0.0.0".parse().unwrap(), 16))
        );
        assert_eq!(parse_net("::1"), Some(("::1".parse().unwrap(), 128)));
        assert_eq!(parse_net("x"), None);
    }
}
