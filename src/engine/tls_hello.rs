//! Reading a TLS ClientHello without terminating TLS, for the layer-6
//! fetches HAProxy offers in TCP mode (`req.ssl_sni`, `req.ssl_ver`,
//! `req.ssl_hello_type`) — what SNI-based routing of TLS traffic uses.

/// The handshake record's body, once the whole record has arrived.
fn record(buf: &[u8]) -> Option<&[u8]> {
    if buf.len() < 5 || buf[0] != 0x16 {
        return None;
    }
    let len = usize::from(u16::from_be_bytes([buf[3], buf[4]]));
    buf.get(5..5 + len)
}

/// A TLS record header, as HAProxy recognises one (SSLv3 and later).
fn is_record(buf: &[u8]) -> bool {
    buf.first()
        .is_some_and(|b| (0x14..=0x17).contains(b) || *b == 0xff)
}

/// The type of the first handshake message (1: ClientHello), once that
/// whole message has arrived (HAProxy's `req.ssl_hello_type`).
pub fn handshake_type(buf: &[u8]) -> Option<u8> {
    if !is_record(buf) || buf.len() < 9 {
        return None;
    }
    let version = u32::from(buf[1]) << 16 | u32::from(buf[2]);
    let rec_len = usize::from(u16::from_be_bytes([buf[3], buf[4]]));
    if version < 0x30000 || rec_len < 4 {
        return None;
    }
    let hs_len = (usize::from(buf[6]) << 16) | (usize::from(buf[7]) << 8) | usize::from(buf[8]);
    if buf.len() < 9 + hs_len {
        return None;
    }
    Some(buf[5])
}

/// The ClientHello's version as `major << 16 | minor` (HAProxy's
/// `req.ssl_ver`, SSLv3 record format).
pub fn version(buf: &[u8]) -> Option<u32> {
    if !is_record(buf) || buf.len() < 11 {
        return None;
    }
    let rec_version = u32::from(buf[1]) << 16 | u32::from(buf[2]);
    let rec_len = usize::from(u16::from_be_bytes([buf[3], buf[4]]));
    if rec_version < 0x30000 || !(6..=(1 << 14) + 2048).contains(&rec_len) {
        return None;
    }
    Some(u32::from(buf[9]) << 16 | u32::from(buf[10]))
}

/// The server name of a complete ClientHello's SNI extension.
pub fn sni(buf: &[u8]) -> Option<String> {
    let rec = record(buf)?;
    if *rec.first()? != 1 {
        return None;
    }
    let hs_len = (usize::from(*rec.get(1)?) << 16)
        | (usize::from(*rec.get(2)?) << 8)
        | usize::from(*rec.get(3)?);
    let hello = rec.get(4..4 + hs_len)?;
    // version (2) + random (32)
    let mut p = 34;
    let sid = usize::from(*hello.get(p)?);
    p += 1 + sid;
    let suites = usize::from(u16::from_be_bytes([*hello.get(p)?, *hello.get(p + 1)?]));
    p += 2 + suites;
    let comp = usize::from(*hello.get(p)?);
    p += 1 + comp;
    let ext_len = usize::from(u16::from_be_bytes([*hello.get(p)?, *hello.get(p + 1)?]));
    p += 2;
    let exts = hello.get(p..p + ext_len)?;
    let mut q = 0;
    while q + 4 <= exts.len() {
        let kind = u16::from_be_bytes([exts[q], exts[q + 1]]);
        let len = usize::from(u16::from_be_bytes([exts[q + 2], exts[q + 3]]));
        let data = exts.get(q + 4..q + 4 + len)?;
        if kind == 0 {
            // server_name_list: length, then (type, length, name)…
            let mut r = 2;
            while r + 3 <= data.len() {
                let t = data[r];
                let n = usize::from(u16::from_be_bytes([data[r + 1], data[r + 2]]));
                let name = data.get(r + 3..r + 3 + n)?;
                if t == 0 {
                    return std::str::from_utf8(name).ok().map(str::to_string);
                }
                r += 3 + n;
            }
            return None;
        }
        q += 4 + len;
    }
    None
}

/// Whether a payload fetch could answer differently once more bytes
/// arrive (HAProxy's SMP_F_MAY_CHANGE): the data is too short for it to
/// decide.
pub fn may_change(fetch: &str, args: &[String], buf: &[u8]) -> bool {
    let record_short = |need: usize| buf.is_empty() || (is_record(buf) && buf.len() < need);
    match fetch {
        "req.len" | "req_len" => true,
        "req.payload" | "payload" => {
            let off: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(0);
            let len: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(0);
            len == 0 || buf.len() < off.saturating_add(len)
        }
        "req.ssl_hello_type" | "req_ssl_hello_type" => {
            if record_short(9) {
                return true;
            }
            is_record(buf) && {
                let hs_len =
                    (usize::from(buf[6]) << 16) | (usize::from(buf[7]) << 8) | usize::from(buf[8]);
                buf.len() < 9 + hs_len
            }
        }
        "req.ssl_ver" | "req_ssl_ver" => record_short(11),
        "req.ssl_sni" | "req_ssl_sni" => {
            if record_short(5) {
                return true;
            }
            is_record(buf) && {
                let len = usize::from(u16::from_be_bytes([buf[3], buf[4]]));
                buf.len() < 5 + len
            }
        }
        "req.proto_http" | "req_proto_http" => !buf.contains(&b'\n'),
        _ => false,
    }
}

/// Whether the bytes start like an HTTP/1 request line (`req.proto_http`).
pub fn looks_like_http(buf: &[u8]) -> bool {
    let Some(eol) = buf.iter().position(|b| *b == b'\n') else {
        return false;
    };
    let line = buf[..eol].strip_suffix(b"\r").unwrap_or(&buf[..eol]);
    let mut parts = line.split(|b| *b == b' ');
    let (Some(m), Some(u), Some(v)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    !m.is_empty()
        && m.iter().all(|b| b.is_ascii_alphabetic())
        && !u.is_empty()
        && v.starts_with(b"HTTP/")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal ClientHello for `name`.
    pub fn hello(name: &str) -> Vec<u8> {
        let mut sni = vec![0u8, 0];
        let mut list = vec![0u8];
        list.extend((name.len() as u16).to_be_bytes());
        list.extend(name.as_bytes());
        let mut ext_data = (list.len() as u16).to_be_bytes().to_vec();
        ext_data.extend(&list);
        sni.extend((ext_data.len() as u16).to_be_bytes());
        sni.extend(&ext_data);
        let mut body = vec![3u8, 3];
        body.extend([0u8; 32]);
        body.push(0); // session id
        body.extend([0u8, 2, 0x13, 0x01]); // one suite
        body.extend([1u8, 0]); // null compression
        body.extend((sni.len() as u16).to_be_bytes());
        body.extend(&sni);
        let mut hs = vec![1u8];
        hs.extend(&(body.len() as u32).to_be_bytes()[1..]);
        hs.extend(&body);
        let mut rec = vec![0x16u8, 3, 1];
        rec.extend((hs.len() as u16).to_be_bytes());
        rec.extend(&hs);
        rec
    }

    #[test]
    fn reads_sni_only_from_a_complete_hello() {
        let h = hello("www.example.org");
        assert_eq!(sni(&h).as_deref(), Some("www.example.org"));
        assert_eq!(sni(&h[..h.len() - 1]), None);
        assert_eq!(handshake_type(&h), Some(1));
        assert_eq!(version(&h), Some(0x30003));
        assert_eq!(handshake_type(&h[..20]), None);
        assert_eq!(sni(b"GET / HTTP/1.1\r\n"), None);
    }

    #[test]
    fn http_request_lines() {
        assert!(looks_like_http(b"GET / HTTP/1.1\r\nHost: x\r\n"));
        assert!(!looks_like_http(b"GET / HTTP/1.1"));
        assert!(!looks_like_http(b"\x16\x03\x01"));
    }
}
