//! Evaluating sample expressions (`src`, `dst_port`, `req.hdr(host),lower`
//! …) for ACLs, rules and log formats. Each fetch reads the session's
//! context; a fetch the context cannot answer yields no sample.

use crate::config::model::{Converter, SampleExpr};
use std::net::{IpAddr, SocketAddr};

/// A sample value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sample {
    Bool(bool),
    Int(i64),
    Ip(IpAddr),
    Str(String),
    Bin(Vec<u8>),
}

impl Sample {
    pub fn as_str(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Sample::Str(s) => std::borrow::Cow::Borrowed(s),
            Sample::Bool(b) => std::borrow::Cow::Owned(u8::from(*b).to_string()),
            Sample::Int(i) => std::borrow::Cow::Owned(i.to_string()),
            Sample::Ip(ip) => std::borrow::Cow::Owned(ip.to_string()),
            Sample::Bin(b) => String::from_utf8_lossy(b),
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Sample::Int(i) => Some(*i),
            Sample::Bool(b) => Some(i64::from(*b)),
            Sample::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> bool {
        match self {
            Sample::Bool(b) => *b,
            Sample::Int(i) => *i != 0,
            Sample::Str(s) => !s.is_empty(),
            Sample::Ip(_) => true,
            Sample::Bin(b) => !b.is_empty(),
        }
    }
}

/// What a fetch may read. HTTP mode adds the request and response.
pub trait Context {
    fn client(&self) -> Option<SocketAddr>;
    fn frontend_addr(&self) -> Option<SocketAddr>;
    /// Number of usable servers of a backend (`nbsrv`).
    fn nbsrv(&self, _backend: &str) -> Option<i64> {
        None
    }
    fn frontend_name(&self) -> &str;
    fn backend_name(&self) -> Option<&str> {
        None
    }
    /// The request bytes received so far, for the layer-6 fetches of
    /// `tcp-request content` rules (`req.len`, `req.ssl_sni` …).
    fn payload(&self) -> Option<&[u8]> {
        None
    }
    /// HTTP fetches (`path`, `req.hdr`, …); TCP sessions have none.
    fn http(&self, _fetch: &str, _args: &[String]) -> Option<Sample> {
        None
    }
    /// Every value of a multi-valued HTTP fetch (each header occurrence),
    /// as ACLs match them.
    fn http_all(&self, fetch: &str, args: &[String]) -> Vec<Sample> {
        self.http(fetch, args).into_iter().collect()
    }
}

/// Fetches rproxy evaluates in TCP mode; `http()` answers the others.
pub const L4_FETCHES: &[&str] = &[
    "always_true",
    "always_false",
    "src",
    "src_port",
    "dst",
    "dst_port",
    "fc_dst",
    "fc_dst_port",
    "fc_src",
    "fc_src_port",
    "so_id",
    "fe_name",
    "be_name",
    "nbsrv",
    "int",
    "str",
    "bool",
    "ipv4",
    "ipv6",
    "env",
    "date",
    "req.len",
    "req_len",
    "req.payload",
    "payload",
    "req.ssl_sni",
    "req_ssl_sni",
    "req.ssl_hello_type",
    "req_ssl_hello_type",
    "req.ssl_ver",
    "req_ssl_ver",
    "req.proto_http",
    "req_proto_http",
];

/// HTTP fetches the engine answers (see `http::fetch`).
pub const HTTP_FETCHES: &[&str] = &[
    "path",
    "pathq",
    "url",
    "req.uri",
    "query",
    "base",
    "url_param",
    "urlp",
    "method",
    "req.ver",
    "req_ver",
    "hdr",
    "req.hdr",
    "req.fhdr",
    "res.hdr",
    "shdr",
    "res.fhdr",
    "req.cook",
    "cook",
    "res.cook",
    "scook",
    "hdr_cnt",
    "req.hdr_cnt",
    "req.fhdr_cnt",
    "res.hdr_cnt",
    "shdr_cnt",
    "req.cook_cnt",
    "cook_cnt",
    "status",
    "res.status",
    "res.ver",
    "resp_ver",
    "req.hdrs",
    "capture.req.hdr",
    "var",
    "http_auth",
    "http_auth_group",
    "http_auth_type",
    "http_auth_user",
    "http_auth_pass",
    "ssl_fc",
    "ssl_fc_has_sni",
    "ssl_c_used",
    "http_first_req",
];

/// Converters the engine applies.
pub const CONVERTERS: &[&str] = &[
    "lower",
    "upper",
    "length",
    "ltrim",
    "rtrim",
    "host_only",
    "port_only",
    "field",
    "word",
    "add",
    "sub",
    "mul",
    "div",
    "mod",
    "and",
    "or",
    "xor",
    "neg",
    "not",
    "bool",
    "ipmask",
    "regsub",
    "concat",
];

/// The first part of an expression the engine cannot evaluate (it would
/// yield no sample, so a condition reading it would never match).
pub fn unsupported(expr: &SampleExpr) -> Option<String> {
    let f = expr.fetch.as_str();
    if !L4_FETCHES.contains(&f) && !HTTP_FETCHES.contains(&f) {
        return Some(format!("sample fetch '{f}'"));
    }
    expr.converters
        .iter()
        .find(|c| !CONVERTERS.contains(&c.name.as_str()))
        .map(|c| format!("converter '{}'", c.name))
}

/// Fetches that read the request's first bytes: their value may change as
/// more data arrives, which makes `tcp-request content` rules wait.
pub const PAYLOAD_FETCHES: &[&str] = &[
    "req.len",
    "req_len",
    "req.payload",
    "payload",
    "req.ssl_sni",
    "req_ssl_sni",
    "req.ssl_hello_type",
    "req_ssl_hello_type",
    "req.ssl_ver",
    "req_ssl_ver",
    "req.proto_http",
    "req_proto_http",
];

/// Every value of an expression: several for a multi-valued HTTP fetch
/// without converters (`hdr(x)` in an ACL matches any occurrence), else
/// at most one.
pub fn fetch_all(expr: &SampleExpr, ctx: &dyn Context) -> Vec<Sample> {
    if expr.converters.is_empty() && !L4_FETCHES.contains(&expr.fetch.as_str()) {
        let plain = fetch_base(&expr.fetch, &expr.args, ctx);
        if plain.is_none() || is_multi(&expr.fetch) {
            return ctx.http_all(&expr.fetch, &expr.args);
        }
        return plain.into_iter().collect();
    }
    fetch(expr, ctx).into_iter().collect()
}

fn is_multi(f: &str) -> bool {
    matches!(
        f,
        "hdr"
            | "req.hdr"
            | "req.fhdr"
            | "res.hdr"
            | "shdr"
            | "res.fhdr"
            | "req.cook"
            | "cook"
            | "res.cook"
            | "scook"
    )
}

pub fn fetch(expr: &SampleExpr, ctx: &dyn Context) -> Option<Sample> {
    let base = fetch_base(&expr.fetch, &expr.args, ctx)?;
    expr.converters.iter().try_fold(base, convert)
}

fn fetch_base(name: &str, args: &[String], ctx: &dyn Context) -> Option<Sample> {
    let arg = |i: usize| args.get(i).map(String::as_str).unwrap_or("");
    Some(match name {
        "always_true" => Sample::Bool(true),
        "always_false" => Sample::Bool(false),
        "src" | "fc_src" => Sample::Ip(ctx.client()?.ip()),
        "src_port" | "fc_src_port" => Sample::Int(i64::from(ctx.client()?.port())),
        "dst" | "fc_dst" => Sample::Ip(ctx.frontend_addr()?.ip()),
        "dst_port" | "fc_dst_port" => Sample::Int(i64::from(ctx.frontend_addr()?.port())),
        "fe_name" => Sample::Str(ctx.frontend_name().to_string()),
        "be_name" => Sample::Str(ctx.backend_name()?.to_string()),
        "nbsrv" => Sample::Int(ctx.nbsrv(arg(0))?),
        "int" => Sample::Int(arg(0).parse().ok()?),
        "str" => Sample::Str(arg(0).to_string()),
        "bool" => Sample::Bool(arg(0).parse::<i64>().is_ok_and(|v| v != 0)),
        "ipv4" | "ipv6" => Sample::Ip(arg(0).parse().ok()?),
        "env" => Sample::Str(std::env::var(arg(0)).ok()?),
        "req.len" | "req_len" => Sample::Int(ctx.payload()?.len() as i64),
        "req.payload" | "payload" => {
            let p = ctx.payload()?;
            let off: usize = arg(0).parse().ok()?;
            let len: usize = arg(1).parse().ok()?;
            // length 0: everything from the offset
            let end = if len == 0 {
                p.len()
            } else {
                off.checked_add(len)?
            };
            Sample::Bin(p.get(off..end)?.to_vec())
        }
        "req.ssl_sni" | "req_ssl_sni" => Sample::Str(super::tls_hello::sni(ctx.payload()?)?),
        "req.ssl_hello_type" | "req_ssl_hello_type" => {
            Sample::Int(i64::from(super::tls_hello::handshake_type(ctx.payload()?)?))
        }
        "req.ssl_ver" | "req_ssl_ver" => {
            Sample::Int(i64::from(super::tls_hello::version(ctx.payload()?)?))
        }
        "req.proto_http" | "req_proto_http" => {
            Sample::Bool(super::tls_hello::looks_like_http(ctx.payload()?))
        }
        "date" => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .ok()?
                .as_secs() as i64;
            Sample::Int(now + arg(0).parse::<i64>().unwrap_or(0))
        }
        _ => return ctx.http(name, args),
    })
}

fn convert(s: Sample, c: &Converter) -> Option<Sample> {
    let arg = |i: usize| c.args.get(i).map(String::as_str).unwrap_or("");
    Some(match c.name.as_str() {
        "lower" => Sample::Str(s.as_str().to_ascii_lowercase()),
        "upper" => Sample::Str(s.as_str().to_ascii_uppercase()),
        "length" => Sample::Int(s.as_str().len() as i64),
        "ltrim" => Sample::Str(
            s.as_str()
                .trim_start_matches(|ch| arg(0).contains(ch))
                .to_string(),
        ),
        "rtrim" => Sample::Str(
            s.as_str()
                .trim_end_matches(|ch| arg(0).contains(ch))
                .to_string(),
        ),
        "host_only" => {
            let st = s.as_str();
            let host = match st.strip_prefix('[') {
                Some(r) => r.split(']').next().unwrap_or(r).to_string(),
                None => st
                    .rsplit_once(':')
                    .map_or(st.as_ref(), |(h, _)| h)
                    .to_string(),
            };
            Sample::Str(host)
        }
        "port_only" => Sample::Int(
            s.as_str()
                .rsplit_once(':')
                .and_then(|(_, p)| p.parse().ok())
                .unwrap_or(0),
        ),
        "field" | "word" => {
            let idx: i64 = arg(0).parse().ok()?;
            let delims = arg(1);
            let st = s.as_str().into_owned();
            let parts: Vec<&str> = if c.name == "field" {
                st.split(|ch| delims.contains(ch)).collect()
            } else {
                st.split(|ch| delims.contains(ch))
                    .filter(|p| !p.is_empty())
                    .collect()
            };
            let i = if idx > 0 {
                usize::try_from(idx - 1).ok()?
            } else {
                parts.len().checked_sub(usize::try_from(-idx).ok()?)?
            };
            Sample::Str(parts.get(i)?.to_string())
        }
        "add" | "sub" | "mul" | "div" | "mod" | "and" | "or" | "xor" => {
            let a = s.as_int()?;
            let b: i64 = arg(0).parse().ok()?;
            Sample::Int(match c.name.as_str() {
                "add" => a.wrapping_add(b),
                "sub" => a.wrapping_sub(b),
                "mul" => a.wrapping_mul(b),
                "div" => a.checked_div(b).unwrap_or(0),
                "mod" => a.checked_rem(b).unwrap_or(0),
                "and" => a & b,
                "or" => a | b,
                _ => a ^ b,
            })
        }
        "neg" => Sample::Int(-s.as_int()?),
        "not" => Sample::Bool(!s.as_bool()),
        "bool" => Sample::Bool(s.as_bool()),
        "ipmask" => {
            let ip = match &s {
                Sample::Ip(ip) => *ip,
                other => other.as_str().parse().ok()?,
            };
            Sample::Ip(mask_ip(ip, arg(0), arg(1))?)
        }
        "regsub" => {
            let re = crate::config::acl::compile_regex(arg(0), arg(2).contains('i')).ok()?;
            let global = arg(2).contains('g');
            Sample::Str(re.replace(&s.as_str(), arg(1), global))
        }
        "concat" => Sample::Str(format!("{}{}", s.as_str(), arg(1))),
        _ => return None,
    })
}

fn mask_ip(ip: IpAddr, m4: &str, m6: &str) -> Option<IpAddr> {
    match ip {
        IpAddr::V4(a) => {
            let bits: u32 = match m4.parse::<u32>() {
                Ok(b) if b <= 32 => b,
                _ => u32::from(m4.parse::<std::net::Ipv4Addr>().ok()?).count_ones(),
            };
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            Some(IpAddr::V4((u32::from(a) & mask).into()))
        }
        IpAddr::V6(a) => {
            let bits: u32 = if m6.is_empty() { 128 } else { m6.parse().ok()? };
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits.min(128))
            };
            Some(IpAddr::V6((u128::from(a) & mask).into()))
        }
    }
}
