//! Proxies: `frontend`, `backend` and `listen` sections, with what they
//! inherited from `defaults` already folded in.

use super::log::{LogFormat, LogTarget};
use super::rules::{Condition, ReturnCfg, Rules, SampleExpr};
use super::server::{Bind, Server, ServerOpts, Source};
use crate::config::address::Endpoint;
use crate::diag::Origin;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProxyKind {
    Frontend,
    Backend,
    Listen,
    Defaults,
}

impl ProxyKind {
    pub fn has_frontend(self) -> bool {
        matches!(
            self,
            ProxyKind::Frontend | ProxyKind::Listen | ProxyKind::Defaults
        )
    }

    pub fn has_backend(self) -> bool {
        matches!(
            self,
            ProxyKind::Backend | ProxyKind::Listen | ProxyKind::Defaults
        )
    }

    /// The word HAProxy uses in messages ("frontend 'fe'", "proxy 'x'").
    pub fn word(self) -> &'static str {
        match self {
            ProxyKind::Frontend => "frontend",
            ProxyKind::Backend => "backend",
            ProxyKind::Listen => "proxy",
            ProxyKind::Defaults => "defaults",
        }
    }

    pub fn section(self) -> &'static str {
        match self {
            ProxyKind::Frontend => "frontend",
            ProxyKind::Backend => "backend",
            ProxyKind::Listen => "listen",
            ProxyKind::Defaults => "defaults",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Tcp,
    Http,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Tcp => "tcp",
            Mode::Http => "http",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Balance {
    RoundRobin,
    StaticRr,
    LeastConn,
    First,
    Source,
    Uri {
        whole: bool,
        len: u32,
        depth: u32,
        path_only: bool,
    },
    UrlParam {
        param: String,
        check_post: Option<u32>,
    },
    Hdr {
        name: String,
        use_domain_only: bool,
    },
    RdpCookie {
        name: String,
    },
    Random {
        draws: u32,
    },
    Hash {
        expr: SampleExpr,
    },
}

impl Balance {
    /// The name `show stat` prints in the `algo` column.
    pub fn name(&self) -> &'static str {
        match self {
            Balance::RoundRobin => "roundrobin",
            Balance::StaticRr => "static-rr",
            Balance::LeastConn => "leastconn",
            Balance::First => "first",
            Balance::Source => "source",
            Balance::Uri { .. } => "uri",
            Balance::UrlParam { .. } => "url_param",
            Balance::Hdr { .. } => "hdr",
            Balance::RdpCookie { .. } => "rdp-cookie",
            Balance::Random { .. } => "random",
            Balance::Hash { .. } => "hash",
        }
    }

    pub fn is_http_only(&self) -> bool {
        matches!(
            self,
            Balance::Uri { .. } | Balance::UrlParam { .. } | Balance::Hdr { .. }
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashMethod {
    MapBased,
    Consistent,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashFunction {
    Sdbm,
    Djb2,
    Wt6,
    Crc32,
    None,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashType {
    pub method: HashMethod,
    pub function: HashFunction,
    pub avalanche: bool,
}

impl Default for HashType {
    fn default() -> Self {
        HashType {
            method: HashMethod::MapBased,
            function: HashFunction::Sdbm,
            avalanche: false,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CookieMode {
    /// No mode keyword: the cookie is only read (the server sets it).
    Passive,
    Rewrite,
    Insert,
    Prefix,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CookieCfg {
    pub name: String,
    pub mode: CookieMode,
    pub indirect: bool,
    pub nocache: bool,
    pub postonly: bool,
    pub preserve: bool,
    pub httponly: bool,
    pub secure: bool,
    pub domains: Vec<String>,
    pub maxidle: Option<Duration>,
    pub maxlife: Option<Duration>,
    pub dynamic: bool,
    pub attrs: Vec<String>,
}

/// `option http-keep-alive | http-server-close | httpclose`
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum HttpConnMode {
    KeepAlive,
    ServerClose,
    Close,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HttpReuse {
    Never,
    Safe,
    Aggressive,
    Always,
}

/// `option forwardfor` / `option originalto`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddrHeader {
    pub header: String,
    pub except: Option<(IpAddr, u8)>,
    pub if_none: bool,
}

/// Resolved timeouts; `None` means no timeout.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timeouts {
    pub client: Option<Duration>,
    pub client_fin: Option<Duration>,
    pub http_request: Option<Duration>,
    pub http_keep_alive: Option<Duration>,
    pub connect: Option<Duration>,
    pub server: Option<Duration>,
    pub server_fin: Option<Duration>,
    pub queue: Option<Duration>,
    pub tunnel: Option<Duration>,
    pub tarpit: Option<Duration>,
    pub check: Option<Duration>,
}

impl Timeouts {
    /// HAProxy's fall-backs, applied once when a proxy's section ends:
    /// * `queue` and `tarpit` default to `connect` (proxy.c, "timeout queue"
    ///   and "timeout tarpit" in the manual);
    /// * `http-keep-alive` defaults to `http-request` (mux_h1 idle timeout),
    ///   and both are bounded by `client` when unset;
    /// * `client-fin` / `server-fin` default to `client` / `server`.
    ///
    /// `tunnel` and `check` have no fall-back here: the engine uses client
    /// and server when no tunnel timeout is set, and the checker derives the
    /// check timeout from `inter` when `check` is unset.
    pub fn resolved(self) -> Timeouts {
        let http_request = self.http_request.or(self.client);
        Timeouts {
            client: self.client,
            client_fin: self.client_fin.or(self.client),
            http_request,
            http_keep_alive: self.http_keep_alive.or(http_request),
            connect: self.connect,
            server: self.server,
            server_fin: self.server_fin.or(self.server),
            queue: self.queue.or(self.connect),
            tunnel: self.tunnel,
            tarpit: self.tarpit.or(self.connect),
            check: self.check,
        }
    }
}

/// The boolean `option` keywords (`no option X` clears them).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Options {
    pub abortonclose: bool,
    pub accept_invalid_http_request: bool,
    pub accept_invalid_http_response: bool,
    pub allbackups: bool,
    pub checkcache: bool,
    pub clitcpka: bool,
    pub srvtcpka: bool,
    pub contstats: bool,
    pub disable_h2_upgrade: bool,
    pub dontlog_normal: bool,
    pub dontlognull: bool,
    pub h1_case_adjust_bogus_client: bool,
    pub h1_case_adjust_bogus_server: bool,
    pub http_buffer_request: bool,
    pub http_ignore_probes: bool,
    pub http_no_delay: bool,
    pub http_pretend_keepalive: bool,
    pub http_use_proxy_header: bool,
    pub idle_close_on_response: bool,
    pub independent_streams: bool,
    pub log_health_checks: bool,
    pub log_separate_errors: bool,
    pub logasap: bool,
    pub nolinger: bool,
    pub persist: bool,
    pub prefer_last_server: bool,
    pub socket_stats: bool,
    pub splice_auto: bool,
    pub splice_request: bool,
    pub splice_response: bool,
    pub tcp_smart_accept: bool,
    pub tcp_smart_connect: bool,
    pub transparent: bool,
}

/// The log line format of a frontend.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogStyle {
    /// No option: one "Connect from" line at accept time.
    Connect,
    Tcp,
    Http,
    HttpClf,
    Https,
    Custom(LogFormat),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaptureHdr {
    pub name: String,
    pub len: u32,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Captures {
    pub request_headers: Vec<CaptureHdr>,
    pub response_headers: Vec<CaptureHdr>,
    pub cookie: Option<CaptureHdr>,
    /// `declare capture request|response len N` slots.
    pub declared_request: Vec<u32>,
    pub declared_response: Vec<u32>,
}

/// What kind of health check the backend's servers run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckKind {
    /// Plain TCP connect.
    Tcp,
    /// `option httpchk`: the request and expectations are in `http_check`.
    Http,
    /// `option tcp-check`: the rules are in `tcp_check_rules`.
    TcpCheck,
    SslHello,
    Smtp {
        helo: String,
        domain: String,
    },
    Mysql {
        user: Option<String>,
        post41: bool,
    },
    Pgsql {
        user: String,
    },
    Redis,
    Ldap,
    Spop,
    External,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpCheck {
    pub method: String,
    pub uri: String,
    pub version: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
    pub expects: Vec<HttpCheckExpect>,
    pub connect_port: Option<u16>,
    pub disable_on_404: bool,
    pub send_state: bool,
}

impl Default for HttpCheck {
    fn default() -> Self {
        HttpCheck {
            method: "OPTIONS".into(),
            uri: "/".into(),
            version: "HTTP/1.0".into(),
            headers: Vec::new(),
            body: None,
            expects: Vec::new(),
            connect_port: None,
            disable_on_404: false,
            send_state: false,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExpectMatch {
    Status(Vec<(u16, u16)>),
    RStatus(String),
    String(String),
    RString(String),
    Hdr { name: String, value: Option<String> },
    Binary(Vec<u8>),
    RBinary(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpCheckExpect {
    pub negate: bool,
    pub matcher: ExpectMatch,
    pub origin: Origin,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TcpCheckRule {
    Connect {
        port: Option<u16>,
        addr: Option<Endpoint>,
        send_proxy: bool,
        ssl: bool,
    },
    Send(Vec<u8>),
    Expect {
        negate: bool,
        matcher: ExpectMatch,
    },
    Comment(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatsCfg {
    pub enabled: bool,
    pub uri: String,
    pub realm: String,
    pub auth: Vec<(String, String)>,
    pub refresh: Option<Duration>,
    pub hide_version: bool,
    pub show_legends: bool,
    pub show_node: Option<String>,
    pub show_desc: Option<String>,
    pub admin: Vec<Condition>,
    pub scope: Vec<String>,
    pub http_request: Vec<super::rules::HttpRule>,
}

impl Default for StatsCfg {
    fn default() -> Self {
        StatsCfg {
            enabled: false,
            uri: "/haproxy?stats".into(),
            realm: "HAProxy Statistics".into(),
            auth: Vec::new(),
            refresh: None,
            hide_version: false,
            show_legends: false,
            show_node: None,
            show_desc: None,
            admin: Vec::new(),
            scope: Vec::new(),
            http_request: Vec::new(),
        }
    }
}

/// An answer the proxy sends in place of its built-in error page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ErrorPage {
    /// `errorfile CODE FILE`: a raw HTTP response read at start-up.
    File {
        path: PathBuf,
        content: Arc<Vec<u8>>,
    },
    /// `errorloc`/`errorloc302`/`errorloc303 CODE URL`
    Location { code: u16, url: String },
    /// `http-error status N …`
    Return(ReturnCfg),
    /// `errorfiles NAME [CODE…]`: resolved from an `http-errors` section.
    Section { name: String },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorPageCfg {
    pub status: u16,
    pub page: ErrorPage,
    pub origin: Origin,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StickTable {
    pub kind: String,
    pub size: u64,
    pub expire: Option<Duration>,
    pub peers: Option<String>,
    pub origin: Origin,
}

/// TCP keep-alive probes for one side (`clitcpka-*`, `srvtcpka-*`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpKeepalive {
    pub cnt: Option<u32>,
    pub idle: Option<Duration>,
    pub intvl: Option<Duration>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proxy {
    pub name: String,
    pub kind: ProxyKind,
    pub origin: Origin,
    /// The `defaults` section this proxy inherited from, if any.
    pub defaults: Option<String>,
    pub id: Option<u32>,
    /// Numeric id shown in stats (`iid`): `id`, else declaration order.
    pub uuid: u32,
    pub mode: Mode,
    pub disabled: bool,
    pub description: Option<String>,

    // frontend side
    pub binds: Vec<Bind>,
    pub maxconn: Option<u32>,
    pub backlog: Option<u32>,
    pub rate_limit_sessions: Option<u32>,
    pub default_backend: Option<(String, Origin)>,
    pub monitor_uri: Option<String>,
    pub captures: Captures,
    pub unique_id_format: Option<LogFormat>,
    pub unique_id_header: Option<String>,
    pub log_style: LogStyle,
    /// Where the log style was set (maybe in a `defaults` section).
    pub log_style_origin: Option<Origin>,
    pub log_format_sd: Option<LogFormat>,
    pub error_log_format: Option<LogFormat>,
    pub clitcpka: TcpKeepalive,

    // backend side
    pub servers: Vec<Server>,
    /// The `default-server` settings in force at the end of the section.
    pub default_server: ServerOpts,
    pub balance: Balance,
    pub hash_type: HashType,
    pub hash_balance_factor: Option<u32>,
    pub cookie: Option<CookieCfg>,
    pub dynamic_cookie_key: Option<String>,
    pub retries: u32,
    pub retry_on: Vec<String>,
    /// `option redispatch [interval]`; `None` when off.
    pub redispatch: Option<i32>,
    pub source: Option<Source>,
    pub fullconn: Option<u32>,
    pub dispatch: Option<Endpoint>,
    pub http_reuse: HttpReuse,
    pub http_send_name_header: Option<String>,
    pub max_keep_alive_queue: Option<i32>,
    pub check: CheckKind,
    pub http_check: HttpCheck,
    pub tcp_check_rules: Vec<TcpCheckRule>,
    pub srvtcpka: TcpKeepalive,
    pub server_state_file_name: Option<String>,
    pub load_server_state_from_file: Option<String>,
    pub persist_rdp_cookie: Option<String>,
    /// `stick-table …` (parsed; stick tables are not run yet).
    pub stick_table: Option<StickTable>,

    // both
    pub timeouts: Timeouts,
    pub options: Options,
    /// Explicitly set `option http-keep-alive|http-server-close|httpclose`.
    pub http_conn_mode: Option<HttpConnMode>,
    pub forwardfor: Option<AddrHeader>,
    pub originalto: Option<AddrHeader>,
    pub logs: Vec<LogTarget>,
    pub log_tag: Option<String>,
    pub error_pages: Vec<ErrorPageCfg>,
    pub stats: Option<StatsCfg>,
    pub rules: Rules,
}

impl Proxy {
    /// A proxy with HAProxy's built-in settings (what an empty `defaults`
    /// section holds).
    pub fn new(name: &str, kind: ProxyKind, origin: Origin) -> Proxy {
        Proxy {
            name: name.to_string(),
            kind,
            origin,
            defaults: None,
            id: None,
            uuid: 0,
            mode: Mode::Tcp,
            disabled: false,
            description: None,
            binds: Vec::new(),
            maxconn: None,
            backlog: None,
            rate_limit_sessions: None,
            default_backend: None,
            monitor_uri: None,
            captures: Captures::default(),
            unique_id_format: None,
            unique_id_header: None,
            log_style: LogStyle::Connect,
            log_style_origin: None,
            log_format_sd: None,
            error_log_format: None,
            clitcpka: TcpKeepalive::default(),
            servers: Vec::new(),
            default_server: ServerOpts::default(),
            balance: Balance::RoundRobin,
            hash_type: HashType::default(),
            hash_balance_factor: None,
            cookie: None,
            dynamic_cookie_key: None,
            retries: 3,
            retry_on: Vec::new(),
            redispatch: None,
            source: None,
            fullconn: None,
            dispatch: None,
            http_reuse: HttpReuse::Safe,
            http_send_name_header: None,
            max_keep_alive_queue: None,
            check: CheckKind::Tcp,
            http_check: HttpCheck::default(),
            tcp_check_rules: Vec::new(),
            srvtcpka: TcpKeepalive::default(),
            server_state_file_name: None,
            load_server_state_from_file: None,
            persist_rdp_cookie: None,
            stick_table: None,
            timeouts: Timeouts::default(),
            options: Options::default(),
            http_conn_mode: None,
            forwardfor: None,
            originalto: None,
            logs: Vec::new(),
            log_tag: None,
            error_pages: Vec::new(),
            stats: None,
            rules: Rules::default(),
        }
    }

    /// A new proxy inheriting everything a `defaults` section set. Things a
    /// proxy never inherits (binds, servers, names, ids, ACLs) are reset.
    pub fn inherit(defaults: &Proxy, name: &str, kind: ProxyKind, origin: Origin) -> Proxy {
        let mut p = defaults.clone();
        p.name = name.to_string();
        p.kind = kind;
        p.origin = origin;
        p.defaults = Some(defaults.name.clone());
        p.id = None;
        p.uuid = 0;
        p.description = None;
        p.binds.clear();
        p.servers.clear();
        p.default_backend = defaults.default_backend.clone();
        // ACLs of a defaults section are not visible to its users; the rules
        // it declared are kept, already bound to its own ACLs.
        p.rules.acls.clear();
        p
    }

    pub fn server(&self, name: &str) -> Option<&Server> {
        self.servers.iter().find(|s| s.name == name)
    }
}
