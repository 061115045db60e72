//! `hello`: the host benchmark. Every request is `GET <path>`, no body,
//! expecting `--expect-status` (default any 2xx).

use super::{RequestSpec, Scenario, VirtualUser};
use crate::stats::Expect;

pub struct Hello {
    path: String,
    /// `GET <path>`, leaked once so requests can name it without allocating.
    endpoint: &'static str,
    expect: Expect,
}

impl Hello {
    pub fn new(path: &str, expect_status: Option<u16>) -> Self {
        Hello {
            path: path.to_string(),
            endpoint: Box::leak(format!("GET {path}").into_boxed_str()),
            expect: expect_status.map_or(Expect::Any2xx, Expect::Status),
        }
    }
}

impl Scenario for Hello {
    fn user(&self, _index: u32, _seed: u64) -> Box<dyn VirtualUser> {
        Box::new(HelloUser { path: self.path.clone(), endpoint: self.endpoint, expect: self.expect })
    }
}

struct HelloUser {
    path: String,
    endpoint: &'static str,
    expect: Expect,
}

impl VirtualUser for HelloUser {
    fn next_request(&mut self) -> RequestSpec {
        RequestSpec::get(self.endpoint, self.path.clone()).expecting(self.expect)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::Method;

    #[test]
    fn every_request_is_the_same_get() {
        let scenario = Hello::new("/hello", None);
        let mut user = scenario.user(0, 1);
        for _ in 0..3 {
            let r = user.next_request();
            assert_eq!((r.endpoint, &r.method, r.path.as_str()), ("GET /hello", &Method::GET, "/hello"));
            assert!(r.body.is_empty() && r.headers.is_empty());
            assert_eq!(r.expect, Expect::Any2xx);
        }
    }

    #[test]
    fn expect_status_applies_to_every_request() {
        let mut user = Hello::new("/missing", Some(404)).user(0, 1);
        assert_eq!(user.next_request().expect, Expect::Status(404));
    }
}
