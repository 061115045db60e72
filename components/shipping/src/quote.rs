//! Shipping rate quotes: `standard` is what the pricing service charges for
//! shipping a parcel of that weight to that country; `express` is derived
//! from it. The pricing call itself is passed in, so this runs natively.

use serde::{Deserialize, Serialize};
use shop_common::{ApiError, Money};

/// Parcels from 1 g to 100 kg.
pub const MAX_WEIGHT_GRAMS: u32 = 100_000;

/// Express costs twice the standard rate plus this flat handling fee (minor
/// units of the quote's currency): faster carriers charge by speed, and the
/// fee keeps express dearer than standard even where standard is cheap.
pub const EXPRESS_HANDLING_FEE: i64 = 500;

/// The countries of the European Union, for delivery times.
const EU: &[&str] = &[
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI",
    "SK",
];

#[derive(Debug, Deserialize)]
pub struct QuoteBody {
    pub country: String,
    pub weight_grams: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShippingOption {
    pub service: &'static str,
    pub price: Money,
    /// Business days, as a range: `"3-5"`.
    pub days: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuoteReply {
    pub country: String,
    pub weight_grams: u32,
    pub options: Vec<ShippingOption>,
}

/// Why the pricing service gave no standard rate.
#[derive(Debug, Clone, PartialEq)]
pub enum PricingFailure {
    UnsupportedCountry,
    /// Anything else: the pricing dependency misbehaved.
    Other(String),
}

/// The country, upper-cased, if it looks like an ISO 3166-1 alpha-2 code.
fn country_code(text: &str) -> Result<String, ApiError> {
    let code = text.trim().to_ascii_uppercase();
    if code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(code)
    } else {
        Err(ApiError::invalid_field("country", format!("`country` must be a two-letter ISO 3166-1 code such as \"DE\"; got {text:?}")))
    }
}

/// Validates `body`, asks `standard_rate(country, weight_grams)` for the
/// standard price, and derives the options.
pub fn quote(body: &QuoteBody, standard_rate: impl FnOnce(&str, u32) -> Result<Money, PricingFailure>) -> Result<QuoteReply, ApiError> {
    let country = country_code(&body.country)?;
    if !(1..=MAX_WEIGHT_GRAMS).contains(&body.weight_grams) {
        return Err(ApiError::invalid_field("weight_grams", format!("`weight_grams` must be from 1 to {MAX_WEIGHT_GRAMS}; got {}", body.weight_grams)));
    }
    let standard = standard_rate(&country, body.weight_grams).map_err(|failure| match failure {
        PricingFailure::UnsupportedCountry => ApiError::unprocessable("unsupported_country", format!("the shop does not ship to {country}"))
            .with_details(serde_json::json!({ "country": country })),
        PricingFailure::Other(why) => ApiError::bad_gateway("pricing", format!("pricing could not rate the parcel: {why}")),
    })?;
    let express_amount = standard
        .amount
        .checked_mul(2)
        .and_then(|a| a.checked_add(EXPRESS_HANDLING_FEE))
        .ok_or_else(|| ApiError::bad_gateway("pricing", "the standard rate is out of range"))?;
    let eu = EU.contains(&country.as_str());
    let options = vec![
        ShippingOption { service: "standard", price: standard, days: if eu { "3-5" } else { "7-10" } },
        ShippingOption { service: "express", price: Money::new(express_amount, standard.currency), days: if eu { "1-2" } else { "2-4" } },
    ];
    Ok(QuoteReply { country, weight_grams: body.weight_grams, options })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pricing::rules;
    use shop_common::Currency;

    /// The standard rate as the component gets it: one free line of that
    /// weight, priced by the real rules.
    fn real_rate(country: &str, grams: u32) -> Result<Money, PricingFailure> {
        let eur = Currency::parse("EUR").unwrap();
        let request = rules::QuoteRequest {
            lines: vec![rules::Line { sku: "PARCEL".into(), unit_price: Money::zero(eur), quantity: 1, weight_grams: grams }],
            country: country.into(),
            promo_code: None,
        };
        match rules::price(&request) {
            Ok(q) => Ok(q.shipping),
            Err(rules::PricingError::UnsupportedCountry(_)) => Err(PricingFailure::UnsupportedCountry),
            Err(e) => Err(PricingFailure::Other(format!("{e:?}"))),
        }
    }

    fn body(country: &str, grams: u32) -> QuoteBody {
        QuoteBody { country: country.into(), weight_grams: grams }
    }

    #[test]
    fn eu_parcels_get_standard_and_express() {
        let reply = quote(&body("de", 2500), real_rate).unwrap();
        assert_eq!(reply.country, "DE");
        let [standard, express] = &reply.options[..] else { panic!("{reply:?}") };
        assert_eq!((standard.service, standard.price.amount, standard.days), ("standard", 490 + 2 * 100, "3-5"));
        assert_eq!((express.service, express.price.amount, express.days), ("express", 690 * 2 + 500, "1-2"));
    }

    #[test]
    fn elsewhere_takes_longer() {
        let reply = quote(&body("US", 500), real_rate).unwrap();
        assert_eq!(reply.options[0].price.amount, 1490);
        assert_eq!((reply.options[0].days, reply.options[1].days), ("7-10", "2-4"));
    }

    #[test]
    fn unsupported_countries_are_422() {
        let err = quote(&body("JP", 500), real_rate).unwrap_err();
        assert_eq!((err.status, err.code), (422, "unsupported_country"));
    }

    #[test]
    fn bad_input_names_the_field() {
        for (b, field) in [(body("DE", 0), "weight_grams"), (body("DE", 100_001), "weight_grams"), (body("Germany", 10), "country"), (body("", 10), "country")]
        {
            let err = quote(&b, real_rate).unwrap_err();
            assert_eq!((err.status, err.details["field"].as_str()), (400, Some(field)), "{b:?}");
        }
        assert!(quote(&body("DE", MAX_WEIGHT_GRAMS), real_rate).is_ok());
    }

    #[test]
    fn a_broken_pricing_dependency_is_a_502() {
        let err = quote(&body("DE", 10), |_, _| Err(PricingFailure::Other("overflow".into()))).unwrap_err();
        assert_eq!(err.status, 502);
    }
}
