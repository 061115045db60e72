//! `[key_value_store.<label>] type = "redis"`: a store on a real
//! redis-server, shared by two `souk up` processes as by two replicas,
//! through every key-value interface (Spin 3, Spin 2, `wasi:keyvalue` with
//! its increment and compare-and-swap).

use crate::harness::AppDir;
use crate::servers::RedisServer;

const APP: &str = r#"
spin_manifest_version = 2
[application]
name = "shared-store"
[[trigger.http]]
route = "/new/..."
component = "new"
[[trigger.http]]
route = "/old/..."
component = "old"
[component.new]
source = "{guest}"
key_value_stores = ["cart"]
[component.old]
source = "{spin3}"
key_value_stores = ["cart"]
"#;

#[test]
fn two_replicas_share_a_redis_store_through_every_interface() {
    let server = RedisServer::start();
    let app = AppDir::new(APP);
    app.write("runtime-config.toml", &format!("[key_value_store.cart]\ntype = \"redis\"\nurl = \"{}\"\n", server.url()));
    let first = app.up_with(&["--state-dir", app.path().join("state-1").to_str().unwrap()], &[]);
    let second = app.up_with(&["--state-dir", app.path().join("state-2").to_str().unwrap()], &[]);

    // Spin 3 interface: written by one replica, read by the other.
    assert_eq!(first.post("/new/kv/set?store=cart&key=basket", "mug,teapot").status, 200);
    let read = second.get("/new/kv/get?store=cart&key=basket");
    assert_eq!((read.status, read.body.as_str()), (200, "mug,teapot"));
    let mut own = server.client();
    assert_eq!(redis::cmd("GET").arg("basket").query::<String>(&mut own).unwrap(), "mug,teapot", "a plain Redis key");

    // Spin 2 interface (a Spin 3 SDK module).
    let reply = second.get("/old/kv?store=cart");
    assert_eq!((reply.status, reply.body.as_str()), (200, "kept"));

    // wasi:keyvalue: increments from both replicas add up (Redis's INCRBY).
    assert_eq!(first.get("/old/wasi-kv/increment?store=cart&key=hits&delta=2").body, "2");
    assert_eq!(second.get("/old/wasi-kv/increment?store=cart&key=hits&delta=3").body, "5");
    // Compare-and-swap: a stale handle fails, a fresh one swaps.
    let reply = first.get("/old/wasi-kv/cas?store=cart&key=slot");
    assert_eq!((reply.status, reply.body.as_str()), (200, "cas-failed changed swapped new"));
    assert_eq!(redis::cmd("GET").arg("slot").query::<String>(&mut own).unwrap(), "new");
}

#[test]
fn a_redis_store_that_cannot_be_reached_is_an_error_not_a_hang() {
    let server = RedisServer::start();
    let port = server.port;
    drop(server);
    let app = AppDir::new(APP);
    app.write("runtime-config.toml", &format!("[key_value_store.cart]\ntype = \"redis\"\nurl = \"redis://127.0.0.1:{port}\"\n"));
    let souk = app.up();
    let reply = souk.get("/new/kv/get?store=cart&key=basket");
    assert_eq!(reply.status, 409, "{reply:?}");
    assert!(reply.body.contains("cannot connect"), "{reply:?}");
}

/// A store at a `rediss://` URL is reached over TLS, trusting the system's
/// roots (here `SSL_CERT_FILE`); the runtime config's blocked networks are
/// for guests' own connections, not for the operator's stores.
#[test]
fn a_rediss_store_is_reached_over_tls_and_is_not_held_to_blocked_networks() {
    let ca = crate::test_ca::TestCa::new();
    let server = RedisServer::start_tls(&ca);
    let app = AppDir::new(APP);
    app.write(
        "runtime-config.toml",
        &format!(
            "[key_value_store.cart]\ntype = \"redis\"\nurl = \"rediss://127.0.0.1:{}\"\n\n[outbound_networking]\nblock_networks = [\"private\"]\n",
            server.tls_port.unwrap()
        ),
    );
    let root = ca.root().display().to_string();
    let souk = app.up_with(&[], &[("SSL_CERT_FILE", &root)]);
    assert_eq!(souk.post("/new/kv/set?store=cart&key=basket", "kettle").status, 200);
    assert_eq!(redis::cmd("GET").arg("basket").query::<String>(&mut server.client()).unwrap(), "kettle");
    let read = souk.get("/new/kv/get?store=cart&key=basket");
    assert_eq!((read.status, read.body.as_str()), (200, "kettle"));
}
