//! What operators do to servers at run time (runtime API, stats page
//! admin form): maintenance, drain, weights, limits, health checks — with
//! HAProxy's effects on the balancer and its messages.

use super::server::{BE_WEIGHT_SCALE, OpState, admin};
use super::state::Shared;
use super::transitions::{Ctx, grab_from_backend, mark_change, recalc_eweight, running_on_backup};
use crate::config::model::Level;
use crate::log::events::{Console, event_with};
use std::sync::Arc;
use std::sync::atomic::Ordering;

fn notice(shared: &Shared, be: usize, level: Level, msg: &str) {
    let _ = shared;
    event_with(Some(be), level, msg, Some((Console::Warning, msg)));
}

/// `disable server`, `set server … state maint`: out of load balancing,
/// checks paused, queued connections sent elsewhere; running sessions go
/// on.
pub fn set_maint(shared: &Arc<Shared>, be: usize, srv: usize) {
    let c = Ctx::new(shared, be, srv);
    let _guard = c.rt.changes.lock().unwrap_or_else(|e| e.into_inner());
    let adm = c.srv.admin();
    if adm & admin::FMAINT != 0 {
        return;
    }
    let before = c.counts();
    c.srv.set_admin(adm | admin::FMAINT);
    if adm & admin::MAINT != 0 {
        return;
    }
    let was_up = c.srv.op() != OpState::Stopped && adm & admin::DRAIN == 0;
    let was_stopped = c.srv.op() == OpState::Stopped;
    c.srv.set_op(OpState::Stopped);
    if !was_stopped {
        mark_change(c.srv, false);
        // HAProxy counts going to maintenance as a transition to DOWN.
        c.srv.lock_status().down_trans += 1;
    }
    c.srv.lock_status().health = 0;
    c.update_lb();
    let xferred = c.srv.queue.redistribute();
    let (act, bck) = c.counts();
    let msg = format!(
        "{}Server {} is going DOWN for maintenance. {act} active and {bck} backup servers left.{} {} sessions active, {xferred} requeued, {} remaining in queue.",
        c.prefix(),
        c.name,
        running_on_backup(act, bck),
        c.srv.cur.load(Ordering::Relaxed),
        c.srv.queue.len(),
    );
    let level = if was_up { Level::Alert } else { Level::Notice };
    notice(shared, be, level, &msg);
    c.backend_down_if_empty(before);
}

/// `enable server`, `set server … state ready|drain` from maintenance:
/// back as UP (its checks decide from there, starting at `rise`).
pub fn clear_maint(shared: &Arc<Shared>, be: usize, srv: usize) {
    let c = Ctx::new(shared, be, srv);
    let _guard = c.rt.changes.lock().unwrap_or_else(|e| e.into_inner());
    let adm = c.srv.admin();
    if adm & admin::MAINT == 0 {
        return;
    }
    let before = c.counts();
    c.srv.set_admin(adm & !admin::MAINT);
    {
        let mut st = c.srv.lock_status();
        st.health = st.rise;
    }
    c.srv.set_op(OpState::Running);
    mark_change(c.srv, true);
    recalc_eweight(c.srv, None);
    c.update_lb();
    c.backend_up_if_was_empty(before);
    grab_from_backend(c.rt, srv);
    let drain = adm & admin::DRAIN != 0;
    let msg = format!(
        "{}Server {} is UP/{} (leaving forced maintenance).",
        c.prefix(),
        c.name,
        if drain { "DRAIN" } else { "READY" }
    );
    notice(shared, be, Level::Notice, &msg);
    if drain {
        let msg = format!(
            "{}Server {} remains in forced drain mode.",
            c.prefix(),
            c.name
        );
        notice(shared, be, Level::Notice, &msg);
    }
}

/// `set server … state drain`: no new load-balanced traffic, persistent
/// clients still served.
pub fn set_drain(shared: &Arc<Shared>, be: usize, srv: usize) {
    let c = Ctx::new(shared, be, srv);
    let _guard = c.rt.changes.lock().unwrap_or_else(|e| e.into_inner());
    let adm = c.srv.admin();
    if adm & admin::FDRAIN != 0 {
        return;
    }
    let before = c.counts();
    c.srv.set_admin(adm | admin::FDRAIN);
    if adm & admin::MAINT != 0 {
        return;
    }
    c.update_lb();
    let xferred = c.srv.queue.redistribute();
    let (act, bck) = c.counts();
    let msg = format!(
        "{}Server {} enters drain state. {act} active and {bck} backup servers online.{} {xferred} sessions requeued, {} total in queue.",
        c.prefix(),
        c.name,
        running_on_backup(act, bck),
        c.srv.queue.len(),
    );
    notice(shared, be, Level::Notice, &msg);
    c.backend_down_if_empty(before);
}

pub fn clear_drain(shared: &Arc<Shared>, be: usize, srv: usize) {
    let c = Ctx::new(shared, be, srv);
    let _guard = c.rt.changes.lock().unwrap_or_else(|e| e.into_inner());
    let adm = c.srv.admin();
    if adm & admin::FDRAIN == 0 {
        return;
    }
    let before = c.counts();
    c.srv.set_admin(adm & !admin::FDRAIN);
    if adm & admin::MAINT != 0 {
        return;
    }
    c.update_lb();
    c.backend_up_if_was_empty(before);
    grab_from_backend(c.rt, srv);
    let msg = format!(
        "{}Server {} is {} (leaving forced drain).",
        c.prefix(),
        c.name,
        if c.srv.op() == OpState::Stopped {
            "DOWN"
        } else {
            "UP/READY"
        }
    );
    notice(shared, be, Level::Notice, &msg);
}

/// `set weight`, `set server … weight`: the user weight (0 ..= 256).
pub fn set_weight(shared: &Arc<Shared>, be: usize, srv: usize, weight: u32) {
    let c = Ctx::new(shared, be, srv);
    let _guard = c.rt.changes.lock().unwrap_or_else(|e| e.into_inner());
    let before = c.counts();
    c.srv.uweight.store(weight, Ordering::Relaxed);
    if c.srv.op() == OpState::Starting {
        // a slow start in progress rescales on its next step
        let e = c.srv.eweight.load(Ordering::Relaxed);
        c.srv
            .eweight
            .store(e.min(weight * BE_WEIGHT_SCALE), Ordering::Relaxed);
    } else {
        recalc_eweight(c.srv, None);
    }
    c.update_lb();
    c.backend_down_if_empty(before);
    c.backend_up_if_was_empty(before);
    grab_from_backend(c.rt, srv);
}

/// `set maxconn server`: 0 lifts the limit; waiters get the new slots.
pub fn set_maxconn(shared: &Arc<Shared>, be: usize, srv: usize, maxconn: u32) {
    let rt = &shared.proxies[be];
    rt.servers[srv].maxconn.store(maxconn, Ordering::Relaxed);
    while !(rt.servers[srv].queue.is_empty() && rt.queue.is_empty()) && rt.try_take(srv) {
        if !rt.servers[srv].queue.hand_over(srv) && !rt.queue.hand_over(srv) {
            rt.servers[srv].cur.fetch_sub(1, Ordering::AcqRel);
            rt.servers[srv].total.fetch_sub(1, Ordering::Relaxed);
            break;
        }
    }
}

/// `disable health` / `enable health`: checks stop deciding; a server
/// whose checks are disabled counts as UP unless otherwise set.
pub fn set_checks(shared: &Arc<Shared>, be: usize, srv: usize, on: bool) {
    let s = &shared.proxies[be].servers[srv];
    s.lock_status().checking = on;
}

/// `shutdown sessions server`: ends every session using the server.
pub fn shutdown_sessions(shared: &Shared, be: usize, srv: usize) {
    shared.proxies[be].servers[srv]
        .kill
        .send_modify(|v| *v += 1);
}

/// `clear counters [all]`.
pub fn clear_counters(shared: &Shared, all: bool) {
    for p in &shared.proxies {
        for c in [&p.fe, &p.be] {
            if all {
                c.clear_all();
            } else {
                c.clear_max();
            }
        }
        p.fe_max.store(0, Ordering::Relaxed);
        p.be_max.store(0, Ordering::Relaxed);
        p.queue.max.store(0, Ordering::Relaxed);
        for l in &p.listeners {
            l.max.store(0, Ordering::Relaxed);
            if all {
                l.counters.clear_all();
            } else {
                l.counters.clear_max();
            }
        }
        for s in &p.servers {
            s.max_seen.store(0, Ordering::Relaxed);
            s.queue.max.store(0, Ordering::Relaxed);
            if all {
                s.counters.clear_all();
                let mut st = s.lock_status();
                st.failed_checks = 0;
                st.down_trans = 0;
            } else {
                s.counters.clear_max();
            }
        }
    }
    shared.global.rates.conn_max.store(0, Ordering::Relaxed);
}
