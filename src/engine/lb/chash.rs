//! Consistent hashing (lb_chash): each server owns `weight × 16` points on
//! a ring, at `full_hash(id × 4096 + n)`; a key goes to the nearest point,
//! the previous one on a tie. Also serves `balance random`.

use super::hash::full_hash;
use std::sync::RwLock;

const SRV_EWGHT_RANGE: u32 = 4096;

/// The points of one group of servers (actives, or backups: HAProxy keeps
/// a tree per group).
pub struct Ring {
    /// (puid, weight) per server, for rebuilding.
    servers: Vec<(u32, u32)>,
    inner: RwLock<Vec<(u32, u64, usize)>>,
}

impl Ring {
    pub fn new(servers: &[(u32, u32)], members: &[bool]) -> Ring {
        let r = Ring {
            servers: servers.to_vec(),
            inner: RwLock::new(Vec::new()),
        };
        r.rebuild(members);
        r
    }

    /// Points of the given servers, sorted; ties keep declaration order.
    pub fn rebuild(&self, usable: &[bool]) {
        let mut pts = Vec::new();
        let mut seq = 0u64;
        for (i, (puid, w)) in self.servers.iter().enumerate() {
            if !usable.get(i).copied().unwrap_or(false) || *w == 0 {
                continue;
            }
            for j in 0..w * 16 {
                pts.push((
                    full_hash(puid.wrapping_mul(SRV_EWGHT_RANGE).wrapping_add(j)),
                    seq,
                    i,
                ));
                seq += 1;
            }
        }
        pts.sort_unstable();
        *self.inner.write().unwrap_or_else(|e| e.into_inner()) = pts;
    }

    /// The server owning key `h`, skipping `avoid` if another exists.
    pub fn lookup(&self, h: u32, avoid: Option<usize>) -> Option<usize> {
        let pts = self.inner.read().unwrap_or_else(|e| e.into_inner());
        let n = pts.len();
        if n == 0 {
            return None;
        }
        let next = pts.partition_point(|p| p.0 < h);
        let next = if next == n { 0 } else { next };
        let prev = (next + n - 1) % n;
        let dp = h.wrapping_sub(pts[prev].0);
        let dn = pts[next].0.wrapping_sub(h);
        let mut idx = if dp <= dn { prev } else { next };
        let mut wrapped = 0;
        while Some(pts[idx].2) == avoid {
            idx += 1;
            if idx == n {
                idx = 0;
                wrapped += 1;
                if wrapped > 1 {
                    break;
                }
            }
        }
        Some(pts[idx].2)
    }
}
