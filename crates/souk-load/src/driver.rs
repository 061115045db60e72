//! Driving the load: one task per connection, each a virtual user sending
//! requests back to back over one keep-alive HTTP/1.1 connection.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::task::JoinSet;
use tokio::time::{Instant, sleep, timeout};

use crate::cli::{Stop, Target};
use crate::client::{Sender, build_request, connect, exchange, host_header};
use crate::scenario::{Scenario, VirtualUser, user_seed};
use crate::stats::{Stats, TransportError};

/// Pause after a failed connect, doubling up to the maximum, so a server
/// that is down is not hammered in a tight loop.
const MIN_BACKOFF: Duration = Duration::from_millis(5);
const MAX_BACKOFF: Duration = Duration::from_millis(250);

/// What to run.
#[derive(Debug, Clone)]
pub struct Plan {
    pub addr: SocketAddr,
    pub target: Target,
    pub connections: u32,
    pub stop: Stop,
    /// Per request (and per connect).
    pub timeout: Duration,
    pub seed: u64,
}

/// State shared by the connection tasks and the progress line.
#[derive(Debug)]
pub struct Live {
    pub started: Instant,
    pub measure_from: Instant,
    /// Requests finished (response or transport error) after the warm-up.
    pub measured: AtomicU64,
    /// Requests finished during the warm-up.
    pub warmup: AtomicU64,
    /// Measured requests that failed: an unexpected status or no response.
    pub errors: AtomicU64,
    /// Requests claimed so far under `--requests`.
    tickets: AtomicU64,
    stop: AtomicBool,
}

impl Live {
    pub fn new(warmup: Duration) -> Self {
        let started = Instant::now();
        Live {
            started,
            measure_from: started + warmup,
            measured: AtomicU64::new(0),
            warmup: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            tickets: AtomicU64::new(0),
            stop: AtomicBool::new(false),
        }
    }

    /// Asks every task to stop after its request in flight (Ctrl-C).
    pub fn request_stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Whether a measured request may start now.
    fn claim(&self, stop: Stop, now: Instant) -> bool {
        match stop {
            Stop::After(d) => now < self.measure_from + d,
            Stop::Requests(n) => self.tickets.fetch_add(1, Ordering::Relaxed) < n,
        }
    }

    fn finished(&self, measured: bool, failed: bool) {
        if measured && failed {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        let counter = if measured { &self.measured } else { &self.warmup };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// What a run recorded.
#[derive(Debug)]
pub struct Outcome {
    pub stats: Stats,
    /// From the end of the warm-up to the last task's end.
    pub elapsed: Duration,
}

/// Runs `plan`; `live` fixes when the warm-up ends (see [`Live::new`]).
pub async fn run(plan: Plan, scenario: &dyn Scenario, live: Arc<Live>) -> Outcome {
    let plan = Arc::new(plan);
    let mut tasks = JoinSet::new();
    for index in 0..plan.connections {
        let user = scenario.user(index, user_seed(plan.seed, index));
        tasks.spawn(virtual_user(plan.clone(), user, live.clone()));
    }
    let mut stats = Stats::default();
    while let Some(done) = tasks.join_next().await {
        stats.merge(&done.expect("connection task panicked"));
    }
    Outcome { stats, elapsed: Instant::now().saturating_duration_since(live.measure_from) }
}

async fn virtual_user(plan: Arc<Plan>, mut user: Box<dyn VirtualUser>, live: Arc<Live>) -> Stats {
    let mut stats = Stats::default();
    let mut conn: Option<Sender> = None;
    let mut ever_connected = false;
    let mut backoff = MIN_BACKOFF;
    let host = host_header(&plan.target);

    while !live.stopped() {
        let now = Instant::now();
        let measured = now >= live.measure_from;
        if measured && !live.claim(plan.stop, now) {
            break;
        }
        let spec = user.next_request();

        // A connection the server closed (or that failed) is replaced.
        if let Some(sender) = conn.as_mut()
            && sender.ready().await.is_err()
        {
            conn = None;
        }
        let sender = match conn.as_mut() {
            Some(sender) => sender,
            None => match timeout(plan.timeout, connect(plan.addr)).await {
                Ok(Ok(sender)) => {
                    if ever_connected && measured {
                        stats.reconnects += 1;
                    }
                    ever_connected = true;
                    backoff = MIN_BACKOFF;
                    conn.insert(sender)
                }
                Ok(Err(_)) | Err(_) => {
                    if measured {
                        stats.endpoint(spec.endpoint).record_transport_error(TransportError::Connect);
                    }
                    live.finished(measured, true);
                    sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    continue;
                }
            },
        };

        let request = build_request(&spec, &plan.target, &host);
        let sent = Instant::now();
        let result = match timeout(plan.timeout, exchange(sender, request)).await {
            Ok(result) => result,
            Err(_) => Err(TransportError::Timeout),
        };
        let latency = sent.elapsed();
        let failed = match result {
            Ok((status, body)) => {
                let expected = spec.expect.accepts(status);
                if measured {
                    stats.endpoint(spec.endpoint).record_response(status, expected, latency);
                }
                user.on_response(status, &body);
                !expected
            }
            Err(kind) => {
                conn = None;
                if measured {
                    stats.endpoint(spec.endpoint).record_transport_error(kind);
                }
                true
            }
        };
        live.finished(measured, failed);
    }
    stats
}

#[cfg(test)]
mod tests;
