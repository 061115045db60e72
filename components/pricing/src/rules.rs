//! The shop's pricing rules, in plain Rust: subtotal, promo codes, shipping
//! by weight and destination, tax by destination, total. All amounts are
//! integer minor units of the cart's one currency; rates below are in minor
//! units of that currency.

use shop_common::money::{Currency, Money, MoneyError};

pub use shop_common::pricing::QuoteLine as Line;

pub struct QuoteRequest {
    pub lines: Vec<Line>,
    pub country: String,
    pub promo_code: Option<String>,
}

pub use shop_common::pricing::Quote;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PricingError {
    Empty,
    MixedCurrencies,
    InvalidLine(String),
    UnknownPromoCode(String),
    UnsupportedCountry(String),
    Overflow,
}

impl From<MoneyError> for PricingError {
    fn from(e: MoneyError) -> Self {
        match e {
            MoneyError::CurrencyMismatch(..) => PricingError::MixedCurrencies,
            MoneyError::Overflow => PricingError::Overflow,
        }
    }
}

enum Promo {
    /// Basis points off the subtotal (1000 = 10%).
    Percent(u32),
    /// A fixed amount off, never more than the subtotal.
    Fixed(i64),
}

/// The promo codes on offer, matched case-insensitively.
fn promo(code: &str) -> Option<Promo> {
    match code {
        "WELCOME10" => Some(Promo::Percent(1000)),
        "SPRING25" => Some(Promo::Percent(2500)),
        "SAVE5" => Some(Promo::Fixed(500)),
        _ => None,
    }
}

struct Destination {
    /// Tax in basis points (1900 = 19%).
    tax_bp: u32,
    /// Shipping: this much for the first kilogram...
    base: i64,
    /// ...and this much for each further started kilogram.
    per_kg: i64,
    /// Free shipping from this discounted subtotal on, if any.
    free_from: Option<i64>,
}

fn destination(country: &str) -> Option<Destination> {
    let eu = |tax_bp| Destination { tax_bp, base: 490, per_kg: 100, free_from: Some(5000) };
    match country {
        "DE" => Some(eu(1900)),
        "FR" => Some(eu(2000)),
        "NL" => Some(eu(2100)),
        "IT" => Some(eu(2200)),
        "ES" => Some(eu(2100)),
        "GB" => Some(Destination { tax_bp: 2000, base: 990, per_kg: 200, free_from: None }),
        "US" => Some(Destination { tax_bp: 0, base: 1490, per_kg: 300, free_from: None }),
        _ => None,
    }
}

pub fn price(request: &QuoteRequest) -> Result<Quote, PricingError> {
    let first = request.lines.first().ok_or(PricingError::Empty)?;
    let currency: Currency = first.unit_price.currency;
    let dest = destination(&request.country.to_ascii_uppercase()).ok_or_else(|| PricingError::UnsupportedCountry(request.country.clone()))?;

    let mut subtotal = Money::zero(currency);
    let mut grams: u64 = 0;
    for line in &request.lines {
        if line.quantity == 0 {
            return Err(PricingError::InvalidLine(format!("{}: quantity must be at least 1", line.sku)));
        }
        if line.unit_price.amount < 0 {
            return Err(PricingError::InvalidLine(format!("{}: a price cannot be negative", line.sku)));
        }
        subtotal = subtotal.checked_add(line.unit_price.times(line.quantity)?)?;
        grams += u64::from(line.weight_grams) * u64::from(line.quantity);
    }

    let (discount, promo_code) = match &request.promo_code {
        None => (Money::zero(currency), None),
        Some(code) => {
            let normalised = code.trim().to_ascii_uppercase();
            let off = match promo(&normalised).ok_or_else(|| PricingError::UnknownPromoCode(code.clone()))? {
                Promo::Percent(bp) => subtotal.percent_bp(bp)?.amount,
                Promo::Fixed(amount) => amount.min(subtotal.amount),
            };
            (Money::new(-off, currency), Some(normalised))
        }
    };
    let discounted = subtotal.checked_add(discount)?;

    let shipping = match dest.free_from {
        Some(threshold) if discounted.amount >= threshold => Money::zero(currency),
        _ => {
            let extra_kg = grams.saturating_sub(1000).div_ceil(1000);
            let extra = i64::try_from(extra_kg).map_err(|_| PricingError::Overflow)?;
            let amount = extra.checked_mul(dest.per_kg).and_then(|e| e.checked_add(dest.base)).ok_or(PricingError::Overflow)?;
            Money::new(amount, currency)
        }
    };
    let taxable = discounted.checked_add(shipping)?;
    let tax = taxable.percent_bp(dest.tax_bp)?;
    let total = taxable.checked_add(tax)?;
    Ok(Quote { subtotal, discount, shipping, tax, total, promo_code })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur(amount: i64) -> Money {
        Money::new(amount, Currency::parse("EUR").unwrap())
    }

    fn line(sku: &str, price: i64, quantity: u32, grams: u32) -> Line {
        Line { sku: sku.into(), unit_price: eur(price), quantity, weight_grams: grams }
    }

    fn request(lines: Vec<Line>, country: &str, promo: Option<&str>) -> QuoteRequest {
        QuoteRequest { lines, country: country.into(), promo_code: promo.map(str::to_owned) }
    }

    #[test]
    fn a_small_german_order_pays_shipping_and_vat_on_both() {
        let q = price(&request(vec![line("MUG", 1250, 2, 400)], "DE", None)).unwrap();
        assert_eq!(q.subtotal, eur(2500));
        assert_eq!(q.discount, eur(0));
        assert_eq!(q.shipping, eur(490)); // 800 g: first kilogram only
        assert_eq!(q.tax, eur(568)); // 19% of 2990 = 568.1
        assert_eq!(q.total, eur(3558));
    }

    #[test]
    fn each_started_kilogram_after_the_first_costs_more() {
        let q = price(&request(vec![line("ANVIL", 1000, 1, 2500)], "US", None)).unwrap();
        assert_eq!(q.shipping, eur(1490 + 2 * 300));
        assert_eq!(q.tax, eur(0));
        assert_eq!(q.total, eur(1000 + 2090));
    }

    #[test]
    fn shipping_is_free_in_the_eu_from_fifty_after_discount() {
        let q = price(&request(vec![line("LAMP", 5000, 1, 3000)], "FR", None)).unwrap();
        assert_eq!(q.shipping, eur(0));
        // 10% off takes it under the threshold again.
        let q = price(&request(vec![line("LAMP", 5000, 1, 3000)], "FR", Some("welcome10"))).unwrap();
        assert_eq!(q.discount, eur(-500));
        assert_eq!(q.shipping, eur(490 + 2 * 100));
        assert_eq!(q.promo_code.as_deref(), Some("WELCOME10"));
    }

    #[test]
    fn a_fixed_promo_never_takes_the_subtotal_below_zero() {
        let q = price(&request(vec![line("PEN", 300, 1, 10)], "DE", Some("SAVE5"))).unwrap();
        assert_eq!(q.discount, eur(-300));
        assert_eq!(q.subtotal.checked_add(q.discount).unwrap(), eur(0));
        assert_eq!(q.total, eur(490 + 93)); // shipping and its VAT (19% of 490 = 93.1)
    }

    #[test]
    fn bad_requests_say_what_is_wrong() {
        assert_eq!(price(&request(vec![], "DE", None)), Err(PricingError::Empty));
        assert_eq!(price(&request(vec![line("MUG", 100, 1, 1)], "XX", None)), Err(PricingError::UnsupportedCountry("XX".into())));
        assert_eq!(price(&request(vec![line("MUG", 100, 1, 1)], "DE", Some("FREEBIE"))), Err(PricingError::UnknownPromoCode("FREEBIE".into())));
        assert!(matches!(price(&request(vec![line("MUG", 100, 0, 1)], "DE", None)), Err(PricingError::InvalidLine(m)) if m.contains("MUG")));
        assert!(matches!(price(&request(vec![line("MUG", -1, 1, 1)], "DE", None)), Err(PricingError::InvalidLine(_))));
        let usd = Line { sku: "CAP".into(), unit_price: Money::new(100, Currency::parse("USD").unwrap()), quantity: 1, weight_grams: 1 };
        assert_eq!(price(&request(vec![line("MUG", 100, 1, 1), usd], "DE", None)), Err(PricingError::MixedCurrencies));
        assert_eq!(price(&request(vec![line("GOLD", i64::MAX, 2, 1)], "DE", None)), Err(PricingError::Overflow));
    }

    #[test]
    fn country_codes_are_case_insensitive() {
        assert!(price(&request(vec![line("MUG", 100, 1, 1)], "de", None)).is_ok());
    }
}
