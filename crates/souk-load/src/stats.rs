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

/// Which response statuses a request expects; any other status is an error.
/// Each request says what it expects (a register 201, an order 201 or 409).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    Any2xx,
    Status(u16),
    AnyOf(&'static [u16]),
}

impl Expect {
    pub fn accepts(self, status: u16) -> bool {
        match self {
            Expect::Any2xx => (200..300).contains(&status),
            Expect::Status(code) => status == code,
            Expect::AnyOf(codes) => codes.contains(&status),
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
    /// The responses among those whose status their request did not expect.
    pub unexpected: BTreeMap<u16, u64>,
    /// Requests that got no response, by cause.
    pub transport: BTreeMap<TransportError, u64>,
    /// Latency of every response (not of transport errors), in µs.
    pub latency_us: Histogram<u64>,
}

impl Default for EndpointStats {
    fn default() -> Self {
        EndpointStats { statuses: BTreeMap::new(), unexpected: BTreeMap::new(), transport: BTreeMap::new(), latency_us: new_histogram() }
    }
}

impl EndpointStats {
    /// One response; `expected` is whether its request expected this status.
    pub fn record_response(&mut self, status: u16, expected: bool, latency: Duration) {
        *self.statuses.entry(status).or_default() += 1;
        if !expected {
            *self.unexpected.entry(status).or_default() += 1;
        }
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

    /// Unexpected responses plus transport errors.
    pub fn errors(&self) -> u64 {
        self.unexpected.values().sum::<u64>() + self.transport_errors()
    }

    pub fn merge(&mut self, other: &EndpointStats) {
        for (status, n) in &other.statuses {
            *self.statuses.entry(*status).or_default() += n;
        }
        for (status, n) in &other.unexpected {
            *self.unexpected.entry(*status).or_default() += n;
        }
        for (kind, n) in &other.transport {
            *self.transport.entry(*kind).or_default() += n;
        }
        // Same bounds on both sides, so adding cannot fail.
        self.latency_us.add(&other.latency_us).expect("histograms share bounds");
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
        assert!(Expect::Any2xx.accepts(200) && Expect::Any2xx.accepts(204));
        assert!(!Expect::Any2xx.accepts(301) && !Expect::Any2xx.accepts(500));
        assert!(Expect::Status(404).accepts(404) && !Expect::Status(404).accepts(200));
        let order = Expect::AnyOf(&[201, 409]);
        assert!(order.accepts(201) && order.accepts(409) && !order.accepts(200));
    }

    #[test]
    fn counts_unexpected_statuses_and_transport_errors_as_errors() {
        let mut e = EndpointStats::default();
        e.record_response(200, true, us(100));
        e.record_response(409, true, us(100));
        e.record_response(503, false, us(100));
        e.record_transport_error(TransportError::Connect);
        assert_eq!(e.requests(), 4);
        assert_eq!(e.responses(), 3);
        assert_eq!(e.errors(), 2);
        assert_eq!(e.unexpected, BTreeMap::from([(503, 1)]));
        // Transport errors have no latency.
        assert_eq!(e.latency_us.len(), 3);
    }

    #[test]
    fn latency_is_clamped_to_the_histogram_range() {
        let mut e = EndpointStats::default();
        e.record_response(200, true, Duration::ZERO);
        e.record_response(200, true, Duration::from_secs(3600));
        assert_eq!(e.latency_us.len(), 2);
        assert_eq!(e.latency_us.min(), 1);
        assert!(e.latency_us.max() >= HIGHEST_US && e.latency_us.max() < HIGHEST_US + HIGHEST_US / 500);
    }

    #[test]
    fn merging_adds_counts_and_histograms() {
        let mut a = Stats::default();
        let mut b = Stats::default();
        for i in 1..=100 {
            a.endpoint("GET /a").record_response(200, true, us(i));
            b.endpoint("GET /a").record_response(200, true, us(1000 + i));
        }
        b.endpoint("GET /b").record_response(500, false, us(7));
        b.endpoint("GET /b").record_transport_error(TransportError::Timeout);
        b.reconnects = 2;

        a.merge(&b);
        assert_eq!(a.reconnects, 2);
        assert_eq!(a.endpoints.keys().copied().collect::<Vec<_>>(), ["GET /a", "GET /b"]);
        let ea = &a.endpoints["GET /a"];
        assert_eq!(ea.statuses[&200], 200);
        assert_eq!(ea.latency_us.len(), 200);
        assert_eq!(ea.latency_us.value_at_quantile(0.5), 100);
        assert_eq!(ea.latency_us.max(), 1100);

        let total = a.total();
        assert_eq!(total.requests(), 202);
        assert_eq!(total.statuses[&500], 1);
        assert_eq!(total.transport[&TransportError::Timeout], 1);
        assert_eq!(total.errors(), 2);
        assert_eq!(total.unexpected[&500], 1);
        assert_eq!(total.latency_us.len(), 201);
    }
}
