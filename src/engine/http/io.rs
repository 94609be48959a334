//! A connection with its receive buffer: HTTP parsing needs to look at
//! bytes before deciding what they are, and to leave what follows a
//! message (a pipelined request, a body) for the next step.

use std::io;
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
    buf: Vec<u8>,
    /// Start of the unconsumed bytes in `buf`.
    pos: usize,
    pub eof: bool,
    /// Bytes read from / written to the socket, for logs and stats.
    pub bytes_in: u64,
    pub bytes_out: u64,
}

impl Conn {
    pub fn new(stream: TcpStream) -> Conn {
        Conn {
            stream,
            buf: Vec::new(),
            pos: 0,
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
            self.buf = Vec::new();
        }
        let room = limit.saturating_sub(self.buf.len() - self.pos).max(1);
        loop {
            let ready = match deadline {
                Some(d) => match timeout_at(d, self.stream.readable()).await {
                    Ok(r) => r,
                    Err(_) => return Ok(Fill::Timeout),
                },
                None => self.stream.readable().await,
            };
            ready?;
            if self.buf.capacity() == 0 || self.buf.capacity() - self.buf.len() < room.min(16384) {
                self.buf.reserve(room.min(16384));
            }
            let spare = self.buf.capacity() - self.buf.len();
            let want = spare.min(room).max(1);
            let start = self.buf.len();
            self.buf.resize(start + want, 0);
            match self.stream.try_read(&mut self.buf[start..]) {
                Ok(0) => {
                    self.buf.truncate(start);
                    self.eof = true;
                    return Ok(Fill::Eof);
                }
                Ok(n) => {
                    self.buf.truncate(start + n);
                    self.bytes_in += n as u64;
                    return Ok(Fill::Data);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.buf.truncate(start);
                    // A wake-up with nothing to read (the first one after
                    // accept): keep no buffer while waiting again.
                    if self.buf.is_empty() {
                        self.buf = Vec::new();
                    }
                }
                Err(e) => {
                    self.buf.truncate(start);
                    return Err(e);
                }
            }
        }
    }

    /// Writes everything, or fails at `deadline`.
    pub async fn write_all(&mut self, data: &[u8], deadline: Option<Instant>) -> io::Result<()> {
        use tokio::io::AsyncWriteExt;
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
