//! Reloads that lose nothing: the new process takes the listening
//! sockets of the rproxy processes it replaces (`-sf`/`-st` PIDs) with
//! pidfd_getfd(2), instead of binding new ones beside them. The sockets —
//! and the connections waiting in their accept queues — outlive the old
//! process, which merely stops accepting. (With SO_REUSEPORT alone, the
//! connections queued on the old process's sockets would be reset when it
//! closes them.)

use socket2::Socket;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::os::fd::{FromRawFd, RawFd};

/// Listening TCP sockets taken from old processes, by local address.
#[derive(Default)]
pub struct Inherited {
    sockets: HashMap<SocketAddr, Vec<Socket>>,
}

impl Inherited {
    /// Takes the sockets listening on `addr`, if any were inherited.
    pub fn take(&mut self, addr: &SocketAddr) -> Vec<Socket> {
        self.sockets.remove(addr).unwrap_or_default()
    }

    pub fn is_empty(&self) -> bool {
        self.sockets.is_empty()
    }

    pub fn count(&self) -> usize {
        self.sockets.values().map(Vec::len).sum()
    }
}

fn pidfd_open(pid: i32) -> Option<RawFd> {
    // SAFETY: pidfd_open(2) takes a pid and flags, returns a new fd.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    (fd >= 0).then_some(fd as RawFd)
}

fn pidfd_getfd(pidfd: RawFd, target: RawFd) -> Option<RawFd> {
    // SAFETY: pidfd_getfd(2) duplicates another process's descriptor
    // into this one; it returns a new fd (close-on-exec) or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd, target, 0) };
    (fd >= 0).then_some(fd as RawFd)
}

/// Whether `pid` runs rproxy (other programs may shut their sockets down
/// when they stop, which would break the shared sockets).
fn is_rproxy(pid: i32) -> bool {
    let mine = std::env::current_exe().ok();
    let theirs = std::fs::read_link(format!("/proc/{pid}/exe")).ok();
    match (mine, theirs) {
        (Some(a), Some(b)) => {
            a == b
                || b.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("rproxy"))
        }
        _ => false,
    }
}

/// The listening TCP sockets of `pids` (the processes `-sf`/`-st` name).
/// Processes that are not rproxy, or that this process may not inspect,
/// give nothing: their sockets are then bound anew beside theirs.
pub fn from_pids(pids: &[i32]) -> Inherited {
    let mut out = Inherited::default();
    for &pid in pids {
        if !is_rproxy(pid) {
            continue;
        }
        let Some(pidfd) = pidfd_open(pid) else {
            continue;
        };
        // SAFETY: pidfd_open returned a descriptor we now own.
        let _pidfd_guard = unsafe { std::os::fd::OwnedFd::from_raw_fd(pidfd) };
        let Ok(entries) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
            continue;
        };
        for e in entries.flatten() {
            let is_socket = std::fs::read_link(e.path())
                .is_ok_and(|l| l.to_string_lossy().starts_with("socket:"));
            let Some(target) = e.file_name().to_str().and_then(|n| n.parse::<RawFd>().ok()) else {
                continue;
            };
            if !is_socket {
                continue;
            }
            let Some(fd) = pidfd_getfd(pidfd, target) else {
                continue;
            };
            // SAFETY: pidfd_getfd returned a descriptor we now own.
            let s = unsafe { Socket::from_raw_fd(fd) };
            let listening = s.is_listener().unwrap_or(false);
            let tcp = s.r#type().is_ok_and(|t| t == socket2::Type::STREAM);
            let addr = s.local_addr().ok().and_then(|a| a.as_socket());
            if let (true, true, Some(a)) = (listening, tcp, addr) {
                out.sockets.entry(a).or_default().push(s);
            }
        }
    }
    out
}
