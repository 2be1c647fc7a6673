//! A bounded set of recently seen keys with a fixed lifetime, used to refuse replayed New
//! Session messages (by ephemeral key) and reused session tags.

use std::collections::{HashSet, VecDeque};
use std::hash::Hash;

#[derive(Debug, Clone)]
pub struct ReplayWindow<K> {
    order: VecDeque<(u64, K)>,
    set: HashSet<K>,
    ttl_ms: u64,
    cap: usize,
}

impl<K: Hash + Eq + Copy> ReplayWindow<K> {
    pub fn new(ttl_ms: u64, cap: usize) -> Self {
        ReplayWindow {
            order: VecDeque::new(),
            set: HashSet::new(),
            ttl_ms,
            cap: cap.max(1),
        }
    }

    pub fn contains(&self, k: &K) -> bool {
        self.set.contains(k)
    }

    /// Remember `k` until `now_ms + ttl`; the oldest entry goes when the set is full.
    pub fn insert(&mut self, k: K, now_ms: u64) {
        if !self.set.insert(k) {
            return;
        }
        self.order
            .push_back((now_ms.saturating_add(self.ttl_ms), k));
        while self.order.len() > self.cap {
            if let Some((_, old)) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
    }

    pub fn expire(&mut self, now_ms: u64) {
        while let Some((exp, k)) = self.order.front().copied() {
            if exp > now_ms {
                break;
            }
            self.order.pop_front();
            self.set.remove(&k);
        }
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.set.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_and_the_cap_holds() {
        let mut w = ReplayWindow::new(100, 3);
        w.insert(1u8, 0);
        w.insert(2, 50);
        assert!(w.contains(&1) && w.contains(&2));
        w.expire(100);
        assert!(!w.contains(&1) && w.contains(&2));
        w.insert(3, 60);
        w.insert(4, 60);
        w.insert(5, 60);
        assert_eq!(w.len(), 3);
        assert!(!w.contains(&2));
    }
}
