//! Shipments: their statuses, the moves between them, tracking numbers, and
//! the JSON shape.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    LabelCreated,
    InTransit,
    Delivered,
    Cancelled,
}

impl Status {
    pub const ALL: [Status; 4] = [Status::LabelCreated, Status::InTransit, Status::Delivered, Status::Cancelled];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::LabelCreated => "label_created",
            Status::InTransit => "in_transit",
            Status::Delivered => "delivered",
            Status::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// The tracking moves an admin may record: the parcel goes forward one
    /// step at a time. Cancelling is not one of them: only a cancelled order
    /// cancels its shipment.
    pub fn can_advance_to(self, next: Status) -> bool {
        matches!((self, next), (Status::LabelCreated, Status::InTransit) | (Status::InTransit, Status::Delivered))
    }

    /// A cancelled order stops its parcel only while the parcel has not left.
    pub fn can_cancel(self) -> bool {
        self == Status::LabelCreated
    }
}

/// `SK` and ten upper-case letters and digits, from the random tail of a
/// UUIDv7 (its head is the time, the same for ids made in one millisecond).
pub fn tracking_number(id: &str) -> String {
    const ALPHABET: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let hex: String = id.chars().filter(char::is_ascii_hexdigit).collect();
    // The last 14 hex digits (56 bits) are random in a UUIDv7.
    let tail = &hex[hex.len().saturating_sub(14)..];
    let mut n = u64::from_str_radix(tail, 16).unwrap_or(0);
    let mut out = String::from("SK");
    for _ in 0..10 {
        out.push(char::from(ALPHABET[(n % 36) as usize]));
        n /= 36;
    }
    out
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShipmentEvent {
    pub status: String,
    pub note: Option<String>,
    /// RFC 3339.
    pub at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Shipment {
    pub id: String,
    pub order_id: String,
    pub user_id: String,
    pub status: String,
    pub tracking_number: String,
    /// Oldest first.
    pub events: Vec<ShipmentEvent>,
    pub created_at: String,
    pub updated_at: String,
}

impl Shipment {
    /// The `shipment.updated` event's data.
    pub fn event_data(&self) -> serde_json::Value {
        serde_json::json!({
            "shipment_id": self.id,
            "order_id": self.order_id,
            "user_id": self.user_id,
            "status": self.status,
            "tracking_number": self.tracking_number,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
        assert_eq!(Status::parse("lost"), None);
    }

    #[test]
    fn parcels_only_move_forward_one_step() {
        use Status::*;
        let allowed: Vec<(Status, Status)> =
            Status::ALL.into_iter().flat_map(|a| Status::ALL.into_iter().map(move |b| (a, b))).filter(|(a, b)| a.can_advance_to(*b)).collect();
        assert_eq!(allowed, vec![(LabelCreated, InTransit), (InTransit, Delivered)]);
        assert!(LabelCreated.can_cancel());
        assert!(!InTransit.can_cancel() && !Delivered.can_cancel() && !Cancelled.can_cancel());
    }

    #[test]
    fn tracking_numbers_are_sk_and_ten_characters() {
        let a = tracking_number(&shop_common::id::new_id());
        let b = tracking_number(&shop_common::id::new_id());
        assert_eq!(a.len(), 12);
        assert!(a.starts_with("SK") && a[2..].bytes().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()), "{a}");
        assert_ne!(a, b);
        assert_eq!(tracking_number("0192f0c2-0000-7000-8000-000000000000"), "SK0000000000");
    }
}
