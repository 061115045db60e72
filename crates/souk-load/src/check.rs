//! The shop's invariants after a run, checked on `GET /api/v1/admin/audit`:
//! the units the catalog sold are the units of paid orders, no stock is
//! negative, every paid order has exactly one approved payment and no other
//! order has one, no order is left `pending`, and no compensation (stock
//! release, refund) is still queued.
//!
//! Plain data in, violations out; fetching the audit is `admin`'s job.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// The body of `GET /api/v1/admin/audit`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Audit {
    pub stock: StockAudit,
    pub orders: OrdersAudit,
    pub payments: PaymentsAudit,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct StockAudit {
    pub products: Vec<ProductStock>,
}

/// One product as the catalog counts it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ProductStock {
    pub id: String,
    pub sku: String,
    /// Units that can still be sold.
    pub stock: i64,
    /// Units held by open reservations.
    pub reserved: i64,
    /// Units of committed reservations.
    pub sold: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct OrdersAudit {
    /// Units per product id over the orders that are paid (or shipped, delivered).
    #[serde(default)]
    pub paid_quantities: BTreeMap<String, i64>,
    #[serde(default)]
    pub paid_orders: Vec<String>,
    /// Orders not settled yet (still `pending`).
    #[serde(default)]
    pub pending_orders: Vec<String>,
    /// Stock releases and refunds queued but not yet done.
    #[serde(default)]
    pub compensations_pending: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct PaymentsAudit {
    /// Approved (not refunded) payments per order id.
    #[serde(default)]
    pub approved_by_order: BTreeMap<String, i64>,
}

/// One broken invariant, with what was expected and what was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Violation {
    /// The catalog sold a different number of units than paid orders hold.
    SoldMismatch { product_id: String, sku: String, sold: i64, paid_quantity: i64 },
    /// Paid orders hold units of a product the catalog does not list.
    PaidUnknownProduct { product_id: String, paid_quantity: i64 },
    /// A product's `stock` or `reserved` is below zero.
    NegativeStock { product_id: String, sku: String, field: &'static str, value: i64 },
    /// A paid order without exactly one approved payment.
    PaymentCount { order_id: String, approved: i64 },
    /// An approved (not refunded) payment for an order that is not paid.
    ApprovedUnpaid { order_id: String },
    /// An order still `pending`: its placement stopped and is not settled yet.
    OrderPending { order_id: String },
    /// Stock releases or refunds still waiting in the orders outbox.
    CompensationsPending { count: u64 },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::SoldMismatch { product_id, sku, sold, paid_quantity } => {
                write!(f, "product {sku} ({product_id}): sold {sold}, but paid orders hold {paid_quantity}")
            }
            Violation::PaidUnknownProduct { product_id, paid_quantity } => {
                write!(f, "product {product_id}: paid orders hold {paid_quantity}, but the catalog does not list it")
            }
            Violation::NegativeStock { product_id, sku, field, value } => write!(f, "product {sku} ({product_id}): {field} is {value}, expected at least 0"),
            Violation::PaymentCount { order_id, approved } => write!(f, "paid order {order_id}: {approved} approved payments, expected 1"),
            Violation::ApprovedUnpaid { order_id } => write!(f, "order {order_id}: an approved payment, but the order is not paid"),
            Violation::OrderPending { order_id } => {
                write!(f, "order {order_id}: still pending, expected settled")
            }
            Violation::CompensationsPending { count } => write!(f, "{count} compensations (stock releases, refunds) still queued, expected none"),
        }
    }
}

/// Every broken invariant in `audit`, products first (in the catalog's
/// order), then paid orders, payments, unsettled orders and compensations;
/// empty when the shop is consistent.
pub fn check(audit: &Audit) -> Vec<Violation> {
    let mut found = Vec::new();
    let paid = &audit.orders.paid_quantities;
    for p in &audit.stock.products {
        let paid_quantity = paid.get(&p.id).copied().unwrap_or(0);
        if p.sold != paid_quantity {
            found.push(Violation::SoldMismatch { product_id: p.id.clone(), sku: p.sku.clone(), sold: p.sold, paid_quantity });
        }
        for (field, value) in [("stock", p.stock), ("reserved", p.reserved)] {
            if value < 0 {
                found.push(Violation::NegativeStock { product_id: p.id.clone(), sku: p.sku.clone(), field, value });
            }
        }
    }
    for (product_id, &paid_quantity) in paid {
        let listed = audit.stock.products.iter().any(|p| &p.id == product_id);
        if !listed && paid_quantity != 0 {
            found.push(Violation::PaidUnknownProduct { product_id: product_id.clone(), paid_quantity });
        }
    }
    for order_id in &audit.orders.paid_orders {
        let approved = audit.payments.approved_by_order.get(order_id).copied().unwrap_or(0);
        if approved != 1 {
            found.push(Violation::PaymentCount { order_id: order_id.clone(), approved });
        }
    }
    for (order_id, &approved) in &audit.payments.approved_by_order {
        if approved > 0 && !audit.orders.paid_orders.contains(order_id) {
            found.push(Violation::ApprovedUnpaid { order_id: order_id.clone() });
        }
    }
    for order_id in &audit.orders.pending_orders {
        found.push(Violation::OrderPending { order_id: order_id.clone() });
    }
    if audit.orders.compensations_pending > 0 {
        found.push(Violation::CompensationsPending { count: audit.orders.compensations_pending });
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product(id: &str, stock: i64, reserved: i64, sold: i64) -> ProductStock {
        ProductStock { id: id.into(), sku: format!("SKU-{id}"), stock, reserved, sold }
    }

    /// Two products, two paid orders, each paid once.
    fn consistent() -> Audit {
        Audit {
            stock: StockAudit { products: vec![product("p1", 97, 1, 3), product("p2", 100, 0, 0)] },
            orders: OrdersAudit { paid_quantities: BTreeMap::from([("p1".into(), 3)]), paid_orders: vec!["o1".into(), "o2".into()], ..OrdersAudit::default() },
            payments: PaymentsAudit { approved_by_order: BTreeMap::from([("o1".into(), 1), ("o2".into(), 1)]) },
        }
    }

    #[test]
    fn a_consistent_shop_passes() {
        assert_eq!(check(&consistent()), []);
        assert_eq!(check(&Audit::default()), []);
    }

    #[test]
    fn the_audit_body_parses() {
        let body = r#"{
            "stock": {"products": [{"id": "p1", "sku": "A", "stock": 5, "reserved": 0, "sold": 2}]},
            "orders": {"paid_quantities": {"p1": 2}, "paid_orders": ["o1"]},
            "payments": {"approved_by_order": {"o1": 1}}
        }"#;
        let audit: Audit = serde_json::from_str(body).unwrap();
        assert_eq!(audit.stock.products[0].sold, 2);
        assert_eq!(check(&audit), []);
    }

    #[test]
    fn sold_must_equal_paid_quantities() {
        let mut audit = consistent();
        audit.orders.paid_quantities.insert("p1".into(), 4);
        audit.stock.products[1].sold = 2; // p2: no paid orders at all.
        let found = check(&audit);
        assert_eq!(
            found,
            [
                Violation::SoldMismatch { product_id: "p1".into(), sku: "SKU-p1".into(), sold: 3, paid_quantity: 4 },
                Violation::SoldMismatch { product_id: "p2".into(), sku: "SKU-p2".into(), sold: 2, paid_quantity: 0 },
            ]
        );
        assert_eq!(found[0].to_string(), "product SKU-p1 (p1): sold 3, but paid orders hold 4");
    }

    #[test]
    fn paid_units_of_an_unlisted_product_are_reported() {
        let mut audit = consistent();
        audit.orders.paid_quantities.insert("ghost".into(), 2);
        audit.orders.paid_quantities.insert("zero".into(), 0);
        assert_eq!(check(&audit), [Violation::PaidUnknownProduct { product_id: "ghost".into(), paid_quantity: 2 }]);
    }

    #[test]
    fn negative_stock_is_reported() {
        let mut audit = consistent();
        audit.stock.products[1].stock = -1;
        audit.stock.products[1].reserved = -2;
        let found = check(&audit);
        assert_eq!(
            found,
            [
                Violation::NegativeStock { product_id: "p2".into(), sku: "SKU-p2".into(), field: "stock", value: -1 },
                Violation::NegativeStock { product_id: "p2".into(), sku: "SKU-p2".into(), field: "reserved", value: -2 },
            ]
        );
        assert_eq!(found[0].to_string(), "product SKU-p2 (p2): stock is -1, expected at least 0");
    }

    #[test]
    fn every_paid_order_has_exactly_one_approved_payment() {
        let mut audit = consistent();
        audit.payments.approved_by_order.insert("o1".into(), 2);
        audit.payments.approved_by_order.remove("o2");
        let found = check(&audit);
        assert_eq!(found, [Violation::PaymentCount { order_id: "o1".into(), approved: 2 }, Violation::PaymentCount { order_id: "o2".into(), approved: 0 },]);
        assert_eq!(found[1].to_string(), "paid order o2: 0 approved payments, expected 1");
    }

    #[test]
    fn unsettled_orders_and_stray_payments_are_reported() {
        let mut audit = consistent();
        audit.payments.approved_by_order.insert("o3".into(), 1);
        audit.orders.pending_orders = vec!["o3".into()];
        audit.orders.compensations_pending = 2;
        let found = check(&audit);
        assert_eq!(
            found,
            [
                Violation::ApprovedUnpaid { order_id: "o3".into() },
                Violation::OrderPending { order_id: "o3".into() },
                Violation::CompensationsPending { count: 2 },
            ]
        );
        assert_eq!(found[0].to_string(), "order o3: an approved payment, but the order is not paid");
    }

    #[test]
    fn the_audit_body_with_recovery_figures_parses() {
        let body = r#"{
            "stock": {"products": []},
            "orders": {"paid_quantities": {}, "paid_orders": [], "pending_orders": ["o9"], "compensations_pending": 1},
            "payments": {"approved_by_order": {}}
        }"#;
        let audit: Audit = serde_json::from_str(body).unwrap();
        assert_eq!(audit.orders.pending_orders, ["o9"]);
        assert_eq!(check(&audit).len(), 2);
    }

    #[test]
    fn violations_serialize_with_their_kind() {
        let v = serde_json::to_value(Violation::PaymentCount { order_id: "o1".into(), approved: 0 }).unwrap();
        assert_eq!(v, serde_json::json!({"kind": "payment_count", "order_id": "o1", "approved": 0}));
    }
}
