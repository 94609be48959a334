//! rproxy: a drop-in replacement for HAProxy, in Rust.
//!
//! The code follows the data: configuration text → typed model (`config`)
//! → running proxies (`engine`), with diagnostics rendered in HAProxy's
//! format at the edge (`diag`).

pub mod cli;
pub mod config;
pub mod diag;
pub mod engine;
pub mod log;
pub mod master;
pub mod master_cli;
pub mod privileges;
pub mod run;
pub mod runtime_api;
pub mod start;
pub mod stats;
pub mod trace;
pub mod util;

/// The HAProxy release whose behaviour rproxy reproduces; `.if
/// version_atleast()` and `show info` answer with it.
pub const HAPROXY_VERSION: &str = "2.6.12";

/// rproxy's own version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// What `.if feature(X)` and `-vv` report: the features rproxy really has.
pub const FEATURES: &[&str] = &[
    "ACCEPT4",
    "CPU_AFFINITY",
    "EPOLL",
    "GETADDRINFO",
    "LINUX_SPLICE",
    "LINUX_TPROXY",
    "NETFILTER",
    "PRCTL",
    "RT",
    "SYSTEMD",
    "TFO",
    "THREAD",
    "TPROXY",
];
