//! The shop's pricing service (components/pricing) through a component
//! dependency, as cart and orders use it: its rules are unit-tested in the
//! crate; this checks the WIT surface and the composition.

use crate::harness::AppDir;

fn app(dependency: &str) -> AppDir {
    AppDir::new(&format!(
        r#"
spin_manifest_version = 2
[application]
name = "pricing"
[[trigger.http]]
route = "/..."
component = "probe"
[component.probe]
source = "{{pricing-probe}}"
[component.probe.dependencies]
"souk:pricing/quote@0.1.0" = {dependency}
[component.pricing]
source = "{{pricing}}"
"#
    ))
}

#[test]
fn a_quote_comes_through_the_dependency() {
    let dir = app(r#"{ component = "pricing" }"#);
    let souk = dir.up();
    // Two mugs at 12.50 to Germany: 25.00 + 4.90 shipping + 19% VAT.
    let reply = souk.get("/quote?country=DE");
    assert_eq!((reply.status, reply.body.as_str()), (200, "2500 0 490 568 3558"));
    let reply = souk.get("/quote?country=DE&promo=welcome10");
    assert_eq!((reply.status, reply.body.as_str()), (200, "2500 -250 490 521 3261"));
}

#[test]
fn pricing_errors_reach_the_caller_as_values() {
    let dir = app(r#"{ path = "{pricing}" }"#);
    let souk = dir.up();
    let reply = souk.get("/quote?country=XX");
    assert_eq!(reply.status, 422);
    assert!(reply.body.contains("UnsupportedCountry") && reply.body.contains("XX"), "{}", reply.body);
    assert!(souk.get("/quote?country=DE&promo=NOPE").body.contains("UnknownPromoCode"));
}
