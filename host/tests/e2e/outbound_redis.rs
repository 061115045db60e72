//! Outbound Redis on a real redis-server: `spin:redis@3.0.0` (spin-sdk 7)
//! and `fermyon:spin/redis@2.0.0` (a Spin 3 SDK module), every operation;
//! addresses checked against `allowed_outbound_hosts` (templates too)
//! before anything connects; one shared connection per address, opened
//! again after the server drops it; a command that would change or hold
//! that connection goes over the guest's own.

use crate::harness::{AppDir, two_guests};
use crate::servers::RedisServer;
use crate::test_ca::TestCa;

fn app(server: &RedisServer) -> AppDir {
    let port = server.port;
    AppDir::new(&format!(
        r#"
spin_manifest_version = 2
[application]
name = "redis"
[variables]
redis_host = {{ default = "127.0.0.1" }}
[[trigger.http]]
route = "/allowed/..."
component = "allowed"
[[trigger.http]]
route = "/templated/..."
component = "templated"
[[trigger.http]]
route = "/other-port/..."
component = "other-port"
[[trigger.http]]
route = "/none/..."
component = "none"
[[trigger.http]]
route = "/spin2/..."
component = "spin2"
[component.allowed]
source = "{{guest}}"
allowed_outbound_hosts = ["redis://127.0.0.1:{port}"]
[component.templated]
source = "{{guest}}"
allowed_outbound_hosts = ["redis://{{{{ redis_host }}}}:{port}"]
[component.other-port]
source = "{{guest}}"
allowed_outbound_hosts = ["redis://127.0.0.1:{}"]
[component.none]
source = "{{guest}}"
[component.spin2]
source = "{{spin3}}"
allowed_outbound_hosts = ["redis://127.0.0.1:{port}"]
"#,
        port + 1
    ))
}

#[test]
fn every_operation_reaches_the_server() {
    let server = RedisServer::start();
    let app = app(&server);
    let souk = app.up();
    let reply = souk.get(&format!("/allowed/redis?addr={}&prefix=a", server.url()));
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (
            200,
            "get=Some(\"v\") incr=(1, 2) incr-text=Err(\"type-error\") sadd=2 smembers=[\"a\", \"b\"] srem=1 \
             append=int:12 get-e=binary:hello, world del=2"
        )
    );
    // What the guest left, seen by the test's own connection.
    let mut own = server.client();
    assert_eq!(redis::cmd("GET").arg("a:e").query::<String>(&mut own).unwrap(), "hello, world");
    assert_eq!(redis::cmd("SMEMBERS").arg("a:s").query::<Vec<String>>(&mut own).unwrap(), ["b"]);
    assert!(!redis::cmd("EXISTS").arg("a:k").query::<bool>(&mut own).unwrap(), "deleted by the guest");

    // A Spin 2/3 SDK guest, through fermyon:spin/redis@2.0.0.
    let reply = souk.get(&format!("/spin2/redis?addr={}&prefix=b", server.url()));
    assert_eq!((reply.status, reply.body.as_str()), (200, "get=Some(\"v2\") incr=1 execute-get=v2"));
}

#[test]
fn addresses_follow_allowed_outbound_hosts_and_a_refused_one_never_connects() {
    let server = RedisServer::start();
    let app = app(&server);
    let souk = app.up();
    let reply = souk.get(&format!("/templated/redis?addr={}&prefix=t", server.url()));
    assert_eq!(reply.status, 200, "{reply:?}");
    let before = server.connections_received();
    for component in ["other-port", "none"] {
        let reply = souk.get(&format!("/{component}/redis?addr={}&prefix=x", server.url()));
        assert_eq!((reply.status, reply.body.as_str()), (409, "invalid-address"), "{component}");
    }
    let reply = souk.get("/allowed/redis?addr=http://127.0.0.1:1&prefix=x");
    assert_eq!((reply.status, reply.body.as_str()), (409, "invalid-address"), "not a Redis URL");
    // Only the count query's own connection arrived meanwhile.
    assert_eq!(server.connections_received(), before + 1, "a refused address must not connect");
}

#[test]
fn requests_share_one_connection_per_address() {
    let server = RedisServer::start();
    let app = app(&server);
    let souk = app.up();
    let before = server.connections_received();
    for i in 0..10 {
        let reply = souk.get(&format!("/allowed/redis?addr={}&prefix=p{i}", server.url()));
        assert_eq!(reply.status, 200, "{reply:?}");
    }
    // One for souk, one for the count query.
    assert_eq!(server.connections_received(), before + 2);

    // The server drops every client: the shared connection is opened
    // again. The command that finds it gone fails (it may have reached the
    // server, so it is not sent twice); the ones after it succeed.
    let killed: i64 = redis::cmd("CLIENT").arg("KILL").arg("TYPE").arg("normal").arg("SKIPME").arg("yes").query(&mut server.client()).unwrap();
    assert_eq!(killed, 1, "souk's shared connection");
    let mut failed = 0;
    crate::harness::wait_until("the shared connection is opened again", || {
        let reply = souk.get(&format!("/allowed/redis?addr={}&prefix=r", server.url()));
        failed += usize::from(reply.status != 200);
        reply.status == 200
    });
    assert!(failed <= 1, "{failed} requests failed after the server dropped the connection");
    let reply = souk.get(&format!("/allowed/redis?addr={}&prefix=s", server.url()));
    assert_eq!(reply.status, 200, "{reply:?}");
}

/// `rediss://`, Redis over TLS: the server's certificate checked against
/// the system's roots (here `SSL_CERT_FILE`), refused when not trusted,
/// and taken unchecked only when the address says `#insecure`, as Spin
/// allows; the allowed host names the `rediss` scheme.
#[test]
fn rediss_connects_over_tls_to_a_server_the_system_trusts() {
    let ca = TestCa::new();
    let server = RedisServer::start_tls(&ca);
    let tls_port = server.tls_port.unwrap();
    let app = two_guests("rediss", ("tls", &format!("rediss://127.0.0.1:{tls_port}")), ("plain", &format!("redis://127.0.0.1:{tls_port}")));
    let url = format!("rediss://127.0.0.1:{tls_port}");
    let expected =
        "get=Some(\"v\") incr=(1, 2) incr-text=Err(\"type-error\") sadd=2 smembers=[\"a\", \"b\"] srem=1 append=int:12 get-e=binary:hello, world del=2";
    let root = ca.root().display().to_string();
    let trusting = app.up_with(&[], &[("SSL_CERT_FILE", &root)]);
    let reply = trusting.get(&format!("/tls/redis?addr={url}&prefix=a"));
    assert_eq!((reply.status, reply.body.as_str()), (200, expected));
    assert_eq!(redis::cmd("GET").arg("a:e").query::<String>(&mut server.client()).unwrap(), "hello, world");
    // A `redis://` grant does not cover `rediss://`.
    let reply = trusting.get(&format!("/plain/redis?addr={url}&prefix=b"));
    assert_eq!((reply.status, reply.body.as_str()), (409, "invalid-address"));
    drop(trusting);

    let untrusting = app.up();
    let reply = untrusting.get(&format!("/tls/redis?addr={url}&prefix=c"));
    assert_eq!(reply.status, 409, "{}", reply.body);
    assert!(reply.body.starts_with("other: ") && reply.body.contains("certificate"), "{}", reply.body);
    assert!(!redis::cmd("EXISTS").arg("c:e").query::<bool>(&mut server.client()).unwrap());
    let reply = untrusting.get(&format!("/tls/redis?addr={url}/%23insecure&prefix=d"));
    assert_eq!((reply.status, reply.body.as_str()), (200, expected));
}

/// Redis keeps state per connection and serves a connection's commands in
/// turn. A command that changes or holds a connection (`SELECT`, `MULTI`,
/// `BLPOP`) moves the guest's connection to a socket of its own, so guests
/// sharing the server's connection, another component's included, never
/// run in another database, inside someone's transaction, or behind a
/// blocked command.
#[test]
fn a_command_that_changes_or_holds_the_connection_gets_a_socket_of_its_own() {
    let server = RedisServer::start();
    let app = app(&server);
    let souk = std::sync::Arc::new(app.up_with(&["--request-timeout", "2s"], &[]));
    let url = server.url();
    let exec = move |souk: &crate::harness::Souk, component: &str, cmds: &str| souk.get(&format!("/{component}/redis-exec?addr={url}&cmds={cmds}"));
    let in_db = |db: i64, key: &str| -> Option<String> {
        let mut own = server.client();
        redis::cmd("SELECT").arg(db).query::<()>(&mut own).unwrap();
        redis::cmd("GET").arg(key).query(&mut own).unwrap()
    };

    // SELECT holds for the rest of its own connection, and for no one else.
    let reply = exec(&souk, "allowed", "SELECT,1;SET,sel:k,one;GET,sel:k");
    assert_eq!((reply.status, reply.body.as_str()), (200, "OK;OK;one"));
    let reply = exec(&souk, "templated", "SET,other:k,zero");
    assert_eq!((reply.status, reply.body.as_str()), (200, "OK"));
    assert_eq!(in_db(0, "other:k").as_deref(), Some("zero"), "another component's write stays in database 0");
    assert_eq!((in_db(1, "sel:k").as_deref(), in_db(0, "sel:k")), (Some("one"), None));

    // A transaction left open does not swallow anyone's commands.
    let reply = exec(&souk, "allowed", "MULTI;SET,multi:k,queued");
    assert_eq!((reply.status, reply.body.as_str()), (200, "OK;QUEUED"));
    let reply = exec(&souk, "templated", "SET,after:k,v;GET,after:k");
    assert_eq!((reply.status, reply.body.as_str()), (200, "OK;v"));
    assert_eq!(in_db(0, "multi:k"), None, "never executed");

    // A blocking command waits on its own socket until its request's
    // deadline, while others are served; then that socket is closed.
    let blocking = std::thread::spawn({
        let (souk, exec) = (souk.clone(), exec.clone());
        move || exec(&souk, "allowed", "BLPOP,never,0")
    });
    let blocked_clients = || -> usize {
        let list: String = redis::cmd("CLIENT").arg("LIST").query(&mut server.client()).unwrap();
        list.lines().filter(|l| l.contains("cmd=blpop")).count()
    };
    crate::harness::wait_until("the guest's BLPOP reaches the server", || blocked_clients() == 1);
    let reply = exec(&souk, "templated", "SET,during:k,v;GET,during:k");
    assert_eq!((reply.status, reply.body.as_str()), (200, "OK;v"), "served while the BLPOP waits");
    assert_eq!(blocking.join().unwrap().status, 503, "the BLPOP ends at its request's deadline");
    crate::harness::wait_until("the BLPOP's socket is closed", || blocked_clients() == 0);
}

/// A guest naming ever new addresses (here the same server with a query
/// that varies) does not make souk keep a connection for each: past 32
/// addresses, the one used longest ago is let go and its socket closed.
#[test]
fn shared_connections_are_kept_for_a_bounded_number_of_addresses() {
    let server = RedisServer::start();
    let app = app(&server);
    let souk = app.up();
    for n in 0..40 {
        let reply = souk.get(&format!("/allowed/redis-exec?addr={}/%3Fn%3D{n}&cmds=PING", server.url()));
        assert_eq!((reply.status, reply.body.as_str()), (200, "PONG"), "address {n}");
    }
    let connected = || -> u64 {
        let info: String = redis::cmd("INFO").arg("clients").query(&mut server.client()).unwrap();
        info.lines().find_map(|l| l.strip_prefix("connected_clients:")).unwrap().trim().parse().unwrap()
    };
    // souk's 32, and the test's own asking.
    crate::harness::wait_until("souk keeps 32 connections", || connected() == 33);
}
