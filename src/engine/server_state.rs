//! `load-server-state-from-file`: at start-up, servers take back the state
//! the previous process saved (`show servers state > FILE` before a
//! reload): maintenance and drain set by operators, weights, and the
//! health checks' verdict, so that a reload does not bring back a server
//! an operator took out, nor reset its checks.

use super::admin;
use super::server::{OpState, admin as adm};
use super::state::Shared;
use super::transitions::{self, Why};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One server line of a state file (version 1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub be_id: u32,
    pub be_name: String,
    pub srv_id: u32,
    pub srv_name: String,
    pub op_state: u8,
    pub admin_state: u8,
    pub uweight: u32,
    pub iweight: u32,
    pub check_health: u32,
}

/// Parses a state file: a "1" version line, comments, then one line per
/// server. Lines that do not parse are skipped, as HAProxy does.
pub fn parse(text: &str) -> Vec<Line> {
    let mut lines = text.lines();
    if lines.next().map(str::trim) != Some("1") {
        return Vec::new();
    }
    lines
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() < 13 {
                return None;
            }
            Some(Line {
                be_id: f[0].parse().ok()?,
                be_name: f[1].to_string(),
                srv_id: f[2].parse().ok()?,
                srv_name: f[3].to_string(),
                op_state: f[5].parse().ok()?,
                admin_state: f[6].parse().ok()?,
                uweight: f[7].parse().ok()?,
                iweight: f[8].parse().ok()?,
                check_health: f[12].parse().ok()?,
            })
        })
        .collect()
}

/// The file a backend reads, per `load-server-state-from-file`.
fn file_for(
    config: &crate::config::model::Config,
    p: &crate::config::model::Proxy,
) -> Option<PathBuf> {
    let g = &config.global;
    let under_base = |name: &Path| -> PathBuf {
        match (&g.server_state_base, name.is_absolute()) {
            (Some(base), false) => base.join(name),
            _ => name.to_path_buf(),
        }
    };
    match p.load_server_state_from_file.as_deref() {
        Some("global") => g.server_state_file.as_deref().map(under_base),
        Some("local") => {
            let name = p
                .server_state_file_name
                .clone()
                .unwrap_or_else(|| p.name.clone());
            Some(under_base(Path::new(&name)))
        }
        _ => None,
    }
}

/// The state files the configuration names, read at start-up before
/// any chroot (as HAProxy reads them), by path.
pub struct Files(HashMap<PathBuf, Vec<Line>>);

/// Reads every state file some backend asks for.
pub fn read(config: &crate::config::model::Config) -> Files {
    let mut files = HashMap::new();
    for p in &config.proxies {
        if let Some(path) = file_for(config, p) {
            files.entry(path.clone()).or_insert_with(|| {
                std::fs::read_to_string(&path)
                    .map(|t| parse(&t))
                    .unwrap_or_default()
            });
        }
    }
    Files(files)
}

/// Applies the saved states to every backend that asks for them.
pub fn load(shared: &Arc<Shared>, files: &Files) {
    for be in 0..shared.proxies.len() {
        let p = shared.proxy_cfg(be);
        let Some(path) = file_for(&shared.config, p) else {
            continue;
        };
        let Some(lines) = files.0.get(&path) else {
            continue;
        };
        tracing::info!(
            "rproxy: backend {} restores server states from {} ({} lines)",
            p.name,
            path.display(),
            lines.len()
        );
        for l in lines.iter().filter(|l| l.be_name == p.name) {
            let Some(srv) = p.servers.iter().position(|s| s.name == l.srv_name) else {
                continue;
            };
            apply(shared, be, srv, l);
        }
    }
}

fn apply(shared: &Arc<Shared>, be: usize, srv: usize, l: &Line) {
    let cfg = shared.server_cfg(be, srv);
    let rt = &shared.proxies[be].servers[srv];
    let why = Why::Text("changed from server-state after a reload");
    // A weight is restored only if the configured one did not change.
    if l.iweight == cfg.opts.weight && l.uweight != cfg.opts.weight {
        admin::set_weight(shared, be, srv, l.uweight.min(256));
    }
    let was_cmaint = l.admin_state & adm::CMAINT != 0;
    let is_cmaint = cfg.opts.disabled;
    if was_cmaint == is_cmaint && l.admin_state & adm::FMAINT != 0 && !is_cmaint {
        admin::state_maint(shared, be, srv);
        return;
    }
    if rt.in_maint() {
        return;
    }
    if l.admin_state & adm::FDRAIN != 0 {
        admin::state_drain(shared, be, srv);
    }
    if !cfg.opts.check.enabled {
        return;
    }
    match l.op_state {
        0 => {
            rt.lock_status().health = 0;
            transitions::set_stopped(shared, be, srv, why);
        }
        3 => transitions::set_stopping(shared, be, srv, why),
        _ => {
            let mut st = rt.lock_status();
            st.health = l.check_health.min(st.rise + st.fall - 1);
            if st.health < st.rise && rt.op() == OpState::Stopped {
                st.health = st.rise;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_show_servers_state_output() {
        let text = "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n3 be 1 s1 127.0.0.1 2 1 5 1 29 6 3 4 6 0 0 0 - 36001 - 0 0 - - 0\nbroken line\n";
        let l = parse(text);
        assert_eq!(l.len(), 1);
        assert_eq!(l[0].srv_name, "s1");
        assert_eq!((l[0].op_state, l[0].admin_state, l[0].uweight), (2, 1, 5));
        assert!(parse("2\n").is_empty());
    }
}
