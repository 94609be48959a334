//! `tcp-request connection|session|content` rules: access control before
//! any byte is forwarded. Connection and session rules decide at once;
//! content rules may wait, up to `tcp-request inspect-delay`, for the
//! request's first bytes when their conditions read them (`req.len`,
//! `req.ssl_sni` …), peeking without consuming, as HAProxy inspects its
//! buffer.

use super::acl::{Compiler, Cond};
use super::sample::{Context, PAYLOAD_FETCHES};
use crate::config::model::{Proxy, TcpAction, TcpRule};
use std::time::Duration;
use tokio::io::Interest;
use tokio::net::TcpStream;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Act {
    Accept,
    Reject,
    SilentDrop,
    /// Actions rproxy does not run (warned about at start-up).
    Skip,
}

pub struct Rule {
    act: Act,
    cond: Option<Cond>,
    /// The payload fetches the condition reads: while one of them may
    /// still change, a failed condition is not final.
    reads: Vec<(String, Vec<String>)>,
}

/// A proxy's compiled rules.
#[derive(Default)]
pub struct Compiled {
    pub connection: Vec<Rule>,
    pub session: Vec<Rule>,
    pub content: Vec<Rule>,
    pub inspect_delay: Option<Duration>,
}

fn compile(rules: &[TcpRule], c: &mut Compiler) -> Vec<Rule> {
    rules
        .iter()
        .map(|r| {
            let cond = r.cond.as_ref().map(|x| c.condition(x));
            Rule {
                act: match r.action {
                    TcpAction::Accept => Act::Accept,
                    TcpAction::Reject => Act::Reject,
                    TcpAction::SilentDrop => Act::SilentDrop,
                    _ => Act::Skip,
                },
                reads: cond
                    .as_ref()
                    .map(|c| c.reading(PAYLOAD_FETCHES))
                    .unwrap_or_default(),
                cond,
            }
        })
        .collect()
}

impl Compiled {
    pub fn new(p: &Proxy, c: &mut Compiler) -> Compiled {
        Compiled {
            connection: compile(&p.rules.tcp_request_connection, c),
            session: compile(&p.rules.tcp_request_session, c),
            content: compile(&p.rules.tcp_request_content, c),
            inspect_delay: p.rules.tcp_request_inspect_delay,
        }
    }
}

/// What the rules decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Accept,
    /// `reject`: the connection is closed (with a reset for connection
    /// rules, as HAProxy does).
    Reject,
    /// `silent-drop`: closed without telling the client.
    SilentDrop,
}

/// Runs `rules` in order; `None` while a condition that reads the request
/// bytes may still change (`last` false: more data may come).
pub fn eval(rules: &[Rule], ctx: &dyn Context, last: bool) -> Option<Verdict> {
    for r in rules {
        let holds = r.cond.as_ref().is_none_or(|c| c.eval(ctx));
        if !holds {
            let payload = ctx.payload().unwrap_or_default();
            let undecided = r
                .reads
                .iter()
                .any(|(f, a)| super::tls_hello::may_change(f, a, payload));
            if undecided && !last {
                return None;
            }
            continue;
        }
        match r.act {
            Act::Accept => return Some(Verdict::Accept),
            Act::Reject => return Some(Verdict::Reject),
            Act::SilentDrop => return Some(Verdict::SilentDrop),
            Act::Skip => {}
        }
    }
    Some(Verdict::Accept)
}

/// Peeks at what the client sent: the bytes, and whether it has
/// finished sending (end of stream).
fn peek(stream: &TcpStream, buf: &mut [u8]) -> std::io::Result<usize> {
    use std::os::fd::AsRawFd;
    // SAFETY: recv(2) with MSG_PEEK into a buffer we own, of its length.
    let n = unsafe {
        libc::recv(
            stream.as_raw_fd(),
            buf.as_mut_ptr().cast(),
            buf.len(),
            libc::MSG_PEEK | libc::MSG_DONTWAIT,
        )
    };
    if n < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// The outcome of content inspection, with the bytes seen (for the
/// routing rules that read them too).
pub struct Inspected {
    pub verdict: Verdict,
    pub payload: Vec<u8>,
}

/// Runs content rules against the client's first bytes, waiting for more
/// while a condition may change and `inspect-delay` has not expired, the
/// client has not closed, and the buffer is not full. Without an
/// inspect-delay the rules see what has already arrived.
pub async fn inspect(
    stream: &TcpStream,
    rules: &[Rule],
    delay: Option<Duration>,
    bufsize: usize,
    decide: impl Fn(&[u8], bool) -> Option<Verdict>,
) -> Inspected {
    if rules.is_empty() {
        return Inspected {
            verdict: Verdict::Accept,
            payload: Vec::new(),
        };
    }
    let needs_data = rules.iter().any(|r| !r.reads.is_empty());
    // Room for the peeked bytes only when a rule reads them.
    let mut buf = vec![0u8; if needs_data { bufsize.max(1024) } else { 0 }];
    let deadline = delay.map(|d| tokio::time::Instant::now() + d);
    let mut seen = 0usize;
    let mut closed = false;
    if needs_data {
        seen = peek(stream, &mut buf).unwrap_or(0);
    }
    loop {
        let expired = deadline.is_none_or(|d| tokio::time::Instant::now() >= d);
        let last = expired || closed || !needs_data || seen >= buf.len();
        let verdict = decide(&buf[..seen], last);
        if let Some(v) = verdict {
            buf.truncate(seen);
            buf.shrink_to_fit();
            return Inspected {
                verdict: v,
                payload: buf,
            };
        }
        let Some(d) = deadline else { continue };
        // Wait for bytes beyond those seen: readiness is cleared only when
        // a peek finds nothing new, so each wake-up brings news.
        let before = seen;
        let waited = tokio::time::timeout_at(d, async {
            loop {
                let Ok(ready) = stream.ready(Interest::READABLE).await else {
                    return (before, true);
                };
                match peek(stream, &mut buf) {
                    Ok(n) if n > before => return (n, false),
                    Ok(_) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(_) => return (before, true),
                }
                // The client finished sending: what we have is final.
                if ready.is_read_closed() {
                    return (before, true);
                }
                // Nothing new: clear the readiness so that the next wake-up
                // brings news.
                let _ = stream.try_io(Interest::READABLE, || {
                    Err::<(), _>(std::io::ErrorKind::WouldBlock.into())
                });
            }
        })
        .await;
        // On expiry the next evaluation is the last.
        if let Ok((n, eof)) = waited {
            seen = n;
            closed = eof;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;

    struct Ctx<'a>(&'a [u8]);
    impl Context for Ctx<'_> {
        fn client(&self) -> Option<SocketAddr> {
            "192.0.2.1:1234".parse().ok()
        }
        fn frontend_addr(&self) -> Option<SocketAddr> {
            None
        }
        fn frontend_name(&self) -> &str {
            "fe"
        }
        fn payload(&self) -> Option<&[u8]> {
            Some(self.0)
        }
    }

    fn rules(text: &str) -> Vec<Rule> {
        let cfg = format!(
            "defaults\n timeout client 1s\n timeout server 1s\n timeout connect 1s\nfrontend f\n mode tcp\n bind :1\n{text}\n default_backend b\nbackend b\n mode tcp\n server s 127.0.0.1:1\n"
        );
        let loaded = crate::config::load_sources(
            &[("t.cfg".into(), cfg.into_bytes())],
            crate::config::LoadOptions::default(),
        );
        let p = &loaded.config.proxies[0];
        let mut c = Compiler::default();
        compile(&p.rules.tcp_request_content, &mut c)
    }

    #[test]
    fn content_rules_wait_for_payload_conditions() {
        let r = rules(
            " tcp-request inspect-delay 1s\n tcp-request content reject if { req.len lt 4 }\n tcp-request content accept if { req.len ge 4 }",
        );
        // Reject holds on 2 bytes: decided at once.
        assert_eq!(eval(&r, &Ctx(b"ab"), false), Some(Verdict::Reject));
        let r = rules(
            " tcp-request inspect-delay 1s\n tcp-request content accept if { req.len ge 4 }\n tcp-request content reject",
        );
        assert_eq!(eval(&r, &Ctx(b"ab"), false), None);
        assert_eq!(eval(&r, &Ctx(b"ab"), true), Some(Verdict::Reject));
        assert_eq!(eval(&r, &Ctx(b"abcd"), false), Some(Verdict::Accept));
    }
}
