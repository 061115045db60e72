//! The one error shape of the public API:
//! `{"error": {"code": "out_of_stock", "message": "...", "details": {...}}}`
//! with the HTTP status that goes with it.

use serde_json::{Value, json};

#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: u16,
    /// A stable snake_case code clients can branch on.
    pub code: &'static str,
    /// For people; may change.
    pub message: String,
    pub details: Value,
    /// Seconds, for 429 and 503 (`Retry-After`).
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into(), details: json!({}), retry_after: None }
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    /// 400: the request cannot be read (its body broke off, say).
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "bad_request", message)
    }

    /// 400: the body is not one well-formed JSON value (see `json::parse`).
    pub fn invalid_json(message: impl Into<String>) -> Self {
        Self::new(400, "invalid_json", message)
    }

    /// 400 naming the field that is wrong.
    pub fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        Self::new(400, "invalid_field", message).with_details(json!({ "field": field }))
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(401, "unauthorized", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(403, "forbidden", message)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(404, "not_found", format!("{what} not found"))
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(409, code, message)
    }

    pub fn payload_too_large(limit_bytes: usize) -> Self {
        Self::new(413, "payload_too_large", format!("the body is larger than {limit_bytes} bytes")).with_details(json!({ "limit_bytes": limit_bytes }))
    }

    /// 422: well-formed, but breaks a rule (a quantity of zero, an expired promo code).
    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(422, code, message)
    }

    pub fn too_many_requests(retry_after: u64) -> Self {
        let mut e = Self::new(429, "rate_limited", format!("too many requests; retry in {retry_after} s"));
        e.retry_after = Some(retry_after);
        e
    }

    /// 502: a service this one needs answered wrongly or not at all.
    pub fn bad_gateway(service: &str, message: impl Into<String>) -> Self {
        Self::new(502, "upstream_failed", message).with_details(json!({ "service": service }))
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(503, "unavailable", message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "internal", message)
    }

    /// The response body.
    pub fn body(&self) -> Value {
        json!({ "error": { "code": self.code, "message": self.message, "details": self.details } })
    }

    /// The body as bytes, ready to send.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(&self.body()).expect("a JSON value always serialises")
    }
}

/// Every error code the shop's services answer with. An error passed on
/// from another service keeps its code when it is one of these.
pub const CODES: &[&str] = &[
    "bad_request",
    "invalid_json",
    "invalid_field",
    "unauthorized",
    "invalid_token",
    "forbidden",
    "not_found",
    "method_not_allowed",
    "conflict",
    "email_taken",
    "out_of_stock",
    "invalid_state",
    "idempotency_conflict",
    "idempotency_key_reused",
    "payload_too_large",
    "unprocessable",
    "invalid_card",
    "payment_declined",
    "unknown_promo_code",
    "unsupported_country",
    "empty_cart",
    "product_inactive",
    "rate_limited",
    "upstream_failed",
    "unavailable",
    "internal",
];

/// `code` as one of [`CODES`], or `upstream_error` if it is not one.
pub fn known_code(code: &str) -> &'static str {
    CODES.iter().find(|c| **c == code).copied().unwrap_or("upstream_error")
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

impl From<serde_json::Error> for ApiError {
    /// A body that is not well-formed JSON: 400, with where it went wrong.
    fn from(e: serde_json::Error) -> Self {
        ApiError::invalid_json(format!("invalid JSON body: {e}")).with_details(json!({ "line": e.line(), "column": e.column() }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_has_the_one_error_shape() {
        let e = ApiError::conflict("out_of_stock", "not enough stock").with_details(json!({ "skus": ["A-1"] }));
        assert_eq!(e.status, 409);
        assert_eq!(e.body(), json!({ "error": { "code": "out_of_stock", "message": "not enough stock", "details": { "skus": ["A-1"] } } }));
        let parsed: Value = serde_json::from_slice(&e.to_bytes()).unwrap();
        assert_eq!(parsed, e.body());
    }

    #[test]
    fn bad_json_is_a_400_saying_where() {
        let err: ApiError = serde_json::from_str::<Value>("{\"a\": ").unwrap_err().into();
        assert_eq!((err.status, err.code), (400, "invalid_json"));
        assert!(err.message.starts_with("invalid JSON body"), "{}", err.message);
        assert_eq!(err.details["line"], 1);
    }

    #[test]
    fn rate_limit_carries_retry_after() {
        let e = ApiError::too_many_requests(3);
        assert_eq!((e.status, e.retry_after), (429, Some(3)));
    }

    #[test]
    fn codes_from_other_services_are_kept_only_when_known() {
        assert_eq!(known_code("out_of_stock"), "out_of_stock");
        assert_eq!(known_code("made_up"), "upstream_error");
    }

    #[test]
    fn invalid_field_names_the_field() {
        let e = ApiError::invalid_field("quantity", "must be at least 1");
        assert_eq!(e.details["field"], "quantity");
        assert_eq!(e.status, 400);
    }
}
