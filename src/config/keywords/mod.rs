//! The keyword registry: one table per section kind, each row naming a
//! keyword, where it may appear, what rproxy does with it (its status) and
//! the function that parses it into the model. `rproxy -dK` prints these
//! tables; `-c` warns for every directive whose status is not `Enforced`.

pub mod bind;
pub mod checks;
pub mod global;
pub mod logs;
pub mod options;
pub mod proxy;
pub mod rules;
pub mod sections;
pub mod server;
pub mod stats;
pub mod suggest;

use crate::config::line::Line;
use crate::config::parser::{GlobalCtx, ProxyCtx};
use std::collections::HashMap;

/// What rproxy does with a keyword.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Parsed into the model and acted on by the engine.
    Enforced,
    /// Parsed and validated as HAProxy does, with no run-time effect yet:
    /// reported with a warning.
    ParsedOnly,
    /// Parsed, but running without it would weaken security (TLS, access
    /// control): `-c` warns and start-up refuses.
    Security,
    /// Removed from HAProxy 2.x; rproxy still accepts it, maps it to the
    /// modern form given here, and warns.
    Legacy(&'static str),
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Enforced => "enforced",
            Status::ParsedOnly => "parsed-only",
            Status::Security => "refused-at-start",
            Status::Legacy(_) => "legacy",
        }
    }
}

/// Whether parsing may go on after a keyword's error. HAProxy stops reading
/// a file on some errors (ERR_ABORT), and rproxy reports the same lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    Continue,
    /// Stop reading this file (HAProxy's `goto err` without ERR_ABORT).
    StopFile,
    /// Stop reading the configuration (ERR_ABORT).
    Abort,
}

/// Proxy section kinds a keyword is allowed in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sections(u8);

impl Sections {
    pub const DEFAULTS: Sections = Sections(1);
    pub const FRONTEND: Sections = Sections(2);
    pub const LISTEN: Sections = Sections(4);
    pub const BACKEND: Sections = Sections(8);
    /// In `defaults`, only when the section has a name (2.6's `(!)`).
    pub const NAMED_DEFAULTS: Sections = Sections(16);

    pub const fn or(self, o: Sections) -> Sections {
        Sections(self.0 | o.0)
    }

    pub const fn has(self, o: Sections) -> bool {
        self.0 & o.0 == o.0
    }
}

pub const D: Sections = Sections::DEFAULTS;
pub const F: Sections = Sections::FRONTEND;
pub const L: Sections = Sections::LISTEN;
pub const B: Sections = Sections::BACKEND;
/// defaults (named only), frontend, listen, backend
pub const DN: Sections = Sections::DEFAULTS.or(Sections::NAMED_DEFAULTS);
pub const DFLB: Sections = D.or(F).or(L).or(B);
pub const DFL: Sections = D.or(F).or(L);
pub const DLB: Sections = D.or(L).or(B);
pub const FLB: Sections = F.or(L).or(B);
pub const FL: Sections = F.or(L);
pub const LB: Sections = L.or(B);

/// How a keyword in the wrong proxy kind is reported, when it is not the
/// default ("'kw' ignored because frontend 'x' has no backend capability."
/// in frontends and backends, "'kw' not allowed in 'defaults' section."
/// in defaults). `{p}` is replaced by the proxy name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    Warn(&'static str),
    Fatal(&'static str),
}

pub type ProxyParse = fn(&mut ProxyCtx, &Line) -> Flow;

#[derive(Clone, Copy)]
pub struct ProxyKeyword {
    /// One or two words: `bind`, `timeout connect`, `option httplog`.
    pub name: &'static str,
    pub allowed: Sections,
    pub status: Status,
    pub parse: ProxyParse,
    pub in_frontend: Option<Place>,
    pub in_backend: Option<Place>,
    pub in_defaults: Option<Place>,
    /// Whether `no`/`default` may prefix it.
    pub negatable: bool,
}

impl ProxyKeyword {
    pub const fn new(
        name: &'static str,
        allowed: Sections,
        status: Status,
        parse: ProxyParse,
    ) -> Self {
        ProxyKeyword {
            name,
            allowed,
            status,
            parse,
            in_frontend: None,
            in_backend: None,
            in_defaults: None,
            negatable: false,
        }
    }

    pub const fn fe(mut self, p: Place) -> Self {
        self.in_frontend = Some(p);
        self
    }

    pub const fn be(mut self, p: Place) -> Self {
        self.in_backend = Some(p);
        self
    }

    pub const fn def(mut self, p: Place) -> Self {
        self.in_defaults = Some(p);
        self
    }

    pub const fn negatable(mut self) -> Self {
        self.negatable = true;
        self
    }

    /// The word HAProxy quotes in placement messages: `httplog` for
    /// `option httplog`, else the first word.
    pub fn short_word(&self) -> &'static str {
        match self.name.split_once(' ') {
            Some(("option", rest)) => rest,
            Some((first, _)) => first,
            None => self.name,
        }
    }
}

pub type GlobalParse = fn(&mut GlobalCtx, &Line) -> Flow;

#[derive(Clone, Copy)]
pub struct GlobalKeyword {
    pub name: &'static str,
    pub status: Status,
    pub parse: GlobalParse,
}

/// A registry table indexed by name, built on first use: large
/// configurations look a keyword up for every line and every server option.
pub struct Index<T: 'static> {
    table: &'static [T],
    name: fn(&T) -> &'static str,
    map: std::sync::OnceLock<HashMap<&'static str, &'static T>>,
}

impl<T: 'static> Index<T> {
    pub const fn new(table: &'static [T], name: fn(&T) -> &'static str) -> Self {
        Index {
            table,
            name,
            map: std::sync::OnceLock::new(),
        }
    }

    fn map(&self) -> &HashMap<&'static str, &'static T> {
        self.map.get_or_init(|| {
            let mut m = HashMap::with_capacity(self.table.len());
            for row in self.table {
                // The first row wins, as a linear scan would.
                m.entry((self.name)(row)).or_insert(row);
            }
            m
        })
    }

    pub fn get(&self, name: &str) -> Option<&'static T> {
        self.map().get(name).copied()
    }

    /// A two-word keyword (`timeout connect`) before a one-word one.
    pub fn get_words(&self, words: &[String]) -> Option<&'static T> {
        let first = words.first()?;
        if let Some(second) = words.get(1) {
            let mut two = String::with_capacity(first.len() + 1 + second.len());
            two.push_str(first);
            two.push(' ');
            two.push_str(second);
            if let Some(k) = self.get(&two) {
                return Some(k);
            }
        }
        self.get(first)
    }
}

static PROXY_INDEX: Index<ProxyKeyword> = Index::new(proxy::KEYWORDS, |k| k.name);
static GLOBAL_INDEX: Index<GlobalKeyword> = Index::new(global::KEYWORDS, |k| k.name);

/// Finds the registry row for a proxy line: a two-word entry
/// (`timeout connect`) wins over a one-word entry (`timeout`, which then
/// reports the unknown sub-keyword itself).
pub fn find_proxy_keyword(words: &[String]) -> Option<&'static ProxyKeyword> {
    PROXY_INDEX.get_words(words)
}

pub fn find_global_keyword(words: &[String]) -> Option<&'static GlobalKeyword> {
    GLOBAL_INDEX.get_words(words)
}

/// The first words of all keywords of a proxy section kind, for "did you
/// mean" hints.
pub fn proxy_first_words() -> impl Iterator<Item = &'static str> {
    let mut seen: Vec<&'static str> = Vec::new();
    for k in proxy::KEYWORDS {
        let w = k.name.split(' ').next().unwrap_or(k.name);
        if !seen.contains(&w) {
            seen.push(w);
        }
    }
    seen.into_iter()
}

/// `rproxy -dK`: every registered keyword with its status, in the spirit of
/// HAProxy's own keyword dump.
pub fn dump() -> String {
    let mut out = String::new();
    out.push_str("# rproxy keyword registry: <section> <keyword> <status> [<modern form>]\n");
    for k in global::KEYWORDS {
        push_row(&mut out, "global", k.name, k.status);
    }
    for k in proxy::KEYWORDS {
        push_row(&mut out, "proxy", k.name, k.status);
    }
    for k in server::KEYWORDS {
        push_row(&mut out, "server", k.name, k.status);
    }
    for k in bind::KEYWORDS {
        push_row(&mut out, "bind", k.name, k.status);
    }
    for (family, table) in rules::action_tables() {
        for a in table {
            push_row(&mut out, family, a.name, a.status);
        }
    }
    for (section, names) in sections::KEYWORDS {
        for (name, status) in *names {
            push_row(&mut out, section, name, *status);
        }
    }
    out
}

fn push_row(out: &mut String, section: &str, name: &str, status: Status) {
    out.push_str(section);
    out.push('\t');
    out.push_str(name);
    out.push('\t');
    out.push_str(status.label());
    if let Status::Legacy(modern) = status {
        out.push('\t');
        out.push_str(modern);
    }
    out.push('\n');
}
