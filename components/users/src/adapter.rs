//! The Spin export: routes each request to `service`, with the `users`
//! database migrated, and the first admin created before a sign-up (so no
//! one can register its email first), a login or a health check. Other
//! routes need a caller who has logged in, or a user id, so they skip the
//! check and its reads.

use shop_common::spin::{Incoming, Reply, SpinDb, optional_variable, serve, variable};
use shop_common::timestamp::now_unix;
use shop_common::ApiError;
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

/// The token signing key; an empty one would sign tokens anyone can forge.
async fn jwt_secret() -> Result<String, ApiError> {
    let secret = variable("jwt_secret").await?;
    if secret.is_empty() {
        return Err(ApiError::unavailable("variable \"jwt_secret\" is empty"));
    }
    Ok(secret)
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
            let secret = jwt_secret().await?;
            let db = open_with_admin(&passwords).await?;
            Ok(Reply::ok(&service::login(&db, &passwords, &secret, body, now_unix()).await?))
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
