//! The rate limiter under concurrency: a burst of parallel requests from
//! one client never gets more through than its bucket holds.

use std::sync::Barrier;
use std::time::Instant;

use super::{Shop, error_code};

#[test]
fn parallel_requests_never_overspend_a_bucket() {
    const BURST: u64 = 10;
    const RATE_PER_S: u64 = 1;
    const REQUESTS: usize = 128;
    let (rate, burst) = (RATE_PER_S.to_string(), BURST.to_string());
    let env = [("SPIN_VARIABLE_RATE_LIMIT_RPS", rate.as_str()), ("SPIN_VARIABLE_RATE_LIMIT_BURST", burst.as_str())];
    // As `scripts/up` runs the shop (Spin 4's instance reuse), with many
    // requests in one instance at once as well as in several instances.
    super::warm_up();
    let state = tempfile::tempdir().unwrap();
    let souk = super::start_app_in(
        &crate::harness::workspace_root(),
        state.path(),
        &env,
        &["--max-instance-reuse-count", "1000", "--max-instance-concurrent-reuse-count", "64"],
    );
    let shop = Shop { souk, state };
    let client = shop.anonymous();
    let start = Barrier::new(REQUESTS);
    let began = Instant::now();
    // Every request from 127.0.0.1: one client, one bucket.
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let threads: Vec<_> = (0..REQUESTS)
            .map(|_| {
                s.spawn(|| {
                    start.wait();
                    let r = client.get("/api/v1/openapi.json");
                    assert!(matches!(r.status, 200 | 429), "{} {}", r.status, r.body);
                    if r.status == 429 {
                        assert_eq!(error_code(&r), "rate_limited");
                        assert!(r.header("retry-after").is_some_and(|s| s.parse::<u64>().is_ok_and(|s| s >= 1)), "{:?}", r.headers);
                    }
                    r.status
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let elapsed = began.elapsed();
    let allowed = statuses.iter().filter(|s| **s == 200).count() as u64;
    // The bucket starts full and refills while the requests run; the bound
    // counts every whole token the refill could have added in the time
    // measured (2 ms for the gateway's clock, in whole milliseconds).
    let refilled = (elapsed.as_millis() as u64 + 2) * RATE_PER_S / 1000;
    assert!(allowed >= 1, "the limiter let nothing through: {statuses:?}");
    assert!(
        allowed <= BURST + refilled,
        "{allowed} of {REQUESTS} parallel requests got through a bucket of {BURST} that refilled at most {refilled} in {elapsed:?}"
    );
    assert!(statuses.contains(&429), "{statuses:?}");
}
