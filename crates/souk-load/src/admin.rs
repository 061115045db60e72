//! The unmeasured admin calls around a run: before it, top up every
//! product's stock so orders cannot run out; after it, fetch the audit for
//! the invariant check. One connection, one request at a time.

use std::time::Duration;

use bytes::Bytes;
use hyper::Method;
use serde::Deserialize;
use serde_json::json;

use crate::check::{self, Audit};
use crate::client::Client;
use crate::report::CheckReport;
use crate::scenario::{RequestSpec, login_request, parse_token};

/// The most one restock call may add (the catalog's limit).
pub const MAX_RESTOCK: i64 = 1_000_000;
const PAGE_SIZE: u64 = 100;

pub struct Admin {
    client: Client,
    token: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ListedProduct {
    pub id: String,
    #[serde(default)]
    pub sku: String,
    pub stock: i64,
}

#[derive(Deserialize)]
struct Page {
    items: Vec<ListedProduct>,
    #[serde(default)]
    total: u64,
}

/// What the restock did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Restocked {
    pub products: usize,
    pub topped_up: usize,
    pub units: i64,
}

impl Admin {
    pub async fn login(mut client: Client, email: &str, password: &str) -> Result<Admin, String> {
        let (status, body) = send(&mut client, &login_request(email, password)).await?;
        if status != 200 {
            return Err(format!(
                "admin login as {email} answered {status}: {} (set --admin-email and --admin-password or SOUK_ADMIN_PASSWORD)",
                snippet(&body)
            ));
        }
        let token = parse_token(&body).ok_or_else(|| format!("admin login answered 200 without a token: {}", snippet(&body)))?;
        Ok(Admin { client, token })
    }

    async fn call(&mut self, spec: RequestSpec) -> Result<(u16, Bytes), String> {
        let spec = spec.bearer(&self.token);
        send(&mut self.client, &spec).await
    }

    /// Every product on sale, with its stock (all pages).
    pub async fn products(&mut self) -> Result<Vec<ListedProduct>, String> {
        let mut all = Vec::new();
        for page in 1.. {
            let path = format!("/api/v1/products?page={page}&page_size={PAGE_SIZE}");
            let (status, body) = self.call(RequestSpec::get("", path.clone())).await?;
            if status != 200 {
                return Err(format!("GET {path} answered {status}: {}", snippet(&body)));
            }
            let page: Page = serde_json::from_slice(&body).map_err(|e| format!("GET {path}: unexpected answer ({e}): {}", snippet(&body)))?;
            let done = page.items.is_empty() || all.len() as u64 + page.items.len() as u64 >= page.total;
            all.extend(page.items);
            if done {
                break;
            }
        }
        Ok(all)
    }

    /// Tops every product on sale up to at least `floor` units.
    pub async fn restock_to(&mut self, floor: i64) -> Result<Restocked, String> {
        let products = self.products().await?;
        let plan = restock_plan(&products, floor);
        let mut done = Restocked { products: products.len(), ..Restocked::default() };
        for (id, quantity) in plan {
            let path = format!("/api/v1/products/{id}/restock");
            let spec = RequestSpec::json("", Method::POST, path.clone(), &json!({ "quantity": quantity }));
            let (status, body) = self.call(spec).await?;
            if status != 200 {
                return Err(format!("POST {path} answered {status}: {}", snippet(&body)));
            }
            done.units += quantity;
        }
        done.topped_up = products.iter().filter(|p| p.stock < floor).count();
        Ok(done)
    }

    /// `GET /api/v1/admin/audit`.
    pub async fn audit(&mut self) -> Result<Audit, String> {
        let path = "/api/v1/admin/audit";
        let (status, body) = self.call(RequestSpec::get("", path)).await?;
        if status != 200 {
            return Err(format!("GET {path} answered {status}: {}", snippet(&body)));
        }
        serde_json::from_slice(&body).map_err(|e| format!("GET {path}: unexpected answer ({e}): {}", snippet(&body)))
    }
}

async fn send(client: &mut Client, spec: &RequestSpec) -> Result<(u16, Bytes), String> {
    client.send(spec).await.map_err(|e| format!("{} {}: {} error", spec.method, spec.path, e.as_str()))
}

/// The restock calls that bring each product up to `floor` units, in
/// chunks the catalog accepts.
pub fn restock_plan(products: &[ListedProduct], floor: i64) -> Vec<(String, i64)> {
    let mut calls = Vec::new();
    for p in products {
        let mut missing = floor.saturating_sub(p.stock);
        while missing > 0 {
            let quantity = missing.min(MAX_RESTOCK);
            calls.push((p.id.clone(), quantity));
            missing -= quantity;
        }
    }
    calls
}

/// The start of an answer body, for error messages.
fn snippet(body: &Bytes) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(300) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None if text.is_empty() => "(empty body)".to_string(),
        None => text.to_string(),
    }
}

/// How long the check waits between tries, and how often it tries: the
/// server may still be finishing requests whose client gave up (timeouts).
const SETTLE: Duration = Duration::from_secs(1);
const CHECK_TRIES: u32 = 3;

/// Logs in as admin and checks the audit; a failing check is tried again
/// (up to [`CHECK_TRIES`] times, [`SETTLE`] apart) before it counts.
pub async fn check_shop(client: Client, email: &str, password: &str) -> CheckReport {
    let mut admin = match Admin::login(client, email, password).await {
        Ok(admin) => admin,
        Err(e) => return CheckReport::failed_to_run(e),
    };
    let mut last = CheckReport::failed_to_run("not tried".into());
    for attempt in 0..CHECK_TRIES {
        if attempt > 0 {
            tokio::time::sleep(SETTLE).await;
        }
        last = match admin.audit().await {
            Ok(audit) => {
                let violations = check::check(&audit);
                CheckReport {
                    passed: violations.is_empty(),
                    products: audit.stock.products.len(),
                    paid_orders: audit.orders.paid_orders.len(),
                    violations,
                    error: None,
                }
            }
            Err(e) => CheckReport::failed_to_run(e),
        };
        if last.passed {
            break;
        }
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product(id: &str, stock: i64) -> ListedProduct {
        ListedProduct { id: id.into(), sku: id.to_uppercase(), stock }
    }

    #[test]
    fn restocks_up_to_the_floor_in_chunks() {
        let products = [product("a", 100), product("b", 1_000_000), product("c", -5), product("d", 0)];
        assert_eq!(
            restock_plan(&products, 1_000_000),
            [("a".to_string(), 999_900), ("c".to_string(), 1_000_000), ("c".to_string(), 5), ("d".to_string(), 1_000_000),]
        );
        assert_eq!(restock_plan(&products, 0), [("c".to_string(), 5)]);
        assert_eq!(restock_plan(&products[..2], 100), []);
        assert_eq!(restock_plan(&[product("e", 0)], 2_500_000), [("e".to_string(), 1_000_000), ("e".to_string(), 1_000_000), ("e".to_string(), 500_000),]);
    }

    #[test]
    fn snippets_are_short() {
        assert_eq!(snippet(&Bytes::from_static(b" {\"a\":1} ")), "{\"a\":1}");
        assert_eq!(snippet(&Bytes::new()), "(empty body)");
        let long = Bytes::from("x".repeat(400));
        assert_eq!(snippet(&long).chars().count(), 301);
    }
}
