//! `acl`, conditions and every rule list: `http-request`, `http-response`,
//! `http-after-response`, `tcp-request`, `tcp-response`, `redirect`,
//! `use_backend`, `use-server`, `force-persist`/`ignore-persist`,
//! `monitor fail`, and the 1.x `req*`/`rsp*`/`block` rules.

use super::{Flow, Status};
use crate::config::acl;
use crate::config::line::Line;
use crate::config::logformat;
use crate::config::model::*;
use crate::config::parser::{ProxyCtx, RuleKind};
use crate::config::sample;
use crate::config::values::{self, TimeUnit};
use std::sync::Arc;

use Status::{Enforced as E, ParsedOnly as P};

/// One action of a rule family, with its status.
pub struct ActionKeyword {
    /// `set-var` stands for `set-var(<scope>.<name>)`, `track-sc` for
    /// `track-sc0..2`, and so on.
    pub name: &'static str,
    pub status: Status,
}

const fn a(name: &'static str, status: Status) -> ActionKeyword {
    ActionKeyword { name, status }
}

pub static HTTP_REQUEST_ACTIONS: &[ActionKeyword] = &[
    a("add-acl", P),
    a("add-header", E),
    a("allow", E),
    a("auth", E),
    a("cache-use", P),
    a("capture", E),
    a("del-acl", P),
    a("del-header", E),
    a("del-map", P),
    a("deny", E),
    a("disable-l7-retry", P),
    a("do-resolve", P),
    a("early-hint", P),
    a("normalize-uri", P),
    a("redirect", E),
    a("reject", E),
    a("replace-header", E),
    a("replace-path", E),
    a("replace-pathq", E),
    a("replace-uri", E),
    a("replace-value", E),
    a("return", E),
    a("sc-inc-gpc", P),
    a("sc-inc-gpc0", P),
    a("sc-inc-gpc1", P),
    a("sc-set-gpt", P),
    a("sc-set-gpt0", P),
    a("send-spoe-group", P),
    a("set-dst", P),
    a("set-dst-port", P),
    a("set-header", E),
    a("set-log-level", P),
    a("set-map", P),
    a("set-mark", P),
    a("set-method", E),
    a("set-nice", P),
    a("set-path", E),
    a("set-pathq", E),
    a("set-priority-class", P),
    a("set-priority-offset", P),
    a("set-query", E),
    a("set-src", P),
    a("set-src-port", P),
    a("set-timeout", P),
    a("set-tos", P),
    a("set-uri", E),
    a("set-var", E),
    a("set-var-fmt", E),
    a("silent-drop", P),
    a("strict-mode", P),
    a("tarpit", E),
    a("track-sc", P),
    a("unset-var", E),
    a("use-service", E),
    a("wait-for-body", P),
    a("wait-for-handshake", P),
];

pub static HTTP_RESPONSE_ACTIONS: &[ActionKeyword] = &[
    a("add-acl", P),
    a("add-header", E),
    a("allow", E),
    a("cache-store", P),
    a("capture", E),
    a("del-acl", P),
    a("del-header", E),
    a("del-map", P),
    a("deny", E),
    a("redirect", E),
    a("replace-header", E),
    a("replace-value", E),
    a("return", E),
    a("sc-inc-gpc", P),
    a("sc-inc-gpc0", P),
    a("sc-inc-gpc1", P),
    a("sc-set-gpt", P),
    a("sc-set-gpt0", P),
    a("send-spoe-group", P),
    a("set-header", E),
    a("set-log-level", P),
    a("set-map", P),
    a("set-mark", P),
    a("set-nice", P),
    a("set-status", E),
    a("set-tos", P),
    a("set-var", E),
    a("set-var-fmt", E),
    a("silent-drop", P),
    a("strict-mode", P),
    a("track-sc", P),
    a("unset-var", E),
    a("wait-for-body", P),
];

pub static HTTP_AFTER_RESPONSE_ACTIONS: &[ActionKeyword] = &[
    a("add-header", E),
    a("allow", E),
    a("capture", E),
    a("del-header", E),
    a("replace-header", E),
    a("replace-value", E),
    a("set-header", E),
    a("set-status", E),
    a("set-var", E),
    a("set-var-fmt", E),
    a("strict-mode", P),
    a("unset-var", E),
];

pub static TCP_REQUEST_ACTIONS: &[ActionKeyword] = &[
    a("accept", E),
    a("reject", E),
    a("capture", P),
    a("expect-proxy", P),
    a("expect-netscaler-cip", P),
    a("track-sc", P),
    a("set-log-level", P),
    a("set-nice", P),
    a("switch-mode", P),
    a("use-service", P),
    a("sc-inc-gpc", P),
    a("sc-inc-gpc0", P),
    a("sc-inc-gpc1", P),
    a("sc-set-gpt", P),
    a("sc-set-gpt0", P),
    a("send-spoe-group", P),
    a("do-resolve", P),
    a("set-var-fmt", P),
    a("set-var", P),
    a("unset-var", P),
    a("set-src", P),
    a("set-src-port", P),
    a("set-dst", P),
    a("set-dst-port", P),
    a("set-mark", P),
    a("set-tos", P),
    a("silent-drop", E),
    a("set-priority-class", P),
    a("set-priority-offset", P),
    a("close", P),
];

pub static TCP_RESPONSE_ACTIONS: &[ActionKeyword] = &[
    a("accept", P),
    a("reject", P),
    a("close", P),
    a("sc-inc-gpc", P),
    a("sc-inc-gpc0", P),
    a("sc-inc-gpc1", P),
    a("sc-set-gpt", P),
    a("sc-set-gpt0", P),
    a("send-spoe-group", P),
    a("set-log-level", P),
    a("set-mark", P),
    a("set-nice", P),
    a("set-tos", P),
    a("set-var", P),
    a("set-var-fmt", P),
    a("silent-drop", P),
    a("unset-var", P),
];

pub fn action_tables() -> [(&'static str, &'static [ActionKeyword]); 5] {
    [
        ("http-request", HTTP_REQUEST_ACTIONS),
        ("http-response", HTTP_RESPONSE_ACTIONS),
        ("http-after-response", HTTP_AFTER_RESPONSE_ACTIONS),
        ("tcp-request", TCP_REQUEST_ACTIONS),
        ("tcp-response", TCP_RESPONSE_ACTIONS),
    ]
}

/// The table name of an action word: `set-var(txn.x)` → `set-var`,
/// `track-sc1` → `track-sc`.
fn action_base(word: &str) -> &str {
    let base = word.split('(').next().unwrap_or(word);
    if let Some(rest) = base.strip_prefix("track-sc")
        && rest.chars().all(|c| c.is_ascii_digit())
    {
        return "track-sc";
    }
    base
}

/// Reads pattern files for `-f` (relative to the current directory, as
/// HAProxy does).
pub fn read_pattern_file(f: &str) -> Option<String> {
    if f.is_empty() {
        return None;
    }
    std::fs::read(f)
        .ok()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
}

/// Parses the condition after a rule (words from `i`), reporting errors
/// with `context` ("switching rule", "an 'http-request deny' condition").
fn condition(
    ctx: &mut ProxyCtx,
    line: &Line,
    i: usize,
    context: &str,
) -> Result<Option<Condition>, ()> {
    let words = line.rest(i);
    if words.is_empty() {
        return Ok(None);
    }
    let known_names: Vec<String> = ctx.px.rules.acls.iter().map(|a| a.name.clone()).collect();
    let known = |n: &str| known_names.iter().any(|k| k == n);
    match acl::parse_condition(words, &line.origin, &known, &read_pattern_file) {
        Ok((c, warnings)) => {
            for w in warnings {
                ctx.sv.warn_bare(w.0);
            }
            Ok(Some(c))
        }
        Err(e) => {
            ctx.sv.alert(
                line,
                format!("error detected while parsing {context} : {e}."),
            );
            Err(())
        }
    }
}

pub fn acl(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    let name = line.arg(1);
    if name.is_empty() {
        ctx.sv
            .alert(line, "'acl' expects an ACL name and a fetch method.");
        return Flow::Continue;
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':')))
    {
        ctx.sv.alert(
            line,
            format!("character '{c}' is not permitted in acl name '{name}'."),
        );
        return Flow::Continue;
    }
    if acl::PREDEFINED.contains(&name) {
        ctx.sv.warn(
            line,
            format!("acl '{name}' overrides a predefined ACL with the same name."),
        );
    }
    match acl::parse_term(line.rest(2), &line.origin, &read_pattern_file) {
        Ok((term, warning)) => {
            if let Some(w) = warning {
                ctx.sv.warn_bare(w.0);
            }
            let acls = &mut ctx.px.rules.acls;
            match acls.iter_mut().find(|a| a.name == name) {
                Some(existing) => Arc::make_mut(existing).terms.push(term),
                None => acls.push(Arc::new(Acl {
                    name: name.to_string(),
                    terms: vec![term],
                })),
            }
        }
        Err(e) => ctx.sv.alert(
            line,
            format!("error detected while parsing ACL '{name}' : {e}."),
        ),
    }
    Flow::Continue
}

pub fn use_backend(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    let name = line.arg(1);
    if name.is_empty() {
        ctx.sv.alert(line, "'use_backend' expects a backend name.");
        return Flow::Continue;
    }
    if !line.arg(2).is_empty() && !matches!(line.arg(2), "if" | "unless") {
        ctx.sv.alert(
            line,
            format!(
                "unexpected keyword '{}' after switching rule, only 'if' and 'unless' are allowed.",
                line.arg(2)
            ),
        );
        return Flow::Continue;
    }
    let target = if name.contains("%[") {
        match logformat::parse(name) {
            Ok(f) => BackendTarget::Dynamic(f),
            Err(e) => {
                ctx.sv.alert(
                    line,
                    format!("error detected while parsing switching rule : {e}."),
                );
                return Flow::Continue;
            }
        }
    } else {
        BackendTarget::Name(name.to_string())
    };
    let Ok(cond) = condition(ctx, line, 2, "switching rule") else {
        return Flow::Continue;
    };
    ctx.rule_order(line, RuleKind::UseBackend);
    ctx.px.rules.use_backends.push(UseBackend {
        target,
        cond,
        origin: line.origin.clone(),
    });
    Flow::Continue
}

pub fn use_server(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    let name = line.arg(1);
    if name.is_empty() {
        ctx.sv.alert(line, "'use-server' expects a server name.");
        return Flow::Continue;
    }
    if !matches!(line.arg(2), "if" | "unless") {
        ctx.sv.alert(
            line,
            "'use-server' requires either 'if' or 'unless' followed by a condition.",
        );
        return Flow::Continue;
    }
    let Ok(cond) = condition(ctx, line, 2, "switching rule") else {
        return Flow::Continue;
    };
    ctx.rule_order(line, RuleKind::UseServer);
    ctx.px.rules.use_servers.push(UseServer {
        server: name.to_string(),
        cond,
        origin: line.origin.clone(),
    });
    Flow::Continue
}

pub fn persist(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    let kw = line.arg(0);
    if !matches!(line.arg(1), "if" | "unless") {
        ctx.sv.alert(
            line,
            format!("'{kw}' requires either 'if' or 'unless' followed by a condition."),
        );
        return Flow::Continue;
    }
    let Ok(Some(cond)) = condition(ctx, line, 1, &format!("a '{kw}' rule")) else {
        return Flow::Continue;
    };
    ctx.px.rules.persist_rules.push(PersistRule {
        force: kw == "force-persist",
        cond,
    });
    Flow::Continue
}

pub fn monitor_fail(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    if line.arg(1) != "fail" {
        ctx.sv.alert(
            line,
            format!(
                "'monitor' expects 'fail' as first argument (got '{}').",
                line.arg(1)
            ),
        );
        return Flow::Continue;
    }
    if !matches!(line.arg(2), "if" | "unless") {
        ctx.sv.alert(
            line,
            "'monitor fail' expects either 'if' or 'unless' followed by a condition.",
        );
        return Flow::Continue;
    }
    if let Ok(Some(c)) = condition(ctx, line, 2, "a 'monitor fail' condition") {
        ctx.px.rules.monitor_fail = Some(c);
    }
    Flow::Continue
}

/// `redirect …` (keyword and action): returns the parsed redirect and the
/// index of the first word after it.
fn parse_redirect(words: &[String]) -> Result<(Redirect, usize), String> {
    let mut r = Redirect {
        kind: RedirectKind::Location,
        target: LogFormat::default(),
        code: 302,
        drop_query: false,
        append_slash: false,
        set_cookie: None,
        clear_cookie: None,
    };
    let mut have_target = false;
    let mut i = 0;
    while i < words.len() {
        let w = words[i].as_str();
        match w {
            "location" | "prefix" | "scheme" => {
                let v = words
                    .get(i + 1)
                    .ok_or_else(|| format!("missing argument for '{w}'"))?;
                r.kind = match w {
                    "location" => RedirectKind::Location,
                    "prefix" => RedirectKind::Prefix,
                    _ => RedirectKind::Scheme,
                };
                r.target = logformat::parse(v)?;
                have_target = true;
                i += 1;
            }
            "code" => {
                let v = words
                    .get(i + 1)
                    .ok_or_else(|| "missing HTTP code".to_string())?;
                let c: u16 = v.parse().unwrap_or(0);
                if ![301, 302, 303, 307, 308].contains(&c) {
                    return Err(format!(
                        "'code': unsupported HTTP code '{v}' (must be one of 301, 302, 303, 307 or 308)"
                    ));
                }
                r.code = c;
                i += 1;
            }
            "set-cookie" => {
                r.set_cookie = Some(
                    words
                        .get(i + 1)
                        .ok_or_else(|| format!("missing argument for '{w}'"))?
                        .clone(),
                );
                i += 1;
            }
            "clear-cookie" => {
                r.clear_cookie = Some(
                    words
                        .get(i + 1)
                        .ok_or_else(|| format!("missing argument for '{w}'"))?
                        .clone(),
                );
                i += 1;
            }
            "drop-query" => r.drop_query = true,
            "append-slash" => r.append_slash = true,
            "ignore-empty" => {}
            "if" | "unless" => break,
            other => {
                return Err(format!(
                    "expects 'code', 'prefix', 'location', 'scheme', 'set-cookie', 'clear-cookie', 'drop-query', 'ignore-empty' or 'append-slash' (was '{other}')"
                ));
            }
        }
        i += 1;
    }
    if !have_target {
        return Err("redirect type must be one of 'prefix', 'location', or 'scheme'".into());
    }
    Ok((r, i))
}

pub fn redirect(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    let pxdesc = format!("{} '{}'", ctx.px.kind.word(), ctx.px.name);
    match parse_redirect(line.rest(1)) {
        Ok((r, used)) => {
            let Ok(cond) = condition(ctx, line, 1 + used, "a 'redirect' rule") else {
                return Flow::Continue;
            };
            ctx.rule_order(line, RuleKind::Redirect);
            ctx.px.rules.redirects.push(HttpRule {
                action: HttpAction::Redirect(r),
                cond,
                origin: line.origin.clone(),
            });
        }
        Err(e) => ctx.sv.alert(
            line,
            format!("error detected in {pxdesc} while parsing redirect rule : {e}."),
        ),
    }
    Flow::Continue
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum HttpFamily {
    Request,
    Response,
    AfterResponse,
}

impl HttpFamily {
    fn keyword(self) -> &'static str {
        match self {
            HttpFamily::Request => "http-request",
            HttpFamily::Response => "http-response",
            HttpFamily::AfterResponse => "http-after-response",
        }
    }

    fn table(self) -> &'static [ActionKeyword] {
        match self {
            HttpFamily::Request => HTTP_REQUEST_ACTIONS,
            HttpFamily::Response => HTTP_RESPONSE_ACTIONS,
            HttpFamily::AfterResponse => HTTP_AFTER_RESPONSE_ACTIONS,
        }
    }
}

pub fn http_request(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    http_rule(ctx, line, HttpFamily::Request)
}

pub fn http_response(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    http_rule(ctx, line, HttpFamily::Response)
}

pub fn http_after_response(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    http_rule(ctx, line, HttpFamily::AfterResponse)
}

/// Parses one `http-*` rule. Any error stops the file, as in HAProxy 2.6.
fn http_rule(ctx: &mut ProxyCtx, line: &Line, fam: HttpFamily) -> Flow {
    let kw = fam.keyword();
    let word = line.arg(1);
    let base = action_base(word);
    let Some(act) = fam.table().iter().find(|a| a.name == base) else {
        let list: Vec<String> = fam
            .table()
            .iter()
            .map(|a| {
                if matches!(
                    a.name,
                    "set-var"
                        | "set-var-fmt"
                        | "unset-var"
                        | "track-sc"
                        | "add-acl"
                        | "del-acl"
                        | "set-map"
                        | "del-map"
                        | "do-resolve"
                        | "sc-inc-gpc"
                        | "sc-inc-gpc0"
                        | "sc-inc-gpc1"
                        | "sc-set-gpt"
                        | "sc-set-gpt0"
                ) {
                    format!("'{}(*)'", a.name)
                } else {
                    format!("'{}'", a.name)
                }
            })
            .collect();
        let hint = super::suggest::best_match(word, fam.table().iter().map(|a| a.name))
            .map(|b| format!(" Did you mean '{b}' maybe ?"))
            .unwrap_or_default();
        ctx.sv.alert_tight(
            line,
            format!(
                "'{kw}' expects {}, but got '{word}'.{hint}",
                list.join(", ")
            ),
        );
        return Flow::Abort;
    };
    let pxdesc = format!("{} '{}'", ctx.px.kind.word(), ctx.px.name);
    let args = line.rest(2);
    let parsed = parse_http_action(ctx, fam, word, base, args);
    let (action, used) = match parsed {
        Ok(v) => v,
        Err(e) => {
            ctx.sv.alert(
                line,
                format!("error detected in {pxdesc} while parsing '{kw} {word}' rule : {e}."),
            );
            return Flow::Abort;
        }
    };
    let next = 2 + used;
    if !line.arg(next).is_empty() && !matches!(line.arg(next), "if" | "unless") {
        ctx.sv.alert_tight(
            line,
            format!(
                "'{kw} {word}' expects either 'if' or 'unless' followed by a condition but found '{}'.",
                line.arg(next)
            ),
        );
        return Flow::Abort;
    }
    let Ok(cond) = condition(ctx, line, next, &format!("an '{kw} {word}' condition")) else {
        return Flow::Abort;
    };
    // An enforced keyword can still parse to an action rproxy does not run
    // (`use-service lua.NAME`): that one is reported as parsed-only.
    let status = match (&action, act.status) {
        (HttpAction::NotEnforced { .. }, Status::Enforced) => Status::ParsedOnly,
        (_, s) => s,
    };
    let rule = HttpRule {
        action,
        cond,
        origin: line.origin.clone(),
    };
    match fam {
        HttpFamily::Request => {
            ctx.rule_order(line, RuleKind::HttpRequest);
            ctx.px.rules.http_request.push(rule);
        }
        HttpFamily::Response => ctx.px.rules.http_response.push(rule),
        HttpFamily::AfterResponse => ctx.px.rules.http_after_response.push(rule),
    }
    ctx.sv.apply_status(line, status, || format!("{kw} {base}"));
    Flow::Continue
}

/// Words up to the condition.
fn action_args(args: &[String]) -> &[String] {
    let end = args
        .iter()
        .position(|w| w == "if" || w == "unless")
        .unwrap_or(args.len());
    &args[..end]
}

fn fmt(s: &str) -> Result<LogFormat, String> {
    logformat::parse(s)
}

fn var_name(word: &str) -> Result<VarName, String> {
    let inner = word
        .split_once('(')
        .and_then(|(_, r)| r.strip_suffix(')'))
        .ok_or_else(|| format!("invalid variable name '{word}'"))?;
    let inner = inner.split(',').next().unwrap_or(inner);
    let (scope, name) = inner.split_once('.').unwrap_or(("", inner));
    let scope = match scope {
        "proc" => VarScope::Proc,
        "sess" => VarScope::Sess,
        "txn" => VarScope::Txn,
        "req" => VarScope::Req,
        "res" => VarScope::Res,
        "check" => VarScope::Check,
        _ => {
            return Err(format!(
                "invalid variable name '{inner}'. A variable name must be start by its scope. The scope can be 'proc', 'sess', 'txn', 'req', 'res' or 'check'"
            ));
        }
    };
    if name.is_empty() {
        return Err(format!("invalid variable name '{inner}'"));
    }
    Ok(VarName {
        scope,
        name: name.to_string(),
    })
}

/// The reply options of `return`, `deny` and `tarpit`.
fn parse_reply(
    args: &[String],
    default_status: u16,
    status_kw: &str,
) -> Result<(ReturnCfg, usize), String> {
    let mut r = ReturnCfg {
        status: default_status,
        content_type: None,
        body: ReturnBody::None,
        headers: Vec::new(),
    };
    let mut i = 0;
    let read = |f: &str| -> Result<Arc<Vec<u8>>, String> {
        std::fs::read(f)
            .map(Arc::new)
            .map_err(|_| format!("error opening file '{f}'"))
    };
    while i < args.len() {
        let w = args[i].as_str();
        let v = args.get(i + 1).map(String::as_str);
        let need = || v.ok_or_else(|| format!("'{w}' expects an argument"));
        match w {
            "if" | "unless" => break,
            s if s == status_kw || (status_kw == "deny_status" && s == "status") => {
                let c: u16 = need()?.parse().unwrap_or(0);
                if !(200..=599).contains(&c) {
                    return Err(format!("Unexpected status code '{}'", need()?));
                }
                r.status = c;
            }
            "content-type" => r.content_type = Some(need()?.to_string()),
            "default-errorfiles" => {
                r.body = ReturnBody::None;
                i -= 1;
            }
            "errorfile" => {
                let f = need()?;
                let data = read(f)?;
                r.body = ReturnBody::RawFile(f.into(), data);
            }
            "errorfiles" => r.body = ReturnBody::Errorfiles(need()?.to_string()),
            "file" => {
                let f = need()?;
                let data = read(f)?;
                r.body = ReturnBody::File(f.into(), data);
            }
            "lf-file" => {
                let f = need()?;
                let data = read(f)?;
                r.body = ReturnBody::LfFile(f.into(), fmt(&String::from_utf8_lossy(&data))?);
            }
            "string" => r.body = ReturnBody::String(need()?.to_string()),
            "lf-string" => r.body = ReturnBody::LfString(fmt(need()?)?),
            "hdr" => {
                let name = need()?.to_string();
                let value = args
                    .get(i + 2)
                    .ok_or_else(|| "'hdr' expects <name> and <value> as arguments".to_string())?;
                r.headers.push((name, fmt(value)?));
                i += 1;
            }
            _ => break,
        }
        i += 2;
    }
    let has_payload = match &r.body {
        ReturnBody::String(s) => !s.is_empty(),
        ReturnBody::File(_, d) => !d.is_empty(),
        ReturnBody::LfString(_) | ReturnBody::LfFile(..) => true,
        _ => false,
    };
    if has_payload && r.content_type.is_none() {
        return Err("a content type must be defined when non-empty payload is configured".into());
    }
    if let ReturnBody::RawFile(_, data) = &r.body {
        if r.content_type.is_some() {
            return Err("content-type cannot be used with an errorfile".into());
        }
        super::logs::check_raw_response(data).map_err(|e| format!("'errorfile' : {e}"))?;
    }
    Ok((r, i))
}

fn exactly(args: &[String], n: usize, what: &str) -> Result<(), String> {
    if args.len() != n || args.iter().take(n).any(String::is_empty) {
        return Err(format!(
            "expects exactly {n} argument{}{what}",
            if n == 1 { "" } else { "s" }
        ));
    }
    Ok(())
}

fn parse_http_action(
    ctx: &mut ProxyCtx,
    fam: HttpFamily,
    word: &str,
    base: &str,
    all: &[String],
) -> Result<(HttpAction, usize), String> {
    let args = action_args(all);
    let n = args.len();
    let action = match base {
        "allow" => (HttpAction::Allow, 0),
        "reject" => (HttpAction::Reject, 0),
        "deny" | "tarpit" => {
            let default = if fam == HttpFamily::Request {
                if base == "tarpit" { 500 } else { 403 }
            } else {
                502
            };
            let (r, used) = parse_reply(args, default, "deny_status")?;
            let act = if base == "deny" {
                HttpAction::Deny(r)
            } else {
                HttpAction::Tarpit(r)
            };
            (act, used)
        }
        "return" => {
            let (r, used) = parse_reply(args, 200, "status")?;
            (HttpAction::Return(r), used)
        }
        "auth" => {
            if args.first().map(String::as_str) == Some("realm") {
                let realm = args.get(1).ok_or("missing realm value.\n")?;
                (
                    HttpAction::Auth {
                        realm: Some(realm.clone()),
                    },
                    2,
                )
            } else {
                (HttpAction::Auth { realm: None }, 0)
            }
        }
        "redirect" => {
            let (r, used) = parse_redirect(all)?;
            (HttpAction::Redirect(r), used)
        }
        "set-header" | "add-header" => {
            exactly(&args[..n.min(2)], 2, "")?;
            let name = args[0].clone();
            let value = fmt(&args[1])?;
            let act = if base == "set-header" {
                HttpAction::SetHeader { name, value }
            } else {
                HttpAction::AddHeader { name, value }
            };
            (act, 2)
        }
        "del-header" => {
            let name = args
                .first()
                .filter(|s| !s.is_empty())
                .ok_or("expects at least 1 argument")?
                .clone();
            let mut used = 1;
            let mut method = None;
            if args.get(1).map(String::as_str) == Some("-m") {
                let m = args.get(2).map(String::as_str).unwrap_or("");
                method = Some(
                    MatchMethod::from_name(m)
                        .filter(|m| {
                            matches!(
                                m,
                                MatchMethod::Str
                                    | MatchMethod::Beg
                                    | MatchMethod::End
                                    | MatchMethod::Sub
                                    | MatchMethod::Reg
                            )
                        })
                        .ok_or_else(|| format!("-m with unsupported matching method '{m}'"))?,
                );
                used = 3;
            }
            (HttpAction::DelHeader { name, method }, used)
        }
        "replace-header" | "replace-value" => {
            exactly(&args[..n.min(3)], 3, "")?;
            acl::compile_regex(&args[1], false)
                .map_err(|e| format!("regex '{}' is invalid (error={e})", args[1]))?;
            let (name, regex, replace) = (args[0].clone(), args[1].clone(), fmt(&args[2])?);
            let act = if base == "replace-header" {
                HttpAction::ReplaceHeader {
                    name,
                    regex,
                    replace,
                }
            } else {
                HttpAction::ReplaceValue {
                    name,
                    regex,
                    replace,
                }
            };
            (act, 3)
        }
        "replace-path" | "replace-pathq" | "replace-uri" => {
            exactly(&args[..n.min(2)], 2, "")?;
            acl::compile_regex(&args[0], false)
                .map_err(|e| format!("regex '{}' is invalid (error={e})", args[0]))?;
            let (regex, replace) = (args[0].clone(), fmt(&args[1])?);
            let act = match base {
                "replace-path" => HttpAction::ReplacePath { regex, replace },
                "replace-pathq" => HttpAction::ReplacePathQ { regex, replace },
                _ => HttpAction::ReplaceUri { regex, replace },
            };
            (act, 2)
        }
        "set-path" | "set-pathq" | "set-uri" | "set-query" | "set-method" => {
            exactly(&args[..n.min(1)], 1, " <format>")?;
            let f = fmt(&args[0])?;
            let act = match base {
                "set-path" => HttpAction::SetPath(f),
                "set-pathq" => HttpAction::SetPathQ(f),
                "set-uri" => HttpAction::SetUri(f),
                "set-query" => HttpAction::SetQuery(f),
                _ => HttpAction::SetMethod(f),
            };
            (act, 1)
        }
        "set-status" => {
            let code: u16 = args
                .first()
                .and_then(|c| c.parse().ok())
                .filter(|c| (100..=999).contains(c))
                .ok_or("expects an HTTP status code between 100 and 999")?;
            if args.get(1).map(String::as_str) == Some("reason") {
                let reason = args.get(2).ok_or("expects a reason string")?.clone();
                (
                    HttpAction::SetStatus {
                        status: code,
                        reason: Some(reason),
                    },
                    3,
                )
            } else {
                (
                    HttpAction::SetStatus {
                        status: code,
                        reason: None,
                    },
                    1,
                )
            }
        }
        "set-var" => {
            let var = var_name(word)?;
            let e = args.first().ok_or("expects a sample expression")?;
            let expr = sample::parse_expr(e)?;
            (HttpAction::SetVar { var, expr }, 1)
        }
        "set-var-fmt" => {
            let var = var_name(word)?;
            let f = args.first().ok_or("expects a format string")?;
            (
                HttpAction::SetVarFmt {
                    var,
                    value: fmt(f)?,
                },
                1,
            )
        }
        "unset-var" => (HttpAction::UnsetVar(var_name(word)?), 0),
        "capture" => {
            let usage = "expects <expression> [ 'len' <length> | id <idx> ]";
            let e = args.first().ok_or(usage)?;
            let expr = sample::parse_expr(e)?;
            match (args.get(1).map(String::as_str), args.get(2)) {
                (Some("len"), Some(v)) if fam == HttpFamily::Request => {
                    let len = v.parse().map_err(|_| usage.to_string())?;
                    (
                        HttpAction::Capture {
                            expr,
                            len: Some(len),
                            id: None,
                        },
                        3,
                    )
                }
                (Some("id"), Some(v)) => {
                    let id = v.parse().map_err(|_| usage.to_string())?;
                    (
                        HttpAction::Capture {
                            expr,
                            len: None,
                            id: Some(id),
                        },
                        3,
                    )
                }
                _ => return Err(usage.into()),
            }
        }
        "set-log-level" => {
            let lvl = args.first().map(String::as_str).unwrap_or("");
            if lvl != "silent" && Level::from_name(lvl).is_none() {
                return Err("expects exactly 1 argument (log level name or 'silent')".into());
            }
            (HttpAction::SetLogLevel(lvl.to_string()), 1)
        }
        "set-timeout" => {
            let which = args.first().map(String::as_str).unwrap_or("");
            if !matches!(which, "server" | "tunnel" | "client") {
                return Err(
                    "'set-timeout' rule expects 'server'/'tunnel'/'client' as first argument"
                        .into(),
                );
            }
            if which != "client" && !ctx.px.kind.has_backend() {
                return Err(format!("proxy '{}' has no backend capability", ctx.px.name));
            }
            let v = args.get(1).ok_or("expects a timeout value")?;
            (
                HttpAction::SetTimeout {
                    which: which.to_string(),
                    value: fmt(v)?,
                },
                2,
            )
        }
        "use-service" => {
            let svc = args.first().map(String::as_str).unwrap_or("");
            if svc != "prometheus-exporter" && !svc.starts_with("lua.") {
                return Err(format!("'{svc}' unknown service name."));
            }
            if svc.starts_with("lua.") {
                // Services registered by Lua scripts: rproxy runs no Lua.
                (
                    HttpAction::NotEnforced {
                        name: format!("use-service {svc}"),
                        args: Vec::new(),
                    },
                    1,
                )
            } else {
                (HttpAction::UseService(svc.to_string()), 1)
            }
        }
        _ => {
            // Validate sample expressions in the usual positions so that a
            // typo is refused as HAProxy refuses it.
            if base.starts_with("track-sc")
                || matches!(
                    base,
                    "set-src" | "set-dst" | "set-src-port" | "set-dst-port" | "do-resolve"
                )
            {
                let e = args.first().ok_or("expects a sample expression")?;
                sample::parse_expr(e)?;
            }
            (
                HttpAction::NotEnforced {
                    name: word.to_string(),
                    args: args.to_vec(),
                },
                n,
            )
        }
    };
    Ok(action)
}

pub fn tcp_request(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    let pxdesc = format!("{} '{}'", ctx.px.kind.word(), ctx.px.name);
    let kind = line.arg(1);
    match kind {
        "inspect-delay" => {
            let v = line.arg(2);
            match values::parse_time(v, TimeUnit::Millis) {
                Ok(t) => ctx.px.rules.tcp_request_inspect_delay = Some(t.value),
                Err(values::TimeError::UnexpectedChar(c)) => ctx.sv.alert(
                    line,
                    format!("'tcp-request inspect-delay' expects a positive delay in milliseconds, in {pxdesc} (unexpected character '{c}')"),
                ),
                Err(_) => ctx.sv.alert(
                    line,
                    format!("'tcp-request inspect-delay' expects a positive delay in milliseconds, in {pxdesc}"),
                ),
            }
            Flow::Continue
        }
        "connection" | "session" | "content" => {
            let rank = match kind {
                "connection" => RuleKind::TcpRequestConnection,
                "session" => RuleKind::TcpRequestSession,
                _ => RuleKind::TcpRequestContent,
            };
            if let Some(rule) = tcp_rule(
                ctx,
                line,
                &format!("tcp-request {kind}"),
                TCP_REQUEST_ACTIONS,
                &pxdesc,
            ) {
                ctx.rule_order(line, rank);
                match kind {
                    "connection" => ctx.px.rules.tcp_request_connection.push(rule),
                    "session" => ctx.px.rules.tcp_request_session.push(rule),
                    _ => ctx.px.rules.tcp_request_content.push(rule),
                }
            }
            Flow::Continue
        }
        other => {
            ctx.sv.alert(
                line,
                format!("'tcp-request' expects 'inspect-delay', 'connection', or 'content' in {pxdesc} (got '{other}')"),
            );
            Flow::Continue
        }
    }
}

pub fn tcp_response(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    let pxdesc = format!("{} '{}'", ctx.px.kind.word(), ctx.px.name);
    match line.arg(1) {
        "inspect-delay" => {
            match values::parse_time(line.arg(2), TimeUnit::Millis) {
                Ok(t) => ctx.px.rules.tcp_response_inspect_delay = Some(t.value),
                Err(_) => ctx.sv.alert(
                    line,
                    format!("'tcp-response inspect-delay' expects a positive delay in milliseconds, in {pxdesc}"),
                ),
            }
        }
        "content" => {
            if let Some(rule) = tcp_rule(ctx, line, "tcp-response content", TCP_RESPONSE_ACTIONS, &pxdesc) {
                ctx.px.rules.tcp_response_content.push(rule);
            }
        }
        other => ctx.sv.alert(
            line,
            format!("'tcp-response' expects 'inspect-delay' or 'content' in {pxdesc} (got '{other}')"),
        ),
    }
    Flow::Continue
}

fn tcp_rule(
    ctx: &mut ProxyCtx,
    line: &Line,
    kw: &str,
    table: &'static [ActionKeyword],
    pxdesc: &str,
) -> Option<TcpRule> {
    let word = line.arg(2);
    let base = action_base(word);
    // Services are a `tcp-request content` action only.
    let allowed = || {
        table
            .iter()
            .filter(|a| a.name != "use-service" || kw == "tcp-request content")
    };
    let Some(act) = allowed().find(|a| a.name == base) else {
        let list: Vec<String> = allowed().map(|a| format!("'{}'", a.name)).collect();
        let hint = super::suggest::best_match(word, allowed().map(|a| a.name))
            .map(|b| format!(". Did you mean '{b}' maybe ?\n"))
            .unwrap_or_default();
        ctx.sv.alert(
            line,
            format!(
                "'{kw}' expects {} in {pxdesc} (got '{word}'){hint}",
                list.join(", ")
            ),
        );
        return None;
    };
    let args = action_args(line.rest(3));
    if base == "use-service"
        && let Some(e) = tcp_service_error(args)
    {
        ctx.sv.alert(line, e);
        return None;
    }
    let parsed: Result<(TcpAction, usize), String> = (|| {
        Ok(match base {
            "accept" => (TcpAction::Accept, 0),
            "reject" => (TcpAction::Reject, 0),
            "close" => (TcpAction::Close, 0),
            "silent-drop" => (TcpAction::SilentDrop, 0),
            "expect-proxy" => {
                if args.first().map(String::as_str) != Some("layer4") {
                    return Err("expects 'layer4'".to_string());
                }
                (TcpAction::ExpectProxy, 1)
            }
            "switch-mode" => {
                if args.first().map(String::as_str) != Some("http") {
                    return Err("expects a mode as first argument ('http')".to_string());
                }
                let used = if args.get(1).map(String::as_str) == Some("proto") {
                    3
                } else {
                    1
                };
                (TcpAction::SwitchModeHttp, used)
            }
            "set-var" => {
                let var = var_name(word)?;
                let e = args.first().ok_or("expects a sample expression")?;
                (
                    TcpAction::SetVar {
                        var,
                        expr: sample::parse_expr(e)?,
                    },
                    1,
                )
            }
            "unset-var" => (TcpAction::UnsetVar(var_name(word)?), 0),
            "capture" => {
                let e = args.first().ok_or("expects <expression> 'len' <length>")?;
                let expr = sample::parse_expr(e)?;
                let len = match (args.get(1).map(String::as_str), args.get(2)) {
                    (Some("len"), Some(v)) => {
                        v.parse().map_err(|_| "expects a length".to_string())?
                    }
                    _ => return Err("expects 'len' <length>".into()),
                };
                (TcpAction::Capture { expr, len }, 3)
            }
            "set-src" | "set-dst" | "set-src-port" | "set-dst-port" => {
                let e = args.first().ok_or("expects a sample expression")?;
                let expr = sample::parse_expr(e)?;
                let act = match base {
                    "set-src" => TcpAction::SetSrc(expr),
                    "set-dst" => TcpAction::SetDst(expr),
                    "set-src-port" => TcpAction::SetSrcPort(expr),
                    _ => TcpAction::SetDstPort(expr),
                };
                (act, 1)
            }
            // A Lua service (vetted by `tcp_service_error`): rproxy runs
            // no Lua.
            "use-service" => (
                TcpAction::NotEnforced {
                    name: format!("use-service {}", args.first().map_or("", String::as_str)),
                    args: Vec::new(),
                },
                1,
            ),
            _ => {
                if base.starts_with("track-sc") {
                    let e = args.first().ok_or("expects a sample expression")?;
                    sample::parse_expr(e)?;
                }
                (
                    TcpAction::NotEnforced {
                        name: word.to_string(),
                        args: args.to_vec(),
                    },
                    args.len(),
                )
            }
        })
    })();
    let (action, used) = match parsed {
        Ok(v) => v,
        Err(e) => {
            ctx.sv
                .alert(line, format!("'{kw} {word}' : {e} in {pxdesc}"));
            return None;
        }
    };
    let next = 3 + used;
    if !line.arg(next).is_empty() && !matches!(line.arg(next), "if" | "unless") {
        ctx.sv.alert(
            line,
            format!(
                "'{kw} {word}' only accepts 'if' or 'unless', in {pxdesc} (got '{}')",
                line.arg(next)
            ),
        );
        return None;
    }
    let cond = condition(ctx, line, next, &format!("'{kw} {word}' rule")).ok()?;
    ctx.sv
        .apply_status(line, act.status, || format!("{kw} {base}"));
    Some(TcpRule {
        action,
        cond,
        origin: line.origin.clone(),
    })
}

/// HAProxy's refusals of `tcp-request content use-service NAME`, with its
/// messages (`stream_parse_use_service`, which names the rule's second
/// word where it means the service): the Prometheus exporter is an HTTP
/// service (`http-request` only), and the other services are Lua ones.
fn tcp_service_error(args: &[String]) -> Option<String> {
    match args.first().map(String::as_str) {
        None | Some("") => Some("'tcp-request' expects a service name.".into()),
        Some("prometheus-exporter") => {
            Some("Prometheus exporter service only available on 'http-request' rulesets".into())
        }
        Some(s) if s.starts_with("lua.") => None,
        Some(_) => Some("'content' unknown service name.".into()),
    }
}

/// `block [if|unless] COND`: the 1.x form of `http-request deny`.
pub fn legacy_block(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    if !matches!(line.arg(1), "if" | "unless") {
        ctx.sv.alert(
            line,
            "'block' requires either 'if' or 'unless' followed by a condition.",
        );
        return Flow::Continue;
    }
    let Ok(cond) = condition(ctx, line, 1, "a 'block' condition") else {
        return Flow::Continue;
    };
    ctx.rule_order(line, RuleKind::HttpRequest);
    ctx.px.rules.http_request.push(HttpRule {
        action: HttpAction::Deny(ReturnCfg {
            status: 403,
            content_type: None,
            body: ReturnBody::None,
            headers: Vec::new(),
        }),
        cond,
        origin: line.origin.clone(),
    });
    Flow::Continue
}

/// `reqadd`, `reqrep`, `reqdel`, `reqdeny`, … and their `rsp` and
/// case-insensitive `i` variants.
pub fn legacy_req(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    let kw = line.arg(0);
    let response = kw.starts_with("rsp");
    let op = &kw[3..];
    // No base operation starts with 'i': a leading 'i' means "ignore case".
    let (ignore_case, op) = match op.strip_prefix('i') {
        Some(rest) => (true, rest),
        None => (false, op),
    };
    let (action, used) = match op {
        "add" => {
            let h = line.arg(1);
            let Some((name, value)) = h.split_once(':') else {
                ctx.sv
                    .alert(line, format!("'{kw}' expects <header> as an argument."));
                return Flow::Continue;
            };
            let value = match fmt(value.trim_start()) {
                Ok(v) => v,
                Err(e) => {
                    ctx.sv.alert(line, format!("'{kw}' : {e}"));
                    return Flow::Continue;
                }
            };
            (
                HttpAction::AddHeader {
                    name: name.to_string(),
                    value,
                },
                1,
            )
        }
        "rep" => {
            let (search, replace) = (line.arg(1), line.arg(2));
            if search.is_empty() || replace.is_empty() {
                ctx.sv.alert(
                    line,
                    format!("'{kw}' expects <search> and <replace> as arguments."),
                );
                return Flow::Continue;
            }
            if let Err(e) = acl::compile_regex(search, ignore_case) {
                ctx.sv
                    .alert(line, format!("'{kw}' : regex '{search}' is invalid ({e})."));
                return Flow::Continue;
            }
            (
                HttpAction::LegacyLine {
                    regex: search.to_string(),
                    ignore_case,
                    action: LegacyLineAction::Replace(replace.to_string()),
                },
                2,
            )
        }
        "del" | "deny" | "allow" | "pass" | "tarpit" => {
            let search = line.arg(1);
            if search.is_empty() {
                ctx.sv
                    .alert(line, format!("'{kw}' expects <regex> as an argument."));
                return Flow::Continue;
            }
            if let Err(e) = acl::compile_regex(search, ignore_case) {
                ctx.sv
                    .alert(line, format!("'{kw}' : regex '{search}' is invalid ({e})."));
                return Flow::Continue;
            }
            let action = match op {
                "del" => LegacyLineAction::Delete,
                "deny" => LegacyLineAction::Deny,
                "allow" => LegacyLineAction::Allow,
                "tarpit" => LegacyLineAction::Tarpit,
                _ => LegacyLineAction::Pass,
            };
            (
                HttpAction::LegacyLine {
                    regex: search.to_string(),
                    ignore_case,
                    action,
                },
                1,
            )
        }
        _ => {
            ctx.sv.alert(line, format!("unknown keyword '{kw}'."));
            return Flow::Continue;
        }
    };
    let next = 1 + used;
    if !line.arg(next).is_empty() && !matches!(line.arg(next), "if" | "unless") {
        ctx.sv.alert(
            line,
            format!(
                "'{kw}' : expects 'if' or 'unless' (got '{}').",
                line.arg(next)
            ),
        );
        return Flow::Continue;
    }
    let Ok(cond) = condition(ctx, line, next, &format!("a '{kw}' condition")) else {
        return Flow::Continue;
    };
    let rule = HttpRule {
        action,
        cond,
        origin: line.origin.clone(),
    };
    if response {
        ctx.px.rules.http_response.push(rule);
    } else {
        ctx.rule_order(line, RuleKind::HttpRequest);
        ctx.px.rules.http_request.push(rule);
    }
    Flow::Continue
}
