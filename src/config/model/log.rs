//! Log targets (`log` lines) and log-format strings (`log-format`,
//! `set-header` values, `unique-id-format`, …) in parsed form.

use super::rules::SampleExpr;
use crate::config::address::Endpoint;
use crate::diag::Origin;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogDest {
    /// UDP (`ip[:port]`, `udp@…`) or a Unix datagram socket (`/dev/log`).
    Addr(Endpoint),
    Stdout,
    Stderr,
    /// `ring@NAME`
    Ring(String),
}

/// The framing of each message (`format` on a `log` line).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogWireFormat {
    /// HAProxy 2.6's default: RFC3164 header without host name.
    Rfc3164,
    Rfc5424,
    Short,
    Raw,
    Iso,
    Timed,
    Priority,
}

impl LogWireFormat {
    pub fn from_name(s: &str) -> Option<Self> {
        Some(match s {
            "rfc3164" | "legacy" => LogWireFormat::Rfc3164,
            "rfc5424" => LogWireFormat::Rfc5424,
            "short" => LogWireFormat::Short,
            "raw" => LogWireFormat::Raw,
            "iso" => LogWireFormat::Iso,
            "timed" => LogWireFormat::Timed,
            "priority" => LogWireFormat::Priority,
            _ => return None,
        })
    }
}

/// `sample <ranges>:<size>`: send only the messages whose index modulo
/// `size` falls in one of the ranges (1-based, inclusive).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogSample {
    pub ranges: Vec<(u32, u32)>,
    pub size: u32,
}

pub const FACILITIES: [&str; 24] = [
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "auth2",
    "ftp", "ntp", "audit", "alert", "cron2", "local0", "local1", "local2", "local3", "local4",
    "local5", "local6", "local7",
];

pub const LEVELS: [&str; 8] = [
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Level {
    Emerg = 0,
    Alert,
    Crit,
    Err,
    Warning,
    Notice,
    Info,
    Debug,
}

impl Level {
    pub fn from_name(s: &str) -> Option<Level> {
        LEVELS.iter().position(|l| *l == s).map(Level::from_index)
    }

    pub fn from_index(i: usize) -> Level {
        match i {
            0 => Level::Emerg,
            1 => Level::Alert,
            2 => Level::Crit,
            3 => Level::Err,
            4 => Level::Warning,
            5 => Level::Notice,
            6 => Level::Info,
            _ => Level::Debug,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogTarget {
    pub dest: LogDest,
    /// Maximum line length, 80..=65535 (default 1024).
    pub len: u32,
    pub format: LogWireFormat,
    pub sample: Option<LogSample>,
    /// 0..=23
    pub facility: u8,
    /// Messages less severe than this are dropped.
    pub max_level: Level,
    /// Messages more severe than this are sent at this level.
    pub min_level: Level,
    pub origin: Origin,
}

/// One element of a log-format string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LfNode {
    Text(String),
    /// `%ci`, `%{+Q}r`, …
    Var {
        var: LfVar,
        flags: LfFlags,
    },
    /// `%[fetch,converter…]`
    Sample {
        expr: SampleExpr,
        flags: LfFlags,
    },
}

/// `%{+Q,-X}` style flags on a variable.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LfFlags {
    /// `+Q`: quote the value.
    pub quote: bool,
    /// `+X`: hexadecimal numbers.
    pub hex: bool,
    /// `+E`: escape for RFC5424 structured data.
    pub escape: bool,
    /// `+M`: `-` when empty is replaced by nothing.
    pub omit_empty: bool,
}

/// A parsed log-format string; `text` keeps the original for messages and
/// `--modernize`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogFormat {
    pub text: String,
    pub nodes: Vec<LfNode>,
}

macro_rules! lf_vars {
    ($( $variant:ident = $name:literal ),* $(,)?) => {
        /// The `%` variables of HAProxy 2.6's log-format.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum LfVar { $( $variant ),* }

        impl LfVar {
            pub const ALL: &'static [LfVar] = &[ $( LfVar::$variant ),* ];

            pub fn name(self) -> &'static str {
                match self { $( LfVar::$variant => $name ),* }
            }

            pub fn from_name(s: &str) -> Option<LfVar> {
                match s { $( $name => Some(LfVar::$variant), )* _ => None }
            }
        }
    };
}

lf_vars! {
    Omit = "o",
    BytesRead = "B",
    CaptReqCookie = "CC",
    CaptResCookie = "CS",
    Hostname = "H",
    HttpMethod = "HM",
    HttpPath = "HP",
    HttpPathOnly = "HPO",
    HttpQuery = "HQ",
    HttpUri = "HU",
    HttpVersion = "HV",
    UniqueId = "ID",
    Status = "ST",
    DateGmt = "T",
    TimeActive = "Ta",
    TimeConnect = "Tc",
    TimeData = "Td",
    TimeHandshake = "Th",
    TimeIdle = "Ti",
    DateLocal = "Tl",
    TimeRequestOld = "Tq",
    TimeRequest = "TR",
    TimeResponse = "Tr",
    Timestamp = "Ts",
    TimeTotal = "Tt",
    TimeUpload = "Tu",
    TimeWait = "Tw",
    BytesUploaded = "U",
    ActConn = "ac",
    Backend = "b",
    BeConn = "bc",
    BackendIp = "bi",
    BackendPort = "bp",
    BackendQueue = "bq",
    ClientIp = "ci",
    ClientPort = "cp",
    Frontend = "f",
    FeConn = "fc",
    FrontendIp = "fi",
    FrontendPort = "fp",
    FrontendTransport = "ft",
    CaptReqHdrs = "hr",
    CaptReqHdrsList = "hrl",
    CaptResHdrs = "hs",
    CaptResHdrsList = "hsl",
    LogCounter = "lc",
    Millis = "ms",
    Pid = "pid",
    Request = "r",
    Retries = "rc",
    RequestCounter = "rt",
    Server = "s",
    SrvConn = "sc",
    ServerIp = "si",
    ServerPort = "sp",
    SrvQueue = "sq",
    SslCiphers = "sslc",
    SslVersion = "sslv",
    DateAccept = "t",
    DateRequest = "tr",
    DateRequestGmt = "trg",
    DateRequestLocal = "trl",
    TermState = "ts",
    TermStateCookies = "tsc",
}
