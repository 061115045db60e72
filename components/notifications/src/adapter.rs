//! The Spin side of notifications: routes, the `notifications` SQLite
//! database, and the optional webhook call.

use bytes::Bytes;
use serde_json::json;
use shop_common::events::Event;
use shop_common::spin::{Incoming, Reply, SpinDb, optional_variable, serve};
use shop_common::timestamp::now_unix;
use shop_common::{ApiError, PageRequest};
use spin_sdk::http::{FullBody, Request, Response};

use crate::store::{self, Notification, Outcome, Webhook};

#[spin_sdk::http_service]
async fn handle(req: Request) -> Response<FullBody<Bytes>> {
    serve(req, async |inc| route(inc).await).await
}

#[derive(Clone, Copy)]
enum Endpoint {
    List,
    Events,
    Health,
}

async fn route(inc: Incoming) -> Result<Reply, ApiError> {
    let segments = inc.segments();
    let endpoint = match (inc.method.as_str(), segments.as_slice()) {
        ("GET", ["api", "v1", "notifications"]) => Endpoint::List,
        ("POST", ["internal", "notifications", "events"]) => Endpoint::Events,
        ("GET", ["internal", "notifications", "health"]) => Endpoint::Health,
        (_, ["api", "v1", "notifications"] | ["internal", "notifications", "events" | "health"]) => return Err(inc.method_not_allowed()),
        _ => return Err(inc.no_route()),
    };
    let db = SpinDb::open_migrated("notifications", store::MIGRATIONS).await?;
    match endpoint {
        Endpoint::List => {
            let me = inc.identity()?;
            let page = PageRequest::parse(inc.query("page"), inc.query("page_size"))?;
            Ok(Reply::ok(&store::list_for_user(&db, &me.user_id, page).await?))
        }
        Endpoint::Events => receive(&inc, &db).await,
        Endpoint::Health => Ok(Reply::ok(&json!({ "status": "ok", "service": "notifications" }))),
    }
}

async fn receive(inc: &Incoming, db: &SpinDb) -> Result<Reply, ApiError> {
    let event: Event = inc.json()?;
    let webhook_url = optional_variable("webhook_url").await;
    let outcome = store::receive(db, &event, webhook_url.is_some(), now_unix()).await?;
    // The notification is stored (and the transaction over) before the
    // webhook is called; how the call went never fails the delivery.
    if let (Outcome::Stored(notification), Some(url)) = (&outcome, webhook_url.as_deref()) {
        let result = post_webhook(url, notification, &event, &inc.request_id).await;
        if let Err(why) = &result {
            eprintln!("[{}] webhook for notification {}: {why}", inc.request_id, notification.id);
        }
        let status = if result.is_ok() { Webhook::Sent } else { Webhook::Failed };
        if let Err(e) = store::set_webhook(db, &notification.id, status).await {
            eprintln!("[{}] recording the webhook outcome of {}: {e}", inc.request_id, notification.id);
        }
    }
    Ok(Reply::ok(&json!({ "event_id": event.id, "outcome": outcome.as_str() })))
}

/// POSTs `{"notification", "event"}` to `url`; `Ok` on a 2xx answer.
async fn post_webhook(url: &str, notification: &Notification, event: &Event, request_id: &str) -> Result<(), String> {
    // The receiver gets the notification as it will be once this call
    // succeeds (it is stored as `failed` until then).
    let mut sent = notification.clone();
    sent.webhook = Webhook::Sent.as_str().to_owned();
    let body = serde_json::to_vec(&store::webhook_payload(&sent, event)).map_err(|e| e.to_string())?;
    let request = http::Request::builder()
        .method("POST")
        .uri(url)
        .header("content-type", "application/json")
        // A length rather than a chunked body: simple receivers expect one.
        .header("content-length", body.len())
        .header(shop_common::identity::REQUEST_ID_HEADER, request_id)
        .body(FullBody::new(Bytes::from(body)))
        .map_err(|e| format!("bad webhook_url {url:?}: {e}"))?;
    let response = spin_sdk::http::send(request).await.map_err(|e| format!("could not reach {url}: {e:?}"))?;
    let status = response.status();
    if status.is_success() { Ok(()) } else { Err(format!("{url} answered {status}")) }
}
