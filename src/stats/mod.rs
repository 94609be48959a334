//! Statistics as HAProxy 2.6 reports them: one row per frontend, listener
//! (`option socket-stats`), server and backend, with `show stat`'s columns
//! in its order. The rows are built from the engine's counters on demand;
//! `csv`, `typed`, `json`, `info`, `html` and `prometheus` render them,
//! `meta` describes each field (type, tags, description).

pub mod csv;
pub mod html;
pub mod info;
pub mod json;
pub mod meta;
pub mod page;
pub mod prometheus;
pub mod typed;

use crate::config::model::{Mode, Proxy};
use crate::engine::counters::Counters;
use crate::engine::server::{OpState, ServerRt, admin};
use crate::engine::state::{ProxyRt, Shared};
use std::fmt::Write as _;
use std::sync::atomic::Ordering;

/// `show stat`'s columns: HAProxy's own, then those of its statistics
/// modules (ssl, h2, h1) after the `-` separator column.
#[rustfmt::skip]
pub const COLUMNS: &[&str] = &[
    "pxname", "svname", "qcur", "qmax", "scur", "smax", "slim", "stot", "bin", "bout", "dreq",
    "dresp", "ereq", "econ", "eresp", "wretr", "wredis", "status", "weight", "act", "bck",
    "chkfail", "chkdown", "lastchg", "downtime", "qlimit", "pid", "iid", "sid", "throttle",
    "lbtot", "tracked", "type", "rate", "rate_lim", "rate_max", "check_status", "check_code",
    "check_duration", "hrsp_1xx", "hrsp_2xx", "hrsp_3xx", "hrsp_4xx", "hrsp_5xx", "hrsp_other",
    "hanafail", "req_rate", "req_rate_max", "req_tot", "cli_abrt", "srv_abrt", "comp_in",
    "comp_out", "comp_byp", "comp_rsp", "lastsess", "last_chk", "last_agt", "qtime", "ctime",
    "rtime", "ttime", "agent_status", "agent_code", "agent_duration", "check_desc",
    "agent_desc", "check_rise", "check_fall", "check_health", "agent_rise", "agent_fall",
    "agent_health", "addr", "cookie", "mode", "algo", "conn_rate", "conn_rate_max", "conn_tot",
    "intercepted", "dcon", "dses", "wrew", "connect", "reuse", "cache_lookups", "cache_hits",
    "srv_icur", "src_ilim", "qtime_max", "ctime_max", "rtime_max", "ttime_max", "eint",
    "idle_conn_cur", "safe_conn_cur", "used_conn_cur", "need_conn_est", "uweight",
    "agg_server_status", "agg_server_check_status", "agg_check_status", "-", "ssl_sess",
    "ssl_reused_sess", "ssl_failed_handshake", "h2_headers_rcvd", "h2_data_rcvd",
    "h2_settings_rcvd", "h2_rst_stream_rcvd", "h2_goaway_rcvd",
    "h2_detected_conn_protocol_errors", "h2_detected_strm_protocol_errors",
    "h2_rst_stream_resp", "h2_goaway_resp", "h2_open_connections", "h2_backend_open_streams",
    "h2_total_connections", "h2_backend_total_streams", "h1_open_connections",
    "h1_open_streams", "h1_total_connections", "h1_total_streams", "h1_bytes_in",
    "h1_bytes_out", "h1_spliced_bytes_in", "h1_spliced_bytes_out",
];

/// Index of a column by name.
fn col(name: &str) -> usize {
    COLUMNS
        .iter()
        .position(|c| *c == name)
        .unwrap_or_else(|| unreachable!("unknown stats column {name}"))
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Field {
    Empty,
    U(u64),
    I(i64),
    S(String),
}

impl Field {
    pub fn is_empty(&self) -> bool {
        matches!(self, Field::Empty)
    }

    pub fn as_u64(&self) -> u64 {
        match self {
            Field::U(v) => *v,
            Field::I(v) => (*v).max(0) as u64,
            _ => 0,
        }
    }

    pub fn write(&self, out: &mut String) {
        match self {
            Field::Empty => {}
            Field::U(v) => {
                let _ = write!(out, "{v}");
            }
            Field::I(v) => {
                let _ = write!(out, "{v}");
            }
            Field::S(s) => out.push_str(s),
        }
    }
}

/// The `type` column: frontend, backend, server, listener ("socket").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowType {
    Frontend = 0,
    Backend = 1,
    Server = 2,
    Listener = 3,
}

pub struct Row {
    pub kind: RowType,
    /// Proxy index in the configuration.
    pub px: usize,
    /// Server index (server rows).
    pub srv: Option<usize>,
    pub fields: Vec<Field>,
}

impl Row {
    fn new(kind: RowType, px: usize, srv: Option<usize>) -> Row {
        Row {
            kind,
            px,
            srv,
            fields: vec![Field::Empty; COLUMNS.len()],
        }
    }

    pub fn get(&self, name: &str) -> &Field {
        &self.fields[col(name)]
    }

    fn u(&mut self, name: &str, v: u64) {
        self.fields[col(name)] = Field::U(v);
    }

    fn i(&mut self, name: &str, v: i64) {
        self.fields[col(name)] = Field::I(v);
    }

    fn s(&mut self, name: &str, v: impl Into<String>) {
        self.fields[col(name)] = Field::S(v.into());
    }

    fn c(&mut self, name: &str, c: &std::sync::atomic::AtomicU64) {
        self.u(name, Counters::get(c));
    }

    /// The statistics modules' columns: ssl for every row, h2 and h1 for
    /// proxies only (h1: open connections, open streams, total
    /// connections, total streams, bytes in, bytes out; spliced bytes 0).
    fn modules(&mut self, h1: Option<[u64; 6]>) {
        self.s("-", "-");
        for c in ["ssl_sess", "ssl_reused_sess", "ssl_failed_handshake"] {
            self.u(c, 0);
        }
        let Some(h1) = h1 else { return };
        let first = col("h2_headers_rcvd");
        let h1_first = col("h1_open_connections");
        for i in first..COLUMNS.len() {
            self.fields[i] = Field::U(0);
        }
        for (k, v) in h1.into_iter().enumerate() {
            self.fields[h1_first + k] = Field::U(v);
        }
    }
}

/// How `show stat` / `show info` (and the page's `;csv`, `;typed`,
/// `;json`) print: HAProxy's default form (CSV, `Key: value`), `typed`,
/// or `json`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    #[default]
    Plain,
    Typed,
    Json,
}

/// Whether `up` (`STAT_HIDE_DOWN`) or `no-maint` (`STAT_HIDE_MAINT`)
/// hides server `s` of proxy `px`. `up` keeps a stopped server whose
/// checks are on their way up (HAProxy's "DOWN and not changing state").
pub fn hidden(shared: &Shared, px: usize, s: usize, up: bool, no_maint: bool) -> bool {
    let sv = &shared.proxies[px].servers[s];
    let (rp, rs) = check_ref(shared, px, s);
    let tracked = &shared.proxies[rp].servers[rs];
    // A server tracking one in maintenance is in maintenance too (its
    // inherited flag, IMAINT).
    if sv.in_maint() {
        return up || no_maint;
    }
    if !up || sv.op() != OpState::Stopped {
        return false;
    }
    let st = tracked.lock_status();
    !st.checking || st.health == 0
}

/// The backend `status` under `up` or `no-maint`: HAProxy appends how
/// many of the servers are not stopped, out of all, e.g. `UP (2/5)`.
pub fn count_servers_in_status(shared: &Shared, rows: &mut [Row]) {
    for r in rows.iter_mut().filter(|r| r.kind == RowType::Backend) {
        let sums = backend_sums(shared, r.px);
        if let Field::S(st) = &mut r.fields[col("status")] {
            let _ = write!(st, " ({}/{})", sums.up, sums.total);
        }
    }
}

/// What a reader may see: `show stat` from an operator socket, the stats
/// page, or a user-level socket (no addresses nor cookies).
#[derive(Clone, Copy, Debug, Default)]
pub struct View {
    /// STAT_SHLGNDS: server addresses and cookies, backend algorithm.
    pub legends: bool,
}

/// Every row, in HAProxy's order: per proxy, its frontend, its listeners,
/// its servers, its backend.
pub fn rows(shared: &Shared, view: View) -> Vec<Row> {
    let mut out = Vec::new();
    for (i, p) in shared.config.proxies.iter().enumerate() {
        proxy_rows(shared, i, p, view, &mut out);
    }
    out
}

pub fn proxy_rows(shared: &Shared, i: usize, p: &Proxy, view: View, out: &mut Vec<Row>) {
    let rt = &shared.proxies[i];
    if p.kind.has_frontend() {
        out.push(frontend(shared, i, p, rt));
        if p.options.socket_stats {
            for b in 0..p.binds.len() {
                out.push(listener(shared, i, p, rt, b, view));
            }
        }
    }
    if p.kind.has_backend() {
        for s in 0..p.servers.len() {
            out.push(server(shared, i, p, rt, s, view));
        }
        out.push(backend(shared, i, p, rt, view));
    }
}

fn common(r: &mut Row, p: &Proxy, svname: &str, kind: RowType, sid: u64) {
    r.s("pxname", p.name.clone());
    r.s("svname", svname);
    r.s("mode", p.mode.name());
    r.u("pid", 1);
    r.u("iid", u64::from(p.uuid));
    r.u("sid", sid);
    r.u("type", kind as u64);
}

fn http_counters(r: &mut Row, c: &Counters) {
    for (k, name) in [
        "hrsp_1xx",
        "hrsp_2xx",
        "hrsp_3xx",
        "hrsp_4xx",
        "hrsp_5xx",
        "hrsp_other",
    ]
    .iter()
    .enumerate()
    {
        r.c(name, &c.rsp[k]);
    }
}

fn frontend(shared: &Shared, i: usize, p: &Proxy, rt: &ProxyRt) -> Row {
    let c = &rt.fe;
    let mut r = Row::new(RowType::Frontend, i, None);
    common(&mut r, p, "FRONTEND", RowType::Frontend, 0);
    r.u("scur", u64::from(rt.feconn.load(Ordering::Relaxed)));
    r.u("smax", u64::from(rt.fe_max.load(Ordering::Relaxed)));
    r.u("slim", u64::from(rt.fe_maxconn.load(Ordering::Relaxed)));
    r.c("stot", &c.cum_sess);
    r.c("bin", &c.bytes_in);
    r.c("bout", &c.bytes_out);
    r.c("dreq", &c.denied_req);
    r.c("dresp", &c.denied_resp);
    r.c("ereq", &c.failed_req);
    r.c("dcon", &c.denied_conn);
    r.c("dses", &c.denied_sess);
    r.s("status", frontend_status(shared, i));
    r.u("rate", u64::from(c.sess_per_sec.read()));
    r.u("rate_lim", u64::from(p.rate_limit_sessions.unwrap_or(0)));
    r.u("rate_max", u64::from(c.sps_max.load(Ordering::Relaxed)));
    r.c("wrew", &c.failed_rewrites);
    r.c("eint", &c.internal_errors);
    let http = p.mode == Mode::Http;
    if http {
        http_counters(&mut r, c);
        r.c("intercepted", &c.intercepted_req);
        r.u("cache_lookups", 0);
        r.u("cache_hits", 0);
    }
    r.u("req_rate", u64::from(c.req_per_sec.read()));
    r.u("req_rate_max", u64::from(c.rps_max.load(Ordering::Relaxed)));
    r.c("req_tot", &c.cum_req);
    for f in ["comp_in", "comp_out", "comp_byp", "comp_rsp"] {
        r.u(f, 0);
    }
    r.u("conn_rate", u64::from(c.conn_per_sec.read()));
    r.u(
        "conn_rate_max",
        u64::from(c.cps_max.load(Ordering::Relaxed)),
    );
    r.c("conn_tot", &c.cum_conn);
    let cur = u64::from(rt.feconn.load(Ordering::Relaxed));
    r.modules(Some(if http {
        [
            cur,
            cur,
            Counters::get(&c.cum_conn),
            Counters::get(&c.cum_req),
            Counters::get(&c.bytes_in),
            Counters::get(&c.bytes_out),
        ]
    } else {
        [0; 6]
    }));
    r
}

/// OPEN, or STOP once the proxy is disabled or stopped, PAUSED while its
/// listeners are paused.
pub fn frontend_status(shared: &Shared, i: usize) -> &'static str {
    let p = &shared.config.proxies[i];
    let rt = &shared.proxies[i];
    if p.disabled || rt.stopped.load(Ordering::Relaxed) {
        "STOP"
    } else if rt.paused.load(Ordering::Relaxed) {
        "PAUSED"
    } else {
        "OPEN"
    }
}

fn listener(shared: &Shared, i: usize, p: &Proxy, rt: &ProxyRt, b: usize, view: View) -> Row {
    let bind = &p.binds[b];
    let l = &rt.listeners[b];
    let c = &l.counters;
    let mut r = Row::new(RowType::Listener, i, None);
    let sid = u64::from(bind.id.unwrap_or(b as u32 + 1));
    let name = bind.name.clone().unwrap_or_else(|| format!("sock-{sid}"));
    common(&mut r, p, &name, RowType::Listener, sid);
    r.u("scur", u64::from(l.cur.load(Ordering::Relaxed)));
    r.u("smax", u64::from(l.max.load(Ordering::Relaxed)));
    r.u("slim", u64::from(bind.maxconn.unwrap_or(0)));
    r.c("stot", &c.cum_conn);
    r.c("bin", &c.bytes_in);
    r.c("bout", &c.bytes_out);
    r.c("dreq", &c.denied_req);
    r.c("dresp", &c.denied_resp);
    r.c("ereq", &c.failed_req);
    r.c("dcon", &c.denied_conn);
    r.c("dses", &c.denied_sess);
    r.s("status", frontend_status(shared, i));
    r.c("wrew", &c.failed_rewrites);
    r.c("eint", &c.internal_errors);
    // Like servers' addresses, only for readers allowed legends.
    if view.legends
        && let Some(a) = bind.addrs.first()
    {
        r.s("addr", a.to_string());
    }
    r.modules(None);
    r
}

/// The server whose checks decide `s`'s state: itself, or the end of its
/// `track` chain.
pub fn check_ref(shared: &Shared, px: usize, s: usize) -> (usize, usize) {
    let mut cur = (px, s);
    for _ in 0..16 {
        match tracked(shared, cur.0, cur.1) {
            Some(next) => cur = next,
            None => break,
        }
    }
    cur
}

/// The server `s` tracks (`track [BACKEND/]SERVER`).
pub fn tracked(shared: &Shared, px: usize, s: usize) -> Option<(usize, usize)> {
    shared.proxies[px].servers[s].tracks
}

/// The `status` column of a server: UP, DOWN, `UP 1/3` while going down,
/// NOLB, DRAIN, MAINT, `no check` …
pub fn server_status(shared: &Shared, px: usize, s: usize) -> String {
    let sv = &shared.proxies[px].servers[s];
    let adm = sv.admin();
    // Inherited maintenance shows first, even over a forced one.
    if adm & admin::IMAINT != 0
        && let Some((vp, vs)) = tracked(shared, px, s)
    {
        return format!(
            "MAINT (via {}/{})",
            shared.config.proxies[vp].name, shared.config.proxies[vp].servers[vs].name
        );
    }
    if adm & admin::MAINT != 0 {
        return "MAINT".into();
    }
    let (rp, rs) = check_ref(shared, px, s);
    let rsv = &shared.proxies[rp].servers[rs];
    let st = rsv.lock_status().clone();
    let op = sv.op();
    let going = |word: &str| {
        let (a, b) = if op != OpState::Stopped {
            (st.health + 1 - st.rise, st.fall)
        } else {
            (st.health, st.rise)
        };
        format!("{word} {a}/{b}")
    };
    let full = st.rise + st.fall - 1;
    match op {
        OpState::Running | OpState::Starting => {
            let going_down = st.checking && st.health < full;
            if adm & admin::DRAIN != 0 {
                if going_down {
                    going("DRAIN")
                } else {
                    "DRAIN".into()
                }
            } else if going_down {
                going("UP")
            } else if !st.checking {
                "no check".into()
            } else {
                "UP".into()
            }
        }
        OpState::Stopping => {
            if !st.checking || st.health == full {
                "NOLB".into()
            } else {
                going("NOLB")
            }
        }
        OpState::Stopped => {
            if st.checking && st.health > 0 {
                going("DOWN")
            } else {
                "DOWN".into()
            }
        }
    }
}

/// HAProxy's weight for display: the effective weight back in the user's
/// scale, rounded up.
fn shown_weight(eweight: u32) -> u64 {
    u64::from(eweight.div_ceil(crate::engine::server::BE_WEIGHT_SCALE))
}

fn secs_since(t: std::time::Instant) -> u64 {
    t.elapsed().as_secs()
}

fn server(shared: &Shared, i: usize, p: &Proxy, rt: &ProxyRt, s: usize, view: View) -> Row {
    let cfg = &p.servers[s];
    let sv: &ServerRt = &rt.servers[s];
    let c = &sv.counters;
    let mut r = Row::new(RowType::Server, i, Some(s));
    common(&mut r, p, &cfg.name, RowType::Server, u64::from(cfg.puid));
    r.u("qcur", u64::from(sv.queue.len()));
    r.u("qmax", u64::from(sv.queue.max.load(Ordering::Relaxed)));
    r.u("scur", u64::from(sv.cur.load(Ordering::Relaxed)));
    r.u("smax", u64::from(sv.max_seen.load(Ordering::Relaxed)));
    let maxconn = sv.maxconn.load(Ordering::Relaxed);
    if maxconn > 0 {
        r.u("slim", u64::from(maxconn));
    }
    r.c("stot", &c.cum_sess);
    r.c("bin", &c.bytes_in);
    r.c("bout", &c.bytes_out);
    r.c("dresp", &c.denied_resp);
    r.c("econ", &c.failed_conns);
    r.c("eresp", &c.failed_resp);
    r.c("wretr", &c.retries);
    r.c("wredis", &c.redispatches);
    r.c("wrew", &c.failed_rewrites);
    r.c("eint", &c.internal_errors);
    r.c("connect", &c.connect);
    r.c("reuse", &c.reuse);
    for f in [
        "idle_conn_cur",
        "safe_conn_cur",
        "used_conn_cur",
        "need_conn_est",
        "srv_icur",
    ] {
        r.u(f, 0);
    }
    // `pool-max-conn`, unless left at HAProxy's -1 (no limit).
    if let Some(n) = cfg.opts.extra().pool_max_conn.filter(|n| *n >= 0) {
        r.u("src_ilim", n as u64);
    }
    r.s("status", server_status(shared, i, s));
    let st = sv.lock_status().clone();
    r.u("lastchg", secs_since(st.last_change));
    r.u("weight", shown_weight(sv.eweight.load(Ordering::Relaxed)));
    r.u("uweight", u64::from(sv.uweight.load(Ordering::Relaxed)));
    let backup = cfg.opts.backup;
    r.u("act", u64::from(!backup));
    r.u("bck", u64::from(backup));
    let (rp, rs) = check_ref(shared, i, s);
    let ref_st = shared.proxies[rp].servers[rs].lock_status().clone();
    // Checks paused by maintenance show no results (HAProxy's
    // CHK_ST_PAUSED), but their counters still show.
    let shown = st.checking && !sv.in_maint();
    if st.checking {
        r.u("chkfail", st.failed_checks);
        r.u("chkdown", st.down_trans);
        let down_now = if sv.op() == OpState::Stopped {
            secs_since(st.last_change)
        } else {
            0
        };
        r.u("downtime", st.down_time + down_now);
    }
    if shown {
        let last = st.last.as_ref();
        let status = last.map_or(
            crate::engine::server::CheckStatus::Ini,
            |o: &crate::engine::server::CheckOutcome| o.status,
        );
        r.s("check_status", status.code());
        if let Some(code) = last.and_then(|o| o.code).filter(|_| status.has_code()) {
            r.u("check_code", u64::from(code));
        }
        if let Some(o) = last {
            r.u("check_duration", o.duration_ms.max(0) as u64);
        }
        r.s("check_desc", status.description());
        r.s("last_chk", last.map_or(String::new(), |o| o.info.clone()));
        r.u("check_rise", u64::from(ref_st.rise));
        r.u("check_fall", u64::from(ref_st.fall));
        r.u("check_health", u64::from(ref_st.health));
    }
    let maxqueue = cfg.opts.maxqueue;
    if maxqueue > 0 {
        r.u("qlimit", u64::from(maxqueue));
    }
    if sv.op() == OpState::Starting && sv.admin() & admin::DRAIN == 0 {
        let w = u64::from(sv.eweight.load(Ordering::Relaxed));
        let full = u64::from(sv.uweight.load(Ordering::Relaxed))
            * u64::from(crate::engine::server::BE_WEIGHT_SCALE);
        r.u("throttle", (w * 100).checked_div(full).unwrap_or(100));
    }
    r.c("lbtot", &c.cum_lbconn);
    if let Some((tp, ts)) = tracked(shared, i, s) {
        r.s(
            "tracked",
            format!(
                "{}/{}",
                shared.config.proxies[tp].name, shared.config.proxies[tp].servers[ts].name
            ),
        );
    }
    r.u("rate", u64::from(c.sess_per_sec.read()));
    r.u("rate_max", u64::from(c.sps_max.load(Ordering::Relaxed)));
    let http = p.mode == Mode::Http;
    if http {
        r.c("req_tot", &c.cum_req);
        http_counters(&mut r, c);
    }
    if cfg.opts.observe.is_some() {
        r.u("hanafail", 0);
    }
    r.c("cli_abrt", &c.cli_aborts);
    r.c("srv_abrt", &c.srv_aborts);
    r.i("lastsess", last_session(c));
    times(&mut r, c, http);
    if view.legends {
        r.s("addr", cfg.addr.to_string());
        if let Some(ck) = &cfg.opts.cookie {
            r.s("cookie", ck.clone());
        }
    }
    r.modules(None);
    r
}

fn last_session(c: &Counters) -> i64 {
    let t = c.last_sess.load(Ordering::Relaxed);
    if t == 0 {
        -1
    } else {
        crate::engine::counters::unix_now().saturating_sub(t) as i64
    }
}

/// qtime/ctime/rtime/ttime averages and their maxima.
fn times(r: &mut Row, c: &Counters, http: bool) {
    let samples = if http {
        Counters::get(&c.cum_req)
    } else {
        Counters::get(&c.cum_lbconn)
    };
    let n = Counters::window(samples);
    r.u("qtime", u64::from(c.q_time.avg(n)));
    r.u("ctime", u64::from(c.c_time.avg(n)));
    r.u("rtime", u64::from(c.d_time.avg(n)));
    r.u("ttime", u64::from(c.t_time.avg(n)));
    r.u("qtime_max", u64::from(c.qtime_max.load(Ordering::Relaxed)));
    r.u("ctime_max", u64::from(c.ctime_max.load(Ordering::Relaxed)));
    r.u("rtime_max", u64::from(c.dtime_max.load(Ordering::Relaxed)));
    r.u("ttime_max", u64::from(c.ttime_max.load(Ordering::Relaxed)));
}

/// Servers counted as HAProxy's `srv_act` / `srv_bck`, the total user
/// weight of the servers in use, and the effective total weight.
pub struct BackendSums {
    pub act: u64,
    pub bck: u64,
    pub up: u64,
    pub total: u64,
    pub uweight: u64,
    pub eweight: u64,
}

pub fn backend_sums(shared: &Shared, i: usize) -> BackendSums {
    let p = &shared.config.proxies[i];
    let rt = &shared.proxies[i];
    let mut b = BackendSums {
        act: 0,
        bck: 0,
        up: 0,
        total: 0,
        uweight: 0,
        eweight: 0,
    };
    for (s, sv) in rt.servers.iter().enumerate() {
        b.total += 1;
        if sv.op() != OpState::Stopped {
            b.up += 1;
        }
        if sv.usable() {
            if p.servers[s].opts.backup {
                b.bck += 1;
            } else {
                b.act += 1;
            }
        }
    }
    let use_backup = b.act == 0;
    let mut first_backup = true;
    for (s, sv) in rt.servers.iter().enumerate() {
        let backup = p.servers[s].opts.backup;
        if !sv.usable() || backup != use_backup {
            continue;
        }
        if backup && !p.options.allbackups && !first_backup {
            continue;
        }
        first_backup = false;
        b.uweight += u64::from(sv.uweight.load(Ordering::Relaxed));
        b.eweight += u64::from(sv.eweight.load(Ordering::Relaxed));
    }
    b
}

fn backend(shared: &Shared, i: usize, p: &Proxy, rt: &ProxyRt, view: View) -> Row {
    let c = &rt.be;
    let mut r = Row::new(RowType::Backend, i, None);
    common(&mut r, p, "BACKEND", RowType::Backend, 0);
    r.u("qcur", u64::from(rt.queue.len()));
    r.u("qmax", u64::from(rt.queue.max.load(Ordering::Relaxed)));
    r.u("scur", u64::from(rt.beconn.load(Ordering::Relaxed)));
    r.u("smax", u64::from(rt.be_max.load(Ordering::Relaxed)));
    r.u("slim", u64::from(rt.fullconn));
    r.c("stot", &c.cum_conn);
    r.c("bin", &c.bytes_in);
    r.c("bout", &c.bytes_out);
    r.c("dreq", &c.denied_req);
    r.c("dresp", &c.denied_resp);
    r.c("econ", &c.failed_conns);
    r.c("eresp", &c.failed_resp);
    r.c("wretr", &c.retries);
    r.c("wredis", &c.redispatches);
    r.c("wrew", &c.failed_rewrites);
    r.c("eint", &c.internal_errors);
    r.c("connect", &c.connect);
    r.c("reuse", &c.reuse);
    let sums = backend_sums(shared, i);
    let up = sums.eweight > 0 || p.servers.is_empty();
    r.s("status", if up { "UP" } else { "DOWN" });
    for f in [
        "agg_server_status",
        "agg_server_check_status",
        "agg_check_status",
    ] {
        r.u(f, 0);
    }
    r.u("weight", shown_weight(sums.eweight as u32));
    r.u("uweight", sums.uweight);
    r.u("act", sums.act);
    r.u("bck", sums.bck);
    let down = *rt.down.lock().unwrap_or_else(|e| e.into_inner());
    r.u("chkdown", down.down_trans);
    r.u("lastchg", secs_since(down.last_change));
    if !p.servers.is_empty() {
        let extra = if up { 0 } else { secs_since(down.last_change) };
        r.u("downtime", down.down_time + extra);
    }
    r.c("lbtot", &c.cum_lbconn);
    r.u("rate", u64::from(c.sess_per_sec.read()));
    r.u("rate_max", u64::from(c.sps_max.load(Ordering::Relaxed)));
    if view.legends {
        if let Some(ck) = &p.cookie {
            r.s("cookie", ck.name.clone());
        }
        r.s("algo", p.balance.name());
    }
    let http = p.mode == Mode::Http;
    if http {
        r.c("req_tot", &c.cum_req);
        http_counters(&mut r, c);
        r.u("cache_lookups", 0);
        r.u("cache_hits", 0);
    }
    r.c("cli_abrt", &c.cli_aborts);
    r.c("srv_abrt", &c.srv_aborts);
    for f in ["comp_in", "comp_out", "comp_byp", "comp_rsp"] {
        r.u(f, 0);
    }
    r.i("lastsess", last_session(c));
    times(&mut r, c, http);
    // The backend's h1 side talks to servers: what it sends is the
    // clients' request bytes (bytes_in), what it receives their answers.
    let cur = u64::from(rt.beconn.load(Ordering::Relaxed));
    r.modules(Some(if http {
        [
            cur,
            cur,
            Counters::get(&c.connect),
            Counters::get(&c.cum_req),
            Counters::get(&c.bytes_out),
            Counters::get(&c.bytes_in),
        ]
    } else {
        [0; 6]
    }));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_match_haproxy_2_6_header() {
        assert_eq!(COLUMNS.len(), 128);
        assert_eq!(col("pxname"), 0);
        assert_eq!(col("-"), 103);
        assert_eq!(col("h1_spliced_bytes_out"), 127);
    }
}
