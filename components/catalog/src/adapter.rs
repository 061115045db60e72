//! The Spin adapter: routes each request to the plain modules, on the
//! `catalog` SQLite database.

use serde::Deserialize;
use serde_json::json;
use shop_common::spin::{Incoming, Reply, SpinDb, optional_variable, serve};
use shop_common::{ApiError, timestamp};

use crate::inventory::{self, ReserveRequest};
use crate::product::{NewProduct, ProductPatch};
use crate::products::{self, Search};
use crate::schema::MIGRATIONS;

#[spin_sdk::http_service]
async fn handle(req: spin_sdk::http::Request) -> spin_sdk::http::Response<spin_sdk::http::FullBody<bytes::Bytes>> {
    serve(req, async |inc| route(inc).await).await
}

async fn open() -> Result<SpinDb, ApiError> {
    SpinDb::open_migrated("catalog", MIGRATIONS).await
}

#[derive(Deserialize)]
struct Restock {
    quantity: i64,
}

#[derive(Deserialize)]
struct Lookup {
    ids: Vec<String>,
}

async fn route(inc: Incoming) -> Result<Reply, ApiError> {
    let method = inc.method.as_str();
    match (method, inc.segments().as_slice()) {
        ("GET", ["api", "v1", "products"]) => {
            let search = Search::parse(inc.query("q"), inc.query("category"), inc.query("sort"), inc.query("page"), inc.query("page_size"))?;
            Ok(Reply::ok(&products::search(&open().await?, &search).await?))
        }
        ("POST", ["api", "v1", "products"]) => {
            inc.identity()?.require_admin()?;
            let new = inc.json::<NewProduct>()?.validated()?;
            Ok(Reply::created(&products::create(&open().await?, &new, timestamp::now_unix()).await?))
        }
        (_, ["api", "v1", "products"]) => Err(inc.method_not_allowed()),

        ("GET", ["api", "v1", "products", id]) => {
            // Anyone may browse; only an admin sees inactive products.
            let is_admin = inc.identity().is_ok_and(|who| who.is_admin());
            Ok(Reply::ok(&products::get(&open().await?, id, is_admin).await?))
        }
        ("PATCH", ["api", "v1", "products", id]) => {
            inc.identity()?.require_admin()?;
            let patch = inc.json::<ProductPatch>()?.validated()?;
            Ok(Reply::ok(&products::update(&open().await?, id, &patch, timestamp::now_unix()).await?))
        }
        (_, ["api", "v1", "products", _]) => Err(inc.method_not_allowed()),

        ("POST", ["api", "v1", "products", id, "deactivate"]) => {
            inc.identity()?.require_admin()?;
            Ok(Reply::ok(&products::deactivate(&open().await?, id, timestamp::now_unix()).await?))
        }
        ("POST", ["api", "v1", "products", id, "restock"]) => {
            inc.identity()?.require_admin()?;
            let quantity = products::check_restock(inc.json::<Restock>()?.quantity)?;
            Ok(Reply::ok(&products::restock(&open().await?, id, quantity, timestamp::now_unix()).await?))
        }
        (_, ["api", "v1", "products", _, "deactivate" | "restock"]) => Err(inc.method_not_allowed()),

        ("GET", ["api", "v1", "categories"]) => Ok(Reply::ok(&json!({ "items": products::categories(&open().await?).await? }))),
        (_, ["api", "v1", "categories"]) => Err(inc.method_not_allowed()),

        ("GET", ["internal", "catalog", "health"]) => {
            open().await?;
            Ok(Reply::ok(&json!({ "status": "ok", "service": "catalog" })))
        }
        ("POST", ["internal", "catalog", "products", "lookup"]) => {
            let lookup = inc.json::<Lookup>()?;
            Ok(Reply::ok(&json!({ "products": products::lookup(&open().await?, &lookup.ids).await? })))
        }
        ("POST", ["internal", "catalog", "reservations"]) => {
            let request = inc.json::<ReserveRequest>()?;
            let ttl = inventory::ttl_from(optional_variable("reservation_ttl_seconds").await.as_deref());
            let db = open().await?;
            let (reservation, created) = inventory::reserve(&db, &request, timestamp::now_unix(), ttl).await?;
            // The reserved products come with it, so the order is priced without a lookup call of its own.
            let products = products::lookup(&db, &reservation.product_ids()).await?;
            Ok(Reply::json(if created { 201 } else { 200 }, &inventory::Reserved { reservation, products }))
        }
        ("POST", ["internal", "catalog", "reservations", "sweep"]) => {
            Ok(Reply::ok(&json!({ "released": inventory::sweep(&open().await?, timestamp::now_unix()).await? })))
        }
        ("POST", ["internal", "catalog", "reservations", order_id, "commit"]) => {
            Ok(Reply::ok(&inventory::commit(&open().await?, order_id, timestamp::now_unix()).await?))
        }
        ("POST", ["internal", "catalog", "reservations", order_id, "release"]) => {
            Ok(Reply::ok(&inventory::release(&open().await?, order_id, timestamp::now_unix()).await?))
        }
        ("GET", ["internal", "catalog", "stock"]) => Ok(Reply::ok(&json!({ "products": inventory::stock_report(&open().await?).await? }))),
        (
            _,
            ["internal", "catalog", "health" | "stock"]
            | ["internal", "catalog", "products", "lookup"]
            | ["internal", "catalog", "reservations"]
            | ["internal", "catalog", "reservations", "sweep"]
            | ["internal", "catalog", "reservations", _, "commit" | "release"],
        ) => Err(inc.method_not_allowed()),
        _ => Err(inc.no_route()),
    }
}
