//! Outbound MQTT on a real Mosquitto broker: `spin:mqtt@3.0.0` (spin-sdk 7)
//! at each QoS and `fermyon:spin/mqtt@2.0.0` (a Spin 3 SDK module); each
//! message is received by a subscriber of the test's own. Addresses are
//! checked against `allowed_outbound_hosts` with Spin's error.

use std::time::Duration;

use crate::harness::{AppDir, two_guests};
use crate::servers::MqttBroker;
use crate::test_ca::TestCa;

fn app(broker: &MqttBroker) -> AppDir {
    let port = broker.port;
    AppDir::new(&format!(
        r#"
spin_manifest_version = 2
[application]
name = "mqtt"
[[trigger.http]]
route = "/allowed/..."
component = "allowed"
[[trigger.http]]
route = "/none/..."
component = "none"
[[trigger.http]]
route = "/spin2/..."
component = "spin2"
[component.allowed]
source = "{{guest}}"
allowed_outbound_hosts = ["mqtt://127.0.0.1:{port}"]
[component.none]
source = "{{guest}}"
[component.spin2]
source = "{{spin3}}"
allowed_outbound_hosts = ["mqtt://127.0.0.1:{port}"]
"#
    ))
}

#[test]
fn messages_reach_a_subscriber_at_each_qos_and_from_spin2_guests() {
    let broker = MqttBroker::start();
    let app = app(&broker);
    let souk = app.up();
    let received = broker.subscribe("orders/#");
    for qos in ["0", "1", "2"] {
        let reply = souk.get(&format!("/allowed/mqtt?addr={}&topic=orders/paid&msg=qos{qos}&qos={qos}", broker.url(&format!("souk-{qos}"))));
        assert_eq!((reply.status, reply.body.as_str()), (200, "published"), "qos {qos}");
        let message = received.recv_timeout(Duration::from_secs(20)).expect("the subscriber got the message");
        assert_eq!(String::from_utf8(message).unwrap(), format!("qos{qos}"));
    }
    let reply = souk.get(&format!("/spin2/mqtt?addr={}&topic=orders/old&msg=from-spin2", broker.url("souk-v2")));
    assert_eq!((reply.status, reply.body.as_str()), (200, "published"));
    assert_eq!(received.recv_timeout(Duration::from_secs(20)).unwrap(), b"from-spin2");
}

#[test]
fn a_refused_address_is_spins_connection_failed_and_a_bad_one_invalid() {
    let broker = MqttBroker::start();
    let app = app(&broker);
    let souk = app.up();
    let address = broker.url("spintest");
    let reply = souk.get(&format!("/none/mqtt?addr={address}&topic=t&msg=x"));
    assert_eq!((reply.status, reply.body), (409, format!("connection-failed: address {address} is not permitted")));
    let reply = souk.get(&format!("/allowed/mqtt?addr=mqtt://127.0.0.1:{}&topic=t&msg=x", broker.port));
    assert_eq!((reply.status, reply.body.as_str()), (409, "invalid-address"), "an address without client_id");
}

/// `mqtts://`, MQTT over TLS: the broker's certificate checked against the
/// system's roots (here `SSL_CERT_FILE`), refused when not trusted; the
/// allowed host names the `mqtts` scheme.
#[test]
fn mqtts_publishes_over_tls_to_a_broker_the_system_trusts() {
    let ca = TestCa::new();
    let broker = MqttBroker::start_tls(&ca);
    let tls_port = broker.tls_port.unwrap();
    let app = two_guests("mqtts", ("tls", &format!("mqtts://127.0.0.1:{tls_port}")), ("plain", &format!("mqtt://127.0.0.1:{tls_port}")));
    let received = broker.subscribe("tls/#");
    let address = |client: &str| format!("mqtts://127.0.0.1:{tls_port}?client_id={client}");
    let root = ca.root().display().to_string();
    let trusting = app.up_with(&[], &[("SSL_CERT_FILE", &root)]);
    let reply = trusting.get(&format!("/tls/mqtt?addr={}&topic=tls/a&msg=secret&qos=1", address("souk-tls")));
    assert_eq!((reply.status, reply.body.as_str()), (200, "published"));
    assert_eq!(received.recv_timeout(Duration::from_secs(20)).unwrap(), b"secret");
    // An `mqtt` grant does not cover `mqtts`.
    let reply = trusting.get(&format!("/plain/mqtt?addr={}&topic=tls/b&msg=x", address("souk-plain")));
    assert_eq!((reply.status, reply.body.as_str()), (409, format!("connection-failed: address {} is not permitted", address("souk-plain")).as_str()));
    drop(trusting);

    let untrusting = app.up();
    let reply = untrusting.get(&format!("/tls/mqtt?addr={}&topic=tls/c&msg=untrusted&qos=1", address("souk-untrusted")));
    assert_eq!(reply.status, 409, "{}", reply.body);
    assert!(reply.body.starts_with("connection-failed: ") && reply.body.contains("certificate"), "{}", reply.body);
    assert!(received.try_recv().is_err(), "nothing was published through an untrusted broker");
}

/// Under `[outbound_networking] block_networks`, souk resolves the broker's
/// name itself, checks every address, and connects the session to one that
/// answers (here `localhost`'s 127.0.0.1, where Mosquitto listens, and not
/// `::1`); over TLS the certificate is still checked, for the name. A name
/// with an address in a blocked network is refused before anything
/// connects.
#[test]
fn under_blocked_networks_the_broker_is_reached_at_an_address_souk_checked() {
    let ca = TestCa::new();
    let broker = MqttBroker::start_tls(&ca);
    let tls_port = broker.tls_port.unwrap();
    let app = two_guests("mqtt-blocked", ("tls", &format!("mqtts://localhost:{tls_port}")), ("plain", &format!("mqtt://localhost:{}", broker.port)));
    app.write("elsewhere.toml", "[outbound_networking]\nblock_networks = [\"192.0.2.0/24\"]\n");
    app.write("loopback.toml", "[outbound_networking]\nblock_networks = [\"127.0.0.0/8\", \"::1/128\"]\n");
    let config = |file: &str| app.path().join(file).display().to_string();
    let received = broker.subscribe("checked/#");
    let tls = |client: &str, msg: &str| format!("/tls/mqtt?addr=mqtts://localhost:{tls_port}?client_id={client}&topic=checked/tls&msg={msg}&qos=1");
    let plain = format!("/plain/mqtt?addr=mqtt://localhost:{}?client_id=plain&topic=checked/plain&msg=plain&qos=1", broker.port);
    let root = ca.root().display().to_string();

    let elsewhere = app.up_with(&["--runtime-config-file", &config("elsewhere.toml")], &[("SSL_CERT_FILE", &root)]);
    let reply = elsewhere.get(&tls("tls", "over-tls"));
    assert_eq!((reply.status, reply.body.as_str()), (200, "published"));
    assert_eq!(received.recv_timeout(Duration::from_secs(20)).unwrap(), b"over-tls");
    let reply = elsewhere.get(&plain);
    assert_eq!((reply.status, reply.body.as_str()), (200, "published"));
    assert_eq!(received.recv_timeout(Duration::from_secs(20)).unwrap(), b"plain");
    drop(elsewhere);

    // The checked address does not make an untrusted certificate good.
    let untrusting = app.up_with(&["--runtime-config-file", &config("elsewhere.toml")], &[]);
    let reply = untrusting.get(&tls("untrusted", "untrusted"));
    assert_eq!(reply.status, 409, "{}", reply.body);
    assert!(reply.body.starts_with("connection-failed: ") && reply.body.contains("certificate"), "{}", reply.body);
    drop(untrusting);

    let blocked = app.up_with(&["--runtime-config-file", &config("loopback.toml")], &[("SSL_CERT_FILE", &root)]);
    for route in [tls("blocked", "blocked"), plain.replace("client_id=plain", "client_id=blocked")] {
        let reply = blocked.get(&route);
        assert_eq!(reply.status, 409, "{}", reply.body);
        assert!(
            reply.body.starts_with("connection-failed: localhost resolves to ") && reply.body.contains("in a network the runtime config blocks"),
            "{}",
            reply.body
        );
    }
    assert!(received.try_recv().is_err(), "nothing was published past the blocked networks");
}
