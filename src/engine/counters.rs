//! The statistics counters of frontends, backends and servers, as HAProxy
//! keeps them (`struct fe_counters` / `be_counters`): plain atomics bumped
//! on the hot path with relaxed ordering, read by `show stat` and the stats
//! page. One type serves every role; each role uses the fields HAProxy
//! gives it.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Samples in the sliding-window averages (HAProxy's TIME_STATS_SAMPLES).
pub const TIME_STATS_SAMPLES: u32 = 512;

/// Milliseconds on a process-wide monotonic clock, as HAProxy's `now_ms`.
pub fn now_ms() -> u32 {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    let start = START.get_or_init(Instant::now);
    // Starts at 1s so that a zeroed counter reads as "long ago".
    (start.elapsed().as_millis() as u64 + 1000) as u32
}

pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Events per second over a sliding second (HAProxy's `freq_ctr`): the
/// current period's count plus the share of the previous period's count
/// still inside the last second.
#[derive(Default)]
pub struct FreqCtr {
    /// Start of the current period in ms; odd while a rotation runs.
    tick: AtomicU32,
    curr: AtomicU32,
    prev: AtomicU32,
}

const PERIOD: u32 = 1000;

impl FreqCtr {
    /// Counts `inc` events now; returns the current period's count.
    pub fn add(&self, inc: u32) -> u32 {
        let (tick, now) = loop {
            let tick = self.tick.load(Ordering::Acquire);
            let now = now_ms();
            if now.wrapping_sub(tick) < PERIOD {
                return self.curr.fetch_add(inc, Ordering::AcqRel) + inc;
            }
            // A rotation is needed: the odd tick locks it.
            if tick & 1 == 0
                && self
                    .tick
                    .compare_exchange(tick, tick | 1, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok()
            {
                break (tick, now);
            }
            std::hint::spin_loop();
        };
        self.prev
            .store(self.curr.swap(inc, Ordering::AcqRel), Ordering::Release);
        let mut tick = tick.wrapping_add(PERIOD);
        if now.wrapping_sub(tick) >= PERIOD {
            // At least two periods went by.
            self.prev.store(0, Ordering::Release);
            tick = now;
        }
        self.tick.store(tick & !1, Ordering::Release);
        inc
    }

    /// Events over the last second (HAProxy's `read_freq_ctr`).
    pub fn read(&self) -> u32 {
        (self.total() / u64::from(PERIOD)) as u32
    }

    /// The same, with its fraction (`read_freq_ctr_flt`, for
    /// `show info float`).
    pub fn read_flt(&self) -> f64 {
        self.total() as f64 / f64::from(PERIOD)
    }

    /// Events over the last period, times the period in ms
    /// (`freq_ctr_total`).
    fn total(&self) -> u64 {
        let tick = self.tick.load(Ordering::Acquire) & !1;
        let mut curr = u64::from(self.curr.load(Ordering::Acquire));
        let mut past = u64::from(self.prev.load(Ordering::Acquire));
        let mut remain = i64::from(tick) + i64::from(PERIOD) - i64::from(now_ms());
        if remain < 0 {
            remain += i64::from(PERIOD);
            past = if remain >= 0 { curr } else { 0 };
            curr = 0;
        }
        if curr == 0 && past <= 1 {
            return past * u64::from(PERIOD);
        }
        past * remain.max(0) as u64 + curr * u64::from(PERIOD)
    }
}

/// A sliding-window average over the last `TIME_STATS_SAMPLES` values
/// (HAProxy's `swrate_add_dynamic` / `swrate_avg`).
#[derive(Default)]
pub struct SwRate(AtomicU32);

impl SwRate {
    /// Adds a sample; `n` is 0 until the window has filled.
    pub fn add(&self, n: u32, v: u32) {
        let _ = self
            .0
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |old| {
                let drop = old
                    .wrapping_add(n.wrapping_sub(1))
                    .checked_div(n)
                    .unwrap_or(0);
                Some(old.wrapping_sub(drop).wrapping_add(v))
            });
    }

    pub fn avg(&self, n: u32) -> u32 {
        let sum = self.0.load(Ordering::Relaxed);
        if n == 0 {
            return 0;
        }
        u64::from(sum).div_ceil(u64::from(n)) as u32
    }

    fn clear(&self) {
        self.0.store(0, Ordering::Relaxed);
    }
}

/// HTTP status classes as the counters split them: 1xx … 5xx, other.
pub fn status_class(status: i32) -> usize {
    match status {
        100..=599 => (status / 100 - 1) as usize,
        _ => 5,
    }
}

#[derive(Default)]
pub struct Counters {
    /// Connections received (frontend) or assigned (backend, server).
    pub cum_conn: AtomicU64,
    /// Sessions: connections that passed `tcp-request connection` rules
    /// (frontend), or streams given to this backend/server.
    pub cum_sess: AtomicU64,
    /// Sessions placed by load balancing (`lbtot`).
    pub cum_lbconn: AtomicU64,
    /// Unix time of the last session (backend, server).
    pub last_sess: AtomicU64,
    pub conn_per_sec: FreqCtr,
    pub sess_per_sec: FreqCtr,
    pub req_per_sec: FreqCtr,
    pub cps_max: AtomicU32,
    pub sps_max: AtomicU32,
    pub rps_max: AtomicU32,
    /// Highest number of connections waiting in the queue.
    pub nbpend_max: AtomicU32,

    pub bytes_in: AtomicU64,
    pub bytes_out: AtomicU64,

    pub denied_req: AtomicU64,
    pub denied_resp: AtomicU64,
    pub denied_conn: AtomicU64,
    pub denied_sess: AtomicU64,
    pub failed_req: AtomicU64,
    pub failed_rewrites: AtomicU64,
    pub internal_errors: AtomicU64,
    pub cli_aborts: AtomicU64,
    pub srv_aborts: AtomicU64,
    pub intercepted_req: AtomicU64,

    pub connect: AtomicU64,
    pub reuse: AtomicU64,
    pub failed_conns: AtomicU64,
    pub failed_resp: AtomicU64,
    pub retries: AtomicU64,
    pub redispatches: AtomicU64,

    pub q_time: SwRate,
    pub c_time: SwRate,
    pub d_time: SwRate,
    pub t_time: SwRate,
    pub qtime_max: AtomicU32,
    pub ctime_max: AtomicU32,
    pub dtime_max: AtomicU32,
    pub ttime_max: AtomicU32,

    pub cum_req: AtomicU64,
    pub rsp: [AtomicU64; 6],
}

fn inc(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

impl Counters {
    pub fn inc(c: &AtomicU64) {
        inc(c);
    }

    /// A new connection (frontend) or stream (backend, server).
    pub fn new_conn(&self) {
        inc(&self.cum_conn);
        let r = self.conn_per_sec.add(1);
        self.cps_max.fetch_max(r, Ordering::Relaxed);
    }

    pub fn new_sess(&self) {
        inc(&self.cum_sess);
        let r = self.sess_per_sec.add(1);
        self.sps_max.fetch_max(r, Ordering::Relaxed);
    }

    /// A stream handed to this backend or server.
    pub fn new_stream(&self) {
        inc(&self.cum_conn);
        self.new_sess();
        self.last_sess.store(unix_now(), Ordering::Relaxed);
    }

    pub fn new_req(&self) {
        inc(&self.cum_req);
        let r = self.req_per_sec.add(1);
        self.rps_max.fetch_max(r, Ordering::Relaxed);
    }

    pub fn response(&self, status: i32) {
        inc(&self.rsp[status_class(status)]);
    }

    pub fn bytes(&self, to_server: u64, to_client: u64) {
        if to_server != 0 {
            self.bytes_in.fetch_add(to_server, Ordering::Relaxed);
        }
        if to_client != 0 {
            self.bytes_out.fetch_add(to_client, Ordering::Relaxed);
        }
    }

    /// Records a finished stream's timers (HAProxy's
    /// `stream_update_time_stats`): queue, connect, data (response) and
    /// total times, each as a sliding average and a maximum.
    pub fn time_stats(&self, samples: u64, t: TimeSample) {
        let n = if samples > u64::from(TIME_STATS_SAMPLES) {
            TIME_STATS_SAMPLES
        } else {
            0
        };
        self.q_time.add(n, t.queue);
        self.c_time.add(n, t.connect);
        self.d_time.add(n, t.data);
        self.t_time.add(n, t.total);
        self.qtime_max.fetch_max(t.queue, Ordering::Relaxed);
        self.ctime_max.fetch_max(t.connect, Ordering::Relaxed);
        self.dtime_max.fetch_max(t.data, Ordering::Relaxed);
        self.ttime_max.fetch_max(t.total, Ordering::Relaxed);
    }

    /// The averaging window for a reading: the samples so far while fewer
    /// than TIME_STATS_SAMPLES were taken.
    pub fn window(samples: u64) -> u32 {
        if samples > 0 && samples < u64::from(TIME_STATS_SAMPLES) {
            samples as u32
        } else {
            TIME_STATS_SAMPLES
        }
    }

    /// `clear counters`: the maxima and rates only.
    pub fn clear_max(&self) {
        for c in [
            &self.cps_max,
            &self.sps_max,
            &self.rps_max,
            &self.nbpend_max,
            &self.qtime_max,
            &self.ctime_max,
            &self.dtime_max,
            &self.ttime_max,
        ] {
            c.store(0, Ordering::Relaxed);
        }
    }

    /// `clear counters all`.
    pub fn clear_all(&self) {
        self.clear_max();
        for c in [
            &self.cum_conn,
            &self.cum_sess,
            &self.cum_lbconn,
            &self.last_sess,
            &self.bytes_in,
            &self.bytes_out,
            &self.denied_req,
            &self.denied_resp,
            &self.denied_conn,
            &self.denied_sess,
            &self.failed_req,
            &self.failed_rewrites,
            &self.internal_errors,
            &self.cli_aborts,
            &self.srv_aborts,
            &self.intercepted_req,
            &self.connect,
            &self.reuse,
            &self.failed_conns,
            &self.failed_resp,
            &self.retries,
            &self.redispatches,
            &self.cum_req,
        ] {
            c.store(0, Ordering::Relaxed);
        }
        for c in &self.rsp {
            c.store(0, Ordering::Relaxed);
        }
        for s in [&self.q_time, &self.c_time, &self.d_time, &self.t_time] {
            s.clear();
        }
    }

    pub fn get(c: &AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }
}

/// One stream's timers for the averages, in milliseconds, each measured
/// from the end of the previous phase.
#[derive(Clone, Copy, Debug, Default)]
pub struct TimeSample {
    pub queue: u32,
    pub connect: u32,
    pub data: u32,
    pub total: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sliding_average_follows_haproxy() {
        // Below a full window the sum simply accumulates and the reading
        // divides by the number of samples.
        let s = SwRate::default();
        for v in [10, 20, 30] {
            s.add(0, v);
        }
        assert_eq!(s.avg(Counters::window(3)), 20);
        // A full window decays by 1/n per sample.
        let s = SwRate::default();
        for _ in 0..5000 {
            s.add(TIME_STATS_SAMPLES, 7);
        }
        assert_eq!(s.avg(TIME_STATS_SAMPLES), 7);
    }

    #[test]
    fn rate_counts_the_last_second() {
        let f = FreqCtr::default();
        for _ in 0..5 {
            f.add(1);
        }
        assert_eq!(f.read(), 5);
    }

    #[test]
    fn status_classes() {
        assert_eq!(status_class(101), 0);
        assert_eq!(status_class(200), 1);
        assert_eq!(status_class(404), 3);
        assert_eq!(status_class(503), 4);
        assert_eq!(status_class(-1), 5);
        assert_eq!(status_class(600), 5);
    }
}
