//! Recording: per-endpoint counts and latency histograms, one set per
//! connection task, merged at the end.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;

/// Latencies are recorded in microseconds, 1µs..60s, 3 significant digits.
pub const LOWEST_US: u64 = 1;
pub const HIGHEST_US: u64 = 60_000_000;
pub const SIGFIGS: u8 = 3;

pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(LOWEST_US, HIGHEST_US, SIGFIGS).expect("valid histogram bounds")
}

/// Which response statuses count as success.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expectation {
    Any2xx,
    Exactly(u16),
}

impl Expectation {
    pub fn accepts(self, status: u16) -> bool {
        match self {
            Expectation::Any2xx => (200..300).contains(&status),
            Expectation::Exactly(code) => status == code,
        }
    }

    pub fn describe(self) -> String {
        match self {
            Expectation::Any2xx => "any 2xx".to_string(),
            Expectation::Exactly(code) => code.to_string(),
        }
    }
}

/// Why a request got no response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TransportError {
    /// Could not open the TCP connection or do the HTTP handshake.
    Connect,
    /// The connection failed while sending or before the response head.
    Send,
    /// The connection failed while reading the response body.
    Body,
    /// No complete response within `--timeout`.
    Timeout,
}

impl TransportError {
    pub fn as_str(self) -> &'static str {
        match self {
            TransportError::Connect => "connect",
            TransportError::Send => "send",
            TransportError::Body => "body",
            TransportError::Timeout => "timeout",
        }
    }
}

/// Everything recorded for one endpoint.
#[derive(Debug, Clone)]
pub struct EndpointStats {
    /// Responses by status code.
    pub statuses: BTreeMap<u16, u64>,
    /// Requests that got no response, by cause.
    pub transport: BTreeMap<TransportError, u64>,
    /// Latency of every response (not of transport errors), in µs.
    pub latency_us: Histogram<u64>,
}

impl Default for EndpointStats {
    fn default() -> Self {
        EndpointStats {
            statuses: BTreeMap::new(),
            transport: BTreeMap::new(),
            latency_us: new_histogram(),
        }
    }
}

impl EndpointStats {
    pub fn record_response(&mut self, status: u16, latency: Duration) {
        *self.statuses.entry(status).or_default() += 1;
        let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.latency_us.saturating_record(us.max(LOWEST_US));
    }

    pub fn record_transport_error(&mut self, kind: TransportError) {
        *self.transport.entry(kind).or_default() += 1;
    }

    pub fn responses(&self) -> u64 {
        self.statuses.values().sum()
    }

    pub fn transport_errors(&self) -> u64 {
        self.transport.values().sum()
    }

    /// Every request attempt: responses plus transport errors.
    pub fn requests(&self) -> u64 {
        self.responses() + self.transport_errors()
    }

    /// Responses the expectation rejects plus transport errors.
    pub fn errors(&self, expect: Expectation) -> u64 {
        let bad_statuses: u64 = self
            .statuses
            .iter()
            .filter(|(status, _)| !expect.accepts(**status))
            .map(|(_, n)| n)
            .sum();
        bad_statuses + self.transport_errors()
    }

    pub fn merge(&mut self, other: &EndpointStats) {
        for (status, n) in &other.statuses {
            *self.statuses.entry(*status).or_default() += n;
        }
        for (kind, n) in &other.transport {
            *self.transport.entry(*kind).or_default() += n;
        }
        // Same bounds on both sides, so adding cannot fail.
        self.latency_us
            .add(&other.latency_us)
            .expect("histograms share bounds");
    }
}

/// Per-endpoint stats, keyed by endpoint name (sorted, so reports are stable).
#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub endpoints: BTreeMap<&'static str, EndpointStats>,
    /// Connections opened after a task's first one (after an error or a close).
    pub reconnects: u64,
}

impl Stats {
    pub fn endpoint(&mut self, name: &'static str) -> &mut EndpointStats {
        self.endpoints.entry(name).or_default()
    }

    pub fn merge(&mut self, other: &Stats) {
        for (name, stats) in &other.endpoints {
            self.endpoint(name).merge(stats);
        }
        self.reconnects += other.reconnects;
    }

    /// All endpoints together.
    pub fn total(&self) -> EndpointStats {
        let mut total = EndpointStats::default();
        for stats in self.endpoints.values() {
            total.merge(stats);
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us(n: u64) -> Duration {
        Duration::from_micros(n)
    }

    #[test]
    fn expectations() {
        assert!(Expectation::Any2xx.accepts(200) && Expectation::Any2xx.accepts(204));
        assert!(!Expectation::Any2xx.accepts(301) && !Expectation::Any2xx.accepts(500));
        assert!(Expectation::Exactly(404).accepts(404) && !Expectation::Exactly(404).accepts(200));
    }

    #[test]
    fn counts_errors_against_the_expectation() {
        let mut e = EndpointStats::default();
        e.record_response(200, us(100));
        e.record_response(201, us(100));
        e.record_response(503, us(100));
        e.record_transport_error(TransportError::Connect);
        assert_eq!(e.requests(), 4);
        assert_eq!(e.responses(), 3);
        assert_eq!(e.errors(Expectation::Any2xx), 2);
        assert_eq!(e.errors(Expectation::Exactly(200)), 3);
        // Transport errors have no latency.
        assert_eq!(e.latency_us.len(), 3);
    }

    #[test]
    fn latency_is_clamped_to_the_histogram_range() {
        let mut e = EndpointStats::default();
        e.record_response(200, Duration::ZERO);
        e.record_response(200, Duration::from_secs(3600));
        assert_eq!(e.latency_us.len(), 2);
        assert_eq!(e.latency_us.min(), 1);
        assert!(
            e.latency_us.max() >= HIGHEST_US && e.latency_us.max() < HIGHEST_US + HIGHEST_US / 500
        );
    }

    #[test]
    fn merging_adds_counts_and_histograms() {
        let mut a = Stats::default();
        let mut b = Stats::default();
        for i in 1..=100 {
            a.endpoint("GET /a").record_response(200, us(i));
            b.endpoint("GET /a").record_response(200, us(1000 + i));
        }
        b.endpoint("GET /b").record_response(500, us(7));
        b.endpoint("GET /b")
            .record_transport_error(TransportError::Timeout);
        b.reconnects = 2;

        a.merge(&b);
        assert_eq!(a.reconnects, 2);
        assert_eq!(
            a.endpoints.keys().copied().collect::<Vec<_>>(),
            ["GET /a", "GET /b"]
        );
        let ea = &a.endpoints["GET /a"];
        assert_eq!(ea.statuses[&200], 200);
        assert_eq!(ea.latency_us.len(), 200);
        assert_eq!(ea.latency_us.value_at_quantile(0.5), 100);
        assert_eq!(ea.latency_us.max(), 1100);

        let total = a.total();
        assert_eq!(total.requests(), 202);
        assert_eq!(total.statuses[&500], 1);
        assert_eq!(total.transport[&TransportError::Timeout], 1);
        assert_eq!(total.errors(Expectation::Any2xx), 2);
        assert_eq!(total.latency_us.len(), 201);
    }
}
