//! `http-request`, `http-response` and `http-after-response` rules, the
//! legacy `redirect` lines and `reqrep`-style 1.x filters, applied to a
//! message in HAProxy's order with HAProxy's semantics (a `set-header`
//! computes its value before removing the old ones, `replace-header`
//! replaces the whole value with the expansion, …).

use super::fetch::{HttpCtx, Vars, path_and_query, path_of};
use super::head::{Head, Header, Line, list_items};
use crate::config::acl::{Regex, compile_regex};
use crate::config::model::{
    HttpAction, HttpRule, LegacyLineAction, LfVar, LogFormat, MatchMethod, Proxy, Redirect,
    ReturnCfg, VarName, VarScope,
};
use crate::engine::acl::{self, Compiler, Cond};
use crate::engine::sample;
use crate::log::format::{self, Value};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// A proxy's rule conditions, compiled at start-up (the actions are read
/// from the configuration, by index).
#[derive(Default)]
pub struct Compiled {
    pub request: Vec<Option<Cond>>,
    pub response: Vec<Option<Cond>>,
    pub after: Vec<Option<Cond>>,
    pub redirects: Vec<Option<Cond>>,
    /// `force-persist` (true) / `ignore-persist` (false).
    pub persist: Vec<(bool, Cond)>,
    pub use_servers: Vec<(Option<usize>, Option<Cond>)>,
    pub monitor_fail: Option<Cond>,
    /// `stats admin if|unless COND`.
    pub stats_admin: Vec<Cond>,
}

impl Compiled {
    pub fn new(p: &Proxy, c: &mut Compiler) -> Compiled {
        let conds = |rules: &[HttpRule], c: &mut Compiler| -> Vec<Option<Cond>> {
            rules
                .iter()
                .map(|r| r.cond.as_ref().map(|x| c.condition(x)))
                .collect()
        };
        Compiled {
            request: conds(&p.rules.http_request, c),
            response: conds(&p.rules.http_response, c),
            after: conds(&p.rules.http_after_response, c),
            redirects: conds(&p.rules.redirects, c),
            persist: p
                .rules
                .persist_rules
                .iter()
                .map(|r| (r.force, c.condition(&r.cond)))
                .collect(),
            use_servers: p
                .rules
                .use_servers
                .iter()
                .map(|u| {
                    (
                        p.servers.iter().position(|s| s.name == u.server),
                        u.cond.as_ref().map(|x| c.condition(x)),
                    )
                })
                .collect(),
            monitor_fail: p.rules.monitor_fail.as_ref().map(|x| c.condition(x)),
            stats_admin: p
                .stats
                .iter()
                .flat_map(|s| &s.admin)
                .map(|x| c.condition(x))
                .collect(),
        }
    }
}

/// What a rule list decided.
#[derive(Clone, Copy, Debug)]
pub enum Verdict<'a> {
    /// All rules ran (or none matched a final action).
    Continue,
    /// `allow`: this proxy's remaining rules are skipped.
    Stop,
    Deny(&'a ReturnCfg),
    Tarpit(&'a ReturnCfg),
    /// `reject`: close without a word.
    Reject,
    Auth(Option<&'a str>),
    Redirect(&'a Redirect),
    Return(&'a ReturnCfg),
    /// `use-service NAME`: an applet answers the request.
    Service(&'a str),
    /// A legacy `reqdeny`-style filter: the proxy's 403.
    LegacyDeny,
    LegacyTarpit,
}

thread_local! {
    static REGEXES: RefCell<HashMap<(String, bool), Rc<Regex>>> = RefCell::new(HashMap::new());
}

/// A regex compiled once per thread.
pub fn regex(p: &str, icase: bool) -> Option<Rc<Regex>> {
    REGEXES.with(|m| {
        let mut m = m.borrow_mut();
        if let Some(r) = m.get(&(p.to_string(), icase)) {
            return Some(Rc::clone(r));
        }
        let r = Rc::new(compile_regex(p, icase).ok()?);
        m.insert((p.to_string(), icase), Rc::clone(&r));
        Some(r)
    })
}

/// Renders a log-format string in the transaction's context.
pub fn render(lf: &LogFormat, ctx: &HttpCtx<'_>) -> String {
    format::render(lf, &FmtVars(ctx))
}

struct FmtVars<'a, 'b>(&'a HttpCtx<'b>);

impl sample::Context for FmtVars<'_, '_> {
    fn client(&self) -> Option<std::net::SocketAddr> {
        self.0.client()
    }
    fn frontend_addr(&self) -> Option<std::net::SocketAddr> {
        self.0.frontend_addr()
    }
    fn nbsrv(&self, b: &str) -> Option<i64> {
        self.0.nbsrv(b)
    }
    fn frontend_name(&self) -> &str {
        self.0.frontend_name()
    }
    fn backend_name(&self) -> Option<&str> {
        self.0.backend_name()
    }
    fn http(&self, f: &str, a: &[String]) -> Option<sample::Sample> {
        self.0.http(f, a)
    }
}

impl format::Vars for FmtVars<'_, '_> {
    fn var(&self, v: LfVar) -> Value {
        use sample::Context;
        let c = self.0;
        match v {
            LfVar::ClientIp => c
                .client()
                .map_or(Value::Absent, |a| Value::Str(a.ip().to_string())),
            LfVar::ClientPort => c
                .client()
                .map_or(Value::Absent, |a| Value::Int(i64::from(a.port()))),
            LfVar::FrontendIp => c
                .frontend_addr()
                .map_or(Value::Absent, |a| Value::Str(a.ip().to_string())),
            LfVar::FrontendPort => c
                .frontend_addr()
                .map_or(Value::Absent, |a| Value::Int(i64::from(a.port()))),
            LfVar::Frontend | LfVar::FrontendTransport => Value::Str(c.frontend_name().to_string()),
            LfVar::Backend => c
                .backend_name()
                .map_or(Value::Absent, |b| Value::Str(b.to_string())),
            LfVar::HttpMethod => Value::Str(c.req.method().to_string()),
            LfVar::HttpUri | LfVar::HttpPath => {
                Value::Str(String::from_utf8_lossy(c.req.uri()).into_owned())
            }
            LfVar::Pid => Value::Int(i64::from(std::process::id())),
            LfVar::Hostname => Value::Str(crate::util::hostname()),
            _ => Value::Absent,
        }
    }
}

fn var_key(v: &VarName) -> String {
    let scope = match v.scope {
        VarScope::Proc => "proc",
        VarScope::Sess => "sess",
        VarScope::Txn => "txn",
        VarScope::Req => "req",
        VarScope::Res => "res",
        VarScope::Check => "check",
    };
    format!("{scope}.{}", v.name)
}

/// Which message a rule list works on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Request,
    Response,
}

/// Runs `rules` (conditions in `conds`) on `msg` (the request, or the
/// response with `req` as the request); the first final action wins.
#[allow(clippy::too_many_arguments)]
pub fn run<'r>(
    rules: &'r [HttpRule],
    conds: &[Option<Cond>],
    side: Side,
    req: &mut Head,
    mut res: Option<&mut Head>,
    l4: &crate::engine::route::L4<'_>,
    vars: &mut Vars,
    captures: &mut Vec<Option<String>>,
) -> Verdict<'r> {
    for (i, rule) in rules.iter().enumerate() {
        let holds = {
            let ctx = HttpCtx {
                l4: l4.clone(),
                req,
                res: res.as_deref(),
                vars,
                captures,
            };
            acl::holds(conds.get(i).and_then(Option::as_ref), &ctx)
        };
        if !holds {
            continue;
        }
        let action = &rule.action;
        match action {
            HttpAction::Allow => return Verdict::Stop,
            HttpAction::Deny(r) => return Verdict::Deny(r),
            HttpAction::Tarpit(r) => return Verdict::Tarpit(r),
            HttpAction::Reject => return Verdict::Reject,
            HttpAction::Auth { realm } => return Verdict::Auth(realm.as_deref()),
            HttpAction::Redirect(r) => return Verdict::Redirect(r),
            HttpAction::Return(r) => return Verdict::Return(r),
            HttpAction::UseService(s) => return Verdict::Service(s),
            _ => {}
        }
        // Values are computed before the message changes.
        let value = {
            let ctx = HttpCtx {
                l4: l4.clone(),
                req,
                res: res.as_deref(),
                vars,
                captures,
            };
            compute(action, &ctx)
        };
        let msg: &mut Head = match (side, res.as_deref_mut()) {
            (Side::Response, Some(r)) => r,
            _ => req,
        };
        match (action, value) {
            (HttpAction::SetHeader { name, .. }, Computed::Text(v)) => msg.set(name, v),
            (HttpAction::AddHeader { name, .. }, Computed::Text(v)) => msg.add(name, v),
            (HttpAction::DelHeader { name, method }, _) => del_header(msg, name, *method),
            (
                HttpAction::ReplaceHeader {
                    name, regex: re, ..
                },
                Computed::Text(rep),
            ) => replace_header(msg, name, re, &rep, false),
            (
                HttpAction::ReplaceValue {
                    name, regex: re, ..
                },
                Computed::Text(rep),
            ) => replace_header(msg, name, re, &rep, true),
            (HttpAction::SetMethod(_), Computed::Text(m)) => set_line(msg, Some(m), None),
            (HttpAction::SetUri(_), Computed::Text(u)) => set_uri(msg, u.into_bytes()),
            (HttpAction::SetPath(_), Computed::Text(p)) => {
                let uri = msg.uri().to_vec();
                let (pre, _, q) = split_uri(&uri);
                set_uri(msg, [pre, p.as_bytes(), q].concat());
            }
            (HttpAction::SetPathQ(_), Computed::Text(p)) => {
                let uri = msg.uri().to_vec();
                let (pre, _, _) = split_uri(&uri);
                set_uri(msg, [pre, p.as_bytes()].concat());
            }
            (HttpAction::SetQuery(_), Computed::Text(q)) => {
                let uri = msg.uri().to_vec();
                let (pre, path, old_q) = split_uri(&uri);
                let new = if q.is_empty() && old_q.is_empty() {
                    [pre, path].concat()
                } else {
                    [pre, path, b"?", q.as_bytes()].concat()
                };
                set_uri(msg, new);
            }
            (HttpAction::ReplacePath { regex: re, .. }, Computed::Text(rep)) => {
                let uri = msg.uri().to_vec();
                let (pre, path, q) = split_uri(&uri);
                if let Some(r) = regex(re, false)
                    && let Some(n) = r.expand(&String::from_utf8_lossy(path), &rep)
                {
                    set_uri(msg, [pre, n.as_bytes(), q].concat());
                }
            }
            (HttpAction::ReplacePathQ { regex: re, .. }, Computed::Text(rep)) => {
                let uri = msg.uri().to_vec();
                let (pre, path, q) = split_uri(&uri);
                let pq = [path, q].concat();
                if let Some(r) = regex(re, false)
                    && let Some(n) = r.expand(&String::from_utf8_lossy(&pq), &rep)
                {
                    set_uri(msg, [pre, n.as_bytes()].concat());
                }
            }
            (HttpAction::ReplaceUri { regex: re, .. }, Computed::Text(rep)) => {
                let uri = String::from_utf8_lossy(msg.uri()).into_owned();
                if let Some(r) = regex(re, false)
                    && let Some(n) = r.expand(&uri, &rep)
                {
                    set_uri(msg, n.into_bytes());
                }
            }
            (HttpAction::SetStatus { status, reason }, _) => {
                if let Line::Response {
                    status: st,
                    code,
                    reason: rs,
                    ..
                } = &mut msg.line
                {
                    *st = *status;
                    *code = status.to_string().into_bytes().into();
                    *rs = reason
                        .clone()
                        .unwrap_or_else(|| super::reply::reason(*status).to_string())
                        .into_bytes()
                        .into();
                }
            }
            (HttpAction::SetVar { var, .. }, Computed::Sample(Some(v))) => {
                vars.insert(var_key(var), v);
            }
            (HttpAction::SetVarFmt { var, .. }, Computed::Text(v)) => {
                vars.insert(var_key(var), sample::Sample::Str(v));
            }
            (HttpAction::UnsetVar(var), _) => {
                vars.remove(&var_key(var));
            }
            (HttpAction::Capture { id, .. }, Computed::Sample(v)) => {
                let slot = id.map_or(captures.len(), |i| i as usize);
                if captures.len() <= slot {
                    captures.resize(slot + 1, None);
                }
                captures[slot] = v.map(|s| s.as_str().into_owned());
            }
            (
                HttpAction::LegacyLine {
                    regex: re,
                    ignore_case,
                    action,
                },
                _,
            ) => {
                if let Some(v) = legacy_line(msg, re, *ignore_case, action) {
                    return v;
                }
            }
            _ => {}
        }
    }
    Verdict::Continue
}

enum Computed {
    Text(String),
    Sample(Option<sample::Sample>),
    Nothing,
}

fn compute(action: &HttpAction, ctx: &HttpCtx<'_>) -> Computed {
    match action {
        HttpAction::SetHeader { value, .. }
        | HttpAction::AddHeader { value, .. }
        | HttpAction::SetPath(value)
        | HttpAction::SetPathQ(value)
        | HttpAction::SetUri(value)
        | HttpAction::SetQuery(value)
        | HttpAction::SetMethod(value)
        | HttpAction::SetVarFmt { value, .. } => Computed::Text(render(value, ctx)),
        HttpAction::ReplaceHeader { replace, .. }
        | HttpAction::ReplaceValue { replace, .. }
        | HttpAction::ReplacePath { replace, .. }
        | HttpAction::ReplacePathQ { replace, .. }
        | HttpAction::ReplaceUri { replace, .. } => Computed::Text(render(replace, ctx)),
        HttpAction::SetVar { expr, .. } => Computed::Sample(sample::fetch(expr, ctx)),
        HttpAction::Capture { expr, len, .. } => {
            Computed::Sample(sample::fetch(expr, ctx).map(|s| {
                let mut t = s.as_str().into_owned();
                if let Some(l) = len {
                    t.truncate(*l as usize);
                }
                sample::Sample::Str(t)
            }))
        }
        _ => Computed::Nothing,
    }
}

fn del_header(h: &mut Head, name: &str, m: Option<MatchMethod>) {
    let lname = name.to_ascii_lowercase();
    let re = matches!(m, Some(MatchMethod::Reg))
        .then(|| regex(name, true))
        .flatten();
    h.headers.retain(|hd| {
        let n = hd.name.to_ascii_lowercase();
        let hit = match m {
            None | Some(MatchMethod::Str) => n == lname,
            Some(MatchMethod::Beg) => n.starts_with(&lname),
            Some(MatchMethod::End) => n.ends_with(&lname),
            Some(MatchMethod::Sub) => n.contains(&lname),
            Some(MatchMethod::Reg) => re.as_ref().is_some_and(|r| r.is_match(&hd.name)),
            _ => n == lname,
        };
        !hit
    });
}

/// `replace-header` (whole value) or `replace-value` (each item).
fn replace_header(h: &mut Head, name: &str, re: &str, rep: &str, items: bool) {
    let Some(r) = regex(re, false) else { return };
    for hd in h
        .headers
        .iter_mut()
        .filter(|x| x.name.eq_ignore_ascii_case(name))
    {
        if !items {
            let v = String::from_utf8_lossy(&hd.value).into_owned();
            if let Some(n) = r.expand(&v, rep) {
                hd.value = n.into_bytes().into();
            }
            continue;
        }
        // Each comma-separated item; a replaced item loses the spaces
        // that preceded it.
        let v = hd.value.clone();
        let mut out: Vec<u8> = Vec::new();
        let mut start = 0;
        let mut parts: Vec<(usize, usize)> = Vec::new();
        for (i, b) in v.iter().enumerate() {
            if *b == b',' {
                parts.push((start, i));
                start = i + 1;
            }
        }
        parts.push((start, v.len()));
        for (k, (a, b)) in parts.iter().enumerate() {
            if k > 0 {
                out.push(b',');
            }
            let raw = &v[*a..*b];
            let item = super::head::trim(raw);
            match r.expand(&String::from_utf8_lossy(item), rep) {
                Some(n) => out.extend_from_slice(n.as_bytes()),
                None => out.extend_from_slice(
                    &raw[..raw.len() - raw.iter().rev().take_while(|b| **b == b' ').count()],
                ),
            }
        }
        hd.value = out.into();
    }
}

/// Scheme+authority, path, and `?query` (with its `?`) of a URI.
fn split_uri(uri: &[u8]) -> (&[u8], &[u8], &[u8]) {
    let pq = path_and_query(uri);
    let pre = &uri[..uri.len() - pq.len()];
    let path = path_of(uri);
    let q = &pq[path.len()..];
    (pre, path, q)
}

fn set_line(h: &mut Head, method: Option<String>, uri: Option<Vec<u8>>) {
    if let Line::Request {
        method: m, uri: u, ..
    } = &mut h.line
    {
        if let Some(x) = method {
            *m = x.into();
        }
        if let Some(x) = uri {
            *u = x.into();
        }
    }
}

/// Sets the URI; an absolute one sets Host to its authority.
fn set_uri(h: &mut Head, uri: Vec<u8>) {
    if !uri.starts_with(b"/")
        && let Some(i) = uri.windows(3).position(|w| w == b"://")
    {
        let rest = &uri[i + 3..];
        let end = rest.iter().position(|b| *b == b'/').unwrap_or(rest.len());
        let auth = rest[..end].to_vec();
        if h.has("host") {
            for hd in h
                .headers
                .iter_mut()
                .filter(|x| x.name.eq_ignore_ascii_case("host"))
            {
                hd.value = auth.clone().into();
            }
        }
    }
    set_line(h, None, Some(uri));
}

/// 1.x `reqrep`, `reqdel`, `reqdeny` …: the regex runs on the start line
/// and on each header as `Name: value`.
fn legacy_line<'r>(
    h: &mut Head,
    re: &str,
    icase: bool,
    action: &LegacyLineAction,
) -> Option<Verdict<'r>> {
    let r = regex(re, icase)?;
    let start = start_line_text(h);
    match action {
        LegacyLineAction::Replace(rep) => {
            if let Some(n) = r.expand(&start, rep) {
                set_start_line(h, &n);
            }
            let mut out: Vec<Header> = Vec::with_capacity(h.headers.len());
            for hd in h.headers.drain(..) {
                let line = format!("{}: {}", hd.name, String::from_utf8_lossy(&hd.value));
                match r.expand(&line, rep) {
                    Some(n) => {
                        if let Some((a, b)) = n.split_once(':') {
                            out.push(Header {
                                name: a.trim().into(),
                                value: b.trim().as_bytes().to_vec().into(),
                            });
                        }
                    }
                    None => out.push(hd),
                }
            }
            h.headers = out;
            None
        }
        LegacyLineAction::Delete => {
            h.headers.retain(|hd| {
                let line = format!("{}: {}", hd.name, String::from_utf8_lossy(&hd.value));
                !r.is_match(&line)
            });
            None
        }
        other => {
            let hit = r.is_match(&start)
                || h.headers.iter().any(|hd| {
                    r.is_match(&format!(
                        "{}: {}",
                        hd.name,
                        String::from_utf8_lossy(&hd.value)
                    ))
                });
            if !hit {
                return None;
            }
            match other {
                LegacyLineAction::Deny => Some(Verdict::LegacyDeny),
                LegacyLineAction::Tarpit => Some(Verdict::LegacyTarpit),
                LegacyLineAction::Allow => Some(Verdict::Stop),
                _ => None,
            }
        }
    }
}

fn start_line_text(h: &Head) -> String {
    match &h.line {
        Line::Request {
            method,
            uri,
            version,
        } => format!(
            "{method} {} {}",
            String::from_utf8_lossy(uri),
            String::from_utf8_lossy(version)
        ),
        Line::Response {
            version,
            code,
            reason,
            ..
        } => format!(
            "{} {} {}",
            String::from_utf8_lossy(version),
            String::from_utf8_lossy(code),
            String::from_utf8_lossy(reason)
        ),
    }
}

fn set_start_line(h: &mut Head, text: &str) {
    let mut parts = text.splitn(3, ' ');
    let (a, b, c) = (
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
    );
    match &mut h.line {
        Line::Request {
            method,
            uri,
            version,
        } => {
            *method = a.to_string().into();
            *uri = b.as_bytes().to_vec().into();
            *version = c.as_bytes().to_vec().into();
        }
        Line::Response {
            version,
            status,
            code,
            reason,
        } => {
            *version = a.as_bytes().to_vec().into();
            *code = b.as_bytes().to_vec().into();
            *status = b.parse().unwrap_or(*status);
            *reason = c.as_bytes().to_vec().into();
        }
    }
}

/// The Location of a redirect (HAProxy's `http_apply_redirect_rule`),
/// `None` when `ignore-empty`-style rendering gives nothing.
pub fn redirect_location(r: &Redirect, req: &Head, target: String) -> String {
    use crate::config::model::RedirectKind;
    let pq = String::from_utf8_lossy(path_and_query(req.uri())).into_owned();
    let mut loc = match r.kind {
        RedirectKind::Location => target,
        RedirectKind::Prefix => {
            let mut pq = pq;
            if r.drop_query {
                pq.truncate(pq.find('?').unwrap_or(pq.len()));
            }
            if target == "/" {
                pq
            } else {
                format!("{target}{pq}")
            }
        }
        RedirectKind::Scheme => {
            let host = req
                .first("host")
                .map(|h| String::from_utf8_lossy(h).into_owned())
                .unwrap_or_default();
            let mut pq = pq;
            if r.drop_query {
                pq.truncate(pq.find('?').unwrap_or(pq.len()));
            }
            format!("{target}://{host}{pq}")
        }
    };
    if r.append_slash && !loc.ends_with('/') {
        loc.push('/');
    }
    loc
}

/// Items of a comma list header (exposed for ACL-free callers).
pub fn items(v: &[u8]) -> Vec<&[u8]> {
    list_items(v)
}
