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

/// The process-wide connection limit: `-n`, else global `maxconn`, else
/// what the file-descriptor limit allows (HAProxy: two fds per connection
/// plus a reserve).
pub fn effective_maxconn(cli: &Cli, cfg: &Config) -> u32 {
    if let Some(n) = cli.maxconn.filter(|n| *n > 0) {
        return n;
    }
    if let Some(n) = cfg.global.maxconn {
        return n;
    }
    let nofile = cfg
        .global
        .ulimit_n
        .or_else(|| {
            nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
                .ok()
                .map(|(soft, _)| soft)
        })
        .unwrap_or(1024);
    (nofile.saturating_sub(40) / 2).clamp(1, u64::from(u32::MAX)) as u32
}

/// Raises RLIMIT_NOFILE to what `maxconn` needs (or to `ulimit-n`). When
/// maxconn was derived from the limit, it already fits.
fn raise_fd_limit(cli: &Cli, cfg: &Config, maxconn: u32, listeners: usize) -> Result<(), String> {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let explicit = cli.maxconn.is_some() || cfg.global.maxconn.is_some();
    if !explicit && cfg.global.ulimit_n.is_none() {
        return Ok(());
    }
    let needed = cfg
        .global
        .ulimit_n
        .unwrap_or_else(|| u64::from(maxconn) * 2 + listeners as u64 + 100);
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).map_err(|e| e.to_string())?;
    if soft >= needed {
        return Ok(());
    }
    let target = needed.min(hard);
    setrlimit(Resource::RLIMIT_NOFILE, target, hard.max(target)).map_err(|e| e.to_string())?;
    if target < needed {
        eprintln!(
            "[WARNING]  ({}) : [rproxy.main()] Cannot raise FD limit to {needed}, limit is {hard}. rproxy runs with {target} file descriptors; HAProxy 2.6 would refuse to start.",
            pid()
        );
    }
    Ok(())
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
    let loaded = crate::config::load(&cli.config, crate::run::load_options(&cli));
    let quiet = (cli.quiet || loaded.config.global.quiet) && !cli.verbose;
    crate::run::print_diagnostics(&loaded.diags, quiet);
    if loaded.verdict == crate::config::Verdict::Invalid {
        return 1;
    }
    let cfg = loaded.config;
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

    let maxconn = effective_maxconn(&cli, &cfg);
    let threads = cfg
        .global
        .nbthread
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let model = ThreadModel::from_env();
    let reuseport = !(cli.no_reuseport || cfg.global.noreuseport) || model == ThreadModel::PerCore;
    let listeners = match listener::bind_all(&cfg, maxconn, reuseport, model.copies(threads)) {
        Ok(l) => l,
        Err(e) => {
            alert(&format!("config : {}", e.message()));
            alert("[rproxy.main()] Some protocols failed to start their listeners! Exiting.");
            return 1;
        }
    };
    if let Err(e) = raise_fd_limit(&cli, &cfg, maxconn, listeners.len()) {
        alert(&format!("[rproxy.main()] Cannot raise FD limit: {e}"));
        return 1;
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
    let shared = Arc::new(Shared::new(Arc::clone(&cfg), maxconn));
    let engine = match Engine::start(shared, listeners, threads, model) {
        Ok(e) => e,
        Err(e) => {
            alert(&format!("cannot start the engine threads: {e}"));
            return 1;
        }
    };
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
