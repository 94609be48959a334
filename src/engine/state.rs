//! Run-time state shared by the engine threads: connection counters, server
//! states and weights, queues. Everything on the hot path is an atomic; the
//! only locks are the queues, touched only when a server is full.

use crate::config::model::{Config, Proxy, Server};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{Semaphore, oneshot};

/// Operational state of a server, as health checks and the CLI set it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum SrvState {
    Up = 0,
    Down = 1,
    /// Administrative maintenance (`disabled`, `set server … maint`).
    Maint = 2,
    /// Takes no new load-balanced connections (`drain`).
    Drain = 3,
}

impl SrvState {
    fn from_u8(v: u8) -> SrvState {
        match v {
            0 => SrvState::Up,
            1 => SrvState::Down,
            2 => SrvState::Maint,
            _ => SrvState::Drain,
        }
    }
}

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

pub struct ServerRt {
    pub idx: usize,
    state: AtomicU8,
    /// Effective weight (slow start, `set weight`); the configured one is
    /// in the model.
    pub eweight: AtomicU32,
    /// Connections currently established or being established.
    pub cur: AtomicU32,
    pub max_seen: AtomicU32,
    pub total: AtomicU64,
    /// `maxconn` as set at run time (0 = unlimited).
    pub maxconn: AtomicU32,
    /// `minconn`: the limit while the backend is far below `fullconn`.
    pub minconn: u32,
    pub queue: Queue,
    /// Bumped to end every session using this server.
    pub kill: tokio::sync::watch::Sender<u64>,
}

impl ServerRt {
    pub fn state(&self) -> SrvState {
        SrvState::from_u8(self.state.load(Ordering::Acquire))
    }

    pub fn set_state(&self, s: SrvState) {
        self.state.store(s as u8, Ordering::Release);
    }

    /// Takes part in load balancing: UP with a non-zero weight.
    pub fn usable(&self) -> bool {
        self.state() == SrvState::Up && self.eweight.load(Ordering::Relaxed) > 0
    }

    /// Can serve a connection sent to it explicitly (persistence).
    pub fn accepts_direct(&self) -> bool {
        matches!(self.state(), SrvState::Up | SrvState::Drain)
    }

    /// Whether a connection fits under `limit` (0 = unlimited).
    pub fn has_free_slot(&self, limit: u32) -> bool {
        limit == 0 || self.cur.load(Ordering::Relaxed) < limit
    }

    /// Claims a slot if one is free under `limit` (0 = unlimited).
    pub fn try_take(&self, limit: u32) -> bool {
        let mut cur = self.cur.load(Ordering::Relaxed);
        loop {
            if limit != 0 && cur >= limit {
                return false;
            }
            match self
                .cur
                .compare_exchange_weak(cur, cur + 1, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => {
                    self.max_seen.fetch_max(cur + 1, Ordering::Relaxed);
                    self.total.fetch_add(1, Ordering::Relaxed);
                    return true;
                }
                Err(c) => cur = c,
            }
        }
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
    pub be_total: AtomicU64,
    /// Frontend `maxconn` slots (None: only the global limit applies).
    pub fe_slots: Option<Arc<Semaphore>>,
    /// Per `bind` line, its `maxconn` slots, shared by the listening
    /// sockets of the line and their per-thread copies.
    pub bind_slots: Vec<Option<Arc<Semaphore>>>,
    pub servers: Vec<ServerRt>,
    /// Connections waiting for any server of this backend.
    pub queue: Queue,
    pub lb: super::lb::Balancer,
    /// Compiled `use_backend` rules and default backend.
    pub switching: super::route::Switching,
    /// Set when no server was available at the last pick (for the
    /// "has no server available" message edge).
    pub no_server: AtomicBool,
    /// `fullconn`, or HAProxy's default: a tenth of the maxconn of the
    /// frontends that can reach this backend.
    pub fullconn: u32,
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

    pub fn has_free_slot(&self, srv: usize) -> bool {
        self.servers[srv].has_free_slot(self.server_limit(srv))
    }

    pub fn try_take(&self, srv: usize) -> bool {
        self.servers[srv].try_take(self.server_limit(srv))
    }
}

pub struct GlobalRt {
    pub maxconn: u32,
    pub actconn: AtomicU32,
    pub total: AtomicU64,
    pub slots: Arc<Semaphore>,
    pub stopping: AtomicBool,
    /// Set to end every session at once (hard stop).
    pub kill: tokio::sync::watch::Sender<bool>,
    /// Set to make every listener stop accepting (soft stop).
    pub stop_accepting: tokio::sync::watch::Sender<bool>,
    seq: AtomicU64,
}

impl GlobalRt {
    pub fn next_seq(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::Relaxed)
    }
}

pub struct Shared {
    pub config: Arc<Config>,
    pub global: GlobalRt,
    pub proxies: Vec<ProxyRt>,
}

impl Shared {
    pub fn new(config: Arc<Config>, maxconn: u32) -> Shared {
        let mut compiler = super::acl::Compiler::default();
        let mut proxies: Vec<ProxyRt> = config
            .proxies
            .iter()
            .enumerate()
            .map(|(idx, p)| proxy_rt(idx, p, maxconn, &config, &mut compiler))
            .collect();
        default_fullconn(&mut proxies, &config, maxconn);
        Shared {
            global: GlobalRt {
                maxconn,
                actconn: AtomicU32::new(0),
                total: AtomicU64::new(0),
                slots: Arc::new(Semaphore::new(maxconn as usize)),
                stopping: AtomicBool::new(false),
                kill: tokio::sync::watch::Sender::new(false),
                stop_accepting: tokio::sync::watch::Sender::new(false),
                seq: AtomicU64::new(0),
            },
            proxies,
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
        .map(|(i, s)| ServerRt {
            idx: i,
            state: AtomicU8::new(if s.opts.disabled {
                SrvState::Maint as u8
            } else {
                SrvState::Up as u8
            }),
            eweight: AtomicU32::new(s.opts.weight),
            cur: AtomicU32::new(0),
            max_seen: AtomicU32::new(0),
            total: AtomicU64::new(0),
            maxconn: AtomicU32::new(s.opts.maxconn),
            minconn: s.opts.minconn,
            queue: Queue::default(),
            kill: tokio::sync::watch::Sender::new(0),
        })
        .collect();
    let fe_limit = p.maxconn.filter(|m| *m > 0).unwrap_or(global_maxconn);
    ProxyRt {
        idx,
        feconn: AtomicU32::new(0),
        fe_max: AtomicU32::new(0),
        fe_total: AtomicU64::new(0),
        beconn: AtomicU32::new(0),
        be_total: AtomicU64::new(0),
        fe_slots: (p.kind.has_frontend() && fe_limit < global_maxconn)
            .then(|| Arc::new(Semaphore::new(fe_limit as usize))),
        bind_slots: p
            .binds
            .iter()
            .map(|b| {
                b.maxconn
                    .filter(|m| *m > 0 && *m < fe_limit)
                    .map(|m| Arc::new(Semaphore::new(m as usize)))
            })
            .collect(),
        lb: super::lb::Balancer::new(p),
        switching: super::route::Switching::compile(&config.proxies, idx, compiler),
        servers,
        queue: Queue::default(),
        no_server: AtomicBool::new(false),
        fullconn: p.fullconn.unwrap_or(0),
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
