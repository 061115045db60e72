//! Outbound MQTT on a real Mosquitto broker: `spin:mqtt@3.0.0` (spin-sdk 7)
//! at each QoS and `fermyon:spin/mqtt@2.0.0` (a Spin 3 SDK module); each
//! message is received by a subscriber of the test's own. Addresses are
//! checked against `allowed_outbound_hosts` with Spin's error.

use std::time::Duration;

use crate::harness::AppDir;
use crate::servers::MqttBroker;

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
