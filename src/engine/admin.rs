//! What operators do to servers at run time (runtime API, stats page
//! admin form): maintenance, drain, weights, limits, health checks — with
//! HAProxy's effects on the balancer and its messages.

use super::server::{BE_WEIGHT_SCALE, OpState, admin};
use super::state::Shared;
use super::transitions::{
    Ctx, for_trackers, grab_from_backend, mark_change, recalc_eweight, server_name,
};
use crate::config::model::Level;
use crate::log::events::{Console, event_with};
use std::sync::Arc;
use std::sync::atomic::Ordering;

fn notice(shared: &Shared, be: usize, level: Level, msg: &str) {
    let _ = shared;
    event_with(Some(be), level, msg, Some((Console::Warning, msg)));
}

/// `set server … state maint`, `disable server` (HAProxy's
/// `srv_adm_set_maint`): forced maintenance, out of forced drain.
pub fn state_maint(shared: &Arc<Shared>, be: usize, srv: usize) {
    set_flag(shared, be, srv, admin::FMAINT);
    clear_flag(shared, be, srv, admin::FDRAIN);
}

/// `set server … state drain` (`srv_adm_set_drain`): forced drain, out
/// of forced maintenance.
pub fn state_drain(shared: &Arc<Shared>, be: usize, srv: usize) {
    set_flag(shared, be, srv, admin::FDRAIN);
    clear_flag(shared, be, srv, admin::FMAINT);
}

/// `set server … state ready`, `enable server` (`srv_adm_set_ready`).
pub fn state_ready(shared: &Arc<Shared>, be: usize, srv: usize) {
    clear_flag(shared, be, srv, admin::FDRAIN);
    clear_flag(shared, be, srv, admin::FMAINT);
}

/// Sets one administrative flag (HAProxy's `srv_set_admin_flag`) and
/// passes its inherited form (IMAINT, IDRAIN) down to the servers
/// tracking this one — unless the server already had the same state
/// from another flag, in which case its trackers have it too.
pub fn set_flag(shared: &Arc<Shared>, be: usize, srv: usize, mode: u8) {
    let old = {
        let c = Ctx::new(shared, be, srv);
        let _guard = c.rt.changes.lock().unwrap_or_else(|e| e.into_inner());
        let old = c.srv.admin();
        if old & mode != 0 {
            return;
        }
        apply(&c, old, old | mode);
        old
    };
    if (mode & admin::MAINT != 0 && old & admin::MAINT != 0)
        || (mode & admin::DRAIN != 0 && old & admin::DRAIN != 0)
    {
        return;
    }
    let inherited = if mode & admin::MAINT != 0 {
        admin::IMAINT
    } else {
        admin::IDRAIN
    };
    for_trackers(shared, be, srv, |sh, b, s, _| set_flag(sh, b, s, inherited));
}

/// Clears one administrative flag (`srv_clr_admin_flag`), and its
/// inherited form on the trackers once no flag of that kind is left.
pub fn clear_flag(shared: &Arc<Shared>, be: usize, srv: usize, mode: u8) {
    let new = {
        let c = Ctx::new(shared, be, srv);
        let _guard = c.rt.changes.lock().unwrap_or_else(|e| e.into_inner());
        let old = c.srv.admin();
        if old & mode == 0 {
            return;
        }
        apply(&c, old, old & !mode);
        old & !mode
    };
    if (mode & admin::MAINT != 0 && new & admin::MAINT != 0)
        || (mode & admin::DRAIN != 0 && new & admin::DRAIN != 0)
    {
        return;
    }
    let inherited = if mode & admin::MAINT != 0 {
        admin::IMAINT
    } else {
        admin::IDRAIN
    };
    for_trackers(shared, be, srv, |sh, b, s, _| {
        clear_flag(sh, b, s, inherited)
    });
}

/// The effects and messages of the administrative flags going from `old`
/// to `new` (the admin half of HAProxy's `srv_update_status`), under the
/// backend's change lock.
fn apply(c: &Ctx<'_>, old: u8, new: u8) {
    let shared = c.shared;
    let before = c.counts();
    // " via B/S" for an inherited state (HAProxy's `srv_append_status`
    // adds it when the flag is not a forced one).
    let via = c
        .srv
        .tracks
        .map(|(b, s)| format!(" via {}", server_name(shared, b, s)))
        .unwrap_or_default();
    let via_unless = |forced: bool| if forced { "" } else { via.as_str() };
    let was_stopping = c.srv.op() == OpState::Stopping || old & admin::DRAIN != 0;
    c.srv.set_admin(new);
    let opts = &shared.server_cfg(c.be, c.srv.idx).opts;
    if old & admin::MAINT == 0 && new & admin::MAINT != 0 {
        // Maintenance pauses the checks, at health 0.
        c.srv.lock_status().health = 0;
        let forced = new & admin::FMAINT != 0;
        if c.srv.op() == OpState::Stopped {
            let msg = format!(
                "{}Server {} was DOWN and now enters maintenance{}.",
                c.prefix(),
                c.name,
                via_unless(forced)
            );
            notice(shared, c.be, Level::Notice, &msg);
        } else {
            c.srv.set_op(OpState::Stopped);
            mark_change(c.srv, false);
            c.srv.lock_status().down_trans += 1;
            c.update_lb();
            if opts.on_marked_down_shutdown {
                c.srv.kill.send_modify(|v| *v += 1);
            }
            let xferred = c.srv.queue.redistribute();
            let msg = format!(
                "{}Server {} is going DOWN for maintenance{}.{}",
                c.prefix(),
                c.name,
                via_unless(forced),
                c.left(xferred)
            );
            let level = if was_stopping {
                Level::Notice
            } else {
                Level::Alert
            };
            notice(shared, c.be, level, &msg);
            c.backend_down_if_empty(before);
        }
    } else if old & admin::MAINT != 0 && new & admin::MAINT == 0 {
        // Checks resume at `rise`: UP, checked again soon. A tracker
        // comes back in its tracked server's state.
        {
            let mut st = c.srv.lock_status();
            st.health = st.rise;
        }
        let tracked = c.srv.tracks.map(|(b, s)| shared.proxies[b].servers[s].op());
        match tracked {
            Some(OpState::Stopped) => {}
            Some(OpState::Stopping) => c.srv.set_op(OpState::Stopping),
            _ => {
                c.srv.set_op(OpState::Running);
                mark_change(c.srv, true);
            }
        }
        let state = format!(
            "{}/{}",
            if c.srv.op() == OpState::Stopped {
                "DOWN"
            } else {
                "UP"
            },
            if new & admin::DRAIN != 0 {
                "DRAIN"
            } else {
                "READY"
            }
        );
        let how = if old & admin::FMAINT != 0 && new & admin::FMAINT == 0 {
            "leaving forced maintenance"
        } else {
            "leaving maintenance"
        };
        let msg = format!("{}Server {} is {state} ({how}).", c.prefix(), c.name);
        notice(shared, c.be, Level::Notice, &msg);
        recalc_eweight(c.srv, None);
        c.update_lb();
        c.backend_down_if_empty(before);
        c.backend_up_if_was_empty(before);
        if opts.on_marked_up_shutdown_backup && !c.backup && c.srv.usable() {
            let cfg = shared.proxy_cfg(c.be);
            for s in &c.rt.servers {
                if cfg.servers[s.idx].opts.backup {
                    s.kill.send_modify(|v| *v += 1);
                }
            }
        }
        grab_from_backend(c.rt, c.srv.idx);
    } else if new & admin::MAINT != 0 {
        // Still in maintenance through another flag.
        let msg = if old & admin::FMAINT != 0 && new & admin::FMAINT == 0 {
            Some(format!(
                "{}Server {} is leaving forced maintenance but remains in maintenance{via}.",
                c.prefix(),
                c.name
            ))
        } else if old & admin::IMAINT != 0 && new & admin::IMAINT == 0 {
            Some(format!(
                "{}Server {} remains in forced maintenance.",
                c.prefix(),
                c.name
            ))
        } else {
            None
        };
        if let Some(msg) = msg {
            notice(shared, c.be, Level::Notice, &msg);
        }
    }
    if new & admin::MAINT != 0 {
        return;
    }
    if old & admin::DRAIN == 0 && new & admin::DRAIN != 0 {
        mark_change(c.srv, false);
        c.update_lb();
        let xferred = c.srv.queue.redistribute();
        let msg = format!(
            "{}Server {} enters drain state{}.{}",
            c.prefix(),
            c.name,
            via_unless(new & admin::FDRAIN != 0),
            c.online(xferred)
        );
        notice(shared, c.be, Level::Notice, &msg);
        c.backend_down_if_empty(before);
    } else if old & admin::DRAIN != 0 && new & admin::DRAIN == 0 {
        mark_change(c.srv, true);
        recalc_eweight(c.srv, None);
        let msg = format!(
            "{}Server {} is {} (leaving forced drain).",
            c.prefix(),
            c.name,
            if c.srv.op() == OpState::Stopped {
                "DOWN"
            } else {
                "UP"
            }
        );
        notice(shared, c.be, Level::Notice, &msg);
        c.update_lb();
        c.backend_up_if_was_empty(before);
        grab_from_backend(c.rt, c.srv.idx);
    } else if new & admin::DRAIN != 0 {
        let msg = if new & admin::FDRAIN == 0 {
            format!(
                "{}Server {} is leaving forced drain but remains in drain mode{via}.",
                c.prefix(),
                c.name
            )
        } else {
            format!(
                "{}Server {} remains in forced drain mode.",
                c.prefix(),
                c.name
            )
        };
        notice(shared, c.be, Level::Notice, &msg);
    }
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
