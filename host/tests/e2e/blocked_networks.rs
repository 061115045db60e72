//! `[outbound_networking] block_networks` in the runtime config, as Spin
//! reads it: an address in a blocked network is never connected to, by
//! outbound HTTP (by IP or by a name that resolves there), `wasi:sockets`,
//! Redis or PostgreSQL, even where `allowed_outbound_hosts` allow it.

use std::sync::atomic::Ordering;

use crate::capabilities::counting_server;
use crate::harness::AppDir;
use crate::servers::{PostgresServer, RedisServer};

#[test]
fn blocked_networks_stop_every_way_out_that_allowed_hosts_let_through() {
    let (port, hits) = counting_server();
    let redis = RedisServer::start();
    let postgres = PostgresServer::start();
    let app = AppDir::new(&format!(
        r#"
spin_manifest_version = 2
[application]
name = "blocked"
[[trigger.http]]
route = "/..."
component = "out"
[component.out]
source = "{{guest}}"
allowed_outbound_hosts = ["http://127.0.0.1:{port}", "http://localhost:{port}", "tcp://127.0.0.1:{port}", "redis://127.0.0.1:{}", "postgres://127.0.0.1:{}"]
"#,
        redis.port, postgres.port
    ));
    app.write("blocked.toml", "[outbound_networking]\nblock_networks = [\"192.0.2.0/24\", \"private\"]\n");
    let redis_route = |prefix: &str| format!("/redis?addr={}&prefix={prefix}", redis.url());
    let pg_route = format!("/pg-ssl?addr={}", postgres.url());

    // Without the runtime config each way out reaches its server.
    let open = app.up();
    for url in [format!("http://127.0.0.1:{port}/x"), format!("http://localhost:{port}/x")] {
        let reply = open.get(&format!("/outbound?url={url}"));
        assert_eq!((reply.status, reply.body.as_str()), (200, "status=200\nupstream"), "{url}");
    }
    assert_eq!(open.get(&redis_route("a")).status, 200);
    assert_eq!(open.get(&pg_route).body, "ssl false null");
    drop(open);

    let before = hits.load(Ordering::SeqCst);
    let config = app.path().join("blocked.toml").display().to_string();
    let blocked = app.up_with(&["--runtime-config-file", &config], &[]);
    for url in [format!("http://127.0.0.1:{port}/x"), format!("http://localhost:{port}/x")] {
        let reply = blocked.get(&format!("/outbound?url={url}"));
        assert_eq!((reply.status, reply.body.as_str()), (502, "error: ErrorCode::DestinationIpProhibited"), "{url}");
    }
    let reply = blocked.get(&format!("/tcp?addr=127.0.0.1:{port}&msg=x"));
    assert_eq!(reply.status, 409, "{}", reply.body);
    let why = "127.0.0.1 resolves to 127.0.0.1, in a network the runtime config blocks ([outbound_networking] block_networks)";
    let reply = blocked.get(&redis_route("b"));
    assert_eq!((reply.status, reply.body), (409, format!("other: cannot connect to {}: {why}", redis.url())));
    let reply = blocked.get(&pg_route);
    assert_eq!((reply.status, reply.body), (409, format!("connection-failed: {why}")));
    assert_eq!(hits.load(Ordering::SeqCst), before, "nothing reached the blocked server");
    assert!(!redis::cmd("EXISTS").arg("b:e").query::<bool>(&mut redis.client()).unwrap());
    drop(blocked);

    // Other networks blocked: souk's own resolution and connection serve
    // the request, by address and by name.
    app.write("elsewhere.toml", "[outbound_networking]\nblock_networks = [\"192.0.2.0/24\"]\n");
    let config = app.path().join("elsewhere.toml").display().to_string();
    let elsewhere = app.up_with(&["--runtime-config-file", &config], &[]);
    for url in [format!("http://127.0.0.1:{port}/x"), format!("http://localhost:{port}/x")] {
        let reply = elsewhere.get(&format!("/outbound?url={url}"));
        assert_eq!((reply.status, reply.body.as_str()), (200, "status=200\nupstream"), "{url}");
    }
    assert_eq!(hits.load(Ordering::SeqCst), before + 2);
    assert_eq!(elsewhere.get(&pg_route).body, "ssl false null", "PostgreSQL through souk's checked connection");
    let reply = elsewhere.get(&redis_route("c"));
    assert_eq!(reply.status, 200, "Redis through souk's checking resolver: {}", reply.body);
}

#[test]
fn an_unknown_networking_key_stops_start_up_naming_the_file_and_key() {
    let app = AppDir::new(
        r#"
spin_manifest_version = 2
[application]
name = "limits"
[[trigger.http]]
route = "/..."
component = "out"
[component.out]
source = "{guest}"
"#,
    );
    app.write("limits.toml", "[outbound_networking]\nmax_sockets = 10\n");
    let config = app.path().join("limits.toml").display().to_string();
    let output = app.up_fails(&["--runtime-config-file", &config], &[]);
    assert!(output.contains("limits.toml") && output.contains("outbound_networking.max_sockets"), "{output}");
    assert!(output.contains("unknown key") && output.contains("max_socket_connections"), "it names the keys there are: {output}");
}
