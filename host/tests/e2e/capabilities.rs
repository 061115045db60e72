//! Key-value, SQLite, variables and outbound HTTP as guests see them.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::harness::AppDir;

const STORES_APP: &str = r#"
spin_manifest_version = 2
[application]
name = "stores"

[[trigger.http]]
route = "/cart/..."
component = "cart"
[[trigger.http]]
route = "/orders/..."
component = "orders"

[component.cart]
source = "{guest}"
key_value_stores = ["cart", "unconfigured"]
sqlite_databases = ["cart-db"]
[component.orders]
source = "{guest}"
key_value_stores = ["orders"]
sqlite_databases = ["orders-db", "missing-db"]
"#;

const STORES_CONFIG: &str = r#"
[key_value_store.cart]
type = "spin"
path = "data/cart.db"
[key_value_store.orders]
type = "spin"
path = "data/orders-kv.db"
[sqlite_database.cart-db]
type = "spin"
path = "data/cart-sql.db"
[sqlite_database.orders-db]
type = "spin"
path = "data/orders.db"
"#;

pub fn stores_app() -> AppDir {
    let app = AppDir::new(STORES_APP);
    app.write("runtime-config.toml", STORES_CONFIG);
    app
}

#[test]
fn key_value_round_trips_persists_and_is_scoped_per_component() {
    let app = stores_app();
    let souk = app.up();
    assert_eq!(souk.post("/cart/kv/set?store=cart&key=item", "3 apples").status, 200);
    let got = souk.get("/cart/kv/get?store=cart&key=item");
    assert_eq!((got.status, got.body.as_str()), (200, "3 apples"));
    assert_eq!(souk.get("/cart/kv/get?store=cart&key=absent").status, 404);

    // Another component cannot open the cart's store, even though it exists.
    let denied = souk.get("/orders/kv/get?store=cart&key=item");
    assert_eq!((denied.status, denied.body.as_str()), (409, "access-denied"));
    // A label the component lists but nobody configured.
    let missing = souk.get("/cart/kv/get?store=unconfigured&key=x");
    assert_eq!((missing.status, missing.body.as_str()), (409, "no-such-store"));
    // The orders store is a different file: the key is not there.
    assert_eq!(souk.post("/orders/kv/set?store=orders&key=o1", "paid").status, 200);
    assert_eq!(souk.get("/orders/kv/get?store=orders&key=item").status, 404);

    assert_eq!(souk.terminate(), Some(0));
    assert!(app.path().join("data/cart.db").exists(), "the store lives where runtime-config.toml says");

    let souk = app.up();
    assert_eq!(souk.get("/cart/kv/get?store=cart&key=item").body, "3 apples");
    assert_eq!(souk.get("/orders/kv/get?store=orders&key=o1").body, "paid");
}

#[test]
fn sqlite_round_trips_persists_and_is_scoped_per_component() {
    let app = stores_app();
    let souk = app.up();
    let create = souk.post("/orders/sql/exec?db=orders-db", "CREATE TABLE orders (id INTEGER PRIMARY KEY, item TEXT, total REAL)");
    assert_eq!(create.status, 200, "{create:?}");
    assert_eq!(souk.post("/orders/sql/exec?db=orders-db", "INSERT INTO orders (item, total) VALUES ('tea', 4.5), ('cup', NULL)").status, 200);
    let rows = souk.post("/orders/sql/exec?db=orders-db", "SELECT id, item, total FROM orders ORDER BY id");
    assert_eq!(rows.body, "1|tea|4.5\n2|cup|NULL\n");

    let bad = souk.post("/orders/sql/exec?db=orders-db", "SELEC nonsense");
    assert_eq!(bad.status, 409);
    assert!(bad.body.starts_with("io: ") && bad.body.contains("syntax error"), "{bad:?}");

    let denied = souk.post("/cart/sql/exec?db=orders-db", "SELECT 1");
    assert_eq!((denied.status, denied.body.as_str()), (409, "access-denied"));
    let missing = souk.post("/orders/sql/exec?db=missing-db", "SELECT 1");
    assert_eq!((missing.status, missing.body.as_str()), (409, "no-such-database"));

    assert_eq!(souk.terminate(), Some(0));
    let souk = app.up();
    let rows = souk.post("/orders/sql/exec?db=orders-db", "SELECT count(*) FROM orders");
    assert_eq!(rows.body, "2\n");
}

#[test]
fn stats_count_each_components_instances_and_sqlite_statements() {
    let app = stores_app();
    let souk = app.up_with(&["--stats"], &[]);
    for statement in ["CREATE TABLE t (x INTEGER)", "INSERT INTO t (x) VALUES (1)", "SELECT x FROM t"] {
        assert_eq!(souk.post("/orders/sql/exec?db=orders-db", statement).status, 200);
    }
    assert_eq!(souk.get("/cart/kv/get?store=cart&key=absent").status, 404);
    // Refused at open: an instance, but no statement.
    assert_eq!(souk.post("/cart/sql/exec?db=orders-db", "SELECT 1").status, 409);
    let (code, stderr) = souk.terminate_with_stderr();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("component `orders`: 3 instances, 3 SQLite statements"), "{stderr}");
    assert!(stderr.contains("component `cart`: 2 instances, 0 SQLite statements"), "{stderr}");
}

#[test]
fn default_stores_need_no_runtime_config() {
    let app = AppDir::new(
        r#"
spin_manifest_version = 2
[application]
name = "defaults"
[[trigger.http]]
route = "/..."
component = "web"
[component.web]
source = "{guest}"
key_value_stores = ["default"]
sqlite_databases = ["default"]
"#,
    );
    let souk = app.up();
    assert_eq!(souk.post("/kv/set?store=default&key=k", "v").status, 200);
    assert_eq!(souk.get("/kv/get?store=default&key=k").body, "v");
    assert_eq!(souk.post("/sql/exec?db=default", "SELECT 40 + 2").body, "42\n");
    assert!(app.path().join(".spin").is_dir(), "default stores live in the state dir");
}

#[test]
fn a_transaction_a_guest_leaves_open_is_rolled_back_and_frees_the_database() {
    let app = AppDir::new(
        r#"
spin_manifest_version = 2
[application]
name = "transactions"
[[trigger.http]]
route = "/..."
component = "web"
[component.web]
source = "{guest}"
sqlite_databases = ["default"]
"#,
    );
    let souk = app.up();
    assert_eq!(souk.post("/sql/exec?db=default", "CREATE TABLE t (x INTEGER)").status, 200);
    // This request ends with its transaction open.
    assert_eq!(souk.post("/sql/exec?db=default", "BEGIN IMMEDIATE").status, 200);
    // The next instance is not inside that transaction: it can start its own,
    // which it could not if the first were still open on the connection.
    let begin = souk.post("/sql/exec?db=default", "BEGIN IMMEDIATE");
    assert_eq!(begin.status, 200, "{}", begin.body);
    assert_eq!(souk.post("/sql/exec?db=default", "INSERT INTO t (x) VALUES (1)").status, 200);
    // Each of those was rolled back when its instance ended: the insert ran
    // on its own, outside them, and stays.
    assert_eq!(souk.post("/sql/exec?db=default", "SELECT count(*) FROM t").body, "1\n");
}

const VARIABLES_APP: &str = r#"
spin_manifest_version = 2
[application]
name = "vars"
[variables]
greeting = { default = "hello" }
api_key = { required = true, secret = true }
[[trigger.http]]
route = "/..."
component = "web"
[component.web]
source = "{guest}"
[component.web.variables]
message = "{{ greeting }}, world"
key = "{{ api_key }}"
"#;

#[test]
fn variables_come_from_defaults_and_the_environment() {
    let app = AppDir::new(VARIABLES_APP);
    let souk = app.up_with(&[], &[("SPIN_VARIABLE_API_KEY", "s3cret")]);
    assert_eq!(souk.get("/var?name=message").body, "hello, world");
    assert_eq!(souk.get("/var?name=key").body, "s3cret");
    let undefined = souk.get("/var?name=nope");
    assert_eq!(undefined.status, 409);
    assert!(undefined.body.starts_with("undefined"), "{undefined:?}");
    drop(souk);

    let souk = app.up_with(&[], &[("SPIN_VARIABLE_API_KEY", "k"), ("SPIN_VARIABLE_GREETING", "salaam")]);
    assert_eq!(souk.get("/var?name=message").body, "salaam, world");
}

#[test]
fn a_required_variable_without_value_stops_start_up_naming_it() {
    let app = AppDir::new(VARIABLES_APP);
    let output = app.up_fails(&[], &[]);
    assert!(output.contains("api_key"), "{output}");
    assert!(output.contains("spin.toml"), "{output}");
}

/// A one-thread HTTP server on loopback that counts its connections.
pub fn counting_server() -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            counter.fetch_add(1, Ordering::SeqCst);
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 8\r\nconnection: close\r\n\r\nupstream");
        }
    });
    (port, hits)
}

#[test]
fn outbound_http_obeys_allowed_outbound_hosts() {
    let (port, hits) = counting_server();
    let app = AppDir::new(&format!(
        r#"
spin_manifest_version = 2
[application]
name = "outbound"
[[trigger.http]]
route = "/open/..."
component = "open"
[[trigger.http]]
route = "/closed/..."
component = "closed"
[component.open]
source = "{{guest}}"
allowed_outbound_hosts = ["http://127.0.0.1:{port}"]
[component.closed]
source = "{{guest}}"
allowed_outbound_hosts = ["http://127.0.0.1:1"]
"#
    ));
    let souk = app.up();
    let url = format!("http%3A%2F%2F127.0.0.1%3A{port}%2Fping");
    let allowed = souk.get(&format!("/open/outbound?url={url}"));
    assert_eq!((allowed.status, allowed.body.as_str()), (200, "status=200\nupstream"));
    assert_eq!(hits.load(Ordering::SeqCst), 1);

    let refused = souk.get(&format!("/closed/outbound?url={url}"));
    assert_eq!(refused.status, 502, "{refused:?}");
    assert!(refused.body.contains("HttpRequestDenied"), "{refused:?}");
    assert_eq!(hits.load(Ordering::SeqCst), 1, "a refused request must not connect");
}
