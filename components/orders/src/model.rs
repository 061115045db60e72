//! What an order is: its shape in the API, its statuses and the moves
//! between them.

use serde::{Deserialize, Serialize};
use shop_common::ApiError;
use shop_common::money::Money;

/// `{"name", "line1", "line2"?, "city", "postal_code", "country"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Address {
    pub name: String,
    pub line1: String,
    #[serde(default)]
    pub line2: Option<String>,
    pub city: String,
    pub postal_code: String,
    /// ISO 3166-1 alpha-2, upper case.
    pub country: String,
}

impl Address {
    /// 400 naming the field (`shipping_address.city`) when one is empty,
    /// too long, or the country is not two upper-case letters.
    pub fn validate(&self, prefix: &str) -> Result<(), ApiError> {
        let required = [("name", &self.name), ("line1", &self.line1), ("city", &self.city), ("postal_code", &self.postal_code)];
        for (name, value) in required.into_iter().chain(self.line2.as_ref().map(|l| ("line2", l))) {
            let field = format!("{prefix}.{name}");
            if name != "line2" && value.trim().is_empty() {
                return Err(ApiError::invalid_field(&field, format!("`{field}` must not be empty")));
            }
            if value.chars().count() > 200 {
                return Err(ApiError::invalid_field(&field, format!("`{field}` must be at most 200 characters")));
            }
        }
        if !(self.country.len() == 2 && self.country.bytes().all(|b| b.is_ascii_uppercase())) {
            let field = format!("{prefix}.country");
            return Err(ApiError::invalid_field(&field, format!("`{field}` must be an ISO 3166-1 alpha-2 code in upper case, such as DE")));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pending,
    Paid,
    PaymentFailed,
    Cancelled,
    Shipped,
    Delivered,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Paid => "paid",
            Status::PaymentFailed => "payment_failed",
            Status::Cancelled => "cancelled",
            Status::Shipped => "shipped",
            Status::Delivered => "delivered",
        }
    }

    pub fn parse(text: &str) -> Result<Status, ApiError> {
        Ok(match text {
            "pending" => Status::Pending,
            "paid" => Status::Paid,
            "payment_failed" => Status::PaymentFailed,
            "cancelled" => Status::Cancelled,
            "shipped" => Status::Shipped,
            "delivered" => Status::Delivered,
            other => return Err(ApiError::internal(format!("unknown order status {other:?} in the database"))),
        })
    }

    /// The status a shipment's new status moves an order to, if any: only
    /// forwards (paid → shipped → delivered), never out of cancelled.
    pub fn after_shipment(self, shipment_status: &str) -> Option<Status> {
        match (self, shipment_status) {
            (Status::Paid, "in_transit") => Some(Status::Shipped),
            (Status::Paid | Status::Shipped, "delivered") => Some(Status::Delivered),
            _ => None,
        }
    }

    /// What cancelling an order in this status takes.
    pub fn cancel_plan(self) -> CancelPlan {
        match self {
            Status::Pending | Status::PaymentFailed => CancelPlan::Release,
            Status::Paid => CancelPlan::RefundAndRelease,
            Status::Cancelled => CancelPlan::AlreadyCancelled,
            Status::Shipped | Status::Delivered => CancelPlan::TooLate,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelPlan {
    /// Not paid (yet): give back the stock, refund a charge it may have.
    Release,
    /// Paid: refund the payment, give the stock back, tell the consumers.
    RefundAndRelease,
    AlreadyCancelled,
    /// Shipped or delivered: 409.
    TooLate,
}

/// Where the order's stock reservation at the catalog stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stock {
    Reserved,
    Committed,
    Released,
}

impl Stock {
    pub fn as_str(self) -> &'static str {
        match self {
            Stock::Reserved => "reserved",
            Stock::Committed => "committed",
            Stock::Released => "released",
        }
    }

    pub fn parse(text: &str) -> Stock {
        match text {
            "committed" => Stock::Committed,
            "released" => Stock::Released,
            _ => Stock::Reserved,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderItem {
    pub product_id: String,
    pub sku: String,
    pub name: String,
    pub quantity: u32,
    pub unit_price: Money,
    pub line_total: Money,
}

/// The pricing service's quote, as shown on the order.
pub use shop_common::pricing::Quote;

/// `{"id", "status", "brand", "last4"}` of the order's payment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaymentInfo {
    pub id: String,
    pub status: String,
    pub brand: String,
    pub last4: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Order {
    pub id: String,
    pub user_id: String,
    pub status: Status,
    pub items: Vec<OrderItem>,
    pub shipping_address: Address,
    pub quote: Quote,
    pub payment: Option<PaymentInfo>,
    pub created_at: String,
    pub updated_at: String,
}

impl Order {
    /// Its lines as the cart counts them: `[{product_id, quantity}]` (a
    /// placement taking them out, a compensation giving them back).
    pub fn cart_lines(&self) -> Vec<serde_json::Value> {
        self.items.iter().map(|i| serde_json::json!({ "product_id": i.product_id, "quantity": i.quantity })).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipments_move_orders_forwards_only() {
        assert_eq!(Status::Paid.after_shipment("in_transit"), Some(Status::Shipped));
        assert_eq!(Status::Shipped.after_shipment("delivered"), Some(Status::Delivered));
        assert_eq!(Status::Paid.after_shipment("delivered"), Some(Status::Delivered));
        assert_eq!(Status::Delivered.after_shipment("in_transit"), None, "never backwards");
        assert_eq!(Status::Shipped.after_shipment("in_transit"), None);
        assert_eq!(Status::Cancelled.after_shipment("delivered"), None, "never out of cancelled");
        assert_eq!(Status::Pending.after_shipment("in_transit"), None);
        assert_eq!(Status::Paid.after_shipment("label_created"), None);
    }

    #[test]
    fn what_cancelling_takes() {
        assert_eq!(Status::Pending.cancel_plan(), CancelPlan::Release);
        assert_eq!(Status::PaymentFailed.cancel_plan(), CancelPlan::Release);
        assert_eq!(Status::Paid.cancel_plan(), CancelPlan::RefundAndRelease);
        assert_eq!(Status::Cancelled.cancel_plan(), CancelPlan::AlreadyCancelled);
        assert_eq!(Status::Shipped.cancel_plan(), CancelPlan::TooLate);
        assert_eq!(Status::Delivered.cancel_plan(), CancelPlan::TooLate);
    }

    #[test]
    fn statuses_round_trip() {
        for s in [Status::Pending, Status::Paid, Status::PaymentFailed, Status::Cancelled, Status::Shipped, Status::Delivered] {
            assert_eq!(Status::parse(s.as_str()).unwrap(), s);
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
    }

    #[test]
    fn addresses_name_the_bad_field() {
        let mut a =
            Address { name: "Ada".into(), line1: "1 Main St".into(), line2: None, city: "Berlin".into(), postal_code: "10115".into(), country: "DE".into() };
        assert!(a.validate("shipping_address").is_ok());
        a.country = "de".into();
        assert_eq!(a.validate("shipping_address").unwrap_err().details["field"], "shipping_address.country");
        a.country = "DE".into();
        a.city = " ".into();
        assert_eq!(a.validate("shipping_address").unwrap_err().details["field"], "shipping_address.city");
    }
}
