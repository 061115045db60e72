//! Scenarios: what a virtual user asks for next.
//!
//! A scenario builds one [`VirtualUser`] per connection. The driver asks the
//! user for its next request, sends it, and hands the response back, so a
//! later scenario (browse, cart, checkout) can carry state such as a cart id
//! from one request to the next. Every request names the endpoint it hits;
//! the summary is broken down by those names.

mod hello;

use bytes::Bytes;
use clap::ValueEnum;
use hyper::Method;
use hyper::header::{HeaderName, HeaderValue};

/// One request, as a scenario describes it. The driver adds `Host` and
/// prefixes the path with the `--url`'s path.
#[derive(Debug, Clone)]
pub struct RequestSpec {
    /// Endpoint name used in the summary, e.g. `GET /hello`.
    pub endpoint: &'static str,
    pub method: Method,
    /// Origin-form path with optional query, starting with `/`.
    pub path: String,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Bytes,
}

/// One simulated client, owned by one connection's task.
pub trait VirtualUser: Send {
    /// The next request this user sends.
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
}

impl ScenarioName {
    pub fn as_str(self) -> &'static str {
        match self {
            ScenarioName::Hello => "hello",
        }
    }
}

/// Options that some scenarios read.
#[derive(Debug, Clone)]
pub struct Options {
    /// Path for `hello`.
    pub path: String,
}

pub fn build(name: ScenarioName, options: &Options) -> Box<dyn Scenario> {
    match name {
        ScenarioName::Hello => Box::new(hello::Hello::new(&options.path)),
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
}
