//! The Spin side of shipping: routes, the `shipping` SQLite database, the
//! pricing dependency (`souk:pricing/quote`) and delivery of outbox events
//! to their consumers by service chaining.

use bytes::Bytes;
use serde::Deserialize;
use serde_json::json;
use shop_common::events::{self, Event, RelayReport};
use shop_common::spin::{Incoming, Reply, SpinDb, call, serve};
use shop_common::timestamp::now_unix;
use shop_common::{ApiError, Currency, Money, PageRequest};
use spin_sdk::http::{FullBody, Request, Response};

use crate::quote::{self, PricingFailure, QuoteBody};
use crate::shipment::Status;
use crate::{consumer, store};

mod bindings {
    spin_sdk::wit_bindgen::generate!({
        inline: "package souk:shipping; world shipping { import souk:pricing/quote@0.1.0; }",
        path: "../../wit/pricing",
        runtime_path: "::spin_sdk::wit_bindgen::rt",
        generate_all,
    });
}

use bindings::souk::pricing::quote as pricing;

/// Longest tracking note an admin may attach, in characters.
const MAX_NOTE_CHARS: usize = 500;

#[spin_sdk::http_service]
async fn handle(req: Request) -> Response<FullBody<Bytes>> {
    serve(req, async |inc| route(inc).await).await
}

/// What a request asks for, once its path and method are known.
#[derive(Clone, Copy)]
enum Endpoint<'a> {
    List,
    Get(&'a str),
    Advance(&'a str),
    Events,
    Relay,
    Health,
}

async fn route(inc: Incoming) -> Result<Reply, ApiError> {
    let segments = inc.segments();
    let endpoint = match (inc.method.as_str(), segments.as_slice()) {
        // Quotes need no database.
        ("POST", ["api", "v1", "shipping", "quotes"]) => return quote_options(&inc),
        ("GET", ["api", "v1", "shipments"]) => Endpoint::List,
        ("GET", ["api", "v1", "shipments", id]) => Endpoint::Get(id),
        ("POST", ["api", "v1", "shipments", id, "events"]) => Endpoint::Advance(id),
        ("POST", ["internal", "shipping", "events"]) => Endpoint::Events,
        ("POST", ["internal", "shipping", "outbox", "relay"]) => Endpoint::Relay,
        ("GET", ["internal", "shipping", "health"]) => Endpoint::Health,
        (
            _,
            ["api", "v1", "shipping", "quotes"]
            | ["api", "v1", "shipments"]
            | ["api", "v1", "shipments", _]
            | ["api", "v1", "shipments", _, "events"]
            | ["internal", "shipping", "events" | "health"]
            | ["internal", "shipping", "outbox", "relay"],
        ) => return Err(inc.method_not_allowed()),
        _ => return Err(inc.no_route()),
    };
    let db = SpinDb::open_migrated("shipping", store::MIGRATIONS).await?;
    let result = handle_with_db(&inc, &db, endpoint).await;
    // Delivers what this request recorded (after its transaction has
    // committed) and anything left over from earlier failures.
    if !matches!(endpoint, Endpoint::Relay) {
        relay_if_due(&db, &inc.request_id).await;
    }
    result
}

async fn handle_with_db(inc: &Incoming, db: &SpinDb, endpoint: Endpoint<'_>) -> Result<Reply, ApiError> {
    match endpoint {
        Endpoint::List => {
            let me = inc.identity()?;
            let page = PageRequest::parse(inc.query("page"), inc.query("page_size"))?;
            let order_id = inc.query("order_id").filter(|o| !o.is_empty());
            // `all=true`: every user's shipments, for admins to move them on.
            match inc.query("all") {
                None | Some("false") => Ok(Reply::ok(&store::list_for_user(db, &me.user_id, order_id, page).await?)),
                Some("true") => {
                    me.require_admin()?;
                    Ok(Reply::ok(&store::list_all(db, order_id, page).await?))
                }
                Some(other) => Err(ApiError::invalid_field("all", format!("`all` must be true or false; got {other:?}"))),
            }
        }
        Endpoint::Get(id) => {
            let me = inc.identity()?;
            // Someone else's shipment is "not found", not "forbidden": its
            // existence is not the caller's business.
            match store::find(db, id).await? {
                Some(s) if s.user_id == me.user_id || me.is_admin() => Ok(Reply::ok(&s)),
                _ => Err(ApiError::not_found("shipment")),
            }
        }
        Endpoint::Advance(id) => {
            inc.identity()?.require_admin()?;
            let body: TrackingBody = inc.json()?;
            let status = Status::parse(&body.status)
                .ok_or_else(|| ApiError::invalid_field("status", format!("`status` must be in_transit or delivered; got {:?}", body.status)))?;
            let note = body.note.as_deref().map(str::trim).filter(|n| !n.is_empty());
            if note.is_some_and(|n| n.chars().count() > MAX_NOTE_CHARS) {
                return Err(ApiError::invalid_field("note", format!("`note` must be at most {MAX_NOTE_CHARS} characters")));
            }
            Ok(Reply::ok(&store::advance(db, id, status, note, now_unix()).await?))
        }
        Endpoint::Events => {
            let event: Event = inc.json()?;
            let outcome = consumer::consume(db, &event, now_unix()).await?;
            Ok(Reply::ok(&json!({ "event_id": event.id, "outcome": outcome.as_str() })))
        }
        Endpoint::Relay => Ok(Reply::ok(&relay(db, &inc.request_id).await?)),
        Endpoint::Health => Ok(Reply::ok(&json!({ "status": "ok", "service": "shipping" }))),
    }
}

#[derive(Deserialize)]
struct TrackingBody {
    status: String,
    note: Option<String>,
}

fn quote_options(inc: &Incoming) -> Result<Reply, ApiError> {
    let body: QuoteBody = inc.json()?;
    Ok(Reply::ok(&quote::quote(&body, standard_rate)?))
}

/// The pricing service's shipping charge for one parcel of `grams` to
/// `country`: a single line with a price of zero, so nothing but shipping
/// is charged (and no free-shipping threshold is reached).
fn standard_rate(country: &str, grams: u32) -> Result<Money, PricingFailure> {
    let request = pricing::QuoteRequest {
        lines: vec![pricing::Line { sku: "PARCEL".into(), unit_price: pricing::Money { amount: 0, currency: "EUR".into() }, quantity: 1, weight_grams: grams }],
        country: country.to_owned(),
        promo_code: None,
    };
    match pricing::price(&request) {
        Ok(q) => Currency::parse(&q.shipping.currency).map(|c| Money::new(q.shipping.amount, c)).map_err(PricingFailure::Other),
        Err(pricing::Error::UnsupportedCountry(_)) => Err(PricingFailure::UnsupportedCountry),
        Err(e) => Err(PricingFailure::Other(format!("{e:?}"))),
    }
}

/// POSTs one event to its consumer; any 2xx answer counts as delivered.
async fn deliver(consumer: &str, event: &Event, request_id: &str) -> Result<(), String> {
    let body = serde_json::to_value(event).map_err(|e| e.to_string())?;
    let called = call(consumer, "POST", &format!("/internal/{consumer}/events"), Some(&body), request_id).await.map_err(|e| e.message)?;
    if called.is_success() {
        Ok(())
    } else {
        Err(format!("{consumer} answered {}: {}", called.status, called.body["error"]["message"].as_str().unwrap_or("no error message")))
    }
}

async fn relay(db: &SpinDb, request_id: &str) -> Result<RelayReport, ApiError> {
    events::relay(db, now_unix(), async |consumer, event| deliver(consumer, event, request_id).await).await
}

/// Delivers the rows that are due (one statement when none is). A failure
/// here is only logged: the request it ends has done its work, and the rows
/// wait for the next relay.
async fn relay_if_due(db: &SpinDb, request_id: &str) {
    if let Err(e) = events::deliver_due(db, now_unix(), async |consumer, event| deliver(consumer, event, request_id).await).await {
        eprintln!("[{request_id}] shipping outbox relay: {e}");
    }
}
