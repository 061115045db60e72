//! `--mix`: the weights of the `mixed` scenario, e.g. `browse=80,cart=15,checkout=5`.

use std::fmt;
use std::str::FromStr;

/// A kind of shop traffic `mixed` blends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Browse,
    Cart,
    Checkout,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Browse, Kind::Cart, Kind::Checkout];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Browse => "browse",
            Kind::Cart => "cart",
            Kind::Checkout => "checkout",
        }
    }
}

/// Relative weights; a kind left out of `--mix` weighs 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mix {
    pub browse: u32,
    pub cart: u32,
    pub checkout: u32,
}

pub const DEFAULT_MIX: &str = "browse=80,cart=15,checkout=5";

impl Default for Mix {
    /// A store's usual blend: mostly looking, some carts, few orders.
    fn default() -> Self {
        Mix { browse: 80, cart: 15, checkout: 5 }
    }
}

impl Mix {
    pub fn weight(&self, kind: Kind) -> u32 {
        match kind {
            Kind::Browse => self.browse,
            Kind::Cart => self.cart,
            Kind::Checkout => self.checkout,
        }
    }

    pub fn total(&self) -> u64 {
        Kind::ALL.iter().map(|k| u64::from(self.weight(*k))).sum()
    }

    /// The kind a roll in `0..total()` falls on.
    pub fn pick(&self, roll: u64) -> Kind {
        let mut below = 0u64;
        for kind in Kind::ALL {
            below += u64::from(self.weight(kind));
            if roll < below {
                return kind;
            }
        }
        Kind::Checkout
    }
}

impl fmt::Display for Mix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "browse={},cart={},checkout={}", self.browse, self.cart, self.checkout)
    }
}

impl FromStr for Mix {
    type Err = String;

    fn from_str(s: &str) -> Result<Mix, String> {
        let mut mix = Mix { browse: 0, cart: 0, checkout: 0 };
        let mut seen = Vec::new();
        for part in s.split(',').map(str::trim) {
            let (name, weight) = part.split_once('=').ok_or_else(|| format!("`{part}`: expected name=weight, e.g. {DEFAULT_MIX}"))?;
            let (name, weight) = (name.trim(), weight.trim());
            let kind =
                Kind::ALL.into_iter().find(|k| k.as_str() == name).ok_or_else(|| format!("`{name}`: unknown kind in the mix; use browse, cart or checkout"))?;
            if seen.contains(&kind) {
                return Err(format!("`{name}` is given twice"));
            }
            seen.push(kind);
            let weight: u32 = weight.parse().map_err(|_| format!("`{part}`: a weight is a non-negative integer (at most {})", u32::MAX))?;
            match kind {
                Kind::Browse => mix.browse = weight,
                Kind::Cart => mix.cart = weight,
                Kind::Checkout => mix.checkout = weight,
            }
        }
        if mix.total() == 0 {
            return Err(format!("`{s}`: at least one weight must be above 0"));
        }
        Ok(mix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mix(b: u32, c: u32, o: u32) -> Mix {
        Mix { browse: b, cart: c, checkout: o }
    }

    #[test]
    fn parses_weights() {
        assert_eq!(DEFAULT_MIX.parse(), Ok(Mix::default()));
        assert_eq!("checkout=1".parse(), Ok(mix(0, 0, 1)));
        assert_eq!(" cart = 2 , browse=3".parse(), Ok(mix(3, 2, 0)));
        assert_eq!("browse=0,cart=0,checkout=7".parse(), Ok(mix(0, 0, 7)));
        assert_eq!(Mix::default().to_string(), DEFAULT_MIX);
    }

    #[test]
    fn rejects_bad_mixes_with_a_clear_message() {
        let err = |s: &str| s.parse::<Mix>().unwrap_err();
        assert_eq!(err("browse=80,search=20"), "`search`: unknown kind in the mix; use browse, cart or checkout");
        assert!(err("browse=-1").contains("non-negative integer"), "{}", err("browse=-1"));
        assert!(err("browse=1.5").contains("non-negative integer"));
        assert!(err("browse=x").contains("non-negative integer"));
        assert!(err("browse=").contains("non-negative integer"));
        assert!(err("browse").contains("expected name=weight"));
        assert!(err("").contains("expected name=weight"));
        assert!(err("browse=1,browse=2").contains("twice"));
        assert!(err("browse=0,cart=0,checkout=0").contains("at least one weight"));
        assert!(err("browse=99999999999").contains("non-negative integer"));
    }

    #[test]
    fn picks_by_weight() {
        let m = mix(80, 15, 5);
        assert_eq!(m.total(), 100);
        assert_eq!(m.pick(0), Kind::Browse);
        assert_eq!(m.pick(79), Kind::Browse);
        assert_eq!(m.pick(80), Kind::Cart);
        assert_eq!(m.pick(94), Kind::Cart);
        assert_eq!(m.pick(95), Kind::Checkout);
        assert_eq!(m.pick(99), Kind::Checkout);
        let only_cart = mix(0, 3, 0);
        assert!((0..3).all(|r| only_cart.pick(r) == Kind::Cart));
    }
}
