//! HAProxy 2.6's Prometheus exporter tables (`addons/promex/
//! service-prometheus.c`): which `show info` key and which `show stat`
//! column each metric reads, its name, type and HELP text, and the
//! entities it is emitted for. Both lists keep HAProxy's enum order
//! (`INF_*`, `ST_F_*`), which is the order of the exposition. HELP texts
//! are HAProxy's `info_fields[]` / `stat_fields[]` descriptions, or
//! promex's own where it overrides them.

/// The Prometheus metric type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Gauge,
    Counter,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Gauge => "gauge",
            Kind::Counter => "counter",
        }
    }
}

use Kind::{Counter, Gauge};

/// A process-wide metric (`haproxy_process_*`), read from `show info`.
pub struct InfoMetric {
    /// The `show info` key.
    pub key: &'static str,
    pub name: &'static str,
    pub kind: Kind,
    pub help: &'static str,
}

/// Entities a proxy metric is emitted for (promex's `PROMEX_FL_*_METRIC`).
pub const FE: u8 = 1;
pub const LI: u8 = 2;
pub const BE: u8 = 4;
pub const SRV: u8 = 8;

/// A per-proxy metric, read from a `show stat` column.
pub struct StatMetric {
    pub column: &'static str,
    pub name: &'static str,
    pub kind: Kind,
    /// `FE | LI | BE | SRV`.
    pub on: u8,
    pub help: &'static str,
}

/// Stick-table metrics (`haproxy_sticktable_*`).
pub const STICKTABLE: &[(&str, &str)] = &[
    ("size", "Stick table size."),
    ("used", "Number of entries used in this stick table."),
];

#[rustfmt::skip]
pub const GLOBAL: &[InfoMetric] = &[
    InfoMetric { key: "Nbthread", name: "nbthread", kind: Gauge, help: "Number of started threads (global.nbthread)" },
    InfoMetric { key: "Nbproc", name: "nbproc", kind: Gauge, help: "Number of started worker processes (historical, always 1)" },
    InfoMetric { key: "Process_num", name: "relative_process_id", kind: Gauge, help: "Relative worker process number (1)" },
    InfoMetric { key: "Uptime_sec", name: "uptime_seconds", kind: Gauge, help: "How long ago this worker process was started (seconds)" },
    InfoMetric { key: "PoolFailed", name: "pool_failures_total", kind: Counter, help: "Number of failed pool allocations since this worker was started" },
    InfoMetric { key: "Ulimit-n", name: "max_fds", kind: Gauge, help: "Hard limit on the number of per-process file descriptors" },
    InfoMetric { key: "Maxsock", name: "max_sockets", kind: Gauge, help: "Hard limit on the number of per-process sockets" },
    InfoMetric { key: "Maxconn", name: "max_connections", kind: Gauge, help: "Hard limit on the number of per-process connections (configured or imposed by Ulimit-n)" },
    InfoMetric { key: "Hard_maxconn", name: "hard_max_connections", kind: Gauge, help: "Hard limit on the number of per-process connections (imposed by Memmax_MB or Ulimit-n)" },
    InfoMetric { key: "CurrConns", name: "current_connections", kind: Gauge, help: "Current number of connections on this worker process" },
    InfoMetric { key: "CumConns", name: "connections_total", kind: Counter, help: "Total number of connections on this worker process since started" },
    InfoMetric { key: "CumReq", name: "requests_total", kind: Counter, help: "Total number of requests on this worker process since started" },
    InfoMetric { key: "MaxSslConns", name: "max_ssl_connections", kind: Gauge, help: "Hard limit on the number of per-process SSL endpoints (front+back), 0=unlimited" },
    InfoMetric { key: "CurrSslConns", name: "current_ssl_connections", kind: Gauge, help: "Current number of SSL endpoints on this worker process (front+back)" },
    InfoMetric { key: "CumSslConns", name: "ssl_connections_total", kind: Counter, help: "Total number of SSL endpoints on this worker process since started (front+back)" },
    InfoMetric { key: "Maxpipes", name: "max_pipes", kind: Gauge, help: "Hard limit on the number of pipes for splicing, 0=unlimited" },
    InfoMetric { key: "PipesUsed", name: "pipes_used_total", kind: Counter, help: "Current number of pipes in use in this worker process" },
    InfoMetric { key: "PipesFree", name: "pipes_free_total", kind: Counter, help: "Current number of allocated and available pipes in this worker process" },
    InfoMetric { key: "ConnRate", name: "current_connection_rate", kind: Gauge, help: "Number of front connections created on this worker process over the last second" },
    InfoMetric { key: "ConnRateLimit", name: "limit_connection_rate", kind: Gauge, help: "Hard limit for ConnRate (global.maxconnrate)" },
    InfoMetric { key: "MaxConnRate", name: "max_connection_rate", kind: Gauge, help: "Highest ConnRate reached on this worker process since started (in connections per second)" },
    InfoMetric { key: "SessRate", name: "current_session_rate", kind: Gauge, help: "Number of sessions created on this worker process over the last second" },
    InfoMetric { key: "SessRateLimit", name: "limit_session_rate", kind: Gauge, help: "Hard limit for SessRate (global.maxsessrate)" },
    InfoMetric { key: "MaxSessRate", name: "max_session_rate", kind: Gauge, help: "Highest SessRate reached on this worker process since started (in sessions per second)" },
    InfoMetric { key: "SslRate", name: "current_ssl_rate", kind: Gauge, help: "Number of SSL connections created on this worker process over the last second" },
    InfoMetric { key: "SslRateLimit", name: "limit_ssl_rate", kind: Gauge, help: "Hard limit for SslRate (global.maxsslrate)" },
    InfoMetric { key: "MaxSslRate", name: "max_ssl_rate", kind: Gauge, help: "Highest SslRate reached on this worker process since started (in connections per second)" },
    InfoMetric { key: "SslFrontendKeyRate", name: "current_frontend_ssl_key_rate", kind: Gauge, help: "Number of SSL keys created on frontends in this worker process over the last second" },
    InfoMetric { key: "SslFrontendMaxKeyRate", name: "max_frontend_ssl_key_rate", kind: Gauge, help: "Highest SslFrontendKeyRate reached on this worker process since started (in SSL keys per second)" },
    InfoMetric { key: "SslFrontendSessionReuse_pct", name: "frontend_ssl_reuse", kind: Gauge, help: "Percent of frontend SSL connections which did not require a new key" },
    InfoMetric { key: "SslBackendKeyRate", name: "current_backend_ssl_key_rate", kind: Gauge, help: "Number of SSL keys created on backends in this worker process over the last second" },
    InfoMetric { key: "SslBackendMaxKeyRate", name: "max_backend_ssl_key_rate", kind: Gauge, help: "Highest SslBackendKeyRate reached on this worker process since started (in SSL keys per second)" },
    InfoMetric { key: "SslCacheLookups", name: "ssl_cache_lookups_total", kind: Counter, help: "Total number of SSL session ID lookups in the SSL session cache on this worker since started" },
    InfoMetric { key: "SslCacheMisses", name: "ssl_cache_misses_total", kind: Counter, help: "Total number of SSL session ID lookups that didn't find a session in the SSL session cache on this worker since started" },
    InfoMetric { key: "CompressBpsIn", name: "http_comp_bytes_in_total", kind: Counter, help: "Number of bytes submitted to the HTTP compressor in this worker process over the last second" },
    InfoMetric { key: "CompressBpsOut", name: "http_comp_bytes_out_total", kind: Counter, help: "Number of bytes emitted by the HTTP compressor in this worker process over the last second" },
    InfoMetric { key: "CompressBpsRateLim", name: "limit_http_comp", kind: Gauge, help: "Limit of CompressBpsOut beyond which HTTP compression is automatically disabled" },
    InfoMetric { key: "ZlibMemUsage", name: "current_zlib_memory", kind: Gauge, help: "Amount of memory currently used by HTTP compression on the current worker process (in bytes)" },
    InfoMetric { key: "MaxZlibMemUsage", name: "max_zlib_memory", kind: Gauge, help: "Limit on the amount of memory used by HTTP compression above which it is automatically disabled (in bytes, see global.maxzlibmem)" },
    InfoMetric { key: "Tasks", name: "current_tasks", kind: Gauge, help: "Total number of tasks in the current worker process (active + sleeping)" },
    InfoMetric { key: "Run_queue", name: "current_run_queue", kind: Gauge, help: "Total number of active tasks+tasklets in the current worker process" },
    InfoMetric { key: "Idle_pct", name: "idle_time_percent", kind: Gauge, help: "Percentage of last second spent waiting in the current worker thread" },
    InfoMetric { key: "Stopping", name: "stopping", kind: Gauge, help: "1 if the worker process is currently stopping, otherwise zero" },
    InfoMetric { key: "Jobs", name: "jobs", kind: Gauge, help: "Current number of active jobs on the current worker process (frontend connections, master connections, listeners)" },
    InfoMetric { key: "Unstoppable Jobs", name: "unstoppable_jobs", kind: Gauge, help: "Current number of unstoppable jobs on the current worker process (master connections)" },
    InfoMetric { key: "Listeners", name: "listeners", kind: Gauge, help: "Current number of active listeners on the current worker process" },
    InfoMetric { key: "ActivePeers", name: "active_peers", kind: Gauge, help: "Current number of verified active peers connections on the current worker process" },
    InfoMetric { key: "ConnectedPeers", name: "connected_peers", kind: Gauge, help: "Current number of peers having passed the connection step on the current worker process" },
    InfoMetric { key: "DroppedLogs", name: "dropped_logs_total", kind: Counter, help: "Total number of dropped logs for current worker process since started" },
    InfoMetric { key: "BusyPolling", name: "busy_polling_enabled", kind: Gauge, help: "1 if busy-polling is currently in use on the worker process, otherwise zero (config.busy-polling)" },
    InfoMetric { key: "FailedResolutions", name: "failed_resolutions", kind: Counter, help: "Total number of failed DNS resolutions in current worker process since started" },
    InfoMetric { key: "TotalBytesOut", name: "bytes_out_total", kind: Counter, help: "Total number of bytes emitted by current worker process since started" },
    InfoMetric { key: "TotalSplicdedBytesOut", name: "spliced_bytes_out_total", kind: Counter, help: "Total number of bytes emitted by current worker process through a kernel pipe since started" },
    InfoMetric { key: "BytesOutRate", name: "bytes_out_rate", kind: Gauge, help: "Number of bytes emitted by current worker process over the last second" },
    InfoMetric { key: "CumRecvLogs", name: "recv_logs_total", kind: Counter, help: "Total number of log messages received by log-forwarding listeners on this worker process since started" },
    InfoMetric { key: "Build info", name: "build_info", kind: Gauge, help: "Build info" },
    InfoMetric { key: "Memmax_bytes", name: "max_memory_bytes", kind: Gauge, help: "Worker process's hard limit on memory usage in byes (-m on command line)" },
    InfoMetric { key: "PoolAlloc_bytes", name: "pool_allocated_bytes", kind: Gauge, help: "Amount of memory allocated in pools (in bytes)" },
    InfoMetric { key: "PoolUsed_bytes", name: "pool_used_bytes", kind: Gauge, help: "Amount of pool memory currently used (in bytes)" },
    InfoMetric { key: "Start_time_sec", name: "start_time_seconds", kind: Gauge, help: "Start time in seconds" },
];

#[rustfmt::skip]
pub const PROXY: &[StatMetric] = &[
    StatMetric { column: "qcur", name: "current_queue", kind: Gauge, on: BE|SRV, help: "Number of current queued connections" },
    StatMetric { column: "qmax", name: "max_queue", kind: Gauge, on: BE|SRV, help: "Highest value of queued connections encountered since process started" },
    StatMetric { column: "scur", name: "current_sessions", kind: Gauge, on: FE|LI|BE|SRV, help: "Number of current sessions on the frontend, backend or server" },
    StatMetric { column: "smax", name: "max_sessions", kind: Gauge, on: FE|LI|BE|SRV, help: "Highest value of current sessions encountered since process started" },
    StatMetric { column: "slim", name: "limit_sessions", kind: Gauge, on: FE|LI|BE|SRV, help: "Frontend/listener/server's maxconn, backend's fullconn" },
    StatMetric { column: "stot", name: "sessions_total", kind: Counter, on: FE|LI|BE|SRV, help: "Total number of sessions since process started" },
    StatMetric { column: "bin", name: "bytes_in_total", kind: Counter, on: FE|LI|BE|SRV, help: "Total number of request bytes since process started" },
    StatMetric { column: "bout", name: "bytes_out_total", kind: Counter, on: FE|LI|BE|SRV, help: "Total number of response bytes since process started" },
    StatMetric { column: "dreq", name: "requests_denied_total", kind: Counter, on: FE|LI|BE, help: "Total number of denied requests since process started" },
    StatMetric { column: "dresp", name: "responses_denied_total", kind: Counter, on: FE|LI|BE|SRV, help: "Total number of denied responses since process started" },
    StatMetric { column: "ereq", name: "request_errors_total", kind: Counter, on: FE|LI, help: "Total number of invalid requests since process started" },
    StatMetric { column: "econ", name: "connection_errors_total", kind: Counter, on: BE|SRV, help: "Total number of failed connections to server since the worker process started" },
    StatMetric { column: "eresp", name: "response_errors_total", kind: Counter, on: BE|SRV, help: "Total number of invalid responses since the worker process started" },
    StatMetric { column: "wretr", name: "retry_warnings_total", kind: Counter, on: BE|SRV, help: "Total number of server connection retries since the worker process started" },
    StatMetric { column: "wredis", name: "redispatch_warnings_total", kind: Counter, on: BE|SRV, help: "Total number of server redispatches due to connection failures since the worker process started" },
    StatMetric { column: "status", name: "status", kind: Gauge, on: FE|LI|BE|SRV, help: "Current status of the service, per state label value." },
    StatMetric { column: "weight", name: "weight", kind: Gauge, on: BE|SRV, help: "Server's effective weight, or sum of active servers' effective weights for a backend" },
    StatMetric { column: "act", name: "active_servers", kind: Gauge, on: BE, help: "Total number of active UP servers with a non-zero weight" },
    StatMetric { column: "bck", name: "backup_servers", kind: Gauge, on: BE, help: "Total number of backup UP servers with a non-zero weight" },
    StatMetric { column: "chkfail", name: "check_failures_total", kind: Counter, on: SRV, help: "Total number of failed individual health checks per server/backend, since the worker process started" },
    StatMetric { column: "chkdown", name: "check_up_down_total", kind: Counter, on: BE|SRV, help: "Total number of failed checks causing UP to DOWN server transitions, per server/backend, since the worker process started" },
    StatMetric { column: "lastchg", name: "check_last_change_seconds", kind: Gauge, on: BE|SRV, help: "How long ago the last server state changed, in seconds" },
    StatMetric { column: "downtime", name: "downtime_seconds_total", kind: Counter, on: BE|SRV, help: "Total time spent in DOWN state, for server or backend" },
    StatMetric { column: "qlimit", name: "queue_limit", kind: Gauge, on: SRV, help: "Limit on the number of connections in queue, for servers only (maxqueue argument)" },
    StatMetric { column: "throttle", name: "current_throttle", kind: Gauge, on: SRV, help: "Throttling ratio applied to a server's maxconn and weight during the slowstart period (0 to 100%)" },
    StatMetric { column: "lbtot", name: "loadbalanced_total", kind: Counter, on: BE|SRV, help: "Total number of requests routed by load balancing since the worker process started (ignores queue pop and stickiness)" },
    StatMetric { column: "rate_lim", name: "limit_session_rate", kind: Gauge, on: FE, help: "Limit on the number of sessions accepted in a second (frontend only, 'rate-limit sessions' setting)" },
    StatMetric { column: "rate_max", name: "max_session_rate", kind: Gauge, on: FE|BE|SRV, help: "Highest value of sessions per second observed since the worker process started" },
    StatMetric { column: "check_status", name: "check_status", kind: Gauge, on: SRV, help: "Status of last health check, per state label value." },
    StatMetric { column: "check_code", name: "check_code", kind: Gauge, on: SRV, help: "layer5-7 code, if available of the last health check." },
    StatMetric { column: "check_duration", name: "check_duration_seconds", kind: Gauge, on: SRV, help: "Total duration of the latest server health check, in seconds." },
    StatMetric { column: "hrsp_1xx", name: "http_responses_total", kind: Counter, on: FE|BE|SRV, help: "Total number of HTTP responses with status 100-199 returned by this object since the worker process started" },
    StatMetric { column: "hrsp_2xx", name: "http_responses_total", kind: Counter, on: FE|BE|SRV, help: "Total number of HTTP responses with status 200-299 returned by this object since the worker process started" },
    StatMetric { column: "hrsp_3xx", name: "http_responses_total", kind: Counter, on: FE|BE|SRV, help: "Total number of HTTP responses with status 300-399 returned by this object since the worker process started" },
    StatMetric { column: "hrsp_4xx", name: "http_responses_total", kind: Counter, on: FE|BE|SRV, help: "Total number of HTTP responses with status 400-499 returned by this object since the worker process started" },
    StatMetric { column: "hrsp_5xx", name: "http_responses_total", kind: Counter, on: FE|BE|SRV, help: "Total number of HTTP responses with status 500-599 returned by this object since the worker process started" },
    StatMetric { column: "hrsp_other", name: "http_responses_total", kind: Counter, on: FE|BE|SRV, help: "Total number of HTTP responses with status <100, >599 returned by this object since the worker process started (error -1 included)" },
    StatMetric { column: "req_rate_max", name: "http_requests_rate_max", kind: Gauge, on: FE, help: "Highest value of http requests observed since the worker process started" },
    StatMetric { column: "req_tot", name: "http_requests_total", kind: Counter, on: FE|BE, help: "Total number of HTTP requests processed by this object since the worker process started" },
    StatMetric { column: "cli_abrt", name: "client_aborts_total", kind: Counter, on: BE|SRV, help: "Total number of requests or connections aborted by the client since the worker process started" },
    StatMetric { column: "srv_abrt", name: "server_aborts_total", kind: Counter, on: BE|SRV, help: "Total number of requests or connections aborted by the server since the worker process started" },
    StatMetric { column: "comp_in", name: "http_comp_bytes_in_total", kind: Counter, on: FE|BE, help: "Total number of bytes submitted to the HTTP compressor for this object since the worker process started" },
    StatMetric { column: "comp_out", name: "http_comp_bytes_out_total", kind: Counter, on: FE|BE, help: "Total number of bytes emitted by the HTTP compressor for this object since the worker process started" },
    StatMetric { column: "comp_byp", name: "http_comp_bytes_bypassed_total", kind: Counter, on: FE|BE, help: "Total number of bytes that bypassed HTTP compression for this object since the worker process started (CPU/memory/bandwidth limitation)" },
    StatMetric { column: "comp_rsp", name: "http_comp_responses_total", kind: Counter, on: FE|BE, help: "Total number of HTTP responses that were compressed for this object since the worker process started" },
    StatMetric { column: "lastsess", name: "last_session_seconds", kind: Gauge, on: BE|SRV, help: "How long ago some traffic was seen on this object on this worker process, in seconds" },
    StatMetric { column: "qtime", name: "queue_time_average_seconds", kind: Gauge, on: BE|SRV, help: "Avg. queue time for last 1024 successful connections." },
    StatMetric { column: "ctime", name: "connect_time_average_seconds", kind: Gauge, on: BE|SRV, help: "Avg. connect time for last 1024 successful connections." },
    StatMetric { column: "rtime", name: "response_time_average_seconds", kind: Gauge, on: BE|SRV, help: "Avg. response time for last 1024 successful connections." },
    StatMetric { column: "ttime", name: "total_time_average_seconds", kind: Gauge, on: BE|SRV, help: "Avg. total time for last 1024 successful connections." },
    StatMetric { column: "conn_rate_max", name: "connections_rate_max", kind: Gauge, on: FE, help: "Highest value of connections per second observed since the worker process started" },
    StatMetric { column: "conn_tot", name: "connections_total", kind: Counter, on: FE, help: "Total number of new connections accepted on this frontend since the worker process started" },
    StatMetric { column: "intercepted", name: "intercepted_requests_total", kind: Counter, on: FE, help: "Total number of HTTP requests intercepted on the frontend (redirects/stats/services) since the worker process started" },
    StatMetric { column: "dcon", name: "denied_connections_total", kind: Counter, on: FE|LI, help: "Total number of incoming connections blocked on a listener/frontend by a tcp-request connection rule since the worker process started" },
    StatMetric { column: "dses", name: "denied_sessions_total", kind: Counter, on: FE|LI, help: "Total number of incoming sessions blocked on a listener/frontend by a tcp-request connection rule since the worker process started" },
    StatMetric { column: "wrew", name: "failed_header_rewriting_total", kind: Counter, on: FE|LI|BE|SRV, help: "Total number of failed HTTP header rewrites since the worker process started" },
    StatMetric { column: "connect", name: "connection_attempts_total", kind: Counter, on: BE|SRV, help: "Total number of outgoing connection attempts on this backend/server since the worker process started" },
    StatMetric { column: "reuse", name: "connection_reuses_total", kind: Counter, on: BE|SRV, help: "Total number of reused connection on this backend/server since the worker process started" },
    StatMetric { column: "cache_lookups", name: "http_cache_lookups_total", kind: Counter, on: FE|BE, help: "Total number of HTTP requests looked up in the cache on this frontend/backend since the worker process started" },
    StatMetric { column: "cache_hits", name: "http_cache_hits_total", kind: Counter, on: FE|BE, help: "Total number of HTTP requests not found in the cache on this frontend/backend since the worker process started" },
    StatMetric { column: "srv_icur", name: "idle_connections_current", kind: Gauge, on: SRV, help: "Current number of idle connections available for reuse on this server" },
    StatMetric { column: "src_ilim", name: "idle_connections_limit", kind: Gauge, on: SRV, help: "Limit on the number of available idle connections on this server (server 'pool_max_conn' directive)" },
    StatMetric { column: "qtime_max", name: "max_queue_time_seconds", kind: Gauge, on: BE|SRV, help: "Maximum observed time spent in the queue" },
    StatMetric { column: "ctime_max", name: "max_connect_time_seconds", kind: Gauge, on: BE|SRV, help: "Maximum observed time spent waiting for a connection to complete" },
    StatMetric { column: "rtime_max", name: "max_response_time_seconds", kind: Gauge, on: BE|SRV, help: "Maximum observed time spent waiting for a server response" },
    StatMetric { column: "ttime_max", name: "max_total_time_seconds", kind: Gauge, on: BE|SRV, help: "Maximum observed total request+response time (request+queue+connect+response+processing)" },
    StatMetric { column: "eint", name: "internal_errors_total", kind: Counter, on: FE|LI|BE|SRV, help: "Total number of internal errors since process started" },
    StatMetric { column: "idle_conn_cur", name: "unsafe_idle_connections_current", kind: Gauge, on: SRV, help: "Current number of unsafe idle connections" },
    StatMetric { column: "safe_conn_cur", name: "safe_idle_connections_current", kind: Gauge, on: SRV, help: "Current number of safe idle connections" },
    StatMetric { column: "used_conn_cur", name: "used_connections_current", kind: Gauge, on: SRV, help: "Current number of connections in use" },
    StatMetric { column: "need_conn_est", name: "need_connections_current", kind: Gauge, on: SRV, help: "Estimated needed number of connections" },
    StatMetric { column: "uweight", name: "uweight", kind: Gauge, on: BE|SRV, help: "Server's user weight, or sum of active servers' user weights for a backend" },
    StatMetric { column: "agg_server_status", name: "agg_server_status", kind: Gauge, on: BE, help: "Backend's aggregated gauge of servers' status" },
    StatMetric { column: "agg_server_check_status", name: "agg_server_check_status", kind: Gauge, on: BE, help: "Backend's aggregated gauge of servers' state check status" },
    StatMetric { column: "agg_check_status", name: "agg_check_status", kind: Gauge, on: BE, help: "Backend's aggregated gauge of servers' state check status" },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_exist_in_show_stat() {
        for m in PROXY {
            assert!(
                crate::stats::COLUMNS.contains(&m.column),
                "{} reads no show stat column",
                m.name
            );
        }
        // promex exports 60 process metrics and 75 proxy fields in 2.6.
        assert_eq!(GLOBAL.len(), 60);
        assert_eq!(PROXY.len(), 75);
    }

    #[test]
    fn proxy_metrics_follow_show_stat_order() {
        let pos = |c: &str| crate::stats::COLUMNS.iter().position(|x| *x == c);
        let order: Vec<_> = PROXY.iter().map(|m| pos(m.column)).collect();
        let mut sorted = order.clone();
        sorted.sort();
        assert_eq!(order, sorted);
    }
}
