//! `shop-floor`: the floor under the shop benchmark (scripts/bench-shop).
//! It times the services' own domain code natively, in one process and one
//! thread, on file-backed SQLite set up as the host sets up its stores
//! (WAL, `synchronous = NORMAL`, cached statements), without WebAssembly
//! or HTTP:
//! - the browse work: the catalog's product search (the default list page,
//!   a `q` search, a category sorted by price), a product's page, and the
//!   browse scenario's blend of them;
//! - an order: `orders::saga::place_idempotent` from the cart, with the
//!   other services answered in process (`fake`), stock reserved and
//!   committed by `catalog::inventory` on the catalog's own database.
//!
//! Per operation: median, p99 and mean over `--iterations` (after
//! `--warmup`), and 1 s / mean as operations per second on one core.
//!
//! Usage: shop-floor [--iterations 2000] [--warmup 200] [--dir PATH] [--json]

mod fake;
mod ops;
mod stats;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use futures::executor::block_on;
use serde::Serialize;
use shop_common::db::memory::MemoryDb;
use shop_common::{ApiError, Db, db};

use fake::FakeShop;
use ops::{Browse, Catalog};
use stats::{Summary, summarize};

struct Args {
    iterations: usize,
    warmup: usize,
    dir: Option<PathBuf>,
    json: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args { iterations: 2000, warmup: 200, dir: None, json: false };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut number = |name: &str| -> Result<usize, String> {
            let v = it.next().ok_or_else(|| format!("{name} needs a value"))?;
            v.parse().map_err(|_| format!("{name}: `{v}` is not a whole number"))
        };
        match arg.as_str() {
            "--iterations" => args.iterations = number("--iterations")?.max(1),
            "--warmup" => args.warmup = number("--warmup")?,
            "--dir" => args.dir = Some(it.next().ok_or("--dir needs a value")?.into()),
            "--json" => args.json = true,
            "-h" | "--help" => {
                return Err("usage: shop-floor [--iterations 2000] [--warmup 200] [--dir PATH] [--json]".into());
            }
            other => return Err(format!("unknown argument `{other}` (see --help)")),
        }
    }
    Ok(args)
}

#[derive(Serialize)]
struct Op {
    #[serde(flatten)]
    summary: Summary,
    what: &'static str,
}

#[derive(Serialize)]
struct Report {
    iterations: usize,
    warmup: usize,
    ops: Vec<Op>,
}

/// Runs `op` `warmup` times unmeasured, then `iterations` times measured.
fn time<E: std::fmt::Display>(name: &str, args: &Args, mut op: impl FnMut(usize) -> Result<usize, E>) -> Result<Summary, String> {
    for i in 0..args.warmup {
        op(i).map_err(|e| format!("{name}: {e}"))?;
    }
    let mut samples = Vec::with_capacity(args.iterations);
    for i in args.warmup..args.warmup + args.iterations {
        let start = Instant::now();
        op(i).map_err(|e| format!("{name}: {e}"))?;
        samples.push(u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX));
    }
    Ok(summarize(name, &mut samples))
}

fn api(e: ApiError) -> String {
    format!("{} {}: {}", e.status, e.code, e.message)
}

/// The catalog's and the orders' databases, migrated; every product stocked
/// so that no order runs out (the load generator restocks the same way).
fn open_stores(dir: &std::path::Path) -> Result<(MemoryDb, MemoryDb), String> {
    let catalog = MemoryDb::open_file(&dir.join("sqlite_db_catalog.db")).map_err(|e| e.0)?;
    let orders = MemoryDb::open_file(&dir.join("sqlite_db_orders.db")).map_err(|e| e.0)?;
    block_on(async {
        db::migrate(&catalog, catalog::schema::MIGRATIONS).await?;
        catalog.exec("UPDATE products SET stock = 1000000000", &[]).await?;
        db::migrate(&orders, orders::store::MIGRATIONS).await
    })
    .map_err(api)?;
    Ok((catalog, orders))
}

/// The catalog's products as the orders service sees them.
fn order_products(db: &MemoryDb) -> Result<Vec<orders::services::Product>, String> {
    let search = catalog::products::Search::parse(None, None, None, None, Some("100")).map_err(api)?;
    let page = block_on(catalog::products::search(db, &search)).map_err(api)?;
    Ok(page.items.into_iter().map(fake::order_product).collect())
}

fn measure(args: &Args, dir: &std::path::Path) -> Result<Report, String> {
    let (catalog_db, orders_db) = open_stores(dir)?;
    let catalog = Catalog::load(&catalog_db).map_err(api)?;
    let shop = FakeShop::new(&catalog_db, order_products(&catalog_db)?);
    let (cdb, cat) = (&catalog_db, &catalog);
    let browse = |kind| move |i| ops::browse(cdb, cat, kind, i).map_err(api);
    let ops = vec![
        Op { summary: time("list", args, browse(Browse::List))?, what: "GET /api/v1/products (page 1, by name)" },
        Op { summary: time("search", args, browse(Browse::Search))?, what: "GET /api/v1/products?q=<word>" },
        Op { summary: time("category", args, browse(Browse::Category))?, what: "GET /api/v1/products?category=<c>&sort=price" },
        Op { summary: time("product", args, browse(Browse::Product))?, what: "GET /api/v1/products/{id}" },
        Op { summary: time("browse_mix", args, browse(Browse::Mix))?, what: "the browse scenario's blend (25% list, 20% q, 10% category, 45% product)" },
        Op { summary: time("order", args, |i| ops::order(&orders_db, &shop, i))?, what: "POST /api/v1/orders (saga's local steps, Idempotency-Key)" },
    ];
    Ok(Report { iterations: args.iterations, warmup: args.warmup, ops })
}

fn table(report: &Report) -> String {
    let mut out = format!(
        "Native floor: one thread, file-backed SQLite (WAL), {} iterations after {} warm-up\n\n\
         | operation | what | median (µs) | p99 (µs) | mean (µs) | ops/s per core |\n|---|---|---|---|---|---|\n",
        report.iterations, report.warmup
    );
    for op in &report.ops {
        let s = &op.summary;
        out.push_str(&format!("| {} | {} | {:.1} | {:.1} | {:.1} | {:.0} |\n", s.name, op.what, s.median_us, s.p99_us, s.mean_us, s.ops_per_s));
    }
    out
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(message) => {
            eprintln!("shop-floor: {message}");
            return ExitCode::from(2);
        }
    };
    let (dir, temporary) = match &args.dir {
        Some(d) => (d.clone(), false),
        None => (std::env::temp_dir().join(format!("shop-floor-{}", std::process::id())), true),
    };
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("shop-floor: {}: {e}", dir.display());
        return ExitCode::from(2);
    }
    let result = measure(&args, &dir);
    if temporary {
        let _ = std::fs::remove_dir_all(&dir);
    }
    match result {
        Ok(report) => {
            if args.json {
                println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
            } else {
                print!("{}", table(&report));
            }
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("shop-floor: {message}");
            ExitCode::FAILURE
        }
    }
}
