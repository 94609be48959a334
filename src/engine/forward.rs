//! Moving bytes between a client and a server connection in both
//! directions, with HAProxy's TCP-mode timeouts and half-close handling:
//! each side has an inactivity timer refreshed by any read from or write to
//! that side; when one side closes its sending direction, the close is
//! forwarded and the other direction goes on under the `-fin` timeout.
//! Data moves through a pooled buffer, or through a pipe with splice(2).

use std::cell::RefCell;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
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

/// Which directions use splice(2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Splice {
    pub request: bool,
    pub response: bool,
}

thread_local! {
    /// Buffers of `tune.bufsize`, reused across the connections of a thread
    /// so that idle connections hold none.
    static BUFFERS: RefCell<Vec<Box<[u8]>>> = const { RefCell::new(Vec::new()) };
    /// Pipes for splice(2), reused likewise.
    static PIPES: RefCell<Vec<(OwnedFd, OwnedFd)>> = const { RefCell::new(Vec::new()) };
}

const POOL_MAX: usize = 256;

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
    splice: bool,
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
    fn new(splice: bool, bufsize: usize) -> Self {
        Direction {
            hold: Hold::Empty,
            eof: false,
            shut: false,
            splice,
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
        if self.splice {
            let (r, w) = match take_pipe() {
                Ok(p) => p,
                Err(_) => {
                    // No pipe available: fall back to a buffer for good.
                    self.splice = false;
                    return self.read(src);
                }
            };
            let res = src.try_io(Interest::READABLE, || {
                nix::fcntl::splice(
                    src,
                    None,
                    &w,
                    None,
                    1 << 20,
                    nix::fcntl::SpliceFFlags::SPLICE_F_MOVE
                        | nix::fcntl::SpliceFFlags::SPLICE_F_NONBLOCK,
                )
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
            match src.try_read(&mut buf) {
                Ok(0) => {
                    give_buffer(buf);
                    self.eof = true;
                    Step::Progress
                }
                Ok(n) => {
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

    /// Forwards EOF once everything read was written.
    fn finish(&mut self, dst: &TcpStream) {
        if self.eof && !self.has_data() && !self.shut {
            let _ = socket2::SockRef::from(dst).shutdown(std::net::Shutdown::Write);
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

fn deadline(t: Option<Duration>) -> Option<Instant> {
    t.map(|d| Instant::now() + d)
}

async fn wait_until(d: Option<Instant>) {
    match d {
        Some(d) => sleep_until(d).await,
        None => std::future::pending().await,
    }
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
    let mut client_deadline = deadline(timers.client);
    let mut server_deadline = deadline(timers.server);
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
            up.finish(server);
            down.finish(client);
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
        if client_active {
            client_deadline = deadline(if up.eof {
                timers.client_fin.or(timers.client)
            } else {
                timers.client
            });
        }
        if server_active {
            server_deadline = deadline(if down.eof {
                timers.server_fin.or(timers.server)
            } else {
                timers.server
            });
        }

        tokio::select! {
            _ = client.readable(), if up.wants_read() => {}
            _ = server.writable(), if up.has_data() => {}
            _ = server.readable(), if down.wants_read() => {}
            _ = client.writable(), if down.has_data() => {}
            _ = wait_until(client_deadline) => break End::ClientTimeout,
            _ = wait_until(server_deadline) => break End::ServerTimeout,
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

/// The raw fd, for socket options set outside tokio.
pub fn raw(s: &TcpStream) -> i32 {
    s.as_raw_fd()
}
