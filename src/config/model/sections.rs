//! The smaller sections: `userlist`, `peers`, `resolvers`, `mailers`,
//! `http-errors`, and those rproxy only records (`ring`, `cache`, `program`,
//! `fcgi-app`, `log-forward`).

use super::proxy::ErrorPageCfg;
use crate::config::address::Endpoint;
use crate::diag::Origin;
use std::time::Duration;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Password {
    /// `insecure-password`
    Plain(String),
    /// `password`: a crypt(3) hash.
    Crypt(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub password: Option<Password>,
    pub groups: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    pub name: String,
    pub users: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Userlist {
    pub name: String,
    pub groups: Vec<Group>,
    pub users: Vec<User>,
    pub origin: Origin,
}

impl Userlist {
    /// The groups a user belongs to, from both `user … groups` and
    /// `group … users`.
    pub fn groups_of(&self, user: &str) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        if let Some(u) = self.users.iter().find(|u| u.name == user) {
            out.extend(u.groups.iter().map(String::as_str));
        }
        for g in &self.groups {
            if g.users.iter().any(|u| u == user) && !out.contains(&g.name.as_str()) {
                out.push(&g.name);
            }
        }
        out
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Peer {
    pub name: String,
    pub addr: Option<Endpoint>,
    pub origin: Origin,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Peers {
    pub name: String,
    pub peers: Vec<Peer>,
    pub origin: Origin,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolvers {
    pub name: String,
    pub nameservers: Vec<(String, Endpoint)>,
    pub parse_resolv_conf: bool,
    pub hold: Vec<(String, Duration)>,
    pub origin: Origin,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mailers {
    pub name: String,
    pub mailers: Vec<(String, Endpoint)>,
    pub timeout_mail: Option<Duration>,
    pub origin: Origin,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpErrors {
    pub name: String,
    pub pages: Vec<ErrorPageCfg>,
    pub origin: Origin,
}

/// A section rproxy records but does not run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamedSection {
    pub kind: &'static str,
    pub name: String,
    /// Every keyword line of the section, as words.
    pub lines: Vec<Vec<String>>,
    pub origin: Origin,
}
