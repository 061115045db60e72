//! Per-operation timing summaries: median, p99 and mean of the samples, and
//! the throughput one core would reach doing nothing else.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub name: String,
    pub iterations: usize,
    pub median_us: f64,
    pub p99_us: f64,
    pub mean_us: f64,
    /// 1 s / mean: operations per second on one core, back to back.
    pub ops_per_s: f64,
}

/// The sample at quantile `q` of sorted samples (nearest rank: the smallest
/// value with at least `q` of the samples at or below it).
pub fn quantile(sorted: &[u64], q: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Summarizes samples in nanoseconds (sorts them).
pub fn summarize(name: &str, samples_ns: &mut [u64]) -> Summary {
    samples_ns.sort_unstable();
    let n = samples_ns.len();
    let us = |ns: u64| ns as f64 / 1_000.0;
    let mean_ns = if n == 0 { 0.0 } else { samples_ns.iter().map(|&s| s as f64).sum::<f64>() / n as f64 };
    Summary {
        name: name.to_owned(),
        iterations: n,
        median_us: us(quantile(samples_ns, 0.50)),
        p99_us: us(quantile(samples_ns, 0.99)),
        mean_us: mean_ns / 1_000.0,
        ops_per_s: if mean_ns > 0.0 { 1e9 / mean_ns } else { 0.0 },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_quantiles() {
        let sorted: Vec<u64> = (1..=100).collect();
        assert_eq!(quantile(&sorted, 0.50), 50);
        assert_eq!(quantile(&sorted, 0.99), 99);
        assert_eq!(quantile(&sorted, 1.0), 100);
        assert_eq!(quantile(&sorted, 0.0), 1);
        assert_eq!(quantile(&[7], 0.99), 7);
        assert_eq!(quantile(&[], 0.5), 0);
    }

    #[test]
    fn summary_in_microseconds_and_ops_per_second() {
        // Unsorted on purpose: 1, 2, 3, 4 ms and one 10 ms outlier.
        let mut samples = vec![4_000_000, 1_000_000, 10_000_000, 2_000_000, 3_000_000];
        let s = summarize("op", &mut samples);
        assert_eq!(s.iterations, 5);
        assert_eq!(s.median_us, 3_000.0);
        assert_eq!(s.p99_us, 10_000.0);
        assert_eq!(s.mean_us, 4_000.0);
        assert_eq!(s.ops_per_s, 250.0);
        let empty = summarize("none", &mut []);
        assert_eq!((empty.iterations, empty.ops_per_s), (0, 0.0));
    }
}
