//! Keywords of `defaults`, `frontend`, `backend` and `listen` sections
//! (HAProxy 2.6 configuration manual, section 4.1), with the placement
//! rules HAProxy applies to each.

use super::{DFL, DFLB, DLB, DN, FL, FLB, Flow, LB, Place, ProxyKeyword, Sections, Status};
use super::{bind, checks, logs, options, rules, server, stats};
use crate::config::address::Use;
use crate::config::line::Line;
use crate::config::model::*;
use crate::config::parser::ProxyCtx;
use crate::config::values::{self, TimeUnit};

use Status::{Enforced as E, Legacy, ParsedOnly as P};

const fn k(
    name: &'static str,
    allowed: Sections,
    status: Status,
    parse: super::ProxyParse,
) -> ProxyKeyword {
    ProxyKeyword::new(name, allowed, status, parse)
}

const NOT_IN_DEFAULTS_DECLARE: Place = Place::Fatal("'declare' not available in default section");

pub static KEYWORDS: &[ProxyKeyword] = &[
    k("acl", DN.or(FLB), E, rules::acl),
    k("backlog", DFL, E, backlog),
    k("balance", DLB, E, balance),
    k("bind", FL, E, bind::parse_bind).be(Place::Warn("'bind' ignored because backend '{p}' has no frontend capability.")),
    k("bind-process", DFLB, P, any_args),
    k("capture cookie", FL, E, logs::capture).be(Place::Warn("'capture' ignored because backend '{p}' has no frontend capability.")),
    k("capture request", FL, E, logs::capture).be(Place::Warn("'capture' ignored because backend '{p}' has no frontend capability.")),
    k("capture response", FL, E, logs::capture).be(Place::Warn("'capture' ignored because backend '{p}' has no frontend capability.")),
    k("capture", FL, E, logs::capture).be(Place::Warn("'capture' ignored because backend '{p}' has no frontend capability.")),
    k("clitcpka-cnt", DFL, E, tcpka).be(Place::Warn("clitcpka-cnt will be ignored because backend '{p}' has no frontend capability")),
    k("clitcpka-idle", DFL, E, tcpka).be(Place::Warn("clitcpka-idle will be ignored because backend '{p}' has no frontend capability")),
    k("clitcpka-intvl", DFL, E, tcpka).be(Place::Warn("clitcpka-intvl will be ignored because backend '{p}' has no frontend capability")),
    k("compression", DFLB, P, compression),
    k("cookie", DLB, E, cookie),
    k("declare capture", FL, P, logs::declare_capture)
        .be(Place::Fatal("'declare' only available in frontend or listen section"))
        .def(NOT_IN_DEFAULTS_DECLARE),
    k("declare", FL, P, logs::declare_capture)
        .be(Place::Fatal("'declare' only available in frontend or listen section"))
        .def(NOT_IN_DEFAULTS_DECLARE),
    k("default-server", DLB, E, server::default_server)
        .fe(Place::Fatal("'default-server' not allowed because frontend '{p}' has no backend capability.")),
    k("default_backend", DFL, E, default_backend),
    k("description", FLB, E, description),
    k("disabled", DFLB, E, disabled),
    k("dispatch", LB, E, dispatch),
    k("dynamic-cookie-key", DLB, P, dynamic_cookie_key),
    k("email-alert", DFLB, P, email_alert),
    k("enabled", DFLB, E, enabled),
    k("errorfile", DFLB, E, logs::errorfile),
    k("errorfiles", DFLB, E, logs::errorfiles),
    k("errorloc", DFLB, E, logs::errorloc),
    k("errorloc302", DFLB, E, logs::errorloc),
    k("errorloc303", DFLB, E, logs::errorloc),
    k("error-log-format", DFL, P, logs::log_format)
        .be(Place::Warn("backend '{p}' : 'error-log-format' directive is ignored in backends.")),
    k("force-persist", LB, E, rules::persist),
    k("filter", FLB, P, filter).def(Place::Fatal("filter is not allowed in a 'default' section.")),
    k("fullconn", DLB, E, fullconn)
        .fe(Place::Warn("'fullconn' ignored because frontend '{p}' has no backend capability. Maybe you want 'maxconn' instead ?")),
    k("hash-type", DLB, E, hash_type),
    k("hash-balance-factor", DLB, P, hash_balance_factor),
    k("http-after-response", DN.or(FLB), E, rules::http_after_response),
    k("http-check", DLB, E, checks::http_check),
    k("http-error", DFLB, E, logs::http_error),
    k("http-request", DN.or(FLB), E, rules::http_request),
    k("http-response", DN.or(FLB), E, rules::http_response),
    k("http-reuse", DLB, E, http_reuse),
    k("http-send-name-header", DLB, E, http_send_name_header),
    k("id", FLB, E, id),
    k("ignore-persist", LB, E, rules::persist),
    k("load-server-state-from-file", DLB, E, load_server_state),
    k("log", DFLB, E, logs::log),
    k("log-format", DFL, E, logs::log_format)
        .be(Place::Warn("backend '{p}' : 'log-format' directive is ignored in backends.")),
    k("log-format-sd", DFL, P, logs::log_format)
        .be(Place::Warn("backend '{p}' : 'log-format-sd' directive is ignored in backends.")),
    k("log-tag", DFLB, E, log_tag),
    k("max-keep-alive-queue", DLB, P, max_keep_alive_queue)
        .fe(Place::Warn("max-keep-alive-queue will be ignored because frontend '{p}' has no backend capability")),
    k("maxconn", DFL, E, maxconn)
        .be(Place::Warn("'maxconn' ignored because backend '{p}' has no frontend capability. Maybe you want 'fullconn' instead ?")),
    k("mode", DFLB, E, mode),
    k("monitor fail", FL, E, rules::monitor_fail)
        .be(Place::Warn("'monitor' ignored because backend '{p}' has no frontend capability."))
        .def(Place::Fatal("'monitor' not allowed in 'defaults' section.")),
    k("monitor", FL, E, rules::monitor_fail)
        .be(Place::Warn("'monitor' ignored because backend '{p}' has no frontend capability."))
        .def(Place::Fatal("'monitor' not allowed in 'defaults' section.")),
    k("monitor-uri", DFL, E, monitor_uri),
    k("monitor-net", DFL, Legacy("http-request return status 200 if { src NET }"), monitor_net),
    k("option", DFLB, E, options::option).negatable(),
    k("persist", DLB, P, persist),
    k("rate-limit", DFL, P, rate_limit)
        .be(Place::Warn("rate-limit sessions will be ignored because backend '{p}' has no frontend capability")),
    k("redirect", FLB, E, rules::redirect),
    k("retries", DLB, E, retries),
    k("retry-on", DLB, P, retry_on)
        .fe(Place::Fatal("'retry-on' only available in backend or listen section")),
    k("server", LB, E, server::server)
        .fe(Place::Fatal("'server' not allowed because frontend '{p}' has no backend capability.")),
    k("server-state-file-name", DLB, E, server_state_file_name),
    k("server-template", LB, P, server::server_template)
        .fe(Place::Fatal("'server-template' not allowed because frontend '{p}' has no backend capability.")),
    k("source", DLB, E, source),
    k("srvtcpka-cnt", DLB, E, tcpka)
        .fe(Place::Warn("srvtcpka-cnt will be ignored because frontend '{p}' has no backend capability")),
    k("srvtcpka-idle", DLB, E, tcpka)
        .fe(Place::Warn("srvtcpka-idle will be ignored because frontend '{p}' has no backend capability")),
    k("srvtcpka-intvl", DLB, E, tcpka)
        .fe(Place::Warn("srvtcpka-intvl will be ignored because frontend '{p}' has no backend capability")),
    k("stats admin", FLB, E, stats::stats).def(Place::Fatal("'stats admin' not allowed in 'defaults' section.")),
    k("stats http-request", FLB, P, stats::stats).def(Place::Fatal("'stats' not allowed in 'defaults' section.")),
    k("stats", DFLB, E, stats::stats),
    k("stick match", LB, P, stick).def(Place::Fatal("'stick' not allowed in 'defaults' section.")),
    k("stick on", LB, P, stick).def(Place::Fatal("'stick' not allowed in 'defaults' section.")),
    k("stick store-request", LB, P, stick).def(Place::Fatal("'stick' not allowed in 'defaults' section.")),
    k("stick store-response", LB, P, stick).def(Place::Fatal("'stick' not allowed in 'defaults' section.")),
    k("stick", LB, P, stick).def(Place::Fatal("'stick' not allowed in 'defaults' section.")),
    k("stick-table", FLB, P, stick_table).def(Place::Fatal("'stick-table' is not supported in 'defaults' section.")),
    k("tcp-check", DLB, E, checks::tcp_check),
    k("tcp-request connection", DN.or(FL), E, rules::tcp_request)
        .be(Place::Fatal("tcp-request connection is not allowed because backend {p} is not a frontend")),
    k("tcp-request session", DN.or(FL), E, rules::tcp_request)
        .be(Place::Fatal("tcp-request session is not allowed because backend {p} is not a frontend")),
    k("tcp-request content", DN.or(FLB), E, rules::tcp_request),
    k("tcp-request inspect-delay", DN.or(FLB), E, rules::tcp_request),
    k("tcp-request", DN.or(FLB), E, rules::tcp_request),
    k("tcp-response content", DN.or(LB), E, rules::tcp_response)
        .fe(Place::Fatal("tcp-response content is only allowed in 'backend' sections or 'defaults' section with a name")),
    k("tcp-response inspect-delay", DN.or(LB), E, rules::tcp_response)
        .fe(Place::Fatal("tcp-response inspect-delay is only allowed in 'backend' sections or 'defaults' section with a name")),
    k("tcp-response", DN.or(LB), E, rules::tcp_response)
        .fe(Place::Fatal("tcp-response content is only allowed in 'backend' sections or 'defaults' section with a name")),
    k("timeout check", DLB, E, timeout).fe(Place::Warn("'timeout check' will be ignored because frontend '{p}' has no backend capability")),
    k("timeout client", DFL, E, timeout).be(Place::Warn("'timeout client' will be ignored because backend '{p}' has no frontend capability")),
    k("timeout client-fin", DFL, E, timeout).be(Place::Warn("'timeout client-fin' will be ignored because backend '{p}' has no frontend capability")),
    k("timeout connect", DLB, E, timeout).fe(Place::Warn("'timeout connect' will be ignored because frontend '{p}' has no backend capability")),
    k("timeout http-keep-alive", DFLB, E, timeout),
    k("timeout http-request", DFLB, E, timeout),
    k("timeout queue", DLB, E, timeout).fe(Place::Warn("'timeout queue' will be ignored because frontend '{p}' has no backend capability")),
    k("timeout server", DLB, E, timeout).fe(Place::Warn("'timeout server' will be ignored because frontend '{p}' has no backend capability")),
    k("timeout server-fin", DLB, E, timeout).fe(Place::Warn("'timeout server-fin' will be ignored because frontend '{p}' has no backend capability")),
    k("timeout tarpit", DFLB, E, timeout),
    k("timeout tunnel", DLB, E, timeout).fe(Place::Warn("'timeout tunnel' will be ignored because frontend '{p}' has no backend capability")),
    k("timeout", DFLB, E, timeout),
    k("transparent", DLB, E, transparent),
    k("unique-id-format", DFL, E, unique_id_format),
    k("unique-id-header", DFL, E, unique_id_header),
    k("use_backend", FL, E, rules::use_backend),
    k("use-fcgi-app", LB, P, one_arg),
    k("use-server", LB, E, rules::use_server)
        .fe(Place::Fatal("'use-server' ignored because frontend '{p}' has no backend capability.")),
    // 1.x keywords HAProxy 2.x refuses; rproxy maps them to their meaning.
    k("contimeout", DLB, Legacy("timeout connect"), legacy_timeout),
    k("clitimeout", DFL, Legacy("timeout client"), legacy_timeout),
    k("srvtimeout", DLB, Legacy("timeout server"), legacy_timeout),
    k("redispatch", DLB, Legacy("option redispatch"), legacy_redispatch),
    k("redisp", DLB, Legacy("option redispatch"), legacy_redispatch),
    k("block", FLB, Legacy("http-request deny"), rules::legacy_block),
    k("reqadd", FLB, Legacy("http-request add-header"), rules::legacy_req),
    k("reqrep", FLB, Legacy("http-request replace-header / replace-uri"), rules::legacy_req),
    k("reqirep", FLB, Legacy("http-request replace-header / replace-uri"), rules::legacy_req),
    k("reqdel", FLB, Legacy("http-request del-header"), rules::legacy_req),
    k("reqidel", FLB, Legacy("http-request del-header"), rules::legacy_req),
    k("reqdeny", FLB, Legacy("http-request deny"), rules::legacy_req),
    k("reqideny", FLB, Legacy("http-request deny"), rules::legacy_req),
    k("reqallow", FLB, Legacy("http-request allow"), rules::legacy_req),
    k("reqiallow", FLB, Legacy("http-request allow"), rules::legacy_req),
    k("reqpass", FLB, Legacy("(nothing: the line has no effect)"), rules::legacy_req),
    k("reqipass", FLB, Legacy("(nothing: the line has no effect)"), rules::legacy_req),
    k("reqtarpit", FLB, Legacy("http-request tarpit"), rules::legacy_req),
    k("reqitarpit", FLB, Legacy("http-request tarpit"), rules::legacy_req),
    k("rspadd", FLB, Legacy("http-response add-header"), rules::legacy_req),
    k("rsprep", FLB, Legacy("http-response replace-header"), rules::legacy_req),
    k("rspirep", FLB, Legacy("http-response replace-header"), rules::legacy_req),
    k("rspdel", FLB, Legacy("http-response del-header"), rules::legacy_req),
    k("rspidel", FLB, Legacy("http-response del-header"), rules::legacy_req),
    k("rspdeny", FLB, Legacy("http-response deny"), rules::legacy_req),
    k("rspideny", FLB, Legacy("http-response deny"), rules::legacy_req),
    k("appsession", DLB, Legacy("cookie"), appsession),
];

pub(super) fn too_many(ctx: &mut ProxyCtx, line: &Line, n: usize, name: &str) -> bool {
    if let Some(extra) = line.extra_after(n) {
        ctx.sv.alert(
            line,
            format!("'{name}' cannot handle unexpected argument '{extra}'."),
        );
        return true;
    }
    false
}

fn any_args(_: &mut ProxyCtx, _: &Line) -> Flow {
    Flow::Continue
}

fn one_arg(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    if line.arg(1).is_empty() {
        ctx.sv
            .alert(line, format!("'{}' expects an argument.", line.arg(0)));
    }
    Flow::Continue
}

/// `atol()` as HAProxy reads most counts, with rproxy's note when trailing
/// characters are dropped.
pub(super) fn atol_value(ctx: &mut ProxyCtx, line: &Line, i: usize) -> i64 {
    let s = line.arg(i);
    let (v, ignored) = values::atol(s);
    if ignored && !s.is_empty() {
        ctx.sv.note(
            line,
            format!(
                "'{}': '{s}' is not a plain number; HAProxy reads it as {v}, and so does rproxy.",
                line.arg(0)
            ),
        );
    }
    v
}

fn mode(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    let m = match line.arg(1) {
        "http" => Mode::Http,
        "tcp" => Mode::Tcp,
        "health" => {
            ctx.sv.alert(
                line,
                "'mode health' doesn't exist anymore. Please use 'http-request return' or 'tcp-request connection reject' instead.",
            );
            return Flow::Continue;
        }
        other => {
            ctx.sv.alert(line, format!("unknown proxy mode '{other}'."));
            return Flow::Continue;
        }
    };
    if too_many(ctx, line, 1, "mode") {
        return Flow::Continue;
    }
    ctx.px.mode = m;
    Flow::Continue
}

fn retries(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    if line.arg(1).is_empty() {
        ctx.sv.alert(
            line,
            "'retries' expects an integer argument (dispatch counts for one).",
        );
        return Flow::Continue;
    }
    let v = atol_value(ctx, line, 1);
    ctx.px.retries = u32::try_from(v).unwrap_or(0);
    Flow::Continue
}

fn maxconn(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    if line.arg(1).is_empty() {
        ctx.sv.alert(line, "'maxconn' expects an integer argument.");
        return Flow::Continue;
    }
    let v = atol_value(ctx, line, 1);
    ctx.px.maxconn = u32::try_from(v).ok();
    Flow::Continue
}

fn backlog(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    if line.arg(1).is_empty() {
        ctx.sv.alert(line, "'backlog' expects an integer argument.");
        return Flow::Continue;
    }
    let v = atol_value(ctx, line, 1);
    ctx.px.backlog = u32::try_from(v).ok();
    Flow::Continue
}

fn fullconn(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    if line.arg(1).is_empty() {
        ctx.sv
            .alert(line, "'fullconn' expects an integer argument.");
        return Flow::Continue;
    }
    let v = atol_value(ctx, line, 1);
    ctx.px.fullconn = u32::try_from(v).ok().filter(|v| *v > 0);
    Flow::Continue
}

fn rate_limit(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    if line.arg(1) != "sessions" {
        ctx.sv.alert(
            line,
            format!(
                "'rate-limit' only supports 'sessions' (got '{}')",
                line.arg(1)
            ),
        );
        return Flow::Continue;
    }
    if line.arg(2).is_empty() {
        ctx.sv.alert(
            line,
            "'rate-limit sessions' expects expects an integer value (in sessions/second)",
        );
        return Flow::Continue;
    }
    let v = atol_value(ctx, line, 2);
    ctx.px.rate_limit_sessions = u32::try_from(v).ok().filter(|v| *v > 0);
    Flow::Continue
}

pub(super) fn parse_balance(args: &[String]) -> Result<Balance, String> {
    let alg = args.first().map_or("", String::as_str);
    let rest = args.get(1..).unwrap_or(&[]);
    let unsupported = || {
        "balance only supports 'roundrobin', 'static-rr', 'leastconn', 'source', 'uri', 'url_param', 'hdr(name)' and 'rdp-cookie(name)' options.".to_string()
    };
    Ok(match alg {
        "roundrobin" => Balance::RoundRobin,
        "static-rr" => Balance::StaticRr,
        "leastconn" => Balance::LeastConn,
        "first" => Balance::First,
        "source" => Balance::Source,
        "uri" => {
            let mut whole = false;
            let mut len = 0;
            let mut depth = 0;
            let mut path_only = false;
            let mut i = 0;
            while i < rest.len() {
                match rest[i].as_str() {
                    "whole" => whole = true,
                    "path-only" => path_only = true,
                    "len" | "depth" => {
                        let v: u32 = rest
                            .get(i + 1)
                            .and_then(|v| v.parse().ok())
                            .filter(|v| *v > 0)
                            .ok_or_else(|| {
                                format!(
                                    "'balance uri {}' expects a positive integer (got '{}').",
                                    rest[i],
                                    rest.get(i + 1).map_or("", String::as_str)
                                )
                            })?;
                        if rest[i] == "len" {
                            len = v;
                        } else {
                            depth = v;
                        }
                        i += 1;
                    }
                    other => {
                        return Err(format!(
                            "'balance uri' only accepts parameters 'len', 'depth', 'path-only', and 'whole' (got '{other}')."
                        ));
                    }
                }
                i += 1;
            }
            Balance::Uri {
                whole,
                len,
                depth,
                path_only,
            }
        }
        "url_param" => {
            let param = rest
                .first()
                .ok_or("'balance url_param' requires an URL parameter name.")?;
            let mut check_post = None;
            let mut i = 1;
            while i < rest.len() {
                match rest[i].as_str() {
                    "check_post" => {
                        check_post =
                            Some(rest.get(i + 1).and_then(|v| v.parse().ok()).unwrap_or(0));
                        i += 1;
                    }
                    other => {
                        return Err(format!(
                            "'balance url_param' only accepts check_post modifier (got '{other}')."
                        ));
                    }
                }
                i += 1;
            }
            Balance::UrlParam {
                param: param.clone(),
                check_post,
            }
        }
        a if a.starts_with("hdr(") => {
            let name = a
                .strip_prefix("hdr(")
                .and_then(|s| s.strip_suffix(')'))
                .filter(|s| !s.is_empty())
                .ok_or("'balance hdr(name)' requires an http header field name.")?;
            let use_domain_only = match rest.first().map(String::as_str) {
                None => false,
                Some("use_domain_only") => true,
                Some(other) => {
                    return Err(format!(
                        "'balance hdr(name)' only accepts 'use_domain_only' modifier (got '{other}')."
                    ));
                }
            };
            Balance::Hdr {
                name: name.to_string(),
                use_domain_only,
            }
        }
        a if a == "rdp-cookie" || a.starts_with("rdp-cookie(") => {
            let name = if a == "rdp-cookie" {
                "mstshash".to_string()
            } else {
                a.strip_prefix("rdp-cookie(")
                    .and_then(|s| s.strip_suffix(')'))
                    .filter(|s| !s.is_empty())
                    .ok_or("'balance rdp-cookie(name)' requires an RDP cookie name.")?
                    .to_string()
            };
            Balance::RdpCookie { name }
        }
        a if a == "random" || a.starts_with("random(") => {
            let draws = if a == "random" {
                2
            } else {
                a.strip_prefix("random(")
                    .and_then(|s| s.strip_suffix(')'))
                    .and_then(|s| s.parse::<u32>().ok())
                    .filter(|n| *n >= 1)
                    .ok_or("'balance random' expects a positive number of draws.")?
            };
            Balance::Random { draws }
        }
        "hash" => {
            let expr = rest
                .first()
                .ok_or("'balance hash' expects a sample expression.")?;
            let expr = crate::config::sample::parse_expr(expr)
                .map_err(|e| format!("'balance hash': {e}"))?;
            Balance::Hash { expr }
        }
        "" => return Err(String::new()),
        _ => return Err(unsupported()),
    })
}

fn balance(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    match parse_balance(line.rest(1)) {
        Ok(b) => {
            if matches!(
                b,
                Balance::Uri { .. }
                    | Balance::UrlParam { .. }
                    | Balance::Hdr { .. }
                    | Balance::RdpCookie { .. }
                    | Balance::Hash { .. }
            ) {
                // Keyed on HTTP data: round robin until HTTP mode exists.
                ctx.sv
                    .not_enforced(line, &format!("balance {}", b.name()), Status::ParsedOnly);
            }
            ctx.px.balance = b;
        }
        // HAProxy accepts a bare `balance` and keeps the current algorithm.
        Err(e) if e.is_empty() => {}
        Err(e) => ctx.sv.alert(line, e),
    }
    Flow::Continue
}

fn hash_type(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    let method = match line.arg(1) {
        "map-based" => HashMethod::MapBased,
        "consistent" => HashMethod::Consistent,
        "avalanche" => {
            ctx.sv.alert(
                line,
                "experimental feature 'hash-type avalanche' is not supported anymore, please use 'hash-type map-based sdbm avalanche' instead.",
            );
            return Flow::Continue;
        }
        _ => {
            ctx.sv.alert(
                line,
                "'hash-type' only supports 'consistent' and 'map-based'.",
            );
            return Flow::Continue;
        }
    };
    let mut ht = HashType {
        method,
        function: HashFunction::Sdbm,
        avalanche: false,
    };
    let mut i = 2;
    if !line.arg(i).is_empty() {
        ht.function = match line.arg(i) {
            "sdbm" => HashFunction::Sdbm,
            "djb2" => HashFunction::Djb2,
            "wt6" => HashFunction::Wt6,
            "crc32" => HashFunction::Crc32,
            "none" => HashFunction::None,
            other => {
                ctx.sv.alert(
                    line,
                    format!("'hash-type' only supports 'sdbm', 'djb2', 'crc32', 'none' or 'wt6' hash functions (got '{other}')."),
                );
                return Flow::Continue;
            }
        };
        i += 1;
        match line.arg(i) {
            "" => {}
            "avalanche" => ht.avalanche = true,
            other => {
                ctx.sv.alert(
                    line,
                    format!("'hash-type' only supports 'avalanche' as a modifier for hash functions (got '{other}')."),
                );
                return Flow::Continue;
            }
        }
    } else if method == HashMethod::Consistent {
        // consistent hashing defaults to sdbm with avalanche
        ht.avalanche = true;
    }
    ctx.px.hash_type = ht;
    Flow::Continue
}

fn hash_balance_factor(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    let (v, _) = values::atol(line.arg(1));
    if v != 0 && v <= 100 {
        ctx.sv
            .alert(line, "'hash-balance-factor' must be 0 or greater than 100.");
        return Flow::Continue;
    }
    ctx.px.hash_balance_factor = u32::try_from(v).ok().filter(|v| *v > 0);
    Flow::Continue
}

fn cookie(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    let name = line.arg(1);
    if name.is_empty() {
        ctx.sv
            .alert(line, "'cookie' expects <cookie_name> as argument.");
        return Flow::Continue;
    }
    let mut c = CookieCfg {
        name: name.to_string(),
        mode: CookieMode::Passive,
        indirect: false,
        nocache: false,
        postonly: false,
        preserve: false,
        httponly: false,
        secure: false,
        domains: Vec::new(),
        maxidle: None,
        maxlife: None,
        dynamic: false,
        attrs: Vec::new(),
    };
    let mut i = 2;
    let set_mode = |c: &mut CookieCfg, m: CookieMode| -> bool {
        if c.mode != CookieMode::Passive && c.mode != m {
            return false;
        }
        c.mode = m;
        true
    };
    while i < line.len() {
        let a = line.arg(i);
        let ok = match a {
            "rewrite" => set_mode(&mut c, CookieMode::Rewrite),
            "insert" => set_mode(&mut c, CookieMode::Insert),
            "prefix" => set_mode(&mut c, CookieMode::Prefix),
            "indirect" => {
                c.indirect = true;
                true
            }
            "nocache" => {
                c.nocache = true;
                true
            }
            "postonly" => {
                c.postonly = true;
                true
            }
            "preserve" => {
                c.preserve = true;
                true
            }
            "httponly" => {
                c.httponly = true;
                true
            }
            "secure" => {
                c.secure = true;
                true
            }
            "dynamic" => {
                c.dynamic = true;
                true
            }
            "domain" => {
                let d = line.arg(i + 1);
                if d.is_empty() {
                    ctx.sv
                        .alert(line, format!("'{a}' expects <domain> as argument."));
                    return Flow::Continue;
                }
                if !d.starts_with('.') {
                    ctx.sv.warn(
                        line,
                        format!(
                            "domain '{d}' contains no embedded dot nor does not start with a dot. RFC forbids it, this configuration may not work properly."
                        ),
                    );
                }
                c.domains.push(d.to_string());
                i += 1;
                true
            }
            "maxidle" | "maxlife" => {
                let v = line.arg(i + 1);
                if v.is_empty() {
                    ctx.sv.alert(
                        line,
                        format!("'{a}' expects <idletime> in seconds as argument."),
                    );
                    return Flow::Continue;
                }
                match values::parse_time(v, TimeUnit::Seconds) {
                    Ok(t) => {
                        if a == "maxidle" {
                            c.maxidle = Some(t.value);
                        } else {
                            c.maxlife = Some(t.value);
                        }
                    }
                    Err(e) => {
                        ctx.sv.alert(
                            line,
                            values::time_error_message(&e, a, v, TimeUnit::Seconds),
                        );
                        return Flow::Continue;
                    }
                }
                i += 1;
                true
            }
            "attr" => {
                let v = line.arg(i + 1);
                if v.is_empty() {
                    ctx.sv
                        .alert(line, format!("'{a}' expects <value> as argument."));
                    return Flow::Continue;
                }
                if v.contains(|ch: char| ch.is_control() || ch == ';') {
                    ctx.sv
                        .alert(line, format!("'{a}' value contains control chars or ';'."));
                    return Flow::Continue;
                }
                c.attrs.push(v.to_string());
                i += 1;
                true
            }
            _ => {
                ctx.sv.alert(
                    line,
                    "'cookie' supports 'rewrite', 'insert', 'prefix', 'indirect', 'nocache', 'postonly', 'domain', 'maxidle', 'dynamic', 'maxlife' and 'attr' options.",
                );
                return Flow::Continue;
            }
        };
        if !ok {
            ctx.sv.alert(
                line,
                "cookie 'rewrite', 'insert' and 'prefix' modes are incompatible.",
            );
            return Flow::Continue;
        }
        i += 1;
    }
    ctx.px.cookie = Some(c);
    Flow::Continue
}

fn default_backend(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    if line.arg(1).is_empty() {
        ctx.sv
            .alert(line, "'default_backend' expects a backend name.");
        return Flow::Continue;
    }
    if too_many(ctx, line, 1, "default_backend") {
        return Flow::Continue;
    }
    ctx.px.default_backend = Some((line.arg(1).to_string(), line.origin.clone()));
    Flow::Continue
}

fn description(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    if line.arg(1).is_empty() {
        ctx.sv
            .alert(line, "'description' expects a string argument.");
        return Flow::Continue;
    }
    ctx.px.description = Some(line.rest(1).join(" "));
    Flow::Continue
}

fn disabled(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    if !too_many(ctx, line, 0, "disabled") {
        ctx.px.disabled = true;
    }
    Flow::Continue
}

fn enabled(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    if !too_many(ctx, line, 0, "enabled") {
        ctx.px.disabled = false;
    }
    Flow::Continue
}

fn dispatch(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    match ctx.sv.address(line.arg(1), Use::Server) {
        Ok(a) => ctx.px.dispatch = Some(a),
        Err(e) => ctx.sv.alert(line, format!("'dispatch' : {e}")),
    }
    Flow::Continue
}

fn email_alert(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    match line.arg(1) {
        "from" | "mailers" | "myhostname" | "to" | "level" => {
            if line.arg(2).is_empty() {
                ctx.sv.alert(
                    line,
                    format!("email-alert {} expects an argument.", line.arg(1)),
                );
            }
        }
        other => ctx
            .sv
            .alert(line, format!("email-alert: unknown argument '{other}'.")),
    }
    Flow::Continue
}

fn filter(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    match line.arg(1) {
        "compression" | "cache" | "trace" | "spoe" | "fcgi-app" | "opentracing" | "bwlim-in"
        | "bwlim-out" => {}
        "" => ctx.sv.alert(line, "'filter' expects a filter name."),
        other => ctx
            .sv
            .alert(line, format!("'filter' : unknown filter '{other}'")),
    }
    Flow::Continue
}

fn compression(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    match line.arg(1) {
        "algo" | "type" | "offload" | "algo-req" | "algo-res" | "type-req" | "type-res"
        | "direction" => {}
        _ => ctx
            .sv
            .alert(line, "'compression' expects 'algo', 'type' or 'offload'"),
    }
    Flow::Continue
}

fn http_reuse(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    ctx.px.http_reuse = match line.arg(1) {
        "never" => HttpReuse::Never,
        "safe" => HttpReuse::Safe,
        "aggressive" => HttpReuse::Aggressive,
        "always" => HttpReuse::Always,
        _ => {
            ctx.sv.alert(
                line,
                "'http-reuse' only supports 'never', 'safe', 'aggressive', 'always'.",
            );
            return Flow::Continue;
        }
    };
    Flow::Continue
}

fn http_send_name_header(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    if line.arg(1).is_empty() {
        ctx.sv
            .alert(line, "'http-send-name-header' requires a header string.");
        return Flow::Continue;
    }
    ctx.px.http_send_name_header = Some(line.arg(1).to_string());
    Flow::Continue
}

fn id(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    match values::parse_uint(line.arg(1)).and_then(|n| u32::try_from(n).ok()) {
        Some(n) if n > 0 => ctx.px.id = Some(n),
        _ => ctx
            .sv
            .alert(line, format!("{}: custom id has to be > 0.", line.arg(0))),
    }
    Flow::Continue
}

fn load_server_state(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    match line.arg(1) {
        "global" | "local" | "none" => {
            ctx.px.load_server_state_from_file = Some(line.arg(1).to_string())
        }
        other => ctx.sv.alert(
            line,
            format!(
                "'load-server-state-from-file' expects 'global', 'local' or 'none'. Got '{other}'"
            ),
        ),
    }
    Flow::Continue
}

fn server_state_file_name(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    ctx.px.server_state_file_name = Some(line.arg(1).to_string()).filter(|s| !s.is_empty());
    Flow::Continue
}

fn log_tag(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    if line.arg(1).is_empty() {
        ctx.sv
            .alert(line, "'log-tag' expects a tag for use in syslog.");
        return Flow::Continue;
    }
    ctx.px.log_tag = Some(line.arg(1).to_string());
    Flow::Continue
}

fn max_keep_alive_queue(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    if line.arg(1).is_empty() {
        ctx.sv.alert(
            line,
            "'max-keep-alive-queue' expects expects an integer value (or -1 to disable)",
        );
        return Flow::Continue;
    }
    let v = atol_value(ctx, line, 1);
    ctx.px.max_keep_alive_queue = i32::try_from(v).ok();
    Flow::Continue
}

fn monitor_uri(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    if line.arg(1).is_empty() {
        ctx.sv.alert(line, "'monitor-uri' expects an URI.");
        return Flow::Continue;
    }
    ctx.px.monitor_uri = Some(line.arg(1).to_string());
    Flow::Continue
}

/// `monitor-net NET` (removed in 2.3): requests from NET got the monitor
/// answer without being forwarded or logged. rproxy maps it to what
/// HAProxy's own message recommends:
/// `http-request return status 200 if { src NET }`.
fn monitor_net(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    let net = line.arg(1);
    if net.is_empty() {
        ctx.sv.alert(line, "'monitor-net' expects a network.");
        return Flow::Continue;
    }
    let text = format!("http-request return status 200 if {{ src {net} }}");
    let words: Vec<String> = text.split(' ').map(str::to_string).collect();
    let mapped = Line {
        origin: line.origin.clone(),
        words,
        modifier: line.modifier,
    };
    rules::http_request(ctx, &mapped)
}

fn persist(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    let a = line.arg(1);
    if a == "rdp-cookie" || a.starts_with("rdp-cookie(") {
        let name = a
            .strip_prefix("rdp-cookie(")
            .and_then(|s| s.strip_suffix(')'))
            .unwrap_or("msts");
        ctx.px.persist_rdp_cookie = Some(name.to_string());
    } else {
        ctx.sv.alert(line, "unknown persist method.");
    }
    Flow::Continue
}

fn retry_on(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    const KNOWN: &[&str] = &[
        "none",
        "conn-failure",
        "empty-response",
        "junk-response",
        "response-timeout",
        "0rtt-rejected",
        "all-retryable-errors",
    ];
    let mut list = Vec::new();
    for w in line.rest(1) {
        let ok = KNOWN.contains(&w.as_str())
            || (w.len() == 3 && w.parse::<u16>().is_ok_and(|c| (100..600).contains(&c)));
        if !ok {
            ctx.sv
                .alert(line, format!("'retry-on': unknown keyword '{w}'"));
            return Flow::Continue;
        }
        list.push(w.clone());
    }
    ctx.px.retry_on = list;
    Flow::Continue
}

fn source(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    match parse_source(ctx.sv, line, 1, Use::Source) {
        Ok(s) => ctx.px.source = Some(s),
        Err(msg) => ctx.sv.alert(line, msg),
    }
    Flow::Continue
}

/// `source ADDR[:PORT] [usesrc …] [interface IF]` from word `start` on.
pub fn parse_source(
    sv: &mut crate::config::parser::Services,
    line: &Line,
    start: usize,
    use_: Use,
) -> Result<Source, String> {
    let a = line.arg(start);
    if a.is_empty() {
        return Err("'source' expects <addr>[:<port>], and optionally 'usesrc' <addr>, and 'interface' <name>.".into());
    }
    let addr = sv
        .address(a, use_)
        .map_err(|e| format!("'source {a}' : {e}\n"))?;
    let mut src = Source {
        addr,
        usesrc: None,
        interface: None,
        origin: line.origin.clone(),
    };
    let mut i = start + 1;
    while i < line.len() {
        match line.arg(i) {
            "usesrc" => {
                let v = line.arg(i + 1);
                src.usesrc = Some(match v {
                    "" => {
                        return Err("'usesrc' expects <addr>[:<port>], 'client', or 'clientip' as argument.".into());
                    }
                    "client" => UseSrc::Client,
                    "clientip" => UseSrc::ClientIp,
                    h if h.starts_with("hdr_ip(") => {
                        let inner = h
                            .strip_prefix("hdr_ip(")
                            .and_then(|s| s.strip_suffix(')'))
                            .filter(|s| !s.is_empty())
                            .ok_or("bad header name in 'usesrc hdr_ip(...)'")?;
                        let (name, occ) = match inner.split_once(',') {
                            Some((n, o)) => (
                                n,
                                o.trim().parse::<i32>().map_err(|_| {
                                    "invalid occurrence number in 'usesrc hdr_ip(name,occ)'"
                                        .to_string()
                                })?,
                            ),
                            None => (inner, -1),
                        };
                        UseSrc::HdrIp {
                            header: name.to_string(),
                            occurrence: occ,
                        }
                    }
                    other => UseSrc::Addr(
                        sv.address(other, Use::Source)
                            .map_err(|e| format!("'usesrc {other}' : {e}\n"))?,
                    ),
                });
                i += 2;
            }
            "interface" => {
                let v = line.arg(i + 1);
                if v.is_empty() {
                    return Err("'interface' expects an interface name.".into());
                }
                src.interface = Some(v.to_string());
                i += 2;
            }
            other if use_ == Use::Source => {
                return Err(format!(
                    "'{}' only supports the 'usesrc' and 'interface' sub-options (got '{other}').",
                    line.arg(0)
                ));
            }
            _ => break,
        }
    }
    Ok(src)
}

fn timeout(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    let which = line.arg(1);
    let name = format!("timeout {which}");
    let v = line.arg(2);
    let slot: &mut Option<std::time::Duration> = match which {
        "client" => &mut ctx.px.timeouts.client,
        "client-fin" => &mut ctx.px.timeouts.client_fin,
        "server" => &mut ctx.px.timeouts.server,
        "server-fin" => &mut ctx.px.timeouts.server_fin,
        "connect" => &mut ctx.px.timeouts.connect,
        "check" => &mut ctx.px.timeouts.check,
        "queue" => &mut ctx.px.timeouts.queue,
        "http-keep-alive" => &mut ctx.px.timeouts.http_keep_alive,
        "http-request" => &mut ctx.px.timeouts.http_request,
        "tunnel" => &mut ctx.px.timeouts.tunnel,
        "tarpit" => &mut ctx.px.timeouts.tarpit,
        other => {
            ctx.sv.alert(
                line,
                format!(
                    "'timeout' supports 'client', 'server', 'connect', 'check', 'queue', 'http-keep-alive', 'http-request', 'tunnel', 'tarpit', 'client-fin' and 'server-fin' (got '{other}')"
                ),
            );
            return Flow::Continue;
        }
    };
    match values::parse_time(v, TimeUnit::Millis) {
        Ok(t) => {
            *slot = Some(t.value).filter(|d| !d.is_zero());
            if let Some(c) = t.trailing {
                ctx.sv.warn_bare(values::time_trailing_warning(c, v));
            }
            if let Some(extra) = line.extra_after(2) {
                ctx.sv.alert(
                    line,
                    format!("'{name}' cannot handle unexpected argument '{extra}'."),
                );
            }
        }
        Err(e) => ctx.sv.alert(
            line,
            values::time_error_message(&e, &name, v, TimeUnit::Millis),
        ),
    }
    Flow::Continue
}

/// `contimeout`/`clitimeout`/`srvtimeout`: the 1.x spellings of
/// `timeout connect|client|server`.
fn legacy_timeout(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    let which = match line.arg(0) {
        "contimeout" => "connect",
        "clitimeout" => "client",
        _ => "server",
    };
    let mut words = vec!["timeout".to_string(), which.to_string()];
    words.extend(line.rest(1).iter().cloned());
    let mapped = Line {
        origin: line.origin.clone(),
        words,
        modifier: line.modifier,
    };
    timeout(ctx, &mapped)
}

fn legacy_redispatch(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    ctx.px.redispatch = Some(-1);
    too_many(ctx, line, 0, line.arg(0));
    Flow::Continue
}

fn appsession(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    // `appsession <cookie> len <n> timeout <t>`: learned session stickiness,
    // gone since 1.6. rproxy does not emulate it; the nearest meaning is
    // cookie persistence, which the config must declare itself.
    ctx.sv.not_enforced(line, "appsession", Status::ParsedOnly);
    Flow::Continue
}

fn transparent(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    if !too_many(ctx, line, 0, "transparent") {
        ctx.px.options.transparent = true;
    }
    Flow::Continue
}

fn unique_id_format(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    if line.arg(1).is_empty() {
        ctx.sv.alert(line, "unique-id-format expects an argument.");
        return Flow::Continue;
    }
    match crate::config::logformat::parse(&line.rest(1).join(" ")) {
        Ok(f) => ctx.px.unique_id_format = Some(f),
        Err(e) => ctx.sv.alert(line, format!("unique-id-format: {e}")),
    }
    Flow::Continue
}

fn unique_id_header(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    if line.arg(1).is_empty() {
        ctx.sv.alert(line, "unique-id-header expects an argument.");
        return Flow::Continue;
    }
    ctx.px.unique_id_header = Some(line.arg(1).to_string());
    Flow::Continue
}

fn tcpka(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    let kw = line.arg(0);
    let v = line.arg(1);
    let (side, what) = kw.split_once('-').unwrap_or(("", ""));
    let ka = if side == "clitcpka" {
        &mut ctx.px.clitcpka
    } else {
        &mut ctx.px.srvtcpka
    };
    if what == "cnt" {
        match values::parse_uint(v) {
            Some(n) => ka.cnt = u32::try_from(n).ok(),
            None => ctx
                .sv
                .alert(line, format!("'{kw}' expects an integer value")),
        }
    } else {
        match values::parse_time(v, TimeUnit::Seconds) {
            Ok(t) => {
                if what == "idle" {
                    ka.idle = Some(t.value);
                } else {
                    ka.intvl = Some(t.value);
                }
            }
            Err(e) => ctx.sv.alert(
                line,
                values::time_error_message(&e, kw, v, TimeUnit::Seconds),
            ),
        }
    }
    Flow::Continue
}

fn stick(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    match line.arg(1) {
        "match" | "on" | "store-request" | "store-response" => {
            if line.arg(2).is_empty() {
                ctx.sv.alert(
                    line,
                    format!("'stick' : '{}' expects a fetch method.", line.arg(1)),
                );
            }
        }
        other => ctx
            .sv
            .alert(line, format!("'stick' : unknown stick method '{other}'.")),
    }
    Flow::Continue
}

fn stick_table(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    let mut t = StickTable {
        kind: String::new(),
        size: 0,
        expire: None,
        peers: None,
        origin: line.origin.clone(),
    };
    let mut i = 1;
    while i < line.len() {
        let (kw, v) = (line.arg(i), line.arg(i + 1));
        match kw {
            "type" => {
                if !matches!(v, "ip" | "ipv6" | "integer" | "string" | "binary") {
                    ctx.sv
                        .alert(line, format!("stick-table: unknown type '{v}'."));
                    return Flow::Continue;
                }
                t.kind = v.to_string();
                if matches!(v, "string" | "binary") && line.arg(i + 2) == "len" {
                    i += 2;
                }
            }
            "size" => match values::parse_size(v) {
                Ok(n) => t.size = n,
                Err(c) => {
                    ctx.sv.alert(
                        line,
                        format!("stick-table: unexpected character '{c}' in argument of 'size'."),
                    );
                    return Flow::Continue;
                }
            },
            "expire" => match values::parse_time(v, TimeUnit::Millis) {
                Ok(d) => t.expire = Some(d.value),
                Err(e) => {
                    ctx.sv.alert(
                        line,
                        format!(
                            "stick-table: {}",
                            values::time_error_message(&e, "expire", v, TimeUnit::Millis)
                        ),
                    );
                    return Flow::Continue;
                }
            },
            "peers" => t.peers = Some(v.to_string()),
            "store" | "srvkey" | "write-to" | "recv-only" => {}
            "nopurge" => {
                i += 1;
                continue;
            }
            other => {
                ctx.sv
                    .alert(line, format!("stick-table: unknown argument '{other}'."));
                return Flow::Continue;
            }
        }
        i += 2;
    }
    if t.kind.is_empty() {
        ctx.sv.alert(line, "stick-table: missing type.");
        return Flow::Continue;
    }
    ctx.px.stick_table = Some(t);
    Flow::Continue
}

fn dynamic_cookie_key(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    if line.arg(1).is_empty() {
        ctx.sv.alert(line, "'dynamic-cookie-key' expects a key.");
        return Flow::Continue;
    }
    ctx.px.dynamic_cookie_key = Some(line.arg(1).to_string());
    Flow::Continue
}
