//! The typed configuration: what the engine reads, and all it reads.
//!
//! `defaults` sections do not exist here any more: each proxy already holds
//! what it inherited, legacy keywords are already mapped to their modern
//! meaning, and timeouts are already resolved.

mod global;
mod log;
mod proxy;
mod rules;
mod sections;
mod server;

pub use global::*;
pub use log::*;
pub use proxy::*;
pub use rules::*;
pub use sections::*;
pub use server::*;

use crate::diag::Origin;

/// The whole configuration, immutable once built.
#[derive(Clone, Debug, Default)]
pub struct Config {
    pub global: Global,
    /// Frontends, backends and listens in declaration order.
    pub proxies: Vec<Proxy>,
    pub userlists: Vec<Userlist>,
    pub peers: Vec<Peers>,
    pub resolvers: Vec<Resolvers>,
    pub mailers: Vec<Mailers>,
    pub http_errors: Vec<HttpErrors>,
    pub rings: Vec<NamedSection>,
    pub caches: Vec<NamedSection>,
    pub programs: Vec<NamedSection>,
    pub fcgi_apps: Vec<NamedSection>,
    pub log_forwards: Vec<NamedSection>,
    /// Every configuration file read, in order (`HAPROXY_CFGFILES`).
    pub files: Vec<String>,
    /// Directives rproxy accepts but does not act on yet; each was reported
    /// with a warning at load time, and start-up repeats them.
    pub not_enforced: Vec<NotEnforced>,
}

/// A parsed directive with no run-time effect in rproxy yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotEnforced {
    pub keyword: String,
    pub origin: Origin,
    /// True when running without it would weaken security (TLS, access
    /// control): start-up refuses such a configuration.
    pub security: bool,
}

impl Config {
    pub fn proxy(&self, name: &str) -> Option<&Proxy> {
        self.proxies.iter().find(|p| p.name == name)
    }

    /// The backend a `use_backend`/`default_backend` name designates: a
    /// proxy with backend capability.
    pub fn backend(&self, name: &str) -> Option<&Proxy> {
        self.proxies
            .iter()
            .find(|p| p.name == name && p.kind.has_backend())
    }

    pub fn frontends(&self) -> impl Iterator<Item = &Proxy> {
        self.proxies.iter().filter(|p| p.kind.has_frontend())
    }

    pub fn backends(&self) -> impl Iterator<Item = &Proxy> {
        self.proxies.iter().filter(|p| p.kind.has_backend())
    }

    pub fn userlist(&self, name: &str) -> Option<&Userlist> {
        self.userlists.iter().find(|u| u.name == name)
    }
}
