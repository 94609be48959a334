//! Syslog framing of one message, per `format` of the `log` line.

use crate::config::model::{Level, LogWireFormat};

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Broken-down local time.
#[derive(Clone, Copy, Debug)]
pub struct Tm {
    pub year: i32,
    pub mon: usize,
    pub mday: u32,
    pub hour: u32,
    pub min: u32,
    pub sec: u32,
    pub usec: u32,
    /// Offset from UTC in seconds.
    pub gmtoff: i64,
}

/// Local time (as HAProxy's logs use) of a wall-clock instant.
pub fn local(t: std::time::SystemTime) -> Tm {
    let d = t.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as libc::time_t;
    // SAFETY: localtime_r writes into the provided struct only.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    unsafe {
        libc::localtime_r(&secs, &mut tm);
    }
    Tm {
        year: tm.tm_year + 1900,
        mon: tm.tm_mon.clamp(0, 11) as usize,
        mday: tm.tm_mday as u32,
        hour: tm.tm_hour as u32,
        min: tm.tm_min as u32,
        sec: tm.tm_sec as u32,
        usec: d.subsec_micros(),
        gmtoff: tm.tm_gmtoff,
    }
}

/// UTC time of a wall-clock instant.
pub fn gmt(t: std::time::SystemTime) -> Tm {
    let d = t.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as libc::time_t;
    // SAFETY: gmtime_r writes into the provided struct only.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    unsafe {
        libc::gmtime_r(&secs, &mut tm);
    }
    Tm {
        year: tm.tm_year + 1900,
        mon: tm.tm_mon.clamp(0, 11) as usize,
        mday: tm.tm_mday as u32,
        hour: tm.tm_hour as u32,
        min: tm.tm_min as u32,
        sec: tm.tm_sec as u32,
        usec: d.subsec_micros(),
        gmtoff: 0,
    }
}

impl Tm {
    /// `26/Nov/2026:11:48:51 +0000`, the CLF date.
    pub fn clf(&self) -> String {
        let off = self.gmtoff;
        let sign = if off < 0 { '-' } else { '+' };
        let off = off.unsigned_abs();
        format!(
            "{:02}/{}/{:04}:{:02}:{:02}:{:02} {sign}{:02}{:02}",
            self.mday,
            self.month(),
            self.year,
            self.hour,
            self.min,
            self.sec,
            off / 3600,
            (off % 3600) / 60
        )
    }

    pub fn month(&self) -> &'static str {
        MONTHS[self.mon]
    }

    /// `Nov 26 11:48:51` (day space-padded), the RFC3164 timestamp.
    pub fn rfc3164(&self) -> String {
        format!(
            "{} {:>2} {:02}:{:02}:{:02}",
            self.month(),
            self.mday,
            self.hour,
            self.min,
            self.sec
        )
    }

    /// `2026-11-26T12:15:22.184289+00:00`
    pub fn iso(&self) -> String {
        let off = self.gmtoff;
        let sign = if off < 0 { '-' } else { '+' };
        let off = off.unsigned_abs();
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}{sign}{:02}:{:02}",
            self.year,
            self.mon + 1,
            self.mday,
            self.hour,
            self.min,
            self.sec,
            self.usec,
            off / 3600,
            (off % 3600) / 60
        )
    }

    /// `26/Nov/2026:11:48:51.544`, HAProxy's `%t`/`%tr` date.
    pub fn haproxy(&self) -> String {
        format!(
            "{:02}/{}/{:04}:{:02}:{:02}:{:02}.{:03}",
            self.mday,
            self.month(),
            self.year,
            self.hour,
            self.min,
            self.sec,
            self.usec / 1000
        )
    }
}

/// Builds the datagram for one message, cut to `maxlen` and ended by LF.
pub fn frame(
    fmt: LogWireFormat,
    facility: u8,
    level: Level,
    tag: &str,
    hostname: Option<&str>,
    msg: &str,
    maxlen: usize,
) -> Vec<u8> {
    let pri = u32::from(facility) * 8 + level as u32;
    let pid = std::process::id();
    let now = local(std::time::SystemTime::now());
    let head = match fmt {
        LogWireFormat::Rfc3164 => match hostname {
            Some(h) => format!("<{pri}>{} {h} {tag}[{pid}]: ", now.rfc3164()),
            None => format!("<{pri}>{} {tag}[{pid}]: ", now.rfc3164()),
        },
        LogWireFormat::Rfc5424 => format!(
            "<{pri}>1 {} {} {tag} {pid} - - ",
            now.iso(),
            hostname.unwrap_or("-")
        ),
        LogWireFormat::Short => format!("<{}>", level as u32),
        LogWireFormat::Priority => format!("<{pri}>"),
        LogWireFormat::Timed => format!("<{}>{} ", level as u32, now.iso()),
        LogWireFormat::Iso => format!("{} ", now.iso()),
        LogWireFormat::Raw => String::new(),
    };
    let mut out = Vec::with_capacity(head.len() + msg.len() + 1);
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(msg.as_bytes());
    if out.len() >= maxlen {
        out.truncate(maxlen.saturating_sub(1));
    }
    out.push(b'\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framing() {
        let l = frame(
            LogWireFormat::Rfc3164,
            16,
            Level::Info,
            "haproxy",
            None,
            "hello",
            1024,
        );
        let s = String::from_utf8(l).unwrap();
        assert!(s.starts_with("<134>"), "{s}");
        assert!(
            s.ends_with(&format!(" haproxy[{}]: hello\n", std::process::id())),
            "{s}"
        );
        let raw = frame(
            LogWireFormat::Raw,
            16,
            Level::Info,
            "x",
            None,
            "hello",
            1024,
        );
        assert_eq!(raw, b"hello\n");
        let short = frame(LogWireFormat::Short, 16, Level::Info, "x", None, "m", 1024);
        assert_eq!(short, b"<6>m\n");
        let cut = frame(
            LogWireFormat::Raw,
            0,
            Level::Info,
            "x",
            None,
            &"a".repeat(100),
            80,
        );
        assert_eq!(cut.len(), 80);
    }

    #[test]
    fn dates() {
        let t = Tm {
            year: 2026,
            mon: 10,
            mday: 6,
            hour: 1,
            min: 2,
            sec: 3,
            usec: 45_678,
            gmtoff: 3600,
        };
        assert_eq!(t.rfc3164(), "Nov  6 01:02:03");
        assert_eq!(t.haproxy(), "06/Nov/2026:01:02:03.045");
        assert_eq!(t.iso(), "2026-11-06T01:02:03.045678+01:00");
    }
}
