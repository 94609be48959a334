//! Sections and dispatch: the reader hands every effective line to
//! `Parser::line`, which opens sections, routes keywords through the
//! registry (with HAProxy's placement rules), and folds each finished
//! section into the model.

use super::address::{self, Use};
use super::keywords::{self, Flow, Place, ProxyKeyword, Sections, Status};
use super::line::{Line, Modifier};
use super::model::*;
use crate::diag::{Diagnostic, Diagnostics, Style};
use std::collections::BTreeMap;
use std::sync::Arc;

/// What the loader was asked for and what it can tell conditions about.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// The environment at start-up; `setenv` lines change a copy of it.
    pub env: BTreeMap<String, String>,
    /// `-dD`: print `.diag` messages.
    pub diag_mode: bool,
    /// The HAProxy version rproxy behaves as, for `version_atleast()`.
    pub version: String,
    /// What `feature()` answers true for.
    pub features: Vec<&'static str>,
    /// Check the machine (users, certificates, host names) as `haproxy -c`
    /// does; off, nothing is resolved and no user database is read.
    pub check_system: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            env: std::env::vars().collect(),
            diag_mode: false,
            version: crate::HAPROXY_VERSION.to_string(),
            features: crate::FEATURES.to_vec(),
            check_system: true,
        }
    }
}

/// Services every keyword parser may use, apart from the section it fills.
pub struct Services {
    pub diags: Diagnostics,
    /// Problems HAProxy only reports in its post-parse checks (shown only
    /// when parsing itself found no error, as HAProxy does).
    pub deferred: Diagnostics,
    pub env: BTreeMap<String, String>,
    pub opts: LoadOptions,
    pub not_enforced: Vec<NotEnforced>,
    /// Userlist names declared so far (for `http_auth()` checks).
    pub userlists: Vec<String>,
}

impl Services {
    pub fn alert(&mut self, line: &Line, msg: impl Into<String>) {
        self.diags
            .push(Diagnostic::alert(Some(line.origin.clone()), msg));
    }

    pub fn alert_tight(&mut self, line: &Line, msg: impl Into<String>) {
        self.diags
            .push(Diagnostic::alert(Some(line.origin.clone()), msg).style(Style::ParsingTight));
    }

    pub fn alert_located(&mut self, line: &Line, msg: impl Into<String>) {
        self.diags
            .push(Diagnostic::alert(Some(line.origin.clone()), msg).style(Style::Located));
    }

    pub fn warn(&mut self, line: &Line, msg: impl Into<String>) {
        self.diags
            .push(Diagnostic::warning(Some(line.origin.clone()), msg));
    }

    /// A warning HAProxy prints without a location (time values).
    pub fn warn_bare(&mut self, msg: impl Into<String>) {
        self.diags.push(Diagnostic::warning(None, msg));
    }

    /// A warning only rproxy prints (a value read differently, a legacy
    /// keyword accepted).
    pub fn note(&mut self, line: &Line, msg: impl Into<String>) {
        self.diags
            .push(Diagnostic::warning(Some(line.origin.clone()), msg).rproxy_only());
    }

    pub fn env_var(&self, name: &str) -> Option<String> {
        self.env.get(name).cloned()
    }

    /// Records and reports a directive with no run-time effect in rproxy.
    pub fn not_enforced(&mut self, line: &Line, what: &str, status: Status) {
        let security = status == Status::Security;
        let msg = if security {
            format!(
                "'{what}' is not supported by rproxy yet; running without it would be unsafe, so rproxy refuses to start with this configuration."
            )
        } else {
            format!("'{what}' is accepted but not enforced by rproxy yet; it has no effect.")
        };
        self.note(line, msg);
        self.not_enforced.push(NotEnforced {
            keyword: what.to_string(),
            origin: line.origin.clone(),
            security,
        });
    }

    /// Reports a legacy (removed) keyword that rproxy maps to `modern`.
    pub fn legacy(&mut self, line: &Line, old: &str, modern: &str) {
        self.note(
            line,
            format!(
                "'{old}' was removed in HAProxy 2.x; rproxy accepts it as '{modern}'. Run 'rproxy -c --modernize' to rewrite the configuration."
            ),
        );
    }

    /// Applies a registry status after a successful parse; `what` names
    /// the directive, built only when there is something to report.
    pub fn apply_status(&mut self, line: &Line, status: Status, what: impl FnOnce() -> String) {
        match status {
            Status::Enforced | Status::Legacy(_) => {}
            Status::ParsedOnly | Status::Security => self.not_enforced(line, &what(), status),
        }
    }

    /// Parses an address for keywords other than `server`, applying
    /// HAProxy's legacy environment expansion of addresses first.
    pub fn address(&self, text: &str, use_: Use) -> Result<address::Endpoint, String> {
        let env = |n: &str| self.env.get(n).cloned();
        let expanded = super::lexer::expand_address_env(text, &env);
        // Host names are resolved now, as HAProxy does, unless the caller
        // asked not to touch the machine (fuzzing, tooling).
        address::parse(
            &expanded,
            use_,
            use_ != Use::Server && self.opts.check_system,
        )
    }
}

/// Per-section bookkeeping that is not part of the model.
#[derive(Default)]
pub struct ProxyState {
    /// Anonymous `defaults` refuse rules and ACLs.
    pub anonymous_defaults: bool,
    /// Highest rule rank seen so far, for "placed after" warnings.
    pub rules_seen: Vec<RuleKind>,
    /// `default-server` values as set so far in this section.
    pub default_server: Option<ServerOpts>,
    /// The log style this section set itself (for "overrides" warnings).
    pub log_style_here: Option<String>,
}

/// Rule kinds in HAProxy's fixed processing order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum RuleKind {
    TcpRequestConnection,
    TcpRequestSession,
    TcpRequestContent,
    HttpRequest,
    Redirect,
    UseBackend,
    UseServer,
}

impl RuleKind {
    /// How HAProxy names the newly added rule in the warning.
    fn new_name(self) -> &'static str {
        match self {
            RuleKind::TcpRequestConnection
            | RuleKind::TcpRequestSession
            | RuleKind::TcpRequestContent => "a 'tcp-request'",
            RuleKind::HttpRequest => "a 'http-request'",
            RuleKind::Redirect => "a 'redirect'",
            RuleKind::UseBackend => "a 'use_backend'",
            RuleKind::UseServer => "a 'use-server'",
        }
    }

    /// How HAProxy names the earlier-placed rule.
    fn old_name(self) -> &'static str {
        match self {
            RuleKind::TcpRequestConnection => "a 'tcp-request connection'",
            RuleKind::TcpRequestSession => "a 'tcp-request session'",
            RuleKind::TcpRequestContent => "a 'tcp-request content'",
            RuleKind::HttpRequest => "an 'http-request'",
            RuleKind::Redirect => "a 'redirect'",
            RuleKind::UseBackend => "a 'use_backend'",
            RuleKind::UseServer => "a 'use-server'",
        }
    }
}

/// What a proxy keyword parser works on.
pub struct ProxyCtx<'a> {
    pub px: &'a mut Proxy,
    pub st: &'a mut ProxyState,
    pub sv: &'a mut Services,
    pub global: &'a Global,
}

impl ProxyCtx<'_> {
    /// Notes a rule of `kind` and warns when a later-processed kind was
    /// already declared, as HAProxy does.
    pub fn rule_order(&mut self, line: &Line, kind: RuleKind) {
        if let Some(later) = self.st.rules_seen.iter().filter(|k| **k > kind).min() {
            let msg = format!(
                "{} rule placed after {} rule will still be processed before.",
                kind.new_name(),
                later.old_name()
            );
            self.sv.warn(line, msg);
        }
        if !self.st.rules_seen.contains(&kind) {
            self.st.rules_seen.push(kind);
        }
    }

    pub fn is_defaults(&self) -> bool {
        self.px.kind == ProxyKind::Defaults
    }
}

pub struct GlobalCtx<'a> {
    pub g: &'a mut Global,
    pub sv: &'a mut Services,
}

enum Current {
    None,
    Global,
    Proxy(Box<Proxy>, Box<ProxyState>),
    /// A proxy section whose header failed: HAProxy rejects its lines.
    BrokenProxy,
    Userlist(Userlist),
    Peers(Peers),
    Resolvers(Resolvers),
    Mailers(Mailers),
    HttpErrors(HttpErrors),
    Other(NamedSection),
}

/// Section keywords of HAProxy 2.6.
pub const SECTION_KEYWORDS: &[&str] = &[
    "global",
    "defaults",
    "frontend",
    "backend",
    "listen",
    "peers",
    "resolvers",
    "userlist",
    "mailers",
    "http-errors",
    "ring",
    "log-forward",
    "program",
    "cache",
    "fcgi-app",
];

pub struct Parser {
    pub sv: Services,
    pub global: Global,
    current: Current,
    defaults: Vec<Proxy>,
    proxies: Vec<Proxy>,
    userlists: Vec<Userlist>,
    peers: Vec<Peers>,
    resolvers: Vec<Resolvers>,
    mailers: Vec<Mailers>,
    http_errors: Vec<HttpErrors>,
    others: Vec<NamedSection>,
    /// `${.SECTION}`: the section's name, or its type when unnamed.
    pub section_label: String,
    /// Set by `.alert` and by errors after which HAProxy stops reading.
    pub aborted: bool,
    /// For each `defaults` section (by index): whether a frontend-only or a
    /// backend-only proxy inherited from it.
    defaults_users: Vec<(bool, bool)>,
    /// Proxy name → indexes in `proxies`, for duplicate checks.
    proxy_index: std::collections::HashMap<String, Vec<usize>>,
}

impl Parser {
    pub fn new(opts: LoadOptions) -> Parser {
        Parser {
            sv: Services {
                diags: Diagnostics::new(),
                deferred: Diagnostics::new(),
                env: opts.env.clone(),
                opts,
                not_enforced: Vec::new(),
                userlists: Vec::new(),
            },
            global: Global::default(),
            current: Current::None,
            defaults: Vec::new(),
            proxies: Vec::new(),
            userlists: Vec::new(),
            peers: Vec::new(),
            resolvers: Vec::new(),
            mailers: Vec::new(),
            http_errors: Vec::new(),
            others: Vec::new(),
            section_label: String::new(),
            aborted: false,
            defaults_users: Vec::new(),
            proxy_index: std::collections::HashMap::new(),
        }
    }

    /// Each file starts outside any section.
    pub fn end_file(&mut self) {
        self.close_section();
        self.current = Current::None;
        self.section_label.clear();
    }

    /// Handles one effective (non-directive, non-skipped) line.
    pub fn line(&mut self, line: &Line) -> Flow {
        let kw = line.arg(0);
        if SECTION_KEYWORDS.contains(&kw) {
            if line.modifier != Modifier::Std {
                return Flow::Continue;
            }
            self.close_section();
            return self.open_section(line);
        }
        match &mut self.current {
            Current::None => {
                self.sv
                    .alert_tight(line, format!("unknown keyword '{kw}' out of section."));
                Flow::Continue
            }
            Current::BrokenProxy => {
                self.sv.alert(line, "'listen' or 'defaults' expected.");
                Flow::Continue
            }
            Current::Global => {
                let mut ctx = GlobalCtx {
                    g: &mut self.global,
                    sv: &mut self.sv,
                };
                keywords::global::dispatch(&mut ctx, line)
            }
            Current::Proxy(px, st) => {
                let mut ctx = ProxyCtx {
                    px,
                    st,
                    sv: &mut self.sv,
                    global: &self.global,
                };
                dispatch_proxy(&mut ctx, line)
            }
            Current::Userlist(u) => keywords::sections::userlist(u, &mut self.sv, line),
            Current::Peers(p) => keywords::sections::peers(p, &mut self.sv, line),
            Current::Resolvers(r) => keywords::sections::resolvers(r, &mut self.sv, line),
            Current::Mailers(m) => keywords::sections::mailers(m, &mut self.sv, line),
            Current::HttpErrors(h) => keywords::sections::http_errors(h, &mut self.sv, line),
            Current::Other(s) => keywords::sections::other(s, &mut self.sv, line),
        }
    }

    fn open_section(&mut self, line: &Line) -> Flow {
        let kw = line.arg(0);
        let origin = line.origin.clone();
        self.section_label = if line.arg(1).is_empty() || line.arg(1) == "from" {
            kw.to_string()
        } else {
            line.arg(1).to_string()
        };
        match kw {
            "global" => {
                if self.global.origin.is_none() {
                    self.global.origin = Some(origin);
                }
                self.current = Current::Global;
                Flow::Continue
            }
            "defaults" | "frontend" | "backend" | "listen" => self.open_proxy(line),
            "userlist" => {
                let name = line.arg(1);
                if name.is_empty() {
                    self.sv
                        .alert_tight(line, "'userlist' expects <name> as arguments.");
                }
                self.sv.userlists.push(name.to_string());
                self.current = Current::Userlist(Userlist {
                    name: name.to_string(),
                    groups: Vec::new(),
                    users: Vec::new(),
                    origin,
                });
                Flow::Continue
            }
            "peers" => {
                if line.arg(1).is_empty() {
                    self.sv.alert(line, "missing name for peers section.");
                    return Flow::Abort;
                }
                self.current = Current::Peers(Peers {
                    name: line.arg(1).to_string(),
                    peers: Vec::new(),
                    origin,
                });
                Flow::Continue
            }
            "resolvers" => {
                if line.arg(1).is_empty() {
                    self.sv.alert(line, "missing name for resolvers section.");
                    return Flow::Abort;
                }
                self.current = Current::Resolvers(Resolvers {
                    name: line.arg(1).to_string(),
                    nameservers: Vec::new(),
                    parse_resolv_conf: false,
                    hold: Vec::new(),
                    origin,
                });
                Flow::Continue
            }
            "mailers" => {
                if line.arg(1).is_empty() {
                    self.sv.alert(line, "missing name for mailers section.");
                    return Flow::Abort;
                }
                self.current = Current::Mailers(Mailers {
                    name: line.arg(1).to_string(),
                    mailers: Vec::new(),
                    timeout_mail: None,
                    origin,
                });
                Flow::Continue
            }
            "http-errors" => {
                if line.arg(1).is_empty() {
                    self.sv.alert(line, "http-errors section requires a name.");
                    return Flow::Abort;
                }
                self.current = Current::HttpErrors(HttpErrors {
                    name: line.arg(1).to_string(),
                    pages: Vec::new(),
                    origin,
                });
                Flow::Continue
            }
            other => {
                let kind: &'static str = SECTION_KEYWORDS
                    .iter()
                    .find(|k| **k == other)
                    .copied()
                    .unwrap_or("section");
                if line.arg(1).is_empty() && kind != "program" {
                    self.sv
                        .alert(line, format!("missing name for {kind} section."));
                }
                self.current = Current::Other(NamedSection {
                    kind,
                    name: line.arg(1).to_string(),
                    lines: Vec::new(),
                    origin: origin.clone(),
                });
                self.sv
                    .not_enforced(line, &format!("{kind} section"), Status::ParsedOnly);
                Flow::Continue
            }
        }
    }

    fn open_proxy(&mut self, line: &Line) -> Flow {
        let kw = line.arg(0);
        let kind = match kw {
            "frontend" => ProxyKind::Frontend,
            "backend" => ProxyKind::Backend,
            "listen" => ProxyKind::Listen,
            _ => ProxyKind::Defaults,
        };
        let name = line.arg(1);
        let mut from: Option<&str> = None;
        let mut legacy_addr: Option<&str> = None;
        let mut next = 2;
        if kind == ProxyKind::Defaults && (name == "from") {
            // `defaults from X`: anonymous section inheriting from X.
            next = 1;
        } else if name.is_empty() {
            if kind != ProxyKind::Defaults {
                self.sv
                    .alert(line, format!("'{kw}' expects an <id> argument"));
                return Flow::Abort;
            }
        } else if kind != ProxyKind::Defaults
            && let Some(c) = invalid_char(name)
        {
            self.sv.alert(
                line,
                format!("character '{c}' is not permitted in '{kw}' name '{name}'."),
            );
        }
        if line.arg(next) == "from" {
            if line.arg(next + 1).is_empty() {
                if kind.has_frontend() && kind != ProxyKind::Defaults {
                    self.sv.alert(
                        line,
                        "please use the 'bind' keyword for listening addresses.",
                    );
                }
                self.current = Current::BrokenProxy;
                return Flow::Continue;
            }
            from = Some(line.arg(next + 1));
        } else if !line.arg(next).is_empty() && kind != ProxyKind::Defaults {
            if kind == ProxyKind::Backend {
                self.current = Current::BrokenProxy;
                return Flow::Continue;
            }
            // HAProxy 1.x allowed `listen NAME ADDR:PORT`; rproxy keeps it.
            legacy_addr = Some(line.arg(next));
        }

        let base_idx: Option<usize> = match from {
            Some(dname) => {
                let found: Vec<usize> = self
                    .defaults
                    .iter()
                    .enumerate()
                    .filter(|(_, d)| d.name == dname)
                    .map(|(i, _)| i)
                    .collect();
                match found.as_slice() {
                    [] => {
                        self.sv.alert(
                            line,
                            format!(
                                "defaults section '{dname}' not found for {} '{name}'.",
                                kind.section()
                            ),
                        );
                        return Flow::Abort;
                    }
                    [one] => Some(*one),
                    [a, b, ..] => {
                        self.sv.alert(
                            line,
                            format!(
                                "ambiguous defaults section name '{dname}' referenced by {} '{name}' exists at least at {} and {}.",
                                kind.section(),
                                self.defaults[*a].origin,
                                self.defaults[*b].origin
                            ),
                        );
                        return Flow::Abort;
                    }
                }
            }
            // A defaults section starts again from the built-in values; a
            // proxy takes the last defaults section declared before it.
            None if kind == ProxyKind::Defaults => None,
            None => self.defaults.len().checked_sub(1),
        };
        if let Some(i) = base_idx
            && kind != ProxyKind::Defaults
            && has_rules(&self.defaults[i].rules)
        {
            let (fe, be) = self.defaults_users[i];
            let conflict = (kind.has_frontend() && be) || (kind.has_backend() && fe);
            if conflict {
                self.sv.alert_tight(
                        line,
                        format!(
                            "frontends and backends cannot inherit from the same defaults section if it defines TCP/HTTP rules (defaults section at {}).",
                            self.defaults[i].origin
                        ),
                    );
                return Flow::Abort;
            }
            let u = &mut self.defaults_users[i];
            u.0 |= kind.has_frontend();
            u.1 |= kind.has_backend();
        }
        let base: Option<Proxy> = base_idx.map(|i| self.defaults[i].clone());

        if kind != ProxyKind::Defaults
            && let Some(prev) = self.proxies.iter().find(|p| {
                p.name == name
                    && !(kind == ProxyKind::Frontend && p.kind == ProxyKind::Backend
                        || kind == ProxyKind::Backend && p.kind == ProxyKind::Frontend)
            })
        {
            let msg = format!(
                "{} '{name}' has the same name as {} '{name}' declared at {}.",
                kind.section(),
                prev.kind.word(),
                prev.origin
            );
            self.sv.diags.push(Diagnostic::alert(
                None,
                format!("Parsing [{}]: {msg}", line.origin),
            ));
        }

        let display_name = if kind == ProxyKind::Defaults && (name.is_empty() || name == "from") {
            ""
        } else {
            name
        };
        let mut px = match &base {
            Some(d) => Proxy::inherit(d, display_name, kind, line.origin.clone()),
            None => Proxy::new(display_name, kind, line.origin.clone()),
        };
        if base.is_none() {
            px.defaults = None;
        }
        let st = ProxyState {
            anonymous_defaults: kind == ProxyKind::Defaults && display_name.is_empty(),
            default_server: Some(px.default_server.clone()),
            ..ProxyState::default()
        };
        self.current = Current::Proxy(Box::new(px), Box::new(st));
        if let Some(addr) = legacy_addr {
            self.sv.legacy(
                line,
                &format!("{kw} {name} {addr}"),
                &format!("{kw} {name} + bind {addr}"),
            );
            let bind_line = Line {
                origin: line.origin.clone(),
                words: vec!["bind".to_string(), addr.to_string()],
                modifier: Modifier::Std,
            };
            if let Current::Proxy(px, st) = &mut self.current {
                let mut ctx = ProxyCtx {
                    px,
                    st,
                    sv: &mut self.sv,
                    global: &self.global,
                };
                return keywords::bind::parse_bind(&mut ctx, &bind_line);
            }
        }
        Flow::Continue
    }

    /// Folds the open section into the model.
    fn close_section(&mut self) {
        match std::mem::replace(&mut self.current, Current::None) {
            Current::Proxy(px, st) => {
                let mut px = *px;
                finish_proxy(&mut px, &st, &mut self.sv);
                if px.kind == ProxyKind::Defaults {
                    self.defaults.push(px);
                    self.defaults_users.push((false, false));
                } else {
                    self.proxy_index
                        .entry(px.name.clone())
                        .or_default()
                        .push(self.proxies.len());
                    self.proxies.push(px);
                }
            }
            Current::Userlist(u) => self.userlists.push(u),
            Current::Peers(p) => self.peers.push(p),
            Current::Resolvers(r) => self.resolvers.push(r),
            Current::Mailers(m) => self.mailers.push(m),
            Current::HttpErrors(h) => self.http_errors.push(h),
            Current::Other(o) => self.others.push(o),
            Current::None | Current::Global | Current::BrokenProxy => {}
        }
    }

    /// The model, once every file was read.
    pub fn finish(mut self, files: Vec<String>) -> (Config, Diagnostics) {
        self.close_section();
        let mut cfg = Config {
            global: self.global,
            proxies: self.proxies,
            userlists: self.userlists,
            peers: self.peers,
            resolvers: self.resolvers,
            mailers: self.mailers,
            http_errors: self.http_errors,
            files,
            not_enforced: self.sv.not_enforced,
            ..Config::default()
        };
        for o in self.others {
            match o.kind {
                "ring" => cfg.rings.push(o),
                "cache" => cfg.caches.push(o),
                "program" => cfg.programs.push(o),
                "fcgi-app" => cfg.fcgi_apps.push(o),
                _ => cfg.log_forwards.push(o),
            }
        }
        assign_ids(&mut cfg);
        (cfg, self.sv.diags)
    }
}

/// Rules a `defaults` section can hold (named sections only).
fn has_rules(r: &Rules) -> bool {
    !(r.http_request.is_empty()
        && r.http_response.is_empty()
        && r.http_after_response.is_empty()
        && r.tcp_request_connection.is_empty()
        && r.tcp_request_session.is_empty()
        && r.tcp_request_content.is_empty()
        && r.tcp_response_content.is_empty())
}

/// HAProxy's `invalid_char()`: names may use letters, digits, `-_.:`.
pub fn invalid_char(name: &str) -> Option<char> {
    name.chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':')))
}

/// Routes a proxy-section line through the registry, enforcing where each
/// keyword may appear as HAProxy 2.6 does.
fn dispatch_proxy(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    let Some(kw) = keywords::find_proxy_keyword(&line.words) else {
        let word = line.arg(0);
        let hint = keywords::suggest::best_match(word, keywords::proxy_first_words())
            .map(|b| format!("; did you mean '{b}' maybe ?"))
            .unwrap_or_default();
        let section = ctx.px.kind.section();
        ctx.sv.alert(
            line,
            format!("unknown keyword '{word}' in '{section}' section{hint}"),
        );
        return Flow::Continue;
    };
    if line.modifier != Modifier::Std && line.arg(0) != "option" && line.arg(0) != "log" {
        ctx.sv.alert_tight(
            line,
            "negation/default currently supported only for options, log, busy-polling, set-dumpable, strict-limits, and insecure-fork-wanted.",
        );
        return Flow::Continue;
    }
    if let Some(flow) = check_placement(ctx, kw, line) {
        return flow;
    }
    let before = ctx.sv.diags.fatal_count();
    let flow = (kw.parse)(ctx, line);
    if ctx.sv.diags.fatal_count() == before && line.modifier != Modifier::No {
        match kw.status {
            Status::Legacy(modern) => ctx.sv.legacy(line, kw.name, modern),
            s => ctx.sv.apply_status(line, s, || kw.name.to_string()),
        }
    }
    flow
}

/// Returns `Some` when the keyword is not allowed here (after reporting it).
fn check_placement(ctx: &mut ProxyCtx, kw: &ProxyKeyword, line: &Line) -> Option<Flow> {
    let px_name = ctx.px.name.clone();
    let report = |ctx: &mut ProxyCtx, place: Place| -> Option<Flow> {
        match place {
            Place::Warn(t) => {
                ctx.sv.warn(line, t.replace("{p}", &px_name));
                Some(Flow::Continue)
            }
            Place::Fatal(t) => {
                ctx.sv.alert(line, t.replace("{p}", &px_name));
                Some(Flow::Continue)
            }
        }
    };
    match ctx.px.kind {
        ProxyKind::Defaults => {
            if !kw.allowed.has(Sections::DEFAULTS) {
                let place = kw.in_defaults.unwrap_or(Place::Fatal(""));
                if let Place::Fatal("") = place {
                    ctx.sv.alert(
                        line,
                        format!("'{}' not allowed in 'defaults' section.", kw.name),
                    );
                    return Some(Flow::Continue);
                }
                return report(ctx, place);
            }
            if kw.allowed.has(Sections::NAMED_DEFAULTS) && ctx.st.anonymous_defaults {
                ctx.sv.alert(
                    line,
                    format!(
                        "'{}' not allowed in anonymous 'defaults' section.",
                        kw.name.split(' ').next().unwrap_or(kw.name)
                    ),
                );
                return Some(Flow::Continue);
            }
            None
        }
        ProxyKind::Frontend if !kw.allowed.has(Sections::FRONTEND) => {
            let place = kw.in_frontend.unwrap_or(Place::Warn(""));
            if let Place::Warn("") = place {
                ctx.sv.warn(
                    line,
                    format!(
                        "'{}' ignored because frontend '{px_name}' has no backend capability.",
                        kw.short_word()
                    ),
                );
                return Some(Flow::Continue);
            }
            report(ctx, place)
        }
        ProxyKind::Backend if !kw.allowed.has(Sections::BACKEND) => {
            let place = kw.in_backend.unwrap_or(Place::Warn(""));
            if let Place::Warn("") = place {
                ctx.sv.warn(
                    line,
                    format!(
                        "'{}' ignored because backend '{px_name}' has no frontend capability.",
                        kw.short_word()
                    ),
                );
                return Some(Flow::Continue);
            }
            report(ctx, place)
        }
        _ => None,
    }
}

/// End of a proxy section: bind ACL references, resolve timeouts.
fn finish_proxy(px: &mut Proxy, st: &ProxyState, sv: &mut Services) {
    if let Some(ds) = &st.default_server {
        px.default_server = ds.clone();
    }
    let acls: Vec<Arc<Acl>> = px.rules.acls.clone();
    let bind = |c: &mut Condition| {
        for t in c.terms_mut() {
            if let AclRef::Named(n) = &t.acl
                && let Some(a) = acls.iter().find(|a| &a.name == n)
            {
                t.acl = AclRef::Resolved(Arc::clone(a));
            }
        }
    };
    for c in px.rules.conditions_mut() {
        bind(c);
    }
    if let Some(stats) = &mut px.stats {
        for c in stats.admin.iter_mut() {
            bind(c);
        }
        for r in stats.http_request.iter_mut() {
            if let Some(c) = r.cond.as_mut() {
                bind(c);
            }
        }
    }
    if px.kind != ProxyKind::Defaults {
        px.timeouts = px.timeouts.resolved();
    }
    let _ = sv;
}

/// Stats ids: explicit `id`s are kept; others take the next free number in
/// declaration order, as HAProxy numbers proxies (from 1) and servers.
fn assign_ids(cfg: &mut Config) {
    let mut used: Vec<u32> = cfg.proxies.iter().filter_map(|p| p.id).collect();
    let mut next = 1u32;
    // A `stats socket` makes HAProxy create its CLI frontend ("GLOBAL")
    // first: it takes the first free number.
    if !cfg.global.stats_sockets.is_empty() {
        while used.contains(&next) {
            next += 1;
        }
        used.push(next);
    }
    for p in cfg.proxies.iter_mut() {
        p.uuid = match p.id {
            Some(id) => id,
            None => {
                while used.contains(&next) {
                    next += 1;
                }
                used.push(next);
                next
            }
        };
        // HAProxy's numbering: the counter moves on for every server, also
        // past those with an explicit id (s1, s2 id 1, s3 → 2, 1, 4).
        let sused: Vec<u32> = p.servers.iter().filter_map(|s| s.opts.id).collect();
        let mut assigned: Vec<u32> = Vec::new();
        let mut snext = 1u32;
        for s in p.servers.iter_mut() {
            match s.opts.id {
                Some(id) => {
                    s.puid = id;
                    snext += 1;
                }
                None => {
                    let mut id = snext;
                    while sused.contains(&id) || assigned.contains(&id) {
                        id += 1;
                    }
                    s.puid = id;
                    assigned.push(id);
                    snext = id + 1;
                }
            }
        }
    }
}
