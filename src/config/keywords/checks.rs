//! Health-check keywords of proxies: `option httpchk`, `http-check …`,
//! `option tcp-check`, `tcp-check …` and the protocol checks
//! (`ssl-hello-chk`, `smtpchk`, `mysql-check`, `pgsql-check`, …).

use super::Flow;
use crate::config::acl;
use crate::config::line::{Line, Modifier};
use crate::config::model::*;
use crate::config::parser::ProxyCtx;

/// `option httpchk [<method> <uri> [<version>]]` or `option httpchk <uri>`.
pub fn option_httpchk(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    if line.modifier == Modifier::No {
        return Flow::Continue;
    }
    if super::proxy::too_many(ctx, line, 4, "option httpchk") {
        return Flow::Continue;
    }
    let hc = &mut ctx.px.http_check;
    match (line.arg(2), line.arg(3), line.arg(4)) {
        ("", _, _) => {}
        (uri, "", _) => hc.uri = uri.to_string(),
        (meth, uri, ver) => {
            hc.method = meth.to_string();
            hc.uri = uri.to_string();
            if !ver.is_empty() {
                // 1.x configs smuggle headers into the version:
                // "HTTP/1.1\r\nHost:\ www" — HAProxy 2.6 still honours it.
                let mut parts = ver.split("\r\n");
                hc.version = parts.next().unwrap_or(ver).to_string();
                let extra: Vec<&str> = parts.filter(|p| !p.is_empty()).collect();
                if !extra.is_empty() {
                    ctx.sv.warn(
                        line,
                        "'option httpchk' : hiding headers or body at the end of the version string is deprecated. Please, consider to use 'http-check send' directive instead.",
                    );
                }
                for h in extra {
                    if let Some((n, v)) = h.split_once(':') {
                        hc.headers
                            .push((n.trim().to_string(), v.trim().to_string()));
                    }
                }
            }
        }
    }
    ctx.px.check = CheckKind::Http;
    Flow::Continue
}

/// `option ssl-hello-chk|redis-check|ldap-check|spop-check|tcp-check|external-check`
pub fn option_simple_check(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    let name = line.arg(1);
    if line.modifier == Modifier::No {
        return Flow::Continue;
    }
    if super::proxy::too_many(ctx, line, 1, &format!("option {name}")) {
        return Flow::Continue;
    }
    ctx.px.check = match name {
        "ssl-hello-chk" => CheckKind::SslHello,
        "redis-check" => CheckKind::Redis,
        "ldap-check" => CheckKind::Ldap,
        "spop-check" => CheckKind::Spop,
        "tcp-check" => CheckKind::TcpCheck,
        _ => CheckKind::External,
    };
    Flow::Continue
}

pub fn option_smtpchk(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    let (helo, domain) = match (line.arg(2), line.arg(3)) {
        (h @ ("HELO" | "EHLO"), d) if !d.is_empty() => (h.to_string(), d.to_string()),
        _ => ("HELO".to_string(), "localhost".to_string()),
    };
    ctx.px.check = CheckKind::Smtp { helo, domain };
    Flow::Continue
}

pub fn option_mysql_check(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    let mut user = None;
    let mut post41 = false;
    match line.arg(2) {
        "" => {}
        "user" => {
            if line.arg(3).is_empty() {
                ctx.sv.alert(
                    line,
                    "'option mysql-check' : missing username after 'user'.",
                );
                return Flow::Continue;
            }
            user = Some(line.arg(3).to_string());
            // HAProxy 2.6 sends the 4.1 protocol unless told "pre-41".
            post41 = true;
            match line.arg(4) {
                "" | "post-41" => {}
                "pre-41" => post41 = false,
                other => {
                    ctx.sv.alert(
                        line,
                        format!("'option mysql-check' only supports optional values: 'pre-41' and 'post-41' (got '{other}')."),
                    );
                    return Flow::Continue;
                }
            }
        }
        other => {
            ctx.sv.alert(
                line,
                format!(
                    "'option mysql-check' only supports optional values: 'user' (got '{other}')."
                ),
            );
            return Flow::Continue;
        }
    }
    ctx.px.check = CheckKind::Mysql { user, post41 };
    Flow::Continue
}

pub fn option_pgsql_check(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    if line.arg(2) != "user" || line.arg(3).is_empty() {
        ctx.sv.alert(
            line,
            "'option pgsql-check' expects 'user <username>' as argument.",
        );
        return Flow::Continue;
    }
    ctx.px.check = CheckKind::Pgsql {
        user: line.arg(3).to_string(),
    };
    Flow::Continue
}

fn unescape(s: &str) -> String {
    s.replace("\\r", "\r")
        .replace("\\n", "\n")
        .replace("\\t", "\t")
}

fn parse_expect(
    words: &[String],
    allowed: &[&str],
    prefix: &str,
    origin: &crate::diag::Origin,
    ignored: &mut Vec<String>,
) -> Result<HttpCheckExpect, String> {
    let mut i = 0;
    let mut negate = false;
    // `min-recv N` and `comment TEXT` may come first.
    while i < words.len() {
        match words[i].as_str() {
            "comment" => i += 2,
            opt @ ("min-recv" | "ok-status" | "error-status" | "tout-status" | "on-success"
            | "on-error" | "status-code") => {
                ignored.push(opt.to_string());
                i += 2
            }
            "!" => {
                negate = true;
                i += 1;
            }
            _ => break,
        }
    }
    let kind = words.get(i).map(String::as_str).unwrap_or("");
    let pat = words.get(i + 1).map(String::as_str).unwrap_or("");
    if !allowed.contains(&kind) {
        return Err(format!("{prefix} but got '{kind}' as argument."));
    }
    if pat.is_empty() && kind != "hdr" {
        return Err(format!("'{kind}' expects a <pattern> as argument."));
    }
    let matcher = match kind {
        "status" => {
            let mut ranges = Vec::new();
            for part in pat.split(',') {
                let (a, b) = part.split_once('-').unwrap_or((part, part));
                match (a.parse::<u16>(), b.parse::<u16>()) {
                    (Ok(a), Ok(b)) if a <= b => ranges.push((a, b)),
                    _ => return Err(format!("invalid status code range '{part}'.")),
                }
            }
            ExpectMatch::Status(ranges)
        }
        "rstatus" | "rstring" | "rbinary" => {
            acl::compile_regex(pat, false)
                .map_err(|e| format!("regex '{pat}' is invalid (error={e})."))?;
            match kind {
                "rstatus" => ExpectMatch::RStatus(pat.to_string()),
                "rstring" => ExpectMatch::RString(pat.to_string()),
                _ => ExpectMatch::RBinary(pat.to_string()),
            }
        }
        "string" | "string-lf" => ExpectMatch::String(unescape(pat)),
        "binary" | "binary-lf" => ExpectMatch::Binary(hex_decode(pat).map_err(|c| {
            format!("'{pat}' invalid binary string (an hex digit is expected (found '{c}')).\n")
        })?),
        "hdr" | "fhdr" => {
            let name = words
                .iter()
                .skip(i + 1)
                .position(|w| w == "name")
                .and_then(|p| words.get(i + 2 + p))
                .cloned()
                .ok_or_else(|| "'hdr' expects 'name' <name> as argument.".to_string())?;
            let value = words
                .iter()
                .skip(i + 1)
                .position(|w| w == "value")
                .and_then(|p| words.get(i + 2 + p))
                .cloned();
            ExpectMatch::Hdr { name, value }
        }
        _ => ExpectMatch::String(pat.to_string()),
    };
    Ok(HttpCheckExpect {
        negate,
        matcher,
        origin: origin.clone(),
    })
}

fn hex_decode(s: &str) -> Result<Vec<u8>, char> {
    if let Some(c) = s.chars().find(|c| !c.is_ascii_hexdigit()) {
        return Err(c);
    }
    if !s.len().is_multiple_of(2) {
        return Err(' ');
    }
    Ok((0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap_or(0))
        .collect())
}

/// Warns about check options parsed but not acted upon.
fn not_enforced(ctx: &mut ProxyCtx, line: &Line, kw: &str, opts: &[String]) {
    for o in opts {
        ctx.sv.not_enforced(
            line,
            &format!("{kw} {o}"),
            crate::config::keywords::Status::ParsedOnly,
        );
    }
}

pub fn http_check(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    let sub = line.arg(1);
    match sub {
        "disable-on-404" => ctx.px.http_check.disable_on_404 = true,
        "send-state" => {
            ctx.px.http_check.send_state = true;
            not_enforced(ctx, line, "http-check", &["send-state".to_string()]);
        }
        "comment" => {}
        "connect" => {
            let mut i = 2;
            let mut ignored = Vec::new();
            while i < line.len() {
                match line.arg(i) {
                    "port" => {
                        ctx.px.http_check.connect_port = line.arg(i + 1).parse().ok();
                        i += 1;
                    }
                    "default" | "linger" => {}
                    "comment" => i += 1,
                    o @ ("addr" | "sni" | "alpn" | "proto") => {
                        ignored.push(o.to_string());
                        i += 1;
                    }
                    o => ignored.push(o.to_string()),
                }
                i += 1;
            }
            not_enforced(ctx, line, "http-check connect", &ignored);
        }
        "send" => {
            let hc = &mut ctx.px.http_check;
            let mut i = 2;
            while i < line.len() {
                let v = line.arg(i + 1).to_string();
                match line.arg(i) {
                    "meth" => hc.method = v,
                    "uri" | "uri-lf" => hc.uri = v,
                    "ver" => hc.version = v,
                    "hdr" => {
                        hc.headers.push((v, line.arg(i + 2).to_string()));
                        i += 1;
                    }
                    "body" | "body-lf" => hc.body = Some(v),
                    "comment" => {}
                    other => {
                        ctx.sv.alert(
                            line,
                            format!("'http-check send' : expects 'comment', 'meth', 'uri', 'uri-lf', 'ver', 'hdr', 'body' or 'body-lf' but got '{other}' as argument.."),
                        );
                        return Flow::Continue;
                    }
                }
                i += 2;
            }
        }
        "expect" => {
            let prefix = "'only supports min-recv, [!]string', '[!]rstring', '[!]string-lf', '[!]status', '[!]rstatus', [!]hdr, [!]fhdr or comment";
            let mut ignored = Vec::new();
            match parse_expect(
                line.rest(2),
                &["string", "rstring", "string-lf", "status", "rstatus", "hdr", "fhdr"],
                prefix,
                &line.origin,
                &mut ignored,
            ) {
                Ok(e) => ctx.px.http_check.expects.push(e),
                Err(e) => ctx
                    .sv
                    .alert(line, format!("'http-check expect' : {e}.")),
            }
            not_enforced(ctx, line, "http-check expect", &ignored);
        }
        s if s.starts_with("set-var") || s.starts_with("unset-var") => {
            not_enforced(ctx, line, "http-check", &[s.to_string()]);
        }
        other => ctx.sv.alert(
            line,
            format!("'http-check' only supports 'disable-on-404', 'send-state', 'comment', 'connect', 'send', 'expect', 'set-var-fmt(*)', 'set-var(*)', 'unset-var(*)'. but got '{other}'"),
        ),
    }
    Flow::Continue
}

pub fn tcp_check(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    let sub = line.arg(1);
    let rule = match sub {
        "comment" => TcpCheckRule::Comment(line.rest(2).join(" ")),
        "connect" => {
            let mut port = None;
            let mut addr = None;
            let mut send_proxy = false;
            let mut ssl = false;
            let mut i = 2;
            while i < line.len() {
                match line.arg(i) {
                    "port" => {
                        port = line.arg(i + 1).parse().ok();
                        i += 1;
                    }
                    "addr" => {
                        match ctx
                            .sv
                            .address(line.arg(i + 1), crate::config::address::Use::Plain)
                        {
                            Ok(a) => addr = Some(a),
                            Err(e) => {
                                ctx.sv.alert(line, format!("'tcp-check connect' : {e}"));
                                return Flow::Continue;
                            }
                        }
                        i += 1;
                    }
                    "send-proxy" => send_proxy = true,
                    "ssl" => {
                        ssl = true;
                        not_enforced(ctx, line, "tcp-check connect", &["ssl".to_string()]);
                    }
                    "default" | "linger" => {}
                    "via-socks4" => {
                        not_enforced(ctx, line, "tcp-check connect", &["via-socks4".to_string()])
                    }
                    "comment" => i += 1,
                    o @ ("sni" | "alpn" | "proto") => {
                        not_enforced(ctx, line, "tcp-check connect", &[o.to_string()]);
                        i += 1;
                    }
                    other => {
                        ctx.sv.alert(
                            line,
                            format!("'tcp-check connect' : expects 'comment', 'port', 'addr', 'send-proxy', 'via-socks4', 'ssl', 'sni', 'alpn', 'proto', 'linger' or 'default' but got '{other}' as argument."),
                        );
                        return Flow::Continue;
                    }
                }
                i += 1;
            }
            TcpCheckRule::Connect {
                port,
                addr,
                send_proxy,
                ssl,
            }
        }
        "send" | "send-lf" => {
            if line.arg(2).is_empty() {
                ctx.sv.alert(
                    line,
                    format!("'tcp-check {sub}' expects a <data> as argument."),
                );
                return Flow::Continue;
            }
            TcpCheckRule::Send(unescape(line.arg(2)).into_bytes())
        }
        "send-binary" | "send-binary-lf" => match hex_decode(line.arg(2)) {
            Ok(b) => TcpCheckRule::Send(b),
            Err(c) => {
                ctx.sv.alert(
                    line,
                    format!(
                        "'tcp-check {sub}' : '{}' invalid binary string (an hex digit is expected (found '{c}')).\n",
                        line.arg(2)
                    ),
                );
                return Flow::Continue;
            }
        },
        "expect" => {
            let prefix = "'only supports min-recv, '[!]binary', '[!]string', '[!]rstring', '[!]string-lf''[!]rbinary', '[!]binary-lf' or comment";
            let mut ignored = Vec::new();
            let parsed = parse_expect(
                line.rest(2),
                &[
                    "binary",
                    "string",
                    "rstring",
                    "string-lf",
                    "rbinary",
                    "binary-lf",
                ],
                prefix,
                &line.origin,
                &mut ignored,
            );
            not_enforced(ctx, line, "tcp-check expect", &ignored);
            match parsed {
                Ok(e) => TcpCheckRule::Expect {
                    negate: e.negate,
                    matcher: e.matcher,
                },
                Err(e) => {
                    ctx.sv.alert(line, format!("'tcp-check expect' : {e}."));
                    return Flow::Continue;
                }
            }
        }
        s if s.starts_with("set-var") || s.starts_with("unset-var") => {
            not_enforced(ctx, line, "tcp-check", &[s.to_string()]);
            return Flow::Continue;
        }
        other => {
            ctx.sv.alert(
                line,
                format!("'tcp-check' only supports 'comment', 'connect', 'send', 'send-binary', 'expect', 'set-var-fmt(*)', 'set-var(*)', 'unset-var(*)'. but got '{other}'"),
            );
            return Flow::Continue;
        }
    };
    ctx.px.tcp_check_rules.push(rule);
    Flow::Continue
}
