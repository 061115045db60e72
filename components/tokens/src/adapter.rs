//! The Spin export: the private routes of the tokens service.

use shop_common::ApiError;
use shop_common::keys::{JWT_PUBLIC_KEYS, JWT_SIGNING_KEY, SigningKey};
use shop_common::spin::{Incoming, Reply, optional_variable, serve};
use shop_common::timestamp::now_unix;
use spin_sdk::http::Request;

use crate::signer;

#[spin_sdk::http_service]
async fn handle(request: Request) -> impl spin_sdk::http::IntoResponse {
    serve(request, async |inc| route(inc).await).await
}

/// The signing key, or 503 naming the variable that is missing or malformed.
async fn signing_key() -> Result<SigningKey, ApiError> {
    let (signing, public) = (optional_variable(JWT_SIGNING_KEY).await, optional_variable(JWT_PUBLIC_KEYS).await);
    Ok(signer::load(signing.as_deref(), public.as_deref())?)
}

async fn route(inc: Incoming) -> Result<Reply, ApiError> {
    match (inc.method.as_str(), inc.segments().as_slice()) {
        ("POST", ["internal", "tokens", "issue"]) => {
            let body = inc.json()?;
            let key = signing_key().await?;
            Ok(Reply::ok(&signer::issue(&key, body, now_unix())?))
        }
        ("GET", ["internal", "tokens", "health"]) => {
            signing_key().await?;
            Ok(Reply::ok(&serde_json::json!({ "status": "ok", "service": "tokens" })))
        }
        (_, ["internal", "tokens", "issue" | "health"]) => Err(inc.method_not_allowed()),
        _ => Err(inc.no_route()),
    }
}
