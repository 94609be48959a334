//! What a backend's health checks do, as a list of steps — HAProxy turns
//! every kind of check into tcp-check rules, and so does rproxy: a plain
//! check is one implicit connect, `option httpchk` is connect, send the
//! request, expect the status, `option redis-check` is send PING, expect
//! +PONG, and so on. Built once per backend at start-up.

use crate::config::acl::{Regex, compile_regex};
use crate::config::model::{CheckKind, ExpectMatch, HttpCheck, Proxy, TcpCheckRule};
use crate::engine::server::CheckStatus;
use std::net::SocketAddr;

/// Which family of check the steps come from: it decides the default
/// texts of the results, as HAProxy's ruleset flags do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// A plain connect check.
    Plain,
    /// `option tcp-check`: results name the failing step.
    TcpCheck,
    /// `option httpchk`.
    Http,
    /// The protocol checks (redis, smtp, …): texts come from the rules.
    Protocol,
}

/// A text reported with a result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Msg {
    /// The style's default.
    Default,
    Text(String),
    /// The received payload from `offset` (`res.payload(offset,0)`), as
    /// a C string (up to a NUL byte), optionally left-trimmed of spaces
    /// and cut at the first CR or LF.
    Payload {
        offset: usize,
        ltrim: bool,
        cut_crlf: bool,
    },
}

#[derive(Debug)]
pub enum Matcher {
    Bytes(Vec<u8>),
    /// A string pattern (reported as `'…'` in texts).
    Str(Vec<u8>),
    Regex(Regex),
    /// A regex matched against the hex dump of the payload.
    BinRegex(Regex),
}

#[derive(Debug)]
pub struct Expect {
    pub negate: bool,
    pub matcher: Matcher,
    /// Bytes needed before deciding; `None` waits for a match until the
    /// connection ends (HAProxy's -1).
    pub min_recv: Option<usize>,
    pub ok: CheckStatus,
    pub err: CheckStatus,
    pub tout: Option<CheckStatus>,
    pub on_success: Msg,
    pub on_error: Msg,
    /// The status code is read from these payload bytes.
    pub code_from: Option<(usize, usize)>,
}

/// One HTTP expectation (`http-check expect …`).
#[derive(Debug)]
pub enum HttpMatch {
    Status(Vec<(u16, u16)>),
    RStatus(Regex),
    Body(Vec<u8>),
    RBody(Regex),
    Header { name: String, value: Option<String> },
}

#[derive(Debug)]
pub struct HttpExpect {
    pub negate: bool,
    pub matcher: HttpMatch,
}

/// The protocol checks HAProxy implements with code rather than patterns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Custom {
    MysqlHandshake,
    MysqlOk,
    LdapBind,
}

#[derive(Debug)]
pub enum Step {
    Connect {
        port: Option<u16>,
        addr: Option<SocketAddr>,
        send_proxy: bool,
        /// Added by HAProxy, not written by the user.
        implicit: bool,
        /// Close with a FIN rather than a reset.
        linger: bool,
    },
    Send(Vec<u8>),
    /// The SSLv3 hello, stamped with the current time.
    SendSslHello,
    Expect(Expect),
    HttpExpect(HttpExpect),
    Custom(Custom),
}

/// A step and its 1-based number in texts ("at step N"); the implicit
/// connect is step 0.
#[derive(Debug)]
pub struct Numbered {
    pub step: Step,
    pub id: usize,
}

#[derive(Debug)]
pub struct Plan {
    pub style: Style,
    pub steps: Vec<Numbered>,
    /// `http-check disable-on-404`.
    pub disable_on_404: bool,
}

fn expect(matcher: Matcher) -> Expect {
    Expect {
        negate: false,
        matcher,
        min_recv: None,
        ok: CheckStatus::L7Ok,
        err: CheckStatus::L7Rsp,
        tout: None,
        on_success: Msg::Default,
        on_error: Msg::Default,
        code_from: None,
    }
}

fn regex(p: &str) -> Option<Regex> {
    compile_regex(p, false).ok()
}

fn connect_default(linger: bool) -> Step {
    Step::Connect {
        port: None,
        addr: None,
        send_proxy: false,
        implicit: false,
        linger,
    }
}

impl Plan {
    pub fn for_proxy(p: &Proxy) -> Plan {
        let (style, mut steps, linger_first) = match &p.check {
            CheckKind::Tcp | CheckKind::External | CheckKind::Spop => {
                (Style::Plain, Vec::new(), false)
            }
            CheckKind::TcpCheck => (Style::TcpCheck, tcp_check_steps(&p.tcp_check_rules), false),
            CheckKind::Http => (Style::Http, http_steps(&p.http_check), false),
            CheckKind::SslHello => {
                let mut e = expect(Matcher::BinRegex(regex("^1[56]").expect("static regex")));
                e.min_recv = Some(5);
                e.ok = CheckStatus::L6Ok;
                e.err = CheckStatus::L6Rsp;
                e.tout = Some(CheckStatus::L6Tout);
                (
                    Style::Protocol,
                    vec![Step::SendSslHello, Step::Expect(e)],
                    false,
                )
            }
            CheckKind::Redis => {
                let mut e = expect(Matcher::Str(b"+PONG\r\n".to_vec()));
                e.err = CheckStatus::L7Sts;
                e.on_error = Msg::Payload {
                    offset: 0,
                    ltrim: false,
                    cut_crlf: true,
                };
                e.on_success = Msg::Text("Redis server is ok".into());
                (
                    Style::Protocol,
                    vec![
                        Step::Send(b"*1\r\n$4\r\nPING\r\n".to_vec()),
                        Step::Expect(e),
                    ],
                    false,
                )
            }
            CheckKind::Smtp { helo, domain } => (Style::Protocol, smtp_steps(helo, domain), true),
            CheckKind::Pgsql { user } => (Style::Protocol, pgsql_steps(user), true),
            CheckKind::Mysql { user, post41 } => {
                (Style::Protocol, mysql_steps(user.as_deref(), *post41), true)
            }
            CheckKind::Ldap => (
                Style::Protocol,
                vec![
                    Step::Send(hex("300C020101600702010304008000")),
                    Step::Custom(Custom::LdapBind),
                ],
                false,
            ),
        };
        // Protocol checks that start with an explicit "connect default
        // linger" have it as their step 1.
        if linger_first {
            steps.insert(0, connect_default(true));
        }
        // Without a leading connect, HAProxy adds an implicit one.
        let implicit = !matches!(steps.first(), Some(Step::Connect { .. }));
        if implicit {
            steps.insert(
                0,
                Step::Connect {
                    port: None,
                    addr: None,
                    send_proxy: false,
                    implicit: true,
                    linger: false,
                },
            );
        }
        let steps = steps
            .into_iter()
            .enumerate()
            .map(|(i, step)| Numbered {
                step,
                id: if implicit { i } else { i + 1 },
            })
            .collect();
        Plan {
            style,
            steps,
            disable_on_404: p.http_check.disable_on_404,
        }
    }
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .filter_map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok())
        .collect()
}

fn tcp_check_steps(rules: &[TcpCheckRule]) -> Vec<Step> {
    let mut out = Vec::new();
    for r in rules {
        match r {
            TcpCheckRule::Connect {
                port,
                addr,
                send_proxy,
                ..
            } => out.push(Step::Connect {
                port: *port,
                addr: addr.as_ref().and_then(|a| {
                    let port = match a.port() {
                        crate::config::address::Port::Fixed(p) => p,
                        _ => 0,
                    };
                    a.ip().map(|ip| SocketAddr::new(ip, port))
                }),
                send_proxy: *send_proxy,
                implicit: false,
                linger: false,
            }),
            TcpCheckRule::Send(b) => out.push(Step::Send(b.clone())),
            TcpCheckRule::Expect { negate, matcher } => {
                let m = match matcher {
                    ExpectMatch::String(s) => Matcher::Str(s.as_bytes().to_vec()),
                    ExpectMatch::Binary(b) => Matcher::Bytes(b.clone()),
                    ExpectMatch::RString(r) => match regex(r) {
                        Some(r) => Matcher::Regex(r),
                        None => continue,
                    },
                    ExpectMatch::RBinary(r) => match regex(r) {
                        Some(r) => Matcher::BinRegex(r),
                        None => continue,
                    },
                    _ => continue,
                };
                let mut e = expect(m);
                e.negate = *negate;
                out.push(Step::Expect(e));
            }
            TcpCheckRule::Comment(_) => {}
        }
    }
    out
}

/// The request HAProxy 2.6 sends: header names in lower case, a
/// content-length with a body, and "connection: close" in HTTP/1.1.
pub fn http_request(hc: &HttpCheck) -> Vec<u8> {
    let mut r = format!("{} {} {}\r\n", hc.method, hc.uri, hc.version);
    for (n, v) in &hc.headers {
        r.push_str(&format!("{}: {v}\r\n", n.to_ascii_lowercase()));
    }
    if let Some(b) = &hc.body {
        r.push_str(&format!("content-length: {}\r\n", b.len()));
    }
    if hc.version.eq_ignore_ascii_case("HTTP/1.1") {
        r.push_str("connection: close\r\n");
    }
    r.push_str("\r\n");
    if let Some(b) = &hc.body {
        r.push_str(b);
    }
    r.into_bytes()
}

fn http_steps(hc: &HttpCheck) -> Vec<Step> {
    let mut out = Vec::new();
    if let Some(port) = hc.connect_port {
        out.push(Step::Connect {
            port: Some(port),
            addr: None,
            send_proxy: false,
            implicit: false,
            linger: false,
        });
    }
    out.push(Step::Send(http_request(hc)));
    let mut any = false;
    for e in &hc.expects {
        let matcher = match &e.matcher {
            ExpectMatch::Status(r) => HttpMatch::Status(r.clone()),
            ExpectMatch::RStatus(r) => match regex(r) {
                Some(r) => HttpMatch::RStatus(r),
                None => continue,
            },
            ExpectMatch::String(s) => HttpMatch::Body(s.as_bytes().to_vec()),
            ExpectMatch::RString(r) => match regex(r) {
                Some(r) => HttpMatch::RBody(r),
                None => continue,
            },
            ExpectMatch::Hdr { name, value } => HttpMatch::Header {
                name: name.clone(),
                value: value.clone(),
            },
            _ => continue,
        };
        any = true;
        out.push(Step::HttpExpect(HttpExpect {
            negate: e.negate,
            matcher,
        }));
    }
    if !any {
        // HAProxy's default: "http-check expect status 200-399".
        out.push(Step::HttpExpect(HttpExpect {
            negate: false,
            matcher: HttpMatch::Status(vec![(200, 399)]),
        }));
    }
    out
}

fn smtp_steps(helo: &str, domain: &str) -> Vec<Step> {
    let line = |offset| Msg::Payload {
        offset,
        ltrim: offset > 0,
        cut_crlf: true,
    };
    let rx = |p: &str| Matcher::Regex(regex(p).expect("static regex"));
    let mut banner = expect(rx("^[0-9]{3}[ \r]"));
    banner.min_recv = Some(4);
    banner.on_error = line(0);
    let mut banner_ok = expect(rx("^2[0-9]{2}[ \r]"));
    banner_ok.min_recv = Some(4);
    banner_ok.err = CheckStatus::L7Sts;
    banner_ok.on_error = line(4);
    banner_ok.code_from = Some((0, 3));
    let mut helo_ok = expect(rx("^(2[0-9]{2}-[^\r]*\r\n)*2[0-9]{2}[ \r]"));
    helo_ok.err = CheckStatus::L7Sts;
    helo_ok.on_error = line(4);
    helo_ok.on_success = line(4);
    helo_ok.code_from = Some((0, 3));
    let mut quit_ok = expect(rx("^2[0-9]{2}[- \r]"));
    quit_ok.min_recv = Some(4);
    quit_ok.err = CheckStatus::L7Sts;
    quit_ok.on_error = line(4);
    quit_ok.on_success = line(4);
    quit_ok.code_from = Some((0, 3));
    vec![
        Step::Expect(banner),
        Step::Expect(banner_ok),
        Step::Send(format!("{helo} {domain}\r\n").into_bytes()),
        Step::Expect(helo_ok),
        Step::Send(b"QUIT\r\n".to_vec()),
        Step::Expect(quit_ok),
    ]
}

fn pgsql_steps(user: &str) -> Vec<Step> {
    let plen = 15 + user.len() as u32;
    let mut req = plen.to_be_bytes().to_vec();
    req.extend_from_slice(&[0, 3, 0, 0]);
    req.extend_from_slice(b"user\0");
    req.extend_from_slice(user.as_bytes());
    req.extend_from_slice(&[0, 0]);
    let mut not_error = expect(Matcher::Regex(regex("^E").expect("static regex")));
    not_error.negate = true;
    not_error.min_recv = Some(5);
    not_error.on_error = Msg::Payload {
        offset: 6,
        ltrim: false,
        cut_crlf: false,
    };
    let mut auth = expect(Matcher::BinRegex(
        regex("^52000000[A-Z0-9]{2}000000(00|02|03|04|05|06|07|09|0A)").expect("static regex"),
    ));
    auth.min_recv = Some(9);
    auth.err = CheckStatus::L7Sts;
    auth.on_success = Msg::Text("PostgreSQL server is ok".into());
    auth.on_error = Msg::Text("PostgreSQL unknown error".into());
    vec![Step::Send(req), Step::Expect(not_error), Step::Expect(auth)]
}

fn mysql_steps(user: Option<&str>, post41: bool) -> Vec<Step> {
    let mut out = Vec::new();
    if let Some(user) = user {
        let ulen = user.len();
        let packetlen = if post41 { ulen + 7 + 27 } else { ulen + 7 };
        let mut req = vec![
            (packetlen & 0xff) as u8,
            ((packetlen >> 8) & 0xff) as u8,
            ((packetlen >> 16) & 0xff) as u8,
            1,
        ];
        if post41 {
            // capabilities, max packet, character set (UTF-8), 23 zeroes
            req.extend_from_slice(&hex("008200000080000121"));
            req.extend_from_slice(&[0u8; 23]);
        } else {
            req.extend_from_slice(&hex("0080000001"));
        }
        req.extend_from_slice(user.as_bytes());
        req.extend_from_slice(&hex("0000010000" /* filler, COM_QUIT header */));
        req.extend_from_slice(&hex("0001"));
        out.push(Step::Send(req));
    }
    out.push(Step::Custom(Custom::MysqlHandshake));
    if user.is_some() {
        out.push(Step::Custom(Custom::MysqlOk));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_requests_as_haproxy_sends_them() {
        let mut hc = HttpCheck::default();
        assert_eq!(http_request(&hc), b"OPTIONS / HTTP/1.0\r\n\r\n");
        hc.method = "POST".into();
        hc.uri = "/p".into();
        hc.version = "HTTP/1.1".into();
        hc.headers = vec![
            ("X-Test".into(), "Value".into()),
            ("Host".into(), "h".into()),
        ];
        hc.body = Some("abc".into());
        assert_eq!(
            String::from_utf8(http_request(&hc)).unwrap(),
            "POST /p HTTP/1.1\r\nx-test: Value\r\nhost: h\r\ncontent-length: 3\r\nconnection: close\r\n\r\nabc"
        );
    }

    #[test]
    fn mysql_post41_packet() {
        let steps = mysql_steps(Some("haproxy"), true);
        let Step::Send(req) = &steps[0] else {
            panic!("send first")
        };
        // 3-byte length (7 + 27 + 7 = 41), sequence 1
        assert_eq!(&req[..4], &[41, 0, 0, 1]);
        // …username, NUL, filler, then COM_QUIT in its own packet
        assert!(req.ends_with(b"haproxy\0\0\x01\0\0\0\x01"));
        assert_eq!(req.len(), 4 + 41 + 5);
    }

    #[test]
    fn pgsql_startup_packet() {
        let steps = pgsql_steps("u");
        let Step::Send(req) = &steps[0] else {
            panic!("send first")
        };
        assert_eq!(req.len(), 16);
        assert_eq!(&req[..4], &16u32.to_be_bytes());
    }
}
