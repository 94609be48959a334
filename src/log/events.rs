//! Event messages: proxies stopping, servers changing state, backends left
//! without servers — sent to the logs and, in the foreground, to stderr.

use crate::config::model::Level;
use crate::engine::state::Shared;
use std::sync::atomic::Ordering;

/// How an event is also printed on stderr (foreground, not quiet), with
/// HAProxy's tag — which need not match the syslog level: a server going
/// DOWN is an alert in the logs but a warning on the console.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Console {
    Alert,
    Warning,
    Notice,
}

/// Writes an event to a proxy's log targets (`None`: the global ones; a
/// proxy without targets logs nothing, as in HAProxy), and to stderr when
/// running in the foreground.
pub fn event(proxy: Option<usize>, level: Level, msg: &str) {
    let console = match level {
        Level::Emerg | Level::Alert | Level::Crit | Level::Err => Console::Alert,
        Level::Warning => Console::Warning,
        _ => Console::Notice,
    };
    event_with(proxy, level, msg, Some((console, msg)));
}

/// As `event`, with the console line given separately (or not printed).
pub fn event_with(proxy: Option<usize>, level: Level, msg: &str, console: Option<(Console, &str)>) {
    let Some(l) = super::loggers() else { return };
    let (sinks, tag) = match proxy {
        Some(p) => (&l.proxies[p], l.proxy_tags[p].as_deref()),
        None => (&l.global, None),
    };
    super::emit(sinks, level, msg, tag);
    if let Some((tag, text)) = console
        && l.stderr_events
    {
        let tag = match tag {
            Console::Alert => "[ALERT]    ",
            Console::Warning => "[WARNING]  ",
            Console::Notice => "[NOTICE]   ",
        };
        eprintln!("{tag}({}) : {text}", std::process::id());
    }
}

/// "Proxy X stopped (cumulated conns: FE: n, BE: m)." for each proxy, on
/// soft stop.
pub fn proxies_stopped(shared: &Shared) {
    for (i, p) in shared.proxies.iter().enumerate() {
        let cfg = shared.proxy_cfg(i);
        let fe = p.fe_total.load(Ordering::Relaxed);
        let be = p.be_total.load(Ordering::Relaxed);
        event(
            Some(i),
            Level::Warning,
            &format!(
                "Proxy {} stopped (cumulated conns: FE: {fe}, BE: {be}).",
                cfg.name
            ),
        );
    }
}
