//! ACLs, conditions and the rule lists of a proxy (`http-request`,
//! `http-response`, `tcp-request`, `redirect`, `use_backend` …).

use super::log::LogFormat;
use crate::diag::Origin;
use std::path::PathBuf;
use std::sync::Arc;

/// `fetch(args),conv(args),…`
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SampleExpr {
    pub fetch: String,
    pub args: Vec<String>,
    pub converters: Vec<Converter>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Converter {
    pub name: String,
    pub args: Vec<String>,
}

/// How an ACL compares the sample with its patterns (`-m`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatchMethod {
    Found,
    Bool,
    Int,
    Ip,
    Bin,
    Len,
    Str,
    Sub,
    Reg,
    Beg,
    End,
    Dir,
    Dom,
}

impl MatchMethod {
    pub fn from_name(s: &str) -> Option<Self> {
        Some(match s {
            "found" => MatchMethod::Found,
            "bool" => MatchMethod::Bool,
            "int" => MatchMethod::Int,
            "ip" => MatchMethod::Ip,
            "bin" => MatchMethod::Bin,
            "len" => MatchMethod::Len,
            "str" => MatchMethod::Str,
            "sub" => MatchMethod::Sub,
            "reg" => MatchMethod::Reg,
            "beg" => MatchMethod::Beg,
            "end" => MatchMethod::End,
            "dir" => MatchMethod::Dir,
            "dom" => MatchMethod::Dom,
            _ => return None,
        })
    }
}

/// One `acl NAME …` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AclTerm {
    pub expr: SampleExpr,
    pub method: MatchMethod,
    pub ignore_case: bool,
    /// `-n`: no DNS resolution of IP patterns.
    pub no_dns: bool,
    /// `-u`: unique id (parsed, no effect).
    pub unique_id: Option<String>,
    pub patterns: Vec<String>,
    /// `-f FILE`: patterns read from these files (already loaded into
    /// `patterns` at parse time, kept for messages).
    pub files: Vec<PathBuf>,
    /// `-M`: files are maps (key value).
    pub map_files: bool,
    pub origin: Origin,
}

/// All the lines of one named ACL (ORed), or an anonymous `{ … }` one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Acl {
    pub name: String,
    pub terms: Vec<AclTerm>,
}

/// What a condition term points at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AclRef {
    /// A proxy ACL, bound when its section ends (HAProxy shares the ACL,
    /// so lines added after the rule still count).
    Named(String),
    Resolved(Arc<Acl>),
    /// Built into HAProxy (`TRUE`, `HTTP`, `METH_GET`, …).
    Predefined(&'static str),
    Anonymous(Arc<Acl>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CondTerm {
    pub negate: bool,
    pub acl: AclRef,
}

/// `if|unless` followed by terms: OR of ANDs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Condition {
    pub unless: bool,
    pub alternatives: Vec<Vec<CondTerm>>,
    pub origin: Origin,
}

impl Condition {
    pub fn terms_mut(&mut self) -> impl Iterator<Item = &mut CondTerm> {
        self.alternatives.iter_mut().flatten()
    }
}

/// `use_backend NAME [if|unless COND]`; NAME may be a log-format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UseBackend {
    pub target: BackendTarget,
    pub cond: Option<Condition>,
    pub origin: Origin,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BackendTarget {
    Name(String),
    Dynamic(LogFormat),
}

/// `use-server NAME [if|unless COND]`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UseServer {
    pub server: String,
    pub cond: Option<Condition>,
    pub origin: Origin,
}

/// `force-persist` / `ignore-persist`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersistRule {
    pub force: bool,
    pub cond: Condition,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RedirectKind {
    Location,
    Prefix,
    Scheme,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Redirect {
    pub kind: RedirectKind,
    pub target: LogFormat,
    /// 301, 302 (default), 303, 307 or 308.
    pub code: u16,
    pub drop_query: bool,
    pub append_slash: bool,
    pub set_cookie: Option<String>,
    pub clear_cookie: Option<String>,
}

/// Body of an `http-request return` / `deny` / `errorfile`-like answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReturnBody {
    None,
    /// `errorfile FILE`: a complete raw HTTP response.
    RawFile(PathBuf, Arc<Vec<u8>>),
    /// `file FILE`: the body only.
    File(PathBuf, Arc<Vec<u8>>),
    LfFile(PathBuf, LogFormat),
    String(String),
    LfString(LogFormat),
    /// `errorfiles NAME` / default error page of the status.
    Errorfiles(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReturnCfg {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: ReturnBody,
    pub headers: Vec<(String, LogFormat)>,
}

/// Variable scope of `set-var(scope.name)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VarScope {
    Proc,
    Sess,
    Txn,
    Req,
    Res,
    Check,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VarName {
    pub scope: VarScope,
    pub name: String,
}

/// Actions of `http-request`, `http-response` and `http-after-response`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HttpAction {
    Allow,
    /// `deny [deny_status N]` (403; 502 in `http-response`)
    Deny(ReturnCfg),
    Reject,
    Tarpit(ReturnCfg),
    Auth {
        realm: Option<String>,
    },
    Redirect(Redirect),
    Return(ReturnCfg),
    SetHeader {
        name: String,
        value: LogFormat,
    },
    AddHeader {
        name: String,
        value: LogFormat,
    },
    DelHeader {
        name: String,
        method: Option<MatchMethod>,
    },
    ReplaceHeader {
        name: String,
        regex: String,
        replace: LogFormat,
    },
    ReplaceValue {
        name: String,
        regex: String,
        replace: LogFormat,
    },
    SetPath(LogFormat),
    SetPathQ(LogFormat),
    SetUri(LogFormat),
    SetQuery(LogFormat),
    SetMethod(LogFormat),
    ReplacePath {
        regex: String,
        replace: LogFormat,
    },
    ReplacePathQ {
        regex: String,
        replace: LogFormat,
    },
    ReplaceUri {
        regex: String,
        replace: LogFormat,
    },
    SetStatus {
        status: u16,
        reason: Option<String>,
    },
    SetVar {
        var: VarName,
        expr: SampleExpr,
    },
    SetVarFmt {
        var: VarName,
        value: LogFormat,
    },
    UnsetVar(VarName),
    Capture {
        expr: SampleExpr,
        len: Option<u32>,
        id: Option<u32>,
    },
    SetLogLevel(String),
    SetTimeout {
        which: String,
        value: LogFormat,
    },
    UseService(String),
    /// 1.x `reqrep`/`reqdel`/`reqdeny`/… (and `rsp*`): a regex applied to
    /// the start line and to each header line as `Name: value` text.
    LegacyLine {
        regex: String,
        ignore_case: bool,
        action: LegacyLineAction,
    },
    /// Parsed and validated, with no effect in rproxy yet (`track-sc0`,
    /// `set-map`, `do-resolve`, …); reported at load time.
    NotEnforced {
        name: String,
        args: Vec<String>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LegacyLineAction {
    Replace(String),
    Delete,
    Deny,
    Allow,
    Tarpit,
    Pass,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpRule {
    pub action: HttpAction,
    pub cond: Option<Condition>,
    pub origin: Origin,
}

/// Actions of `tcp-request connection|session|content` and
/// `tcp-response content`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TcpAction {
    Accept,
    Reject,
    Close,
    /// `tcp-request content switch-mode http`
    SwitchModeHttp,
    ExpectProxy,
    SetVar {
        var: VarName,
        expr: SampleExpr,
    },
    UnsetVar(VarName),
    Capture {
        expr: SampleExpr,
        len: u32,
    },
    SetDst(SampleExpr),
    SetDstPort(SampleExpr),
    SetSrc(SampleExpr),
    SetSrcPort(SampleExpr),
    SilentDrop,
    NotEnforced {
        name: String,
        args: Vec<String>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TcpRule {
    pub action: TcpAction,
    pub cond: Option<Condition>,
    pub origin: Origin,
}

/// The rule lists a proxy evaluates, each in HAProxy's fixed order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rules {
    pub acls: Vec<Arc<Acl>>,
    pub tcp_request_connection: Vec<TcpRule>,
    pub tcp_request_session: Vec<TcpRule>,
    pub tcp_request_content: Vec<TcpRule>,
    pub tcp_request_inspect_delay: Option<std::time::Duration>,
    pub tcp_response_content: Vec<TcpRule>,
    pub tcp_response_inspect_delay: Option<std::time::Duration>,
    pub http_request: Vec<HttpRule>,
    pub http_response: Vec<HttpRule>,
    pub http_after_response: Vec<HttpRule>,
    pub redirects: Vec<HttpRule>,
    pub use_backends: Vec<UseBackend>,
    pub use_servers: Vec<UseServer>,
    pub persist_rules: Vec<PersistRule>,
    pub monitor_fail: Option<Condition>,
}

/// Lists every condition held by a `Rules`, shared (`iter`, `as_ref`, `&`)
/// or mutable (`iter_mut`, `as_mut`, `&mut`).
macro_rules! rule_conditions {
    ($r:expr, $iter:ident, $opt:ident, $cond:ty, $($borrow:tt)+) => {{
        let r = $r;
        let mut out: Vec<$cond> = Vec::new();
        out.extend(r.tcp_request_connection.$iter().filter_map(|x| x.cond.$opt()));
        out.extend(r.tcp_request_session.$iter().filter_map(|x| x.cond.$opt()));
        out.extend(r.tcp_request_content.$iter().filter_map(|x| x.cond.$opt()));
        out.extend(r.tcp_response_content.$iter().filter_map(|x| x.cond.$opt()));
        out.extend(r.http_request.$iter().filter_map(|x| x.cond.$opt()));
        out.extend(r.http_response.$iter().filter_map(|x| x.cond.$opt()));
        out.extend(r.http_after_response.$iter().filter_map(|x| x.cond.$opt()));
        out.extend(r.redirects.$iter().filter_map(|x| x.cond.$opt()));
        out.extend(r.use_backends.$iter().filter_map(|x| x.cond.$opt()));
        out.extend(r.use_servers.$iter().filter_map(|x| x.cond.$opt()));
        out.extend(r.persist_rules.$iter().map(|x| $($borrow)+ x.cond));
        out.extend(r.monitor_fail.$opt());
        out
    }};
}

impl Rules {
    /// Every condition held by these rules, so that named ACL references can
    /// be bound in one pass when the section ends.
    pub fn conditions_mut(&mut self) -> Vec<&mut Condition> {
        rule_conditions!(self, iter_mut, as_mut, &mut Condition, &mut)
    }

    pub fn conditions(&self) -> Vec<&Condition> {
        rule_conditions!(self, iter, as_ref, &Condition, &)
    }
}
