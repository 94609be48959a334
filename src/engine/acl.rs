//! Conditions at run time: ACLs compiled once at start-up (regexes built,
//! networks parsed, strings lowered for `-i`), then evaluated per session.

use super::sample::{self, Context, Sample};
use crate::config::acl::Regex;
use crate::config::model::{Acl, AclRef, AclTerm, Condition, MatchMethod, SampleExpr};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

enum Patterns {
    Found,
    Bool,
    Int(Vec<IntPat>),
    Ip(Vec<(IpAddr, u8)>),
    Str(Vec<String>),
    Sub(Vec<String>),
    Beg(Vec<String>),
    End(Vec<String>),
    Dir(Vec<String>),
    Dom(Vec<String>),
    Len(Vec<IntPat>),
    Reg(Vec<Regex>),
    Bin(Vec<Vec<u8>>),
}

#[derive(Clone, Copy)]
enum IntPat {
    Range(Option<i64>, Option<i64>),
    Op(Op, i64),
}

#[derive(Clone, Copy)]
enum Op {
    Eq,
    Ge,
    Gt,
    Le,
    Lt,
}

struct Term {
    expr: SampleExpr,
    icase: bool,
    pats: Patterns,
}

pub struct CompiledAcl {
    terms: Vec<Term>,
}

enum Ref {
    Acl(Arc<CompiledAcl>),
    Predefined(&'static str),
}

/// A compiled `if|unless` condition.
pub struct Cond {
    unless: bool,
    alternatives: Vec<Vec<(bool, Ref)>>,
}

/// Compiles conditions, sharing the ACLs several rules refer to.
#[derive(Default)]
pub struct Compiler {
    cache: HashMap<*const Acl, Arc<CompiledAcl>>,
}

impl Compiler {
    pub fn condition(&mut self, c: &Condition) -> Cond {
        Cond {
            unless: c.unless,
            alternatives: c
                .alternatives
                .iter()
                .map(|alt| {
                    alt.iter()
                        .map(|t| {
                            let r = match &t.acl {
                                AclRef::Resolved(a) | AclRef::Anonymous(a) => Ref::Acl(self.acl(a)),
                                AclRef::Predefined(p) => Ref::Predefined(p),
                                // Unbound names do not reach the engine: the
                                // parser binds them or refuses the line.
                                AclRef::Named(_) => Ref::Predefined("FALSE"),
                            };
                            (t.negate, r)
                        })
                        .collect()
                })
                .collect(),
        }
    }

    fn acl(&mut self, a: &Arc<Acl>) -> Arc<CompiledAcl> {
        let key = Arc::as_ptr(a);
        if let Some(c) = self.cache.get(&key) {
            return Arc::clone(c);
        }
        let c = Arc::new(CompiledAcl {
            terms: a.terms.iter().map(compile_term).collect(),
        });
        self.cache.insert(key, Arc::clone(&c));
        c
    }
}

fn int_pats(pats: &[String]) -> Vec<IntPat> {
    let mut out = Vec::new();
    let mut op: Option<Op> = None;
    for p in pats {
        let o = match p.as_str() {
            "eq" => Some(Op::Eq),
            "ge" => Some(Op::Ge),
            "gt" => Some(Op::Gt),
            "le" => Some(Op::Le),
            "lt" => Some(Op::Lt),
            _ => None,
        };
        if o.is_some() {
            op = o;
            continue;
        }
        if let Some(o) = op {
            if let Ok(v) = p.parse() {
                out.push(IntPat::Op(o, v));
            }
            continue;
        }
        match p.split_once(':') {
            Some((a, b)) => out.push(IntPat::Range(a.parse().ok(), b.parse().ok())),
            None => {
                if let Ok(v) = p.parse() {
                    out.push(IntPat::Range(Some(v), Some(v)));
                }
            }
        }
    }
    out
}

fn ip_pats(pats: &[String]) -> Vec<(IpAddr, u8)> {
    pats.iter()
        .filter_map(|p| {
            let (a, m) = match p.split_once('/') {
                Some((a, m)) => (a, Some(m)),
                None => (p.as_str(), None),
            };
            let ip: IpAddr = a
                .parse()
                .ok()
                .or_else(|| crate::config::address::resolve_host(a, None))?;
            let max = if ip.is_ipv4() { 32 } else { 128 };
            let bits = match m {
                None => max,
                Some(m) => m.parse::<u8>().ok().or_else(|| {
                    m.parse::<std::net::Ipv4Addr>()
                        .ok()
                        .map(|x| u32::from(x).count_ones() as u8)
                })?,
            };
            Some((ip, bits.min(max)))
        })
        .collect()
}

fn compile_term(t: &AclTerm) -> Term {
    let lower = |v: &[String]| -> Vec<String> {
        if t.ignore_case {
            v.iter().map(|s| s.to_ascii_lowercase()).collect()
        } else {
            v.to_vec()
        }
    };
    let pats = match t.method {
        MatchMethod::Found => Patterns::Found,
        MatchMethod::Bool => Patterns::Bool,
        MatchMethod::Int => Patterns::Int(int_pats(&t.patterns)),
        MatchMethod::Len => Patterns::Len(int_pats(&t.patterns)),
        MatchMethod::Ip => Patterns::Ip(ip_pats(&t.patterns)),
        MatchMethod::Str => Patterns::Str(lower(&t.patterns)),
        MatchMethod::Sub => Patterns::Sub(lower(&t.patterns)),
        MatchMethod::Beg => Patterns::Beg(lower(&t.patterns)),
        MatchMethod::End => Patterns::End(lower(&t.patterns)),
        MatchMethod::Dir => Patterns::Dir(lower(&t.patterns)),
        MatchMethod::Dom => Patterns::Dom(lower(&t.patterns)),
        MatchMethod::Reg => Patterns::Reg(
            t.patterns
                .iter()
                .filter_map(|p| crate::config::acl::compile_regex(p, t.ignore_case).ok())
                .collect(),
        ),
        MatchMethod::Bin => Patterns::Bin(
            t.patterns
                .iter()
                .filter_map(|p| {
                    (0..p.len())
                        .step_by(2)
                        .map(|i| u8::from_str_radix(p.get(i..i + 2)?, 16).ok())
                        .collect()
                })
                .collect(),
        ),
    };
    Term {
        expr: t.expr.clone(),
        icase: t.ignore_case,
        pats,
    }
}

fn ip_in(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let m = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(bits))
            };
            u32::from(a) & m == u32::from(n) & m
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let m = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(bits))
            };
            u128::from(a) & m == u128::from(n) & m
        }
        (IpAddr::V6(a), IpAddr::V4(_)) => a
            .to_ipv4_mapped()
            .is_some_and(|v4| ip_in(IpAddr::V4(v4), net, bits)),
        (IpAddr::V4(a), IpAddr::V6(_)) => ip_in(IpAddr::V6(a.to_ipv6_mapped()), net, bits),
    }
}

fn int_match(v: i64, pats: &[IntPat]) -> bool {
    pats.iter().any(|p| match *p {
        IntPat::Range(lo, hi) => lo.is_none_or(|l| v >= l) && hi.is_none_or(|h| v <= h),
        IntPat::Op(op, x) => match op {
            Op::Eq => v == x,
            Op::Ge => v >= x,
            Op::Gt => v > x,
            Op::Le => v <= x,
            Op::Lt => v < x,
        },
    })
}

fn dom_match(s: &str, pat: &str, sep: fn(char) -> bool) -> bool {
    // `pat` must appear in `s` delimited by separators on both sides.
    let mut start = 0;
    while let Some(pos) = s[start..].find(pat) {
        let b = start + pos;
        let e = b + pat.len();
        let before = b == 0 || s[..b].chars().next_back().is_some_and(sep);
        let after = e == s.len() || s[e..].chars().next().is_some_and(sep);
        if before && after {
            return true;
        }
        start = b + 1;
        if start >= s.len() {
            break;
        }
    }
    false
}

fn term_matches(t: &Term, ctx: &dyn Context) -> bool {
    sample::fetch_all(&t.expr, ctx)
        .into_iter()
        .any(|smp| sample_matches(t, smp))
}

fn sample_matches(t: &Term, smp: Sample) -> bool {
    let text = || {
        let s = smp.as_str().into_owned();
        if t.icase { s.to_ascii_lowercase() } else { s }
    };
    match &t.pats {
        Patterns::Found => true,
        Patterns::Bool => smp.as_bool(),
        Patterns::Int(p) => smp.as_int().is_some_and(|v| int_match(v, p)),
        Patterns::Len(p) => int_match(smp.as_str().len() as i64, p),
        Patterns::Ip(nets) => {
            let ip = match &smp {
                Sample::Ip(ip) => Some(*ip),
                other => other.as_str().parse().ok(),
            };
            ip.is_some_and(|ip| nets.iter().any(|(n, b)| ip_in(ip, *n, *b)))
        }
        Patterns::Str(p) => {
            let s = text();
            p.contains(&s)
        }
        Patterns::Sub(p) => {
            let s = text();
            p.iter().any(|x| s.contains(x.as_str()))
        }
        Patterns::Beg(p) => {
            let s = text();
            p.iter().any(|x| s.starts_with(x.as_str()))
        }
        Patterns::End(p) => {
            let s = text();
            p.iter().any(|x| s.ends_with(x.as_str()))
        }
        Patterns::Dir(p) => {
            let s = text();
            p.iter().any(|x| dom_match(&s, x, |c| c == '/'))
        }
        Patterns::Dom(p) => {
            let s = text();
            p.iter()
                .any(|x| dom_match(&s, x, |c| c == '.' || c == '/' || c == ':'))
        }
        Patterns::Reg(r) => {
            let s = smp.as_str();
            r.iter().any(|re| re.is_match(&s))
        }
        Patterns::Bin(p) => {
            let b: Vec<u8> = match &smp {
                Sample::Bin(b) => b.clone(),
                other => other.as_str().as_bytes().to_vec(),
            };
            p.contains(&b)
        }
    }
}

fn predefined(name: &str, ctx: &dyn Context) -> bool {
    match name {
        "TRUE" => true,
        "FALSE" => false,
        "LOCALHOST" => ctx.client().is_some_and(|c| {
            ip_in(c.ip(), IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 0)), 8)
                || c.ip() == IpAddr::V6(std::net::Ipv6Addr::LOCALHOST)
        }),
        other => ctx
            .http(&format!("@predef:{other}"), &[])
            .is_some_and(|s| s.as_bool()),
    }
}

impl Cond {
    pub fn eval(&self, ctx: &dyn Context) -> bool {
        let hit = self.alternatives.iter().any(|alt| {
            alt.iter().all(|(neg, r)| {
                let v = match r {
                    Ref::Acl(a) => a.terms.iter().any(|t| term_matches(t, ctx)),
                    Ref::Predefined(p) => predefined(p, ctx),
                };
                v != *neg
            })
        });
        hit != self.unless
    }
}

impl Cond {
    /// What in this condition the engine cannot evaluate.
    pub fn unsupported(&self) -> Option<String> {
        self.alternatives
            .iter()
            .flatten()
            .find_map(|(_, r)| match r {
                Ref::Acl(a) => a
                    .terms
                    .iter()
                    .find_map(|t| super::sample::unsupported(&t.expr)),
                Ref::Predefined(_) => None,
            })
    }

    /// The fetches (with their arguments) of the terms that read one of
    /// `fetches`.
    pub fn reading(&self, fetches: &[&str]) -> Vec<(String, Vec<String>)> {
        let mut out = Vec::new();
        for (_, r) in self.alternatives.iter().flatten() {
            if let Ref::Acl(a) = r {
                for t in &a.terms {
                    if fetches.contains(&t.expr.fetch.as_str()) {
                        out.push((t.expr.fetch.clone(), t.expr.args.clone()));
                    }
                }
            }
        }
        out
    }
}

/// Evaluates an optional condition: no condition means "always".
pub fn holds(c: Option<&Cond>, ctx: &dyn Context) -> bool {
    c.is_none_or(|c| c.eval(ctx))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;

    struct Ctx(SocketAddr, SocketAddr);
    impl Context for Ctx {
        fn client(&self) -> Option<SocketAddr> {
            Some(self.0)
        }
        fn frontend_addr(&self) -> Option<SocketAddr> {
            Some(self.1)
        }
        fn frontend_name(&self) -> &str {
            "fe"
        }
    }

    fn cond(text: &str) -> Cond {
        let cfg = format!(
            "frontend fe\n bind :80\n acl a src 10.0.0.0/8\n acl b dst_port 8000:8100\n use_backend be if {text}\nbackend be\n"
        );
        let l = crate::config::load_sources(
            &[("t.cfg".into(), cfg.into_bytes())],
            crate::config::LoadOptions::default(),
        );
        let p = l.config.proxy("fe").expect("fe");
        let c = p.rules.use_backends[0].cond.as_ref().expect("cond");
        Compiler::default().condition(c)
    }

    #[test]
    fn layer4_conditions() {
        let ctx = Ctx(
            "10.1.2.3:5000".parse().unwrap(),
            "198.18.0.1:8080".parse().unwrap(),
        );
        assert!(cond("a").eval(&ctx));
        assert!(cond("a b").eval(&ctx));
        assert!(!cond("a !b").eval(&ctx));
        assert!(cond("!a || b").eval(&ctx));
        assert!(cond("{ src_port gt 4000 } a").eval(&ctx));
        assert!(!cond("{ src 192.168.0.0/16 }").eval(&ctx));
        assert!(cond("TRUE").eval(&ctx));
        assert!(!cond("LOCALHOST").eval(&ctx));
        assert!(!cond("a").eval(&Ctx(
            "192.0.2.1:1".parse().unwrap(),
            "198.18.0.1:1".parse().unwrap()
        )));
    }

    #[test]
    fn domain_and_dir() {
        assert!(dom_match("www.example.com", "example", |c| c == '.'));
        assert!(!dom_match("www.myexample.com", "example", |c| c == '.'));
        assert!(dom_match("/a/b/c", "b", |c| c == '/'));
    }
}
