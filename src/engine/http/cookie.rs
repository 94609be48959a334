//! Cookie persistence (`cookie NAME insert|rewrite|prefix …` and server
//! `cookie VALUE`) as HAProxy 2.6 does it: which server a request's cookie
//! designates, what is removed from the request before the server sees
//! it, what the response gets (`Set-Cookie`, `Cache-control: private`),
//! and the two log characters of the termination state.

use super::head::{Head, trim};
use crate::config::model::{CookieCfg, CookieMode};

/// HAProxy's date encoding in persistence cookies: seconds >> 2 as 30
/// bits, five base64 characters, most significant first.
const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

pub fn encode_date(secs: u64) -> String {
    let v = ((secs >> 2) & 0x3FFF_FFFF) as u32;
    (0..5)
        .map(|i| B64[((v >> (24 - 6 * i)) & 63) as usize] as char)
        .collect()
}

pub fn decode_date(s: &[u8]) -> Option<u64> {
    if s.len() < 5 {
        return None;
    }
    let mut v: u64 = 0;
    for c in &s[..5] {
        let d = B64.iter().position(|b| b == c)? as u64;
        v = (v << 6) | d;
    }
    (v > 0).then_some(v << 2)
}

/// What the request's cookie said (the log's third character).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReqFlag {
    None,
    Invalid,
    Down,
    Valid,
    Expired,
    Old,
    Unused,
}

impl ReqFlag {
    pub fn ch(self) -> u8 {
        match self {
            ReqFlag::None => b'N',
            ReqFlag::Invalid => b'I',
            ReqFlag::Down => b'D',
            ReqFlag::Valid => b'V',
            ReqFlag::Expired => b'E',
            ReqFlag::Old => b'O',
            ReqFlag::Unused => b'U',
        }
    }
}

/// What happened to cookies in the response (the fourth character).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResFlag {
    None,
    Passed,
    Deleted,
    Inserted,
    Rewritten,
    Updated,
}

impl ResFlag {
    pub fn ch(self) -> u8 {
        match self {
            ResFlag::None => b'N',
            ResFlag::Passed => b'P',
            ResFlag::Deleted => b'D',
            ResFlag::Inserted => b'I',
            ResFlag::Rewritten => b'R',
            ResFlag::Updated => b'U',
        }
    }
}

/// A backend server as persistence sees it.
pub struct Candidate<'a> {
    pub cookie: Option<&'a str>,
    pub up: bool,
}

/// The request side's outcome.
#[derive(Clone, Copy, Debug)]
pub struct Found {
    pub server: Option<usize>,
    pub flag: ReqFlag,
    pub last: Option<u64>,
    pub first: Option<u64>,
}

/// Reads the persistence cookie from every `Cookie` header, finds the
/// server it designates and rewrites the request as the mode says.
/// `persist`: `option persist` or `force-persist` (DOWN servers count);
/// `ignore`: `ignore-persist`, or a server already chosen.
pub fn request(
    cfg: &CookieCfg,
    head: &mut Head,
    servers: &[Candidate<'_>],
    persist: bool,
    ignore: bool,
    now: u64,
) -> Found {
    let mut found = Found {
        server: None,
        flag: ReqFlag::None,
        last: None,
        first: None,
    };
    let name = cfg.name.as_bytes();
    let mut seen = false;
    let remove = cfg.mode == CookieMode::Insert && cfg.indirect;
    let mut i = 0;
    while i < head.headers.len() {
        if !head.headers[i].name.eq_ignore_ascii_case("cookie") {
            i += 1;
            continue;
        }
        let value = head.headers[i].value.clone();
        let mut kept: Vec<Vec<u8>> = Vec::new();
        let mut changed = false;
        // `$` attributes that follow a removed cookie go with it
        let mut dropping = false;
        let mut separators: Vec<u8> = Vec::new();
        for (part, sep) in split_cookies(&value) {
            let p = trim(part);
            let (n, v) = match p.iter().position(|b| *b == b'=') {
                Some(e) => (trim(&p[..e]), trim(&p[e + 1..])),
                None => (p, &b""[..]),
            };
            if n.first() == Some(&b'$') && dropping {
                changed = true;
                continue;
            }
            dropping = false;
            if n == name && !seen {
                seen = true;
                let mut val = v;
                let mut id = val;
                if cfg.mode == CookieMode::Prefix {
                    if let Some(t) = val.iter().position(|b| *b == b'~') {
                        id = &val[..t];
                        val = &val[t + 1..];
                        // the server sees its own value
                        kept.push([n, b"=", val].concat());
                        separators.push(sep);
                        changed = true;
                        check(cfg, &mut found, id, servers, persist, ignore, now);
                        continue;
                    }
                } else if let Some(bar) = val.iter().position(|b| *b == b'|') {
                    id = &val[..bar];
                    let rest = &val[bar + 1..];
                    found.last = decode_date(rest);
                    if let Some(b2) = rest.iter().position(|b| *b == b'|')
                        && rest.len() > b2 + 5
                    {
                        found.first = decode_date(&rest[b2 + 1..]);
                    }
                }
                check(cfg, &mut found, id, servers, persist, ignore, now);
                if remove {
                    changed = true;
                    dropping = true;
                    continue;
                }
            }
            if p != part {
                changed = true;
            }
            kept.push(if n.len() + v.len() + 1 < p.len() && p.contains(&b'=') {
                // whitespace around '=' is removed in place
                changed = true;
                [n, b"=", v].concat()
            } else {
                p.to_vec()
            });
            separators.push(sep);
        }
        if changed {
            if kept.is_empty() {
                head.headers.remove(i);
                continue;
            }
            let mut out = Vec::new();
            for (k, part) in kept.iter().enumerate() {
                if k > 0 {
                    out.push(separators[k - 1]);
                    out.push(b' ');
                }
                out.extend_from_slice(part);
            }
            head.headers[i].value = out.into();
        }
        i += 1;
    }
    if !seen && found.flag == ReqFlag::None && ignore {
        // nothing to say
    }
    found
}

/// Splits a Cookie line on `;` and `,`, keeping each part's separator.
fn split_cookies(v: &[u8]) -> Vec<(&[u8], u8)> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    for (i, b) in v.iter().enumerate() {
        match b {
            b'"' => quoted = !quoted,
            b';' | b',' if !quoted => {
                out.push((&v[start..i], *b));
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push((&v[start..], b';'));
    out.retain(|(p, _)| !trim(p).is_empty());
    out
}

/// Matches a cookie value to a server, with HAProxy's date checks.
fn check(
    cfg: &CookieCfg,
    found: &mut Found,
    id: &[u8],
    servers: &[Candidate<'_>],
    persist: bool,
    ignore: bool,
    now: u64,
) {
    let far = |d: u64| d > now && d - now > 86400;
    if let (Some(f), Some(maxlife)) = (found.first, cfg.maxlife)
        && (now.saturating_sub(f) > maxlife.as_secs() || far(f))
    {
        found.flag = ReqFlag::Old;
        return;
    }
    if let (Some(l), Some(maxidle)) = (found.last, cfg.maxidle)
        && (now.saturating_sub(l) > maxidle.as_secs() || far(l))
    {
        found.flag = ReqFlag::Expired;
        return;
    }
    if id.is_empty() || ignore {
        found.flag = if ignore {
            ReqFlag::Unused
        } else {
            ReqFlag::Invalid
        };
        return;
    }
    let mut down_seen = false;
    for (i, s) in servers.iter().enumerate() {
        if s.cookie.map(str::as_bytes) != Some(id) {
            continue;
        }
        if s.up || persist {
            found.server = Some(i);
            found.flag = if s.up { ReqFlag::Valid } else { ReqFlag::Down };
            return;
        }
        down_seen = true;
    }
    found.flag = if down_seen {
        ReqFlag::Down
    } else {
        ReqFlag::Invalid
    };
}

/// What the response side needs to know about the transaction.
pub struct ResponseCtx<'a> {
    /// The server's `cookie` value (None: the server has none).
    pub server_cookie: Option<&'a str>,
    /// The request went to the server its cookie named.
    pub direct: bool,
    pub found: Found,
    pub ignored: bool,
    pub method_post: bool,
    pub cacheable: bool,
    pub now: u64,
}

/// Handles the server's Set-Cookie headers and inserts ours; returns the
/// log flag.
pub fn response(cfg: &CookieCfg, head: &mut Head, c: &ResponseCtx<'_>) -> ResFlag {
    let mut flag = ResFlag::None;
    let mut server_set = false;
    let name = cfg.name.as_bytes();
    let mut i = 0;
    while i < head.headers.len() {
        if !head.headers[i].name.eq_ignore_ascii_case("set-cookie") {
            i += 1;
            continue;
        }
        let v = head.headers[i].value.clone();
        let (first, attrs) = match v.iter().position(|b| *b == b';') {
            Some(s) => (&v[..s], &v[s..]),
            None => (&v[..], &b""[..]),
        };
        let (n, val) = match first.iter().position(|b| *b == b'=') {
            Some(e) => (trim(&first[..e]), trim(&first[e + 1..])),
            None => (trim(first), &b""[..]),
        };
        if n != name || c.ignored {
            i += 1;
            continue;
        }
        server_set = true;
        flag = ResFlag::Passed;
        if cfg.preserve {
            i += 1;
            continue;
        }
        let known = c.server_cookie.is_some();
        if (cfg.mode == CookieMode::Insert && known) || (cfg.indirect && c.direct) {
            head.headers.remove(i);
            flag = ResFlag::Deleted;
            continue;
        }
        if let Some(sc) = c.server_cookie {
            match cfg.mode {
                CookieMode::Rewrite => {
                    head.headers[i].value = [n, b"=", sc.as_bytes(), attrs].concat().into();
                    flag = ResFlag::Rewritten;
                }
                CookieMode::Prefix => {
                    head.headers[i].value =
                        [n, b"=", sc.as_bytes(), b"~", val, attrs].concat().into();
                    flag = ResFlag::Rewritten;
                }
                _ => {}
            }
        }
        i += 1;
    }
    if cfg.mode != CookieMode::Insert || (server_set && cfg.preserve) || c.ignored {
        return flag;
    }
    let refresh =
        (cfg.maxidle.is_some() || c.found.last.is_some()) && c.found.last.is_none_or(|l| l < c.now);
    let needs = !c.direct
        || refresh
        || (cfg.maxlife.is_some() && c.found.first.is_none())
        || (cfg.maxlife.is_none() && c.found.first.is_some());
    if !needs || (cfg.postonly && !c.method_post) {
        return flag;
    }
    let mut value = Vec::new();
    match c.server_cookie {
        Some(sc) => {
            value.extend_from_slice(name);
            value.push(b'=');
            value.extend_from_slice(sc.as_bytes());
            if cfg.maxidle.is_some() || cfg.maxlife.is_some() {
                let stamp = (c.now + 3) >> 2 << 2;
                value.push(b'|');
                value.extend_from_slice(encode_date(stamp).as_bytes());
                if cfg.maxlife.is_some() {
                    let first = c.found.first.unwrap_or(stamp);
                    value.push(b'|');
                    value.extend_from_slice(encode_date(first).as_bytes());
                }
            }
            value.extend_from_slice(b"; path=/");
        }
        None => {
            value.extend_from_slice(name);
            value.extend_from_slice(b"=; Expires=Thu, 01-Jan-1970 00:00:01 GMT; path=/");
        }
    }
    for d in &cfg.domains {
        value.extend_from_slice(b"; domain=");
        value.extend_from_slice(d.as_bytes());
    }
    if cfg.httponly {
        value.extend_from_slice(b"; HttpOnly");
    }
    if cfg.secure {
        value.extend_from_slice(b"; Secure");
    }
    for a in &cfg.attrs {
        value.extend_from_slice(b"; ");
        value.extend_from_slice(a.as_bytes());
    }
    head.add("Set-Cookie", value);
    let inserted = if c.server_cookie.is_some() && c.direct {
        ResFlag::Updated
    } else {
        ResFlag::Inserted
    };
    if cfg.nocache && c.cacheable {
        head.add("Cache-control", &b"private"[..]);
    }
    inserted
}

/// HAProxy's `http_check_response_for_cacheability`, started from the
/// request method: is the response still cacheable?
pub fn cacheable(method: &str, res: &Head) -> bool {
    if !matches!(method, "GET" | "HEAD" | "OPTIONS" | "TRACE") || res.status() < 200 {
        return false;
    }
    let mut cacheable = true;
    let mut fresh = res.has("expires");
    let validator = res.has("etag") || res.has("last-modified");
    for v in res.values("pragma") {
        if trim(v).eq_ignore_ascii_case(b"no-cache") {
            cacheable = false;
        }
    }
    for v in res.values("cache-control") {
        for d in super::head::list_items(v) {
            let d = d.to_ascii_lowercase();
            if d.starts_with(b"max-age=") || d.starts_with(b"s-maxage=") {
                fresh = true;
            }
            if d == b"private"
                || d.starts_with(b"no-cache")
                || d == b"no-store"
                || d == b"max-age=0"
                || d == b"s-maxage=0"
            {
                cacheable = false;
            } else if d == b"public" {
                cacheable = true;
            }
        }
    }
    cacheable && (fresh || validator)
}

#[cfg(test)]
mod tests {
    use super::super::head::{Limits, Parsed, parse_request};
    use super::*;

    fn cfg(mode: CookieMode, indirect: bool) -> CookieCfg {
        CookieCfg {
            name: "SRVID".into(),
            mode,
            indirect,
            nocache: false,
            postonly: false,
            preserve: false,
            httponly: false,
            secure: false,
            domains: Vec::new(),
            maxidle: None,
            maxlife: None,
            dynamic: false,
            attrs: Vec::new(),
        }
    }

    fn req(cookie: &str) -> Head {
        let text = format!("GET / HTTP/1.1\r\nHost: h\r\nCookie: {cookie}\r\n\r\n");
        match parse_request(text.as_bytes(), &Limits::new(16384, 1024, 101)) {
            Ok(Parsed::Done(h, _)) => h,
            other => panic!("{other:?}"),
        }
    }

    fn servers() -> Vec<Candidate<'static>> {
        vec![
            Candidate {
                cookie: Some("a"),
                up: true,
            },
            Candidate {
                cookie: Some("b"),
                up: false,
            },
        ]
    }

    #[test]
    fn dates_round_trip() {
        let t = 1_700_000_000u64;
        assert_eq!(decode_date(encode_date(t).as_bytes()), Some(t >> 2 << 2));
        assert_eq!(decode_date(b"AAAAA"), None);
    }

    #[test]
    fn insert_indirect_removes_our_cookie() {
        let c = cfg(CookieMode::Insert, true);
        for (input, out, flag) in [
            ("other=1; SRVID=a", Some("other=1"), ReqFlag::Valid),
            ("a=1; SRVID=a; c=2", Some("a=1; c=2"), ReqFlag::Valid),
            ("SRVID=a", None, ReqFlag::Valid),
            ("SRVID=zz; x=2", Some("x=2"), ReqFlag::Invalid),
            (
                "$Version=1; SRVID=b; $Path=/; z=3",
                Some("$Version=1; z=3"),
                ReqFlag::Down,
            ),
            ("a=1, SRVID=a, c=3", Some("a=1, c=3"), ReqFlag::Valid),
        ] {
            let mut h = req(input);
            let f = request(&c, &mut h, &servers(), false, false, 0);
            assert_eq!(f.flag, flag, "{input}");
            assert_eq!(
                h.first("cookie")
                    .map(|v| String::from_utf8_lossy(v).into_owned())
                    .as_deref(),
                out,
                "{input}"
            );
        }
    }

    #[test]
    fn down_server_with_persist() {
        let c = cfg(CookieMode::Insert, false);
        let mut h = req("SRVID=b");
        let f = request(&c, &mut h, &servers(), true, false, 0);
        assert_eq!((f.server, f.flag), (Some(1), ReqFlag::Down));
        let mut h = req("SRVID=b");
        let f = request(&c, &mut h, &servers(), false, false, 0);
        assert_eq!((f.server, f.flag), (None, ReqFlag::Down));
    }

    #[test]
    fn prefix_strips_the_server_part() {
        let c = cfg(CookieMode::Prefix, false);
        let mut h = req("JSESSIONID=x; SRVID=a~xyz; o=1");
        let f = request(&c, &mut h, &servers(), false, false, 0);
        assert_eq!(f.flag, ReqFlag::Valid);
        assert_eq!(
            h.first("cookie"),
            Some(&b"JSESSIONID=x; SRVID=xyz; o=1"[..])
        );
    }

    #[test]
    fn inserted_set_cookie() {
        let mut c = cfg(CookieMode::Insert, true);
        c.httponly = true;
        c.secure = true;
        c.domains = vec![".example.com".into()];
        let mut res = super::super::reply::head(200, Vec::new());
        let f = Found {
            server: None,
            flag: ReqFlag::None,
            last: None,
            first: None,
        };
        let flag = response(
            &c,
            &mut res,
            &ResponseCtx {
                server_cookie: Some("a"),
                direct: false,
                found: f,
                ignored: false,
                method_post: false,
                cacheable: false,
                now: 0,
            },
        );
        assert_eq!(flag, ResFlag::Inserted);
        assert_eq!(
            res.first("set-cookie"),
            Some(&b"SRVID=a; path=/; domain=.example.com; HttpOnly; Secure"[..])
        );
    }
}
