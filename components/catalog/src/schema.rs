//! The catalog's schema and its demo products, as `db::migrate` steps.
//!
//! The demo catalog is a migration of its own so it is loaded once, on the
//! first request: an admin's later change or deactivation is never undone.
//! `db::migrate` splits a step on `;`, so no text below may contain one.

pub const MIGRATIONS: &[&str] = &[SCHEMA, DEMO_PRODUCTS];

const SCHEMA: &str = "
CREATE TABLE products (
    id TEXT PRIMARY KEY,
    sku TEXT NOT NULL COLLATE NOCASE UNIQUE,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    category TEXT NOT NULL,
    price_amount INTEGER NOT NULL CHECK (price_amount >= 0),
    currency TEXT NOT NULL,
    image_url TEXT,
    weight_grams INTEGER NOT NULL CHECK (weight_grams >= 0),
    active INTEGER NOT NULL DEFAULT 1,
    stock INTEGER NOT NULL CHECK (stock >= 0),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX products_by_category ON products (category, active);
CREATE TABLE reservations (
    order_id TEXT PRIMARY KEY,
    status TEXT NOT NULL CHECK (status IN ('reserved', 'committed', 'released')),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX reservations_by_expiry ON reservations (status, expires_at);
CREATE TABLE reservation_items (
    order_id TEXT NOT NULL REFERENCES reservations (order_id),
    product_id TEXT NOT NULL REFERENCES products (id),
    quantity INTEGER NOT NULL CHECK (quantity >= 1),
    PRIMARY KEY (order_id, product_id)
);
CREATE INDEX reservation_items_by_product ON reservation_items (product_id);
";

const DEMO_PRODUCTS: &str = "
INSERT INTO products (id, sku, name, description, category, price_amount, currency, image_url, weight_grams, active, stock, created_at, updated_at)
SELECT id, sku, name, description, category, price_amount, 'EUR',
       'https://images.souk.example/products/' || lower(sku) || '.jpg',
       weight_grams, 1, 100, CAST(strftime('%s', 'now') AS INTEGER), CAST(strftime('%s', 'now') AS INTEGER)
FROM (
    SELECT '01900000-0000-7000-8000-000000000001' AS id, 'KIT-MUG-01' AS sku, 'Stoneware Coffee Mug' AS name,
           'A hand-glazed 350 ml stoneware mug with a matte speckled finish. Dishwasher and microwave safe.' AS description,
           'kitchen' AS category, 1250 AS price_amount, 400 AS weight_grams
    UNION ALL SELECT '01900000-0000-7000-8000-000000000002', 'KIT-KNF-02', 'Chef''s Knife 20 cm',
           'A forged stainless steel chef''s knife with a full tang and a riveted walnut handle, honed to 15 degrees.',
           'kitchen', 5990, 250
    UNION ALL SELECT '01900000-0000-7000-8000-000000000003', 'KIT-PAN-03', 'Cast Iron Skillet 26 cm',
           'Pre-seasoned cast iron that goes from hob to oven to table. Works on induction.',
           'kitchen', 3990, 2600
    UNION ALL SELECT '01900000-0000-7000-8000-000000000004', 'KIT-GRN-04', 'Burr Coffee Grinder',
           'A conical burr grinder with 18 grind settings, from espresso fine to French press coarse.',
           'kitchen', 7490, 1200
    UNION ALL SELECT '01900000-0000-7000-8000-000000000005', 'APP-TEE-01', 'Organic Cotton T-Shirt',
           'A classic crew neck tee in heavyweight organic cotton, garment-dyed for a soft, lived-in feel.',
           'apparel', 1990, 180
    UNION ALL SELECT '01900000-0000-7000-8000-000000000006', 'APP-HOD-02', 'Merino Wool Hoodie',
           'A lightweight merino hoodie that regulates temperature and resists odour on long days outdoors.',
           'apparel', 8990, 550
    UNION ALL SELECT '01900000-0000-7000-8000-000000000007', 'APP-SCK-03', 'Hiking Socks, 3 Pack',
           'Cushioned wool-blend socks with a reinforced heel and toe. Three pairs in earth tones.',
           'apparel', 1490, 200
    UNION ALL SELECT '01900000-0000-7000-8000-000000000008', 'APP-CAP-04', 'Waxed Canvas Cap',
           'A six-panel cap in water-repellent waxed canvas with an adjustable leather strap.',
           'apparel', 2490, 120
    UNION ALL SELECT '01900000-0000-7000-8000-000000000009', 'BKS-COO-01', 'The Weeknight Cookbook',
           'Ninety dinners in thirty minutes or less, with shopping lists and make-ahead tips. Hardcover.',
           'books', 2990, 900
    UNION ALL SELECT '01900000-0000-7000-8000-00000000000a', 'BKS-GRD-02', 'Small Space Gardening',
           'How to grow herbs, vegetables and flowers on balconies, windowsills and patios. Paperback.',
           'books', 2490, 700
    UNION ALL SELECT '01900000-0000-7000-8000-00000000000b', 'BKS-RST-03', 'Systems Programming in Rust',
           'Ownership, concurrency and low-level performance explained through practical projects. Paperback.',
           'books', 4490, 1100
    UNION ALL SELECT '01900000-0000-7000-8000-00000000000c', 'BKS-NOV-04', 'The Lighthouse Keeper',
           'A quiet novel about a keeper, a storm and the letters that wash ashore. Paperback.',
           'books', 1290, 350
    UNION ALL SELECT '01900000-0000-7000-8000-00000000000d', 'ELE-HDP-01', 'Wireless Noise-Cancelling Headphones',
           'Over-ear headphones with adaptive noise cancelling, 30 hours of battery and a USB-C fast charge.',
           'electronics', 17990, 300
    UNION ALL SELECT '01900000-0000-7000-8000-00000000000e', 'ELE-CHG-02', '65 W USB-C Charger',
           'A compact gallium nitride charger with two USB-C ports and one USB-A port. Powers a laptop.',
           'electronics', 3490, 150
    UNION ALL SELECT '01900000-0000-7000-8000-00000000000f', 'ELE-SPK-03', 'Portable Bluetooth Speaker',
           'A rugged, waterproof speaker with 12 hours of playback and a built-in microphone.',
           'electronics', 5990, 600
    UNION ALL SELECT '01900000-0000-7000-8000-000000000010', 'ELE-KBD-04', 'Mechanical Keyboard',
           'A tenkeyless keyboard with hot-swappable tactile switches, PBT keycaps and a detachable cable.',
           'electronics', 9990, 950
    UNION ALL SELECT '01900000-0000-7000-8000-000000000011', 'GRD-SHR-01', 'Bypass Pruning Shears',
           'Hardened steel blades and a sap groove for clean cuts on living stems up to 20 mm.',
           'garden', 2290, 250
    UNION ALL SELECT '01900000-0000-7000-8000-000000000012', 'GRD-CAN-02', 'Galvanised Watering Can 5 l',
           'A rust-proof galvanised steel can with a long spout and a removable brass rose.',
           'garden', 3490, 1100
    UNION ALL SELECT '01900000-0000-7000-8000-000000000013', 'GRD-SED-03', 'Heirloom Tomato Seed Set',
           'Six open-pollinated tomato varieties, from cherry to beefsteak, with a sowing guide.',
           'garden', 890, 50
    UNION ALL SELECT '01900000-0000-7000-8000-000000000014', 'GRD-GLV-04', 'Leather Gardening Gloves',
           'Goatskin gloves with a cotton lining and long cuffs that keep thorns away from the wrists.',
           'garden', 1690, 150
)
";
