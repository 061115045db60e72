//! One order is one trace: the shop under `souk up` with an OTLP endpoint,
//! an order placed from the cart with the client's own `traceparent`, and
//! every service it touches (users, cart, catalog, payments, and the
//! deliveries of `order.placed` to shipping and notifications) a child of
//! the call that reached it, down to the orders database's statements.

use std::collections::{BTreeSet, HashMap};

use serde_json::json;

use super::{APPROVED_CARD, Shop, card};
use crate::otlp_receiver::{OtlpReceiver, ReceivedSpan, describe};

const TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
const CLIENT_SPAN: &str = "b7ad6b7169203331";

#[test]
fn an_order_is_one_trace_across_the_services_it_touches() {
    let receiver = OtlpReceiver::start();
    let shop = Shop::start_with(&[("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.endpoint), ("OTEL_BSP_SCHEDULE_DELAY", "100")]);
    let product = shop.product(5);
    let alice = shop.customer("alice");
    assert_eq!(alice.post("/api/v1/cart/items", json!({ "product_id": product, "quantity": 2 })).status, 200);

    let traceparent = format!("00-{TRACE}-{CLIENT_SPAN}-01");
    let body = json!({ "card": card(APPROVED_CARD) }).to_string();
    let r = alice.send("POST", "/api/v1/orders", Some(&body), &[("traceparent", &traceparent)]);
    assert_eq!(r.status, 201, "{}", r.body);

    let expected: BTreeSet<&str> = ["orders", "users", "cart", "catalog", "payments", "shipping", "notifications"].into();
    let executed = |spans: &[ReceivedSpan]| -> BTreeSet<String> {
        spans.iter().filter(|s| s.trace_id == TRACE).filter_map(|s| s.name.strip_prefix("execute ").map(str::to_string)).collect()
    };
    let spans = receiver.wait_for("the order's trace", |spans| expected.iter().all(|c| executed(spans).contains(*c)));
    let spans: Vec<ReceivedSpan> = spans.into_iter().filter(|s| s.trace_id == TRACE).collect();
    let all = describe(&spans);
    let by_id: HashMap<&str, &ReceivedSpan> = spans.iter().map(|s| (s.span_id.as_str(), s)).collect();

    // The root is the order's request, continuing the client's span.
    let roots: Vec<_> = spans.iter().filter(|s| !by_id.contains_key(s.parent_span_id.as_str())).collect();
    assert_eq!(roots.len(), 1, "one root:\n{all}");
    let root = roots[0];
    assert_eq!((root.name.as_str(), root.parent_span_id.as_str()), ("POST /api/v1/orders/...", CLIENT_SPAN), "{all}");
    assert_eq!(root.attribute("http.response.status_code"), Some("201"));

    // Each service's execution hangs under the chained call that reached it,
    // made by the orders execution (the order's own), itself under the root.
    let orders = spans.iter().find(|s| s.name == "execute orders").unwrap();
    assert_eq!(orders.parent_span_id, root.span_id, "{all}");
    for callee in expected.iter().filter(|c| **c != "orders") {
        let execution = spans.iter().find(|s| s.name == format!("execute {callee}")).unwrap();
        let call = by_id.get(execution.parent_span_id.as_str()).unwrap_or_else(|| panic!("the call to {callee} is in the trace:\n{all}"));
        assert_eq!(call.attribute("souk.callee"), Some(*callee), "{all}");
        assert_eq!(call.parent_span_id, orders.span_id, "orders made the call to {callee}:\n{all}");
        assert!(call.attribute("http.response.status_code").is_some_and(|s| s.starts_with('2')), "{all}");
    }

    // The order is written to the orders database in the same trace.
    let statements: Vec<_> = spans.iter().filter(|s| s.attribute("souk.store") == Some("sqlite") && s.parent_span_id == orders.span_id).collect();
    assert!(statements.iter().any(|s| s.attribute("db.operation.name") == Some("insert")), "{all}");
    assert!(statements.iter().all(|s| s.attribute("db.namespace") == Some("orders")), "{all}");
}
