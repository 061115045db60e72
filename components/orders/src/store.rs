//! Orders in SQLite: the order row (address and quote as JSON), its lines,
//! its payment's public part, where its stock reservation stands.

use shop_common::db::Db;
use shop_common::events::{INBOX_SCHEMA, OUTBOX_SCHEMA};
use shop_common::money::{Currency, Money};
use shop_common::page::{Page, PageRequest};
use shop_common::{ApiError, Row, Value, timestamp};

use crate::model::{Address, Order, OrderItem, PaymentInfo, Quote, Status, Stock};

const ORDERS_SCHEMA: &str = "CREATE TABLE orders (
    id TEXT PRIMARY KEY, user_id TEXT NOT NULL, status TEXT NOT NULL,
    shipping_address TEXT NOT NULL, quote TEXT NOT NULL,
    payment_id TEXT, payment_status TEXT, brand TEXT, last4 TEXT,
    stock TEXT NOT NULL, from_cart INTEGER NOT NULL, note TEXT,
    created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
    CREATE INDEX orders_user ON orders (user_id, created_at);
    CREATE TABLE order_items (
    order_id TEXT NOT NULL, position INTEGER NOT NULL, product_id TEXT NOT NULL,
    sku TEXT NOT NULL, name TEXT NOT NULL, quantity INTEGER NOT NULL,
    unit_price INTEGER NOT NULL, currency TEXT NOT NULL,
    PRIMARY KEY (order_id, position))";

/// One row per (user, Idempotency-Key): `status`/`body` are NULL while the
/// first request is still running.
const IDEMPOTENCY_SCHEMA: &str = "CREATE TABLE idempotency_keys (
    user_id TEXT NOT NULL, key TEXT NOT NULL, order_id TEXT,
    status INTEGER, body TEXT, created_at INTEGER NOT NULL, completed_at INTEGER,
    PRIMARY KEY (user_id, key))";

/// Each key's request, hashed (`idempotency::request_hash`; NULL on rows
/// from before), and the index that finds the keys past their day.
const IDEMPOTENCY_REQUEST_HASH: &str = "ALTER TABLE idempotency_keys ADD COLUMN request_hash TEXT;
    CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at)";

/// `recover_at`: when recovery may next try a stale `pending` order (NULL:
/// not tried yet); the partial index keeps finding them cheap however many
/// orders there are.
const RECOVERY_SCHEMA: &str = "ALTER TABLE orders ADD COLUMN recover_at INTEGER;
    CREATE INDEX orders_pending ON orders (created_at) WHERE status = 'pending'";

/// The `Idempotency-Key` the order was placed with, so that a retry whose
/// first request never answered (a crash) can be answered from the order.
const ORDER_IDEMPOTENCY_KEY: &str = "ALTER TABLE orders ADD COLUMN idempotency_key TEXT";

/// Applied in order, each once (`db::migrate`): append, never edit one.
pub const MIGRATIONS: &[&str] =
    &[ORDERS_SCHEMA, OUTBOX_SCHEMA, INBOX_SCHEMA, IDEMPOTENCY_SCHEMA, IDEMPOTENCY_REQUEST_HASH, RECOVERY_SCHEMA, ORDER_IDEMPOTENCY_KEY];

/// An order as stored, with what the API does not show.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    pub order: Order,
    pub stock: Stock,
    pub from_cart: bool,
    pub note: Option<String>,
}

fn internal<E: std::fmt::Display>(what: &str) -> impl Fn(E) -> ApiError + '_ {
    move |e| ApiError::internal(format!("{what}: {e}"))
}

/// A new order, `pending` with its stock reserved, placed with
/// `idempotency_key` if the request had one.
pub async fn insert<D: Db>(db: &D, order: &Order, from_cart: bool, idempotency_key: Option<&str>, now: i64) -> Result<(), ApiError> {
    let address = serde_json::to_string(&order.shipping_address).map_err(internal("address"))?;
    let quote = serde_json::to_string(&order.quote).map_err(internal("quote"))?;
    shop_common::transaction(db, async |db| {
        db.exec(
            "INSERT INTO orders (id, user_id, status, shipping_address, quote, stock, from_cart, idempotency_key, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            &[
                order.id.as_str().into(),
                order.user_id.as_str().into(),
                order.status.as_str().into(),
                address.into(),
                quote.into(),
                Stock::Reserved.as_str().into(),
                from_cart.into(),
                idempotency_key.into(),
                now.into(),
                now.into(),
            ],
        )
        .await?;
        for (i, item) in order.items.iter().enumerate() {
            db.exec(
                "INSERT INTO order_items (order_id, position, product_id, sku, name, quantity, unit_price, currency) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                &[
                    order.id.as_str().into(),
                    (i as i64).into(),
                    item.product_id.as_str().into(),
                    item.sku.as_str().into(),
                    item.name.as_str().into(),
                    item.quantity.into(),
                    item.unit_price.amount.into(),
                    item.unit_price.currency.code().into(),
                ],
            )
            .await?;
        }
        Ok(())
    })
    .await
}

const COLUMNS: &str = "id, user_id, status, shipping_address, quote, payment_id, payment_status, brand, last4, stock, from_cart, note, created_at, updated_at";

async fn items<D: Db>(db: &D, order_id: &str) -> Result<Vec<OrderItem>, ApiError> {
    let rows = db
        .query("SELECT product_id, sku, name, quantity, unit_price, currency FROM order_items WHERE order_id = ? ORDER BY position", &[order_id.into()])
        .await?;
    rows.iter()
        .map(|r| {
            let currency = Currency::parse(&r.text(5)?).map_err(ApiError::internal)?;
            let quantity = u32::try_from(r.int(3)?).map_err(internal("quantity"))?;
            let unit_price = Money::new(r.int(4)?, currency);
            let line_total = unit_price.times(quantity).map_err(internal("line total"))?;
            Ok(OrderItem { product_id: r.text(0)?, sku: r.text(1)?, name: r.text(2)?, quantity, unit_price, line_total })
        })
        .collect()
}

async fn from_row<D: Db>(db: &D, row: &Row) -> Result<Stored, ApiError> {
    let id = row.text(0)?;
    let shipping_address: Address = serde_json::from_str(&row.text(3)?).map_err(internal("stored address"))?;
    let quote: Quote = serde_json::from_str(&row.text(4)?).map_err(internal("stored quote"))?;
    let payment = match (row.opt_text(5)?, row.opt_text(6)?) {
        (Some(id), Some(status)) => Some(PaymentInfo { id, status, brand: row.opt_text(7)?.unwrap_or_default(), last4: row.opt_text(8)?.unwrap_or_default() }),
        _ => None,
    };
    let order = Order {
        items: items(db, &id).await?,
        id,
        user_id: row.text(1)?,
        status: Status::parse(&row.text(2)?)?,
        shipping_address,
        quote,
        payment,
        created_at: timestamp::to_rfc3339(row.int(12)?),
        updated_at: timestamp::to_rfc3339(row.int(13)?),
    };
    Ok(Stored { order, stock: Stock::parse(&row.text(9)?), from_cart: row.bool(10)?, note: row.opt_text(11)? })
}

pub async fn get<D: Db>(db: &D, id: &str) -> Result<Option<Stored>, ApiError> {
    match db.query_one(&format!("SELECT {COLUMNS} FROM orders WHERE id = ?"), &[id.into()]).await? {
        Some(row) => Ok(Some(from_row(db, &row).await?)),
        None => Ok(None),
    }
}

/// The order the user placed with `key` since the key's row was taken
/// (a key past its day may have placed an older order too).
pub async fn by_idempotency_key<D: Db>(db: &D, user_id: &str, key: &str) -> Result<Option<Stored>, ApiError> {
    let row = db
        .query_one(
            &format!(
                "SELECT {COLUMNS} FROM orders WHERE user_id = ?1 AND idempotency_key = ?2
                AND created_at >= (SELECT created_at FROM idempotency_keys WHERE user_id = ?1 AND key = ?2)
                ORDER BY created_at DESC LIMIT 1"
            ),
            &[user_id.into(), key.into()],
        )
        .await?;
    match row {
        Some(row) => Ok(Some(from_row(db, &row).await?)),
        None => Ok(None),
    }
}

/// The user's orders, newest first.
pub async fn list_for_user<D: Db>(db: &D, user_id: &str, page: PageRequest) -> Result<Page<Order>, ApiError> {
    let (limit, offset) = page.limit_offset();
    let total = db.query_one("SELECT count(*) FROM orders WHERE user_id = ?", &[user_id.into()]).await?.map(|r| r.int(0)).transpose()?.unwrap_or(0);
    let rows = db
        .query(
            &format!("SELECT {COLUMNS} FROM orders WHERE user_id = ? ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?"),
            &[user_id.into(), limit.into(), (offset as i64).into()],
        )
        .await?;
    let mut orders = Vec::with_capacity(rows.len());
    for row in &rows {
        orders.push(from_row(db, row).await?.order);
    }
    Ok(Page::new(orders, page, total.max(0) as u64))
}

/// A change of an order's row, applied only while it is in `from` (so two
/// requests racing on one order cannot both move it). `true` if it applied.
#[derive(Debug, Default)]
pub struct Change<'a> {
    pub status: Option<Status>,
    pub stock: Option<Stock>,
    pub payment: Option<&'a PaymentInfo>,
    pub note: Option<&'a str>,
}

pub async fn update<D: Db>(db: &D, id: &str, from: Status, change: Change<'_>, now: i64) -> Result<bool, ApiError> {
    let mut sets = vec!["updated_at = ?"];
    let mut params: Vec<Value> = vec![now.into()];
    if let Some(s) = change.status {
        sets.push("status = ?");
        params.push(s.as_str().into());
    }
    if let Some(s) = change.stock {
        sets.push("stock = ?");
        params.push(s.as_str().into());
    }
    if let Some(p) = change.payment {
        sets.extend(["payment_id = ?", "payment_status = ?", "brand = ?", "last4 = ?"]);
        params.extend([p.id.as_str().into(), p.status.as_str().into(), p.brand.as_str().into(), p.last4.as_str().into()]);
    }
    if let Some(n) = change.note {
        sets.push("note = ?");
        params.push(n.into());
    }
    params.extend([id.into(), from.as_str().into()]);
    let changed = db.exec(&format!("UPDATE orders SET {} WHERE id = ? AND status = ?", sets.join(", ")), &params).await?;
    Ok(changed == 1)
}

/// Records the order's payment as it stands now (after a refund, say).
pub async fn set_payment<D: Db>(db: &D, id: &str, payment: &PaymentInfo, now: i64) -> Result<(), ApiError> {
    db.exec(
        "UPDATE orders SET payment_id = ?, payment_status = ?, brand = ?, last4 = ?, updated_at = ? WHERE id = ?",
        &[payment.id.as_str().into(), payment.status.as_str().into(), payment.brand.as_str().into(), payment.last4.as_str().into(), now.into(), id.into()],
    )
    .await?;
    Ok(())
}

/// Takes up to `limit` orders still `pending` that were created at or
/// before `stale_before` and are not held by another recovery, oldest
/// first, and holds them until `hold_until` (a recovery that fails or dies
/// leaves them to be tried again then). One read when there are none.
pub async fn claim_stale_pending<D: Db>(db: &D, stale_before: i64, now: i64, hold_until: i64, limit: u32) -> Result<Vec<String>, ApiError> {
    const STALE: &str = "FROM orders WHERE status = 'pending' AND created_at <= ? AND COALESCE(recover_at, 0) <= ?";
    let any = db.query_one(&format!("SELECT 1 {STALE} LIMIT 1"), &[stale_before.into(), now.into()]).await?;
    if any.is_none() {
        return Ok(Vec::new());
    }
    let rows = db
        .query(
            &format!("UPDATE orders SET recover_at = ? WHERE id IN (SELECT id {STALE} ORDER BY created_at LIMIT ?) RETURNING id"),
            &[hold_until.into(), stale_before.into(), now.into(), limit.into()],
        )
        .await?;
    rows.iter().map(|r| r.text(0)).collect()
}
