//! The driver against a tiny HTTP/1.1 server on 127.0.0.1:0 inside the test.
//! Every run is bounded by a request count; the assertions are about counts,
//! never about timing.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Mutex;
use std::thread;

use super::*;
use crate::cli::parse_target;
use crate::scenario::{self, ScenarioName};
use crate::stats::Expectation;

/// How the test server answers.
#[derive(Clone, Copy)]
struct Behaviour {
    status: u16,
    /// Answer with `connection: close` and hang up after this many responses
    /// on one connection.
    close_after: Option<u64>,
}

const OK: Behaviour = Behaviour {
    status: 200,
    close_after: None,
};

#[derive(Default)]
struct Seen {
    connections: AtomicU64,
    requests: AtomicU64,
    first_head: Mutex<Option<String>>,
}

/// Starts the server on plain threads (one per connection); it lives until
/// the test process ends.
fn serve(behaviour: Behaviour) -> (SocketAddr, Arc<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Seen::default());
    let counters = seen.clone();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            counters.connections.fetch_add(1, Ordering::SeqCst);
            let counters = counters.clone();
            thread::spawn(move || serve_connection(stream, behaviour, &counters));
        }
    });
    (addr, seen)
}

/// Answers body-less requests on one connection until the client leaves.
fn serve_connection(mut stream: std::net::TcpStream, behaviour: Behaviour, seen: &Seen) {
    let _ = stream.set_nodelay(true);
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let mut served = 0u64;
    loop {
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            match stream.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head: Vec<u8> = buf.drain(..head_end).collect();
        seen.requests.fetch_add(1, Ordering::SeqCst);
        seen.first_head
            .lock()
            .unwrap()
            .get_or_insert_with(|| String::from_utf8_lossy(&head).into_owned());

        served += 1;
        let closing = behaviour.close_after.is_some_and(|n| served >= n);
        let body = "hello";
        let response = format!(
            "HTTP/1.1 {} X\r\ncontent-length: {}\r\n{}\r\n{}",
            behaviour.status,
            body.len(),
            if closing { "connection: close\r\n" } else { "" },
            body
        );
        if stream.write_all(response.as_bytes()).is_err() || closing {
            return;
        }
    }
}

fn plan(addr: SocketAddr, url: &str, connections: u32, requests: u64) -> Plan {
    Plan {
        addr,
        target: parse_target(url).unwrap(),
        connections,
        stop: Stop::Requests(requests),
        timeout: Duration::from_secs(30),
        seed: 1,
    }
}

async fn run_hello(plan: Plan, warmup: Duration) -> (Outcome, Arc<Live>) {
    let scenario = scenario::build(
        ScenarioName::Hello,
        &scenario::Options {
            path: "/hello".into(),
        },
    );
    let live = Arc::new(Live::new(warmup));
    let outcome = run(plan, scenario.as_ref(), live.clone()).await;
    (outcome, live)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_run_counts_every_request() {
    let (addr, seen) = serve(OK);
    let url = format!("http://{addr}");
    let (outcome, live) = run_hello(plan(addr, &url, 4, 200), Duration::ZERO).await;

    let total = outcome.stats.total();
    assert_eq!(total.requests(), 200);
    assert_eq!(total.statuses.get(&200), Some(&200));
    assert_eq!(total.errors(Expectation::Any2xx), 0);
    assert!(total.transport.is_empty());
    assert_eq!(total.latency_us.len(), 200);
    assert_eq!(
        outcome.stats.endpoints.keys().copied().collect::<Vec<_>>(),
        ["GET /hello"]
    );
    assert_eq!(outcome.stats.reconnects, 0);
    assert_eq!(live.measured.load(Ordering::SeqCst), 200);
    // One keep-alive connection per task, and no request sent twice.
    assert_eq!(seen.requests.load(Ordering::SeqCst), 200);
    assert!(seen.connections.load(Ordering::SeqCst) <= 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_carry_host_and_url_prefix() {
    let (addr, seen) = serve(OK);
    let url = format!("http://{addr}/api/");
    let (outcome, _) = run_hello(plan(addr, &url, 1, 3), Duration::ZERO).await;

    assert_eq!(outcome.stats.total().requests(), 3);
    let head = seen
        .first_head
        .lock()
        .unwrap()
        .clone()
        .unwrap()
        .to_ascii_lowercase();
    assert!(head.starts_with("get /api/hello http/1.1\r\n"), "{head}");
    assert!(head.contains(&format!("host: {addr}\r\n")), "{head}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnects_when_the_server_closes() {
    let (addr, seen) = serve(Behaviour {
        status: 200,
        close_after: Some(10),
    });
    let url = format!("http://{addr}");
    let (outcome, _) = run_hello(plan(addr, &url, 2, 100), Duration::ZERO).await;

    let total = outcome.stats.total();
    assert_eq!(total.requests(), 100);
    assert_eq!(total.statuses.get(&200), Some(&100));
    assert!(total.transport.is_empty(), "{:?}", total.transport);
    // 100 requests at 10 per connection need at least 10 connections.
    assert!(
        outcome.stats.reconnects >= 8,
        "{} reconnects",
        outcome.stats.reconnects
    );
    assert!(seen.connections.load(Ordering::SeqCst) >= 10);
    assert_eq!(seen.requests.load(Ordering::SeqCst), 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unexpected_statuses_are_errors() {
    let (addr, _) = serve(Behaviour {
        status: 503,
        close_after: None,
    });
    let url = format!("http://{addr}");
    let (outcome, _) = run_hello(plan(addr, &url, 2, 20), Duration::ZERO).await;

    let total = outcome.stats.total();
    assert_eq!(total.requests(), 20);
    assert_eq!(total.statuses.get(&503), Some(&20));
    assert_eq!(total.errors(Expectation::Any2xx), 20);
    assert_eq!(total.errors(Expectation::Exactly(503)), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_connections_are_transport_errors() {
    // A port that was just free: nothing listens there any more.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let url = format!("http://{addr}");
    let (outcome, _) = run_hello(plan(addr, &url, 2, 5), Duration::ZERO).await;

    let total = outcome.stats.total();
    assert_eq!(total.requests(), 5);
    assert_eq!(total.transport.get(&TransportError::Connect), Some(&5));
    assert!(total.statuses.is_empty());
    assert_eq!(total.errors(Expectation::Any2xx), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warmup_requests_are_not_recorded() {
    let (addr, seen) = serve(OK);
    let url = format!("http://{addr}");
    let (outcome, live) = run_hello(plan(addr, &url, 2, 50), Duration::from_millis(100)).await;

    assert_eq!(outcome.stats.total().requests(), 50);
    let warmup = live.warmup.load(Ordering::SeqCst);
    assert_eq!(seen.requests.load(Ordering::SeqCst), warmup + 50);
}
