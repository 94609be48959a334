//! HTTP/1 message heads — the request line or status line and the
//! header fields — parsed as HAProxy 2.6's parser (`h1_headers_to_hdr_list`
//! and `h1_parse_msg_hdrs`) accepts and refuses them, and the flags it
//! derives: version, Connection tokens, body framing.
//!
//! Where HAProxy 2.6 lets an ambiguity through (a Content-Length above
//! i64::MAX wraps around and frames the body differently from what the
//! server reads), rproxy refuses it: a documented difference.

/// Characters of a token (method, header name).
fn is_token(b: u8) -> bool {
    matches!(b,
        b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_'
        | b'`' | b'|' | b'~' | b'0'..=b'9' | b'A'..=b'Z' | b'a'..=b'z')
}

/// Characters of a version (upper case only: `http/1.1` is never valid).
fn is_ver(b: u8) -> bool {
    matches!(b, b'.' | b'/' | b'0'..=b'9' | b'A'..=b'Z')
}

fn is_spht(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Why a head was refused, with the status HAProxy answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Invalid {
    /// 400 for requests (502 for responses), 413, 422.
    pub status: u16,
    /// Offset of the offending byte, for `show errors`: where HAProxy's
    /// parser reports it.
    pub at: usize,
    pub stage: Stage,
}

/// Which of HAProxy's checks refuses a message: `show errors` reports
/// the parser state and flags each one leaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// A byte the syntax does not allow, seen as it arrives.
    Byte,
    /// A header field's value, once its line is complete (Content-Length,
    /// Transfer-Encoding, a second Host).
    Header,
    /// The request's authority against its Host header, after the last
    /// header line.
    Authority,
    /// The whole head (codings of a request not ending with chunked).
    Head,
    /// The start line's version, once the head is in (HTTP/0.9 included).
    Version,
    /// After the head: its framing against the method, the first chunk.
    Body,
}

fn bad(at: usize) -> Invalid {
    bad_in(Stage::Byte, at)
}

fn bad_in(stage: Stage, at: usize) -> Invalid {
    Invalid {
        status: 400,
        at,
        stage,
    }
}

/// Where the parts of a head start, for the offsets of `Invalid`.
struct Offsets {
    /// The start line.
    start: usize,
    /// Past the empty line ending the head.
    end: usize,
    /// The URI (requests) and the version (or, without one, the line end).
    uri: usize,
    version: usize,
    /// The value of each header field, in order.
    values: Vec<usize>,
}

impl Offsets {
    /// The URI and version offsets of the start line at `start`.
    fn new(buf: &[u8], start: usize, response: bool) -> Offsets {
        let word = |i: usize| {
            i + buf[i..]
                .iter()
                .take_while(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
                .count()
        };
        let spaces = |i: usize| i + buf[i..].iter().take_while(|b| is_spht(**b)).count();
        let uri = spaces(word(start));
        let version = if response { start } else { spaces(word(uri)) };
        Offsets {
            start,
            end: start,
            uri,
            version,
            values: Vec::with_capacity(16),
        }
    }
}

/// Body framing of a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// No body.
    None,
    Length(u64),
    Chunked,
    /// Response body delimited by the server's close.
    UntilClose,
}

/// Flags HAProxy's parser sets (`H1_MF_*`), those that matter here.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flags {
    /// Version 1.1 or above (by HAProxy's digit rule).
    pub ver11: bool,
    pub conn_kal: bool,
    pub conn_clo: bool,
    pub conn_upg: bool,
    pub websocket: bool,
    /// A Transfer-Encoding header was present.
    pub xfer_enc: bool,
    pub te_chunked: bool,
    pub te_other: bool,
    pub clen: bool,
    pub chnk: bool,
}

/// The start line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Line {
    Request {
        method: Name,
        uri: Value,
        version: Value,
    },
    Response {
        version: Value,
        /// The status as HAProxy reads it (u16, wrapping).
        status: u16,
        /// The code as received, forwarded verbatim.
        code: Value,
        reason: Value,
    },
}

/// A header name: short enough to live inline, as most are (no
/// allocation per header on the hot path).
pub type Name = compact_str::CompactString;
/// A header value (or a start-line part): inline up to 32 bytes.
pub type Value = smallvec::SmallVec<[u8; 32]>;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// As received; emitted lower-cased, as HAProxy's HTX does.
    pub name: Name,
    pub value: Value,
}

impl Header {
    pub fn new(name: &str, value: impl AsRef<[u8]>) -> Header {
        Header {
            name: name.into(),
            value: Value::from_slice(value.as_ref()),
        }
    }
}

/// A parsed head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Head {
    pub line: Line,
    pub headers: Vec<Header>,
    pub flags: Flags,
    /// The Content-Length value when valid.
    pub body_len: u64,
}

impl Head {
    pub fn method(&self) -> &str {
        match &self.line {
            Line::Request { method, .. } => method,
            Line::Response { .. } => "",
        }
    }

    pub fn uri(&self) -> &[u8] {
        match &self.line {
            Line::Request { uri, .. } => uri,
            Line::Response { .. } => b"",
        }
    }

    pub fn status(&self) -> u16 {
        match &self.line {
            Line::Response { status, .. } => *status,
            Line::Request { .. } => 0,
        }
    }

    /// The size HAProxy's HTX representation gives this head, which is
    /// what its logs count as bytes (`%B`, `%U`): a 21-byte start-line
    /// block plus its three parts, then each header's name and value.
    pub fn htx_size(&self) -> u64 {
        let line = match &self.line {
            Line::Request {
                method,
                uri,
                version,
            } => method.len() + uri.len() + version.len(),
            Line::Response {
                version,
                code,
                reason,
                ..
            } => version.len() + code.len() + reason.len(),
        };
        (21 + line
            + self
                .headers
                .iter()
                .map(|h| h.name.len() + h.value.len())
                .sum::<usize>()) as u64
    }

    /// Values of every header named `name` (case-insensitive).
    pub fn values<'a, 'n>(&'a self, name: &'n str) -> impl Iterator<Item = &'a [u8]> + use<'a, 'n> {
        self.headers
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_slice())
    }

    pub fn first(&self, name: &str) -> Option<&[u8]> {
        self.values(name).next()
    }

    pub fn last(&self, name: &str) -> Option<&[u8]> {
        self.values(name).last()
    }

    pub fn has(&self, name: &str) -> bool {
        self.values(name).next().is_some()
    }

    pub fn remove(&mut self, name: &str) {
        self.headers.retain(|h| !h.name.eq_ignore_ascii_case(name));
    }

    pub fn add(&mut self, name: &str, value: impl AsRef<[u8]>) {
        self.headers.push(Header::new(name, value));
    }

    /// Replaces every header of that name by one with `value`.
    pub fn set(&mut self, name: &str, value: impl AsRef<[u8]>) {
        self.remove(name);
        self.add(name, value);
    }
}

/// Limits of a head, from `tune.bufsize`, `tune.maxrewrite` and
/// `tune.http.maxhdr`.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// HAProxy's HTX size estimate must stay within this.
    pub max_size: usize,
    /// Most header fields.
    pub max_headers: usize,
}

impl Limits {
    pub fn new(bufsize: usize, maxrewrite: usize, maxhdr: usize) -> Limits {
        Limits {
            max_size: bufsize.saturating_sub(48 + maxrewrite),
            // the array holds the end-of-headers entry too
            max_headers: maxhdr.saturating_sub(1),
        }
    }
}

/// What a parse attempt gave.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// More bytes are needed.
    Partial,
    /// A head, taking `len` bytes of the input.
    Done(Head, usize),
}

/// Position of the end of the head (the empty line), if complete: the
/// length including that line.
fn find_end(buf: &[u8], start: usize) -> Option<usize> {
    let mut i = start;
    let mut line_start = start;
    while i < buf.len() {
        if buf[i] == b'\n' {
            let line = &buf[line_start..i];
            if line.is_empty() || line == b"\r" {
                return Some(i + 1);
            }
            line_start = i + 1;
        }
        i += 1;
    }
    None
}

/// Parses a request head. `Ok(Partial)` while incomplete; an error as
/// soon as a byte is wrong (HAProxy detects syntax errors on arrival).
pub fn parse_request(buf: &[u8], lim: &Limits) -> Result<Parsed, Invalid> {
    parse(buf, lim, false, None)
}

/// Parses a response head; `method` is the request's (HEAD and CONNECT
/// change the framing).
pub fn parse_response(buf: &[u8], lim: &Limits, method: &str) -> Result<Parsed, Invalid> {
    parse(buf, lim, true, Some(method)).map_err(|e| Invalid { status: 502, ..e })
}

/// A byte-level cursor over one head.
struct Cur<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cur<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    /// Consumes a line end (CRLF or bare LF); CR without LF is an error.
    fn eol(&mut self) -> Result<bool, Invalid> {
        match self.peek() {
            Some(b'\n') => {
                self.i += 1;
                Ok(true)
            }
            Some(b'\r') => {
                if self.b.get(self.i + 1) == Some(&b'\n') {
                    self.i += 2;
                    Ok(true)
                } else {
                    // HAProxy expects the LF there and reports that byte.
                    Err(bad(self.i + 1))
                }
            }
            _ => Ok(false),
        }
    }
}

fn parse(
    buf: &[u8],
    lim: &Limits,
    response: bool,
    method: Option<&str>,
) -> Result<Parsed, Invalid> {
    let mut c = Cur { b: buf, i: 0 };
    // Leading empty lines are skipped.
    loop {
        match c.peek() {
            None => return Ok(Parsed::Partial),
            Some(b'\r' | b'\n') => {
                let at = c.i;
                if c.b.get(c.i) == Some(&b'\r') && c.b.len() == c.i + 1 {
                    return Ok(Parsed::Partial);
                }
                if !c.eol()? {
                    return Err(bad(at));
                }
            }
            Some(b) if is_token(b) => break,
            Some(_) => return Err(bad(c.i)),
        }
    }
    let head_start = c.i;
    // Syntax errors are reported as soon as the bad byte arrives; the
    // checks that need the whole head wait for it.
    let line = if response {
        start_line_response(&mut c)?
    } else {
        start_line_request(&mut c)?
    };
    let Some(line) = line else {
        return Ok(Parsed::Partial);
    };
    let (line, http09) = line;
    let mut offsets = Offsets::new(buf, head_start, response);
    // Most heads have fewer fields: one allocation, no regrowth.
    let mut headers: Vec<Header> = Vec::with_capacity(16);
    if !http09 {
        loop {
            match c.peek() {
                None => return Ok(Parsed::Partial),
                Some(b'\r') if c.b.len() == c.i + 1 => return Ok(Parsed::Partial),
                Some(b'\r' | b'\n') => {
                    let at = c.i;
                    if c.peek() == Some(b'\r') && c.b.get(c.i + 1) != Some(&b'\n') {
                        return Err(bad(at + 1));
                    }
                    c.eol()?;
                    break;
                }
                _ => {}
            }
            let line_start = c.i;
            match header_line(&mut c, headers.is_empty())? {
                None => return Ok(Parsed::Partial),
                Some(HeaderLine::Field(h)) => {
                    let v = line_start + h.name.len() + 1;
                    offsets
                        .values
                        .push(v + buf[v..].iter().take_while(|b| is_spht(**b)).count());
                    headers.push(h);
                }
                Some(HeaderLine::Fold(extra)) => {
                    // obs-fold: the previous value continues, line end
                    // turned into spaces.
                    if let Some(last) = headers.last_mut() {
                        if last.value.is_empty() {
                            let trimmed: Value =
                                extra.iter().copied().skip_while(|b| is_spht(*b)).collect();
                            last.value = trimmed;
                        } else {
                            last.value.extend_from_slice(&extra);
                        }
                    }
                }
            }
        }
    } else if find_end(buf, head_start).is_none() && c.i > buf.len() {
        return Ok(Parsed::Partial);
    }
    let len = c.i;
    // Trim the values, as HAProxy does once a line is complete.
    for h in &mut headers {
        trim_lws(&mut h.value);
    }
    offsets.end = len;
    let head = finish(line, headers, response, method, http09, lim, &offsets)?;
    Ok(Parsed::Done(head, len))
}

/// A token as a `Name`: the parser admits only ASCII in tokens, so the
/// lossy conversion (slower) is for what should never happen.
fn name_of(b: &[u8]) -> Name {
    match std::str::from_utf8(b) {
        Ok(s) => Name::new(s),
        Err(_) => Name::from_utf8_lossy(b),
    }
}

fn trim_lws(v: &mut Value) {
    let lws = |b: &u8| matches!(*b, b' ' | b'\t' | b'\r' | b'\n');
    while v.last().is_some_and(lws) {
        v.pop();
    }
    let lead = v.iter().take_while(|b| lws(b)).count();
    v.drain(..lead);
}

/// Request line: `Ok(None)` while incomplete; the flag says HTTP/0.9
/// (no version: the message ends with the line).
fn start_line_request(c: &mut Cur<'_>) -> Result<Option<(Line, bool)>, Invalid> {
    let m0 = c.i;
    while let Some(b) = c.peek() {
        if is_token(b) {
            c.i += 1;
        } else {
            break;
        }
    }
    let method_end = c.i;
    match c.peek() {
        None => return Ok(None),
        Some(b) if is_spht(b) => {}
        Some(b'\r' | b'\n') => {
            // "GET\r\n": HTTP/0.9 with an empty URI
            if c.peek() == Some(b'\r') && c.b.len() == c.i + 1 {
                return Ok(None);
            }
            c.eol()?;
            return Ok(Some((request_line(c.b, m0, method_end, &[], &[]), true)));
        }
        Some(_) => return Err(bad(c.i)),
    }
    while c.peek().is_some_and(is_spht) {
        c.i += 1;
    }
    let u0 = c.i;
    loop {
        match c.peek() {
            None => return Ok(None),
            Some(b' ' | b'\t' | b'\r' | b'\n') => break,
            // Debian's 2.6 refuses a fragment (CVE-2023-45539), and bytes
            // outside printable ASCII.
            Some(b'#') => return Err(bad(c.i)),
            // printable ASCII and DEL pass
            Some(b) if (0x21..=0x7f).contains(&b) => c.i += 1,
            Some(_) => return Err(bad(c.i)),
        }
    }
    let uri_end = c.i;
    if matches!(c.peek(), Some(b'\r' | b'\n')) {
        if c.peek() == Some(b'\r') && c.b.len() == c.i + 1 {
            return Ok(None);
        }
        c.eol()?;
        let line = request_line(c.b, m0, method_end, &c.b[u0..uri_end], &[]);
        return Ok(Some((line, true)));
    }
    while c.peek().is_some_and(is_spht) {
        c.i += 1;
    }
    let v0 = c.i;
    loop {
        match c.peek() {
            None => return Ok(None),
            Some(b'\r' | b'\n') => break,
            Some(b) if is_ver(b) => c.i += 1,
            Some(_) => return Err(bad(c.i)),
        }
    }
    let v_end = c.i;
    if c.peek() == Some(b'\r') && c.b.len() == c.i + 1 {
        return Ok(None);
    }
    c.eol()?;
    let http09 = v_end == v0;
    let line = request_line(c.b, m0, method_end, &c.b[u0..uri_end], &c.b[v0..v_end]);
    Ok(Some((line, http09)))
}

fn request_line(b: &[u8], m0: usize, m1: usize, uri: &[u8], version: &[u8]) -> Line {
    Line::Request {
        method: name_of(&b[m0..m1]),
        uri: Value::from_slice(uri),
        version: Value::from_slice(version),
    }
}

fn start_line_response(c: &mut Cur<'_>) -> Result<Option<(Line, bool)>, Invalid> {
    let v0 = c.i;
    loop {
        match c.peek() {
            None => return Ok(None),
            Some(b) if is_spht(b) => break,
            Some(b) if is_ver(b) => c.i += 1,
            Some(_) => return Err(bad(c.i)),
        }
    }
    let version = Value::from_slice(&c.b[v0..c.i]);
    while c.peek().is_some_and(is_spht) {
        c.i += 1;
    }
    let s0 = c.i;
    let mut status: u16 = 0;
    loop {
        match c.peek() {
            None => return Ok(None),
            Some(d @ b'0'..=b'9') => {
                status = status.wrapping_mul(10).wrapping_add(u16::from(d - b'0'));
                c.i += 1;
            }
            Some(b' ' | b'\t' | b'\r' | b'\n') => break,
            Some(_) => return Err(bad(c.i)),
        }
    }
    if c.i == s0 {
        return Err(bad(c.i));
    }
    let code = Value::from_slice(&c.b[s0..c.i]);
    while c.peek().is_some_and(is_spht) {
        c.i += 1;
    }
    let r0 = c.i;
    loop {
        match c.peek() {
            None => return Ok(None),
            Some(b'\r' | b'\n') => break,
            Some(_) => c.i += 1,
        }
    }
    let reason = Value::from_slice(&c.b[r0..c.i]);
    if c.peek() == Some(b'\r') && c.b.len() == c.i + 1 {
        return Ok(None);
    }
    c.eol()?;
    Ok(Some((
        Line::Response {
            version,
            status,
            code,
            reason,
        },
        false,
    )))
}

enum HeaderLine {
    Field(Header),
    /// A continuation line (obs-fold): the bytes to append, the line end
    /// before it already turned into spaces.
    Fold(Vec<u8>),
}

/// One header line; `Ok(None)` while incomplete.
fn header_line(c: &mut Cur<'_>, first: bool) -> Result<Option<HeaderLine>, Invalid> {
    let start = c.i;
    if c.peek().is_some_and(is_spht) {
        if first {
            // a continuation right after the start line
            return Err(bad(c.i));
        }
        // obs-fold: the value goes on, after two spaces standing for the
        // line end (CRLF) — or one for a bare LF.
        let crlf = start >= 2 && c.b[start - 2] == b'\r';
        let mut v = if crlf { b"  ".to_vec() } else { b" ".to_vec() };
        loop {
            match c.peek() {
                None => return Ok(None),
                Some(b'\r' | b'\n') => break,
                Some(b) => {
                    v.push(b);
                    c.i += 1;
                }
            }
        }
        if c.peek() == Some(b'\r') && c.b.len() == c.i + 1 {
            return Ok(None);
        }
        c.eol()?;
        return Ok(Some(HeaderLine::Fold(v)));
    }
    loop {
        match c.peek() {
            None => return Ok(None),
            Some(b':') => break,
            Some(b) if is_token(b) => c.i += 1,
            Some(_) => return Err(bad(c.i)),
        }
    }
    if c.i == start {
        return Err(bad(c.i));
    }
    let name = name_of(&c.b[start..c.i]);
    c.i += 1;
    let v0 = c.i;
    loop {
        match c.peek() {
            None => return Ok(None),
            Some(b'\n') => break,
            Some(b'\r') => {
                if c.b.len() == c.i + 1 {
                    return Ok(None);
                }
                if c.b[c.i + 1] != b'\n' {
                    return Err(bad(c.i + 1));
                }
                break;
            }
            Some(_) => c.i += 1,
        }
    }
    let value = Value::from_slice(&c.b[v0..c.i]);
    c.eol()?;
    Ok(Some(HeaderLine::Field(Header { name, value })))
}

/// HAProxy's `h1_parse_cont_len_header`: a list of equal decimal values.
fn content_length(v: &[u8], prev: Option<u64>) -> Result<u64, ()> {
    let mut out: Option<u64> = prev;
    let mut i = 0;
    loop {
        while i < v.len() && is_spht(v[i]) {
            i += 1;
        }
        let d0 = i;
        let mut n: u64 = 0;
        while i < v.len() && v[i].is_ascii_digit() {
            n = n
                .checked_mul(10)
                .and_then(|n| n.checked_add(u64::from(v[i] - b'0')))
                .ok_or(())?;
            i += 1;
        }
        if i == d0 || n > i64::MAX as u64 {
            return Err(());
        }
        while i < v.len() && is_spht(v[i]) {
            i += 1;
        }
        match out {
            Some(o) if o != n => return Err(()),
            _ => out = Some(n),
        }
        if i == v.len() {
            return out.ok_or(());
        }
        if v[i] != b',' {
            return Err(());
        }
        i += 1;
    }
}

/// Splits a header value at commas outside quotes, trimming each element.
pub fn list_items(v: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    let mut i = 0;
    while i < v.len() {
        match v[i] {
            b'"' => quoted = !quoted,
            b'\\' if quoted => i += 1,
            b',' if !quoted => {
                out.push(trim(&v[start..i]));
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    out.push(trim(&v[start.min(v.len())..]));
    out
}

pub fn trim(v: &[u8]) -> &[u8] {
    let s = v.iter().position(|b| !is_spht(*b)).unwrap_or(v.len());
    let e = v.iter().rposition(|b| !is_spht(*b)).map_or(s, |e| e + 1);
    &v[s..e.max(s)]
}

/// The checks that need the whole head, and the flags.
fn finish(
    mut line: Line,
    raw: Vec<Header>,
    response: bool,
    method: Option<&str>,
    http09: bool,
    lim: &Limits,
    off: &Offsets,
) -> Result<Head, Invalid> {
    let at = off.start;
    let mut flags = Flags::default();
    let version = match &line {
        Line::Request { version, .. } | Line::Response { version, .. } => version.clone(),
    };
    // Strict version check: "HTTP/d.d" (requests), "????/d.d" (responses).
    let ok_version = version.len() == 8
        && (response || version.starts_with(b"HTTP/"))
        && version[4] == b'/'
        && version[5].is_ascii_digit()
        && version[6] == b'.'
        && version[7].is_ascii_digit();
    if http09 || !ok_version {
        return Err(bad_in(Stage::Version, off.version));
    }
    flags.ver11 = version[5] > b'1' || (version[5] == b'1' && version[7] >= b'1');

    let mut headers: Vec<Header> = Vec::with_capacity(raw.len());
    let mut body_len: Option<u64> = None;
    let mut host: Option<Value> = None;
    let mut host_at = None;
    for (k, h) in raw.into_iter().enumerate() {
        let value_at = bad_in(Stage::Header, off.values.get(k).copied().unwrap_or(at));
        if headers.len() >= lim.max_headers {
            return Err(bad(at));
        }
        let name = h.name.as_str();
        if name.eq_ignore_ascii_case("content-length") {
            let n = content_length(&h.value, body_len).map_err(|()| value_at)?;
            if body_len.is_some() {
                continue; // a duplicate of an equal value
            }
            body_len = Some(n);
            flags.clen = true;
            // the value forwarded is the bare digits of the last element
            let last = list_items(&h.value)
                .last()
                .map(|x| x.to_vec())
                .unwrap_or_default();
            headers.push(Header {
                name: h.name,
                value: last.into(),
            });
            continue;
        }
        if name.eq_ignore_ascii_case("transfer-encoding") {
            flags.xfer_enc = true;
            for item in list_items(&h.value) {
                flags.chnk = false;
                if item.eq_ignore_ascii_case(b"chunked") {
                    if flags.te_chunked {
                        return Err(value_at);
                    }
                    flags.te_chunked = true;
                    flags.chnk = true;
                } else {
                    if !response && flags.te_chunked {
                        return Err(value_at);
                    }
                    flags.te_other = true;
                }
            }
            headers.push(h);
            continue;
        }
        if name.eq_ignore_ascii_case("connection") {
            let mut kept: Vec<u8> = Vec::new();
            let mut removed = false;
            for item in list_items(&h.value) {
                let drop = if item.eq_ignore_ascii_case(b"keep-alive") {
                    flags.conn_kal = true;
                    true
                } else if item.eq_ignore_ascii_case(b"close") {
                    flags.conn_clo = true;
                    true
                } else {
                    if item.eq_ignore_ascii_case(b"upgrade") {
                        flags.conn_upg = true;
                    }
                    false
                };
                if drop {
                    removed = true;
                } else if !item.is_empty() {
                    if !kept.is_empty() {
                        kept.push(b',');
                        if !removed {
                            kept.push(b' ');
                        }
                    }
                    kept.extend_from_slice(item);
                }
            }
            if !kept.is_empty() {
                headers.push(Header {
                    name: h.name,
                    value: if removed { kept.into() } else { h.value },
                });
            }
            continue;
        }
        if name.eq_ignore_ascii_case("upgrade") {
            flags.websocket = list_items(&h.value)
                .iter()
                .any(|t| t.eq_ignore_ascii_case(b"websocket"));
        }
        if !response && name.eq_ignore_ascii_case("host") {
            match &host {
                Some(prev) if prev.eq_ignore_ascii_case(&h.value) => continue,
                Some(_) => return Err(value_at),
                None => {
                    host = Some(h.value.clone());
                    host_at = off.values.get(k).copied();
                }
            }
        }
        headers.push(h);
    }
    // HAProxy's HTX size estimate.
    let line_len = match &line {
        Line::Request {
            method,
            uri,
            version,
        } => method.len() + uri.len() + version.len(),
        Line::Response {
            version,
            code,
            reason,
            ..
        } => version.len() + code.len() + reason.len(),
    };
    let size = 28
        + line_len
        + headers
            .iter()
            .map(|h| 8 + h.name.len() + h.value.len())
            .sum::<usize>()
        + 9;
    if size > lim.max_size || headers.iter().any(|h| h.name.len() > 255) {
        return Err(bad(at));
    }
    if !response {
        // HAProxy points at the Host value, else at the URI.
        let at = host_at.unwrap_or(off.uri);
        authority_checks(&line, host.as_deref(), at).map_err(|e| Invalid {
            stage: Stage::Authority,
            ..e
        })?;
        normalize_default_port(&mut line, &mut headers);
    }
    // Transfer-Encoding wins over Content-Length, which is removed; the
    // connection is closed after the message.
    if flags.xfer_enc && flags.clen {
        flags.conn_clo = true;
        flags.clen = false;
        body_len = None;
        headers.retain(|h| !h.name.eq_ignore_ascii_case("content-length"));
    } else if flags.xfer_enc && !flags.ver11 {
        flags.conn_clo = true;
    }
    if flags.xfer_enc && !flags.chnk && !response {
        // A request whose codings do not end with chunked: 422 when
        // chunked comes last of several, else 400.
        return Err(bad_in(Stage::Head, off.end));
    }
    if flags.xfer_enc && !response && flags.te_other {
        return Err(Invalid {
            status: 422,
            ..bad_in(Stage::Body, off.end)
        });
    }
    if !response && !flags.ver11 {
        let m = match &line {
            Line::Request { method, .. } => method.as_str(),
            _ => "",
        };
        let has_body = flags.chnk || body_len.is_some_and(|n| n > 0);
        if has_body && matches!(m, "GET" | "HEAD" | "DELETE") {
            return Err(Invalid {
                status: 413,
                ..bad_in(Stage::Body, off.end)
            });
        }
    }
    if response && flags.xfer_enc && flags.te_other {
        return Err(bad_in(Stage::Head, off.end));
    }
    let _ = method;
    Ok(Head {
        line,
        headers,
        flags,
        body_len: body_len.unwrap_or(0),
    })
}

/// The request target against Host (HAProxy's authority checks).
fn authority_checks(line: &Line, host: Option<&[u8]>, at: usize) -> Result<(), Invalid> {
    let Line::Request { method, uri, .. } = line else {
        return Ok(());
    };
    if method == "CONNECT" {
        let (name, port) = split_port(uri);
        if port.is_none_or(|p| p.is_empty()) {
            return Err(bad(at));
        }
        if let Some(h) = host {
            let (hn, hp) = split_port(h);
            let ok = match hp {
                Some(hp) => hn.eq_ignore_ascii_case(name) && Some(hp) == port,
                None => hn.eq_ignore_ascii_case(name) && matches!(port, Some(b"80") | Some(b"443")),
            };
            if !ok {
                return Err(bad(at));
            }
        }
        return Ok(());
    }
    if uri.is_empty() || uri[..] == b"*"[..] || uri.starts_with(b"/") {
        return Ok(());
    }
    let (scheme, authority) = split_authority(uri);
    if scheme.is_none() && uri.iter().all(|b| *b != b'/') && host.is_none() {
        // "GET abc" without Host has nothing to compare
    }
    let Some(h) = host else { return Ok(()) };
    if authority.is_empty() || authority.eq_ignore_ascii_case(h) {
        return Ok(());
    }
    let Some(scheme) = scheme else {
        return Err(bad(at));
    };
    let default = if scheme.eq_ignore_ascii_case(b"https") {
        &b"443"[..]
    } else if scheme.eq_ignore_ascii_case(b"http") {
        &b"80"[..]
    } else {
        &b""[..]
    };
    let (an, ap) = split_port(authority);
    let (hn, hp) = split_port(h);
    let port_ok = |p: Option<&[u8]>| p.is_none_or(|p| p.is_empty() || p == default);
    if (ap.is_some() || hp.is_some()) && port_ok(ap) && port_ok(hp) && an.eq_ignore_ascii_case(hn) {
        return Ok(());
    }
    Err(bad(at))
}

/// HAProxy's normalization of default ports: a CONNECT's Host loses
/// `:80`/`:443`; an absolute URI whose port is its scheme's default loses
/// it, and so do the Host headers.
fn normalize_default_port(line: &mut Line, headers: &mut [Header]) {
    let Line::Request { method, uri, .. } = line else {
        return;
    };
    let strip_host = |headers: &mut [Header], host: &[u8]| {
        for h in headers.iter_mut() {
            if h.name.eq_ignore_ascii_case("host") {
                h.value = host.to_vec().into();
            }
        }
    };
    if method == "CONNECT" {
        let (name, port) = split_port(uri);
        if matches!(port, Some(b"80") | Some(b"443")) {
            let name = name.to_vec();
            for h in headers.iter_mut() {
                if h.name.eq_ignore_ascii_case("host") {
                    let (hn, hp) = split_port(&h.value);
                    if hp.is_some() && hn.eq_ignore_ascii_case(&name) {
                        h.value = hn.to_vec().into();
                    }
                }
            }
        }
        return;
    }
    if uri.is_empty() || uri[0] == b'/' || uri.as_slice() == b"*" {
        return;
    }
    let (Some(scheme), authority) = split_authority(uri) else {
        return;
    };
    let default: &[u8] = if scheme.eq_ignore_ascii_case(b"https") {
        b"443"
    } else if scheme.eq_ignore_ascii_case(b"http") {
        b"80"
    } else {
        return;
    };
    let (host, port) = split_port(authority);
    if port != Some(default) {
        return;
    }
    let host = host.to_vec();
    // `authority` is a sub-slice of `uri`: rebuild around it.
    let start = authority.as_ptr() as usize - uri.as_ptr() as usize;
    let end = start + authority.len();
    let mut rebuilt = uri[..start].to_vec();
    rebuilt.extend_from_slice(&host);
    rebuilt.extend_from_slice(&uri[end..]);
    *uri = rebuilt.into();
    strip_host(headers, &host);
}

/// `host[:port]`: the port is the digits after the last colon.
fn split_port(v: &[u8]) -> (&[u8], Option<&[u8]>) {
    match v.iter().rposition(|b| *b == b':') {
        Some(i) if v[i + 1..].iter().all(u8::is_ascii_digit) && !v.ends_with(b"]") => {
            (&v[..i], Some(&v[i + 1..]))
        }
        _ => (v, None),
    }
}

/// Scheme (if any) and authority of an absolute or authority-form URI.
fn split_authority(uri: &[u8]) -> (Option<&[u8]>, &[u8]) {
    let scheme_end = uri.windows(3).position(|w| w == b"://");
    let valid_scheme = scheme_end.is_some_and(|e| {
        e > 0
            && uri[0].is_ascii_alphabetic()
            && uri[..e]
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
    });
    let (scheme, rest) = match scheme_end {
        Some(e) if valid_scheme => (Some(&uri[..e]), &uri[e + 3..]),
        _ => (None, uri),
    };
    let end = rest.iter().position(|b| *b == b'/').unwrap_or(rest.len());
    let mut auth = &rest[..end];
    if let Some(at) = auth.iter().rposition(|b| *b == b'@') {
        auth = &auth[at + 1..];
    }
    (scheme, auth)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lim() -> Limits {
        Limits::new(16384, 1024, 101)
    }

    fn req(s: &[u8]) -> Result<Parsed, Invalid> {
        parse_request(s, &lim())
    }

    fn head(s: &[u8]) -> Head {
        match req(s) {
            Ok(Parsed::Done(h, _)) => h,
            other => panic!("{other:?}"),
        }
    }

    fn status(s: &[u8]) -> u16 {
        match req(s) {
            Err(e) => e.status,
            Ok(Parsed::Done(..)) => 200,
            Ok(Parsed::Partial) => 0,
        }
    }

    #[test]
    fn simple_and_partial() {
        let h = head(b"GET /a?b HTTP/1.1\r\nHost: x\r\nX-Foo:  bar \r\n\r\n");
        assert_eq!(h.method(), "GET");
        assert_eq!(h.uri(), b"/a?b");
        assert_eq!(h.first("x-foo"), Some(&b"bar"[..]));
        assert!(h.flags.ver11);
        assert_eq!(req(b"GET / HTTP/1.1\r\nHost: x\r\n"), Ok(Parsed::Partial));
        assert_eq!(req(b"GET / HTTP/1.1\r"), Ok(Parsed::Partial));
        assert_eq!(status(b"\r\n\nGET / HTTP/1.1\n\n"), 200);
    }

    #[test]
    fn versions() {
        assert_eq!(status(b"GET / HTTP/1.2\r\n\r\n"), 200);
        assert_eq!(status(b"GET / HTTP/9.9\r\n\r\n"), 200);
        assert_eq!(status(b"GET / HTTP/1\r\n\r\n"), 400);
        assert_eq!(status(b"GET / HTTP/1.10\r\n\r\n"), 400);
        assert_eq!(status(b"GET / http/1.1\r\n\r\n"), 400);
        assert_eq!(status(b"GET /\r\n\r\n"), 400);
        assert_eq!(status(b"GET / HTTP/1.1 \r\n\r\n"), 400);
        assert!(!head(b"GET / HTTP/1.0\r\n\r\n").flags.ver11);
    }

    #[test]
    fn uris_and_methods() {
        assert_eq!(status(b"GET /a\x7fb HTTP/1.1\r\n\r\n"), 200);
        assert_eq!(status(b"GET /a\"<>{}|\\^` HTTP/1.1\r\n\r\n"), 200);
        assert_eq!(status(b"GET /a#b HTTP/1.1\r\n\r\n"), 400);
        assert_eq!(status(b"GET /a\xe9 HTTP/1.1\r\n\r\n"), 400);
        assert_eq!(status(b"GET /a\x01 HTTP/1.1\r\n\r\n"), 400);
        assert_eq!(status(b"G(T / HTTP/1.1\r\n\r\n"), 400);
        assert_eq!(status(b"GET\t/\tHTTP/1.1\r\n\r\n"), 200);
        assert_eq!(status(b"GET  / HTTP/1.1\r\n\r\n"), 200);
    }

    #[test]
    fn headers() {
        assert_eq!(status(b"GET / HTTP/1.1\r\nHost : x\r\n\r\n"), 400);
        assert_eq!(status(b"GET / HTTP/1.1\r\n: x\r\n\r\n"), 400);
        assert_eq!(status(b"GET / HTTP/1.1\r\nX-A: a\x00b\r\n\r\n"), 200);
        assert_eq!(status(b"GET / HTTP/1.1\r\nX-A: a\rb\r\n\r\n"), 400);
        assert_eq!(status(b"GET / HTTP/1.1\r\n x: y\r\n\r\n"), 400);
        let h = head(b"GET / HTTP/1.1\r\nFoo: a\r\n b\r\n\tc\r\n\r\n");
        assert_eq!(h.first("foo"), Some(&b"a   b  \tc"[..]));
        let mut many = b"GET / HTTP/1.1\r\nHost: x\r\n".to_vec();
        for i in 0..99 {
            many.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
        }
        let mut too_many = many.clone();
        many.extend_from_slice(b"\r\n");
        assert_eq!(status(&many), 200);
        too_many.extend_from_slice(b"X-last: v\r\n\r\n");
        assert_eq!(status(&too_many), 400);
        assert_eq!(status(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), 400);
        assert_eq!(status(b"GET / HTTP/1.1\r\nHost: a\r\nHost: A\r\n\r\n"), 200);
    }

    #[test]
    fn lengths_and_codings() {
        let h = head(b"POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n");
        assert_eq!(
            (h.body_len, h.first("content-length")),
            (5, Some(&b"5"[..]))
        );
        assert_eq!(
            status(b"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"),
            400
        );
        assert_eq!(
            status(b"POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\n"),
            400
        );
        assert_eq!(status(b"POST / HTTP/1.1\r\nContent-Length: \r\n\r\n"), 400);
        assert_eq!(
            status(b"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n"),
            400
        );
        assert_eq!(
            status(b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"),
            422
        );
        assert_eq!(
            status(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"),
            400
        );
        assert_eq!(
            status(b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n"),
            400
        );
        assert_eq!(
            status(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n"),
            400
        );
        let h = head(b"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n");
        assert!(h.flags.chnk && h.flags.conn_clo && !h.has("content-length"));
        assert_eq!(status(b"GET / HTTP/1.0\r\nContent-Length: 3\r\n\r\n"), 413);
    }

    #[test]
    fn connection_tokens() {
        let h =
            head(b"GET / HTTP/1.1\r\nConnection: foo, keep-alive , Upgrade, close ,bar\r\n\r\n");
        assert!(h.flags.conn_kal && h.flags.conn_clo && h.flags.conn_upg);
        assert_eq!(h.first("connection"), Some(&b"foo,Upgrade,bar"[..]));
        let h = head(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
        assert!(!h.has("connection"));
    }

    #[test]
    fn authority() {
        assert_eq!(status(b"GET http://b/ HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
        assert_eq!(status(b"GET http://a:80/ HTTP/1.1\r\nHost: a\r\n\r\n"), 200);
        assert_eq!(
            status(b"GET http://a:443/ HTTP/1.1\r\nHost: a\r\n\r\n"),
            400
        );
        assert_eq!(status(b"CONNECT a HTTP/1.1\r\n\r\n"), 400);
        assert_eq!(
            status(b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n"),
            200
        );
    }

    #[test]
    fn responses() {
        let r = parse_response(b"HTTP/1.1 200\r\n\r\n", &lim(), "GET");
        assert!(matches!(r, Ok(Parsed::Done(..))));
        let r = parse_response(b"HTTP/1.1 2x0 OK\r\n\r\n", &lim(), "GET");
        assert_eq!(r.err().map(|e| e.status), Some(502));
        let r = parse_response(b"ABCD/1.1 200 OK\r\n\r\n", &lim(), "GET");
        assert!(matches!(r, Ok(Parsed::Done(..))));
    }
}
