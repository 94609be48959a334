//! HTTP mode: a client connection carries requests one after the other
//! (keep-alive, pipelining in order); each is parsed, run through the
//! rules, routed, sent to a server (a new connection, or an idle one
//! reused), and its response relayed — with HAProxy 2.6's timeouts,
//! connection modes, error answers and log lines.

pub mod body;
pub mod cookie;
pub mod fetch;
pub mod head;
pub mod io;
pub mod out;
pub mod pool;
pub mod reply;
pub mod rules;
pub mod snapshot;
mod txn;

use super::dst::Dst;
use super::session::{Accepted, HttpLog, Report};
use super::state::Shared;
use head::{Limits, Parsed};
use io::{Conn, Fill};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// How waiting for a request ended, when no request came.
enum NoRequest {
    /// Close without a word (idle keep-alive connection, probe ignored).
    Silent,
    /// HAProxy's multiplexer answers with one of its raw messages, then
    /// closes; logged with `<BADREQ>` and this termination state. `bad`:
    /// what the parser refused in the buffer, which `show errors` then
    /// shows.
    Raw {
        status: u16,
        term: [u8; 2],
        bad: Option<head::Invalid>,
    },
}

/// A request head and when it started.
struct Incoming {
    head: head::Head,
    /// First byte of the request.
    started: Instant,
    started_wall: SystemTime,
    /// Time to receive the whole head.
    t_request: Duration,
}

fn min_deadline(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

/// Waits for and parses the next request head on `cli`, with HAProxy's
/// timers: until `idle` (see `idle_deadline`) for its first byte, then
/// `timeout http-request` once it has started, capped by `timeout client`.
async fn read_request(
    cli: &mut Conn,
    fe: &crate::config::model::Proxy,
    lim: &Limits,
    first: bool,
    bufsize: usize,
    idle: Option<Instant>,
) -> Result<Incoming, NoRequest> {
    let t = &fe.timeouts;
    let client_cap = t.client.map(|d| Instant::now() + d);
    let mut deadline = idle;
    let mut started: Option<(Instant, SystemTime)> =
        (!cli.data().is_empty()).then(|| (Instant::now(), SystemTime::now()));
    if started.is_some() {
        deadline = min_deadline(t.http_request.map(|d| Instant::now() + d), client_cap);
    }
    let ignore_probes = fe.options.http_ignore_probes;
    loop {
        if !cli.data().is_empty() {
            match head::parse_request(cli.data(), lim) {
                Ok(Parsed::Done(h, n)) => {
                    if h.flags.chnk && !body::chunked_prefix_ok(&cli.data()[n..]) {
                        return Err(NoRequest::Raw {
                            status: 400,
                            term: *b"PR",
                            bad: Some(head::Invalid {
                                status: 400,
                                at: n,
                                stage: head::Stage::Body,
                            }),
                        });
                    }
                    cli.consume(n);
                    // HAProxy refuses the PRI method (an HTTP/2 preface
                    // without HTTP/2 support).
                    if h.method().eq_ignore_ascii_case("PRI") {
                        return Err(NoRequest::Raw {
                            status: 400,
                            term: *b"PR",
                            bad: None,
                        });
                    }
                    let (s, w) = started.unwrap_or_else(|| (Instant::now(), SystemTime::now()));
                    return Ok(Incoming {
                        head: h,
                        started: s,
                        started_wall: w,
                        t_request: s.elapsed(),
                    });
                }
                Ok(Parsed::Partial) => {
                    if cli.data().len() >= bufsize.saturating_sub(64) {
                        return Err(NoRequest::Raw {
                            status: 400,
                            term: *b"PR",
                            bad: None,
                        });
                    }
                }
                Err(e) => {
                    return Err(NoRequest::Raw {
                        status: e.status,
                        term: *b"PR",
                        bad: Some(e),
                    });
                }
            }
        }
        let had = !cli.data().is_empty();
        match cli
            .fill(deadline.map(tokio::time::Instant::from_std), bufsize)
            .await
        {
            Ok(Fill::Data) => {
                if started.is_none() {
                    started = Some((Instant::now(), SystemTime::now()));
                    deadline = min_deadline(t.http_request.map(|d| Instant::now() + d), client_cap);
                }
            }
            Ok(Fill::Timeout) => {
                return Err(if had || (first && !ignore_probes) {
                    NoRequest::Raw {
                        status: 408,
                        term: *b"cR",
                        bad: None,
                    }
                } else {
                    NoRequest::Silent
                });
            }
            Ok(Fill::Eof) | Err(_) => {
                return Err(if had || (first && !ignore_probes) {
                    NoRequest::Raw {
                        status: 400,
                        term: *b"CR",
                        bad: None,
                    }
                } else {
                    NoRequest::Silent
                });
            }
        }
    }
}

/// Serves an HTTP client connection until it closes.
pub async fn serve(shared: &Arc<Shared>, acc: Box<Accepted>) {
    let Some(a) = super::session::admitted(shared, acc).await else {
        return;
    };
    let fe_idx = a.frontend;
    let accepted = a.start;
    let fe = shared.proxy_cfg(fe_idx);
    // The address the client came to (a PROXY header's, else the socket's).
    let dst_holder = match a.announced {
        Some(d) => Dst::known(Some(d)),
        None => Dst::known(a.client.local_addr().ok()),
    };
    let dst = &dst_holder;
    crate::log::traffic::connect_line(shared, fe_idx, a.rep.client, || dst.get());
    let g = &shared.config.global.tune;
    let bufsize = g.bufsize as usize;
    let lim = Limits::new(bufsize, g.maxrewrite as usize, g.http_maxhdr as usize);
    let mut cli = Conn::new(a.client);
    let base = &a.rep;
    let mut first = true;
    let mut own: Option<pool::Idle> = None;
    loop {
        // Waiting for a request is what idle connections do: it holds no
        // more than a timer. What a request needs (parsing, rules, the
        // server's side) is allocated when one arrives.
        let idle = idle_deadline(fe, first, accepted);
        if cli.data().is_empty() {
            cli.wait_data(idle.map(tokio::time::Instant::from_std), bufsize)
                .await;
        }
        let keep = Box::pin(request(
            shared, fe_idx, &mut cli, dst, base, first, accepted, &lim, &mut own, idle,
        ))
        .await;
        first = false;
        if !keep {
            break;
        }
    }
    if let Some(idle) = own.take() {
        pool::put(shared, idle);
    }
    drop(cli);
    shared.proxies[fe_idx].closed(a.bind);
    drop(a.slots);
}

/// When waiting for the next request ends: `timeout http-request` from
/// accept for the first, `timeout http-keep-alive` for the next ones, both
/// capped by `timeout client`.
fn idle_deadline(
    fe: &crate::config::model::Proxy,
    first: bool,
    accepted: Instant,
) -> Option<Instant> {
    let t = &fe.timeouts;
    let client_cap = t.client.map(|d| Instant::now() + d);
    let idle = if first {
        t.http_request.map(|d| accepted + d)
    } else {
        t.http_keep_alive.map(|d| Instant::now() + d)
    };
    min_deadline(idle, client_cap)
}

/// One request: read, served, logged; false when the connection ends.
#[allow(clippy::too_many_arguments)]
async fn request(
    shared: &Arc<Shared>,
    fe_idx: usize,
    cli: &mut Conn,
    dst: &Dst<'_>,
    base: &Report,
    first: bool,
    accepted: Instant,
    lim: &Limits,
    own: &mut Option<pool::Idle>,
    idle: Option<Instant>,
) -> bool {
    let fe = shared.proxy_cfg(fe_idx);
    let bufsize = shared.config.global.tune.bufsize as usize;
    let mut rep = base.clone();
    let incoming = match read_request(cli, fe, lim, first, bufsize, idle).await {
        Ok(i) => {
            super::events::request_arrived(shared, fe_idx);
            i
        }
        Err(NoRequest::Silent) => return false,
        Err(NoRequest::Raw { status, term, bad }) => {
            if let Some(why) = bad {
                snapshot::request(shared, fe_idx, base.client, cli.data(), why, first);
            }
            let _ = cli
                .write_all(reply::raw(status), fe.timeouts.client.map(deadline))
                .await;
            rep.term = term;
            rep.tt = accepted.elapsed().as_millis() as i64;
            rep.bytes_to_client = 0;
            rep.http = Some(Box::new(HttpLog {
                request_line: "<BADREQ>".into(),
                status: i32::from(status),
                t_request: -1,
                t_response: -1,
                t_active: rep.tt,
                cookie_flags: *b"--",
                ..Default::default()
            }));
            // A connection that never sent anything is not logged
            // with `option dontlognull`.
            super::events::session_end(shared, &rep);
            return false;
        }
    };
    // The request's stream (`show sess`), from its head to the end of
    // its response; the first one dates from the connection's accept.
    let (at, at_wall) = if first {
        (accepted, base.accept)
    } else {
        (incoming.started, incoming.started_wall)
    };
    let src = base
        .client
        .unwrap_or(std::net::SocketAddr::from(([0, 0, 0, 0], 0)));
    let registered = shared.streams.register(super::session::new_stream(
        shared,
        fe_idx,
        base.bind,
        src,
        &cli.stream,
        at,
        at_wall,
    ));
    rep.stream = Some(Arc::clone(&registered.stream));
    txn::run(shared, fe_idx, cli, dst, rep, incoming, first, own).await
}

fn deadline(d: Duration) -> tokio::time::Instant {
    tokio::time::Instant::now() + d
}
