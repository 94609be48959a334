//! `show info`: the process-wide figures, with HAProxy 2.6's keys in its
//! order. Values rproxy has no equivalent for (SSL, compression, memory
//! pools) are reported as 0, as an HAProxy built without them does.

use crate::engine::counters::{Counters, FreqCtr};
use crate::engine::state::Shared;
use std::sync::OnceLock;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

static STARTED: OnceLock<(Instant, Duration)> = OnceLock::new();

/// Records the process start (first call wins).
pub fn mark_start() {
    STARTED.get_or_init(|| {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        (Instant::now(), wall)
    });
}

/// When the process started: monotonic, and since the Unix epoch.
fn started() -> (Instant, Duration) {
    mark_start();
    STARTED
        .get()
        .copied()
        .unwrap_or((Instant::now(), Duration::ZERO))
}

/// A float as HAProxy prints one (`%f`, then `flt_trim`): six decimals
/// with the trailing zeros, and a bare trailing point, removed.
pub fn flt(v: f64) -> String {
    let s = format!("{v:.6}");
    let s = s.trim_end_matches('0');
    s.strip_suffix('.').unwrap_or(s).to_string()
}

/// Process-wide rates, fed on accept (`ConnRate`, `SessRate`), and the
/// stats socket sessions `CumReq` counts.
#[derive(Default)]
pub struct GlobalRates {
    pub conn: FreqCtr,
    pub conn_max: std::sync::atomic::AtomicU32,
    pub cli_sessions: std::sync::atomic::AtomicU64,
}

impl GlobalRates {
    pub fn accepted(&self) {
        let r = self.conn.add(1);
        self.conn_max.fetch_max(r, Ordering::Relaxed);
    }
}

/// The version as `show info` and the stats page give it: HAProxy's, with
/// rproxy's own as the build suffix (tools key their parsing on it).
pub fn version() -> String {
    format!("{}-rproxy-{}", crate::HAPROXY_VERSION, crate::VERSION)
}

pub const RELEASE_DATE: &str = "2023/03/10";

fn uptime_text(secs: u64) -> String {
    format!(
        "{}d {}h{:02}m{:02}s",
        secs / 86400,
        (secs / 3600) % 24,
        (secs / 60) % 60,
        secs % 60
    )
}

fn cpu_seconds() -> f64 {
    nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_SELF)
        .map(|u| {
            let t = |tv: nix::sys::time::TimeVal| tv.tv_sec() as f64 + tv.tv_usec() as f64 / 1e6;
            t(u.user_time()) + t(u.system_time())
        })
        .unwrap_or(0.0)
}

/// The `(key, value)` pairs in HAProxy's order.
pub fn fields(shared: &Shared) -> Vec<(&'static str, String)> {
    fields_with(shared, false)
}

/// As `fields`; with `float` (`show info float`), uptimes and rates are
/// given as floats, as HAProxy's `STAT_USE_FLOAT` gives them.
pub fn fields_with(shared: &Shared, float: bool) -> Vec<(&'static str, String)> {
    let g = &shared.global;
    let cfg = &shared.config.global;
    let (t0, wall) = started();
    let up = t0.elapsed().as_secs();
    // Integer or float, as `float` asks.
    let num = |int: u64, f: f64| if float { flt(f) } else { int.to_string() };
    let threads = shared.threads.max(1);
    let nofile = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
        .map_or(0, |(soft, _)| soft);
    let sum = |f: &dyn Fn(&Counters) -> u64| -> u64 {
        shared
            .proxies
            .iter()
            .zip(&shared.config.proxies)
            .filter(|(_, p)| p.kind.has_frontend())
            .map(|(rt, _)| f(&rt.fe))
            .sum()
    };
    // HAProxy's `CumReq` counts streams (`global.req_count`): each HTTP
    // request, each TCP session, each stats socket session.
    let cum_req: u64 = shared
        .proxies
        .iter()
        .zip(&shared.config.proxies)
        .filter(|(_, p)| p.kind.has_frontend())
        .map(|(rt, p)| match p.mode {
            crate::config::model::Mode::Http => Counters::get(&rt.fe.cum_req),
            _ => Counters::get(&rt.fe.cum_sess),
        })
        .sum::<u64>()
        + g.rates.cli_sessions.load(Ordering::Relaxed);
    let sess_rate = sum(&|c| u64::from(c.sess_per_sec.read()));
    let sess_rate_flt: f64 = shared
        .proxies
        .iter()
        .zip(&shared.config.proxies)
        .filter(|(_, p)| p.kind.has_frontend())
        .map(|(rt, _)| rt.fe.sess_per_sec.read_flt())
        .sum();
    let bytes_out = sum(&|c| Counters::get(&c.bytes_out));
    let listeners: usize = shared
        .config
        .proxies
        .iter()
        .filter(|p| p.kind.has_frontend())
        .map(|p| p.binds.iter().map(|b| b.addrs.len()).sum::<usize>())
        .sum::<usize>()
        + cfg.stats_sockets.len();
    let actconn = u64::from(g.actconn.load(Ordering::Relaxed));
    let idle = {
        let busy = cpu_seconds() / (t0.elapsed().as_secs_f64().max(0.001) * threads as f64);
        (100.0 - busy * 100.0).clamp(0.0, 100.0) as u64
    };
    let conn_rate = u64::from(g.rates.conn.read());
    let conn_max = u64::from(g.rates.conn_max.load(Ordering::Relaxed));
    let v = version();
    let mut out: Vec<(&'static str, String)> = vec![
        ("Name", "HAProxy".into()),
        ("Version", v.clone()),
        ("Release_date", RELEASE_DATE.into()),
        ("Nbthread", threads.to_string()),
        ("Nbproc", "1".into()),
        ("Process_num", "1".into()),
        ("Pid", std::process::id().to_string()),
        ("Uptime", uptime_text(up)),
        ("Uptime_sec", num(up, t0.elapsed().as_secs_f64())),
        ("Memmax_MB", "0".into()),
        ("PoolAlloc_MB", "0".into()),
        ("PoolUsed_MB", "0".into()),
        ("PoolFailed", "0".into()),
        ("Ulimit-n", nofile.to_string()),
        ("Maxsock", nofile.to_string()),
        ("Maxconn", g.maxconn.to_string()),
        ("Hard_maxconn", g.maxconn.to_string()),
        ("CurrConns", actconn.to_string()),
        ("CumConns", g.total.load(Ordering::Relaxed).to_string()),
        ("CumReq", cum_req.to_string()),
        ("MaxSslConns", "0".into()),
        ("CurrSslConns", "0".into()),
        ("CumSslConns", "0".into()),
        ("Maxpipes", cfg.maxpipes.unwrap_or(0).to_string()),
        ("PipesUsed", "0".into()),
        ("PipesFree", "0".into()),
        ("ConnRate", num(conn_rate, g.rates.conn.read_flt())),
        ("ConnRateLimit", cfg.maxconnrate.unwrap_or(0).to_string()),
        ("MaxConnRate", conn_max.to_string()),
        ("SessRate", num(sess_rate, sess_rate_flt)),
        ("SessRateLimit", cfg.maxsessrate.unwrap_or(0).to_string()),
        ("MaxSessRate", conn_max.to_string()),
    ];
    for k in [
        "SslRate",
        "SslRateLimit",
        "MaxSslRate",
        "SslFrontendKeyRate",
        "SslFrontendMaxKeyRate",
        "SslFrontendSessionReuse_pct",
        "SslBackendKeyRate",
        "SslBackendMaxKeyRate",
        "SslCacheLookups",
        "SslCacheMisses",
        "CompressBpsIn",
        "CompressBpsOut",
        "CompressBpsRateLim",
    ] {
        // "0" either way: `flt` prints a zero float as HAProxy does.
        out.push((k, "0".into()));
    }
    out.extend([
        ("Tasks", (actconn + listeners as u64).to_string()),
        ("Run_queue", "0".into()),
        ("Idle_pct", idle.to_string()),
        ("node", node_name(shared)),
    ]);
    if let Some(d) = &cfg.description {
        out.push(("description", d.clone()));
    }
    out.extend([
        (
            "Stopping",
            u8::from(g.stopping.load(Ordering::Relaxed)).to_string(),
        ),
        ("Jobs", (actconn + listeners as u64).to_string()),
        ("Unstoppable Jobs", "0".into()),
        ("Listeners", listeners.to_string()),
        ("ActivePeers", "0".into()),
        ("ConnectedPeers", "0".into()),
        (
            "DroppedLogs",
            crate::log::sink::DROPPED
                .load(Ordering::Relaxed)
                .to_string(),
        ),
        ("BusyPolling", "0".into()),
        ("FailedResolutions", "0".into()),
        ("TotalBytesOut", bytes_out.to_string()),
        ("TotalSplicdedBytesOut", "0".into()),
        ("BytesOutRate", "0".into()),
        ("DebugCommandsIssued", "0".into()),
        ("CumRecvLogs", "0".into()),
        ("Build info", v),
        ("Memmax_bytes", "0".into()),
        ("PoolAlloc_bytes", "0".into()),
        ("PoolUsed_bytes", "0".into()),
        ("Start_time_sec", num(wall.as_secs(), wall.as_secs_f64())),
        ("Tainted", "0".into()),
    ]);
    out
}

/// `node`: the configured name, else the host name.
pub fn node_name(shared: &Shared) -> String {
    shared.config.global.node.clone().unwrap_or_else(|| {
        nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok())
            .unwrap_or_default()
    })
}

/// `show info`'s text: `Key: value` lines.
pub fn render(shared: &Shared) -> String {
    render_with(shared, super::Format::Plain, false, false)
}

/// `show info [typed|json] [desc] [float]`: `desc` appends each field's
/// description (plain and typed forms only, as in HAProxy), `float` gives
/// uptimes and rates with their fractions.
pub fn render_with(shared: &Shared, format: super::Format, desc: bool, float: bool) -> String {
    let fields = fields_with(shared, float);
    match format {
        super::Format::Typed => super::typed::info(&fields, desc, float),
        super::Format::Json => super::json::info(&fields, float),
        super::Format::Plain => {
            let mut out = String::new();
            for (k, v) in &fields {
                out.push_str(k);
                out.push_str(": ");
                out.push_str(v);
                if desc && let Some(f) = super::meta::info_field(k) {
                    out.push_str(":\"");
                    out.push_str(f.desc);
                    out.push('"');
                }
                out.push('\n');
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::flt;

    #[test]
    fn floats_print_as_haproxy_trims_them() {
        assert_eq!(flt(7.867621), "7.867621");
        assert_eq!(flt(11.0), "11");
        assert_eq!(flt(0.0), "0");
        assert_eq!(flt(2.5), "2.5");
    }
}
