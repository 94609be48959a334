//! The runtime API's commands: each with the level it needs, its help
//! line, and HAProxy 2.6's replies word for word.

use super::Session;
use crate::config::model::CliLevel;
use crate::engine::admin;
use crate::engine::server::{CheckResult, CheckStatus};
use crate::engine::state::Shared;
use crate::stats;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// A command: its words, the usage and help `help` prints, the level it
/// needs.
struct Cmd {
    words: &'static [&'static str],
    usage: &'static str,
    help: &'static str,
    level: CliLevel,
}

const fn cmd(
    words: &'static [&'static str],
    usage: &'static str,
    help: &'static str,
    level: CliLevel,
) -> Cmd {
    Cmd {
        words,
        usage,
        help,
        level,
    }
}

use CliLevel::{Admin, Operator, User};

/// In `help`'s order (HAProxy sorts by keywords).
const COMMANDS: &[Cmd] = &[
    cmd(
        &["clear", "counters"],
        "clear counters [all]",
        "clear max statistics counters (or all counters)",
        Operator,
    ),
    cmd(
        &["disable", "health"],
        "disable health <bk>/<srv>",
        "disable health checks",
        Admin,
    ),
    cmd(
        &["disable", "server"],
        "disable server (DEPRECATED)",
        "disable a server for maintenance (use 'set server' instead)",
        Admin,
    ),
    cmd(
        &["disable", "frontend"],
        "disable frontend <frontend>",
        "temporarily disable specific frontend",
        Admin,
    ),
    cmd(
        &["enable", "frontend"],
        "enable frontend <frontend>",
        "re-enable specific frontend",
        Admin,
    ),
    cmd(
        &["enable", "health"],
        "enable health <bk>/<srv>",
        "enable health checks",
        Admin,
    ),
    cmd(
        &["enable", "server"],
        "enable server  (DEPRECATED)",
        "enable a disabled server (use 'set server' instead)",
        Admin,
    ),
    cmd(
        &["get", "weight"],
        "get weight <bk>/<srv>",
        "report a server's current weight",
        User,
    ),
    cmd(
        &["set", "maxconn", "frontend"],
        "set maxconn frontend <frontend> <value>",
        "change a frontend's maxconn setting",
        Admin,
    ),
    cmd(
        &["set", "maxconn", "global"],
        "set maxconn global <value>",
        "change the per-process maxconn setting",
        Admin,
    ),
    cmd(
        &["set", "maxconn", "server"],
        "set maxconn server <bk>/<srv>",
        "change a server's maxconn setting",
        Admin,
    ),
    cmd(
        &["set", "server"],
        "set server <bk>/<srv> [opts]",
        "change a server's state, weight, address or ssl",
        Admin,
    ),
    cmd(
        &["set", "timeout", "cli"],
        "set timeout [cli] <delay>",
        "change a timeout setting",
        User,
    ),
    cmd(
        &["set", "weight"],
        "set weight <bk>/<srv>  (DEPRECATED)",
        "change a server's weight (use 'set server' instead)",
        Admin,
    ),
    cmd(
        &["show", "backend"],
        "show backend",
        "list backends in the current running config",
        User,
    ),
    cmd(
        &["show", "cli", "level"],
        "show cli level",
        "display the level of the current CLI session",
        User,
    ),
    cmd(
        &["show", "errors"],
        "show errors [<px>] [request|response]",
        "report last request and/or response errors for each proxy",
        Operator,
    ),
    cmd(
        &["show", "info"],
        "show info [desc|json|typed|float]*",
        "report information about the running process",
        User,
    ),
    cmd(
        &["show", "schema", "json"],
        "show schema json",
        "report schema used for stats",
        User,
    ),
    cmd(
        &["show", "servers", "state"],
        "show servers state [<backend>]",
        "dump volatile server information (all or for a single backend)",
        User,
    ),
    cmd(
        &["show", "sess"],
        "show sess [id]",
        "report the list of current sessions or dump this exact session",
        Operator,
    ),
    cmd(
        &["show", "stat"],
        "show stat [desc|json|no-maint|typed|up]*",
        "report counters for each proxy and server",
        User,
    ),
    cmd(
        &["show", "version"],
        "show version",
        "show version of the current process",
        User,
    ),
    cmd(
        &["shutdown", "frontend"],
        "shutdown frontend <frontend>",
        "stop a specific frontend",
        Admin,
    ),
    cmd(
        &["shutdown", "sessions", "server"],
        "shutdown sessions server <bk>/<srv>",
        "kill sessions on a server",
        Admin,
    ),
    cmd(
        &["operator"],
        "operator",
        "lower the level of the current CLI session to operator",
        Operator,
    ),
    cmd(
        &["user"],
        "user",
        "lower the level of the current CLI session to user",
        User,
    ),
];

/// One line of `help`, as HAProxy aligns it (the master CLI's too).
pub(crate) fn help_line(usage: &str, help: &str) -> String {
    format!("  {usage:<40}: {help}\n")
}

/// The lines every `help` ends with.
pub(crate) fn tail_lines() -> String {
    let mut s = help_line("help [<command>]", "list matching or all commands");
    s.push_str(&help_line("prompt", "toggle interactive mode with prompt"));
    s.push_str(&help_line("quit", "disconnect"));
    s
}

/// What HAProxy answers to a command it does not know: the commands
/// sharing its first words, else all of them.
fn unknown(sess: &Session, words: &[String]) -> String {
    let visible = |c: &&Cmd| c.level <= sess.level || c.words.len() == 1;
    let matching: Vec<&Cmd> = match words.first() {
        Some(w) => COMMANDS
            .iter()
            .filter(visible)
            .filter(|c| c.words[0] == w.as_str() && c.words.len() > 1)
            .collect(),
        None => Vec::new(),
    };
    let mut out = if matching.is_empty() {
        String::from("Unknown command. Please enter one of the following commands only:\n")
    } else {
        String::from("Unknown command, but maybe one of the following ones is a better match:\n")
    };
    let list: Vec<&Cmd> = if matching.is_empty() {
        COMMANDS.iter().filter(visible).collect()
    } else {
        matching
    };
    for c in list {
        out.push_str(&help_line(c.usage, c.help));
    }
    out.push_str(&tail_lines());
    out
}

fn help(sess: &Session, words: &[String]) -> String {
    let mut out = String::from("The following commands are valid at this level:\n");
    for c in COMMANDS.iter().filter(|c| c.level <= sess.level) {
        if words.iter().zip(c.words).all(|(w, k)| w == k) {
            out.push_str(&help_line(c.usage, c.help));
        }
    }
    out.push_str(&tail_lines());
    out
}

/// Runs one command; returns its answer (the caller adds the empty line).
pub fn run(shared: &Arc<Shared>, sess: &mut Session, words: &[String]) -> String {
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    match w.as_slice() {
        ["quit", ..] => {
            sess.quit = true;
            return String::new();
        }
        ["prompt", ..] => {
            sess.interactive = !sess.interactive;
            return String::new();
        }
        ["help", rest @ ..] => {
            return help(sess, &words[words.len() - rest.len()..]);
        }
        _ => {}
    }
    let Some(c) = COMMANDS
        .iter()
        .filter(|c| c.words.len() <= w.len() && c.words.iter().zip(&w).all(|(k, x)| k == x))
        .max_by_key(|c| c.words.len())
    else {
        return unknown(sess, words);
    };
    if c.level > sess.level {
        return "Permission denied\n".into();
    }
    let args = &w[c.words.len()..];
    match c.words {
        ["show", "version"] => format!("{}\n", stats::info::version()),
        ["show", "info"] => super::show::info(shared, args),
        ["show", "stat"] => super::show::stat(shared, sess, args),
        ["show", "schema", "json"] => stats::json::SCHEMA.to_string(),
        ["show", "backend"] => {
            let mut out = String::from("# name\n");
            for p in shared
                .config
                .proxies
                .iter()
                .filter(|p| p.kind.has_backend())
            {
                out.push_str(&p.name);
                out.push('\n');
            }
            out
        }
        ["show", "servers", "state"] => servers_state(shared, args.first().copied()),
        ["show", "sess"] => super::sessions::show(shared, sess, args),
        ["show", "errors"] => super::errors::show(shared, args),
        ["show", "cli", "level"] => format!("{}\n", level_name(sess.level)),
        ["operator"] => {
            sess.level = sess.level.min(Operator);
            String::new()
        }
        ["user"] => {
            sess.level = User;
            String::new()
        }
        ["set", "timeout", "cli"] => match args.first().map(|a| parse_secs(a)) {
            Some(Some(d)) if !d.is_zero() => {
                sess.timeout = d;
                String::new()
            }
            _ => "Invalid timeout value.\n".into(),
        },
        ["get", "weight"] => with_server(shared, args.first(), |be, s| {
            let sv = &shared.proxies[be].servers[s];
            format!(
                "{} (initial {})\n",
                sv.uweight.load(Ordering::Relaxed),
                shared.server_cfg(be, s).opts.weight
            )
        }),
        ["set", "weight"] => with_server(shared, args.first(), |be, s| {
            set_weight(shared, be, s, args.get(1).copied())
        }),
        ["set", "server"] => set_server(shared, args),
        ["disable", "server"] => with_server(shared, args.first(), |be, s| {
            admin::state_maint(shared, be, s);
            String::new()
        }),
        ["enable", "server"] => with_server(shared, args.first(), |be, s| {
            admin::state_ready(shared, be, s);
            String::new()
        }),
        ["disable", "health"] => with_server(shared, args.first(), |be, s| {
            if shared.server_cfg(be, s).opts.check.enabled {
                admin::set_checks(shared, be, s, false);
            }
            String::new()
        }),
        ["enable", "health"] => with_server(shared, args.first(), |be, s| {
            if !shared.server_cfg(be, s).opts.check.enabled {
                return "Health check was not configured on this server, cannot enable.\n".into();
            }
            admin::set_checks(shared, be, s, true);
            String::new()
        }),
        ["shutdown", "sessions", "server"] => with_server(shared, args.first(), |be, s| {
            admin::shutdown_sessions(shared, be, s);
            String::new()
        }),
        ["set", "maxconn", "server"] => with_server(shared, args.first(), |be, s| {
            let Some(v) = args.get(1) else {
                return "Require <maxconn>.\n".into();
            };
            match v.parse::<i64>() {
                Ok(n) => {
                    admin::set_maxconn(shared, be, s, n.clamp(0, i64::from(u32::MAX)) as u32);
                    String::new()
                }
                Err(_) => "maxconn string empty or preceded by garbage".into(),
            }
        }),
        ["set", "maxconn", "frontend"] => set_maxconn_frontend(shared, args),
        ["disable", "frontend"] | ["enable", "frontend"] | ["shutdown", "frontend"] => {
            frontend_state(shared, c.words[0], args.first().copied())
        }
        ["set", "maxconn", "global"] => match args.first().map(|a| a.parse::<i64>()) {
            None | Some(Err(_)) => "Expects an integer value.\n".into(),
            Some(Ok(v)) if v < 0 || v > i64::from(shared.global.maxconn_hard()) => {
                "Value out of range.\n".into()
            }
            Some(Ok(v)) => {
                shared.global.set_maxconn(v as u32);
                String::new()
            }
        },
        ["clear", "counters"] => {
            let all = args.first() == Some(&"all");
            if all && sess.level < Admin {
                return "Permission denied\n".into();
            }
            admin::clear_counters(shared, all);
            String::new()
        }
        _ => unknown(sess, words),
    }
}

fn level_name(l: CliLevel) -> &'static str {
    match l {
        User => "user",
        Operator => "operator",
        Admin => "admin",
    }
}

/// A CLI delay: seconds by default, or with a unit.
fn parse_secs(s: &str) -> Option<std::time::Duration> {
    crate::config::values::parse_time(s, crate::config::values::TimeUnit::Seconds)
        .ok()
        .filter(|t| t.trailing.is_none())
        .map(|t| t.value)
}

/// Resolves `backend/server` and runs `f`, or answers HAProxy's errors.
fn with_server(
    shared: &Shared,
    arg: Option<&&str>,
    f: impl FnOnce(usize, usize) -> String,
) -> String {
    let Some((b, s)) = arg.and_then(|a| a.split_once('/')) else {
        return "Require 'backend/server'.\n".into();
    };
    let Some(be) = shared.backend_index(b) else {
        return "No such backend.\n".into();
    };
    let Some(srv) = shared.config.proxies[be].servers.iter().position(|x| {
        x.name == s || s.strip_prefix('#').and_then(|n| n.parse().ok()) == Some(x.puid)
    }) else {
        return "No such server.\n".into();
    };
    f(be, srv)
}

/// `set weight B/S W|W%`: absolute 0..=256, or a percentage of the
/// initial weight.
fn set_weight(shared: &Arc<Shared>, be: usize, s: usize, arg: Option<&str>) -> String {
    let Some(arg) = arg else {
        return "Require <weight> or <weight%>.\n".into();
    };
    let (num, pct) = match arg.strip_suffix('%') {
        Some(n) => (n, true),
        None => (arg, false),
    };
    let digits_end = num
        .char_indices()
        .find(|(i, c)| !(c.is_ascii_digit() || (*i == 0 && *c == '-')))
        .map_or(num.len(), |(i, _)| i);
    if digits_end == 0 || digits_end != num.len() {
        return "Empty weight string empty or preceded by garbage".into();
    }
    let Ok(v) = num.parse::<i64>() else {
        return "Empty weight string empty or preceded by garbage".into();
    };
    let w = if pct {
        if !(0..=100).contains(&v) {
            return "Relative weight must be positive.\n".into();
        }
        let initial = i64::from(shared.server_cfg(be, s).opts.weight);
        (initial * v / 100) as u32
    } else {
        if !(0..=256).contains(&v) {
            return "Absolute weight can only be between 0 and 256 inclusive.\n".into();
        }
        v as u32
    };
    admin::set_weight(shared, be, s, w);
    String::new()
}

fn set_server(shared: &Arc<Shared>, args: &[&str]) -> String {
    let target = args.first();
    with_server(shared, target, |be, s| {
        match args.get(1..).unwrap_or(&[]) {
        ["state", rest @ ..] => match rest.first() {
            Some(&"ready") => {
                admin::state_ready(shared, be, s);
                String::new()
            }
            Some(&"drain") => {
                admin::state_drain(shared, be, s);
                String::new()
            }
            Some(&"maint") => {
                admin::state_maint(shared, be, s);
                String::new()
            }
            _ => "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n".into(),
        },
        ["weight", rest @ ..] => set_weight(shared, be, s, rest.first().copied()),
        ["health", rest @ ..] => {
            // HAProxy forces the health of any server but a tracking one,
            // checked or not (`cli_parse_set_server`).
            if shared.server_cfg(be, s).opts.extra().track.is_some() {
                return "cannot change health on a tracking server.\n".into();
            }
            let why = crate::engine::transitions::Why::Text("changed from CLI");
            match rest.first() {
                Some(&"up") => {
                    let mut st = shared.proxies[be].servers[s].lock_status();
                    st.health = st.rise + st.fall - 1;
                    drop(st);
                    crate::engine::transitions::set_running(shared, be, s, why);
                    String::new()
                }
                Some(&"stopping") => {
                    crate::engine::transitions::set_stopping(shared, be, s, why);
                    String::new()
                }
                Some(&"down") => {
                    shared.proxies[be].servers[s].lock_status().health = 0;
                    crate::engine::transitions::set_stopped(shared, be, s, why);
                    String::new()
                }
                _ => "'set server <srv> health' expects 'up', 'stopping', or 'down'.\n".into(),
            }
        }
        [op, ..] if ["addr", "agent", "agent-addr", "agent-port", "agent-send", "check-addr", "check-port", "fqdn", "ssl"].contains(op) => {
            format!("rproxy: 'set server {op}' is not supported.\n")
        }
        _ => "usage: set server <backend>/<server> addr | agent | agent-addr | agent-port | agent-send | check-addr | check-port | fqdn | health | ssl | state | weight\n".into(),
    }
    })
}

fn set_maxconn_frontend(shared: &Shared, args: &[&str]) -> String {
    let Some(name) = args.first() else {
        return "A frontend name is expected.\n".into();
    };
    let Some(i) = shared
        .config
        .proxies
        .iter()
        .position(|p| p.name == *name && p.kind.has_frontend())
    else {
        return "No such frontend.\n".into();
    };
    match args.get(1).map(|v| v.parse::<i64>()) {
        Some(Ok(v)) if v >= 0 => {
            shared.proxies[i].set_fe_maxconn(v as u32);
            String::new()
        }
        Some(Ok(_)) => "Value out of range.\n".into(),
        _ => "Integer value expected.\n".into(),
    }
}

/// `disable|enable|shutdown frontend NAME`.
fn frontend_state(shared: &Shared, verb: &str, name: Option<&str>) -> String {
    let Some(name) = name else {
        return "A frontend name is expected.\n".into();
    };
    let Some(i) = shared
        .config
        .proxies
        .iter()
        .position(|p| p.name == name && p.kind.has_frontend())
    else {
        return "No such frontend.\n".into();
    };
    let rt = &shared.proxies[i];
    if rt.stopped.load(Ordering::Relaxed) {
        return match verb {
            "shutdown" => "Frontend was already shut down.\n",
            "enable" => "Frontend was previously shut down, cannot enable.\n",
            _ => "Frontend was previously shut down, cannot disable.\n",
        }
        .into();
    }
    match verb {
        "disable" => {
            if rt.paused.swap(true, Ordering::AcqRel) {
                return "All sockets are already disabled.\n".into();
            }
            crate::log::events::frontend_paused(shared, i, true);
        }
        "enable" => {
            if !rt.paused.swap(false, Ordering::AcqRel) {
                return "All sockets are already enabled.\n".into();
            }
            crate::log::events::frontend_paused(shared, i, false);
        }
        _ => {
            rt.stopped.store(true, Ordering::Release);
            rt.paused.store(true, Ordering::Release);
            crate::log::events::proxy_stopped(shared, i);
        }
    }
    String::new()
}

/// HAProxy's `HCHK_STATUS_*` numbers, as server-state files store them.
fn check_status_number(s: CheckStatus) -> u32 {
    match s {
        CheckStatus::Unknown => 0,
        CheckStatus::Ini => 1,
        CheckStatus::Hana => 4,
        CheckStatus::SockErr => 5,
        CheckStatus::L4Ok => 6,
        CheckStatus::L4Tout => 7,
        CheckStatus::L4Con => 8,
        CheckStatus::L6Ok => 9,
        CheckStatus::L6Tout => 10,
        CheckStatus::L6Rsp => 11,
        CheckStatus::L7Tout => 12,
        CheckStatus::L7Rsp => 13,
        CheckStatus::L7Ok => 15,
        CheckStatus::L7OkC => 16,
        CheckStatus::L7Sts => 17,
    }
}

pub const SERVERS_STATE_HEADER: &str = "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n";

/// `show servers state [BACKEND]`: the format of `server-state-file`.
pub fn servers_state(shared: &Shared, backend: Option<&str>) -> String {
    let only = match backend {
        Some(b) => match shared.backend_index(b) {
            Some(i) => Some(i),
            None => return "Can't find backend.\n".into(),
        },
        None => None,
    };
    let mut out = String::from(SERVERS_STATE_HEADER);
    for (i, p) in shared.config.proxies.iter().enumerate() {
        if !p.kind.has_backend() || only.is_some_and(|o| o != i) {
            continue;
        }
        for (s, cfg) in p.servers.iter().enumerate() {
            let sv = &shared.proxies[i].servers[s];
            let st = sv.lock_status().clone();
            let (status, result) = match (&st.last, st.checking) {
                (Some(o), _) => (
                    check_status_number(o.status),
                    match o.status.result() {
                        Some(CheckResult::Passed) => 3,
                        Some(CheckResult::CondPass) => 4,
                        Some(CheckResult::Failed) => 2,
                        None => 0,
                    },
                ),
                (None, _) => (1, 0),
            };
            let configured = cfg.opts.check.enabled;
            let check_state = if configured {
                2 | if st.checking { 4 } else { 0 } | if sv.in_maint() { 8 } else { 0 }
            } else {
                0
            };
            let addr = cfg.addr.ip().map_or("-".to_string(), |ip| ip.to_string());
            let port = match cfg.addr.port() {
                crate::config::address::Port::Fixed(p) => p.to_string(),
                _ => "0".into(),
            };
            out.push_str(&format!(
                "{} {} {} {} {} {} {} {} {} {} {} {} {} {} 0 {} {} - {} - 0 {} - - 0\n",
                p.uuid,
                p.name,
                cfg.puid,
                cfg.name,
                addr,
                sv.op() as u8,
                sv.admin(),
                sv.uweight.load(Ordering::Relaxed),
                cfg.opts.weight,
                st.last_change.elapsed().as_secs(),
                status,
                result,
                st.health,
                check_state,
                u8::from(p.id.is_some()),
                u8::from(cfg.opts.id.is_some()),
                port,
                cfg.opts.check.port.unwrap_or(0),
            ));
        }
    }
    out
}
