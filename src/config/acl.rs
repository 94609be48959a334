//! ACL declarations (`acl NAME criterion [flags] patterns…`) and the
//! conditions that use them (`if|unless a !b || { path /x }`).

use super::model::{Acl, AclRef, AclTerm, CondTerm, Condition, MatchMethod, SampleExpr};
use super::sample;
use crate::diag::Origin;
use std::path::PathBuf;
use std::sync::Arc;

/// HAProxy 2.6's predefined ACLs.
pub const PREDEFINED: &[&str] = &[
    "FALSE",
    "HTTP",
    "HTTP_1.0",
    "HTTP_1.1",
    "HTTP_2.0",
    "HTTP_CONTENT",
    "HTTP_URL_ABS",
    "HTTP_URL_SLASH",
    "HTTP_URL_STAR",
    "LOCALHOST",
    "METH_CONNECT",
    "METH_DELETE",
    "METH_GET",
    "METH_HEAD",
    "METH_OPTIONS",
    "METH_POST",
    "METH_PUT",
    "METH_TRACE",
    "RDP_COOKIE",
    "REQ_CONTENT",
    "TRUE",
    "WAIT_END",
];

/// A warning the ACL parser may produce alongside a valid term.
#[derive(Debug)]
pub struct AclWarning(pub String);

/// Parses the words after `acl NAME` (or inside `{ … }`) into a term.
/// `read_file` loads `-f` pattern files (tests pass a fake).
pub fn parse_term(
    words: &[String],
    origin: &Origin,
    read_file: &dyn Fn(&str) -> Option<String>,
) -> Result<(AclTerm, Option<AclWarning>), String> {
    let criterion = words.first().map(String::as_str).unwrap_or("");
    if criterion.is_empty() {
        return Err("missing ACL expression".into());
    }
    let (expr, mut method) = criterion_expr(criterion)?;
    let mut term = AclTerm {
        expr,
        method: MatchMethod::Str,
        ignore_case: false,
        no_dns: false,
        unique_id: None,
        patterns: Vec::new(),
        files: Vec::new(),
        map_files: false,
        origin: origin.clone(),
    };
    let mut i = 1;
    let mut explicit_method: Option<MatchMethod> = None;
    while i < words.len() {
        let w = words[i].as_str();
        match w {
            "-i" => term.ignore_case = true,
            "-n" => term.no_dns = true,
            "-M" => term.map_files = true,
            "-u" => {
                i += 1;
                term.unique_id = words.get(i).cloned();
            }
            "-f" => {
                i += 1;
                let f = words.get(i).map(String::as_str).unwrap_or("");
                let text =
                    read_file(f).ok_or_else(|| format!("failed to open pattern file <{f}>"))?;
                term.files.push(PathBuf::from(f));
                for l in text.lines() {
                    let l = l.trim();
                    if l.is_empty() || l.starts_with('#') {
                        continue;
                    }
                    let pat = if term.map_files {
                        l.split_whitespace().next().unwrap_or(l)
                    } else {
                        l
                    };
                    term.patterns.push(pat.to_string());
                }
            }
            "-m" => {
                i += 1;
                let m = words.get(i).map(String::as_str).unwrap_or("");
                explicit_method = Some(MatchMethod::from_name(m).ok_or_else(|| {
                    format!("unknown matching method '{m}' when parsing ACL expression")
                })?);
            }
            "--" => {
                i += 1;
                break;
            }
            _ => break,
        }
        i += 1;
    }
    if let Some(m) = explicit_method {
        method = Some(m);
    }
    term.method = method.unwrap_or_else(|| sample::output_type(&term.expr).default_match());
    term.patterns
        .extend(words[i.min(words.len())..].iter().cloned());
    validate_patterns(&mut term)?;
    let warning = if term.patterns.is_empty()
        && term.files.is_empty()
        && !matches!(term.method, MatchMethod::Found | MatchMethod::Bool)
        && !words.iter().any(|w| w == "--")
    {
        Some(AclWarning(format!(
            "parsing acl keyword '{criterion}' :\n  no pattern to match against were provided, so this ACL will never match.\n  If this is what you intended, please add '--' to get rid of this warning.\n  If you intended to match only for existence, please use '-m found'.\n  If you wanted to force an int to match as a bool, please use '-m bool'.\n"
        )))
    } else {
        None
    };
    Ok((term, warning))
}

/// `path_beg`, `hdr_dom(host)`, `req.hdr(host),lower`, `src` …
fn criterion_expr(c: &str) -> Result<(SampleExpr, Option<MatchMethod>), String> {
    let name_end = c.find(['(', ',']).unwrap_or(c.len());
    let name = &c[..name_end];
    if let Some((fetch, method)) = sample::acl_keyword(name) {
        let rewritten = format!("{fetch}{}", &c[name_end..]);
        let expr = sample::parse_expr(&rewritten).map_err(|e| acl_expr_error(c, name, &e))?;
        return Ok((expr, Some(method)));
    }
    let expr = sample::parse_expr(c).map_err(|e| acl_expr_error(c, name, &e))?;
    Ok((expr, None))
}

fn acl_expr_error(c: &str, name: &str, e: &str) -> String {
    if e.starts_with("unknown fetch method") {
        format!("unknown fetch method '{name}' in ACL expression '{c}'")
    } else {
        format!("ACL keyword '{name}' : {e}.")
    }
}

/// Checks each pattern as HAProxy's pattern parsers do.
fn validate_patterns(term: &mut AclTerm) -> Result<(), String> {
    match term.method {
        MatchMethod::Ip => {
            for p in &term.patterns {
                if !is_ip_pattern(p, term.no_dns) {
                    return Err(format!("'{p}' is not a valid IPv4 or IPv6 address"));
                }
            }
        }
        MatchMethod::Int | MatchMethod::Len => {
            let mut i = 0;
            while i < term.patterns.len() {
                let p = term.patterns[i].as_str();
                if matches!(p, "eq" | "ge" | "gt" | "le" | "lt") {
                    i += 1;
                    continue;
                }
                if !is_int_pattern(p) {
                    return Err(if p.chars().next().is_some_and(|c| c.is_ascii_digit()) {
                        format!("'{p}' is not a number")
                    } else {
                        format!("'{p}' is neither a number nor a supported operator")
                    });
                }
                i += 1;
            }
        }
        MatchMethod::Reg => {
            for p in &term.patterns {
                compile_regex(p, term.ignore_case)
                    .map_err(|e| format!("regex '{p}' is invalid (error={e})"))?;
            }
        }
        MatchMethod::Bin => {
            for p in &term.patterns {
                if p.len() % 2 != 0 || !p.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(format!("'{p}' is not a valid hex string"));
                }
            }
        }
        _ => {}
    }
    Ok(())
}

fn is_int_pattern(p: &str) -> bool {
    let num = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match p.split_once(':') {
        Some((a, b)) => {
            (a.is_empty() || num(a)) && (b.is_empty() || num(b)) && !(a.is_empty() && b.is_empty())
        }
        None => num(p) || (p.starts_with('-') && num(&p[1..])),
    }
}

fn is_ip_pattern(p: &str, no_dns: bool) -> bool {
    let (addr, mask) = match p.split_once('/') {
        Some((a, m)) => (a, Some(m)),
        None => (p, None),
    };
    let ip = match addr.parse::<std::net::IpAddr>() {
        Ok(ip) => ip,
        Err(_) => {
            if no_dns || mask.is_some() {
                return false;
            }
            return super::address::resolve_host(addr, None).is_some();
        }
    };
    match mask {
        None => true,
        Some(m) => {
            let max = if ip.is_ipv4() { 32 } else { 128 };
            m.parse::<u8>().is_ok_and(|b| b <= max)
                || (ip.is_ipv4() && m.parse::<std::net::Ipv4Addr>().is_ok())
        }
    }
}

/// A regex as HAProxy would accept it (PCRE): the fast engine when it can,
/// else one with backreferences and look-around.
pub fn compile_regex(p: &str, ignore_case: bool) -> Result<Regex, String> {
    let pat = if ignore_case {
        format!("(?i){p}")
    } else {
        p.to_string()
    };
    match regex::Regex::new(&pat) {
        Ok(r) => Ok(Regex::Fast(r)),
        Err(e1) => match fancy_regex::Regex::new(&pat) {
            Ok(r) => Ok(Regex::Fancy(Box::new(r))),
            Err(_) => Err(e1
                .to_string()
                .lines()
                .last()
                .unwrap_or("invalid")
                .trim()
                .to_string()),
        },
    }
}

/// A compiled pattern.
#[derive(Clone, Debug)]
pub enum Regex {
    Fast(regex::Regex),
    Fancy(Box<fancy_regex::Regex>),
}

impl Regex {
    pub fn is_match(&self, s: &str) -> bool {
        match self {
            Regex::Fast(r) => r.is_match(s),
            Regex::Fancy(r) => r.is_match(s).unwrap_or(false),
        }
    }

    /// Replaces the first match (or all with `global`); `\N` in the
    /// replacement refers to capture group N, as in HAProxy.
    pub fn replace(&self, s: &str, rep: &str, global: bool) -> String {
        let rep = backrefs(rep);
        match self {
            Regex::Fast(r) => {
                if global {
                    r.replace_all(s, rep.as_str()).into_owned()
                } else {
                    r.replace(s, rep.as_str()).into_owned()
                }
            }
            Regex::Fancy(r) => {
                if global {
                    r.replace_all(s, rep.as_str()).into_owned()
                } else {
                    r.replace(s, rep.as_str()).into_owned()
                }
            }
        }
    }
}

impl Regex {
    /// HAProxy's `exp_replace`: when the regex matches somewhere in `s`,
    /// the result is `rep` alone with `\0`..`\9` replaced by the groups
    /// of the first match (`\xHH` gives a byte); `None` without a match.
    pub fn expand(&self, s: &str, rep: &str) -> Option<String> {
        let groups: Vec<Option<String>> = match self {
            Regex::Fast(r) => {
                let c = r.captures(s)?;
                (0..c.len())
                    .map(|i| c.get(i).map(|m| m.as_str().to_string()))
                    .collect()
            }
            Regex::Fancy(r) => {
                let c = r.captures(s).ok()??;
                (0..c.len())
                    .map(|i| c.get(i).map(|m| m.as_str().to_string()))
                    .collect()
            }
        };
        let mut out = String::with_capacity(rep.len() + s.len());
        let b = rep.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'\\' && i + 1 < b.len() {
                let n = b[i + 1];
                if n.is_ascii_digit() {
                    if let Some(Some(g)) = groups.get(usize::from(n - b'0')) {
                        out.push_str(g);
                    }
                    i += 2;
                    continue;
                }
                if n == b'x'
                    && i + 3 < b.len()
                    && let Ok(v) = u8::from_str_radix(&rep[i + 2..i + 4], 16)
                {
                    out.push(char::from(v));
                    i += 4;
                    continue;
                }
                out.push(char::from(n));
                i += 2;
                continue;
            }
            let ch = rep[i..].chars().next().unwrap_or(' ');
            out.push(ch);
            i += ch.len_utf8();
        }
        Some(out)
    }
}

/// HAProxy's `\1` back-references as the regex crates' `${1}`, with `$`
/// kept literal.
fn backrefs(rep: &str) -> String {
    let mut out = String::with_capacity(rep.len() + 8);
    let mut chars = rep.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek().is_some_and(char::is_ascii_digit) => {
                let d = chars.next().unwrap_or('0');
                out.push_str("${");
                out.push(d);
                out.push('}');
            }
            '$' => out.push_str("$$"),
            _ => out.push(c),
        }
    }
    out
}

/// Parses `if|unless` and the terms after it. `known` says whether a named
/// ACL exists in the section; `anon` builds `{ … }` ACLs.
pub fn parse_condition(
    words: &[String],
    origin: &Origin,
    known: &dyn Fn(&str) -> bool,
    read_file: &dyn Fn(&str) -> Option<String>,
) -> Result<(Condition, Vec<AclWarning>), String> {
    let unless = match words.first().map(String::as_str) {
        Some("if") => false,
        Some("unless") => true,
        _ => return Err("expects 'if' or 'unless' followed by a condition".into()),
    };
    let mut cond = Condition {
        unless,
        alternatives: vec![Vec::new()],
        origin: origin.clone(),
    };
    let mut warnings = Vec::new();
    let mut i = 1;
    while i < words.len() {
        let mut w = words[i].as_str();
        if w == "or" || w == "||" {
            cond.alternatives.push(Vec::new());
            i += 1;
            continue;
        }
        let mut negate = false;
        while let Some(rest) = w.strip_prefix('!') {
            negate = !negate;
            w = rest;
        }
        if w.is_empty() {
            // a lone `!` applies to the next word
            i += 1;
            if i >= words.len() {
                return Err("missing ACL after '!' in condition".into());
            }
            w = words[i].as_str();
            while let Some(rest) = w.strip_prefix('!') {
                negate = !negate;
                w = rest;
            }
        }
        let acl = if w == "{" {
            let start = i + 1;
            let end = words[start..]
                .iter()
                .position(|x| x == "}")
                .map(|p| start + p)
                .ok_or("missing closing '}' in condition")?;
            let (term, warn) = parse_term(&words[start..end], origin, read_file)?;
            warnings.extend(warn);
            i = end;
            AclRef::Anonymous(Arc::new(Acl {
                name: String::new(),
                terms: vec![term],
            }))
        } else if known(w) {
            AclRef::Named(w.to_string())
        } else if let Some(p) = PREDEFINED.iter().find(|p| **p == w) {
            AclRef::Predefined(p)
        } else {
            return Err(format!("no such ACL : '{w}'"));
        };
        if let Some(last) = cond.alternatives.last_mut() {
            last.push(CondTerm { negate, acl });
        }
        i += 1;
    }
    // HAProxy accepts an empty condition (`deny if`); it never matches.
    cond.alternatives.retain(|a| !a.is_empty());
    Ok((cond, warnings))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn w(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    fn origin() -> Origin {
        Origin::new(&Arc::from("t.cfg"), 1)
    }

    fn no_file(_: &str) -> Option<String> {
        None
    }

    fn term(s: &str) -> Result<AclTerm, String> {
        parse_term(&w(s), &origin(), &no_file).map(|(t, _)| t)
    }

    #[test]
    fn keywords_and_methods() {
        let t = term("path_beg /api /v2").unwrap();
        assert_eq!(t.expr.fetch, "path");
        assert_eq!(t.method, MatchMethod::Beg);
        assert_eq!(t.patterns, vec!["/api", "/v2"]);
        let t = term("hdr(host) -i example.com").unwrap();
        assert_eq!(t.expr.fetch, "req.hdr");
        assert!(t.ignore_case);
        assert_eq!(t.method, MatchMethod::Str);
        let t = term("src 10.0.0.0/8 ::1").unwrap();
        assert_eq!(t.method, MatchMethod::Ip);
        let t = term("dst_port 80:90 1024: :100").unwrap();
        assert_eq!(t.method, MatchMethod::Int);
        let t = term("req.hdr(host),lower -m end .org").unwrap();
        assert_eq!(t.method, MatchMethod::End);
        assert_eq!(t.expr.converters.len(), 1);
        assert_eq!(term("ssl_fc").unwrap().method, MatchMethod::Bool);
        assert_eq!(term("path -- -x").unwrap().patterns, vec!["-x"]);
    }

    #[test]
    fn errors_as_haproxy() {
        assert_eq!(
            term("src 1.2.3.4 -i").unwrap_err(),
            "'-i' is not a valid IPv4 or IPv6 address"
        );
        assert_eq!(
            term("hdr(host) -m foo x").unwrap_err(),
            "unknown matching method 'foo' when parsing ACL expression"
        );
        assert!(
            term("path_reg ([")
                .unwrap_err()
                .starts_with("regex '([' is invalid")
        );
        assert_eq!(
            term("path -f").unwrap_err(),
            "failed to open pattern file <>"
        );
        assert_eq!(
            term("foo(x)").unwrap_err(),
            "unknown fetch method 'foo' in ACL expression 'foo(x)'"
        );
        assert_eq!(
            term("src_port lt abc").unwrap_err(),
            "'abc' is neither a number nor a supported operator"
        );
        assert_eq!(term("dst_port 8x").unwrap_err(), "'8x' is not a number");
    }

    #[test]
    fn files_are_read() {
        let read = |f: &str| -> Option<String> {
            (f == "paths.lst").then(|| "# comment\n/a\n\n/b\n".into())
        };
        let (t, _) = parse_term(&w("path_beg -f paths.lst"), &origin(), &read).unwrap();
        assert_eq!(t.patterns, vec!["/a", "/b"]);
    }

    #[test]
    fn conditions() {
        let known = |n: &str| n == "a" || n == "b";
        let (c, _) = parse_condition(
            &w("if a !b || { path /x } or TRUE"),
            &origin(),
            &known,
            &no_file,
        )
        .unwrap();
        assert!(!c.unless);
        assert_eq!(c.alternatives.len(), 3);
        assert!(c.alternatives[0][1].negate);
        assert!(matches!(c.alternatives[1][0].acl, AclRef::Anonymous(_)));
        assert!(matches!(
            c.alternatives[2][0].acl,
            AclRef::Predefined("TRUE")
        ));
        assert_eq!(
            parse_condition(&w("if c"), &origin(), &known, &no_file).unwrap_err(),
            "no such ACL : 'c'"
        );
        assert_eq!(
            parse_condition(&w("if { path /x"), &origin(), &known, &no_file).unwrap_err(),
            "missing closing '}' in condition"
        );
        let (c, _) = parse_condition(&w("unless ! a"), &origin(), &known, &no_file).unwrap();
        assert!(c.unless && c.alternatives[0][0].negate);
    }
}
