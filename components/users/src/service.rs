//! The users service's rules: register, log in, read and change one's
//! profile, look users up, and create the first admin from the app's
//! variables. Generic over the store so that it is unit-tested natively.

use serde::{Deserialize, Deserializer, Serialize};
use shop_common::jwt::TOKEN_TTL_SECONDS;
use shop_common::keys::{ADMIN_PASSWORD, KeyError};
use shop_common::{ApiError, Db, Identity, Role};

use crate::password::Passwords;
use crate::store::{self, NewUser, ProfileChange, User};
use crate::validate::{self, Address};

#[derive(Debug, Deserialize)]
pub struct Register {
    pub email: String,
    pub password: String,
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Login {
    pub email: String,
    pub password: String,
}

/// `PATCH /api/v1/users/me`: an absent field is left alone, `null` clears it.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Patch {
    #[serde(default, deserialize_with = "present")]
    pub name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub shipping_address: Option<Option<Address>>,
}

/// Tells a field sent as `null` (`Some(None)`) from one not sent (`None`).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Debug, Serialize)]
pub struct LoggedIn {
    pub token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub user: User,
}

/// One message for an unknown email and a wrong password, so that login
/// does not tell which emails have accounts.
fn bad_credentials() -> ApiError {
    ApiError::unauthorized("the email or password is wrong")
}

/// A new customer account.
pub async fn register(db: &impl Db, passwords: &Passwords, body: Register, now: i64) -> Result<User, ApiError> {
    let email = validate::email(&body.email)?;
    validate::password(&body.password)?;
    let name = validate::name(body.name.as_deref())?;
    // Checked before hashing to spare the work; the UNIQUE index still
    // decides when two registrations race.
    if store::email_exists(db, &email).await? {
        return Err(store::email_taken());
    }
    let hash = passwords.hash(&body.password)?;
    let id = shop_common::id::new_id();
    store::insert(db, &NewUser { id: &id, email: &email, password_hash: &hash, name: name.as_deref(), role: Role::Customer, now }).await
}

/// A bearer token for the account with this email and password, signed by
/// `sign` (the tokens service: users never holds the signing key), which is
/// only asked once the password has checked out.
pub async fn login(
    db: &impl Db,
    passwords: &Passwords,
    body: Login,
    sign: impl AsyncFnOnce(&Identity) -> Result<String, ApiError>,
) -> Result<LoggedIn, ApiError> {
    let found = match validate::email(&body.email) {
        Ok(email) => store::find_by_email(db, &email).await?,
        Err(_) => None,
    };
    let Some((user, hash)) = found else {
        // Hash anyway, so that an unknown email takes as long as a wrong password.
        let _ = passwords.hash(&body.password);
        return Err(bad_credentials());
    };
    if !passwords.verify(&body.password, &hash) {
        return Err(bad_credentials());
    }
    let identity = Identity { user_id: user.id.clone(), role: user.role };
    let token = sign(&identity).await?;
    Ok(LoggedIn { token, token_type: "Bearer", expires_in: TOKEN_TTL_SECONDS, user })
}

/// The caller's own account; 401 if it no longer exists (sign in again).
pub async fn me(db: &impl Db, caller: &Identity) -> Result<User, ApiError> {
    store::find_by_id(db, &caller.user_id).await?.ok_or_else(|| ApiError::unauthorized("the signed-in account no longer exists"))
}

pub async fn patch_me(db: &impl Db, caller: &Identity, body: Patch, now: i64) -> Result<User, ApiError> {
    let change = ProfileChange {
        name: body.name.map(|n| validate::name(n.as_deref())).transpose()?,
        shipping_address: body.shipping_address.map(|a| a.map(validate::address).transpose()).transpose()?,
    };
    if !store::update_profile(db, &caller.user_id, &change, now).await? {
        return Err(ApiError::unauthorized("the signed-in account no longer exists"));
    }
    me(db, caller).await
}

/// `GET /api/v1/users/{id}`: admins see anyone (404 if unknown); a customer
/// only themself (403 for any other id, known or not).
pub async fn get_user(db: &impl Db, caller: &Identity, id: &str) -> Result<User, ApiError> {
    let canonical = shop_common::id::parse_id(id).ok();
    if !caller.is_admin() && canonical.as_deref() != Some(caller.user_id.as_str()) {
        return Err(ApiError::forbidden("you may only see your own account"));
    }
    match canonical {
        Some(id) => find(db, &id).await,
        None => Err(ApiError::not_found("user")),
    }
}

/// The `admin_password` variable's value against users' password rule
/// (also what the `shop-keys` pre-flight checks).
pub fn check_admin_password(password: &str) -> Result<(), KeyError> {
    validate::password(password).map_err(|e| KeyError::new(ADMIN_PASSWORD, format!("is not a usable password: {}", e.message)))
}

/// A user by id (404 if none); the private route.
pub async fn find(db: &impl Db, id: &str) -> Result<User, ApiError> {
    store::find_by_id(db, id).await?.ok_or_else(|| ApiError::not_found("user"))
}

/// Creates the first admin from the `admin_email` / `admin_password`
/// variables if no account has that email yet (one SELECT otherwise). An
/// existing account with the email is left as it is, whatever its role.
/// An admin password that breaks the rule every password keeps is a
/// misconfiguration: 503 naming `admin_password` (for the routes that
/// create the admin: sign-up, login, health), rather than an admin anyone
/// could guess, or no admin and its email left for anyone to register.
pub async fn ensure_admin(db: &impl Db, passwords: &Passwords, email: Option<&str>, password: Option<&str>, now: i64) -> Result<(), ApiError> {
    let (Some(email), Some(password)) = (email, password) else {
        return Ok(());
    };
    check_admin_password(password)?;
    let email = match validate::email(email) {
        Ok(email) => email,
        Err(e) => {
            eprintln!("users: admin_email is not usable, no admin created: {}", e.message);
            return Ok(());
        }
    };
    if store::email_exists(db, &email).await? {
        return Ok(());
    }
    let hash = passwords.hash(password)?;
    let id = shop_common::id::new_id();
    match store::insert(db, &NewUser { id: &id, email: &email, password_hash: &hash, name: Some("Admin"), role: Role::Admin, now }).await {
        // Another request created it first.
        Err(e) if e.code == "email_taken" => Ok(()),
        other => other.map(|_| ()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;
    use shop_common::db::memory::MemoryDb;
    use shop_common::db::migrate;

    /// Stands in for the tokens service: a token naming who it is for.
    async fn sign(identity: &Identity) -> Result<String, ApiError> {
        Ok(format!("token:{}:{}", identity.user_id, identity.role.as_str()))
    }
    const NOW: i64 = 1_795_392_000;

    fn db() -> MemoryDb {
        let db = MemoryDb::new();
        block_on(migrate(&db, store::MIGRATIONS)).unwrap();
        db
    }

    fn reg(email: &str, password: &str) -> Register {
        Register { email: email.into(), password: password.into(), name: Some(" Ada ".into()) }
    }

    fn login_body(email: &str, password: &str) -> Login {
        Login { email: email.into(), password: password.into() }
    }

    fn caller(user: &User) -> Identity {
        Identity { user_id: user.id.clone(), role: user.role }
    }

    #[test]
    fn register_then_login() {
        let (db, p) = (db(), Passwords::cheap());
        block_on(async {
            let user = register(&db, &p, reg(" Ada@Example.com ", "0123456789"), NOW).await.unwrap();
            assert_eq!((user.email.as_str(), user.name.as_deref(), user.role), ("ada@example.com", Some("Ada"), Role::Customer));
            let json = serde_json::to_value(&user).unwrap();
            assert_eq!(json["created_at"], "2026-11-23T00:00:00Z");
            assert_eq!(json["role"], "customer");
            assert!(json["shipping_address"].is_null());
            assert!(json.get("password_hash").is_none());

            let logged = login(&db, &p, login_body("ADA@example.com", "0123456789"), sign).await.unwrap();
            assert_eq!((logged.token_type, logged.expires_in), ("Bearer", 3600));
            assert_eq!(logged.user, user);
            assert_eq!(logged.token, format!("token:{}:customer", user.id), "signed for the account that logged in");
        });
    }

    #[test]
    fn emails_are_unique_without_case() {
        let (db, p) = (db(), Passwords::cheap());
        block_on(async {
            register(&db, &p, reg("bob@example.com", "0123456789"), NOW).await.unwrap();
            let err = register(&db, &p, reg("BOB@Example.COM", "another-password"), NOW).await.unwrap_err();
            assert_eq!((err.status, err.code), (409, "email_taken"));
            // The index itself refuses it too (the race the SELECT cannot see).
            let err = store::insert(&db, &NewUser { id: "x", email: "Bob@example.com", password_hash: "h", name: None, role: Role::Customer, now: NOW })
                .await
                .unwrap_err();
            assert_eq!(err.code, "email_taken");
        });
    }

    #[test]
    fn register_validates_its_fields() {
        let (db, p) = (db(), Passwords::cheap());
        block_on(async {
            let err = register(&db, &p, reg("nope", "0123456789"), NOW).await.unwrap_err();
            assert_eq!(err.details["field"], "email");
            let err = register(&db, &p, reg("c@example.com", "short"), NOW).await.unwrap_err();
            assert_eq!(err.details["field"], "password");
            let body = Register { name: Some("n".repeat(201)), ..reg("c@example.com", "0123456789") };
            assert_eq!(register(&db, &p, body, NOW).await.unwrap_err().details["field"], "name");
        });
    }

    #[test]
    fn wrong_email_and_wrong_password_look_the_same() {
        let (db, p) = (db(), Passwords::cheap());
        block_on(async {
            register(&db, &p, reg("carol@example.com", "0123456789"), NOW).await.unwrap();
            let never = async |_: &Identity| -> Result<String, ApiError> { panic!("a token was asked for without the right password") };
            let wrong_password = login(&db, &p, login_body("carol@example.com", "0123456780"), never).await.unwrap_err();
            let unknown = login(&db, &p, login_body("dave@example.com", "0123456789"), never).await.unwrap_err();
            let malformed = login(&db, &p, login_body("dave", "0123456789"), never).await.unwrap_err();
            assert_eq!((wrong_password.status, wrong_password.code), (401, "unauthorized"));
            assert_eq!(wrong_password, unknown);
            assert_eq!(wrong_password, malformed);
        });
    }

    #[test]
    fn admin_is_seeded_once_and_never_over_a_customer() {
        let (db, p) = (db(), Passwords::cheap());
        block_on(async {
            ensure_admin(&db, &p, None, Some("admin-password"), NOW).await.unwrap();
            ensure_admin(&db, &p, Some("Root@Shop.test"), Some("admin-password"), NOW).await.unwrap();
            ensure_admin(&db, &p, Some("root@shop.test"), Some("other-password"), NOW).await.unwrap();
            let count = db.query("SELECT COUNT(*) FROM users", &[]).await.unwrap()[0].int(0).unwrap();
            assert_eq!(count, 1);
            let logged = login(&db, &p, login_body("root@shop.test", "admin-password"), sign).await.unwrap();
            assert_eq!(logged.user.role, Role::Admin);
            assert!(logged.token.ends_with(":admin"));
            assert!(login(&db, &p, login_body("root@shop.test", "other-password"), sign).await.is_err());

            // An email already registered by a customer stays a customer.
            register(&db, &p, reg("eve@example.com", "0123456789"), NOW).await.unwrap();
            ensure_admin(&db, &p, Some("eve@example.com"), Some("admin-password"), NOW).await.unwrap();
            let (eve, _) = store::find_by_email(&db, "eve@example.com").await.unwrap().unwrap();
            assert_eq!(eve.role, Role::Customer);
            // An unusable email is logged and skipped, not an error for the request.
            ensure_admin(&db, &p, Some("not-an-email"), Some("admin-password"), NOW).await.unwrap();
        });
    }

    #[test]
    fn a_short_admin_password_is_a_503_naming_the_variable_and_creates_no_one() {
        let (db, p) = (db(), Passwords::cheap());
        block_on(async {
            let err = ensure_admin(&db, &p, Some("root@shop.test"), Some("admin"), NOW).await.unwrap_err();
            assert_eq!((err.status, err.details["variable"].as_str()), (503, Some("admin_password")));
            assert!(err.message.starts_with("variable \"admin_password\"") && err.message.contains("at least 10"), "{}", err.message);
            assert!(!store::email_exists(&db, "root@shop.test").await.unwrap());
            assert!(check_admin_password("ten chars!").is_ok());
        });
    }

    #[test]
    fn a_signer_that_fails_fails_the_login_with_its_error() {
        let (db, p) = (db(), Passwords::cheap());
        block_on(async {
            register(&db, &p, reg("kim@example.com", "0123456789"), NOW).await.unwrap();
            let down = async |_: &Identity| -> Result<String, ApiError> { Err(ApiError::unavailable("variable \"jwt_signing_key\" is not set")) };
            let err = login(&db, &p, login_body("kim@example.com", "0123456789"), down).await.unwrap_err();
            assert_eq!(err.status, 503);
            assert!(err.message.contains("jwt_signing_key"));
        });
    }

    #[test]
    fn patch_changes_only_what_is_sent() {
        let (db, p) = (db(), Passwords::cheap());
        block_on(async {
            let user = register(&db, &p, reg("fay@example.com", "0123456789"), NOW).await.unwrap();
            let me_ = caller(&user);
            let body: Patch = serde_json::from_value(serde_json::json!({
                "shipping_address": {"name": "Fay", "line1": "1 Main St", "city": "Paris", "postal_code": "75001", "country": "fr"}
            }))
            .unwrap();
            let changed = patch_me(&db, &me_, body, NOW + 5).await.unwrap();
            assert_eq!(changed.name.as_deref(), Some("Ada"));
            assert_eq!(changed.shipping_address.as_ref().map(|a| a.country.as_str()), Some("FR"));

            let body: Patch = serde_json::from_value(serde_json::json!({"name": "Fay Wray"})).unwrap();
            let changed = patch_me(&db, &me_, body, NOW + 6).await.unwrap();
            assert_eq!(changed.name.as_deref(), Some("Fay Wray"));
            assert!(changed.shipping_address.is_some(), "the address is kept");

            let body: Patch = serde_json::from_value(serde_json::json!({"name": null, "shipping_address": null})).unwrap();
            let changed = patch_me(&db, &me_, body, NOW + 7).await.unwrap();
            assert_eq!((changed.name, changed.shipping_address), (None, None));

            let body: Patch = serde_json::from_value(serde_json::json!({
                "shipping_address": {"name": "Fay", "line1": "", "city": "Paris", "postal_code": "75001", "country": "FR"}
            }))
            .unwrap();
            assert_eq!(patch_me(&db, &me_, body, NOW).await.unwrap_err().details["field"], "shipping_address.line1");
            assert!(shop_common::json::parse::<Patch>(br#"{"email": "x@y.z"}"#).is_err());

            let ghost = Identity { user_id: shop_common::id::new_id(), role: Role::Customer };
            assert_eq!(patch_me(&db, &ghost, Patch::default(), NOW).await.unwrap_err().status, 401);
        });
    }

    #[test]
    fn who_may_see_whom() {
        let (db, p) = (db(), Passwords::cheap());
        block_on(async {
            let gus = register(&db, &p, reg("gus@example.com", "0123456789"), NOW).await.unwrap();
            let hal = register(&db, &p, reg("hal@example.com", "0123456789"), NOW).await.unwrap();
            assert_eq!(get_user(&db, &caller(&gus), &gus.id).await.unwrap(), gus);
            assert_eq!(get_user(&db, &caller(&gus), &gus.id.to_uppercase()).await.unwrap(), gus);
            assert_eq!(get_user(&db, &caller(&gus), &hal.id).await.unwrap_err().status, 403);
            assert_eq!(get_user(&db, &caller(&gus), &shop_common::id::new_id()).await.unwrap_err().status, 403);
            assert_eq!(get_user(&db, &caller(&gus), "junk").await.unwrap_err().status, 403);

            let admin = Identity { user_id: shop_common::id::new_id(), role: Role::Admin };
            assert_eq!(get_user(&db, &admin, &hal.id).await.unwrap(), hal);
            assert_eq!(get_user(&db, &admin, &shop_common::id::new_id()).await.unwrap_err().status, 404);
            assert_eq!(get_user(&db, &admin, "junk").await.unwrap_err().status, 404);
            assert_eq!(me(&db, &caller(&hal)).await.unwrap(), hal);
            assert_eq!(find(&db, &hal.id).await.unwrap(), hal);
        });
    }
}
