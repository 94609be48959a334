//! Health checks: one task per checked server, on a thread of their own,
//! on HAProxy's schedule — the first checks spread over the smallest
//! interval, each next check one interval (`inter`, `fastinter` or
//! `downinter` by health) after the previous one ended — and their effect
//! on the server through the health counter.

pub mod health;
pub mod plan;
pub mod run;

use super::server::{CheckOutcome, CheckResult, OpState};
use super::state::Shared;
use super::transitions::{self, Why};
use crate::config::model::{Level, Proxy, Server};
use health::{Health, Intervals};
use plan::Plan;
use run::Target;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// HAProxy does not spread first checks over intervals below this.
const INTER_THRESHOLD: Duration = Duration::from_millis(1000);

/// One server's check settings, resolved.
struct Checked {
    be: usize,
    srv: usize,
    plan: Arc<Plan>,
    target: Target,
    intervals: Intervals,
    log_health_checks: bool,
    spread: u32,
}

/// The address checks go to: `addr` and `port` of the server's check
/// settings, else the server's own.
fn check_addr(s: &Server) -> Option<SocketAddr> {
    let ip = match &s.opts.check.addr {
        Some(a) => a.ip()?,
        None => s.resolved?,
    };
    if ip.is_unspecified() {
        return None;
    }
    let port = match s.opts.check.port {
        Some(p) => p,
        None => match s.addr.port() {
            crate::config::address::Port::Fixed(p) if p != 0 => p,
            _ => return None,
        },
    };
    Some(SocketAddr::new(ip, port))
}

fn checked_servers(shared: &Shared) -> Vec<Checked> {
    let cfg = &shared.config;
    let mut out = Vec::new();
    for (be, p) in cfg.proxies.iter().enumerate() {
        if !p.kind.has_backend() || p.disabled {
            continue;
        }
        let plan = Arc::new(Plan::for_proxy(p));
        for (srv, s) in p.servers.iter().enumerate() {
            if !s.opts.check.enabled {
                continue;
            }
            let Some(addr) = check_addr(s) else { continue };
            out.push(Checked {
                be,
                srv,
                plan: Arc::clone(&plan),
                target: target(p, s, addr, cfg.global.tune.bufsize as usize),
                intervals: Intervals {
                    inter: s.opts.check.inter,
                    fastinter: s.opts.check.fastinter,
                    downinter: s.opts.check.downinter,
                },
                log_health_checks: p.options.log_health_checks,
                spread: cfg.global.spread_checks,
            });
        }
    }
    out
}

fn target(p: &Proxy, s: &Server, addr: SocketAddr, bufsize: usize) -> Target {
    Target {
        addr,
        source: s.opts.source.as_deref().or(p.source.as_ref()).cloned(),
        send_proxy: s.opts.check.send_proxy.then(|| {
            s.opts
                .send_proxy
                .unwrap_or(crate::config::model::ProxyProtocol::V1)
        }),
        inter: s.opts.check.inter,
        timeout_connect: p.timeouts.connect,
        timeout_check: p.timeouts.check,
        bufsize: bufsize.max(1024),
    }
}

/// Starts the checks of every checked server on a thread of their own;
/// `None` when nothing is checked.
pub fn start(shared: Arc<Shared>) -> Option<std::thread::JoinHandle<()>> {
    let checks = checked_servers(&shared);
    if checks.is_empty() {
        return None;
    }
    for c in &checks {
        shared.proxies[c.be].servers[c.srv].lock_status().checking = true;
    }
    // First checks are spread over the smallest interval (of those of at
    // least a second), server i of n at i × min / n.
    let n = checks.len() as u32;
    let min = checks
        .iter()
        .map(|c| {
            let st = shared.proxies[c.be].servers[c.srv].lock_status();
            let h = Health {
                health: st.health,
                rise: st.rise,
                fall: st.fall,
            };
            c.intervals.next(&h, false)
        })
        .filter(|d| *d >= INTER_THRESHOLD)
        .min()
        .unwrap_or(Duration::ZERO);
    std::thread::Builder::new()
        .name("checks".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!(
                        "[ALERT]    ({}) : health checks not started: {e}",
                        std::process::id()
                    );
                    return;
                }
            };
            rt.block_on(async move {
                let mut tasks = Vec::new();
                for (i, c) in checks.into_iter().enumerate() {
                    let first = min * i as u32 / n;
                    tasks.push(tokio::spawn(check_loop(Arc::clone(&shared), c, first)));
                }
                for t in tasks {
                    let _ = t.await;
                }
            });
        })
        .ok()
}

async fn check_loop(shared: Arc<Shared>, c: Checked, first: Duration) {
    tokio::time::sleep(first).await;
    loop {
        let srv = &shared.proxies[c.be].servers[c.srv];
        // Servers in maintenance are not checked (their checks pause).
        // Nor those whose checks an operator disabled (`disable health`).
        if !srv.in_maint() && srv.lock_status().checking {
            let stopped = srv.op() == OpState::Stopped;
            let o = run::run(&c.plan, &c.target, stopped).await;
            apply(&shared, c.be, c.srv, c.log_health_checks, o);
        }
        let (h, stopped) = {
            let st = srv.lock_status();
            (
                Health {
                    health: st.health,
                    rise: st.rise,
                    fall: st.fall,
                },
                srv.op() == OpState::Stopped,
            )
        };
        let mut next = c.intervals.next(&h, stopped);
        if c.spread > 0 {
            next = spread(next, c.spread);
        }
        let until = tokio::time::Instant::now() + next;
        tokio::select! {
            _ = tokio::time::sleep_until(until) => {}
            _ = srv.check_soon.notified() => {
                // errors seen on traffic: check again within fastinter
                let soon = tokio::time::Instant::now() + c.intervals.fastinter.unwrap_or(next);
                tokio::time::sleep_until(until.min(soon)).await;
            }
        }
    }
}

/// `spread-checks P`: a random deviation of up to ±P% of the interval.
fn spread(d: Duration, pct: u32) -> Duration {
    let ms = d.as_millis() as i64;
    let rv = ms * i64::from(pct) / 100;
    let mut b = [0u8; 4];
    // SAFETY: getrandom writes at most b.len() bytes into b.
    unsafe { libc::getrandom(b.as_mut_ptr().cast(), b.len(), 0) };
    let r = f64::from(u32::from_ne_bytes(b)) / f64::from(u32::MAX);
    let dev = rv - (2.0 * rv as f64 * r) as i64;
    Duration::from_millis((ms + dev).max(0) as u64)
}

/// Records a check's result in the health counter, logs it with
/// `option log-health-checks`, and changes the server's state when the
/// counter says so.
fn apply(
    shared: &Arc<Shared>,
    be: usize,
    srv_idx: usize,
    log_health_checks: bool,
    o: CheckOutcome,
) {
    let srv = &shared.proxies[be].servers[srv_idx];
    let Some(result) = o.status.result() else {
        return;
    };
    let (h, report, changed) = {
        let mut st = srv.lock_status();
        let prev = st.last.as_ref().map(|l| l.status);
        let mut h = Health {
            health: st.health,
            rise: st.rise,
            fall: st.fall,
        };
        let report = h.record(result);
        if report && result == CheckResult::Failed {
            st.failed_checks += 1;
        }
        st.health = h.health;
        st.last = Some(o.clone());
        (h, report, prev != Some(o.status))
    };
    if log_health_checks && (changed || report) {
        log_check(shared, be, srv_idx, &o, &h, result);
    }
    let why = if log_health_checks {
        Why::Quiet
    } else {
        Why::Check(&o)
    };
    match result {
        CheckResult::Failed if h.health == 0 => {
            transitions::set_stopped(shared, be, srv_idx, why);
        }
        CheckResult::Passed if h.is_up() => {
            transitions::set_running(shared, be, srv_idx, why);
        }
        CheckResult::CondPass if h.is_up() => {
            transitions::set_stopping(shared, be, srv_idx, why);
        }
        _ => {}
    }
}

/// "Health check for [backup ]server B/S succeeded|failed, reason: …,
/// status: N/M UP|DOWN."
fn log_check(
    shared: &Shared,
    be: usize,
    srv_idx: usize,
    o: &CheckOutcome,
    h: &Health,
    result: CheckResult,
) {
    let p = shared.proxy_cfg(be);
    let s = &p.servers[srv_idx];
    let srv = &shared.proxies[be].servers[srv_idx];
    let verdict = match result {
        CheckResult::Failed => "failed",
        CheckResult::Passed => "succeeded",
        CheckResult::CondPass => "conditionally succeeded",
    };
    let (n, m) = h.progress();
    let state = if h.is_up() {
        if srv.uweight.load(std::sync::atomic::Ordering::Relaxed) > 0 {
            "UP"
        } else {
            "DRAIN"
        }
    } else {
        "DOWN"
    };
    let msg = format!(
        "Health check for {}server {}/{} {verdict}{}, status: {n}/{m} {state}.",
        if s.opts.backup { "backup " } else { "" },
        p.name,
        s.name,
        transitions::status_text(Why::Check(o)),
    );
    crate::log::events::event_with(
        Some(be),
        Level::Notice,
        &msg,
        Some((crate::log::events::Console::Warning, &msg)),
    );
}

/// What a session saw of a server, for `observe`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Observed {
    L4Ok,
    L4Err,
}

/// `observe layer4|layer7` with `on-error`: counts consecutive errors seen
/// on traffic and, at `error-limit`, acts as a failed check would
/// (HAProxy's `health_adjust`).
pub fn observe(shared: &Arc<Shared>, be: usize, srv_idx: usize, what: Observed) {
    use crate::config::model::{Observe, OnError};
    let s = &shared.config.proxies[be].servers[srv_idx];
    let Some(mode) = s.opts.observe else { return };
    // L4 successes only count for layer4 observation; errors for both.
    let failed = match (what, mode) {
        (Observed::L4Ok, Observe::Layer4) => false,
        (Observed::L4Ok, Observe::Layer7) => return,
        (Observed::L4Err, _) => true,
    };
    let srv = &shared.proxies[be].servers[srv_idx];
    let errors = {
        let mut st = srv.lock_status();
        if !failed {
            st.consecutive_errors = 0;
            return;
        }
        st.consecutive_errors += 1;
        if st.consecutive_errors < s.opts.error_limit.max(1) {
            return;
        }
        let n = st.consecutive_errors;
        st.consecutive_errors = 0;
        match s.opts.on_error {
            OnError::SuddenDeath if st.health > st.rise => st.health = st.rise + 1,
            OnError::MarkDown => st.health = st.rise,
            _ => {}
        }
        n
    };
    if s.opts.on_error != OnError::FastInter {
        let o = CheckOutcome {
            status: super::server::CheckStatus::Hana,
            code: None,
            info: format!(
                "Detected {errors} consecutive errors, last one was: L4 unsuccessful connection"
            ),
            duration_ms: -1,
        };
        let log = shared.config.proxies[be].options.log_health_checks;
        apply(shared, be, srv_idx, log, o);
    }
    srv.check_soon.notify_one();
}
