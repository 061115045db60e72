//! One request for a file, answered: the whole file-serving policy in one
//! function, [`respond`], over a folder on disk (the `files` mount in the
//! component, a temporary folder in the tests).
//!
//! - `GET` and `HEAD` only (else 405 with `Allow`); `HEAD` has every header
//!   of the `GET`, no body.
//! - The path is decoded once (`request_path`), and a traversal attempt is
//!   400. The file is looked up without leaving the mount (`mount`).
//! - A found file gets its type, `ETag`, `Cache-Control`, `Vary:
//!   Accept-Encoding`, and its `.br`/`.gz` sibling instead when the client
//!   accepts that coding and the sibling exists; `If-None-Match` naming the
//!   tag is a 304.
//! - Not found: a page of the app (`/orders/123`, no file extension) gets
//!   `index.html` with 200, and the app's script shows the page; a missing
//!   file (`/nope.js`) gets `404.html` with 404; a path under `/api/` or
//!   `/internal/` that no service took gets the API's JSON 404, never HTML.

use std::path::Path;

use crate::{content_type, mount, negotiate, request_path};

/// What the adapter read from the request.
pub struct FileRequest<'a> {
    pub method: &'a str,
    /// The URL path, still percent-encoded, without the query.
    pub path: &'a str,
    pub if_none_match: Option<&'a str>,
    pub accept_encoding: Option<&'a str>,
}

/// What the adapter writes back.
#[derive(Debug)]
pub struct FileResponse {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

impl FileResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Sent with every HTML page: only this origin's scripts, styles, images
/// and API, and never inside another site's frame.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

pub fn respond(root: &Path, request: &FileRequest) -> FileResponse {
    let head = request.method.eq_ignore_ascii_case("HEAD");
    if !head && !request.method.eq_ignore_ascii_case("GET") {
        let mut response = text(405, "Only GET and HEAD are served here.\n");
        response.headers.push(("allow", "GET, HEAD".into()));
        return response;
    }
    let segments = match request_path::segments(request.path) {
        Ok(segments) => segments,
        Err(request_path::Refused::BadEncoding) => return text(400, "The path is not valid percent-encoded UTF-8.\n"),
        Err(request_path::Refused::Traversal) => return text(400, "The path leaves the site.\n"),
    };
    let mut response = if matches!(segments.first().map(String::as_str), Some("api" | "internal")) {
        api_not_found(request.path)
    } else if let Some(file) = mount::find(root, &segments) {
        send_file(&file, 200, request)
    } else if request_path::is_file_like(&segments) {
        missing_file(root, request)
    } else {
        match mount::find(root, &["index.html".to_owned()]) {
            Some(index) => send_file(&index, 200, request),
            None => text(404, "This site has no index.html.\n"),
        }
    };
    response.headers.push(("x-content-type-options", "nosniff".into()));
    if head {
        response.body.clear();
    }
    response
}

fn missing_file(root: &Path, request: &FileRequest) -> FileResponse {
    match mount::find(root, &["404.html".to_owned()]) {
        Some(page) => send_file(&page, 404, request),
        None => text(404, "Not found.\n"),
    }
}

/// The file at `path` (or its precompressed sibling), with `status`.
fn send_file(path: &Path, status: u16, request: &FileRequest) -> FileResponse {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let (bytes, encoding) = match choose_encoding(path, request.accept_encoding) {
        Some((coding, bytes)) => (bytes, Some(coding)),
        None => match std::fs::read(path) {
            Ok(bytes) => (bytes, None),
            Err(e) => return text(500, &format!("The file could not be read: {e}\n")),
        },
    };
    let tag = negotiate::etag(&bytes);
    let content_type = content_type::for_name(&name);
    let mut headers = vec![
        ("content-type", content_type.to_owned()),
        ("etag", tag.clone()),
        // A 404 page or the app's fallback must not be kept as the answer for that URL.
        ("cache-control", if status == 200 { negotiate::cache_control(&name).to_owned() } else { "no-cache".to_owned() }),
        ("vary", "Accept-Encoding".into()),
    ];
    if let Some(coding) = encoding {
        headers.push(("content-encoding", coding.to_owned()));
    }
    if content_type.starts_with("text/html") {
        headers.push(("content-security-policy", CONTENT_SECURITY_POLICY.into()));
        headers.push(("referrer-policy", "same-origin".into()));
    }
    if status == 200 && negotiate::not_modified(request.if_none_match, &tag) {
        headers.retain(|(name, _)| !matches!(*name, "content-type" | "content-encoding"));
        return FileResponse { status: 304, headers, body: Vec::new() };
    }
    FileResponse { status, headers, body: bytes }
}

/// The first precompressed sibling the client accepts that exists.
fn choose_encoding(path: &Path, accept_encoding: Option<&str>) -> Option<(&'static str, Vec<u8>)> {
    let mut variant = path.as_os_str().to_owned();
    negotiate::ENCODINGS.iter().filter(|(coding, _)| negotiate::accepts(accept_encoding, coding)).find_map(|(coding, suffix)| {
        variant.push(suffix);
        let bytes = std::fs::read(Path::new(&variant)).ok();
        variant.clear();
        variant.push(path.as_os_str());
        bytes.map(|b| (*coding, b))
    })
}

fn text(status: u16, message: &str) -> FileResponse {
    FileResponse {
        status,
        headers: vec![("content-type", "text/plain; charset=utf-8".into()), ("cache-control", "no-cache".into())],
        body: message.as_bytes().to_vec(),
    }
}

/// The API's error shape, for an API path no service routes.
fn api_not_found(path: &str) -> FileResponse {
    let path = path.replace('\\', "\\\\").replace('"', "\\\"");
    let body = format!("{{\"error\":{{\"code\":\"not_found\",\"message\":\"no such endpoint: {path}\",\"details\":{{}}}}}}");
    FileResponse { status: 404, headers: vec![("content-type", "application/json".into()), ("cache-control", "no-cache".into())], body: body.into_bytes() }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Site {
        _dir: tempfile::TempDir,
        root: std::path::PathBuf,
    }

    fn site() -> Site {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("static");
        for (path, body) in [
            ("index.html", "<!doctype html><title>shop</title>"),
            ("404.html", "<!doctype html><title>not found</title>"),
            ("assets/app.js", "console.log('app')"),
            ("assets/app.js.gz", "GZ-BYTES"),
            ("assets/app.js.br", "BR-BYTES"),
            ("assets/style.css", "body{}"),
            ("assets/style.css.gz", "GZ-CSS"),
            ("assets/lib.0123abcd.js", "lib"),
        ] {
            let file = root.join(path);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(file, body).unwrap();
        }
        std::fs::write(dir.path().join("secret.txt"), "top secret").unwrap();
        Site { _dir: dir, root }
    }

    fn get(site: &Site, path: &str) -> FileResponse {
        ask(site, "GET", path, None, None)
    }

    fn ask(site: &Site, method: &str, path: &str, if_none_match: Option<&str>, accept_encoding: Option<&str>) -> FileResponse {
        respond(&site.root, &FileRequest { method, path, if_none_match, accept_encoding })
    }

    fn body(r: &FileResponse) -> &str {
        std::str::from_utf8(&r.body).unwrap()
    }

    #[test]
    fn a_file_comes_with_its_type_tag_and_caching() {
        let site = site();
        let r = get(&site, "/assets/style.css");
        assert_eq!((r.status, body(&r)), (200, "body{}"));
        assert_eq!(r.header("content-type"), Some("text/css; charset=utf-8"));
        assert_eq!(r.header("etag"), Some(negotiate::etag(b"body{}").as_str()));
        assert_eq!(r.header("cache-control"), Some("no-cache"));
        assert_eq!(r.header("vary"), Some("Accept-Encoding"));
        assert_eq!(r.header("content-encoding"), None);
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    }

    #[test]
    fn the_home_page_is_html_with_its_security_policy() {
        let site = site();
        let r = get(&site, "/");
        assert_eq!(r.status, 200);
        assert!(body(&r).contains("<title>shop</title>"));
        assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
        assert_eq!(r.header("cache-control"), Some("no-cache"));
        assert!(r.header("content-security-policy").unwrap().contains("script-src 'self'"));
    }

    #[test]
    fn fingerprinted_assets_are_cached_for_a_year() {
        let site = site();
        assert_eq!(get(&site, "/assets/lib.0123abcd.js").header("cache-control"), Some("public, max-age=31536000, immutable"));
    }

    #[test]
    fn a_matching_if_none_match_is_304_without_a_body() {
        let site = site();
        let tag = get(&site, "/assets/app.js").header("etag").unwrap().to_owned();
        let r = ask(&site, "GET", "/assets/app.js", Some(&tag), None);
        assert_eq!(r.status, 304);
        assert!(r.body.is_empty());
        assert_eq!(r.header("etag"), Some(tag.as_str()));
        let r = ask(&site, "GET", "/assets/app.js", Some("\"stale\""), None);
        assert_eq!((r.status, body(&r)), (200, "console.log('app')"));
    }

    #[test]
    fn precompressed_variants_are_sent_when_accepted_and_present() {
        let site = site();
        let r = ask(&site, "GET", "/assets/app.js", None, Some("gzip, deflate, br"));
        assert_eq!((r.status, body(&r), r.header("content-encoding")), (200, "BR-BYTES", Some("br")));
        assert_eq!(r.header("content-type"), Some("text/javascript; charset=utf-8"), "the type is the original's");
        let r = ask(&site, "GET", "/assets/app.js", None, Some("gzip"));
        assert_eq!((body(&r), r.header("content-encoding")), ("GZ-BYTES", Some("gzip")));
        let r = ask(&site, "GET", "/assets/style.css", None, Some("br, gzip"));
        assert_eq!((body(&r), r.header("content-encoding")), ("GZ-CSS", Some("gzip")), "no .br: the .gz");
        let r = ask(&site, "GET", "/assets/app.js", None, Some("br;q=0, gzip;q=0"));
        assert_eq!((body(&r), r.header("content-encoding")), ("console.log('app')", None));
        let r = ask(&site, "GET", "/", None, Some("br, gzip"));
        assert_eq!(r.header("content-encoding"), None, "no variant of index.html: the file itself");
    }

    #[test]
    fn each_encoding_has_its_own_tag() {
        let site = site();
        let plain = get(&site, "/assets/app.js").header("etag").unwrap().to_owned();
        let gz = ask(&site, "GET", "/assets/app.js", None, Some("gzip"));
        assert_ne!(gz.header("etag").unwrap(), plain);
        assert_eq!(ask(&site, "GET", "/assets/app.js", Some(&plain), Some("gzip")).status, 200, "the plain file's tag does not validate the gzip one");
    }

    #[test]
    fn head_has_the_headers_of_get_and_no_body() {
        let site = site();
        let (g, h) = (get(&site, "/assets/app.js"), ask(&site, "HEAD", "/assets/app.js", None, None));
        assert_eq!(h.status, 200);
        assert!(h.body.is_empty());
        assert_eq!(h.headers, g.headers);
    }

    #[test]
    fn other_methods_are_405_naming_the_allowed_ones() {
        let site = site();
        let r = ask(&site, "POST", "/", None, None);
        assert_eq!((r.status, r.header("allow")), (405, Some("GET, HEAD")));
    }

    #[test]
    fn app_pages_fall_back_to_the_index() {
        let site = site();
        for path in ["/orders", "/orders/0190a1b2-c3d4-7000-8000-000000000001", "/products/abc", "/account/sign-in"] {
            let r = get(&site, path);
            assert_eq!((r.status, body(&r)), (200, "<!doctype html><title>shop</title>"), "{path}");
            assert_eq!(r.header("cache-control"), Some("no-cache"));
        }
    }

    #[test]
    fn missing_files_get_the_404_page() {
        let site = site();
        let r = get(&site, "/assets/missing.js");
        assert_eq!(r.status, 404);
        assert!(body(&r).contains("not found"));
        assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
        assert_eq!(r.header("cache-control"), Some("no-cache"));
    }

    #[test]
    fn unrouted_api_paths_are_json_404s_not_the_app() {
        let site = site();
        for path in ["/api/v1/nothing", "/internal/orders/summary"] {
            let r = get(&site, path);
            assert_eq!((r.status, r.header("content-type")), (404, Some("application/json")), "{path}");
            assert!(body(&r).contains("\"code\":\"not_found\""));
        }
    }

    #[test]
    fn traversal_is_refused_and_never_reads_outside() {
        let site = site();
        for path in ["/../secret.txt", "/%2e%2e/secret.txt", "/assets/..%2f..%2fsecret.txt", "/..%5csecret.txt", "/%2E%2E%2Fsecret.txt"] {
            let r = get(&site, path);
            assert_eq!(r.status, 400, "{path}");
            assert!(!body(&r).contains("top secret"), "{path}");
        }
        let r = get(&site, "//secret.txt");
        assert_eq!(r.status, 404, "a leading // stays inside the mount");
        assert!(!body(&r).contains("top secret"));
    }

    #[cfg(unix)]
    #[test]
    fn a_link_out_of_the_mount_is_not_served() {
        let site = site();
        std::os::unix::fs::symlink("../secret.txt", site.root.join("leak.txt")).unwrap();
        let r = get(&site, "/leak.txt");
        assert_eq!(r.status, 404);
        assert!(!body(&r).contains("top secret"));
    }

    #[test]
    fn a_site_without_an_index_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let r = respond(dir.path(), &FileRequest { method: "GET", path: "/orders", if_none_match: None, accept_encoding: None });
        assert_eq!(r.status, 404);
    }
}
