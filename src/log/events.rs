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
    for i in 0..shared.proxies.len() {
        proxy_stopped(shared, i);
    }
}

pub fn proxy_stopped(shared: &Shared, i: usize) {
    let p = &shared.proxies[i];
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

/// SIGHUP: every server's state and each proxy's summary, in HAProxy's
/// words and order.
pub fn servers_states(shared: &Shared) {
    if let Some(l) = super::loggers()
        && l.stderr_events
    {
        eprintln!(
            "[WARNING]  ({}) : SIGHUP received, dumping servers states.",
            std::process::id()
        );
    }
    for (i, rt) in shared.proxies.iter().enumerate() {
        let cfg = shared.proxy_cfg(i);
        event_with(
            Some(i),
            Level::Notice,
            &format!(
                "SIGHUP received, dumping servers states for proxy {}.",
                cfg.name
            ),
            None,
        );
        for (s, sv) in rt.servers.iter().enumerate() {
            let msg = format!(
                "SIGHUP: Server {}/{} is {}. Conn: {} act, {} pend, {} tot.",
                cfg.name,
                cfg.servers[s].name,
                if sv.op() != crate::engine::server::OpState::Stopped {
                    "UP"
                } else {
                    "DOWN"
                },
                sv.cur.load(Ordering::Relaxed),
                sv.queue.len(),
                crate::engine::counters::Counters::get(&sv.counters.cum_sess),
            );
            event_with(Some(i), Level::Notice, &msg, Some((Console::Warning, &msg)));
        }
        let pend: u32 = rt.queue.len() + rt.servers.iter().map(|s| s.queue.len()).sum::<u32>();
        let conns = format!(
            "Conn: act(FE+BE): {}+{}, {} pend ({} unass), tot(FE+BE): {}+{}.",
            rt.feconn.load(Ordering::Relaxed),
            rt.beconn.load(Ordering::Relaxed),
            pend,
            rt.queue.len(),
            crate::engine::counters::Counters::get(&rt.fe.cum_conn),
            crate::engine::counters::Counters::get(&rt.be.cum_conn),
        );
        let sums = crate::stats::backend_sums(shared, i);
        let msg = if cfg.servers.is_empty() {
            format!("SIGHUP: Proxy {} has no servers. {conns}", cfg.name)
        } else if sums.act == 0 {
            format!(
                "SIGHUP: Proxy {} {} ! {conns}",
                cfg.name,
                if sums.bck > 0 {
                    "is running on backup servers"
                } else {
                    "has no server available"
                }
            )
        } else {
            format!(
                "SIGHUP: Proxy {} has {} active servers and {} backup servers available. {conns}",
                cfg.name, sums.act, sums.bck
            )
        };
        event_with(Some(i), Level::Notice, &msg, Some((Console::Warning, &msg)));
    }
}

/// SIGTTOU / SIGTTIN: "Paused frontend X." / "Resumed frontend X.".
pub fn frontends_paused(shared: &Shared, paused: bool) {
    for i in 0..shared.config.proxies.len() {
        frontend_paused(shared, i, paused);
    }
}

/// One frontend paused or resumed (signals, `disable|enable frontend`).
pub fn frontend_paused(shared: &Shared, i: usize, paused: bool) {
    let p = shared.proxy_cfg(i);
    {
        if !p.kind.has_frontend() || p.binds.is_empty() {
            return;
        }
        let kind = if p.kind.has_backend() {
            "proxy"
        } else {
            "frontend"
        };
        let word = if paused { "Paused" } else { "Resumed" };
        event(
            Some(i),
            Level::Warning,
            &format!("{word} {kind} {}.", p.name),
        );
    }
}
