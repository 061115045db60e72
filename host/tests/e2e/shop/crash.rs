//! `kill -9` in the middle of a stream of orders, then a start on the same
//! state: recovery (driven by the health check) settles every order the
//! crash left half-placed, the shop's books agree again, and a request the
//! crash left unanswered, sent again with its `Idempotency-Key`, is
//! answered from what became of its order. One buyer orders from the
//! cart, so the cart's part in a placement is crashed too: after recovery,
//! what the cart holds and what that buyer's paid orders took add up to what
//! was put in it.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{APPROVED_CARD, DECLINED_CARD, Shop, card};

/// Recovery settles orders pending for longer than this (the default, 60 s,
/// would make the test wait that long after each restart).
const ENV: &[(&str, &str)] = &[("SPIN_VARIABLE_ORDER_RECOVERY_GRACE_SECONDS", "2")];
const WORKERS: usize = 4;
/// Units each test product starts with.
const STOCK: i64 = 10_000;

/// One buyer sending orders back to back; the last one pays with a card
/// that is declined, so unpaid placements are cut short too. A buyer
/// `from_cart` puts 2 units in the cart before each order and orders the cart.
struct Buyer {
    token: String,
    product: String,
    card: &'static str,
    from_cart: bool,
}

/// What the buyers were answered.
#[derive(Default)]
struct Answers {
    /// Orders answered 201 (paid).
    paid: Vec<String>,
    /// Orders answered 402 (declined).
    declined: Vec<String>,
    /// Anything else, which is a failure.
    unexpected: Vec<String>,
    /// Requests the kill left without an answer: the buyer and the key.
    unanswered: Vec<(usize, String)>,
    /// Paid orders of the buyer who orders from the cart.
    from_cart_paid: Vec<String>,
    /// That buyer's additions to the cart: answered, and left without an
    /// answer by the kill (made or not).
    cart_adds: (usize, usize),
}

/// `POST /api/v1/orders`, or `None` when there was no complete answer (the
/// server died).
fn order(url: &str, buyer: &Buyer) -> Option<(u16, Value)> {
    order_with_key(url, buyer, None)
}

/// [`order`] with an `Idempotency-Key`.
fn order_with_key(url: &str, buyer: &Buyer, key: Option<&str>) -> Option<(u16, Value)> {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).timeout_global(Some(Duration::from_secs(60))).build().into();
    let body = if buyer.from_cart {
        json!({ "card": card(buyer.card) })
    } else {
        json!({ "items": [{ "product_id": buyer.product, "quantity": 2 }], "card": card(buyer.card) })
    }
    .to_string();
    let mut request = http::Request::builder()
        .method("POST")
        .uri(format!("{url}/api/v1/orders"))
        .header("authorization", format!("Bearer {}", buyer.token))
        .header("content-type", "application/json");
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    let request = request.body(body).unwrap();
    let mut response = agent.run(request).ok()?;
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().ok()?;
    Some((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
}

/// `POST /api/v1/cart/items` (2 units of the buyer's product): the status,
/// or `None` when the server died.
fn add_to_cart(url: &str, buyer: &Buyer) -> Option<u16> {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).timeout_global(Some(Duration::from_secs(60))).build().into();
    let body = json!({ "product_id": buyer.product, "quantity": 2 }).to_string();
    let response = agent
        .post(format!("{url}/api/v1/cart/items"))
        .header("authorization", format!("Bearer {}", buyer.token))
        .content_type("application/json")
        .send(body)
        .ok()?;
    Some(response.status().as_u16())
}

/// The units of the buyer's product in their cart.
fn cart_quantity(url: &str, buyer: &Buyer) -> i64 {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let mut response = agent.get(format!("{url}/api/v1/cart")).header("authorization", format!("Bearer {}", buyer.token)).call().unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let cart: Value = serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
    cart["items"].as_array().unwrap().iter().filter(|i| i["product_id"] == buyer.product.as_str()).map(|i| i["quantity"].as_i64().unwrap()).sum()
}

/// Sends orders from every buyer at once until `kill_after` more were
/// answered 201, then kills the server while the others are in flight.
fn orders_until_killed(shop: &Shop, buyers: &[Buyer], kill_after: usize, answers: &Mutex<Answers>) {
    let start = answers.lock().unwrap().paid.len();
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        for (b, buyer) in buyers.iter().enumerate() {
            let (url, stop) = (&shop.souk.url, &stop);
            s.spawn(move || {
                for n in 0.. {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let key = format!("crash-{start}-{b}-{n}");
                    if buyer.from_cart {
                        match add_to_cart(url, buyer) {
                            Some(200) => answers.lock().unwrap().cart_adds.0 += 1,
                            Some(status) => {
                                answers.lock().unwrap().unexpected.push(format!("adding to the cart: {status}"));
                                break;
                            }
                            None => {
                                answers.lock().unwrap().cart_adds.1 += 1;
                                break;
                            }
                        }
                    }
                    let Some((status, body)) = order_with_key(url, buyer, Some(&key)) else {
                        answers.lock().unwrap().unanswered.push((b, key));
                        break;
                    };
                    let mut a = answers.lock().unwrap();
                    match status {
                        201 => {
                            let id = body["id"].as_str().unwrap().to_owned();
                            if buyer.from_cart {
                                a.from_cart_paid.push(id.clone());
                            }
                            a.paid.push(id);
                        }
                        402 => a.declined.push(body["error"]["details"]["order_id"].as_str().unwrap().to_owned()),
                        // Recovery settled the order while its placement
                        // ran longer than the short grace period.
                        409 if body["error"]["code"] == "invalid_state" => {}
                        _ => {
                            a.unexpected.push(format!("{status} {body}"));
                            break;
                        }
                    }
                }
            });
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let a = answers.lock().unwrap();
            if a.paid.len() - start >= kill_after || !a.unexpected.is_empty() {
                break;
            }
            drop(a);
            assert!(Instant::now() < deadline, "{kill_after} orders were not answered within 60 s");
            std::thread::sleep(Duration::from_millis(5));
        }
        shop.souk.kill();
        stop.store(true, Ordering::SeqCst);
    });
}

/// What is not settled or does not add up in the audit, for our products.
fn problems(audit: &Value, products: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    let orders = &audit["orders"];
    let paid_orders: Vec<&str> = orders["paid_orders"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    for pending in orders["pending_orders"].as_array().unwrap() {
        found.push(format!("order {pending} is pending"));
    }
    let compensations = orders["compensations_pending"].as_u64().unwrap();
    if compensations > 0 {
        found.push(format!("{compensations} compensations pending"));
    }
    for (order_id, approved) in audit["payments"]["approved_by_order"].as_object().unwrap() {
        if approved.as_i64() != Some(1) || !paid_orders.contains(&order_id.as_str()) {
            found.push(format!("order {order_id}: {approved} approved payments, paid: {}", paid_orders.contains(&order_id.as_str())));
        }
    }
    for order_id in &paid_orders {
        if audit["payments"]["approved_by_order"][order_id].as_i64() != Some(1) {
            found.push(format!("paid order {order_id} has no approved payment"));
        }
    }
    for id in products {
        let p = audit["stock"]["products"].as_array().unwrap().iter().find(|p| p["id"] == id.as_str()).unwrap();
        let (stock, reserved, sold) = (p["stock"].as_i64().unwrap(), p["reserved"].as_i64().unwrap(), p["sold"].as_i64().unwrap());
        let paid = orders["paid_quantities"][id].as_i64().unwrap_or(0);
        if sold != paid {
            found.push(format!("product {id}: sold {sold}, paid orders hold {paid}"));
        }
        if stock + reserved + sold != STOCK {
            found.push(format!("product {id}: stock {stock} + reserved {reserved} + sold {sold} is not {STOCK}"));
        }
    }
    found
}

#[test]
fn orders_cut_short_by_a_kill_are_settled_after_a_restart() {
    let mut shop = Shop::start_with(ENV);
    let products = [shop.product(STOCK as u32), shop.product(STOCK as u32)];
    let admin = shop.admin().token.unwrap();
    let buyers: Vec<Buyer> = (0..WORKERS)
        .map(|i| Buyer {
            token: shop.customer(&format!("crash{i}")).token.unwrap(),
            product: products[i % 2].clone(),
            card: if i == WORKERS - 1 { DECLINED_CARD } else { APPROVED_CARD },
            from_cart: i == 1,
        })
        .collect();
    let answers = Mutex::new(Answers::default());

    // Killed after a different number of answered orders each round, so
    // the placements in flight stop at different steps.
    for kill_after in [3, 11, 6] {
        orders_until_killed(&shop, &buyers, kill_after, &answers);
        let a = answers.lock().unwrap();
        assert!(a.unexpected.is_empty(), "unexpected answers: {:?}", a.unexpected);
        drop(a);

        let Shop { souk, state } = shop;
        drop(souk);
        shop = Shop { souk: super::start_in(state.path(), ENV), state };
        let as_admin = |method: &str, path: &str| {
            let r = shop.souk.request(method, path, None, &[("authorization", &format!("Bearer {admin}"))]);
            assert!(r.status == 200 || path == "/api/v1/health", "{method} {path}: {} {}", r.status, r.body);
            r
        };

        // The health check drives recovery; wait until the books are clean.
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut found = None;
        let settled = loop {
            as_admin("GET", "/api/v1/health");
            let audit = as_admin("GET", "/api/v1/admin/audit").json();
            let left = problems(&audit, &products);
            found.get_or_insert_with(|| left.clone());
            if left.is_empty() {
                eprintln!("killed after {kill_after} more orders; settled after the restart: {found:?}");
                break audit;
            }
            assert!(Instant::now() < deadline, "not settled 60 s after the restart (round killed after {kill_after}): {left:?}");
            std::thread::sleep(Duration::from_millis(200));
        };

        // Each request the kill left unanswered, sent again with its key:
        // answered from its order as recovery settled it (201 paid, or 409
        // naming the order), or, if it stopped before its order was
        // recorded, still held by its key (409) or placed now (201, 402).
        let unanswered = std::mem::take(&mut answers.lock().unwrap().unanswered);
        let mut from_settled = 0;
        for (b, key) in &unanswered {
            let (status, body) = order_with_key(&shop.souk.url, &buyers[*b], Some(key)).expect("an answer after the restart");
            let error = &body["error"];
            let mut a = answers.lock().unwrap();
            match (status, error["code"].as_str()) {
                (201, _) => {
                    let id = body["id"].as_str().unwrap();
                    if settled["orders"]["paid_orders"].as_array().unwrap().iter().any(|p| p == id) {
                        from_settled += 1;
                    }
                    if buyers[*b].from_cart {
                        a.from_cart_paid.push(id.to_owned());
                    }
                    a.paid.push(id.to_owned());
                }
                (402, _) => a.declined.push(error["details"]["order_id"].as_str().unwrap().to_owned()),
                (409, Some("idempotency_conflict")) => {
                    if let Some(id) = error["details"]["order_id"].as_str() {
                        assert_eq!(error["details"]["status"], "payment_failed", "{key}: {body}");
                        a.declined.push(id.to_owned());
                        from_settled += 1;
                    }
                }
                _ => panic!("{key}, sent again after the restart: {status} {body}"),
            }
        }
        eprintln!("{} requests unanswered at the kill; {from_settled} of them answered with an order recorded before the kill", unanswered.len());
        let audit = as_admin("GET", "/api/v1/admin/audit").json();
        let left = problems(&audit, &products);
        assert!(left.is_empty(), "after the retries: {left:?}");

        let a = answers.lock().unwrap();
        let paid_orders = audit["orders"]["paid_orders"].as_array().unwrap();
        // Every paid order is known to its buyer: the ones recovery completed
        // too, through the retry of their request.
        for id in paid_orders {
            assert!(a.paid.iter().any(|p| p == id.as_str().unwrap()), "paid order {id} was never answered 201, not even to its retry");
        }
        for id in &a.paid {
            let order = as_admin("GET", &format!("/api/v1/orders/{id}")).json();
            assert_eq!((order["status"].as_str(), order["payment"]["status"].as_str()), (Some("paid"), Some("approved")), "order {id} was answered 201");
            assert!(paid_orders.iter().any(|p| p == id.as_str()), "order {id} is not among the audit's paid orders");
        }
        for id in &a.declined {
            let order = as_admin("GET", &format!("/api/v1/orders/{id}")).json();
            assert_eq!(order["status"], "payment_failed", "order {id} was answered 402");
        }

        // The cart gave each paid order its lines exactly once: what is
        // still in it and what the paid orders took add up to what was put
        // in (each addition left unanswered by the kill may or may not
        // have been made). Recovery tells the cart through the outbox, so
        // this waits for the relay to have delivered everything.
        let cart_buyer = buyers.iter().find(|b| b.from_cart).unwrap();
        let ordered: i64 = a
            .from_cart_paid
            .iter()
            .map(|id| {
                as_admin("GET", &format!("/api/v1/orders/{id}")).json()["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|i| i["quantity"].as_i64().unwrap())
                    .sum::<i64>()
            })
            .sum();
        let (made, maybe) = (2 * a.cart_adds.0 as i64, 2 * a.cart_adds.1 as i64);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let in_cart = cart_quantity(&shop.souk.url, cart_buyer);
            if (made..=made + maybe).contains(&(in_cart + ordered)) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the cart holds {in_cart} units and the buyer's {} paid orders took {ordered}, but {made} (and up to {maybe} more) were put in (round killed after {kill_after})",
                a.from_cart_paid.len()
            );
            as_admin("GET", "/api/v1/health");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    let a = answers.lock().unwrap();
    assert!(a.paid.len() >= 3 + 11 + 6, "{} paid", a.paid.len());
    // No order is counted twice: a retry answered 201 from its order names
    // an order no other request was answered with.
    let mut paid = a.paid.clone();
    paid.sort();
    paid.dedup();
    assert_eq!(paid.len(), a.paid.len(), "an order was answered 201 twice");
}

/// Orders placed while no call to payments is let through (a 504 for a
/// call with no time left, and after two failures an open circuit: 503)
/// fail after their stock was reserved. Once calls go through again, recovery leaves no order pending,
/// no approved payment without its paid order and no stock reserved for
/// nothing.
#[test]
fn orders_placed_while_calls_fail_fast_leave_nothing_half_done() {
    // Reservations an order never took are released 2 s after they were made.
    const ENV: &[(&str, &str)] = &[("SPIN_VARIABLE_ORDER_RECOVERY_GRACE_SECONDS", "2"), ("SPIN_VARIABLE_RESERVATION_TTL_SECONDS", "2")];
    let shop = Shop::start_with(ENV);
    let products = [shop.product(STOCK as u32), shop.product(STOCK as u32)];
    let admin = shop.admin().token.unwrap();
    let buyers: Vec<Buyer> = (0..2)
        .map(|i| Buyer { token: shop.customer(&format!("cut{i}")).token.unwrap(), product: products[i].clone(), card: APPROVED_CARD, from_cart: false })
        .collect();
    let Shop { souk, state } = shop;
    drop(souk);

    let failing = ["--outbound-timeout", "payments=0ms", "--circuit-failures", "2", "--circuit-cooldown", "60s", "--metrics-listen", "127.0.0.1:0"];
    let souk = super::start_app_in(&crate::harness::workspace_root(), state.path(), ENV, &failing);
    let mut answered_paid = Vec::new();
    let mut failed = 0;
    for i in 0..20 {
        match order(&souk.url, &buyers[i % 2]) {
            Some((201, body)) => answered_paid.push(body["id"].as_str().unwrap().to_string()),
            Some((status, body)) => {
                assert!(status >= 500 || status == 409, "order {i}: {status} {body}");
                eprintln!("order {i} while payments is cut off: {status} {}", body["error"]);
                failed += 1;
            }
            None => panic!("order {i} got no answer"),
        }
    }
    assert_eq!(failed, 20, "every order needs payments, which no call reached");
    let metrics_url = souk.startup.iter().find_map(|l| l.strip_prefix("Metrics at ")).unwrap().to_string();
    let metrics = ureq::get(&metrics_url).call().unwrap().body_mut().read_to_string().unwrap();
    assert!(metrics.lines().any(|l| l.starts_with(r#"souk_circuit_refusals_total{caller="orders",callee="payments"}"#)), "{metrics}");
    drop(souk);

    // Calls go through again: recovery (driven by the health check) settles
    // what the failures left.
    let shop = Shop { souk: super::start_in(state.path(), ENV), state };
    let as_admin = |path: &str| shop.souk.request("GET", path, None, &[("authorization", &format!("Bearer {admin}"))]);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        as_admin("/api/v1/health");
        let audit = as_admin("/api/v1/admin/audit").json();
        let mut left = problems(&audit, &products);
        for id in &products {
            let p = audit["stock"]["products"].as_array().unwrap().iter().find(|p| p["id"] == id.as_str()).unwrap();
            if p["reserved"].as_i64() != Some(0) {
                left.push(format!("product {id}: {} reserved", p["reserved"]));
            }
        }
        if left.is_empty() {
            break;
        }
        eprintln!("not settled yet: {left:?}");
        assert!(Instant::now() < deadline, "not settled 60 s after calls went through again: {left:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
    for id in &answered_paid {
        let order = as_admin(&format!("/api/v1/orders/{id}")).json();
        assert_eq!((order["status"].as_str(), order["payment"]["status"].as_str()), (Some("paid"), Some("approved")), "order {id} was answered 201");
    }
    // The shop takes orders again.
    let (status, body) = order(&shop.souk.url, &buyers[0]).unwrap();
    assert_eq!(status, 201, "{body}");
}
