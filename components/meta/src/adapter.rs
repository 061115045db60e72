//! The Spin side of meta: the health of every service by service chaining,
//! and the embedded OpenAPI document.

use bytes::Bytes;
use serde_json::json;
use shop_common::ApiError;
use shop_common::spin::{Incoming, Reply, call, serve};
use spin_sdk::http::{FullBody, Request, Response};

use crate::health::{self, Probe};

#[spin_sdk::http_service]
async fn handle(req: Request) -> Response<FullBody<Bytes>> {
    serve(req, async |inc| route(inc).await).await
}

async fn route(inc: Incoming) -> Result<Reply, ApiError> {
    match (inc.method.as_str(), inc.segments().as_slice()) {
        ("GET", ["api", "v1", "health"]) => Ok(shop_health(&inc.request_id).await),
        ("GET", ["api", "v1", "openapi.json"]) => Ok(Reply {
            status: 200,
            body: Some(crate::OPENAPI_JSON.as_bytes().to_vec()),
            headers: vec![("content-type".into(), "application/json".into())],
        }),
        ("GET", ["internal", "meta", "health"]) => Ok(Reply::ok(&json!({ "status": "ok", "service": "meta" }))),
        (_, ["api", "v1", "health" | "openapi.json"] | ["internal", "meta", "health"]) => Err(inc.method_not_allowed()),
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
async fn shop_health(request_id: &str) -> Reply {
    let results = futures::future::join_all(health::SERVICES.iter().map(|s| probe(s, request_id))).await;
    let (status, report) = health::aggregate(results);
    Reply::json(status, &report)
}
