//! What HAProxy 2.6 says about each statistics field besides its value:
//! its position, its description (`desc`), its type and its three tags
//! (origin, nature, scope), as `show stat typed|json` and
//! `show info typed|json` print them. The tables follow HAProxy's
//! `stat_fields`/`info_fields` and the `mkf_*` calls of its
//! `stats_fill_*` functions, so the rows built in `super` keep their single
//! source of values and these tables only describe them.

use super::RowType;

/// A field's value type (`FF_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ty {
    U32,
    U64,
    S32,
    Str,
    Flt,
}

impl Ty {
    pub fn name(self) -> &'static str {
        match self {
            Ty::U32 => "u32",
            Ty::U64 => "u64",
            Ty::S32 => "s32",
            Ty::Str => "str",
            Ty::Flt => "flt",
        }
    }
}

/// A field's type and tags. The tags are kept as the three letters the
/// typed form prints (origin, nature, scope: `KNS`, `MCP` …); the JSON
/// form spells them out with `tag_names`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Meta {
    pub tags: &'static str,
    pub ty: Ty,
}

/// The JSON words for the three tag letters.
pub fn tag_names(tags: &str) -> [&'static str; 3] {
    let b = tags.as_bytes();
    let origin = match b.first() {
        Some(b'M') => "Metric",
        Some(b'S') => "Status",
        Some(b'K') => "Key",
        Some(b'C') => "Config",
        Some(b'P') => "Product",
        _ => "Unknown",
    };
    let nature = match b.get(1) {
        Some(b'G') => "Gauge",
        Some(b'L') => "Limit",
        Some(b'm') => "Min",
        Some(b'M') => "Max",
        Some(b'R') => "Rate",
        Some(b'C') => "Counter",
        Some(b'D') => "Duration",
        Some(b'A') => "Age",
        Some(b'T') => "Time",
        Some(b'N') => "Name",
        Some(b'O') => "Output",
        Some(b'a') => "Avg",
        _ => "Unknown",
    };
    let scope = match b.get(2) {
        Some(b'P') => "Process",
        Some(b'S') => "Service",
        Some(b's') => "System",
        Some(b'C') => "Cluster",
        _ => "Unknown",
    };
    [origin, nature, scope]
}

/// One `show stat` column: name, type and tags, description.
pub struct StatField {
    pub name: &'static str,
    pub meta: Meta,
    pub desc: &'static str,
}

const fn f(name: &'static str, tags: &'static str, ty: Ty, desc: &'static str) -> StatField {
    StatField {
        name,
        meta: Meta { tags, ty },
        desc,
    }
}

use Ty::{S32, Str, U32, U64};

/// The fields of `show stat`, in `super::COLUMNS` order without the `-`
/// separator: HAProxy's 103 own fields, then those of the ssl, h2 and h1
/// statistics modules. The index here is the position typed and JSON
/// outputs print.
#[rustfmt::skip]
pub const STAT: &[StatField] = &[
    f("pxname", "KNS", Str, "Proxy name"),
    f("svname", "KNS", Str, "Server name"),
    f("qcur", "MGP", U32, "Number of current queued connections"),
    f("qmax", "MMP", U32, "Highest value of queued connections encountered since process started"),
    f("scur", "MGP", U32, "Number of current sessions on the frontend, backend or server"),
    f("smax", "MMP", U32, "Highest value of current sessions encountered since process started"),
    f("slim", "CLP", U32, "Frontend/listener/server's maxconn, backend's fullconn"),
    f("stot", "MCP", U64, "Total number of sessions since process started"),
    f("bin", "MCP", U64, "Total number of request bytes since process started"),
    f("bout", "MCP", U64, "Total number of response bytes since process started"),
    f("dreq", "MCP", U64, "Total number of denied requests since process started"),
    f("dresp", "MCP", U64, "Total number of denied responses since process started"),
    f("ereq", "MCP", U64, "Total number of invalid requests since process started"),
    f("econ", "MCP", U64, "Total number of failed connections to server since the worker process started"),
    f("eresp", "MCP", U64, "Total number of invalid responses since the worker process started"),
    f("wretr", "MCP", U64, "Total number of server connection retries since the worker process started"),
    f("wredis", "MCP", U64, "Total number of server redispatches due to connection failures since the worker process started"),
    f("status", "SGP", Str, "Frontend/listen status: OPEN/WAITING/FULL/STOP; backend: UP/DOWN; server: last check status"),
    f("weight", "MaP", U32, "Server's effective weight, or sum of active servers' effective weights for a backend"),
    f("act", "SGP", U32, "Total number of active UP servers with a non-zero weight"),
    f("bck", "SGP", U32, "Total number of backup UP servers with a non-zero weight"),
    f("chkfail", "MCP", U64, "Total number of failed individual health checks per server/backend, since the worker process started"),
    f("chkdown", "MCP", U64, "Total number of failed checks causing UP to DOWN server transitions, per server/backend, since the worker process started"),
    f("lastchg", "MAP", U32, "How long ago the last server state changed, in seconds"),
    f("downtime", "MCP", U32, "Total time spent in DOWN state, for server or backend"),
    f("qlimit", "CGS", U32, "Limit on the number of connections in queue, for servers only (maxqueue argument)"),
    f("pid", "KGP", U32, "Relative worker process number (1)"),
    f("iid", "KGS", U32, "Frontend or Backend numeric identifier ('id' setting)"),
    f("sid", "KGS", U32, "Server numeric identifier ('id' setting)"),
    f("throttle", "MaP", U32, "Throttling ratio applied to a server's maxconn and weight during the slowstart period (0 to 100%)"),
    f("lbtot", "MCP", U64, "Total number of requests routed by load balancing since the worker process started (ignores queue pop and stickiness)"),
    f("tracked", "CNS", Str, "Name of the other server this server tracks for its state"),
    f("type", "CGS", U32, "Type of the object (Listener, Frontend, Backend, Server)"),
    f("rate", "MRP", U32, "Total number of sessions processed by this object over the last second (sessions for listeners/frontends, requests for backends/servers)"),
    f("rate_lim", "CLP", U32, "Limit on the number of sessions accepted in a second (frontend only, 'rate-limit sessions' setting)"),
    f("rate_max", "MMP", U32, "Highest value of sessions per second observed since the worker process started"),
    f("check_status", "MOP", Str, "Status report of the server's latest health check, prefixed with '*' if a check is currently in progress"),
    f("check_code", "MOP", U32, "HTTP/SMTP/LDAP status code reported by the latest server health check"),
    f("check_duration", "MDP", U64, "Total duration of the latest server health check, in milliseconds"),
    f("hrsp_1xx", "MCP", U64, "Total number of HTTP responses with status 100-199 returned by this object since the worker process started"),
    f("hrsp_2xx", "MCP", U64, "Total number of HTTP responses with status 200-299 returned by this object since the worker process started"),
    f("hrsp_3xx", "MCP", U64, "Total number of HTTP responses with status 300-399 returned by this object since the worker process started"),
    f("hrsp_4xx", "MCP", U64, "Total number of HTTP responses with status 400-499 returned by this object since the worker process started"),
    f("hrsp_5xx", "MCP", U64, "Total number of HTTP responses with status 500-599 returned by this object since the worker process started"),
    f("hrsp_other", "MCP", U64, "Total number of HTTP responses with status <100, >599 returned by this object since the worker process started (error -1 included)"),
    f("hanafail", "MCP", U64, "Total number of failed checks caused by an 'on-error' directive after an 'observe' condition matched"),
    f("req_rate", "MRP", U32, "Number of HTTP requests processed over the last second on this object"),
    f("req_rate_max", "MMP", U32, "Highest value of http requests observed since the worker process started"),
    f("req_tot", "MCP", U64, "Total number of HTTP requests processed by this object since the worker process started"),
    f("cli_abrt", "MCP", U64, "Total number of requests or connections aborted by the client since the worker process started"),
    f("srv_abrt", "MCP", U64, "Total number of requests or connections aborted by the server since the worker process started"),
    f("comp_in", "MCP", U64, "Total number of bytes submitted to the HTTP compressor for this object since the worker process started"),
    f("comp_out", "MCP", U64, "Total number of bytes emitted by the HTTP compressor for this object since the worker process started"),
    f("comp_byp", "MCP", U64, "Total number of bytes that bypassed HTTP compression for this object since the worker process started (CPU/memory/bandwidth limitation)"),
    f("comp_rsp", "MCP", U64, "Total number of HTTP responses that were compressed for this object since the worker process started"),
    f("lastsess", "MAP", S32, "How long ago some traffic was seen on this object on this worker process, in seconds"),
    f("last_chk", "MOP", Str, "Short description of the latest health check report for this server (see also check_desc)"),
    f("last_agt", "MOP", Str, "Short description of the latest agent check report for this server (see also agent_desc)"),
    f("qtime", "MaP", U32, "Time spent in the queue, in milliseconds, averaged over the 1024 last requests (backend/server)"),
    f("ctime", "MaP", U32, "Time spent waiting for a connection to complete, in milliseconds, averaged over the 1024 last requests (backend/server)"),
    f("rtime", "MaP", U32, "Time spent waiting for a server response, in milliseconds, averaged over the 1024 last requests (backend/server)"),
    f("ttime", "MaP", U32, "Total request+response time (request+queue+connect+response+processing), in milliseconds, averaged over the 1024 last requests (backend/server)"),
    f("agent_status", "MOP", Str, "Status report of the server's latest agent check, prefixed with '*' if a check is currently in progress"),
    f("agent_code", "MOP", U32, "Status code reported by the latest server agent check"),
    f("agent_duration", "MDP", U64, "Total duration of the latest server agent check, in milliseconds"),
    f("check_desc", "MOP", Str, "Textual description of the latest health check report for this server"),
    f("agent_desc", "MOP", Str, "Textual description of the latest agent check report for this server"),
    f("check_rise", "CGS", U32, "Number of successful health checks before declaring a server UP (server 'rise' setting)"),
    f("check_fall", "CGS", U32, "Number of failed health checks before declaring a server DOWN (server 'fall' setting)"),
    f("check_health", "CGS", U32, "Current server health check level (0..fall-1=DOWN, fall..rise-1=UP)"),
    f("agent_rise", "CGS", U32, "Number of successful agent checks before declaring a server UP (server 'rise' setting)"),
    f("agent_fall", "CGS", U32, "Number of failed agent checks before declaring a server DOWN (server 'fall' setting)"),
    f("agent_health", "CGS", U32, "Current server agent check level (0..fall-1=DOWN, fall..rise-1=UP)"),
    f("addr", "CGS", Str, "Server's address:port, shown only if show-legends is set, or at levels oper/admin for the CLI"),
    f("cookie", "CNS", Str, "Backend's cookie name or Server's cookie value, shown only if show-legends is set, or at levels oper/admin for the CLI"),
    f("mode", "CGS", Str, "'mode' setting (tcp/http/health/cli)"),
    f("algo", "CGS", Str, "Backend's load balancing algorithm, shown only if show-legends is set, or at levels oper/admin for the CLI"),
    f("conn_rate", "MRP", U32, "Number of new connections accepted over the last second on the frontend for this worker process"),
    f("conn_rate_max", "MMP", U32, "Highest value of connections per second observed since the worker process started"),
    f("conn_tot", "MCP", U64, "Total number of new connections accepted on this frontend since the worker process started"),
    f("intercepted", "MCP", U64, "Total number of HTTP requests intercepted on the frontend (redirects/stats/services) since the worker process started"),
    f("dcon", "MCP", U64, "Total number of incoming connections blocked on a listener/frontend by a tcp-request connection rule since the worker process started"),
    f("dses", "MCP", U64, "Total number of incoming sessions blocked on a listener/frontend by a tcp-request connection rule since the worker process started"),
    f("wrew", "MCP", U64, "Total number of failed HTTP header rewrites since the worker process started"),
    f("connect", "MCP", U64, "Total number of outgoing connection attempts on this backend/server since the worker process started"),
    f("reuse", "MCP", U64, "Total number of reused connection on this backend/server since the worker process started"),
    f("cache_lookups", "MCP", U64, "Total number of HTTP requests looked up in the cache on this frontend/backend since the worker process started"),
    f("cache_hits", "MCP", U64, "Total number of HTTP requests not found in the cache on this frontend/backend since the worker process started"),
    f("srv_icur", "MGP", U32, "Current number of idle connections available for reuse on this server"),
    f("src_ilim", "CLP", U32, "Limit on the number of available idle connections on this server (server 'pool_max_conn' directive)"),
    f("qtime_max", "MMP", U32, "Maximum observed time spent in the queue, in milliseconds (backend/server)"),
    f("ctime_max", "MMP", U32, "Maximum observed time spent waiting for a connection to complete, in milliseconds (backend/server)"),
    f("rtime_max", "MMP", U32, "Maximum observed time spent waiting for a server response, in milliseconds (backend/server)"),
    f("ttime_max", "MMP", U32, "Maximum observed total request+response time (request+queue+connect+response+processing), in milliseconds (backend/server)"),
    f("eint", "MCP", U64, "Total number of internal errors since process started"),
    f("idle_conn_cur", "MGP", U32, "Current number of unsafe idle connections"),
    f("safe_conn_cur", "MGP", U32, "Current number of safe idle connections"),
    f("used_conn_cur", "MGP", U32, "Current number of connections in use"),
    f("need_conn_est", "MGP", U32, "Estimated needed number of connections"),
    f("uweight", "MaP", U32, "Server's user weight, or sum of active servers' user weights for a backend"),
    f("agg_server_status", "MGP", U32, "Backend's aggregated gauge of servers' status"),
    f("agg_server_check_status", "MGP", U32, "Backend's aggregated gauge of servers' state check status"),
    f("agg_check_status", "MGP", U32, "Backend's aggregated gauge of servers' state check status"),
    f("ssl_sess", "MCP", U64, "Total number of ssl sessions established"),
    f("ssl_reused_sess", "MCP", U64, "Total number of ssl sessions reused"),
    f("ssl_failed_handshake", "MCP", U64, "Total number of failed handshake"),
    f("h2_headers_rcvd", "MCP", U64, "Total number of received HEADERS frames"),
    f("h2_data_rcvd", "MCP", U64, "Total number of received DATA frames"),
    f("h2_settings_rcvd", "MCP", U64, "Total number of received SETTINGS frames"),
    f("h2_rst_stream_rcvd", "MCP", U64, "Total number of received RST_STREAM frames"),
    f("h2_goaway_rcvd", "MCP", U64, "Total number of received GOAWAY frames"),
    f("h2_detected_conn_protocol_errors", "MCP", U64, "Total number of connection protocol errors"),
    f("h2_detected_strm_protocol_errors", "MCP", U64, "Total number of stream protocol errors"),
    f("h2_rst_stream_resp", "MCP", U64, "Total number of RST_STREAM sent on detected error"),
    f("h2_goaway_resp", "MCP", U64, "Total number of GOAWAY sent on detected error"),
    f("h2_open_connections", "MGP", U64, "Count of currently open connections"),
    f("h2_backend_open_streams", "MGP", U64, "Count of currently open streams"),
    f("h2_total_connections", "MCP", U64, "Total number of connections"),
    f("h2_backend_total_streams", "MCP", U64, "Total number of streams"),
    f("h1_open_connections", "MGP", U64, "Count of currently open connections"),
    f("h1_open_streams", "MGP", U64, "Count of currently open streams"),
    f("h1_total_connections", "MCP", U64, "Total number of connections"),
    f("h1_total_streams", "MCP", U64, "Total number of streams"),
    f("h1_bytes_in", "MCP", U64, "Total number of bytes received"),
    f("h1_bytes_out", "MCP", U64, "Total number of bytes send"),
    f("h1_spliced_bytes_in", "MCP", U64, "Total number of bytes received using kernel splicing"),
    f("h1_spliced_bytes_out", "MCP", U64, "Total number of bytes sendusing kernel splicing"),
];

/// Position of the first statistics module field: the CSV's `-` column
/// holds this place in `super::COLUMNS` but is no field of its own.
pub const MODULES_POS: usize = 103;

/// The field a `COLUMNS` index shows, with its position, or `None` for
/// the `-` separator.
pub fn stat_field(col: usize) -> Option<(usize, &'static StatField)> {
    let pos = match col {
        c if c < MODULES_POS => c,
        MODULES_POS => return None,
        c => c - 1,
    };
    STAT.get(pos).map(|f| (pos, f))
}

/// The type and tags of column `col` in a row of kind `kind`: a backend
/// reports `act`, `bck`, `rate` and `rate_max` as plain gauges
/// (`mkf_u32(0, …)` in `stats_fill_be_stats`), every other object as the
/// table says.
pub fn stat_meta(f: &StatField, kind: RowType) -> Meta {
    if kind == RowType::Backend && matches!(f.name, "act" | "bck" | "rate" | "rate_max") {
        return Meta {
            tags: "MGP",
            ty: U32,
        };
    }
    f.meta
}

/// One `show info` field: its position (HAProxy's `INF_*` number), name,
/// type and tags, those it takes with `float`, description.
pub struct InfoField {
    pub pos: usize,
    pub name: &'static str,
    pub meta: Meta,
    /// Tags when `show info float` turns the value into a float
    /// (`STAT_USE_FLOAT`); `None` for fields that stay integers.
    pub float_tags: Option<&'static str>,
    pub desc: &'static str,
}

const fn i(
    pos: usize,
    name: &'static str,
    tags: &'static str,
    ty: Ty,
    float_tags: Option<&'static str>,
    desc: &'static str,
) -> InfoField {
    InfoField {
        pos,
        name,
        meta: Meta { tags, ty },
        float_tags,
        desc,
    }
}

/// The fields of `show info`, in HAProxy's `INF_*` order (which is also
/// the order the plain form prints). `ZlibMemUsage` and
/// `MaxZlibMemUsage` exist only in HAProxy builds with zlib; Debian's
/// (with libslz) omits them, as rproxy does.
#[rustfmt::skip]
pub const INFO: &[InfoField] = &[
    i(0, "Name", "POS", Str, None, "Product name"),
    i(1, "Version", "POS", Str, None, "Product version"),
    i(2, "Release_date", "POS", Str, None, "Date of latest source code update"),
    i(3, "Nbthread", "CGS", U32, None, "Number of started threads (global.nbthread)"),
    i(4, "Nbproc", "CGS", U32, None, "Number of started worker processes (historical, always 1)"),
    i(5, "Process_num", "KGP", U32, None, "Relative worker process number (1)"),
    i(6, "Pid", "SGP", U32, None, "This worker process identifier for the system"),
    i(7, "Uptime", "MDP", Str, None, "How long ago this worker process was started (days+hours+minutes+seconds)"),
    i(8, "Uptime_sec", "MDP", U32, Some("MDP"), "How long ago this worker process was started (seconds)"),
    i(9, "Memmax_MB", "CLP", U32, None, "Worker process's hard limit on memory usage in MB (-m on command line)"),
    i(10, "PoolAlloc_MB", "MGP", U32, None, "Amount of memory allocated in pools (in MB)"),
    i(11, "PoolUsed_MB", "MGP", U32, None, "Amount of pool memory currently used (in MB)"),
    i(12, "PoolFailed", "MCP", U32, None, "Number of failed pool allocations since this worker was started"),
    i(13, "Ulimit-n", "CLP", U32, None, "Hard limit on the number of per-process file descriptors"),
    i(14, "Maxsock", "CLP", U32, None, "Hard limit on the number of per-process sockets"),
    i(15, "Maxconn", "CLP", U32, None, "Hard limit on the number of per-process connections (configured or imposed by Ulimit-n)"),
    i(16, "Hard_maxconn", "CLP", U32, None, "Hard limit on the number of per-process connections (imposed by Memmax_MB or Ulimit-n)"),
    i(17, "CurrConns", "MGP", U32, None, "Current number of connections on this worker process"),
    i(18, "CumConns", "MCP", U32, None, "Total number of connections on this worker process since started"),
    i(19, "CumReq", "MCP", U32, None, "Total number of requests on this worker process since started"),
    i(20, "MaxSslConns", "MMP", U32, None, "Hard limit on the number of per-process SSL endpoints (front+back), 0=unlimited"),
    i(21, "CurrSslConns", "MGP", U32, None, "Current number of SSL endpoints on this worker process (front+back)"),
    i(22, "CumSslConns", "MCP", U32, None, "Total number of SSL endpoints on this worker process since started (front+back)"),
    i(23, "Maxpipes", "CLP", U32, None, "Hard limit on the number of pipes for splicing, 0=unlimited"),
    i(24, "PipesUsed", "MGP", U32, None, "Current number of pipes in use in this worker process"),
    i(25, "PipesFree", "MGP", U32, None, "Current number of allocated and available pipes in this worker process"),
    i(26, "ConnRate", "MRP", U32, Some("MRP"), "Number of front connections created on this worker process over the last second"),
    i(27, "ConnRateLimit", "CLP", U32, None, "Hard limit for ConnRate (global.maxconnrate)"),
    i(28, "MaxConnRate", "MMP", U32, None, "Highest ConnRate reached on this worker process since started (in connections per second)"),
    i(29, "SessRate", "MRP", U32, Some("MRP"), "Number of sessions created on this worker process over the last second"),
    i(30, "SessRateLimit", "CLP", U32, None, "Hard limit for SessRate (global.maxsessrate)"),
    i(31, "MaxSessRate", "MRP", U32, None, "Highest SessRate reached on this worker process since started (in sessions per second)"),
    i(32, "SslRate", "MRP", U32, Some("MRP"), "Number of SSL connections created on this worker process over the last second"),
    i(33, "SslRateLimit", "CLP", U32, None, "Hard limit for SslRate (global.maxsslrate)"),
    i(34, "MaxSslRate", "MMP", U32, None, "Highest SslRate reached on this worker process since started (in connections per second)"),
    i(35, "SslFrontendKeyRate", "MGP", U32, Some("MRP"), "Number of SSL keys created on frontends in this worker process over the last second"),
    i(36, "SslFrontendMaxKeyRate", "MMP", U32, None, "Highest SslFrontendKeyRate reached on this worker process since started (in SSL keys per second)"),
    i(37, "SslFrontendSessionReuse_pct", "MGP", U32, Some("MRP"), "Percent of frontend SSL connections which did not require a new key"),
    i(38, "SslBackendKeyRate", "MRP", U32, Some("MRP"), "Number of SSL keys created on backends in this worker process over the last second"),
    i(39, "SslBackendMaxKeyRate", "MMP", U32, None, "Highest SslBackendKeyRate reached on this worker process since started (in SSL keys per second)"),
    i(40, "SslCacheLookups", "MCP", U32, None, "Total number of SSL session ID lookups in the SSL session cache on this worker since started"),
    i(41, "SslCacheMisses", "MCP", U32, None, "Total number of SSL session ID lookups that didn't find a session in the SSL session cache on this worker since started"),
    i(42, "CompressBpsIn", "MRP", U32, Some("MRP"), "Number of bytes submitted to the HTTP compressor in this worker process over the last second"),
    i(43, "CompressBpsOut", "MRP", U32, Some("MRP"), "Number of bytes emitted by the HTTP compressor in this worker process over the last second"),
    i(44, "CompressBpsRateLim", "CLP", U32, None, "Limit of CompressBpsOut beyond which HTTP compression is automatically disabled"),
    i(45, "ZlibMemUsage", "MGP", U32, None, "Amount of memory currently used by HTTP compression on the current worker process (in bytes)"),
    i(46, "MaxZlibMemUsage", "CLP", U32, None, "Limit on the amount of memory used by HTTP compression above which it is automatically disabled (in bytes, see global.maxzlibmem)"),
    i(47, "Tasks", "MGP", U32, None, "Total number of tasks in the current worker process (active + sleeping)"),
    i(48, "Run_queue", "MGP", U32, None, "Total number of active tasks+tasklets in the current worker process"),
    i(49, "Idle_pct", "MaP", U32, None, "Percentage of last second spent waiting in the current worker thread"),
    i(50, "node", "COS", Str, None, "Node name (global.node)"),
    i(51, "description", "COS", Str, None, "Node description (global.description)"),
    i(52, "Stopping", "MGP", U32, None, "1 if the worker process is currently stopping, otherwise zero"),
    i(53, "Jobs", "MGP", U32, None, "Current number of active jobs on the current worker process (frontend connections, master connections, listeners)"),
    i(54, "Unstoppable Jobs", "MGP", U32, None, "Current number of unstoppable jobs on the current worker process (master connections)"),
    i(55, "Listeners", "MGP", U32, None, "Current number of active listeners on the current worker process"),
    i(56, "ActivePeers", "MGP", U32, None, "Current number of verified active peers connections on the current worker process"),
    i(57, "ConnectedPeers", "MGP", U32, None, "Current number of peers having passed the connection step on the current worker process"),
    i(58, "DroppedLogs", "MGP", U32, None, "Total number of dropped logs for current worker process since started"),
    i(59, "BusyPolling", "MGP", U32, None, "1 if busy-polling is currently in use on the worker process, otherwise zero (config.busy-polling)"),
    i(60, "FailedResolutions", "MGP", U32, None, "Total number of failed DNS resolutions in current worker process since started"),
    i(61, "TotalBytesOut", "MGP", U64, None, "Total number of bytes emitted by current worker process since started"),
    i(62, "TotalSplicdedBytesOut", "MGP", U64, None, "Total number of bytes emitted by current worker process through a kernel pipe since started"),
    i(63, "BytesOutRate", "MRP", U64, None, "Number of bytes emitted by current worker process over the last second"),
    i(64, "DebugCommandsIssued", "MGP", U32, None, "Number of debug commands issued on this process (anything > 0 is unsafe)"),
    i(65, "CumRecvLogs", "MCP", U32, None, "Total number of log messages received by log-forwarding listeners on this worker process since started"),
    i(66, "Build info", "POS", Str, None, "Build info"),
    i(67, "Memmax_bytes", "CLP", U32, None, "Worker process's hard limit on memory usage in byes (-m on command line)"),
    i(68, "PoolAlloc_bytes", "MGP", U64, None, "Amount of memory allocated in pools (in bytes)"),
    i(69, "PoolUsed_bytes", "MGP", U64, None, "Amount of pool memory currently used (in bytes)"),
    i(70, "Start_time_sec", "MDP", U32, Some("MDP"), "Start time in seconds"),
    i(71, "Tainted", "SGP", Str, None, "Experimental features used"),
];

/// The description of `show info` field `name`.
pub fn info_field(name: &str) -> Option<&'static InfoField> {
    INFO.iter().find(|f| f.name == name)
}

/// Type and tags of an info field, as printed with or without `float`.
pub fn info_meta(f: &InfoField, float: bool) -> Meta {
    match f.float_tags {
        Some(tags) if float => Meta { tags, ty: Ty::Flt },
        _ => f.meta,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_table_follows_the_csv_columns() {
        for (c, name) in super::super::COLUMNS.iter().enumerate() {
            match stat_field(c) {
                Some((_, f)) => assert_eq!(f.name, *name, "column {c}"),
                None => assert_eq!(*name, "-"),
            }
        }
        assert_eq!(STAT.len() + 1, super::super::COLUMNS.len());
    }

    #[test]
    fn info_positions_are_haproxy_numbers() {
        for (k, f) in INFO.iter().enumerate() {
            assert_eq!(f.pos, k);
        }
        assert_eq!(info_field("Tainted").map(|f| f.pos), Some(71));
    }

    #[test]
    fn tags_spell_out() {
        assert_eq!(tag_names("KNS"), ["Key", "Name", "Service"]);
        assert_eq!(tag_names("MaP"), ["Metric", "Avg", "Process"]);
    }
}
