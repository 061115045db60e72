//! The runtime config's limits on outbound connections guests hold at once
//! (`souk_manifest::ConnectionLimits`), as Spin counts them: a connection
//! takes a place under its kind's limit, then one under the total, and
//! gives both back when it closes. A guest that finds no place waits for
//! one (its request's deadline bounds the wait; an outbound HTTP request's
//! connect timeout bounds it too); where a limit is 0 it is refused at
//! once. A `wasi:sockets` socket never waits: with no place it is refused
//! at once, as in Spin (a guest holding sockets while it waits for another
//! could wait for ever).
//!
//! What one connection is, for each kind: an outbound HTTP connection
//! (kept while the component's pool keeps it), a guest's open Redis,
//! PostgreSQL, MySQL or MQTT connection, from its `open` until the guest
//! drops it, and a guest's `wasi:sockets` TCP or UDP socket, from its
//! creation until the guest drops it (`socket_limits.rs`).
//!
//! Metrics: the connections held now, those that waited and those refused,
//! by kind (with or without limits).

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::metrics::{self, ConnectionEvent};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Http,
    Redis,
    Postgres,
    Mysql,
    Mqtt,
    Socket,
}

impl Kind {
    const ALL: [Kind; 6] = [Kind::Http, Kind::Redis, Kind::Postgres, Kind::Mysql, Kind::Mqtt, Kind::Socket];

    /// The runtime config's key for the kind's limit.
    fn key(self) -> &'static str {
        match self {
            Kind::Http => "[outbound_http] max_connections",
            Kind::Redis => "[outbound_redis] max_connections",
            Kind::Postgres => "[outbound_pg] max_connections",
            Kind::Mysql => "[outbound_mysql] max_connections",
            Kind::Mqtt => "[outbound_mqtt] max_connections",
            Kind::Socket => "[outbound_networking] max_socket_connections",
        }
    }

    /// The kind as a metric label.
    fn label(self) -> &'static str {
        match self {
            Kind::Http => "http",
            Kind::Redis => "redis",
            Kind::Postgres => "postgres",
            Kind::Mysql => "mysql",
            Kind::Mqtt => "mqtt",
            Kind::Socket => "socket",
        }
    }
}

/// The app's limits, shared by every component.
#[derive(Default)]
pub struct ConnectionLimits {
    total: Option<Limit>,
    by_kind: [Option<Limit>; 6],
}

struct Limit {
    max: usize,
    places: Arc<Semaphore>,
}

impl Limit {
    fn new(max: usize) -> Limit {
        Limit { max, places: Arc::new(Semaphore::new(max)) }
    }
}

/// A connection's places; given back when dropped.
#[derive(Debug)]
pub struct Permit {
    kind: Kind,
    _kind_place: Option<OwnedSemaphorePermit>,
    _total_place: Option<OwnedSemaphorePermit>,
}

impl Drop for Permit {
    fn drop(&mut self) {
        metrics::outbound_connection(self.kind.label(), ConnectionEvent::Closed);
    }
}

impl ConnectionLimits {
    pub fn new(config: &souk_manifest::ConnectionLimits) -> ConnectionLimits {
        let by_kind = [config.http, config.redis, config.postgres, config.mysql, config.mqtt, config.sockets].map(|max| max.map(Limit::new));
        ConnectionLimits { total: config.total.map(Limit::new), by_kind }
    }

    /// The limits in force, for the start-up output; `None` when there are
    /// none.
    pub fn describe(&self) -> Option<String> {
        let mut set: Vec<String> =
            Kind::ALL.iter().filter_map(|&kind| Some(format!("{} {}", kind.label(), self.by_kind[kind as usize].as_ref()?.max))).collect();
        if let Some(total) = &self.total {
            set.push(format!("total {}", total.max));
        }
        (!set.is_empty()).then(|| format!("Outbound connection limits: {}", set.join(", ")))
    }

    /// A place for one more connection of `kind`, once there is one. The
    /// kind's place is taken first, so a connection waiting on its kind's
    /// limit holds no place under the total.
    pub async fn acquire(&self, kind: Kind) -> Result<Permit, String> {
        let own = &self.by_kind[kind as usize];
        let zero = |limit: &Option<Limit>| limit.as_ref().is_some_and(|l| l.max == 0);
        if zero(own) || zero(&self.total) {
            metrics::outbound_connection(kind.label(), ConnectionEvent::Refused);
            let key = if zero(own) { kind.key() } else { TOTAL_KEY };
            return Err(format!("no outbound connection is allowed: the runtime config's {key} is 0"));
        }
        let mut waited = false;
        let kind_place = take(own, &mut waited).await?;
        let total_place = take(&self.total, &mut waited).await?;
        if waited {
            metrics::outbound_connection(kind.label(), ConnectionEvent::Waited);
        }
        metrics::outbound_connection(kind.label(), ConnectionEvent::Opened);
        Ok(Permit { kind, _kind_place: kind_place, _total_place: total_place })
    }

    /// A place for one more connection of `kind` if there is one now, else
    /// an error naming the limit reached.
    pub fn try_acquire(&self, kind: Kind) -> Result<Permit, String> {
        let take_now = |limit: &Option<Limit>, key: &str| match limit {
            None => Ok(None),
            Some(limit) => limit.places.clone().try_acquire_owned().map(Some).map_err(|_| format!("the runtime config's {key} ({}) is reached", limit.max)),
        };
        let places = take_now(&self.by_kind[kind as usize], kind.key()).and_then(|own| Ok((own, take_now(&self.total, TOTAL_KEY)?)));
        match places {
            Ok((kind_place, total_place)) => {
                metrics::outbound_connection(kind.label(), ConnectionEvent::Opened);
                Ok(Permit { kind, _kind_place: kind_place, _total_place: total_place })
            }
            Err(reached) => {
                metrics::outbound_connection(kind.label(), ConnectionEvent::Refused);
                Err(reached)
            }
        }
    }
}

const TOTAL_KEY: &str = "[outbound_networking] max_total_connections";

/// A place under `limit` (none when there is no limit), noting whether it
/// had to wait for it.
async fn take(limit: &Option<Limit>, waited: &mut bool) -> Result<Option<OwnedSemaphorePermit>, String> {
    let Some(limit) = limit else { return Ok(None) };
    if let Ok(place) = limit.places.clone().try_acquire_owned() {
        return Ok(Some(place));
    }
    *waited = true;
    limit.places.clone().acquire_owned().await.map(Some).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn limits(config: souk_manifest::ConnectionLimits) -> Arc<ConnectionLimits> {
        Arc::new(ConnectionLimits::new(&config))
    }

    async fn waits(limits: &ConnectionLimits, kind: Kind) -> bool {
        tokio::time::timeout(Duration::from_millis(50), limits.acquire(kind)).await.is_err()
    }

    #[tokio::test]
    async fn a_kind_waits_at_its_limit_and_every_kind_at_the_total() {
        let limits = limits(souk_manifest::ConnectionLimits { total: Some(3), redis: Some(1), ..Default::default() });
        let redis = limits.acquire(Kind::Redis).await.unwrap();
        assert!(waits(&limits, Kind::Redis).await, "one Redis connection at a time");
        let http = [limits.acquire(Kind::Http).await.unwrap(), limits.acquire(Kind::Http).await.unwrap()];
        assert!(waits(&limits, Kind::Postgres).await, "three in all");
        drop(redis);
        let _pg = limits.acquire(Kind::Postgres).await.unwrap();
        drop(http);
        let _redis = limits.acquire(Kind::Redis).await.unwrap();
        assert_eq!(limits.describe().as_deref(), Some("Outbound connection limits: redis 1, total 3"));
        let unlimited = ConnectionLimits::default();
        assert_eq!(unlimited.describe(), None);
        let _many: Vec<Permit> = futures::future::try_join_all((0..100).map(|_| unlimited.acquire(Kind::Http))).await.unwrap();
    }

    #[tokio::test]
    async fn a_limit_of_zero_refuses_at_once_naming_the_key() {
        let limits = limits(souk_manifest::ConnectionLimits { mqtt: Some(0), ..Default::default() });
        let e = limits.acquire(Kind::Mqtt).await.unwrap_err();
        assert!(e.contains("[outbound_mqtt] max_connections is 0"), "{e}");
        assert!(limits.acquire(Kind::Mysql).await.is_ok());
        let none = self::limits(souk_manifest::ConnectionLimits { total: Some(0), ..Default::default() });
        assert!(none.acquire(Kind::Http).await.unwrap_err().contains("max_total_connections is 0"));
    }

    #[tokio::test]
    async fn a_socket_takes_a_place_at_once_or_is_refused_naming_the_limit() {
        let limits = limits(souk_manifest::ConnectionLimits { total: Some(2), sockets: Some(1), ..Default::default() });
        let socket = limits.try_acquire(Kind::Socket).unwrap();
        let e = limits.try_acquire(Kind::Socket).unwrap_err();
        assert!(e.contains("[outbound_networking] max_socket_connections (1) is reached"), "{e}");
        let _http = limits.acquire(Kind::Http).await.unwrap();
        drop(socket);
        let _socket = limits.try_acquire(Kind::Socket).unwrap();
        assert!(waits(&limits, Kind::Redis).await, "the socket holds a place under the total");
        let full = self::limits(souk_manifest::ConnectionLimits { total: Some(1), ..Default::default() });
        let _redis = full.acquire(Kind::Redis).await.unwrap();
        let e = full.try_acquire(Kind::Socket).unwrap_err();
        assert!(e.contains("max_total_connections (1) is reached"), "{e}");
        assert_eq!(limits.describe().as_deref(), Some("Outbound connection limits: socket 1, total 2"));
    }
}
