//! Servers changing state — DOWN, UP, NOLB — as HAProxy's
//! `srv_update_status` does it: the balancer's view, the effects
//! (`on-marked-down`, `on-marked-up`, queued connections moved, slow
//! start), the counters, and the messages, word for word:
//!
//! `Server B/S is DOWN, reason: …, check duration: 0ms. 1 active and 0
//! backup servers left. 0 sessions active, 0 requeued, 0 remaining in
//! queue.`

use super::server::{BE_WEIGHT_SCALE, CheckOutcome, OpState, ServerRt};
use super::state::{ProxyRt, Shared};
use crate::config::model::Level;
use crate::log::events::{Console, event_with};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime};

/// Why a server changes state, for the message's ", reason: …" part.
#[derive(Clone, Copy, Debug)]
pub enum Why<'a> {
    /// The check that decided it.
    Check(&'a CheckOutcome),
    /// A free text (", <text>").
    Text(&'a str),
    /// Nothing to say (with `option log-health-checks`, the per-check
    /// lines already said it).
    Quiet,
    /// Following the tracked server named here (" via B/S").
    Via(&'a str),
}

/// ", reason: …, code: …, info: "…", check duration: …ms" (HAProxy's
/// `srv_append_status` without the counts).
pub fn status_text(why: Why<'_>) -> String {
    match why {
        Why::Check(o) => {
            let mut s = format!(", reason: {}", o.status.description());
            if o.status.has_code() {
                s.push_str(&format!(", code: {}", o.code.unwrap_or(0)));
            }
            if !o.info.is_empty() {
                s.push_str(&format!(", info: \"{}\"", ascii_escape(&o.info)));
            }
            if o.duration_ms >= 0 {
                s.push_str(&format!(", check duration: {}ms", o.duration_ms));
            }
            s
        }
        Why::Text(t) if !t.is_empty() => format!(", {t}"),
        Why::Via(n) => format!(" via {n}"),
        _ => String::new(),
    }
}

/// HAProxy's `chunk_asciiencode` with '"' escaped: non-printable bytes
/// and quotes as \xHH.
fn ascii_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\' {
            out.push(b as char);
        } else {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// Usable active and backup servers (HAProxy's `srv_act`, `srv_bck`).
pub fn counts(be: &ProxyRt, backup: &dyn Fn(usize) -> bool) -> (usize, usize) {
    let mut act = 0;
    let mut bck = 0;
    for s in &be.servers {
        if s.usable() {
            if backup(s.idx) {
                bck += 1;
            } else {
                act += 1;
            }
        }
    }
    (act, bck)
}

pub(super) struct Ctx<'a> {
    pub shared: &'a Shared,
    pub be: usize,
    pub rt: &'a ProxyRt,
    pub srv: &'a ServerRt,
    pub name: String,
    pub backup: bool,
}

impl<'a> Ctx<'a> {
    pub fn new(shared: &'a Shared, be: usize, srv: usize) -> Ctx<'a> {
        let cfg = shared.proxy_cfg(be);
        let s = &cfg.servers[srv];
        Ctx {
            shared,
            be,
            rt: &shared.proxies[be],
            srv: &shared.proxies[be].servers[srv],
            name: format!("{}/{}", cfg.name, s.name),
            backup: s.opts.backup,
        }
    }

    pub fn counts(&self) -> (usize, usize) {
        let cfg = self.shared.proxy_cfg(self.be);
        counts(self.rt, &|i| cfg.servers[i].opts.backup)
    }

    pub fn prefix(&self) -> &'static str {
        if self.backup { "Backup " } else { "" }
    }

    /// The end of a "going down" message (HAProxy's `srv_append_more`
    /// after a DOWN): who is left, what ran on it, what was requeued.
    pub fn left(&self, xferred: impl std::fmt::Display) -> String {
        let (act, bck) = self.counts();
        format!(
            " {act} active and {bck} backup servers left.{} {} sessions active, {xferred} requeued, {} remaining in queue.",
            running_on_backup(act, bck),
            self.srv.cur.load(Ordering::Relaxed),
            self.srv.queue.len(),
        )
    }

    /// The end of an UP, drain or stopping message: who is online and
    /// what was requeued.
    pub fn online(&self, xferred: impl std::fmt::Display) -> String {
        let (act, bck) = self.counts();
        format!(
            " {act} active and {bck} backup servers online.{} {xferred} sessions requeued, {} total in queue.",
            running_on_backup(act, bck),
            self.srv.queue.len(),
        )
    }

    /// Tells the balancer the server's usability or weight changed.
    pub fn update_lb(&self) {
        let usable = self.srv.usable();
        self.rt
            .lb
            .set_usable(self.shared, self.be, self.srv.idx, usable);
        self.rt
            .lb
            .set_eweight(self.srv.idx, self.srv.eweight.load(Ordering::Relaxed));
    }

    /// "backend X has no server available!" when the last usable server
    /// just went away.
    pub fn backend_down_if_empty(&self, before: (usize, usize)) {
        let after = self.counts();
        if before.0 + before.1 > 0 && after.0 + after.1 == 0 {
            let cfg = self.shared.proxy_cfg(self.be);
            let kind = proxy_type(cfg);
            {
                let mut d = self.rt.down.lock().unwrap_or_else(|e| e.into_inner());
                d.last_change = Instant::now();
                d.down_trans += 1;
            }
            event_with(
                Some(self.be),
                Level::Emerg,
                &format!("{kind} {} has no server available!", cfg.name),
                Some((
                    Console::Alert,
                    &format!("{kind} '{}' has no server available!", cfg.name),
                )),
            );
        }
    }

    /// The backend had no usable server and gets one back.
    pub fn backend_up_if_was_empty(&self, before: (usize, usize)) {
        if before.0 + before.1 == 0 {
            let mut d = self.rt.down.lock().unwrap_or_else(|e| e.into_inner());
            d.down_time += d.last_change.elapsed().as_secs();
            d.last_change = Instant::now();
        }
    }
}

/// "proxy" for a listen section, else "frontend" or "backend".
fn proxy_type(p: &crate::config::model::Proxy) -> &'static str {
    match (p.kind.has_frontend(), p.kind.has_backend()) {
        (true, true) => "proxy",
        (true, false) => "frontend",
        _ => "backend",
    }
}

pub(super) fn mark_change(srv: &ServerRt, was_stopped: bool) {
    let mut st = srv.lock_status();
    if was_stopped {
        st.down_time += st.last_change.elapsed().as_secs();
    }
    st.last_change = Instant::now();
    st.last_change_wall = SystemTime::now();
}

/// "B/S", as messages name a server.
pub fn server_name(shared: &Shared, be: usize, srv: usize) -> String {
    let cfg = shared.proxy_cfg(be);
    format!("{}/{}", cfg.name, cfg.servers[srv].name)
}

/// Applies `f` to each server tracking `srv`, with the tracked server's
/// name for their " via B/S".
pub(super) fn for_trackers(
    shared: &Arc<Shared>,
    be: usize,
    srv: usize,
    f: impl Fn(&Arc<Shared>, usize, usize, &str),
) {
    let list = &shared.proxies[be].servers[srv].trackers;
    if list.is_empty() {
        return;
    }
    let via = server_name(shared, be, srv);
    for &(tb, ts) in list {
        f(shared, tb, ts, &via);
    }
}

/// Marks a server DOWN (HAProxy's `srv_set_stopped`), and the servers
/// tracking it after it; nothing happens to a server in maintenance or
/// already DOWN (nor, then, to its trackers).
pub fn set_stopped(shared: &Arc<Shared>, be: usize, srv: usize, why: Why<'_>) {
    if stop_one(shared, be, srv, why) {
        for_trackers(shared, be, srv, |sh, b, s, via| {
            set_stopped(sh, b, s, Why::Via(via));
        });
    }
}

fn stop_one(shared: &Arc<Shared>, be: usize, srv: usize, why: Why<'_>) -> bool {
    let s = &shared.proxies[be].servers[srv];
    if s.in_maint() || s.op() == OpState::Stopped {
        return false;
    }
    let c = Ctx::new(shared, be, srv);
    let _guard = c.rt.changes.lock().unwrap_or_else(|e| e.into_inner());
    if c.srv.in_maint() || c.srv.op() == OpState::Stopped {
        return false;
    }
    let before = c.counts();
    // A draining or NOLB server going DOWN is no news worth an alert.
    let was_stopping = c.srv.op() == OpState::Stopping || c.srv.admin() != 0;
    c.srv.set_op(OpState::Stopped);
    mark_change(c.srv, false);
    c.srv.lock_status().down_trans += 1;
    c.update_lb();
    let opts = &shared.server_cfg(be, srv).opts;
    if opts.on_marked_down_shutdown {
        c.srv.kill.send_modify(|v| *v += 1);
    }
    // Connections queued for this server go back to the balancer, when
    // `option redispatch` allows it and `option persist` does not forbid.
    let cfg = shared.proxy_cfg(be);
    let xferred = if cfg.redispatch.is_some() && !cfg.options.persist {
        c.srv.queue.redistribute()
    } else {
        0
    };
    let msg = format!(
        "{}Server {} is DOWN{}.{}",
        c.prefix(),
        c.name,
        status_text(why),
        c.left(xferred)
    );
    let level = if was_stopping {
        Level::Notice
    } else {
        Level::Alert
    };
    event_with(Some(be), level, &msg, Some((Console::Warning, &msg)));
    c.backend_down_if_empty(before);
    true
}

fn running_on_backup(act: usize, bck: usize) -> &'static str {
    if bck > 0 && act == 0 {
        " Running on backup."
    } else {
        ""
    }
}

/// Marks a server UP (HAProxy's `srv_set_running`), through a slow start
/// when it has one, and the servers tracking it after it.
pub fn set_running(shared: &Arc<Shared>, be: usize, srv: usize, why: Why<'_>) {
    if run_one(shared, be, srv, why) {
        for_trackers(shared, be, srv, |sh, b, s, via| {
            set_running(sh, b, s, Why::Via(via));
        });
    }
}

fn run_one(shared: &Arc<Shared>, be: usize, srv: usize, why: Why<'_>) -> bool {
    let s = &shared.proxies[be].servers[srv];
    if s.in_maint() || matches!(s.op(), OpState::Starting | OpState::Running) {
        return false;
    }
    let c = Ctx::new(shared, be, srv);
    let _guard = c.rt.changes.lock().unwrap_or_else(|e| e.into_inner());
    if c.srv.in_maint() || matches!(c.srv.op(), OpState::Starting | OpState::Running) {
        return false;
    }
    let before = c.counts();
    let was_stopped = c.srv.op() == OpState::Stopped;
    let opts = &shared.server_cfg(be, srv).opts;
    let slowstart = opts.slowstart.filter(|d| !d.is_zero());
    c.srv.set_op(if slowstart.is_some() {
        OpState::Starting
    } else {
        OpState::Running
    });
    mark_change(c.srv, was_stopped);
    recalc_eweight(c.srv, slowstart);
    c.update_lb();
    c.backend_up_if_was_empty(before);
    if opts.on_marked_up_shutdown_backup && !c.backup && c.srv.eweight.load(Ordering::Relaxed) > 0 {
        let cfg = shared.proxy_cfg(be);
        for s in &c.rt.servers {
            if cfg.servers[s.idx].opts.backup {
                s.kill.send_modify(|v| *v += 1);
            }
        }
    }
    // Take as many of the backend's waiting connections as it can serve.
    let xferred = grab_from_backend(c.rt, srv);
    let msg = format!(
        "{}Server {} is UP{}.{}",
        c.prefix(),
        c.name,
        status_text(why),
        c.online(xferred)
    );
    event_with(
        Some(be),
        Level::Notice,
        &msg,
        Some((Console::Warning, &msg)),
    );
    if let Some(ss) = slowstart {
        start_warmup(shared, be, srv, ss);
    }
    true
}

/// Puts a server in NOLB (HAProxy's `srv_set_stopping`): UP for the
/// connections that stick to it, out of load balancing; and the servers
/// tracking it after it.
pub fn set_stopping(shared: &Arc<Shared>, be: usize, srv: usize, why: Why<'_>) {
    if nolb_one(shared, be, srv, why) {
        for_trackers(shared, be, srv, |sh, b, s, via| {
            set_stopping(sh, b, s, Why::Via(via));
        });
    }
}

fn nolb_one(shared: &Arc<Shared>, be: usize, srv: usize, why: Why<'_>) -> bool {
    let s = &shared.proxies[be].servers[srv];
    if s.in_maint() || s.op() == OpState::Stopping {
        return false;
    }
    let c = Ctx::new(shared, be, srv);
    let _guard = c.rt.changes.lock().unwrap_or_else(|e| e.into_inner());
    if c.srv.in_maint() || c.srv.op() == OpState::Stopping {
        return false;
    }
    let before = c.counts();
    let was_stopped = c.srv.op() == OpState::Stopped;
    c.srv.set_op(OpState::Stopping);
    mark_change(c.srv, was_stopped);
    c.update_lb();
    let cfg = shared.proxy_cfg(be);
    let xferred = if cfg.redispatch.is_some() && !cfg.options.persist {
        c.srv.queue.redistribute()
    } else {
        0
    };
    let msg = format!(
        "{}Server {} is stopping{}.{}",
        c.prefix(),
        c.name,
        status_text(why),
        c.online(xferred)
    );
    event_with(
        Some(be),
        Level::Notice,
        &msg,
        Some((Console::Warning, &msg)),
    );
    c.backend_down_if_empty(before);
    true
}

/// Effective weight: the user weight in HAProxy's scale, reduced while a
/// slow start runs (HAProxy's `server_recalc_eweight`, second-grained).
pub(super) fn recalc_eweight(srv: &ServerRt, slowstart: Option<Duration>) {
    let uw = srv.uweight.load(Ordering::Relaxed);
    let w = match (srv.op(), slowstart) {
        (OpState::Starting, Some(ss)) => {
            let elapsed = srv.lock_status().last_change.elapsed().as_secs();
            let ss_s = ss.as_secs().max(1);
            if elapsed >= ss_s {
                srv.set_op(OpState::Running);
                BE_WEIGHT_SCALE
            } else {
                ((u64::from(BE_WEIGHT_SCALE) * elapsed + ss_s) / ss_s) as u32
            }
        }
        _ => BE_WEIGHT_SCALE,
    };
    srv.eweight.store(uw * w, Ordering::Relaxed);
}

/// Ramps the weight up every max(1s, slowstart/20) until the slow start
/// is over or the server leaves the starting state.
fn start_warmup(shared: &Arc<Shared>, be: usize, srv: usize, ss: Duration) {
    let Ok(handle) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let shared = Arc::clone(shared);
    let step = (ss / 20).max(Duration::from_secs(1));
    handle.spawn(async move {
        loop {
            tokio::time::sleep(step).await;
            let rt = &shared.proxies[be];
            let _guard = rt.changes.lock().unwrap_or_else(|e| e.into_inner());
            let s = &rt.servers[srv];
            if s.op() != OpState::Starting {
                return;
            }
            recalc_eweight(s, Some(ss));
            rt.lb.set_eweight(srv, s.eweight.load(Ordering::Relaxed));
        }
    });
}

/// Moves connections waiting in the backend queue to a server that just
/// came UP, as many as it has slots for (HAProxy's
/// `pendconn_grab_from_px`).
pub(super) fn grab_from_backend(rt: &ProxyRt, srv: usize) -> u32 {
    let s = &rt.servers[srv];
    if !s.usable() {
        return 0;
    }
    let mut n = 0;
    while !rt.queue.is_empty() && rt.try_take(srv) {
        if !rt.queue.hand_over(srv) {
            s.cur.fetch_sub(1, Ordering::AcqRel);
            s.total.fetch_sub(1, Ordering::Relaxed);
            break;
        }
        n += 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::server::CheckStatus;

    #[test]
    fn reason_texts() {
        let mut o = CheckOutcome::new(CheckStatus::L4Con, "Connection refused");
        assert_eq!(
            status_text(Why::Check(&o)),
            ", reason: Layer4 connection problem, info: \"Connection refused\", check duration: 0ms"
        );
        o = CheckOutcome {
            status: CheckStatus::L7Sts,
            code: Some(500),
            info: "Internal Server Error".into(),
            duration_ms: 3,
        };
        assert_eq!(
            status_text(Why::Check(&o)),
            ", reason: Layer7 wrong status, code: 500, info: \"Internal Server Error\", check duration: 3ms"
        );
        o = CheckOutcome {
            status: CheckStatus::L7Tout,
            code: None,
            info: String::new(),
            duration_ms: 702,
        };
        assert_eq!(
            status_text(Why::Check(&o)),
            ", reason: Layer7 timeout, check duration: 702ms"
        );
        assert_eq!(status_text(Why::Quiet), "");
        assert_eq!(ascii_escape("a\"b\r"), "a\\x22b\\x0d");
    }
}
