//! The last invalid request and the last invalid response of each proxy,
//! kept for `show errors` as HAProxy's `proxy_capture_error` keeps them: a
//! copy of the bytes received, where the parser stopped, who sent them,
//! and the HTTP/1 parser's context. A new capture replaces the previous
//! one of the same proxy and direction; every capture takes the next event
//! number.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// HAProxy's HTTP/1 parser context at the error (`error_snapshot_ctx.h1`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct H1Context {
    /// `H1C_F_*` connection flags.
    pub c_flags: u32,
    /// `H1S_F_*` stream flags.
    pub s_flags: u32,
    /// `H1_MSG_*` parser state.
    pub state: u8,
    /// `H1_MF_*` message flags.
    pub m_flags: u32,
    /// Current chunk or Content-Length remaining.
    pub chunk_len: u64,
    pub body_len: u64,
}

/// One captured message.
#[derive(Clone, Debug)]
pub struct Snapshot {
    /// Event number (0 for the first capture of the process).
    pub event: u32,
    pub when: SystemTime,
    /// The client's address.
    pub src: Option<SocketAddr>,
    /// The proxy at the other end: the backend of a request (none before
    /// one was chosen), the frontend of a response.
    pub other_end: Option<usize>,
    /// The server of a response.
    pub server: Option<usize>,
    /// The bytes received, from the message's first byte.
    pub buf: Vec<u8>,
    /// Offset of the byte the parser refused.
    pub err_pos: usize,
    pub h1: H1Context,
}

/// Requests or responses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Request,
    Response,
}

type Slot = Mutex<Option<Arc<Snapshot>>>;

/// The slots of every proxy.
pub struct Captures {
    /// Number of captures so far (`error_snapshot_id`).
    events: AtomicU32,
    requests: Vec<Slot>,
    responses: Vec<Slot>,
}

impl Captures {
    pub fn new(proxies: usize) -> Captures {
        Captures {
            events: AtomicU32::new(0),
            requests: (0..proxies).map(|_| Mutex::new(None)).collect(),
            responses: (0..proxies).map(|_| Mutex::new(None)).collect(),
        }
    }

    fn slot(&self, px: usize, dir: Direction) -> Option<&Slot> {
        match dir {
            Direction::Request => self.requests.get(px),
            Direction::Response => self.responses.get(px),
        }
    }

    /// Keeps `snap` as proxy `px`'s last error in `dir`, numbering it.
    pub fn record(&self, px: usize, dir: Direction, mut snap: Snapshot) {
        snap.event = self.events.fetch_add(1, Ordering::Relaxed);
        if let Some(slot) = self.slot(px, dir) {
            *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(snap));
        }
    }

    /// Proxy `px`'s last error in `dir`.
    pub fn last(&self, px: usize, dir: Direction) -> Option<Arc<Snapshot>> {
        self.slot(px, dir)?
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Captures made since start-up.
    pub fn total(&self) -> u32 {
        self.events.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap() -> Snapshot {
        Snapshot {
            event: 0,
            when: SystemTime::now(),
            src: None,
            other_end: None,
            server: None,
            buf: b"BAD".to_vec(),
            err_pos: 0,
            h1: H1Context::default(),
        }
    }

    #[test]
    fn a_capture_replaces_the_previous_one_and_numbers_events() {
        let c = Captures::new(2);
        c.record(1, Direction::Request, snap());
        c.record(1, Direction::Request, snap());
        c.record(0, Direction::Response, snap());
        assert_eq!(c.total(), 3);
        assert_eq!(c.last(1, Direction::Request).map(|s| s.event), Some(1));
        assert!(c.last(1, Direction::Response).is_none());
        assert_eq!(c.last(0, Direction::Response).map(|s| s.event), Some(2));
    }
}
