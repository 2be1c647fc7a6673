//! The Kademlia closeness metric of the netDb (docs/overview/network-database.md, "Kademlia
//! Closeness Metric"): routing keys with their daily rotation, XOR distance, and closest-N
//! selection.
//!
//! The routing key of a search key `k` is SHA-256(`k` ‖ `yyyyMMdd`), the date being the UTC day
//! of `now` as eight ASCII digits, so the whole keyspace changes at UTC midnight. Only search
//! keys are transformed; router hashes are compared as they are. Routing keys never go on the
//! wire.

use std::cmp::Ordering;
use std::collections::HashSet;

use i2p_wire::{Date, Hash};

/// The eight ASCII digits `yyyyMMdd` of the UTC day containing `now` (as i2pd formats it with
/// `gmtime` and `%04i%02i%02i`).
pub fn date_string(now: Date) -> [u8; 8] {
    let days = now.as_secs() / 86_400;
    let (y, m, d) = civil_from_days(days);
    let mut out = [b'0'; 8];
    let digits = [
        (y / 1000) % 10,
        (y / 100) % 10,
        (y / 10) % 10,
        y % 10,
        m / 10,
        m % 10,
        d / 10,
        d % 10,
    ];
    for (slot, digit) in out.iter_mut().zip(digits) {
        // digit < 10, so this always fits
        *slot = b'0' + u8::try_from(digit).unwrap_or(0);
    }
    out
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian calendar (the well-known
/// "civil from days" algorithm by Howard Hinnant, restricted to non-negative day counts).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// The routing key of `key` on the UTC day of `now`.
pub fn routing_key(key: &Hash, now: Date) -> Hash {
    Hash::from_bytes(i2p_crypto::sha256_parts(&[
        key.as_bytes(),
        &date_string(now),
    ]))
}

/// Start of the next UTC day after `now` (when routing keys change).
pub fn next_rotation(now: Date) -> Date {
    let day_ms = 86_400_000;
    Date::from_millis((now.as_millis() / day_ms + 1).saturating_mul(day_ms))
}

/// An XOR distance, ordered as a 256-bit big-endian number.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Distance([u8; 32]);

impl Distance {
    /// The distance between two hashes.
    pub fn between(a: &Hash, b: &Hash) -> Distance {
        let mut d = [0u8; 32];
        for ((out, x), y) in d.iter_mut().zip(a.as_bytes()).zip(b.as_bytes()) {
            *out = x ^ y;
        }
        Distance(d)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Number of leading zero bits (0..=256): the length of the common prefix.
    pub fn leading_zeros(&self) -> u32 {
        let mut n = 0;
        for b in self.0 {
            if b == 0 {
                n += 8;
            } else {
                return n + b.leading_zeros();
            }
        }
        n
    }
}

/// The up to `n` hashes from `candidates` closest to `target` (a routing key), nearest first,
/// skipping those in `exclude`. Ties (only possible for duplicate candidates) keep the first.
pub fn closest<'a>(
    target: &Hash,
    candidates: impl IntoIterator<Item = &'a Hash>,
    n: usize,
    exclude: &HashSet<Hash>,
) -> Vec<Hash> {
    if n == 0 {
        return Vec::new();
    }
    // keep a small sorted vector: n is tiny (3..16) in every caller except exploration's
    // exclude list (up to 512), where the table is the bound anyway
    let mut best: Vec<(Distance, Hash)> = Vec::with_capacity(n + 1);
    for h in candidates {
        if exclude.contains(h) {
            continue;
        }
        let d = Distance::between(target, h);
        if best.len() == n
            && best
                .last()
                .is_some_and(|(worst, _)| d.cmp(worst) != Ordering::Less)
        {
            continue;
        }
        let pos = best.partition_point(|(x, _)| *x <= d);
        if best.get(pos.wrapping_sub(1)).is_some_and(|(x, _)| *x == d) {
            continue; // duplicate
        }
        best.insert(pos, (d, *h));
        best.truncate(n);
    }
    best.into_iter().map(|(_, h)| h).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_strings() {
        assert_eq!(&date_string(Date::ZERO), b"19700101");
        // 2000-02-29T23:59:59.999Z
        assert_eq!(
            &date_string(Date::from_millis(951_868_799_999)),
            b"20000229"
        );
        assert_eq!(
            &date_string(Date::from_millis(951_868_800_000)),
            b"20000301"
        );
        // 2023-03-01T12:00:00Z
        assert_eq!(&date_string(Date::from_secs(1_677_672_000)), b"20230301");
        // 2106-02-07
        assert_eq!(
            &date_string(Date::from_secs(u64::from(u32::MAX))),
            b"21060207"
        );
    }

    #[test]
    fn routing_key_is_sha256_of_key_and_date() {
        let key = Hash::from_bytes([7; 32]);
        let now = Date::from_secs(1_677_672_000);
        let mut input = vec![7u8; 32];
        input.extend_from_slice(b"20230301");
        assert_eq!(
            routing_key(&key, now),
            Hash::from_bytes(i2p_crypto::sha256(&input))
        );
        // same day, same key; next day, a different one
        assert_eq!(
            routing_key(&key, now),
            routing_key(&key, now.saturating_add_millis(11 * 3_600_000))
        );
        let tomorrow = next_rotation(now);
        assert_eq!(tomorrow, Date::from_secs(1_677_715_200));
        assert_ne!(routing_key(&key, now), routing_key(&key, tomorrow));
        assert_eq!(
            routing_key(&key, tomorrow.saturating_sub_millis(1)),
            routing_key(&key, now)
        );
    }

    #[test]
    fn distance_order_and_prefix() {
        let zero = Hash::from_bytes([0; 32]);
        let mut a = [0u8; 32];
        a[31] = 1;
        let mut b = [0u8; 32];
        b[0] = 0x80;
        let (a, b) = (Hash::from_bytes(a), Hash::from_bytes(b));
        assert!(Distance::between(&zero, &a) < Distance::between(&zero, &b));
        assert_eq!(Distance::between(&zero, &zero).leading_zeros(), 256);
        assert_eq!(Distance::between(&zero, &a).leading_zeros(), 255);
        assert_eq!(Distance::between(&zero, &b).leading_zeros(), 0);
        assert_eq!(Distance::between(&a, &b), Distance::between(&b, &a));
    }

    #[test]
    fn closest_selection() {
        let target = Hash::from_bytes([0; 32]);
        let hs: Vec<Hash> = (1..=20u8)
            .rev()
            .map(|i| {
                let mut x = [0u8; 32];
                x[0] = i;
                Hash::from_bytes(x)
            })
            .collect();
        let pick = closest(&target, &hs, 3, &HashSet::new());
        let firsts: Vec<u8> = pick.iter().map(|h| h.as_bytes()[0]).collect();
        assert_eq!(firsts, [1, 2, 3]);
        let mut ex = HashSet::new();
        ex.insert(pick[0]);
        ex.insert(pick[2]);
        let pick = closest(&target, &hs, 3, &ex);
        let firsts: Vec<u8> = pick.iter().map(|h| h.as_bytes()[0]).collect();
        assert_eq!(firsts, [2, 4, 5]);
        assert!(closest(&target, &hs, 0, &HashSet::new()).is_empty());
        // duplicates are returned once
        let dup = [hs[0], hs[0], hs[1]];
        assert_eq!(closest(&target, &dup, 5, &HashSet::new()).len(), 2);
        // agrees with a full sort
        let mut sorted = hs.clone();
        sorted.sort_by_key(|h| Distance::between(&target, h));
        assert_eq!(closest(&target, &hs, 20, &HashSet::new()), sorted);
    }
}
