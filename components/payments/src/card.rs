//! Card checks of the simulated processor: number (13-19 digits, spaces or
//! dashes allowed, Luhn), expiry not in the past, 3-4 digit cvc; the brand
//! from the number's prefix. Only the brand and the last four digits leave
//! this module.

use serde::Deserialize;
use serde_json::json;
use shop_common::ApiError;

/// The number that the processor always declines.
pub const DECLINED_NUMBER: &str = "4000000000000002";

/// A card as sent: `{"number", "exp_month", "exp_year", "cvc"}`.
#[derive(Debug, Clone, Deserialize)]
pub struct CardInput {
    pub number: String,
    pub exp_month: i64,
    pub exp_year: i64,
    pub cvc: String,
}

/// What is kept of a checked card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedCard {
    pub brand: &'static str,
    pub last4: String,
    /// The processor's answer for this card.
    pub approved: bool,
}

fn invalid(field: &str, message: &str) -> ApiError {
    ApiError::new(400, "invalid_card", format!("{field}: {message}")).with_details(json!({ "field": field }))
}

/// The digits of a card number, or `None` when it has other characters or
/// the wrong length.
pub fn digits(number: &str) -> Option<String> {
    let mut out = String::with_capacity(19);
    for c in number.trim().chars() {
        match c {
            '0'..='9' => out.push(c),
            ' ' | '-' => {}
            _ => return None,
        }
    }
    (13..=19).contains(&out.len()).then_some(out)
}

/// The Luhn checksum (ISO/IEC 7812) over ASCII digits.
pub fn luhn_valid(digits: &str) -> bool {
    let mut sum = 0u32;
    for (i, b) in digits.bytes().rev().enumerate() {
        let mut d = u32::from(b.wrapping_sub(b'0'));
        if d > 9 {
            return false;
        }
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum.is_multiple_of(10)
}

/// The card network by the number's prefix.
pub fn brand(digits: &str) -> &'static str {
    let prefix = |n: usize| digits.get(..n).and_then(|p| p.parse::<u32>().ok()).unwrap_or(0);
    if digits.starts_with('4') {
        "visa"
    } else if (51..=55).contains(&prefix(2)) || (2221..=2720).contains(&prefix(4)) {
        "mastercard"
    } else if matches!(prefix(2), 34 | 37) {
        "amex"
    } else if prefix(4) == 6011 || prefix(2) == 65 {
        "discover"
    } else {
        "unknown"
    }
}

/// Whether a card expiring at the end of `month`/`year` is still valid in
/// `now_year`/`now_month`. Two-digit years mean 20xx.
pub fn expiry_valid(month: i64, year: i64, now_year: i64, now_month: i64) -> bool {
    let year = if (0..100).contains(&year) { 2000 + year } else { year };
    (year, month) >= (now_year, now_month)
}

/// The UTC year and month of Unix time `unix_seconds`.
pub fn year_month(unix_seconds: i64) -> (i64, i64) {
    match time::OffsetDateTime::from_unix_timestamp(unix_seconds) {
        Ok(t) => (i64::from(t.year()), i64::from(u8::from(t.month()))),
        // Out of range: far in the future, so nothing has expired yet.
        Err(_) => (i64::MIN, 1),
    }
}

/// Checks `card` at time `now` (Unix seconds): 400 `invalid_card` naming
/// the field (`card.number`, `card.exp_month`, `card.exp_year`, `card.cvc`).
pub fn check(card: &CardInput, now: i64) -> Result<CheckedCard, ApiError> {
    let digits = digits(&card.number).ok_or_else(|| invalid("card.number", "must be 13 to 19 digits (spaces and dashes allowed)"))?;
    if !luhn_valid(&digits) {
        return Err(invalid("card.number", "is not a valid card number (checksum)"));
    }
    if !(1..=12).contains(&card.exp_month) {
        return Err(invalid("card.exp_month", "must be from 1 to 12"));
    }
    let year_ok = (0..100).contains(&card.exp_year) || (2000..=9999).contains(&card.exp_year);
    let (now_year, now_month) = year_month(now);
    if !year_ok || !expiry_valid(card.exp_month, card.exp_year, now_year, now_month) {
        return Err(invalid("card.exp_year", "the card has expired"));
    }
    let cvc = card.cvc.trim();
    if !(3..=4).contains(&cvc.len()) || !cvc.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid("card.cvc", "must be 3 or 4 digits"));
    }
    Ok(CheckedCard { brand: brand(&digits), last4: digits[digits.len() - 4..].to_owned(), approved: digits != DECLINED_NUMBER })
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2026-11-23T00:00:00Z
    const NOW: i64 = 1_795_392_000;

    fn card(number: &str, month: i64, year: i64, cvc: &str) -> CardInput {
        CardInput { number: number.into(), exp_month: month, exp_year: year, cvc: cvc.into() }
    }

    fn field(e: ApiError) -> String {
        assert_eq!((e.status, e.code), (400, "invalid_card"));
        e.details["field"].as_str().unwrap_or_default().to_owned()
    }

    #[test]
    fn luhn_and_length() {
        assert!(luhn_valid("4242424242424242"));
        assert!(luhn_valid("4000000000000002"));
        assert!(!luhn_valid("4242424242424241"));
        assert_eq!(digits("4242 4242-4242 4242").as_deref(), Some("4242424242424242"));
        assert_eq!(digits("4242 4242"), None, "too short");
        assert_eq!(digits(&"4".repeat(20)), None, "too long");
        assert_eq!(digits("4242x424242424242"), None);
    }

    #[test]
    fn brands_by_prefix() {
        assert_eq!(brand("4242424242424242"), "visa");
        assert_eq!(brand("5555555555554444"), "mastercard");
        assert_eq!(brand("2223003122003222"), "mastercard");
        assert_eq!(brand("2720990000000000"), "mastercard");
        assert_eq!(brand("378282246310005"), "amex");
        assert_eq!(brand("341111111111111"), "amex");
        assert_eq!(brand("6011111111111117"), "discover");
        assert_eq!(brand("6500000000000000"), "discover");
        assert_eq!(brand("3530111333300000"), "unknown");
        assert_eq!(brand("2220000000000000"), "unknown");
    }

    #[test]
    fn calendar_month_of_unix_time() {
        assert_eq!(year_month(0), (1970, 1));
        assert_eq!(year_month(NOW), (2026, 11));
        assert_eq!(year_month(951_782_400), (2000, 2)); // 2000-02-29
        assert_eq!(year_month(1_798_761_599), (2026, 12)); // 2026-12-31T23:59:59Z
    }

    #[test]
    fn expiry_this_month_is_valid_last_month_is_not() {
        assert!(expiry_valid(11, 2026, 2026, 11));
        assert!(expiry_valid(1, 27, 2026, 11));
        assert!(!expiry_valid(10, 2026, 2026, 11));
        assert!(!expiry_valid(12, 2025, 2026, 11));
    }

    #[test]
    fn each_bad_field_is_named() {
        assert_eq!(field(check(&card("4242424242424241", 12, 2030, "123"), NOW).unwrap_err()), "card.number");
        assert_eq!(field(check(&card("abc", 12, 2030, "123"), NOW).unwrap_err()), "card.number");
        assert_eq!(field(check(&card("4242424242424242", 13, 2030, "123"), NOW).unwrap_err()), "card.exp_month");
        assert_eq!(field(check(&card("4242424242424242", 0, 2030, "123"), NOW).unwrap_err()), "card.exp_month");
        assert_eq!(field(check(&card("4242424242424242", 10, 2026, "123"), NOW).unwrap_err()), "card.exp_year");
        assert_eq!(field(check(&card("4242424242424242", 10, 123, "123"), NOW).unwrap_err()), "card.exp_year");
        assert_eq!(field(check(&card("4242424242424242", 12, 2030, "12"), NOW).unwrap_err()), "card.cvc");
        assert_eq!(field(check(&card("4242424242424242", 12, 2030, "12a4"), NOW).unwrap_err()), "card.cvc");
    }

    #[test]
    fn approve_and_decline() {
        let ok = check(&card("4242 4242 4242 4242", 12, 2030, "123"), NOW).unwrap();
        assert_eq!(ok, CheckedCard { brand: "visa", last4: "4242".into(), approved: true });
        let declined = check(&card("4000-0000-0000-0002", 1, 2031, "1234"), NOW).unwrap();
        assert_eq!((declined.approved, declined.last4.as_str()), (false, "0002"));
    }
}
