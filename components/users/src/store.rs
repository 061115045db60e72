//! The `users` table: one row per account, the email stored lower-cased
//! (and compared without case) so that it is unique case-insensitively.

use serde::{Serialize, Serializer};
use shop_common::db::DbError;
use shop_common::{ApiError, Db, Role, Row, Value};

use crate::validate::Address;

pub const MIGRATIONS: &[&str] = &["CREATE TABLE users (
        id TEXT PRIMARY KEY,
        email TEXT NOT NULL UNIQUE COLLATE NOCASE,
        password_hash TEXT NOT NULL,
        name TEXT,
        role TEXT NOT NULL,
        shipping_address TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    )"];

/// A user as the API shows it (docs/shop.md "User"); never the password hash.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct User {
    pub id: String,
    pub email: String,
    pub name: Option<String>,
    #[serde(serialize_with = "role_name")]
    pub role: Role,
    pub shipping_address: Option<Address>,
    #[serde(serialize_with = "rfc3339")]
    pub created_at: i64,
}

fn role_name<S: Serializer>(role: &Role, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(role.as_str())
}

fn rfc3339<S: Serializer>(unix: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&shop_common::timestamp::to_rfc3339(*unix))
}

/// A new account, its password already hashed.
pub struct NewUser<'a> {
    pub id: &'a str,
    pub email: &'a str,
    pub password_hash: &'a str,
    pub name: Option<&'a str>,
    pub role: Role,
    pub now: i64,
}

const COLUMNS: &str = "id, email, name, role, shipping_address, created_at, password_hash";

/// The row and its password hash.
fn from_row(row: &Row) -> Result<(User, String), ApiError> {
    let role_text = row.text(3)?;
    let role = Role::parse(&role_text).ok_or_else(|| ApiError::internal(format!("stored role {role_text:?} is not known")))?;
    let shipping_address = match row.opt_text(4)? {
        Some(json) => Some(serde_json::from_str(&json).map_err(|e| ApiError::internal(format!("stored address is not valid: {e}")))?),
        None => None,
    };
    let user = User { id: row.text(0)?, email: row.text(1)?, name: row.opt_text(2)?, role, shipping_address, created_at: row.int(5)? };
    Ok((user, row.text(6)?))
}

/// Inserts the account; 409 `email_taken` when the email is in use.
pub async fn insert(db: &impl Db, new: &NewUser<'_>) -> Result<User, ApiError> {
    let params: [Value; 8] =
        [new.id.into(), new.email.into(), new.password_hash.into(), new.name.into(), new.role.as_str().into(), Value::Null, new.now.into(), new.now.into()];
    let sql = "INSERT INTO users (id, email, password_hash, name, role, shipping_address, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
    match db.exec(sql, &params).await {
        Ok(_) => {}
        Err(e) if e.is_unique_violation() => return Err(email_taken()),
        Err(e) => return Err(e.into()),
    }
    Ok(User {
        id: new.id.to_owned(),
        email: new.email.to_owned(),
        name: new.name.map(str::to_owned),
        role: new.role,
        shipping_address: None,
        created_at: new.now,
    })
}

pub fn email_taken() -> ApiError {
    ApiError::conflict("email_taken", "an account with this email already exists")
}

pub async fn email_exists(db: &impl Db, email: &str) -> Result<bool, DbError> {
    Ok(db.query_one("SELECT 1 FROM users WHERE email = ?", &[email.into()]).await?.is_some())
}

/// The user with this (normalised) email, and their password hash.
pub async fn find_by_email(db: &impl Db, email: &str) -> Result<Option<(User, String)>, ApiError> {
    let row = db.query_one(&format!("SELECT {COLUMNS} FROM users WHERE email = ?"), &[email.into()]).await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn find_by_id(db: &impl Db, id: &str) -> Result<Option<User>, ApiError> {
    let row = db.query_one(&format!("SELECT {COLUMNS} FROM users WHERE id = ?"), &[id.into()]).await?;
    Ok(row.as_ref().map(from_row).transpose()?.map(|(user, _)| user))
}

/// A change to a profile: `None` leaves a field as it is, `Some(None)` clears it.
#[derive(Debug, Default)]
pub struct ProfileChange {
    pub name: Option<Option<String>>,
    pub shipping_address: Option<Option<Address>>,
}

/// Applies the change in one statement (so that two concurrent changes of
/// different fields both stick); `false` when there is no such user.
pub async fn update_profile(db: &impl Db, id: &str, change: &ProfileChange, now: i64) -> Result<bool, ApiError> {
    let mut sets = vec!["updated_at = ?"];
    let mut params: Vec<Value> = vec![now.into()];
    if let Some(name) = &change.name {
        sets.push("name = ?");
        params.push(name.as_deref().into());
    }
    if let Some(address) = &change.shipping_address {
        let json = address.as_ref().map(serde_json::to_string).transpose().map_err(|e| ApiError::internal(e.to_string()))?;
        sets.push("shipping_address = ?");
        params.push(json.into());
    }
    params.push(id.into());
    Ok(db.exec(&format!("UPDATE users SET {} WHERE id = ?", sets.join(", ")), &params).await? > 0)
}
