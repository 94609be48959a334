//! Message bodies: forwarded as they arrive, framed by Content-Length,
//! chunked encoding (checked with HAProxy's grammar and re-chunked as
//! HAProxy does: one chunk per read, upper-case hex sizes, extensions
//! dropped, trailer names in lower case), or the end of the connection.

use super::head::Framing;
use super::io::{Conn, Fill};
use std::io;
use tokio::time::Instant;

/// How forwarding a body ended.
#[derive(Debug, PartialEq, Eq)]
pub enum BodyEnd {
    Done,
    /// The sender's side timed out (no byte within its timeout).
    SrcTimeout,
    /// The receiver's side timed out (could not write within its timeout).
    DstTimeout,
    /// The sender closed before the end.
    SrcClosed,
    /// The receiver failed.
    DstError,
    /// The body broke the framing rules.
    Invalid,
}

/// Deadlines for one transfer: each side's inactivity timeout.
#[derive(Clone, Copy, Debug)]
pub struct Timers {
    pub src: Option<std::time::Duration>,
    pub dst: Option<std::time::Duration>,
}

fn deadline(t: Option<std::time::Duration>) -> Option<Instant> {
    t.map(|d| Instant::now() + d)
}

/// Chunked-decoding state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Chunk {
    /// Reading a size line.
    Size,
    /// This many data bytes left in the chunk.
    Data(u64),
    /// The CRLF after a chunk's data.
    DataEnd,
    /// Trailer lines after the last chunk.
    Trailers,
}

/// One step of chunked parsing over the bytes available.
enum Parsed {
    /// Bytes consumed; data bytes to forward (as a range of the input).
    Data {
        consumed: usize,
        data: (usize, usize),
    },
    /// Bytes consumed without data (size line, CRLF).
    Skip(usize),
    /// The trailers block, complete: consumed bytes and the trailer lines
    /// to forward (already lower-cased names, CRLF-terminated).
    End {
        consumed: usize,
        trailers: Vec<u8>,
    },
    Need,
    Invalid,
}

fn parse_chunk(state: &mut Chunk, b: &[u8]) -> Parsed {
    match *state {
        Chunk::Size => {
            let Some(lf) = b.iter().position(|x| *x == b'\n') else {
                // a size line that cannot fit is refused
                let bare_cr = b.contains(&b'\r') && !b.ends_with(b"\r");
                return if b.len() > 16384 || bare_cr {
                    Parsed::Invalid
                } else {
                    Parsed::Need
                };
            };
            let line = &b[..lf];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.contains(&b'\r') {
                return Parsed::Invalid;
            }
            let digits = line.iter().take_while(|c| c.is_ascii_hexdigit()).count();
            if digits == 0 {
                return Parsed::Invalid;
            }
            let mut size: u64 = 0;
            for c in &line[..digits] {
                size = (size << 4) | u64::from((*c as char).to_digit(16).unwrap_or(0));
                if size & 0xF0_0000_0000_0000 != 0 {
                    return Parsed::Invalid;
                }
            }
            let rest = &line[digits..];
            let after_ws = rest.iter().skip_while(|c| **c == b' ' || **c == b'\t');
            match after_ws.clone().next() {
                None | Some(b';') => {}
                Some(_) => return Parsed::Invalid,
            }
            *state = if size == 0 {
                Chunk::Trailers
            } else {
                Chunk::Data(size)
            };
            Parsed::Skip(lf + 1)
        }
        Chunk::Data(left) => {
            if b.is_empty() {
                return Parsed::Need;
            }
            let n = (left as usize).min(b.len());
            let left = left - n as u64;
            *state = if left == 0 {
                Chunk::DataEnd
            } else {
                Chunk::Data(left)
            };
            Parsed::Data {
                consumed: n,
                data: (0, n),
            }
        }
        Chunk::DataEnd => match b {
            [] => Parsed::Need,
            [b'\n', ..] => {
                *state = Chunk::Size;
                Parsed::Skip(1)
            }
            [b'\r'] => Parsed::Need,
            [b'\r', b'\n', ..] => {
                *state = Chunk::Size;
                Parsed::Skip(2)
            }
            _ => Parsed::Invalid,
        },
        Chunk::Trailers => {
            // Up to an empty line; each trailer line is a header.
            let mut out = Vec::new();
            let mut i = 0;
            loop {
                let Some(off) = b[i..].iter().position(|x| *x == b'\n') else {
                    return if b.len() > 16384 {
                        Parsed::Invalid
                    } else {
                        Parsed::Need
                    };
                };
                let line = &b[i..i + off];
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                if line.contains(&b'\r') {
                    return Parsed::Invalid;
                }
                i += off + 1;
                if line.is_empty() {
                    return Parsed::End {
                        consumed: i,
                        trailers: out,
                    };
                }
                let Some(colon) = line.iter().position(|c| *c == b':') else {
                    return Parsed::Invalid;
                };
                let name = &line[..colon];
                if name.is_empty() || !name.iter().all(|c| is_token(*c)) {
                    return Parsed::Invalid;
                }
                let value = super::head::trim(&line[colon + 1..]);
                out.extend(name.iter().map(u8::to_ascii_lowercase));
                out.extend_from_slice(b": ");
                out.extend_from_slice(value);
                out.extend_from_slice(b"\r\n");
            }
        }
    }
}

fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Whether the chunked body bytes already received are well formed so
/// far. HAProxy parses what arrived with the head in the same pass, so a
/// malformed start of body is refused like a malformed head.
pub fn chunked_prefix_ok(b: &[u8]) -> bool {
    let mut st = Chunk::Size;
    let mut i = 0;
    loop {
        match parse_chunk(&mut st, &b[i..]) {
            Parsed::Data { consumed, .. } | Parsed::Skip(consumed) => i += consumed,
            Parsed::End { .. } | Parsed::Need => return true,
            Parsed::Invalid => return false,
        }
    }
}

/// Forwards a body from `src` to `dst` with the framing `f`; `bufsize`
/// bounds what is read at once. Returns how it ended and the payload
/// bytes moved.
pub async fn forward(
    src: &mut Conn,
    dst: &mut Conn,
    f: Framing,
    t: Timers,
    bufsize: usize,
) -> (BodyEnd, u64) {
    let (end, n) = match f {
        Framing::None => (BodyEnd::Done, 0),
        Framing::Length(n) => forward_length(src, dst, n, t, bufsize).await,
        Framing::UntilClose => forward_until_close(src, dst, t, bufsize).await,
        Framing::Chunked => forward_chunked(src, dst, t, bufsize).await,
    };
    // A head queued ahead of an empty body still has to leave.
    if end == BodyEnd::Done
        && let Err(e) = flush(dst, t).await
    {
        return (e, n);
    }
    (end, n)
}

/// Sends what `dst` has queued (a head waiting to share a segment with
/// the body) before waiting on the sender: it must not wait with it.
async fn flush(dst: &mut Conn, t: Timers) -> Result<(), BodyEnd> {
    match dst.flush(deadline(t.dst)).await {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::TimedOut => Err(BodyEnd::DstTimeout),
        Err(_) => Err(BodyEnd::DstError),
    }
}

async fn write(dst: &mut Conn, data: &[u8], t: Timers) -> Result<(), BodyEnd> {
    match dst.write_all(data, deadline(t.dst)).await {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::TimedOut => Err(BodyEnd::DstTimeout),
        Err(_) => Err(BodyEnd::DstError),
    }
}

async fn fill(src: &mut Conn, t: Timers, bufsize: usize) -> Result<Fill, BodyEnd> {
    match src.fill(deadline(t.src), bufsize).await {
        Ok(Fill::Timeout) => Err(BodyEnd::SrcTimeout),
        Ok(f) => Ok(f),
        Err(_) => Err(BodyEnd::SrcClosed),
    }
}

async fn forward_length(
    src: &mut Conn,
    dst: &mut Conn,
    mut left: u64,
    t: Timers,
    bufsize: usize,
) -> (BodyEnd, u64) {
    let mut sent = 0u64;
    while left > 0 {
        if src.data().is_empty() {
            if let Err(e) = flush(dst, t).await {
                return (e, sent);
            }
            match fill(src, t, bufsize).await {
                Ok(Fill::Data) => {}
                Ok(_) => return (BodyEnd::SrcClosed, sent),
                Err(e) => return (e, sent),
            }
        }
        let n = (left as usize).min(src.data().len());
        let chunk = src.take(n);
        if let Err(e) = write(dst, &chunk, t).await {
            return (e, sent);
        }
        left -= n as u64;
        sent += n as u64;
    }
    (BodyEnd::Done, sent)
}

async fn forward_until_close(
    src: &mut Conn,
    dst: &mut Conn,
    t: Timers,
    bufsize: usize,
) -> (BodyEnd, u64) {
    let mut sent = 0u64;
    loop {
        if src.data().is_empty() {
            if let Err(e) = flush(dst, t).await {
                return (e, sent);
            }
            match fill(src, t, bufsize).await {
                Ok(Fill::Data) => {}
                Ok(_) => return (BodyEnd::Done, sent),
                Err(BodyEnd::SrcClosed) => return (BodyEnd::Done, sent),
                Err(e) => return (e, sent),
            }
        }
        let n = src.data().len();
        let chunk = src.take(n);
        if let Err(e) = write(dst, &chunk, t).await {
            return (e, sent);
        }
        sent += n as u64;
    }
}

async fn forward_chunked(
    src: &mut Conn,
    dst: &mut Conn,
    t: Timers,
    bufsize: usize,
) -> (BodyEnd, u64) {
    let mut state = Chunk::Size;
    let mut sent = 0u64;
    loop {
        // Decode what is buffered; what one read brought goes out as one
        // chunk.
        let mut data: Vec<u8> = Vec::new();
        let mut end: Option<Vec<u8>> = None;
        loop {
            match parse_chunk(&mut state, src.data()) {
                Parsed::Data {
                    consumed,
                    data: (a, b),
                } => {
                    data.extend_from_slice(&src.data()[a..b]);
                    src.consume(consumed);
                }
                Parsed::Skip(n) => src.consume(n),
                Parsed::End { consumed, trailers } => {
                    src.consume(consumed);
                    end = Some(trailers);
                    break;
                }
                Parsed::Need => break,
                Parsed::Invalid => return (BodyEnd::Invalid, sent),
            }
        }
        let mut out = Vec::with_capacity(data.len() + 16);
        if !data.is_empty() {
            out.extend_from_slice(format!("{:X}\r\n", data.len()).as_bytes());
            out.extend_from_slice(&data);
            out.extend_from_slice(b"\r\n");
        }
        if let Some(trailers) = &end {
            out.extend_from_slice(b"0\r\n");
            out.extend_from_slice(trailers);
            out.extend_from_slice(b"\r\n");
        }
        if !out.is_empty() {
            if let Err(e) = write(dst, &out, t).await {
                return (e, sent);
            }
            // payload, as HAProxy counts it (not the chunk framing)
            sent += data.len() as u64;
        }
        if end.is_some() {
            return (BodyEnd::Done, sent);
        }
        if let Err(e) = flush(dst, t).await {
            return (e, sent);
        }
        match fill(src, t, bufsize).await {
            Ok(Fill::Data) => {}
            Ok(_) => return (BodyEnd::SrcClosed, sent),
            Err(e) => return (e, sent),
        }
    }
}

/// Reads and drops a body (a request answered locally, a response to a
/// client that left), bounded by `limit` bytes; true if it ended cleanly.
pub async fn discard(src: &mut Conn, f: Framing, t: Timers, bufsize: usize, limit: u64) -> bool {
    match f {
        Framing::None => true,
        Framing::Length(mut left) => {
            if left > limit {
                return false;
            }
            while left > 0 {
                if src.data().is_empty() && !matches!(fill(src, t, bufsize).await, Ok(Fill::Data)) {
                    return false;
                }
                let n = (left as usize).min(src.data().len());
                src.consume(n);
                left -= n as u64;
            }
            true
        }
        Framing::Chunked => {
            let mut state = Chunk::Size;
            let mut seen = 0u64;
            loop {
                loop {
                    match parse_chunk(&mut state, src.data()) {
                        Parsed::Data { consumed, .. } | Parsed::Skip(consumed) => {
                            seen += consumed as u64;
                            src.consume(consumed);
                        }
                        Parsed::End { consumed, .. } => {
                            src.consume(consumed);
                            return true;
                        }
                        Parsed::Need => break,
                        Parsed::Invalid => return false,
                    }
                }
                if seen > limit || !matches!(fill(src, t, bufsize).await, Ok(Fill::Data)) {
                    return false;
                }
            }
        }
        Framing::UntilClose => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes a whole chunked body at once: (data, trailers) or None.
    fn decode(b: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
        let mut st = Chunk::Size;
        let mut i = 0;
        let mut data = Vec::new();
        loop {
            match parse_chunk(&mut st, &b[i..]) {
                Parsed::Data {
                    consumed,
                    data: (x, y),
                } => {
                    data.extend_from_slice(&b[i + x..i + y]);
                    i += consumed;
                }
                Parsed::Skip(n) => i += n,
                Parsed::End { trailers, .. } => return Some((data, trailers)),
                Parsed::Need | Parsed::Invalid => return None,
            }
        }
    }

    #[test]
    fn chunk_grammar() {
        assert_eq!(decode(b"3\r\nabc\r\n0\r\n\r\n").unwrap().0, b"abc");
        assert_eq!(decode(b"3\nabc\n0\n\n").unwrap().0, b"abc");
        assert_eq!(decode(b"3;ext=1\r\nabc\r\n0\r\n\r\n").unwrap().0, b"abc");
        assert_eq!(decode(b"3 \r\nabc\r\n0\r\n\r\n").unwrap().0, b"abc");
        assert_eq!(decode(b"0003\r\nabc\r\n0\r\n\r\n").unwrap().0, b"abc");
        assert!(decode(b" 3\r\nabc\r\n0\r\n\r\n").is_none());
        assert!(decode(b"0x3\r\nabc\r\n0\r\n\r\n").is_none());
        assert!(decode(b"zz\r\nabc\r\n0\r\n\r\n").is_none());
        assert!(decode(b"3\r\nabcde\r\n0\r\n\r\n").is_none());
        assert!(decode(b"FFFFFFFFFFFFFF\r\n").is_none());
        let (_, t) = decode(b"1\r\na\r\n0\r\nX-T: v \r\n\r\n").unwrap();
        assert_eq!(t, b"x-t: v\r\n");
        assert!(decode(b"1\r\na\r\n0\r\nbad trailer\r\n\r\n").is_none());
    }
}
