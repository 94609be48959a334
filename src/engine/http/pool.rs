//! Idle server connections kept for reuse (`http-reuse`): one pool per
//! engine thread and server, as HAProxy keeps them per thread. A
//! connection enters the pool when its response was complete and the
//! server did not ask to close; it is taken again, oldest first, by a
//! later request to that server — under the default `safe` mode, never
//! by a client connection's first request.

use super::super::state::Shared;
use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

/// An idle connection to a server.
pub struct Idle {
    pub backend: usize,
    pub server: usize,
    pub stream: TcpStream,
    pub since: Instant,
}

/// Idle connections older than this are closed (HAProxy's purge task
/// closes a lone idle connection after about three `pool-purge-delay`
/// periods of 5 s).
const MAX_IDLE: Duration = Duration::from_secs(15);

/// At most this many idle connections per server and thread.
const MAX_PER_SERVER: usize = 64;

thread_local! {
    static POOL: RefCell<HashMap<(usize, usize), VecDeque<Idle>>> = RefCell::new(HashMap::new());
}

/// Whether the connection is still usable: the server neither closed it
/// nor sent anything unasked.
fn alive(s: &TcpStream) -> bool {
    let mut b = [0u8; 1];
    matches!(s.try_read(&mut b), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
}

/// Takes an idle connection to `server` of `backend`, if one is alive.
pub fn take(backend: usize, server: usize) -> Option<TcpStream> {
    POOL.with(|p| {
        let mut p = p.borrow_mut();
        let q = p.get_mut(&(backend, server))?;
        while let Some(i) = q.pop_front() {
            if i.since.elapsed() < MAX_IDLE && alive(&i.stream) {
                return Some(i.stream);
            }
        }
        None
    })
}

/// Offers a connection for reuse.
pub fn put(shared: &Shared, idle: Idle) {
    let p = shared.proxy_cfg(idle.backend);
    if p.http_reuse == crate::config::model::HttpReuse::Never {
        return;
    }
    POOL.with(|pool| {
        let mut pool = pool.borrow_mut();
        let q = pool.entry((idle.backend, idle.server)).or_default();
        q.retain(|i| i.since.elapsed() < MAX_IDLE);
        if q.len() < MAX_PER_SERVER {
            q.push_back(idle);
        }
    });
}
