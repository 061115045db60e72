//! What a user may send: email, password, display name and shipping
//! address, each checked and normalised here, with a 400 naming the field
//! when it is wrong.

use serde::{Deserialize, Serialize};
use shop_common::ApiError;

pub const MAX_EMAIL_LEN: usize = 254;
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Long enough for any passphrase, short enough that hashing stays cheap.
pub const MAX_PASSWORD_CHARS: usize = 1024;
pub const MAX_NAME_CHARS: usize = 200;
/// Each line of an address.
pub const MAX_ADDRESS_FIELD_CHARS: usize = 200;

/// The email trimmed and lower-cased, if it looks like one: a single `@`
/// between a non-empty local part and a domain with a dot in it, no spaces.
/// Deliverability is not checked; the lower-casing is what makes addresses
/// unique case-insensitively.
pub fn email(raw: &str) -> Result<String, ApiError> {
    let email = raw.trim().to_lowercase();
    let bad = |why: &str| Err(ApiError::invalid_field("email", format!("email {why}")));
    if email.is_empty() {
        return bad("is required");
    }
    if email.len() > MAX_EMAIL_LEN {
        return bad(&format!("is longer than {MAX_EMAIL_LEN} characters"));
    }
    if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("must not contain spaces");
    }
    let Some((local, domain)) = email.split_once('@') else {
        return bad("must contain an @");
    };
    if domain.contains('@') {
        return bad("must contain a single @");
    }
    if local.is_empty() {
        return bad("needs a name before the @");
    }
    if !domain.contains('.') || domain.starts_with('.') || domain.ends_with('.') || domain.contains("..") {
        return bad("needs a domain with a dot after the @ (like example.com)");
    }
    Ok(email)
}

/// A new password: 10 to 1024 characters. Kept as given (not trimmed).
pub fn password(password: &str) -> Result<(), ApiError> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        return Err(ApiError::invalid_field("password", format!("password must have at least {MIN_PASSWORD_CHARS} characters")));
    }
    if n > MAX_PASSWORD_CHARS {
        return Err(ApiError::invalid_field("password", format!("password must have at most {MAX_PASSWORD_CHARS} characters")));
    }
    Ok(())
}

/// A display name, trimmed; empty means none.
pub fn name(raw: Option<&str>) -> Result<Option<String>, ApiError> {
    let Some(name) = raw.map(str::trim).filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(ApiError::invalid_field("name", format!("name must have at most {MAX_NAME_CHARS} characters")));
    }
    Ok(Some(name.to_owned()))
}

/// A shipping address (docs/shop.md "Address").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Address {
    pub name: String,
    pub line1: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    pub city: String,
    pub postal_code: String,
    /// ISO 3166-1 alpha-2, upper case.
    pub country: String,
}

/// The address with its fields trimmed and the country upper-cased; the
/// recipient's name, line1, city and postal code must not be empty.
pub fn address(raw: Address) -> Result<Address, ApiError> {
    let required = |field: &str, value: &str| -> Result<String, ApiError> {
        let field = format!("shipping_address.{field}");
        let value = value.trim();
        if value.is_empty() {
            return Err(ApiError::invalid_field(&field, format!("{field} must not be empty")));
        }
        if value.chars().count() > MAX_ADDRESS_FIELD_CHARS {
            return Err(ApiError::invalid_field(&field, format!("{field} must have at most {MAX_ADDRESS_FIELD_CHARS} characters")));
        }
        Ok(value.to_owned())
    };
    let line2 = match raw.line2.as_deref().map(str::trim).filter(|l| !l.is_empty()) {
        Some(line) => Some(required("line2", line)?),
        None => None,
    };
    let country = raw.country.trim().to_ascii_uppercase();
    if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(ApiError::invalid_field(
            "shipping_address.country",
            format!("shipping_address.country must be a two-letter ISO 3166-1 code like \"DE\"; got {:?}", raw.country),
        ));
    }
    Ok(Address {
        name: required("name", &raw.name)?,
        line1: required("line1", &raw.line1)?,
        line2,
        city: required("city", &raw.city)?,
        postal_code: required("postal_code", &raw.postal_code)?,
        country,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_lower_cased_and_checked() {
        assert_eq!(email("  Alice@Example.COM ").unwrap(), "alice@example.com");
        for bad in
            ["", "   ", "alice", "@example.com", "alice@", "alice@example", "a@b@example.com", "al ice@example.com", "alice@.com", "alice@example.", "a@x..com"]
        {
            let err = email(bad).unwrap_err();
            assert_eq!((err.status, err.code), (400, "invalid_field"), "{bad:?}");
            assert_eq!(err.details["field"], "email");
        }
        let long = format!("{}@example.com", "a".repeat(MAX_EMAIL_LEN));
        assert!(email(&long).unwrap_err().message.contains("254"));
    }

    #[test]
    fn passwords_need_ten_characters_not_bytes() {
        assert!(password("0123456789").is_ok());
        assert_eq!(password("012345678").unwrap_err().details["field"], "password");
        // Nine characters but more than ten bytes.
        assert!(password(&"ä".repeat(9)).is_err());
        assert!(password("ä".repeat(10).as_str()).is_ok());
        assert!(password(&"x".repeat(MAX_PASSWORD_CHARS + 1)).is_err());
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(name(Some("  Ada ")).unwrap().as_deref(), Some("Ada"));
        assert_eq!(name(Some("   ")).unwrap(), None);
        assert_eq!(name(None).unwrap(), None);
        assert_eq!(name(Some(&"n".repeat(201))).unwrap_err().details["field"], "name");
    }

    fn sample() -> Address {
        Address {
            name: " Ada Lovelace ".into(),
            line1: "1 Main St".into(),
            line2: Some("  ".into()),
            city: "Berlin".into(),
            postal_code: "10115".into(),
            country: "de".into(),
        }
    }

    #[test]
    fn addresses_are_normalised() {
        let a = address(sample()).unwrap();
        assert_eq!((a.name.as_str(), a.country.as_str(), a.line2.clone()), ("Ada Lovelace", "DE", None));
        let json = serde_json::to_value(&a).unwrap();
        assert!(json.get("line2").is_none());
    }

    #[test]
    fn addresses_name_the_bad_field() {
        for (field, change) in [
            ("line1", Box::new(|a: &mut Address| a.line1 = " ".into()) as Box<dyn Fn(&mut Address)>),
            ("city", Box::new(|a: &mut Address| a.city = String::new())),
            ("postal_code", Box::new(|a: &mut Address| a.postal_code = String::new())),
            ("name", Box::new(|a: &mut Address| a.name = String::new())),
            ("country", Box::new(|a: &mut Address| a.country = "DEU".into())),
            ("country", Box::new(|a: &mut Address| a.country = "D1".into())),
            ("country", Box::new(|a: &mut Address| a.country = "ÄÖ".into())),
        ] {
            let mut a = sample();
            change(&mut a);
            let err = address(a).unwrap_err();
            assert_eq!(err.details["field"], format!("shipping_address.{field}"), "{}", err.message);
        }
    }
}
