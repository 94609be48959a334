//! Run-time state shared by the engine threads: connection counters, server
//! states and weights, queues. Everything on the hot path is an atomic; the
//! only locks are the queues, touched only when a server is full.

use super::counters::Counters;
pub use super::server::ServerRt;
use crate::config::model::{Config, Proxy, Server};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{Semaphore, oneshot};

/// Sent to a waiter instead of a server: pick again.
pub const REDISPATCH: usize = usize::MAX;

/// A connection waiting for a server slot.
pub struct Waiter {
    /// Order of arrival across the server and backend queues.
    pub seq: u64,
    /// Receives the server index the slot was given on.
    pub tx: oneshot::Sender<usize>,
}

#[derive(Default)]
pub struct Queue {
    waiters: Mutex<VecDeque<Waiter>>,
    /// Current length, readable without the lock (stats, logs).
    pub len: AtomicU32,
    pub max: AtomicU32,
}

impl Queue {
    pub fn push(&self, w: Waiter) -> u32 {
        let mut q = self.waiters.lock().unwrap_or_else(|e| e.into_inner());
        q.push_back(w);
        let n = q.len() as u32;
        self.len.store(n, Ordering::Relaxed);
        self.max.fetch_max(n, Ordering::Relaxed);
        n
    }

    /// Sequence number of the oldest live waiter.
    pub fn head_seq(&self) -> Option<u64> {
        let mut q = self.waiters.lock().unwrap_or_else(|e| e.into_inner());
        while q.front().is_some_and(|w| w.tx.is_closed()) {
            q.pop_front();
        }
        self.len.store(q.len() as u32, Ordering::Relaxed);
        q.front().map(|w| w.seq)
    }

    /// Sends every waiter back to the load balancer (their server went
    /// DOWN); returns how many were waiting.
    pub fn redistribute(&self) -> u32 {
        let mut q = self.waiters.lock().unwrap_or_else(|e| e.into_inner());
        let mut n = 0;
        for w in q.drain(..) {
            if w.tx.send(REDISPATCH).is_ok() {
                n += 1;
            }
        }
        self.len.store(0, Ordering::Relaxed);
        n
    }

    /// Gives `server` to the oldest waiter still waiting; false if none.
    pub fn hand_over(&self, server: usize) -> bool {
        let mut q = self.waiters.lock().unwrap_or_else(|e| e.into_inner());
        while let Some(w) = q.pop_front() {
            if w.tx.send(server).is_ok() {
                self.len.store(q.len() as u32, Ordering::Relaxed);
                return true;
            }
        }
        self.len.store(0, Ordering::Relaxed);
        false
    }

    pub fn len(&self) -> u32 {
        self.len.load(Ordering::Relaxed)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

pub struct ProxyRt {
    pub idx: usize,
    /// Frontend connections (accepted, not yet closed).
    pub feconn: AtomicU32,
    pub fe_max: AtomicU32,
    pub fe_total: AtomicU64,
    /// Backend connections (assigned to this backend).
    pub beconn: AtomicU32,
    pub be_max: AtomicU32,
    pub be_total: AtomicU64,
    /// Statistics as a frontend and as a backend (`show stat`).
    pub fe: Counters,
    pub be: Counters,
    /// Per `bind` line, for `option socket-stats`.
    pub listeners: Vec<ListenerRt>,
    /// `shutdown frontend`: listeners closed for good.
    pub stopped: AtomicBool,
    /// `disable frontend`: listeners paused.
    pub paused: AtomicBool,
    /// Frontend `maxconn` slots (frontends only).
    pub fe_slots: Option<Arc<Semaphore>>,
    /// The frontend's limit now (`set maxconn frontend`).
    pub fe_maxconn: AtomicU32,
    /// Per `bind` line, its `maxconn` slots, shared by the listening
    /// sockets of the line and their per-thread copies.
    pub bind_slots: Vec<Option<Arc<Semaphore>>>,
    pub servers: Vec<ServerRt>,
    /// Connections waiting for any server of this backend.
    pub queue: Queue,
    pub lb: super::lb::Balancer,
    /// Compiled `use_backend` rules and default backend.
    pub switching: super::route::Switching,
    /// Conditions of the HTTP rules.
    pub http: super::http::rules::Compiled,
    /// `tcp-request` rules.
    pub tcp: super::tcp_rules::Compiled,
    /// Set when no server was available at the last pick (for the
    /// "has no server available" message edge).
    pub no_server: AtomicBool,
    /// `fullconn`, or HAProxy's default: a tenth of the maxconn of the
    /// frontends that can reach this backend.
    pub fullconn: u32,
    /// Held while a server of this backend changes state, so that the
    /// counts in the messages and the balancer's view agree.
    pub changes: Mutex<()>,
    /// When the backend last lost or regained its last server, and the
    /// seconds it spent without any.
    pub down: Mutex<BackendDown>,
}

/// A `bind` line's own connection count and counters.
#[derive(Default)]
pub struct ListenerRt {
    pub cur: AtomicU32,
    pub max: AtomicU32,
    pub counters: Counters,
}

#[derive(Clone, Copy, Debug)]
pub struct BackendDown {
    pub last_change: std::time::Instant,
    pub down_time: u64,
    pub down_trans: u64,
}

impl ProxyRt {
    /// A server's connection limit now (0 = unlimited): with `minconn`, it
    /// grows from minconn to maxconn as the backend's load approaches
    /// `fullconn` (HAProxy's dynamic maxconn).
    pub fn server_limit(&self, srv: usize) -> u32 {
        let s = &self.servers[srv];
        let max = s.maxconn.load(Ordering::Relaxed);
        if max == 0 || s.minconn == 0 || s.minconn >= max {
            return max;
        }
        let beconn = self.beconn.load(Ordering::Relaxed);
        if beconn >= self.fullconn {
            return max;
        }
        let scaled = u64::from(beconn) * u64::from(max) / u64::from(self.fullconn.max(1));
        (scaled as u32).max(s.minconn).max(1)
    }

    /// `set maxconn frontend`.
    pub fn set_fe_maxconn(&self, v: u32) {
        if let Some(sem) = &self.fe_slots {
            resize(sem, &self.fe_maxconn, v);
        }
    }

    /// A client connection accepted on `bind` became a session (no
    /// `tcp-request connection` rule rejected it).
    pub fn accepted(&self, bind: usize) {
        let n = self.feconn.fetch_add(1, Ordering::Relaxed) + 1;
        self.fe_total.fetch_add(1, Ordering::Relaxed);
        self.fe_max.fetch_max(n, Ordering::Relaxed);
        self.fe.new_sess();
        if let Some(l) = self.listeners.get(bind) {
            let n = l.cur.fetch_add(1, Ordering::Relaxed) + 1;
            l.max.fetch_max(n, Ordering::Relaxed);
        }
    }

    /// A connection accept(2) returned, before `tcp-request connection`
    /// rules judge it.
    pub fn connection_seen(&self, bind: usize) {
        self.fe.new_conn();
        if let Some(l) = self.listeners.get(bind) {
            l.counters.new_conn();
        }
    }

    pub fn closed(&self, bind: usize) {
        self.feconn.fetch_sub(1, Ordering::Relaxed);
        if let Some(l) = self.listeners.get(bind) {
            l.cur.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// A stream handed to this backend.
    pub fn assigned(&self) {
        let n = self.beconn.fetch_add(1, Ordering::Relaxed) + 1;
        self.be_total.fetch_add(1, Ordering::Relaxed);
        self.be_max.fetch_max(n, Ordering::Relaxed);
        self.be.new_stream();
    }

    pub fn has_free_slot(&self, srv: usize) -> bool {
        self.servers[srv].has_free_slot(self.server_limit(srv))
    }

    pub fn try_take(&self, srv: usize) -> bool {
        self.servers[srv].try_take(self.server_limit(srv))
    }
}

pub struct GlobalRt {
    /// The limit set at start-up (`Hard_maxconn`).
    pub maxconn: u32,
    /// The limit now (`set maxconn global`).
    pub maxconn_now: AtomicU32,
    pub actconn: AtomicU32,
    pub total: AtomicU64,
    pub slots: Arc<Semaphore>,
    pub stopping: AtomicBool,
    /// Set to end every session at once (hard stop).
    pub kill: tokio::sync::watch::Sender<bool>,
    /// Set to make every listener stop accepting (soft stop).
    pub stop_accepting: tokio::sync::watch::Sender<bool>,
    /// Set while listeners are paused (SIGTTOU; SIGTTIN resumes).
    pub paused: tokio::sync::watch::Sender<bool>,
    /// Process-wide accept rate (`show info`).
    pub rates: crate::stats::info::GlobalRates,
    seq: AtomicU64,
}

impl GlobalRt {
    pub fn maxconn_hard(&self) -> u32 {
        self.maxconn
    }

    /// `set maxconn global`: 0 restores the start-up limit.
    pub fn set_maxconn(&self, v: u32) {
        let v = if v == 0 { self.maxconn } else { v };
        resize(&self.slots, &self.maxconn_now, v);
    }

    pub fn next_seq(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::Relaxed)
    }
}

pub struct Shared {
    pub config: Arc<Config>,
    /// Engine threads (`Nbthread`).
    pub threads: usize,
    pub global: GlobalRt,
    pub proxies: Vec<ProxyRt>,
    /// Each proxy's last invalid request and response (`show errors`).
    pub captures: super::captures::Captures,
    /// The streams in progress (`show sess`).
    pub streams: super::streams::Streams,
}

impl Shared {
    pub fn new(config: Arc<Config>, maxconn: u32, threads: usize) -> Shared {
        let mut compiler = super::acl::Compiler::default();
        let mut proxies: Vec<ProxyRt> = config
            .proxies
            .iter()
            .enumerate()
            .map(|(idx, p)| proxy_rt(idx, p, maxconn, &config, &mut compiler))
            .collect();
        default_fullconn(&mut proxies, &config, maxconn);
        for (px, list) in super::track::trackers(&config).into_iter().enumerate() {
            for (s, trackers) in list.into_iter().enumerate() {
                for &(tp, ts) in &trackers {
                    proxies[tp].servers[ts].tracks = Some((px, s));
                }
                proxies[px].servers[s].trackers = trackers;
            }
        }
        Shared {
            global: GlobalRt {
                maxconn,
                maxconn_now: AtomicU32::new(maxconn),
                actconn: AtomicU32::new(0),
                total: AtomicU64::new(0),
                slots: Arc::new(Semaphore::new(maxconn as usize)),
                stopping: AtomicBool::new(false),
                kill: tokio::sync::watch::Sender::new(false),
                stop_accepting: tokio::sync::watch::Sender::new(false),
                paused: tokio::sync::watch::Sender::new(false),
                rates: Default::default(),
                seq: AtomicU64::new(0),
            },
            threads,
            proxies,
            captures: super::captures::Captures::new(config.proxies.len()),
            streams: Default::default(),
            config,
        }
    }

    pub fn proxy_cfg(&self, idx: usize) -> &Proxy {
        &self.config.proxies[idx]
    }

    pub fn server_cfg(&self, px: usize, srv: usize) -> &Server {
        &self.config.proxies[px].servers[srv]
    }

    pub fn backend_index(&self, name: &str) -> Option<usize> {
        self.config
            .proxies
            .iter()
            .position(|p| p.name == name && p.kind.has_backend())
    }
}

fn proxy_rt(
    idx: usize,
    p: &Proxy,
    global_maxconn: u32,
    config: &Config,
    compiler: &mut super::acl::Compiler,
) -> ProxyRt {
    let servers: Vec<ServerRt> = p
        .servers
        .iter()
        .enumerate()
        .map(|(i, s)| ServerRt::new(i, &s.opts, super::track::starts_in_maint(config, idx, i)))
        .collect();
    let usable: Vec<bool> = servers.iter().map(|s| !s.in_maint()).collect();
    let fe_limit = p.maxconn.filter(|m| *m > 0).unwrap_or(global_maxconn);
    ProxyRt {
        idx,
        feconn: AtomicU32::new(0),
        fe_max: AtomicU32::new(0),
        fe_total: AtomicU64::new(0),
        beconn: AtomicU32::new(0),
        be_max: AtomicU32::new(0),
        be_total: AtomicU64::new(0),
        fe: Counters::default(),
        be: Counters::default(),
        listeners: p.binds.iter().map(|_| ListenerRt::default()).collect(),
        stopped: AtomicBool::new(false),
        paused: AtomicBool::new(false),
        fe_slots: p
            .kind
            .has_frontend()
            .then(|| Arc::new(Semaphore::new(fe_limit as usize))),
        fe_maxconn: AtomicU32::new(fe_limit),
        bind_slots: p
            .binds
            .iter()
            .map(|b| {
                b.maxconn
                    .filter(|m| *m > 0 && *m < fe_limit)
                    .map(|m| Arc::new(Semaphore::new(m as usize)))
            })
            .collect(),
        lb: super::lb::Balancer::new(p, &usable),
        switching: super::route::Switching::compile(&config.proxies, idx, compiler),
        http: super::http::rules::Compiled::new(p, compiler),
        tcp: super::tcp_rules::Compiled::new(p, compiler),
        servers,
        queue: Queue::default(),
        no_server: AtomicBool::new(false),
        fullconn: p.fullconn.unwrap_or(0),
        changes: Mutex::new(()),
        down: Mutex::new(BackendDown {
            last_change: std::time::Instant::now(),
            down_time: 0,
            down_trans: 0,
        }),
    }
}

/// Changes a limit enforced by `sem` from `current` to `v` slots; slots
/// in use above a lowered limit are withdrawn as they come back.
fn resize(sem: &Arc<Semaphore>, current: &AtomicU32, v: u32) {
    let old = current.swap(v, Ordering::AcqRel);
    if v > old {
        sem.add_permits((v - old) as usize);
    } else if v < old {
        let mut owed = (old - v) as usize;
        owed -= sem.forget_permits(owed);
        if owed > 0 {
            let sem = Arc::clone(sem);
            if let Ok(h) = tokio::runtime::Handle::try_current() {
                h.spawn(async move {
                    if let Ok(p) = sem.acquire_many(owed as u32).await {
                        p.forget();
                    }
                });
            }
        }
    }
}

/// HAProxy's default `fullconn`: a tenth (rounded up, at least 1) of the
/// sum of the maxconn of the frontends whose rules name the backend.
fn default_fullconn(proxies: &mut [ProxyRt], config: &Config, global_maxconn: u32) {
    let mut total = vec![0u64; proxies.len()];
    for (f, p) in config.proxies.iter().enumerate() {
        if !p.kind.has_frontend() {
            continue;
        }
        let fe_max = u64::from(p.maxconn.filter(|m| *m > 0).unwrap_or(global_maxconn));
        let sw = &proxies[f].switching;
        let mut targets: Vec<usize> = sw
            .rules
            .iter()
            .filter_map(|(t, _)| match t {
                super::route::Target::Backend(b) => Some(*b),
                _ => None,
            })
            .chain(sw.default)
            .collect();
        targets.sort_unstable();
        targets.dedup();
        for b in targets {
            total[b] += fe_max;
        }
    }
    for (b, rt) in proxies.iter_mut().enumerate() {
        if rt.fullconn == 0 {
            rt.fullconn = u32::try_from(total[b].div_ceil(10).max(1)).unwrap_or(u32::MAX);
        }
    }
}
