//! Money as an integer count of minor units (cents) with an ISO 4217
//! currency code; never floating point. Arithmetic is checked: an overflow
//! is an error, not a wrapped total. Percentages are in basis points and
//! round half away from zero.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A three-letter upper-case currency code (`EUR`, `USD`, `JPY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency([u8; 3]);

impl Currency {
    pub fn parse(code: &str) -> Result<Self, String> {
        match code.as_bytes() {
            [a, b, c] if [a, b, c].iter().all(|x| x.is_ascii_uppercase()) => Ok(Currency([*a, *b, *c])),
            _ => Err(format!("{code:?} is not a currency code (three upper-case letters, such as EUR)")),
        }
    }

    pub fn code(&self) -> &str {
        std::str::from_utf8(&self.0).expect("ASCII by construction")
    }

    /// Digits after the decimal point (ISO 4217): 0 for JPY, KRW and the
    /// like, 3 for BHD, KWD, OMR, JOD, TND, 2 for the rest.
    pub fn minor_digits(&self) -> u32 {
        match self.code() {
            "JPY" | "KRW" | "VND" | "CLP" | "ISK" | "XAF" | "XOF" => 0,
            "BHD" | "KWD" | "OMR" | "JOD" | "TND" => 3,
            _ => 2,
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let code = String::deserialize(d)?;
        Currency::parse(&code).map_err(serde::de::Error::custom)
    }
}

/// An amount: `{"amount": 1999, "currency": "EUR"}` is 19.99 EUR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    /// Minor units; negative for discounts and refunds.
    pub amount: i64,
    pub currency: Currency,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MoneyError {
    CurrencyMismatch(Currency, Currency),
    Overflow,
}

impl fmt::Display for MoneyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MoneyError::CurrencyMismatch(a, b) => write!(f, "cannot combine {a} and {b} amounts"),
            MoneyError::Overflow => f.write_str("amount out of range"),
        }
    }
}

impl std::error::Error for MoneyError {}

impl Money {
    pub fn new(amount: i64, currency: Currency) -> Self {
        Money { amount, currency }
    }

    pub fn zero(currency: Currency) -> Self {
        Money { amount: 0, currency }
    }

    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::CurrencyMismatch(self.currency, other.currency));
        }
        let amount = self.amount.checked_add(other.amount).ok_or(MoneyError::Overflow)?;
        Ok(Money { amount, currency: self.currency })
    }

    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.checked_add(Money { amount: other.amount.checked_neg().ok_or(MoneyError::Overflow)?, currency: other.currency })
    }

    /// This amount times a quantity.
    pub fn times(self, quantity: u32) -> Result<Money, MoneyError> {
        let amount = self.amount.checked_mul(i64::from(quantity)).ok_or(MoneyError::Overflow)?;
        Ok(Money { amount, currency: self.currency })
    }

    /// `basis_points` / 10,000 of this amount (1250 = 12.5%), rounded half
    /// away from zero to a whole minor unit.
    pub fn percent_bp(self, basis_points: u32) -> Result<Money, MoneyError> {
        let scaled = i128::from(self.amount) * i128::from(basis_points);
        let rounded = (scaled.abs() + 5_000) / 10_000 * scaled.signum();
        let amount = i64::try_from(rounded).map_err(|_| MoneyError::Overflow)?;
        Ok(Money { amount, currency: self.currency })
    }
}

impl fmt::Display for Money {
    /// `19.99 EUR`, `1500 JPY`, `-0.05 USD`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.currency.minor_digits();
        let sign = if self.amount < 0 { "-" } else { "" };
        let abs = self.amount.unsigned_abs();
        if digits == 0 {
            return write!(f, "{sign}{abs} {}", self.currency);
        }
        let unit = 10u64.pow(digits);
        write!(f, "{sign}{}.{:0width$} {}", abs / unit, abs % unit, self.currency, width = digits as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur(amount: i64) -> Money {
        Money::new(amount, Currency::parse("EUR").unwrap())
    }

    #[test]
    fn currency_codes_are_three_upper_case_letters() {
        assert_eq!(Currency::parse("EUR").unwrap().code(), "EUR");
        for bad in ["eur", "EU", "EURO", "E1R", ""] {
            assert!(Currency::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn adding_different_currencies_is_an_error() {
        let usd = Money::new(1, Currency::parse("USD").unwrap());
        assert!(matches!(eur(1).checked_add(usd), Err(MoneyError::CurrencyMismatch(..))));
        assert_eq!(eur(150).checked_add(eur(-50)).unwrap(), eur(100));
        assert_eq!(eur(150).checked_sub(eur(200)).unwrap(), eur(-50));
    }

    #[test]
    fn overflow_is_an_error_not_a_wrap() {
        assert_eq!(eur(i64::MAX).checked_add(eur(1)), Err(MoneyError::Overflow));
        assert_eq!(eur(i64::MAX / 2 + 1).times(2), Err(MoneyError::Overflow));
        assert_eq!(eur(1999).times(3).unwrap(), eur(5997));
    }

    #[test]
    fn percentages_round_half_away_from_zero() {
        assert_eq!(eur(1000).percent_bp(1250).unwrap(), eur(125));
        assert_eq!(eur(5).percent_bp(1000).unwrap(), eur(1)); // 0.5 -> 1
        assert_eq!(eur(4).percent_bp(1000).unwrap(), eur(0)); // 0.4 -> 0
        assert_eq!(eur(-5).percent_bp(1000).unwrap(), eur(-1));
        assert_eq!(eur(1999).percent_bp(2000).unwrap(), eur(400)); // 399.8
    }

    #[test]
    fn display_uses_the_currencys_minor_digits() {
        assert_eq!(eur(1999).to_string(), "19.99 EUR");
        assert_eq!(eur(-5).to_string(), "-0.05 EUR");
        assert_eq!(Money::new(1500, Currency::parse("JPY").unwrap()).to_string(), "1500 JPY");
        assert_eq!(Money::new(1234, Currency::parse("KWD").unwrap()).to_string(), "1.234 KWD");
    }

    #[test]
    fn json_is_amount_and_code() {
        let json = serde_json::to_string(&eur(1999)).unwrap();
        assert_eq!(json, r#"{"amount":1999,"currency":"EUR"}"#);
        assert_eq!(serde_json::from_str::<Money>(&json).unwrap(), eur(1999));
        assert!(serde_json::from_str::<Money>(r#"{"amount":1.5,"currency":"EUR"}"#).is_err(), "no floats");
        assert!(serde_json::from_str::<Money>(r#"{"amount":1,"currency":"euro"}"#).is_err());
    }
}
