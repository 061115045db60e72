//! Where a client's token bucket is kept: one of [`SLOTS`] keys, picked by
//! a keyed hash of the client, so that the store holds at most that many
//! entries however many clients (or IPv6 addresses) come by. The key-value
//! store has no expiry, and a key per client would grow without end.
//!
//! A slot remembers whose bucket it holds. Another client hashed to the
//! same slot takes it over once the owner's bucket has refilled (the owner
//! is then no different from a new client); until then the two share it,
//! which can only make the limit stricter for them, never looser.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::bucket::{Bucket, Limits};

/// 65,536 entries of under 100 bytes: a few MiB at most.
pub const SLOTS: u32 = 1 << 16;

/// The store key of `client`'s slot. The hash is keyed with `key` (the
/// `rate_limit_key` variable, a secret of the gateway's own, see
/// `decide::slot_key`) so that nobody outside can aim at another client's slot.
pub fn slot_key(key: &[u8], client: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(client.as_bytes());
    let digest = mac.finalize().into_bytes();
    let slot = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]) % SLOTS;
    format!("slot:{slot}")
}

/// A slot's content: its owner and the owner's bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    pub owner: String,
    pub bucket: Bucket,
}

impl Slot {
    /// `"<milli_tokens>:<at_ms>:<owner>"` (the owner last: it may hold colons).
    pub fn encode(&self) -> String {
        format!("{}:{}", self.bucket.encode(), self.owner)
    }

    /// `None` for anything else (taken as an empty slot).
    pub fn decode(bytes: &[u8]) -> Option<Slot> {
        let text = std::str::from_utf8(bytes).ok()?;
        // The bucket is what comes before the second colon.
        let (end, _) = text.match_indices(':').nth(1)?;
        let bucket = Bucket::decode(&text.as_bytes()[..end])?;
        Some(Slot { owner: text[end + 1..].to_owned(), bucket })
    }
}

/// The bucket `client` takes from, given its slot's content at `now_ms`,
/// and who owns the slot afterwards: its own bucket; a new one (`None`) when
/// the slot is empty or its owner's bucket has refilled; else the owner's,
/// shared.
pub fn claim(limits: Limits, stored: Option<Slot>, client: &str, now_ms: u64) -> (Option<Bucket>, String) {
    match stored {
        Some(slot) if slot.owner == client => (Some(slot.bucket), slot.owner),
        Some(slot) if !limits.is_full(&slot.bucket, now_ms) => (Some(slot.bucket), slot.owner),
        _ => (None, client.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bucket::{Decision, take};

    const T0: u64 = 1_795_392_000_000;
    const LIMITS: Limits = Limits { rate_per_s: 10, burst: 5 };

    #[test]
    fn slots_are_spread_fixed_in_number_and_depend_on_the_key() {
        let keys: std::collections::HashSet<String> = (0..10_000).map(|i| slot_key(b"secret", &format!("ip:10.0.{}.{}", i / 256, i % 256))).collect();
        // 10,000 clients in 65,536 slots: a few collide, most do not.
        assert!(keys.len() > 9_000, "{}", keys.len());
        assert!(keys.iter().all(|k| k.strip_prefix("slot:").and_then(|n| n.parse::<u32>().ok()).is_some_and(|n| n < SLOTS)));
        assert_eq!(slot_key(b"secret", "ip:10.0.0.1"), slot_key(b"secret", "ip:10.0.0.1"));
        let moved = (0..100).filter(|i| slot_key(b"secret", &format!("user:{i}")) != slot_key(b"other", &format!("user:{i}"))).count();
        assert!(moved > 90, "{moved}");
    }

    #[test]
    fn a_slot_round_trips_with_colons_in_its_owner_and_junk_is_empty() {
        let slot = Slot { owner: "ip:2001:db8::".into(), bucket: Bucket { milli_tokens: 1500, at_ms: T0 } };
        assert_eq!(Slot::decode(slot.encode().as_bytes()), Some(slot));
        for junk in [&b""[..], b"1:2", b"a:2:x", b"1:b:x", b"\xff"] {
            assert_eq!(Slot::decode(junk), None, "{junk:?}");
        }
    }

    #[test]
    fn the_owner_keeps_its_bucket() {
        let stored = Slot { owner: "ip:1.2.3.4".into(), bucket: Bucket { milli_tokens: 0, at_ms: T0 } };
        let (bucket, owner) = claim(LIMITS, Some(stored.clone()), "ip:1.2.3.4", T0);
        assert_eq!((bucket, owner.as_str()), (Some(stored.bucket), "ip:1.2.3.4"));
        assert!(matches!(take(LIMITS, bucket, T0), Decision::Deny { .. }));
    }

    #[test]
    fn a_newcomer_takes_over_a_refilled_slot_and_shares_a_busy_one() {
        let busy = Slot { owner: "ip:1.2.3.4".into(), bucket: Bucket { milli_tokens: 1000, at_ms: T0 } };
        // Four tokens short at ten a second: full again 400 ms later.
        let (bucket, owner) = claim(LIMITS, Some(busy.clone()), "ip:5.6.7.8", T0 + 399);
        assert_eq!((bucket, owner.as_str()), (Some(busy.bucket), "ip:1.2.3.4"), "shared while the owner's bucket refills");
        let (bucket, owner) = claim(LIMITS, Some(busy), "ip:5.6.7.8", T0 + 400);
        assert_eq!((bucket, owner.as_str()), (None, "ip:5.6.7.8"), "taken over, as a new client");
        assert_eq!(claim(LIMITS, None, "ip:5.6.7.8", T0), (None, "ip:5.6.7.8".to_owned()));
    }
}
