//! Token-bucket rate limiting in integers: a bucket holds up to `burst`
//! tokens, refills at `rate_per_s` tokens a second, and each request takes
//! one. Kept in milli-tokens and milliseconds so that no floats are needed
//! and a refill of a fraction of a token is not lost.

/// How fast a client may go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub rate_per_s: u64,
    pub burst: u64,
}

pub const DEFAULT_RATE_PER_S: u64 = 20;
pub const DEFAULT_BURST: u64 = 100;
/// Larger settings are taken as mistakes (and would overflow the arithmetic).
const MAX_SETTING: u64 = 1_000_000;
const MILLI: u64 = 1000;

impl Limits {
    /// From the `rate_limit_rps` and `rate_limit_burst` variables; each one
    /// that is unset or not a whole number from 1 to a million takes its default.
    pub fn from_settings(rate_per_s: Option<&str>, burst: Option<&str>) -> Limits {
        let setting =
            |text: Option<&str>, default: u64| text.and_then(|t| t.trim().parse::<u64>().ok()).filter(|n| (1..=MAX_SETTING).contains(n)).unwrap_or(default);
        Limits { rate_per_s: setting(rate_per_s, DEFAULT_RATE_PER_S), burst: setting(burst, DEFAULT_BURST) }
    }

    fn capacity_milli(&self) -> u64 {
        self.burst * MILLI
    }

    /// `b` as it stands at `now_ms`, refilled for the time since it was stored.
    fn refilled(&self, b: Bucket, now_ms: u64) -> Bucket {
        // A clock that went back refills nothing (and keeps the later time).
        let elapsed_ms = now_ms.saturating_sub(b.at_ms);
        // rate tokens per second = rate milli-tokens per millisecond.
        let refill = elapsed_ms.saturating_mul(self.rate_per_s);
        Bucket { milli_tokens: b.milli_tokens.saturating_add(refill).min(self.capacity_milli()), at_ms: b.at_ms.max(now_ms) }
    }

    /// Whether `b` has refilled to the burst by `now_ms`: its client is then
    /// no different from one never seen.
    pub fn is_full(&self, b: &Bucket, now_ms: u64) -> bool {
        self.refilled(*b, now_ms).milli_tokens >= self.capacity_milli()
    }
}

/// A client's bucket as stored: its milli-tokens at `at_ms` (Unix milliseconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bucket {
    pub milli_tokens: u64,
    pub at_ms: u64,
}

impl Bucket {
    /// `"<milli_tokens>:<at_ms>"`: short, and readable in the store.
    pub fn encode(&self) -> String {
        format!("{}:{}", self.milli_tokens, self.at_ms)
    }

    /// `None` for anything else (treated as a new, full bucket).
    pub fn decode(bytes: &[u8]) -> Option<Bucket> {
        let text = std::str::from_utf8(bytes).ok()?;
        let (tokens, at) = text.split_once(':')?;
        Some(Bucket { milli_tokens: tokens.parse().ok()?, at_ms: at.parse().ok()? })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Let the request through and store this bucket.
    Allow(Bucket),
    /// Refuse it; the client may try again after this many whole seconds
    /// (at least 1). The stored bucket stays as it is.
    Deny { retry_after_s: u64 },
}

/// Takes one token from `stored` (a new client starts with a full bucket) at `now_ms`.
pub fn take(limits: Limits, stored: Option<Bucket>, now_ms: u64) -> Decision {
    let capacity = limits.capacity_milli();
    let bucket = match stored {
        None => Bucket { milli_tokens: capacity, at_ms: now_ms },
        Some(b) => limits.refilled(b, now_ms),
    };
    if bucket.milli_tokens >= MILLI {
        return Decision::Allow(Bucket { milli_tokens: bucket.milli_tokens - MILLI, ..bucket });
    }
    // With at least one token a second this is at most a second.
    let missing_ms = (MILLI - bucket.milli_tokens).div_ceil(limits.rate_per_s);
    Decision::Deny { retry_after_s: missing_ms.div_ceil(1000).max(1) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_795_392_000_000;

    fn allowed(d: Decision) -> Bucket {
        match d {
            Decision::Allow(b) => b,
            Decision::Deny { retry_after_s } => panic!("denied, retry after {retry_after_s} s"),
        }
    }

    #[test]
    fn settings_fall_back_to_defaults() {
        assert_eq!(Limits::from_settings(None, None), Limits { rate_per_s: 20, burst: 100 });
        assert_eq!(Limits::from_settings(Some(" 5 "), Some("7")), Limits { rate_per_s: 5, burst: 7 });
        for bad in ["", "x", "-1", "0", "1.5", "99999999999"] {
            assert_eq!(Limits::from_settings(Some(bad), Some(bad)), Limits { rate_per_s: 20, burst: 100 }, "{bad:?}");
        }
    }

    #[test]
    fn a_new_client_may_burst_then_is_refused() {
        let limits = Limits { rate_per_s: 1, burst: 3 };
        let mut stored = None;
        for expected_left in [2000, 1000, 0] {
            let b = allowed(take(limits, stored, T0));
            assert_eq!(b.milli_tokens, expected_left);
            stored = Some(b);
        }
        assert_eq!(take(limits, stored, T0), Decision::Deny { retry_after_s: 1 });
    }

    #[test]
    fn refill_follows_the_clock_and_stops_at_the_burst() {
        let limits = Limits { rate_per_s: 2, burst: 5 };
        let empty = Some(Bucket { milli_tokens: 0, at_ms: T0 });
        // 2 tokens a second: after 250 ms half a token, not enough.
        assert!(matches!(take(limits, empty, T0 + 250), Decision::Deny { .. }));
        // After 500 ms one token, taken at once.
        assert_eq!(allowed(take(limits, empty, T0 + 500)), Bucket { milli_tokens: 0, at_ms: T0 + 500 });
        // Fractions are kept: 750 ms is 1.5 tokens, one taken, half left.
        assert_eq!(allowed(take(limits, empty, T0 + 750)).milli_tokens, 500);
        // An hour later the bucket is only full (5), not 7200 tokens.
        assert_eq!(allowed(take(limits, empty, T0 + 3_600_000)).milli_tokens, 4000);
    }

    #[test]
    fn retry_after_is_whole_seconds_and_at_least_one() {
        let slow = Limits { rate_per_s: 1, burst: 1 };
        let empty = Some(Bucket { milli_tokens: 0, at_ms: T0 });
        assert_eq!(take(slow, empty, T0), Decision::Deny { retry_after_s: 1 });
        let almost = Some(Bucket { milli_tokens: 999, at_ms: T0 });
        assert_eq!(take(slow, almost, T0), Decision::Deny { retry_after_s: 1 });
        let fast = Limits { rate_per_s: 1000, burst: 10 };
        assert_eq!(take(fast, empty, T0), Decision::Deny { retry_after_s: 1 });
        // 0.2 s of 0.8 s still missing is rounded up to a whole second.
        assert_eq!(take(slow, empty, T0 + 200), Decision::Deny { retry_after_s: 1 });
    }

    #[test]
    fn a_clock_going_back_refills_nothing() {
        let limits = Limits { rate_per_s: 10, burst: 10 };
        let stored = Some(Bucket { milli_tokens: 1500, at_ms: T0 });
        assert_eq!(allowed(take(limits, stored, T0 - 60_000)), Bucket { milli_tokens: 500, at_ms: T0 });
    }

    #[test]
    fn buckets_round_trip_and_junk_is_a_new_bucket() {
        let b = Bucket { milli_tokens: 12_345, at_ms: T0 };
        assert_eq!(Bucket::decode(b.encode().as_bytes()), Some(b));
        for junk in [&b""[..], b"12", b"a:b", b"1:2:3", b"\xff"] {
            assert_eq!(Bucket::decode(junk), None, "{junk:?}");
        }
    }
}
