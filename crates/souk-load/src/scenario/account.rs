//! A virtual user's account: register once, log in, save a shipping
//! address, then send `Authorization: Bearer <token>` on every request.
//! A 401 later (the token expired) logs in again.

use bytes::Bytes;
use hyper::Method;
use serde::Deserialize;
use serde_json::json;

use super::RequestSpec;
use super::shop::ep;
use crate::stats::Expect;

/// Every load-test account's password (at least 10 characters).
pub const PASSWORD: &str = "load-test-password";

/// Where setting up the account stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Register,
    Login,
    Address,
    Ready,
}

#[derive(Debug, Clone)]
pub struct Account {
    pub email: String,
    pub token: Option<String>,
    pub stage: Stage,
    /// Whether the address was saved (a later login skips that step).
    address_saved: bool,
}

impl Account {
    pub fn new(email: String) -> Self {
        Account { email, token: None, stage: Stage::Register, address_saved: false }
    }

    /// The next setup request, or `None` once the account is ready.
    pub fn next_request(&self) -> Option<RequestSpec> {
        match self.stage {
            Stage::Register => Some(
                RequestSpec::json(ep::REGISTER, Method::POST, "/api/v1/users", &json!({ "email": self.email, "password": PASSWORD, "name": "Load Test" }))
                    .expecting(Expect::Status(201)),
            ),
            Stage::Login => Some(login_request(&self.email, PASSWORD)),
            Stage::Address => Some(
                self.authorize(
                    RequestSpec::json(
                        ep::ADDRESS,
                        Method::PATCH,
                        "/api/v1/users/me",
                        &json!({ "shipping_address": {
                            "name": "Load Test",
                            "line1": "Hauptstr. 1",
                            "city": "Berlin",
                            "postal_code": "10115",
                            "country": "DE",
                        }}),
                    )
                    .expecting(Expect::Status(200)),
                ),
            ),
            Stage::Ready => None,
        }
    }

    /// The answer to the setup request `next_request` gave. A failure other
    /// than those below repeats the step.
    pub fn on_response(&mut self, status: u16, body: &Bytes) {
        self.stage = match (self.stage, status) {
            // 409: taken, i.e. registered by an earlier try whose answer was lost.
            (Stage::Register, 201 | 409) => Stage::Login,
            (Stage::Login, 200) => match parse_token(body) {
                Some(token) => {
                    self.token = Some(token);
                    if self.address_saved { Stage::Ready } else { Stage::Address }
                }
                None => Stage::Login,
            },
            // No such account (its register answer was lost, then it failed).
            (Stage::Login, 401) => Stage::Register,
            (Stage::Address, 200) => {
                self.address_saved = true;
                Stage::Ready
            }
            (Stage::Address, 401) => Stage::Login,
            (stage, _) => stage,
        };
    }

    #[cfg(test)]
    pub fn is_ready(&self) -> bool {
        self.stage == Stage::Ready
    }

    /// Adds the bearer token (if logged in).
    pub fn authorize(&self, spec: RequestSpec) -> RequestSpec {
        match &self.token {
            Some(token) => spec.bearer(token),
            None => spec,
        }
    }

    /// Sees the status of every request made with the token: a 401 means
    /// the token is no longer good, so the user logs in again.
    pub fn saw(&mut self, status: u16) {
        if status == 401 && self.stage == Stage::Ready {
            self.token = None;
            self.stage = Stage::Login;
        }
    }
}

/// `POST /api/v1/auth/login`, expecting 200.
pub fn login_request(email: &str, password: &str) -> RequestSpec {
    RequestSpec::json(ep::LOGIN, Method::POST, "/api/v1/auth/login", &json!({ "email": email, "password": password })).expecting(Expect::Status(200))
}

#[derive(Deserialize)]
struct LoginBody {
    token: String,
}

/// The token of a login answer.
pub fn parse_token(body: &Bytes) -> Option<String> {
    serde_json::from_slice::<LoginBody>(body).ok().map(|b| b.token).filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::shop::testing;

    #[test]
    fn registers_logs_in_and_saves_an_address() {
        let mut a = Account::new("a@load.souk.test".into());

        let r = a.next_request().unwrap();
        assert_eq!((r.endpoint, r.expect), (ep::REGISTER, Expect::Status(201)));
        assert_eq!(r.body_json(), json!({"email": "a@load.souk.test", "password": PASSWORD, "name": "Load Test"}));
        assert_eq!(r.header_value("authorization"), None);
        a.on_response(503, &testing::empty());
        assert_eq!(a.stage, Stage::Register, "a failed register is repeated");
        a.on_response(201, &testing::empty());

        let r = a.next_request().unwrap();
        assert_eq!((r.endpoint, r.expect), (ep::LOGIN, Expect::Status(200)));
        assert_eq!(r.body_json(), json!({"email": "a@load.souk.test", "password": PASSWORD}));
        a.on_response(200, &testing::login("tok-1"));

        let r = a.next_request().unwrap();
        assert_eq!(r.endpoint, ep::ADDRESS);
        assert_eq!(r.method, Method::PATCH);
        assert_eq!(r.header_value("authorization"), Some("Bearer tok-1"));
        assert_eq!(r.body_json()["shipping_address"]["country"], "DE");
        assert_eq!(r.body_json()["shipping_address"]["postal_code"], "10115");
        a.on_response(200, &testing::empty());

        assert!(a.is_ready() && a.next_request().is_none());
        let r = a.authorize(RequestSpec::get("GET /api/v1/cart", "/api/v1/cart"));
        assert_eq!(r.header_value("authorization"), Some("Bearer tok-1"));
    }

    #[test]
    fn a_lost_register_answer_and_an_expired_token_are_recovered() {
        let mut a = Account::new("a@load.souk.test".into());
        a.on_response(409, &testing::empty());
        assert_eq!(a.stage, Stage::Login);
        a.on_response(200, &testing::empty());
        assert_eq!(a.stage, Stage::Login, "a login answer without a token");
        a.on_response(200, &testing::login("t"));
        a.on_response(200, &testing::empty());
        assert!(a.is_ready());

        a.saw(200);
        assert!(a.is_ready());
        a.saw(401);
        assert_eq!((a.stage, a.token.as_deref()), (Stage::Login, None));
        assert_eq!(a.next_request().unwrap().endpoint, ep::LOGIN);
        a.on_response(200, &testing::login("t2"));
        assert!(a.is_ready(), "the address is saved already");
        assert_eq!(a.token.as_deref(), Some("t2"));
    }
}
