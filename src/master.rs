//! Master-worker mode (`-W`, `-Ws`, global `master-worker`): a master
//! process that owns no traffic, starts a worker (rproxy itself, in the
//! foreground), replaces it on SIGUSR2/SIGHUP with a new one that takes
//! over with `-sf`, forwards stop signals, and with `-Ws` tells systemd
//! (`READY=1`, `RELOADING=1`, `STOPPING=1` on `$NOTIFY_SOCKET`), as the
//! Debian unit (`Type=notify`, reload by SIGUSR2) expects.

use crate::cli::Cli;
use nix::sys::signal::{SigSet, Signal, kill};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd};
use std::process::Command;
use std::time::{Duration, Instant};

/// The variable through which a worker finds the pipe it reports its
/// readiness on.
pub const READY_FD_ENV: &str = "RPROXY_MWORKER_READY_FD";

/// The variable naming the private runtime-API socket a worker opens for
/// the master CLI's `@N` commands.
pub const CLI_ENV: &str = "RPROXY_MWORKER_CLI";

fn pid() -> u32 {
    std::process::id()
}

fn alert(msg: &str) {
    eprintln!("[ALERT]    ({}) : {msg}", pid());
}

fn notice(msg: &str) {
    eprintln!("[NOTICE]   ({}) : {msg}", pid());
}

fn warning(msg: &str) {
    eprintln!("[WARNING]  ({}) : {msg}", pid());
}

/// Whether this process is a worker started by a master.
pub fn is_worker() -> bool {
    std::env::var_os(READY_FD_ENV).is_some()
}

/// Tells the master the worker serves (engine started), once.
pub fn worker_ready() {
    let Some(fd) = std::env::var(READY_FD_ENV)
        .ok()
        .and_then(|v| v.parse::<i32>().ok())
    else {
        return;
    };
    // SAFETY: the master passed this descriptor for us alone to own.
    let f = unsafe { std::fs::File::from_raw_fd(fd) };
    use std::io::Write;
    let _ = (&f).write_all(b"R");
    // SAFETY: asks the kernel to send SIGTERM when the master dies.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
    }
}

/// `$NOTIFY_SOCKET` messages (sd_notify without libsystemd).
fn sd_notify(msg: &str) {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    let Ok(sock) = std::os::unix::net::UnixDatagram::unbound() else {
        return;
    };
    let bytes = path.as_encoded_bytes();
    if let Some(name) = bytes.strip_prefix(b"@") {
        use std::os::linux::net::SocketAddrExt;
        if let Ok(addr) = std::os::unix::net::SocketAddr::from_abstract_name(name) {
            let _ = sock.send_to_addr(msg.as_bytes(), &addr);
        }
    } else {
        let _ = sock.send_to(msg.as_bytes(), std::path::Path::new(&path));
    }
}

/// The worker's command line: the master's, without what belongs to the
/// master (`-W`, `-Ws`, `-D`, `-p`, `-S`, `-sf`, `-st`, `-x`), in the
/// foreground.
fn worker_args(args: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 1;
    while i < args.len() {
        let a = args[i].as_str();
        match a {
            "-W" | "-Ws" | "-D" | "-db" => {}
            "-p" | "-S" | "-x" => i += 1,
            "-sf" | "-st" => {
                while args
                    .get(i + 1)
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
                {
                    i += 1;
                }
            }
            _ => out.push(args[i].clone()),
        }
        i += 1;
    }
    out.push("-db".into());
    out
}

struct Worker {
    pid: Pid,
}

/// Starts a worker and waits until it serves or fails.
fn spawn_worker(
    args: &[String],
    old: &[Pid],
    timeout: Duration,
    cli_socket: &std::path::Path,
) -> Result<Worker, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find my executable: {e}"))?;
    let (rd, wr) = nix::unistd::pipe2(nix::fcntl::OFlag::empty())
        .map_err(|e| format!("cannot create a pipe: {e}"))?;
    // The reading end stays with the master only.
    let _ = nix::fcntl::fcntl(
        &rd,
        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
    );
    let mut cmd = Command::new(exe);
    cmd.args(worker_args(args));
    if !old.is_empty() {
        cmd.arg("-sf");
        cmd.args(old.iter().map(|p| p.to_string()));
    }
    cmd.env(READY_FD_ENV, wr.as_raw_fd().to_string());
    cmd.env(CLI_ENV, cli_socket);
    cmd.env_remove("NOTIFY_SOCKET");
    // The worker must not inherit the master's blocked signal mask.
    // SAFETY: pre_exec runs in the child between fork and exec; it only
    // calls the async-signal-safe sigprocmask.
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(|| {
            let _ = SigSet::all().thread_unblock();
            Ok(())
        });
    }
    let child = cmd
        .spawn()
        .map_err(|e| format!("cannot start a worker: {e}"))?;
    drop(wr);
    let wpid = Pid::from_raw(child.id() as i32);
    // Wait for its "ready" byte; end of file means it exited first.
    let mut f = std::fs::File::from(rd);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut b = [0u8; 1];
        let _ = tx.send(matches!(f.read(&mut b), Ok(1)));
    });
    match rx.recv_timeout(timeout) {
        Ok(true) => {
            tracing::info!("rproxy: worker {wpid} serves");
            Ok(Worker { pid: wpid })
        }
        _ => {
            let _ = kill(wpid, Signal::SIGKILL);
            let _ = waitpid(wpid, None);
            Err("the new worker failed to start".into())
        }
    }
}

/// Runs the master until it stops; returns the exit status.
pub fn run(cli: &Cli, args: &[String]) -> i32 {
    crate::trace::init(cli.debug, cli.verbose);
    let loaded = crate::config::load(&cli.config, crate::run::load_options(cli));
    let quiet = (cli.quiet || loaded.config.global.quiet) && !cli.verbose;
    crate::run::print_diagnostics(&loaded.diags, quiet);
    if loaded.verdict == crate::config::Verdict::Invalid {
        return 1;
    }
    let cfg = loaded.config;
    let systemd = cli.master_worker_systemd;
    let daemon = (cli.daemon || cfg.global.daemon) && !cli.foreground && !cli.debug && !systemd;
    let pidfile = cli.pidfile.clone().or_else(|| cfg.global.pidfile.clone());
    let max_reloads = cfg.global.mworker_max_reloads;
    let mut sigs = SigSet::empty();
    for s in [
        Signal::SIGUSR1,
        Signal::SIGUSR2,
        Signal::SIGHUP,
        Signal::SIGTERM,
        Signal::SIGINT,
        Signal::SIGQUIT,
        Signal::SIGTTOU,
        Signal::SIGTTIN,
        Signal::SIGCHLD,
    ] {
        sigs.add(s);
    }
    let _ = sigs.thread_block();
    let old = cli
        .soft_stop_pids()
        .into_iter()
        .chain(cli.hard_stop_pids())
        .map(Pid::from_raw)
        .collect::<Vec<_>>();
    // The master detaches first: its workers must be its own children.
    if daemon {
        if let Err(e) = crate::start::detach(pidfile.as_deref()) {
            alert(&e);
            return 1;
        }
    } else if let Some(p) = &pidfile
        && let Err(e) = crate::start::write_pidfile(p, pid())
    {
        alert(&format!(
            "[rproxy.main()] Cannot create pidfile {} ({e})",
            p.display()
        ));
        return 1;
    }
    // HAProxy 2.6's master re-executes itself once started and on every
    // reload, announcing each execution: systemd sees RELOADING=1 before
    // the first READY=1, and twice per reload.
    sd_notify("RELOADING=1");
    // Private sockets for the workers' runtime API (master CLI `@N`).
    let private = std::env::temp_dir().join(format!("rproxy-master-{}", pid()));
    let _ = std::fs::create_dir_all(&private);
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700));
    }
    let mut spawned = 0u32;
    let mut next_socket = || {
        spawned += 1;
        private.join(format!("worker-{spawned}.sock"))
    };
    let first_socket = next_socket();
    let mut current = match spawn_worker(args, &old, Duration::from_secs(60), &first_socket) {
        Ok(w) => w,
        Err(e) => {
            alert(&e);
            let _ = std::fs::remove_dir_all(&private);
            return 1;
        }
    };
    let procs: crate::master_cli::Shared =
        std::sync::Arc::new(std::sync::Mutex::new(crate::master_cli::Procs {
            master_pid: pid(),
            started: Instant::now(),
            reloads: 0,
            failed: 0,
            workers: vec![crate::master_cli::Worker {
                pid: current.pid.as_raw() as u32,
                socket: first_socket,
                started: Instant::now(),
                reloads: 0,
            }],
        }));
    if let Err(e) = crate::master_cli::start(&cli.master_cli, std::sync::Arc::clone(&procs)) {
        alert(&e);
    }
    let forget = |procs: &crate::master_cli::Shared, p: Pid| {
        let mut g = procs.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(w) = g.workers.iter().position(|w| w.pid == p.as_raw() as u32) {
            let _ = std::fs::remove_file(&g.workers[w].socket);
            g.workers.remove(w);
        }
    };
    sd_notify(&format!("READY=1\nMAINPID={}", pid()));
    let mut retiring: Vec<Pid> = Vec::new();
    let mut reloads = 0u32;
    // The reload count at each worker's start.
    let mut born: std::collections::HashMap<Pid, u32> = std::collections::HashMap::new();
    loop {
        let Ok(sig) = sigs.wait() else { continue };
        match sig {
            Signal::SIGUSR2 | Signal::SIGHUP => {
                sd_notify("RELOADING=1");
                sd_notify("RELOADING=1");
                notice("Reloading HAProxy");
                let socket = next_socket();
                match spawn_worker(args, &[current.pid], Duration::from_secs(60), &socket) {
                    Ok(w) => {
                        reloads += 1;
                        {
                            let mut g = procs.lock().unwrap_or_else(|e| e.into_inner());
                            g.reloads = reloads;
                            g.workers.insert(
                                0,
                                crate::master_cli::Worker {
                                    pid: w.pid.as_raw() as u32,
                                    socket,
                                    started: Instant::now(),
                                    reloads,
                                },
                            );
                        }
                        retiring.push(current.pid);
                        born.insert(w.pid, reloads);
                        current = w;
                        // A worker that outlived mworker-max-reloads
                        // reloads is told to go.
                        if let Some(max) = max_reloads {
                            for p in &retiring {
                                let age = reloads - born.get(p).copied().unwrap_or(0);
                                if age > max {
                                    let _ = kill(*p, Signal::SIGTERM);
                                }
                            }
                        }
                        notice("Loading success.");
                    }
                    Err(e) => {
                        procs.lock().unwrap_or_else(|e| e.into_inner()).failed += 1;
                        alert(&format!(
                            "{e}; the previous worker keeps serving with the old configuration."
                        ));
                    }
                }
                sd_notify(&format!("READY=1\nMAINPID={}", pid()));
            }
            Signal::SIGTERM | Signal::SIGINT | Signal::SIGUSR1 => {
                sd_notify("STOPPING=1");
                let forward = if sig == Signal::SIGUSR1 {
                    Signal::SIGUSR1
                } else {
                    Signal::SIGTERM
                };
                for p in retiring.iter().chain(std::iter::once(&current.pid)) {
                    let _ = kill(*p, forward);
                }
                wait_all(&mut retiring, current.pid);
                warning("Exiting Master process...");
                let _ = std::fs::remove_dir_all(&private);
                return 0;
            }
            Signal::SIGQUIT | Signal::SIGTTOU | Signal::SIGTTIN => {
                for p in retiring.iter().chain(std::iter::once(&current.pid)) {
                    let _ = kill(*p, sig);
                }
            }
            Signal::SIGCHLD => loop {
                match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                    Ok(WaitStatus::Exited(p, code)) => {
                        if p == current.pid {
                            alert(&format!("Current worker (pid {p}) exited with code {code}"));
                            stop_all(&retiring);
                            let _ = std::fs::remove_dir_all(&private);
                            return code;
                        }
                        retiring.retain(|x| *x != p);
                        forget(&procs, p);
                    }
                    Ok(WaitStatus::Signaled(p, s, _)) => {
                        if p == current.pid {
                            alert(&format!(
                                "Current worker (pid {p}) exited with code {} ({s})",
                                128 + s as i32
                            ));
                            stop_all(&retiring);
                            let _ = std::fs::remove_dir_all(&private);
                            return 128 + s as i32;
                        }
                        retiring.retain(|x| *x != p);
                        forget(&procs, p);
                    }
                    Ok(WaitStatus::StillAlive) | Err(_) => break,
                    Ok(_) => {}
                }
            },
            _ => {}
        }
    }
}

fn stop_all(pids: &[Pid]) {
    for p in pids {
        let _ = kill(*p, Signal::SIGTERM);
    }
}

/// Waits for every worker to exit.
fn wait_all(retiring: &mut Vec<Pid>, current: Pid) {
    let deadline = Instant::now() + Duration::from_secs(3600);
    let mut left: Vec<Pid> = retiring.drain(..).chain(std::iter::once(current)).collect();
    while !left.is_empty() && Instant::now() < deadline {
        match waitpid(None, None) {
            Ok(WaitStatus::Exited(p, _)) | Ok(WaitStatus::Signaled(p, _, _)) => {
                left.retain(|x| *x != p);
            }
            Err(_) => break,
            Ok(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worker_command_line() {
        let args: Vec<String> = "rproxy -Ws -f /etc/haproxy/haproxy.cfg -p /run/haproxy.pid -S /run/m.sock -sf 12 34 -q"
            .split(' ')
            .map(str::to_string)
            .collect();
        assert_eq!(
            worker_args(&args),
            vec!["-f", "/etc/haproxy/haproxy.cfg", "-q", "-db"]
        );
    }
}
