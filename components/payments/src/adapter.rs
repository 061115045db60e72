//! The Spin adapter: routes requests onto the store.

use serde::Deserialize;
use serde_json::json;
use shop_common::page::PageRequest;
use shop_common::spin::{Incoming, Reply, SpinDb, serve};
use shop_common::{ApiError, timestamp};

use crate::store;

#[spin_sdk::http_service]
async fn handle(req: spin_sdk::http::Request) -> impl spin_sdk::http::IntoResponse {
    serve(req, async |inc| route(inc).await).await
}

async fn open() -> Result<SpinDb, ApiError> {
    SpinDb::open_migrated("payments", store::MIGRATIONS).await
}

async fn route(inc: Incoming) -> Result<Reply, ApiError> {
    match (inc.method.as_str(), inc.segments().as_slice()) {
        ("GET", ["api", "v1", "payments"]) => list(&inc).await,
        ("GET", ["api", "v1", "payments", id]) => get(&inc, id).await,
        ("POST", ["internal", "payments", "charges"]) => charge(&inc).await,
        ("POST", ["internal", "payments", "refunds"]) => refund(&inc).await,
        ("POST", ["internal", "payments", "charges", order_id, "close"]) => {
            let payment = store::close_charge(&open().await?, order_id, timestamp::now_unix()).await?;
            Ok(Reply::ok(&json!({ "payment": payment })))
        }
        ("GET", ["internal", "payments", "summary"]) => Ok(Reply::ok(&store::summary(&open().await?).await?)),
        ("GET", ["internal", "payments", "health"]) => {
            open().await?;
            Ok(Reply::ok(&json!({ "status": "ok", "service": "payments" })))
        }
        (_, ["api", "v1", "payments"] | ["api", "v1", "payments", _])
        | (_, ["internal", "payments", "charges" | "refunds" | "summary" | "health"] | ["internal", "payments", "charges", _, "close"]) => {
            Err(inc.method_not_allowed())
        }
        _ => Err(inc.no_route()),
    }
}

async fn list(inc: &Incoming) -> Result<Reply, ApiError> {
    let me = inc.identity()?;
    let page = PageRequest::parse(inc.query("page"), inc.query("page_size"))?;
    let order_id = inc.query("order_id").filter(|o| !o.is_empty());
    let db = open().await?;
    Ok(Reply::ok(&store::list_for_user(&db, &me.user_id, order_id, page).await?))
}

async fn get(inc: &Incoming, id: &str) -> Result<Reply, ApiError> {
    let me = inc.identity()?;
    let db = open().await?;
    // Someone else's payment is "not found", so ids do not leak.
    match store::by_id(&db, id).await? {
        Some(p) if p.user_id == me.user_id || me.is_admin() => Ok(Reply::ok(&p)),
        _ => Err(ApiError::not_found("payment")),
    }
}

async fn charge(inc: &Incoming) -> Result<Reply, ApiError> {
    let request: store::ChargeRequest = inc.json()?;
    let db = open().await?;
    let (payment, created) = store::charge(&db, &request, timestamp::now_unix()).await?;
    Ok(Reply::json(if created { 201 } else { 200 }, &payment))
}

#[derive(Deserialize)]
struct RefundRequest {
    order_id: String,
}

async fn refund(inc: &Incoming) -> Result<Reply, ApiError> {
    let request: RefundRequest = inc.json()?;
    let db = open().await?;
    Ok(Reply::ok(&store::refund(&db, &request.order_id, timestamp::now_unix()).await?))
}
