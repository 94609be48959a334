//! The engine: accept loops on every listener, one task per client
//! connection, on `nbthread` threads.
//!
//! Two thread models are built in and measured by `bench/run`:
//! * `per-core`: one single-threaded event loop per thread, each with its
//!   own SO_REUSEPORT copy of every listening socket (the kernel spreads
//!   connections, nothing is shared on the accept path);
//! * `work-stealing`: tokio's multi-threaded runtime over one socket per
//!   address.

pub mod acl;
pub mod admin;
pub mod captures;
pub mod check;
pub mod connect;
pub mod counters;
pub mod dst;
pub mod events;
pub mod forward;
pub mod http;
pub mod lb;
pub mod listener;
pub mod proxy_proto;
pub mod route;
pub mod sample;
pub mod server;
pub mod server_state;
pub mod session;
pub mod state;
pub mod streams;
pub mod takeover;
pub mod tcp_rules;
pub mod tls_hello;
pub mod track;
pub mod transitions;

use listener::Listener;
use session::{Accepted, Active, Slots};
use state::Shared;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// `-dS` / `nosplice`, set once at start-up.
pub static NO_SPLICE: AtomicBool = AtomicBool::new(false);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThreadModel {
    PerCore,
    WorkStealing,
}

impl ThreadModel {
    /// `RPROXY_THREADS=work-stealing` selects the alternative model (for
    /// the benchmark that chose the default).
    pub fn from_env() -> ThreadModel {
        match std::env::var("RPROXY_THREADS").as_deref() {
            Ok("work-stealing") => ThreadModel::WorkStealing,
            _ => ThreadModel::PerCore,
        }
    }

    /// How many copies of each listening socket the model needs.
    pub fn copies(self, threads: usize) -> usize {
        match self {
            ThreadModel::PerCore => threads,
            ThreadModel::WorkStealing => 1,
        }
    }
}

/// A running engine: threads serving traffic until stopped.
pub struct Engine {
    pub shared: Arc<Shared>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Engine {
    /// Starts serving. `listeners` holds `model.copies(threads)` sockets per
    /// address, in order.
    pub fn start(
        shared: Arc<Shared>,
        listeners: Vec<Listener>,
        threads: usize,
        model: ThreadModel,
    ) -> io::Result<Engine> {
        let threads = threads.max(1);
        let mut handles = Vec::new();
        match model {
            ThreadModel::PerCore => {
                // Socket copies were made in order: copy k of each address
                // goes to thread k.
                let mut per_thread: Vec<Vec<Listener>> = (0..threads).map(|_| Vec::new()).collect();
                let mut i = 0;
                let mut prev: Option<(usize, usize, listener::ListenAddr)> = None;
                for l in listeners {
                    let key = (l.proxy, l.bind, l.addr.clone());
                    if prev.as_ref() != Some(&key) {
                        i = 0;
                    }
                    prev = Some(key);
                    per_thread[i % threads].push(l);
                    i += 1;
                }
                for (t, ls) in per_thread.into_iter().enumerate() {
                    let sh = Arc::clone(&shared);
                    handles.push(
                        std::thread::Builder::new()
                            .name(format!("rproxy-{t}"))
                            .spawn(move || {
                                let rt = match tokio::runtime::Builder::new_current_thread()
                                    .enable_all()
                                    .build()
                                {
                                    Ok(rt) => rt,
                                    Err(e) => {
                                        eprintln!(
                                            "[ALERT]    ({}) : cannot start thread {t}: {e}",
                                            std::process::id()
                                        );
                                        return;
                                    }
                                };
                                lb::seed_thread(t as u32);
                                rt.block_on(serve_listeners(sh, ls));
                            })?,
                    );
                }
            }
            ThreadModel::WorkStealing => {
                let sh = Arc::clone(&shared);
                handles.push(std::thread::Builder::new().name("rproxy".into()).spawn(
                    move || {
                        let rt = match tokio::runtime::Builder::new_multi_thread()
                            .worker_threads(threads)
                            .enable_all()
                            .build()
                        {
                            Ok(rt) => rt,
                            Err(e) => {
                                eprintln!(
                                    "[ALERT]    ({}) : cannot start the engine: {e}",
                                    std::process::id()
                                );
                                return;
                            }
                        };
                        rt.block_on(serve_listeners(sh, listeners));
                    },
                )?);
            }
        }
        Ok(Engine {
            shared,
            threads: handles,
        })
    }

    /// Stops accepting; running sessions go on (soft stop).
    pub fn stop_accepting(&self) {
        self.shared.global.stopping.store(true, Ordering::SeqCst);
        self.shared.global.stop_accepting.send_replace(true);
    }

    /// SIGTTOU / SIGTTIN.
    pub fn pause(&self, on: bool) {
        self.shared.global.paused.send_replace(on);
        crate::log::events::frontends_paused(&self.shared, on);
    }

    /// Ends every session now (hard stop).
    pub fn kill_all(&self) {
        self.shared.global.kill.send_replace(true);
    }

    /// Sessions still running.
    pub fn active(&self) -> u32 {
        self.shared.global.actconn.load(Ordering::Relaxed)
    }

    /// Waits for the engine threads once sessions are over.
    pub fn join(self) {
        for h in self.threads {
            let _ = h.join();
        }
    }
}

/// Runs the accept loops of a thread's listeners until a soft stop, then
/// waits for this thread's sessions to finish.
async fn serve_listeners(shared: Arc<Shared>, listeners: Vec<Listener>) {
    let local = tokio::task::LocalSet::new();
    let mut loops = Vec::new();
    for l in listeners {
        let sh = Arc::clone(&shared);
        loops.push(tokio::spawn(accept_loop(sh, l)));
    }
    for l in loops {
        let _ = l.await;
    }
    // Sessions run as tasks of this runtime: wait until they are all gone.
    let mut stop = shared.global.kill.subscribe();
    loop {
        if shared.global.actconn.load(Ordering::Acquire) == 0 {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(20)) => {}
            _ = stop.wait_for(|k| *k) => {
                // give sessions a moment to observe the kill
                tokio::time::sleep(Duration::from_millis(20)).await;
                break;
            }
        }
    }
    drop(local);
}

/// Takes a slot of `limit` (none to take without a limit), waiting for one
/// if need be; `None` when a soft stop comes first.
async fn slot(
    limit: Option<&Arc<tokio::sync::Semaphore>>,
    stop: &mut tokio::sync::watch::Receiver<bool>,
) -> Option<Option<tokio::sync::OwnedSemaphorePermit>> {
    let Some(sem) = limit else {
        return Some(None);
    };
    if let Ok(p) = Arc::clone(sem).try_acquire_owned() {
        return Some(Some(p));
    }
    tokio::select! {
        p = Arc::clone(sem).acquire_owned() => Some(p.ok()),
        _ = stop.wait_for(|s| *s) => None,
    }
}

async fn accept_loop(shared: Arc<Shared>, l: Listener) {
    let fe = l.proxy;
    let bind = l.bind;
    // How logs name this listener: its `name`, else its id.
    let label: Arc<str> = shared
        .proxy_cfg(fe)
        .binds
        .get(bind)
        .and_then(|b| b.name.clone())
        .unwrap_or_else(|| l.luid.to_string())
        .into();
    let std_listener: std::net::TcpListener = match l.addr {
        listener::ListenAddr::Inet(_) => l.socket.into(),
        // Unix stream listeners carry the stats socket and are served by
        // the CLI; frontends on Unix sockets are not run yet.
        listener::ListenAddr::Unix(_) => return,
    };
    let tl = match tokio::net::TcpListener::from_std(std_listener) {
        Ok(t) => t,
        Err(e) => {
            eprintln!(
                "[ALERT]    ({}) : listener setup failed: {e}",
                std::process::id()
            );
            return;
        }
    };
    let mut stop = shared.global.stop_accepting.subscribe();
    let mut paused = shared.global.paused.subscribe();
    let fe_slots = shared.proxies[fe].fe_slots.clone();
    let bind_slots = shared.proxies[fe].bind_slots.get(bind).cloned().flatten();
    loop {
        // Paused (SIGTTOU, `disable frontend`): clients wait in the
        // kernel's backlog until the listener resumes.
        while *paused.borrow() || shared.proxies[fe].paused.load(Ordering::Relaxed) {
            // `shutdown frontend`: the socket is closed for good.
            if shared.proxies[fe].stopped.load(Ordering::Relaxed) {
                return;
            }
            tokio::select! {
                _ = paused.changed() => {}
                _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
        }
        let accepted = tokio::select! {
            _ = paused.wait_for(|p| *p) => continue,
            r = tl.accept() => r,
            _ = stop.wait_for(|s| *s) => return,
        };
        match accepted {
            Ok((stream, peer)) => {
                // Bind, frontend and global maxconn. While this loop waits
                // for a slot it accepts nothing more: further clients wait
                // in the kernel's backlog, as with HAProxy's paused
                // listeners. Slots are taken after accept(2), not before:
                // a slot held by an idle accept loop would starve the
                // per-thread copies of the listener.
                // Narrowest first: a connection waiting for its bind's
                // slot must not hold one of the frontend or the process.
                let Some(bind_slot) = slot(bind_slots.as_ref(), &mut stop).await else {
                    return;
                };
                let Some(frontend) = slot(fe_slots.as_ref(), &mut stop).await else {
                    return;
                };
                let Some(global) = slot(Some(&shared.global.slots), &mut stop).await else {
                    return;
                };
                shared.global.actconn.fetch_add(1, Ordering::AcqRel);
                shared.global.total.fetch_add(1, Ordering::Relaxed);
                shared.global.rates.accepted();
                let acc = Accepted {
                    stream,
                    peer,
                    frontend: fe,
                    bind,
                    listener: Arc::clone(&label),
                    slots: Slots {
                        global,
                        frontend,
                        bind: bind_slot,
                    },
                    active: Active(Arc::clone(&shared)),
                };
                // The session's future is the task: an async block holding
                // `acc` itself would keep it beside the session's own copy.
                session::spawn(Arc::clone(&shared), Box::new(acc));
            }
            Err(e) => {
                // Out of file descriptors or memory: pause accepting
                // rather than spin; established sessions are untouched.
                let pause = match e.raw_os_error() {
                    Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM) => 100,
                    _ => 5,
                };
                tokio::time::sleep(Duration::from_millis(pause)).await;
            }
        }
    }
}
