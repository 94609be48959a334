//! `balance leastconn` (lb_fwlc) and `balance first` (lb_fas).
//!
//! leastconn orders servers by `(in-flight + 1) × 4096 / weight` (0 when
//! idle); among equal keys, the one whose key changed least recently comes
//! first, as in HAProxy's tree — so idle servers rotate.

use std::sync::Mutex;

const SRV_EWGHT_MAX: u64 = 4096;

pub struct LeastConn {
    eweight: Vec<std::sync::atomic::AtomicU32>,
    state: Mutex<Vec<(u64, u64)>>,
    seq: Mutex<u64>,
}

impl LeastConn {
    pub fn new(uweights: &[u32]) -> LeastConn {
        let n = uweights.len();
        LeastConn {
            eweight: uweights
                .iter()
                .map(|w| std::sync::atomic::AtomicU32::new(w * 16))
                .collect(),
            state: Mutex::new((0..n).map(|i| (0u64, i as u64)).collect()),
            seq: Mutex::new(n as u64),
        }
    }

    fn key(&self, i: usize, inflight: u64) -> u64 {
        let ew = u64::from(self.ew(i));
        if inflight == 0 || ew == 0 {
            0
        } else {
            (inflight + 1) * SRV_EWGHT_MAX / ew
        }
    }

    fn ew(&self, i: usize) -> u32 {
        self.eweight[i].load(std::sync::atomic::Ordering::Relaxed)
    }

    /// A server's effective weight changed: its key is recomputed at its
    /// next connection change.
    pub fn set_eweight(&self, i: usize, ew: u32) {
        self.eweight[i].store(ew, std::sync::atomic::Ordering::Relaxed);
    }

    /// Records a server's new in-flight count; its position changes only
    /// when its key does.
    pub fn update(&self, i: usize, inflight: u64) {
        let k = self.key(i, inflight);
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if st[i].0 != k {
            let mut s = self.seq.lock().unwrap_or_else(|e| e.into_inner());
            *s += 1;
            st[i] = (k, *s);
        }
    }

    /// Least loaded among `candidates` with a free slot.
    pub fn pick(
        &self,
        candidates: &[usize],
        has_slot: &dyn Fn(usize) -> bool,
        avoid: Option<usize>,
    ) -> Option<usize> {
        let st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let mut order: Vec<usize> = candidates
            .iter()
            .copied()
            .filter(|&i| self.ew(i) > 0)
            .collect();
        order.sort_by_key(|&i| st[i]);
        let mut avoided = None;
        for i in order {
            if has_slot(i) {
                if Some(i) != avoid {
                    return Some(i);
                }
                avoided = Some(i);
            }
        }
        avoided
    }
}

/// `balance first`: the usable server with the lowest id that has a free
/// slot.
pub fn first(
    candidates: &[usize],
    ids: &[u32],
    weights: &[u32],
    has_slot: &dyn Fn(usize) -> bool,
    avoid: Option<usize>,
) -> Option<usize> {
    let mut order: Vec<usize> = candidates
        .iter()
        .copied()
        .filter(|&i| weights[i] > 0)
        .collect();
    order.sort_by_key(|&i| ids[i]);
    let mut avoided = None;
    for i in order {
        if has_slot(i) {
            if Some(i) != avoid {
                return Some(i);
            }
            avoided = Some(i);
        }
    }
    avoided
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sequential(w: &[u32], n: usize) -> Vec<usize> {
        let lc = LeastConn::new(w);
        let all: Vec<usize> = (0..w.len()).collect();
        (0..n)
            .map(|_| {
                let s = lc.pick(&all, &|_| true, None).unwrap_or(99);
                lc.update(s, 1);
                lc.update(s, 0);
                s + 1
            })
            .collect()
    }

    fn concurrent(w: &[u32], n: usize) -> Vec<usize> {
        let lc = LeastConn::new(w);
        let all: Vec<usize> = (0..w.len()).collect();
        let mut load = vec![0u64; w.len()];
        (0..n)
            .map(|_| {
                let s = lc.pick(&all, &|_| true, None).unwrap_or(99);
                load[s] += 1;
                lc.update(s, load[s]);
                s + 1
            })
            .collect()
    }

    /// Recorded on HAProxy 2.6.12.
    #[test]
    fn same_order_as_haproxy() {
        assert_eq!(
            sequential(&[1, 1, 1], 12),
            vec![1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3]
        );
        assert_eq!(
            sequential(&[3, 1], 12),
            vec![1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2]
        );
        assert_eq!(
            sequential(&[5, 3, 1], 12),
            vec![1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3]
        );
        assert_eq!(
            concurrent(&[3, 1], 12),
            vec![1, 2, 1, 1, 1, 1, 2, 1, 1, 1, 2, 1]
        );
        assert_eq!(
            concurrent(&[1, 2, 3], 12),
            vec![1, 2, 3, 3, 2, 3, 3, 2, 3, 1, 2, 3]
        );
        assert_eq!(
            concurrent(&[5, 3, 1], 12),
            vec![1, 2, 3, 1, 1, 2, 1, 2, 1, 1, 2, 1]
        );
    }

    #[test]
    fn first_takes_lowest_id_with_room() {
        let ids = [3, 1, 2];
        let w = [1, 1, 1];
        let all = [0, 1, 2];
        assert_eq!(first(&all, &ids, &w, &|_| true, None), Some(1));
        assert_eq!(first(&all, &ids, &w, &|i| i != 1, None), Some(2));
        assert_eq!(first(&all, &ids, &[0, 1, 1], &|_| true, None), Some(1));
    }
}
