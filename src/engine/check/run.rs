//! Running one health check: the plan's steps against one server, under
//! HAProxy's time limits — the whole check within `inter`, or, with
//! `timeout check`, the connection within min(inter, `timeout connect`)
//! and the rest within `timeout check` — and HAProxy's verdicts and texts.

use super::plan::{
    Custom, Expect, HttpExpect, HttpMatch, Matcher, Msg, Numbered, Plan, Step, Style,
};
use crate::config::model::{ProxyProtocol, Source};
use crate::engine::connect::{self, ConnectError};
use crate::engine::proxy_proto;
use crate::engine::server::{CheckOutcome, CheckStatus};
use bytes::BufMut;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout_at};

/// Where and how one server is checked.
#[derive(Clone, Debug)]
pub struct Target {
    pub addr: SocketAddr,
    pub source: Option<Source>,
    /// `check-send-proxy`, in the version of the server's `send-proxy`.
    pub send_proxy: Option<ProxyProtocol>,
    pub inter: Duration,
    pub timeout_connect: Option<Duration>,
    pub timeout_check: Option<Duration>,
    pub bufsize: usize,
}

/// What a step decided.
enum Eval {
    Continue,
    Wait,
    Stop(CheckOutcome),
}

fn outcome(status: CheckStatus, code: Option<u32>, info: String) -> CheckOutcome {
    CheckOutcome {
        status,
        code,
        info,
        duration_ms: 0,
    }
}

struct Conn {
    stream: TcpStream,
    linger: bool,
}

impl Conn {
    /// Closes as HAProxy's checks do: with a reset, unless the step asked
    /// for `linger`.
    fn close(self) {
        if !self.linger {
            let _ = socket2::SockRef::from(&self.stream).set_linger(Some(Duration::ZERO));
        }
    }
}

struct Run<'a> {
    plan: &'a Plan,
    target: &'a Target,
    /// The server is DOWN (a 404 with `disable-on-404` only counts for a
    /// server that is UP).
    stopped: bool,
    deadline: Instant,
    conn: Option<Conn>,
    buf: Vec<u8>,
    eof: bool,
    /// The step texts name.
    current: usize,
}

/// Runs the checks's steps and returns the verdict, duration included.
pub async fn run(plan: &Plan, target: &Target, stopped: bool) -> CheckOutcome {
    let start = std::time::Instant::now();
    let mut r = Run {
        plan,
        target,
        stopped,
        deadline: Instant::now() + target.inter,
        conn: None,
        buf: Vec::new(),
        eof: false,
        current: 0,
    };
    let mut o = r.steps().await;
    if let Some(c) = r.conn.take() {
        c.close();
    }
    o.duration_ms = start.elapsed().as_millis().min(i64::MAX as u128) as i64;
    o
}

impl Run<'_> {
    async fn steps(&mut self) -> CheckOutcome {
        let plan = self.plan;
        let mut must_read = true;
        for (i, n) in plan.steps.iter().enumerate() {
            self.current = i;
            match &n.step {
                Step::Connect {
                    port,
                    addr,
                    send_proxy,
                    linger,
                    ..
                } => {
                    if let Err(o) = self.connect(n, *port, *addr, *send_proxy, *linger).await {
                        return o;
                    }
                    must_read = true;
                }
                Step::Send(data) => {
                    if let Err(o) = self.send(data).await {
                        return o;
                    }
                    must_read = true;
                }
                Step::SendSslHello => {
                    let hello = ssl_hello();
                    if let Err(o) = self.send(&hello).await {
                        return o;
                    }
                    must_read = true;
                }
                Step::Expect(_) | Step::HttpExpect(_) | Step::Custom(_) => loop {
                    if must_read {
                        if let Err(o) = self.read().await {
                            return o;
                        }
                        must_read = false;
                    }
                    let last = i + 1 == plan.steps.len();
                    match self.eval(n, last) {
                        Eval::Continue => break,
                        Eval::Stop(o) => return o,
                        Eval::Wait => {
                            if let Err(o) = self.read().await {
                                return o;
                            }
                        }
                    }
                },
            }
        }
        self.success()
    }

    /// The verdict when every step passed, from the last one.
    fn success(&self) -> CheckOutcome {
        let Some(last) = self.plan.steps.last() else {
            return outcome(CheckStatus::L7Ok, None, "(tcp-check)".into());
        };
        match &last.step {
            Step::Connect { implicit, .. } => outcome(
                CheckStatus::L4Ok,
                None,
                if *implicit {
                    String::new()
                } else {
                    "(tcp-check)".into()
                },
            ),
            Step::Expect(e) => {
                let info = match &e.on_success {
                    Msg::Default if self.plan.style == Style::TcpCheck => "(tcp-check)".into(),
                    m => self.msg(m),
                };
                outcome(e.ok, self.code_from(e), info)
            }
            Step::HttpExpect(_) => {
                let code = http_head(&self.buf)
                    .ok()
                    .flatten()
                    .map(|h| u32::from(h.code));
                if self.plan.disable_on_404 && code == Some(404) && !self.stopped {
                    outcome(CheckStatus::L7OkC, code, String::new())
                } else {
                    outcome(CheckStatus::L7Ok, code, String::new())
                }
            }
            // Custom steps report their own success.
            _ => outcome(CheckStatus::L7Ok, None, "(tcp-check)".into()),
        }
    }

    /// " at step N of tcp-check (…)" for `option tcp-check` texts.
    fn step_text(&self, detail: &str) -> String {
        if self.plan.style != Style::TcpCheck {
            return String::new();
        }
        let n = &self.plan.steps[self.current];
        if n.id == 0 {
            return " at initial connection step of tcp-check".into();
        }
        format!(" at step {} of tcp-check{detail}", n.id)
    }

    fn expect_detail(&self) -> String {
        match &self.plan.steps[self.current].step {
            Step::Connect { port: Some(p), .. } => format!(" (connect port {p})"),
            Step::Connect { .. } => " (connect)".into(),
            Step::Send(_) | Step::SendSslHello => " (send)".into(),
            Step::Expect(e) => match &e.matcher {
                Matcher::Str(s) => format!(" (expect string '{}')", String::from_utf8_lossy(s)),
                Matcher::Bytes(b) => format!(" (expect binary '{}')", hex(b)),
                Matcher::Regex(_) => " (expect regex)".into(),
                Matcher::BinRegex(_) => " (expect binary regex)".into(),
            },
            Step::HttpExpect(_) => " (expect HTTP status codes)".into(),
            Step::Custom(_) => " (expect custom function)".into(),
        }
    }

    async fn connect(
        &mut self,
        n: &Numbered,
        port: Option<u16>,
        addr: Option<SocketAddr>,
        send_proxy: bool,
        linger: bool,
    ) -> Result<(), CheckOutcome> {
        if let Some(c) = self.conn.take() {
            c.close();
        }
        self.buf.clear();
        self.eof = false;
        let mut dest = addr
            .filter(|a| !a.ip().is_unspecified())
            .unwrap_or(self.target.addr);
        if let Some(p) = port.or(addr.map(|a| a.port()).filter(|p| *p != 0)) {
            dest.set_port(p);
        }
        let now = Instant::now();
        self.deadline = now + self.target.inter;
        let mut conn_deadline = self.deadline;
        if let (Some(_), Some(tc)) = (self.target.timeout_check, self.target.timeout_connect) {
            conn_deadline = conn_deadline.min(now + tc);
        }
        let implicit = n.id == 0;
        let fut = connect::connect(dest, self.target.source.as_ref(), None, None, true);
        let stream = match timeout_at(conn_deadline, fut).await {
            Ok(Ok(s)) => s,
            Ok(Err(ConnectError::Timeout)) | Err(_) => {
                return Err(outcome(
                    CheckStatus::L4Tout,
                    None,
                    self.step_text(&self.expect_detail()),
                ));
            }
            Ok(Err(ConnectError::Async(e) | ConnectError::Sync(e) | ConnectError::Resource(e))) => {
                return Err(outcome(
                    CheckStatus::L4Con,
                    None,
                    format!(
                        "{}{}",
                        crate::util::io_error_text(&e),
                        self.step_text(&self.expect_detail())
                    ),
                ));
            }
        };
        let mut conn = Conn { stream, linger };
        // check-send-proxy applies to the default connection; a
        // `tcp-check connect send-proxy` to its own.
        let pp = if send_proxy {
            Some(self.target.send_proxy.unwrap_or(ProxyProtocol::V1))
        } else if implicit
            || matches!(
                n.step,
                Step::Connect {
                    port: None,
                    addr: None,
                    ..
                }
            )
        {
            self.target.send_proxy
        } else {
            None
        };
        if let Some(v) = pp {
            let addrs = conn
                .stream
                .local_addr()
                .ok()
                .zip(conn.stream.peer_addr().ok());
            let h = proxy_proto::header(v, addrs);
            if let Err(e) = conn.stream.write_all(&h).await {
                conn.close();
                return Err(outcome(
                    CheckStatus::SockErr,
                    None,
                    crate::util::io_error_text(&e),
                ));
            }
        }
        self.conn = Some(conn);
        if let Some(tc) = self.target.timeout_check {
            self.deadline = Instant::now() + tc;
        }
        Ok(())
    }

    async fn send(&mut self, data: &[u8]) -> Result<(), CheckOutcome> {
        self.buf.clear();
        self.eof = false;
        let detail = self.step_text(" (send)");
        let deadline = self.deadline;
        let Some(c) = self.conn.as_mut() else {
            return Err(outcome(CheckStatus::SockErr, None, detail));
        };
        match timeout_at(deadline, c.stream.write_all(data)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(outcome(
                CheckStatus::SockErr,
                None,
                format!("{}{detail}", crate::util::io_error_text(&e)),
            )),
            Err(_) => Err(outcome(CheckStatus::L7Tout, None, detail)),
        }
    }

    /// Reads what is available (waiting until something arrives, the
    /// connection ends, or the deadline).
    async fn read(&mut self) -> Result<(), CheckOutcome> {
        if self.eof || self.buf.len() >= self.target.bufsize {
            return Ok(());
        }
        let deadline = self.deadline;
        let room = self.target.bufsize - self.buf.len();
        // read into the spare capacity, up to the buffer size
        self.buf.reserve(room.min(4096));
        let tout = self.timeout_outcome();
        let Some(c) = self.conn.as_mut() else {
            self.eof = true;
            return Ok(());
        };
        let mut window = (&mut self.buf).limit(room);
        match timeout_at(deadline, c.stream.read_buf(&mut window)).await {
            Ok(Ok(0)) => {
                self.eof = true;
                Ok(())
            }
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(outcome(
                CheckStatus::SockErr,
                None,
                format!(
                    "{}{}",
                    crate::util::io_error_text(&e),
                    self.step_text(&self.expect_detail())
                ),
            )),
            Err(_) => Err(tout),
        }
    }

    /// The verdict when the deadline passes while waiting for data.
    fn timeout_outcome(&self) -> CheckOutcome {
        let status = match &self.plan.steps[self.current].step {
            Step::Expect(e) => e.tout.unwrap_or(CheckStatus::L7Tout),
            _ => CheckStatus::L7Tout,
        };
        outcome(status, None, self.step_text(&self.expect_detail()))
    }

    fn last_read(&self) -> bool {
        self.eof || self.buf.len() >= self.target.bufsize
    }

    fn eval(&self, n: &Numbered, last: bool) -> Eval {
        match &n.step {
            Step::Expect(e) => self.eval_expect(e, n.id),
            Step::HttpExpect(e) => self.eval_http(e),
            Step::Custom(c) => self.eval_custom(*c, last),
            _ => Eval::Continue,
        }
    }

    fn eval_expect(&self, e: &Expect, id: usize) -> Eval {
        let last_read = self.last_read();
        let buf = &self.buf;
        if !last_read {
            if let Matcher::Str(p) | Matcher::Bytes(p) = &e.matcher
                && buf.len() < p.len()
            {
                return Eval::Wait;
            }
            if e.min_recv.is_some_and(|m| buf.len() < m) {
                return Eval::Wait;
            }
        }
        let matched = match &e.matcher {
            Matcher::Str(p) | Matcher::Bytes(p) => contains(buf, p),
            Matcher::Regex(r) => r.is_match(&String::from_utf8_lossy(buf)),
            Matcher::BinRegex(r) => r.is_match(&hex(buf)),
        };
        if !matched && !last_read && e.min_recv.is_none() {
            return Eval::Wait;
        }
        if matched != e.negate {
            return Eval::Continue;
        }
        let info = match &e.on_error {
            Msg::Default if self.plan.style == Style::TcpCheck => {
                let head = if matched {
                    "TCPCHK matched unwanted content"
                } else {
                    "TCPCHK did not match content"
                };
                match &e.matcher {
                    Matcher::Str(p) => {
                        format!("{head} '{}' at step {id}", String::from_utf8_lossy(p))
                    }
                    Matcher::Bytes(_) => format!("{head} (binary) at step {id}"),
                    Matcher::Regex(_) => format!("{head} (regex) at step {id}"),
                    Matcher::BinRegex(_) => format!("{head} (binary regex) at step {id}"),
                }
            }
            m => self.msg(m),
        };
        Eval::Stop(outcome(e.err, self.code_from(e), info))
    }

    fn msg(&self, m: &Msg) -> String {
        match m {
            Msg::Default => String::new(),
            Msg::Text(t) => t.clone(),
            Msg::Payload {
                offset,
                ltrim,
                cut_crlf,
            } => {
                let rest = self.buf.get(*offset..).unwrap_or_default();
                let rest = rest.split(|b| *b == 0).next().unwrap_or_default();
                let s = String::from_utf8_lossy(rest);
                let s = if *ltrim {
                    s.trim_start_matches(' ')
                } else {
                    &s
                };
                if *cut_crlf {
                    s.split(['\r', '\n']).next().unwrap_or("").to_string()
                } else {
                    s.to_string()
                }
            }
        }
    }

    fn code_from(&self, e: &Expect) -> Option<u32> {
        let (off, len) = e.code_from?;
        let b = self.buf.get(off..off + len)?;
        std::str::from_utf8(b).ok()?.trim().parse().ok()
    }

    fn eval_http(&self, e: &HttpExpect) -> Eval {
        let last_read = self.last_read();
        let head = match http_head(&self.buf) {
            Ok(Some(h)) => h,
            Ok(None) if !last_read => return Eval::Wait,
            // empty, truncated or not HTTP
            Ok(None) | Err(NotHttp) => {
                return Eval::Stop(outcome(CheckStatus::L7Rsp, None, String::new()));
            }
        };
        let code = Some(u32::from(head.code));
        if self.plan.disable_on_404 && head.code == 404 && !self.stopped {
            return Eval::Continue;
        }
        let wrong_status = || outcome(CheckStatus::L7Sts, code, head.reason.clone());
        let (matched, on_error) = match &e.matcher {
            HttpMatch::Status(ranges) => (
                ranges.iter().any(|(a, b)| (*a..=*b).contains(&head.code)),
                wrong_status(),
            ),
            HttpMatch::RStatus(r) => (r.is_match(&head.code.to_string()), wrong_status()),
            HttpMatch::Header { name, value } => {
                let found = head.headers.iter().any(|(n, v)| {
                    n.eq_ignore_ascii_case(name)
                        && value.as_ref().is_none_or(|want| {
                            v.split(',').any(|part| part.trim() == want.as_str())
                        })
                });
                (found, wrong_status())
            }
            HttpMatch::Body(_) | HttpMatch::RBody(_) => {
                let body = match http_body(&self.buf[head.len..], &head, last_read) {
                    Some(b) => b,
                    None => return Eval::Wait,
                };
                if body.is_empty() {
                    if !last_read {
                        return Eval::Wait;
                    }
                    return Eval::Stop(outcome(
                        CheckStatus::L7Rsp,
                        code,
                        "HTTP content check could not find a response body".into(),
                    ));
                }
                let m = match &e.matcher {
                    HttpMatch::Body(p) => contains(&body, p),
                    HttpMatch::RBody(r) => r.is_match(&String::from_utf8_lossy(&body)),
                    _ => false,
                };
                let text = if e.negate {
                    "HTTP check matched unwanted content"
                } else {
                    "HTTP content check did not match"
                };
                (m, outcome(CheckStatus::L7Rsp, code, text.into()))
            }
        };
        if matched != e.negate {
            Eval::Continue
        } else {
            Eval::Stop(on_error)
        }
    }

    fn eval_custom(&self, c: Custom, last: bool) -> Eval {
        let last_read = self.last_read();
        let b = &self.buf;
        match c {
            Custom::MysqlHandshake => mysql_packet(b, 0, last_read, last),
            Custom::MysqlOk => {
                if b.len() < 3 {
                    return mysql_packet(b, 0, last_read, last);
                }
                let hs =
                    4 + usize::from(b[0]) + (usize::from(b[1]) << 8) + (usize::from(b[2]) << 16);
                mysql_packet(b, hs, last_read, last)
            }
            Custom::LdapBind => ldap_bind(b, last_read),
        }
    }
}

/// A MySQL packet at `off`: an error packet fails with its message, the
/// handshake succeeds with the server version as the text.
fn mysql_packet(b: &[u8], off: usize, last_read: bool, last: bool) -> Eval {
    let truncated = || {
        if last_read {
            Eval::Stop(outcome(CheckStatus::L7Rsp, None, String::new()))
        } else {
            Eval::Wait
        }
    };
    if b.len() < off + 4 {
        return truncated();
    }
    let plen =
        usize::from(b[off]) + (usize::from(b[off + 1]) << 8) + (usize::from(b[off + 2]) << 16);
    if b.len() < off + plen + 4 {
        return truncated();
    }
    if b.get(off + 4) == Some(&0xff) {
        let err = b
            .get(off + 5..off + 7)
            .map(|e| u32::from(e[0]) + (u32::from(e[1]) << 8));
        let text = String::from_utf8_lossy(b.get(off + 7..).unwrap_or_default()).into_owned();
        return Eval::Stop(outcome(CheckStatus::L7Sts, err, text));
    }
    if !last {
        return Eval::Continue;
    }
    let version = b.get(5..).unwrap_or_default();
    let end = version
        .iter()
        .position(|c| *c == 0)
        .unwrap_or(version.len());
    Eval::Stop(outcome(
        CheckStatus::L7Ok,
        None,
        String::from_utf8_lossy(&version[..end]).into_owned(),
    ))
}

/// An LDAPv3 bind response: result code 0 passes.
fn ldap_bind(b: &[u8], last_read: bool) -> Eval {
    let too_short = || {
        if last_read {
            Eval::Stop(outcome(CheckStatus::L7Rsp, None, String::new()))
        } else {
            Eval::Wait
        }
    };
    let not_ldap = || {
        Eval::Stop(outcome(
            CheckStatus::L7Rsp,
            None,
            "Not LDAPv3 protocol".into(),
        ))
    };
    if b.len() < 2 {
        return too_short();
    }
    let mut p = 1;
    let (nbytes, msglen) = if b[p] & 0x80 != 0 {
        let nb = usize::from(b[p] & 0x7f);
        if b.len() < 2 + nb {
            return too_short();
        }
        match nb {
            4 => (4, u32::from_be_bytes([b[2], b[3], b[4], b[5]]) as usize),
            2 => (2, usize::from(u16::from_be_bytes([b[2], b[3]]))),
            _ => return not_ldap(),
        }
    } else {
        (0, usize::from(b[p]))
    };
    p += 1 + nbytes;
    if b.len() < 2 + nbytes + msglen {
        return too_short();
    }
    if b.get(p..p + 4) != Some(b"\x02\x01\x01\x61") {
        return not_ldap();
    }
    p += 4;
    let skip = match b.get(p) {
        Some(x) if x & 0x80 != 0 => usize::from(x & 0x7f),
        Some(_) => 0,
        None => return too_short(),
    };
    p += 1 + skip;
    if b.get(p..p + 2) != Some(b"\x0a\x01") {
        return not_ldap();
    }
    p += 2;
    match b.get(p) {
        Some(0) => Eval::Stop(outcome(CheckStatus::L7Ok, Some(0), "Success".into())),
        Some(code) => Eval::Stop(outcome(
            CheckStatus::L7Sts,
            Some(u32::from(*code)),
            "See RFC: http://tools.ietf.org/html/rfc4511#section-4.1.9".into(),
        )),
        None => too_short(),
    }
}

/// The head of an HTTP response.
#[derive(Debug)]
pub struct Head {
    pub code: u16,
    pub reason: String,
    pub headers: Vec<(String, String)>,
    /// Bytes up to the end of the headers.
    pub len: usize,
}

/// The response is not HTTP.
#[derive(Debug, PartialEq, Eq)]
pub struct NotHttp;

/// Parses the status line and headers; `Ok(None)` while incomplete.
pub fn http_head(buf: &[u8]) -> Result<Option<Head>, NotHttp> {
    let mut hdrs = [httparse::EMPTY_HEADER; 100];
    let mut r = httparse::Response::new(&mut hdrs);
    match r.parse(buf) {
        Ok(httparse::Status::Complete(len)) => Ok(Some(Head {
            code: r.code.ok_or(NotHttp)?,
            reason: r.reason.unwrap_or("").to_string(),
            headers: r
                .headers
                .iter()
                .map(|h| {
                    (
                        h.name.to_string(),
                        String::from_utf8_lossy(h.value).into_owned(),
                    )
                })
                .collect(),
            len,
        })),
        Ok(httparse::Status::Partial) => Ok(None),
        Err(_) => Err(NotHttp),
    }
}

/// The response body once complete (by length, chunks, or the end of the
/// connection); `None` while more is expected.
fn http_body(rest: &[u8], head: &Head, last_read: bool) -> Option<Vec<u8>> {
    let header = |name: &str| {
        head.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_ascii_lowercase())
    };
    if header("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        let mut out = Vec::new();
        let mut p = 0;
        loop {
            let line_end = rest[p..].windows(2).position(|w| w == b"\r\n")? + p;
            let size_txt = std::str::from_utf8(&rest[p..line_end]).ok()?;
            let size = usize::from_str_radix(size_txt.split(';').next()?.trim(), 16).ok()?;
            p = line_end + 2;
            if size == 0 {
                return Some(out);
            }
            if rest.len() < p + size {
                return last_read.then(|| {
                    out.extend_from_slice(&rest[p..]);
                    out
                });
            }
            out.extend_from_slice(&rest[p..p + size]);
            p += size + 2;
        }
    }
    if let Some(len) = header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        if rest.len() >= len {
            return Some(rest[..len].to_vec());
        }
        return last_read.then(|| rest.to_vec());
    }
    last_read.then(|| rest.to_vec())
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

/// HAProxy's SSLv3 CLIENT HELLO, with the current time and its fixed
/// random bytes.
fn ssl_hello() -> Vec<u8> {
    let mut h = vec![
        0x16, 0x03, 0x00, 0x00, 0x79, 0x01, 0x00, 0x00, 0x75, 0x03, 0x00,
    ];
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as u32);
    h.extend_from_slice(&now.to_be_bytes());
    h.extend_from_slice(b"HAPROXYSSLCHK\nHAPROXYSSLCHK\n");
    h.push(0x00);
    h.extend_from_slice(&[0x00, 0x4e]);
    for c in (0x01u16..=0x1b).chain(0x2f..=0x3a) {
        h.extend_from_slice(&c.to_be_bytes());
    }
    h.extend_from_slice(&[0x01, 0x00]);
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssl_hello_is_well_formed() {
        let h = ssl_hello();
        // record header (5) + 0x79 bytes
        assert_eq!(h.len(), 5 + 0x79);
    }

    #[test]
    fn http_bodies() {
        let resp = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
        let h = http_head(resp).unwrap().unwrap();
        assert_eq!((h.code, h.reason.as_str()), (200, "OK"));
        assert_eq!(http_body(&resp[h.len..], &h, false).unwrap(), b"hello");
        let resp = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        let h = http_head(resp).unwrap().unwrap();
        assert_eq!(http_body(&resp[h.len..], &h, false).unwrap(), b"abcde");
        let partial = b"HTTP/1.0 200 OK\r\n\r\nabc";
        let h = http_head(partial).unwrap().unwrap();
        assert_eq!(http_body(&partial[h.len..], &h, false), None);
        assert_eq!(http_body(&partial[h.len..], &h, true).unwrap(), b"abc");
        assert!(http_head(b"SSH-2.0-OpenSSH\r\n").is_err());
    }

    #[test]
    fn mysql_and_ldap() {
        // handshake: length 10, seq 0, protocol 10, "5.7.0\0"
        let mut hs = vec![10, 0, 0, 0, 10];
        hs.extend_from_slice(b"5.7.0\0xxxx");
        match mysql_packet(&hs, 0, false, true) {
            Eval::Stop(o) => assert_eq!((o.status, o.info.as_str()), (CheckStatus::L7Ok, "5.7.0")),
            _ => panic!("complete handshake"),
        }
        let err = [
            9, 0, 0, 0, 0xff, 0x15, 0x04, b'd', b'e', b'n', b'i', b'e', b'd', b'!',
        ];
        match mysql_packet(&err, 0, true, true) {
            Eval::Stop(o) => assert_eq!((o.status, o.code), (CheckStatus::L7Sts, Some(1045))),
            _ => panic!("error packet"),
        }
        let ok = [
            0x30, 0x0c, 0x02, 0x01, 0x01, 0x61, 0x07, 0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00,
        ];
        assert!(matches!(ldap_bind(&ok, false), Eval::Stop(o) if o.status == CheckStatus::L7Ok));
        let bad = [
            0x30, 0x0c, 0x02, 0x01, 0x01, 0x61, 0x07, 0x0a, 0x01, 0x31, 0x04, 0x00, 0x04, 0x00,
        ];
        assert!(matches!(ldap_bind(&bad, false), Eval::Stop(o) if o.code == Some(0x31)));
    }
}
