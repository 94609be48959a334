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
                _ => "<NOSRV>".to_string(),
            }),
            LfVar::TimeWait => Value::Int(rep.tw),
            LfVar::TimeConnect => Value::Int(rep.tc),
            LfVar::TimeTotal | LfVar::TimeActive => Value::Int(rep.tt),
            LfVar::BytesRead => Value::Int(rep.bytes_to_client as i64),
            LfVar::BytesUploaded => Value::Int(rep.bytes_to_server as i64),
            LfVar::TermState => Value::Str(String::from_utf8_lossy(&rep.term).into_owned()),
            LfVar::TermStateCookies => {
                Value::Str(format!("{}--", String::from_utf8_lossy(&rep.term)))
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
            LfVar::Pid => Value::Int(i64::from(std::process::id())),
            LfVar::Hostname => Value::Str(crate::util::hostname()),
            _ => Value::Absent,
        }
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
    let lf = match &fe.log_style {
        LogStyle::Connect => return,
        LogStyle::Custom(f) => f,
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
