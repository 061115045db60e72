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

/// How the test server answers.
#[derive(Clone, Copy)]
struct Behaviour {
    status: u16,
    /// Answer with `connection: close` and hang up after this many responses
    /// on one connection.
    close_after: Option<u64>,
}

const OK: Behaviour = Behaviour { status: 200, close_after: None };

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
        seen.first_head.lock().unwrap().get_or_insert_with(|| String::from_utf8_lossy(&head).into_owned());

        served += 1;
        let closing = behaviour.close_after.is_some_and(|n| served >= n);
        let body = "hello";
        let response =
            format!("HTTP/1.1 {} X\r\ncontent-length: {}\r\n{}\r\n{}", behaviour.status, body.len(), if closing { "connection: close\r\n" } else { "" }, body);
        if stream.write_all(response.as_bytes()).is_err() || closing {
            return;
        }
    }
}

fn plan(addr: SocketAddr, url: &str, connections: u32, requests: u64) -> Plan {
    Plan { addr, target: parse_target(url).unwrap(), connections, stop: Stop::Requests(requests), timeout: Duration::from_secs(30), seed: 1 }
}

async fn run_hello(plan: Plan, warmup: Duration) -> (Outcome, Arc<Live>) {
    let scenario = scenario::build(ScenarioName::Hello, &scenario::Options::for_tests());
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
    assert_eq!(total.errors(), 0);
    assert!(total.transport.is_empty());
    assert_eq!(total.latency_us.len(), 200);
    assert_eq!(outcome.stats.endpoints.keys().copied().collect::<Vec<_>>(), ["GET /hello"]);
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
    let head = seen.first_head.lock().unwrap().clone().unwrap().to_ascii_lowercase();
    assert!(head.starts_with("get /api/hello http/1.1\r\n"), "{head}");
    assert!(head.contains(&format!("host: {addr}\r\n")), "{head}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnects_when_the_server_closes() {
    let (addr, seen) = serve(Behaviour { status: 200, close_after: Some(10) });
    let url = format!("http://{addr}");
    let (outcome, _) = run_hello(plan(addr, &url, 2, 100), Duration::ZERO).await;

    let total = outcome.stats.total();
    assert_eq!(total.requests(), 100);
    assert_eq!(total.statuses.get(&200), Some(&100));
    assert!(total.transport.is_empty(), "{:?}", total.transport);
    // 100 requests at 10 per connection need at least 10 connections.
    assert!(outcome.stats.reconnects >= 8, "{} reconnects", outcome.stats.reconnects);
    assert!(seen.connections.load(Ordering::SeqCst) >= 10);
    assert_eq!(seen.requests.load(Ordering::SeqCst), 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unexpected_statuses_are_errors() {
    let (addr, _) = serve(Behaviour { status: 503, close_after: None });
    let url = format!("http://{addr}");
    let (outcome, live) = run_hello(plan(addr, &url, 2, 20), Duration::ZERO).await;

    let total = outcome.stats.total();
    assert_eq!(total.requests(), 20);
    assert_eq!(total.statuses.get(&503), Some(&20));
    assert_eq!(total.errors(), 20);
    assert_eq!(total.unexpected.get(&503), Some(&20));
    assert_eq!(live.errors.load(Ordering::SeqCst), 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_connections_are_transport_errors() {
    // A port that was just free: nothing listens there any more.
    let addr = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let url = format!("http://{addr}");
    let (outcome, _) = run_hello(plan(addr, &url, 2, 5), Duration::ZERO).await;

    let total = outcome.stats.total();
    assert_eq!(total.requests(), 5);
    assert_eq!(total.transport.get(&TransportError::Connect), Some(&5));
    assert!(total.statuses.is_empty());
    assert_eq!(total.errors(), 5);
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

/// A request as the fake shop sees it.
struct ShopRequest {
    method: String,
    path: String,
    head: String,
    body: String,
}

type Handler = Arc<dyn Fn(&ShopRequest) -> (u16, String) + Send + Sync>;

/// A fake shop: reads each request with its `content-length` body and
/// answers with `handler`.
fn serve_shop(handler: Handler) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let handler = handler.clone();
            thread::spawn(move || serve_shop_connection(stream, &handler));
        }
    });
    addr
}

fn serve_shop_connection(mut stream: std::net::TcpStream, handler: &Handler) {
    let _ = stream.set_nodelay(true);
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
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
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let length: usize = head
            .lines()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("content-length").then(|| value.trim().parse().ok())?
            })
            .unwrap_or(0);
        while buf.len() < head_end + length {
            match stream.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let body = String::from_utf8_lossy(&buf[head_end..head_end + length]).into_owned();
        buf.drain(..head_end + length);
        let mut line = head.split(' ');
        let request =
            ShopRequest { method: line.next().unwrap_or("").to_string(), path: line.next().unwrap_or("").to_string(), head: head.to_ascii_lowercase(), body };
        let (status, body) = handler(&request);
        let response = format!("HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}", body.len());
        if stream.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}

/// What the fake shop counted.
#[derive(Default)]
struct ShopCounts {
    orders: AtomicU64,
    restocks: AtomicU64,
    unauthorized: AtomicU64,
}

/// A shop where everything works; every other order is out of stock.
fn fake_shop(counts: Arc<ShopCounts>, audit: &'static str) -> Handler {
    Arc::new(move |r: &ShopRequest| {
        let path = r.path.split('?').next().unwrap_or("");
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let authorized = r.head.contains("authorization: bearer tok-");
        let needs_token = !matches!(
            (r.method.as_str(), segments.as_slice()),
            ("POST", ["api", "v1", "users"] | ["api", "v1", "auth", "login"]) | ("GET", ["api", "v1", "products", ..])
        );
        if needs_token && !authorized {
            counts.unauthorized.fetch_add(1, Ordering::SeqCst);
            return (401, r#"{"error":{"code":"unauthorized"}}"#.into());
        }
        let cart = r#"{"items":[{"product_id":"p1","quantity":1}],"quote":null,"quote_error":null}"#;
        match (r.method.as_str(), segments.as_slice()) {
            ("POST", ["api", "v1", "users"]) => {
                assert!(r.body.contains("@load.souk.test"), "{}", r.body);
                (201, "{}".into())
            }
            ("POST", ["api", "v1", "auth", "login"]) => (200, r#"{"token":"tok-1","token_type":"Bearer","expires_in":3600}"#.into()),
            ("PATCH", ["api", "v1", "users", "me"]) => (200, "{}".into()),
            ("GET", ["api", "v1", "products"]) => (
                200,
                r#"{"items":[{"id":"p1","sku":"A","name":"Coffee Mug","category":"kitchen","stock":3},
                             {"id":"p2","sku":"B","name":"Linen Throw","category":"home","stock":2000000}],
                    "page":1,"page_size":100,"total":2}"#
                    .into(),
            ),
            ("GET", ["api", "v1", "products", "p1" | "p2"]) => (200, "{}".into()),
            ("POST", ["api", "v1", "products", "p1", "restock"]) => {
                assert_eq!(r.body, r#"{"quantity":999997}"#);
                counts.restocks.fetch_add(1, Ordering::SeqCst);
                (200, "{}".into())
            }
            ("POST", ["api", "v1", "cart", "items"]) | ("PUT", ["api", "v1", "cart", "items", _]) | ("GET", ["api", "v1", "cart"]) => (200, cart.into()),
            ("DELETE", ["api", "v1", "cart"]) => (204, String::new()),
            ("POST", ["api", "v1", "orders"]) => {
                assert!(r.head.contains("idempotency-key: load-"), "{}", r.head);
                if counts.orders.fetch_add(1, Ordering::SeqCst).is_multiple_of(2) {
                    (201, r#"{"id":"o1","status":"paid"}"#.into())
                } else {
                    (409, r#"{"error":{"code":"out_of_stock"}}"#.into())
                }
            }
            ("GET", ["api", "v1", "admin", "audit"]) => (200, audit.into()),
            _ => (404, r#"{"error":{"code":"not_found"}}"#.into()),
        }
    })
}

const CONSISTENT: &str = r#"{"stock":{"products":[{"id":"p1","sku":"A","stock":3,"reserved":0,"sold":2}]},
    "orders":{"paid_quantities":{"p1":2},"paid_orders":["o1"]},
    "payments":{"approved_by_order":{"o1":1}}}"#;
const BROKEN: &str = r#"{"stock":{"products":[{"id":"p1","sku":"A","stock":-1,"reserved":0,"sold":2}]},
    "orders":{"paid_quantities":{"p1":3},"paid_orders":["o1"]},
    "payments":{"approved_by_order":{"o1":2}}}"#;

async fn run_scenario(addr: SocketAddr, name: ScenarioName, requests: u64) -> Outcome {
    let scenario = scenario::build(name, &scenario::Options::for_tests());
    let live = Arc::new(Live::new(Duration::ZERO));
    run(plan(addr, &format!("http://{addr}"), 3, requests), scenario.as_ref(), live).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shop_scenarios_meet_their_expectations() {
    let counts = Arc::new(ShopCounts::default());
    let addr = serve_shop(fake_shop(counts.clone(), CONSISTENT));
    for name in [ScenarioName::Browse, ScenarioName::Cart, ScenarioName::Checkout, ScenarioName::Mixed] {
        let outcome = run_scenario(addr, name, 300).await;
        let total = outcome.stats.total();
        assert_eq!(total.requests(), 300, "{name:?}");
        assert_eq!(total.errors(), 0, "{name:?}: {:?}", total.statuses);
        for endpoint in outcome.stats.endpoints.keys() {
            assert!(!endpoint.contains("p1") && !endpoint.contains("p2"), "{name:?}: {endpoint} is not a template");
        }
    }
    assert_eq!(counts.unauthorized.load(Ordering::SeqCst), 0);

    let outcome = run_scenario(addr, ScenarioName::Checkout, 300).await;
    let orders = &outcome.stats.endpoints["POST /api/v1/orders"];
    // Out of stock is the shop's answer, not an error.
    assert!(orders.statuses[&201] > 0 && orders.statuses[&409] > 0, "{:?}", orders.statuses);
    assert_eq!(orders.errors(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restock_and_check_as_admin() {
    let counts = Arc::new(ShopCounts::default());
    let addr = serve_shop(fake_shop(counts.clone(), CONSISTENT));
    let client = || crate::client::Client::new(addr, parse_target(&format!("http://{addr}")).unwrap(), Duration::from_secs(5));

    let mut admin = crate::admin::Admin::login(client(), "admin@souk.local", "pw").await.unwrap();
    let done = admin.restock_to(1_000_000).await.unwrap();
    assert_eq!((done.products, done.topped_up, done.units), (2, 1, 999_997));
    assert_eq!(counts.restocks.load(Ordering::SeqCst), 1);

    let check = crate::admin::check_shop(client(), "admin@souk.local", "pw").await;
    assert!(check.passed, "{check:?}");
    assert_eq!((check.products, check.paid_orders), (1, 1));

    let broken = serve_shop(fake_shop(Arc::default(), BROKEN));
    let client = crate::client::Client::new(broken, parse_target(&format!("http://{broken}")).unwrap(), Duration::from_secs(5));
    let check = crate::admin::check_shop(client, "admin@souk.local", "pw").await;
    assert!(!check.passed && check.error.is_none());
    let found: Vec<String> = check.violations.iter().map(ToString::to_string).collect();
    assert_eq!(
        found,
        [
            "product A (p1): sold 2, but paid orders hold 3",
            "product A (p1): stock is -1, expected at least 0",
            "paid order o1: 2 approved payments, expected 1",
        ]
    );

    // Nothing listens here: the check cannot be made, and says why.
    let gone = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let client = crate::client::Client::new(gone, parse_target(&format!("http://{gone}")).unwrap(), Duration::from_secs(5));
    let check = crate::admin::check_shop(client, "admin@souk.local", "pw").await;
    assert!(!check.passed);
    assert!(check.error.unwrap().contains("connect error"));
}
