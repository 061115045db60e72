//! Scenarios: what a virtual user asks for next.
//!
//! A scenario builds one [`VirtualUser`] per connection. The driver asks the
//! user for its next request, sends it, and hands the response back, so a
//! user is a small state machine: it lists the products and picks from what
//! it saw, registers and logs in and then sends the token, fills a cart and
//! orders it. Every request names the endpoint it hits as a template
//! (`GET /api/v1/products/{id}`; the summary is broken down by those names)
//! and the statuses it expects (anything else counts as an error).
//!
//! - `hello`: one path over and over (the host benchmark).
//! - `browse`: product lists, searches, category filters, product pages.
//! - `cart`: an account that adds, updates, views and now and then clears its cart.
//! - `checkout`: an account that puts 1-2 products in its cart and orders it.
//! - `mixed`: per request, one of browse, cart, checkout by weight (`--mix`).

mod account;
mod browse;
mod cart;
mod checkout;
mod hello;
pub mod mix;
mod mixed;
mod shop;

use bytes::Bytes;
use clap::ValueEnum;
use hyper::Method;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HeaderName, HeaderValue};

use crate::stats::Expect;
pub use account::{login_request, parse_token};
pub use mix::Mix;

/// One request, as a scenario describes it. The driver adds `Host` and
/// prefixes the path with the `--url`'s path.
#[derive(Debug, Clone)]
pub struct RequestSpec {
    /// Endpoint name used in the summary, e.g. `GET /api/v1/products/{id}`.
    pub endpoint: &'static str,
    pub method: Method,
    /// Origin-form path with optional query, starting with `/`.
    pub path: String,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Bytes,
    /// The statuses that count as success for this request.
    pub expect: Expect,
}

impl RequestSpec {
    /// A body-less request that expects any 2xx.
    pub fn new(endpoint: &'static str, method: Method, path: impl Into<String>) -> Self {
        RequestSpec { endpoint, method, path: path.into(), headers: Vec::new(), body: Bytes::new(), expect: Expect::Any2xx }
    }

    pub fn get(endpoint: &'static str, path: impl Into<String>) -> Self {
        Self::new(endpoint, Method::GET, path)
    }

    /// A request with a JSON body.
    pub fn json(endpoint: &'static str, method: Method, path: impl Into<String>, body: &serde_json::Value) -> Self {
        let mut spec = Self::new(endpoint, method, path);
        spec.body = Bytes::from(body.to_string());
        spec.headers.push((CONTENT_TYPE, HeaderValue::from_static("application/json")));
        spec
    }

    pub fn expecting(mut self, expect: Expect) -> Self {
        self.expect = expect;
        self
    }

    /// Adds a header; a value that cannot be a header value (it never comes
    /// from outside the load generator) is left out.
    pub fn header(mut self, name: HeaderName, value: &str) -> Self {
        if let Ok(value) = HeaderValue::from_str(value) {
            self.headers.push((name, value));
        }
        self
    }

    pub fn bearer(self, token: &str) -> Self {
        self.header(AUTHORIZATION, &format!("Bearer {token}"))
    }

    /// The value of a header this request carries (for tests and checks).
    #[cfg(test)]
    pub fn header_value(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.as_str().eq_ignore_ascii_case(name)).and_then(|(_, v)| v.to_str().ok())
    }

    /// The body as JSON (for tests).
    #[cfg(test)]
    pub fn body_json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// One simulated client, owned by one connection's task.
pub trait VirtualUser: Send {
    /// The next request this user sends. After a transport error the driver
    /// asks again without a response in between, so a user advances its
    /// state in `on_response`, not here.
    fn next_request(&mut self) -> RequestSpec;

    /// Sees each complete response (status and body) to the request it made
    /// last. Not called after a transport error.
    fn on_response(&mut self, _status: u16, _body: &Bytes) {}
}

/// A kind of traffic: a factory of virtual users.
pub trait Scenario: Send + Sync {
    /// Builds virtual user number `index`; `seed` is that user's own seed,
    /// derived from `--seed`, for any random choices it makes.
    fn user(&self, index: u32, seed: u64) -> Box<dyn VirtualUser>;
}

/// Scenario names accepted by `--scenario`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScenarioName {
    /// GET one path (`--path`, default /hello) over and over: the host benchmark.
    Hello,
    /// Product lists, searches, category filters and product pages, no account.
    Browse,
    /// Each user registers and logs in once, then adds, updates and views its cart.
    Cart,
    /// Each user registers and logs in once, then fills its cart and orders it.
    Checkout,
    /// Per request, browse, cart or checkout by the `--mix` weights.
    Mixed,
}

impl ScenarioName {
    pub fn as_str(self) -> &'static str {
        match self {
            ScenarioName::Hello => "hello",
            ScenarioName::Browse => "browse",
            ScenarioName::Cart => "cart",
            ScenarioName::Checkout => "checkout",
            ScenarioName::Mixed => "mixed",
        }
    }

    /// Whether the run places orders, so the shop is restocked before and
    /// its invariants are checked after by default.
    pub fn orders(self) -> bool {
        matches!(self, ScenarioName::Checkout | ScenarioName::Mixed)
    }
}

/// Options that some scenarios read.
#[derive(Debug, Clone)]
pub struct Options {
    /// Path for `hello`.
    pub path: String,
    /// The one status `hello` expects (default any 2xx).
    pub expect_status: Option<u16>,
    /// `--seed`, part of the accounts' emails and the orders' idempotency keys.
    pub seed: u64,
    /// Unique per run (e.g. the start time), so accounts of earlier runs
    /// against the same shop do not collide.
    pub nonce: String,
    /// Weights for `mixed`.
    pub mix: Mix,
}

impl Options {
    /// Defaults for tests: `/hello`, seed 1, nonce `test`, the default mix.
    #[cfg(test)]
    pub fn for_tests() -> Self {
        Options { path: "/hello".into(), expect_status: None, seed: 1, nonce: "test".into(), mix: Mix::default() }
    }
}

pub fn build(name: ScenarioName, options: &Options) -> Box<dyn Scenario> {
    let run = shop::Run { seed: options.seed, nonce: options.nonce.clone() };
    match name {
        ScenarioName::Hello => Box::new(hello::Hello::new(&options.path, options.expect_status)),
        ScenarioName::Browse => Box::new(browse::Browse),
        ScenarioName::Cart => Box::new(cart::CartScenario { run }),
        ScenarioName::Checkout => Box::new(checkout::Checkout { run }),
        ScenarioName::Mixed => Box::new(mixed::Mixed { run, mix: options.mix }),
    }
}

/// Seed for virtual user `index`: distinct per user, fixed by `seed`
/// (splitmix64, so neighbouring users get unrelated streams).
pub fn user_seed(seed: u64, index: u32) -> u64 {
    let mut z = seed.wrapping_add((u64::from(index) + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_seeds_are_distinct_and_reproducible() {
        let seeds: std::collections::HashSet<u64> = (0..1000).map(|i| user_seed(1, i)).collect();
        assert_eq!(seeds.len(), 1000);
        assert_eq!(user_seed(7, 3), user_seed(7, 3));
        assert_ne!(user_seed(7, 3), user_seed(8, 3));
    }

    #[test]
    fn json_requests_carry_a_content_type_and_a_bearer() {
        let r = RequestSpec::json("POST /x", Method::POST, "/x", &serde_json::json!({"a": 1})).bearer("tok").expecting(Expect::Status(201));
        assert_eq!(r.header_value("content-type"), Some("application/json"));
        assert_eq!(r.header_value("authorization"), Some("Bearer tok"));
        assert_eq!(r.body_json(), serde_json::json!({"a": 1}));
        assert_eq!(r.expect, Expect::Status(201));
        assert_eq!(RequestSpec::get("GET /y", "/y").expect, Expect::Any2xx);
    }
}
