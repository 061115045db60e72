//! Outbound MQTT as Spin gives it: `spin:mqtt/mqtt@3.0.0` and
//! `fermyon:spin/mqtt@2.0.0`, on `rumqttc` (the maintained async MQTT
//! client for Rust).
//!
//! The address (`mqtt://host[:port]?client_id=ID`, or `mqtts://` for MQTT
//! over TLS, port 8883 by default) is checked against the component's
//! `allowed_outbound_hosts`, under its own scheme, before anything
//! connects; a refused one is `connection-failed("address ... is not
//! permitted")`, Spin's words. Over TLS the broker's certificate must chain
//! to a root the system trusts ([`super::outbound_tls`]). Under the
//! runtime config's blocked networks, the broker's name is resolved and
//! checked by souk before the session connects, and the session connects
//! to a checked address (over TLS, the certificate is still checked for
//! the name; no SNI is sent then).
//! Each guest connection is one MQTT session, driven by the guest's own
//! calls: `publish` returns once the broker has the message as its QoS
//! promises (sent for at-most-once, acknowledged for at-least-once,
//! completed for exactly-once), or with the error that stopped it.

use std::sync::Arc;
use std::time::Duration;

use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Outgoing, Packet, QoS, TlsConfiguration, Transport};
use souk_manifest::{AllowedHosts, BlockedNetworks};
use wasmtime::component::{Accessor, Resource};

use super::CapabilitiesView;
use super::Spin;
use super::bindings::fermyon::spin::mqtt as v2;
use super::bindings::spin::mqtt::mqtt as v3;
use super::bindings::spin::mqtt::mqtt::{Error, Qos};
use super::connection_limits::{ConnectionLimits, Kind, Permit};

/// Messages a connection may have queued before the broker takes them.
const QUEUE: usize = 16;

/// How long reaching a broker's address may take (rumqttc's own default).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// What one component may reach over MQTT.
pub struct MqttGrant {
    pub component: String,
    pub allowed_hosts: Arc<AllowedHosts>,
    /// Where no connection may go, whatever `allowed_hosts` say.
    pub blocked: Arc<BlockedNetworks>,
    pub limits: Arc<ConnectionLimits>,
}

/// A connection a guest has opened: its client and the session's event
/// loop, which `publish` drives.
#[derive(Clone)]
pub struct MqttConnection {
    client: AsyncClient,
    events: Arc<tokio::sync::Mutex<EventLoop>>,
    /// How the session was asked for, to point it at a checked address.
    asked: Arc<Asked>,
    blocked: Arc<BlockedNetworks>,
    /// Its place under the runtime config's connection limits.
    _permit: Arc<Permit>,
}

/// A guest's `open`: the address and the session's settings.
struct Asked {
    address: String,
    username: String,
    password: String,
    keep_alive_secs: u64,
    /// The broker's host and port.
    broker: (String, u16),
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
/// must name: `mqtts` over TLS, else `mqtt`. With `at`, the session
/// connects to that address instead of resolving the broker's name, and
/// over TLS still checks the certificate for that name.
fn options(asked: &Asked, at: Option<std::net::IpAddr>) -> Result<(MqttOptions, &'static str), Error> {
    let (scheme, plain) = split_tls(&asked.address)?;
    let plain = match at {
        Some(ip) => {
            let mut url = url::Url::parse(&plain).map_err(|_| Error::InvalidAddress)?;
            url.set_ip_host(ip).map_err(|()| Error::InvalidAddress)?;
            url.into()
        }
        None => plain,
    };
    let mut options = MqttOptions::parse_url(plain).map_err(|_| Error::InvalidAddress)?;
    let tls = TLS_SCHEMES.contains(&scheme.as_str());
    if tls {
        let tls = match at {
            Some(_) => super::outbound_tls::system_client_config_naming(&asked.broker.0),
            None => super::outbound_tls::system_client_config(),
        };
        options.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(tls.map_err(Error::Other)?)));
    }
    if !asked.username.is_empty() || !asked.password.is_empty() {
        options.set_credentials(asked.username.clone(), asked.password.clone());
    }
    // rumqttc refuses keep-alives under a second, except none at all.
    options.set_keep_alive(Duration::from_secs(asked.keep_alive_secs));
    Ok((options, if tls { "mqtts" } else { "mqtt" }))
}

/// Checks the address, takes the connection's place under the limits, and
/// makes the session, which connects at the first publish.
async fn open(grant: &MqttGrant, address: &str, username: String, password: String, keep_alive_secs: u64) -> Result<MqttConnection, Error> {
    let mut asked = Asked { address: address.to_string(), username, password, keep_alive_secs, broker: Default::default() };
    let (options, scheme) = options(&asked, None)?;
    let (host, port) = options.broker_address();
    if !grant.allowed_hosts.allows(scheme, &host, port) {
        tracing::warn!("component `{}`: MQTT connection to {scheme}://{host}:{port} refused: not in allowed_outbound_hosts", grant.component);
        return Err(Error::ConnectionFailed(format!("address {address} is not permitted")));
    }
    asked.broker = (host, port);
    let permit = grant.limits.acquire(Kind::Mqtt).await.map_err(Error::ConnectionFailed)?;
    let (client, events) = AsyncClient::new(options, QUEUE);
    let events = Arc::new(tokio::sync::Mutex::new(events));
    Ok(MqttConnection { client, events, asked: Arc::new(asked), blocked: grant.blocked.clone(), _permit: Arc::new(permit) })
}

impl MqttConnection {
    async fn publish(&self, topic: String, payload: Vec<u8>, qos: Qos) -> Result<(), Error> {
        let qos = match qos {
            Qos::AtMostOnce => QoS::AtMostOnce,
            Qos::AtLeastOnce => QoS::AtLeastOnce,
            Qos::ExactlyOnce => QoS::ExactlyOnce,
        };
        // One publish at a time per session, so the acknowledgement seen is this one's.
        let mut events = self.events.lock().await;
        self.check_broker(&mut events).await?;
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

impl MqttConnection {
    /// Under blocked networks, before the session connects (or connects
    /// again): resolves the broker's name and checks every address, then
    /// points the session at a checked one, so that no later lookup of the
    /// name (rumqttc's own) can lead into a blocked network.
    async fn check_broker(&self, events: &mut EventLoop) -> Result<(), Error> {
        if self.blocked.is_empty() || events.network.is_some() {
            return Ok(());
        }
        let (host, port) = &self.asked.broker;
        let checked = super::blocked_networks::checked_addresses(host, *port, &self.blocked).await.map_err(Error::ConnectionFailed)?;
        let Some(ips) = checked.filter(|ips| !ips.is_empty()) else {
            return Err(Error::ConnectionFailed(format!("{host} does not resolve to an address")));
        };
        let ip = if let [only] = ips[..] { Ok(only) } else { first_listening(&ips, *port).await };
        let ip = ip.map_err(|e| Error::ConnectionFailed(format!("cannot connect to {host}:{port}: {e}")))?;
        events.mqtt_options = options(&self.asked, Some(ip))?.0;
        Ok(())
    }
}

/// The first of `ips` that accepts a connection on `port`. rumqttc takes
/// one address, where its own lookup would have tried each in turn (a
/// name such as `localhost` often gives `::1` first, where the broker may
/// not listen).
async fn first_listening(ips: &[std::net::IpAddr], port: u16) -> std::io::Result<std::net::IpAddr> {
    let mut failure = std::io::Error::other("no address");
    for &ip in ips {
        match tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect((ip, port))).await {
            Ok(Ok(_)) => return Ok(ip),
            Ok(Err(e)) => failure = e,
            Err(_) => failure = std::io::Error::new(std::io::ErrorKind::TimedOut, format!("no answer within {CONNECT_TIMEOUT:?}")),
        }
    }
    Err(failure)
}

fn connection_of<T: Send>(accessor: &Accessor<T, Spin>, conn: &Resource<MqttConnection>) -> wasmtime::Result<MqttConnection> {
    accessor.with(|mut access| Ok(access.get().table.get(conn)?.clone()))
}

impl v3::Host for CapabilitiesView<'_> {}

impl v3::HostConnection for CapabilitiesView<'_> {
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
        let grant = accessor.with(|mut access| access.get().caps.grants.clone());
        match open(&grant.mqtt, &address, username, password, keep_alive_interval_in_secs).await {
            Ok(conn) => accessor.with(|mut access| Ok(Ok(access.get().table.push(conn)?))),
            Err(e) => Ok(Err(e)),
        }
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

impl v2::Host for CapabilitiesView<'_> {}

impl v2::HostConnection for CapabilitiesView<'_> {
    async fn open(
        &mut self,
        address: String,
        username: String,
        password: String,
        keep_alive_interval_in_secs: u64,
    ) -> wasmtime::Result<Result<Resource<MqttConnection>, v2::Error>> {
        let grant = self.caps.grants.clone();
        match open(&grant.mqtt, &address, username, password, keep_alive_interval_in_secs).await {
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
            limits: Default::default(),
        }
    }

    #[tokio::test]
    async fn addresses_are_checked_before_anything_connects() {
        let allowed = grant(&["mqtt://localhost:1883"]);
        assert!(open(&allowed, "mqtt://localhost:1883?client_id=spintest", String::new(), String::new(), 30).await.is_ok());
        let refused = open(&grant(&[]), "mqtt://localhost:1883?client_id=spintest", String::new(), String::new(), 30).await.err().unwrap();
        assert!(matches!(refused, Error::ConnectionFailed(ref m) if m == "address mqtt://localhost:1883?client_id=spintest is not permitted"), "{refused:?}");
        assert!(matches!(open(&allowed, "mqtt://localhost:1883", String::new(), String::new(), 30).await, Err(Error::InvalidAddress)), "client_id is required");
        assert!(matches!(open(&allowed, "not a url", String::new(), String::new(), 30).await, Err(Error::InvalidAddress)));
    }

    #[tokio::test]
    async fn a_checked_name_is_reached_at_its_first_address_that_answers() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (quiet, listening) = ("127.0.0.2".parse().unwrap(), "127.0.0.1".parse().unwrap());
        assert_eq!(first_listening(&[quiet, listening], port).await.unwrap(), listening);
        let e = first_listening(&[quiet], port).await.unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused, "{e}");
    }

    #[tokio::test]
    async fn a_tls_address_needs_an_mqtts_entry_and_defaults_to_port_8883() {
        let plain_only = grant(&["mqtt://localhost:8883"]);
        let refused = open(&plain_only, "mqtts://localhost?client_id=spintest", String::new(), String::new(), 30).await.err().unwrap();
        assert!(matches!(refused, Error::ConnectionFailed(_)), "{refused:?}");
        let tls = grant(&["mqtts://localhost:8883"]);
        assert!(open(&tls, "mqtts://localhost?client_id=spintest", String::new(), String::new(), 30).await.is_ok());
        assert!(open(&tls, "ssl://localhost:8883?client_id=spintest", String::new(), String::new(), 30).await.is_ok());
        assert!(open(&tls, "mqtt://localhost:8883?client_id=spintest", String::new(), String::new(), 30).await.is_err(), "an mqtts entry does not cover mqtt");
        let (scheme, plain) = split_tls("mqtts://user@broker.example?client_id=a").unwrap();
        assert_eq!((scheme.as_str(), plain.as_str()), ("mqtts", "mqtt://user@broker.example:8883?client_id=a"));
    }
}
