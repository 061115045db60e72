//! Reading JSON request bodies: a body that is not JSON, or a field that is
//! missing or of the wrong type, is a 400 that names the field.

use serde::de::DeserializeOwned;
use serde_json::json;

use crate::error::ApiError;

/// Parses `body` as a `T`; the error names the field path (`items[0].quantity`).
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request("expected a JSON body"));
    }
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() || path == "." {
            ApiError::from(inner)
        } else {
            ApiError::invalid_field(&path, format!("{path}: {inner}"))
                .with_details(json!({ "field": path, "line": inner.line(), "column": inner.column() }))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct Item {
        sku: String,
        quantity: u32,
    }

    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct Order {
        items: Vec<Item>,
    }

    #[test]
    fn wrong_types_name_the_field() {
        let err = parse::<Order>(br#"{"items": [{"sku": "A", "quantity": "two"}]}"#).unwrap_err();
        assert_eq!((err.status, err.code), (400, "invalid_field"));
        assert_eq!(err.details["field"], "items[0].quantity");
        let err = parse::<Order>(br#"{"items": [{"sku": "A"}]}"#).unwrap_err();
        assert!(err.message.contains("quantity"), "{}", err.message);
    }

    #[test]
    fn not_json_and_empty_bodies_are_bad_requests() {
        for body in [&b"{"[..], b"nope", b"", b"  "] {
            let err = parse::<Order>(body).unwrap_err();
            assert_eq!((err.status, err.code), (400, "bad_request"), "{body:?}");
        }
        assert_eq!(parse::<Order>(br#"{"items": []}"#).unwrap().items.len(), 0);
    }
}
