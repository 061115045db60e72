//! The shop end to end: the repository's own spin.toml and
//! runtime-config.toml under `souk up`, each test with a temporary state dir,
//! talking to the public API like a client.

mod access;
mod concurrency;
mod crash;
mod events;
mod fuzz;
mod idempotency;
mod identity;
mod input;
mod load;
mod openapi;
mod orders;
mod purchase;
mod rate_limit;
mod restart;
mod schema;
mod storefront;
mod traces;
mod webhook;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{Reply, Souk, fixtures, workspace_root};

pub const ADMIN_EMAIL: &str = "admin@shop.test";
pub const ADMIN_PASSWORD: &str = "admin-password-123";
/// The test shop's keys, fixed so that a test can sign tokens the shop
/// accepts (identity.rs): a signing key under kid `e2e-1`, its public half,
/// and a second pair (`e2e-2`) to rotate to.
pub const SIGNING_KEY_1: &str = "e2e-1=BQC6kCvGvnfR2BcgG0wJOQS3_ZKMmmy0WL7w5wjDX84";
pub const PUBLIC_KEY_1: &str = "e2e-1=YdkXBeCIzDJrsCB8r6MseKqx-bB0YeLIt7HFR1eRZ0E";
pub const SIGNING_KEY_2: &str = "e2e-2=rQOEFXUV1hLOS5ybb8D25vtNRjl66LxW7iz2DrocNnk";
pub const PUBLIC_KEY_2: &str = "e2e-2=0aX6myqrnw9173529G-gfeTMq8Q8OMvXhRCsYHqd018";
pub const APPROVED_CARD: &str = "4242 4242 4242 4242";
pub const DECLINED_CARD: &str = "4000 0000 0000 0002";

/// Compiled components shared by every shop test (and test run), so only
/// the first start compiles.
fn cache_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| workspace_root().join("target")).join("souk-shop-test-cache")
}

/// Starts the shop once before any test does, so the compile cache is
/// filled by one process rather than by every test at once.
fn warm_up() {
    static WARM: OnceLock<()> = OnceLock::new();
    WARM.get_or_init(|| {
        fixtures();
        let state = tempfile::tempdir().unwrap();
        let souk = start_in(state.path(), &[]);
        souk.terminate();
    });
}

fn start_in(state_dir: &Path, env: &[(&str, &str)]) -> Souk {
    start_app_in(&workspace_root(), state_dir, env, &[])
}

/// Starts the app in `app` (a folder with spin.toml) on `state_dir`.
fn start_app_in(app: &Path, state_dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Souk {
    let mut vars = vec![
        ("SPIN_VARIABLE_JWT_SIGNING_KEY", SIGNING_KEY_1),
        ("SPIN_VARIABLE_JWT_PUBLIC_KEYS", PUBLIC_KEY_1),
        ("SPIN_VARIABLE_RATE_LIMIT_KEY", "e2e-rate-limit-key-0123456789abcdef"),
        ("SPIN_VARIABLE_ADMIN_EMAIL", ADMIN_EMAIL),
        ("SPIN_VARIABLE_ADMIN_PASSWORD", ADMIN_PASSWORD),
        ("SPIN_VARIABLE_RATE_LIMIT_RPS", "1000"),
        ("SPIN_VARIABLE_RATE_LIMIT_BURST", "5000"),
    ];
    for (k, v) in env {
        vars.retain(|(name, _)| name != k);
        vars.push((k, v));
    }
    // runtime-config.toml's paths are relative to its folder: a copy in the
    // state dir puts this test's databases there.
    let config = state_dir.join("runtime-config.toml");
    std::fs::copy(app.join("runtime-config.toml"), &config).expect("copying runtime-config.toml into the state dir");
    let (state, config) = (state_dir.display().to_string(), config.display().to_string());
    let cache = cache_dir().display().to_string();
    let mut all = vec!["--state-dir", &state, "--runtime-config-file", &config, "--cache-dir", &cache, "--quiet"];
    all.extend_from_slice(args);
    Souk::start_app(app, &all, &vars)
}

/// A running shop with its own temporary state.
pub struct Shop {
    pub souk: Souk,
    pub state: tempfile::TempDir,
}

impl Shop {
    pub fn start() -> Shop {
        Shop::start_with(&[])
    }

    pub fn start_with(env: &[(&str, &str)]) -> Shop {
        warm_up();
        let state = tempfile::tempdir().unwrap();
        let souk = start_in(state.path(), env);
        Shop { souk, state }
    }

    /// Runs the repository's app with extra `souk up` arguments.
    pub fn start_with_args(args: &[&str]) -> Shop {
        warm_up();
        let state = tempfile::tempdir().unwrap();
        let souk = start_app_in(&workspace_root(), state.path(), &[], args);
        Shop { souk, state }
    }

    /// Runs the app of another manifest (a variant of the repository's).
    pub fn start_from(app: &Path) -> Shop {
        warm_up();
        let state = tempfile::tempdir().unwrap();
        let souk = start_app_in(app, state.path(), &[], &[]);
        Shop { souk, state }
    }

    /// Stops it and starts it again on the same state.
    pub fn restart(self) -> Shop {
        self.restart_from(&workspace_root())
    }

    /// Stops it and starts the app in `app` on the same state.
    pub fn restart_from(self, app: &Path) -> Shop {
        let Shop { souk, state } = self;
        assert_eq!(souk.terminate(), Some(0));
        let souk = start_app_in(app, state.path(), &[], &[]);
        Shop { souk, state }
    }

    /// Stops it and starts it again on the same state with other variables.
    pub fn restart_with(self, env: &[(&str, &str)]) -> Shop {
        let Shop { souk, state } = self;
        assert_eq!(souk.terminate(), Some(0));
        let souk = start_app_in(&workspace_root(), state.path(), env, &[]);
        Shop { souk, state }
    }

    pub fn anonymous(&self) -> Client<'_> {
        Client { souk: &self.souk, token: None, user_id: String::new() }
    }

    pub fn login(&self, email: &str, password: &str) -> Client<'_> {
        let r = self.anonymous().post("/api/v1/auth/login", json!({ "email": email, "password": password }));
        assert_eq!(r.status, 200, "login {email}: {}", r.body);
        let v = r.json();
        Client { souk: &self.souk, token: Some(v["token"].as_str().unwrap().to_owned()), user_id: v["user"]["id"].as_str().unwrap().to_owned() }
    }

    pub fn admin(&self) -> Client<'_> {
        self.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    }

    /// Registers a new customer with a saved address and logs in.
    pub fn customer(&self, name: &str) -> Client<'_> {
        let email = format!("{name}-{}@shop.test", unique());
        let password = "correct horse battery";
        let r = self.anonymous().post("/api/v1/users", json!({ "email": email, "password": password, "name": name }));
        assert_eq!(r.status, 201, "register: {}", r.body);
        let client = self.login(&email, password);
        let r = client.patch("/api/v1/users/me", json!({ "shipping_address": address() }));
        assert_eq!(r.status, 200, "saving the address: {}", r.body);
        client
    }

    /// A product an admin created for one test, with `stock` units at 10.00 EUR.
    pub fn product(&self, stock: u32) -> String {
        let sku = format!("T-{}", unique());
        let r = self.admin().post(
            "/api/v1/products",
            json!({ "sku": sku, "name": format!("Test item {sku}"), "description": "made for one test", "category": "tests",
                    "price": { "amount": 1000, "currency": "EUR" }, "weight_grams": 300, "stock": stock }),
        );
        assert_eq!(r.status, 201, "creating a product: {}", r.body);
        r.json()["id"].as_str().unwrap().to_owned()
    }

    pub fn stock(&self, product_id: &str) -> i64 {
        let r = self.admin().get(&format!("/api/v1/products/{product_id}"));
        assert_eq!(r.status, 200, "{}", r.body);
        r.json()["stock"].as_i64().unwrap()
    }
}

pub fn address() -> Value {
    json!({ "name": "Ada Buyer", "line1": "Hauptstr. 1", "city": "Berlin", "postal_code": "10115", "country": "DE" })
}

pub fn card(number: &str) -> Value {
    json!({ "number": number, "exp_month": 12, "exp_year": 2099, "cvc": "123" })
}

/// A string unique within this test run.
pub fn unique() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    format!("{}{nanos}", N.fetch_add(1, Ordering::Relaxed))
}

/// Someone talking to the public API, signed in or not.
pub struct Client<'a> {
    pub souk: &'a Souk,
    pub token: Option<String>,
    pub user_id: String,
}

impl Client<'_> {
    pub fn send(&self, method: &str, path: &str, body: Option<&str>, headers: &[(&str, &str)]) -> Reply {
        self.send_bytes(method, path, body.map(str::as_bytes), headers)
    }

    /// As [`Client::send`], with a body that need not be UTF-8.
    pub fn send_bytes(&self, method: &str, path: &str, body: Option<&[u8]>, headers: &[(&str, &str)]) -> Reply {
        let auth = self.token.as_ref().map(|t| format!("Bearer {t}"));
        let mut all: Vec<(&str, &str)> = headers.to_vec();
        if let Some(auth) = &auth {
            all.push(("authorization", auth));
        }
        if body.is_some() {
            all.push(("content-type", "application/json"));
        }
        self.souk.request_bytes(method, path, body, &all)
    }

    pub fn get(&self, path: &str) -> Reply {
        self.send("GET", path, None, &[])
    }

    pub fn post(&self, path: &str, body: Value) -> Reply {
        self.send("POST", path, Some(&body.to_string()), &[])
    }

    pub fn put(&self, path: &str, body: Value) -> Reply {
        self.send("PUT", path, Some(&body.to_string()), &[])
    }

    pub fn patch(&self, path: &str, body: Value) -> Reply {
        self.send("PATCH", path, Some(&body.to_string()), &[])
    }

    pub fn delete(&self, path: &str) -> Reply {
        self.send("DELETE", path, None, &[])
    }

    /// Places an order for explicit items with a card; returns the reply.
    pub fn order(&self, items: &[(&str, u32)], card_number: &str) -> Reply {
        let items: Vec<Value> = items.iter().map(|(id, q)| json!({ "product_id": id, "quantity": q })).collect();
        self.post("/api/v1/orders", json!({ "items": items, "card": card(card_number) }))
    }
}

/// Asserts the one error shape and returns its code.
pub fn error_code(r: &Reply) -> String {
    let v: Value = serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("error body is not JSON ({e}): {}", r.body));
    let error = &v["error"];
    assert!(error["message"].is_string() && error["details"].is_object(), "not the error shape: {}", r.body);
    error["code"].as_str().unwrap_or_else(|| panic!("no error code: {}", r.body)).to_owned()
}

/// Polls `check` (events are delivered after the response) for up to 10 s.
pub fn eventually<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}
