//! HAProxy's health counter: one number per checked server, from 0 to
//! `rise + fall - 1`, that says both whether the server is UP and how far
//! it is from changing.
//!
//! * UP while `health >= rise`. It starts at `rise`: UP, but at the edge —
//!   so at start-up a single failed check marks a server DOWN.
//! * A success adds one; reaching `rise` jumps to `rise + fall - 1`.
//! * A failure takes one; falling below `rise` drops to 0.

use crate::engine::server::CheckResult;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Health {
    pub health: u32,
    pub rise: u32,
    pub fall: u32,
}

impl Health {
    /// Fully UP.
    pub fn full(&self) -> u32 {
        self.rise + self.fall - 1
    }

    pub fn is_up(&self) -> bool {
        self.health >= self.rise
    }

    /// Applies a check's verdict. Returns whether the counter moved (what
    /// HAProxy calls a report: the per-check log line is written then).
    pub fn record(&mut self, result: CheckResult) -> bool {
        match result {
            CheckResult::Failed => {
                if self.health == 0 {
                    return false;
                }
                self.health -= 1;
                if self.health < self.rise {
                    self.health = 0;
                }
                true
            }
            CheckResult::Passed | CheckResult::CondPass => {
                if self.health >= self.full() {
                    return false;
                }
                self.health += 1;
                if self.health >= self.rise {
                    self.health = self.full();
                }
                true
            }
        }
    }

    /// "N/M UP" or "N/M DOWN" as `option log-health-checks` prints it: how
    /// far along the current state is.
    pub fn progress(&self) -> (u32, u32) {
        if self.is_up() {
            (self.health - self.rise + 1, self.fall)
        } else {
            (self.health, self.rise)
        }
    }
}

/// The configured intervals of a check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Intervals {
    pub inter: Duration,
    pub fastinter: Option<Duration>,
    pub downinter: Option<Duration>,
}

impl Intervals {
    /// The delay before the next check (HAProxy's `srv_getinter`): `inter`
    /// when fully UP, `downinter` when fully DOWN, `fastinter` in between —
    /// including the unconfirmed state at start-up.
    pub fn next(&self, h: &Health, stopped: bool) -> Duration {
        if h.health == h.full() {
            return self.inter;
        }
        if stopped && h.health == 0 {
            return self.downinter.unwrap_or(self.inter);
        }
        self.fastinter.unwrap_or(self.inter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CheckResult::{Failed, Passed};

    fn h(health: u32) -> Health {
        Health {
            health,
            rise: 2,
            fall: 3,
        }
    }

    #[test]
    fn start_is_up_at_the_edge_and_one_failure_is_down() {
        let mut x = h(2);
        assert!(x.is_up());
        assert!(x.record(Failed));
        assert_eq!(x.health, 0);
        assert!(!x.is_up());
    }

    #[test]
    fn first_success_at_start_is_fully_up() {
        let mut x = h(2);
        assert!(x.record(Passed));
        assert_eq!(x.health, 4);
        assert!(!x.record(Passed), "full health does not move");
    }

    #[test]
    fn fall_failures_from_full_health() {
        let mut x = h(4);
        x.record(Failed);
        assert_eq!((x.health, x.is_up()), (3, true));
        x.record(Failed);
        assert_eq!((x.health, x.is_up()), (2, true));
        x.record(Failed);
        assert_eq!((x.health, x.is_up()), (0, false));
        assert!(!x.record(Failed), "DOWN does not move on failure");
    }

    #[test]
    fn rise_successes_from_down_and_resets() {
        let mut x = h(0);
        x.record(Passed);
        assert_eq!((x.health, x.is_up()), (1, false));
        x.record(Failed);
        assert_eq!(x.health, 0, "a failure mid-recovery resets");
        x.record(Passed);
        x.record(Passed);
        assert_eq!((x.health, x.is_up()), (4, true));
        x.record(Failed);
        x.record(Passed);
        assert_eq!(x.health, 4, "a success mid-descent restores");
    }

    #[test]
    fn progress_as_logged() {
        // 2/3 UP, 1/3 UP, 0/2 DOWN, 1/2 DOWN, 3/3 UP
        let mut x = h(4);
        let mut seen = Vec::new();
        for r in [Failed, Failed, Failed, Passed, Passed] {
            x.record(r);
            seen.push((x.progress(), x.is_up()));
        }
        assert_eq!(
            seen,
            vec![
                ((2, 3), true),
                ((1, 3), true),
                ((0, 2), false),
                ((1, 2), false),
                ((3, 3), true)
            ]
        );
    }

    #[test]
    fn rise_one_fall_one() {
        let mut x = Health {
            health: 1,
            rise: 1,
            fall: 1,
        };
        assert_eq!(x.full(), 1);
        x.record(Failed);
        assert_eq!(x.health, 0);
        x.record(Passed);
        assert_eq!(x.health, 1);
    }

    #[test]
    fn intervals() {
        let iv = Intervals {
            inter: Duration::from_millis(2000),
            fastinter: Some(Duration::from_millis(100)),
            downinter: Some(Duration::from_millis(500)),
        };
        assert_eq!(iv.next(&h(4), false), iv.inter);
        assert_eq!(iv.next(&h(2), false), Duration::from_millis(100));
        assert_eq!(iv.next(&h(3), false), Duration::from_millis(100));
        assert_eq!(iv.next(&h(0), true), Duration::from_millis(500));
        assert_eq!(iv.next(&h(1), true), Duration::from_millis(100));
        let plain = Intervals {
            inter: Duration::from_millis(2000),
            fastinter: None,
            downinter: None,
        };
        assert_eq!(plain.next(&h(0), true), plain.inter);
        assert_eq!(plain.next(&h(2), false), plain.inter);
    }
}
