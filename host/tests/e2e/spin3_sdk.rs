//! A component as the Spin 3 Rust SDK builds it (a core module for
//! wasm32-wasip1, importing `fermyon:spin/*@2.0.0`, `wasi:keyvalue` and
//! `wasi:config`) runs unchanged: the host turns it into a component when
//! loading it (and caches the result), and serves those interfaces from the
//! same stores and variables as the Spin 3 ones.

use crate::harness::{AppDir, Souk};

const APP: &str = r#"
spin_manifest_version = 2
[application]
name = "spin3"
[variables]
region = { default = "eu-west" }
[[trigger.http]]
route = "/..."
component = "old"
[component.old]
source = "{spin3}"
key_value_stores = ["default"]
sqlite_databases = ["default"]
[component.old.variables]
region = "{{ region }}"
"#;

fn text(souk: &Souk, path: &str) -> (u16, String) {
    let reply = souk.get(path);
    (reply.status, reply.body)
}

#[test]
fn a_spin3_sdk_module_serves() {
    let app = AppDir::new(APP);
    let souk = app.up();
    assert_eq!(text(&souk, "/hello"), (200, "hello from a Spin 3 SDK component".into()));
}

#[test]
fn fermyon_key_value_uses_the_components_stores_and_persists() {
    let app = AppDir::new(APP);
    let souk = app.up();
    assert_eq!(text(&souk, "/kv?store=default"), (200, "kept".into()));
    assert_eq!(text(&souk, "/kv?store=other"), (409, "Error::AccessDenied".into()));
    assert_eq!(souk.terminate(), Some(0));
    // After a restart, the value fermyon:spin wrote ("kept", 4 bytes) is what
    // wasi:keyvalue finds: one store, whichever interface.
    let souk = app.up();
    let (status, body) = text(&souk, "/wasi-kv/increment?store=default&key=greeting&delta=1");
    assert!(status == 409 && body.contains("is 4 bytes"), "{status} {body}");
    assert_eq!(text(&souk, "/wasi-kv/increment?store=other&key=n&delta=1"), (409, "Error::AccessDenied".into()));
}

#[test]
fn fermyon_sqlite_round_trips_and_is_scoped() {
    let app = AppDir::new(APP);
    let souk = app.up();
    assert_eq!(text(&souk, "/sql?db=default"), (200, "Value::Integer(1) Value::Text(\"row\")".into()));
    assert_eq!(text(&souk, "/sql?db=default"), (200, "Value::Integer(2) Value::Text(\"row\")".into()));
    assert_eq!(text(&souk, "/sql?db=other"), (409, "Error::AccessDenied".into()));
}

#[test]
fn fermyon_variables_and_wasi_config_read_the_components_variables() {
    let app = AppDir::new(APP);
    let souk = app.up();
    assert_eq!(text(&souk, "/var?name=region"), (200, "eu-west".into()));
    let (status, body) = text(&souk, "/var?name=missing");
    assert!(status == 409 && body.starts_with("Error::Undefined("), "{status} {body}");
    assert_eq!(text(&souk, "/config?key=region"), (200, "eu-west".into()));
    assert_eq!(text(&souk, "/config?key=missing"), (404, "absent".into()));
}

/// As in Spin, a model the component's `ai_models` does not list is
/// invalid input; a listed one fails because souk runs no models.
#[test]
fn llm_calls_are_refused_with_a_reason() {
    let app = AppDir::new(APP);
    let souk = app.up();
    let (status, body) = text(&souk, "/llm");
    assert_eq!(status, 409);
    assert!(body.contains("InvalidInput") && body.contains("ai_models"), "{body}");
    drop(souk);

    let listed = AppDir::new(&APP.replace("sqlite_databases = [\"default\"]\n", "sqlite_databases = [\"default\"]\nai_models = [\"llama2-chat\"]\n"));
    let (status, body) = text(&listed.up(), "/llm");
    assert_eq!(status, 409);
    assert!(body.contains("RuntimeError") && body.contains("serves no LLM models"), "{body}");
}

#[test]
fn wasi_keyvalue_increment_adds_and_rejects_a_non_number() {
    let app = AppDir::new(APP);
    let souk = app.up();
    assert_eq!(text(&souk, "/wasi-kv/increment?store=default&key=n&delta=5"), (200, "5".into()));
    assert_eq!(text(&souk, "/wasi-kv/increment?store=default&key=n&delta=-2"), (200, "3".into()));
    assert_eq!(text(&souk, "/wasi-kv/raw?store=default&key=word"), (200, "set".into()));
    let (status, body) = text(&souk, "/wasi-kv/increment?store=default&key=word&delta=1");
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("3 bytes, not an 8-byte little-endian integer"), "{body}");
}

#[test]
fn wasi_keyvalue_cas_fails_when_stale_and_swaps_when_fresh() {
    let app = AppDir::new(APP);
    let souk = app.up();
    assert_eq!(text(&souk, "/wasi-kv/cas?store=default&key=c"), (200, "cas-failed changed swapped new".into()));
}

#[test]
fn the_componentized_module_is_cached_for_the_next_start() {
    let app = AppDir::new(APP);
    let first = app.up();
    assert_eq!(first.get("/hello").status, 200);
    assert_eq!(first.terminate(), Some(0));
    let second = app.up();
    assert!(second.startup.iter().any(|l| l.contains("(0 compiled, 1 from cache)")), "{:?}", second.startup);
    assert_eq!(second.get("/hello").status, 200);
}

#[test]
fn a_synchronous_sqlite_call_waits_for_another_guests_transaction_without_holding_a_thread() {
    let app = AppDir::new(
        r#"
spin_manifest_version = 2
[application]
name = "waiting"
[[trigger.http]]
route = "/old/..."
component = "old"
[[trigger.http]]
route = "/new/..."
component = "new"
[component.old]
source = "{spin3}"
sqlite_databases = ["default"]
[component.new]
source = "{guest}"
sqlite_databases = ["default"]
"#,
    );
    // One executor thread: a synchronous call that blocked its thread while
    // waiting would stop the transaction it waits for from ever committing.
    let souk = app.up_with(&[], &[("TOKIO_WORKER_THREADS", "1")]);
    assert_eq!(text(&souk, "/old/sql?db=default"), (200, "Value::Integer(1) Value::Text(\"row\")".into()));
    std::thread::scope(|s| {
        let holder = s.spawn(|| souk.post("/new/sql/hold?db=default&ms=1500", ""));
        std::thread::sleep(std::time::Duration::from_millis(300));
        // The Spin 3 guest's insert waits for the open transaction, then
        // runs after its commit: it counts the held row too.
        assert_eq!(text(&souk, "/old/sql?db=default"), (200, "Value::Integer(3) Value::Text(\"row\")".into()));
        let held = holder.join().unwrap();
        assert_eq!((held.status, held.body.as_str()), (200, "committed"));
    });
}
