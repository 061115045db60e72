//! The interfaces Spin 2 and 3 serve besides the Spin 3 ones, as a WASIp2
//! component imports them (the `{p2}` fixture): `fermyon:spin/*@2.0.0`,
//! `wasi:keyvalue` (2024-10-17 draft) and `wasi:config` (2024-09-27 draft).
//! They reach the same stores, with the same per-component scoping, and the
//! same variables as `spin:key-value`, `spin:sqlite` and `spin:variables`.

use crate::harness::{AppDir, Reply};

const APP: &str = r#"
spin_manifest_version = 2
[application]
name = "spin2"
[variables]
greeting = { default = "hello" }

[[trigger.http]]
route = "/a/..."
component = "a"
[[trigger.http]]
route = "/b/..."
component = "b"
[[trigger.http]]
route = "/p3/..."
component = "p3"

[component.a]
source = "{p2}"
key_value_stores = ["shared", "unconfigured"]
sqlite_databases = ["db", "missing-db"]
[component.a.variables]
message = "{{ greeting }}, world"
region = "eu-west"

[component.b]
source = "{p2}"
key_value_stores = ["other"]

[component.p3]
source = "{guest}"
key_value_stores = ["shared"]
"#;

const CONFIG: &str = r#"
[key_value_store.shared]
type = "spin"
path = "data/shared.db"
[key_value_store.other]
type = "spin"
path = "data/other.db"
[sqlite_database.db]
type = "spin"
path = "data/db.sqlite"
"#;

/// Keep the returned folder alive while `souk` runs: the stores live in it.
fn app() -> AppDir {
    let app = AppDir::new(APP);
    app.write("runtime-config.toml", CONFIG);
    app
}

fn pair(reply: Reply) -> (u16, String) {
    (reply.status, reply.body)
}

#[test]
fn v2_key_value_round_trips_and_persists_across_a_restart() {
    let app = app();
    let souk = app.up();
    assert_eq!(pair(souk.post("/a/v2/kv/set?store=shared&key=item", "3 apples")), (200, "ok".into()));
    assert_eq!(pair(souk.get("/a/v2/kv/get?store=shared&key=item")), (200, "3 apples".into()));
    assert_eq!(pair(souk.get("/a/v2/kv/get?store=shared&key=absent")), (404, "not-found".into()));
    // One store, whichever interface: spin:key-value@3.0.0 and wasi:keyvalue see it.
    assert_eq!(pair(souk.get("/p3/kv/get?store=shared&key=item")), (200, "3 apples".into()));
    assert_eq!(pair(souk.get("/a/wasi-kv/get?store=shared&key=item")), (200, "3 apples".into()));

    assert_eq!(souk.terminate(), Some(0));
    assert!(app.path().join("data/shared.db").exists(), "the store lives where runtime-config.toml says");
    let souk = app.up();
    assert_eq!(pair(souk.get("/a/v2/kv/get?store=shared&key=item")), (200, "3 apples".into()));
}

#[test]
fn v2_key_value_and_wasi_keyvalue_open_only_the_components_labels() {
    let app = app();
    let souk = app.up();
    // `other` exists, but component `a` does not list it; `shared` exists, but `b` does not list it.
    assert_eq!(pair(souk.get("/a/v2/kv/get?store=other&key=k")), (409, "access-denied".into()));
    assert_eq!(pair(souk.get("/b/v2/kv/get?store=shared&key=k")), (409, "access-denied".into()));
    assert_eq!(pair(souk.get("/a/wasi-kv/get?store=other&key=k")), (409, "access-denied".into()));
    // Listed, but configured by nobody.
    assert_eq!(pair(souk.get("/a/v2/kv/get?store=unconfigured&key=k")), (409, "no-such-store".into()));
    assert_eq!(pair(souk.get("/a/wasi-kv/get?store=unconfigured&key=k")), (409, "no-such-store".into()));
    // `b`'s own store is another file.
    assert_eq!(pair(souk.post("/a/v2/kv/set?store=shared&key=k", "a's")), (200, "ok".into()));
    assert_eq!(pair(souk.get("/b/v2/kv/get?store=other&key=k")), (404, "not-found".into()));
}

#[test]
fn v2_sqlite_round_trips_and_is_scoped() {
    let app = app();
    let souk = app.up();
    let exec = |db: &str, statement: &str| pair(souk.post(&format!("/a/v2/sql/exec?db={db}"), statement));
    assert_eq!(exec("db", "CREATE TABLE orders (id INTEGER PRIMARY KEY, item TEXT, total REAL)"), (200, "".into()));
    assert_eq!(exec("db", "INSERT INTO orders (item, total) VALUES ('tea', 4.5), ('cup', NULL)"), (200, "".into()));
    assert_eq!(exec("db", "SELECT id, item, total FROM orders ORDER BY id"), (200, "1|tea|4.5\n2|cup|NULL\n".into()));
    let (status, body) = exec("db", "SELEC nonsense");
    assert!(status == 409 && body.starts_with("io: ") && body.contains("syntax error"), "{status} {body}");

    assert_eq!(exec("missing-db", "SELECT 1"), (409, "no-such-database".into()));
    assert_eq!(pair(souk.post("/b/v2/sql/exec?db=db", "SELECT 1")), (409, "access-denied".into()));
}

#[test]
fn wasi_keyvalue_increment_adds_deltas_and_refuses_a_value_that_is_not_an_i64() {
    let app = app();
    let souk = app.up();
    assert_eq!(pair(souk.get("/a/wasi-kv/increment?store=shared&key=n&delta=5")), (200, "5".into()));
    assert_eq!(pair(souk.get("/a/wasi-kv/increment?store=shared&key=n&delta=-2")), (200, "3".into()));
    // Stored as 8 little-endian bytes, as Spin does.
    let raw = souk.get("/a/v2/kv/get?store=shared&key=n");
    assert_eq!(raw.body.as_bytes(), 3i64.to_le_bytes(), "{raw:?}");

    assert_eq!(pair(souk.post("/a/wasi-kv/set?store=shared&key=word", "abc")), (200, "ok".into()));
    let (status, body) = pair(souk.get("/a/wasi-kv/increment?store=shared&key=word&delta=1"));
    assert_eq!(status, 409, "an error for the guest, not a trap: {body}");
    assert!(body.starts_with("other: ") && body.contains("8-byte"), "{body}");
    assert_eq!(pair(souk.get("/a/wasi-kv/get?store=shared&key=word")), (200, "abc".into()), "left as it was");
}

#[test]
fn wasi_keyvalue_cas_swaps_when_unchanged_and_fails_when_stale() {
    let app = app();
    let souk = app.up();
    assert_eq!(pair(souk.post("/a/wasi-kv/set?store=shared&key=c", "old")), (200, "ok".into()));
    assert_eq!(pair(souk.get("/a/wasi-kv/cas?store=shared&key=c&value=new")), (200, "swapped old".into()));
    assert_eq!(pair(souk.get("/a/wasi-kv/get?store=shared&key=c")), (200, "new".into()));
    // Someone writes the key between taking the cas and swapping: the swap fails
    // and the other write stands.
    assert_eq!(pair(souk.get("/a/wasi-kv/cas?store=shared&key=c&value=mine&interfere=theirs")), (409, "cas-failed".into()));
    assert_eq!(pair(souk.get("/a/wasi-kv/get?store=shared&key=c")), (200, "theirs".into()));
    // A cas on a missing key swaps only while the key is still missing.
    assert_eq!(pair(souk.get("/a/wasi-kv/cas?store=shared&key=fresh&value=first")), (200, "swapped (none)".into()));
    assert_eq!(pair(souk.get("/a/wasi-kv/cas?store=shared&key=fresh2&value=x&interfere=y")), (409, "cas-failed".into()));
}

#[test]
fn wasi_keyvalue_a_failed_cas_hands_back_a_handle_holding_the_newer_value() {
    let app = app();
    let souk = app.up();
    assert_eq!(pair(souk.post("/a/wasi-kv/set?store=shared&key=c", "old")), (200, "ok".into()));
    // The retry on the returned handle sees the interfering write and swaps over it.
    assert_eq!(pair(souk.get("/a/wasi-kv/cas?store=shared&key=c&value=mine&interfere=theirs&retry=1")), (200, "retried over theirs".into()));
    assert_eq!(pair(souk.get("/a/wasi-kv/get?store=shared&key=c")), (200, "mine".into()));
    assert_eq!(pair(souk.get("/a/wasi-kv/cas?store=shared&key=absent&value=mine&interfere=theirs&retry=1")), (200, "retried over theirs".into()));
}

#[test]
fn wasi_keyvalue_batch_reads_writes_and_deletes_many() {
    let app = app();
    let souk = app.up();
    assert_eq!(pair(souk.get("/a/wasi-kv/batch?store=shared")), (200, "a=1 b=2 c=(none) | b".into()));
}

#[test]
fn wasi_config_and_v2_variables_read_the_components_variables() {
    let app = app();
    let souk = app.up_with(&[], &[("SPIN_VARIABLE_GREETING", "salaam")]);
    assert_eq!(pair(souk.get("/a/config?key=message")), (200, "salaam, world".into()));
    assert_eq!(pair(souk.get("/a/config?key=nope")), (404, "absent".into()));
    assert_eq!(pair(souk.get("/a/config/all")), (200, "message=salaam, world\nregion=eu-west\n".into()));
    // Component `b` defines no variables.
    assert_eq!(pair(souk.get("/b/config?key=message")), (404, "absent".into()));
    assert_eq!(pair(souk.get("/b/config/all")), (200, "".into()));

    assert_eq!(pair(souk.get("/a/v2/var?name=region")), (200, "eu-west".into()));
    let (status, body) = pair(souk.get("/a/v2/var?name=nope"));
    assert!(status == 409 && body.starts_with("undefined: "), "{status} {body}");
}

#[test]
fn v2_llm_calls_are_refused_with_a_reason() {
    let app = app();
    let souk = app.up();
    let (status, body) = pair(souk.get("/a/v2/llm"));
    // As in Spin: the component lists no `ai_models`, so the model is not its to use.
    assert!(status == 409 && body.starts_with("invalid-input: ") && body.contains("ai_models"), "{status} {body}");
}
