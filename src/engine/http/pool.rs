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

/// HAProxy's default `pool-purge-delay`.
const PURGE_DELAY: Duration = Duration::from_secs(5);

/// Idle connections older than this are closed: HAProxy's purge task
/// closes a lone idle connection after about three purge periods.
fn max_idle(purge_delay: Option<Duration>) -> Duration {
    purge_delay.unwrap_or(PURGE_DELAY) * 3
}

/// At most this many idle connections per server and thread unless
/// `pool-max-conn` says otherwise.
const MAX_PER_SERVER: usize = 64;

thread_local! {
    static POOL: RefCell<HashMap<(usize, usize), VecDeque<Idle>>> = RefCell::new(HashMap::new());
}

/// Whether the connection is still usable: the server neither closed it
/// nor sent anything unasked. The reactor marks the socket readable when
/// either happens (its last read drained it), so a socket not marked
/// readable is alive without a recv(2); one marked is checked for real.
fn alive(s: &TcpStream) -> bool {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    if s.poll_read_ready(&mut cx).is_pending() {
        return true;
    }
    let mut b = [0u8; 1];
    matches!(s.try_read(&mut b), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
}

/// Takes an idle connection to `server` of `backend`, if one is alive.
pub fn take(shared: &Shared, backend: usize, server: usize) -> Option<TcpStream> {
    POOL.with(|p| {
        let mut p = p.borrow_mut();
        let q = p.get_mut(&(backend, server))?;
        let limit = max_idle(purge_delay(shared, backend, server));
        let now = Instant::now();
        while let Some(i) = q.pop_front() {
            if now.duration_since(i.since) < limit && alive(&i.stream) {
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
    let Some(srv) = p.servers.get(idle.server) else {
        return;
    };
    let extra = srv.opts.extra();
    // `pool-max-conn`: 0 disables pooling, -1 (HAProxy's default) leaves
    // it unbounded, which rproxy caps per thread.
    let cap = match extra.pool_max_conn {
        Some(n) if n >= 0 => usize::try_from(n).unwrap_or(usize::MAX),
        _ => MAX_PER_SERVER,
    };
    let limit = max_idle(extra.pool_purge_delay);
    POOL.with(|pool| {
        let mut pool = pool.borrow_mut();
        let q = pool.entry((idle.backend, idle.server)).or_default();
        // Oldest first: the expired ones are at the front.
        while q
            .front()
            .is_some_and(|i| idle.since.duration_since(i.since) >= limit)
        {
            q.pop_front();
        }
        if q.len() < cap {
            q.push_back(idle);
        }
    });
}

fn purge_delay(shared: &Shared, backend: usize, server: usize) -> Option<Duration> {
    let p = shared.proxy_cfg(backend);
    p.servers.get(server)?.opts.extra().pool_purge_delay
}
