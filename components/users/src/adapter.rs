//! The Spin export: routes each request to `service`, with the `users`
//! database migrated, and the first admin created before a sign-up (so no
//! one can register its email first), a login or a health check. Other
//! routes need a caller who has logged in, or a user id, so they skip the
//! check and its reads. Tokens are signed by the tokens service, which
//! alone holds the signing key.

use shop_common::spin::{Incoming, Reply, SpinDb, call, optional_variable, serve};
use shop_common::timestamp::now_unix;
use shop_common::{ApiError, Identity};
use spin_sdk::http::Request;

use crate::password::Passwords;
use crate::service;
use crate::store::MIGRATIONS;

#[spin_sdk::http_service]
async fn handle(request: Request) -> impl spin_sdk::http::IntoResponse {
    serve(request, async |inc| route(inc).await).await
}

async fn open() -> Result<SpinDb, ApiError> {
    SpinDb::open_migrated("users", MIGRATIONS).await
}

async fn open_with_admin(passwords: &Passwords) -> Result<SpinDb, ApiError> {
    let db = open().await?;
    let (email, password) = (optional_variable("admin_email").await, optional_variable("admin_password").await);
    service::ensure_admin(&db, passwords, email.as_deref(), password.as_deref(), now_unix()).await?;
    Ok(db)
}

/// A 503 from the tokens service (its key misconfigured) is passed on as a
/// 503 with its message, which names the variable; other failures are 502.
fn tokens_error(called: shop_common::spin::Called) -> ApiError {
    if called.status == 503
        && let Some(message) = called.body["error"]["message"].as_str()
    {
        return ApiError::unavailable(format!("tokens: {message}")).with_details(called.body["error"]["details"].clone());
    }
    called.into_error("tokens")
}

/// A token for `identity`, signed by the tokens service.
async fn sign(identity: &Identity, request_id: &str) -> Result<String, ApiError> {
    let body = serde_json::json!({ "user_id": identity.user_id, "role": identity.role.as_str() });
    let called = call("tokens", "POST", "/internal/tokens/issue", Some(&body), request_id).await?;
    if !called.is_success() {
        return Err(tokens_error(called));
    }
    called.body["token"].as_str().map(str::to_owned).ok_or_else(|| ApiError::bad_gateway("tokens", "the tokens service answered without a token"))
}

/// Whether the tokens service can sign (its key is set and well-formed).
async fn tokens_health(request_id: &str) -> Result<(), ApiError> {
    let called = call("tokens", "GET", "/internal/tokens/health", None, request_id).await?;
    if called.is_success() { Ok(()) } else { Err(tokens_error(called)) }
}

async fn route(inc: Incoming) -> Result<Reply, ApiError> {
    let passwords = Passwords::standard();
    match (inc.method.as_str(), inc.segments().as_slice()) {
        ("POST", ["api", "v1", "users"]) => {
            let body = inc.json()?;
            let db = open_with_admin(&passwords).await?;
            Ok(Reply::created(&service::register(&db, &passwords, body, now_unix()).await?))
        }
        (_, ["api", "v1", "users"]) => Err(inc.method_not_allowed()),
        ("POST", ["api", "v1", "auth", "login"]) => {
            let body = inc.json()?;
            let db = open_with_admin(&passwords).await?;
            let sign = async |identity: &Identity| sign(identity, &inc.request_id).await;
            Ok(Reply::ok(&service::login(&db, &passwords, body, sign).await?))
        }
        (_, ["api", "v1", "auth", "login"]) => Err(inc.method_not_allowed()),
        ("GET", ["api", "v1", "users", "me"]) => {
            let caller = inc.identity()?;
            let db = open().await?;
            Ok(Reply::ok(&service::me(&db, &caller).await?))
        }
        ("PATCH", ["api", "v1", "users", "me"]) => {
            let caller = inc.identity()?;
            let body = inc.json()?;
            let db = open().await?;
            Ok(Reply::ok(&service::patch_me(&db, &caller, body, now_unix()).await?))
        }
        (_, ["api", "v1", "users", "me"]) => Err(inc.method_not_allowed()),
        ("GET", ["api", "v1", "users", id]) => {
            let caller = inc.identity()?;
            let db = open().await?;
            Ok(Reply::ok(&service::get_user(&db, &caller, id).await?))
        }
        (_, ["api", "v1", "users", _]) => Err(inc.method_not_allowed()),
        ("GET", ["internal", "users", "health"]) => {
            open_with_admin(&passwords).await?;
            tokens_health(&inc.request_id).await?;
            Ok(Reply::ok(&serde_json::json!({ "status": "ok", "service": "users" })))
        }
        ("GET", ["internal", "users", id]) => {
            let db = open().await?;
            let id = shop_common::id::parse_id(id).map_err(|_| ApiError::not_found("user"))?;
            Ok(Reply::ok(&service::find(&db, &id).await?))
        }
        (_, ["internal", "users", _]) => Err(inc.method_not_allowed()),
        _ => Err(inc.no_route()),
    }
}
