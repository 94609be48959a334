//! `balance roundrobin`: HAProxy's weighted, dynamic round robin
//! (lb_fwrr). Servers of a group (actives, or backups) sit in three trees:
//! `init` (not scheduled yet), `curr` (scheduled at a position in the
//! current window) and `next` (pushed to the next window). Each pick takes
//! the server with the lowest position, then moves it forward by
//! `total weight / its weight`, keeping the remainder so that weights are
//! honoured exactly; when the current window is exhausted the trees swap.
//!
//! The trees are ordered maps keyed like HAProxy's ebtrees (key, then
//! insertion order), so equal keys pick in the same order HAProxy does.

use std::collections::BTreeMap;

/// HAProxy scales user weights (0..=256) by 16 internally.
pub const BE_WEIGHT_SCALE: u32 = 16;
const SRV_UWGHT_RANGE: u32 = 256;
const SRV_EWGHT_MAX: u32 = 256 * BE_WEIGHT_SCALE;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tree {
    A,
    B,
    Curr,
}

#[derive(Clone, Debug)]
struct Srv {
    eweight: u32,
    backup: bool,
    usable: bool,
    npos: u32,
    lpos: u32,
    rweight: u32,
    /// Where the server is queued: tree and its key in it.
    at: Option<(Tree, (u32, u64))>,
}

#[derive(Clone, Debug, Default)]
struct Group {
    curr: BTreeMap<(u32, u64), usize>,
    a: BTreeMap<(u32, u64), usize>,
    b: BTreeMap<(u32, u64), usize>,
    /// Which of `a`/`b` is the init tree (the other is `next`).
    init_is_a: bool,
    curr_pos: u32,
    curr_weight: u32,
    next_weight: u32,
}

impl Group {
    fn init_tree(&self) -> Tree {
        if self.init_is_a { Tree::A } else { Tree::B }
    }

    fn next_tree(&self) -> Tree {
        if self.init_is_a { Tree::B } else { Tree::A }
    }

    fn tree(&mut self, t: Tree) -> &mut BTreeMap<(u32, u64), usize> {
        match t {
            Tree::A => &mut self.a,
            Tree::B => &mut self.b,
            Tree::Curr => &mut self.curr,
        }
    }
}

/// The scheduler state of one backend.
#[derive(Clone, Debug)]
pub struct Fwrr {
    srv: Vec<Srv>,
    act: Group,
    bck: Group,
    srv_act: u32,
    srv_bck: u32,
    /// The single backup in use when `option allbackups` is off.
    fbck: Option<usize>,
    allbackups: bool,
    seq: u64,
}

impl Fwrr {
    /// `weights` are user weights; `usable` says which servers start UP.
    pub fn new(weights: &[u32], backup: &[bool], usable: &[bool], allbackups: bool) -> Fwrr {
        let srv: Vec<Srv> = weights
            .iter()
            .zip(backup)
            .zip(usable)
            .map(|((w, b), u)| Srv {
                eweight: w * BE_WEIGHT_SCALE,
                backup: *b,
                usable: *u,
                npos: 0,
                lpos: 0,
                rweight: 0,
                at: None,
            })
            .collect();
        let mut f = Fwrr {
            srv,
            act: Group {
                init_is_a: true,
                ..Group::default()
            },
            bck: Group {
                init_is_a: true,
                ..Group::default()
            },
            srv_act: 0,
            srv_bck: 0,
            fbck: None,
            allbackups,
            seq: 0,
        };
        let (tot_act, tot_bck) = f.recount();
        for g in [&mut f.act, &mut f.bck] {
            g.curr_pos = 0;
        }
        f.act.curr_weight = tot_act;
        f.act.next_weight = tot_act;
        f.act.curr_pos = tot_act;
        f.bck.curr_weight = tot_bck;
        f.bck.next_weight = tot_bck;
        f.bck.curr_pos = tot_bck;
        for i in 0..f.srv.len() {
            if f.usable(i) {
                let init = f.group(i).init_tree();
                f.queue_by_weight(init, i);
            }
        }
        f
    }

    fn usable(&self, i: usize) -> bool {
        self.srv[i].usable && self.srv[i].eweight > 0
    }

    fn recount(&mut self) -> (u32, u32) {
        self.srv_act = 0;
        self.srv_bck = 0;
        self.fbck = None;
        let (mut wa, mut wb) = (0, 0);
        for i in 0..self.srv.len() {
            if !self.usable(i) {
                continue;
            }
            if self.srv[i].backup {
                if self.srv_bck == 0 && !self.allbackups {
                    self.fbck = Some(i);
                }
                self.srv_bck += 1;
                wb += self.srv[i].eweight;
            } else {
                self.srv_act += 1;
                wa += self.srv[i].eweight;
            }
        }
        (wa, wb)
    }

    fn group(&mut self, i: usize) -> &mut Group {
        if self.srv[i].backup {
            &mut self.bck
        } else {
            &mut self.act
        }
    }

    fn insert(&mut self, i: usize, t: Tree, key: u32) {
        self.seq += 1;
        let k = (key, self.seq);
        self.group(i).tree(t).insert(k, i);
        self.srv[i].at = Some((t, k));
    }

    fn dequeue(&mut self, i: usize) {
        if let Some((t, k)) = self.srv[i].at.take() {
            self.group(i).tree(t).remove(&k);
        }
    }

    fn queue_by_weight(&mut self, t: Tree, i: usize) {
        let key = SRV_EWGHT_MAX - self.srv[i].eweight;
        self.insert(i, t, key);
    }

    /// Queues a server at its next position: in the current window, or
    /// in the next one when it would be too far.
    fn queue_srv(&mut self, i: usize) {
        if !self.usable(i) {
            self.srv[i].at = None;
            return;
        }
        let (cw, nw) = {
            let g = self.group(i);
            (g.curr_weight, g.next_weight)
        };
        let s = &mut self.srv[i];
        if s.eweight == 0 || s.npos >= 2 * cw || s.npos >= cw + nw {
            s.npos = s.npos.wrapping_sub(cw);
            let next = self.group(i).next_tree();
            self.queue_by_weight(next, i);
        } else {
            let key = SRV_UWGHT_RANGE
                .wrapping_mul(s.npos)
                .wrapping_add((SRV_EWGHT_MAX + s.rweight - s.eweight) / BE_WEIGHT_SCALE);
            self.insert(i, Tree::Curr, key);
        }
    }

    /// Prepares a server about to be (re)queued after a state change.
    fn get_srv(&mut self, i: usize) {
        let (init, next, curr_weight, curr_pos) = {
            let g = self.group(i);
            (g.init_tree(), g.next_tree(), g.curr_weight, g.curr_pos)
        };
        let s = &mut self.srv[i];
        match s.at.map(|(t, _)| t) {
            Some(t) if t == init => {
                s.npos = 0;
                s.rweight = 0;
            }
            Some(t) if t == next => s.npos += curr_weight,
            None => s.npos = curr_pos,
            _ => {}
        }
    }

    fn switch_trees(g: &mut Group) {
        g.init_is_a = !g.init_is_a;
        g.curr_weight = g.next_weight;
        g.curr_pos = g.curr_weight;
    }

    fn first(g: &Group, t: Tree) -> Option<usize> {
        let tree = match t {
            Tree::A => &g.a,
            Tree::B => &g.b,
            Tree::Curr => &g.curr,
        };
        tree.values().next().copied()
    }

    fn get_from_group(&mut self, backup: bool) -> Option<usize> {
        let g = if backup { &self.bck } else { &self.act };
        let curr_pos = g.curr_pos;
        let s1 = Self::first(g, Tree::Curr);
        if let Some(i) = s1
            && self.srv[i].eweight > 0
            && self.srv[i].npos <= curr_pos
        {
            return Some(i);
        }
        if let Some(i) = Self::first(g, g.init_tree())
            && self.srv[i].eweight > 0
        {
            self.srv[i].npos = 0;
            self.srv[i].rweight = 0;
            return Some(i);
        }
        s1
    }

    fn update_position(&mut self, i: usize) {
        let (curr_pos, next_weight) = {
            let g = self.group(i);
            (g.curr_pos, g.next_weight)
        };
        let s = &mut self.srv[i];
        let ew = s.eweight;
        if ew == 0 {
            return;
        }
        if s.npos == 0 {
            s.npos = curr_pos;
        }
        s.lpos = s.npos;
        s.npos += next_weight / ew;
        s.rweight += next_weight % ew;
        if s.rweight >= ew {
            s.rweight -= ew;
            s.npos += 1;
        }
    }

    /// Picks the next server; `has_slot(i)` says whether server `i` can take
    /// one more connection (maxconn). `avoid` is a server to skip if
    /// another is available (redispatch).
    pub fn next(
        &mut self,
        has_slot: &dyn Fn(usize) -> bool,
        avoid: Option<usize>,
    ) -> Option<usize> {
        let backup = if self.srv_act > 0 {
            false
        } else if let Some(f) = self.fbck {
            return Some(f);
        } else if self.srv_bck > 0 {
            true
        } else {
            return None;
        };
        let mut switched = false;
        let mut avoided: Option<usize> = None;
        let mut full: Vec<usize> = Vec::new();
        let mut chosen: Option<usize>;
        loop {
            {
                let g = if backup { &mut self.bck } else { &mut self.act };
                if g.curr_weight == 0 {
                    g.curr_pos = g.next_weight;
                    g.curr_weight = g.next_weight;
                }
            }
            loop {
                chosen = self.get_from_group(backup);
                if chosen.is_some() {
                    break;
                }
                if switched {
                    chosen = avoided;
                    break;
                }
                switched = true;
                Self::switch_trees(if backup { &mut self.bck } else { &mut self.act });
            }
            let Some(i) = chosen else { break };
            if Some(i) == avoided && switched {
                break;
            }
            self.update_position(i);
            self.dequeue(i);
            if backup {
                self.bck.curr_pos += 1;
            } else {
                self.act.curr_pos += 1;
            }
            if has_slot(i) {
                if Some(i) != avoid || avoided.is_some() {
                    break;
                }
                avoided = Some(i);
            }
            full.push(i);
        }
        if let Some(i) = chosen {
            self.queue_srv(i);
        }
        for f in full.into_iter().rev() {
            if Some(f) == chosen {
                continue;
            }
            if switched {
                let init = self.group(f).init_tree();
                self.queue_by_weight(init, f);
            } else {
                self.queue_srv(f);
            }
        }
        chosen
    }

    /// A server stopped being usable (DOWN, maintenance, weight 0).
    pub fn set_down(&mut self, i: usize) {
        if !self.usable(i) {
            self.srv[i].usable = false;
            return;
        }
        let ew = self.srv[i].eweight;
        self.group(i).next_weight -= ew;
        if self.srv[i].backup {
            self.srv_bck -= 1;
            if self.fbck == Some(i) {
                self.fbck = (i + 1..self.srv.len())
                    .find(|&j| self.srv[j].backup && self.usable(j) && j != i);
            }
        } else {
            self.srv_act -= 1;
        }
        self.dequeue(i);
        self.srv[i].usable = false;
    }

    /// A server became usable again.
    pub fn set_up(&mut self, i: usize) {
        if self.usable(i) {
            return;
        }
        self.srv[i].usable = true;
        if !self.usable(i) {
            return;
        }
        let ew = self.srv[i].eweight;
        self.group(i).next_weight += ew;
        if self.srv[i].backup {
            self.srv_bck += 1;
            if !self.allbackups && self.fbck.is_none_or(|f| i < f) {
                self.fbck = Some(i);
            }
        } else {
            self.srv_act += 1;
        }
        self.get_srv(i);
        let g = self.group(i);
        let step = (g.next_weight + g.curr_weight - g.curr_pos) / ew;
        let pos = g.curr_pos + step;
        self.srv[i].npos = pos;
        self.queue_srv(i);
    }

    /// A server's effective weight changed (slow start, `set weight`).
    pub fn set_eweight(&mut self, i: usize, new_ew: u32) {
        if self.srv[i].eweight == new_ew {
            return;
        }
        let was = self.usable(i);
        let old_ew = self.srv[i].eweight;
        if !was {
            self.srv[i].eweight = new_ew;
            if self.srv[i].usable && new_ew > 0 {
                // became usable through its weight
                self.srv[i].usable = false;
                self.set_up(i);
            }
            return;
        }
        if new_ew == 0 {
            self.set_down(i);
            self.srv[i].usable = true;
            self.srv[i].eweight = 0;
            return;
        }
        {
            let g = self.group(i);
            g.next_weight = g.next_weight - old_ew + new_ew;
        }
        let (init, curr_pos, curr_weight, next_weight) = {
            let g = self.group(i);
            (g.init_tree(), g.curr_pos, g.curr_weight, g.next_weight)
        };
        let at = self.srv[i].at.map(|(t, _)| t);
        self.srv[i].eweight = new_ew;
        if at == Some(init) {
            self.dequeue(i);
            self.queue_by_weight(init, i);
        } else if at.is_none() {
            self.get_srv(i);
            self.srv[i].npos = curr_pos + (next_weight + curr_weight - curr_pos) / new_ew;
            self.queue_srv(i);
        } else {
            self.get_srv(i);
            let s = &mut self.srv[i];
            let prev_next = s.npos;
            let step = next_weight / new_ew;
            s.npos = (s.lpos + step).min(prev_next);
            s.rweight = 0;
            if s.npos < curr_pos + 2 {
                s.npos = curr_pos + step;
            }
            self.dequeue(i);
            self.queue_srv(i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seq(weights: &[u32], n: usize) -> String {
        let k = weights.len();
        let mut f = Fwrr::new(weights, &vec![false; k], &vec![true; k], false);
        (0..n)
            .map(|_| format!("s{}", f.next(&|_| true, None).map_or(0, |i| i + 1)))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Sequences recorded on HAProxy 2.6.12 (nbthread 1 and 2 alike).
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
            "s3 s2 s3 s1 s3 s2 s3 s2 s3 s1 s3 s2 s3 s2 s3 s1 s3 s2 s3 s2"
        );
        assert_eq!(
            seq(&[5, 3, 1], 20),
            "s1 s1 s2 s1 s3 s2 s1 s1 s2 s1 s1 s2 s1 s3 s2 s1 s1 s2 s1 s1"
        );
    }

    #[test]
    fn backups_only_when_no_active() {
        let mut f = Fwrr::new(&[1, 1, 1], &[false, true, true], &[true, true, true], false);
        assert_eq!(f.next(&|_| true, None), Some(0));
        f.set_down(0);
        // the first backup takes it all
        assert_eq!(f.next(&|_| true, None), Some(1));
        assert_eq!(f.next(&|_| true, None), Some(1));
        f.set_up(0);
        assert_eq!(f.next(&|_| true, None), Some(0));
        let mut all = Fwrr::new(&[1, 1, 1], &[false, true, true], &[false, true, true], true);
        let picks: Vec<_> = (0..4).map(|_| all.next(&|_| true, None)).collect();
        assert_eq!(picks, vec![Some(1), Some(2), Some(1), Some(2)]);
    }

    #[test]
    fn full_servers_are_skipped() {
        let mut f = Fwrr::new(&[1, 1, 1], &[false; 3], &[true; 3], false);
        let picks: Vec<_> = (0..3).map(|_| f.next(&|i| i != 1, None)).collect();
        assert_eq!(picks, vec![Some(0), Some(2), Some(0)]);
        let mut none = Fwrr::new(&[1, 1], &[false; 2], &[true; 2], false);
        assert_eq!(none.next(&|_| false, None), None);
    }
}
