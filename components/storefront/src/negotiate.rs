//! The HTTP rules around a file that do not touch the disk: which encoding
//! of it to send, its entity tag, whether the client's copy is current, and
//! how long it may be cached.

/// A precompressed variant of a file, stored beside it as `<name>.br` or
/// `<name>.gz`, in the order they are preferred.
pub const ENCODINGS: [(&str, &str); 2] = [("br", ".br"), ("gzip", ".gz")];

/// Whether `accept_encoding` (the request's `Accept-Encoding`) allows
/// `coding`: listed (or `*`) with a q-value above zero.
pub fn accepts(accept_encoding: Option<&str>, coding: &str) -> bool {
    let Some(header) = accept_encoding else { return false };
    let mut star = None;
    for item in header.split(',') {
        let mut parts = item.split(';');
        let name = parts.next().unwrap_or("").trim();
        let q = parts
            .find_map(|p| p.trim().strip_prefix("q=").or_else(|| p.trim().strip_prefix("Q=")))
            .map(|q| q.trim().parse::<f32>().unwrap_or(0.0))
            .unwrap_or(1.0);
        if name.eq_ignore_ascii_case(coding) {
            return q > 0.0;
        }
        if name == "*" {
            star = Some(q > 0.0);
        }
    }
    star.unwrap_or(false)
}

/// A strong entity tag for these exact bytes: their length and a 64-bit
/// FNV-1a hash. Not a security measure, only a change detector: each
/// encoding of a file has its own bytes and so its own tag.
pub fn etag(bytes: &[u8]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("\"{:x}-{hash:016x}\"", bytes.len())
}

/// Whether `if_none_match` (the request's `If-None-Match`) names `etag`
/// (the weak comparison RFC 9110 asks for here) or is `*`.
pub fn not_modified(if_none_match: Option<&str>, etag: &str) -> bool {
    let Some(header) = if_none_match else { return false };
    let opaque = |tag: &str| tag.trim().trim_start_matches("W/").to_owned();
    header.split(',').any(|tag| tag.trim() == "*" || opaque(tag) == opaque(etag))
}

/// `Cache-Control` for a file: a year, unchanging, for a fingerprinted
/// asset (a name with a segment of at least 8 hex digits, `app.3f9a2c1b.js`,
/// whose content never changes under that name); for everything else
/// (the HTML above all, which names the assets) `no-cache`: the browser
/// keeps it but asks each time, and the entity tag makes that a 304.
pub fn cache_control(file_name: &str) -> &'static str {
    if is_fingerprinted(file_name) { "public, max-age=31536000, immutable" } else { "no-cache" }
}

fn is_fingerprinted(file_name: &str) -> bool {
    let mut parts: Vec<&str> = file_name.split('.').collect();
    if parts.len() < 3 {
        return false;
    }
    parts.pop();
    parts[1..].iter().any(|p| p.len() >= 8 && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_are_accepted_as_listed_with_their_weights() {
        assert!(accepts(Some("gzip, deflate, br"), "br"));
        assert!(accepts(Some("gzip;q=0.5"), "gzip"));
        assert!(accepts(Some("GZIP"), "gzip"));
        assert!(!accepts(Some("gzip;q=0"), "gzip"));
        assert!(!accepts(Some("gzip, deflate"), "br"));
        assert!(accepts(Some("*"), "br"));
        assert!(!accepts(Some("*, br;q=0"), "br"));
        assert!(!accepts(None, "gzip"));
        assert!(!accepts(Some("identity"), "gzip"));
    }

    #[test]
    fn the_entity_tag_changes_with_the_bytes() {
        assert_eq!(etag(b"abc"), etag(b"abc"));
        assert_ne!(etag(b"abc"), etag(b"abd"));
        assert_ne!(etag(b""), etag(b"\0"));
        assert!(etag(b"abc").starts_with('"') && etag(b"abc").ends_with('"'));
    }

    #[test]
    fn if_none_match_matches_the_tag_in_a_list_weakly_or_as_a_star() {
        let tag = etag(b"page");
        assert!(not_modified(Some(&tag), &tag));
        assert!(not_modified(Some(&format!("\"other\", W/{tag}")), &tag));
        assert!(not_modified(Some("*"), &tag));
        assert!(!not_modified(Some("\"other\""), &tag));
        assert!(!not_modified(None, &tag));
    }

    #[test]
    fn only_fingerprinted_names_are_cached_for_long() {
        assert_eq!(cache_control("app.3f9a2c1b.js"), "public, max-age=31536000, immutable");
        assert_eq!(cache_control("style.0123456789abcdef.css"), "public, max-age=31536000, immutable");
        assert_eq!(cache_control("app.js"), "no-cache");
        assert_eq!(cache_control("index.html"), "no-cache");
        assert_eq!(cache_control("deadbeef12.js"), "no-cache", "the hash is a segment of its own, not the name");
        assert_eq!(cache_control("app.min.js"), "no-cache");
    }
}
