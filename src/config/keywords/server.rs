//! `server`, `default-server` and `server-template` lines.

use super::{Flow, Status};
use crate::config::address::{self, Use};
use crate::config::line::Line;
use crate::config::model::*;
use crate::config::parser::ProxyCtx;
use crate::config::values::{self, TimeUnit};

use Status::{Enforced as E, ParsedOnly as P, Security as S};

pub struct ServerKeyword {
    pub name: &'static str,
    pub args: usize,
    pub status: Status,
}

const fn k(name: &'static str, args: usize, status: Status) -> ServerKeyword {
    ServerKeyword { name, args, status }
}

pub static KEYWORDS: &[ServerKeyword] = &[
    k("addr", 1, E),
    k("agent-addr", 1, P),
    k("agent-check", 0, P),
    k("agent-inter", 1, P),
    k("agent-port", 1, P),
    k("agent-send", 1, P),
    k("allow-0rtt", 0, P),
    k("alpn", 1, P),
    k("backup", 0, E),
    k("ca-file", 1, P),
    k("check", 0, E),
    k("check-alpn", 1, P),
    k("check-proto", 1, P),
    k("check-send-proxy", 0, E),
    k("check-sni", 1, P),
    k("check-ssl", 0, P),
    k("check-via-socks4", 0, P),
    k("ciphers", 1, P),
    k("ciphersuites", 1, P),
    k("cookie", 1, E),
    k("crl-file", 1, P),
    k("crt", 1, P),
    k("disabled", 0, E),
    k("downinter", 1, E),
    k("enabled", 0, E),
    k("error-limit", 1, E),
    k("fall", 1, E),
    k("fastinter", 1, E),
    k("force-sslv3", 0, P),
    k("force-tlsv10", 0, P),
    k("force-tlsv11", 0, P),
    k("force-tlsv12", 0, P),
    k("force-tlsv13", 0, P),
    k("id", 1, E),
    k("init-addr", 1, E),
    k("inter", 1, E),
    k("log-proto", 1, P),
    k("max-reuse", 1, P),
    k("maxconn", 1, E),
    k("maxqueue", 1, E),
    k("minconn", 1, E),
    k("namespace", 1, P),
    k("no-agent-check", 0, P),
    k("no-backup", 0, E),
    k("no-check", 0, E),
    k("no-check-send-proxy", 0, E),
    k("no-check-ssl", 0, P),
    k("no-send-proxy", 0, E),
    k("no-send-proxy-v2", 0, E),
    k("no-send-proxy-v2-ssl", 0, P),
    k("no-send-proxy-v2-ssl-cn", 0, P),
    k("no-ssl", 0, P),
    k("no-ssl-reuse", 0, P),
    k("no-sslv3", 0, P),
    k("no-tfo", 0, P),
    k("no-tls-tickets", 0, P),
    k("no-tlsv10", 0, P),
    k("no-tlsv11", 0, P),
    k("no-tlsv12", 0, P),
    k("no-tlsv13", 0, P),
    k("non-stick", 0, P),
    k("npn", 1, P),
    k("observe", 1, E),
    k("on-error", 1, E),
    k("on-marked-down", 1, E),
    k("on-marked-up", 1, E),
    k("pool-low-conn", 1, P),
    k("pool-max-conn", 1, E),
    k("pool-purge-delay", 1, E),
    k("port", 1, E),
    k("proto", 1, P),
    k("proxy-v2-options", 1, P),
    k("redir", 1, P),
    k("resolve-net", 1, P),
    k("resolve-opts", 1, P),
    k("resolve-prefer", 1, P),
    k("resolvers", 1, P),
    k("rise", 1, E),
    k("send-proxy", 0, E),
    k("send-proxy-v2", 0, E),
    k("send-proxy-v2-ssl", 0, P),
    k("send-proxy-v2-ssl-cn", 0, P),
    k("slowstart", 1, E),
    k("sni", 1, P),
    k("socks4", 1, P),
    k("source", 1, E),
    k("ssl", 0, S),
    k("ssl-max-ver", 1, P),
    k("ssl-min-ver", 1, P),
    k("ssl-reuse", 0, P),
    k("stick", 0, P),
    k("tcp-ut", 1, P),
    k("tfo", 0, P),
    k("tls-tickets", 0, P),
    k("track", 1, E),
    k("usesrc", 1, E),
    k("verify", 1, P),
    k("verifyhost", 1, P),
    k("weight", 1, E),
    k("ws", 1, P),
];

static INDEX: super::Index<ServerKeyword> = super::Index::new(KEYWORDS, |k| k.name);

pub fn server(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    let (name, addr) = (line.arg(1), line.arg(2));
    if name.is_empty() || addr.is_empty() {
        ctx.sv.alert_located(
            line,
            "'server' expects <name> and <addr>[:<port>] as arguments.\n",
        );
        return Flow::Continue;
    }
    add_server(ctx, line, name, addr, 3);
    Flow::Continue
}

/// `server-template PREFIX NUM|LOW-HIGH ADDR [opts]`: servers PREFIX<n>.
pub fn server_template(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    let (prefix, range, addr) = (line.arg(1), line.arg(2), line.arg(3));
    if prefix.is_empty() || range.is_empty() || addr.is_empty() {
        ctx.sv.alert_located(
            line,
            "'server-template' expects <prefix> <nb | range> <addr>[:<port>] as arguments.",
        );
        return Flow::Continue;
    }
    let bounds = match range.split_once('-') {
        Some((a, b)) => a.parse::<u32>().ok().zip(b.parse::<u32>().ok()),
        None => range.parse::<u32>().ok().map(|n| (1, n)),
    };
    let Some((lo, hi)) = bounds.filter(|(lo, hi)| *lo >= 1 && lo <= hi) else {
        ctx.sv.alert_located(
            line,
            format!("Wrong server-template number or range arg '{range}'."),
        );
        return Flow::Continue;
    };
    for n in lo..=hi {
        add_server(ctx, line, &format!("{prefix}{n}"), addr, 4);
    }
    Flow::Continue
}

pub fn default_server(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    let mut opts = ctx
        .st
        .default_server
        .clone()
        .unwrap_or_else(|| ctx.px.default_server.clone());
    let mut i = 1;
    while i < line.len() {
        if let Err(msg) = parse_option(ctx, line, &mut opts, &mut i, "", true) {
            ctx.sv.alert_located(
                line,
                format!("{msg}. Hint: no address was expected for this server."),
            );
            return Flow::Continue;
        }
    }
    ctx.st.default_server = Some(opts);
    Flow::Continue
}

fn add_server(ctx: &mut ProxyCtx, line: &Line, name: &str, addr: &str, first_opt: usize) {
    let label = format!("'server {}/{name}'", ctx.px.name);
    let expanded = {
        let env = |n: &str| ctx.sv.env_var(n);
        crate::config::lexer::expand_address_env(addr, &env)
    };
    let ep = match address::parse(&expanded, Use::Server, false) {
        Ok(ep) => ep,
        Err(e) => {
            ctx.sv.alert_located(line, format!("{label} : {e}\n"));
            return;
        }
    };
    let mut opts = ctx
        .st
        .default_server
        .clone()
        .unwrap_or_else(|| ctx.px.default_server.clone());
    opts.id = None;
    let mut i = first_opt;
    while i < line.len() {
        if let Err(msg) = parse_option(ctx, line, &mut opts, &mut i, name, false) {
            ctx.sv.alert_located(line, format!("{label} : {msg}."));
            return;
        }
    }
    // HAProxy's `_srv_parse_finalize`: a tracker has no checks of its own.
    if opts.check.enabled && opts.extra().track.is_some() {
        ctx.sv.alert_located(
            line,
            format!("{label} : unable to enable checks and tracking at the same time!"),
        );
        return;
    }
    if let Some(prev) = ctx.px.servers.iter().find(|s| s.name == name) {
        // HAProxy reports this after parsing, in its post-parse checks.
        let msg = format!(
            "backend '{}', another server named '{name}' was already defined at line {}, please use distinct names.",
            ctx.px.name, prev.origin.line
        );
        ctx.sv.deferred.push(crate::diag::Diagnostic::alert(
            Some(line.origin.clone()),
            msg,
        ));
    }
    ctx.px.servers.push(Server {
        name: name.to_string(),
        resolved: ep.ip(),
        addr: ep,
        opts,
        puid: 0,
        origin: line.origin.clone(),
    });
}

fn time_opt(
    ctx: &mut ProxyCtx,
    line: &Line,
    v: &str,
    what: &str,
    srv: &str,
) -> Result<std::time::Duration, String> {
    match values::parse_time(v, TimeUnit::Millis) {
        Ok(t) => {
            if let Some(c) = t.trailing {
                let label = format!("'server {}/{srv}'", ctx.px.name);
                ctx.sv.diags.push(
                    crate::diag::Diagnostic::warning(
                        Some(line.origin.clone()),
                        format!("{label} : {}", values::time_trailing_warning(c, v)),
                    )
                    .style(crate::diag::Style::Located),
                );
            }
            if t.value.is_zero() {
                return Err(format!("'{what}' has to be > 0."));
            }
            Ok(t.value)
        }
        Err(values::TimeError::UnexpectedChar(c)) => Err(format!(
            "unexpected character '{c}' in '{what}' argument of server {srv}."
        )),
        Err(values::TimeError::Missing) => Err(format!("'{what}' expects <time> as argument.")),
        Err(e) => Err(values::time_error_message(&e, what, v, TimeUnit::Millis)),
    }
}

/// Parses the server option at `line[*i]` into `opts`, advancing `*i`.
fn parse_option(
    ctx: &mut ProxyCtx,
    line: &Line,
    opts: &mut ServerOpts,
    i: &mut usize,
    srv: &str,
    is_default: bool,
) -> Result<(), String> {
    let name = line.arg(*i);
    let Some(kw) = INDEX.get(name) else {
        let hint = super::suggest::best_match(name, KEYWORDS.iter().map(|k| k.name))
            .map(|b| format!("; did you mean '{b}' maybe ?"))
            .unwrap_or_default();
        return Err(format!("unknown keyword '{name}'{hint}"));
    };
    let v = line.arg(*i + 1);
    let mut consumed = 1 + kw.args;
    let num = |v: &str| -> i64 { values::atol(v).0 };
    match name {
        "weight" => {
            let w = num(v);
            if !(0..=256).contains(&w) {
                return Err(format!(
                    "weight of server {srv} is not within 0 and 256 ({w})."
                ));
            }
            opts.weight = w as u32;
        }
        "backup" => opts.backup = true,
        "no-backup" => opts.backup = false,
        "disabled" => opts.disabled = true,
        "enabled" => opts.disabled = false,
        "maxconn" => opts.maxconn = u32::try_from(num(v)).unwrap_or(0),
        "maxqueue" => opts.maxqueue = u32::try_from(num(v)).unwrap_or(0),
        "minconn" => opts.minconn = u32::try_from(num(v)).unwrap_or(0),
        "cookie" => {
            if v.is_empty() {
                return Err("'cookie' expects <value> as argument.".into());
            }
            opts.cookie = Some(v.to_string());
        }
        "check" => opts.check.enabled = true,
        "no-check" => opts.check.enabled = false,
        "inter" => opts.check.inter = time_opt(ctx, line, v, "agent-inter", srv)?,
        "fastinter" => opts.check.fastinter = Some(time_opt(ctx, line, v, "fastinter", srv)?),
        "downinter" => opts.check.downinter = Some(time_opt(ctx, line, v, "downinter", srv)?),
        "rise" | "fall" => {
            let n = num(v);
            if n <= 0 {
                return Err(format!("'{name}' has to be > 0."));
            }
            if name == "rise" {
                opts.check.rise = n as u32;
            } else {
                opts.check.fall = n as u32;
            }
        }
        "port" => opts.check.port = u16::try_from(num(v)).ok(),
        "addr" => {
            let ep = ctx
                .sv
                .address(v, Use::Plain)
                .map_err(|e| format!("'addr' : {e}"))?;
            opts.check.addr = Some(Box::new(ep));
        }
        "check-send-proxy" => opts.check.send_proxy = true,
        "no-check-send-proxy" => opts.check.send_proxy = false,
        "check-ssl" => opts.check.ssl = true,
        "no-check-ssl" => opts.check.ssl = false,
        "check-sni" => opts.check.tls.get_or_insert_with(Box::default).sni = Some(v.to_string()),
        "check-alpn" => opts.check.tls.get_or_insert_with(Box::default).alpn = Some(v.to_string()),
        "check-proto" => {
            opts.check.tls.get_or_insert_with(Box::default).proto = Some(v.to_string())
        }
        "check-via-socks4" => opts.check.via_socks4 = true,
        "agent-check" => opts.extra_mut().agent.enabled = true,
        "no-agent-check" => opts.extra_mut().agent.enabled = false,
        "agent-addr" => opts.extra_mut().agent.addr = Some(v.to_string()),
        "agent-port" => opts.extra_mut().agent.port = u16::try_from(num(v)).ok(),
        "agent-inter" => {
            opts.extra_mut().agent.inter = Some(time_opt(ctx, line, v, "agent-inter", srv)?)
        }
        "agent-send" => opts.extra_mut().agent.send = Some(v.to_string()),
        "slowstart" => opts.slowstart = Some(time_opt(ctx, line, v, "slowstart", srv)?),
        "on-marked-down" => {
            if v != "shutdown-sessions" {
                return Err(format!(
                    "'on-marked-down' expects 'shutdown-sessions' but got '{v}'"
                ));
            }
            opts.on_marked_down_shutdown = true;
        }
        "on-marked-up" => {
            if v != "shutdown-backup-sessions" {
                return Err(format!(
                    "'on-marked-up' expects 'shutdown-backup-sessions' but got '{v}'"
                ));
            }
            opts.on_marked_up_shutdown_backup = true;
        }
        "observe" => {
            opts.observe = match v {
                "none" => None,
                "layer4" => Some(Observe::Layer4),
                "layer7" => Some(Observe::Layer7),
                _ => {
                    return Err(format!(
                        "'observe' expects one of 'none', 'layer4', 'layer7' but got '{v}'"
                    ));
                }
            }
        }
        "error-limit" => {
            let n = num(v);
            if n <= 0 {
                return Err("'error-limit' has to be > 0.".into());
            }
            opts.error_limit = n as u32;
        }
        "on-error" => {
            opts.on_error = match v {
                "fastinter" => OnError::FastInter,
                "fail-check" => OnError::FailCheck,
                "sudden-death" => OnError::SuddenDeath,
                "mark-down" => OnError::MarkDown,
                _ => {
                    return Err(format!(
                        "'on-error' expects one of 'fastinter', 'fail-check', 'sudden-death' or 'mark-down' but got '{v}'"
                    ));
                }
            }
        }
        "init-addr" => {
            let mut list = Vec::new();
            for m in v.split(',') {
                list.push(match m {
                    "last" => InitAddr::Last,
                    "libc" => InitAddr::Libc,
                    "none" => InitAddr::None,
                    other => match other.parse() {
                        Ok(ip) => InitAddr::Ip(ip),
                        Err(_) => {
                            return Err(format!(
                                "'init-addr' : unknown init-addr method '{other}', supported methods are 'libc', 'last', 'none'."
                            ));
                        }
                    },
                });
            }
            opts.init_addr = list.into();
        }
        "id" => match values::parse_uint(v).and_then(|n| u32::try_from(n).ok()) {
            Some(n) if n > 0 && !is_default => opts.id = Some(n),
            _ => return Err("'id' : custom id has to be > 0".into()),
        },
        "source" => {
            let src = crate::config::keywords::proxy::parse_source(ctx.sv, line, *i + 1, Use::ServerSource)
                .map_err(|e| {
                    if v.is_empty() {
                        "'source' expects <addr>[:<port>[-<port>]], and optionally 'usesrc' <addr>, and 'interface' <name> as argument.".to_string()
                    } else {
                        e.trim_end().to_string()
                    }
                })?;
            // `source` swallows its own sub-options.
            let mut j = *i + 2;
            while matches!(line.arg(j), "usesrc" | "interface") {
                j += 2;
            }
            consumed = j - *i;
            opts.source = Some(Box::new(src));
        }
        "usesrc" => {
            return Err("'usesrc' only allowed after a 'source' statement.".into());
        }
        "send-proxy" => opts.send_proxy = Some(ProxyProtocol::V1),
        "send-proxy-v2" | "send-proxy-v2-ssl" | "send-proxy-v2-ssl-cn" => {
            opts.send_proxy = Some(ProxyProtocol::V2)
        }
        "no-send-proxy"
        | "no-send-proxy-v2"
        | "no-send-proxy-v2-ssl"
        | "no-send-proxy-v2-ssl-cn" => opts.send_proxy = None,
        "resolvers" => opts.extra_mut().resolvers = Some(v.to_string()),
        "resolve-prefer" => {
            if !matches!(v, "ipv4" | "ipv6") {
                return Err(format!(
                    "'resolve-prefer' expects 'ipv4' or 'ipv6' but got '{v}'"
                ));
            }
            opts.extra_mut().resolve_prefer = Some(v.to_string());
        }
        "track" => opts.extra_mut().track = Some(v.to_string()),
        "redir" => opts.extra_mut().redir = Some(v.to_string()),
        "tfo" => opts.tfo = true,
        "no-tfo" => opts.tfo = false,
        "namespace" => opts.extra_mut().namespace = Some(v.to_string()),
        "proto" => opts.extra_mut().proto = Some(v.to_string()),
        "pool-max-conn" => opts.extra_mut().pool_max_conn = Some(num(v)),
        "max-reuse" => opts.extra_mut().max_reuse = Some(num(v)),
        "pool-purge-delay" => {
            opts.extra_mut().pool_purge_delay =
                Some(time_opt(ctx, line, v, "pool-purge-delay", srv)?)
        }
        "non-stick" => opts.non_stick = true,
        "stick" => opts.non_stick = false,
        "ws" => opts.extra_mut().ws = Some(v.to_string()),
        "ssl" => opts.extra_mut().ssl.enabled = true,
        "no-ssl" => opts.extra_mut().ssl.enabled = false,
        "verify" => {
            if !matches!(v, "none" | "required") {
                return Err(format!("'verify' expects 'none' or 'required' (got '{v}')"));
            }
            opts.extra_mut().ssl.verify = Some(v.to_string())
        }
        "ca-file" => opts.extra_mut().ssl.ca_file = Some(v.to_string()),
        "crt" => opts.extra_mut().ssl.crt = Some(v.to_string()),
        "sni" => {
            crate::config::sample::parse_expr(v).map_err(|e| format!("'sni' : {e}"))?;
            opts.extra_mut().ssl.sni = Some(v.to_string())
        }
        "alpn" => opts.extra_mut().ssl.alpn = Some(v.to_string()),
        _ => {
            if name.starts_with("no-")
                || name.contains("ssl")
                || name.contains("tls")
                || name == "ciphers"
                || name == "ciphersuites"
            {
                opts.extra_mut().ssl.options.push(name.to_string());
            }
        }
    }
    ctx.sv
        .apply_status(line, kw.status, || format!("server {name}"));
    *i += consumed;
    Ok(())
}
