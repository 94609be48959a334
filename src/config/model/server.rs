//! `server` / `default-server` lines, `bind` lines and `source` settings.

use crate::config::address::Endpoint;
use crate::diag::Origin;
use std::time::Duration;

/// How the outgoing connection's source is chosen (`source … usesrc …`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UseSrc {
    /// `usesrc client`: the client's address and port.
    Client,
    /// `usesrc clientip`: the client's address, a port chosen by the kernel.
    ClientIp,
    /// `usesrc ADDR[:PORT]`: a fixed foreign address.
    Addr(Endpoint),
    /// `usesrc hdr_ip(NAME[,OCC])`: an address from a request header.
    HdrIp { header: String, occurrence: i32 },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    /// The local address (and port or port range) to bind; with `usesrc`,
    /// the address used for health checks and non-IP clients.
    pub addr: Endpoint,
    pub usesrc: Option<UseSrc>,
    /// `interface IF`: SO_BINDTODEVICE
    pub interface: Option<String>,
    pub origin: Origin,
}

/// `send-proxy` / `send-proxy-v2` towards the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProxyProtocol {
    V1,
    V2,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InitAddr {
    Last,
    Libc,
    None,
    Ip(std::net::IpAddr),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Observe {
    Layer4,
    Layer7,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnError {
    FastInter,
    FailCheck,
    SuddenDeath,
    MarkDown,
}

/// Health-check settings of one server. Rarely used parts are boxed:
/// configurations with tens of thousands of servers are common.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckCfg {
    pub enabled: bool,
    pub send_proxy: bool,
    pub ssl: bool,
    pub via_socks4: bool,
    pub port: Option<u16>,
    pub rise: u32,
    pub fall: u32,
    pub inter: Duration,
    pub fastinter: Option<Duration>,
    pub downinter: Option<Duration>,
    pub addr: Option<Box<Endpoint>>,
    /// `check-sni`, `check-alpn`, `check-proto`
    pub tls: Option<Box<CheckTls>>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckTls {
    pub sni: Option<String>,
    pub alpn: Option<String>,
    pub proto: Option<String>,
}

impl Default for CheckCfg {
    fn default() -> Self {
        CheckCfg {
            enabled: false,
            send_proxy: false,
            ssl: false,
            via_socks4: false,
            port: None,
            rise: 2,
            fall: 3,
            inter: Duration::from_millis(2000),
            fastinter: None,
            downinter: None,
            addr: None,
            tls: None,
        }
    }
}

/// `agent-check` and friends: parsed, not run (reported at load time).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AgentCfg {
    pub enabled: bool,
    pub addr: Option<String>,
    pub port: Option<u16>,
    pub inter: Option<Duration>,
    pub send: Option<String>,
}

/// TLS towards a server. rproxy does not speak TLS yet: a server using it
/// is refused at start-up rather than contacted in clear.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerSsl {
    pub enabled: bool,
    pub verify: Option<String>,
    pub ca_file: Option<String>,
    pub crt: Option<String>,
    pub sni: Option<String>,
    pub alpn: Option<String>,
    pub options: Vec<String>,
}

/// Everything `default-server` can set and `server` inherits. What most
/// servers never set lives in `extra`, allocated only when used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerOpts {
    pub weight: u32,
    pub maxconn: u32,
    pub maxqueue: u32,
    pub minconn: u32,
    pub error_limit: u32,
    pub id: Option<u32>,
    pub backup: bool,
    /// Starts in maintenance (`disabled`).
    pub disabled: bool,
    pub on_marked_down_shutdown: bool,
    pub on_marked_up_shutdown_backup: bool,
    pub tfo: bool,
    pub non_stick: bool,
    pub observe: Option<Observe>,
    pub on_error: OnError,
    pub send_proxy: Option<ProxyProtocol>,
    pub cookie: Option<String>,
    pub check: CheckCfg,
    pub slowstart: Option<Duration>,
    pub source: Option<Box<Source>>,
    /// `init-addr` methods, shared between the servers that inherit them.
    pub init_addr: std::sync::Arc<[InitAddr]>,
    pub extra: Option<Box<ServerExtra>>,
}

/// Server settings few configurations use.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerExtra {
    pub agent: AgentCfg,
    pub ssl: ServerSsl,
    pub resolvers: Option<String>,
    pub resolve_prefer: Option<String>,
    pub track: Option<String>,
    pub redir: Option<String>,
    pub namespace: Option<String>,
    pub proto: Option<String>,
    pub pool_max_conn: Option<i64>,
    pub pool_purge_delay: Option<Duration>,
    pub max_reuse: Option<i64>,
    pub ws: Option<String>,
}

static NO_EXTRA: std::sync::LazyLock<ServerExtra> = std::sync::LazyLock::new(ServerExtra::default);

impl ServerOpts {
    /// The rarely used settings (defaults when none was set).
    pub fn extra(&self) -> &ServerExtra {
        self.extra.as_deref().unwrap_or(&NO_EXTRA)
    }

    pub fn extra_mut(&mut self) -> &mut ServerExtra {
        self.extra.get_or_insert_with(Box::default)
    }

    pub fn ssl_enabled(&self) -> bool {
        self.extra().ssl.enabled
    }
}

impl Default for ServerOpts {
    fn default() -> Self {
        ServerOpts {
            weight: 1,
            maxconn: 0,
            maxqueue: 0,
            minconn: 0,
            error_limit: 10,
            id: None,
            backup: false,
            disabled: false,
            on_marked_down_shutdown: false,
            on_marked_up_shutdown_backup: false,
            tfo: false,
            non_stick: false,
            observe: None,
            on_error: OnError::FailCheck,
            send_proxy: None,
            cookie: None,
            check: CheckCfg::default(),
            slowstart: None,
            source: None,
            init_addr: std::sync::Arc::from(&[InitAddr::Last, InitAddr::Libc][..]),
            extra: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Server {
    pub name: String,
    /// As written; a host name is resolved at start-up per `init_addr`.
    pub addr: Endpoint,
    /// The address resolution gave (None: `init-addr none` and unresolved).
    pub resolved: Option<std::net::IpAddr>,
    pub opts: ServerOpts,
    /// Numeric id for stats (`id`, else the next free one).
    pub puid: u32,
    pub origin: Origin,
}

/// One `bind` line; `addrs` holds every address of a comma list, and port
/// ranges are expanded by the engine (one listener per port).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bind {
    pub addrs: Vec<Endpoint>,
    pub name: Option<String>,
    pub id: Option<u32>,
    pub transparent: bool,
    pub v4v6: bool,
    pub v6only: bool,
    pub interface: Option<String>,
    pub backlog: Option<u32>,
    pub maxconn: Option<u32>,
    pub defer_accept: bool,
    pub accept_proxy: bool,
    pub tfo: bool,
    pub mss: Option<i32>,
    pub tcp_ut: Option<Duration>,
    pub nice: Option<i32>,
    pub namespace: Option<String>,
    pub thread: Option<String>,
    /// Unix socket ownership and permissions.
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub user: Option<String>,
    pub group: Option<String>,
    /// CLI sockets only.
    pub level: Option<super::global::CliLevel>,
    pub expose_fd_listeners: bool,
    pub severity_output: Option<String>,
    pub proto: Option<String>,
    /// `ssl` and its options: not implemented, refused at start-up.
    pub ssl: Option<BindSsl>,
    pub origin: Origin,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BindSsl {
    pub crt: Vec<String>,
    pub crt_list: Vec<String>,
    pub ca_file: Option<String>,
    pub alpn: Option<String>,
    pub verify: Option<String>,
    pub options: Vec<String>,
}

impl Bind {
    pub fn new(origin: Origin) -> Self {
        Bind {
            addrs: Vec::new(),
            name: None,
            id: None,
            transparent: false,
            v4v6: false,
            v6only: false,
            interface: None,
            backlog: None,
            maxconn: None,
            defer_accept: false,
            accept_proxy: false,
            tfo: false,
            mss: None,
            tcp_ut: None,
            nice: None,
            namespace: None,
            thread: None,
            mode: None,
            uid: None,
            gid: None,
            user: None,
            group: None,
            level: None,
            expose_fd_listeners: false,
            severity_output: None,
            proto: None,
            ssl: None,
            origin,
        }
    }
}
