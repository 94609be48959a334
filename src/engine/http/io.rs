//! A connection with its receive buffer: HTTP parsing needs to look at
//! bytes before deciding what they are, and to leave what follows a
//! message (a pipelined request, a body) for the next step.

use std::future::Future;
use std::io;
use std::task::{Context, Poll};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout_at};

/// What waiting for more bytes gave.
#[derive(Debug, PartialEq, Eq)]
pub enum Fill {
    Data,
    /// The peer closed its sending side.
    Eof,
    Timeout,
}

pub struct Conn {
    pub stream: TcpStream,
    buf: Buf,
    /// Start of the unconsumed bytes in `buf`.
    pos: usize,
    /// Bytes queued to go out with the next write (a response head whose
    /// body is already here leaves in the same segment as the body).
    pending: Vec<u8>,
    pub eof: bool,
    /// Bytes read from / written to the socket, for logs and stats.
    pub bytes_in: u64,
    pub bytes_out: u64,
}

/// Size of a receive buffer taken from the thread's pool.
const BUF: usize = 16384;
/// Free buffers a thread keeps for its next reads.
const POOL_MAX: usize = 256;

thread_local! {
    /// Receive buffers are allocated when data arrives and given back when
    /// drained, as HAProxy's buffer pools do: an idle connection holds no
    /// buffer, and a busy one does not pay malloc/free per request.
    static BUFFERS: std::cell::RefCell<Vec<Vec<u8>>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn buffer() -> Vec<u8> {
    BUFFERS
        .with(|b| b.borrow_mut().pop())
        .unwrap_or_else(|| Vec::with_capacity(BUF))
}

fn recycle(mut b: Vec<u8>) {
    if b.capacity() != BUF {
        return;
    }
    b.clear();
    BUFFERS.with(|p| {
        let mut p = p.borrow_mut();
        if p.len() < POOL_MAX {
            p.push(b);
        }
    });
}

/// A receive buffer that goes back to the thread's pool when dropped.
#[derive(Default)]
struct Buf(Vec<u8>);

impl Drop for Buf {
    fn drop(&mut self) {
        recycle(std::mem::take(&mut self.0));
    }
}

impl std::ops::Deref for Buf {
    type Target = Vec<u8>;
    fn deref(&self) -> &Vec<u8> {
        &self.0
    }
}

impl std::ops::DerefMut for Buf {
    fn deref_mut(&mut self) -> &mut Vec<u8> {
        &mut self.0
    }
}

impl Conn {
    pub fn new(stream: TcpStream) -> Conn {
        Conn {
            stream,
            buf: Buf::default(),
            pos: 0,
            pending: Vec::new(),
            eof: false,
            bytes_in: 0,
            bytes_out: 0,
        }
    }

    /// The received bytes not consumed yet.
    pub fn data(&self) -> &[u8] {
        &self.buf[self.pos..]
    }

    pub fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.buf.len());
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        }
    }

    /// Takes up to `n` buffered bytes.
    pub fn take(&mut self, n: usize) -> Vec<u8> {
        let n = n.min(self.buf.len() - self.pos);
        let out = self.buf[self.pos..self.pos + n].to_vec();
        self.consume(n);
        out
    }

    /// Reads what is available, waiting until something arrives, the peer
    /// closes, or `deadline`; never holds more than `limit` bytes.
    pub async fn fill(&mut self, deadline: Option<Instant>, limit: usize) -> io::Result<Fill> {
        if self.eof {
            return Ok(Fill::Eof);
        }
        if self.pos > 0 && self.pos * 2 >= self.buf.len() {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        // An idle connection holds no buffer (HAProxy allocates its
        // buffers only when data arrives): 10,000 idle keep-alive clients
        // must not pin 10,000 × bufsize bytes.
        if self.buf.is_empty() && self.buf.capacity() > 0 {
            recycle(std::mem::take(&mut self.buf.0));
        }
        let room = limit.saturating_sub(self.buf.len() - self.pos).max(1);
        // A timer and the socket's readiness, nothing else: this is what
        // idle connections wait in.
        let sleep = deadline.map(tokio::time::sleep_until);
        tokio::pin!(sleep);
        std::future::poll_fn(|cx| {
            if let Poll::Ready(r) = self.poll_fill(cx, room) {
                return Poll::Ready(r);
            }
            match sleep.as_mut().as_pin_mut() {
                Some(s) => s.poll(cx).map(|()| Ok(Fill::Timeout)),
                None => Poll::Pending,
            }
        })
        .await
    }

    /// `fill` for the wait before a request: an error ends the connection
    /// as its close does.
    pub async fn wait_data(&mut self, deadline: Option<Instant>, limit: usize) {
        if self.fill(deadline, limit).await.is_err() {
            self.eof = true;
        }
    }

    /// One read once the socket is readable. A buffer is taken from the
    /// thread's pool only then, and given back if that was a false alarm
    /// (the first wake-up after accept is one).
    fn poll_fill(&mut self, cx: &mut Context<'_>, room: usize) -> Poll<io::Result<Fill>> {
        match self.stream.poll_read_ready(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Ready(Ok(())) => {}
        }
        if self.buf.capacity() == 0 {
            self.buf.0 = buffer();
        }
        if self.buf.capacity() - self.buf.len() < room.min(BUF) {
            self.buf.reserve(room.min(BUF));
        }
        match self.read_once(room, cx) {
            Some(Ok(0)) => {
                self.eof = true;
                Poll::Ready(Ok(Fill::Eof))
            }
            Some(Ok(n)) => {
                self.bytes_in += n as u64;
                Poll::Ready(Ok(Fill::Data))
            }
            Some(Err(e)) => Poll::Ready(Err(e)),
            None => {
                if self.buf.is_empty() {
                    recycle(std::mem::take(&mut self.buf.0));
                }
                Poll::Pending
            }
        }
    }

    /// One read into the buffer's spare room (at most `room` bytes), None
    /// if the socket had nothing after all. Goes through tokio's
    /// `poll_read`, which takes a short read for a drained socket: the
    /// next wait then really waits instead of costing a failed recv(2).
    fn read_once(&mut self, room: usize, cx: &mut Context<'_>) -> Option<io::Result<usize>> {
        use std::pin::Pin;
        use tokio::io::{AsyncRead, ReadBuf};
        let spare = self.buf.spare_capacity_mut();
        let want = spare.len().min(room).max(1);
        let mut rb = ReadBuf::uninit(&mut spare[..want]);
        match Pin::new(&mut self.stream).poll_read(cx, &mut rb) {
            Poll::Ready(Ok(())) => {
                let n = rb.filled().len();
                // SAFETY: poll_read initialised the first `n` spare bytes.
                let len = self.buf.len() + n;
                unsafe { self.buf.set_len(len) };
                Some(Ok(n))
            }
            Poll::Ready(Err(e)) => Some(Err(e)),
            Poll::Pending => None,
        }
    }

    /// Queues bytes to leave with the next write or `flush`.
    pub fn queue(&mut self, data: &[u8]) {
        self.pending.extend_from_slice(data);
    }

    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Sends what `queue` left, or fails at `deadline`.
    pub async fn flush(&mut self, deadline: Option<Instant>) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let data = std::mem::take(&mut self.pending);
        self.write_all(&data, deadline).await
    }

    /// Writes everything, or fails at `deadline`.
    pub async fn write_all(&mut self, data: &[u8], deadline: Option<Instant>) -> io::Result<()> {
        use tokio::io::AsyncWriteExt;
        let joined;
        let data = if self.pending.is_empty() {
            data
        } else {
            let mut p = std::mem::take(&mut self.pending);
            p.extend_from_slice(data);
            joined = p;
            &joined[..]
        };
        let fut = self.stream.write_all(data);
        let r = match deadline {
            Some(d) => timeout_at(d, fut)
                .await
                .unwrap_or_else(|_| Err(io::ErrorKind::TimedOut.into())),
            None => fut.await,
        };
        if r.is_ok() {
            self.bytes_out += data.len() as u64;
        }
        r
    }

    /// Closes our sending side (the message was delimited by the close).
    pub fn shutdown_write(&self) {
        let _ = socket2::SockRef::from(&self.stream).shutdown(std::net::Shutdown::Write);
    }
}
