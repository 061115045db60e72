//! The operations timed, each as its service does it for one request after
//! the HTTP layer: parse the query, check the schema (`db::migrate`, one
//! read), run the domain function, serialize the JSON reply.

use catalog::products::{self, Search};
use futures::executor::block_on;
use orders::saga;
use serde::Serialize;
use shop_common::db::memory::MemoryDb;
use shop_common::{ApiError, db};

use crate::fake::FakeShop;

/// The list page's sorts, as the browse scenario picks them.
const SORTS: [Option<&str>; 5] = [None, Some("price"), Some("-price"), Some("name"), Some("-name")];
/// The browse scenario's page size.
const PAGE_SIZE: &str = "20";

/// What the browse requests pick from: the demo catalog's products.
pub struct Catalog {
    pub ids: Vec<String>,
    pub words: Vec<String>,
    pub categories: Vec<String>,
    pub pages: u64,
}

impl Catalog {
    /// Lists every active product once, as the browse scenario does first.
    pub fn load(db: &MemoryDb) -> Result<Catalog, ApiError> {
        let all = block_on(products::search(db, &Search::parse(None, None, None, None, Some("100"))?))?;
        let mut words: Vec<String> = Vec::new();
        let mut categories: Vec<String> = Vec::new();
        for p in &all.items {
            for w in p.name.split(|c: char| !c.is_alphanumeric()).filter(|w| w.chars().count() >= 3) {
                let w = w.to_lowercase();
                if !words.contains(&w) {
                    words.push(w);
                }
            }
            if !categories.contains(&p.category) {
                categories.push(p.category.clone());
            }
        }
        if all.items.is_empty() {
            return Err(ApiError::internal("the demo catalog is empty"));
        }
        Ok(Catalog { ids: all.items.iter().map(|p| p.id.clone()).collect(), words, categories, pages: all.total.div_ceil(20).max(1) })
    }
}

/// `GET /api/v1/products?...`: bytes of the reply body.
async fn search(db: &MemoryDb, q: Option<&str>, category: Option<&str>, sort: Option<&str>, page: Option<&str>) -> Result<usize, ApiError> {
    let search = Search::parse(q, category, sort, page, Some(PAGE_SIZE))?;
    db::migrate(db, catalog::schema::MIGRATIONS).await?;
    let page = products::search(db, &search).await?;
    Ok(serde_json::to_vec(&page).map_err(|e| ApiError::internal(e.to_string()))?.len())
}

/// `GET /api/v1/products/{id}`.
async fn product(db: &MemoryDb, id: &str) -> Result<usize, ApiError> {
    db::migrate(db, catalog::schema::MIGRATIONS).await?;
    let product = products::get(db, id, false).await?;
    Ok(serde_json::to_vec(&product).map_err(|e| ApiError::internal(e.to_string()))?.len())
}

/// A browse operation, the `i`-th of its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Browse {
    /// The default list page (page 1, by name).
    List,
    /// `q=<a word of a product's name>`.
    Search,
    /// `category=<one>&sort=price`.
    Category,
    /// A product's page.
    Product,
    /// The browse scenario's blend: list pages in any order 25%, search 20%,
    /// category 10%, product 45%.
    Mix,
}

/// One browse request; `Err` when the service would not have answered 200.
pub fn browse(db: &MemoryDb, catalog: &Catalog, kind: Browse, i: usize) -> Result<usize, ApiError> {
    let pick = |items: &[String]| items[i % items.len()].clone();
    block_on(async {
        match kind {
            Browse::List => search(db, None, None, None, None).await,
            Browse::Search => search(db, Some(&pick(&catalog.words)), None, None, None).await,
            Browse::Category => search(db, None, Some(&pick(&catalog.categories)), Some("price"), None).await,
            Browse::Product => product(db, &pick(&catalog.ids)).await,
            Browse::Mix => {
                // Twenty requests a round: 5 lists, 4 searches, 2 categories, 9 products.
                let round = i / 20;
                match i % 20 {
                    0..5 => {
                        let page = (round as u64 % catalog.pages + 1).to_string();
                        search(db, None, None, SORTS[(i + round) % SORTS.len()], Some(&page)).await
                    }
                    5..9 => search(db, Some(&pick(&catalog.words)), None, None, None).await,
                    9..11 => search(db, None, Some(&pick(&catalog.categories)), None, None).await,
                    _ => product(db, &pick(&catalog.ids)).await,
                }
            }
        }
    })
}

/// The card every order pays with, as the checkout scenario sends it.
pub const ORDER_BODY: &[u8] = br#"{"card":{"number":"4242 4242 4242 4242","exp_month":12,"exp_year":2099,"cvc":"123"}}"#;

/// `POST /api/v1/orders` from the cart with a fresh `Idempotency-Key`: the
/// saga's local steps (idempotency row, order row, stock reserve and
/// commit on the catalog's database, paid with its event in the outbox,
/// relayed) and the reply; `Err` unless 201.
pub fn order(db: &MemoryDb, shop: &FakeShop, i: usize) -> Result<usize, String> {
    block_on(async {
        let user_id = format!("01900000-0000-7000-9000-{:012}", i % 64);
        let key = format!("floor-{i}");
        if let Err(e) = db::migrate(db, orders::store::MIGRATIONS).await {
            return Err(format!("order {i}: {} {}", e.status, e.message));
        }
        let answer = saga::place_idempotent(db, shop, &user_id, Some(&key), ORDER_BODY).await;
        if answer.status != 201 {
            return Err(format!("order {i}: {} {}", answer.status, answer.body));
        }
        serde_json::to_vec(&answer.body).map(|b| b.len()).map_err(|e| e.to_string())
    })
}
