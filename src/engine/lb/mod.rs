//! Server selection with HAProxy's algorithms and semantics: only UP
//! servers with a non-zero weight take load-balanced traffic; backups are
//! used when no active server is usable (the first one, or all with
//! `option allbackups`); servers at their `maxconn` are skipped.

pub mod chash;
pub mod fwrr;
pub mod hash;
pub mod lc;
pub mod map;

use super::state::Shared;
use crate::config::model::{Balance, HashFunction, HashMethod, Proxy};
use std::net::SocketAddr;
use std::sync::Mutex;

/// The outcome of a pick.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pick {
    /// A server with a free slot (or one the key designates).
    Server(usize),
    /// The key designates this server, but it is full: wait in its queue.
    Queue(usize),
    /// Usable servers exist but all are full: wait in the backend queue.
    AllFull,
    /// No usable server.
    NoServer,
}

enum Kind {
    RoundRobin(Mutex<fwrr::Fwrr>),
    StaticRr(map::Map),
    LeastConn(lc::LeastConn),
    First,
    Source {
        map: map::Map,
        ring: chash::Ring,
    },
    /// HTTP-keyed hashing (`uri`, `url_param`, `hdr`, `rdp-cookie`, `hash`):
    /// the key arrives with HTTP mode; until then, round robin as HAProxy
    /// falls back to when the key is missing.
    Keyed {
        map: map::Map,
        ring: chash::Ring,
        rr: Mutex<fwrr::Fwrr>,
    },
    Random {
        ring: chash::Ring,
        draws: u32,
    },
}

pub struct Balancer {
    kind: Kind,
    consistent: bool,
    function: HashFunction,
    avalanche: bool,
    backup: Vec<bool>,
    weights: Vec<u32>,
    puids: Vec<u32>,
    allbackups: bool,
}

impl Balancer {
    pub fn new(p: &Proxy) -> Balancer {
        let weights: Vec<u32> = p.servers.iter().map(|s| s.opts.weight).collect();
        let backup: Vec<bool> = p.servers.iter().map(|s| s.opts.backup).collect();
        let usable: Vec<bool> = p.servers.iter().map(|s| !s.opts.disabled).collect();
        let puids: Vec<u32> = p.servers.iter().map(|s| s.puid).collect();
        let allbackups = p.options.allbackups;
        let ring = || {
            let pts: Vec<(u32, u32)> = puids.iter().copied().zip(weights.iter().copied()).collect();
            chash::Ring::new(&pts, &usable)
        };
        let kind = match &p.balance {
            Balance::RoundRobin => Kind::RoundRobin(Mutex::new(fwrr::Fwrr::new(
                &weights, &backup, &usable, allbackups,
            ))),
            Balance::StaticRr => {
                Kind::StaticRr(map::Map::new(&weights, &backup, &usable, allbackups))
            }
            Balance::LeastConn => Kind::LeastConn(lc::LeastConn::new(&weights)),
            Balance::First => Kind::First,
            Balance::Source => Kind::Source {
                map: map::Map::new(&weights, &backup, &usable, allbackups),
                ring: ring(),
            },
            Balance::Random { draws } => Kind::Random {
                ring: ring(),
                draws: *draws,
            },
            _ => Kind::Keyed {
                map: map::Map::new(&weights, &backup, &usable, allbackups),
                ring: ring(),
                rr: Mutex::new(fwrr::Fwrr::new(&weights, &backup, &usable, allbackups)),
            },
        };
        let consistent = p.hash_type.method == HashMethod::Consistent;
        Balancer {
            kind,
            consistent,
            function: p.hash_type.function,
            avalanche: p.hash_type.avalanche,
            backup,
            weights,
            puids,
            allbackups,
        }
    }

    /// Servers eligible now: usable actives, else backups.
    fn candidates(&self, shared: &Shared, be: usize) -> Vec<usize> {
        let srv = &shared.proxies[be].servers;
        let act: Vec<usize> = (0..srv.len())
            .filter(|&i| !self.backup[i] && srv[i].usable())
            .collect();
        if !act.is_empty() {
            return act;
        }
        let bck: Vec<usize> = (0..srv.len())
            .filter(|&i| self.backup[i] && srv[i].usable())
            .collect();
        if self.allbackups {
            bck
        } else {
            bck.into_iter().take(1).collect()
        }
    }

    /// Applies `hash-type` to a key: `avalanche` (the default of
    /// consistent hashing) mixes it.
    fn finish_hash(&self, h: u32) -> u32 {
        if self.avalanche {
            hash::full_hash(h)
        } else {
            h
        }
    }

    /// Hashes a byte key with the configured function.
    pub fn hash_bytes(&self, key: &[u8]) -> u32 {
        let h = match self.function {
            HashFunction::Sdbm => hash::sdbm(key),
            HashFunction::Djb2 => hash::djb2(key),
            HashFunction::Wt6 => hash::wt6(key),
            HashFunction::Crc32 => hash::crc32(key),
            HashFunction::None => key
                .iter()
                .take(4)
                .fold(0u32, |h, b| (h << 8) | u32::from(*b)),
        };
        self.finish_hash(h)
    }

    pub fn pick(
        &self,
        shared: &Shared,
        be: usize,
        client: Option<SocketAddr>,
        avoid: Option<usize>,
    ) -> Pick {
        let servers = &shared.proxies[be].servers;
        let has_slot = |i: usize| servers[i].has_free_slot();
        let cands = self.candidates(shared, be);
        if cands.is_empty() {
            return Pick::NoServer;
        }
        let chosen = match &self.kind {
            Kind::RoundRobin(f) => {
                let mut f = f.lock().unwrap_or_else(|e| e.into_inner());
                f.next(&has_slot, avoid)
            }
            Kind::StaticRr(m) => m.next(&has_slot, avoid),
            Kind::LeastConn(lc) => lc.pick(&cands, &has_slot, avoid),
            Kind::First => lc::first(&cands, &self.puids, &self.weights, &has_slot, avoid),
            Kind::Source { map, ring } => {
                let Some(c) = client else {
                    // No address to hash (unix socket client): round robin
                    // on the map, as HAProxy falls back.
                    return self.keyed_result(map.next(&has_slot, avoid), &has_slot);
                };
                // With a single usable server HAProxy does not hash at all.
                let h = if cands.len() == 1 {
                    0
                } else {
                    self.finish_hash(hash::source_key(c.ip()))
                };
                let s = if self.consistent {
                    ring.lookup(h, avoid)
                } else {
                    map.hash(h)
                };
                return self.keyed_result(s, &has_slot);
            }
            Kind::Keyed { rr, .. } => {
                let mut f = rr.lock().unwrap_or_else(|e| e.into_inner());
                f.next(&has_slot, avoid)
            }
            Kind::Random { ring, draws } => {
                let mut best: Option<usize> = None;
                for _ in 0..(*draws).max(1) {
                    let Some(s) = ring.lookup(random_u32(), avoid) else {
                        continue;
                    };
                    let load = |i: usize| {
                        u64::from(servers[i].cur.load(std::sync::atomic::Ordering::Relaxed))
                    };
                    best = match best {
                        None => Some(s),
                        Some(b) => {
                            // least loaded relative to weight
                            let lhs = load(s) * u64::from(self.weights[b].max(1));
                            let rhs = load(b) * u64::from(self.weights[s].max(1));
                            Some(if lhs < rhs { s } else { b })
                        }
                    };
                }
                return self.keyed_result(best, &has_slot);
            }
        };
        match chosen {
            Some(i) => Pick::Server(i),
            None => Pick::AllFull,
        }
    }

    fn keyed_result(&self, s: Option<usize>, has_slot: &dyn Fn(usize) -> bool) -> Pick {
        match s {
            Some(i) if has_slot(i) => Pick::Server(i),
            Some(i) => Pick::Queue(i),
            None => Pick::NoServer,
        }
    }

    /// A server's usability changed (health, maintenance, drain).
    pub fn set_usable(&self, shared: &Shared, be: usize, i: usize, usable: bool) {
        let all: Vec<bool> = shared.proxies[be]
            .servers
            .iter()
            .map(|s| s.usable())
            .collect();
        match &self.kind {
            Kind::RoundRobin(f) => {
                let mut f = f.lock().unwrap_or_else(|e| e.into_inner());
                if usable { f.set_up(i) } else { f.set_down(i) }
            }
            Kind::StaticRr(m) => m.set_usable(i, usable),
            Kind::Source { map, ring } => {
                map.set_usable(i, usable);
                ring.rebuild(&all);
            }
            Kind::Keyed { map, ring, rr } => {
                map.set_usable(i, usable);
                ring.rebuild(&all);
                let mut f = rr.lock().unwrap_or_else(|e| e.into_inner());
                if usable { f.set_up(i) } else { f.set_down(i) }
            }
            Kind::Random { ring, .. } => ring.rebuild(&all),
            Kind::LeastConn(_) | Kind::First => {}
        }
    }

    /// A server's effective weight changed (slow start, `set weight`).
    pub fn set_weight(&self, i: usize, uweight: u32) {
        if let Kind::RoundRobin(f) = &self.kind {
            let mut f = f.lock().unwrap_or_else(|e| e.into_inner());
            f.set_weight(i, uweight);
        }
    }

    /// Connection accounting for leastconn.
    pub fn inflight_changed(&self, i: usize, inflight: u32) {
        if let Kind::LeastConn(lc) = &self.kind {
            lc.update(i, u64::from(inflight));
        }
    }
}

fn random_u32() -> u32 {
    let mut b = [0u8; 4];
    // SAFETY: b is a valid writable buffer of 4 bytes.
    unsafe {
        libc::getrandom(b.as_mut_ptr().cast(), 4, 0);
    }
    u32::from_ne_bytes(b)
}
