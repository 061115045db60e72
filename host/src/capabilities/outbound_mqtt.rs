//! Outbound MQTT as Spin gives it: `spin:mqtt/mqtt@3.0.0` and
//! `fermyon:spin/mqtt@2.0.0`, on `rumqttc` (the maintained async MQTT
//! client for Rust).
//!
//! The address (`mqtt://host[:port]?client_id=ID`, or `mqtts://` for MQTT
//! over TLS, port 8883 by default) is checked against the component's
//! `allowed_outbound_hosts`, under its own scheme, before anything
//! connects; a refused one is `connection-failed("address ... is not
//! permitted")`, Spin's words. Over TLS the broker's certificate must chain
//! to a root the system trusts ([`super::outbound_tls`]).
//! Each guest connection is one MQTT session, driven by the guest's own
//! calls: `publish` returns once the broker has the message as its QoS
//! promises (sent for at-most-once, acknowledged for at-least-once,
//! completed for exactly-once), or with the error that stopped it.

use std::sync::Arc;
use std::time::Duration;

use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Outgoing, Packet, QoS, TlsConfiguration, Transport};
use souk_manifest::{AllowedHosts, BlockedNetworks};
use wasmtime::component::{Accessor, Resource};

use super::Spin;
use super::bindings::fermyon::spin::mqtt as v2;
use super::bindings::spin::mqtt::mqtt as v3;
use super::bindings::spin::mqtt::mqtt::{Error, Qos};
use crate::instance::InstanceState;

/// Messages a connection may have queued before the broker takes them.
const QUEUE: usize = 16;

/// What one component may reach over MQTT.
pub struct MqttGrant {
    pub component: String,
    pub allowed_hosts: Arc<AllowedHosts>,
    /// Where no connection may go, whatever `allowed_hosts` say.
    pub blocked: Arc<BlockedNetworks>,
}

/// A connection a guest has opened: its client and the session's event
/// loop, which `publish` drives.
#[derive(Clone)]
pub struct MqttConnection {
    client: AsyncClient,
    events: Arc<tokio::sync::Mutex<EventLoop>>,
    /// The broker's host and port, checked against the blocked networks
    /// before each publish (the client connects, and reconnects, then).
    broker: Arc<(String, u16)>,
    blocked: Arc<BlockedNetworks>,
}

/// The schemes of MQTT over TLS, and its port when the address names none.
const TLS_SCHEMES: [&str; 2] = ["mqtts", "ssl"];
const TLS_PORT: u16 = 8883;

/// `address`'s scheme, and the address rumqttc is given: a TLS one as a
/// plain `mqtt://` address with its port, so that rumqttc's own TLS set-up
/// (which panics on a system certificate it cannot read) never runs;
/// [`options`] puts souk's in its place.
fn split_tls(address: &str) -> Result<(String, String), Error> {
    let mut url = url::Url::parse(address).map_err(|_| Error::InvalidAddress)?;
    let scheme = url.scheme().to_string();
    if TLS_SCHEMES.contains(&scheme.as_str()) {
        let port = url.port().unwrap_or(TLS_PORT);
        url.set_scheme("mqtt").map_err(|()| Error::InvalidAddress)?;
        url.set_port(Some(port)).map_err(|()| Error::InvalidAddress)?;
    }
    Ok((scheme, url.into()))
}

/// The client's options for `address`, and the scheme its allowed host
/// must name: `mqtts` over TLS, else `mqtt`.
fn options(address: &str, username: String, password: String, keep_alive_secs: u64) -> Result<(MqttOptions, &'static str), Error> {
    let (scheme, plain) = split_tls(address)?;
    let mut options = MqttOptions::parse_url(plain).map_err(|_| Error::InvalidAddress)?;
    let tls = TLS_SCHEMES.contains(&scheme.as_str());
    if tls {
        let tls = super::outbound_tls::system_client_config().map_err(Error::Other)?;
        options.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(tls)));
    }
    if !username.is_empty() || !password.is_empty() {
        options.set_credentials(username, password);
    }
    // rumqttc refuses keep-alives under a second, except none at all.
    options.set_keep_alive(Duration::from_secs(keep_alive_secs));
    Ok((options, if tls { "mqtts" } else { "mqtt" }))
}

fn open(grant: &MqttGrant, address: &str, username: String, password: String, keep_alive_secs: u64) -> Result<MqttConnection, Error> {
    let (options, scheme) = options(address, username, password, keep_alive_secs)?;
    let (host, port) = options.broker_address();
    if !grant.allowed_hosts.allows(scheme, &host, port) {
        tracing::warn!("component `{}`: MQTT connection to {scheme}://{host}:{port} refused: not in allowed_outbound_hosts", grant.component);
        return Err(Error::ConnectionFailed(format!("address {address} is not permitted")));
    }
    let (client, events) = AsyncClient::new(options, QUEUE);
    Ok(MqttConnection { client, events: Arc::new(tokio::sync::Mutex::new(events)), broker: Arc::new((host, port)), blocked: grant.blocked.clone() })
}

impl MqttConnection {
    async fn publish(&self, topic: String, payload: Vec<u8>, qos: Qos) -> Result<(), Error> {
        let qos = match qos {
            Qos::AtMostOnce => QoS::AtMostOnce,
            Qos::AtLeastOnce => QoS::AtLeastOnce,
            Qos::ExactlyOnce => QoS::ExactlyOnce,
        };
        let (host, port) = &*self.broker;
        super::blocked_networks::refuse_blocked(host, *port, &self.blocked).await.map_err(Error::ConnectionFailed)?;
        // One publish at a time per session, so the acknowledgement seen is this one's.
        let mut events = self.events.lock().await;
        self.client.publish(topic, qos, false, payload).await.map_err(|e| Error::Other(e.to_string()))?;
        loop {
            let event = events.poll().await.map_err(|e| Error::ConnectionFailed(e.to_string()))?;
            let done = matches!(
                (qos, event),
                (QoS::AtMostOnce, Event::Outgoing(Outgoing::Publish(_)))
                    | (QoS::AtLeastOnce, Event::Incoming(Packet::PubAck(_)))
                    | (QoS::ExactlyOnce, Event::Incoming(Packet::PubComp(_)))
            );
            if done {
                return Ok(());
            }
        }
    }
}

fn connection_of<T: Send>(accessor: &Accessor<T, Spin>, conn: &Resource<MqttConnection>) -> wasmtime::Result<MqttConnection> {
    accessor.with(|mut access| Ok(access.get().table.get(conn)?.clone()))
}

impl v3::Host for &mut InstanceState {}

impl v3::HostConnection for &mut InstanceState {
    fn drop(&mut self, conn: Resource<MqttConnection>) -> wasmtime::Result<()> {
        self.table.delete(conn)?;
        Ok(())
    }
}

impl<T: Send> v3::HostConnectionWithStore<T> for Spin {
    async fn open(
        accessor: &Accessor<T, Self>,
        address: String,
        username: String,
        password: String,
        keep_alive_interval_in_secs: u64,
    ) -> wasmtime::Result<Result<Resource<MqttConnection>, Error>> {
        accessor.with(|mut access| {
            let state = access.get();
            match open(&state.mqtt.clone(), &address, username, password, keep_alive_interval_in_secs) {
                Ok(conn) => Ok(Ok(state.table.push(conn)?)),
                Err(e) => Ok(Err(e)),
            }
        })
    }

    async fn publish(
        accessor: &Accessor<T, Self>,
        conn: Resource<MqttConnection>,
        topic: String,
        payload: Vec<u8>,
        qos: Qos,
    ) -> wasmtime::Result<Result<(), Error>> {
        Ok(connection_of(accessor, &conn)?.publish(topic, payload, qos).await)
    }
}

// fermyon:spin/mqtt@2.0.0: the same, behind synchronous functions.

fn error_v2(e: Error) -> v2::Error {
    match e {
        Error::InvalidAddress => v2::Error::InvalidAddress,
        Error::TooManyConnections => v2::Error::TooManyConnections,
        Error::ConnectionFailed(m) => v2::Error::ConnectionFailed(m),
        Error::Other(m) => v2::Error::Other(m),
    }
}

impl v2::Host for &mut InstanceState {}

impl v2::HostConnection for &mut InstanceState {
    async fn open(
        &mut self,
        address: String,
        username: String,
        password: String,
        keep_alive_interval_in_secs: u64,
    ) -> wasmtime::Result<Result<Resource<MqttConnection>, v2::Error>> {
        match open(&self.mqtt.clone(), &address, username, password, keep_alive_interval_in_secs) {
            Ok(conn) => Ok(Ok(self.table.push(conn)?)),
            Err(e) => Ok(Err(error_v2(e))),
        }
    }

    async fn publish(&mut self, conn: Resource<MqttConnection>, topic: String, payload: Vec<u8>, qos: v2::Qos) -> wasmtime::Result<Result<(), v2::Error>> {
        let conn = self.table.get(&conn)?.clone();
        let qos = match qos {
            v2::Qos::AtMostOnce => Qos::AtMostOnce,
            v2::Qos::AtLeastOnce => Qos::AtLeastOnce,
            v2::Qos::ExactlyOnce => Qos::ExactlyOnce,
        };
        Ok(conn.publish(topic, payload, qos).await.map_err(error_v2))
    }

    async fn drop(&mut self, conn: Resource<MqttConnection>) -> wasmtime::Result<()> {
        self.table.delete(conn)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(entries: &[&str]) -> MqttGrant {
        MqttGrant {
            component: "test".into(),
            allowed_hosts: Arc::new(AllowedHosts::parse(&entries.iter().map(|e| e.to_string()).collect::<Vec<_>>()).unwrap()),
            blocked: Default::default(),
        }
    }

    #[tokio::test]
    async fn addresses_are_checked_before_anything_connects() {
        let allowed = grant(&["mqtt://localhost:1883"]);
        assert!(open(&allowed, "mqtt://localhost:1883?client_id=spintest", String::new(), String::new(), 30).is_ok());
        let refused = open(&grant(&[]), "mqtt://localhost:1883?client_id=spintest", String::new(), String::new(), 30).err().unwrap();
        assert!(matches!(refused, Error::ConnectionFailed(ref m) if m == "address mqtt://localhost:1883?client_id=spintest is not permitted"), "{refused:?}");
        assert!(matches!(open(&allowed, "mqtt://localhost:1883", String::new(), String::new(), 30), Err(Error::InvalidAddress)), "client_id is required");
        assert!(matches!(open(&allowed, "not a url", String::new(), String::new(), 30), Err(Error::InvalidAddress)));
    }

    #[tokio::test]
    async fn a_tls_address_needs_an_mqtts_entry_and_defaults_to_port_8883() {
        let plain_only = grant(&["mqtt://localhost:8883"]);
        let refused = open(&plain_only, "mqtts://localhost?client_id=spintest", String::new(), String::new(), 30).err().unwrap();
        assert!(matches!(refused, Error::ConnectionFailed(_)), "{refused:?}");
        let tls = grant(&["mqtts://localhost:8883"]);
        assert!(open(&tls, "mqtts://localhost?client_id=spintest", String::new(), String::new(), 30).is_ok());
        assert!(open(&tls, "ssl://localhost:8883?client_id=spintest", String::new(), String::new(), 30).is_ok());
        assert!(open(&tls, "mqtt://localhost:8883?client_id=spintest", String::new(), String::new(), 30).is_err(), "an mqtts entry does not cover mqtt");
        let (scheme, plain) = split_tls("mqtts://user@broker.example?client_id=a").unwrap();
        assert_eq!((scheme.as_str(), plain.as_str()), ("mqtts", "mqtt://user@broker.example:8883?client_id=a"));
    }
}
