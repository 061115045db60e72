//! The `Content-Type` of a file, from its extension.

/// The media type for a file name; text types say they are UTF-8.
pub fn for_name(name: &str) -> &'static str {
    let extension = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    match extension.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" | "map" => "application/json",
        "webmanifest" => "application/manifest+json",
        "txt" => "text/plain; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "wasm" => "application/wasm",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_scripts_and_styles_get_their_types() {
        assert_eq!(for_name("index.html"), "text/html; charset=utf-8");
        assert_eq!(for_name("app.js"), "text/javascript; charset=utf-8");
        assert_eq!(for_name("STYLE.CSS"), "text/css; charset=utf-8");
        assert_eq!(for_name("logo.svg"), "image/svg+xml");
        assert_eq!(for_name("font.woff2"), "font/woff2");
    }

    #[test]
    fn unknown_or_missing_extensions_are_opaque_bytes() {
        assert_eq!(for_name("README"), "application/octet-stream");
        assert_eq!(for_name("archive.xyz"), "application/octet-stream");
    }
}
