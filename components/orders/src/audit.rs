//! The audit's view of orders (`GET /internal/orders/summary`): what is
//! paid, what is not settled yet, and which compensations are not done.

use std::collections::BTreeMap;

use serde_json::{Value as Json, json};
use shop_common::ApiError;
use shop_common::db::Db;

/// `{"paid_quantities": {<product_id>: n}, "paid_orders": [id],
/// "pending_orders": [id], "compensations_pending": n}`: units and ids of
/// the orders that are paid, shipped or delivered; the orders not settled
/// yet; the compensations (stock releases, refunds) not yet done.
pub async fn summary<D: Db>(db: &D) -> Result<Json, ApiError> {
    const PAID: &str = "status IN ('paid', 'shipped', 'delivered')";
    let rows = db
        .query(&format!("SELECT i.product_id, sum(i.quantity) FROM order_items i JOIN orders o ON o.id = i.order_id WHERE o.{PAID} GROUP BY i.product_id"), &[])
        .await?;
    let mut quantities = BTreeMap::new();
    for r in rows {
        quantities.insert(r.text(0)?, r.int(1)?);
    }
    let ids = db.query(&format!("SELECT id FROM orders WHERE {PAID} ORDER BY id"), &[]).await?;
    let ids = ids.iter().map(|r| r.text(0)).collect::<Result<Vec<_>, _>>()?;
    let pending = db.query("SELECT id FROM orders WHERE status = 'pending' ORDER BY id", &[]).await?;
    let pending = pending.iter().map(|r| r.text(0)).collect::<Result<Vec<_>, _>>()?;
    let compensations = crate::commands::pending(db).await?;
    Ok(json!({ "paid_quantities": quantities, "paid_orders": ids, "pending_orders": pending, "compensations_pending": compensations }))
}
