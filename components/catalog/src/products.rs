//! Browsing and administering products: search, categories, detail,
//! create, patch, deactivate, restock, and the lookup other services use.

use serde::Serialize;
use shop_common::db::DbError;
use shop_common::{ApiError, Db, Page, PageRequest, Value, id};

use crate::product::{COLUMNS, NewProduct, Product, ProductPatch};

pub const MAX_QUERY_CHARS: usize = 200;
pub const MAX_LOOKUP_IDS: usize = 100;
pub const MAX_RESTOCK: i64 = 1_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    PriceAsc,
    PriceDesc,
    #[default]
    NameAsc,
    NameDesc,
}

impl Sort {
    pub fn parse(text: Option<&str>) -> Result<Sort, ApiError> {
        match text {
            None | Some("") | Some("name") => Ok(Sort::NameAsc),
            Some("-name") => Ok(Sort::NameDesc),
            Some("price") => Ok(Sort::PriceAsc),
            Some("-price") => Ok(Sort::PriceDesc),
            Some(other) => Err(ApiError::invalid_field("sort", format!("`sort` must be one of price, -price, name, -name; got {other:?}"))),
        }
    }

    /// Ties broken by name, then id, so pages never overlap.
    fn order_by(self) -> &'static str {
        match self {
            Sort::PriceAsc => "price_amount ASC, name COLLATE NOCASE ASC, id ASC",
            Sort::PriceDesc => "price_amount DESC, name COLLATE NOCASE ASC, id ASC",
            Sort::NameAsc => "name COLLATE NOCASE ASC, id ASC",
            Sort::NameDesc => "name COLLATE NOCASE DESC, id ASC",
        }
    }
}

/// `GET /api/v1/products`: what the query string asked for.
#[derive(Debug, Clone, Default)]
pub struct Search {
    pub q: Option<String>,
    pub category: Option<String>,
    pub sort: Sort,
    pub page: PageRequest,
}

impl Search {
    pub fn parse(q: Option<&str>, category: Option<&str>, sort: Option<&str>, page: Option<&str>, page_size: Option<&str>) -> Result<Search, ApiError> {
        let q = q.map(str::trim).filter(|q| !q.is_empty());
        if let Some(q) = q
            && q.chars().count() > MAX_QUERY_CHARS
        {
            return Err(ApiError::invalid_field("q", format!("`q` must be at most {MAX_QUERY_CHARS} characters")));
        }
        Ok(Search {
            q: q.map(str::to_owned),
            category: category.map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned),
            sort: Sort::parse(sort)?,
            page: PageRequest::parse(page, page_size)?,
        })
    }
}

fn to_value(n: u64) -> Value {
    Value::Integer(i64::try_from(n).unwrap_or(i64::MAX))
}

/// Active products matching `search` (case-insensitive on name,
/// description and sku), one page of them and how many there are.
pub async fn search<D: Db>(db: &D, search: &Search) -> Result<Page<Product>, ApiError> {
    let mut filter = String::from("active = 1");
    let mut params: Vec<Value> = Vec::new();
    if let Some(category) = &search.category {
        filter.push_str(" AND category = ?");
        params.push(category.into());
    }
    if let Some(q) = &search.q {
        // Not LIKE: SQLite plans a LIKE around its pattern's value, so a
        // statement with a bound pattern is compiled again on every run.
        // lower() and to_ascii_lowercase() fold ASCII only, as LIKE does.
        filter.push_str(" AND (instr(lower(name), ?) > 0 OR instr(lower(description), ?) > 0 OR instr(lower(sku), ?) > 0)");
        let folded = q.to_ascii_lowercase();
        params.extend([folded.as_str().into(), folded.as_str().into(), folded.into()]);
    }
    let total = db.query_one(&format!("SELECT COUNT(*) FROM products WHERE {filter}"), &params).await?.map(|r| r.int(0)).transpose()?.unwrap_or(0);
    let (limit, offset) = search.page.limit_offset();
    params.extend([to_value(u64::from(limit)), to_value(offset)]);
    let sql = format!("SELECT {COLUMNS} FROM products WHERE {filter} ORDER BY {} LIMIT ? OFFSET ?", search.sort.order_by());
    let items = db.query(&sql, &params).await?.iter().map(Product::from_row).collect::<Result<_, _>>()?;
    Ok(Page::new(items, search.page, u64::try_from(total).unwrap_or(0)))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Category {
    pub name: String,
    /// Active products in it.
    pub products: i64,
}

/// Categories that have active products, by name.
pub async fn categories<D: Db>(db: &D) -> Result<Vec<Category>, ApiError> {
    let rows = db.query("SELECT category, COUNT(*) FROM products WHERE active = 1 GROUP BY category ORDER BY category", &[]).await?;
    rows.iter().map(|r| Ok(Category { name: r.text(0)?, products: r.int(1)? })).collect()
}

/// Any product, active or not, by id; `None` for an unknown or malformed id.
pub async fn find<D: Db>(db: &D, product_id: &str) -> Result<Option<Product>, ApiError> {
    let Ok(product_id) = id::parse_id(product_id) else { return Ok(None) };
    let row = db.query_one(&format!("SELECT {COLUMNS} FROM products WHERE id = ?"), &[product_id.into()]).await?;
    row.as_ref().map(Product::from_row).transpose()
}

/// A product the caller may see: inactive ones only for admins.
pub async fn get<D: Db>(db: &D, product_id: &str, is_admin: bool) -> Result<Product, ApiError> {
    match find(db, product_id).await? {
        Some(p) if p.active || is_admin => Ok(p),
        _ => Err(ApiError::not_found("product")),
    }
}

fn sku_taken(e: DbError, sku: &str) -> ApiError {
    if e.is_unique_violation() {
        ApiError::conflict("conflict", format!("a product with sku {sku:?} already exists")).with_details(serde_json::json!({ "field": "sku" }))
    } else {
        e.into()
    }
}

/// Adds a product (already validated); 409 when its sku is taken.
pub async fn create<D: Db>(db: &D, new: &NewProduct, now: i64) -> Result<Product, ApiError> {
    let product_id = id::new_id();
    db.exec(
        "INSERT INTO products (id, sku, name, description, category, price_amount, currency, image_url, weight_grams, active, stock, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)",
        &[
            product_id.as_str().into(),
            new.sku.as_str().into(),
            new.name.as_str().into(),
            new.description.as_str().into(),
            new.category.as_str().into(),
            new.price.amount.into(),
            new.price.currency.code().into(),
            new.image_url.clone().into(),
            new.weight_grams.into(),
            new.stock.into(),
            now.into(),
            now.into(),
        ],
    )
    .await
    .map_err(|e| sku_taken(e, &new.sku))?;
    find(db, &product_id).await?.ok_or_else(|| ApiError::internal("the product just created is gone"))
}

/// Applies a (validated) patch; 404 for an unknown product, 409 for a taken sku.
pub async fn update<D: Db>(db: &D, product_id: &str, patch: &ProductPatch, now: i64) -> Result<Product, ApiError> {
    let current = find(db, product_id).await?.ok_or_else(|| ApiError::not_found("product"))?;
    let mut changes: Vec<(&str, Value)> = Vec::new();
    if let Some(v) = &patch.sku {
        changes.push(("sku = ?", v.into()));
    }
    if let Some(v) = &patch.name {
        changes.push(("name = ?", v.into()));
    }
    if let Some(v) = &patch.description {
        changes.push(("description = ?", v.into()));
    }
    if let Some(v) = &patch.category {
        changes.push(("category = ?", v.into()));
    }
    if let Some(price) = &patch.price {
        changes.push(("price_amount = ?", price.amount.into()));
        changes.push(("currency = ?", price.currency.code().into()));
    }
    if let Some(v) = &patch.image_url {
        changes.push(("image_url = ?", v.clone().into()));
    }
    if let Some(v) = patch.weight_grams {
        changes.push(("weight_grams = ?", v.into()));
    }
    if let Some(v) = patch.active {
        changes.push(("active = ?", v.into()));
    }
    if changes.is_empty() {
        return Ok(current);
    }
    changes.push(("updated_at = ?", now.into()));
    let sql = format!("UPDATE products SET {} WHERE id = ?", changes.iter().map(|(c, _)| *c).collect::<Vec<_>>().join(", "));
    let mut params: Vec<Value> = changes.into_iter().map(|(_, v)| v).collect();
    params.push(current.id.as_str().into());
    db.exec(&sql, &params).await.map_err(|e| sku_taken(e, patch.sku.as_deref().unwrap_or_default()))?;
    find(db, &current.id).await?.ok_or_else(|| ApiError::not_found("product"))
}

/// Takes a product off sale (idempotent); carts and orders then refuse it.
pub async fn deactivate<D: Db>(db: &D, product_id: &str, now: i64) -> Result<Product, ApiError> {
    let current = find(db, product_id).await?.ok_or_else(|| ApiError::not_found("product"))?;
    if current.active {
        db.exec("UPDATE products SET active = 0, updated_at = ? WHERE id = ?", &[now.into(), current.id.as_str().into()]).await?;
    }
    find(db, &current.id).await?.ok_or_else(|| ApiError::not_found("product"))
}

pub fn check_restock(quantity: i64) -> Result<i64, ApiError> {
    if (1..=MAX_RESTOCK).contains(&quantity) {
        Ok(quantity)
    } else {
        Err(ApiError::invalid_field("quantity", format!("`quantity` must be from 1 to {MAX_RESTOCK}; got {quantity}")))
    }
}

/// Adds `quantity` units to a product's stock.
pub async fn restock<D: Db>(db: &D, product_id: &str, quantity: i64, now: i64) -> Result<Product, ApiError> {
    let quantity = check_restock(quantity)?;
    let current = find(db, product_id).await?.ok_or_else(|| ApiError::not_found("product"))?;
    db.exec("UPDATE products SET stock = stock + ?, updated_at = ? WHERE id = ?", &[quantity.into(), now.into(), current.id.as_str().into()]).await?;
    find(db, &current.id).await?.ok_or_else(|| ApiError::not_found("product"))
}

/// Products by id, inactive ones too, in the order asked (each once);
/// unknown or malformed ids are left out.
pub async fn lookup<D: Db>(db: &D, ids: &[String]) -> Result<Vec<Product>, ApiError> {
    if ids.len() > MAX_LOOKUP_IDS {
        return Err(ApiError::invalid_field("ids", format!("at most {MAX_LOOKUP_IDS} ids at a time; got {}", ids.len())));
    }
    let mut wanted: Vec<String> = Vec::new();
    for parsed in ids.iter().filter_map(|i| id::parse_id(i).ok()) {
        if !wanted.contains(&parsed) {
            wanted.push(parsed);
        }
    }
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let marks = vec!["?"; wanted.len()].join(", ");
    let params: Vec<Value> = wanted.iter().map(Value::from).collect();
    let found = db.query(&format!("SELECT {COLUMNS} FROM products WHERE id IN ({marks})"), &params).await?;
    let found: Vec<Product> = found.iter().map(Product::from_row).collect::<Result<_, _>>()?;
    Ok(wanted.iter().filter_map(|w| found.iter().find(|p| &p.id == w).cloned()).collect())
}
