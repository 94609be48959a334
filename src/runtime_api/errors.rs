//! `show errors [<iid>|<proxy>] [request|response]`: each proxy's last
//! captured invalid request and response, as HAProxy 2.6 prints them
//! (`cli_io_handler_show_errors`): a header per capture, the HTTP/1
//! parser's context, then the bytes received as escaped text lines with
//! their offsets.

use crate::engine::captures::{Direction, Snapshot};
use crate::engine::http::snapshot::STATES;
use crate::engine::state::Shared;
use crate::log::syslog::local;
use std::fmt::Write as _;
use std::time::SystemTime;

/// What HAProxy's HTX-aware receive leaves unused at the head of its
/// buffer: captures say the buffer "wraps" this much before its size.
const HTX_HEAD_ROOM: usize = 48;

pub fn show(shared: &Shared, args: &[&str]) -> String {
    let mut iid: Option<u32> = None;
    if let Some(px) = args.first().filter(|a| !a.is_empty()) {
        let n = shared
            .config
            .proxies
            .iter()
            .find(|p| p.name == *px)
            .map_or_else(|| super::show::atoi(px), |p| i64::from(p.uuid));
        if n == 0 {
            return "No such proxy.\n".into();
        }
        iid = (n >= 0).then_some(n as u32);
    }
    let (requests, responses) = match args.get(1) {
        Some(&"request") => (true, false),
        Some(&"response") => (false, true),
        _ => (true, true),
    };
    let mut out = format!(
        "Total events captured on [{}] : {}\n",
        local(SystemTime::now()).haproxy(),
        shared.captures.total()
    );
    let bufsize = shared.config.global.tune.bufsize as usize;
    for (px, p) in shared.config.proxies.iter().enumerate() {
        for (dir, wanted) in [
            (Direction::Request, requests),
            (Direction::Response, responses),
        ] {
            let Some(es) = shared.captures.last(px, dir).filter(|_| wanted) else {
                continue;
            };
            let other = es.other_end.map(|o| &shared.config.proxies[o]);
            if let Some(iid) = iid
                && p.uuid != iid
                && other.is_none_or(|o| o.uuid != iid)
            {
                continue;
            }
            header(shared, px, dir, &es, bufsize, &mut out);
            dump(&es.buf, &mut out);
        }
    }
    out
}

fn header(
    shared: &Shared,
    px: usize,
    dir: Direction,
    es: &Snapshot,
    bufsize: usize,
    out: &mut String,
) {
    let p = &shared.config.proxies[px];
    let other = es.other_end.map(|o| &shared.config.proxies[o]);
    let _ = write!(out, " \n[{}]", local(es.when).haproxy());
    match dir {
        Direction::Request => {
            // Only a backend can be the other end of a request.
            let be = other.filter(|o| o.kind.has_backend());
            let _ = write!(
                out,
                " frontend {} (#{}): invalid request\n  backend {} (#{})",
                p.name,
                p.uuid,
                be.map_or("<NONE>", |b| b.name.as_str()),
                be.map_or(-1, |b| i64::from(b.uuid))
            );
        }
        Direction::Response => {
            let _ = write!(
                out,
                " backend {} (#{}): invalid response\n  frontend {} (#{})",
                p.name,
                p.uuid,
                other.map_or("<NONE>", |f| f.name.as_str()),
                other.map_or(-1, |f| i64::from(f.uuid))
            );
        }
    }
    let srv = es.server.and_then(|s| p.servers.get(s));
    let (ip, port) = es.src.map_or(("0.0.0.0".to_string(), 0), |a| {
        (a.ip().to_string(), a.port())
    });
    let len = es.buf.len();
    let h = &es.h1;
    let _ = write!(
        out,
        ", server {} (#{}), event #{}, src {ip}:{port}\n  buffer starts at 0 (including 0 out), {} free,\n  len {len}, wraps at {}, error at position {}\n",
        srv.map_or("<NONE>", |s| s.name.as_str()),
        srv.map_or(-1, |s| i64::from(s.puid)),
        es.event,
        bufsize.saturating_sub(len),
        bufsize.saturating_sub(HTX_HEAD_ROOM),
        es.err_pos
    );
    let _ = write!(
        out,
        "  H1 connection flags 0x{:08x}, H1 stream flags 0x{:08x}\n  H1 msg state {}({}), H1 msg flags 0x{:08x}\n  H1 chunk len {} bytes, H1 body len {} bytes :\n  \n",
        h.c_flags,
        h.s_flags,
        STATES
            .get(usize::from(h.state))
            .copied()
            .unwrap_or("MSG_??????"),
        h.state,
        h.m_flags,
        h.chunk_len,
        h.body_len
    );
}

/// The bytes as HAProxy's `dump_text_line` prints them: lines of at most
/// 80 characters, `  OFFSET  text` at the start of a line and
/// `  OFFSET+ text` for its continuation, non-printable bytes escaped.
fn dump(buf: &[u8], out: &mut String) {
    let mut ptr = 0;
    let mut bol = 0;
    while ptr < buf.len() {
        let mut line = format!("  {ptr:05}{} ", if ptr == bol { ' ' } else { '+' });
        while ptr < buf.len() {
            let c = buf[ptr];
            let esc = match c {
                b'\t' => Some('t'),
                b'\n' => Some('n'),
                b'\r' => Some('r'),
                0x1b => Some('e'),
                b'\\' => Some('\\'),
                _ => None,
            };
            if (0x20..0x7f).contains(&c) && c != b'\\' {
                if line.len() > 78 {
                    break;
                }
                line.push(char::from(c));
            } else if let Some(e) = esc {
                if line.len() > 77 {
                    break;
                }
                line.push('\\');
                line.push(e);
            } else {
                if line.len() > 75 {
                    break;
                }
                let _ = write!(line, "\\x{c:02X}");
            }
            ptr += 1;
            if c == b'\n' {
                bol = ptr;
                break;
            }
        }
        line.push('\n');
        out.push_str(&line);
    }
}

#[cfg(test)]
mod tests {
    use super::dump;

    #[test]
    fn dump_escapes_and_wraps_as_haproxy() {
        let mut out = String::new();
        dump(b"GET /\x01x HTTP/1.1\r\nHost: a\r\n", &mut out);
        assert_eq!(
            out,
            "  00000  GET /\\x01x HTTP/1.1\\r\\n\n  00018  Host: a\\r\\n\n"
        );
        let mut out = String::new();
        let long = [b'a'; 100];
        dump(&long, &mut out);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].len(), 79);
        assert!(lines[1].starts_with("  00070+ a"));
    }
}
