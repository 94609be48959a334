//! HAProxy 2.6's built-in Prometheus exporter (`http-request use-service
//! prometheus-exporter`), ported from `addons/promex/service-prometheus.c`:
//! the same metric families, HELP/TYPE lines, label sets and order, with
//! values read from the rows of `show stat` and the fields of `show info`
//! (no counting of its own). Per metric, every entity is dumped before
//! the next metric, as promex does; a family's HELP/TYPE lines come with
//! its first sample, so a family nothing emits has none.

mod query;
pub mod table;

use query::{BACK, FRONT, GLOBAL, LISTENER, SERVER, STICKTABLE};
pub use query::{Query, parse_query};

use super::{Field, Row, RowType, View};
use crate::config::model::{Mode, Proxy};
use crate::engine::counters::{Counters, TIME_STATS_SAMPLES};
use crate::engine::http::head::{Head, Header};
use crate::engine::http::reply::{self, Reply};
use crate::engine::server::{CheckStatus, OpState, admin};
use crate::engine::state::Shared;
use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use table::{BE, FE, Kind, LI, SRV, StatMetric};

/// The applet's name, as logs show it in place of a server.
pub const APPLET: &str = "<PROMEX>";

/// A sample's value, printed as promex prints HAProxy's field types.
#[derive(Clone, Copy, Debug)]
enum Val {
    U(u64),
    I(i64),
    /// Seconds, printed with `%f`.
    F(f64),
    /// An empty or text field.
    NaN,
}

impl From<&Field> for Val {
    fn from(f: &Field) -> Val {
        match f {
            Field::U(v) => Val::U(*v),
            Field::I(v) => Val::I(*v),
            Field::Empty | Field::S(_) => Val::NaN,
        }
    }
}

/// The exposition text being built.
struct Out {
    text: String,
    /// The current family still needs its HELP/TYPE lines.
    header: bool,
}

impl Out {
    fn sample(
        &mut self,
        prefix: &str,
        name: &str,
        help: &str,
        kind: Kind,
        labels: &[(&str, &str)],
        v: Val,
    ) {
        let t = &mut self.text;
        if self.header {
            let _ = writeln!(t, "# HELP {prefix}{name} {help}");
            let _ = writeln!(t, "# TYPE {prefix}{name} {}", kind.name());
            self.header = false;
        }
        t.push_str(prefix);
        t.push_str(name);
        if !labels.is_empty() {
            t.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    t.push(',');
                }
                let _ = write!(t, "{k}=\"{v}\"");
            }
            t.push('}');
        }
        let _ = match v {
            Val::U(v) => writeln!(t, " {v}"),
            Val::I(v) => writeln!(t, " {v}"),
            Val::F(v) => writeln!(t, " {v:.6}"),
            Val::NaN => writeln!(t, " NaN"),
        };
    }

    fn stat(&mut self, prefix: &str, m: &StatMetric, labels: &[(&str, &str)], v: Val) {
        self.sample(prefix, m.name, m.help, m.kind, labels, v);
    }
}

/// A server's state as promex sees it (`promex_srv_status`): maintenance
/// (its own or inherited through `track`) first, then drain, NOLB, DOWN.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SrvState {
    Down,
    Up,
    Maint,
    Drain,
    Nolb,
}

const SRV_STATES: [(SrvState, &str); 5] = [
    (SrvState::Down, "DOWN"),
    (SrvState::Up, "UP"),
    (SrvState::Maint, "MAINT"),
    (SrvState::Drain, "DRAIN"),
    (SrvState::Nolb, "NOLB"),
];

fn srv_state(shared: &Shared, px: usize, s: usize) -> SrvState {
    let sv = &shared.proxies[px].servers[s];
    // Inherited maintenance (`track`) is among the flags.
    if sv.in_maint() {
        return SrvState::Maint;
    }
    match sv.op() {
        OpState::Running | OpState::Starting if sv.admin() & admin::DRAIN != 0 => SrvState::Drain,
        OpState::Running | OpState::Starting => SrvState::Up,
        OpState::Stopping => SrvState::Nolb,
        OpState::Stopped => SrvState::Down,
    }
}

/// The check statuses promex lists, HAProxy's `HCHK_STATUS_*` whose result
/// is at least "failed", in its order, then the external-check ones:
/// rproxy runs no external checks, so those always count zero.
fn check_states() -> impl Iterator<Item = (Option<CheckStatus>, &'static str)> {
    use CheckStatus::*;
    [
        Hana, SockErr, L4Ok, L4Tout, L4Con, L6Ok, L6Tout, L6Rsp, L7Tout, L7Rsp, L7Ok, L7OkC, L7Sts,
    ]
    .into_iter()
    .map(|s| (Some(s), s.code()))
    .chain(["PROCERR", "PROCTOUT", "PROCOK"].map(|n| (None, n)))
}

/// A server's last check: its status (UNK without checks, INI before the
/// first one), code and duration.
fn last_check(shared: &Shared, px: usize, s: usize) -> (CheckStatus, Option<u32>, i64) {
    let st = shared.proxies[px].servers[s].lock_status();
    match &st.last {
        Some(o) => (o.status, o.code, o.duration_ms),
        None if st.checking => (CheckStatus::Ini, None, 0),
        None => (CheckStatus::Unknown, None, 0),
    }
}

/// Fields promex only emits for HTTP proxies (frontend / backend).
const HTTP_ONLY_FE: &[&str] = &[
    "req_rate_max",
    "req_tot",
    "intercepted",
    "cache_lookups",
    "cache_hits",
    "comp_in",
    "comp_out",
    "comp_byp",
    "comp_rsp",
];
const HTTP_ONLY_BE: &[&str] = &[
    "req_tot",
    "cache_lookups",
    "cache_hits",
    "comp_in",
    "comp_out",
    "comp_byp",
    "comp_rsp",
];

/// The sliding averages promex reports over HAProxy's whole window (512
/// samples, unlike `show stat` which divides by the samples seen so far).
fn average(c: &Counters, column: &str) -> Option<Val> {
    let rate = match column {
        "qtime" => &c.q_time,
        "ctime" => &c.c_time,
        "rtime" => &c.d_time,
        "ttime" => &c.t_time,
        _ => return None,
    };
    Some(Val::F(f64::from(rate.avg(TIME_STATS_SAMPLES)) / 1000.0))
}

/// The maxima of the queue, connect, response and total times, from
/// milliseconds to seconds.
fn max_time(r: &Row, column: &str) -> Option<Val> {
    matches!(
        column,
        "qtime_max" | "ctime_max" | "rtime_max" | "ttime_max"
    )
    .then(|| Val::F(r.get(column).as_u64() as f64 / 1000.0))
}

fn hrsp_code(column: &str) -> Option<&'static str> {
    Some(match column {
        "hrsp_1xx" => "1xx",
        "hrsp_2xx" => "2xx",
        "hrsp_3xx" => "3xx",
        "hrsp_4xx" => "4xx",
        "hrsp_5xx" => "5xx",
        "hrsp_other" => "other",
        _ => return None,
    })
}

/// Starts a metric's pass over the entities: its HELP/TYPE lines come with
/// its first sample, except for the HTTP status classes after 1xx, which
/// share the 1xx family's lines.
fn begin(out: &mut Out, m: &StatMetric) {
    out.header = !matches!(hrsp_code(m.column), Some(c) if c != "1xx");
}

fn global(shared: &Shared, out: &mut Out) {
    const PREFIX: &str = "haproxy_process_";
    let info = super::info::fields(shared);
    for m in table::GLOBAL {
        out.header = true;
        if m.key == "Build info" {
            let v = super::info::version();
            out.sample(
                PREFIX,
                m.name,
                m.help,
                m.kind,
                &[("version", &v)],
                Val::U(1),
            );
            continue;
        }
        // Fields `show info` leaves out (zlib memory without zlib) are
        // NaN, as HAProxy's empty fields.
        let v = info
            .iter()
            .find(|(k, _)| *k == m.key)
            .map_or(Val::NaN, |(_, v)| {
                v.parse::<u64>()
                    .map(Val::U)
                    .or_else(|_| v.parse::<i64>().map(Val::I))
                    .unwrap_or(Val::NaN)
            });
        out.sample(PREFIX, m.name, m.help, m.kind, &[], v);
    }
}

fn is_http(shared: &Shared, px: usize) -> bool {
    shared.config.proxies[px].mode == Mode::Http
}

fn frontends(shared: &Shared, rows: &[&Row], out: &mut Out) {
    const PREFIX: &str = "haproxy_frontend_";
    for m in table::PROXY.iter().filter(|m| m.on & FE != 0) {
        begin(out, m);
        for r in rows {
            let name = &shared.config.proxies[r.px].name;
            let http = is_http(shared, r.px);
            if m.column == "status" {
                let up = super::frontend_status(shared, r.px) != "STOP";
                for (state, st) in [(false, "DOWN"), (true, "UP")] {
                    let labels = [("proxy", name.as_str()), ("state", st)];
                    out.stat(PREFIX, m, &labels, Val::U(u64::from(up == state)));
                }
                continue;
            }
            if !http && (HTTP_ONLY_FE.contains(&m.column) || hrsp_code(m.column).is_some()) {
                continue;
            }
            let v = Val::from(r.get(m.column));
            match hrsp_code(m.column) {
                Some(code) => out.stat(PREFIX, m, &[("proxy", name), ("code", code)], v),
                None => out.stat(PREFIX, m, &[("proxy", name)], v),
            }
        }
    }
}

/// HAProxy's `get_li_status`: FULL at the `bind … maxconn`, WAITING while
/// the frontend or the process is at its `maxconn` (HAProxy's
/// LI_LIMITED), OPEN otherwise (a paused listener included).
fn listener_state(shared: &Shared, r: &Row) -> &'static str {
    let (cur, lim) = (r.get("scur").as_u64(), r.get("slim").as_u64());
    if lim > 0 && cur >= lim {
        return "FULL";
    }
    let rt = &shared.proxies[r.px];
    let fe_lim = rt.fe_maxconn.load(Ordering::Relaxed);
    let g = &shared.global;
    let g_lim = g.maxconn_now.load(Ordering::Relaxed);
    if (fe_lim > 0 && rt.feconn.load(Ordering::Relaxed) >= fe_lim)
        || (g_lim > 0 && g.actconn.load(Ordering::Relaxed) >= g_lim)
    {
        "WAITING"
    } else {
        "OPEN"
    }
}

fn listeners(shared: &Shared, rows: &[&Row], out: &mut Out) {
    const PREFIX: &str = "haproxy_listener_";
    for m in table::PROXY.iter().filter(|m| m.on & LI != 0) {
        begin(out, m);
        for r in rows {
            let name = &shared.config.proxies[r.px].name;
            let li = match r.get("svname") {
                Field::S(s) => s.as_str(),
                _ => "",
            };
            if m.column == "status" {
                let now = listener_state(shared, r);
                for st in ["WAITING", "OPEN", "FULL"] {
                    let labels = [("proxy", name.as_str()), ("listener", li), ("state", st)];
                    out.stat(PREFIX, m, &labels, Val::U(u64::from(now == st)));
                }
                continue;
            }
            out.stat(
                PREFIX,
                m,
                &[("proxy", name), ("listener", li)],
                r.get(m.column).into(),
            );
        }
    }
}

fn backends(shared: &Shared, rows: &[&Row], out: &mut Out) {
    const PREFIX: &str = "haproxy_backend_";
    for m in table::PROXY.iter().filter(|m| m.on & BE != 0) {
        begin(out, m);
        for r in rows {
            let p: &Proxy = &shared.config.proxies[r.px];
            let name = p.name.as_str();
            let nsrv = p.servers.len();
            match m.column {
                // Both count the servers per state (the check one is
                // deprecated in HAProxy and says the same).
                "agg_server_status" | "agg_server_check_status" => {
                    if nsrv == 0 {
                        continue;
                    }
                    let states: Vec<SrvState> =
                        (0..nsrv).map(|s| srv_state(shared, r.px, s)).collect();
                    for (st, label) in SRV_STATES {
                        let n = states.iter().filter(|x| **x == st).count() as u64;
                        out.stat(PREFIX, m, &[("proxy", name), ("state", label)], Val::U(n));
                    }
                }
                "agg_check_status" => {
                    if nsrv == 0 {
                        continue;
                    }
                    let checks: Vec<CheckStatus> =
                        (0..nsrv).map(|s| last_check(shared, r.px, s).0).collect();
                    for (st, label) in check_states() {
                        let n = checks.iter().filter(|c| Some(**c) == st).count() as u64;
                        out.stat(PREFIX, m, &[("proxy", name), ("state", label)], Val::U(n));
                    }
                }
                "status" => {
                    let up = matches!(r.get("status"), Field::S(s) if s == "UP");
                    for (state, st) in [(false, "DOWN"), (true, "UP")] {
                        let labels = [("proxy", name), ("state", st)];
                        out.stat(PREFIX, m, &labels, Val::U(u64::from(up == state)));
                    }
                }
                c => {
                    let http = p.mode == Mode::Http;
                    if !http && (HTTP_ONLY_BE.contains(&c) || hrsp_code(c).is_some()) {
                        continue;
                    }
                    let v = average(&shared.proxies[r.px].be, c)
                        .or_else(|| max_time(r, c))
                        .unwrap_or_else(|| r.get(c).into());
                    match hrsp_code(c) {
                        Some(code) => out.stat(PREFIX, m, &[("proxy", name), ("code", code)], v),
                        None => out.stat(PREFIX, m, &[("proxy", name)], v),
                    }
                }
            }
        }
    }
}

fn servers(shared: &Shared, rows: &[&Row], q: &Query, out: &mut Out) {
    const PREFIX: &str = "haproxy_server_";
    for m in table::PROXY.iter().filter(|m| m.on & SRV != 0) {
        begin(out, m);
        for r in rows {
            let Some(s) = r.srv else { continue };
            let p = &shared.config.proxies[r.px];
            let (px, sv) = (p.name.as_str(), p.servers[s].name.as_str());
            let state = srv_state(shared, r.px, s);
            if q.no_maint && state == SrvState::Maint {
                continue;
            }
            let rt = &shared.proxies[r.px].servers[s];
            // Checks configured, enabled and not paused by maintenance
            // (HAProxy's CHK_ST_ENABLED without CHK_ST_PAUSED).
            let checking = rt.lock_status().checking && !rt.in_maint();
            let (status, code, duration) = last_check(shared, r.px, s);
            match m.column {
                "status" => {
                    for (st, label) in SRV_STATES {
                        let labels = [("proxy", px), ("server", sv), ("state", label)];
                        out.stat(PREFIX, m, &labels, Val::U(u64::from(state == st)));
                    }
                }
                "check_status" => {
                    if !checking {
                        continue;
                    }
                    for (st, label) in check_states() {
                        let labels = [("proxy", px), ("server", sv), ("state", label)];
                        let v = Val::U(u64::from(Some(status) == st));
                        out.stat(PREFIX, m, &labels, v);
                    }
                }
                "check_code" => {
                    if !checking {
                        continue;
                    }
                    // Only layer 5-7 statuses carry a code.
                    let l7 = matches!(
                        status,
                        CheckStatus::L7Ok | CheckStatus::L7OkC | CheckStatus::L7Sts
                    );
                    let v = if l7 { code.unwrap_or(0) } else { 0 };
                    out.stat(
                        PREFIX,
                        m,
                        &[("proxy", px), ("server", sv)],
                        Val::U(u64::from(v)),
                    );
                }
                "check_duration" => {
                    // Any finished check, even one now paused.
                    if matches!(status, CheckStatus::Unknown | CheckStatus::Ini) {
                        continue;
                    }
                    let v = Val::F(duration.max(0) as f64 / 1000.0);
                    out.stat(PREFIX, m, &[("proxy", px), ("server", sv)], v);
                }
                c => {
                    if hrsp_code(c).is_some() && p.mode != Mode::Http {
                        continue;
                    }
                    let v = average(&rt.counters, c)
                        .or_else(|| max_time(r, c))
                        .unwrap_or_else(|| r.get(c).into());
                    match hrsp_code(c) {
                        Some(code) => {
                            let labels = [("proxy", px), ("server", sv), ("code", code)];
                            out.stat(PREFIX, m, &labels, v);
                        }
                        None => out.stat(PREFIX, m, &[("proxy", px), ("server", sv)], v),
                    }
                }
            }
        }
    }
}

/// Stick tables, in HAProxy's list order (the last declared first).
/// rproxy does not fill stick tables yet, so `used` is always 0.
fn sticktables(shared: &Shared, out: &mut Out) {
    const PREFIX: &str = "haproxy_sticktable_";
    for (name, help) in table::STICKTABLE {
        out.header = true;
        for p in shared.config.proxies.iter().rev() {
            let Some(t) = p.stick_table.as_ref().filter(|t| t.size > 0) else {
                continue;
            };
            let v = if *name == "size" { t.size } else { 0 };
            let labels = [("name", p.name.as_str()), ("type", t.kind.as_str())];
            out.sample(PREFIX, name, help, Kind::Gauge, &labels, Val::U(v));
        }
    }
}

/// The exposition text for `q`.
pub fn render(shared: &Shared, q: &Query) -> String {
    let mut out = Out {
        text: String::with_capacity(64 * 1024),
        header: true,
    };
    if q.scopes & GLOBAL != 0 {
        global(shared, &mut out);
    }
    let rows = super::rows(shared, View::default());
    // Disabled proxies are left out, as HAProxy's dump skips them.
    let of = |kind: RowType| -> Vec<&Row> {
        rows.iter()
            .filter(|r| r.kind == kind && !shared.config.proxies[r.px].disabled)
            .collect()
    };
    if q.scopes & FRONT != 0 {
        frontends(shared, &of(RowType::Frontend), &mut out);
    }
    if q.scopes & LISTENER != 0 {
        listeners(shared, &of(RowType::Listener), &mut out);
    }
    if q.scopes & BACK != 0 {
        backends(shared, &of(RowType::Backend), &mut out);
    }
    if q.scopes & SERVER != 0 {
        servers(shared, &of(RowType::Server), q, &mut out);
    }
    if q.scopes & STICKTABLE != 0 {
        sticktables(shared, &mut out);
    }
    out.text
}

/// The chunked transfer coding of a body sent in one chunk (HAProxy
/// writes the hexadecimal size in upper case).
fn chunked(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 16);
    if !body.is_empty() {
        out.extend_from_slice(format!("{:X}\r\n", body.len()).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

/// The exporter's answer to `req`: 200 with the metrics, chunked as
/// HAProxy sends it whatever the client's version, or HAProxy's 400 page
/// (which closes the connection) for a malformed query string. A HEAD
/// request gets the same head and no body.
pub fn serve(shared: &Shared, req: &Head) -> Reply {
    let Some(q) = parse_query(req.uri()) else {
        return reply::builtin(400);
    };
    let hdr = |name: &str, value: &str| Header::new(name, value);
    let mut head = reply::head(
        200,
        vec![
            hdr("Cache-Control", "no-cache"),
            hdr("Content-Type", "text/plain; version=0.0.4"),
            hdr("Transfer-Encoding", "chunked"),
        ],
    );
    head.flags.clen = false;
    head.flags.xfer_enc = true;
    head.flags.te_chunked = true;
    head.flags.chnk = true;
    let body = if req.method() == "HEAD" {
        Vec::new()
    } else {
        chunked(render(shared, &q).as_bytes())
    };
    Reply {
        head,
        body,
        log_status: 200,
        silent: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_and_headers() {
        let mut out = Out {
            text: String::new(),
            header: true,
        };
        let m = &table::PROXY[0];
        out.stat("haproxy_backend_", m, &[("proxy", "b")], Val::U(3));
        out.stat("haproxy_backend_", m, &[("proxy", "c")], Val::NaN);
        out.sample("p_", "t", "h", Kind::Gauge, &[], Val::F(0.0015));
        assert_eq!(
            out.text,
            "# HELP haproxy_backend_current_queue Number of current queued connections\n\
             # TYPE haproxy_backend_current_queue gauge\n\
             haproxy_backend_current_queue{proxy=\"b\"} 3\n\
             haproxy_backend_current_queue{proxy=\"c\"} NaN\n\
             p_t 0.001500\n"
        );
        assert_eq!(chunked(b""), b"0\r\n\r\n");
        assert_eq!(
            chunked(&[b'x'; 26]),
            [b"1A\r\n" as &[u8], &[b'x'; 26], b"\r\n0\r\n\r\n"].concat()
        );
    }
}
