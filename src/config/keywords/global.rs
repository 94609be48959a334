//! The `global` section.

use super::{Flow, GlobalKeyword, Status};
use crate::config::address::Use;
use crate::config::line::{Line, Modifier};
use crate::config::model::*;
use crate::config::parser::GlobalCtx;
use crate::config::values::{self, TimeUnit};
use std::path::PathBuf;

use Status::{Enforced as E, Legacy, ParsedOnly as P};

/// Every `global` keyword of HAProxy 2.6 as Debian builds it (no QUIC,
/// 51Degrees, DeviceAtlas, WURFL, zlib or OpenSSL engines).
pub static KEYWORDS: &[GlobalKeyword] = &[
    kw("ca-base", P, one_path),
    kw("chroot", E, chroot),
    kw("cluster-secret", P, one_arg),
    kw("cpu-map", P, at_least_two),
    kw("crt-base", P, one_path),
    kw("daemon", E, daemon),
    kw("default-path", P, one_arg),
    kw("description", P, description),
    kw("expose-experimental-directives", E, no_arg),
    kw("external-check", P, any_args),
    kw("fd-hard-limit", P, fd_hard_limit),
    kw("gid", E, gid),
    kw("grace", P, grace),
    kw("group", E, group),
    kw("h1-accept-payload-with-any-method", P, no_arg),
    kw("h1-case-adjust", P, at_least_two),
    kw("h1-case-adjust-file", P, one_arg),
    kw("h2-workaround-bogus-websocket-clients", P, no_arg),
    kw("hard-stop-after", E, hard_stop_after),
    kw("httpclient.resolvers.id", P, one_arg),
    kw("httpclient.resolvers.prefer", P, one_arg),
    kw("httpclient.ssl.ca-file", P, one_arg),
    kw("httpclient.ssl.verify", P, one_arg),
    kw("insecure-fork-wanted", P, no_arg),
    kw("insecure-setuid-wanted", P, no_arg),
    kw("issuers-chain-path", P, one_arg),
    kw("localpeer", P, localpeer),
    kw("log", E, log),
    kw("log-send-hostname", E, log_send_hostname),
    kw("log-tag", E, log_tag),
    kw("lua-load", P, lua_load),
    kw("lua-load-per-thread", P, lua_load),
    kw("lua-prepend-path", P, any_args),
    kw("master-worker", E, master_worker),
    kw("mworker-max-reloads", E, mworker_max_reloads),
    kw("nbproc", Legacy("nbthread"), nbproc),
    kw("debug", Legacy("-d on the command line"), no_arg),
    kw("nbthread", E, nbthread),
    kw("node", E, node),
    kw("numa-cpu-mapping", P, no_arg),
    kw("pidfile", E, pidfile),
    kw("pp2-never-send-local", P, no_arg),
    kw("presetenv", E, presetenv),
    kw("resetenv", E, resetenv),
    kw("set-dumpable", P, no_arg),
    kw("set-var", P, at_least_two),
    kw("set-var-fmt", P, at_least_two),
    kw("setenv", E, setenv),
    kw("ssl-default-bind-ciphers", P, ssl_arg),
    kw("ssl-default-bind-ciphersuites", P, ssl_arg),
    kw("ssl-default-bind-curves", P, ssl_arg),
    kw("ssl-default-bind-options", P, any_args),
    kw("ssl-default-server-ciphers", P, ssl_arg),
    kw("ssl-default-server-ciphersuites", P, ssl_arg),
    kw("ssl-default-server-options", P, any_args),
    kw("ssl-dh-param-file", P, one_arg),
    kw("ssl-propquery", P, one_arg),
    kw("ssl-provider", P, one_arg),
    kw("ssl-provider-path", P, one_arg),
    kw("ssl-server-verify", P, ssl_server_verify),
    kw("ssl-skip-self-issued-ca", P, no_arg),
    kw("stats", E, stats),
    kw("strict-limits", E, strict_limits),
    kw("thread-group", P, any_args),
    kw("thread-groups", P, int_arg),
    kw("uid", E, uid),
    kw("ulimit-n", E, ulimit_n),
    kw("unix-bind", P, unix_bind),
    kw("unsetenv", E, unsetenv),
    kw("user", E, user),
    kw("busy-polling", P, no_arg),
    kw("close-spread-time", P, time_arg),
    kw("max-spread-checks", P, max_spread_checks),
    kw("maxcompcpuusage", P, int_arg),
    kw("maxcomprate", P, int_arg),
    kw("maxconn", E, maxconn),
    kw("maxconnrate", P, maxconnrate),
    kw("maxpipes", P, maxpipes),
    kw("maxsessrate", P, maxsessrate),
    kw("maxsslconn", P, int_arg),
    kw("maxsslrate", P, int_arg),
    kw("maxzlibmem", P, int_arg),
    kw("no-memory-trimming", P, no_arg),
    kw("noepoll", P, no_arg),
    kw("noevports", P, no_arg),
    kw("nogetaddrinfo", P, nogetaddrinfo),
    kw("nokqueue", P, no_arg),
    kw("nopoll", P, no_arg),
    kw("noreuseport", E, noreuseport),
    kw("nosplice", E, nosplice),
    kw("profiling.tasks", P, one_arg),
    kw("server-state-base", E, server_state_base),
    kw("server-state-file", E, server_state_file),
    kw("spread-checks", E, spread_checks),
    kw("ssl-mode-async", P, no_arg),
    kw("tune.buffers.limit", P, int_arg),
    kw("tune.buffers.reserve", P, int_arg),
    kw("tune.bufsize", E, tune_bufsize),
    kw("tune.comp.maxlevel", P, int_arg),
    kw("tune.fail-alloc", P, int_arg),
    kw("tune.fd.edge-triggered", P, one_arg),
    kw("tune.h2.header-table-size", P, int_arg),
    kw("tune.h2.initial-window-size", P, int_arg),
    kw("tune.h2.max-concurrent-streams", P, int_arg),
    kw("tune.h2.max-frame-size", P, int_arg),
    kw("tune.http.cookielen", P, tune_http_cookielen),
    kw("tune.http.logurilen", E, tune_http_logurilen),
    kw("tune.http.maxhdr", E, tune_http_maxhdr),
    kw("tune.idle-pool.shared", P, one_arg),
    kw("tune.idletimer", P, tune_idletimer),
    kw("tune.listener.multi-queue", P, one_arg),
    kw("tune.lua.forced-yield", P, int_arg),
    kw("tune.lua.maxmem", P, int_arg),
    kw("tune.lua.service-timeout", P, time_arg),
    kw("tune.lua.session-timeout", P, time_arg),
    kw("tune.lua.task-timeout", P, time_arg),
    kw("tune.maxaccept", P, tune_maxaccept),
    kw("tune.maxpollevents", P, int_arg),
    kw("tune.maxrewrite", E, tune_maxrewrite),
    kw("tune.pattern.cache-size", P, int_arg),
    kw("tune.peers.max-updates-at-once", P, int_arg),
    kw("tune.pipesize", P, tune_pipesize),
    kw("tune.pool-high-fd-ratio", P, int_arg),
    kw("tune.pool-low-fd-ratio", P, int_arg),
    kw("tune.rcvbuf.client", P, tune_rcvbuf_client),
    kw("tune.rcvbuf.server", P, tune_rcvbuf_server),
    kw("tune.recv_enough", P, int_arg),
    kw("tune.runqueue-depth", P, int_arg),
    kw("tune.sched.low-latency", P, one_arg),
    kw("tune.sndbuf.client", P, tune_sndbuf_client),
    kw("tune.sndbuf.server", P, tune_sndbuf_server),
    kw("tune.ssl.cachesize", P, int_arg),
    kw("tune.ssl.capture-buffer-size", P, int_arg),
    kw("tune.ssl.capture-cipherlist-size", P, int_arg),
    kw("tune.ssl.default-dh-param", P, int_arg),
    kw("tune.ssl.force-private-cache", P, no_arg),
    kw("tune.ssl.hard-maxrecord", P, int_arg),
    kw("tune.ssl.keylog", P, one_arg),
    kw("tune.ssl.lifetime", P, time_arg),
    kw("tune.ssl.maxrecord", P, int_arg),
    kw("tune.ssl.ssl-ctx-cache-size", P, int_arg),
    kw("tune.vars.global-max-size", P, int_arg),
    kw("tune.vars.proc-max-size", P, int_arg),
    kw("tune.vars.reqres-max-size", P, int_arg),
    kw("tune.vars.sess-max-size", P, int_arg),
    kw("tune.vars.txn-max-size", P, int_arg),
    kw("tune.vars.check-max-size", P, int_arg),
    kw("quiet", E, quiet),
    kw("zero-warning", E, zero_warning),
];

const fn kw(name: &'static str, status: Status, parse: super::GlobalParse) -> GlobalKeyword {
    GlobalKeyword {
        name,
        status,
        parse,
    }
}

/// Routes a `global` line: HAProxy's keyword lookup, then the registry
/// status (legacy mapping, parsed-only warning).
pub fn dispatch(ctx: &mut GlobalCtx, line: &Line) -> Flow {
    let word = line.arg(0);
    let Some(k) = super::find_global_keyword(&line.words) else {
        let hint = super::suggest::best_match(
            word,
            KEYWORDS
                .iter()
                .filter(|k| !matches!(k.status, Status::Legacy(_)))
                .map(|k| k.name),
        )
        .map(|b| format!("; did you mean '{b}' maybe ?"))
        .unwrap_or_default();
        ctx.sv.alert(
            line,
            format!("unknown keyword '{word}' in 'global' section{hint}"),
        );
        return Flow::Continue;
    };
    let negatable = matches!(
        word,
        "log"
            | "busy-polling"
            | "set-dumpable"
            | "strict-limits"
            | "insecure-fork-wanted"
            | "numa-cpu-mapping"
    );
    if line.modifier != Modifier::Std && !negatable {
        ctx.sv.alert_tight(
            line,
            "negation/default currently supported only for options, log, busy-polling, set-dumpable, strict-limits, and insecure-fork-wanted.",
        );
        return Flow::Continue;
    }
    let before = ctx.sv.diags.fatal_count();
    let flow = (k.parse)(ctx, line);
    if ctx.sv.diags.fatal_count() == before {
        match k.status {
            Status::Legacy(modern) => ctx.sv.legacy(line, k.name, modern),
            s => ctx.sv.apply_status(line, s, || k.name.to_string()),
        }
    }
    flow
}

fn too_many(ctx: &mut GlobalCtx, line: &Line, n: usize) -> bool {
    if let Some(extra) = line.extra_after(n) {
        ctx.sv.alert(
            line,
            format!(
                "'{}' cannot handle unexpected argument '{extra}'.",
                line.arg(0)
            ),
        );
        return true;
    }
    false
}

fn no_arg(ctx: &mut GlobalCtx, line: &Line) -> Flow {
    too_many(ctx, line, 0);
    Flow::Continue
}

fn any_args(_: &mut GlobalCtx, _: &Line) -> Flow {
    Flow::Continue
}

fn one_arg(ctx: &mut GlobalCtx, line: &Line) -> Flow {
    if line.arg(1).is_empty() {
        ctx.sv
            .alert(line, format!("'{}' expects an argument.", line.arg(0)));
    }
    Flow::Continue
}

fn at_least_two(ctx: &mut GlobalCtx, line: &Line) -> Flow {
    if line.arg(2).is_empty() {
        ctx.sv.alert(
            line,
            format!("'{}' expects at least two arguments.", line.arg(0)),
        );
    }
    Flow::Continue
}

fn one_path(ctx: &mut GlobalCtx, line: &Line) -> Flow {
    if line.arg(1).is_empty() {
        ctx.sv.alert(
            line,
            format!("'{}' expects a directory path as an argument.", line.arg(0)),
        );
        return Flow::Continue;
    }
    match line.arg(0) {
        "ca-base" => ctx.g.ca_base = Some(PathBuf::from(line.arg(1))),
        "crt-base" => ctx.g.crt_base = Some(PathBuf::from(line.arg(1))),
        _ => {}
    }
    Flow::Continue
}

fn ssl_arg(ctx: &mut GlobalCtx, line: &Line) -> Flow {
    if line.arg(1).is_empty() {
        ctx.sv.alert(
            line,
            format!(
                "global statement '{}' expects a cipher suite as an argument.",
                line.arg(0)
            ),
        );
    }
    Flow::Continue
}

/// `atol()`-style numbers; rproxy says which value it used when HAProxy
/// would silently drop trailing characters.
fn atol_value(ctx: &mut GlobalCtx, line: &Line, i: usize) -> i64 {
    let s = line.arg(i);
    let (v, ignored) = values::atol(s);
    if ignored && !s.is_empty() {
        ctx.sv.note(
            line,
            format!(
                "'{}': '{s}' is not a plain number; HAProxy reads it as {v}, and so does rproxy.",
                line.arg(0)
            ),
        );
    }
    v
}

fn int_arg(ctx: &mut GlobalCtx, line: &Line) -> Flow {
    if line.arg(1).is_empty() {
        ctx.sv.alert(
            line,
            format!("'{}' expects an integer argument.", line.arg(0)),
        );
        return Flow::Continue;
    }
    atol_value(ctx, line, 1);
    Flow::Continue
}

fn time_value(ctx: &mut GlobalCtx, line: &Line, unit: TimeUnit) -> Option<std::time::Duration> {
    let v = line.arg(1);
    match values::parse_time(v, unit) {
        Ok(t) => {
            if let Some(c) = t.trailing {
                ctx.sv.warn_bare(values::time_trailing_warning(c, v));
            }
            Some(t.value)
        }
        Err(values::TimeError::Missing) => {
            ctx.sv.alert(
                line,
                format!("'{}' expects <time> as argument.", line.arg(0)),
            );
            None
        }
        Err(values::TimeError::UnexpectedChar(c)) => {
            ctx.sv.alert(
                line,
                format!(
                    "unexpected character '{c}' in argument to <{}>.\n",
                    line.arg(0)
                ),
            );
            None
        }
        Err(e) => {
            ctx.sv
                .alert(line, values::time_error_message(&e, line.arg(0), v, unit));
            None
        }
    }
}

fn time_arg(ctx: &mut GlobalCtx, line: &Line) -> Flow {
    time_value(ctx, line, TimeUnit::Millis);
    Flow::Continue
}

fn daemon(ctx: &mut GlobalCtx, line: &Line) -> Flow {
    if !too_many(ctx, line, 0) {
        ctx.g.daemon = true;
    }
    Flow::Continue
}

fn quiet(ctx: &mut GlobalCtx, line: &Line) -> Flow {
    if !too_many(ctx, line, 0) {
        ctx.g.quiet = true;
    }
    Flow::Continue
}

fn zero_warning(ctx: &mut GlobalCtx, line: &Line) -> Flow {
    if !too_many(ctx, line, 0) {
        ctx.g.zero_warning = true;
    }
    Flow::Continue
}

fn strict_limits(ctx: &mut GlobalCtx, line: &Line) -> Flow {
    if !too_many(ctx, line, 0) {
        ctx.g.strict_limits = match line.modifier {
            Modifier::Std => Some(true),
            Modifier::No => Some(false),
            Modifier::Default => None,
        };
    }
    Flow::Continue
}

fn nosplice(ctx: &mut GlobalCtx, line: &Line) -> Flow {
    if !too_many(ctx, line, 0) {
        ctx.g.nosplice = true;
    }
    Flow::Continue
}

fn noreuseport(ctx: &mut GlobalCtx, line: &Line) -> Flow {
    if !too_many(ctx, line, 0) {
        ctx.g.noreuseport = true;
    }
    Flow::Continue
}

fn nogetaddrinfo(ctx: &mut GlobalCtx, line: &Line) -> Flow {
    if !too_many(ctx, line, 0) {
        ctx.g.nogetaddrinfo = true;
    }
    Flow::Continue
}

fn master_worker(ctx: &mut GlobalCtx, line: &Line) -> Flow {
    match line.arg(1) {
        "" => ctx.g.master_worker = true,
        "no-exit-on-failure" => {
            ctx.g.master_worker = true;
            ctx.g.master_worker_no_exit = true;
        }
        _ => ctx.sv.alert(
            line,
            "'master-worker' only supports 'no-exit-on-failure' option.",
        ),
    }
    Flow::Continue
}

fn mworker_max_reloads(ctx: &mut GlobalCtx, line: &Line) -> Flow {
    match values::parse_uint(line.arg(1)) {
        Some(n) => ctx.g.mworker_max_reloads = u32::try_from(n).ok(),
        None => ctx
            .sv
            .alert(line, "'mworker-max-reloads' expects an integer argument."),
    }
    Flow::Continue
}

fn nbproc(ctx: &mut GlobalCtx, line: &Line) -> Flow {
    // HAProxy 2.5+ refuses `nbproc` outright. rproxy keeps one process and
    // uses threads, which is what `nbproc` asked for in spirit.
    if line.arg(1).is_empty() {
        ctx.sv.alert(line, "'nbproc' expects an integer argument.");
    }
    Flow::Continue
}

fn nbthread(ctx: &mut GlobalCtx, line: &Line) -> Flow {
    let v = line.arg(1);
    match values::parse_uint(v) {
        Some(n) if (1..=64).contains(&n) => ctx.g.nbthread = Some(n as usize),
        Some(n) => ctx.sv.alert(
            line,
            format!("'nbthread' value must be between 1 and 64 (was {n})"),
        ),
        None => ctx.sv.alert(
            line,
            format!("'nbthread' passed a missing or unparsable integer value in '{v}'"),
        ),
    }
    Flow::Continue
}

fn maxconn(ctx: &mut GlobalCtx, line: &Line) -> Flow {
    if line.arg(1).is_empty() {
        ctx.sv.alert(line, "'maxconn' expects an integer argument.");
        return Flow::Continue;
    }
    if ctx.g.maxconn.is_some() {
        ctx.sv
            .warn(line, "'maxconn' already specified. Continuing.");
    }
    let v = atol_value(ctx, line, 1);
    ctx.g.maxconn = u32::try_from(v).ok().filter(|v| *v > 0);
    Flow::Continue
}

fn maxconnrate(ctx: &mut GlobalCtx, line: &Line) -> Flow {
    int_arg(ctx, line);
    ctx.g.maxconnrate = u32::try_from(values::atol(line.arg(1)).0).ok();
    Flow::Continue
}

fn maxsessrate(ctx: &mut GlobalCtx, line: &Line) -> Flow {
    int_arg(ctx, line);
    ctx.g.maxsessrate = u32::try_from(values::atol(line.arg(1)).0).ok();
    Flow::Continue
}

fn maxpipes(ctx: &mut GlobalCtx, line: &Line) -> Flow {
    int_arg(ctx, line);
    ctx.g.maxpipes = u32::try_from(values::atol(line.arg(1)).0).ok();
    Flow::Continue
}

fn ulimit_n(ctx: &mut GlobalCtx, line: &Line) -> Flow {
    if line.arg(1).is_empty() {
        ctx.sv
            .alert(line, "'ulimit-n' expects an integer argument.");
        return Flow::Continue;
    }
    let v = atol_value(ctx, line, 1);
    ctx.g.ulimit_n = u64::try_from(v).ok().filter(|v| *v > 0);
    Flow::Continue
}

fn fd_hard_limit(ctx: &mut GlobalCtx, line: &Line) -> Flow {
    int_arg(ctx, line);
    ctx.g.fd_hard_limit = u64::try_from(values::atol(line.arg(1)).0).ok();
    Flow::Continue
}

fn user(ctx: &mut GlobalCtx, line: &Line) -> Flow {
    if ctx.g.uid.is_some() || ctx.g.user.is_some() {
        ctx.sv.diags.push(
            crate::diag::Diagnostic::alert(
                Some(line.origin.clone()),
                "user/uid already specified. Continuing.",
            )
            .non_fatal(),
        );
        return Flow::Continue;
    }
    let name = line.arg(1);
    if ctx.sv.opts.check_system {
        match crate::util::user_id(name) {
            Some((uid, _)) => ctx.g.uid = Some(uid),
            None => {
                ctx.sv.alert(
                    line,
                    format!("cannot find user id for '{name}' (0:Success)"),
                );
                return Flow::Continue;
            }
        }
    }
    ctx.g.user = Some(name.to_string());
    Flow::Continue
}

fn group(ctx: &mut GlobalCtx, line: &Line) -> Flow {
    if ctx.g.gid.is_some() || ctx.g.group.is_some() {
        ctx.sv.diags.push(
            crate::diag::Diagnostic::alert(
                Some(line.origin.clone()),
                "group/gid already specified. Continuing.",
            )
            .non_fatal(),
        );
        return Flow::Continue;
    }
    let name = line.arg(1);
    if ctx.sv.opts.check_system {
        match crate::util::group_id(name) {
            Some(gid) => ctx.g.gid = Some(gid),
            None => {
                ctx.sv.alert(
                    line,
                    format!("cannot find group id for '{name}' (0:Success)"),
                );
                return Flow::Continue;
            }
        }
    }
    ctx.g.group = Some(name.to_string());
    Flow::Continue
}

fn numeric_id(ctx: &mut GlobalCtx, line: &Line, what: &str, hint: &str) -> Option<u32> {
    let v = line.arg(1);
    match values::parse_uint(v).and_then(|n| u32::try_from(n).ok()) {
        Some(n) => Some(n),
        None => {
            ctx.sv.warn(
                line,
                format!(
                    " {what}: string '{v}' is not a number.\n   | You might want to use the '{hint}' parameter to use a system {hint} name."
                ),
            );
            None
        }
    }
}

fn uid(ctx: &mut GlobalCtx, line: &Line) -> Flow {
    if let Some(n) = numeric_id(ctx, line, "uid", "user") {
        ctx.g.uid = Some(n);
    }
    Flow::Continue
}

fn gid(ctx: &mut GlobalCtx, line: &Line) -> Flow {
    if let Some(n) = numeric_id(ctx, line, "gid", "group") {
        ctx.g.gid = Some(n);
    }
    Flow::Continue
}

fn chroot(ctx: &mut GlobalCtx, line: &Line) -> Flow {
    if line.arg(1).is_empty() {
        ctx.sv
            .alert(line, "'chroot' expects a directory as an argument.");
        return Flow::Continue;
    }
    ctx.g.chroot = Some(PathBuf::from(line.arg(1)));
    Flow::Continue
}

fn pidfile(ctx: &mut GlobalCtx, line: &Line) -> Flow {
    if ctx.g.pidfile.is_some() {
        ctx.sv.diags.push(
            crate::diag::Diagnostic::alert(
                Some(line.origin.clone()),
                "'pidfile' already specified. Continuing.",
            )
            .non_fatal(),
        );
        return Flow::Continue;
    }
    if line.arg(1).is_empty() {
        ctx.sv
            .alert(line, "'pidfile' expects a file name as an argument.");
        return Flow::Continue;
    }
    ctx.g.pidfile = Some(PathBuf::from(line.arg(1)));
    Flow::Continue
}

fn hard_stop_after(ctx: &mut GlobalCtx, line: &Line) -> Flow {
    if let Some(d) = time_value(ctx, line, TimeUnit::Millis) {
        ctx.g.hard_stop_after = Some(d);
    }
    Flow::Continue
}

fn grace(ctx: &mut GlobalCtx, line: &Line) -> Flow {
    if let Some(d) = time_value(ctx, line, TimeUnit::Millis) {
        ctx.g.grace = Some(d);
    }
    Flow::Continue
}

fn max_spread_checks(ctx: &mut GlobalCtx, line: &Line) -> Flow {
    if let Some(d) = time_value(ctx, line, TimeUnit::Millis) {
        ctx.g.max_spread_checks = Some(d);
    }
    Flow::Continue
}

fn spread_checks(ctx: &mut GlobalCtx, line: &Line) -> Flow {
    if ctx.g.spread_checks != 0 {
        ctx.sv.diags.push(
            crate::diag::Diagnostic::alert(
                Some(line.origin.clone()),
                "spread-checks already specified. Continuing.",
            )
            .style(crate::diag::Style::ParsingTight)
            .non_fatal(),
        );
        return Flow::Continue;
    }
    let (v, _) = values::atol(line.arg(1));
    if line.arg(1).is_empty() || !(0..=50).contains(&v) {
        ctx.sv.alert_tight(
            line,
            "'spread-checks' needs a positive value in range 0..50.",
        );
        // HAProxy has already stored the value when it complains.
        ctx.g.spread_checks = u32::try_from(v).unwrap_or(1).max(1);
        return Flow::Continue;
    }
    ctx.g.spread_checks = v as u32;
    Flow::Continue
}

fn description(ctx: &mut GlobalCtx, line: &Line) -> Flow {
    if line.arg(1).is_empty() {
        ctx.sv
            .alert(line, "'description' expects a string argument.");
        return Flow::Continue;
    }
    ctx.g.description = Some(line.rest(1).join(" "));
    Flow::Continue
}

fn node(ctx: &mut GlobalCtx, line: &Line) -> Flow {
    let n = line.arg(1);
    if n.is_empty()
        || !n
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
    {
        ctx.sv.alert_tight(
            line,
            "'node' requires valid node name - non-empty string with digits(0-9), letters(A-Z, a-z), dot(.), hyphen(-) or underscode(_).",
        );
        return Flow::Continue;
    }
    ctx.g.node = Some(n.to_string());
    Flow::Continue
}

fn localpeer(ctx: &mut GlobalCtx, line: &Line) -> Flow {
    if line.arg(1).is_empty() {
        ctx.sv
            .alert(line, "'localpeer' expects a name as an argument.");
        return Flow::Continue;
    }
    ctx.g.localpeer = Some(line.arg(1).to_string());
    Flow::Continue
}

fn log_send_hostname(ctx: &mut GlobalCtx, line: &Line) -> Flow {
    ctx.g.log_send_hostname = Some(line.arg(1).to_string());
    Flow::Continue
}

fn log_tag(ctx: &mut GlobalCtx, line: &Line) -> Flow {
    if line.arg(1).is_empty() {
        ctx.sv
            .alert(line, "'log-tag' expects a tag as an argument.");
        return Flow::Continue;
    }
    ctx.g.log_tag = Some(line.arg(1).to_string());
    Flow::Continue
}

fn log(ctx: &mut GlobalCtx, line: &Line) -> Flow {
    if line.modifier == Modifier::No {
        ctx.g.logs.clear();
        return Flow::Continue;
    }
    match super::logs::parse_log_target(ctx.sv, line) {
        Ok(Some(t)) => ctx.g.logs.push(t),
        Ok(None) => {}
        Err(msg) => ctx.sv.alert(line, msg),
    }
    Flow::Continue
}

fn lua_load(ctx: &mut GlobalCtx, line: &Line) -> Flow {
    let f = line.arg(1);
    if f.is_empty() {
        ctx.sv.alert(
            line,
            format!("'{}' expects a path to a Lua file.", line.arg(0)),
        );
        return Flow::Continue;
    }
    if ctx.sv.opts.check_system
        && let Err(e) = std::fs::metadata(f).and_then(|m| {
            if m.is_file() {
                std::fs::File::open(f).map(|_| ())
            } else {
                Err(std::io::Error::from_raw_os_error(libc::EISDIR))
            }
        })
    {
        ctx.sv.alert(
            line,
            format!(
                "error in Lua file '{f}': cannot open {f}: {}",
                crate::util::io_error_text(&e)
            ),
        );
        return Flow::Continue;
    }
    ctx.g
        .lua_loads
        .push((PathBuf::from(f), line.origin.clone()));
    Flow::Continue
}

fn ssl_server_verify(ctx: &mut GlobalCtx, line: &Line) -> Flow {
    match line.arg(1) {
        "none" => ctx.g.ssl_server_verify_none = true,
        "required" => ctx.g.ssl_server_verify_none = false,
        _ => ctx.sv.alert(
            line,
            "'ssl-server-verify' expects 'none' or 'required' as argument.",
        ),
    }
    Flow::Continue
}

fn stats(ctx: &mut GlobalCtx, line: &Line) -> Flow {
    match line.arg(1) {
        "socket" => stats_socket(ctx, line),
        "timeout" => {
            let v = line.arg(2);
            match values::parse_time(v, TimeUnit::Millis) {
                Ok(t) if !t.value.is_zero() => ctx.g.stats_timeout = t.value,
                Ok(_) | Err(values::TimeError::Missing) => ctx.sv.alert(
                    line,
                    "'stats timeout' expects a positive value",
                ),
                Err(values::TimeError::UnexpectedChar(c)) => ctx.sv.alert(
                    line,
                    format!("'stats timeout' : unexpected character '{c}'"),
                ),
                Err(e) => ctx.sv.alert(
                    line,
                    values::time_error_message(&e, "stats timeout", v, TimeUnit::Millis),
                ),
            }
        }
        "maxconn" => match values::atol(line.arg(2)) {
            (n, _) if n > 0 => ctx.g.stats_maxconn = n as u32,
            _ => ctx.sv.alert(line, "'stats maxconn' expects a positive value"),
        },
        "bind-process" => {
            ctx.sv.not_enforced(line, "stats bind-process", Status::ParsedOnly);
        }
        other => ctx.sv.alert(
            line,
            format!(
                "'stats' only supports 'socket', 'maxconn', 'bind-process' and 'timeout' (got '{other}')"
            ),
        ),
    }
    Flow::Continue
}

fn stats_socket(ctx: &mut GlobalCtx, line: &Line) {
    let a = line.arg(2);
    if a.is_empty() {
        ctx.sv.alert(
            line,
            "'stats socket' in global section expects an address or a path to a UNIX socket",
        );
        return;
    }
    let addr = match ctx.sv.address(a, Use::Plain) {
        Ok(addr) => addr,
        Err(e) => {
            ctx.sv.alert(line, format!("'stats socket' : {e}"));
            return;
        }
    };
    let mut sock = StatsSocket {
        addr,
        level: CliLevel::Operator,
        mode: None,
        uid: None,
        gid: None,
        user: None,
        group: None,
        expose_fd_listeners: false,
        maxconn: None,
        origin: line.origin.clone(),
    };
    // The options are those of a `bind` line.
    let mut bind = Bind::new(line.origin.clone());
    let mut i = 3;
    while i < line.len() {
        match super::bind::parse_bind_option(ctx.sv, line, &mut bind, &mut i) {
            Ok(()) => {}
            Err(msg) => {
                ctx.sv.alert(line, format!("'stats socket' {msg}"));
                return;
            }
        }
    }
    sock.level = bind.level.unwrap_or(CliLevel::Operator);
    sock.mode = bind.mode;
    sock.uid = bind.uid;
    sock.gid = bind.gid;
    sock.user = bind.user;
    sock.group = bind.group;
    sock.expose_fd_listeners = bind.expose_fd_listeners;
    sock.maxconn = bind.maxconn;
    ctx.g.stats_sockets.push(sock);
}

fn env_name_value(ctx: &mut GlobalCtx, line: &Line) -> Option<(String, String)> {
    if line.arg(1).is_empty() || line.len() < 3 {
        ctx.sv.alert_tight(
            line,
            format!("'{}' expects a name and a value.", line.arg(0)),
        );
        return None;
    }
    Some((line.arg(1).to_string(), line.arg(2).to_string()))
}

fn setenv(ctx: &mut GlobalCtx, line: &Line) -> Flow {
    if let Some((k, v)) = env_name_value(ctx, line) {
        ctx.sv.env.insert(k.clone(), v.clone());
        ctx.g.env_ops.push(EnvOp::Set(k, v));
    }
    Flow::Continue
}

fn presetenv(ctx: &mut GlobalCtx, line: &Line) -> Flow {
    if let Some((k, v)) = env_name_value(ctx, line) {
        ctx.sv.env.entry(k.clone()).or_insert_with(|| v.clone());
        ctx.g.env_ops.push(EnvOp::Preset(k, v));
    }
    Flow::Continue
}

fn unsetenv(ctx: &mut GlobalCtx, line: &Line) -> Flow {
    if line.arg(1).is_empty() {
        ctx.sv
            .alert_tight(line, "'unsetenv' expects at least one variable name.");
        return Flow::Continue;
    }
    let names: Vec<String> = line.rest(1).to_vec();
    for n in &names {
        ctx.sv.env.remove(n);
    }
    ctx.g.env_ops.push(EnvOp::Unset(names));
    Flow::Continue
}

fn resetenv(ctx: &mut GlobalCtx, line: &Line) -> Flow {
    let keep: Vec<String> = line.rest(1).to_vec();
    ctx.sv.env.retain(|k, _| keep.iter().any(|n| n == k));
    ctx.g.env_ops.push(EnvOp::Reset(keep));
    Flow::Continue
}

fn unix_bind(ctx: &mut GlobalCtx, line: &Line) -> Flow {
    let mut i = 1;
    while i < line.len() {
        let v = line.arg(i + 1);
        match line.arg(i) {
            "prefix" => ctx.g.unix_bind.prefix = Some(v.to_string()),
            "mode" => ctx.g.unix_bind.mode = u32::from_str_radix(v, 8).ok(),
            "uid" => ctx.g.unix_bind.uid = v.parse().ok(),
            "gid" => ctx.g.unix_bind.gid = v.parse().ok(),
            "user" => ctx.g.unix_bind.user = Some(v.to_string()),
            "group" => ctx.g.unix_bind.group = Some(v.to_string()),
            other => {
                ctx.sv.alert(
                    line,
                    format!(
                        "'unix-bind' only supports 'prefix', 'mode', 'uid', 'gid', 'user' and 'group' (got '{other}')."
                    ),
                );
                return Flow::Continue;
            }
        }
        i += 2;
    }
    Flow::Continue
}

fn server_state_file(ctx: &mut GlobalCtx, line: &Line) -> Flow {
    if line.arg(1).is_empty() {
        ctx.sv.alert(
            line,
            "'server-state-file' expects a file name as an argument.",
        );
        return Flow::Continue;
    }
    ctx.g.server_state_file = Some(PathBuf::from(line.arg(1)));
    Flow::Continue
}

fn server_state_base(ctx: &mut GlobalCtx, line: &Line) -> Flow {
    if line.arg(1).is_empty() {
        ctx.sv.alert(
            line,
            "'server-state-base' expects a directory as an argument.",
        );
        return Flow::Continue;
    }
    ctx.g.server_state_base = Some(PathBuf::from(line.arg(1)));
    Flow::Continue
}

/// `tune.*` keywords that go through `atol()`; rproxy keeps the value and
/// says so when trailing characters are dropped.
fn tune_number(ctx: &mut GlobalCtx, line: &Line) -> Option<u32> {
    if line.arg(1).is_empty() {
        ctx.sv.alert(
            line,
            format!("'{}' expects an integer argument.", line.arg(0)),
        );
        return None;
    }
    u32::try_from(atol_value(ctx, line, 1)).ok()
}

fn tune_bufsize(ctx: &mut GlobalCtx, line: &Line) -> Flow {
    match tune_number(ctx, line) {
        Some(n) if n > 0 => {
            ctx.g.tune.bufsize = n;
            if ctx.g.tune.maxrewrite >= n / 2 {
                ctx.g.tune.maxrewrite = n / 2;
            }
        }
        Some(_) => ctx
            .sv
            .alert(line, "'tune.bufsize' expects a positive integer argument."),
        None => {}
    }
    Flow::Continue
}

fn tune_maxrewrite(ctx: &mut GlobalCtx, line: &Line) -> Flow {
    if let Some(n) = tune_number(ctx, line) {
        ctx.g.tune.maxrewrite = n;
    }
    Flow::Continue
}

fn tune_http_logurilen(ctx: &mut GlobalCtx, line: &Line) -> Flow {
    if let Some(n) = tune_number(ctx, line) {
        ctx.g.tune.http_logurilen = n;
    }
    Flow::Continue
}

fn tune_http_maxhdr(ctx: &mut GlobalCtx, line: &Line) -> Flow {
    if let Some(n) = tune_number(ctx, line) {
        if !(1..=32767).contains(&n) {
            ctx.sv.alert(
                line,
                "'tune.http.maxhdr' expects a numeric value between 1 and 32767",
            );
        } else {
            ctx.g.tune.http_maxhdr = n;
        }
    }
    Flow::Continue
}

fn tune_http_cookielen(ctx: &mut GlobalCtx, line: &Line) -> Flow {
    if let Some(n) = tune_number(ctx, line) {
        ctx.g.tune.http_cookielen = n;
    }
    Flow::Continue
}

fn tune_maxaccept(ctx: &mut GlobalCtx, line: &Line) -> Flow {
    if line.arg(1).is_empty() {
        ctx.sv
            .alert(line, "'tune.maxaccept' expects an integer argument.");
        return Flow::Continue;
    }
    let v = atol_value(ctx, line, 1);
    ctx.g.tune.maxaccept = i32::try_from(v).unwrap_or(64);
    Flow::Continue
}

fn tune_pipesize(ctx: &mut GlobalCtx, line: &Line) -> Flow {
    if let Some(n) = tune_number(ctx, line) {
        ctx.g.tune.pipesize = Some(n);
    }
    Flow::Continue
}

fn tune_idletimer(ctx: &mut GlobalCtx, line: &Line) -> Flow {
    if let Some(d) = time_value(ctx, line, TimeUnit::Millis) {
        ctx.g.tune.idletimer = Some(d);
    }
    Flow::Continue
}

fn tune_rcvbuf_client(ctx: &mut GlobalCtx, line: &Line) -> Flow {
    ctx.g.tune.rcvbuf_client = tune_number(ctx, line);
    Flow::Continue
}

fn tune_rcvbuf_server(ctx: &mut GlobalCtx, line: &Line) -> Flow {
    ctx.g.tune.rcvbuf_server = tune_number(ctx, line);
    Flow::Continue
}

fn tune_sndbuf_client(ctx: &mut GlobalCtx, line: &Line) -> Flow {
    ctx.g.tune.sndbuf_client = tune_number(ctx, line);
    Flow::Continue
}

fn tune_sndbuf_server(ctx: &mut GlobalCtx, line: &Line) -> Flow {
    ctx.g.tune.sndbuf_server = tune_number(ctx, line);
    Flow::Continue
}
