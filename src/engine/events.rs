//! Session life-cycle hooks: the end of a session (log line, counters) and
//! the signals that end sessions early (hard stop, a server marked down
//! with `on-marked-down shutdown-sessions`, an operator's kill).

use super::counters::{Counters, TimeSample};
use super::session::Report;
use super::state::Shared;
use std::sync::atomic::Ordering;

/// Called once per session, after both connections are closed.
pub fn session_end(shared: &Shared, rep: &Report) {
    account(shared, rep);
    crate::log::traffic::session_end(shared, rep);
}

/// The statistics a finished stream feeds, where HAProxy feeds them at the
/// end of a stream: bytes, aborts, failed connections and responses, HTTP
/// status classes, and the timers of the sliding averages.
fn account(shared: &Shared, rep: &Report) {
    let fe = &shared.proxies[rep.frontend];
    let be = rep.backend.map(|b| &shared.proxies[b]);
    let srv = be.zip(rep.server).and_then(|(b, s)| b.servers.get(s));
    let listener = fe.listeners.get(rep.bind).map(|l| &l.counters);
    let sides = || {
        [
            Some(&fe.fe),
            listener,
            be.map(|b| &b.be),
            srv.map(|s| &s.counters),
        ]
        .into_iter()
        .flatten()
    };
    for c in sides() {
        c.bytes(rep.bytes_to_server, rep.bytes_to_client);
    }
    let [who, phase] = rep.term;
    let data_phase = matches!(phase, b'D' | b'L' | b'H');
    if data_phase && matches!(who, b'C' | b'c') {
        sides().for_each(|c| Counters::inc(&c.cli_aborts));
    }
    if data_phase && matches!(who, b'S' | b's') {
        sides().for_each(|c| Counters::inc(&c.srv_aborts));
    }
    if phase == b'H' && matches!(who, b'S' | b's' | b'P') {
        for c in [be.map(|b| &b.be), srv.map(|s| &s.counters)]
            .into_iter()
            .flatten()
        {
            Counters::inc(&c.failed_resp);
        }
    }
    if phase == b'C' && matches!(who, b'S' | b's') && rep.tc < 0 {
        for c in [be.map(|b| &b.be), srv.map(|s| &s.counters)]
            .into_iter()
            .flatten()
        {
            Counters::inc(&c.failed_conns);
        }
    }
    let http = rep.http.as_deref();
    if let Some(h) = http {
        fe.fe.new_req();
        if h.status > 0 {
            fe.fe.response(h.status);
            if let Some(b) = be {
                Counters::inc(&b.be.cum_req);
                b.be.response(h.status);
            }
        }
        if let Some(s) = srv.filter(|_| h.status > 0 && h.t_response >= 0 && phase != b'H') {
            Counters::inc(&s.counters.cum_req);
            s.counters.response(h.status);
        }
        let bad = h.request_line == "<BADREQ>";
        if bad {
            Counters::inc(&fe.fe.failed_req);
            if let Some(l) = listener {
                Counters::inc(&l.failed_req);
            }
        }
        match rep.term {
            // Refused by an `http-request deny` (or `tarpit`) rule.
            [b'P', b'R'] | [b'P', b'T'] if !bad => {
                Counters::inc(&fe.fe.denied_req);
                if let Some(l) = listener {
                    Counters::inc(&l.denied_req);
                }
                if let Some(b) = be {
                    Counters::inc(&b.be.denied_req);
                }
            }
            // Answered by the proxy itself: redirect, return, stats page.
            [b'L', b'R'] => Counters::inc(&fe.fe.intercepted_req),
            _ => {}
        }
    }
    // Timers, from the phases the log line reports (HAProxy's
    // `stream_update_time_stats`): only for streams that got connected.
    let Some(b) = be else { return };
    let t_data = match http {
        Some(h) => h.t_response,
        None => 0,
    };
    if rep.tc < 0 || t_data < 0 {
        return;
    }
    let clamp = |v: i64| v.clamp(0, i64::from(u32::MAX)) as u32;
    let sample = TimeSample {
        queue: clamp(rep.tw),
        connect: clamp(rep.tc),
        data: clamp(t_data),
        total: clamp(http.map_or(rep.tt, |h| h.t_active.max(rep.tt))),
    };
    let samples = |c: &Counters| {
        if http.is_some() {
            Counters::get(&c.cum_req)
        } else {
            Counters::get(&c.cum_lbconn)
        }
    };
    if let Some(s) = srv {
        s.counters.time_stats(samples(&s.counters), sample);
    }
    b.be.time_stats(samples(&b.be), sample);
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
