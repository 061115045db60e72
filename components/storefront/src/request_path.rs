//! A request path made safe to look up under the mount: percent-decoded
//! once, split into segments, with every way out of the mount refused
//! (`..` written plainly or encoded, backslashes, NUL bytes). A leading `/`
//! or `//` never makes a path absolute: the segments are always joined onto
//! the mount's root.

/// Why a path is refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// Not valid percent-encoding, or not UTF-8 once decoded.
    BadEncoding,
    /// A `..` segment, a backslash or a NUL byte: an attempt to leave the mount.
    Traversal,
}

/// The segments of `raw` (the URL path without its query), decoded. Empty
/// and `.` segments are dropped. A segment starting with `.` (`.env`,
/// `.git`) is kept, and the file server treats it as absent.
pub fn segments(raw: &str) -> Result<Vec<String>, Refused> {
    let decoded = percent_decode(raw)?;
    if decoded.contains('\\') || decoded.contains('\0') {
        return Err(Refused::Traversal);
    }
    let mut out = Vec::new();
    for segment in decoded.split('/') {
        match segment {
            "" | "." => {}
            ".." => return Err(Refused::Traversal),
            s => out.push(s.to_owned()),
        }
    }
    Ok(out)
}

/// Whether the last segment looks like a file (`app.js`, `logo.svg`), as
/// opposed to a page of the app (`orders`, a product id): a missing file is
/// a 404, a missing page is the app's to show.
pub fn is_file_like(segments: &[String]) -> bool {
    segments.last().is_some_and(|last| last.rsplit_once('.').is_some_and(|(stem, ext)| !stem.is_empty() && !ext.is_empty() && ext.len() <= 12))
}

fn percent_decode(raw: &str) -> Result<String, Refused> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).ok_or(Refused::BadEncoding)?;
            let text = std::str::from_utf8(hex).map_err(|_| Refused::BadEncoding)?;
            out.push(u8::from_str_radix(text, 16).map_err(|_| Refused::BadEncoding)?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| Refused::BadEncoding)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(raw: &str) -> Vec<String> {
        segments(raw).unwrap_or_else(|e| panic!("{raw}: {e:?}"))
    }

    #[test]
    fn plain_paths_split_into_decoded_segments() {
        assert_eq!(ok("/assets/app.js"), ["assets", "app.js"]);
        assert_eq!(ok("/"), Vec::<String>::new());
        assert_eq!(ok("/a%20b/c.css"), ["a b", "c.css"]);
        assert_eq!(ok("/./a//b/"), ["a", "b"]);
    }

    #[test]
    fn a_leading_double_slash_is_not_an_absolute_path() {
        assert_eq!(ok("//etc/passwd"), ["etc", "passwd"]);
        assert_eq!(ok("/%2Fetc%2Fpasswd"), ["etc", "passwd"]);
    }

    #[test]
    fn dot_dot_is_refused_plain_or_encoded() {
        for raw in ["/../etc/passwd", "/a/../../b", "/%2e%2e/etc/passwd", "/%2E%2E%2Fetc", "/a/%2e%2e", "/.%2e/x", "/..%2fsecret"] {
            assert_eq!(segments(raw), Err(Refused::Traversal), "{raw}");
        }
    }

    #[test]
    fn backslashes_and_nul_bytes_are_refused() {
        assert_eq!(segments("/..\\secret"), Err(Refused::Traversal));
        assert_eq!(segments("/a%5c..%5cb"), Err(Refused::Traversal));
        assert_eq!(segments("/index.html%00.js"), Err(Refused::Traversal));
    }

    #[test]
    fn broken_encoding_is_refused() {
        assert_eq!(segments("/a%2"), Err(Refused::BadEncoding));
        assert_eq!(segments("/a%zz"), Err(Refused::BadEncoding));
        assert_eq!(segments("/%ff%fe"), Err(Refused::BadEncoding));
    }

    #[test]
    fn file_names_are_told_from_app_pages() {
        let is = |raw: &str| is_file_like(&ok(raw));
        assert!(is("/assets/app.js") && is("/favicon.ico") && is("/docs/v1.2/readme.txt"));
        assert!(!is("/") && !is("/orders") && !is("/products/0190a1b2-c3d4") && !is("/.hidden") && !is("/v1."));
    }
}
