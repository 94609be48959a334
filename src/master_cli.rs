//! The master CLI (`-S SOCKET`): HAProxy's commands on the master —
//! `show proc`, `reload`, `show version`, `show cli level`, levels,
//! `prompt` — and `@N` / `@!PID` / `@master` prefixes that send a command
//! to a worker's runtime API (each worker gets a private admin socket
//! from the master for this).

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// What `show proc` lists, kept by the master's signal loop.
pub struct Procs {
    pub master_pid: u32,
    pub started: Instant,
    pub reloads: u32,
    pub failed: u32,
    /// Newest first: (pid, its private CLI socket, start, reloads seen).
    pub workers: Vec<Worker>,
}

#[derive(Clone)]
pub struct Worker {
    pub pid: u32,
    pub socket: PathBuf,
    pub started: Instant,
    pub reloads: u32,
}

pub type Shared = Arc<Mutex<Procs>>;

fn uptime(t: Instant) -> String {
    let s = t.elapsed().as_secs();
    format!(
        "{}d{:02}h{:02}m{:02}s",
        s / 86400,
        (s / 3600) % 24,
        (s / 60) % 60,
        s % 60
    )
}

fn line(cols: [&str; 5]) -> String {
    format!(
        "{:<15} {:<15} {:<15} {:<15} {:<15}\n",
        cols[0], cols[1], cols[2], cols[3], cols[4]
    )
}

fn show_proc(p: &Procs) -> String {
    let v = crate::stats::info::version();
    let mut out = line(["#<PID>", "<type>", "<reloads>", "<uptime>", "<version>"]);
    out.push_str(&line([
        &p.master_pid.to_string(),
        "master",
        &format!("{} [failed: {}]", p.reloads, p.failed),
        &uptime(p.started),
        &v,
    ]));
    out.push_str("# workers\n");
    for w in &p.workers {
        out.push_str(&line([
            &w.pid.to_string(),
            "worker",
            &(p.reloads - w.reloads).to_string(),
            &uptime(w.started),
            &v,
        ]));
    }
    out.push_str("# programs\n");
    out
}

use crate::runtime_api::commands::{help_line, tail_lines};

const HELP: &[(&str, &str, bool)] = &[
    ("@!<pid>", "send a command to the <pid> process", true),
    (
        "@<relative pid>",
        "send a command to the <relative pid> process",
        false,
    ),
    ("@master", "send a command to the master process", true),
    (
        "operator",
        "lower the level of the current CLI session to operator",
        true,
    ),
    ("reload", "reload haproxy", true),
    (
        "show cli level",
        "display the level of the current CLI session",
        false,
    ),
    ("show cli sockets", "dump list of cli sockets", false),
    ("show proc", "show processes status", false),
    ("show version", "show version of the current process", false),
    (
        "user",
        "lower the level of the current CLI session to user",
        true,
    ),
];

fn help(all: bool) -> String {
    let mut out = if all {
        String::from("The following commands are valid at this level:\n")
    } else {
        String::from("Unknown command, but maybe one of the following ones is a better match:\n")
    };
    for (u, h, short) in HELP {
        if all || *short {
            out.push_str(&help_line(u, h));
        }
    }
    out.push_str(&tail_lines());
    out
}

/// Sends `cmd` to a worker's private socket; its whole answer.
fn forward(sock: &Path, cmd: &str) -> String {
    let Ok(mut s) = UnixStream::connect(sock) else {
        return String::new();
    };
    let _ = s.write_all(format!("{cmd}\n").as_bytes());
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

struct Session {
    level: u8,
    interactive: bool,
}

/// One command; `None` to disconnect. Answers of the master's own
/// commands get the empty line the runtime API ends them with.
fn run(procs: &Shared, sess: &mut Session, cmd: &str) -> Option<String> {
    let cmd = cmd.trim();
    let words: Vec<&str> = cmd.split_whitespace().collect();
    let ended = |s: String| if s.is_empty() { s } else { s + "\n" };
    if let Some(target) = words.first().and_then(|w| w.strip_prefix('@')) {
        let rest = cmd[words[0].len()..].trim();
        if target == "master" {
            return run(procs, sess, rest);
        }
        let p = procs.lock().unwrap_or_else(|e| e.into_inner());
        let worker = if let Some(pid) = target.strip_prefix('!') {
            pid.parse::<u32>()
                .ok()
                .and_then(|pid| p.workers.iter().find(|w| w.pid == pid))
        } else {
            target
                .parse::<usize>()
                .ok()
                .filter(|n| *n >= 1)
                .and_then(|n| p.workers.get(n - 1))
        };
        let Some(w) = worker.cloned() else {
            return Some(format!(
                "Can't find the target PID matching the prefix '{}'\n",
                words[0]
            ));
        };
        drop(p);
        if rest.is_empty() {
            return Some(String::new());
        }
        return Some(forward(&w.socket, rest));
    }
    Some(match words.as_slice() {
        ["quit", ..] => return None,
        ["prompt", ..] => {
            sess.interactive = !sess.interactive;
            String::new()
        }
        ["help", ..] => ended(help(true)),
        ["show", "proc", ..] => ended(show_proc(&procs.lock().unwrap_or_else(|e| e.into_inner()))),
        ["show", "version", ..] => ended(format!("{}\n", crate::stats::info::version())),
        ["show", "cli", "level", ..] => ended(
            match sess.level {
                2 => "admin\n",
                1 => "operator\n",
                _ => "user\n",
            }
            .to_string(),
        ),
        ["operator"] => {
            sess.level = sess.level.min(1);
            String::new()
        }
        ["user"] => {
            sess.level = 0;
            String::new()
        }
        ["reload"] if sess.level == 2 => {
            let _ =
                nix::sys::signal::kill(nix::unistd::Pid::this(), nix::sys::signal::Signal::SIGUSR2);
            String::new()
        }
        ["reload"] => ended("Permission denied\n".into()),
        _ => ended(help(false)),
    })
}

fn serve(procs: &Shared, s: UnixStream) {
    let mut sess = Session {
        level: 2,
        interactive: false,
    };
    let Ok(reader) = s.try_clone() else { return };
    let mut reader = BufReader::new(reader);
    let mut out = s;
    let mut line = String::new();
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        if !line.ends_with('\n') {
            return;
        }
        let mut reply = String::new();
        for cmd in line.trim_end_matches(['\r', '\n']).split(';') {
            match run(procs, &mut sess, cmd) {
                Some(r) => reply.push_str(&r),
                None => {
                    let _ = out.write_all(reply.as_bytes());
                    return;
                }
            }
            if sess.interactive {
                reply.push_str("master> ");
            }
        }
        if out.write_all(reply.as_bytes()).is_err() {
            return;
        }
        if !sess.interactive && reader.buffer().is_empty() {
            return;
        }
    }
}

/// Binds `-S` sockets (their options after a comma are ignored) and
/// serves them on a thread.
pub fn start(specs: &[String], procs: Shared) -> Result<(), String> {
    for spec in specs {
        let path = spec.split(',').next().unwrap_or(spec);
        let path = path.strip_prefix("unix@").unwrap_or(path);
        let _ = std::fs::remove_file(path);
        let l = UnixListener::bind(path)
            .map_err(|e| format!("master CLI: cannot bind UNIX socket ({e}) [{path}]"))?;
        let procs = Arc::clone(&procs);
        std::thread::Builder::new()
            .name("master-cli".into())
            .spawn(move || {
                for s in l.incoming().flatten() {
                    serve(&procs, s);
                }
            })
            .map_err(|e| format!("master CLI: {e}"))?;
    }
    Ok(())
}
