//! The HTTP view of a transaction for ACLs, rules and log formats:
//! `path`, `hdr(host)`, `req.cook(SID)`, `status`, … as HAProxy computes
//! them.

use super::head::{Head, list_items};
use crate::engine::route::L4;
use crate::engine::sample::{Context, Sample};
use std::collections::HashMap;
use std::net::SocketAddr;

/// Transaction variables (`set-var(txn.x)`), by full name.
pub type Vars = HashMap<String, Sample>;

pub struct HttpCtx<'a> {
    pub l4: L4<'a>,
    pub req: &'a Head,
    pub res: Option<&'a Head>,
    pub vars: &'a Vars,
    /// `http-request capture` / `capture request header` slots.
    pub captures: &'a [Option<String>],
}

/// The path of a request URI: the origin-form path, or the path part of
/// an absolute URI, without the query.
pub fn path_of(uri: &[u8]) -> &[u8] {
    let p = path_and_query(uri);
    match p.iter().position(|b| *b == b'?') {
        Some(q) => &p[..q],
        None => p,
    }
}

/// Path and query (HAProxy's `http_parse_path`): from the first `/` after
/// the authority of an absolute URI.
pub fn path_and_query(uri: &[u8]) -> &[u8] {
    if uri.first() == Some(&b'/') || uri == b"*" {
        return uri;
    }
    let after_scheme = match uri.windows(3).position(|w| w == b"://") {
        Some(i) => &uri[i + 3..],
        None => return b"",
    };
    match after_scheme.iter().position(|b| *b == b'/') {
        Some(i) => &after_scheme[i..],
        None => b"",
    }
}

pub fn query_of(uri: &[u8]) -> Option<&[u8]> {
    let p = path_and_query(uri);
    p.iter().position(|b| *b == b'?').map(|q| &p[q + 1..])
}

/// Value of a URL parameter (`url_param(name)`), first occurrence.
pub fn url_param<'b>(uri: &'b [u8], name: &str, delim: u8) -> Option<&'b [u8]> {
    let q = query_of(uri)?;
    q.split(|b| *b == delim).find_map(|kv| {
        let (k, v) = match kv.iter().position(|b| *b == b'=') {
            Some(i) => (&kv[..i], &kv[i + 1..]),
            None => (kv, &b""[..]),
        };
        (k == name.as_bytes()).then_some(v)
    })
}

/// Values of a cookie in `Cookie` headers (`;` or `,` separated).
pub fn cookie_values<'b>(h: &'b Head, hdr: &str, name: &str) -> Vec<&'b [u8]> {
    let mut out = Vec::new();
    for v in h.values(hdr) {
        for part in v.split(|b| *b == b';' || *b == b',') {
            let part = super::head::trim(part);
            if let Some(i) = part.iter().position(|b| *b == b'=')
                && super::head::trim(&part[..i]) == name.as_bytes()
            {
                out.push(super::head::trim(&part[i + 1..]));
            }
        }
    }
    out
}

fn s(b: &[u8]) -> Sample {
    Sample::Str(String::from_utf8_lossy(b).into_owned())
}

/// Header values as HAProxy's `hdr()` sees them: comma-separated items
/// are separate values.
fn hdr_items<'b>(h: &'b Head, name: &str) -> Vec<&'b [u8]> {
    h.values(name).flat_map(list_items).collect()
}

/// `hdr(name,occ)`: occurrence occ (1-based; negative from the end; 0 or
/// none: the last for samples).
fn pick<'b>(items: &[&'b [u8]], occ: &str) -> Option<&'b [u8]> {
    let n: i64 = occ.parse().unwrap_or(0);
    if n > 0 {
        items.get(n as usize - 1).copied()
    } else if n < 0 {
        items
            .len()
            .checked_sub((-n) as usize)
            .and_then(|i| items.get(i).copied())
    } else {
        items.last().copied()
    }
}

/// The user and password of a Basic `Authorization` header.
pub fn basic_credentials(req: &Head) -> Option<(String, String)> {
    use base64::Engine;
    let v = req.first("authorization")?;
    let v = std::str::from_utf8(v).ok()?.trim();
    let (scheme, b64) = v.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (u, p) = text.split_once(':')?;
    Some((u.to_string(), p.to_string()))
}

/// Checks a password against a userlist entry: `insecure-password` as is,
/// `password` as a crypt(3) hash (DES, MD5, SHA-256, SHA-512, bcrypt).
pub fn password_ok(pw: &crate::config::model::Password, given: &str) -> bool {
    use crate::config::model::Password;
    match pw {
        Password::Plain(p) => p == given,
        Password::Crypt(h) => pwhash::unix::verify(given, h),
    }
}

impl HttpCtx<'_> {
    /// The user of the request's Basic credentials if they are valid for
    /// `userlist`.
    fn auth_user(&self, userlist: &str) -> Option<String> {
        let (user, pass) = basic_credentials(self.req)?;
        let ul = self.l4.shared.config.userlist(userlist)?;
        let u = ul.users.iter().find(|u| u.name == user)?;
        let pw = u.password.as_ref()?;
        password_ok(pw, &pass).then_some(user)
    }

    fn head(&self, res: bool) -> Option<&Head> {
        if res { self.res } else { Some(self.req) }
    }

    /// All values of a multi-valued fetch, for ACL matching.
    fn all(&self, fetch: &str, args: &[String]) -> Option<Vec<Sample>> {
        let arg = |i: usize| args.get(i).map(String::as_str).unwrap_or("");
        let (res, kind) = match fetch {
            "hdr" | "req.hdr" => (false, 0),
            "req.fhdr" => (false, 1),
            "res.hdr" | "shdr" => (true, 0),
            "res.fhdr" => (true, 1),
            "req.cook" | "cook" => (false, 2),
            "res.cook" | "scook" => (true, 3),
            _ => return None,
        };
        let h = self.head(res)?;
        let vals: Vec<&[u8]> = match kind {
            0 => hdr_items(h, arg(0)),
            1 => h.values(arg(0)).collect(),
            2 => cookie_values(h, "cookie", arg(0)),
            _ => cookie_values(h, "set-cookie", arg(0)),
        };
        if kind < 2 && !arg(1).is_empty() {
            return Some(pick(&vals, arg(1)).map(s).into_iter().collect());
        }
        Some(vals.into_iter().map(s).collect())
    }
}

impl Context for HttpCtx<'_> {
    fn client(&self) -> Option<SocketAddr> {
        self.l4.client()
    }
    fn frontend_addr(&self) -> Option<SocketAddr> {
        self.l4.frontend_addr()
    }
    fn nbsrv(&self, backend: &str) -> Option<i64> {
        self.l4.nbsrv(backend)
    }
    fn frontend_name(&self) -> &str {
        self.l4.frontend_name()
    }
    fn backend_name(&self) -> Option<&str> {
        self.l4.backend_name()
    }

    fn http_all(&self, fetch: &str, args: &[String]) -> Vec<Sample> {
        match self.all(fetch, args) {
            Some(v) => v,
            None => self.http(fetch, args).into_iter().collect(),
        }
    }

    fn http(&self, fetch: &str, args: &[String]) -> Option<Sample> {
        let arg = |i: usize| args.get(i).map(String::as_str).unwrap_or("");
        let req = self.req;
        let uri = req.uri();
        Some(match fetch {
            "path" => s(path_of(uri)),
            "pathq" => s(path_and_query(uri)),
            "url" | "req.uri" => s(uri),
            "query" => s(query_of(uri)?),
            "base" => {
                let host = req.first("host").unwrap_or_default();
                let mut b = host.to_vec();
                b.extend_from_slice(path_of(uri));
                s(&b)
            }
            "url_param" | "urlp" => {
                let d = arg(1).bytes().next().unwrap_or(b'&');
                s(url_param(uri, arg(0), d)?)
            }
            "method" => Sample::Str(req.method().to_string()),
            "req.ver" | "req_ver" => {
                let v = match &req.line {
                    super::head::Line::Request { version, .. } => version.clone(),
                    _ => Default::default(),
                };
                s(v.strip_prefix(b"HTTP/").unwrap_or(&v))
            }
            "hdr" | "req.hdr" | "req.fhdr" | "res.hdr" | "shdr" | "res.fhdr" | "req.cook"
            | "cook" | "res.cook" | "scook" => {
                let vals = self.all(fetch, args)?;
                if fetch.contains("cook") {
                    vals.into_iter().next()?
                } else {
                    vals.into_iter().last()?
                }
            }
            "hdr_cnt" | "req.hdr_cnt" | "req.fhdr_cnt" => Sample::Int(if arg(0).is_empty() {
                req.headers.len() as i64
            } else if fetch == "req.fhdr_cnt" {
                req.values(arg(0)).count() as i64
            } else {
                hdr_items(req, arg(0)).len() as i64
            }),
            "res.hdr_cnt" | "shdr_cnt" => {
                let res = self.res?;
                Sample::Int(hdr_items(res, arg(0)).len() as i64)
            }
            "req.cook_cnt" | "cook_cnt" => {
                Sample::Int(cookie_values(req, "cookie", arg(0)).len() as i64)
            }
            "status" | "res.status" => Sample::Int(i64::from(self.res?.status())),
            "res.ver" | "resp_ver" => {
                let v = match &self.res?.line {
                    super::head::Line::Response { version, .. } => version.clone(),
                    _ => Default::default(),
                };
                s(v.strip_prefix(b"HTTP/").unwrap_or(&v))
            }
            "req.hdrs" => {
                let mut out = Vec::new();
                for h in &req.headers {
                    out.extend_from_slice(h.name.as_bytes());
                    out.extend_from_slice(b": ");
                    out.extend_from_slice(&h.value);
                    out.extend_from_slice(b"\r\n");
                }
                s(&out)
            }
            "capture.req.hdr" => {
                let i: usize = arg(0).parse().ok()?;
                Sample::Str(self.captures.get(i)?.clone()?)
            }
            "var" => self.vars.get(arg(0))?.clone(),
            "http_auth" => Sample::Bool(self.auth_user(arg(0)).is_some()),
            "http_auth_group" => {
                let user = self.auth_user(arg(0))?;
                let ul = self.l4.shared.config.userlist(arg(0))?;
                Sample::Str(ul.groups_of(&user).first()?.to_string())
            }
            "http_auth_type" => {
                let v = req.first("authorization")?;
                let t = v.split(|b| *b == b' ').next()?;
                s(t)
            }
            "http_auth_user" => Sample::Str(basic_credentials(req)?.0),
            "http_auth_pass" => Sample::Str(basic_credentials(req)?.1),
            "ssl_fc" | "ssl_fc_has_sni" | "ssl_c_used" => Sample::Bool(false),
            "http_first_req" => Sample::Bool(true),
            "req.body" | "req.body_len" | "req.body_size" => return None,
            "@predef:HTTP" | "@predef:HTTP_1.1" | "@predef:HTTP_1.0" => {
                let v11 = req.flags.ver11;
                Sample::Bool(match fetch {
                    "@predef:HTTP" => true,
                    "@predef:HTTP_1.1" => v11,
                    _ => !v11,
                })
            }
            "@predef:METH_GET" => Sample::Bool(matches!(req.method(), "GET" | "HEAD")),
            "@predef:METH_HEAD" => Sample::Bool(req.method() == "HEAD"),
            "@predef:METH_POST" => Sample::Bool(req.method() == "POST"),
            "@predef:METH_PUT" => Sample::Bool(req.method() == "PUT"),
            "@predef:METH_DELETE" => Sample::Bool(req.method() == "DELETE"),
            "@predef:METH_OPTIONS" => Sample::Bool(req.method() == "OPTIONS"),
            "@predef:METH_TRACE" => Sample::Bool(req.method() == "TRACE"),
            "@predef:METH_CONNECT" => Sample::Bool(req.method() == "CONNECT"),
            "@predef:HTTP_URL_ABS" => Sample::Bool(!uri.starts_with(b"/") && uri != b"*"),
            "@predef:HTTP_URL_SLASH" => Sample::Bool(uri.starts_with(b"/")),
            "@predef:HTTP_URL_STAR" => Sample::Bool(uri == b"*"),
            "@predef:HTTP_CONTENT" => Sample::Bool(req.has("content-length") || req.flags.chnk),
            "@predef:REQ_CONTENT" => Sample::Bool(req.body_len > 0 || req.flags.chnk),
            "@predef:WAIT_END" => Sample::Bool(false),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords() {
        use crate::config::model::Password;
        let sha512 = "$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1";
        assert!(password_ok(&Password::Crypt(sha512.into()), "secret"));
        assert!(!password_ok(&Password::Crypt(sha512.into()), "wrong"));
        let md5 = "$1$abc$iCQ2D3nhptRYi27fDYv2s1";
        assert!(password_ok(&Password::Crypt(md5.into()), "secret"));
        assert!(password_ok(&Password::Plain("p".into()), "p"));
    }

    #[test]
    fn paths() {
        assert_eq!(path_of(b"/a/b?c=d"), b"/a/b");
        assert_eq!(path_of(b"http://h:80/x?y"), b"/x");
        assert_eq!(path_of(b"http://h"), b"");
        assert_eq!(query_of(b"/a?b=1&c"), Some(&b"b=1&c"[..]));
        assert_eq!(url_param(b"/a?b=1&c=2", "c", b'&'), Some(&b"2"[..]));
        assert_eq!(url_param(b"/a?b=1&c=2", "d", b'&'), None);
    }
}
