//! The storefront: its files served through `souk up` by the component
//! (the serving rules, seen over real HTTP), and the whole shop walked
//! through in a real headless Chromium by `host/tests/browser/walk.mjs`
//! (puppeteer-core, installed by `scripts/install-tools`).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command;

use super::{ADMIN_EMAIL, ADMIN_PASSWORD, Shop};
use crate::harness::workspace_root;
use crate::servers::Chromium;

/// A response as it came off the wire: nothing decoded or normalised.
struct Raw {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Raw {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (k, v) = line.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// One HTTP/1.1 request with exactly this path and these headers (a client
/// library would clean up `/%2e%2e/`), read to the end of the connection.
fn raw(shop: &Shop, method: &str, path: &str, headers: &[(&str, &str)]) -> Raw {
    let address = shop.souk.url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).unwrap();
    let mut request = format!("{method} {path} HTTP/1.1\r\nhost: {address}\r\nconnection: close\r\n");
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).unwrap();
    let split = bytes.windows(4).position(|w| w == b"\r\n\r\n").expect("a response head");
    let head = String::from_utf8_lossy(&bytes[..split]).into_owned();
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("a status line");
    let mut body = bytes[split + 4..].to_vec();
    if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        body = unchunk(&body);
    }
    Raw { status, head, body }
}

fn unchunk(mut bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = bytes.windows(2).position(|w| w == b"\r\n").unwrap();
        let size = usize::from_str_radix(std::str::from_utf8(&bytes[..line_end]).unwrap().split(';').next().unwrap().trim(), 16).unwrap();
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&bytes[line_end + 2..line_end + 2 + size]);
        bytes = &bytes[line_end + 2 + size + 2..];
    }
}

#[test]
fn the_storefront_serves_its_pages_and_files_by_the_rules() {
    let shop = Shop::start();
    let home = raw(&shop, "GET", "/", &[]);
    assert_eq!(home.status, 200, "{}", home.head);
    assert_eq!(home.header("content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(home.header("cache-control"), Some("no-cache"));
    assert!(home.header("content-security-policy").is_some_and(|p| p.contains("script-src 'self'")));
    assert!(String::from_utf8_lossy(&home.body).contains("/assets/app.js"));
    let tag = home.header("etag").expect("an ETag").to_owned();
    let again = raw(&shop, "GET", "/", &[("if-none-match", &tag)]);
    assert_eq!((again.status, again.body.len()), (304, 0), "{}", again.head);

    let script = raw(&shop, "GET", "/assets/app.js", &[("accept-encoding", "gzip, br")]);
    assert_eq!((script.status, script.header("content-encoding")), (200, Some("gzip")), "{}", script.head);
    assert_eq!(script.header("content-type"), Some("text/javascript; charset=utf-8"));
    assert_eq!(&script.body[..2], [0x1f, 0x8b], "gzip bytes");
    let plain = raw(&shop, "GET", "/assets/app.js", &[]);
    assert_eq!(plain.header("content-encoding"), None);
    assert!(String::from_utf8_lossy(&plain.body).contains("import"));
    assert_ne!(plain.header("etag"), script.header("etag"), "each encoding has its own tag");
    let head = raw(&shop, "HEAD", "/assets/app.js", &[]);
    assert_eq!((head.status, head.body.len(), head.header("etag")), (200, 0, plain.header("etag")));

    // A page of the app (a client-side route) is the app; a missing file is a 404.
    let page = raw(&shop, "GET", "/orders/0190a1b2-0000-7000-8000-000000000001", &[]);
    assert_eq!((page.status, page.body.as_slice()), (200, home.body.as_slice()));
    let missing = raw(&shop, "GET", "/assets/nope.js", &[]);
    assert_eq!(missing.status, 404);
    assert!(String::from_utf8_lossy(&missing.body).contains("does not exist"));

    for path in ["/../spin.toml", "/%2e%2e/spin.toml", "/assets/%2E%2E%2F%2E%2E%2Fspin.toml", "/..%5cspin.toml"] {
        let r = raw(&shop, "GET", path, &[]);
        assert!(r.status == 400 || r.status == 404, "{path}: {}", r.head);
        assert!(!String::from_utf8_lossy(&r.body).contains("spin_manifest_version"), "{path} leaked the manifest");
    }
    let r = raw(&shop, "POST", "/", &[("content-length", "0")]);
    assert_eq!((r.status, r.header("allow")), (405, Some("GET, HEAD")));

    // The API keeps its routes; a path under /api/ nobody serves is the API's 404, not the app.
    let api = raw(&shop, "GET", "/api/v1/nothing-here", &[]);
    assert_eq!((api.status, api.header("content-type")), (404, Some("application/json")), "{}", api.head);
    assert_eq!(raw(&shop, "GET", "/api/v1/products", &[]).header("content-type"), Some("application/json"));
}

/// `host/tests/browser`, where `scripts/install-tools` runs `npm ci`.
fn browser_tests() -> PathBuf {
    let dir = workspace_root().join("host/tests/browser");
    assert!(
        dir.join("node_modules/puppeteer-core").is_dir(),
        "puppeteer-core is not installed in {}: run scripts/install-tools (scripts/test does)",
        dir.display()
    );
    dir
}

/// Where each page's screenshot goes, on every run.
fn screenshots() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| workspace_root().join("target")).join("storefront-screenshots")
}

#[test]
fn a_shopper_buys_follows_and_cancels_in_a_real_chromium() {
    let dir = browser_tests();
    let shop = Shop::start();
    let chromium = Chromium::start();
    let shots = screenshots();
    let output = Command::new("node")
        .arg("walk.mjs")
        .current_dir(&dir)
        .env("SOUK_URL", &shop.souk.url)
        .env("CHROME_WS", &chromium.websocket)
        .env("SCREENSHOT_DIR", &shots)
        .env("ADMIN_EMAIL", ADMIN_EMAIL)
        .env("ADMIN_PASSWORD", ADMIN_PASSWORD)
        .output()
        .unwrap_or_else(|e| panic!("running node ({e}): install Node.js (.ci/run does)"));
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "the browser walk failed ({}); screenshots in {}:\n{stdout}\n{stderr}", output.status, shots.display());
    assert!(stdout.contains("all steps passed"), "{stdout}");
    for page in ["catalog", "cart", "checkout-declined", "order-paid", "admin-shipments", "order-in-transit", "order-refunded"] {
        assert!(shots.join(format!("{page}.png")).is_file(), "no screenshot of {page} in {}", shots.display());
    }
}
