//! Payments in SQLite: charges (one per order), refunds, reads, and the
//! orders closed to charges (settled without one, so a late charge cannot
//! land). Only the card's brand and last four digits are stored.

use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};
use shop_common::db::{Db, transaction};
use shop_common::money::{Currency, Money};
use shop_common::page::{Page, PageRequest};
use shop_common::{ApiError, Row, Value, timestamp};

use crate::card::{self, CardInput};

pub const MIGRATIONS: &[&str] = &[
    "CREATE TABLE payments (
    id TEXT PRIMARY KEY, order_id TEXT NOT NULL UNIQUE, user_id TEXT NOT NULL,
    amount INTEGER NOT NULL, currency TEXT NOT NULL, status TEXT NOT NULL,
    brand TEXT NOT NULL, last4 TEXT NOT NULL, created_at INTEGER NOT NULL, refunded_at INTEGER);
    CREATE INDEX payments_user ON payments (user_id, created_at)",
    // Orders closed to new charges (by orders' recovery, or a refund of an
    // order that had no payment): a charge that arrives later is refused.
    "CREATE TABLE closed_orders (order_id TEXT PRIMARY KEY, closed_at INTEGER NOT NULL)",
];

/// A payment as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Payment {
    pub id: String,
    pub order_id: String,
    pub user_id: String,
    pub amount: Money,
    /// approved | declined | refunded
    pub status: String,
    pub brand: String,
    pub last4: String,
    pub created_at: String,
    pub refunded_at: Option<String>,
}

const COLUMNS: &str = "id, order_id, user_id, amount, currency, status, brand, last4, created_at, refunded_at";

fn from_row(row: &Row) -> Result<Payment, ApiError> {
    let currency = Currency::parse(&row.text(4)?).map_err(ApiError::internal)?;
    Ok(Payment {
        id: row.text(0)?,
        order_id: row.text(1)?,
        user_id: row.text(2)?,
        amount: Money::new(row.int(3)?, currency),
        status: row.text(5)?,
        brand: row.text(6)?,
        last4: row.text(7)?,
        created_at: timestamp::to_rfc3339(row.int(8)?),
        refunded_at: row.opt_int(9)?.map(timestamp::to_rfc3339),
    })
}

/// `POST /internal/payments/charges`.
#[derive(Debug, Deserialize)]
pub struct ChargeRequest {
    pub order_id: String,
    pub user_id: String,
    pub amount: Money,
    pub card: CardInput,
}

pub async fn by_order<D: Db>(db: &D, order_id: &str) -> Result<Option<Payment>, ApiError> {
    let row = db.query_one(&format!("SELECT {COLUMNS} FROM payments WHERE order_id = ?"), &[order_id.into()]).await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn by_id<D: Db>(db: &D, id: &str) -> Result<Option<Payment>, ApiError> {
    let row = db.query_one(&format!("SELECT {COLUMNS} FROM payments WHERE id = ?"), &[id.into()]).await?;
    row.as_ref().map(from_row).transpose()
}

async fn close<D: Db>(db: &D, order_id: &str, now: i64) -> Result<(), ApiError> {
    db.exec("INSERT OR IGNORE INTO closed_orders (order_id, closed_at) VALUES (?, ?)", &[order_id.into(), now.into()]).await?;
    Ok(())
}

/// Charges the card once per order: `(payment, true)` when this call made
/// it, `(the first payment, false)` when the order was charged before; 409
/// `invalid_state` when the order was closed to charges ([`close_charge`])
/// before it was charged. The insert checks both itself, in one statement,
/// so a charge and a close of the same order never both win.
pub async fn charge<D: Db>(db: &D, request: &ChargeRequest, now: i64) -> Result<(Payment, bool), ApiError> {
    for (field, value) in [("order_id", &request.order_id), ("user_id", &request.user_id)] {
        if value.trim().is_empty() {
            return Err(ApiError::invalid_field(field, format!("`{field}` must not be empty")));
        }
    }
    if let Some(first) = by_order(db, &request.order_id).await? {
        return Ok((first, false));
    }
    if request.amount.amount <= 0 {
        return Err(ApiError::invalid_field("amount", "`amount.amount` must be more than 0"));
    }
    let checked = card::check(&request.card, now)?;
    let payment = Payment {
        id: shop_common::id::new_id(),
        order_id: request.order_id.clone(),
        user_id: request.user_id.clone(),
        amount: request.amount,
        status: (if checked.approved { "approved" } else { "declined" }).to_owned(),
        brand: checked.brand.to_owned(),
        last4: checked.last4,
        created_at: timestamp::to_rfc3339(now),
        refunded_at: None,
    };
    let params: Vec<Value> = vec![
        payment.id.as_str().into(),
        payment.order_id.as_str().into(),
        payment.user_id.as_str().into(),
        payment.amount.amount.into(),
        payment.amount.currency.code().into(),
        payment.status.as_str().into(),
        payment.brand.as_str().into(),
        payment.last4.as_str().into(),
        now.into(),
    ];
    // Nothing lands if a concurrent charge for the order won meanwhile (the
    // order's UNIQUE) or the order was closed to charges.
    let insert = "INSERT INTO payments (id, order_id, user_id, amount, currency, status, brand, last4, created_at)
        SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9 WHERE NOT EXISTS (SELECT 1 FROM closed_orders WHERE order_id = ?2)
        ON CONFLICT (order_id) DO NOTHING";
    if db.exec(insert, &params).await? == 1 {
        return Ok((payment, true));
    }
    match by_order(db, &request.order_id).await? {
        Some(first) => Ok((first, false)),
        None => Err(ApiError::conflict("invalid_state", format!("order {} was settled without a charge and can no longer be charged", request.order_id))
            .with_details(json!({ "order_id": request.order_id }))),
    }
}

/// Refunds the order's approved payment; a refunded one is answered as it
/// is; a declined one is 409 `invalid_state`. An order with no payment is
/// 404, and is closed to charges from then on: a refund undoes a charge
/// whose answer was lost, even one that has not arrived yet.
pub async fn refund<D: Db>(db: &D, order_id: &str, now: i64) -> Result<Payment, ApiError> {
    let payment = transaction(db, async |db| {
        db.exec("UPDATE payments SET status = 'refunded', refunded_at = ? WHERE order_id = ? AND status = 'approved'", &[now.into(), order_id.into()]).await?;
        let payment = by_order(db, order_id).await?;
        if payment.is_none() {
            close(db, order_id, now).await?;
        }
        Ok(payment)
    })
    .await?;
    let payment = payment.ok_or_else(|| ApiError::not_found("payment for this order"))?;
    match payment.status.as_str() {
        "refunded" => Ok(payment),
        other => Err(ApiError::conflict("invalid_state", format!("a {other} payment cannot be refunded"))
            .with_details(json!({ "payment_id": payment.id, "status": other }))),
    }
}

/// Closes the order to new charges and answers its payment, if it has one
/// (`POST /internal/payments/charges/{order_id}/close`): orders' recovery
/// settles a half-placed order by this answer, and no charge can arrive
/// after it. Idempotent.
pub async fn close_charge<D: Db>(db: &D, order_id: &str, now: i64) -> Result<Option<Payment>, ApiError> {
    if order_id.trim().is_empty() {
        return Err(ApiError::invalid_field("order_id", "`order_id` must not be empty"));
    }
    transaction(db, async |db| {
        close(db, order_id, now).await?;
        by_order(db, order_id).await
    })
    .await
}

/// The caller's payments, newest first, optionally for one order.
pub async fn list_for_user<D: Db>(db: &D, user_id: &str, order_id: Option<&str>, page: PageRequest) -> Result<Page<Payment>, ApiError> {
    let (limit, offset) = page.limit_offset();
    let filter = "user_id = ? AND (? IS NULL OR order_id = ?)";
    let by: [Value; 3] = [user_id.into(), order_id.into(), order_id.into()];
    let total = db.query_one(&format!("SELECT count(*) FROM payments WHERE {filter}"), &by).await?.map(|r| r.int(0)).transpose()?.unwrap_or(0);
    let mut params = by.to_vec();
    params.extend([limit.into(), (offset as i64).into()]);
    let rows = db.query(&format!("SELECT {COLUMNS} FROM payments WHERE {filter} ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?"), &params).await?;
    let items = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    Ok(Page::new(items, page, total.max(0) as u64))
}

/// `{"approved_by_order": {<order_id>: n}}`: how many approved, not
/// refunded payments each order has (at most one, by the UNIQUE order_id).
pub async fn summary<D: Db>(db: &D) -> Result<Json, ApiError> {
    let rows = db.query("SELECT order_id, count(*) FROM payments WHERE status = 'approved' GROUP BY order_id", &[]).await?;
    let mut by_order = serde_json::Map::new();
    for row in rows {
        by_order.insert(row.text(0)?, row.int(1)?.into());
    }
    Ok(json!({ "approved_by_order": by_order }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;
    use shop_common::db::memory::MemoryDb;
    use shop_common::db::migrate;

    const NOW: i64 = 1_795_392_000; // 2026-11-23

    fn db() -> MemoryDb {
        let db = MemoryDb::new();
        block_on(migrate(&db, MIGRATIONS)).unwrap();
        db
    }

    fn request(order_id: &str, number: &str) -> ChargeRequest {
        ChargeRequest {
            order_id: order_id.into(),
            user_id: "u1".into(),
            amount: Money::new(2599, Currency::parse("EUR").unwrap()),
            card: CardInput { number: number.into(), exp_month: 12, exp_year: 2030, cvc: "123".into() },
        }
    }

    #[test]
    fn approves_and_declines() {
        let db = db();
        block_on(async {
            let (ok, created) = charge(&db, &request("o1", "4242 4242 4242 4242"), NOW).await.unwrap();
            assert!(created);
            assert_eq!((ok.status.as_str(), ok.brand.as_str(), ok.last4.as_str(), ok.amount.amount), ("approved", "visa", "4242", 2599));
            let (no, _) = charge(&db, &request("o2", "4000 0000 0000 0002"), NOW).await.unwrap();
            assert_eq!(no.status, "declined");
            // The answer is the payment as stored.
            assert_eq!(by_id(&db, &ok.id).await.unwrap(), Some(ok));
            assert_eq!(by_order(&db, "o2").await.unwrap(), Some(no));
        });
    }

    /// A database on which the statement `meanwhile` runs just before the
    /// charge's insert, as a concurrent request's would between the
    /// charge's check and its insert.
    struct Meanwhile<'a> {
        db: &'a MemoryDb,
        meanwhile: std::cell::Cell<Option<&'static str>>,
    }

    impl Db for Meanwhile<'_> {
        async fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, shop_common::db::DbError> {
            self.db.query(sql, params).await
        }

        async fn exec(&self, sql: &str, params: &[Value]) -> Result<u64, shop_common::db::DbError> {
            if sql.starts_with("INSERT INTO payments")
                && let Some(meanwhile) = self.meanwhile.take()
            {
                self.db.exec(meanwhile, &[]).await?;
            }
            self.db.exec(sql, params).await
        }
    }

    #[test]
    fn a_charge_or_a_close_that_lands_after_the_check_wins_over_the_insert() {
        let db = db();
        block_on(async {
            let charged = "INSERT INTO payments (id, order_id, user_id, amount, currency, status, brand, last4, created_at)
                VALUES ('p0', 'o1', 'u1', 2599, 'EUR', 'approved', 'visa', '4242', 1795392000)";
            let charged_meanwhile = Meanwhile { db: &db, meanwhile: Some(charged).into() };
            let (first, created) = charge(&charged_meanwhile, &request("o1", "5555555555554444"), NOW + 1).await.unwrap();
            assert_eq!((created, first.id.as_str(), first.brand.as_str()), (false, "p0", "visa"), "the concurrent charge is the order's payment");
            let closed_meanwhile = Meanwhile { db: &db, meanwhile: Some("INSERT INTO closed_orders (order_id, closed_at) VALUES ('o2', 1795392000)").into() };
            let e = charge(&closed_meanwhile, &request("o2", "4242424242424242"), NOW + 1).await.unwrap_err();
            assert_eq!((e.status, e.code), (409, "invalid_state"));
            assert_eq!(db.query("SELECT order_id FROM payments", &[]).await.unwrap().len(), 1, "o1's payment only");
        });
    }

    #[test]
    fn a_second_charge_for_an_order_returns_the_first() {
        let db = db();
        block_on(async {
            let (first, _) = charge(&db, &request("o1", "4242424242424242"), NOW).await.unwrap();
            let (again, created) = charge(&db, &request("o1", "5555555555554444"), NOW + 5).await.unwrap();
            assert!(!created);
            assert_eq!(again, first);
            assert_eq!(db.query("SELECT * FROM payments", &[]).await.unwrap().len(), 1);
        });
    }

    #[test]
    fn bad_cards_and_amounts_are_refused_and_not_stored() {
        let db = db();
        block_on(async {
            let e = charge(&db, &request("o1", "4242424242424241"), NOW).await.unwrap_err();
            assert_eq!((e.status, e.code), (400, "invalid_card"));
            let mut zero = request("o1", "4242424242424242");
            zero.amount.amount = 0;
            assert_eq!(charge(&db, &zero, NOW).await.unwrap_err().details["field"], "amount");
            assert!(db.query("SELECT * FROM payments", &[]).await.unwrap().is_empty());
        });
    }

    #[test]
    fn only_brand_and_last4_are_stored() {
        let db = db();
        block_on(async {
            let mut req = request("o1", "5555 5555 5555 4444");
            req.card.cvc = "987".into();
            charge(&db, &req, NOW).await.unwrap();
            let rows = db.query("SELECT * FROM payments", &[]).await.unwrap();
            let text: String = rows[0].0.iter().map(|v| format!("{v:?}|")).collect();
            assert!(text.contains("\"mastercard\"") && text.contains("\"4444\""), "{text}");
            assert!(!text.contains("5555555555554444") && !text.contains("5555 5555") && !text.contains("987"), "{text}");
        });
    }

    #[test]
    fn refund_rules() {
        let db = db();
        block_on(async {
            charge(&db, &request("o1", "4242424242424242"), NOW).await.unwrap();
            charge(&db, &request("o2", "4000000000000002"), NOW).await.unwrap();
            let refunded = refund(&db, "o1", NOW + 10).await.unwrap();
            assert_eq!(refunded.status, "refunded");
            assert!(refunded.refunded_at.is_some());
            assert_eq!(refund(&db, "o1", NOW + 20).await.unwrap(), refunded, "idempotent: first refund time kept");
            let e = refund(&db, "o2", NOW).await.unwrap_err();
            assert_eq!((e.status, e.code), (409, "invalid_state"));
            assert_eq!(refund(&db, "nope", NOW).await.unwrap_err().status, 404);
        });
    }

    #[test]
    fn a_closed_order_answers_its_payment_and_takes_no_new_charge() {
        let db = db();
        block_on(async {
            assert_eq!(close_charge(&db, "o1", NOW).await.unwrap(), None);
            let e = charge(&db, &request("o1", "4242424242424242"), NOW + 1).await.unwrap_err();
            assert_eq!((e.status, e.code), (409, "invalid_state"));
            assert!(db.query("SELECT * FROM payments", &[]).await.unwrap().is_empty());
            // An order charged first keeps its payment, and closing again answers it.
            let (paid, _) = charge(&db, &request("o2", "4242424242424242"), NOW).await.unwrap();
            assert_eq!(close_charge(&db, "o2", NOW + 1).await.unwrap(), Some(paid.clone()));
            assert_eq!(close_charge(&db, "o2", NOW + 2).await.unwrap(), Some(paid.clone()));
            assert_eq!(charge(&db, &request("o2", "4242424242424242"), NOW + 3).await.unwrap(), (paid, false));
            assert_eq!(close_charge(&db, " ", NOW).await.unwrap_err().details["field"], "order_id");
        });
    }

    #[test]
    fn refunding_an_order_never_charged_refuses_its_later_charge() {
        let db = db();
        block_on(async {
            assert_eq!(refund(&db, "o1", NOW).await.unwrap_err().status, 404);
            let e = charge(&db, &request("o1", "4242424242424242"), NOW + 1).await.unwrap_err();
            assert_eq!((e.status, e.code), (409, "invalid_state"));
            assert_eq!(summary(&db).await.unwrap(), json!({ "approved_by_order": {} }));
        });
    }

    #[test]
    fn lists_are_per_user_and_summary_counts_approved() {
        let db = db();
        block_on(async {
            charge(&db, &request("o1", "4242424242424242"), NOW).await.unwrap();
            charge(&db, &request("o2", "4242424242424242"), NOW + 1).await.unwrap();
            charge(&db, &request("o3", "4000000000000002"), NOW + 2).await.unwrap();
            let mut other = request("o4", "4242424242424242");
            other.user_id = "u2".into();
            charge(&db, &other, NOW).await.unwrap();
            refund(&db, "o2", NOW + 3).await.unwrap();
            let page = list_for_user(&db, "u1", None, PageRequest::default()).await.unwrap();
            assert_eq!(page.total, 3);
            assert_eq!(page.items[0].order_id, "o3", "newest first");
            let one = list_for_user(&db, "u1", Some("o1"), PageRequest::default()).await.unwrap();
            assert_eq!((one.total, one.items[0].order_id.as_str()), (1, "o1"));
            assert_eq!(summary(&db).await.unwrap(), json!({ "approved_by_order": { "o1": 1, "o4": 1 } }));
        });
    }
}
