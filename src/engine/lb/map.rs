//! `balance static-rr` and map-based hashing (lb_map): a table where each
//! usable server appears as many times as its (reduced) weight, spread by
//! HAProxy's interleaving; round robin walks it, hashing indexes it.

use std::sync::Mutex;

/// Weights divided by their greatest common divisor, as HAProxy scales
/// them for the map.
pub fn map_weights(uweights: &[u32]) -> Vec<u32> {
    fn gcd(a: u32, b: u32) -> u32 {
        if b == 0 { a } else { gcd(b, a % b) }
    }
    let g = uweights
        .iter()
        .filter(|w| **w > 0)
        .fold(0, |g, w| gcd(g, *w))
        .max(1);
    uweights.iter().map(|w| w.div_ceil(g)).collect()
}

/// The interleaved table (HAProxy's `recalc_server_map`).
pub fn build(weights: &[u32], members: &[usize], tot: u32) -> Vec<usize> {
    let mut score: Vec<i64> = vec![0; weights.len()];
    let mut map = Vec::with_capacity(tot as usize);
    for _ in 0..tot {
        let mut best: Option<usize> = None;
        let mut max = 0i64;
        for &i in members {
            if tot == 1 {
                best = Some(i);
                break;
            }
            score[i] += i64::from(weights[i]);
            let v = (score[i] + i64::from(tot)) / i64::from(tot);
            if best.is_none() || v > max {
                max = v;
                best = Some(i);
            }
        }
        if let Some(b) = best {
            map.push(b);
            score[b] -= i64::from(tot);
        }
    }
    map
}

pub struct Map {
    weights: Vec<u32>,
    backup: Vec<bool>,
    allbackups: bool,
    inner: Mutex<Inner>,
}

struct Inner {
    usable: Vec<bool>,
    table: Vec<usize>,
    rr: usize,
}

impl Map {
    pub fn new(uweights: &[u32], backup: &[bool], usable: &[bool], allbackups: bool) -> Map {
        let m = Map {
            weights: map_weights(uweights),
            backup: backup.to_vec(),
            allbackups,
            inner: Mutex::new(Inner {
                usable: usable.to_vec(),
                table: Vec::new(),
                rr: 0,
            }),
        };
        {
            let mut g = m.lock();
            m.rebuild(&mut g);
        }
        m
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn rebuild(&self, g: &mut Inner) {
        let n = self.weights.len();
        let ok = |i: usize| g.usable[i] && self.weights[i] > 0;
        let act: Vec<usize> = (0..n).filter(|&i| ok(i) && !self.backup[i]).collect();
        let bck: Vec<usize> = (0..n).filter(|&i| ok(i) && self.backup[i]).collect();
        let (members, tot) = if !act.is_empty() {
            let t = act.iter().map(|&i| self.weights[i]).sum();
            (act, t)
        } else if !bck.is_empty() && !self.allbackups {
            // One backup is used; HAProxy sizes the table by its weight.
            (bck.clone(), self.weights[bck[0]])
        } else {
            let t = bck.iter().map(|&i| self.weights[i]).sum();
            (bck, t)
        };
        g.table = build(&self.weights, &members, tot);
    }

    pub fn set_usable(&self, i: usize, usable: bool) {
        let mut g = self.lock();
        if g.usable[i] != usable {
            g.usable[i] = usable;
            self.rebuild(&mut g);
        }
    }

    /// `static-rr`: the next server with a free slot, starting where the
    /// previous pick stopped; `avoid` only if nothing else.
    pub fn next(&self, has_slot: &dyn Fn(usize) -> bool, avoid: Option<usize>) -> Option<usize> {
        let mut g = self.lock();
        let tot = g.table.len();
        if tot == 0 {
            return None;
        }
        if g.rr >= tot {
            g.rr = 0;
        }
        let start = g.rr;
        let mut idx = start;
        let mut avoided: Option<usize> = None;
        loop {
            let s = g.table[idx];
            idx += 1;
            if idx == tot {
                idx = 0;
            }
            if has_slot(s) {
                if Some(s) != avoid {
                    g.rr = idx;
                    return Some(s);
                }
                avoided = Some(idx);
            }
            if idx == start {
                break;
            }
        }
        if let Some(a) = avoided {
            g.rr = a;
            return avoid;
        }
        None
    }

    /// Map-based hashing: `table[hash % size]`.
    pub fn hash(&self, h: u32) -> Option<usize> {
        let g = self.lock();
        if g.table.is_empty() {
            return None;
        }
        Some(g.table[h as usize % g.table.len()])
    }

    pub fn usable_count(&self) -> usize {
        let g = self.lock();
        let mut seen: Vec<usize> = g.table.clone();
        seen.sort_unstable();
        seen.dedup();
        seen.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seq(w: &[u32], n: usize) -> String {
        let k = w.len();
        let m = Map::new(w, &vec![false; k], &vec![true; k], false);
        (0..n)
            .map(|_| format!("s{}", m.next(&|_| true, None).map_or(0, |i| i + 1)))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Sequences recorded on HAProxy 2.6.12 with `balance static-rr`.
    #[test]
    fn same_order_as_haproxy() {
        assert_eq!(
            seq(&[1, 1, 1], 20),
            "s1 s2 s3 s1 s2 s3 s1 s2 s3 s1 s2 s3 s1 s2 s3 s1 s2 s3 s1 s2"
        );
        assert_eq!(
            seq(&[3, 1], 20),
            "s1 s1 s1 s2 s1 s1 s1 s2 s1 s1 s1 s2 s1 s1 s1 s2 s1 s1 s1 s2"
        );
        assert_eq!(
            seq(&[1, 2, 3], 20),
            "s1 s3 s2 s3 s2 s3 s1 s3 s2 s3 s2 s3 s1 s3 s2 s3 s2 s3 s1 s3"
        );
        assert_eq!(
            seq(&[5, 3, 1], 20),
            "s1 s1 s2 s1 s2 s1 s2 s1 s3 s1 s1 s2 s1 s2 s1 s2 s1 s3 s1 s1"
        );
    }

    #[test]
    fn down_and_up_as_haproxy() {
        // real: s1 s2 s3 s1 [down s2] s3 s1 s3 s1 [up s2] s2 s3 s1 s2 s3 s1 s2 s3
        let m = Map::new(&[1, 1, 1], &[false; 3], &[true; 3], false);
        let mut out = Vec::new();
        let mut pick = |m: &Map| out.push(m.next(&|_| true, None).map_or(0, |i| i + 1));
        for _ in 0..4 {
            pick(&m);
        }
        m.set_usable(1, false);
        for _ in 0..4 {
            pick(&m);
        }
        m.set_usable(1, true);
        for _ in 0..8 {
            pick(&m);
        }
        assert_eq!(out, vec![1, 2, 3, 1, 3, 1, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3]);
    }
}
