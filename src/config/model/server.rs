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

/// Health-check settings of one server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckCfg {
    pub enabled: bool,
    pub inter: Duration,
    pub fastinter: Option<Duration>,
    pub downinter: Option<Duration>,
    pub rise: u32,
    pub fall: u32,
    pub port: Option<u16>,
    pub addr: Option<Endpoint>,
    pub send_proxy: bool,
    pub ssl: bool,
    pub sni: Option<String>,
    pub alpn: Option<String>,
    pub proto: Option<String>,
    pub via_socks4: bool,
}

impl Default for CheckCfg {
    fn default() -> Self {
        CheckCfg {
            enabled: false,
            inter: Duration::from_millis(2000),
            fastinter: None,
            downinter: None,
            rise: 2,
            fall: 3,
            port: None,
            addr: None,
            send_proxy: false,
            ssl: false,
            sni: None,
            alpn: None,
            proto: None,
            via_socks4: false,
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

/// Everything `default-server` can set and `server` inherits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerOpts {
    pub weight: u32,
    pub backup: bool,
    /// Starts in maintenance (`disabled`).
    pub disabled: bool,
    pub maxconn: u32,
    pub maxqueue: u32,
    pub minconn: u32,
    pub cookie: Option<String>,
    pub check: CheckCfg,
    pub agent: AgentCfg,
    pub slowstart: Option<Duration>,
    pub on_marked_down_shutdown: bool,
    pub on_marked_up_shutdown_backup: bool,
    pub observe: Option<Observe>,
    pub error_limit: u32,
    pub on_error: OnError,
    pub source: Option<Source>,
    pub send_proxy: Option<ProxyProtocol>,
    pub init_addr: Vec<InitAddr>,
    pub resolvers: Option<String>,
    pub resolve_prefer: Option<String>,
    pub ssl: ServerSsl,
    pub track: Option<String>,
    pub redir: Option<String>,
    pub tfo: bool,
    pub namespace: Option<String>,
    pub proto: Option<String>,
    pub pool_max_conn: Option<i64>,
    pub pool_purge_delay: Option<Duration>,
    pub max_reuse: Option<i64>,
    pub id: Option<u32>,
    pub non_stick: bool,
    pub ws: Option<String>,
}

impl Default for ServerOpts {
    fn default() -> Self {
        ServerOpts {
            weight: 1,
            backup: false,
            disabled: false,
            maxconn: 0,
            maxqueue: 0,
            minconn: 0,
            cookie: None,
            check: CheckCfg::default(),
            agent: AgentCfg::default(),
            slowstart: None,
            on_marked_down_shutdown: false,
            on_marked_up_shutdown_backup: false,
            observe: None,
            error_limit: 10,
            on_error: OnError::FailCheck,
            source: None,
            send_proxy: None,
            init_addr: vec![InitAddr::Last, InitAddr::Libc],
            resolvers: None,
            resolve_prefer: None,
            ssl: ServerSsl::default(),
            track: None,
            redir: None,
            tfo: false,
            namespace: None,
            proto: None,
            pool_max_conn: None,
            pool_purge_delay: None,
            max_reuse: None,
            id: None,
            non_stick: false,
            ws: None,
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
