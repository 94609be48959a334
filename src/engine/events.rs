//! Session life-cycle hooks: the end of a session (log line, counters) and
//! the signals that end sessions early (hard stop, a server marked down
//! with `on-marked-down shutdown-sessions`, an operator's kill).

use super::session::Report;
use super::state::Shared;
use std::sync::atomic::Ordering;

/// Called once per session, after both connections are closed.
pub fn session_end(shared: &Shared, rep: &Report) {
    crate::log::traffic::session_end(shared, rep);
}

/// A backend had no usable server for a session.
pub fn no_server(shared: &Shared, be: usize) {
    shared.proxies[be].no_server.store(true, Ordering::Relaxed);
}

/// Resolves when the session using `srv` of `be` must be cut: hard stop of
/// the process, or its server's sessions being shut down.
pub async fn kill_signal(shared: &Shared, be: usize, srv: Option<usize>) {
    let mut all = shared.global.kill.subscribe();
    let server = srv.map(|s| shared.proxies[be].servers[s].kill.subscribe());
    let server_killed = async {
        match server {
            Some(mut rx) => {
                let _ = rx.changed().await;
            }
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = all.wait_for(|k| *k) => {}
        _ = server_killed => {}
    }
}
