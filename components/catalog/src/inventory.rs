//! Stock reservations for orders: reserve (all or nothing, idempotent per
//! order id), commit when paid, release when cancelled or abandoned.
//!
//! A reservation takes its units out of `products.stock` at once, so stock
//! is what can still be sold; `reserved` and `committed` reservations hold
//! the rest. Releasing puts the units back. A reservation still `reserved`
//! after `expires_at` is released by the sweep (`sweep`, which the shop's
//! health check runs: a component has no timers) and by the next reserve
//! call; until then it can still be committed, as its units were never
//! given back. A released reservation is never committed, which is how a
//! late placement learns that its order was settled without it.

use serde::{Deserialize, Serialize};
use serde_json::json;
use shop_common::{ApiError, Db, Value, db, id, timestamp};

pub const DEFAULT_TTL_SECONDS: i64 = 900;
pub const MAX_LINES: usize = 100;
pub const MAX_QUANTITY: i64 = 1_000_000;
pub const MAX_ORDER_ID_CHARS: usize = 100;

#[derive(Debug, Clone, Deserialize)]
pub struct ReserveRequest {
    pub order_id: String,
    pub items: Vec<ReserveItem>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ReserveItem {
    pub product_id: String,
    pub quantity: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReservedItem {
    pub product_id: String,
    pub quantity: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reservation {
    pub order_id: String,
    /// `reserved`, `committed` or `released`.
    pub status: String,
    pub items: Vec<ReservedItem>,
    pub created_at: String,
    pub expires_at: String,
}

impl Reservation {
    /// The reserved products' ids, in the reservation's order.
    pub fn product_ids(&self) -> Vec<String> {
        self.items.iter().map(|i| i.product_id.clone()).collect()
    }
}

/// The answer to `POST /internal/catalog/reservations`: the reservation and
/// its products as the lookup gives them (prices, names, weights), which is
/// all an order needs from the catalog before it is paid.
#[derive(Debug, Clone, Serialize)]
pub struct Reserved {
    #[serde(flatten)]
    pub reservation: Reservation,
    pub products: Vec<crate::product::Product>,
}

/// The TTL from the `reservation_ttl_seconds` variable's text, if sane.
pub fn ttl_from(variable: Option<&str>) -> i64 {
    variable.and_then(|v| v.trim().parse::<i64>().ok()).filter(|s| (1..=30 * 24 * 3600).contains(s)).unwrap_or(DEFAULT_TTL_SECONDS)
}

fn check_order_id(order_id: &str) -> Result<(), ApiError> {
    if (1..=MAX_ORDER_ID_CHARS).contains(&order_id.len()) {
        Ok(())
    } else {
        Err(ApiError::invalid_field("order_id", format!("`order_id` must be 1 to {MAX_ORDER_ID_CHARS} characters")))
    }
}

/// The items checked, with repeated products merged into one line.
fn merged_items(items: &[ReserveItem]) -> Result<Vec<ReservedItem>, ApiError> {
    if items.is_empty() {
        return Err(ApiError::invalid_field("items", "`items` must list at least one product"));
    }
    let mut merged: Vec<ReservedItem> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        if !(1..=MAX_QUANTITY).contains(&item.quantity) {
            let field = format!("items[{i}].quantity");
            return Err(ApiError::invalid_field(&field, format!("`{field}` must be from 1 to {MAX_QUANTITY}; got {}", item.quantity)));
        }
        let product_id = id::parse_id(&item.product_id).map_err(|_| unknown_products(std::slice::from_ref(&item.product_id)))?;
        match merged.iter_mut().find(|m| m.product_id == product_id) {
            Some(line) => line.quantity = line.quantity.saturating_add(item.quantity),
            None => merged.push(ReservedItem { product_id, quantity: item.quantity }),
        }
    }
    if merged.len() > MAX_LINES {
        return Err(ApiError::invalid_field("items", format!("at most {MAX_LINES} different products per reservation")));
    }
    Ok(merged)
}

fn unknown_products(ids: &[String]) -> ApiError {
    let first = ids.first().cloned().unwrap_or_default();
    ApiError::new(404, "not_found", format!("product {first} not found")).with_details(json!({ "product_id": first, "product_ids": ids }))
}

/// At most this many expired reservations are released by one sweep.
pub const SWEEP_BATCH: u32 = 100;

/// Releases up to `limit` reservations still `reserved` after their expiry
/// (oldest expiry first), putting their units back; how many. Call inside a
/// transaction.
pub async fn release_expired<D: Db>(db: &D, now: i64, limit: u32) -> Result<u64, ApiError> {
    let released = db
        .query(
            "UPDATE reservations SET status = 'released', updated_at = ? WHERE order_id IN
                 (SELECT order_id FROM reservations WHERE status = 'reserved' AND expires_at < ? ORDER BY expires_at LIMIT ?)
             RETURNING order_id",
            &[now.into(), now.into(), limit.into()],
        )
        .await?;
    for row in &released {
        let order_id = Value::from(row.text(0)?);
        db.exec(
            "UPDATE products SET stock = stock + (SELECT quantity FROM reservation_items WHERE order_id = ? AND product_id = products.id)
             WHERE id IN (SELECT product_id FROM reservation_items WHERE order_id = ?)",
            &[order_id.clone(), order_id],
        )
        .await?;
    }
    Ok(released.len() as u64)
}

/// `POST /internal/catalog/reservations/sweep`: releases expired
/// reservations (a batch), so stock held for an order that was never
/// recorded (its placement stopped right after reserving) comes back even
/// when nobody reserves again. The shop's health check calls it.
pub async fn sweep<D: Db>(db: &D, now: i64) -> Result<u64, ApiError> {
    db::transaction(db, async |db| release_expired(db, now, SWEEP_BATCH).await).await
}

/// A reservation as it is stored, if there is one.
pub async fn find<D: Db>(db: &D, order_id: &str) -> Result<Option<Reservation>, ApiError> {
    let Some(row) = db.query_one("SELECT status, created_at, expires_at FROM reservations WHERE order_id = ?", &[order_id.into()]).await? else {
        return Ok(None);
    };
    let items = db
        .query("SELECT product_id, quantity FROM reservation_items WHERE order_id = ? ORDER BY rowid", &[order_id.into()])
        .await?
        .iter()
        .map(|r| Ok(ReservedItem { product_id: r.text(0)?, quantity: r.int(1)? }))
        .collect::<Result<_, ApiError>>()?;
    Ok(Some(Reservation {
        order_id: order_id.to_owned(),
        status: row.text(0)?,
        items,
        created_at: timestamp::to_rfc3339(row.int(1)?),
        expires_at: timestamp::to_rfc3339(row.int(2)?),
    }))
}

struct StockRow {
    id: String,
    sku: String,
    active: bool,
    stock: i64,
}

async fn stock_rows<D: Db>(db: &D, ids: &[String]) -> Result<Vec<StockRow>, ApiError> {
    let marks = vec!["?"; ids.len()].join(", ");
    let params: Vec<Value> = ids.iter().map(Value::from).collect();
    db.query(&format!("SELECT id, sku, active, stock FROM products WHERE id IN ({marks})"), &params)
        .await?
        .iter()
        .map(|r| Ok(StockRow { id: r.text(0)?, sku: r.text(1)?, active: r.bool(2)?, stock: r.int(3)? }))
        .collect()
}

/// Reserves every item of an order or none (409 `out_of_stock` listing
/// each short item). Asking again for the same order id returns the
/// reservation made the first time, whatever its state, and `false`.
pub async fn reserve<D: Db>(db: &D, request: &ReserveRequest, now: i64, ttl_seconds: i64) -> Result<(Reservation, bool), ApiError> {
    check_order_id(&request.order_id)?;
    db::transaction(db, async |db| {
        release_expired(db, now, SWEEP_BATCH).await?;
        if let Some(existing) = find(db, &request.order_id).await? {
            return Ok((existing, false));
        }
        let items = merged_items(&request.items)?;
        let ids: Vec<String> = items.iter().map(|i| i.product_id.clone()).collect();
        let rows = stock_rows(db, &ids).await?;
        let row_of = |id: &str| rows.iter().find(|r| r.id == id);

        let unknown: Vec<String> = ids.iter().filter(|id| row_of(id).is_none()).cloned().collect();
        if !unknown.is_empty() {
            return Err(unknown_products(&unknown));
        }
        let inactive: Vec<&StockRow> = rows.iter().filter(|r| !r.active).collect();
        if let Some(first) = inactive.first() {
            let listed: Vec<_> = inactive.iter().map(|r| json!({ "product_id": r.id, "sku": r.sku })).collect();
            return Err(ApiError::unprocessable("product_inactive", format!("product {} ({}) is no longer sold", first.id, first.sku))
                .with_details(json!({ "product_id": first.id, "sku": first.sku, "items": listed })));
        }
        let short: Vec<serde_json::Value> = items
            .iter()
            .filter_map(|item| {
                let row = row_of(&item.product_id)?;
                (row.stock < item.quantity).then(|| json!({ "product_id": row.id, "sku": row.sku, "requested": item.quantity, "available": row.stock }))
            })
            .collect();
        if !short.is_empty() {
            return Err(out_of_stock(short));
        }

        for item in &items {
            // Second guard: the row must still hold enough when it is changed.
            let changed = db
                .exec(
                    "UPDATE products SET stock = stock - ? WHERE id = ? AND stock >= ?",
                    &[item.quantity.into(), item.product_id.as_str().into(), item.quantity.into()],
                )
                .await?;
            if changed != 1 {
                let available = row_of(&item.product_id).map_or(0, |r| r.stock);
                let sku = row_of(&item.product_id).map(|r| r.sku.clone()).unwrap_or_default();
                return Err(out_of_stock(vec![json!({ "product_id": item.product_id, "sku": sku, "requested": item.quantity, "available": available })]));
            }
        }
        db.exec(
            "INSERT INTO reservations (order_id, status, created_at, expires_at, updated_at) VALUES (?, 'reserved', ?, ?, ?)",
            &[request.order_id.as_str().into(), now.into(), now.saturating_add(ttl_seconds).into(), now.into()],
        )
        .await?;
        for item in &items {
            db.exec(
                "INSERT INTO reservation_items (order_id, product_id, quantity) VALUES (?, ?, ?)",
                &[request.order_id.as_str().into(), item.product_id.as_str().into(), item.quantity.into()],
            )
            .await?;
        }
        let created = find(db, &request.order_id).await?.ok_or_else(|| ApiError::internal("the reservation just made is gone"))?;
        Ok((created, true))
    })
    .await
}

fn out_of_stock(items: Vec<serde_json::Value>) -> ApiError {
    let skus: Vec<&str> = items.iter().filter_map(|i| i["sku"].as_str()).collect();
    ApiError::conflict("out_of_stock", format!("not enough stock for {}", skus.join(", "))).with_details(json!({ "items": items }))
}

/// reserved → committed (the order is paid); committed stays committed;
/// released → 409 `invalid_state`.
pub async fn commit<D: Db>(db: &D, order_id: &str, now: i64) -> Result<Reservation, ApiError> {
    db::transaction(db, async |db| {
        let current = find(db, order_id).await?.ok_or_else(|| ApiError::not_found("reservation"))?;
        match current.status.as_str() {
            "reserved" => {
                db.exec("UPDATE reservations SET status = 'committed', updated_at = ? WHERE order_id = ?", &[now.into(), order_id.into()]).await?;
                find(db, order_id).await?.ok_or_else(|| ApiError::not_found("reservation"))
            }
            "committed" => Ok(current),
            _ => Err(ApiError::conflict("invalid_state", format!("reservation {order_id} was released and cannot be committed"))
                .with_details(json!({ "status": current.status }))),
        }
    })
    .await
}

/// reserved or committed → released, the units back in stock; released
/// stays released.
pub async fn release<D: Db>(db: &D, order_id: &str, now: i64) -> Result<Reservation, ApiError> {
    db::transaction(db, async |db| {
        let current = find(db, order_id).await?.ok_or_else(|| ApiError::not_found("reservation"))?;
        if current.status == "released" {
            return Ok(current);
        }
        for item in &current.items {
            db.exec("UPDATE products SET stock = stock + ? WHERE id = ?", &[item.quantity.into(), item.product_id.as_str().into()]).await?;
        }
        db.exec("UPDATE reservations SET status = 'released', updated_at = ? WHERE order_id = ?", &[now.into(), order_id.into()]).await?;
        find(db, order_id).await?.ok_or_else(|| ApiError::not_found("reservation"))
    })
    .await
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StockLine {
    pub id: String,
    pub sku: String,
    /// Units that can still be sold.
    pub stock: i64,
    /// Units held by `reserved` reservations.
    pub reserved: i64,
    /// Units of `committed` reservations.
    pub sold: i64,
}

/// Every product's stock, reserved and sold units, by sku.
pub async fn stock_report<D: Db>(db: &D) -> Result<Vec<StockLine>, ApiError> {
    let held = |status: &str| {
        format!(
            "COALESCE((SELECT SUM(ri.quantity) FROM reservation_items ri JOIN reservations r ON r.order_id = ri.order_id
                WHERE ri.product_id = p.id AND r.status = '{status}'), 0)"
        )
    };
    let sql = format!("SELECT p.id, p.sku, p.stock, {}, {} FROM products p ORDER BY p.sku", held("reserved"), held("committed"));
    db.query(&sql, &[])
        .await?
        .iter()
        .map(|r| Ok(StockLine { id: r.text(0)?, sku: r.text(1)?, stock: r.int(2)?, reserved: r.int(3)?, sold: r.int(4)? }))
        .collect()
}
