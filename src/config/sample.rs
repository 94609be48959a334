//! Sample expressions (`fetch(args),converter(args),…`) and the tables of
//! fetches, converters and ACL keywords HAProxy 2.6 knows. The tables are
//! HAProxy's own keyword dump (`haproxy -dKsmp`, `-dKcnv`, `-dKacl`),
//! kept as data so that rproxy validates names and arguments exactly as
//! `haproxy -c` does.

use super::model::{Converter, MatchMethod, SampleExpr};
use std::sync::LazyLock;

/// Where a sample is evaluated: the columns of HAProxy's fetch table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Usage {
    FeTcpRequestConnection = 0,
    FeTcpRequestSession = 1,
    FeTcpRequestContent = 2,
    FeHttpRequest = 3,
    FeHttpRequestBody = 4,
    FeUseBackend = 5,
    BeTcpRequestContent = 6,
    BeHttpRequest = 7,
    BeHttpRequestBody = 8,
    BeUseServer = 9,
    ServerSource = 10,
    BeTcpResponseContent = 11,
    BeHttpResponse = 12,
    BeHttpResponseBody = 13,
    BeStickStore = 14,
    FeTcpResponseContent = 15,
    FeHttpResponse = 16,
    FeHttpResponseBody = 17,
    Logs = 18,
    BeTcpCheck = 19,
    ConfigParser = 20,
    CliParser = 21,
}

/// Output type of a fetch or converter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmpType {
    Bool,
    Sint,
    Ipv4,
    Ipv6,
    Addr,
    Str,
    Bin,
    Meth,
    Any,
}

impl SmpType {
    fn from_name(s: &str) -> SmpType {
        match s {
            "bool" => SmpType::Bool,
            "sint" => SmpType::Sint,
            "ipv4" => SmpType::Ipv4,
            "ipv6" => SmpType::Ipv6,
            "addr" => SmpType::Addr,
            "str" => SmpType::Str,
            "bin" => SmpType::Bin,
            "meth" => SmpType::Meth,
            _ => SmpType::Any,
        }
    }

    /// The match method an ACL uses when none is given (`-m`).
    pub fn default_match(self) -> MatchMethod {
        match self {
            SmpType::Bool => MatchMethod::Bool,
            SmpType::Sint => MatchMethod::Int,
            SmpType::Ipv4 | SmpType::Ipv6 | SmpType::Addr => MatchMethod::Ip,
            SmpType::Bin => MatchMethod::Bin,
            _ => MatchMethod::Str,
        }
    }
}

#[derive(Clone, Debug)]
pub struct FetchInfo {
    pub name: String,
    pub min_args: usize,
    pub max_args: usize,
    pub out: SmpType,
    usable: [bool; 22],
}

impl FetchInfo {
    pub fn usable_in(&self, u: Usage) -> bool {
        self.usable[u as usize]
    }
}

#[derive(Clone, Debug)]
pub struct ConverterInfo {
    pub name: String,
    pub min_args: usize,
    pub max_args: usize,
    pub out: SmpType,
}

/// Counts mandatory and optional arguments in a signature such as
/// `string[,integer,integer]` or `[string]`.
fn arity(sig: &str) -> (usize, usize) {
    if sig.is_empty() {
        return (0, 0);
    }
    let (mandatory, optional) = match sig.find('[') {
        Some(i) => (&sig[..i], &sig[i..]),
        None => (sig, ""),
    };
    let count = |s: &str| {
        s.split(',')
            .filter(|p| !p.trim_matches(|c| c == '[' || c == ']').is_empty())
            .count()
    };
    let min = count(mandatory);
    (min, min + count(optional))
}

/// Splits `name(signature): type` (converters: `name(sig): in => out`).
fn split_signature(s: &str) -> (String, &str, &str) {
    let (head, ty) = s.rsplit_once(": ").unwrap_or((s, "any"));
    let (name, sig) = match head.find('(') {
        Some(i) => (&head[..i], head[i + 1..].trim_end_matches(')')),
        None => (head, ""),
    };
    (name.to_string(), sig, ty)
}

static FETCHES: LazyLock<Vec<FetchInfo>> = LazyLock::new(|| {
    include_str!("data/fetches.txt")
        .lines()
        .filter_map(|l| {
            let close = l.find(']')?;
            let cols: Vec<bool> = l[1..close].split_whitespace().map(|c| c == "Y").collect();
            let mut usable = [false; 22];
            for (i, c) in cols.iter().take(22).enumerate() {
                usable[i] = *c;
            }
            let (name, sig, ty) = split_signature(l[close + 1..].trim());
            let (min_args, max_args) = arity(sig);
            Some(FetchInfo {
                name,
                min_args,
                max_args,
                out: SmpType::from_name(ty.trim()),
                usable,
            })
        })
        .collect()
});

static CONVERTERS: LazyLock<Vec<ConverterInfo>> = LazyLock::new(|| {
    include_str!("data/converters.txt")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (name, sig, ty) = split_signature(l.trim());
            let out = ty.rsplit("=> ").next().unwrap_or("any");
            let (min_args, max_args) = arity(sig);
            ConverterInfo {
                name,
                min_args,
                max_args,
                out: SmpType::from_name(out.trim()),
            }
        })
        .collect()
});

/// `path_beg = path -m beg`: ACL keywords that are a fetch plus a method.
static ACL_KEYWORDS: LazyLock<Vec<(String, String, MatchMethod)>> = LazyLock::new(|| {
    include_str!("data/acl_keywords.txt")
        .lines()
        .filter_map(|l| {
            let (kw, rest) = l.split_once(" = ")?;
            let mut parts = rest.split_whitespace();
            let fetch = parts.next()?;
            let _m = parts.next()?;
            let method = MatchMethod::from_name(parts.next()?)?;
            Some((kw.to_string(), fetch.to_string(), method))
        })
        .collect()
});

pub fn fetch(name: &str) -> Option<&'static FetchInfo> {
    FETCHES.iter().find(|f| f.name == name)
}

pub fn converter(name: &str) -> Option<&'static ConverterInfo> {
    CONVERTERS.iter().find(|c| c.name == name)
}

/// `hdr_beg` → (`req.hdr`, beg)
pub fn acl_keyword(name: &str) -> Option<(&'static str, MatchMethod)> {
    ACL_KEYWORDS
        .iter()
        .find(|(k, _, _)| k == name)
        .map(|(_, f, m)| (f.as_str(), *m))
}

pub fn fetch_names() -> impl Iterator<Item = &'static str> {
    FETCHES.iter().map(|f| f.name.as_str())
}

/// Splits `name(a,b)` into the name and its arguments, honouring quotes
/// and backslashes inside the parentheses. Returns the rest after `)`.
fn name_and_args(s: &str) -> Result<(&str, Vec<String>, &str), String> {
    let end = s.find(['(', ',']).unwrap_or(s.len());
    let name = &s[..end];
    if !s[end..].starts_with('(') {
        return Ok((name, Vec::new(), &s[end..]));
    }
    let bytes = s.as_bytes();
    let mut i = end + 1;
    let mut args = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<u8> = None;
    let mut depth = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) if c == b'\\' && i + 1 < bytes.len() => {
                i += 1;
                cur.push(bytes[i] as char);
            }
            Some(_) => cur.push(c as char),
            None => match c {
                b'"' | b'\'' => quote = Some(c),
                b'\\' if i + 1 < bytes.len() => {
                    i += 1;
                    cur.push(bytes[i] as char);
                }
                b'(' => {
                    depth += 1;
                    cur.push('(');
                }
                b')' if depth > 0 => {
                    depth -= 1;
                    cur.push(')');
                }
                b')' => {
                    args.push(cur);
                    return Ok((name, args, &s[i + 1..]));
                }
                b',' if depth == 0 => args.push(std::mem::take(&mut cur)),
                _ => cur.push(c as char),
            },
        }
        i += 1;
    }
    Err(format!(
        "missing closing ')' after arguments to fetch keyword '{name}'"
    ))
}

/// Parses and validates `fetch(args),conv(args)…` (no surrounding `%[ ]`).
pub fn parse_expr(text: &str) -> Result<SampleExpr, String> {
    let (name, args, mut rest) = name_and_args(text)?;
    let info = fetch(name).ok_or_else(|| format!("unknown fetch method '{name}'"))?;
    check_arity(name, &args, info.min_args, info.max_args, "fetch method")?;
    let mut expr = SampleExpr {
        fetch: name.to_string(),
        args: if args.len() == 1 && args[0].is_empty() && info.min_args == 0 {
            Vec::new()
        } else {
            args
        },
        converters: Vec::new(),
    };
    while let Some(r) = rest.strip_prefix(',') {
        let (cname, cargs, r2) = name_and_args(r)?;
        let cinfo = converter(cname).ok_or_else(|| format!("unknown converter '{cname}'"))?;
        check_arity(cname, &cargs, cinfo.min_args, cinfo.max_args, "converter")?;
        expr.converters.push(Converter {
            name: cname.to_string(),
            args: cargs,
        });
        rest = r2;
    }
    if !rest.is_empty() {
        return Err(format!("syntax error near '{rest}'"));
    }
    Ok(expr)
}

fn check_arity(
    name: &str,
    args: &[String],
    min: usize,
    max: usize,
    what: &str,
) -> Result<(), String> {
    let n = if args.len() == 1 && args[0].is_empty() {
        0
    } else {
        args.len()
    };
    if n < min {
        return Err(format!(
            "missing arguments (got {n}/{min}) for {what} '{name}'"
        ));
    }
    if n > max {
        return Err(format!(
            "too many arguments for {what} '{name}' (got {n}, max {max})"
        ));
    }
    Ok(())
}

/// The output type of an expression: its last converter's, or the fetch's.
pub fn output_type(e: &SampleExpr) -> SmpType {
    e.converters
        .last()
        .and_then(|c| converter(&c.name))
        .map(|c| c.out)
        .or_else(|| fetch(&e.fetch).map(|f| f.out))
        .unwrap_or(SmpType::Any)
}

/// Why a fetch cannot be used where it appears, in HAProxy's words.
pub fn check_usage(e: &SampleExpr, u: Usage) -> Result<(), String> {
    let Some(f) = fetch(&e.fetch) else {
        return Ok(());
    };
    if f.usable_in(u) {
        return Ok(());
    }
    let needs = if f.usable[2] && !f.usable[0] {
        if e.fetch.starts_with("res.") || e.fetch.starts_with("s") && f.usable[12] && !f.usable[3] {
            "HTTP response headers"
        } else {
            "HTTP request headers"
        }
    } else if f.usable[11] && !f.usable[3] {
        "response contents"
    } else {
        "data not available yet"
    };
    Err(format!(
        "may not be reliably used here because it needs '{needs}' which is not available here."
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_load() {
        assert!(FETCHES.len() > 400);
        let src = fetch("src").expect("src");
        assert_eq!(src.out, SmpType::Ipv4);
        assert!(src.usable_in(Usage::FeTcpRequestConnection));
        let hdr = fetch("req.hdr").expect("req.hdr");
        assert_eq!((hdr.min_args, hdr.max_args), (0, 2));
        assert!(!hdr.usable_in(Usage::Logs));
        assert_eq!(converter("lower").map(|c| c.out), Some(SmpType::Str));
        assert_eq!(acl_keyword("path_beg"), Some(("path", MatchMethod::Beg)));
        assert_eq!(acl_keyword("hdr_dom"), Some(("req.hdr", MatchMethod::Dom)));
    }

    #[test]
    fn expressions() {
        let e = parse_expr("req.hdr(host),lower").unwrap();
        assert_eq!(e.fetch, "req.hdr");
        assert_eq!(e.args, vec!["host"]);
        assert_eq!(e.converters[0].name, "lower");
        let e = parse_expr(r#"path,regsub("(a|b)",x,g)"#).unwrap();
        assert_eq!(e.converters[0].args, vec!["(a|b)", "x", "g"]);
        assert_eq!(parse_expr("src").unwrap().args.len(), 0);
        assert_eq!(parse_expr("foo").unwrap_err(), "unknown fetch method 'foo'");
        assert_eq!(
            parse_expr("req.hdr(host),tolower").unwrap_err(),
            "unknown converter 'tolower'"
        );
        assert!(parse_expr("req.hdr(host").is_err());
        assert!(parse_expr("nbsrv").is_err());
    }

    #[test]
    fn arities() {
        assert_eq!(arity(""), (0, 0));
        assert_eq!(arity("[string]"), (0, 1));
        assert_eq!(arity("string[,integer]"), (1, 2));
        assert_eq!(arity("integer,string[,integer]"), (2, 3));
    }
}
