//! A server at run time: its operational state (as health checks set it)
//! and administrative flags (as `disabled` and the CLI set them), weights,
//! connection slots and queue, and the status record the logs and the
//! stats page read. Everything the hot path reads is an atomic.

use super::state::Queue;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, AtomicU32, AtomicU64, Ordering};
use std::time::{Instant, SystemTime};

/// HAProxy's operational states (`SRV_ST_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum OpState {
    /// DOWN.
    Stopped = 0,
    /// Back UP, weight still ramping up (`slowstart`).
    Starting = 1,
    /// UP.
    Running = 2,
    /// UP, but taking no new load-balanced traffic (NOLB:
    /// `http-check disable-on-404`).
    Stopping = 3,
}

impl OpState {
    fn from_u8(v: u8) -> OpState {
        match v {
            0 => OpState::Stopped,
            1 => OpState::Starting,
            2 => OpState::Running,
            _ => OpState::Stopping,
        }
    }
}

/// Administrative flags (`SRV_ADMF_*`, same values), as a bit set.
pub mod admin {
    /// Forced maintenance (`disable server`, `set server … state maint`,
    /// and `disabled` in the configuration).
    pub const FMAINT: u8 = 0x01;
    /// Maintenance inherited from the tracked server (`track`).
    pub const IMAINT: u8 = 0x02;
    /// The configuration said `disabled`: a memo for the server-state
    /// file, not a maintenance of its own (HAProxy sets FMAINT with it).
    pub const CMAINT: u8 = 0x04;
    /// Forced drain (`set server … state drain`).
    pub const FDRAIN: u8 = 0x08;
    /// Drain inherited from the tracked server.
    pub const IDRAIN: u8 = 0x10;
    pub const MAINT: u8 = FMAINT | IMAINT;
    pub const DRAIN: u8 = FDRAIN | IDRAIN;
}

/// What the last health check found, as the logs and stats show it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckStatus {
    Unknown,
    /// Not checked yet.
    Ini,
    /// Failures seen on traffic (`observe`, `on-error`).
    Hana,
    SockErr,
    L4Ok,
    L4Tout,
    L4Con,
    L6Ok,
    L6Tout,
    L6Rsp,
    L7Tout,
    L7Rsp,
    L7Ok,
    /// Passed, but asks for NOLB (404 with `disable-on-404`).
    L7OkC,
    L7Sts,
}

/// A check's verdict on the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckResult {
    Failed,
    Passed,
    /// Passed, with the server to be put in NOLB.
    CondPass,
}

impl CheckStatus {
    /// The code the stats page shows (`check_status`).
    pub fn code(self) -> &'static str {
        match self {
            CheckStatus::Unknown => "UNK",
            CheckStatus::Ini => "INI",
            CheckStatus::Hana => "HANA",
            CheckStatus::SockErr => "SOCKERR",
            CheckStatus::L4Ok => "L4OK",
            CheckStatus::L4Tout => "L4TOUT",
            CheckStatus::L4Con => "L4CON",
            CheckStatus::L6Ok => "L6OK",
            CheckStatus::L6Tout => "L6TOUT",
            CheckStatus::L6Rsp => "L6RSP",
            CheckStatus::L7Tout => "L7TOUT",
            CheckStatus::L7Rsp => "L7RSP",
            CheckStatus::L7Ok => "L7OK",
            CheckStatus::L7OkC => "L7OKC",
            CheckStatus::L7Sts => "L7STS",
        }
    }

    /// The text logs give as "reason".
    pub fn description(self) -> &'static str {
        match self {
            CheckStatus::Unknown => "Unknown",
            CheckStatus::Ini => "Initializing",
            CheckStatus::Hana => "Health analyze",
            CheckStatus::SockErr => "Socket error",
            CheckStatus::L4Ok => "Layer4 check passed",
            CheckStatus::L4Tout => "Layer4 timeout",
            CheckStatus::L4Con => "Layer4 connection problem",
            CheckStatus::L6Ok => "Layer6 check passed",
            CheckStatus::L6Tout => "Layer6 timeout",
            CheckStatus::L6Rsp => "Layer6 invalid response",
            CheckStatus::L7Tout => "Layer7 timeout",
            CheckStatus::L7Rsp => "Layer7 invalid response",
            CheckStatus::L7Ok => "Layer7 check passed",
            CheckStatus::L7OkC => "Layer7 check conditionally passed",
            CheckStatus::L7Sts => "Layer7 wrong status",
        }
    }

    pub fn result(self) -> Option<CheckResult> {
        match self {
            CheckStatus::Unknown | CheckStatus::Ini => None,
            CheckStatus::L4Ok | CheckStatus::L6Ok | CheckStatus::L7Ok => Some(CheckResult::Passed),
            CheckStatus::L7OkC => Some(CheckResult::CondPass),
            _ => Some(CheckResult::Failed),
        }
    }

    /// Layer-7 statuses carry the response's status code.
    pub fn has_code(self) -> bool {
        matches!(
            self,
            CheckStatus::L7Ok | CheckStatus::L7OkC | CheckStatus::L7Sts
        )
    }
}

/// One finished check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckOutcome {
    pub status: CheckStatus,
    /// HTTP status (or protocol code) for layer-7 checks.
    pub code: Option<u32>,
    /// HAProxy's "info" text: an errno string, a reason phrase …
    pub info: String,
    pub duration_ms: i64,
}

impl CheckOutcome {
    pub fn new(status: CheckStatus, info: impl Into<String>) -> CheckOutcome {
        CheckOutcome {
            status,
            code: None,
            info: info.into(),
            duration_ms: 0,
        }
    }
}

/// The slowly changing part of a server's state, kept under a lock: read
/// by logs and stats, written by checks and the CLI.
#[derive(Clone, Debug)]
pub struct Status {
    /// Health counter (0 ..= rise + fall - 1); see `check::health`.
    pub health: u32,
    pub rise: u32,
    pub fall: u32,
    /// Checks configured and running.
    pub checking: bool,
    /// The last check's result.
    pub last: Option<CheckOutcome>,
    /// When the operational state last changed.
    pub last_change: Instant,
    pub last_change_wall: SystemTime,
    /// Seconds spent DOWN before the current state.
    pub down_time: u64,
    /// Transitions to DOWN (`chkdown`).
    pub down_trans: u64,
    /// Failed checks (`chkfail`).
    pub failed_checks: u64,
    /// Consecutive errors seen by `observe` (for `on-error`).
    pub consecutive_errors: u32,
}

pub struct ServerRt {
    pub idx: usize,
    /// The server this one tracks (`track`), as (proxy, server).
    pub tracks: Option<(usize, usize)>,
    /// The servers tracking this one, in the order HAProxy tells them.
    pub trackers: Vec<(usize, usize)>,
    op: AtomicU8,
    admin: AtomicU8,
    /// User weight (`weight`, `set weight`).
    pub uweight: AtomicU32,
    /// Effective weight in HAProxy's scale (16 × user weight, less during
    /// a slow start); 0 takes the server out of load balancing.
    pub eweight: AtomicU32,
    /// Connections currently established or being established.
    pub cur: AtomicU32,
    pub max_seen: AtomicU32,
    pub total: AtomicU64,
    /// `maxconn` as set at run time (0 = unlimited).
    pub maxconn: AtomicU32,
    /// `minconn`: the limit while the backend is far below `fullconn`.
    pub minconn: u32,
    pub queue: Queue,
    /// Bumped to end every session using this server.
    pub kill: tokio::sync::watch::Sender<u64>,
    pub status: Mutex<Status>,
    /// Wakes the server's check early (`on-error` forces `fastinter`).
    pub check_soon: tokio::sync::Notify,
    /// Statistics (`show stat`).
    pub counters: super::counters::Counters,
}

/// HAProxy's weight scale for dynamic algorithms.
pub const BE_WEIGHT_SCALE: u32 = 16;

impl ServerRt {
    /// `inherited_maint`: it tracks a server in maintenance from the
    /// start (see `track::starts_in_maint`).
    pub fn new(
        idx: usize,
        opts: &crate::config::model::ServerOpts,
        inherited_maint: bool,
    ) -> ServerRt {
        let now = Instant::now();
        let mut flags = 0;
        if opts.disabled {
            flags |= admin::CMAINT | admin::FMAINT;
        }
        if inherited_maint {
            flags |= admin::IMAINT;
        }
        // In maintenance from the start: DOWN, health at 0.
        let (op, health) = if flags & admin::MAINT != 0 {
            (OpState::Stopped, 0)
        } else {
            (OpState::Running, opts.check.rise)
        };
        ServerRt {
            idx,
            tracks: None,
            trackers: Vec::new(),
            op: AtomicU8::new(op as u8),
            admin: AtomicU8::new(flags),
            uweight: AtomicU32::new(opts.weight),
            eweight: AtomicU32::new(opts.weight * BE_WEIGHT_SCALE),
            cur: AtomicU32::new(0),
            max_seen: AtomicU32::new(0),
            total: AtomicU64::new(0),
            maxconn: AtomicU32::new(opts.maxconn),
            minconn: opts.minconn,
            queue: Queue::default(),
            kill: tokio::sync::watch::Sender::new(0),
            status: Mutex::new(Status {
                health,
                rise: opts.check.rise.max(1),
                fall: opts.check.fall.max(1),
                checking: false,
                last: None,
                last_change: now,
                last_change_wall: SystemTime::now(),
                down_time: 0,
                down_trans: 0,
                failed_checks: 0,
                consecutive_errors: 0,
            }),
            check_soon: tokio::sync::Notify::new(),
            counters: Default::default(),
        }
    }

    pub fn op(&self) -> OpState {
        OpState::from_u8(self.op.load(Ordering::Acquire))
    }

    pub fn set_op(&self, s: OpState) {
        self.op.store(s as u8, Ordering::Release);
    }

    pub fn admin(&self) -> u8 {
        self.admin.load(Ordering::Acquire)
    }

    pub fn set_admin(&self, flags: u8) {
        self.admin.store(flags, Ordering::Release);
    }

    pub fn in_maint(&self) -> bool {
        self.admin() & admin::MAINT != 0
    }

    /// Takes part in load balancing: UP (or starting), not in maintenance
    /// nor drain, with a non-zero weight (HAProxy's `srv_is_usable`).
    pub fn usable(&self) -> bool {
        matches!(self.op(), OpState::Running | OpState::Starting)
            && self.admin() & (admin::MAINT | admin::DRAIN) == 0
            && self.eweight.load(Ordering::Relaxed) > 0
    }

    /// Can serve a connection sent to it explicitly (persistence, queue
    /// hand-over): not DOWN and not in maintenance — draining and NOLB
    /// servers still serve their own (`srv_currently_usable` without the
    /// weight).
    pub fn accepts_direct(&self) -> bool {
        self.op() != OpState::Stopped && !self.in_maint()
    }

    pub fn lock_status(&self) -> std::sync::MutexGuard<'_, Status> {
        self.status.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether a connection fits under `limit` (0 = unlimited).
    pub fn has_free_slot(&self, limit: u32) -> bool {
        limit == 0 || self.cur.load(Ordering::Relaxed) < limit
    }

    /// Claims a slot if one is free under `limit` (0 = unlimited).
    pub fn try_take(&self, limit: u32) -> bool {
        let mut cur = self.cur.load(Ordering::Relaxed);
        loop {
            if limit != 0 && cur >= limit {
                return false;
            }
            match self
                .cur
                .compare_exchange_weak(cur, cur + 1, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => {
                    self.max_seen.fetch_max(cur + 1, Ordering::Relaxed);
                    self.total.fetch_add(1, Ordering::Relaxed);
                    return true;
                }
                Err(c) => cur = c,
            }
        }
    }
}
