//! The `global` section: process-wide settings.

use super::log::LogTarget;
use crate::config::address::Endpoint;
use crate::diag::Origin;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct Global {
    pub daemon: bool,
    pub master_worker: bool,
    /// `master-worker no-exit-on-failure`
    pub master_worker_no_exit: bool,
    pub mworker_max_reloads: Option<u32>,
    /// Process-wide connection limit; `None` = derived from the fd limit.
    pub maxconn: Option<u32>,
    pub ulimit_n: Option<u64>,
    pub fd_hard_limit: Option<u64>,
    pub nbthread: Option<usize>,
    pub user: Option<String>,
    pub group: Option<String>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub chroot: Option<PathBuf>,
    pub pidfile: Option<PathBuf>,
    pub hard_stop_after: Option<Duration>,
    pub grace: Option<Duration>,
    pub logs: Vec<LogTarget>,
    /// `log-send-hostname [name]`: `Some("")` means the system host name.
    pub log_send_hostname: Option<String>,
    pub log_tag: Option<String>,
    pub node: Option<String>,
    pub description: Option<String>,
    pub stats_sockets: Vec<StatsSocket>,
    pub stats_timeout: Duration,
    pub stats_maxconn: u32,
    /// 0..=50 (%): random jitter added to check intervals.
    pub spread_checks: u32,
    pub max_spread_checks: Option<Duration>,
    pub tune: Tune,
    pub quiet: bool,
    pub zero_warning: bool,
    /// `strict-limits` (refuse to start when the descriptor limit is too
    /// low) or `no strict-limits`; unset, rproxy lowers maxconn instead.
    pub strict_limits: Option<bool>,
    pub nosplice: bool,
    pub noreuseport: bool,
    pub nogetaddrinfo: bool,
    pub maxconnrate: Option<u32>,
    pub maxsessrate: Option<u32>,
    pub maxpipes: Option<u32>,
    pub server_state_file: Option<PathBuf>,
    pub server_state_base: Option<PathBuf>,
    pub localpeer: Option<String>,
    pub lua_loads: Vec<(PathBuf, Origin)>,
    pub ca_base: Option<PathBuf>,
    pub crt_base: Option<PathBuf>,
    /// `ssl-server-verify none`
    pub ssl_server_verify_none: bool,
    pub unix_bind: UnixBind,
    /// `setenv`/`presetenv`/`unsetenv`/`resetenv`, in order; the reader has
    /// already applied them to later lines, start-up applies them to the
    /// process environment.
    pub env_ops: Vec<EnvOp>,
    pub origin: Option<Origin>,
}

impl Default for Global {
    fn default() -> Self {
        Global {
            daemon: false,
            master_worker: false,
            master_worker_no_exit: false,
            mworker_max_reloads: None,
            maxconn: None,
            ulimit_n: None,
            fd_hard_limit: None,
            nbthread: None,
            user: None,
            group: None,
            uid: None,
            gid: None,
            chroot: None,
            pidfile: None,
            hard_stop_after: None,
            grace: None,
            logs: Vec::new(),
            log_send_hostname: None,
            log_tag: None,
            node: None,
            description: None,
            stats_sockets: Vec::new(),
            stats_timeout: Duration::from_secs(10),
            stats_maxconn: 10,
            spread_checks: 0,
            max_spread_checks: None,
            tune: Tune::default(),
            quiet: false,
            zero_warning: false,
            strict_limits: None,
            nosplice: false,
            noreuseport: false,
            nogetaddrinfo: false,
            maxconnrate: None,
            maxsessrate: None,
            maxpipes: None,
            server_state_file: None,
            server_state_base: None,
            localpeer: None,
            lua_loads: Vec::new(),
            ca_base: None,
            crt_base: None,
            ssl_server_verify_none: false,
            unix_bind: UnixBind::default(),
            env_ops: Vec::new(),
            origin: None,
        }
    }
}

/// `tune.*` settings used by the engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tune {
    pub bufsize: u32,
    pub maxrewrite: u32,
    pub http_logurilen: u32,
    pub http_maxhdr: u32,
    pub http_cookielen: u32,
    pub maxaccept: i32,
    pub pipesize: Option<u32>,
    pub rcvbuf_client: Option<u32>,
    pub rcvbuf_server: Option<u32>,
    pub sndbuf_client: Option<u32>,
    pub sndbuf_server: Option<u32>,
    pub idletimer: Option<Duration>,
}

impl Default for Tune {
    fn default() -> Self {
        Tune {
            bufsize: 16384,
            maxrewrite: 1024,
            http_logurilen: 1024,
            http_maxhdr: 101,
            http_cookielen: 0,
            maxaccept: 64,
            pipesize: None,
            rcvbuf_client: None,
            rcvbuf_server: None,
            sndbuf_client: None,
            sndbuf_server: None,
            idletimer: None,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UnixBind {
    pub prefix: Option<String>,
    pub mode: Option<u32>,
    pub user: Option<String>,
    pub group: Option<String>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EnvOp {
    Set(String, String),
    Preset(String, String),
    Unset(Vec<String>),
    Reset(Vec<String>),
}

/// Privilege level of a CLI socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum CliLevel {
    User,
    Operator,
    Admin,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatsSocket {
    pub addr: Endpoint,
    pub level: CliLevel,
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub user: Option<String>,
    pub group: Option<String>,
    pub expose_fd_listeners: bool,
    pub maxconn: Option<u32>,
    pub origin: Origin,
}
