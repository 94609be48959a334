//! The streams in progress, for `show sess`: a TCP-mode connection from
//! its acceptance, an HTTP request from its complete head to the end of
//! its response (an idle keep-alive connection has none, as in HAProxy),
//! and each runtime-API connection. Registering costs one uncontended
//! lock of one shard out of 16 when a stream starts and when it ends; the
//! backend and server are atomics, set where the connection code picks
//! them.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

const SHARDS: usize = 16;
const NONE: usize = usize::MAX;

/// Where a stream came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A client of a proxy's listener.
    Tcp(SocketAddr),
    /// A runtime-API client on the `luid`-th stats socket (Unix).
    Unix { luid: u32 },
}

#[derive(Debug)]
pub struct Stream {
    /// HAProxy's `uniq_id`: streams are numbered from 0 as they start.
    pub id: u32,
    /// The `show sess` generation it started in.
    pub epoch: u32,
    pub origin: Origin,
    /// The proxy whose listener accepted it; `None` for the runtime API
    /// (HAProxy's `GLOBAL` frontend).
    pub frontend: Option<usize>,
    /// The `bind` line (index) it came in on.
    pub bind: usize,
    /// The client's socket, as `fd=` shows it.
    pub fd: i32,
    pub accept: Instant,
    pub accept_wall: SystemTime,
    backend: AtomicUsize,
    server: AtomicUsize,
}

impl Stream {
    pub fn backend(&self) -> Option<usize> {
        Some(self.backend.load(Ordering::Relaxed)).filter(|b| *b != NONE)
    }

    pub fn server(&self) -> Option<usize> {
        Some(self.server.load(Ordering::Relaxed)).filter(|s| *s != NONE)
    }

    /// The backend chosen (its server not yet).
    pub fn set_backend(&self, be: usize) {
        self.backend.store(be, Ordering::Relaxed);
        self.server.store(NONE, Ordering::Relaxed);
    }

    pub fn set_server(&self, srv: usize) {
        self.server.store(srv, Ordering::Relaxed);
    }

    /// The address `show sess` gives: the entry's own, as a pointer.
    pub fn ptr(self: &Arc<Self>) -> usize {
        Arc::as_ptr(self) as usize
    }
}

/// What a new stream is.
pub struct NewStream {
    pub origin: Origin,
    pub frontend: Option<usize>,
    pub bind: usize,
    /// The proxy the stream starts on as backend: a `listen` section is
    /// its own backend until a rule says otherwise.
    pub backend: Option<usize>,
    pub fd: i32,
    pub accept: Instant,
    pub accept_wall: SystemTime,
}

pub struct Streams {
    next_id: AtomicU32,
    epoch: AtomicU32,
    shards: Vec<Mutex<HashMap<u32, Arc<Stream>>>>,
}

impl Default for Streams {
    fn default() -> Streams {
        Streams {
            next_id: AtomicU32::new(0),
            epoch: AtomicU32::new(0),
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }
}

/// A registered stream; leaving the registry when dropped.
pub struct Registered<'a> {
    streams: &'a Streams,
    pub stream: Arc<Stream>,
}

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        let id = self.stream.id;
        self.streams.shard(id).remove(&id);
    }
}

impl Streams {
    fn shard(&self, id: u32) -> std::sync::MutexGuard<'_, HashMap<u32, Arc<Stream>>> {
        self.shards[id as usize % SHARDS]
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    pub fn register(&self, s: NewStream) -> Registered<'_> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let stream = Arc::new(Stream {
            id,
            epoch: self.epoch.load(Ordering::Relaxed),
            origin: s.origin,
            frontend: s.frontend,
            bind: s.bind,
            fd: s.fd,
            accept: s.accept,
            accept_wall: s.accept_wall,
            backend: AtomicUsize::new(s.backend.unwrap_or(NONE)),
            server: AtomicUsize::new(NONE),
        });
        self.shard(id).insert(id, Arc::clone(&stream));
        Registered {
            streams: self,
            stream,
        }
    }

    /// The streams already there when this `show sess` started (HAProxy
    /// bumps a global epoch for each), oldest first, and that epoch.
    pub fn snapshot(&self) -> (u32, Vec<Arc<Stream>>) {
        let epoch = self.epoch.fetch_add(1, Ordering::Relaxed);
        let mut all: Vec<Arc<Stream>> = self
            .shards
            .iter()
            .flat_map(|s| {
                s.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .values()
                    .filter(|st| st.epoch <= epoch)
                    .cloned()
                    .collect::<Vec<_>>()
            })
            .collect();
        all.sort_by_key(|s| s.id);
        (epoch, all)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new() -> NewStream {
        NewStream {
            origin: Origin::Unix { luid: 1 },
            frontend: None,
            bind: 0,
            backend: None,
            fd: -1,
            accept: Instant::now(),
            accept_wall: SystemTime::now(),
        }
    }

    #[test]
    fn streams_leave_when_dropped_and_list_oldest_first() {
        let s = Streams::default();
        let a = s.register(new());
        let b = s.register(new());
        b.stream.set_backend(3);
        b.stream.set_server(1);
        let ids: Vec<u32> = s.snapshot().1.iter().map(|x| x.id).collect();
        assert_eq!(ids, vec![0, 1]);
        assert_eq!(s.snapshot().1[1].server(), Some(1));
        drop(a);
        let ids: Vec<u32> = s.snapshot().1.iter().map(|x| x.id).collect();
        assert_eq!(ids, vec![1]);
        // A stream started after the listing began is not listed.
        let later = s.register(new());
        assert!(later.stream.epoch > 0);
        drop(b);
    }
}
