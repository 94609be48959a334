//! What `show errors` tells about a refused HTTP/1 message: HAProxy's
//! parser context at the error (`h1_show_error_snapshot`: parser state,
//! message flags, lengths). rproxy's parser keeps no such state machine,
//! so the context is read back from the bytes and the error offset, on
//! the error path only: which part of the head the offset falls in gives
//! the state HAProxy's parser would be in, the header lines before it the
//! message flags.

use super::head::{Invalid, Stage};
use crate::engine::captures::{Direction, H1Context, Snapshot};
use crate::engine::state::Shared;
use std::net::SocketAddr;
use std::time::SystemTime;

/// `H1_MSG_*` states, in HAProxy's order (`h1m_state_str`).
pub const STATES: [&str; 32] = [
    "MSG_RQBEFORE",
    "MSG_RQBEFORE_CR",
    "MSG_RQMETH",
    "MSG_RQMETH_SP",
    "MSG_RQURI",
    "MSG_RQURI_SP",
    "MSG_RQVER",
    "MSG_RQLINE_END",
    "MSG_RPBEFORE",
    "MSG_RPBEFORE_CR",
    "MSG_RPVER",
    "MSG_RPVER_SP",
    "MSG_RPCODE",
    "MSG_RPCODE_SP",
    "MSG_RPREASON",
    "MSG_RPLINE_END",
    "MSG_HDR_FIRST",
    "MSG_HDR_NAME",
    "MSG_HDR_COL",
    "MSG_HDR_L1_SP",
    "MSG_HDR_L1_LF",
    "MSG_HDR_L1_LWS",
    "MSG_HDR_VAL",
    "MSG_HDR_L2_LF",
    "MSG_HDR_L2_LWS",
    "MSG_LAST_LF",
    "MSG_CHUNK_SIZE",
    "MSG_DATA",
    "MSG_CHUNK_CRLF",
    "MSG_TRAILERS",
    "MSG_DONE",
    "MSG_TUNNEL",
];

const HDR_NAME: u8 = 17;
const HDR_VAL: u8 = 22;
const HDR_L2_LF: u8 = 23;
const HDR_L2_LWS: u8 = 24;
const LAST_LF: u8 = 25;
const CHUNK_SIZE: u8 = 26;
const DATA: u8 = 27;

// H1_MF_* message flags.
const MF_CLEN: u32 = 0x1;
const MF_CHNK: u32 = 0x2;
const MF_RESP: u32 = 0x4;
const MF_VER_11: u32 = 0x10;
const MF_CONN_CLO: u32 = 0x20;
const MF_CONN_KAL: u32 = 0x40;
const MF_CONN_UPG: u32 = 0x80;
const MF_XFER_LEN: u32 = 0x100;
const MF_XFER_ENC: u32 = 0x200;
const MF_NO_PHDR: u32 = 0x400;
const MF_CLEAN_CONN_HDR: u32 = 0x1000;
const MF_TE_CHUNKED: u32 = 0x10000;
const MF_TE_OTHER: u32 = 0x20000;

// H1C_F_* / H1S_F_* flags of the connection and stream at the error.
const C_ST_EMBRYONIC: u32 = 0x100;
const C_ST_ATTACHED: u32 = 0x200;
const C_ST_READY: u32 = 0x2000;
const C_IS_BACK: u32 = 0x8000_0000;
const S_REOS: u32 = 0x8;
const S_WANT_KAL: u32 = 0x10;
const S_WANT_CLO: u32 = 0x40;
const S_NOT_FIRST: u32 = 0x80;
const S_PARSING_ERROR: u32 = 0x800;
const S_HAVE_O_CONN: u32 = 0x4000;

/// Lines of `buf` from `from`: (start, end excluding the line break,
/// offset after the break or `buf.len()` when unterminated).
fn lines(buf: &[u8], from: usize) -> impl Iterator<Item = (usize, usize, usize)> + '_ {
    let mut i = from;
    std::iter::from_fn(move || {
        if i >= buf.len() {
            return None;
        }
        let start = i;
        let (end, next) = match buf[i..].iter().position(|b| *b == b'\n') {
            Some(n) => {
                let lf = i + n;
                let end = if lf > start && buf[lf - 1] == b'\r' {
                    lf - 1
                } else {
                    lf
                };
                (end, lf + 1)
            }
            None => (buf.len(), buf.len()),
        };
        i = next;
        Some((start, end, next))
    })
}

fn trim(v: &[u8]) -> &[u8] {
    let s = v
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(v.len());
    let e = v
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(s, |e| e + 1);
    &v[s..e.max(s)]
}

/// Flags a complete header line sets, and the Content-Length it gives.
fn header_flags(name: &[u8], value: &[u8], flags: &mut u32, clen: &mut u64) {
    let items = || value.split(|b| *b == b',').map(trim);
    if name.eq_ignore_ascii_case(b"content-length") {
        if *flags & MF_CLEN == 0 {
            *clen = std::str::from_utf8(trim(value))
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
        }
        *flags |= MF_CLEN;
    } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
        *flags |= MF_XFER_ENC;
        for item in items() {
            if item.eq_ignore_ascii_case(b"chunked") {
                *flags |= MF_CHNK | MF_TE_CHUNKED;
            } else {
                *flags = (*flags & !MF_CHNK) | MF_TE_OTHER;
            }
        }
    } else if name.eq_ignore_ascii_case(b"connection") {
        for item in items() {
            if item.eq_ignore_ascii_case(b"close") {
                *flags |= MF_CONN_CLO;
            } else if item.eq_ignore_ascii_case(b"keep-alive") {
                *flags |= MF_CONN_KAL;
            } else if item.eq_ignore_ascii_case(b"upgrade") {
                *flags |= MF_CONN_UPG;
            }
        }
    }
}

/// Whether a start line's version says 1.1 or above.
fn ver11(version: &[u8]) -> bool {
    version.len() == 8 && (version[5] > b'1' || (version[5] == b'1' && version[7] >= b'1'))
}

/// The parser state, message flags and Content-Length for an error at
/// `err` in `buf`, found by the check `stage`.
fn context(buf: &[u8], err: usize, stage: Stage, response: bool) -> (u8, u32, u64) {
    let mut flags = MF_NO_PHDR | MF_CLEAN_CONN_HDR | if response { MF_RESP } else { 0 };
    let first = buf
        .iter()
        .position(|b| *b != b'\r' && *b != b'\n')
        .unwrap_or(buf.len());
    let mut all = lines(buf, first);
    let Some((ls, le, next)) = all.next() else {
        return (if response { 8 } else { 0 }, flags, 0);
    };
    let after_head = matches!(stage, Stage::Head | Stage::Version | Stage::Body);
    if err < next && !after_head {
        return (
            start_line_state(&buf[ls..le], err.saturating_sub(ls), response),
            flags,
            0,
        );
    }
    let words: Vec<&[u8]> = buf[ls..le]
        .split(|b| *b == b' ' || *b == b'\t')
        .filter(|w| !w.is_empty())
        .collect();
    let version = if response {
        words.first()
    } else {
        words.get(2)
    };
    if version.is_some_and(|v| ver11(v)) {
        flags |= MF_VER_11;
    }
    // Flags of the complete header lines before the error's (all of them
    // for the checks made once the head is in).
    let mut clen = 0;
    let mut err_line = None;
    for (ls, le, next) in all {
        if ls == le {
            break;
        }
        let line = &buf[ls..le];
        let colon = line.iter().position(|b| *b == b':');
        if err < next && !after_head {
            err_line = Some((ls, colon));
            break;
        }
        if let Some(c) = colon {
            header_flags(&line[..c], &line[c + 1..], &mut flags, &mut clen);
        }
    }
    let state = match stage {
        Stage::Header => HDR_L2_LWS,
        Stage::Authority => LAST_LF,
        Stage::Head | Stage::Version | Stage::Body => {
            if stage == Stage::Body {
                // Past HAProxy's post-parsing: the framing is known.
                flags |= MF_XFER_LEN;
                if flags & MF_XFER_ENC != 0 && flags & MF_CLEN != 0 {
                    flags = (flags & !MF_CLEN) | MF_CONN_CLO;
                }
            }
            if flags & MF_CHNK != 0 {
                CHUNK_SIZE
            } else {
                DATA
            }
        }
        Stage::Byte => match err_line {
            Some((ls, Some(c))) if err > ls + c => {
                let b = buf.get(err).copied().unwrap_or(b'\n');
                if b == b'\r' || (err > 0 && buf[err - 1] == b'\r') {
                    HDR_L2_LF
                } else {
                    HDR_VAL
                }
            }
            _ => HDR_NAME,
        },
    };
    (state, flags, if flags & MF_CLEN != 0 { clen } else { 0 })
}

/// The state for an error at `off` in the start line `line`.
fn start_line_state(line: &[u8], off: usize, response: bool) -> u8 {
    // Word boundaries: first word, spaces, second word, spaces, rest.
    let sp = |b: &u8| *b == b' ' || *b == b'\t';
    let w1 = line.iter().position(sp).unwrap_or(line.len());
    let s1 = w1 + line[w1..].iter().take_while(|b| sp(b)).count();
    let w2 = s1 + line[s1..].iter().position(sp).unwrap_or(line.len() - s1);
    let s2 = w2 + line[w2..].iter().take_while(|b| sp(b)).count();
    let base = if response { 10 } else { 2 };
    if !response && (w1 == line.len() || w2 == line.len()) && off >= w1.min(line.len()) {
        // No version: an HTTP/0.9 request, which HAProxy's parser takes
        // in and its multiplexer refuses.
        return DATA;
    }
    let part = if off < w1 {
        0
    } else if off < s1 {
        1
    } else if off < w2 {
        2
    } else if off < s2 {
        3
    } else if off < line.len() {
        4
    } else {
        5
    };
    // Responses: version, code, reason; requests: method, URI, version.
    base + part
}

/// Records the request HTTP/1 parsing refused on frontend `fe`: `buf` as
/// received, `why` where and by which check.
pub fn request(
    shared: &Shared,
    fe: usize,
    src: Option<SocketAddr>,
    buf: &[u8],
    why: Invalid,
    first: bool,
) {
    let err = why.at;
    let (state, m_flags, clen) = context(buf, err, why.stage, false);
    let want = if shared.config.proxies[fe].http_conn_mode
        == Some(crate::config::model::HttpConnMode::Close)
    {
        S_WANT_CLO
    } else {
        S_WANT_KAL
    };
    let snap = Snapshot {
        event: 0,
        when: SystemTime::now(),
        src,
        other_end: None,
        server: None,
        buf: buf.to_vec(),
        err_pos: err,
        h1: H1Context {
            c_flags: C_ST_EMBRYONIC,
            s_flags: S_PARSING_ERROR | want | if first { 0 } else { S_NOT_FIRST },
            state,
            m_flags,
            chunk_len: clen,
            body_len: clen,
        },
    };
    shared.captures.record(fe, Direction::Request, snap);
}

/// Records the response HTTP/1 parsing refused: `at` is (frontend,
/// backend, server, client address) of the transaction.
pub fn response(
    shared: &Shared,
    at: (usize, usize, usize, Option<SocketAddr>),
    conn: &super::io::Conn,
    lim: &super::head::Limits,
    method: &str,
) {
    let (fe, be, srv, src) = at;
    let buf = conn.data();
    // HAProxy has usually read the server's close with its data
    // (H1S_F_REOS); a peek tells whether it is there.
    let mut probe = [std::mem::MaybeUninit::<u8>::uninit(); 1];
    let closed = conn.eof || matches!(socket2::SockRef::from(&conn.stream).peek(&mut probe), Ok(0));
    // Where and why, from the parser again: this is the error path.
    let (err, stage) = match super::head::parse_response(buf, lim, method) {
        Err(e) => (e.at, e.stage),
        // An unterminated head filling the buffer.
        Ok(_) => (buf.len(), Stage::Byte),
    };
    let (state, m_flags, clen) = context(buf, err, stage, true);
    let snap = Snapshot {
        event: 0,
        when: SystemTime::now(),
        src,
        other_end: Some(fe),
        server: Some(srv),
        buf: buf.to_vec(),
        err_pos: err,
        h1: H1Context {
            // The request went out: the stream is attached and ready, its
            // connection mode processed.
            c_flags: C_IS_BACK | C_ST_READY | C_ST_ATTACHED,
            s_flags: S_PARSING_ERROR | S_WANT_KAL | S_HAVE_O_CONN | if closed { S_REOS } else { 0 },
            state,
            m_flags,
            chunk_len: clen,
            body_len: clen,
        },
    };
    shared.captures.record(be, Direction::Response, snap);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(buf: &[u8], err: usize) -> &'static str {
        STATES[usize::from(context(buf, err, Stage::Byte, false).0)]
    }

    #[test]
    fn states_follow_the_part_of_the_head() {
        assert_eq!(state(b"G(T / HTTP/1.1\r\n\r\n", 1), "MSG_RQMETH");
        assert_eq!(state(b"GET /\x01x HTTP/1.1\r\n\r\n", 5), "MSG_RQURI");
        let bad_name = b"GET / HTTP/1.1\r\nHost: a\r\nBad Header: x\r\n\r\n";
        assert_eq!(state(bad_name, 28), "MSG_HDR_NAME");
        assert_eq!(
            state(b"GET / HTTP/1.1\r\nX-A: a\rb\r\n\r\n", 23),
            "MSG_HDR_L2_LF"
        );
    }

    #[test]
    fn checks_after_a_line_or_the_head_leave_haproxys_context() {
        let dup = b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n";
        assert_eq!(
            context(dup, 60, Stage::Header, false),
            (HDR_L2_LWS, 0x1411, 5)
        );
        let chunk = b"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n";
        assert_eq!(
            context(chunk, 55, Stage::Body, false),
            (CHUNK_SIZE, 0x11712, 0)
        );
        assert_eq!(
            context(b"BROKEN\r\n\r\n", 6, Stage::Version, false),
            (DATA, 0x1400, 0)
        );
        let gzip = b"GET / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n";
        assert_eq!(context(gzip, 43, Stage::Head, false), (DATA, 0x21610, 0));
        let get10 = b"GET / HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc";
        assert_eq!(context(get10, 37, Stage::Body, false), (DATA, 0x1501, 3));
    }
}
