//! `cart`: a shopper who never orders. After setting up its account (see
//! `account`) and listing the products, it repeats: add a product, update
//! a line's quantity, view the cart. It clears the cart when it reaches
//! [`CLEAR_AT_LINES`] lines (or the shop refused a change with 422), so it
//! stays well under the cart's limits (50 lines, 99 per line).

use bytes::Bytes;
use fastrand::Rng;
use hyper::Method;
use serde_json::json;

use super::account::Account;
use super::shop::{Catalog, Line, MAX_LINE_QUANTITY, Run, add_to_cart, clear_cart, encode, ep, parse_cart};
use super::{RequestSpec, Scenario, VirtualUser};
use crate::stats::Expect;

/// Lines at which the cart is cleared.
pub const CLEAR_AT_LINES: usize = 8;

pub struct CartScenario {
    pub run: Run,
}

impl Scenario for CartScenario {
    fn user(&self, index: u32, seed: u64) -> Box<dyn VirtualUser> {
        Box::new(CartUser::new(self.run.email(index, "cart"), seed))
    }
}

/// What the request in flight was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    Account,
    Catalog,
    /// An add, update or view: each answers with the cart.
    Change,
    Clear,
}

pub struct CartUser {
    rng: Rng,
    account: Account,
    catalog: Catalog,
    /// The cart as the shop last showed it.
    lines: Vec<Line>,
    /// Add, update, view steps done.
    step: u64,
    clear_next: bool,
    pending: Pending,
}

impl CartUser {
    pub fn new(email: String, seed: u64) -> Self {
        CartUser {
            rng: Rng::with_seed(seed),
            account: Account::new(email),
            catalog: Catalog::default(),
            lines: Vec::new(),
            step: 0,
            clear_next: false,
            pending: Pending::Account,
        }
    }

    fn add(&mut self) -> RequestSpec {
        let product = self.catalog.pick(&mut self.rng).id.clone();
        let quantity = self.rng.u32(1..=3);
        let has = self.lines.iter().find(|l| l.product_id == product).map_or(0, |l| l.quantity);
        if has + quantity > MAX_LINE_QUANTITY {
            return self.set(&product);
        }
        add_to_cart(&product, quantity)
    }

    fn set(&mut self, product_id: &str) -> RequestSpec {
        let quantity = self.rng.u32(1..=5);
        RequestSpec::json(ep::CART_SET, Method::PUT, format!("/api/v1/cart/items/{}", encode(product_id)), &json!({ "quantity": quantity }))
            .expecting(Expect::Status(200))
    }

    fn update(&mut self) -> RequestSpec {
        if self.lines.is_empty() {
            return self.add();
        }
        let line = self.lines[self.rng.usize(..self.lines.len())].product_id.clone();
        self.set(&line)
    }

    fn shopping_request(&mut self) -> (Pending, RequestSpec) {
        if self.clear_next || self.lines.len() >= CLEAR_AT_LINES {
            return (Pending::Clear, clear_cart());
        }
        let spec = match self.step % 3 {
            0 => self.add(),
            1 => self.update(),
            _ => RequestSpec::get(ep::CART_VIEW, "/api/v1/cart").expecting(Expect::Status(200)),
        };
        (Pending::Change, spec)
    }
}

impl VirtualUser for CartUser {
    fn next_request(&mut self) -> RequestSpec {
        if let Some(spec) = self.account.next_request() {
            self.pending = Pending::Account;
            return spec;
        }
        let (pending, spec) = if self.catalog.is_empty() { (Pending::Catalog, Catalog::request()) } else { self.shopping_request() };
        self.pending = pending;
        self.account.authorize(spec)
    }

    fn on_response(&mut self, status: u16, body: &Bytes) {
        if self.pending == Pending::Account {
            self.account.on_response(status, body);
            return;
        }
        self.account.saw(status);
        match self.pending {
            Pending::Account => {}
            Pending::Catalog => self.catalog.on_response(status, body),
            Pending::Change => {
                match status {
                    200 => {
                        if let Some(lines) = parse_cart(body) {
                            self.lines = lines;
                        }
                    }
                    // Over a limit after all (the cart changed behind our back).
                    422 => self.clear_next = true,
                    _ => {}
                }
                self.step += 1;
            }
            Pending::Clear => {
                if (200..300).contains(&status) {
                    self.lines.clear();
                    self.clear_next = false;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::shop::testing;

    /// A user past registering, logging in (token `tok`) and listing.
    fn ready_user(seed: u64) -> CartUser {
        let mut user = CartUser::new("c@load.souk.test".into(), seed);
        assert_eq!(user.next_request().endpoint, ep::REGISTER);
        user.on_response(201, &testing::empty());
        assert_eq!(user.next_request().endpoint, ep::LOGIN);
        user.on_response(200, &testing::login("tok"));
        assert_eq!(user.next_request().endpoint, ep::ADDRESS);
        user.on_response(200, &testing::empty());
        let list = user.next_request();
        assert_eq!(list.endpoint, ep::PRODUCTS);
        assert_eq!(list.header_value("authorization"), Some("Bearer tok"));
        user.on_response(200, &testing::products());
        user
    }

    #[test]
    fn adds_updates_and_views_with_the_token() {
        let mut user = ready_user(3);

        let add = user.next_request();
        assert_eq!((add.endpoint, &add.method), (ep::CART_ADD, &Method::POST));
        assert_eq!(add.header_value("authorization"), Some("Bearer tok"));
        let body = add.body_json();
        let product = body["product_id"].as_str().unwrap().to_string();
        assert!(["p1", "p2", "p3"].contains(&product.as_str()));
        assert!((1..=3).contains(&body["quantity"].as_u64().unwrap()));
        user.on_response(200, &testing::cart(&[(&product, 2)]));

        let update = user.next_request();
        assert_eq!((update.endpoint, &update.method), (ep::CART_SET, &Method::PUT));
        assert_eq!(update.path, format!("/api/v1/cart/items/{product}"));
        assert!((1..=5).contains(&update.body_json()["quantity"].as_u64().unwrap()));
        assert_eq!(update.header_value("authorization"), Some("Bearer tok"));
        user.on_response(200, &testing::cart(&[(&product, 4)]));

        let view = user.next_request();
        assert_eq!((view.endpoint, view.path.as_str()), (ep::CART_VIEW, "/api/v1/cart"));
        assert_eq!(view.header_value("authorization"), Some("Bearer tok"));
        user.on_response(200, &testing::cart(&[(&product, 4)]));

        assert_eq!(user.next_request().endpoint, ep::CART_ADD);
    }

    #[test]
    fn clears_the_cart_when_it_grows_or_a_limit_is_hit() {
        let mut user = ready_user(3);
        user.next_request();
        let full: Vec<(String, u32)> = (0..CLEAR_AT_LINES).map(|i| (format!("x{i}"), 1)).collect();
        let full: Vec<(&str, u32)> = full.iter().map(|(id, q)| (id.as_str(), *q)).collect();
        user.on_response(200, &testing::cart(&full));
        let clear = user.next_request();
        assert_eq!((clear.endpoint, clear.expect), (ep::CART_CLEAR, Expect::Status(204)));
        assert_eq!(clear.method, Method::DELETE);
        user.on_response(204, &Bytes::new());
        assert_ne!(user.next_request().endpoint, ep::CART_CLEAR);

        user.on_response(422, &testing::empty());
        assert_eq!(user.next_request().endpoint, ep::CART_CLEAR);
        user.on_response(204, &Bytes::new());
    }

    #[test]
    fn never_adds_past_99_of_a_product() {
        let mut user = ready_user(5);
        let lines: [(&str, u32); 3] = [("p1", 98), ("p2", 97), ("p3", 99)];
        let nearly_full = testing::cart(&lines);
        user.next_request();
        user.on_response(200, &nearly_full);
        let (mut adds, mut sets) = (0, 0);
        for _ in 0..90 {
            let r = user.next_request();
            match r.endpoint {
                ep::CART_ADD => {
                    adds += 1;
                    let body = r.body_json();
                    let has = lines.iter().find(|(id, _)| *id == body["product_id"]).unwrap().1;
                    assert!(u64::from(has) + body["quantity"].as_u64().unwrap() <= 99, "{body}");
                }
                ep::CART_SET => sets += 1,
                _ => {}
            }
            user.on_response(200, &nearly_full);
        }
        assert!(adds > 0 && sets > 0, "{adds} adds, {sets} updates");
    }

    #[test]
    fn a_401_logs_in_again() {
        let mut user = ready_user(3);
        user.next_request();
        user.on_response(401, &testing::empty());
        let r = user.next_request();
        assert_eq!(r.endpoint, ep::LOGIN);
        user.on_response(200, &testing::login("tok2"));
        let r = user.next_request();
        assert_eq!(r.header_value("authorization"), Some("Bearer tok2"));
    }
}
