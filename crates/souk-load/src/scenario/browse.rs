//! `browse`: a visitor without an account. It lists the products once
//! (`page_size=100`) and remembers their ids, names and categories; then
//! each request is, at random: a list page in some order (25%), a search
//! for a word of a product's name (20%), a category (10%), or a product
//! page (45%).

use bytes::Bytes;
use fastrand::Rng;

use super::shop::{Catalog, encode, ep};
use super::{RequestSpec, Scenario, VirtualUser};
use crate::stats::Expect;

/// The page size of the list pages a visitor turns.
const PAGE_SIZE: u64 = 20;
const SORTS: [Option<&str>; 5] = [None, Some("price"), Some("-price"), Some("name"), Some("-name")];

pub struct Browse;

impl Scenario for Browse {
    fn user(&self, _index: u32, seed: u64) -> Box<dyn VirtualUser> {
        Box::new(BrowseUser::new(seed))
    }
}

pub struct BrowseUser {
    rng: Rng,
    catalog: Catalog,
    /// Whether the request in flight is the first list.
    listing: bool,
}

impl BrowseUser {
    pub fn new(seed: u64) -> Self {
        BrowseUser { rng: Rng::with_seed(seed), catalog: Catalog::default(), listing: false }
    }

    fn list_page(&mut self) -> RequestSpec {
        let pages = self.catalog.total.div_ceil(PAGE_SIZE).max(1);
        let page = self.rng.u64(1..=pages);
        let mut path = format!("/api/v1/products?page={page}&page_size={PAGE_SIZE}");
        if let Some(sort) = SORTS[self.rng.usize(..SORTS.len())] {
            path.push_str(&format!("&sort={sort}"));
        }
        RequestSpec::get(ep::PRODUCTS, path)
    }

    fn search(&mut self) -> RequestSpec {
        let name = &self.catalog.pick(&mut self.rng).name;
        let words: Vec<&str> = name.split(|c: char| !c.is_alphanumeric()).filter(|w| w.chars().count() >= 3).collect();
        let word = match words.as_slice() {
            [] => name.as_str(),
            words => words[self.rng.usize(..words.len())],
        };
        let q = encode(&word.to_lowercase());
        RequestSpec::get(ep::SEARCH, format!("/api/v1/products?q={q}"))
    }

    fn category(&mut self) -> RequestSpec {
        if self.catalog.categories.is_empty() {
            return self.product();
        }
        let i = self.rng.usize(..self.catalog.categories.len());
        let category = encode(&self.catalog.categories[i]);
        RequestSpec::get(ep::CATEGORY, format!("/api/v1/products?category={category}&page_size={PAGE_SIZE}"))
    }

    fn product(&mut self) -> RequestSpec {
        let id = encode(&self.catalog.pick(&mut self.rng).id);
        RequestSpec::get(ep::PRODUCT, format!("/api/v1/products/{id}"))
    }
}

impl VirtualUser for BrowseUser {
    fn next_request(&mut self) -> RequestSpec {
        self.listing = self.catalog.is_empty();
        if self.listing {
            return Catalog::request();
        }
        let spec = match self.rng.u32(0..100) {
            0..25 => self.list_page(),
            25..45 => self.search(),
            45..55 => self.category(),
            _ => self.product(),
        };
        spec.expecting(Expect::Status(200))
    }

    fn on_response(&mut self, status: u16, body: &Bytes) {
        if self.listing {
            self.catalog.on_response(status, body);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::shop::testing;
    use std::collections::BTreeSet;

    fn listed(seed: u64) -> BrowseUser {
        let mut user = BrowseUser::new(seed);
        let first = user.next_request();
        assert_eq!(first.endpoint, ep::PRODUCTS);
        assert_eq!(first.path, "/api/v1/products?page_size=100");
        user.on_response(200, &testing::products());
        user
    }

    #[test]
    fn lists_again_until_a_list_succeeds() {
        let mut user = BrowseUser::new(1);
        user.next_request();
        user.on_response(503, &testing::empty());
        assert_eq!(user.next_request().path, "/api/v1/products?page_size=100");
    }

    #[test]
    fn picks_from_the_listed_products() {
        let mut user = listed(1);
        let mut endpoints = BTreeSet::new();
        for _ in 0..400 {
            let r = user.next_request();
            assert_eq!(r.expect, Expect::Status(200));
            assert_eq!(r.method, hyper::Method::GET);
            endpoints.insert(r.endpoint);
            match r.endpoint {
                ep::PRODUCT => assert!(["/api/v1/products/p1", "/api/v1/products/p2", "/api/v1/products/p3"].contains(&r.path.as_str()), "{}", r.path),
                ep::SEARCH => {
                    let q = r.path.strip_prefix("/api/v1/products?q=").unwrap();
                    assert!(["stoneware", "coffee", "mug", "chef", "knife", "linen", "throw"].contains(&q), "{q}");
                }
                ep::CATEGORY => assert!(
                    r.path == "/api/v1/products?category=kitchen&page_size=20" || r.path == "/api/v1/products?category=home%20%26%20living&page_size=20",
                    "{}",
                    r.path
                ),
                ep::PRODUCTS => {
                    // 45 products at 20 a page: pages 1 to 3.
                    let page: u64 = r.path["/api/v1/products?page=".len()..].split('&').next().unwrap().parse().unwrap();
                    assert!((1..=3).contains(&page), "{}", r.path);
                }
                other => panic!("unexpected endpoint {other}"),
            }
            user.on_response(200, &testing::empty());
        }
        assert_eq!(endpoints.len(), 4, "{endpoints:?}");
    }

    #[test]
    fn the_same_seed_sends_the_same_requests() {
        let (mut a, mut b) = (listed(9), listed(9));
        for _ in 0..50 {
            assert_eq!(a.next_request().path, b.next_request().path);
        }
    }
}
