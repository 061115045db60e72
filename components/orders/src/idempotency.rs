//! `Idempotency-Key`: the first request with a key takes the key's row
//! (an INSERT; the primary key makes a concurrent second one fail), runs,
//! and stores its answer there; a retry gets that answer again, or 409
//! `idempotency_conflict` while the first is still running (and, after
//! [`ABANDONED_AFTER_S`], a 409 that says the first one will never answer).
//! What a retry is told of a first request that never answered, from the
//! order it recorded (or not), is the saga's to decide (`saga::unanswered`).
//!
//! The row also holds a hash of the request ([`request_hash`]): the key with
//! another request is 422 `idempotency_key_reused`, never the first answer,
//! which belongs to a different order. A key lasts [`KEY_TTL_S`]: taking a
//! key replaces its row if that is older, and [`sweep`] (run by orders'
//! maintenance, `POST /internal/orders/outbox/relay`) deletes everyone's
//! older rows, so the table holds about one day of keys.

use serde_json::{Value as Json, json};
use sha2::{Digest, Sha256};
use shop_common::ApiError;
use shop_common::db::Db;

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

/// How long a key is remembered: after a day it is forgotten, and may be
/// used again for a new request.
pub const KEY_TTL_S: i64 = 24 * 3600;

/// The hex SHA-256 of the request's JSON body in a canonical form (object
/// keys sorted, no whitespace), so that a retry that re-encodes the same
/// JSON is still the same request. `body` must be JSON (parsed before).
pub fn request_hash(body: &[u8]) -> Result<String, ApiError> {
    let value: Json = shop_common::json::parse(body)?;
    // serde_json's map is ordered by key (its `preserve_order` feature is
    // off), so this text is the same for equal values.
    let canonical = serde_json::to_vec(&value).map_err(|e| ApiError::internal(format!("re-encoding the body: {e}")))?;
    Ok(hex::encode(Sha256::digest(&canonical)))
}

/// Takes `key` for `user_id` and the request whose [`request_hash`] is
/// `hash`, or says what the first request with it did.
pub async fn begin<D: Db>(db: &D, user_id: &str, key: &str, hash: &str, now: i64) -> Result<Begin, ApiError> {
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
    let reused = || {
        ApiError::unprocessable("idempotency_key_reused", "this Idempotency-Key was used for a different request (another body); use a new key for a new order")
            .with_details(json!({ "idempotency_key": key }))
    };
    // One statement takes the key: a new row, or the key's row replaced if
    // it is past its day (then the key runs anew); a live row is left as it
    // is, and read below. Twice at most: the row can be forgotten between
    // the two (the first request failed without effect); then this one runs.
    let take = "INSERT INTO idempotency_keys (user_id, key, request_hash, created_at) VALUES (?1, ?2, ?3, ?4)
        ON CONFLICT (user_id, key) DO UPDATE SET request_hash = ?3, created_at = ?4, order_id = NULL, status = NULL, body = NULL, completed_at = NULL
        WHERE idempotency_keys.created_at <= ?5";
    let expired_at_or_before = now.saturating_sub(KEY_TTL_S);
    for _ in 0..2 {
        if db.exec(take, &[user_id.into(), key.into(), hash.into(), now.into(), expired_at_or_before.into()]).await? == 1 {
            return Ok(Begin::First);
        }
        let row = db
            .query_one("SELECT status, body, created_at, request_hash FROM idempotency_keys WHERE user_id = ? AND key = ?", &[user_id.into(), key.into()])
            .await?;
        let Some(row) = row else { continue };
        // A row from before hashes were kept (NULL) is taken as the same request.
        if row.opt_text(3)?.is_some_and(|first| first != hash) {
            return Err(reused());
        }
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

/// Deletes every key past its day (their rows are only replaced when the
/// same key is taken again); returns how many.
pub async fn sweep<D: Db>(db: &D, now: i64) -> Result<u64, ApiError> {
    Ok(db.exec("DELETE FROM idempotency_keys WHERE created_at <= ?", &[now.saturating_sub(KEY_TTL_S).into()]).await?)
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

    /// A request's hash, as the tests' requests have.
    const H: &str = "hash-of-the-first-body";

    fn db() -> MemoryDb {
        let db = MemoryDb::new();
        block_on(migrate(&db, crate::store::MIGRATIONS)).unwrap();
        db
    }

    #[test]
    fn a_retry_gets_the_first_answer() {
        let db = db();
        block_on(async {
            assert_eq!(begin(&db, "u1", "k", H, 1).await.unwrap(), Begin::First);
            let answer = Answer { status: 402, body: json!({ "error": { "code": "payment_declined" } }) };
            finish(&db, "u1", "k", Some("o1"), &answer, 2).await.unwrap();
            assert_eq!(begin(&db, "u1", "k", H, 3).await.unwrap(), Begin::Replay(answer));
        });
    }

    #[test]
    fn a_retry_while_the_first_runs_is_a_conflict() {
        let db = db();
        block_on(async {
            assert_eq!(begin(&db, "u1", "k", H, 1).await.unwrap(), Begin::First);
            let e = begin(&db, "u1", "k", H, 2).await.unwrap_err();
            assert_eq!((e.status, e.code), (409, "idempotency_conflict"));
        });
    }

    #[test]
    fn a_key_whose_first_request_never_answered_says_so_after_five_minutes() {
        let db = db();
        block_on(async {
            assert_eq!(begin(&db, "u1", "k", H, 1000).await.unwrap(), Begin::First);
            let e = begin(&db, "u1", "k", H, 1000 + ABANDONED_AFTER_S - 1).await.unwrap_err();
            assert_eq!((e.status, e.details.get("abandoned")), (409, None), "still running, as far as anyone knows");
            let e = begin(&db, "u1", "k", H, 1000 + ABANDONED_AFTER_S).await.unwrap_err();
            assert_eq!((e.status, e.code, &e.details["abandoned"]), (409, "idempotency_conflict", &json!(true)));
            assert!(e.message.contains("GET /api/v1/orders") && e.message.contains("new key"), "{}", e.message);
        });
    }

    #[test]
    fn keys_are_per_user_and_forgotten_keys_run_again() {
        let db = db();
        block_on(async {
            assert_eq!(begin(&db, "u1", "k", H, 1).await.unwrap(), Begin::First);
            assert_eq!(begin(&db, "u2", "k", H, 1).await.unwrap(), Begin::First, "another user's key is another key");
            forget(&db, "u1", "k").await.unwrap();
            assert_eq!(begin(&db, "u1", "k", H, 2).await.unwrap(), Begin::First);
            // A finished key is never forgotten.
            finish(&db, "u1", "k", None, &Answer { status: 201, body: json!({}) }, 3).await.unwrap();
            forget(&db, "u1", "k").await.unwrap();
            assert!(matches!(begin(&db, "u1", "k", H, 4).await.unwrap(), Begin::Replay(_)));
        });
    }

    #[test]
    fn the_key_with_another_request_is_refused_and_the_first_answer_kept() {
        let db = db();
        block_on(async {
            assert_eq!(begin(&db, "u1", "k", H, 1).await.unwrap(), Begin::First);
            let e = begin(&db, "u1", "k", "another", 2).await.unwrap_err();
            assert_eq!((e.status, e.code, &e.details["idempotency_key"]), (422, "idempotency_key_reused", &json!("k")), "also while the first runs");
            let answer = Answer { status: 201, body: json!({ "id": "o1" }) };
            finish(&db, "u1", "k", Some("o1"), &answer, 3).await.unwrap();
            let e = begin(&db, "u1", "k", "another", 4).await.unwrap_err();
            assert_eq!((e.status, e.code), (422, "idempotency_key_reused"), "never the first answer");
            assert_eq!(begin(&db, "u1", "k", H, 5).await.unwrap(), Begin::Replay(answer), "the first request still gets its answer");
        });
    }

    #[test]
    fn keys_expire_after_a_day_and_their_rows_are_deleted() {
        let db = db();
        let rows = |db: &MemoryDb| block_on(db.query_one("SELECT count(*) FROM idempotency_keys", &[])).unwrap().unwrap().int(0).unwrap();
        block_on(async {
            let t0 = 1_800_000_000;
            assert_eq!(begin(&db, "u1", "k", H, t0).await.unwrap(), Begin::First);
            finish(&db, "u1", "k", Some("o1"), &Answer { status: 201, body: json!({}) }, t0).await.unwrap();
            assert_eq!(begin(&db, "u2", "old", H, t0 + 10).await.unwrap(), Begin::First);
            // Within the day: still the first answer, and still refused for another request.
            assert!(matches!(begin(&db, "u1", "k", H, t0 + KEY_TTL_S - 1).await.unwrap(), Begin::Replay(_)));
            assert_eq!(begin(&db, "u1", "k", "another", t0 + KEY_TTL_S - 1).await.unwrap_err().code, "idempotency_key_reused");
            // A day on, the key is forgotten: a new request may use it.
            assert_eq!(begin(&db, "u1", "k", "another", t0 + KEY_TTL_S).await.unwrap(), Begin::First);
        });
        assert_eq!(rows(&db), 2, "u1's row, replaced, and u2's");
        assert_eq!(block_on(sweep(&db, 1_800_000_000 + 10 + KEY_TTL_S - 1)).unwrap(), 0, "u2's key is a day old only at t0 + 10 + KEY_TTL_S");
        assert_eq!(block_on(sweep(&db, 1_800_000_000 + 10 + KEY_TTL_S)).unwrap(), 1);
        assert_eq!(rows(&db), 1, "only u1's new row is left");
        assert_eq!(block_on(sweep(&db, 1_800_000_000 + 10 * KEY_TTL_S)).unwrap(), 1);
        assert_eq!(rows(&db), 0);
    }

    #[test]
    fn the_request_hash_is_of_the_json_value_not_its_spelling() {
        let a = request_hash(br#"{"card": {"number": "4242", "cvc": "1"}, "items": [1, 2]}"#).unwrap();
        assert_eq!(a.len(), 64);
        assert_eq!(a, request_hash(b"{\"items\":[1,2],\n \"card\":{\"cvc\":\"1\",\"number\":\"4242\"}}").unwrap());
        assert_ne!(a, request_hash(br#"{"card": {"number": "4242", "cvc": "1"}, "items": [2, 1]}"#).unwrap());
        assert_ne!(a, request_hash(br#"{"card": {"number": "4242", "cvc": "2"}, "items": [1, 2]}"#).unwrap());
    }

    #[test]
    fn a_database_from_before_request_hashes_upgrades_and_keeps_its_keys() {
        let db = MemoryDb::new();
        // The schema as it was: the idempotency table without request_hash.
        block_on(migrate(&db, &crate::store::MIGRATIONS[..4])).unwrap();
        block_on(db.exec("INSERT INTO idempotency_keys (user_id, key, status, body, created_at) VALUES ('u1', 'k', 201, '{}', 1)", &[])).unwrap();
        block_on(migrate(&db, crate::store::MIGRATIONS)).unwrap();
        block_on(async {
            assert!(matches!(begin(&db, "u1", "k", H, 2).await.unwrap(), Begin::Replay(_)), "a key stored without a hash still answers");
            assert_eq!(begin(&db, "u1", "new", H, 2).await.unwrap(), Begin::First);
            assert_eq!(begin(&db, "u1", "new", "another", 3).await.unwrap_err().code, "idempotency_key_reused");
        });
    }
}
