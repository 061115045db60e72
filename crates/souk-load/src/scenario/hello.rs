//! `hello`: the host benchmark. Every request is `GET <path>`, no body.

use bytes::Bytes;
use hyper::Method;

use super::{RequestSpec, Scenario, VirtualUser};

pub struct Hello {
    path: String,
    /// `GET <path>`, leaked once so requests can name it without allocating.
    endpoint: &'static str,
}

impl Hello {
    pub fn new(path: &str) -> Self {
        Hello {
            path: path.to_string(),
            endpoint: Box::leak(format!("GET {path}").into_boxed_str()),
        }
    }
}

impl Scenario for Hello {
    fn user(&self, _index: u32, _seed: u64) -> Box<dyn VirtualUser> {
        Box::new(HelloUser {
            path: self.path.clone(),
            endpoint: self.endpoint,
        })
    }
}

struct HelloUser {
    path: String,
    endpoint: &'static str,
}

impl VirtualUser for HelloUser {
    fn next_request(&mut self) -> RequestSpec {
        RequestSpec {
            endpoint: self.endpoint,
            method: Method::GET,
            path: self.path.clone(),
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_request_is_the_same_get() {
        let scenario = Hello::new("/hello");
        let mut user = scenario.user(0, 1);
        for _ in 0..3 {
            let r = user.next_request();
            assert_eq!(
                (r.endpoint, &r.method, r.path.as_str()),
                ("GET /hello", &Method::GET, "/hello")
            );
            assert!(r.body.is_empty() && r.headers.is_empty());
        }
    }
}
