//! Taking one token from a client's bucket in the key-value store, as a
//! compare-and-swap of its slot (`shop_common::kv::update` over
//! `wasi:keyvalue/atomics`): a request that loses the race to another
//! request on the same slot decides again on the bucket that one stored, so
//! concurrent requests never spend a token twice.

use shop_common::ApiError;
use shop_common::kv::{self, Kv};

use crate::bucket::{self, Decision, Limits};
use crate::slots::{self, Slot};

/// What became of the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A token was taken (and stored).
    Allowed,
    /// None left: 429, to try again after this many seconds.
    Limited { retry_after_s: u64 },
}

/// Takes a token for `client` from the slot at `key` at `now_ms`. A slot
/// that kept changing under other requests for all of
/// [`kv::UPDATE_ATTEMPTS`] tries is as good as empty: the request is
/// limited (for a second) rather than let through unaccounted. `Err` only
/// when the store fails.
pub async fn take_token<K: Kv>(store: &K, key: &str, limits: Limits, client: &str, now_ms: u64) -> Result<Outcome, ApiError> {
    let taken = kv::update(store, key, |stored| {
        let (bucket, owner) = slots::claim(limits, stored.and_then(Slot::decode), client, now_ms);
        match bucket::take(limits, bucket, now_ms) {
            Decision::Allow(bucket) => Ok((Slot { owner, bucket }.encode().into_bytes(), ())),
            // Refused: nothing is written.
            Decision::Deny { retry_after_s } => Err(ApiError::too_many_requests(retry_after_s)),
        }
    })
    .await;
    match taken {
        Ok(()) => Ok(Outcome::Allowed),
        Err(e) if e.status == 429 => Ok(Outcome::Limited { retry_after_s: e.retry_after.unwrap_or(1) }),
        Err(e) if e.status == 409 => Ok(Outcome::Limited { retry_after_s: 1 }),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bucket::Bucket;
    use futures::executor::block_on;
    use shop_common::kv::memory::MemoryKv;

    const T0: u64 = 1_795_392_000_000;
    const LIMITS: Limits = Limits { rate_per_s: 1, burst: 3 };
    const ME: &str = "ip:192.0.2.1";

    fn slot(milli_tokens: u64) -> Vec<u8> {
        Slot { owner: ME.into(), bucket: Bucket { milli_tokens, at_ms: T0 } }.encode().into_bytes()
    }

    fn stored(kv: &MemoryKv) -> Slot {
        Slot::decode(&block_on(kv.get("slot:1")).unwrap().expect("a stored slot")).expect("a slot")
    }

    #[test]
    fn a_new_client_spends_its_burst_then_is_limited() {
        let kv = MemoryKv::default();
        for left in [2000, 1000, 0] {
            assert_eq!(block_on(take_token(&kv, "slot:1", LIMITS, ME, T0)).unwrap(), Outcome::Allowed);
            assert_eq!(stored(&kv).bucket.milli_tokens, left);
        }
        assert_eq!(block_on(take_token(&kv, "slot:1", LIMITS, ME, T0)).unwrap(), Outcome::Limited { retry_after_s: 1 });
        assert_eq!(stored(&kv).bucket.milli_tokens, 0, "a refusal writes nothing");
    }

    #[test]
    fn a_lost_race_decides_again_on_the_bucket_the_other_request_stored() {
        let kv = MemoryKv::default();
        block_on(kv.set("slot:1", &slot(2000))).unwrap();
        // Another request takes a token between this one's read and write.
        kv.interleave("slot:1", &[&slot(1000)]);
        assert_eq!(block_on(take_token(&kv, "slot:1", LIMITS, ME, T0)).unwrap(), Outcome::Allowed);
        assert_eq!(stored(&kv).bucket.milli_tokens, 0, "both tokens are spent, not one twice");
    }

    #[test]
    fn the_last_token_goes_to_one_of_two_racing_requests() {
        let kv = MemoryKv::default();
        block_on(kv.set("slot:1", &slot(1000))).unwrap();
        kv.interleave("slot:1", &[&slot(0)]);
        assert_eq!(block_on(take_token(&kv, "slot:1", LIMITS, ME, T0)).unwrap(), Outcome::Limited { retry_after_s: 1 });
        assert_eq!(stored(&kv).bucket.milli_tokens, 0);
    }

    #[test]
    fn a_slot_that_keeps_changing_limits_the_request_and_writes_nothing_of_its_own() {
        let kv = MemoryKv::default();
        block_on(kv.set("slot:1", &slot(3000))).unwrap();
        let others: Vec<Vec<u8>> = (0..kv::UPDATE_ATTEMPTS as u64).map(|i| slot(2999 - i)).collect();
        kv.interleave("slot:1", &others.iter().map(Vec::as_slice).collect::<Vec<_>>());
        assert_eq!(block_on(take_token(&kv, "slot:1", LIMITS, ME, T0)).unwrap(), Outcome::Limited { retry_after_s: 1 });
        assert_eq!(block_on(kv.get("slot:1")).unwrap(), others.last().cloned());
    }
}
