//! `bind` lines and their options (also used by `stats socket`).

use super::{Flow, Status};
use crate::config::address::{Endpoint, Use};
use crate::config::line::Line;
use crate::config::model::*;
use crate::config::parser::{ProxyCtx, Services};
use crate::config::values::{self, TimeUnit};

use Status::{Enforced as E, ParsedOnly as P, Security as S};

/// A bind option: its name, how many arguments it takes, and its status.
pub struct BindKeyword {
    pub name: &'static str,
    pub args: usize,
    pub status: Status,
    /// Part of the TLS stack (refused at start-up until rproxy has TLS).
    pub ssl: bool,
}

const fn o(name: &'static str, args: usize, status: Status) -> BindKeyword {
    BindKeyword {
        name,
        args,
        status,
        ssl: false,
    }
}

const fn t(name: &'static str, args: usize) -> BindKeyword {
    BindKeyword {
        name,
        args,
        status: P,
        ssl: true,
    }
}

pub static KEYWORDS: &[BindKeyword] = &[
    o("accept-netscaler-cip", 1, P),
    o("accept-proxy", 0, E),
    o("backlog", 1, E),
    o("defer-accept", 0, E),
    o("expose-fd", 1, P),
    o("gid", 1, E),
    o("group", 1, E),
    o("id", 1, E),
    o("interface", 1, E),
    o("level", 1, E),
    o("maxconn", 1, E),
    o("mode", 1, E),
    o("mss", 1, E),
    o("name", 1, E),
    o("namespace", 1, P),
    o("nice", 1, P),
    o("process", 1, P),
    o("proto", 1, P),
    o("severity-output", 1, P),
    o("shards", 1, P),
    o("tcp-ut", 1, E),
    o("tfo", 0, E),
    o("thread", 1, P),
    o("transparent", 0, E),
    o("uid", 1, E),
    o("user", 1, E),
    o("v4v6", 0, E),
    o("v6only", 0, E),
    BindKeyword {
        name: "ssl",
        args: 0,
        status: S,
        ssl: true,
    },
    t("allow-0rtt", 0),
    t("alpn", 1),
    t("ca-file", 1),
    t("ca-ignore-err", 1),
    t("ca-sign-file", 1),
    t("ca-sign-pass", 1),
    t("ca-verify-file", 1),
    t("ciphers", 1),
    t("ciphersuites", 1),
    t("crl-file", 1),
    t("crt", 1),
    t("crt-ignore-err", 1),
    t("crt-list", 1),
    t("curves", 1),
    t("ecdhe", 1),
    t("force-sslv3", 0),
    t("force-tlsv10", 0),
    t("force-tlsv11", 0),
    t("force-tlsv12", 0),
    t("force-tlsv13", 0),
    t("generate-certificates", 0),
    t("no-ca-names", 0),
    t("no-sslv3", 0),
    t("no-tls-tickets", 0),
    t("no-tlsv10", 0),
    t("no-tlsv11", 0),
    t("no-tlsv12", 0),
    t("no-tlsv13", 0),
    t("npn", 1),
    t("prefer-client-ciphers", 0),
    t("ssl-max-ver", 1),
    t("ssl-min-ver", 1),
    t("strict-sni", 0),
    t("tls-ticket-keys", 1),
    t("verify", 1),
];

static INDEX: super::Index<BindKeyword> = super::Index::new(KEYWORDS, |k| k.name);

/// `bind ADDR[,ADDR…] [options]`
pub fn parse_bind(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    let spec = line.arg(1);
    if spec.is_empty() {
        ctx.sv.alert(
            line,
            "'bind' expects {<path>|[addr1]:port1[-end1]}{,[addr]:port[-end]}... as arguments.",
        );
        return Flow::Continue;
    }
    let mut bind = Bind::new(line.origin.clone());
    for part in spec.split(',') {
        match ctx.sv.address(part, Use::Bind) {
            Ok(ep) => {
                if let Endpoint::Fd(n) = ep
                    && let Err(e) = check_fd(n)
                {
                    ctx.sv.alert(
                        line,
                        format!("'bind' : cannot use file descriptor '{n}' : {e}."),
                    );
                    return Flow::Continue;
                }
                bind.addrs.push(ep);
            }
            Err(e) => {
                ctx.sv.alert(line, format!("'bind' : {e}"));
                return Flow::Continue;
            }
        }
    }
    let section = ctx.px.kind.section();
    let mut i = 2;
    while i < line.len() {
        if let Err(msg) = parse_bind_option(ctx.sv, line, &mut bind, &mut i) {
            let sep = if msg.starts_with("unknown keyword") {
                ":"
            } else {
                " :"
            };
            ctx.sv.alert(
                line,
                format!("'bind {spec}' in section '{section}'{sep} {msg}"),
            );
            return Flow::Continue;
        }
    }
    ctx.px.binds.push(bind);
    Flow::Continue
}

fn check_fd(n: i32) -> Result<(), String> {
    use nix::sys::socket::{getsockopt, sockopt};
    // SAFETY: only queries the descriptor; it is not taken over here.
    let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(n) };
    match getsockopt(&fd, sockopt::SockType) {
        Ok(_) => Ok(()),
        Err(e) => Err(e.desc().to_string()),
    }
}

/// Parses the option at `line[*i]`, advancing `*i` past it.
pub fn parse_bind_option(
    sv: &mut Services,
    line: &Line,
    bind: &mut Bind,
    i: &mut usize,
) -> Result<(), String> {
    let name = line.arg(*i);
    let Some(kw) = INDEX.get(name) else {
        let hint = super::suggest::best_match(name, KEYWORDS.iter().map(|k| k.name))
            .map(|b| format!("; did you mean '{b}' maybe ?"))
            .unwrap_or_default();
        return Err(format!("unknown keyword '{name}'{hint}"));
    };
    let v = line.arg(*i + 1);
    let missing = |what: &str| format!("'{name}' : missing {what}");
    match name {
        "name" => {
            if v.is_empty() {
                return Err(missing("name"));
            }
            bind.name = Some(v.to_string());
        }
        "id" => match values::parse_uint(v).and_then(|n| u32::try_from(n).ok()) {
            Some(n) if n > 0 => bind.id = Some(n),
            _ => return Err("'id' : custom id has to be > 0".into()),
        },
        "interface" => {
            if v.is_empty() {
                return Err(missing("interface name"));
            }
            bind.interface = Some(v.to_string());
        }
        "maxconn" => {
            if v.is_empty() {
                return Err(missing("value"));
            }
            bind.maxconn = u32::try_from(values::atol(v).0).ok();
        }
        "backlog" => {
            if v.is_empty() {
                return Err(missing("value"));
            }
            bind.backlog = u32::try_from(values::atol(v).0).ok();
        }
        "mss" => match v.trim_start_matches('-').parse::<i32>() {
            Ok(n) if (1..=65535).contains(&n) => {
                bind.mss = Some(if v.starts_with('-') { -n } else { n })
            }
            _ => {
                return Err("'mss' : expects an MSS with and absolute value between 1 and 65535".into())
            }
        },
        "nice" => bind.nice = v.parse().ok(),
        "tcp-ut" => {
            bind.tcp_ut = Some(
                values::parse_time(v, TimeUnit::Millis)
                    .map_err(|_| format!("'{name}' : expects a positive delay in milliseconds"))?
                    .value,
            )
        }
        "mode" => {
            bind.mode = Some(
                u32::from_str_radix(v, 8)
                    .map_err(|_| format!("'{name}' : missing or invalid mode '{v}' (octal integer expected)"))?,
            )
        }
        "uid" => bind.uid = Some(v.parse().map_err(|_| format!("'{name}' : missing value"))?),
        "gid" => bind.gid = Some(v.parse().map_err(|_| format!("'{name}' : missing value"))?),
        "user" => {
            if sv.opts.check_system && crate::util::user_id(v).is_none() {
                return Err(format!("'user' : unknown user name '{v}'"));
            }
            bind.user = Some(v.to_string());
        }
        "group" => {
            if sv.opts.check_system && crate::util::group_id(v).is_none() {
                return Err(format!("'group' : unknown group name '{v}'"));
            }
            bind.group = Some(v.to_string());
        }
        "level" => {
            bind.level = Some(match v {
                "user" => CliLevel::User,
                "operator" => CliLevel::Operator,
                "admin" => CliLevel::Admin,
                _ => {
                    return Err(format!(
                        "''level' only supports 'user', 'operator', and 'admin' (got '{v}')'"
                    ));
                }
            })
        }
        "expose-fd" => {
            if v != "listeners" {
                return Err(format!("'{name}' : '{v}' unsupported parameter"));
            }
            bind.expose_fd_listeners = true;
        }
        "severity-output" => {
            if !matches!(v, "none" | "number" | "string") {
                return Err(format!("'{name}' : unsupported severity output '{v}'"));
            }
            bind.severity_output = Some(v.to_string());
        }
        "thread" => bind.thread = Some(v.to_string()),
        "namespace" => bind.namespace = Some(v.to_string()),
        "proto" => bind.proto = Some(v.to_string()),
        "transparent" => bind.transparent = true,
        "v4v6" => bind.v4v6 = true,
        "v6only" => bind.v6only = true,
        "defer-accept" => bind.defer_accept = true,
        "accept-proxy" => bind.accept_proxy = true,
        "tfo" => bind.tfo = true,
        "process" => sv.warn(
            line,
            format!(
                "'bind {}' in section '{}' : 'process {v}' on 'bind' lines is deprecated and will be removed in 2.7.",
                line.arg(1),
                "frontend"
            ),
        ),
        _ if kw.ssl => {
            let ssl = bind.ssl.get_or_insert_with(BindSsl::default);
            match name {
                "crt" => {
                    if sv.opts.check_system {
                        super::logs::check_certificate(v)?;
                    }
                    ssl.crt.push(v.to_string());
                }
                "crt-list" => {
                    if sv.opts.check_system {
                        std::fs::metadata(v).map_err(|e| {
                            format!(
                                "'crt-list' : error processing line 0 in file '{v}' : {}",
                                crate::util::io_error_text(&e)
                            )
                        })?;
                    }
                    ssl.crt_list.push(v.to_string());
                }
                "ca-file" => ssl.ca_file = Some(v.to_string()),
                "alpn" => ssl.alpn = Some(v.to_string()),
                "verify" => ssl.verify = Some(v.to_string()),
                _ => ssl.options.push(name.to_string()),
            }
        }
        _ => {}
    }
    if kw.args > 0 && v.is_empty() && !matches!(name, "name" | "interface" | "maxconn" | "backlog")
    {
        return Err(format!("'{name}' : missing value"));
    }
    sv.apply_status(line, kw.status, || format!("bind {name}"));
    *i += 1 + kw.args;
    Ok(())
}
