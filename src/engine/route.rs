//! Choosing the backend of a TCP session: `use_backend` rules in order,
//! then `default_backend`, then the proxy itself when it is a `listen`.

use super::acl;
use super::dst::Dst;
use super::sample::{self, Context};
use super::state::Shared;
use crate::config::model::{BackendTarget, LfNode, LogFormat};
use std::net::SocketAddr;

/// Where a `use_backend` rule sends traffic.
pub enum Target {
    Backend(usize),
    /// A name computed per session (`use_backend %[…]`).
    Dynamic(LogFormat),
    /// A static name that matched no backend at start-up (refused by the
    /// checks, kept so rule order stays intact).
    Missing,
}

pub struct Switching {
    pub rules: Vec<(Target, Option<acl::Cond>)>,
    pub default: Option<usize>,
}

impl Switching {
    pub fn compile(
        shared_proxies: &[crate::config::model::Proxy],
        idx: usize,
        c: &mut acl::Compiler,
    ) -> Switching {
        let p = &shared_proxies[idx];
        let find = |name: &str| {
            shared_proxies
                .iter()
                .position(|x| x.name == name && x.kind.has_backend())
        };
        let rules = p
            .rules
            .use_backends
            .iter()
            .map(|u| {
                let t = match &u.target {
                    BackendTarget::Name(n) => find(n).map_or(Target::Missing, Target::Backend),
                    BackendTarget::Dynamic(lf) => Target::Dynamic(lf.clone()),
                };
                (t, u.cond.as_ref().map(|cond| c.condition(cond)))
            })
            .collect();
        let default = p
            .default_backend
            .as_ref()
            .and_then(|(n, _)| find(n))
            .or_else(|| p.kind.has_backend().then_some(idx));
        Switching { rules, default }
    }
}

/// The layer-4 view of a session, for ACLs evaluated in TCP mode.
#[derive(Clone)]
pub struct L4<'a> {
    pub shared: &'a Shared,
    pub frontend: usize,
    pub backend: Option<usize>,
    pub client: Option<SocketAddr>,
    pub local: &'a Dst<'a>,
    /// The request's first bytes, when `tcp-request content` rules waited
    /// for them.
    pub payload: Option<&'a [u8]>,
}

impl Context for L4<'_> {
    fn client(&self) -> Option<SocketAddr> {
        self.client
    }
    fn frontend_addr(&self) -> Option<SocketAddr> {
        self.local.get()
    }
    fn frontend_name(&self) -> &str {
        &self.shared.proxy_cfg(self.frontend).name
    }
    fn payload(&self) -> Option<&[u8]> {
        self.payload
    }
    fn backend_name(&self) -> Option<&str> {
        self.backend.map(|b| self.shared.proxy_cfg(b).name.as_str())
    }
    fn nbsrv(&self, backend: &str) -> Option<i64> {
        let idx = match backend {
            "" => self.backend?,
            b => self.shared.backend_index(b)?,
        };
        Some(
            self.shared.proxies[idx]
                .servers
                .iter()
                .filter(|s| s.usable())
                .count() as i64,
        )
    }
}

/// Renders a log-format string made of text and samples (the form dynamic
/// `use_backend` names take); `None` if it uses anything else.
pub fn render_samples(lf: &LogFormat, ctx: &dyn Context) -> Option<String> {
    let mut out = String::new();
    for n in &lf.nodes {
        match n {
            LfNode::Text(t) => out.push_str(t),
            LfNode::Sample { expr, .. } => {
                if let Some(s) = sample::fetch(expr, ctx) {
                    out.push_str(&s.as_str());
                }
            }
            LfNode::Var { .. } => return None,
        }
    }
    Some(out)
}

pub fn backend_for(
    shared: &Shared,
    fe: usize,
    client_addr: Option<SocketAddr>,
    dst: &Dst<'_>,
    payload: Option<&[u8]>,
) -> Option<usize> {
    let ctx = L4 {
        shared,
        frontend: fe,
        backend: None,
        client: client_addr,
        local: dst,
        payload,
    };
    backend_in(shared, fe, &ctx)
}

/// The backend the frontend's `use_backend` rules (or `default_backend`)
/// choose in a context (layer 4, or an HTTP request).
pub fn backend_in(shared: &Shared, fe: usize, ctx: &dyn Context) -> Option<usize> {
    let sw = &shared.proxies[fe].switching;
    for (target, cond) in &sw.rules {
        if !acl::holds(cond.as_ref(), ctx) {
            continue;
        }
        match target {
            Target::Backend(b) => return Some(*b),
            Target::Dynamic(lf) => {
                if let Some(b) = render_samples(lf, ctx).and_then(|n| shared.backend_index(&n)) {
                    return Some(b);
                }
                // an unresolvable name ends the evaluation
                return sw.default;
            }
            Target::Missing => {}
        }
    }
    sw.default
}
