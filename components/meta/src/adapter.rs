//! The Spin side of meta: the health of every service by service chaining,
//! and the embedded OpenAPI document.

use bytes::Bytes;
use serde_json::json;
use shop_common::ApiError;
use shop_common::keys::{JWT_PUBLIC_KEYS, RATE_LIMIT_KEY};
use shop_common::spin::{Incoming, Reply, call, optional_variable, serve};
use spin_sdk::http::{FullBody, Request, Response};

use crate::health::{self, Probe};

#[spin_sdk::http_service]
async fn handle(req: Request) -> Response<FullBody<Bytes>> {
    serve(req, async |inc| route(inc).await).await
}

async fn route(inc: Incoming) -> Result<Reply, ApiError> {
    match (inc.method.as_str(), inc.segments().as_slice()) {
        ("GET", ["api", "v1", "health"]) => Ok(shop_health(&inc.request_id).await),
        ("GET", ["api", "v1", "openapi.json"]) => {
            Ok(Reply { status: 200, body: Some(crate::OPENAPI_JSON.as_bytes().to_vec()), headers: vec![("content-type".into(), "application/json".into())] })
        }
        ("GET", ["api", "v1", "admin", "audit"]) => {
            inc.identity()?.require_admin()?;
            audit(&inc.request_id).await
        }
        ("GET", ["internal", "meta", "health"]) => Ok(Reply::ok(&json!({ "status": "ok", "service": "meta" }))),
        (_, ["api", "v1", "health" | "openapi.json"] | ["api", "v1", "admin", "audit"] | ["internal", "meta", "health"]) => Err(inc.method_not_allowed()),
        _ => Err(inc.no_route()),
    }
}

async fn probe(service: &str, request_id: &str) -> (String, health::ServiceHealth) {
    let probe = match call(service, "GET", &format!("/internal/{service}/health"), None, request_id).await {
        Ok(called) => Probe::Answered { status: called.status, body: called.body },
        Err(e) => Probe::Unreachable(e.message),
    };
    (service.to_owned(), health::judge(probe))
}

/// Asks every service at once; 503 (with the same body) when any is down.
/// It also has the event producers relay their outboxes (orders settles
/// half-placed orders there too) and the catalog sweep expired
/// reservations, so a periodic health probe drives redelivery and recovery.
/// The gateway's keys are checked here (meta lists them, as every component
/// behind the gateway does); the signing key by users, which asks the
/// tokens service.
async fn shop_health(request_id: &str) -> Reply {
    let probes = futures::future::join_all(health::SERVICES.iter().map(|s| probe(s, request_id)));
    let relays = futures::future::join_all(health::PRODUCERS.iter().map(|s| post(s, format!("/internal/{s}/outbox/relay"), request_id)));
    let sweeps = futures::future::join_all(health::SWEEPS.iter().map(|(s, path)| post(s, (*path).to_owned(), request_id)));
    let (mut results, outboxes, sweeps) = futures::future::join3(probes, relays, sweeps).await;
    let (public_keys, rate_limit_key) = (optional_variable(JWT_PUBLIC_KEYS).await, optional_variable(RATE_LIMIT_KEY).await);
    results.push(("gateway".to_owned(), health::gateway_keys(public_keys.as_deref(), rate_limit_key.as_deref())));
    let (status, mut report) = health::aggregate(results);
    report.outboxes = outboxes.into_iter().collect();
    report.sweeps = sweeps.into_iter().collect();
    Reply::json(status, &report)
}

/// What a service's relay or sweep did, or why it could not.
async fn post(service: &str, path: String, request_id: &str) -> (String, serde_json::Value) {
    let outcome = match call(service, "POST", &path, None, request_id).await {
        Ok(called) if called.is_success() => called.body,
        Ok(called) => json!({ "error": format!("answered {}", called.status) }),
        Err(e) => json!({ "error": e.message }),
    };
    (service.to_owned(), outcome)
}

/// The figures the load generator checks the shop's invariants with: the
/// catalog's stock, the orders paid and those not settled yet with the
/// compensations still queued, the payments approved (admins only).
async fn audit(request_id: &str) -> Result<Reply, ApiError> {
    let fetch = async |service: &'static str, path: &'static str| -> Result<serde_json::Value, ApiError> {
        let called = call(service, "GET", path, None, request_id).await?;
        if called.is_success() { Ok(called.body) } else { Err(called.into_error(service)) }
    };
    let (stock, orders, payments) = futures::future::join3(
        fetch("catalog", "/internal/catalog/stock"),
        fetch("orders", "/internal/orders/summary"),
        fetch("payments", "/internal/payments/summary"),
    )
    .await;
    Ok(Reply::ok(&json!({ "stock": stock?, "orders": orders?, "payments": payments? })))
}
