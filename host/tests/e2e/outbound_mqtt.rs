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
