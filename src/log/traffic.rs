//! The traffic log line written when a session ends (or, without a log
//! option, the "Connect from" line written at accept time).

use super::format::{self, Value, Vars};
use crate::config::logformat;
use crate::config::model::{Level, LfVar, LogFormat, LogStyle};
use crate::engine::dst::Dst;
use crate::engine::route::L4;
use crate::engine::sample::Context;
use crate::engine::session::Report;
use crate::engine::state::Shared;
use std::net::SocketAddr;
use std::sync::LazyLock;
use std::sync::atomic::Ordering;

static TCPLOG: LazyLock<LogFormat> =
    LazyLock::new(|| logformat::parse(logformat::TCPLOG).unwrap_or_default());
static HTTPLOG: LazyLock<LogFormat> =
    LazyLock::new(|| logformat::parse(logformat::HTTPLOG).unwrap_or_default());
static CLFLOG: LazyLock<LogFormat> =
    LazyLock::new(|| logformat::parse(logformat::CLFLOG).unwrap_or_default());

struct SessionVars<'a> {
    l4: L4<'a>,
    rep: &'a Report,
}

impl Context for SessionVars<'_> {
    fn client(&self) -> Option<SocketAddr> {
        self.l4.client()
    }
    fn frontend_addr(&self) -> Option<SocketAddr> {
        self.l4.frontend_addr()
    }
    fn frontend_name(&self) -> &str {
        self.l4.frontend_name()
    }
    fn backend_name(&self) -> Option<&str> {
        self.l4.backend_name()
    }
    fn nbsrv(&self, b: &str) -> Option<i64> {
        self.l4.nbsrv(b)
    }
}

impl Vars for SessionVars<'_> {
    fn var(&self, v: LfVar) -> Value {
        let sh = self.l4.shared;
        let rep = self.rep;
        let fe = sh.proxy_cfg(rep.frontend);
        let be = rep.backend.map(|b| sh.proxy_cfg(b));
        match v {
            LfVar::ClientIp => rep
                .client
                .map_or(Value::Absent, |c| Value::Str(c.ip().to_string())),
            LfVar::ClientPort => rep
                .client
                .map_or(Value::Absent, |c| Value::Int(i64::from(c.port()))),
            LfVar::FrontendIp => self
                .l4
                .local
                .get()
                .map_or(Value::Absent, |c| Value::Str(c.ip().to_string())),
            LfVar::FrontendPort => self
                .l4
                .local
                .get()
                .map_or(Value::Absent, |c| Value::Int(i64::from(c.port()))),
            LfVar::DateAccept => Value::Raw(super::syslog::local(rep.accept).haproxy()),
            LfVar::Timestamp => Value::Int(
                rep.accept
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs() as i64),
            ),
            LfVar::FrontendTransport | LfVar::Frontend => Value::Str(fe.name.clone()),
            LfVar::Backend => Value::Str(be.map_or_else(|| fe.name.clone(), |b| b.name.clone())),
            LfVar::Server => Value::Str(match (rep.backend, rep.server) {
                (Some(b), Some(s)) => sh.server_cfg(b, s).name.clone(),
                _ => match rep.http.as_ref().and_then(|h| h.applet) {
                    Some(name) => name.to_string(),
                    None => "<NOSRV>".to_string(),
                },
            }),
            LfVar::TimeWait => Value::Int(rep.tw),
            LfVar::TimeConnect => Value::Int(rep.tc),
            LfVar::TimeActive => Value::Int(rep.http.as_ref().map_or(rep.tt, |h| h.t_active)),
            LfVar::TimeTotal => Value::Int(rep.tt),
            LfVar::BytesRead => Value::Int(rep.bytes_to_client as i64),
            LfVar::BytesUploaded => Value::Int(rep.bytes_to_server as i64),
            LfVar::TermState => Value::Str(String::from_utf8_lossy(&rep.term).into_owned()),
            LfVar::TermStateCookies => {
                let ck = rep.http.as_ref().map_or(*b"--", |h| h.cookie_flags);
                let mut t = rep.term.to_vec();
                t.extend_from_slice(&ck);
                Value::Str(String::from_utf8_lossy(&t).into_owned())
            }
            LfVar::ActConn => Value::Int(i64::from(sh.global.actconn.load(Ordering::Relaxed))),
            LfVar::FeConn => Value::Int(i64::from(
                sh.proxies[rep.frontend].feconn.load(Ordering::Relaxed),
            )),
            LfVar::BeConn => Value::Int(rep.backend.map_or(0, |b| {
                i64::from(sh.proxies[b].beconn.load(Ordering::Relaxed))
            })),
            LfVar::SrvConn => Value::Int(match (rep.backend, rep.server) {
                (Some(b), Some(s)) => {
                    i64::from(sh.proxies[b].servers[s].cur.load(Ordering::Relaxed))
                }
                _ => 0,
            }),
            LfVar::Retries => {
                if rep.redispatched {
                    Value::Str(format!("+{}", rep.retries))
                } else {
                    Value::Int(i64::from(rep.retries))
                }
            }
            LfVar::SrvQueue | LfVar::BackendQueue => Value::Int(0),
            LfVar::Request
            | LfVar::Status
            | LfVar::TimeRequest
            | LfVar::TimeRequestOld
            | LfVar::TimeResponse
            | LfVar::DateRequest
            | LfVar::DateRequestGmt
            | LfVar::DateRequestLocal
            | LfVar::CaptReqCookie
            | LfVar::CaptResCookie
            | LfVar::CaptReqHdrs
            | LfVar::CaptResHdrs
            | LfVar::CaptReqHdrsList
            | LfVar::CaptResHdrsList
            | LfVar::HttpMethod
            | LfVar::HttpUri
            | LfVar::HttpPath
            | LfVar::HttpPathOnly
            | LfVar::HttpQuery
            | LfVar::HttpVersion
            | LfVar::TimeIdle => http_var(rep, v, fe),
            LfVar::Pid => Value::Int(i64::from(std::process::id())),
            LfVar::Hostname => Value::Str(crate::util::hostname()),
            _ => Value::Absent,
        }
    }
}

/// The HTTP fields of a log line.
fn http_var(rep: &Report, v: LfVar, fe: &crate::config::model::Proxy) -> Value {
    let Some(h) = rep.http.as_ref() else {
        return match v {
            LfVar::CaptReqHdrs | LfVar::CaptResHdrs => Value::Empty,
            _ => Value::Absent,
        };
    };
    let opt = |s: &Option<String>| s.clone().map_or(Value::Absent, Value::Str);
    let caps = |c: &[Option<String>], configured: usize, list: bool| -> Value {
        // nothing captured at all (no request): the field is left out
        if configured == 0 || c.is_empty() {
            return Value::Empty;
        }
        let parts: Vec<String> = (0..configured)
            .map(|i| c.get(i).cloned().flatten().unwrap_or_default())
            .collect();
        if list {
            Value::Raw(
                parts
                    .iter()
                    .map(|p| {
                        if p.is_empty() {
                            "-".into()
                        } else {
                            format!("\"{p}\"")
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(" "),
            )
        } else {
            Value::Raw(format!("{{{}}}", parts.join("|")))
        }
    };
    let date = |gmt: bool| -> Value {
        let t = h.request_date.unwrap_or(rep.accept);
        if gmt {
            Value::Raw(super::syslog::gmt(t).clf())
        } else {
            Value::Raw(super::syslog::local(t).haproxy())
        }
    };
    match v {
        LfVar::Request => Value::Str(h.request_line.clone()),
        LfVar::Status => Value::Int(i64::from(h.status)),
        LfVar::TimeRequest => Value::Int(h.t_request),
        LfVar::TimeRequestOld => Value::Int(h.t_request),
        LfVar::TimeResponse => Value::Int(h.t_response),
        LfVar::TimeIdle => Value::Int(0),
        LfVar::DateRequest | LfVar::DateRequestLocal => date(false),
        LfVar::DateRequestGmt => date(true),
        LfVar::CaptReqCookie => opt(&h.captured_cookie_req),
        LfVar::CaptResCookie => opt(&h.captured_cookie_res),
        LfVar::CaptReqHdrs => caps(&h.captured_req, fe.captures.request_headers.len(), false),
        LfVar::CaptResHdrs => caps(&h.captured_res, fe.captures.response_headers.len(), false),
        LfVar::CaptReqHdrsList => caps(&h.captured_req, fe.captures.request_headers.len(), true),
        LfVar::CaptResHdrsList => caps(&h.captured_res, fe.captures.response_headers.len(), true),
        LfVar::HttpMethod => Value::Str(h.method.clone()),
        LfVar::HttpUri => Value::Str(h.uri.clone()),
        LfVar::HttpPath | LfVar::HttpPathOnly => {
            let p = crate::engine::http::fetch::path_of(h.uri.as_bytes());
            Value::Str(String::from_utf8_lossy(p).into_owned())
        }
        LfVar::HttpQuery => match crate::engine::http::fetch::query_of(h.uri.as_bytes()) {
            Some(q) => Value::Str(format!("?{}", String::from_utf8_lossy(q))),
            None => Value::Absent,
        },
        LfVar::HttpVersion => Value::Str(h.version.clone()),
        _ => Value::Absent,
    }
}

/// Logs the end of a session on its frontend's log targets.
pub fn session_end(shared: &Shared, rep: &Report) {
    let Some(l) = super::loggers() else { return };
    let sinks = &l.proxies[rep.frontend];
    if sinks.is_empty() {
        return;
    }
    let fe = shared.proxy_cfg(rep.frontend);
    if fe.options.dontlognull && rep.bytes_to_server == 0 {
        return;
    }
    let ok = &rep.term == b"--";
    if fe.options.dontlog_normal && ok {
        return;
    }
    let lf = match (&fe.log_style, rep.http.is_some()) {
        (LogStyle::Connect, _) => return,
        (LogStyle::Custom(f), _) => f,
        (LogStyle::Http | LogStyle::Https, true) => &HTTPLOG,
        (LogStyle::HttpClf, true) => &CLFLOG,
        // HTTP formats on a TCP session fall back to tcplog, as HAProxy.
        _ => &TCPLOG,
    };
    let local = Dst::known(rep.local);
    let vars = SessionVars {
        l4: L4 {
            shared,
            frontend: rep.frontend,
            backend: rep.backend,
            client: rep.client,
            local: &local,
            payload: None,
        },
        rep,
    };
    let line = format::render(lf, &vars);
    let level = if !ok && fe.options.log_separate_errors {
        Level::Err
    } else {
        Level::Info
    };
    super::emit(sinks, level, &line, fe.log_tag.as_deref());
}

/// Without a log option, HAProxy logs each connection when accepted.
/// Whether the frontend logs anything (its sessions then fill in the
/// fields only logs need).
pub fn logs(frontend: usize) -> bool {
    super::loggers().is_some_and(|l| !l.proxies[frontend].is_empty())
}

pub fn connect_line(
    shared: &Shared,
    frontend: usize,
    client: Option<SocketAddr>,
    local: impl FnOnce() -> Option<SocketAddr>,
) {
    let Some(l) = super::loggers() else { return };
    let sinks = &l.proxies[frontend];
    let fe = shared.proxy_cfg(frontend);
    if sinks.is_empty() || fe.log_style != LogStyle::Connect || fe.options.dontlognull {
        return;
    }
    let show = |a: Option<SocketAddr>| a.map_or_else(|| "-".to_string(), |a| a.to_string());
    let mode = if fe.mode == crate::config::model::Mode::Http {
        "HTTP"
    } else {
        "TCP"
    };
    let line = format!(
        "Connect from {} to {} ({}/{mode})",
        show(client),
        show(local()),
        fe.name
    );
    super::emit(sinks, Level::Info, &line, fe.log_tag.as_deref());
}

/// Logs a connection that failed before becoming a session (a bad PROXY
/// protocol header …) in HAProxy's fixed form:
/// `CLIENT:PORT [ACCEPT DATE] FRONTEND/LISTENER: MESSAGE`.
pub fn embryonic(
    shared: &Shared,
    frontend: usize,
    listener: &str,
    client: Option<SocketAddr>,
    accept: std::time::SystemTime,
    message: &str,
    null: bool,
) {
    let Some(l) = super::loggers() else { return };
    let sinks = &l.proxies[frontend];
    if sinks.is_empty() {
        return;
    }
    let fe = shared.proxy_cfg(frontend);
    if null && fe.options.dontlognull {
        return;
    }
    let who = client.map_or_else(
        || "unknown".to_string(),
        |c| format!("{}:{}", c.ip(), c.port()),
    );
    let line = format!(
        "{who} [{}] {}/{listener}: {message}",
        super::syslog::local(accept).haproxy(),
        fe.name
    );
    let level = if fe.options.log_separate_errors {
        Level::Err
    } else {
        Level::Info
    };
    super::emit(sinks, level, &line, fe.log_tag.as_deref());
}
