//! The runtime config's limits on the outbound connections guests hold at
//! once, as Spin reads them (`[outbound_<kind>] max_connections`,
//! `[outbound_networking] max_total_connections`): a guest that finds the
//! limit reached waits until a connection closes; a limit of 0 refuses
//! every connection of its kind before anything connects. `wasi:sockets`
//! sockets (`[outbound_networking] max_socket_connections`) never wait: one
//! past the limit is refused.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::capabilities::counting_server;
use crate::harness::{AppDir, Souk, wait_until};
use crate::metrics::{metrics_address, sample, scrape};
use crate::servers::RedisServer;

fn app(redis: &RedisServer, http_port: u16) -> AppDir {
    AppDir::new(&format!(
        r#"
spin_manifest_version = 2
[application]
name = "limits"
[[trigger.http]]
route = "/..."
component = "out"
[component.out]
source = "{{guest}}"
allowed_outbound_hosts = ["http://127.0.0.1:{http_port}", "redis://127.0.0.1:{}", "postgres://127.0.0.1:1", "mysql://127.0.0.1:1", "mqtt://127.0.0.1:1"]
"#,
        redis.port
    ))
}

/// With one place, a guest's `LPUSH` waits for the guest whose `BLPOP`
/// holds it: the `BLPOP` times out empty (after 1 s, Redis's own timeout),
/// and only then does the `LPUSH` run. Without the limit the `LPUSH` would
/// have handed the `BLPOP` its element.
fn one_redis_connection_at_a_time(souk: &Arc<Souk>, redis: &RedisServer) {
    let exec = |souk: &Souk, cmds: &str| souk.get(&format!("/redis-exec?addr={}&cmds={cmds}", redis.url()));
    let holding = std::thread::spawn({
        let (souk, url) = (souk.clone(), redis.url());
        move || souk.get(&format!("/redis-exec?addr={url}&cmds=BLPOP,waiting,1"))
    });
    wait_until("the BLPOP reaches the server", || {
        let list: String = redis::cmd("CLIENT").arg("LIST").query(&mut redis.client()).unwrap();
        list.contains("cmd=blpop")
    });
    let pushed = exec(souk, "LPUSH,waiting,element");
    let held = holding.join().unwrap();
    assert_eq!((held.status, held.body.as_str()), (200, "nil"), "the BLPOP held the only place and timed out empty");
    assert_eq!((pushed.status, pushed.body.as_str()), (200, "1"), "the LPUSH ran once the place was free");
    let left: i64 = redis::cmd("LLEN").arg("waiting").query(&mut redis.client()).unwrap();
    assert_eq!(left, 1);
    redis::cmd("DEL").arg("waiting").query::<()>(&mut redis.client()).unwrap();
}

#[test]
fn each_kind_is_held_to_its_limit_and_a_limit_of_zero_refuses_at_once() {
    let redis = RedisServer::start();
    let (port, hits) = counting_server();
    let app = app(&redis, port);
    app.write(
        "limits.toml",
        "[outbound_http]\nmax_connections = 0\n[outbound_pg]\nmax_connections = 0\n[outbound_mysql]\nmax_connections = 0\n\
         [outbound_mqtt]\nmax_connections = 0\n[outbound_redis]\nmax_connections = 1\n",
    );
    let config = app.path().join("limits.toml").display().to_string();
    let souk = Arc::new(app.up_with(&["--runtime-config-file", &config, "--metrics-listen", "127.0.0.1:0"], &[]));
    let announced = "Outbound connection limits: http 0, redis 1, postgres 0, mysql 0, mqtt 0";
    assert!(souk.startup.iter().any(|l| l == announced), "{:?}", souk.startup);

    let reply = souk.get(&format!("/outbound?url=http://127.0.0.1:{port}/x"));
    assert_eq!((reply.status, reply.body.as_str()), (502, "error: ErrorCode::ConnectionLimitReached"));
    assert_eq!(hits.load(Ordering::SeqCst), 0, "nothing connected");
    for (route, key) in [
        ("/pg?addr=postgres://postgres@127.0.0.1:1/postgres&table=t", "[outbound_pg] max_connections is 0"),
        ("/mysql?addr=mysql://souk:souk@127.0.0.1:1/souk&table=t", "[outbound_mysql] max_connections is 0"),
        ("/mqtt?addr=mqtt://127.0.0.1:1?client_id=limited&topic=t&msg=m", "[outbound_mqtt] max_connections is 0"),
    ] {
        let reply = souk.get(route);
        assert_eq!(reply.status, 409, "{route}: {}", reply.body);
        assert!(reply.body.contains(&format!("no outbound connection is allowed: the runtime config's {key}")), "{route}: {}", reply.body);
    }
    one_redis_connection_at_a_time(&souk, &redis);

    let metrics = scrape(&metrics_address(&souk));
    let count = |series: &str| sample(&metrics, series).unwrap_or_else(|| panic!("no {series} in:\n{metrics}"));
    for kind in ["http", "postgres", "mysql", "mqtt"] {
        assert_eq!(count(&format!(r#"souk_outbound_connection_refusals_total{{kind="{kind}"}}"#)), 1.0, "{kind}");
    }
    assert_eq!(count(r#"souk_outbound_connection_waits_total{kind="redis"}"#), 1.0, "the LPUSH waited");
    assert_eq!(count(r#"souk_outbound_connections{kind="redis"}"#), 0.0, "both Redis connections closed");
}

#[test]
fn the_total_limit_holds_across_kinds() {
    let redis = RedisServer::start();
    let (port, hits) = counting_server();
    let app = app(&redis, port);
    app.write("total.toml", "[outbound_networking]\nmax_total_connections = 1\n");
    let config = app.path().join("total.toml").display().to_string();
    let souk = Arc::new(app.up_with(&["--runtime-config-file", &config], &[]));
    one_redis_connection_at_a_time(&souk, &redis);
    // Once the Redis connections are closed, the place serves HTTP.
    let reply = souk.get(&format!("/outbound?url=http://127.0.0.1:{port}/x"));
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

/// Each kind of socket, of either WASI version, takes a place from its
/// creation until the guest drops it: a third one held at once is refused,
/// five opened and dropped in turn all go through.
#[test]
fn sockets_are_held_to_max_socket_connections_in_both_wasi_versions() {
    let (port, _) = crate::sockets::echo_server();
    let app = AppDir::new(&format!(
        "spin_manifest_version = 2\n[application]\nname = \"sockets\"\n[[trigger.http]]\nroute = \"/...\"\ncomponent = \"s\"\n\
         [component.s]\nsource = \"{{guest}}\"\nallowed_outbound_hosts = [\"tcp://127.0.0.1:{port}\"]\n"
    ));
    app.write("sockets.toml", "[outbound_networking]\nmax_socket_connections = 2\n");
    let config = app.path().join("sockets.toml").display().to_string();
    let souk = app.up_with(&["--runtime-config-file", &config, "--metrics-listen", "127.0.0.1:0"], &[]);
    assert!(souk.startup.iter().any(|l| l == "Outbound connection limits: socket 2"), "{:?}", souk.startup);

    for kind in ["tcp", "udp", "tcp3", "udp3"] {
        let held = souk.get(&format!("/sockets?kind={kind}&n=3&addr=127.0.0.1:{port}"));
        assert!(held.body.starts_with("opened=2; then: "), "{kind}: {}", held.body);
        let in_turn = souk.get(&format!("/sockets?kind={kind}&n=5&addr=127.0.0.1:{port}&hold=0"));
        assert_eq!(in_turn.body, "opened=5", "{kind}: a dropped socket gives its place back");
    }
    let p3 = souk.get("/sockets?kind=tcp3&n=3");
    assert!(p3.body.contains("max_socket_connections (2) is reached"), "a WASIp3 guest is told why: {}", p3.body);

    let metrics = scrape(&metrics_address(&souk));
    let count = |series: &str| sample(&metrics, series).unwrap_or_else(|| panic!("no {series} in:\n{metrics}"));
    assert_eq!(count(r#"souk_outbound_connection_refusals_total{kind="socket"}"#), 5.0);
    assert_eq!(count(r#"souk_outbound_connections{kind="socket"}"#), 0.0, "every socket closed");
}
