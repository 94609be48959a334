//! HAProxy's runtime API on `stats socket` lines: a line-oriented command
//! protocol over a Unix or TCP socket, one command line per connection
//! unless `prompt` makes it interactive, commands separated by `;`, each
//! answer ended by an empty line, with the socket's access level.

pub(crate) mod commands;
mod errors;
mod sessions;
mod show;

use crate::config::address::Endpoint;
use crate::config::model::{CliLevel, Config, StatsSocket};
use crate::engine::state::Shared;
use crate::engine::streams::{NewStream, Origin};
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A stats socket bound at start-up, before the process detaches, so that
/// a path or port already in use stops start-up as HAProxy does.
pub enum Bound {
    Unix(std::os::unix::net::UnixListener, CliLevel),
    Tcp(std::net::TcpListener, CliLevel),
}

/// Binds every `stats socket` of the configuration.
pub fn bind(cfg: &Config) -> Result<Vec<Bound>, String> {
    let mut out = Vec::new();
    for s in &cfg.global.stats_sockets {
        out.push(bind_one(s)?);
    }
    // A worker's private socket for the master CLI.
    if let Some(path) = std::env::var_os(crate::master::CLI_ENV) {
        let l = std::os::unix::net::UnixListener::bind(&path)
            .and_then(|l| l.set_nonblocking(true).map(|_| l))
            .map_err(|e| format!("master CLI socket for this worker: {e}"))?;
        out.push(Bound::Unix(l, CliLevel::Admin));
    }
    Ok(out)
}

fn bind_one(s: &StatsSocket) -> Result<Bound, String> {
    match &s.addr {
        Endpoint::Unix(path) => {
            // HAProxy replaces a stale socket file left by a previous run.
            if std::fs::symlink_metadata(path).is_ok() {
                let _ = std::fs::remove_file(path);
            }
            let l = std::os::unix::net::UnixListener::bind(path).map_err(|e| {
                format!(
                    "Starting frontend GLOBAL: cannot bind UNIX socket ({e}) [{}]",
                    path.display()
                )
            })?;
            let mode = s.mode.unwrap_or(0o600);
            let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode));
            let uid = s.uid.map(nix::unistd::Uid::from_raw).or_else(|| {
                let name = s.user.as_deref()?;
                nix::unistd::User::from_name(name)
                    .ok()
                    .flatten()
                    .map(|u| u.uid)
            });
            let gid = s.gid.map(nix::unistd::Gid::from_raw).or_else(|| {
                let name = s.group.as_deref()?;
                nix::unistd::Group::from_name(name)
                    .ok()
                    .flatten()
                    .map(|g| g.gid)
            });
            if uid.is_some() || gid.is_some() {
                let _ = nix::unistd::chown(path, uid, gid);
            }
            l.set_nonblocking(true)
                .map_err(|e| format!("stats socket {}: {e}", path.display()))?;
            Ok(Bound::Unix(l, s.level))
        }
        Endpoint::Inet { .. } => {
            let addr = match (s.addr.ip(), s.addr.port()) {
                (Some(ip), crate::config::address::Port::Fixed(p)) => {
                    std::net::SocketAddr::new(ip, p)
                }
                _ => {
                    return Err(format!(
                        "stats socket {}: needs an address and a port",
                        s.addr
                    ));
                }
            };
            let sock = socket2::Socket::new(
                socket2::Domain::for_address(addr),
                socket2::Type::STREAM,
                None,
            )
            .map_err(|e| format!("stats socket {addr}: {e}"))?;
            let _ = sock.set_reuse_address(true);
            sock.bind(&addr.into())
                .and_then(|_| sock.listen(10))
                .map_err(|e| {
                    format!("Starting frontend GLOBAL: cannot bind socket ({e}) [{addr}]")
                })?;
            sock.set_nonblocking(true)
                .map_err(|e| format!("stats socket {addr}: {e}"))?;
            Ok(Bound::Tcp(sock.into(), s.level))
        }
        other => Err(format!(
            "stats socket {other}: only unix@ and ipv4@/ipv6@ addresses are supported"
        )),
    }
}

/// Serves the bound sockets on a thread of their own, so that a busy
/// engine never delays an operator.
pub fn start(shared: Arc<Shared>, bound: Vec<Bound>) {
    if bound.is_empty() {
        return;
    }
    let spawned = std::thread::Builder::new()
        .name("runtime-api".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!(
                        "[ALERT]    ({}) : stats socket not served: {e}",
                        std::process::id()
                    );
                    return;
                }
            };
            rt.block_on(async move {
                let limit = Arc::new(tokio::sync::Semaphore::new(
                    shared.config.global.stats_maxconn.max(1) as usize,
                ));
                let mut tasks = Vec::new();
                // HAProxy numbers the stats sockets' listeners from 1.
                for (luid, b) in (1..).zip(bound) {
                    tasks.push(tokio::spawn(accept_loop(
                        Arc::clone(&shared),
                        b,
                        luid,
                        Arc::clone(&limit),
                    )));
                }
                for t in tasks {
                    let _ = t.await;
                }
            });
        });
    if let Err(e) = spawned {
        eprintln!(
            "[ALERT]    ({}) : stats socket not served: {e}",
            std::process::id()
        );
    }
}

async fn accept_loop(shared: Arc<Shared>, b: Bound, luid: u32, limit: Arc<tokio::sync::Semaphore>) {
    match b {
        Bound::Unix(l, level) => {
            let Ok(l) = tokio::net::UnixListener::from_std(l) else {
                return;
            };
            loop {
                let Ok(permit) = Arc::clone(&limit).acquire_owned().await else {
                    return;
                };
                if let Ok((s, _)) = l.accept().await {
                    // A stream in HAProxy's `CumReq`.
                    shared
                        .global
                        .rates
                        .cli_sessions
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let sh = Arc::clone(&shared);
                    let origin = Origin::Unix { luid };
                    tokio::spawn(async move {
                        let fd = s.as_raw_fd();
                        serve(&sh, s, level, (origin, fd)).await;
                        drop(permit);
                    });
                }
            }
        }
        Bound::Tcp(l, level) => {
            let Ok(l) = tokio::net::TcpListener::from_std(l) else {
                return;
            };
            loop {
                let Ok(permit) = Arc::clone(&limit).acquire_owned().await else {
                    return;
                };
                if let Ok((s, peer)) = l.accept().await {
                    // A stream in HAProxy's `CumReq`.
                    shared
                        .global
                        .rates
                        .cli_sessions
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let sh = Arc::clone(&shared);
                    tokio::spawn(async move {
                        let fd = s.as_raw_fd();
                        serve(&sh, s, level, (Origin::Tcp(peer), fd)).await;
                        drop(permit);
                    });
                }
            }
        }
    }
}

/// One CLI session's state.
pub struct Session {
    pub level: CliLevel,
    pub interactive: bool,
    pub timeout: Duration,
    /// Set by `quit`.
    pub quit: bool,
    /// This connection's own stream (`show sess` lists it too).
    pub stream: u32,
}

/// Runs a CLI connection: reads command lines, answers each command.
/// `from`: the client and its socket, for `show sess`.
async fn serve<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    shared: &Arc<Shared>,
    mut sock: S,
    level: CliLevel,
    from: (Origin, i32),
) {
    let registered = shared.streams.register(NewStream {
        origin: from.0,
        frontend: None,
        bind: 0,
        backend: None,
        fd: from.1,
        accept: std::time::Instant::now(),
        accept_wall: std::time::SystemTime::now(),
    });
    let mut sess = Session {
        level,
        interactive: false,
        timeout: shared.config.global.stats_timeout,
        quit: false,
        stream: registered.stream.id,
    };
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        // A complete line already buffered is served without reading.
        let line = loop {
            if let Some(pos) = buf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = buf.drain(..=pos).collect();
                break Some(line);
            }
            if buf.len() > 64 * 1024 {
                return;
            }
            match tokio::time::timeout(sess.timeout, sock.read(&mut chunk)).await {
                Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n]),
                _ => break None,
            }
        };
        let Some(mut line) = line else { return };
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        let text = String::from_utf8_lossy(&line).into_owned();
        let mut out = String::new();
        for cmd in split_commands(&text) {
            let words = split_words(&cmd);
            let answer = commands::run(shared, &mut sess, &words);
            if sess.quit {
                break;
            }
            out.push_str(&answer);
            out.push('\n');
            if sess.interactive {
                out.push_str("> ");
            }
        }
        if !out.is_empty() && sock.write_all(out.as_bytes()).await.is_err() {
            return;
        }
        if sess.quit {
            return;
        }
        // Without `prompt`, the connection ends once the lines sent at
        // once are served.
        if !sess.interactive && !buf.contains(&b'\n') {
            let _ = sock.shutdown().await;
            return;
        }
    }
}

/// Splits a line at `;` not escaped by a backslash.
fn split_commands(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                cur.push('\\');
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            ';' => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// Splits a command into words at blanks; a backslash keeps the next
/// character as is.
fn split_words(cmd: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = cmd.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '\\' => {
                in_word = true;
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            _ => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_split_at_unescaped_semicolons() {
        assert_eq!(
            split_commands("show info;show stat"),
            vec!["show info", "show stat"]
        );
        assert_eq!(split_commands("a\\;b;c"), vec!["a\\;b", "c"]);
        assert_eq!(
            split_words("  set  weight\tbe/s1 5"),
            vec!["set", "weight", "be/s1", "5"]
        );
        assert_eq!(
            split_words("show env FOO\\;BAR"),
            vec!["show", "env", "FOO;BAR"]
        );
    }
}
