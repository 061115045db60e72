//! `Idempotency-Key`: the first request with a key takes the key's row
//! (an INSERT; the primary key makes a concurrent second one fail), runs,
//! and stores its answer there; a retry gets that answer again, or 409
//! `idempotency_conflict` while the first is still running (and, after
//! [`ABANDONED_AFTER_S`], a 409 that says the first one will never answer).

use serde_json::{Value as Json, json};
use shop_common::db::Db;
use shop_common::ApiError;

/// An answer as sent: status and JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: u16,
    pub body: Json,
}

impl From<ApiError> for Answer {
    fn from(e: ApiError) -> Answer {
        Answer { status: e.status, body: e.body() }
    }
}

#[derive(Debug, PartialEq)]
pub enum Begin {
    /// This request holds the key now: run it, then [`finish`] or [`forget`].
    First,
    /// The key's first request answered this.
    Replay(Answer),
}

/// After this long, a key's first request that has not answered never will:
/// its instance or the server stopped half-way (no request runs this long).
pub const ABANDONED_AFTER_S: i64 = 300;

/// Takes `key` for `user_id`, or says what the first request with it did.
pub async fn begin<D: Db>(db: &D, user_id: &str, key: &str, now: i64) -> Result<Begin, ApiError> {
    let in_progress = || {
        ApiError::conflict("idempotency_conflict", "a request with this Idempotency-Key is still in progress; retry shortly")
            .with_details(json!({ "idempotency_key": key }))
    };
    // The key cannot be run again: the first attempt may have charged the
    // card before it stopped. The client is told to look before it orders.
    let abandoned = || {
        ApiError::conflict(
            "idempotency_conflict",
            "the first request with this Idempotency-Key stopped before it answered; see GET /api/v1/orders for what it did, and use a new key to order again",
        )
        .with_details(json!({ "idempotency_key": key, "abandoned": true }))
    };
    // Twice at most: the row can be forgotten between the INSERT and the
    // SELECT (the first request failed without effect); then this one runs.
    for _ in 0..2 {
        match db.exec("INSERT INTO idempotency_keys (user_id, key, created_at) VALUES (?, ?, ?)", &[user_id.into(), key.into(), now.into()]).await {
            Ok(_) => return Ok(Begin::First),
            Err(e) if e.is_unique_violation() => {}
            Err(e) => return Err(e.into()),
        }
        let row = db
            .query_one("SELECT status, body, created_at FROM idempotency_keys WHERE user_id = ? AND key = ?", &[user_id.into(), key.into()])
            .await?;
        let Some(row) = row else { continue };
        return match (row.opt_int(0)?, row.opt_text(1)?) {
            (Some(status), Some(body)) => Ok(Begin::Replay(Answer {
                status: u16::try_from(status).map_err(|e| ApiError::internal(format!("stored status: {e}")))?,
                body: serde_json::from_str(&body).map_err(|e| ApiError::internal(format!("stored body: {e}")))?,
            })),
            _ if now.saturating_sub(row.int(2)?) >= ABANDONED_AFTER_S => Err(abandoned()),
            _ => Err(in_progress()),
        };
    }
    Err(in_progress())
}

/// Stores the answer for later retries with the key.
pub async fn finish<D: Db>(db: &D, user_id: &str, key: &str, order_id: Option<&str>, answer: &Answer, now: i64) -> Result<(), ApiError> {
    let body = serde_json::to_string(&answer.body).map_err(|e| ApiError::internal(e.to_string()))?;
    db.exec(
        "UPDATE idempotency_keys SET order_id = ?, status = ?, body = ?, completed_at = ? WHERE user_id = ? AND key = ?",
        &[order_id.into(), i64::from(answer.status).into(), body.into(), now.into(), user_id.into(), key.into()],
    )
    .await?;
    Ok(())
}

/// Frees the key after a request that changed nothing and failed for a
/// reason of the server's (5xx), so a retry runs again.
pub async fn forget<D: Db>(db: &D, user_id: &str, key: &str) -> Result<(), ApiError> {
    db.exec("DELETE FROM idempotency_keys WHERE user_id = ? AND key = ? AND status IS NULL", &[user_id.into(), key.into()]).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;
    use shop_common::db::memory::MemoryDb;
    use shop_common::db::migrate;

    fn db() -> MemoryDb {
        let db = MemoryDb::new();
        block_on(migrate(&db, crate::store::MIGRATIONS)).unwrap();
        db
    }

    #[test]
    fn a_retry_gets_the_first_answer() {
        let db = db();
        block_on(async {
            assert_eq!(begin(&db, "u1", "k", 1).await.unwrap(), Begin::First);
            let answer = Answer { status: 402, body: json!({ "error": { "code": "payment_declined" } }) };
            finish(&db, "u1", "k", Some("o1"), &answer, 2).await.unwrap();
            assert_eq!(begin(&db, "u1", "k", 3).await.unwrap(), Begin::Replay(answer));
        });
    }

    #[test]
    fn a_retry_while_the_first_runs_is_a_conflict() {
        let db = db();
        block_on(async {
            assert_eq!(begin(&db, "u1", "k", 1).await.unwrap(), Begin::First);
            let e = begin(&db, "u1", "k", 2).await.unwrap_err();
            assert_eq!((e.status, e.code), (409, "idempotency_conflict"));
        });
    }

    #[test]
    fn a_key_whose_first_request_never_answered_says_so_after_five_minutes() {
        let db = db();
        block_on(async {
            assert_eq!(begin(&db, "u1", "k", 1000).await.unwrap(), Begin::First);
            let e = begin(&db, "u1", "k", 1000 + ABANDONED_AFTER_S - 1).await.unwrap_err();
            assert_eq!((e.status, e.details.get("abandoned")), (409, None), "still running, as far as anyone knows");
            let e = begin(&db, "u1", "k", 1000 + ABANDONED_AFTER_S).await.unwrap_err();
            assert_eq!((e.status, e.code, &e.details["abandoned"]), (409, "idempotency_conflict", &json!(true)));
            assert!(e.message.contains("GET /api/v1/orders") && e.message.contains("new key"), "{}", e.message);
        });
    }

    #[test]
    fn keys_are_per_user_and_forgotten_keys_run_again() {
        let db = db();
        block_on(async {
            assert_eq!(begin(&db, "u1", "k", 1).await.unwrap(), Begin::First);
            assert_eq!(begin(&db, "u2", "k", 1).await.unwrap(), Begin::First, "another user's key is another key");
            forget(&db, "u1", "k").await.unwrap();
            assert_eq!(begin(&db, "u1", "k", 2).await.unwrap(), Begin::First);
            // A finished key is never forgotten.
            finish(&db, "u1", "k", None, &Answer { status: 201, body: json!({}) }, 3).await.unwrap();
            forget(&db, "u1", "k").await.unwrap();
            assert!(matches!(begin(&db, "u1", "k", 4).await.unwrap(), Begin::Replay(_)));
        });
    }
}
