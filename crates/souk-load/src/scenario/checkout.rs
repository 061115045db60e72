//! `checkout`: a buyer. After setting up its account (see `account`) and
//! listing the products, it repeats: put 1-2 products in the cart, then
//! `POST /api/v1/orders` with a test card and a fresh `Idempotency-Key`
//! (the order is made from the cart, which the shop then empties).
//!
//! 201 (paid) and 409 (`out_of_stock`) are both the shop's legitimate
//! answers. After anything but a 201 the cart still holds its lines, so the
//! buyer empties it before filling it again. A request that got no answer
//! is sent again as it was, so a retried order keeps its key.

use bytes::Bytes;
use fastrand::Rng;
use hyper::Method;
use hyper::header::HeaderName;
use serde_json::json;

use super::account::Account;
use super::shop::{Catalog, Run, add_to_cart, clear_cart, ep};
use super::{RequestSpec, Scenario, VirtualUser};
use crate::stats::Expect;

/// The statuses an order may get: paid, or out of stock.
pub const ORDER_EXPECTS: Expect = Expect::AnyOf(&[201, 409]);

pub struct Checkout {
    pub run: Run,
}

impl Scenario for Checkout {
    fn user(&self, index: u32, seed: u64) -> Box<dyn VirtualUser> {
        Box::new(CheckoutUser::new(self.run.email(index, "checkout"), self.run.key_prefix(index), seed))
    }
}

/// Where the buyer is in its loop.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    /// Adding products; this many adds to go.
    Fill(u32),
    /// Ordering with this idempotency key.
    Order(String),
    /// Emptying a cart an order did not take.
    Clear,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    Account,
    Catalog,
    Shop,
}

pub struct CheckoutUser {
    rng: Rng,
    account: Account,
    catalog: Catalog,
    key_prefix: String,
    /// Orders tried so far (numbers the idempotency keys).
    attempts: u64,
    /// Orders that got a 201.
    pub paid: u64,
    phase: Phase,
    pending: Pending,
}

impl CheckoutUser {
    pub fn new(email: String, key_prefix: String, seed: u64) -> Self {
        let mut rng = Rng::with_seed(seed);
        let first = rng.u32(1..=2);
        CheckoutUser {
            rng,
            account: Account::new(email),
            catalog: Catalog::default(),
            key_prefix,
            attempts: 0,
            paid: 0,
            phase: Phase::Fill(first),
            pending: Pending::Account,
        }
    }

    fn shop_request(&mut self) -> RequestSpec {
        match &self.phase {
            Phase::Fill(_) => {
                let product = self.catalog.pick(&mut self.rng).id.clone();
                add_to_cart(&product, self.rng.u32(1..=3))
            }
            Phase::Order(key) => order_request(key),
            Phase::Clear => clear_cart(),
        }
    }

    fn refill(&mut self) -> Phase {
        Phase::Fill(self.rng.u32(1..=2))
    }
}

/// `POST /api/v1/orders` for the cart, paid with the usual test card.
pub fn order_request(key: &str) -> RequestSpec {
    RequestSpec::json(
        ep::ORDER,
        Method::POST,
        "/api/v1/orders",
        &json!({ "card": {
            "number": "4242 4242 4242 4242",
            "exp_month": 12,
            "exp_year": 2099,
            "cvc": "123",
        }}),
    )
    .header(HeaderName::from_static("idempotency-key"), key)
    .expecting(ORDER_EXPECTS)
}

impl VirtualUser for CheckoutUser {
    fn next_request(&mut self) -> RequestSpec {
        if let Some(spec) = self.account.next_request() {
            self.pending = Pending::Account;
            return spec;
        }
        let spec = if self.catalog.is_empty() {
            self.pending = Pending::Catalog;
            Catalog::request()
        } else {
            self.pending = Pending::Shop;
            self.shop_request()
        };
        self.account.authorize(spec)
    }

    fn on_response(&mut self, status: u16, body: &Bytes) {
        match self.pending {
            Pending::Account => return self.account.on_response(status, body),
            Pending::Catalog => self.catalog.on_response(status, body),
            Pending::Shop => {}
        }
        self.account.saw(status);
        if status == 401 || self.pending != Pending::Shop {
            // Logging in again; then the same step once more.
            return;
        }
        self.phase = match (&self.phase, status) {
            (Phase::Fill(left), 200) if *left > 1 => Phase::Fill(left - 1),
            (Phase::Fill(_), 200) => {
                self.attempts += 1;
                Phase::Order(format!("{}-o{}", self.key_prefix, self.attempts))
            }
            // The cart is over a limit: start afresh.
            (Phase::Fill(_), 422) => Phase::Clear,
            (Phase::Fill(left), _) => Phase::Fill(*left),
            (Phase::Order(_), 201) => {
                self.paid += 1;
                self.refill()
            }
            (Phase::Order(_), _) => Phase::Clear,
            (Phase::Clear, 200..=299) => self.refill(),
            (Phase::Clear, _) => Phase::Clear,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::shop::testing;

    fn ready_user(seed: u64) -> CheckoutUser {
        let mut user = CheckoutUser::new("b@load.souk.test".into(), "load-t-s1-u0".into(), seed);
        for (endpoint, answer) in [
            (ep::REGISTER, (201, testing::empty())),
            (ep::LOGIN, (200, testing::login("tok"))),
            (ep::ADDRESS, (200, testing::empty())),
            (ep::PRODUCTS, (200, testing::products())),
        ] {
            assert_eq!(user.next_request().endpoint, endpoint);
            user.on_response(answer.0, &answer.1);
        }
        user
    }

    /// Sends adds until the order comes; returns the number of adds and the order.
    fn fill(user: &mut CheckoutUser) -> (usize, RequestSpec) {
        let mut adds = 0;
        loop {
            let r = user.next_request();
            assert_eq!(r.header_value("authorization"), Some("Bearer tok"));
            if r.endpoint == ep::ORDER {
                return (adds, r);
            }
            assert_eq!(r.endpoint, ep::CART_ADD);
            assert!(["p1", "p2", "p3"].contains(&r.body_json()["product_id"].as_str().unwrap()));
            adds += 1;
            user.on_response(200, &testing::cart(&[("p1", 1)]));
        }
    }

    #[test]
    fn fills_the_cart_then_orders_with_a_fresh_key() {
        let mut user = ready_user(1);
        let mut keys = Vec::new();
        for _ in 0..10 {
            let (adds, order) = fill(&mut user);
            assert!((1..=2).contains(&adds), "{adds} adds");
            assert_eq!(order.method, Method::POST);
            assert_eq!(order.path, "/api/v1/orders");
            assert_eq!(order.expect, ORDER_EXPECTS);
            assert_eq!(order.body_json(), json!({"card": {"number": "4242 4242 4242 4242", "exp_month": 12, "exp_year": 2099, "cvc": "123"}}));
            keys.push(order.header_value("idempotency-key").unwrap().to_string());
            user.on_response(201, &testing::empty());
        }
        assert_eq!(keys[0], "load-t-s1-u0-o1");
        keys.dedup();
        assert_eq!(keys.len(), 10);
        assert_eq!(user.paid, 10);
    }

    #[test]
    fn a_retried_order_keeps_its_key() {
        let mut user = ready_user(2);
        let (_, first) = fill(&mut user);
        // No answer (a transport error): the driver asks again.
        let again = user.next_request();
        assert_eq!(again.endpoint, ep::ORDER);
        assert_eq!(again.header_value("idempotency-key"), first.header_value("idempotency-key"));
    }

    #[test]
    fn out_of_stock_empties_the_cart_before_refilling() {
        let mut user = ready_user(3);
        let (_, order) = fill(&mut user);
        assert!(order.expect.accepts(409));
        user.on_response(409, &testing::empty());
        let clear = user.next_request();
        assert_eq!(clear.endpoint, ep::CART_CLEAR);
        user.on_response(204, &Bytes::new());
        assert_eq!(user.next_request().endpoint, ep::CART_ADD);
        assert_eq!(user.paid, 0);
    }

    #[test]
    fn an_expired_token_logs_in_and_retries_the_step() {
        let mut user = ready_user(4);
        let (_, order) = fill(&mut user);
        user.on_response(401, &testing::empty());
        assert_eq!(user.next_request().endpoint, ep::LOGIN);
        user.on_response(200, &testing::login("tok"));
        let again = user.next_request();
        assert_eq!(again.endpoint, ep::ORDER);
        assert_eq!(again.header_value("idempotency-key"), order.header_value("idempotency-key"));
    }
}
