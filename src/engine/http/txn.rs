//! One HTTP transaction, in HAProxy's order: frontend rules, routing,
//! backend rules, persistence and forwarded-for headers, the server
//! (reused or connected, with retries), the request and its body, the
//! response head (after 1xx), response rules and cookies, the response
//! body, and the log line.

use super::Incoming;
use super::body::{self, BodyEnd, Timers};
use super::cookie;
use super::fetch::{HttpCtx, Vars};
use super::head::{Framing, Head, Limits, Parsed};
use super::io::{Conn, Fill};
use super::out::{self, ClientConn};
use super::pool;
use super::reply::{self, Reply};
use super::rules::{self, Side, Verdict};
use crate::config::model::{AddrHeader, Balance, HttpConnMode, HttpReuse, Mode, Proxy};
use crate::engine::dst::Dst;
use crate::engine::route::L4;
use crate::engine::sample;
use crate::engine::session::{self, Hint, HttpLog, Report};
use crate::engine::state::Shared;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime};
use tokio::net::TcpStream;

fn ms(d: Duration) -> i64 {
    d.as_millis().min(i64::MAX as u128) as i64
}

fn deadline(d: Option<Duration>) -> Option<tokio::time::Instant> {
    d.map(|d| tokio::time::Instant::now() + d)
}

/// The request's body framing.
fn request_framing(h: &Head) -> Framing {
    if h.method() == "CONNECT" {
        Framing::None
    } else if h.flags.chnk {
        Framing::Chunked
    } else if h.body_len > 0 {
        Framing::Length(h.body_len)
    } else {
        Framing::None
    }
}

/// The response's body framing, given the request method.
fn response_framing(req: &Head, res: &Head) -> Framing {
    let st = res.status();
    if req.method() == "HEAD" || (100..200).contains(&st) || st == 204 || st == 304 {
        Framing::None
    } else if res.flags.chnk {
        Framing::Chunked
    } else if res.flags.clen {
        Framing::Length(res.body_len)
    } else {
        Framing::UntilClose
    }
}

struct Txn<'a> {
    shared: &'a Arc<Shared>,
    fe_idx: usize,
    fe: &'a Proxy,
    be_idx: usize,
    dst: &'a Dst<'a>,
    rep: Report,
    log: HttpLog,
    req: Head,
    vars: Vars,
    captures: Vec<Option<String>>,
    started: Instant,
    /// Not the first request of the client connection.
    not_first: bool,
    bufsize: usize,
    /// A server slot held (released once, before the log line).
    held: Option<usize>,
}

impl<'a> Txn<'a> {
    fn l4(&self) -> L4<'a> {
        L4 {
            shared: self.shared,
            frontend: self.fe_idx,
            backend: Some(self.be_idx),
            client: self.rep.client,
            local: self.dst,
            payload: None,
        }
    }

    fn be(&self) -> &'a Proxy {
        self.shared.proxy_cfg(self.be_idx)
    }

    /// Runs one proxy's request rules (and its legacy redirects).
    fn request_rules(&mut self, px: usize) -> Option<Local> {
        let cfg = self.shared.proxy_cfg(px);
        let compiled = &self.shared.proxies[px].http;
        let l4 = self.l4();
        let v = rules::run(
            &cfg.rules.http_request,
            &compiled.request,
            Side::Request,
            &mut self.req,
            None,
            &l4,
            &mut self.vars,
            &mut self.captures,
        );
        if let Some(local) = self.verdict(v, px, false) {
            return Some(local);
        }
        for (i, r) in cfg.rules.redirects.iter().enumerate() {
            let holds = {
                let ctx = self.ctx(None);
                crate::engine::acl::holds(compiled.redirects.get(i).and_then(Option::as_ref), &ctx)
            };
            if holds && let crate::config::model::HttpAction::Redirect(rd) = &r.action {
                return self.verdict(Verdict::Redirect(rd), px, false);
            }
        }
        None
    }

    fn ctx<'b>(&'b self, res: Option<&'b Head>) -> HttpCtx<'b> {
        HttpCtx {
            l4: self.l4(),
            req: &self.req,
            res,
            vars: &self.vars,
            captures: &self.captures,
        }
    }

    /// An applet of proxy `px` (stats page, `use-service`) answers: logged
    /// under its name with the 0 ms queue, connect and response times
    /// HAProxy gives an applet's immediate connection.
    fn applet(&mut self, px: usize, name: &'static str) {
        crate::engine::events::applet_took(self.shared, self.fe_idx, px);
        self.log.applet = Some(name);
        self.rep.tw = 0;
        self.rep.tc = 0;
        self.log.t_response = 0;
    }

    /// Turns a final rule verdict into a local answer.
    fn verdict(&mut self, v: Verdict<'_>, px: usize, response: bool) -> Option<Local> {
        let cfg = &self.shared.config;
        let fe = self.fe;
        let be = (self.be_idx != self.fe_idx).then(|| self.be());
        let phase = if response { b'H' } else { b'R' };
        let page = |status| reply::error(cfg, fe, be, status);
        // `return` always builds its answer; `deny` and `tarpit` without
        // reply arguments send the proxy's page for the status.
        let build = |r: &crate::config::model::ReturnCfg, t: &Txn<'_>, is_return: bool| -> Reply {
            let ctx = t.ctx(None);
            let has_custom = !matches!(r.body, crate::config::model::ReturnBody::None)
                || r.content_type.is_some()
                || !r.headers.is_empty();
            if !has_custom && !is_return {
                return page(r.status);
            }
            let parts = reply::Rendered {
                headers: r
                    .headers
                    .iter()
                    .map(|(n, lf)| (n.clone(), rules::render(lf, &ctx).into_bytes()))
                    .collect(),
                body: match &r.body {
                    crate::config::model::ReturnBody::String(s) => Some(s.as_bytes().to_vec()),
                    crate::config::model::ReturnBody::File(_, c) => Some(c.to_vec()),
                    crate::config::model::ReturnBody::LfString(lf)
                    | crate::config::model::ReturnBody::LfFile(_, lf) => {
                        Some(rules::render(lf, &ctx).into_bytes())
                    }
                    _ => None,
                },
            };
            reply::build_return(cfg, r, Some(t.shared.proxy_cfg(px)), parts)
        };
        match v {
            Verdict::Continue | Verdict::Stop => None,
            Verdict::Deny(r) => Some(Local {
                reply: build(r, self, false),
                term: [b'P', phase],
                tarpit: None,
                close_only: false,
            }),
            Verdict::LegacyDeny => Some(Local {
                reply: page(403),
                term: [b'P', phase],
                tarpit: None,
                close_only: false,
            }),
            Verdict::Tarpit(r) => Some(Local {
                reply: build(r, self, false),
                term: *b"PT",
                tarpit: self.shared.proxy_cfg(px).timeouts.tarpit,
                close_only: false,
            }),
            Verdict::LegacyTarpit => Some(Local {
                reply: page(500),
                term: *b"PT",
                tarpit: self.shared.proxy_cfg(px).timeouts.tarpit,
                close_only: false,
            }),
            Verdict::Reject => Some(Local {
                reply: page(403),
                term: [b'P', phase],
                tarpit: None,
                close_only: true,
            }),
            Verdict::Auth(realm) => {
                let mut r = page(401);
                let realm = realm.unwrap_or(&self.shared.proxy_cfg(px).name);
                r.head.remove("www-authenticate");
                r.head
                    .add("WWW-Authenticate", format!("Basic realm=\"{realm}\""));
                Some(Local {
                    reply: r,
                    term: [b'L', phase],
                    tarpit: None,
                    close_only: false,
                })
            }
            Verdict::Redirect(rd) => {
                let target = rules::render(&rd.target, &self.ctx(None));
                let loc = rules::redirect_location(rd, &self.req, target);
                let mut headers = vec![
                    super::head::Header {
                        name: "Content-length".into(),
                        value: b"0".to_vec().into(),
                    },
                    super::head::Header {
                        name: "Location".into(),
                        value: loc.into_bytes().into(),
                    },
                ];
                if matches!(rd.code, 302 | 303 | 307) {
                    headers.push(super::head::Header {
                        name: "Cache-Control".into(),
                        value: b"no-cache".to_vec().into(),
                    });
                }
                if let Some(c) = &rd.set_cookie {
                    headers.push(super::head::Header {
                        name: "Set-Cookie".into(),
                        value: format!("{c}; path=/;").into_bytes().into(),
                    });
                }
                if let Some(c) = &rd.clear_cookie {
                    headers.push(super::head::Header {
                        name: "Set-Cookie".into(),
                        value: format!("{c}; path=/; Max-Age=0;").into_bytes().into(),
                    });
                }
                Some(Local {
                    reply: Reply {
                        head: reply::head(rd.code, headers),
                        body: Vec::new(),
                        log_status: rd.code,
                        silent: false,
                    },
                    term: [b'L', phase],
                    tarpit: None,
                    close_only: false,
                })
            }
            Verdict::Return(r) => Some(Local {
                reply: build(r, self, true),
                term: [b'L', phase],
                tarpit: None,
                close_only: false,
            }),
            // `use-service prometheus-exporter`, the only service there is.
            Verdict::Service(_) => {
                self.applet(px, crate::stats::prometheus::APPLET);
                Some(Local {
                    reply: crate::stats::prometheus::serve(self.shared, &self.req),
                    term: *b"LR",
                    tarpit: None,
                    close_only: false,
                })
            }
        }
    }
}

/// An answer rproxy gives itself.
struct Local {
    reply: Reply,
    term: [u8; 2],
    /// `tarpit`: wait this long first.
    tarpit: Option<Duration>,
    /// `reject`: close without answering.
    close_only: bool,
}

/// Runs one transaction; returns whether the client connection goes on.
#[allow(clippy::too_many_arguments)]
pub(super) async fn run(
    shared: &Arc<Shared>,
    fe_idx: usize,
    cli: &mut Conn,
    dst: &Dst<'_>,
    mut rep: Report,
    inc: Incoming,
    first: bool,
    own: &mut Option<pool::Idle>,
) -> bool {
    let fe = shared.proxy_cfg(fe_idx);
    let bufsize = shared.config.global.tune.bufsize as usize;
    let req = inc.head;
    let mut log = HttpLog {
        status: -1,
        t_request: ms(inc.t_request),
        t_response: -1,
        t_active: 0,
        request_date: Some(inc.started_wall),
        cookie_flags: *b"--",
        ..Default::default()
    };
    // The request as it came, for log lines only: not built when the
    // frontend logs nothing.
    if crate::log::traffic::logs(fe_idx) {
        log.request_line = request_line(&req, shared.config.global.tune.http_logurilen as usize);
        log.method = req.method().to_string();
        log.uri = String::from_utf8_lossy(req.uri()).into_owned();
        if let super::head::Line::Request { version, .. } = &req.line {
            log.version = String::from_utf8_lossy(version).into_owned();
        }
    }
    log.captured_req = capture_headers(&req, &fe.captures.request_headers);
    rep.accept = inc.started_wall;
    // What HAProxy counts as received from the client (`%U`, `bin`): the
    // head as it arrived, in HTX terms, and a body of known length.
    rep.bytes_to_server = req.htx_size() + if req.flags.chnk { 0 } else { req.body_len };
    let mut t = Txn {
        shared,
        fe_idx,
        fe,
        be_idx: fe_idx,
        dst,
        rep,
        log,
        req,
        vars: Vars::new(),
        captures: Vec::new(),
        started: inc.started,
        not_first: !first,
        bufsize,
        held: None,
    };
    let framing = request_framing(&t.req);
    let cli_wants_close = (!t.req.flags.ver11 && !t.req.flags.conn_kal) || t.req.flags.conn_clo;

    // monitor-uri: answered before any rule, never logged.
    if let Some(m) = &fe.monitor_uri {
        let path = super::fetch::path_of(t.req.uri());
        if m.as_bytes() == t.req.uri() || (m.starts_with('/') && m.as_bytes() == path) {
            let fail = shared.proxies[fe_idx]
                .http
                .monitor_fail
                .as_ref()
                .is_some_and(|c| c.eval(&t.ctx(None)));
            let status = if fail { 503 } else { 200 };
            let r = reply::error(&shared.config, fe, None, status);
            t.log.no_log = true;
            return answer(&mut t, cli, r, *b"LR", framing, cli_wants_close).await;
        }
    }

    // Frontend rules, then routing, then the backend's; each proxy's
    // stats page is looked for after its rules, as in HAProxy.
    if let Some(local) = t.request_rules(fe_idx) {
        return local_answer(&mut t, cli, local, framing, cli_wants_close).await;
    }
    if let Some(keep) = stats_page(&mut t, cli, fe_idx, framing, cli_wants_close).await {
        return keep;
    }
    let be_idx = {
        let ctx = t.ctx(None);
        crate::engine::route::backend_in(shared, fe_idx, &ctx)
    };
    let Some(be_idx) = be_idx else {
        let r = reply::error(&shared.config, fe, None, 503);
        t.rep.term = *b"SC";
        return answer(&mut t, cli, r, *b"SC", framing, cli_wants_close).await;
    };
    t.be_idx = be_idx;
    t.rep.backend = Some(be_idx);
    let be = shared.proxy_cfg(be_idx);
    if be.mode != Mode::Http {
        // an HTTP frontend on a TCP backend: HAProxy refuses it at start
        let r = reply::error(&shared.config, fe, Some(be), 503);
        return answer(&mut t, cli, r, *b"SC", framing, cli_wants_close).await;
    }
    let mut force_persist = false;
    let mut ignore_persist = false;
    {
        let ctx = t.ctx(None);
        for (force, c) in &shared.proxies[be_idx].http.persist {
            if c.eval(&ctx) {
                if *force {
                    force_persist = true;
                } else {
                    ignore_persist = true;
                }
                break;
            }
        }
    }
    if be_idx != fe_idx {
        if let Some(local) = t.request_rules(be_idx) {
            return local_answer(&mut t, cli, local, framing, cli_wants_close).await;
        }
        if let Some(keep) = stats_page(&mut t, cli, be_idx, framing, cli_wants_close).await {
            return keep;
        }
    }

    // use-server, then the persistence cookie.
    let mut direct: Option<usize> = None;
    {
        let ctx = t.ctx(None);
        for (srv, c) in &shared.proxies[be_idx].http.use_servers {
            if crate::engine::acl::holds(c.as_ref(), &ctx)
                && let Some(s) = srv
            {
                let rt = &shared.proxies[be_idx].servers[*s];
                if rt.usable() || be.options.persist || force_persist {
                    direct = Some(*s);
                }
                break;
            }
        }
    }
    let now_secs = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    if let Some(name) = fe.captures.cookie.as_ref() {
        t.log.captured_cookie_req = capture_cookie(&t.req, "cookie", &name.name, name.len);
    }
    let mut found: Option<cookie::Found> = None;
    if let Some(ck) = &be.cookie {
        let cands: Vec<cookie::Candidate<'_>> = be
            .servers
            .iter()
            .enumerate()
            .map(|(i, s)| cookie::Candidate {
                cookie: s.opts.cookie.as_deref(),
                up: shared.proxies[be_idx].servers[i].usable(),
            })
            .collect();
        let f = cookie::request(
            ck,
            &mut t.req,
            &cands,
            be.options.persist || force_persist,
            ignore_persist || direct.is_some(),
            now_secs,
        );
        if direct.is_none() {
            direct = f.server;
        }
        t.log.cookie_flags = [f.flag.ch(), b'N'];
        found = Some(f);
    }
    // unique-id, X-Forwarded-For, X-Original-To
    if let (Some(fmt), Some(h)) = (&fe.unique_id_format, &fe.unique_id_header) {
        let id = rules::render(fmt, &t.ctx(None));
        t.req.add(h, id);
    }
    add_forwarded(&mut t.req, fe, be, t.rep.client, dst.get());

    // The server: persistence, or the balancer with the request's key.
    let hint = Hint {
        direct,
        key: hash_key(be, &t.req, &t.ctx(None)),
    };
    let be_rt = &shared.proxies[be_idx];
    be_rt.assigned();
    let reuse_ok = match be.http_reuse {
        HttpReuse::Never => false,
        HttpReuse::Safe => !first,
        _ => true,
    };
    let own_srv = own.as_ref().map(|o| (o.backend, o.server));
    let taken_own = std::sync::Mutex::new(own.take());
    let was_reused = std::sync::atomic::AtomicBool::new(false);
    let reuse = |srv: usize| -> Option<TcpStream> {
        let got = if own_srv == Some((be_idx, srv)) {
            taken_own.lock().ok()?.take().map(|o| o.stream)
        } else {
            None
        };
        let got = got.or_else(|| {
            if reuse_ok {
                pool::take(shared, be_idx, srv)
            } else {
                None
            }
        });
        if got.is_some() {
            was_reused.store(true, Ordering::Relaxed);
        }
        got
    };
    let connected =
        session::establish_reusing(shared, be_idx, dst, &mut t.rep, t.started, &hint, &reuse).await;
    let leftover_own = taken_own.into_inner().ok().flatten();
    if leftover_own.is_some() {
        *own = leftover_own;
    }
    let reused = was_reused.load(Ordering::Relaxed);
    let Some((srv_idx, stream)) = connected else {
        // The slot of a server that refused was given back already.
        be_rt.beconn.fetch_sub(1, Ordering::Relaxed);
        if let Some(f) = found {
            t.log.cookie_flags = [f.flag.ch(), b'N'];
        }
        let r = reply::error(&shared.config, fe, Some(be), 503);
        let term = t.rep.term;
        return answer(&mut t, cli, r, term, framing, cli_wants_close).await;
    };
    let direct_used = direct == Some(srv_idx) && !t.rep.redispatched;
    if let Some(f) = found.as_mut()
        && t.rep.redispatched
        && f.flag == cookie::ReqFlag::Valid
    {
        f.flag = cookie::ReqFlag::Down;
    }
    t.held = Some(srv_idx);
    let keep = exchange(
        &mut t,
        cli,
        stream,
        srv_idx,
        framing,
        cli_wants_close,
        reused,
        found,
        direct_used,
        ignore_persist || (direct.is_some() && found.is_none_or(|f| f.server != direct)),
        own,
    )
    .await;
    release(&mut t);
    keep
}

/// The stats page of proxy `px` when the request is for it: answered
/// locally, counted as intercepted.
async fn stats_page(
    t: &mut Txn<'_>,
    cli: &mut Conn,
    px: usize,
    framing: Framing,
    cli_close: bool,
) -> Option<bool> {
    let cfg = t.shared.proxy_cfg(px).stats.as_ref()?;
    if !crate::stats::page::matches(cfg, t.req.uri()) {
        return None;
    }
    // Error pages come from this proxy; the stats applet is not a
    // backend assignment (its counters stay untouched, as in HAProxy).
    t.be_idx = px;
    // The admin form's body, when small enough to be all in the buffer.
    let mut form = None;
    if t.req.method() == "POST"
        && let Framing::Length(n) = framing
        && n <= t.bufsize as u64
    {
        let deadline = deadline(t.fe.timeouts.http_request.or(t.fe.timeouts.client));
        while (cli.data().len() as u64) < n {
            match cli.fill(deadline, t.bufsize).await {
                Ok(Fill::Data) => {}
                _ => break,
            }
        }
        let have = (cli.data().len() as u64).min(n) as usize;
        form = Some(cli.data()[..have].to_vec());
    }
    let admin = {
        let ctx = t.ctx(None);
        t.shared.proxies[px]
            .http
            .stats_admin
            .iter()
            .any(|c| c.eval(&ctx))
    };
    let r = crate::stats::page::serve(t.shared, px, &t.req, form.as_deref(), admin);
    t.applet(px, "<STATS>");
    Some(answer(t, cli, r, *b"LR", framing, cli_close).await)
}

/// Gives back the server slot and the backend's count (once).
fn release(t: &mut Txn<'_>) {
    if let Some(s) = t.held.take() {
        t.shared.proxies[t.be_idx]
            .beconn
            .fetch_sub(1, Ordering::Relaxed);
        session::release_server(t.shared, t.be_idx, s);
    }
}

/// The request line as logs show it: HAProxy captures at most
/// `tune.http.logurilen - 1` bytes of it.
fn request_line(h: &Head, logurilen: usize) -> String {
    let mut line = match &h.line {
        super::head::Line::Request {
            method,
            uri,
            version,
        } => format!(
            "{method} {} {}",
            String::from_utf8_lossy(uri),
            String::from_utf8_lossy(version)
        ),
        _ => String::new(),
    };
    let mut cut = logurilen.saturating_sub(1);
    if cut < line.len() {
        while !line.is_char_boundary(cut) {
            cut -= 1;
        }
        line.truncate(cut);
    }
    line
}

fn capture_headers(h: &Head, caps: &[crate::config::model::CaptureHdr]) -> Vec<Option<String>> {
    caps.iter()
        .map(|c| {
            h.last(&c.name).map(|v| {
                let mut s = String::from_utf8_lossy(v).into_owned();
                s.truncate(c.len as usize);
                s
            })
        })
        .collect()
}

/// `capture cookie NAME len N`: the first cookie whose name starts with
/// NAME, as `name=value`.
fn capture_cookie(h: &Head, hdr: &str, prefix: &str, len: u32) -> Option<String> {
    for v in h.values(hdr) {
        let parts: Vec<&[u8]> = if hdr == "set-cookie" {
            vec![v.split(|b| *b == b';').next().unwrap_or(v)]
        } else {
            v.split(|b| *b == b';' || *b == b',').collect()
        };
        for p in parts {
            let p = super::head::trim(p);
            if p.starts_with(prefix.as_bytes()) {
                let mut s = String::from_utf8_lossy(p).into_owned();
                s.truncate(len as usize);
                return Some(s);
            }
        }
    }
    None
}

fn in_net(ip: IpAddr, net: &Option<(IpAddr, u8)>) -> bool {
    let Some((n, bits)) = net else { return false };
    match (ip, n) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            let m = if *bits == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(*bits))
            };
            u32::from(a) & m == u32::from(*b) & m
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            let m = if *bits == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(*bits))
            };
            u128::from(a) & m == u128::from(*b) & m
        }
        _ => false,
    }
}

/// `option forwardfor` and `option originalto` (frontend or backend): a
/// new header line each, at the end.
fn add_forwarded(
    req: &mut Head,
    fe: &Proxy,
    be: &Proxy,
    client: Option<SocketAddr>,
    dst: Option<SocketAddr>,
) {
    let pick = |f: &Option<AddrHeader>, b: &Option<AddrHeader>| -> Option<(String, bool)> {
        if f.is_none() && b.is_none() {
            return None;
        }
        let name = b.as_ref().or(f.as_ref()).map(|h| h.header.clone())?;
        // if-none only when no side asks for the header unconditionally
        let always =
            f.as_ref().is_some_and(|h| !h.if_none) || b.as_ref().is_some_and(|h| !h.if_none);
        Some((name, !always))
    };
    if let (Some((name, if_none)), Some(c)) = (pick(&fe.forwardfor, &be.forwardfor), client) {
        let excluded = fe
            .forwardfor
            .as_ref()
            .is_some_and(|h| in_net(c.ip(), &h.except))
            || be
                .forwardfor
                .as_ref()
                .is_some_and(|h| in_net(c.ip(), &h.except));
        if !(excluded || if_none && req.has(&name)) {
            req.add(&name, c.ip().to_string());
        }
    }
    if let (Some((name, _)), Some(d)) = (pick(&fe.originalto, &be.originalto), dst) {
        let excluded = fe
            .originalto
            .as_ref()
            .is_some_and(|h| in_net(d.ip(), &h.except))
            || be
                .originalto
                .as_ref()
                .is_some_and(|h| in_net(d.ip(), &h.except));
        if !excluded {
            req.add(&name, d.ip().to_string());
        }
    }
}

/// The key HTTP balance algorithms hash.
fn hash_key(be: &Proxy, req: &Head, ctx: &HttpCtx<'_>) -> Option<Vec<u8>> {
    match &be.balance {
        Balance::Uri {
            whole,
            len,
            depth,
            path_only,
        } => {
            let uri = if *path_only {
                super::fetch::path_and_query(req.uri())
            } else {
                req.uri()
            };
            let uri = if *len > 0 {
                &uri[..uri.len().min(*len as usize)]
            } else {
                uri
            };
            let mut end = 0;
            let mut slashes = 0;
            for (i, c) in uri.iter().enumerate() {
                end = i;
                if *c == b'/' {
                    slashes += 1;
                    if *depth > 0 && slashes == depth + 1 {
                        break;
                    }
                } else if *c == b'?' && !whole {
                    break;
                }
                end = i + 1;
            }
            Some(uri[..end].to_vec())
        }
        Balance::UrlParam { param, .. } => {
            super::fetch::url_param(req.uri(), param, b'&').map(<[u8]>::to_vec)
        }
        Balance::Hdr {
            name,
            use_domain_only,
        } => {
            let v = req.first(name)?;
            if !use_domain_only {
                return Some(v.to_vec());
            }
            let host = v.split(|b| *b == b':').next().unwrap_or(v);
            let labels: Vec<&[u8]> = host.split(|b| *b == b'.').collect();
            Some(if labels.len() >= 2 {
                labels[labels.len() - 2].to_vec()
            } else {
                host.to_vec()
            })
        }
        Balance::Hash { expr } => sample::fetch(expr, ctx).map(|s| s.as_str().as_bytes().to_vec()),
        _ => None,
    }
}

/// Whether the server connection must close after this request (HAProxy's
/// `h1_set_srv_conn_mode` on the request).
fn server_close(fe: &Proxy, be: &Proxy, req: &Head) -> bool {
    let closing = |p: &Proxy| {
        matches!(
            p.http_conn_mode,
            Some(HttpConnMode::ServerClose | HttpConnMode::Close)
        )
    };
    (!req.flags.conn_kal && (closing(fe) || closing(be)))
        || (req.flags.xfer_enc && !req.flags.ver11)
}

/// Sends a local answer (after a tarpit delay) and logs it.
async fn local_answer(
    t: &mut Txn<'_>,
    cli: &mut Conn,
    local: Local,
    framing: Framing,
    cli_close: bool,
) -> bool {
    if local.close_only {
        t.rep.term = local.term;
        t.log.status = -1;
        finish_log(t, 0);
        return false;
    }
    if let Some(d) = local.tarpit {
        tokio::time::sleep(d).await;
    }
    answer(t, cli, local.reply, local.term, framing, cli_close).await
}

/// Writes a generated response (the request body, if any, was not
/// forwarded), logs the transaction, and says whether the client
/// connection goes on.
async fn answer(
    t: &mut Txn<'_>,
    cli: &mut Conn,
    mut r: Reply,
    term: [u8; 2],
    framing: Framing,
    cli_close: bool,
) -> bool {
    t.rep.term = term;
    t.log.status = i32::from(r.log_status);
    if r.silent {
        finish_log(t, 0);
        return false;
    }
    // A body still on its way makes the connection unusable afterwards,
    // unless it is already all here.
    let body_pending = match framing {
        Framing::None => false,
        Framing::Length(n) if cli.data().len() as u64 >= n => {
            cli.consume(n as usize);
            false
        }
        _ => true,
    };
    run_after_response(t, &mut r.head);
    let no_length =
        !r.head.flags.clen && !r.head.flags.chnk && !matches!(r.head.status(), 204 | 304);
    let close = cli_close
        || body_pending
        || r.head.flags.conn_clo
        || no_length
        || t.fe.http_conn_mode == Some(HttpConnMode::Close);
    let mode = if close {
        ClientConn::Close
    } else {
        ClientConn::KeepAlive
    };
    let mut bytes = out::response(&r.head, mode, t.req.flags.ver11);
    if t.req.method() != "HEAD" {
        bytes.extend_from_slice(&r.body);
    }
    let ok = cli
        .write_all(&bytes, deadline(t.fe.timeouts.client))
        .await
        .is_ok();
    let counted = r.head.htx_size()
        + if t.req.method() != "HEAD" {
            r.body.len() as u64
        } else {
            0
        };
    finish_log(t, counted);
    ok && !close
}

/// `http-after-response` rules of the backend, then of the frontend.
fn run_after_response(t: &mut Txn<'_>, res: &mut Head) {
    let mut pxs = vec![t.be_idx];
    if t.fe_idx != t.be_idx {
        pxs.push(t.fe_idx);
    }
    for px in pxs {
        let cfg = t.shared.proxy_cfg(px);
        if cfg.rules.http_after_response.is_empty() {
            continue;
        }
        let l4 = t.l4();
        let _ = rules::run(
            &cfg.rules.http_after_response,
            &t.shared.proxies[px].http.after,
            Side::Response,
            &mut t.req,
            Some(res),
            &l4,
            &mut t.vars,
            &mut t.captures,
        );
    }
}

fn finish_log(t: &mut Txn<'_>, bytes_out: u64) {
    // HAProxy logs once the server is released, except after a response
    // it rejected (PH), logged with the server still counted.
    let keep_counted = t.rep.term == *b"PH";
    if !keep_counted {
        release(t);
    }
    t.log.t_active = ms(t.started.elapsed());
    t.rep.tt = t.log.t_active;
    t.rep.bytes_to_client = bytes_out;
    let be_cookie = t.shared.proxy_cfg(t.be_idx).cookie.as_ref();
    let be_passive = be_cookie
        .is_none_or(|c| c.mode == crate::config::model::CookieMode::Passive && !c.indirect);
    if be_passive {
        t.log.cookie_flags = *b"--";
    }
    let mut rep = t.rep.clone();
    rep.http = Some(Box::new(std::mem::take(&mut t.log)));
    if rep.http.as_ref().is_some_and(|h| h.no_log) {
        return;
    }
    if crate::log::traffic::logs(t.fe_idx) {
        rep.local = t.dst.get();
    }
    crate::engine::events::session_end(t.shared, &rep);
    release(t);
}

/// The server part: request out, response back. Returns whether the
/// client connection goes on.
#[allow(clippy::too_many_arguments)]
async fn exchange(
    t: &mut Txn<'_>,
    cli: &mut Conn,
    stream: TcpStream,
    srv_idx: usize,
    framing: Framing,
    cli_wants_close: bool,
    reused: bool,
    found: Option<cookie::Found>,
    direct: bool,
    persist_ignored: bool,
    own: &mut Option<pool::Idle>,
) -> bool {
    let shared = t.shared;
    let fe = t.fe;
    let be = t.be();
    let be_idx = t.be_idx;
    t.rep.server = Some(srv_idx);
    let mut srv = Conn::new(stream);
    if let Some(h) = &be.http_send_name_header {
        t.req.set(h, be.servers[srv_idx].name.as_bytes());
    }
    let srv_close_req = server_close(fe, be, &t.req);
    let tserver = be.timeouts.server;
    let head_bytes = out::request(&t.req, srv_close_req);
    if srv.write_all(&head_bytes, deadline(tserver)).await.is_err() {
        t.rep.term = *b"SH";
        if reused && t.not_first {
            finish_log(t, 0);
            return false;
        }
        let r = reply::error(&shared.config, fe, Some(be), 502);
        return answer(t, cli, r, *b"SH", framing, cli_wants_close).await;
    }
    let sent_at = Instant::now();
    // The body, then the response head. With `Expect: 100-continue` the
    // client waits for a 100 before sending its body: look at the server
    // first.
    let expect_100 = t
        .req
        .first("expect")
        .is_some_and(|v| v.eq_ignore_ascii_case(b"100-continue"));
    let lim = Limits::new(
        t.bufsize,
        shared.config.global.tune.maxrewrite as usize,
        shared.config.global.tune.http_maxhdr as usize,
    );
    let mut body_done = matches!(framing, Framing::None);
    if !body_done && !expect_100 {
        let (end, _) = body::forward(
            cli,
            &mut srv,
            framing,
            Timers {
                src: tserver,
                dst: tserver,
            },
            t.bufsize,
        )
        .await;
        match end {
            BodyEnd::Done => body_done = true,
            BodyEnd::SrcTimeout | BodyEnd::DstTimeout => {
                let r = reply::error(&shared.config, fe, Some(be), 504);
                return answer(t, cli, r, *b"sD", Framing::Chunked, true).await;
            }
            BodyEnd::Invalid => {
                let r = reply::error(&shared.config, fe, Some(be), 400);
                return answer(t, cli, r, *b"PR", Framing::Chunked, true).await;
            }
            BodyEnd::SrcClosed => {
                t.rep.term = *b"CD";
                finish_log(t, 0);
                return false;
            }
            BodyEnd::DstError => {}
        }
    }
    // Response head, relaying interim responses.
    let res = loop {
        match read_response_head(
            &mut srv,
            &lim,
            t.req.method(),
            tserver,
            t.bufsize,
            cli,
            expect_100 && !body_done,
        )
        .await
        {
            Ok(ResHead::Head(h)) => {
                let st = h.status();
                if (100..200).contains(&st) && st != 101 {
                    let bytes = out::response(&h, ClientConn::KeepAlive, t.req.flags.ver11);
                    if cli
                        .write_all(&bytes, deadline(fe.timeouts.client))
                        .await
                        .is_err()
                    {
                        t.rep.term = *b"CH";
                        finish_log(t, 0);
                        return false;
                    }
                    if st == 100 && !body_done {
                        let (end, _) = body::forward(
                            cli,
                            &mut srv,
                            framing,
                            Timers {
                                src: tserver,
                                dst: tserver,
                            },
                            t.bufsize,
                        )
                        .await;
                        body_done = end == BodyEnd::Done;
                    }
                    continue;
                }
                break h;
            }
            Ok(ResHead::ClientData) => {
                let (end, _) = body::forward(
                    cli,
                    &mut srv,
                    framing,
                    Timers {
                        src: tserver,
                        dst: tserver,
                    },
                    t.bufsize,
                )
                .await;
                body_done = end == BodyEnd::Done;
                if !body_done {
                    let r = reply::error(&shared.config, fe, Some(be), 504);
                    return answer(t, cli, r, *b"sD", Framing::Chunked, true).await;
                }
            }
            Err(ResErr::Timeout) => {
                let _ = socket2::SockRef::from(&srv.stream).set_linger(Some(Duration::ZERO));
                let r = reply::error(&shared.config, fe, Some(be), 504);
                return answer(
                    t,
                    cli,
                    r,
                    *b"sH",
                    body_pending(framing, body_done),
                    cli_wants_close || !body_done,
                )
                .await;
            }
            Err(ResErr::Closed { nothing }) => {
                if nothing && reused && t.not_first {
                    // HAProxy closes the client silently: it may retry.
                    t.rep.term = *b"SH";
                    finish_log(t, 0);
                    return false;
                }
                let r = reply::error(&shared.config, fe, Some(be), 502);
                return answer(
                    t,
                    cli,
                    r,
                    *b"SH",
                    body_pending(framing, body_done),
                    cli_wants_close || !body_done,
                )
                .await;
            }
            Err(ResErr::Invalid) => {
                // `show errors`: the response as received.
                let at = (t.fe_idx, be_idx, srv_idx, t.rep.client);
                super::snapshot::response(shared, at, &srv, &lim, t.req.method());
                let _ = socket2::SockRef::from(&srv.stream).set_linger(Some(Duration::ZERO));
                let r = reply::error(&shared.config, fe, Some(be), 502);
                return answer(
                    t,
                    cli,
                    r,
                    *b"PH",
                    body_pending(framing, body_done),
                    cli_wants_close || !body_done,
                )
                .await;
            }
        }
    };
    t.log.t_response = ms(sent_at.elapsed());
    let mut res = res;
    // HAProxy counts the response as received, before its own changes.
    let res_htx = res.htx_size();
    let res_framing = response_framing(&t.req, &res);
    let status = res.status();
    let tunnel = status == 101 || (t.req.method() == "CONNECT" && (200..300).contains(&status));
    let mut srv_close = srv_close_req
        || res_framing == Framing::UntilClose
        || res.flags.conn_clo
        || (!res.flags.ver11 && !res.flags.conn_kal);

    // Response rules: backend, then frontend.
    let mut pxs = vec![be_idx];
    if t.fe_idx != be_idx {
        pxs.push(t.fe_idx);
    }
    for px in pxs {
        let cfg = shared.proxy_cfg(px);
        let l4 = t.l4();
        let v = rules::run(
            &cfg.rules.http_response,
            &shared.proxies[px].http.response,
            Side::Response,
            &mut t.req,
            Some(&mut res),
            &l4,
            &mut t.vars,
            &mut t.captures,
        );
        let v = match v {
            Verdict::Deny(_) | Verdict::LegacyDeny => {
                // a denied response is replaced by the 502 page
                let _ = socket2::SockRef::from(&srv.stream).set_linger(Some(Duration::ZERO));
                let r = reply::error(&shared.config, fe, Some(be), 502);
                return answer(t, cli, r, *b"PH", Framing::None, cli_wants_close).await;
            }
            other => other,
        };
        if let Some(local) = t.verdict(v, px, true) {
            return local_answer(t, cli, local, Framing::None, cli_wants_close).await;
        }
    }
    // Persistence cookies.
    if let Some(name) = fe.captures.cookie.as_ref() {
        t.log.captured_cookie_res = capture_cookie(&res, "set-cookie", &name.name, name.len);
    }
    if let Some(ck) = &be.cookie {
        let f = found.unwrap_or(cookie::Found {
            server: None,
            flag: cookie::ReqFlag::None,
            last: None,
            first: None,
        });
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let cacheable = cookie::cacheable(t.req.method(), &res);
        let flag = cookie::response(
            ck,
            &mut res,
            &cookie::ResponseCtx {
                server_cookie: be.servers[srv_idx].opts.cookie.as_deref(),
                direct,
                found: f,
                ignored: persist_ignored,
                method_post: t.req.method() == "POST",
                cacheable,
                now,
            },
        );
        t.log.cookie_flags = [f.flag.ch(), flag.ch()];
    }
    run_after_response(t, &mut res);
    t.log.captured_res = capture_headers(&res, &fe.captures.response_headers);
    t.log.status = i32::from(status);

    // The client side's mode for this response.
    let cli_close = cli_wants_close
        || !body_done
        || res_framing == Framing::UntilClose
        || (res.flags.xfer_enc && !res.flags.ver11)
        || fe.http_conn_mode == Some(HttpConnMode::Close);
    let mode = if tunnel {
        ClientConn::Tunnel
    } else if cli_close {
        ClientConn::Close
    } else {
        ClientConn::KeepAlive
    };
    let head = out::response(&res, mode, t.req.flags.ver11);
    if !tunnel && res_framing != Framing::None && !srv.data().is_empty() {
        // The body (or its start) is here: one segment for both.
        cli.queue(&head);
    } else if cli
        .write_all(&head, deadline(fe.timeouts.client))
        .await
        .is_err()
    {
        t.rep.term = *b"CH";
        finish_log(t, 0);
        return false;
    }
    let mut sent = res_htx;
    if tunnel {
        // From now on, raw bytes both ways (`timeout tunnel`).
        let timers = crate::engine::forward::Timers {
            client: be.timeouts.tunnel.or(fe.timeouts.client),
            server: be.timeouts.tunnel.or(be.timeouts.server),
            client_fin: fe.timeouts.client_fin,
            server_fin: be.timeouts.server_fin,
        };
        // bytes already buffered on either side go first
        if !cli.data().is_empty() {
            let n = cli.data().len();
            let b = cli.take(n);
            let _ = srv.write_all(&b, deadline(tserver)).await;
        }
        if !srv.data().is_empty() {
            let n = srv.data().len();
            let b = srv.take(n);
            let _ = cli.write_all(&b, deadline(fe.timeouts.client)).await;
            sent += n as u64;
        }
        let stop = crate::engine::events::kill_signal(shared, be_idx, Some(srv_idx));
        let o = crate::engine::forward::forward(
            &cli.stream,
            &srv.stream,
            timers,
            Default::default(),
            t.bufsize,
            stop,
        )
        .await;
        sent += o.to_client;
        t.rep.term = match o.end {
            crate::engine::forward::End::Done => *b"--",
            crate::engine::forward::End::ClientTimeout => *b"cD",
            crate::engine::forward::End::ServerTimeout => *b"sD",
            crate::engine::forward::End::ClientAbort => *b"CD",
            crate::engine::forward::End::ServerAbort => *b"SD",
            crate::engine::forward::End::Killed => *b"KD",
        };
        finish_log(t, sent);
        return false;
    }
    let (end, n) = body::forward(
        &mut srv,
        cli,
        res_framing,
        Timers {
            src: tserver,
            dst: fe.timeouts.client,
        },
        t.bufsize,
    )
    .await;
    sent += n;
    if res_framing == Framing::UntilClose && end == BodyEnd::Done {
        cli.shutdown_write();
    }
    t.rep.term = match end {
        BodyEnd::Done => *b"--",
        BodyEnd::SrcTimeout => *b"sD",
        BodyEnd::SrcClosed | BodyEnd::Invalid => *b"SD",
        BodyEnd::DstTimeout => *b"cD",
        BodyEnd::DstError => *b"CD",
    };
    let ok = end == BodyEnd::Done;
    if !ok || !srv.data().is_empty() {
        srv_close = true;
    }
    finish_log(t, sent);
    if !srv_close {
        let idle = pool::Idle {
            backend: be_idx,
            server: srv_idx,
            stream: srv.stream,
            since: Instant::now(),
        };
        if be.http_reuse == HttpReuse::Never {
            *own = Some(idle);
        } else {
            pool::put(shared, idle);
        }
    }
    ok && !cli_close
}

fn body_pending(framing: Framing, done: bool) -> Framing {
    if done { Framing::None } else { framing }
}

enum ResHead {
    Head(Head),
    /// The client sent (body) data first (`Expect: 100-continue`).
    ClientData,
}

enum ResErr {
    Timeout,
    /// The server closed; `nothing`: before sending a byte.
    Closed {
        nothing: bool,
    },
    Invalid,
}

/// Reads a response head from the server within `timeout server`.
async fn read_response_head(
    srv: &mut Conn,
    lim: &Limits,
    method: &str,
    tserver: Option<Duration>,
    bufsize: usize,
    cli: &mut Conn,
    watch_client: bool,
) -> Result<ResHead, ResErr> {
    let dl = deadline(tserver);
    let mut got_any = !srv.data().is_empty();
    loop {
        if !srv.data().is_empty() {
            match super::head::parse_response(srv.data(), lim, method) {
                Ok(Parsed::Done(h, n)) => {
                    srv.consume(n);
                    return Ok(ResHead::Head(h));
                }
                Ok(Parsed::Partial) => {
                    if srv.data().len() >= bufsize.saturating_sub(64) {
                        return Err(ResErr::Invalid);
                    }
                }
                Err(_) => return Err(ResErr::Invalid),
            }
        }
        // Body bytes that came with the head count as the client going on
        // without waiting for the 100.
        if watch_client && !cli.data().is_empty() {
            return Ok(ResHead::ClientData);
        }
        let filled = if watch_client {
            tokio::select! {
                r = srv.fill(dl, bufsize) => r,
                _ = cli.stream.readable() => return Ok(ResHead::ClientData),
            }
        } else {
            srv.fill(dl, bufsize).await
        };
        match filled {
            Ok(Fill::Data) => got_any = true,
            Ok(Fill::Timeout) => return Err(ResErr::Timeout),
            Ok(Fill::Eof) | Err(_) => return Err(ResErr::Closed { nothing: !got_any }),
        }
    }
}
