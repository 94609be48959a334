//! Event messages: proxies stopping, servers changing state, backends left
//! without servers — sent to the logs and, in the foreground, to stderr.

use crate::config::model::Level;
use crate::engine::state::Shared;
use std::sync::atomic::Ordering;

/// Writes an event to the given proxy's targets (or the global ones) and
/// to stderr when running in the foreground.
pub fn event(proxy: Option<usize>, level: Level, msg: &str) {
    let Some(l) = super::loggers() else { return };
    let sinks = match proxy {
        Some(p) if !l.proxies[p].is_empty() => &l.proxies[p],
        _ => &l.global,
    };
    super::emit(sinks, level, msg, None);
    if l.stderr_events {
        let tag = match level {
            Level::Emerg | Level::Alert | Level::Crit | Level::Err => "[ALERT]    ",
            Level::Warning => "[WARNING]  ",
            _ => "[NOTICE]   ",
        };
        eprintln!("{tag}({}) : {msg}", std::process::id());
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
