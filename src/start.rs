//! Starting the proxies of a configuration: limits, listeners, daemon mode
//! and pidfile, the engine threads, and the signal loop (soft stop on
//! SIGUSR1, hard stop on SIGTERM/SIGINT).

use crate::cli::Cli;
use crate::config::Config;
use crate::config::model::UseSrc;
use crate::diag::{Diagnostic, Diagnostics};
use crate::engine::{Engine, ThreadModel, listener, state::Shared};
use nix::sys::signal::{SigSet, Signal};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn pid() -> u32 {
    std::process::id()
}

fn alert(msg: &str) {
    eprintln!("[ALERT]    ({}) : {msg}", pid());
}

fn warning(msg: &str) {
    eprintln!("[WARNING]  ({}) : {msg}", pid());
}

/// The connection limit set by `-n`, else by global `maxconn`.
fn explicit_maxconn(cli: &Cli, cfg: &Config) -> Option<u32> {
    cli.maxconn.filter(|n| *n > 0).or(cfg.global.maxconn)
}

/// HAProxy's floor for a maxconn derived from the descriptor limit.
const DEFAULT_MAXCONN: u64 = 100;

/// Descriptors besides two per connection: one per listener, ten spare,
/// and three per thread (event loop and wake-up pipe), as HAProxy counts.
fn fd_reserve(listeners: usize, threads: usize) -> u64 {
    listeners as u64 + 10 + 3 * threads as u64
}

/// The process-wide connection limit: `-n`, else global `maxconn`, else
/// what the descriptor limit allows (HAProxy: two per connection, from the
/// larger of the soft and hard limits, which it then raises to).
fn derived_maxconn(cli: &Cli, cfg: &Config, listeners: usize, threads: usize) -> u32 {
    if let Some(n) = explicit_maxconn(cli, cfg) {
        return n;
    }
    use nix::sys::resource::{Resource, getrlimit};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap_or((1024, 1024));
    let remain = soft
        .max(hard)
        .saturating_sub(fd_reserve(listeners, threads));
    u32::try_from((remain / 2).max(DEFAULT_MAXCONN)).unwrap_or(u32::MAX)
}

/// `argv[0]`, which HAProxy puts in its start-up messages.
fn argv0() -> String {
    std::env::args().next().unwrap_or_else(|| "rproxy".into())
}

/// Raises RLIMIT_NOFILE to what `maxconn` needs (or to `ulimit-n`), as
/// HAProxy does (it only ever raises it), and returns the maxconn to run
/// with. With `strict-limits` a limit that cannot be met stops start-up as
/// in HAProxy, and with `no strict-limits` it is reported and ignored.
/// Unset, HAProxy 2.6 behaves as `strict-limits`; rproxy instead warns and
/// lowers maxconn to what the limit allows, so that connections wait in
/// the backlog instead of the process failing to start.
fn fit_fd_limit(cfg: &Config, maxconn: u32, reserve: u64) -> Result<u32, String> {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let strict = cfg.global.strict_limits;
    let argv0 = argv0();
    let maxsock = u64::from(maxconn) * 2 + reserve;
    let wanted = cfg.global.ulimit_n.unwrap_or(maxsock);
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).map_err(|e| e.to_string())?;
    let mut limit = soft;
    if soft < wanted {
        let target = wanted.min(hard);
        if target < wanted && strict == Some(true) {
            return Err(format!(
                "[{argv0}.main()] Cannot raise FD limit to {wanted}, limit is {hard}."
            ));
        }
        setrlimit(Resource::RLIMIT_NOFILE, target, hard).map_err(|e| e.to_string())?;
        limit = target;
        if target < wanted {
            warning(&format!(
                "[{argv0}.main()] Cannot raise FD limit to {wanted}, limit is {hard}."
            ));
        }
    }
    if limit >= maxsock {
        return Ok(maxconn);
    }
    let too_low = format!(
        "[{argv0}.main()] FD limit ({limit}) too low for maxconn={maxconn}/maxsock={maxsock}. Please raise 'ulimit-n' to {maxsock} or more to avoid any trouble."
    );
    match strict {
        Some(true) => Err(too_low),
        Some(false) => {
            alert(&too_low);
            Ok(maxconn)
        }
        None => {
            let fitted = (limit.saturating_sub(reserve) / 2).max(1);
            let fitted = u32::try_from(fitted).unwrap_or(u32::MAX).min(maxconn);
            warning(&format!(
                "{too_low} rproxy lowers maxconn to {fitted} (HAProxy 2.6 would refuse to start)."
            ));
            Ok(fitted)
        }
    }
}

/// Effective capabilities of this process, from /proc/self/status.
fn effective_caps() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("CapEff:"))
                .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        })
        .unwrap_or(0)
}

const CAP_NET_ADMIN: u64 = 12;
const CAP_NET_RAW: u64 = 13;

/// Directives needing IP_TRANSPARENT: `usesrc` and `bind … transparent`.
fn needs_transparency(cfg: &Config) -> Option<String> {
    for p in &cfg.proxies {
        for b in &p.binds {
            if b.transparent {
                return Some(format!("'bind ... transparent' at [{}]", b.origin));
            }
        }
        let srcs = p
            .source
            .iter()
            .chain(p.servers.iter().filter_map(|s| s.opts.source.as_deref()));
        for s in srcs {
            if matches!(
                s.usesrc,
                Some(UseSrc::Client | UseSrc::ClientIp | UseSrc::Addr(_) | UseSrc::HdrIp { .. })
            ) {
                return Some(format!("'usesrc' at [{}]", s.origin));
            }
        }
    }
    None
}

/// Rules that refuse traffic on a condition the engine cannot evaluate,
/// with what it cannot evaluate.
pub fn unevaluable_access_rules(cfg: &Config) -> Vec<(crate::diag::Origin, String)> {
    let mut compiler = crate::engine::acl::Compiler::default();
    access_rules(cfg)
        .into_iter()
        .filter_map(|(origin, cond)| {
            compiler
                .condition(cond)
                .unsupported()
                .map(|what| (origin.clone(), what))
        })
        .collect()
}

/// The conditions of the rules that refuse traffic: an unevaluable
/// condition there would silently let traffic through.
fn access_rules(cfg: &Config) -> Vec<(&crate::diag::Origin, &crate::config::model::Condition)> {
    use crate::config::model::{HttpAction, TcpAction};
    let mut out = Vec::new();
    for p in &cfg.proxies {
        let r = &p.rules;
        for h in r.http_request.iter().chain(&r.http_response) {
            if matches!(
                h.action,
                HttpAction::Deny(_)
                    | HttpAction::Reject
                    | HttpAction::Tarpit(_)
                    | HttpAction::Auth { .. }
            ) && let Some(c) = &h.cond
            {
                out.push((&h.origin, c));
            }
        }
        for t in r
            .tcp_request_connection
            .iter()
            .chain(&r.tcp_request_session)
            .chain(&r.tcp_request_content)
        {
            if matches!(t.action, TcpAction::Reject | TcpAction::SilentDrop)
                && let Some(c) = &t.cond
            {
                out.push((&t.origin, c));
            }
        }
    }
    out
}

/// `usesrc` and `source … interface` need root for every connection.
fn needs_full_privileges(cfg: &Config) -> bool {
    cfg.proxies.iter().any(|p| {
        p.source
            .iter()
            .chain(p.servers.iter().filter_map(|s| s.opts.source.as_deref()))
            .any(|s| s.usesrc.is_some() || s.interface.is_some())
    })
}

/// Refuses what rproxy cannot run safely; HAProxy would run it.
fn refusals(cfg: &Config) -> Diagnostics {
    let mut d = Diagnostics::new();
    for n in cfg.not_enforced.iter().filter(|n| n.security) {
        d.push(Diagnostic::alert(
            Some(n.origin.clone()),
            format!(
                "'{}' is not supported by rproxy yet, and running without it would be unsafe. Refusing to start.",
                n.keyword
            ),
        ));
    }
    for (origin, what) in unevaluable_access_rules(cfg) {
        d.push(Diagnostic::alert(
            Some(origin),
            format!(
                "this access-control rule reads {what}, which rproxy cannot evaluate yet: the rule would never match. Refusing to start."
            ),
        ));
    }
    if let Some(what) = needs_transparency(cfg) {
        let caps = effective_caps();
        if caps & (1 << CAP_NET_ADMIN | 1 << CAP_NET_RAW) == 0 {
            // HAProxy 2.6 starts and then fails every such connection in
            // silence (503, nothing logged); rproxy says so up front.
            d.push(Diagnostic::alert(
                None,
                format!(
                    "{what} needs the CAP_NET_ADMIN (or CAP_NET_RAW) capability for IP_TRANSPARENT, and this process does not have it. Run rproxy as root or grant it: setcap cap_net_admin+ep $(command -v rproxy)."
                ),
            ));
        }
    }
    d
}

/// Detaches into the background (`-D`): the parent writes the child's
/// pid to the pid file and exits 0.
pub fn detach(pidfile: Option<&std::path::Path>) -> Result<(), String> {
    daemonize(pidfile)
}

fn daemonize(pidfile: Option<&std::path::Path>) -> Result<(), String> {
    use nix::unistd::{ForkResult, fork, setsid};
    // SAFETY: no thread has been started yet (the engine starts after).
    match unsafe { fork() } {
        Err(e) => Err(format!("cannot fork: {e}")),
        Ok(ForkResult::Parent { child }) => {
            if let Some(p) = pidfile
                && let Err(e) = write_pidfile(p, child.as_raw() as u32)
            {
                alert(&format!(
                    "[rproxy.main()] Cannot create pidfile {} ({e})",
                    p.display()
                ));
                std::process::exit(1);
            }
            std::process::exit(0);
        }
        Ok(ForkResult::Child) => {
            let _ = setsid();
            let _ = std::env::set_current_dir("/");
            redirect_stdio();
            Ok(())
        }
    }
}

fn redirect_stdio() {
    if let Ok(null) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
    {
        use std::os::fd::AsRawFd;
        for fd in 0..3 {
            // SAFETY: dup2 onto the standard descriptors of this process.
            unsafe {
                libc::dup2(null.as_raw_fd(), fd);
            }
        }
    }
}

/// As HAProxy writes it: unlinked, then created 0644, "<pid>\n".
pub fn write_pidfile(p: &std::path::Path, pid: u32) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let _ = std::fs::remove_file(p);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .open(p)?;
    writeln!(f, "{pid}")
}

fn signal_old(pids: &[i32], sig: Signal) {
    for p in pids {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(*p), sig);
    }
}

pub fn run(cli: Cli) -> i32 {
    crate::trace::init(cli.debug, cli.verbose);
    let t0 = Instant::now();
    let loaded = crate::config::load(&cli.config, crate::run::load_options(&cli));
    tracing::info!(
        "rproxy: configuration loaded in {} ms: {} proxies, {} servers",
        t0.elapsed().as_millis(),
        loaded.config.proxies.len(),
        loaded
            .config
            .proxies
            .iter()
            .map(|p| p.servers.len())
            .sum::<usize>()
    );
    let quiet = (cli.quiet || loaded.config.global.quiet) && !cli.verbose;
    crate::run::print_diagnostics(&loaded.diags, quiet);
    if loaded.verdict == crate::config::Verdict::Invalid {
        return 1;
    }
    let cfg = loaded.config;
    if cfg.global.master_worker && !crate::master::is_worker() {
        let args: Vec<String> = std::env::args().collect();
        return crate::master::run(&cli, &args);
    }
    let refused = refusals(&cfg);
    if refused.has_fatal() {
        crate::run::print_diagnostics(&refused, false);
        return 1;
    }
    if !listener::has_listeners(&cfg) {
        alert("[rproxy.main()] No enabled listener found (check for 'bind' directives) ! Exiting.");
        return 1;
    }
    crate::engine::NO_SPLICE.store(
        cli.no_splice || cfg.global.nosplice,
        std::sync::atomic::Ordering::Relaxed,
    );

    let threads = cfg
        .global
        .nbthread
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let model = ThreadModel::from_env();
    let reuseport = !(cli.no_reuseport || cfg.global.noreuseport) || model == ThreadModel::PerCore;
    // Listen backlogs default to maxconn: a first estimate is enough.
    let maxconn = derived_maxconn(&cli, &cfg, 0, threads);
    // A reload takes the listening sockets of the processes it replaces.
    let old_pids: Vec<i32> = cli
        .soft_stop_pids()
        .into_iter()
        .chain(cli.hard_stop_pids())
        .collect();
    let mut inherited = crate::engine::takeover::from_pids(&old_pids);
    let offered = inherited.count();
    if !old_pids.is_empty() {
        tracing::info!(
            "rproxy: took over {} listening sockets from {:?}",
            inherited.count(),
            old_pids
        );
    }
    let listeners = match listener::bind_all(
        &cfg,
        maxconn,
        reuseport,
        model.copies(threads),
        &mut inherited,
    ) {
        Ok(l) => l,
        Err(e) => {
            alert(&format!("config : {}", e.message()));
            alert("[rproxy.main()] Some protocols failed to start their listeners! Exiting.");
            return 1;
        }
    };
    tracing::info!(
        "rproxy: {} listening sockets ready ({} taken over), {threads} engine threads, model {model:?}",
        listeners.len(),
        offered - inherited.count()
    );
    let maxconn = derived_maxconn(&cli, &cfg, listeners.len(), threads);
    let maxconn = match fit_fd_limit(&cfg, maxconn, fd_reserve(listeners.len(), threads)) {
        Ok(m) => m,
        Err(e) => {
            alert(&e);
            return 1;
        }
    };

    let stats_sockets = match crate::runtime_api::bind(&cfg) {
        Ok(b) => b,
        Err(e) => {
            alert(&e);
            return 1;
        }
    };

    let drop_to = match crate::privileges::target(&cfg) {
        Ok(t) => t,
        Err(e) => {
            alert(&e);
            return 1;
        }
    };
    let full_privileges = needs_full_privileges(&cfg) || needs_transparency(&cfg).is_some();
    if let Some(w) = crate::privileges::check(full_privileges) {
        warning(&w);
    }

    // The new process is bound: ask old ones to finish (-sf) or stop (-st).
    signal_old(&cli.soft_stop_pids(), Signal::SIGUSR1);
    signal_old(&cli.hard_stop_pids(), Signal::SIGTERM);

    let daemon = (cli.daemon || cfg.global.daemon) && !cli.foreground && !cli.debug;
    let pidfile = cli.pidfile.clone().or_else(|| cfg.global.pidfile.clone());
    if daemon && let Err(e) = daemonize(pidfile.as_deref()) {
        alert(&e);
        return 1;
    }

    // State files are read before any chroot, as HAProxy reads them.
    let saved_states = crate::engine::server_state::read(&cfg);
    if let Err(e) = crate::privileges::drop(&cfg, &drop_to, full_privileges) {
        alert(&e);
        return 1;
    }

    // Signals are taken synchronously by this thread; the engine threads
    // inherit the blocked mask.
    let mut sigs = SigSet::empty();
    for s in [
        Signal::SIGUSR1,
        Signal::SIGTERM,
        Signal::SIGINT,
        Signal::SIGHUP,
        Signal::SIGTTOU,
        Signal::SIGTTIN,
        Signal::SIGUSR2,
        Signal::SIGQUIT,
    ] {
        sigs.add(s);
    }
    let _ = sigs.thread_block();
    // SIGPIPE must never kill the process (writes to closed peers).
    // SAFETY: setting the disposition of SIGPIPE to ignore is always sound.
    unsafe {
        let _ = nix::sys::signal::signal(Signal::SIGPIPE, nix::sys::signal::SigHandler::SigIgn);
    }

    let cfg = Arc::new(cfg);
    crate::log::init(&cfg, daemon || quiet);
    crate::stats::info::mark_start();
    let shared = Arc::new(Shared::new(Arc::clone(&cfg), maxconn, threads));
    crate::engine::server_state::load(&shared, &saved_states);
    crate::runtime_api::start(Arc::clone(&shared), stats_sockets);
    // The checks thread lives as long as the process.
    let _checks = crate::engine::check::start(Arc::clone(&shared));
    let engine = match Engine::start(shared, listeners, threads, model) {
        Ok(e) => e,
        Err(e) => {
            alert(&format!("cannot start the engine threads: {e}"));
            return 1;
        }
    };
    crate::master::worker_ready();
    signal_loop(engine, &cfg, sigs)
}

fn signal_loop(engine: Engine, cfg: &Config, sigs: SigSet) -> i32 {
    loop {
        let sig = match sigs.wait() {
            Ok(s) => s,
            Err(_) => continue,
        };
        match sig {
            Signal::SIGUSR1 => {
                soft_stop(&engine, cfg);
                engine.join();
                return 0;
            }
            Signal::SIGHUP => crate::log::events::servers_states(&engine.shared),
            Signal::SIGTTOU => engine.pause(true),
            Signal::SIGTTIN => engine.pause(false),
            Signal::SIGQUIT => eprintln!(
                "[NOTICE]   ({}) : SIGQUIT received: rproxy keeps no memory pools to dump or flush.",
                std::process::id()
            ),
            Signal::SIGTERM | Signal::SIGINT => {
                // HAProxy does not catch these: the process dies of the
                // signal (exit status 128+N seen by the shell and systemd).
                let _ = SigSet::from(sig).thread_unblock();
                // SAFETY: restoring the default disposition is always sound.
                unsafe {
                    let _ = nix::sys::signal::signal(sig, nix::sys::signal::SigHandler::SigDfl);
                }
                let _ = nix::sys::signal::raise(sig);
                return 128 + sig as i32;
            }
            _ => {}
        }
    }
}

/// Stops accepting, lets sessions finish, and cuts them at
/// `hard-stop-after`.
fn soft_stop(engine: &Engine, cfg: &Config) {
    engine.stop_accepting();
    crate::log::events::proxies_stopped(&engine.shared);
    let started = Instant::now();
    let limit = cfg.global.hard_stop_after;
    while engine.active() > 0 {
        if limit.is_some_and(|l| started.elapsed() >= l) {
            engine.kill_all();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    engine.kill_all();
}
