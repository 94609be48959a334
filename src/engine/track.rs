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

#[cfg(test)]
mod tests {
    use crate::engine::server::{OpState, admin as adm};
    use crate::engine::state::Shared;
    use crate::engine::transitions::{self, Why};
    use crate::engine::{admin, track};
    use std::sync::Arc;

    fn shared(servers: &str) -> Arc<Shared> {
        let text = format!(
            "defaults\n mode http\n timeout connect 1s\n timeout client 5s\n timeout server 5s\n\
             backend be\n{servers}"
        );
        let l =
            crate::config::load_sources(&[("t.cfg".into(), text.into_bytes())], Default::default());
        Arc::new(Shared::new(Arc::new(l.config), 100, 1))
    }

    fn usable(sh: &Shared) -> Vec<bool> {
        sh.proxies[0].servers.iter().map(|s| s.usable()).collect()
    }

    const CHAIN: &str = " server s1 127.0.0.1:1 check\n server s2 127.0.0.1:2 track s1\n\
                         server s3 127.0.0.1:3 track s2\n server s4 127.0.0.1:4 check\n\
                         server s5 127.0.0.1:5 track s1\n";

    #[test]
    fn trackers_in_haproxys_order() {
        let sh = shared(CHAIN);
        let t = track::trackers(&sh.config);
        assert_eq!(t[0][0], vec![(0, 4), (0, 1)], "last declared first");
        assert_eq!(t[0][1], vec![(0, 2)]);
        assert_eq!(sh.proxies[0].servers[2].tracks, Some((0, 1)));
    }

    #[test]
    fn maintenance_and_drain_go_down_the_chain() {
        let sh = shared(CHAIN);
        admin::state_maint(&sh, 0, 0);
        assert_eq!(usable(&sh), [false, false, false, true, false]);
        assert_eq!(sh.proxies[0].servers[2].admin(), adm::IMAINT);
        admin::state_ready(&sh, 0, 0);
        assert_eq!(usable(&sh), [true; 5]);
        admin::state_drain(&sh, 0, 0);
        assert_eq!(usable(&sh), [false, false, false, true, false]);
        assert_eq!(sh.proxies[0].servers[2].admin(), adm::IDRAIN);
        admin::state_ready(&sh, 0, 0);
        // A tracker in forced maintenance stays there when s1 comes back.
        admin::state_maint(&sh, 0, 1);
        admin::state_maint(&sh, 0, 0);
        admin::state_ready(&sh, 0, 0);
        assert_eq!(usable(&sh), [true, false, false, true, true]);
        assert_eq!(sh.proxies[0].servers[1].admin(), adm::FMAINT);
        admin::state_ready(&sh, 0, 1);
        assert_eq!(usable(&sh), [true; 5]);
        // A weight is not inherited.
        admin::set_weight(&sh, 0, 0, 0);
        assert_eq!(usable(&sh), [false, true, true, true, true]);
    }

    #[test]
    fn down_and_up_go_down_the_chain() {
        let sh = shared(CHAIN);
        transitions::set_stopped(&sh, 0, 0, Why::Text("test"));
        let ops: Vec<OpState> = sh.proxies[0].servers.iter().map(|s| s.op()).collect();
        assert_eq!(
            ops,
            [
                OpState::Stopped,
                OpState::Stopped,
                OpState::Stopped,
                OpState::Running,
                OpState::Stopped
            ]
        );
        transitions::set_running(&sh, 0, 0, Why::Text("test"));
        assert_eq!(usable(&sh), [true; 5]);
    }

    #[test]
    fn trackers_of_a_disabled_server_start_in_maintenance() {
        let sh = shared(
            " server s1 127.0.0.1:1 check disabled\n server s2 127.0.0.1:2 track s1\n\
             server s3 127.0.0.1:3 track s2\n server s4 127.0.0.1:4\n",
        );
        assert_eq!(usable(&sh), [false, false, false, true]);
        assert_eq!(sh.proxies[0].servers[0].admin(), adm::CMAINT | adm::FMAINT);
        assert_eq!(sh.proxies[0].servers[2].admin(), adm::IMAINT);
        admin::state_ready(&sh, 0, 0);
        assert_eq!(usable(&sh), [true; 4]);
        assert_eq!(sh.proxies[0].servers[0].admin(), adm::CMAINT);
    }
}
