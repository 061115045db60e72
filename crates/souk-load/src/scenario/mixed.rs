//! `mixed`: a store's blend. Each virtual user holds one browse, one cart
//! and one checkout user (the latter two with their own accounts, set up
//! the first time they are picked); each request goes to one of them,
//! picked by the `--mix` weights, and its answer back to the same one.

use bytes::Bytes;
use fastrand::Rng;

use super::browse::BrowseUser;
use super::cart::CartUser;
use super::checkout::CheckoutUser;
use super::mix::{Kind, Mix};
use super::shop::Run;
use super::{RequestSpec, Scenario, VirtualUser, user_seed};

pub struct Mixed {
    pub run: Run,
    pub mix: Mix,
}

impl Scenario for Mixed {
    fn user(&self, index: u32, seed: u64) -> Box<dyn VirtualUser> {
        Box::new(MixedUser {
            rng: Rng::with_seed(seed),
            mix: self.mix,
            browse: BrowseUser::new(user_seed(seed, 0)),
            cart: CartUser::new(self.run.email(index, "cart"), user_seed(seed, 1)),
            checkout: CheckoutUser::new(self.run.email(index, "checkout"), self.run.key_prefix(index), user_seed(seed, 2)),
            last: Kind::Browse,
        })
    }
}

pub struct MixedUser {
    rng: Rng,
    mix: Mix,
    browse: BrowseUser,
    cart: CartUser,
    checkout: CheckoutUser,
    /// Who made the request in flight.
    last: Kind,
}

impl MixedUser {
    fn sub(&mut self, kind: Kind) -> &mut dyn VirtualUser {
        match kind {
            Kind::Browse => &mut self.browse,
            Kind::Cart => &mut self.cart,
            Kind::Checkout => &mut self.checkout,
        }
    }
}

impl VirtualUser for MixedUser {
    fn next_request(&mut self) -> RequestSpec {
        let roll = self.rng.u64(0..self.mix.total());
        self.last = self.mix.pick(roll);
        self.sub(self.last).next_request()
    }

    fn on_response(&mut self, status: u16, body: &Bytes) {
        self.sub(self.last).on_response(status, body);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::shop::{ep, testing};

    fn scenario(mix: &str) -> Mixed {
        Mixed { run: Run { seed: 1, nonce: "n".into() }, mix: mix.parse().unwrap() }
    }

    /// Answers like a shop that always succeeds.
    fn answer(r: &RequestSpec) -> (u16, Bytes) {
        match r.endpoint {
            ep::REGISTER => (201, testing::empty()),
            ep::LOGIN => (200, testing::login(r.body_json()["email"].as_str().unwrap())),
            ep::PRODUCTS => (200, testing::products()),
            ep::ORDER => (201, testing::empty()),
            ep::CART_CLEAR => (204, Bytes::new()),
            ep::CART_ADD | ep::CART_SET | ep::CART_VIEW => (200, testing::cart(&[("p1", 1)])),
            _ => (200, testing::empty()),
        }
    }

    #[test]
    fn each_kind_keeps_its_own_account_and_state() {
        let mut user = scenario("browse=1,cart=1,checkout=1").user(4, 11);
        let mut registered = Vec::new();
        let mut orders = 0;
        for _ in 0..600 {
            let r = user.next_request();
            if r.endpoint == ep::REGISTER {
                registered.push(r.body_json()["email"].as_str().unwrap().to_string());
            }
            // The token is the account's email (see `answer`): a cart
            // request carries the cart account's, an order the checkout one's.
            let bearer = r.header_value("authorization").map(str::to_string);
            match r.endpoint {
                ep::CART_SET | ep::CART_VIEW => assert_eq!(bearer.as_deref(), Some("Bearer load-n-s1-u4-cart@load.souk.test")),
                ep::ORDER => {
                    orders += 1;
                    assert_eq!(bearer.as_deref(), Some("Bearer load-n-s1-u4-checkout@load.souk.test"));
                }
                ep::SEARCH | ep::PRODUCT | ep::CATEGORY => assert_eq!(bearer, None),
                _ => {}
            }
            let (status, body) = answer(&r);
            user.on_response(status, &body);
        }
        registered.sort();
        assert_eq!(registered, ["load-n-s1-u4-cart@load.souk.test", "load-n-s1-u4-checkout@load.souk.test"]);
        assert!(orders > 10, "{orders} orders");
    }

    #[test]
    fn follows_the_weights() {
        let mut user = scenario("browse=0,cart=0,checkout=1").user(0, 1);
        for _ in 0..200 {
            let r = user.next_request();
            assert!(!matches!(r.endpoint, ep::SEARCH | ep::PRODUCT | ep::CATEGORY | ep::CART_SET | ep::CART_VIEW), "{}", r.endpoint);
            let (status, body) = answer(&r);
            user.on_response(status, &body);
        }

        let mut user = scenario("browse=1").user(0, 1);
        for _ in 0..100 {
            let r = user.next_request();
            assert!(r.method == hyper::Method::GET, "{}", r.endpoint);
            assert_eq!(r.header_value("authorization"), None);
            let (status, body) = answer(&r);
            user.on_response(status, &body);
        }
    }
}
