//! Logging and error-page keywords of proxies: `log`, `log-format`,
//! `option httplog|tcplog`, `capture`, `declare capture`, `errorfile`,
//! `errorfiles`, `errorloc*`, `http-error`; plus the file checks
//! HAProxy makes while reading them.

use super::Flow;
use crate::config::address::Use;
use crate::config::line::{Line, Modifier};
use crate::config::logformat;
use crate::config::model::*;
use crate::config::parser::{ProxyCtx, Services};
use crate::diag::{Diagnostic, Style};
use std::sync::Arc;

/// Status codes HAProxy 2.6 has built-in pages for (`errorfile` accepts
/// only these).
pub const ERROR_CODES: &[u16] = &[
    200, 400, 401, 403, 404, 405, 407, 408, 410, 413, 421, 422, 425, 429, 500, 501, 502, 503, 504,
];

/// `log <addr> [len N] [format F] [sample R:S] <facility> [max [min]]`,
/// shared by `global` and proxies. `Ok(None)` never happens for a valid
/// line; it is kept for symmetry with `log global`.
pub fn parse_log_target(sv: &mut Services, line: &Line) -> Result<Option<LogTarget>, String> {
    let addr = line.arg(1);
    if addr.is_empty() || line.arg(2).is_empty() {
        return Err("log : expects <address> and <facility>  as arguments".into());
    }
    let dest = match addr {
        "stdout" => LogDest::Stdout,
        "stderr" => LogDest::Stderr,
        a if a.starts_with("ring@") => LogDest::Ring(a[5..].to_string()),
        a => LogDest::Addr(sv.address(a, Use::Log).map_err(|e| format!("log : {e}"))?),
    };
    let mut t = LogTarget {
        dest,
        len: 1024,
        format: LogWireFormat::Rfc3164,
        sample: None,
        facility: 0,
        max_level: Level::Debug,
        min_level: Level::Emerg,
        origin: line.origin.clone(),
    };
    let mut i = 2;
    loop {
        match line.arg(i) {
            "len" => {
                let v = line.arg(i + 1);
                let n: u32 = v.parse().unwrap_or(0);
                if !(80..=65535).contains(&n) {
                    return Err(format!(
                        "log : invalid log length '{v}', must be between 80 and 65535"
                    ));
                }
                t.len = n;
                i += 2;
            }
            "format" => {
                let v = line.arg(i + 1);
                t.format = LogWireFormat::from_name(v)
                    .ok_or_else(|| format!("log : unknown log format '{v}'"))?;
                i += 2;
            }
            "sample" => {
                let v = line.arg(i + 1);
                t.sample = Some(
                    parse_sample(v)
                        .ok_or_else(|| format!("log : invalid sample expression '{v}'"))?,
                );
                i += 2;
            }
            _ => break,
        }
    }
    let fac = line.arg(i);
    t.facility = FACILITIES
        .iter()
        .position(|f| *f == fac)
        .ok_or_else(|| format!("log : unknown log facility '{fac}'"))? as u8;
    if !line.arg(i + 1).is_empty() {
        let v = line.arg(i + 1);
        t.max_level =
            Level::from_name(v).ok_or_else(|| format!("log : unknown optional log level '{v}'"))?;
        if !line.arg(i + 2).is_empty() {
            let v = line.arg(i + 2);
            t.min_level = Level::from_name(v)
                .ok_or_else(|| format!("log : unknown optional minimum log level '{v}'"))?;
        }
    }
    if let Some(extra) = line.words.get(i + 3) {
        return Err(format!(
            "'log' cannot handle unexpected argument '{extra}'."
        ));
    }
    Ok(Some(t))
}

/// `1,3-5:10` → ranges within a cycle of 10.
fn parse_sample(v: &str) -> Option<LogSample> {
    let (ranges, size) = v.split_once(':')?;
    let size: u32 = size.parse().ok().filter(|s| *s > 0)?;
    let mut out = Vec::new();
    for r in ranges.split(',') {
        let (a, b) = match r.split_once('-') {
            Some((a, b)) => (a.parse().ok()?, b.parse().ok()?),
            None => {
                let n: u32 = r.parse().ok()?;
                (n, n)
            }
        };
        if a == 0 || a > b || b > size {
            return None;
        }
        out.push((a, b));
    }
    Some(LogSample { ranges: out, size })
}

pub fn log(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    if line.modifier == Modifier::No {
        ctx.px.logs.clear();
        return Flow::Continue;
    }
    if line.arg(1) == "global" && line.arg(2).is_empty() {
        // The global targets are known: the global section comes first in
        // every configuration HAProxy accepts, so expand them now.
        ctx.px.logs.extend(ctx.global.logs.iter().cloned());
        return Flow::Continue;
    }
    match parse_log_target(ctx.sv, line) {
        Ok(Some(t)) => ctx.px.logs.push(t),
        Ok(None) => {}
        Err(e) => ctx.sv.alert(line, e),
    }
    Flow::Continue
}

fn style_name(s: &LogStyle) -> &'static str {
    match s {
        LogStyle::Connect => "",
        LogStyle::Tcp => "option tcplog",
        LogStyle::Http => "option httplog",
        LogStyle::HttpClf => "option httplog clf",
        LogStyle::Https => "option httpslog",
        LogStyle::Custom(_) => "log-format",
    }
}

fn set_style(ctx: &mut ProxyCtx, line: &Line, style: LogStyle) {
    if let Some(prev) = &ctx.st.log_style_here {
        let section = ctx.px.kind.section();
        let what = if ctx.px.kind == ProxyKind::Defaults {
            format!("'{section}' section")
        } else {
            format!("{section} '{}'", ctx.px.name)
        };
        ctx.sv.diags.push(
            Diagnostic::warning(
                Some(line.origin.clone()),
                format!(
                    "'{}' overrides previous '{prev}' in {what}.",
                    style_name(&style)
                ),
            )
            .style(Style::ParsingTight),
        );
    }
    ctx.st.log_style_here = Some(style_name(&style).to_string());
    ctx.px.log_style_origin = Some(line.origin.clone());
    ctx.px.log_style = style;
}

pub fn option_log_style(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    let name = line.arg(1);
    let style = match name {
        "httplog" => match line.arg(2) {
            "" => LogStyle::Http,
            "clf" => LogStyle::HttpClf,
            _ => {
                ctx.sv
                    .alert(line, "keyword 'httplog' only supports option 'clf'.");
                return Flow::Continue;
            }
        },
        "httpslog" => LogStyle::Https,
        _ => LogStyle::Tcp,
    };
    if line.modifier == Modifier::No {
        return Flow::Continue;
    }
    let max = if name == "httplog" { 2 } else { 1 };
    if super::proxy::too_many(ctx, line, max, &format!("option {name}")) {
        return Flow::Continue;
    }
    set_style(ctx, line, style);
    Flow::Continue
}

pub fn log_format(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    let kw = line.arg(0);
    if line.arg(1).is_empty() {
        ctx.sv.alert(line, format!("{kw} expects an argument."));
        return Flow::Continue;
    }
    if line.len() > 2 {
        ctx.sv.alert(
            line,
            format!("{kw} expects only one argument, don't forget to escape spaces!"),
        );
        return Flow::Continue;
    }
    // HAProxy keeps the string and parses it in its post-parse checks.
    let parsed = match logformat::parse(line.arg(1)) {
        Ok(f) => f,
        Err(e) => {
            ctx.sv.deferred.push(Diagnostic::alert(
                None,
                format!("Parsing [{}]: failed to parse {kw} : {e}.", line.origin),
            ));
            LogFormat {
                text: line.arg(1).to_string(),
                nodes: Vec::new(),
            }
        }
    };
    for n in &parsed.nodes {
        if let LfNode::Sample { expr, .. } = n
            && let Err(e) =
                crate::config::sample::check_usage(expr, crate::config::sample::Usage::Logs)
        {
            let shown = line.arg(1).split("%[").nth(1).unwrap_or("").to_string();
            ctx.sv.deferred.push(Diagnostic::alert(
                None,
                format!(
                    "Parsing [{}]: failed to parse {kw} : sample fetch <{shown}> {e}",
                    line.origin
                ),
            ));
            break;
        }
    }
    match kw {
        "log-format" => set_style(ctx, line, LogStyle::Custom(parsed)),
        "log-format-sd" => ctx.px.log_format_sd = Some(parsed),
        _ => ctx.px.error_log_format = Some(parsed),
    }
    Flow::Continue
}

pub fn capture(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    let what = line.arg(1);
    match what {
        "cookie" => {
            let name = line.arg(2);
            if name.is_empty() || line.arg(3) != "len" || line.arg(4).is_empty() {
                ctx.sv
                    .alert(line, "'capture cookie' expects <cookie_name> 'len' <len>.");
                return Flow::Continue;
            }
            if ctx.px.captures.cookie.is_some() {
                ctx.sv.warn(
                    line,
                    "'capture cookie' : only one cookie capture is supported, the previous one is replaced.",
                );
            }
            ctx.px.captures.cookie = Some(CaptureHdr {
                name: name.to_string(),
                len: values_len(line.arg(4)),
            });
        }
        "request" | "response" => {
            if line.arg(2) != "header"
                || line.arg(3).is_empty()
                || line.arg(4) != "len"
                || line.arg(5).is_empty()
            {
                ctx.sv.alert(
                    line,
                    format!("'capture {what} header' expects <header> 'len' <len>."),
                );
                return Flow::Continue;
            }
            let c = CaptureHdr {
                name: line.arg(3).to_string(),
                len: values_len(line.arg(5)),
            };
            if what == "request" {
                ctx.px.captures.request_headers.push(c);
            } else {
                ctx.px.captures.response_headers.push(c);
            }
        }
        other => ctx.sv.alert(
            line,
            format!(
                "'capture' expects 'cookie', 'request header' or 'response header' (got '{other}')."
            ),
        ),
    }
    Flow::Continue
}

fn values_len(s: &str) -> u32 {
    crate::config::values::atol(s)
        .0
        .clamp(0, i64::from(u32::MAX)) as u32
}

pub fn declare_capture(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    if line.arg(1) != "capture" {
        ctx.sv.alert(
            line,
            format!("'declare' only supports 'capture' (got '{}').", line.arg(1)),
        );
        return Flow::Continue;
    }
    let dir = line.arg(2);
    if !matches!(dir, "request" | "response") || line.arg(3) != "len" {
        ctx.sv.alert(
            line,
            "'declare capture' expects 'request' or 'response' followed by 'len' <length>.",
        );
        return Flow::Continue;
    }
    let len = values_len(line.arg(4));
    if dir == "request" {
        ctx.px.captures.declared_request.push(len);
    } else {
        ctx.px.captures.declared_response.push(len);
    }
    Flow::Continue
}

/// Checks a raw HTTP response as HAProxy does for `errorfile`.
pub fn check_raw_response(data: &[u8]) -> Result<(), String> {
    if data.is_empty() {
        return Ok(());
    }
    let mut headers = [httparse::EMPTY_HEADER; 100];
    let mut resp = httparse::Response::new(&mut headers);
    match resp.parse(data) {
        Ok(httparse::Status::Complete(_)) => Ok(()),
        Ok(httparse::Status::Partial) | Err(_) => {
            Err("unable to parse headers (error offset: 0)".to_string())
        }
    }
}

fn read_errorfile(path: &str) -> Result<Arc<Vec<u8>>, String> {
    let data = std::fs::read(path).map_err(|_| format!("error opening file '{path}'."))?;
    // `/dev/null` means "send nothing".
    check_raw_response(&data).map_err(|e| format!("'{path}': {e}"))?;
    Ok(Arc::new(data))
}

pub fn errorfile(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    let (code, path) = (line.arg(1), line.arg(2));
    if code.is_empty() || path.is_empty() {
        ctx.sv.alert(
            line,
            "errorfile : expects <status_code> and <file> as arguments.\n",
        );
        return Flow::Continue;
    }
    let status: u16 = code.parse().unwrap_or(0);
    if !ERROR_CODES.contains(&status) {
        ctx.sv.alert(
            line,
            format!("errorfile : status code '{code}' not handled."),
        );
        return Flow::Continue;
    }
    match read_errorfile(path) {
        Ok(content) => {
            ctx.px.error_pages.retain(|p| p.status != status);
            ctx.px.error_pages.push(ErrorPageCfg {
                status,
                page: ErrorPage::File {
                    path: path.into(),
                    content,
                },
                origin: line.origin.clone(),
            });
        }
        Err(e) => ctx.sv.alert(line, format!("errorfile : {e}")),
    }
    Flow::Continue
}

pub fn errorfiles(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    let name = line.arg(1);
    if name.is_empty() {
        ctx.sv
            .alert(line, "errorfiles : expects <name> as argument.\n");
        return Flow::Continue;
    }
    let codes: Vec<u16> = line.rest(2).iter().filter_map(|c| c.parse().ok()).collect();
    let codes = if codes.is_empty() {
        ERROR_CODES.to_vec()
    } else {
        codes
    };
    for status in codes {
        ctx.px.error_pages.retain(|p| p.status != status);
        ctx.px.error_pages.push(ErrorPageCfg {
            status,
            page: ErrorPage::Section {
                name: name.to_string(),
            },
            origin: line.origin.clone(),
        });
    }
    Flow::Continue
}

pub fn errorloc(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    let kw = line.arg(0);
    let (code, url) = (line.arg(1), line.arg(2));
    if code.is_empty() || url.is_empty() {
        ctx.sv.alert(
            line,
            format!("{kw} : expects <status_code> and <url> as arguments.\n"),
        );
        return Flow::Continue;
    }
    let status: u16 = code.parse().unwrap_or(0);
    if !ERROR_CODES.contains(&status) {
        ctx.sv
            .alert(line, format!("{kw} : status code '{code}' not handled."));
        return Flow::Continue;
    }
    let redirect = if kw == "errorloc303" { 303 } else { 302 };
    ctx.px.error_pages.retain(|p| p.status != status);
    ctx.px.error_pages.push(ErrorPageCfg {
        status,
        page: ErrorPage::Location {
            code: redirect,
            url: url.to_string(),
        },
        origin: line.origin.clone(),
    });
    Flow::Continue
}

pub fn http_error(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    if line.arg(1) != "status" || line.arg(2).is_empty() {
        ctx.sv.alert(
            line,
            "http-error : expects at least a <status> as arguments.\n",
        );
        return Flow::Continue;
    }
    match parse_http_error(line) {
        Ok(page) => {
            ctx.px.error_pages.retain(|p| p.status != page.status);
            ctx.px.error_pages.push(page);
        }
        Err(e) => ctx.sv.alert(line, format!("http-error : {e}")),
    }
    Flow::Continue
}

/// `http-error status N [content-type T] [errorfile F | file F | string S …]`
pub fn parse_http_error(line: &Line) -> Result<ErrorPageCfg, String> {
    let status: u16 = line.arg(2).parse().unwrap_or(0);
    if !ERROR_CODES.contains(&status) {
        return Err(format!("status code '{}' not handled.", line.arg(2)));
    }
    let mut r = ReturnCfg {
        status,
        content_type: None,
        body: ReturnBody::None,
        headers: Vec::new(),
    };
    let mut i = 3;
    while i < line.len() {
        let (w, v) = (line.arg(i), line.arg(i + 1));
        let read = |f: &str| {
            std::fs::read(f)
                .map(Arc::new)
                .map_err(|_| format!("error opening file '{f}'."))
        };
        match w {
            "content-type" => r.content_type = Some(v.to_string()),
            "errorfile" => {
                let d = read(v)?;
                check_raw_response(&d).map_err(|e| format!("'{v}': {e}"))?;
                r.body = ReturnBody::RawFile(v.into(), d);
            }
            "file" => r.body = ReturnBody::File(v.into(), read(v)?),
            "lf-file" => {
                let d = read(v)?;
                r.body =
                    ReturnBody::LfFile(v.into(), logformat::parse(&String::from_utf8_lossy(&d))?);
            }
            "string" => r.body = ReturnBody::String(v.to_string()),
            "lf-string" => r.body = ReturnBody::LfString(logformat::parse(v)?),
            "hdr" => {
                r.headers
                    .push((v.to_string(), logformat::parse(line.arg(i + 2))?));
                i += 1;
            }
            "default-errorfiles" => {
                i += 1;
                continue;
            }
            other => return Err(format!("unknown keyword '{other}'.")),
        }
        i += 2;
    }
    Ok(ErrorPageCfg {
        status,
        page: ErrorPage::Return(r),
        origin: line.origin.clone(),
    })
}

/// What HAProxy checks when it loads a `crt` file: it exists, and holds a
/// certificate and a private key (in the same file or `<file>.key`); a
/// directory is a set of such files.
pub fn check_certificate(path: &str) -> Result<(), String> {
    let meta = std::fs::metadata(path).map_err(|e| {
        format!(
            "unable to stat SSL certificate from file '{path}' : {}.",
            crate::util::io_error_text(&e)
        )
    })?;
    if meta.is_dir() {
        let entries = std::fs::read_dir(path)
            .map_err(|e| format!("unable to scan directory '{path}' : {e}"))?;
        for e in entries.flatten() {
            let p = e.path();
            let name = p.to_string_lossy();
            if p.is_file()
                && !name.ends_with(".key")
                && !name.ends_with(".ocsp")
                && !name.ends_with(".issuer")
                && !name.ends_with(".sctl")
            {
                check_certificate(&name)?;
            }
        }
        return Ok(());
    }
    let data = std::fs::read(path).map_err(|e| {
        format!(
            "unable to load SSL certificate from file '{path}' : {}.",
            crate::util::io_error_text(&e)
        )
    })?;
    let text = String::from_utf8_lossy(&data);
    if !text.contains("-----BEGIN CERTIFICATE-----") {
        return Err(format!(
            "unable to load SSL certificate from PEM file '{path}'."
        ));
    }
    let has_key = |t: &str| t.contains("PRIVATE KEY-----");
    if !has_key(&text) {
        let key = format!("{path}.key");
        let key_text = std::fs::read(&key).map(|d| String::from_utf8_lossy(&d).into_owned());
        if !key_text.is_ok_and(|t| has_key(&t)) {
            return Err(format!(
                "unable to load SSL private key from PEM file '{path}'."
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_ranges() {
        let s = parse_sample("1,3-5:10").unwrap();
        assert_eq!(s.ranges, vec![(1, 1), (3, 5)]);
        assert_eq!(s.size, 10);
        assert!(parse_sample("0:10").is_none());
        assert!(parse_sample("5:4").is_none());
    }

    #[test]
    fn raw_responses() {
        assert!(
            check_raw_response(
                b"HTTP/1.0 503 Service Unavailable\r\nContent-Type: text/html\r\n\r\nbody"
            )
            .is_ok()
        );
        assert!(check_raw_response(b"").is_ok());
        assert!(check_raw_response(b"hello world\n").is_err());
    }
}
