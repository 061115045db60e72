//! No forged identity gets in: forged identity headers, forged and stale
//! tokens, other people's ids on every route that takes one, a key rotated
//! out across restarts, and keys or an admin password that are malformed
//! when the app starts anyway (as it would on Spin, without scripts/up's
//! pre-flight, which crates/shop-keys/tests/cli.rs covers).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use shop_common::keys::SigningKey;
use shop_common::timestamp::now_unix;
use shop_common::{Identity, Role};

use super::{APPROVED_CARD, Client, PUBLIC_KEY_1, PUBLIC_KEY_2, SIGNING_KEY_1, SIGNING_KEY_2, Shop, error_code, eventually};
use crate::harness::Reply;

/// A request to one route: method, path, JSON body.
type Route = (&'static str, String, Option<Value>);

fn new_product() -> Value {
    json!({ "sku": "FORGED-1", "name": "x", "description": "", "category": "c", "price": { "amount": 1, "currency": "EUR" }, "weight_grams": 1, "stock": 1 })
}

/// One route of every public service that needs a signed-in caller (and,
/// for catalog and meta, an admin).
fn signed_in_routes() -> Vec<Route> {
    vec![
        ("GET", "/api/v1/users/me".into(), None),
        ("POST", "/api/v1/products".into(), Some(new_product())),
        ("GET", "/api/v1/cart".into(), None),
        ("GET", "/api/v1/orders".into(), None),
        ("GET", "/api/v1/payments".into(), None),
        ("GET", "/api/v1/shipments".into(), None),
        ("GET", "/api/v1/notifications".into(), None),
        ("GET", "/api/v1/admin/audit".into(), None),
    ]
}

fn send(shop: &Shop, route: &Route, headers: &[(&str, &str)]) -> Reply {
    let body = route.2.as_ref().map(Value::to_string);
    let mut all = headers.to_vec();
    if body.is_some() {
        all.push(("content-type", "application/json"));
    }
    shop.souk.request(route.0, &route.1, body.as_deref(), &all)
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn signing_key(text: &str) -> SigningKey {
    SigningKey::parse(text).expect("the test keys are well-formed")
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

fn claims(user_id: &str, role: &str, exp: i64) -> Value {
    json!({ "sub": user_id, "role": role, "iat": now_unix(), "exp": exp })
}

/// An EdDSA token with `kid`, signed by `key`.
fn eddsa(key: &SigningKey, kid: Option<&str>, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, key.encoding_key()).unwrap()
}

/// Tokens claiming `admin_id` as an admin, none of which the shop signed
/// as it stands, each with what it is.
fn forged_tokens(admin_id: &str, honest_customer_token: &str) -> Vec<(&'static str, String)> {
    let real = signing_key(SIGNING_KEY_1);
    let admin = claims(admin_id, "admin", now_unix() + 600);
    // Another Ed25519 key, presenting the shop's kid.
    let other = SigningKey::from_seed("e2e-1", &[42; 32]);
    let hs256 = |secret: &[u8]| {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("e2e-1".into());
        jsonwebtoken::encode(&header, &admin, &EncodingKey::from_secret(secret)).unwrap()
    };
    let public_text = PUBLIC_KEY_1.split_once('=').unwrap().1;
    // The customer's real token with the claims of an admin put in.
    let mut altered: Vec<String> = honest_customer_token.split('.').map(str::to_owned).collect();
    let mut payload: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&altered[1]).unwrap()).unwrap();
    payload["role"] = json!("admin");
    altered[1] = b64(&payload);
    vec![
        ("signed with another Ed25519 key", eddsa(&other, Some("e2e-1"), &admin)),
        ("alg none", format!("{}.{}.", b64(&json!({ "alg": "none", "typ": "JWT", "kid": "e2e-1" })), b64(&admin))),
        ("HS256 keyed with the raw public key", hs256(&real.public_key())),
        ("HS256 keyed with the public key's text", hs256(public_text.as_bytes())),
        ("an unknown kid", eddsa(&real, Some("e2e-9"), &admin)),
        ("no kid", eddsa(&real, None, &admin)),
        ("expired", eddsa(&real, Some("e2e-1"), &claims(admin_id, "admin", now_unix() - 60))),
        ("altered payload", altered.join(".")),
    ]
}

#[test]
fn forged_tokens_are_401_on_every_service_and_give_no_access() {
    let shop = Shop::start();
    let admin = shop.admin();
    let gus = shop.customer("gus");
    // The test signs tokens the shop accepts: so each refusal below is about
    // what was forged, not about how the test signs.
    let honest = jsonwebtoken::encode(
        &{
            let mut h = Header::new(Algorithm::EdDSA);
            h.kid = Some("e2e-1".into());
            h
        },
        &claims(&admin.user_id, "admin", now_unix() + 600),
        signing_key(SIGNING_KEY_1).encoding_key(),
    )
    .unwrap();
    let r = shop.souk.request("GET", "/api/v1/admin/audit", None, &[("authorization", &bearer(&honest))]);
    assert_eq!(r.status, 200, "a token signed with the shop's key is accepted: {}", r.body);

    for (what, token) in forged_tokens(&admin.user_id, gus.token.as_deref().unwrap()) {
        for route in signed_in_routes() {
            let r = send(&shop, &route, &[("authorization", &bearer(&token))]);
            assert_eq!((r.status, error_code(&r).as_str()), (401, "invalid_token"), "{what}: {} {}: {}", route.0, route.1, r.body);
            assert!(r.header("www-authenticate").is_some_and(|v| v.starts_with("Bearer")), "{what}");
        }
    }
    // Nothing was created by any of them.
    let r = admin.get("/api/v1/products?q=FORGED-1");
    assert_eq!(r.json()["total"], 0, "{}", r.body);
}

/// hal with a paid order, its payment, its shipment and a notification,
/// and an item in the cart.
struct Hal<'a> {
    client: Client<'a>,
    product: String,
    order_id: String,
    payment_id: String,
    shipment_id: String,
}

fn hal_with_an_order(shop: &Shop) -> Hal<'_> {
    let product = shop.product(5);
    let client = shop.customer("hal");
    let r = client.order(&[(&product, 1)], APPROVED_CARD);
    assert_eq!(r.status, 201, "{}", r.body);
    let order = r.json();
    let (order_id, payment_id) = (order["id"].as_str().unwrap().to_owned(), order["payment"]["id"].as_str().unwrap().to_owned());
    let shipment_id = eventually("hal's shipment", || {
        let list = client.get(&format!("/api/v1/shipments?order_id={order_id}")).json();
        list["items"][0]["id"].as_str().map(str::to_owned)
    });
    eventually("hal's notification", || (client.get("/api/v1/notifications").json()["total"].as_u64()? >= 1).then_some(()));
    let r = client.post("/api/v1/cart/items", json!({ "product_id": product, "quantity": 2 }));
    assert_eq!(r.status, 200, "{}", r.body);
    Hal { client, product, order_id, payment_id, shipment_id }
}

fn hal_still_has_everything(hal: &Hal) {
    assert_eq!(hal.client.get(&format!("/api/v1/orders/{}", hal.order_id)).json()["status"], "paid");
    assert_eq!(hal.client.get(&format!("/api/v1/payments/{}", hal.payment_id)).json()["status"], "approved");
    assert_eq!(hal.client.get(&format!("/api/v1/shipments/{}", hal.shipment_id)).json()["status"], "label_created");
    let cart = hal.client.get("/api/v1/cart").json();
    assert_eq!(cart["items"][0]["product_id"], hal.product.as_str(), "{cart}");
    assert_eq!(cart["items"][0]["quantity"], 2, "{cart}");
}

/// `extra` headers and an Authorization header with `authorization`.
fn with_authorization<'a>(authorization: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut headers = vec![("authorization", authorization)];
    headers.extend_from_slice(extra);
    headers
}

#[test]
fn forged_identity_headers_are_stripped_on_every_service() {
    let shop = Shop::start();
    let admin = shop.admin();
    let hal = hal_with_an_order(&shop);
    let ivy = shop.customer("ivy");

    // No token, headers claiming to be the admin (in several spellings):
    // every service sees no one.
    let as_admin = [("x-souk-user-id", admin.user_id.as_str()), ("X-Souk-Role", "admin")];
    for route in signed_in_routes() {
        let r = send(&shop, &route, &as_admin);
        assert_eq!((r.status, error_code(&r).as_str()), (401, "unauthorized"), "{} {}: {}", route.0, route.1, r.body);
    }

    // ivy's token, headers claiming to be the admin: still ivy, a customer.
    let ivy_token = bearer(ivy.token.as_deref().unwrap());
    let admin_only: Vec<Route> = vec![
        ("POST", "/api/v1/products".into(), Some(new_product())),
        ("GET", "/api/v1/admin/audit".into(), None),
        ("POST", format!("/api/v1/shipments/{}/events", hal.shipment_id), Some(json!({ "status": "in_transit" }))),
        ("GET", format!("/api/v1/users/{}", admin.user_id), None),
    ];
    for route in &admin_only {
        let r = send(&shop, route, &with_authorization(&ivy_token, &as_admin));
        assert_eq!((r.status, error_code(&r).as_str()), (403, "forbidden"), "{} {}: {}", route.0, route.1, r.body);
    }
    let r = send(&shop, &("GET", "/api/v1/users/me".into(), None), &with_authorization(&ivy_token, &as_admin));
    assert_eq!(r.json()["id"], ivy.user_id.as_str(), "{}", r.body);

    // ivy's token, headers claiming to be hal: still ivy, who sees none of hal's things.
    let as_hal = [("x-souk-user-id", hal.client.user_id.as_str()), ("x-souk-role", "customer")];
    let hidden: Vec<Route> = vec![
        ("GET", format!("/api/v1/orders/{}", hal.order_id), None),
        ("POST", format!("/api/v1/orders/{}/cancel", hal.order_id), Some(json!({}))),
        ("GET", format!("/api/v1/payments/{}", hal.payment_id), None),
        ("GET", format!("/api/v1/shipments/{}", hal.shipment_id), None),
        ("DELETE", format!("/api/v1/cart/items/{}", hal.product), None),
    ];
    for route in &hidden {
        let r = send(&shop, route, &with_authorization(&ivy_token, &as_hal));
        assert_eq!((r.status, error_code(&r).as_str()), (404, "not_found"), "{} {}: {}", route.0, route.1, r.body);
    }
    for path in [
        "/api/v1/orders",
        "/api/v1/notifications",
        &format!("/api/v1/payments?order_id={}", hal.order_id),
        &format!("/api/v1/shipments?order_id={}", hal.order_id),
    ] {
        let r = send(&shop, &("GET", path.to_owned(), None), &with_authorization(&ivy_token, &as_hal));
        assert_eq!(r.json()["total"], 0, "{path}: {}", r.body);
    }
    let r = send(&shop, &("GET", "/api/v1/cart".into(), None), &with_authorization(&ivy_token, &as_hal));
    assert_eq!(r.json()["items"], json!([]), "{}", r.body);
    // A reserved header of another name is stripped too: the services never see it.
    let r = send(&shop, &("GET", "/api/v1/users/me".into(), None), &with_authorization(&ivy_token, &[("x-souk-anything", "forged")]));
    assert_eq!(r.status, 200);
    hal_still_has_everything(&hal);
}

#[test]
fn other_peoples_ids_give_no_access_on_any_route_that_takes_one() {
    let shop = Shop::start();
    let hal = hal_with_an_order(&shop);
    let ivy = shop.customer("ivy");
    let (order, payment, shipment) = (&hal.order_id, &hal.payment_id, &hal.shipment_id);

    // docs/shop.md: someone else's order, payment or shipment is "not
    // found"; someone else's account is "forbidden".
    for (method, path, body, status) in [
        ("GET", format!("/api/v1/orders/{order}"), None, 404),
        ("POST", format!("/api/v1/orders/{order}/cancel"), Some(json!({})), 404),
        ("GET", format!("/api/v1/payments/{payment}"), None, 404),
        ("GET", format!("/api/v1/shipments/{shipment}"), None, 404),
        ("POST", format!("/api/v1/shipments/{shipment}/events"), Some(json!({ "status": "delivered" })), 403),
        ("GET", format!("/api/v1/users/{}", hal.client.user_id), None, 403),
        ("DELETE", format!("/api/v1/cart/items/{}", hal.product), None, 404),
    ] {
        let r = ivy.send(method, &path, body.as_ref().map(Value::to_string).as_deref(), &[]);
        assert_eq!(r.status, status, "{method} {path}: {}", r.body);
    }
    // Lists filtered by hal's order show ivy nothing.
    for path in
        [format!("/api/v1/payments?order_id={order}"), format!("/api/v1/shipments?order_id={order}"), "/api/v1/orders".into(), "/api/v1/notifications".into()]
    {
        assert_eq!(ivy.get(&path).json()["total"], 0, "{path}");
    }
    // Setting a quantity of hal's product changes ivy's cart, not hal's.
    let r = ivy.put(&format!("/api/v1/cart/items/{}", hal.product), json!({ "quantity": 1 }));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(ivy.delete("/api/v1/cart").status, 204);
    // ivy's profile changes are ivy's.
    let r = ivy.patch("/api/v1/users/me", json!({ "name": "Ivy Changed" }));
    assert_eq!(r.json()["id"], ivy.user_id.as_str());
    assert_ne!(hal.client.get("/api/v1/users/me").json()["name"], "Ivy Changed");
    hal_still_has_everything(&hal);
}

#[test]
fn a_rotated_out_key_verifies_while_listed_and_is_refused_once_removed() {
    let shop = Shop::start();
    let gus = shop.customer("gus");
    let (email, old_token) = (gus.get("/api/v1/users/me").json()["email"].as_str().unwrap().to_owned(), gus.token.clone().unwrap());
    let me_with = |shop: &Shop, token: &str| shop.souk.request("GET", "/api/v1/users/me", None, &[("authorization", &bearer(token))]);
    let kid = |token: &str| jsonwebtoken::decode_header(token).unwrap().kid.unwrap();
    assert_eq!(kid(&old_token), "e2e-1");

    // Signing with the new key, both public keys listed: old tokens still work.
    let both = format!("{PUBLIC_KEY_2},{PUBLIC_KEY_1}");
    let shop = shop.restart_with(&[("SPIN_VARIABLE_JWT_SIGNING_KEY", SIGNING_KEY_2), ("SPIN_VARIABLE_JWT_PUBLIC_KEYS", &both)]);
    assert_eq!(me_with(&shop, &old_token).status, 200);
    let new_token = shop.login(&email, "correct horse battery").token.unwrap();
    assert_eq!(kid(&new_token), "e2e-2");
    assert_eq!(me_with(&shop, &new_token).status, 200);

    // The old key removed: its tokens are refused, the new ones are not.
    let shop = shop.restart_with(&[("SPIN_VARIABLE_JWT_SIGNING_KEY", SIGNING_KEY_2), ("SPIN_VARIABLE_JWT_PUBLIC_KEYS", PUBLIC_KEY_2)]);
    let r = me_with(&shop, &old_token);
    assert_eq!((r.status, error_code(&r).as_str()), (401, "invalid_token"), "{}", r.body);
    assert!(r.body.contains("e2e-1"), "says which key is not known: {}", r.body);
    assert_eq!(me_with(&shop, &new_token).status, 200);
}

/// The error shape's `details.variable`.
fn variable_named(r: &Reply) -> String {
    let v: Value = serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", r.body));
    v["error"]["details"]["variable"].as_str().unwrap_or_else(|| panic!("no variable named: {}", r.body)).to_owned()
}

/// What the health check says of `service`.
fn health_of(shop: &Shop, service: &str) -> Value {
    let r = shop.anonymous().get("/api/v1/health");
    assert_eq!(r.status, 503, "a misconfigured shop is degraded: {}", r.body);
    r.json()["services"][service].clone()
}

fn valid_token_for(user_id: &str) -> String {
    shop_common::jwt::issue(&signing_key(SIGNING_KEY_1), &Identity { user_id: user_id.into(), role: Role::Customer }, now_unix()).unwrap()
}

#[test]
fn a_malformed_signing_key_is_a_503_naming_it_and_health_reports_it() {
    let shop = Shop::start_with(&[("SPIN_VARIABLE_JWT_SIGNING_KEY", "e2e-1=c2hvcnQ")]);
    let r = shop.anonymous().post("/api/v1/auth/login", json!({ "email": super::ADMIN_EMAIL, "password": super::ADMIN_PASSWORD }));
    assert_eq!((r.status, error_code(&r).as_str()), (503, "unavailable"), "{}", r.body);
    assert_eq!(variable_named(&r), "jwt_signing_key");
    let users = health_of(&shop, "users");
    assert_eq!(users["status"], "down");
    assert!(users["detail"].as_str().unwrap().contains("\"jwt_signing_key\""), "{users}");
    // Whatever needs no token still works.
    assert_eq!(shop.anonymous().get("/api/v1/products").status, 200);
}

#[test]
fn malformed_public_keys_are_a_503_naming_them_and_health_reports_it() {
    let shop = Shop::start_with(&[("SPIN_VARIABLE_JWT_PUBLIC_KEYS", "e2e-1=AAAA")]);
    let r = shop.souk.request("GET", "/api/v1/orders", None, &[("authorization", &bearer(&valid_token_for("someone")))]);
    assert_eq!((r.status, error_code(&r).as_str()), (503, "unavailable"), "{}", r.body);
    assert_eq!(variable_named(&r), "jwt_public_keys");
    // tokens will not sign what the gateway cannot check.
    let r = shop.anonymous().post("/api/v1/auth/login", json!({ "email": super::ADMIN_EMAIL, "password": super::ADMIN_PASSWORD }));
    assert_eq!((r.status, variable_named(&r).as_str()), (503, "jwt_public_keys"), "{}", r.body);
    let gateway = health_of(&shop, "gateway");
    assert_eq!(gateway["status"], "down");
    assert!(gateway["detail"].as_str().unwrap().contains("\"jwt_public_keys\""), "{gateway}");
    assert_eq!(shop.anonymous().get("/api/v1/products").status, 200);
}

#[test]
fn a_short_admin_password_or_rate_limit_key_is_a_503_naming_it() {
    let shop = Shop::start_with(&[("SPIN_VARIABLE_ADMIN_PASSWORD", "admin")]);
    let r = shop.anonymous().post("/api/v1/auth/login", json!({ "email": super::ADMIN_EMAIL, "password": "admin" }));
    assert_eq!((r.status, variable_named(&r).as_str()), (503, "admin_password"), "{}", r.body);
    assert!(r.body.contains("at least 10 characters"), "{}", r.body);
    // Nobody can take the admin's email meanwhile.
    let r = shop.anonymous().post("/api/v1/users", json!({ "email": super::ADMIN_EMAIL, "password": "0123456789" }));
    assert_eq!((r.status, variable_named(&r).as_str()), (503, "admin_password"), "{}", r.body);
    let users = health_of(&shop, "users");
    assert!(users["detail"].as_str().unwrap().contains("\"admin_password\""), "{users}");
    drop(shop);

    let shop = Shop::start_with(&[("SPIN_VARIABLE_RATE_LIMIT_KEY", "short")]);
    let r = shop.anonymous().get("/api/v1/products");
    assert_eq!((r.status, variable_named(&r).as_str()), (503, "rate_limit_key"), "{}", r.body);
}
