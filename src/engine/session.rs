//! One client connection in TCP mode: backend choice, server choice (with
//! maxconn queues), connection with retries and redispatch, then the data
//! phase. The steps each record what the log line will need.

use super::check::Observed;
use super::connect::{self, ConnectError};
use super::counters::Counters;
use super::dst::Dst;
use super::forward::{self, End, Splice, SpliceMode, Timers};
use super::lb::Pick;
use super::proxy_proto;
use super::route::L4;
use super::state::{REDISPATCH, Shared, Waiter};
use super::tcp_rules::{self, Verdict};
use crate::config::model::{Balance, Mode, Proxy, Server};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, oneshot};

/// What the request says about the server to use, before load balancing.
#[derive(Clone, Debug, Default)]
pub struct Hint {
    /// A server chosen by persistence (cookie, `use-server`): taken
    /// directly, queued for if full.
    pub direct: Option<usize>,
    /// The key of the HTTP-keyed balance algorithms.
    pub key: Option<Vec<u8>>,
}

/// Connection slots held for the life of a session: released on drop.
pub struct Slots {
    pub global: Option<OwnedSemaphorePermit>,
    pub frontend: Option<OwnedSemaphorePermit>,
    pub bind: Option<OwnedSemaphorePermit>,
}

/// What happened to a session, as the log line reports it.
#[derive(Clone, Debug)]
pub struct Report {
    pub accept: std::time::SystemTime,
    pub client: Option<SocketAddr>,
    /// The address the client connected to.
    pub local: Option<SocketAddr>,
    pub frontend: usize,
    /// The `bind` line the client came in on.
    pub bind: usize,
    pub backend: Option<usize>,
    pub server: Option<usize>,
    /// Time spent in queues, -1 when not reached.
    pub tw: i64,
    /// Time to connect (retries included), -1 when not reached.
    pub tc: i64,
    pub tt: i64,
    pub bytes_to_client: u64,
    pub bytes_to_server: u64,
    pub retries: u32,
    pub redispatched: bool,
    /// Termination state, two characters.
    pub term: [u8; 2],
    /// What HTTP logs add (`None` in TCP mode).
    pub http: Option<Box<HttpLog>>,
    /// The stream `show sess` lists, told of the backend and server
    /// chosen.
    pub stream: Option<Arc<super::streams::Stream>>,
}

impl Report {
    /// Server `srv` serves the session.
    fn assign(&mut self, srv: usize) {
        self.server = Some(srv);
        if let Some(s) = &self.stream {
            s.set_server(srv);
        }
    }
}

/// The HTTP part of a log line.
#[derive(Clone, Debug, Default)]
pub struct HttpLog {
    /// `%r`: the request line, or `<BADREQ>`.
    pub request_line: String,
    pub method: String,
    pub uri: String,
    pub version: String,
    /// `%ST`; -1 when no response.
    pub status: i32,
    /// `%TR`: time to get the request head, from its first byte.
    pub t_request: i64,
    /// `%Tr`: time waiting for the response head.
    pub t_response: i64,
    /// `%Ta`: from the first request byte to the end of the response.
    pub t_active: i64,
    /// `%tr`: when the request's first byte arrived.
    pub request_date: Option<std::time::SystemTime>,
    /// Third and fourth characters of `%tsc` (`-` without cookie).
    pub cookie_flags: [u8; 2],
    pub captured_cookie_req: Option<String>,
    pub captured_cookie_res: Option<String>,
    pub captured_req: Vec<Option<String>>,
    pub captured_res: Vec<Option<String>>,
    /// Logged unless the request was a monitor-uri probe.
    pub no_log: bool,
    /// Answered by an applet (the stats page, a `use-service`): its name
    /// stands for the server in logs (`<STATS>`, `<PROMEX>`).
    pub applet: Option<&'static str>,
}

/// Everything a session needs from its listener.
pub struct Accepted {
    pub stream: TcpStream,
    /// The client's address, as accept(2) returned it.
    pub peer: SocketAddr,
    pub frontend: usize,
    pub bind: usize,
    /// The listener as logs name it (bind `name`, else its id).
    pub listener: Arc<str>,
    pub slots: Slots,
    /// Counts the session in `CurrConns` until it ends.
    pub active: Active,
}

/// A session counted in the process's current connections.
pub struct Active(pub Arc<Shared>);

impl Drop for Active {
    fn drop(&mut self) {
        self.0.global.actconn.fetch_sub(1, Ordering::AcqRel);
    }
}

fn ms(d: Duration) -> i64 {
    d.as_millis().min(i64::MAX as u128) as i64
}

/// A session past its admission rules, ready for its data phase.
pub struct Admitted<'s> {
    pub client: TcpStream,
    pub frontend: usize,
    pub bind: usize,
    pub slots: Slots,
    _active: Active,
    pub rep: Report,
    /// The addresses a PROXY protocol header announced.
    pub announced: Option<SocketAddr>,
    pub inspected: tcp_rules::Inspected,
    /// When the connection was accepted.
    pub start: Instant,
    /// A TCP session's entry in `show sess`.
    registered: Option<super::streams::Registered<'s>>,
}

/// Serves an accepted connection: its own task, sized for its mode (one
/// future for both modes would make each pay for the larger). `acc` comes
/// boxed: a future keeps room for its arguments for its whole life.
pub fn spawn(shared: Arc<Shared>, acc: Box<Accepted>) {
    if shared.proxy_cfg(acc.frontend).mode == Mode::Http {
        tokio::spawn(async move { super::http::serve(&shared, acc).await });
    } else {
        tokio::spawn(async move { tcp_session(&shared, acc).await });
    }
}

/// A TCP-mode session, to its log line.
async fn tcp_session(shared: &Arc<Shared>, acc: Box<Accepted>) {
    let Some(mut a) = admitted(shared, acc).await else {
        return;
    };
    // Fields used in place: taken apart, they would take room twice.
    let dst = match a.announced {
        Some(d) => Dst::known(Some(d)),
        None => Dst::of(&a.client),
    };
    let payload = &a.inspected.payload;
    serve_tcp(
        shared, a.frontend, &a.client, &dst, payload, &mut a.rep, a.start,
    )
    .await;
    shared.proxies[a.frontend].closed(a.bind);
    if a.rep.bytes_to_server == 0 && a.rep.term != *b"--" {
        discard_input(&a.client, shared.config.global.tune.bufsize as usize);
    }
    let Admitted {
        client,
        slots,
        rep,
        registered,
        ..
    } = a;
    drop(client);
    drop(slots);
    super::events::session_end(shared, &rep);
    drop(registered);
}

/// Admission, boxed: it waits only in some configurations (PROXY header,
/// inspect-delay), and what it holds must not stay in the future every
/// connection keeps for its whole life.
pub async fn admitted(shared: &Arc<Shared>, acc: Box<Accepted>) -> Option<Admitted<'_>> {
    Box::pin(admit(shared, *acc)).await
}

/// Admission: `tcp-request connection`, the PROXY header, `tcp-request
/// session` and the frontend's `tcp-request content` rules. None when
/// the session ends there (refused, or a broken PROXY header).
async fn admit(shared: &Arc<Shared>, acc: Accepted) -> Option<Admitted<'_>> {
    let start = Instant::now();
    let mut rep = Report {
        accept: std::time::SystemTime::now(),
        client: Some(acc.peer),
        local: None,
        frontend: acc.frontend,
        bind: acc.bind,
        backend: None,
        server: None,
        tw: -1,
        tc: -1,
        tt: 0,
        bytes_to_client: 0,
        bytes_to_server: 0,
        retries: 0,
        redispatched: false,
        term: *b"--",
        http: None,
        stream: None,
    };
    let fe_rt = &shared.proxies[acc.frontend];
    let fe = shared.proxy_cfg(acc.frontend);
    let client = acc.stream;
    fe_rt.connection_seen(acc.bind);
    // `tcp-request connection`: judged on addresses alone, before
    // anything else; a refused connection is neither a session nor logged.
    if !fe_rt.tcp.connection.is_empty() {
        let local = Dst::of(&client);
        let ctx = L4 {
            shared,
            frontend: acc.frontend,
            backend: None,
            client: Some(acc.peer),
            local: &local,
            payload: None,
        };
        let v = tcp_rules::eval(&fe_rt.tcp.connection, &ctx, true);
        if let Some(v @ (Verdict::Reject | Verdict::SilentDrop)) = v {
            Counters::inc(&fe_rt.fe.denied_conn);
            if let Some(l) = fe_rt.listeners.get(acc.bind) {
                Counters::inc(&l.counters.denied_conn);
            }
            refuse(client, v);
            return None;
        }
    }
    fe_rt.accepted(acc.bind);
    let _ = client.set_nodelay(true);
    if fe.options.clitcpka {
        connect::set_keepalive(&socket2::SockRef::from(&client), &fe.clitcpka);
    }

    // Behind another load balancer (`accept-proxy`), the client and the
    // address it came to are those of the PROXY protocol header.
    let mut announced = None;
    if fe.binds.get(acc.bind).is_some_and(|b| b.accept_proxy) {
        match Box::pin(receive_proxy_header(fe, &client)).await {
            Ok(Some((src, dst))) => {
                rep.client = Some(src);
                announced = Some(dst);
            }
            Ok(None) => {}
            Err(e) => {
                fe_rt.closed(acc.bind);
                crate::log::traffic::embryonic(
                    shared,
                    acc.frontend,
                    &acc.listener,
                    rep.client,
                    rep.accept,
                    e.message(),
                    e.is_null(),
                );
                return None;
            }
        }
    }
    let dst = match announced {
        Some(d) => Dst::known(Some(d)),
        None => Dst::of(&client),
    };
    // `tcp-request session`: after the PROXY header, on the addresses it
    // announced; refused sessions are not logged either.
    if !fe_rt.tcp.session.is_empty() {
        let ctx = L4 {
            shared,
            frontend: acc.frontend,
            backend: None,
            client: rep.client,
            local: &dst,
            payload: None,
        };
        if let Some(v @ (Verdict::Reject | Verdict::SilentDrop)) =
            tcp_rules::eval(&fe_rt.tcp.session, &ctx, true)
        {
            Counters::inc(&fe_rt.fe.denied_sess);
            if let Some(l) = fe_rt.listeners.get(acc.bind) {
                Counters::inc(&l.counters.denied_sess);
            }
            fe_rt.closed(acc.bind);
            refuse(client, v);
            return None;
        }
    }
    // A TCP-mode stream lives as long as its connection; HTTP mode has
    // one per request (`http::serve`).
    let registered = (fe.mode == Mode::Tcp).then(|| {
        let r = shared.streams.register(new_stream(
            shared,
            acc.frontend,
            acc.bind,
            rep.client.unwrap_or(acc.peer),
            &client,
            start,
            rep.accept,
        ));
        rep.stream = Some(Arc::clone(&r.stream));
        r
    });
    // `tcp-request content`: may wait for the first bytes. Boxed, as every
    // wait that only some sessions have: the session's own future is what
    // each idle connection costs.
    let inspected = if fe_rt.tcp.content.is_empty() {
        tcp_rules::Inspected {
            verdict: Verdict::Accept,
            payload: Vec::new(),
        }
    } else {
        Box::pin(content_rules(
            shared,
            acc.frontend,
            acc.frontend,
            None,
            &client,
            rep.client,
            &dst,
        ))
        .await
    };
    if inspected.verdict != Verdict::Accept {
        Counters::inc(&fe_rt.fe.denied_req);
        if let Some(l) = fe_rt.listeners.get(acc.bind) {
            Counters::inc(&l.counters.denied_req);
        }
        if fe.mode == Mode::Tcp {
            rep.term = *b"PR";
            rep.tt = ms(start.elapsed());
            if crate::log::traffic::logs(acc.frontend) {
                rep.local = dst.get();
            }
            super::events::session_end(shared, &rep);
        }
        fe_rt.closed(acc.bind);
        refuse(client, inspected.verdict);
        return None;
    }
    drop(dst);
    Some(Admitted {
        client,
        frontend: acc.frontend,
        bind: acc.bind,
        slots: acc.slots,
        _active: acc.active,
        rep,
        announced,
        inspected,
        start,
        registered,
    })
}

/// The TCP-mode data of a session: backend, server, data phase.
async fn serve_tcp(
    shared: &Arc<Shared>,
    frontend: usize,
    client: &TcpStream,
    dst: &Dst<'_>,
    payload: &[u8],
    rep: &mut Report,
    start: Instant,
) {
    let fe_rt = &shared.proxies[frontend];
    let fe = shared.proxy_cfg(frontend);
    crate::log::traffic::connect_line(shared, frontend, rep.client, || dst.get());
    let payload = Some(payload).filter(|p| !p.is_empty());
    match super::route::backend_for(shared, frontend, rep.client, dst, payload) {
        Some(be) => {
            rep.backend = Some(be);
            let allowed = be == frontend
                || content_rules(shared, frontend, be, Some(be), client, rep.client, dst)
                    .await
                    .verdict
                    == Verdict::Accept;
            if allowed {
                run_backend(shared, fe, be, client, dst, rep, start).await;
            } else {
                Counters::inc(&shared.proxies[be].be.denied_req);
                Counters::inc(&fe_rt.fe.denied_req);
                rep.term = *b"PR";
            }
        }
        None => rep.term = *b"SC",
    }
    if crate::log::traffic::logs(frontend) {
        rep.local = dst.get();
    }
    rep.tt = ms(start.elapsed());
}

/// What `show sess` knows of a new stream of frontend `fe`: a `listen`
/// section starts as its own backend, a `frontend` with none.
pub fn new_stream(
    shared: &Shared,
    fe: usize,
    bind: usize,
    src: SocketAddr,
    client: &TcpStream,
    accept: Instant,
    accept_wall: std::time::SystemTime,
) -> super::streams::NewStream {
    use std::os::fd::AsRawFd;
    super::streams::NewStream {
        origin: super::streams::Origin::Tcp(src),
        frontend: Some(fe),
        bind,
        backend: shared.proxy_cfg(fe).kind.has_backend().then_some(fe),
        fd: client.as_raw_fd(),
        accept,
        accept_wall,
    }
}

/// Runs proxy `px`'s `tcp-request content` rules on the client's first
/// bytes (peeked, left for the server).
async fn content_rules(
    shared: &Shared,
    fe: usize,
    px: usize,
    backend: Option<usize>,
    client: &TcpStream,
    addr: Option<SocketAddr>,
    dst: &Dst<'_>,
) -> tcp_rules::Inspected {
    let t = &shared.proxies[px].tcp;
    tcp_rules::inspect(
        client,
        &t.content,
        t.inspect_delay,
        shared.config.global.tune.bufsize as usize,
        |bytes, last| {
            let ctx = L4 {
                shared,
                frontend: fe,
                backend,
                client: addr,
                local: dst,
                payload: Some(bytes),
            };
            tcp_rules::eval(&t.content, &ctx, last)
        },
    )
    .await
}

/// Closes a refused connection with a reset, as HAProxy does; for
/// `silent-drop` the reset leaves with a TTL (hop limit) of 1, so that it
/// never reaches the client, which is left waiting.
fn refuse(client: TcpStream, v: Verdict) {
    let sock = socket2::SockRef::from(&client);
    if v == Verdict::SilentDrop {
        match client.peer_addr() {
            Ok(a) if a.is_ipv6() => {
                let _ = sock.set_unicast_hops_v6(1);
            }
            _ => {
                let _ = sock.set_ttl_v4(1);
            }
        }
    }
    let _ = sock.set_linger(Some(Duration::ZERO));
    drop(client);
}

/// The PROXY protocol header of an `accept-proxy` listener, waited for
/// under `timeout client` as HAProxy waits for it.
async fn receive_proxy_header(
    fe: &Proxy,
    client: &TcpStream,
) -> Result<proxy_proto::Addrs, proxy_proto::RecvError> {
    let got = proxy_proto::receive(client);
    match fe.timeouts.client {
        Some(t) => tokio::time::timeout(t, got)
            .await
            .unwrap_or(Err(proxy_proto::RecvError::Timeout)),
        None => got.await,
    }
}

/// Reads what the client sent and nobody forwarded, as HAProxy has it in
/// its buffer, so that closing sends a FIN rather than a reset.
fn discard_input(client: &TcpStream, limit: usize) {
    let mut buf = vec![0u8; 4096];
    let mut left = limit;
    while left > 0 {
        match client.try_read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => left = left.saturating_sub(n),
        }
    }
}

async fn run_backend(
    shared: &Arc<Shared>,
    fe: &Proxy,
    be_idx: usize,
    client: &TcpStream,
    dst: &Dst<'_>,
    rep: &mut Report,
    start: Instant,
) {
    let be_rt = &shared.proxies[be_idx];
    let be = shared.proxy_cfg(be_idx);
    be_rt.assigned();
    // The client-side timer runs from accept through queueing and
    // connection attempts, as in HAProxy.
    let client_deadline = fe.timeouts.client.map(|d| tokio::time::Instant::now() + d);
    let client_timeout = async {
        match client_deadline {
            Some(d) => tokio::time::sleep_until(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(client_timeout);

    let hint = Hint::default();
    let connected = tokio::select! {
        // Boxed: connecting (queues, retries) needs much state that the
        // long data phase must not keep allocated.
        r = Box::pin(establish(shared, be_idx, dst, rep, start, &hint)) => r,
        _ = &mut client_timeout => {
            rep.term = if rep.tw < 0 && rep.server.is_none() { *b"cQ" } else { *b"cC" };
            None
        }
    };
    let Some((srv_idx, server)) = connected else {
        be_rt.beconn.fetch_sub(1, Ordering::Relaxed);
        return;
    };
    let timers = data_timers(fe, be);
    // Unlike HAProxy, splicing is on unless `nosplice` (or -dS) turns it
    // off: a direction switches to splice(2) once it carries bulk data,
    // which moved 1.5x the throughput of copying in bench/run tcp and
    // costs nothing on short exchanges. `option splice-request/-response`
    // splice from the first byte.
    let no_splice = shared.config.global.nosplice || super::NO_SPLICE.load(Ordering::Relaxed);
    let mode = |eager: bool| match (no_splice, eager) {
        (true, _) => SpliceMode::Never,
        (false, true) => SpliceMode::Always,
        (false, false) => SpliceMode::Bulk,
    };
    let splice = Splice {
        request: mode(fe.options.splice_request || be.options.splice_request),
        response: mode(fe.options.splice_response || be.options.splice_response),
    };
    let stop =
        super::events::kill_signal(shared, be_idx, (srv_idx != usize::MAX).then_some(srv_idx));
    let out = forward::forward(
        client,
        &server,
        timers,
        splice,
        shared.config.global.tune.bufsize as usize,
        stop,
    )
    .await;
    rep.bytes_to_client = out.to_client;
    rep.bytes_to_server = out.to_server;
    rep.term = match out.end {
        End::Done => *b"--",
        End::ClientTimeout => *b"cD",
        End::ServerTimeout => *b"sD",
        End::ClientAbort => *b"CD",
        End::ServerAbort => *b"SD",
        End::Killed => *b"KD",
    };
    drop(server);
    if srv_idx != usize::MAX {
        release_server(shared, be_idx, srv_idx);
    }
    be_rt.beconn.fetch_sub(1, Ordering::Relaxed);
}

/// Data-phase timers: `timeout tunnel` replaces client and server ones in
/// TCP mode; the `-fin` timeouts apply after a half-close.
fn data_timers(fe: &Proxy, be: &Proxy) -> Timers {
    let tunnel = be.timeouts.tunnel;
    Timers {
        client: tunnel.or(fe.timeouts.client),
        server: tunnel.or(be.timeouts.server),
        client_fin: fe.timeouts.client_fin.or(tunnel).or(fe.timeouts.client),
        server_fin: be.timeouts.server_fin.or(tunnel).or(be.timeouts.server),
    }
}

/// Gives a server slot back: to the oldest waiter of this server's queue
/// or of the backend's queue, or frees it.
pub fn release_server(shared: &Shared, be_idx: usize, srv_idx: usize) {
    let be_rt = &shared.proxies[be_idx];
    let srv = &be_rt.servers[srv_idx];
    if hand_over(be_rt, srv_idx) {
        // With minconn the limit may have grown since: let more waiters in.
        while !(srv.queue.is_empty() && be_rt.queue.is_empty()) && be_rt.try_take(srv_idx) {
            if !hand_over(be_rt, srv_idx) {
                srv.cur.fetch_sub(1, Ordering::AcqRel);
                srv.total.fetch_sub(1, Ordering::Relaxed);
                break;
            }
        }
        return;
    }
    let left = srv.cur.fetch_sub(1, Ordering::AcqRel) - 1;
    be_rt.lb.inflight_changed(srv_idx, left);
}

/// Passes a slot of `srv_idx` to the oldest waiter that can use it: one
/// waiting for this server, or, if the server takes load-balanced traffic,
/// one waiting for any server of the backend (HAProxy's
/// `pendconn_process_next_strm`).
fn hand_over(be_rt: &super::state::ProxyRt, srv_idx: usize) -> bool {
    let srv = &be_rt.servers[srv_idx];
    if !srv.accepts_direct() {
        return false;
    }
    let backend_too = srv.usable();
    let order = match (srv.queue.head_seq(), be_rt.queue.head_seq()) {
        (Some(a), Some(b)) if b < a && backend_too => [&be_rt.queue, &srv.queue],
        _ => [&srv.queue, &be_rt.queue],
    };
    order
        .into_iter()
        .filter(|q| backend_too || std::ptr::eq(*q, &srv.queue))
        .any(|q| q.hand_over(srv_idx))
}

/// Picks a server (waiting in a queue if all are full) and connects to it,
/// retrying and redispatching as HAProxy does.
pub async fn establish(
    shared: &Arc<Shared>,
    be_idx: usize,
    dst: &Dst<'_>,
    rep: &mut Report,
    start: Instant,
    hint: &Hint,
) -> Option<(usize, TcpStream)> {
    establish_reusing(shared, be_idx, dst, rep, start, hint, &|_| None).await
}

/// As `establish`; `reuse` may hand over an idle connection to the server
/// chosen (HTTP connection reuse), which then needs no connect.
pub async fn establish_reusing(
    shared: &Arc<Shared>,
    be_idx: usize,
    dst: &Dst<'_>,
    rep: &mut Report,
    start: Instant,
    hint: &Hint,
    reuse: &(dyn Fn(usize) -> Option<TcpStream> + Sync),
) -> Option<(usize, TcpStream)> {
    let be = shared.proxy_cfg(be_idx);
    let be_rt = &shared.proxies[be_idx];
    if let Some(s) = &rep.stream {
        s.set_backend(be_idx);
    }
    let client_addr = rep.client;
    let queue_start = Instant::now();
    if be.servers.is_empty() {
        return dispatch(be, dst, rep).await;
    }
    let key = hint.key.as_deref();
    let mut direct = hint.direct;
    let first = match direct {
        Some(i) => acquire_direct(shared, be_idx, i).await,
        None => acquire(shared, be_idx, client_addr, None, key).await,
    };
    let mut srv_idx = match first {
        Acquire::Got(i) => i,
        Acquire::NoServer => {
            super::events::no_server(shared, be_idx);
            rep.term = *b"SC";
            return None;
        }
        Acquire::QueueTimeout => {
            rep.tw = ms(queue_start.elapsed());
            rep.term = *b"sQ";
            return None;
        }
    };
    rep.tw = ms(queue_start.elapsed());
    rep.assign(srv_idx);
    be_rt.servers[srv_idx].counters.new_stream();
    if direct.is_none() {
        Counters::inc(&be_rt.be.cum_lbconn);
        Counters::inc(&be_rt.servers[srv_idx].counters.cum_lbconn);
    }
    if let Some(idle) = reuse(srv_idx) {
        rep.tc = 0;
        Counters::inc(&be_rt.be.reuse);
        Counters::inc(&be_rt.servers[srv_idx].counters.reuse);
        return Some((srv_idx, idle));
    }
    let connect_start = Instant::now();
    let retries = be.retries;
    let mut attempts_left = retries;
    loop {
        let srv = shared.server_cfg(be_idx, srv_idx);
        Counters::inc(&be_rt.be.connect);
        Counters::inc(&be_rt.servers[srv_idx].counters.connect);
        let result = attempt(be, srv, client_addr, dst).await;
        if srv.opts.observe.is_some() {
            let seen = if result.is_ok() {
                Observed::L4Ok
            } else {
                Observed::L4Err
            };
            super::check::observe(shared, be_idx, srv_idx, seen);
        }
        match result {
            Ok(stream) => {
                rep.tc = ms(connect_start.elapsed());
                let _ = start;
                return Some((srv_idx, stream));
            }
            Err(err) => {
                if attempts_left == 0 {
                    rep.tc = -1;
                    rep.term = if matches!(err, ConnectError::Timeout) {
                        *b"sC"
                    } else if matches!(err, ConnectError::Resource(_)) {
                        *b"RC"
                    } else {
                        *b"SC"
                    };
                    release_server(shared, be_idx, srv_idx);
                    rep.assign(srv_idx);
                    return None;
                }
                attempts_left -= 1;
                rep.retries += 1;
                let done = retries - attempts_left;
                let redispatch =
                    should_redispatch(shared, be_idx, srv_idx, retries, done, direct.is_some());
                let active = be_rt
                    .servers
                    .iter()
                    .filter(|s| s.usable() && !shared.server_cfg(be_idx, s.idx).opts.backup)
                    .count();
                let rr_kind = matches!(be.balance, Balance::RoundRobin | Balance::StaticRr);
                let mut same_server = true;
                if redispatch {
                    release_server(shared, be_idx, srv_idx);
                    direct = None;
                    match acquire(shared, be_idx, client_addr, Some(srv_idx), key).await {
                        Acquire::Got(i) => {
                            // HAProxy counts a re-assignment to the same
                            // server as a retry, elsewhere as a redispatch.
                            let prev = &be_rt.servers[srv_idx].counters;
                            if i == srv_idx {
                                Counters::inc(&be_rt.be.retries);
                                Counters::inc(&prev.retries);
                            } else {
                                Counters::inc(&be_rt.be.redispatches);
                                Counters::inc(&prev.redispatches);
                                be_rt.servers[i].counters.new_stream();
                            }
                            Counters::inc(&be_rt.be.cum_lbconn);
                            Counters::inc(&be_rt.servers[i].counters.cum_lbconn);
                            same_server = i == srv_idx;
                            srv_idx = i;
                            rep.redispatched = true;
                            rep.assign(i);
                        }
                        Acquire::NoServer => {
                            super::events::no_server(shared, be_idx);
                            rep.term = *b"SC";
                            return None;
                        }
                        Acquire::QueueTimeout => {
                            rep.term = *b"sQ";
                            return None;
                        }
                    }
                }
                // HAProxy waits a "turn-around" delay after an error the
                // poller reported, unless the next attempt goes elsewhere.
                if matches!(err, ConnectError::Async(_)) && (same_server || !rr_kind || active <= 1)
                {
                    let pause = be
                        .timeouts
                        .connect
                        .map_or(Duration::from_secs(1), |c| c.min(Duration::from_secs(1)));
                    tokio::time::sleep(pause).await;
                }
            }
        }
    }
}

fn should_redispatch(
    shared: &Shared,
    be_idx: usize,
    srv_idx: usize,
    retries: u32,
    done: u32,
    direct: bool,
) -> bool {
    let be = shared.proxy_cfg(be_idx);
    let Some(interval) = be.redispatch else {
        return false;
    };
    let srv_rt = &shared.proxies[be_idx].servers[srv_idx];
    if !srv_rt.usable() {
        return true;
    }
    let period = if interval > 0 {
        interval
    } else {
        // -1: on the last retry; -N: N retries before the last.
        (retries as i32 + 1 + interval).max(1)
    };
    if done as i32 % period == 0 {
        return true;
    }
    let active = shared.proxies[be_idx]
        .servers
        .iter()
        .filter(|s| s.usable() && !shared.server_cfg(be_idx, s.idx).opts.backup)
        .count();
    // A persistent connection only changes server at the interval.
    !direct && active > 1 && matches!(be.balance, Balance::RoundRobin | Balance::StaticRr)
}

/// A backend without servers: `dispatch ADDR`, or with `option
/// transparent` the client's original destination.
async fn dispatch(be: &Proxy, dst: &Dst<'_>, rep: &mut Report) -> Option<(usize, TcpStream)> {
    let target = match (&be.dispatch, be.options.transparent) {
        (Some(ep), _) => connect::server_target(ep, ep.ip(), dst),
        (None, true) => dst.get(),
        (None, false) => None,
    };
    let Some(target) = target else {
        rep.term = *b"SC";
        return None;
    };
    let start = Instant::now();
    let fut = connect::connect(
        target,
        be.source.as_ref(),
        rep.client,
        be.options.srvtcpka.then_some(&be.srvtcpka),
        false,
    );
    let r = match be.timeouts.connect {
        Some(t) => tokio::time::timeout(t, fut)
            .await
            .unwrap_or(Err(ConnectError::Timeout)),
        None => fut.await,
    };
    match r {
        Ok(s) => {
            rep.tw = 0;
            rep.tc = ms(start.elapsed());
            Some((usize::MAX, s))
        }
        Err(ConnectError::Timeout) => {
            rep.term = *b"sC";
            None
        }
        Err(_) => {
            rep.term = *b"SC";
            None
        }
    }
}

enum Acquire {
    Got(usize),
    NoServer,
    QueueTimeout,
}

/// Gets a server with a free slot from the load balancer, or waits for one
/// in the backend queue (`timeout queue`).
async fn acquire(
    shared: &Shared,
    be_idx: usize,
    client: Option<SocketAddr>,
    previous: Option<usize>,
    key: Option<&[u8]>,
) -> Acquire {
    let be = shared.proxy_cfg(be_idx);
    let deadline = be.timeouts.queue.map(|t| tokio::time::Instant::now() + t);
    loop {
        match acquire_once(shared, be_idx, client, previous, key, deadline).await {
            // The server waited for went DOWN: pick again.
            Acquire::Got(REDISPATCH) => continue,
            other => return other,
        }
    }
}

async fn acquire_once(
    shared: &Shared,
    be_idx: usize,
    client: Option<SocketAddr>,
    previous: Option<usize>,
    key: Option<&[u8]>,
    deadline: Option<tokio::time::Instant>,
) -> Acquire {
    let be_rt = &shared.proxies[be_idx];
    let mut queue = &be_rt.queue;
    let overtaking = be_rt.lb.queue_first() && !be_rt.queue.is_empty();
    for _ in 0..if overtaking { 0 } else { 4 } {
        match be_rt.lb.pick(shared, be_idx, client, previous, key) {
            Pick::Server(i) => {
                if be_rt.try_take(i) {
                    be_rt.no_server.store(false, Ordering::Relaxed);
                    be_rt
                        .lb
                        .inflight_changed(i, be_rt.servers[i].cur.load(Ordering::Relaxed));
                    return Acquire::Got(i);
                }
            }
            Pick::Queue(i) => {
                // The key designates a full server: wait for it, unless its
                // queue is at `maxqueue`.
                let maxq = shared.server_cfg(be_idx, i).opts.maxqueue;
                if maxq == 0 || be_rt.servers[i].queue.len() < maxq {
                    queue = &be_rt.servers[i].queue;
                }
                break;
            }
            Pick::NoServer => return Acquire::NoServer,
            Pick::AllFull => break,
        }
    }
    let (tx, rx) = oneshot::channel();
    queue.push(Waiter {
        seq: shared.global.next_seq(),
        tx,
    });
    let got = match deadline {
        Some(d) => tokio::time::timeout_at(d, rx)
            .await
            .ok()
            .and_then(Result::ok),
        None => rx.await.ok(),
    };
    match got {
        Some(i) => Acquire::Got(i),
        None => Acquire::QueueTimeout,
    }
}

/// Takes a slot of a server chosen before load balancing, or waits in its
/// queue (`timeout queue`); a full queue (`maxqueue`) falls back to the
/// balancer.
async fn acquire_direct(shared: &Shared, be_idx: usize, srv: usize) -> Acquire {
    let be = shared.proxy_cfg(be_idx);
    let be_rt = &shared.proxies[be_idx];
    if be_rt.servers[srv].queue.is_empty() && be_rt.try_take(srv) {
        be_rt
            .lb
            .inflight_changed(srv, be_rt.servers[srv].cur.load(Ordering::Relaxed));
        return Acquire::Got(srv);
    }
    let maxq = shared.server_cfg(be_idx, srv).opts.maxqueue;
    if maxq != 0 && be_rt.servers[srv].queue.len() >= maxq {
        return acquire(shared, be_idx, None, None, None).await;
    }
    let (tx, rx) = oneshot::channel();
    be_rt.servers[srv].queue.push(Waiter {
        seq: shared.global.next_seq(),
        tx,
    });
    let got = match be.timeouts.queue {
        Some(t) => tokio::time::timeout(t, rx).await.ok().and_then(Result::ok),
        None => rx.await.ok(),
    };
    match got {
        Some(REDISPATCH) => acquire(shared, be_idx, None, None, None).await,
        Some(i) => Acquire::Got(i),
        None => Acquire::QueueTimeout,
    }
}

/// One connection attempt, bounded by `timeout connect`.
async fn attempt(
    be: &Proxy,
    srv: &Server,
    client: Option<SocketAddr>,
    dst: &Dst<'_>,
) -> Result<TcpStream, ConnectError> {
    let Some(target) = connect::server_target(&srv.addr, srv.resolved, dst) else {
        return Err(ConnectError::Sync(std::io::Error::from_raw_os_error(
            libc::EADDRNOTAVAIL,
        )));
    };
    let source = srv.opts.source.as_deref().or(be.source.as_ref());
    let keepalive = be.options.srvtcpka.then_some(&be.srvtcpka);
    let fut = async {
        let mut server = connect::connect(target, source, client, keepalive, false).await?;
        if let Some(v) = srv.opts.send_proxy {
            // `send-proxy`: the header goes first, before any client byte.
            let header = proxy_proto::header(v, client.zip(dst.get()));
            server
                .write_all(&header)
                .await
                .map_err(ConnectError::Sync)?;
        }
        Ok(server)
    };
    match be.timeouts.connect {
        Some(t) => match tokio::time::timeout(t, fut).await {
            Ok(r) => r,
            Err(_) => Err(ConnectError::Timeout),
        },
        None => fut.await,
    }
}
