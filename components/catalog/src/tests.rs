//! Native tests of the catalog's rules on an in-memory SQLite.

use futures::executor::block_on;
use shop_common::db::memory::MemoryDb;
use shop_common::{Db, db, json};

use crate::inventory::{self, ReserveItem, ReserveRequest};
use crate::product::{NewProduct, ProductPatch};
use crate::products::{self, Search};
use crate::schema::MIGRATIONS;

const NOW: i64 = 1_800_000_000;
const MUG: &str = "01900000-0000-7000-8000-000000000001";
const KNIFE: &str = "01900000-0000-7000-8000-000000000002";
const TEE: &str = "01900000-0000-7000-8000-000000000005";

async fn seeded() -> MemoryDb {
    let db = MemoryDb::new();
    db::migrate(&db, MIGRATIONS).await.unwrap();
    db
}

fn search(q: Option<&str>, category: Option<&str>, sort: Option<&str>, page: Option<&str>, size: Option<&str>) -> Search {
    Search::parse(q, category, sort, page, size).unwrap()
}

async fn stock_of<D: Db>(db: &D, id: &str) -> i64 {
    products::find(db, id).await.unwrap().unwrap().stock
}

fn request(order_id: &str, items: &[(&str, i64)]) -> ReserveRequest {
    ReserveRequest { order_id: order_id.into(), items: items.iter().map(|(p, q)| ReserveItem { product_id: (*p).into(), quantity: *q }).collect() }
}

fn new_product(sku: &str, stock: i64) -> NewProduct {
    json::parse::<NewProduct>(
        serde_json::json!({
            "sku": sku, "name": "Test Kettle", "description": "Boils water.", "category": "kitchen",
            "price": {"amount": 3000, "currency": "EUR"}, "weight_grams": 900, "stock": stock
        })
        .to_string()
        .as_bytes(),
    )
    .unwrap()
    .validated()
    .unwrap()
}

#[test]
fn the_demo_catalog_is_loaded_once() {
    block_on(async {
        let db = seeded().await;
        let all = products::search(&db, &search(None, None, None, None, Some("100"))).await.unwrap();
        assert_eq!(all.total, 20);
        assert!(all.items.iter().all(|p| p.stock == 100 && p.price.currency.code() == "EUR" && p.active));
        let cats = products::categories(&db).await.unwrap();
        assert_eq!(cats.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["apparel", "books", "electronics", "garden", "kitchen"]);
        assert!(cats.iter().all(|c| c.products == 4));
        // An admin's change survives the next request's migrate.
        products::deactivate(&db, MUG, NOW).await.unwrap();
        db::migrate(&db, MIGRATIONS).await.unwrap();
        assert_eq!(products::search(&db, &search(None, None, None, None, None)).await.unwrap().total, 19);
    });
}

#[test]
fn search_filters_sorts_and_pages() {
    block_on(async {
        let db = seeded().await;
        let hits = products::search(&db, &search(Some("MUG"), None, None, None, None)).await.unwrap();
        assert_eq!(hits.items.iter().map(|p| p.sku.as_str()).collect::<Vec<_>>(), ["KIT-MUG-01"]);
        // Matches the description and the sku too, case-insensitively.
        assert_eq!(products::search(&db, &search(Some("dishwasher"), None, None, None, None)).await.unwrap().total, 1);
        assert_eq!(products::search(&db, &search(Some("ele-"), None, None, None, None)).await.unwrap().total, 4);
        // Wildcards in `q` are taken literally.
        assert_eq!(products::search(&db, &search(Some("%"), None, None, None, None)).await.unwrap().total, 0);
        assert_eq!(products::search(&db, &search(Some("m_g"), None, None, None, None)).await.unwrap().total, 0);
        // With a category too: the words and the category each filter.
        let both = products::search(&db, &search(Some("ele-"), Some("electronics"), None, None, None)).await.unwrap();
        assert_eq!(both.total, 4, "{:?}", both.items.iter().map(|p| &p.sku).collect::<Vec<_>>());
        assert_eq!(products::search(&db, &search(Some("ele-"), Some("books"), None, None, None)).await.unwrap().total, 0);

        let books = products::search(&db, &search(None, Some("books"), Some("-price"), None, None)).await.unwrap();
        let prices: Vec<i64> = books.items.iter().map(|p| p.price.amount).collect();
        assert_eq!(prices, [4490, 2990, 2490, 1290]);
        let cheap_first = products::search(&db, &search(None, None, Some("price"), None, None)).await.unwrap();
        assert_eq!(cheap_first.items[0].sku, "GRD-SED-03");
        let by_name = products::search(&db, &search(None, None, Some("-name"), None, None)).await.unwrap();
        assert_eq!(by_name.items[0].name, "Wireless Noise-Cancelling Headphones");

        let page2 = products::search(&db, &search(None, None, None, Some("2"), Some("7"))).await.unwrap();
        assert_eq!((page2.items.len(), page2.total, page2.page, page2.page_size), (7, 20, 2, 7));
        let page3 = products::search(&db, &search(None, None, None, Some("3"), Some("7"))).await.unwrap();
        assert_eq!(page3.items.len(), 6);
        let page1 = products::search(&db, &search(None, None, None, Some("1"), Some("7"))).await.unwrap();
        assert!(page1.items.iter().all(|a| !page2.items.iter().any(|b| b.id == a.id)));

        let err = Search::parse(None, None, Some("stock"), None, None).unwrap_err();
        assert_eq!((err.status, err.details["field"].as_str()), (400, Some("sort")));
        assert_eq!(Search::parse(None, None, None, Some("0"), None).unwrap_err().details["field"], "page");
    });
}

#[test]
fn inactive_products_are_hidden_except_from_admins_and_lookups() {
    block_on(async {
        let db = seeded().await;
        products::deactivate(&db, KNIFE, NOW).await.unwrap();
        assert_eq!(products::get(&db, KNIFE, false).await.unwrap_err().status, 404);
        assert!(!products::get(&db, KNIFE, true).await.unwrap().active);
        assert_eq!(products::get(&db, "not-an-id", true).await.unwrap_err().status, 404);
        let ids = vec![KNIFE.to_owned(), "nope".to_owned(), MUG.to_uppercase(), KNIFE.to_owned(), "01900000-0000-7000-8000-0000000000ff".into()];
        let found = products::lookup(&db, &ids).await.unwrap();
        assert_eq!(found.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(), [KNIFE, MUG]);
        let too_many = vec![MUG.to_owned(); 101];
        assert_eq!(products::lookup(&db, &too_many).await.unwrap_err().status, 400);
    });
}

#[test]
fn admins_create_patch_and_restock() {
    block_on(async {
        let db = seeded().await;
        let p = products::create(&db, &new_product("KIT-KTL-09", 3), NOW).await.unwrap();
        assert_eq!((p.stock, p.active, p.image_url.as_deref()), (3, true, None));
        let dup = products::create(&db, &new_product("kit-ktl-09", 1), NOW).await.unwrap_err();
        assert_eq!((dup.status, dup.code), (409, "conflict"));

        let patch = json::parse::<ProductPatch>(br#"{"name": "Kettle", "price": {"amount": 2500, "currency": "EUR"}, "image_url": "https://x.example/k.jpg"}"#)
            .unwrap()
            .validated()
            .unwrap();
        let patched = products::update(&db, &p.id, &patch, NOW + 5).await.unwrap();
        assert_eq!((patched.name.as_str(), patched.price.amount, patched.stock), ("Kettle", 2500, 3));
        assert_eq!(patched.image_url.as_deref(), Some("https://x.example/k.jpg"));
        assert_ne!(patched.updated_at, patched.created_at);

        let taken = json::parse::<ProductPatch>(br#"{"sku": "KIT-MUG-01"}"#).unwrap().validated().unwrap();
        assert_eq!(products::update(&db, &p.id, &taken, NOW).await.unwrap_err().code, "conflict");
        assert_eq!(products::update(&db, "01900000-0000-7000-8000-0000000000ff", &ProductPatch::default(), NOW).await.unwrap_err().status, 404);

        assert_eq!(products::restock(&db, &p.id, 7, NOW).await.unwrap().stock, 10);
        for bad in [0, -1, 1_000_001] {
            assert_eq!(products::restock(&db, &p.id, bad, NOW).await.unwrap_err().details["field"], "quantity");
        }
        let off = products::deactivate(&db, &p.id, NOW).await.unwrap();
        assert!(!off.active);
        let on = json::parse::<ProductPatch>(br#"{"active": true}"#).unwrap().validated().unwrap();
        assert!(products::update(&db, &p.id, &on, NOW).await.unwrap().active);
    });
}

#[test]
fn a_reservation_is_all_or_nothing() {
    block_on(async {
        let db = seeded().await;
        let err = inventory::reserve(&db, &request("o1", &[(MUG, 5), (KNIFE, 101), (TEE, 200)]), NOW, 900).await.unwrap_err();
        assert_eq!((err.status, err.code), (409, "out_of_stock"));
        let short = err.details["items"].as_array().unwrap();
        assert_eq!(short.len(), 2, "every short item is listed");
        assert_eq!(short[0], serde_json::json!({"product_id": KNIFE, "sku": "KIT-KNF-02", "requested": 101, "available": 100}));
        assert_eq!(stock_of(&db, MUG).await, 100, "nothing was taken");
        assert!(inventory::find(&db, "o1").await.unwrap().is_none());

        // Repeated products are merged into one line.
        let (r, created) = inventory::reserve(&db, &request("o1", &[(MUG, 5), (KNIFE, 1), (MUG, 5)]), NOW, 900).await.unwrap();
        assert!(created);
        assert_eq!(r.status, "reserved");
        assert_eq!(r.items.iter().map(|i| (i.product_id.as_str(), i.quantity)).collect::<Vec<_>>(), [(MUG, 10), (KNIFE, 1)]);
        assert_eq!((stock_of(&db, MUG).await, stock_of(&db, KNIFE).await), (90, 99));
    });
}

#[test]
fn reservations_refuse_bad_unknown_and_inactive_items() {
    block_on(async {
        let db = seeded().await;
        let unknown = "01900000-0000-7000-8000-0000000000ff";
        let err = inventory::reserve(&db, &request("o", &[(MUG, 1), (unknown, 1)]), NOW, 900).await.unwrap_err();
        assert_eq!((err.status, err.details["product_id"].as_str()), (404, Some(unknown)));
        assert!(err.message.contains(unknown));
        assert_eq!(inventory::reserve(&db, &request("o", &[("junk", 1)]), NOW, 900).await.unwrap_err().status, 404);
        assert_eq!(inventory::reserve(&db, &request("o", &[]), NOW, 900).await.unwrap_err().details["field"], "items");
        assert_eq!(inventory::reserve(&db, &request("o", &[(MUG, 0)]), NOW, 900).await.unwrap_err().details["field"], "items[0].quantity");
        assert_eq!(inventory::reserve(&db, &request("", &[(MUG, 1)]), NOW, 900).await.unwrap_err().details["field"], "order_id");
        products::deactivate(&db, TEE, NOW).await.unwrap();
        let err = inventory::reserve(&db, &request("o", &[(MUG, 1), (TEE, 1)]), NOW, 900).await.unwrap_err();
        assert_eq!((err.status, err.code), (422, "product_inactive"));
        assert_eq!(stock_of(&db, MUG).await, 100);
    });
}

#[test]
fn a_reservations_answer_carries_its_products_for_pricing() {
    block_on(async {
        let db = seeded().await;
        let (reservation, _) = inventory::reserve(&db, &request("o1", &[(KNIFE, 1), (MUG, 2)]), NOW, 900).await.unwrap();
        let products = products::lookup(&db, &reservation.product_ids()).await.unwrap();
        let answer = serde_json::to_value(inventory::Reserved { reservation, products }).unwrap();
        assert_eq!(answer["order_id"], "o1");
        assert_eq!(answer["status"], "reserved");
        assert_eq!(answer["items"][1], serde_json::json!({"product_id": MUG, "quantity": 2}));
        let listed: Vec<&str> = answer["products"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap()).collect();
        assert_eq!(listed, [KNIFE, MUG], "in the reservation's order");
        for field in ["sku", "name", "price", "weight_grams", "active"] {
            assert!(!answer["products"][0][field].is_null(), "{field} is what orders prices with: {}", answer["products"][0]);
        }
    });
}

#[test]
fn reserving_again_for_an_order_returns_the_first_reservation() {
    block_on(async {
        let db = seeded().await;
        let (first, _) = inventory::reserve(&db, &request("o1", &[(MUG, 3)]), NOW, 900).await.unwrap();
        let (again, created) = inventory::reserve(&db, &request("o1", &[(MUG, 50), (KNIFE, 1)]), NOW + 1, 900).await.unwrap();
        assert!(!created);
        assert_eq!(again, first);
        assert_eq!(stock_of(&db, MUG).await, 97);
        inventory::release(&db, "o1", NOW).await.unwrap();
        let (after_release, created) = inventory::reserve(&db, &request("o1", &[(MUG, 3)]), NOW + 2, 900).await.unwrap();
        assert_eq!((after_release.status.as_str(), created), ("released", false));
        assert_eq!(stock_of(&db, MUG).await, 100);
    });
}

#[test]
fn expired_reservations_give_their_stock_back() {
    block_on(async {
        let db = seeded().await;
        inventory::reserve(&db, &request("old", &[(MUG, 60), (KNIFE, 2)]), NOW, 60).await.unwrap();
        inventory::reserve(&db, &request("paid", &[(MUG, 10)]), NOW, 60).await.unwrap();
        inventory::commit(&db, "paid", NOW + 1).await.unwrap();
        // Not yet expired: only 30 mugs left.
        let err = inventory::reserve(&db, &request("new", &[(MUG, 50)]), NOW + 60, 60).await.unwrap_err();
        assert_eq!(err.details["items"][0]["available"], 30);
        // Expired: the 60 come back; the committed 10 stay sold.
        inventory::reserve(&db, &request("new", &[(MUG, 50)]), NOW + 61, 60).await.unwrap();
        assert_eq!(inventory::find(&db, "old").await.unwrap().unwrap().status, "released");
        assert_eq!(inventory::find(&db, "paid").await.unwrap().unwrap().status, "committed");
        assert_eq!((stock_of(&db, MUG).await, stock_of(&db, KNIFE).await), (40, 100));
        let err = inventory::commit(&db, "old", NOW + 62).await.unwrap_err();
        assert_eq!((err.status, err.code), (409, "invalid_state"));
    });
}

#[test]
fn the_sweep_releases_expired_reservations_without_a_new_reserve() {
    block_on(async {
        let db = seeded().await;
        inventory::reserve(&db, &request("orphan", &[(MUG, 5), (KNIFE, 1)]), NOW, 60).await.unwrap();
        inventory::reserve(&db, &request("later", &[(MUG, 3)]), NOW + 30, 60).await.unwrap();
        inventory::reserve(&db, &request("paid", &[(TEE, 2)]), NOW, 60).await.unwrap();
        inventory::commit(&db, "paid", NOW + 1).await.unwrap();
        assert_eq!(inventory::sweep(&db, NOW + 60).await.unwrap(), 0, "none expired yet");
        assert_eq!(inventory::sweep(&db, NOW + 61).await.unwrap(), 1);
        assert_eq!(inventory::find(&db, "orphan").await.unwrap().unwrap().status, "released");
        assert_eq!((stock_of(&db, MUG).await, stock_of(&db, KNIFE).await), (97, 100));
        assert_eq!(inventory::sweep(&db, NOW + 61).await.unwrap(), 0, "released once");
        assert_eq!(inventory::sweep(&db, NOW + 1000).await.unwrap(), 1);
        assert_eq!(stock_of(&db, MUG).await, 100);
        assert_eq!(inventory::find(&db, "paid").await.unwrap().unwrap().status, "committed", "sold stays sold");
        assert_eq!(stock_of(&db, TEE).await, 98);
        let err = inventory::commit(&db, "orphan", NOW + 1001).await.unwrap_err();
        assert_eq!((err.status, err.code), (409, "invalid_state"));
    });
}

#[test]
fn a_sweep_takes_a_bounded_batch() {
    block_on(async {
        let db = seeded().await;
        let n = inventory::SWEEP_BATCH as usize + 5;
        for i in 0..n {
            inventory::reserve(&db, &request(&format!("o{i}"), &[(MUG, 1)]), NOW, 60).await.unwrap_or_else(|e| panic!("{e}"));
            db.exec("UPDATE products SET stock = stock + 1 WHERE id = ?", &[MUG.into()]).await.unwrap();
        }
        assert_eq!(inventory::sweep(&db, NOW + 61).await.unwrap(), u64::from(inventory::SWEEP_BATCH));
        assert_eq!(inventory::sweep(&db, NOW + 61).await.unwrap(), 5);
        assert_eq!(stock_of(&db, MUG).await, 100 + n as i64);
    });
}

#[test]
fn commit_and_release_follow_the_state_rules() {
    block_on(async {
        let db = seeded().await;
        inventory::reserve(&db, &request("o1", &[(MUG, 4)]), NOW, 900).await.unwrap();
        assert_eq!(inventory::commit(&db, "o1", NOW).await.unwrap().status, "committed");
        assert_eq!(inventory::commit(&db, "o1", NOW).await.unwrap().status, "committed", "idempotent");
        let stock = inventory::stock_report(&db).await.unwrap();
        let mug = stock.iter().find(|s| s.id == MUG).unwrap();
        assert_eq!((mug.stock, mug.reserved, mug.sold), (96, 0, 4));

        // Releasing a committed reservation (a cancelled order) returns the stock, once.
        assert_eq!(inventory::release(&db, "o1", NOW).await.unwrap().status, "released");
        assert_eq!(inventory::release(&db, "o1", NOW).await.unwrap().status, "released");
        assert_eq!(stock_of(&db, MUG).await, 100);
        assert_eq!(inventory::commit(&db, "o1", NOW).await.unwrap_err().code, "invalid_state");

        inventory::reserve(&db, &request("o2", &[(MUG, 1)]), NOW, 900).await.unwrap();
        let mug = inventory::stock_report(&db).await.unwrap().into_iter().find(|s| s.id == MUG).unwrap();
        assert_eq!((mug.stock, mug.reserved, mug.sold), (99, 1, 0));
        assert_eq!(inventory::commit(&db, "nope", NOW).await.unwrap_err().status, 404);
        assert_eq!(inventory::release(&db, "nope", NOW).await.unwrap_err().status, 404);
    });
}

#[test]
fn stock_never_goes_negative() {
    block_on(async {
        let db = seeded().await;
        let (r, _) = inventory::reserve(&db, &request("all", &[(MUG, 100)]), NOW, 900).await.unwrap();
        assert_eq!(r.items[0].quantity, 100);
        assert_eq!(stock_of(&db, MUG).await, 0);
        let err = inventory::reserve(&db, &request("more", &[(MUG, 1)]), NOW, 900).await.unwrap_err();
        assert_eq!(err.details["items"][0]["available"], 0);
        // The CHECK refuses a negative stock even if code tried to write one.
        assert!(db.exec("UPDATE products SET stock = stock - 1 WHERE id = ?", &[MUG.into()]).await.is_err());
        // The guarded decrement changes nothing when the stock is short.
        let changed = db.exec("UPDATE products SET stock = stock - ? WHERE id = ? AND stock >= ?", &[1i64.into(), MUG.into(), 1i64.into()]).await.unwrap();
        assert_eq!(changed, 0);
    });
}

#[test]
fn the_ttl_variable_is_read_sanely() {
    assert_eq!(inventory::ttl_from(None), 900);
    assert_eq!(inventory::ttl_from(Some(" 60 ")), 60);
    assert_eq!(inventory::ttl_from(Some("soon")), 900);
    assert_eq!(inventory::ttl_from(Some("0")), 900);
}
