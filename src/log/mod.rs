//! HAProxy's logs: the traffic log line of each session (default connect
//! line, `option tcplog`, `option httplog`, `log-format`), and the event
//! messages (proxy stop, server state changes), framed as syslog and sent
//! to the targets of `log` lines.

pub mod events;
pub mod format;
pub mod sink;
pub mod syslog;
pub mod traffic;

use crate::config::Config;
use crate::config::model::{Level, LogTarget};
use sink::Sink;
use std::sync::OnceLock;

/// Log sinks per proxy (index = proxy index) plus the global ones, built
/// once at start-up.
pub struct Loggers {
    pub global: Vec<Sink>,
    pub proxies: Vec<Vec<Sink>>,
    /// Each proxy's `log-tag`.
    pub proxy_tags: Vec<Option<String>>,
    /// Header fields of every message.
    pub tag: String,
    pub hostname: Option<String>,
    /// Events are also printed on stderr (foreground, not quiet).
    pub stderr_events: bool,
}

static LOGGERS: OnceLock<Loggers> = OnceLock::new();

pub fn init(cfg: &Config, quiet: bool) {
    let sinks = |v: &[LogTarget]| v.iter().map(Sink::new).collect::<Vec<_>>();
    let hostname = cfg.global.log_send_hostname.as_ref().map(|h| {
        if h.is_empty() {
            crate::util::hostname()
        } else {
            h.clone()
        }
    });
    let _ = LOGGERS.set(Loggers {
        global: sinks(&cfg.global.logs),
        proxies: cfg.proxies.iter().map(|p| sinks(&p.logs)).collect(),
        proxy_tags: cfg.proxies.iter().map(|p| p.log_tag.clone()).collect(),
        tag: cfg
            .global
            .log_tag
            .clone()
            .unwrap_or_else(|| "haproxy".into()),
        hostname,
        stderr_events: !quiet,
    });
}

pub fn loggers() -> Option<&'static Loggers> {
    LOGGERS.get()
}

/// Sends `msg` at `level` to `sinks`, framed for each target.
pub fn emit(sinks: &[Sink], level: Level, msg: &str, proxy_tag: Option<&str>) {
    let Some(l) = loggers() else { return };
    for s in sinks {
        if let Some(lvl) = s.accepts(level) {
            let tag = proxy_tag.unwrap_or(&l.tag);
            let line = syslog::frame(
                s.wire_format(),
                s.target.facility,
                lvl,
                tag,
                l.hostname.as_deref(),
                msg,
                s.target.len as usize,
            );
            s.send(&line);
        }
    }
}
