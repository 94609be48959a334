//! `server … track [BACKEND/]SERVER`: a server without checks of its own
//! that takes the state of the one it tracks. HAProxy keeps, on each
//! server, the list of its trackers, and every change — DOWN, UP, NOLB
//! (`srv_set_stopped` …) and maintenance or drain (`srv_set_admin_flag`,
//! as the inherited flags IMAINT and IDRAIN) — walks down that list, so a
//! chain (s3 tracks s2 tracks s1) follows s1. A user weight is not
//! inherited.

use crate::config::model::Config;

/// The server `s` of proxy `px` tracks, from the configuration (`None`
/// when it tracks none, or names one that does not exist — which the
/// configuration check refuses).
pub fn tracked(config: &Config, px: usize, s: usize) -> Option<(usize, usize)> {
    let t = config.proxies[px].servers[s]
        .opts
        .extra()
        .track
        .as_deref()?;
    let (be, name) = match t.split_once('/') {
        Some((b, n)) => (
            config
                .proxies
                .iter()
                .position(|p| p.name == b && p.kind.has_backend())?,
            n,
        ),
        None => (px, t),
    };
    let srv = config.proxies[be]
        .servers
        .iter()
        .position(|x| x.name == name)?;
    Some((be, srv))
}

/// For every server, the servers tracking it, in HAProxy's order (the
/// last declared first: each new tracker is pushed at the head of the
/// list).
pub fn trackers(config: &Config) -> Vec<Vec<Vec<(usize, usize)>>> {
    let mut out: Vec<Vec<Vec<(usize, usize)>>> = config
        .proxies
        .iter()
        .map(|p| vec![Vec::new(); p.servers.len()])
        .collect();
    for (px, p) in config.proxies.iter().enumerate() {
        for s in 0..p.servers.len() {
            if let Some((tp, ts)) = tracked(config, px, s) {
                out[tp][ts].insert(0, (px, s));
            }
        }
    }
    out
}

/// Whether `s` starts in inherited maintenance: somewhere up its chain a
/// server is `disabled` (HAProxy's `srv_compute_all_admin_states`, done
/// before anything is logged).
pub fn starts_in_maint(config: &Config, px: usize, s: usize) -> bool {
    let mut cur = (px, s);
    // HAProxy refuses looping chains; the bound only guards against them.
    for _ in 0..64 {
        match tracked(config, cur.0, cur.1) {
            Some(next) => {
                if config.proxies[next.0].servers[next.1].opts.disabled {
                    return true;
                }
                cur = next;
            }
            None => return false,
        }
    }
    false
}
