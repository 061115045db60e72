//! The Redis trigger on a real Redis server: messages published on a
//! channel call the components subscribed to it, in order; a component's
//! failure or runaway work ends at its deadline without stopping the
//! channel; a lost connection is made again; a server that cannot be
//! reached, or a component without the handler, stops start-up naming the key.

use std::time::Duration;

use crate::harness::{AppDir, wait_until};
use crate::metrics::{metrics_address, sample, scrape};
use crate::servers::RedisServer;

/// Three subscribers (`first` on `orders`; `second` on `orders` and
/// `audit`; `third`, built with the Spin 3 SDK, on `orders`) and an HTTP
/// component, on `redis`.
fn app(redis: &RedisServer) -> AppDir {
    let url = redis.url();
    AppDir::new(&format!(
        r#"spin_manifest_version = 2
[application]
name = "redis-trigger"
[application.trigger.redis]
address = "{url}"

[[trigger.http]]
route = "/..."
component = "web"

[[trigger.redis]]
channel = "orders"
component = "first"

[[trigger.redis]]
channel = "orders"
component = "second"

[[trigger.redis]]
channel = "{{{{ audit_channel }}}}"
component = "second"

[[trigger.redis]]
channel = "orders"
component = "third"

[variables]
audit_channel = {{ default = "audit" }}

[component.web]
source = "{{guest}}"

[component.first]
source = "{{redis-subscriber}}"
allowed_outbound_hosts = ["{url}"]
environment = {{ REDIS_ADDRESS = "{url}", TAG = "first" }}

[component.second]
source = "{{redis-subscriber}}"
allowed_outbound_hosts = ["{url}"]
environment = {{ REDIS_ADDRESS = "{url}", TAG = "second" }}

[component.third]
source = "{{spin3-redis-subscriber}}"
allowed_outbound_hosts = ["{url}"]
environment = {{ REDIS_ADDRESS = "{url}", TAG = "third" }}
"#
    ))
}

fn publish(redis: &RedisServer, channel: &str, message: &str) -> i64 {
    redis::cmd("PUBLISH").arg(channel).arg(message).query(&mut redis.client()).unwrap()
}

fn seen(redis: &RedisServer, tag: &str) -> Option<String> {
    redis::cmd("GET").arg(format!("seen:{tag}")).query(&mut redis.client()).unwrap()
}

#[test]
fn messages_call_each_subscribed_component_in_order_and_survive_failures() {
    let redis = RedisServer::start();
    let souk = app(&redis).up_with(&["--request-timeout", "1s", "--metrics-listen", "127.0.0.1:0"], &[]);
    let channels = souk.startup.join("\n");
    assert!(channels.contains("/orders → first, second, third") && channels.contains("/audit → second"), "{channels}");

    assert_eq!(publish(&redis, "orders", "hello"), 1, "souk holds one subscription for the server");
    wait_until("every component took `hello`", || ["first", "second", "third"].iter().all(|tag| seen(&redis, tag).as_deref() == Some("hello")));
    publish(&redis, "audit", "a1");
    wait_until("`second` took `a1`", || seen(&redis, "second").as_deref() == Some("a1"));
    assert_eq!(seen(&redis, "first").as_deref(), Some("hello"), "`first` is not subscribed to audit");

    // A runaway handler is stopped at its deadline, and a failing one
    // answers an error; the messages after them are still handled, in order.
    publish(&redis, "orders", "loop");
    publish(&redis, "orders", "fail");
    publish(&redis, "orders", "after");
    wait_until("`after` taken once `loop` was cut", || seen(&redis, "first").as_deref() == Some("after") && seen(&redis, "third").as_deref() == Some("after"));

    // The subscription's connection is cut: souk connects again. What is
    // published while it is away is lost (Redis keeps nothing), so publish
    // until a message is taken.
    let killed: i64 = redis::cmd("CLIENT").arg("KILL").arg("TYPE").arg("pubsub").query(&mut redis.client()).unwrap();
    assert_eq!(killed, 1);
    let mut n = 0;
    wait_until("a message taken after reconnecting", || {
        n += 1;
        publish(&redis, "orders", &format!("again-{n}"));
        std::thread::sleep(Duration::from_millis(100));
        seen(&redis, "first").is_some_and(|s| s.starts_with("again-"))
    });
    // HTTP is served beside the trigger.
    assert_eq!(souk.get("/hello").status, 200);
    let metrics = scrape(&metrics_address(&souk));
    let count = |series: &str| sample(&metrics, series).unwrap_or_else(|| panic!("no {series} in:\n{metrics}"));
    assert_eq!(count(r#"souk_redis_messages_total{component="first",channel="orders",outcome="error"}"#), 2.0, "`loop` and `fail`");
    assert!(count(r#"souk_redis_messages_total{component="first",channel="orders",outcome="ok"}"#) >= 3.0);
    assert_eq!(count(r#"souk_guest_failures_total{component="first",reason="deadline"}"#), 1.0);
    assert_eq!(count(r#"souk_redis_messages_total{component="second",channel="audit",outcome="ok"}"#), 1.0);

    let (_, stderr) = souk.terminate_with_stderr();
    assert!(stderr.contains("component `first` failed a message from redis://127.0.0.1") && stderr.contains("deadline of 1s exceeded"), "{stderr}");
    assert!(stderr.contains("refused the message `fail`"), "{stderr}");
    assert!(stderr.contains("component `third` failed a message from redis://127.0.0.1"), "{stderr}");
    assert!(stderr.contains("the connection to redis://127.0.0.1"), "{stderr}");
}

#[test]
fn a_server_that_cannot_be_reached_or_a_component_without_the_handler_stops_start_up() {
    let redis = RedisServer::start();
    let url = redis.url();
    drop(redis);
    let unreachable = AppDir::new(&format!(
        "spin_manifest_version = 2\n[application]\nname = \"x\"\n\n[[trigger.redis]]\nchannel = \"c\"\ncomponent = \"sub\"\naddress = \"{url}\"\n\n\
         [component.sub]\nsource = \"{{redis-subscriber}}\"\n"
    ));
    let output = unreachable.up_fails(&[], &[]);
    assert!(output.contains("spin.toml: trigger.redis[0].address: cannot subscribe on redis://127.0.0.1"), "{output}");

    let redis = RedisServer::start();
    let no_handler = AppDir::new(&format!(
        "spin_manifest_version = 2\n[application]\nname = \"x\"\n[application.trigger.redis]\naddress = \"{}\"\n\n\
         [[trigger.redis]]\nchannel = \"c\"\ncomponent = \"web\"\n\n[component.web]\nsource = \"{{guest}}\"\n",
        redis.url()
    ));
    let output = no_handler.up_fails(&[], &[]);
    assert!(
        output.contains("trigger.redis[0].component: component `web`")
            && output.contains("exports neither `spin:redis/inbound-redis@3.0.0` nor `fermyon:spin/inbound-redis`"),
        "{output}"
    );
}

#[test]
fn each_message_is_a_consumer_span_marked_when_the_component_fails() {
    let receiver = crate::otlp_receiver::OtlpReceiver::start();
    let redis = RedisServer::start();
    let souk = app(&redis).up_with(&[], &[("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.endpoint), ("OTEL_BSP_SCHEDULE_DELAY", "100")]);
    publish(&redis, "audit", "a1");
    publish(&redis, "audit", "fail");
    let spans = receiver.wait_for("two spans of `second` on audit", |spans| spans.iter().filter(|s| s.name == "audit receive").count() == 2);
    let received: Vec<_> = spans.iter().filter(|s| s.name == "audit receive").collect();
    for span in &received {
        // The protocol's SpanKind 5: consumer. A root: a message has no trace context.
        assert_eq!((span.kind, span.parent_span_id.as_str()), (5, ""), "{span:?}");
        assert_eq!(span.attribute("messaging.system"), Some("redis"));
        assert_eq!(span.attribute("messaging.destination.name"), Some("audit"));
        assert_eq!(span.attribute("souk.component"), Some("second"));
    }
    let failed: Vec<_> = received.iter().filter(|s| s.status == 2).collect();
    assert_eq!(failed.len(), 1, "{}", crate::otlp_receiver::describe(&spans));
    assert_eq!(failed[0].attribute("error.type"), Some("error"));
    souk.terminate();
}

#[test]
fn a_rediss_server_is_subscribed_over_tls_when_the_system_trusts_it() {
    let ca = crate::test_ca::TestCa::new();
    let redis = RedisServer::start_tls(&ca);
    let (plain, tls) = (redis.url(), format!("rediss://127.0.0.1:{}", redis.tls_port.unwrap()));
    let app = AppDir::new(&format!(
        "spin_manifest_version = 2\n[application]\nname = \"x\"\n[application.trigger.redis]\naddress = \"{tls}\"\n\n\
         [[trigger.redis]]\nchannel = \"orders\"\ncomponent = {{ source = \"{{redis-subscriber}}\", allowed_outbound_hosts = [\"{plain}\"], \
         environment = {{ REDIS_ADDRESS = \"{plain}\", TAG = \"tls\" }} }}\n"
    ));
    // A server the system does not trust stops start-up.
    let output = app.up_fails(&[], &[]);
    assert!(output.contains("application.trigger.redis.address: cannot subscribe on rediss://127.0.0.1"), "{output}");

    let root = ca.root().display().to_string();
    let souk = app.up_with(&[], &[("SSL_CERT_FILE", &root)]);
    wait_until("a message over TLS taken", || {
        publish(&redis, "orders", "secure");
        seen(&redis, "tls").as_deref() == Some("secure")
    });
    souk.terminate();
}

#[test]
fn at_shutdown_the_message_in_hand_is_finished_first() {
    let redis = RedisServer::start();
    let souk = app(&redis).up();
    publish(&redis, "audit", "slow");
    souk.wait_for_line(|line| line.contains("handling slow"));
    let (code, stderr) = souk.terminate_with_stderr();
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(seen(&redis, "second").as_deref(), Some("slow"), "the message was finished before souk stopped");
}
