//! Moving bytes between a client and a server connection in both
//! directions, with HAProxy's TCP-mode timeouts and half-close handling:
//! each side has an inactivity timer refreshed by any read from or write to
//! that side; when one side closes its sending direction, the close is
//! forwarded and the other direction goes on under the `-fin` timeout.
//! Data moves through a pooled buffer, or through a pipe with splice(2).

use std::cell::RefCell;
use std::io;
use std::os::fd::OwnedFd;
use std::time::Duration;
use tokio::io::Interest;
use tokio::net::TcpStream;
use tokio::time::{Instant, sleep_until};

/// Timeouts of the data phase, already resolved for the proxy pair.
#[derive(Clone, Copy, Debug, Default)]
pub struct Timers {
    pub client: Option<Duration>,
    pub server: Option<Duration>,
    /// Applied to the client side once the client has closed its side.
    pub client_fin: Option<Duration>,
    /// Applied to the server side once the server has closed its side.
    pub server_fin: Option<Duration>,
}

/// How the exchange ended, for termination flags and counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// Both directions closed normally.
    Done,
    ClientTimeout,
    ServerTimeout,
    ClientAbort,
    ServerAbort,
    /// Stopped from outside (soft stop expired, session killed).
    Killed,
}

#[derive(Clone, Copy, Debug)]
pub struct Outcome {
    pub end: End,
    /// Bytes read from the client and sent to the server.
    pub to_server: u64,
    /// Bytes read from the server and sent to the client.
    pub to_client: u64,
}

/// When a direction uses splice(2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SpliceMode {
    /// Always copy through a buffer.
    #[default]
    Never,
    /// Once a read fills a whole buffer.
    Bulk,
    /// From the first byte.
    Always,
}

/// Splicing of each direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Splice {
    pub request: SpliceMode,
    pub response: SpliceMode,
}

thread_local! {
    /// Buffers of `tune.bufsize`, reused across the connections of a thread
    /// so that idle connections hold none.
    static BUFFERS: RefCell<Vec<Box<[u8]>>> = const { RefCell::new(Vec::new()) };
    /// Pipes for splice(2), reused likewise.
    static PIPES: RefCell<Vec<(OwnedFd, OwnedFd)>> = const { RefCell::new(Vec::new()) };
}

const POOL_MAX: usize = 256;

/// The most one splice(2) call moves into a pipe.
const SPLICE_MAX: usize = 1 << 20;

/// Reads from `src` with `op`, which returns the count and whether it was
/// short. A short read drained the socket: its readiness is cleared at
/// once, as HAProxy does with edge-triggered epoll, so the next attempt
/// waits for the next event instead of costing a read(2) that returns
/// EAGAIN — two system calls fewer per request on a kept-alive connection.
/// Readiness that arrived meanwhile is not lost: tokio only clears the
/// readiness it observed before the read.
fn read_drained(
    src: &TcpStream,
    mut op: impl FnMut() -> io::Result<(usize, bool)>,
) -> io::Result<usize> {
    let mut drained = None;
    let res = src.try_io(Interest::READABLE, || match op()? {
        (n, true) if n > 0 => {
            drained = Some(n);
            Err(io::ErrorKind::WouldBlock.into())
        }
        (n, _) => Ok(n),
    });
    match drained {
        Some(n) => Ok(n),
        None => res,
    }
}

fn take_buffer(size: usize) -> Box<[u8]> {
    BUFFERS
        .with(|p| {
            let mut p = p.borrow_mut();
            p.iter()
                .position(|b| b.len() == size)
                .map(|i| p.swap_remove(i))
        })
        .unwrap_or_else(|| vec![0u8; size].into_boxed_slice())
}

fn give_buffer(b: Box<[u8]>) {
    BUFFERS.with(|p| {
        let mut p = p.borrow_mut();
        if p.len() < POOL_MAX {
            p.push(b);
        }
    });
}

fn take_pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    if let Some(p) = PIPES.with(|p| p.borrow_mut().pop()) {
        return Ok(p);
    }
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_NONBLOCK | nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(io::Error::from)?;
    Ok((r, w))
}

fn give_pipe(p: (OwnedFd, OwnedFd)) {
    PIPES.with(|pool| {
        let mut pool = pool.borrow_mut();
        if pool.len() < POOL_MAX {
            pool.push(p);
        }
    });
}

/// One direction's in-flight data.
enum Hold {
    Empty,
    Buf {
        buf: Box<[u8]>,
        start: usize,
        end: usize,
    },
    /// Bytes waiting in a pipe.
    Pipe {
        pipe: (OwnedFd, OwnedFd),
        len: usize,
    },
}

struct Direction {
    hold: Hold,
    /// The source has sent EOF.
    eof: bool,
    /// EOF was forwarded (shutdown of the destination's write side).
    shut: bool,
    /// splice(2) is allowed for this direction.
    splice: bool,
    /// A read filled a whole buffer: the direction carries bulk data, and
    /// from now on moves it through a pipe without copying it to user space.
    bulk: bool,
    bytes: u64,
    bufsize: usize,
}

/// What one step of a direction did.
enum Step {
    Progress,
    Blocked,
    /// The source side failed.
    SrcErr,
    /// The destination side failed.
    DstErr,
}

impl Direction {
    fn new(splice: SpliceMode, bufsize: usize) -> Self {
        Direction {
            hold: Hold::Empty,
            eof: false,
            shut: false,
            splice: splice != SpliceMode::Never,
            bulk: splice == SpliceMode::Always,
            bytes: 0,
            bufsize,
        }
    }

    fn has_data(&self) -> bool {
        !matches!(self.hold, Hold::Empty)
    }

    fn wants_read(&self) -> bool {
        !self.eof && !self.has_data()
    }

    /// Reads what is available from `src` (only when nothing is held).
    fn read(&mut self, src: &TcpStream) -> Step {
        if self.splice && self.bulk {
            let (r, w) = match take_pipe() {
                Ok(p) => p,
                Err(_) => {
                    // No pipe available: fall back to a buffer for good.
                    self.splice = false;
                    return self.read(src);
                }
            };
            let res = read_drained(src, || {
                nix::fcntl::splice(
                    src,
                    None,
                    &w,
                    None,
                    SPLICE_MAX,
                    nix::fcntl::SpliceFFlags::SPLICE_F_MOVE
                        | nix::fcntl::SpliceFFlags::SPLICE_F_NONBLOCK,
                )
                // Never taken as "drained": a pipe holds less than a
                // socket may have queued (splice stops at the pipe's
                // capacity), so only EAGAIN proves the socket empty.
                .map(|n| (n, false))
                .map_err(io::Error::from)
            });
            match res {
                Ok(0) => {
                    give_pipe((r, w));
                    self.eof = true;
                    Step::Progress
                }
                Ok(n) => {
                    self.hold = Hold::Pipe {
                        pipe: (r, w),
                        len: n,
                    };
                    Step::Progress
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    give_pipe((r, w));
                    Step::Blocked
                }
                Err(_) => {
                    give_pipe((r, w));
                    Step::SrcErr
                }
            }
        } else {
            let mut buf = take_buffer(self.bufsize);
            let res = read_drained(src, || {
                nix::unistd::read(src, &mut buf)
                    .map(|n| (n, n < self.bufsize))
                    .map_err(io::Error::from)
            });
            match res {
                Ok(0) => {
                    give_buffer(buf);
                    self.eof = true;
                    Step::Progress
                }
                Ok(n) => {
                    self.bulk = n == self.bufsize;
                    self.hold = Hold::Buf {
                        buf,
                        start: 0,
                        end: n,
                    };
                    Step::Progress
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    give_buffer(buf);
                    Step::Blocked
                }
                Err(_) => {
                    give_buffer(buf);
                    Step::SrcErr
                }
            }
        }
    }

    /// Writes what is held to `dst`.
    fn write(&mut self, dst: &TcpStream) -> Step {
        match std::mem::replace(&mut self.hold, Hold::Empty) {
            Hold::Empty => Step::Blocked,
            Hold::Buf {
                buf,
                mut start,
                end,
            } => match dst.try_write(&buf[start..end]) {
                Ok(n) => {
                    start += n;
                    self.bytes += n as u64;
                    if start == end {
                        give_buffer(buf);
                    } else {
                        self.hold = Hold::Buf { buf, start, end };
                    }
                    Step::Progress
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.hold = Hold::Buf { buf, start, end };
                    Step::Blocked
                }
                Err(_) => {
                    give_buffer(buf);
                    Step::DstErr
                }
            },
            Hold::Pipe { pipe, len } => {
                let res = dst.try_io(Interest::WRITABLE, || {
                    nix::fcntl::splice(
                        &pipe.0,
                        None,
                        dst,
                        None,
                        len,
                        nix::fcntl::SpliceFFlags::SPLICE_F_MOVE
                            | nix::fcntl::SpliceFFlags::SPLICE_F_NONBLOCK,
                    )
                    .map_err(io::Error::from)
                });
                match res {
                    Ok(n) => {
                        self.bytes += n as u64;
                        if n == len {
                            give_pipe(pipe);
                        } else {
                            self.hold = Hold::Pipe { pipe, len: len - n };
                        }
                        Step::Progress
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        self.hold = Hold::Pipe { pipe, len };
                        Step::Blocked
                    }
                    // A pipe with data in it is not reused.
                    Err(_) => Step::DstErr,
                }
            }
        }
    }

    /// Forwards EOF once everything read was written. When the other
    /// direction is already over, both sockets are about to be closed, and
    /// close(2) sends the FIN: no shutdown(2) needed.
    fn finish(&mut self, dst: &TcpStream, other_over: bool) {
        if self.eof && !self.has_data() && !self.shut {
            if !other_over {
                let _ = socket2::SockRef::from(dst).shutdown(std::net::Shutdown::Write);
            }
            self.shut = true;
        }
    }

    fn release(&mut self) {
        match std::mem::replace(&mut self.hold, Hold::Empty) {
            Hold::Buf { buf, .. } => give_buffer(buf),
            // a pipe may still hold data: drop it
            Hold::Pipe { .. } | Hold::Empty => {}
        }
    }
}

fn deadline(now: Instant, t: Option<Duration>) -> Option<Instant> {
    t.map(|d| now + d)
}

/// Far enough to mean "no timeout" for a timer that must exist.
fn never() -> Instant {
    Instant::now() + Duration::from_secs(86400 * 365)
}

/// Runs the data phase until both directions are closed, a side times out
/// or fails, or `kill` resolves.
pub async fn forward(
    client: &TcpStream,
    server: &TcpStream,
    timers: Timers,
    splice: Splice,
    bufsize: usize,
    kill: impl std::future::Future<Output = ()>,
) -> Outcome {
    let mut up = Direction::new(splice.request, bufsize);
    let mut down = Direction::new(splice.response, bufsize);
    let start = Instant::now();
    let mut client_deadline = deadline(start, timers.client);
    let mut server_deadline = deadline(start, timers.server);
    // One timer for both sides, moved lazily: activity only updates the
    // deadlines, and the timer is re-armed when it fires early. Resetting
    // it on every read and write would cost a timer-wheel update each.
    let first = [client_deadline, server_deadline]
        .into_iter()
        .flatten()
        .min();
    let timer = sleep_until(first.unwrap_or_else(never));
    tokio::pin!(timer);
    tokio::pin!(kill);

    let end = loop {
        // Do all the work that is possible without waiting.
        let mut client_active = false;
        let mut server_active = false;
        let mut failure = None;
        loop {
            let mut progressed = false;
            if up.wants_read() {
                match up.read(client) {
                    Step::Progress => {
                        progressed = true;
                        client_active = true;
                    }
                    Step::SrcErr => failure = Some(End::ClientAbort),
                    _ => {}
                }
            }
            if up.has_data() {
                match up.write(server) {
                    Step::Progress => {
                        progressed = true;
                        server_active = true;
                    }
                    Step::DstErr => failure = Some(End::ServerAbort),
                    _ => {}
                }
            }
            if down.wants_read() {
                match down.read(server) {
                    Step::Progress => {
                        progressed = true;
                        server_active = true;
                    }
                    Step::SrcErr => failure = Some(End::ServerAbort),
                    _ => {}
                }
            }
            if down.has_data() {
                match down.write(client) {
                    Step::Progress => {
                        progressed = true;
                        client_active = true;
                    }
                    Step::DstErr => failure = Some(End::ClientAbort),
                    _ => {}
                }
            }
            up.finish(server, down.shut);
            down.finish(client, up.shut);
            if failure.is_some() || !progressed {
                break;
            }
        }
        if let Some(f) = failure {
            break f;
        }
        if up.shut && down.shut {
            break End::Done;
        }
        // A side that closed its sending direction runs on its -fin timer.
        if client_active || server_active {
            let now = Instant::now();
            if client_active {
                client_deadline = deadline(
                    now,
                    if up.eof {
                        timers.client_fin.or(timers.client)
                    } else {
                        timers.client
                    },
                );
            }
            if server_active {
                server_deadline = deadline(
                    now,
                    if down.eof {
                        timers.server_fin.or(timers.server)
                    } else {
                        timers.server
                    },
                );
            }
        }

        tokio::select! {
            _ = client.readable(), if up.wants_read() => {}
            _ = server.writable(), if up.has_data() => {}
            _ = server.readable(), if down.wants_read() => {}
            _ = client.writable(), if down.has_data() => {}
            _ = &mut timer => {
                let now = Instant::now();
                if client_deadline.is_some_and(|d| d <= now) {
                    break End::ClientTimeout;
                }
                if server_deadline.is_some_and(|d| d <= now) {
                    break End::ServerTimeout;
                }
                let next = [client_deadline, server_deadline].into_iter().flatten().min();
                timer.as_mut().reset(next.unwrap_or_else(never));
            }
            _ = &mut kill => break End::Killed,
        }
    };
    up.release();
    down.release();
    Outcome {
        end,
        to_server: up.bytes,
        to_client: down.bytes,
    }
}
