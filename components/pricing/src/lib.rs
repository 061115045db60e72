//! The pricing service: exports `souk:pricing/quote` (wit/pricing) for cart
//! and orders to import as a component dependency. This file only converts
//! between the WIT types and the rules in `rules.rs`.

pub mod rules;

#[cfg(target_arch = "wasm32")]
mod export {
    use shop_common::money::{Currency, Money};

    use crate::rules;

    wit_bindgen::generate!({
        path: "../../wit/pricing",
        world: "pricing",
    });

    use exports::souk::pricing::quote::{self as wit, Guest};

    struct Pricing;

    fn money_in(m: wit::Money, sku: &str) -> Result<Money, wit::Error> {
        let currency = Currency::parse(&m.currency).map_err(|e| wit::Error::InvalidLine(format!("{sku}: {e}")))?;
        Ok(Money::new(m.amount, currency))
    }

    fn money_out(m: Money) -> wit::Money {
        wit::Money { amount: m.amount, currency: m.currency.code().to_owned() }
    }

    impl Guest for Pricing {
        fn price(request: wit::QuoteRequest) -> Result<wit::Quote, wit::Error> {
            let lines = request
                .lines
                .into_iter()
                .map(|l| Ok(rules::Line { unit_price: money_in(l.unit_price, &l.sku)?, sku: l.sku, quantity: l.quantity, weight_grams: l.weight_grams }))
                .collect::<Result<Vec<_>, wit::Error>>()?;
            let request = rules::QuoteRequest { lines, country: request.country, promo_code: request.promo_code };
            match rules::price(&request) {
                Ok(q) => Ok(wit::Quote {
                    subtotal: money_out(q.subtotal),
                    discount: money_out(q.discount),
                    shipping: money_out(q.shipping),
                    tax: money_out(q.tax),
                    total: money_out(q.total),
                    promo_code: q.promo_code,
                }),
                Err(e) => Err(match e {
                    rules::PricingError::Empty => wit::Error::Empty,
                    rules::PricingError::MixedCurrencies => wit::Error::MixedCurrencies,
                    rules::PricingError::InvalidLine(m) => wit::Error::InvalidLine(m),
                    rules::PricingError::UnknownPromoCode(c) => wit::Error::UnknownPromoCode(c),
                    rules::PricingError::UnsupportedCountry(c) => wit::Error::UnsupportedCountry(c),
                    rules::PricingError::Overflow => wit::Error::Overflow,
                }),
            }
        }
    }

    export!(Pricing);
}
