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
    /// A server with a free slot.
    Server(usize),
    /// The key designates this server, but it is full: wait in its queue.
    Queue(usize),
    /// Usable servers exist but all are full: wait in the backend queue.
    AllFull,
    /// No usable server.
    NoServer,
}

/// Consistent-hash rings of the active and backup groups (HAProxy keeps a
/// tree per group).
pub struct Rings {
    active: chash::Ring,
    backup: chash::Ring,
}

impl Rings {
    fn new(points: &[(u32, u32)], backup: &[bool], usable: &[bool]) -> Rings {
        let (act, bck) = Rings::members(backup, usable);
        Rings {
            active: chash::Ring::new(points, &act),
            backup: chash::Ring::new(points, &bck),
        }
    }

    fn members(backup: &[bool], usable: &[bool]) -> (Vec<bool>, Vec<bool>) {
        let act = usable.iter().zip(backup).map(|(u, b)| *u && !b).collect();
        let bck = usable.iter().zip(backup).map(|(u, b)| *u && *b).collect();
        (act, bck)
    }

    fn rebuild(&self, backup: &[bool], usable: &[bool]) {
        let (act, bck) = Rings::members(backup, usable);
        self.active.rebuild(&act);
        self.backup.rebuild(&bck);
    }
}

enum Kind {
    RoundRobin(Mutex<fwrr::Fwrr>),
    StaticRr(map::Map),
    LeastConn(lc::LeastConn),
    First,
    Source {
        map: map::Map,
        rings: Rings,
    },
    /// HTTP-keyed hashing (`uri`, `url_param`, `hdr`, `rdp-cookie`, `hash`):
    /// the key arrives with HTTP mode; until then, round robin, as HAProxy
    /// falls back when the key is missing.
    Keyed {
        map: map::Map,
        rings: Rings,
        rr: Box<Mutex<fwrr::Fwrr>>,
    },
    Random {
        rings: Rings,
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
    /// `usable`: each server's state at start (not `disabled`, nor
    /// tracking a disabled one).
    pub fn new(p: &Proxy, usable: &[bool]) -> Balancer {
        let weights: Vec<u32> = p.servers.iter().map(|s| s.opts.weight).collect();
        let backup: Vec<bool> = p.servers.iter().map(|s| s.opts.backup).collect();
        let usable = usable.to_vec();
        let puids: Vec<u32> = p.servers.iter().map(|s| s.puid).collect();
        let allbackups = p.options.allbackups;
        let rings = || {
            let pts: Vec<(u32, u32)> = puids.iter().copied().zip(weights.iter().copied()).collect();
            Rings::new(&pts, &backup, &usable)
        };
        let rr = || Mutex::new(fwrr::Fwrr::new(&weights, &backup, &usable, allbackups));
        let kind = match &p.balance {
            Balance::RoundRobin => Kind::RoundRobin(rr()),
            Balance::StaticRr => {
                Kind::StaticRr(map::Map::new(&weights, &backup, &usable, allbackups))
            }
            Balance::LeastConn => Kind::LeastConn(lc::LeastConn::new(&weights)),
            Balance::First => Kind::First,
            Balance::Source => Kind::Source {
                map: map::Map::new(&weights, &backup, &usable, allbackups),
                rings: rings(),
            },
            Balance::Random { draws } => Kind::Random {
                rings: rings(),
                draws: *draws,
            },
            _ => Kind::Keyed {
                map: map::Map::new(&weights, &backup, &usable, allbackups),
                rings: rings(),
                rr: Box::new(rr()),
            },
        };
        Balancer {
            kind,
            consistent: p.hash_type.method == HashMethod::Consistent,
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
        let bck = (0..srv.len()).filter(|&i| self.backup[i] && srv[i].usable());
        if self.allbackups {
            bck.collect()
        } else {
            bck.take(1).collect()
        }
    }

    /// The ring to hash on (HAProxy's group selection): actives if any is
    /// usable, else the first usable backup alone (`Err`), else all the
    /// backups with `option allbackups`.
    fn ring<'a>(
        &self,
        rings: &'a Rings,
        shared: &Shared,
        be: usize,
    ) -> Result<&'a chash::Ring, Option<usize>> {
        let srv = &shared.proxies[be].servers;
        if (0..srv.len()).any(|i| !self.backup[i] && srv[i].usable()) {
            return Ok(&rings.active);
        }
        if !self.allbackups {
            return Err((0..srv.len()).find(|&i| self.backup[i] && srv[i].usable()));
        }
        Ok(&rings.backup)
    }

    /// `avalanche` (the default of consistent hashing) mixes the key.
    fn finish_hash(&self, h: u32) -> u32 {
        if self.avalanche {
            hash::full_hash(h)
        } else {
            h
        }
    }

    /// Hashes an HTTP key with the configured function, and the
    /// avalanche mix when asked (HAProxy's `gen_hash`).
    fn hash_key(&self, key: &[u8]) -> u32 {
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

    /// Picks a server for a connection from `client`; `key` is the hash
    /// input of the HTTP-keyed algorithms (`uri`, `url_param`, `hdr`, …),
    /// `None` when the request has none (then they fall back to round
    /// robin, as HAProxy does).
    pub fn pick(
        &self,
        shared: &Shared,
        be: usize,
        client: Option<SocketAddr>,
        avoid: Option<usize>,
        key: Option<&[u8]>,
    ) -> Pick {
        let rt = &shared.proxies[be];
        let servers = &rt.servers;
        // A server with connections waiting for it counts as full.
        let has_slot = |i: usize| rt.has_free_slot(i) && servers[i].queue.is_empty();
        let cands = self.candidates(shared, be);
        if cands.is_empty() {
            return Pick::NoServer;
        }
        let chosen = match &self.kind {
            Kind::RoundRobin(f) => f
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .next(&has_slot, avoid),
            Kind::StaticRr(m) => m.next(&has_slot, avoid),
            // leastconn counts queued connections against maxconn instead
            Kind::LeastConn(lc) => lc.pick(&cands, &|i| rt.has_free_slot(i), avoid),
            Kind::First => lc::first(&cands, &self.puids, &self.weights, &has_slot, avoid),
            Kind::Source { map, rings } => {
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
                    match self.ring(rings, shared, be) {
                        Ok(r) => r.lookup(h, avoid),
                        Err(fbck) => fbck,
                    }
                } else {
                    map.hash(h)
                };
                return self.keyed_result(s, &has_slot);
            }
            Kind::Keyed { map, rings, rr } => match key {
                Some(k) => {
                    let h = self.hash_key(k);
                    let s = if self.consistent {
                        match self.ring(rings, shared, be) {
                            Ok(r) => r.lookup(h, avoid),
                            Err(fbck) => fbck,
                        }
                    } else {
                        map.hash(h)
                    };
                    return self.keyed_result(s, &has_slot);
                }
                None => rr
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .next(&has_slot, avoid),
            },
            Kind::Random { rings, draws } => {
                let ring = match self.ring(rings, shared, be) {
                    Ok(r) => r,
                    Err(fbck) => return self.keyed_result(fbck, &has_slot),
                };
                let load =
                    |i: usize| u64::from(servers[i].cur.load(std::sync::atomic::Ordering::Relaxed));
                let mut curr: Option<usize> = None;
                for _ in 0..(*draws).max(1) {
                    let prev = curr;
                    curr = ring.lookup(random_u32(), avoid);
                    let Some(c) = curr else { break };
                    // keep the less loaded per weight; a tie keeps the
                    // latest draw
                    if let Some(p) = prev
                        && p != c
                        && load(c) * u64::from(self.weights[p])
                            > load(p) * u64::from(self.weights[c])
                    {
                        curr = Some(p);
                    }
                }
                return match curr {
                    Some(i) if has_slot(i) => Pick::Server(i),
                    Some(_) => Pick::AllFull,
                    None => Pick::NoServer,
                };
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

    /// roundrobin, static-rr and first never let a new connection overtake
    /// those already waiting in the backend queue.
    pub fn queue_first(&self) -> bool {
        matches!(
            self.kind,
            Kind::RoundRobin(_) | Kind::StaticRr(_) | Kind::First
        )
    }

    /// A server's usability changed (health, maintenance, drain).
    pub fn set_usable(&self, shared: &Shared, be: usize, i: usize, usable: bool) {
        let all: Vec<bool> = shared.proxies[be]
            .servers
            .iter()
            .map(|s| s.usable())
            .collect();
        let set_rr = |f: &Mutex<fwrr::Fwrr>| {
            let mut f = f.lock().unwrap_or_else(|e| e.into_inner());
            if usable { f.set_up(i) } else { f.set_down(i) }
        };
        match &self.kind {
            Kind::RoundRobin(f) => set_rr(f),
            Kind::StaticRr(m) => m.set_usable(i, usable),
            Kind::Source { map, rings } => {
                map.set_usable(i, usable);
                rings.rebuild(&self.backup, &all);
            }
            Kind::Keyed { map, rings, rr } => {
                map.set_usable(i, usable);
                rings.rebuild(&self.backup, &all);
                set_rr(rr);
            }
            Kind::Random { rings, .. } => rings.rebuild(&self.backup, &all),
            Kind::LeastConn(_) | Kind::First => {}
        }
    }

    /// A server's effective weight changed (slow start, `set weight`), in
    /// HAProxy's scale (16 × the user weight at full strength). Only the
    /// dynamic algorithms follow it; map-based ones are static, as in
    /// HAProxy.
    pub fn set_eweight(&self, i: usize, eweight: u32) {
        match &self.kind {
            Kind::RoundRobin(f) => f
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .set_eweight(i, eweight),
            Kind::Keyed { rr, .. } => rr
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .set_eweight(i, eweight),
            Kind::LeastConn(lc) => lc.set_eweight(i, eweight),
            _ => {}
        }
    }

    /// Connection accounting for leastconn.
    pub fn inflight_changed(&self, i: usize, inflight: u32) {
        if let Kind::LeastConn(lc) = &self.kind {
            lc.update(i, u64::from(inflight));
        }
    }
}

thread_local! {
    /// HAProxy's per-thread xorshift32 generator, seeded as HAProxy seeds
    /// it (2463534242 + 64 × thread number): with one thread, `balance
    /// random` picks the same sequence as HAProxy.
    static PRNG: std::cell::Cell<u32> = const { std::cell::Cell::new(2_463_534_242) };
}

/// Sets this thread's generator for engine thread `tid`.
pub fn seed_thread(tid: u32) {
    PRNG.with(|p| p.set(2_463_534_242u32.wrapping_add(tid.wrapping_mul(64))));
}

fn random_u32() -> u32 {
    PRNG.with(|p| {
        let mut x = p.get();
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p.set(x);
        x
    })
}
