//! The shop's health: each service's own health check, judged and summed
//! up. `ok` only when every service answers that it is.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;
use shop_common::keys::{self, JWT_PUBLIC_KEYS, PublicKeys, RATE_LIMIT_KEY};

/// The services asked, by id (`GET /internal/<id>/health`).
pub const SERVICES: &[&str] = &["users", "catalog", "cart", "orders", "payments", "shipping", "notifications"];

/// The services with an event outbox, relayed on each health check
/// (`POST /internal/<id>/outbox/relay`).
pub const PRODUCERS: &[&str] = &["orders", "shipping"];

/// The sweeps run on each health check (`POST` to the path): the catalog
/// releases expired stock reservations.
pub const SWEEPS: &[(&str, &str)] = &[("catalog", "/internal/catalog/reservations/sweep")];

/// What one health check got.
#[derive(Debug, Clone, PartialEq)]
pub enum Probe {
    Answered {
        status: u16,
        body: Value,
    },
    /// The call itself failed.
    Unreachable(String),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceHealth {
    /// `ok` or `down`.
    pub status: &'static str,
    /// Why it is down.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HealthReport {
    /// `ok` or `degraded`.
    pub status: &'static str,
    pub services: BTreeMap<String, ServiceHealth>,
    /// Each producer's relay report (delivered, failed, pending; orders
    /// also what its recovery settled), or its error.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub outboxes: BTreeMap<String, Value>,
    /// Each sweep's report (the catalog: `{"released": n}`), or its error.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub sweeps: BTreeMap<String, Value>,
}

/// A service is up when it answers 200 with `{"status": "ok"}`; anything
/// else is down, with what it said.
pub fn judge(probe: Probe) -> ServiceHealth {
    let down = |detail: String| ServiceHealth { status: "down", detail: Some(detail) };
    match probe {
        Probe::Answered { status: 200, body } if body["status"] == "ok" => ServiceHealth { status: "ok", detail: None },
        Probe::Answered { status, body } => {
            let said =
                body["error"]["message"].as_str().map(str::to_owned).unwrap_or_else(|| format!("status {:?}", body["status"].as_str().unwrap_or("missing")));
            down(format!("answered {status}: {said}"))
        }
        Probe::Unreachable(why) => down(why),
    }
}

/// The gateway's keys, as every component behind it lists them (the same
/// app variables): `down` naming the variable when one is missing or
/// malformed, since the gateway then answers 503 to every signed-in request
/// (or, for `rate_limit_key`, to every request).
pub fn gateway_keys(public_keys: Option<&str>, rate_limit_key: Option<&str>) -> ServiceHealth {
    let checked = keys::required(JWT_PUBLIC_KEYS, public_keys)
        .and_then(PublicKeys::parse)
        .and_then(|_| keys::required(RATE_LIMIT_KEY, rate_limit_key))
        .and_then(keys::rate_limit_key);
    match checked {
        Ok(_) => ServiceHealth { status: "ok", detail: None },
        Err(e) => ServiceHealth { status: "down", detail: Some(e.to_string()) },
    }
}

/// The report and its HTTP status: 200 when all are ok, else 503.
pub fn aggregate(results: impl IntoIterator<Item = (String, ServiceHealth)>) -> (u16, HealthReport) {
    let services: BTreeMap<String, ServiceHealth> = results.into_iter().collect();
    let all_ok = services.values().all(|s| s.status == "ok");
    let (code, status) = if all_ok { (200, "ok") } else { (503, "degraded") };
    (code, HealthReport { status, services, outboxes: BTreeMap::new(), sweeps: BTreeMap::new() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ok() -> Probe {
        Probe::Answered { status: 200, body: json!({ "status": "ok", "service": "x" }) }
    }

    #[test]
    fn all_up_is_ok_and_200() {
        let (code, report) = aggregate(SERVICES.iter().map(|s| (s.to_string(), judge(ok()))));
        assert_eq!((code, report.status, report.services.len()), (200, "ok", SERVICES.len()));
        let body = serde_json::to_value(&report).unwrap();
        assert_eq!(body["services"]["orders"], json!({ "status": "ok" }));
    }

    #[test]
    fn one_down_is_degraded_and_503() {
        let probes = SERVICES.iter().map(|s| {
            let probe = match *s {
                "payments" => Probe::Answered { status: 503, body: json!({ "error": { "code": "unavailable", "message": "the database failed" } }) },
                "cart" => Probe::Unreachable("connection refused".into()),
                _ => ok(),
            };
            (s.to_string(), judge(probe))
        });
        let (code, report) = aggregate(probes);
        assert_eq!((code, report.status), (503, "degraded"));
        assert_eq!(report.services["payments"], ServiceHealth { status: "down", detail: Some("answered 503: the database failed".into()) });
        assert_eq!(report.services["cart"].detail.as_deref(), Some("connection refused"));
        assert_eq!(report.services["users"].status, "ok");
    }

    #[test]
    fn the_gateway_is_down_naming_a_missing_or_malformed_key() {
        let public = shop_common::keys::SigningKey::from_seed("k1", &[4; 32]).public_entry();
        let rate = "r".repeat(32);
        assert_eq!(gateway_keys(Some(&public), Some(&rate)).status, "ok");
        for (public_keys, rate_limit_key, variable) in [
            (None, Some(rate.as_str()), "jwt_public_keys"),
            (Some("k1=AAAA"), Some(rate.as_str()), "jwt_public_keys"),
            (Some(public.as_str()), None, "rate_limit_key"),
            (Some(public.as_str()), Some("short"), "rate_limit_key"),
        ] {
            let h = gateway_keys(public_keys, rate_limit_key);
            assert_eq!(h.status, "down");
            assert!(h.detail.as_deref().unwrap().starts_with(&format!("variable \"{variable}\"")), "{h:?}");
        }
    }

    #[test]
    fn a_200_that_does_not_say_ok_is_down() {
        let h = judge(Probe::Answered { status: 200, body: json!({ "status": "starting" }) });
        assert_eq!((h.status, h.detail.as_deref()), ("down", Some("answered 200: status \"starting\"")));
        assert_eq!(judge(Probe::Answered { status: 200, body: Value::Null }).status, "down");
    }
}
