//! `show sess [<id>|all]`: the streams in progress, one summary line each
//! in HAProxy 2.6's layout (`cli_io_handler_dump_sess`), or the first
//! part of its detailed dump for one stream (by the address the summary
//! gives) or all. What rproxy has (addresses, frontend, backend, server,
//! age, epoch, socket) is real; the scheduler and buffer state HAProxy
//! adds (task state, calls, CPU, channel flags and timers) has no
//! equivalent and is printed as zeros and empty timers.

use super::Session;
use crate::engine::state::Shared;
use crate::engine::streams::{Origin, Stream};
use crate::log::syslog::local;
use std::fmt::Write as _;
use std::sync::Arc;

/// HAProxy's `human_time`: at most two units, `0s` for zero.
fn human_time(t: u64) -> String {
    const MINUTE: u64 = 60;
    const HOUR: u64 = 3600;
    const DAY: u64 = 86400;
    let mut out = String::new();
    let mut cnt = 2;
    if t >= DAY {
        let _ = write!(out, "{}d", t / DAY);
        cnt -= 1;
    }
    if cnt > 0 && t % DAY / HOUR > 0 {
        let _ = write!(out, "{}h", t % DAY / HOUR);
        cnt -= 1;
    }
    if cnt > 0 && t % HOUR / MINUTE > 0 {
        let _ = write!(out, "{}m", t % HOUR / MINUTE);
        cnt -= 1;
    }
    if (cnt > 0 && !t.is_multiple_of(MINUTE)) || t == 0 {
        let _ = write!(out, "{}s", t % MINUTE);
    }
    out
}

/// `%#x`: `0`, else `0x…`.
fn alt_hex(v: u32) -> String {
    if v == 0 {
        "0".into()
    } else {
        format!("{v:#x}")
    }
}

/// C's `strtoul(s, NULL, 0)`: hexadecimal after `0x`, octal after `0`.
fn strtoul(s: &str) -> usize {
    let s = s.trim();
    let (digits, radix) = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (h, 16)
    } else if s.len() > 1 && s.starts_with('0') {
        (&s[1..], 8)
    } else {
        (s, 10)
    };
    let end = digits
        .find(|c: char| !c.is_digit(radix))
        .unwrap_or(digits.len());
    usize::from_str_radix(&digits[..end], radix).unwrap_or(0)
}

fn proto(s: &Stream) -> &'static str {
    match s.origin {
        Origin::Tcp(a) if a.is_ipv6() => "tcpv6",
        Origin::Tcp(_) => "tcpv4",
        Origin::Unix { .. } => "unix_stream",
    }
}

fn frontend_name(shared: &Shared, s: &Stream) -> String {
    s.frontend
        .map_or("GLOBAL".into(), |f| shared.config.proxies[f].name.clone())
}

pub fn show(shared: &Shared, sess: &Session, args: &[&str]) -> String {
    let (epoch, streams) = shared.streams.snapshot();
    let epoch_of = |s: &Stream| if s.id == sess.stream { epoch } else { s.epoch };
    match args.first() {
        None => {
            let mut out = String::new();
            for s in &streams {
                summary(shared, s, epoch_of(s), &mut out);
            }
            out
        }
        Some(&"all") => {
            let mut out = String::new();
            for s in &streams {
                detail(shared, s, epoch_of(s), &mut out);
            }
            out
        }
        Some(id) => {
            let ptr = strtoul(id);
            match streams.iter().find(|s| s.ptr() == ptr) {
                Some(s) => {
                    let mut out = String::new();
                    detail(shared, s, epoch_of(s), &mut out);
                    out
                }
                None => "Session not found.\n".into(),
            }
        }
    }
}

/// `be=`/`srv=` of the summary: the backend, `<NONE>` before one (for a
/// `frontend`), and the server, `<none>` before one.
fn targets(shared: &Shared, s: &Stream) -> (String, String) {
    let be = s.backend();
    let be_name = be.map_or("<NONE>".into(), |b| shared.config.proxies[b].name.clone());
    let srv = be.zip(s.server()).map_or("<none>".into(), |(b, v)| {
        shared.config.proxies[b].servers[v].name.clone()
    });
    (be_name, srv)
}

fn summary(shared: &Shared, s: &Arc<Stream>, epoch: u32, out: &mut String) {
    let _ = write!(out, "{:#x}: proto={}", s.ptr(), proto(s));
    let (be, srv) = targets(shared, s);
    let fe = frontend_name(shared, s);
    match s.origin {
        Origin::Tcp(a) => {
            let _ = write!(
                out,
                " src={}:{} fe={fe} be={be} srv={srv}",
                a.ip(),
                a.port()
            );
        }
        Origin::Unix { luid } => {
            let _ = write!(out, " src=unix:{luid} fe={fe} be={be} srv={srv}");
        }
    }
    let _ = write!(
        out,
        " ts=00 epoch={} age={} calls=0 rate=0 cpu=0 lat=0",
        alt_hex(epoch),
        human_time(s.accept.elapsed().as_secs())
    );
    out.push_str(" rq[f=000000h,i=0,an=00h,rx=,wx=,ax=] rp[f=000000h,i=0,an=00h,rx=,wx=,ax=]");
    // Stream connector states: established (8, with the back side's
    // "endpoint attached" flag: to a server or, for the runtime API, the
    // CLI applet), else not yet (0).
    let back = if s.server().is_some() || s.frontend.is_none() {
        "8,1h"
    } else {
        "0,0h"
    };
    let _ = writeln!(
        out,
        " scf=[8,0h,fd={}] scb=[{back},fd=-1] exp= rc=0 c_exp=",
        s.fd
    );
}

/// The local address of socket `fd`, as `addr=` shows it.
fn local_addr(fd: i32) -> Option<std::net::SocketAddr> {
    let a: nix::sys::socket::SockaddrStorage = nix::sys::socket::getsockname(fd).ok()?;
    if let Some(v4) = a.as_sockaddr_in() {
        return Some(std::net::SocketAddr::V4((*v4).into()));
    }
    a.as_sockaddr_in6()
        .map(|v6| std::net::SocketAddr::V6((*v6).into()))
}

fn detail(shared: &Shared, s: &Arc<Stream>, epoch: u32, out: &mut String) {
    let t = local(s.accept_wall);
    let _ = write!(
        out,
        "{:#x}: [{:02}/{}/{:04}:{:02}:{:02}:{:02}.{:06}] id={} proto={}",
        s.ptr(),
        t.mday,
        t.month(),
        t.year,
        t.hour,
        t.min,
        t.sec,
        t.usec,
        s.id,
        proto(s)
    );
    match s.origin {
        Origin::Tcp(a) => {
            let _ = writeln!(out, " source={}:{}", a.ip(), a.port());
        }
        Origin::Unix { luid } => {
            let _ = writeln!(out, " source=unix:{luid}");
        }
    }
    let _ = writeln!(
        out,
        "  flags=0x0, conn_retries=0, conn_exp=<NEVER> conn_et=0x000 srv_conn=(nil), pend_pos=(nil) waiting=0 epoch={}",
        alt_hex(epoch)
    );
    match (s.frontend, s.origin) {
        (Some(f), _) => {
            let p = &shared.config.proxies[f];
            let bind = p.binds.get(s.bind);
            let _ = write!(
                out,
                "  frontend={} (id={} mode={}), listener={} (id={})",
                p.name,
                p.uuid,
                p.mode.name(),
                bind.and_then(|b| b.name.as_deref()).unwrap_or("?"),
                bind.map_or(0, |b| b.id.unwrap_or(s.bind as u32 + 1))
            );
            match local_addr(s.fd) {
                Some(a) => {
                    let _ = writeln!(out, " addr={}:{}", a.ip(), a.port());
                }
                None => out.push('\n'),
            }
        }
        (None, Origin::Unix { luid }) => {
            let _ = writeln!(
                out,
                "  frontend=GLOBAL (id=0 mode=cli), listener=? (id={luid}) addr=unix:{luid}"
            );
        }
        (None, Origin::Tcp(_)) => {
            let _ = writeln!(out, "  frontend=GLOBAL (id=0 mode=cli), listener=? (id=0)");
        }
    }
    match s.backend() {
        Some(b) => {
            let p = &shared.config.proxies[b];
            let _ = writeln!(
                out,
                "  backend={} (id={} mode={})",
                p.name,
                p.uuid,
                p.mode.name()
            );
            match s.server().and_then(|v| p.servers.get(v)) {
                Some(v) => {
                    let _ = writeln!(out, "  server={} (id={}) addr={}", v.name, v.puid, v.addr);
                }
                None => out.push_str("  server=<none> (id=0)\n"),
            }
        }
        None => {
            out.push_str("  backend=<NONE> (id=-1 mode=-)\n  server=<NONE> (id=-1)\n");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_numbers_print_as_haproxy() {
        assert_eq!(human_time(0), "0s");
        assert_eq!(human_time(59), "59s");
        assert_eq!(human_time(3600), "1h");
        assert_eq!(human_time(3725), "1h2m");
        assert_eq!(human_time(90061), "1d1h");
        assert_eq!(alt_hex(0), "0");
        assert_eq!(alt_hex(3), "0x3");
        assert_eq!(strtoul("0x1f"), 31);
        assert_eq!(strtoul("17"), 17);
    }
}
