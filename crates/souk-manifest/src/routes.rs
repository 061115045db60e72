//! Spin's HTTP routing: parses `[[trigger.http]]` route patterns and picks the
//! most specific route for a request path.
//!
//! Semantics (as in Spin, which uses the `routefinder` crate):
//! - leading and trailing slashes are ignored, both in routes and in paths
//!   (`/foo/` is the route `/foo`, and the path `/foo/` matches `/foo`);
//! - `/a/...` (or `/a/*`) matches `/a` and everything below it; `/...` matches
//!   every path;
//! - a `:name` segment matches exactly one non-empty segment and captures it
//!   (`:name.ext` captures the part before the first dot of a segment that
//!   ends in `.ext`);
//! - the most specific route wins: routes are compared segment by segment,
//!   and at the first difference a literal beats `:name`, which beats the
//!   wildcard; if one route is a prefix of the other, the shorter one (the
//!   exact route) wins. So exact routes beat wildcards and longer wildcard
//!   prefixes beat shorter ones.

use std::cmp::Ordering;
use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param { name: String, suffix: Option<String> },
}

impl Segment {
    fn rank(&self) -> u8 {
        match self {
            Segment::Literal(_) => 3,
            Segment::Param { suffix: Some(_), .. } => 2,
            Segment::Param { suffix: None, .. } => 1,
        }
    }
}

/// A parsed route pattern.
#[derive(Debug, Clone)]
struct Pattern {
    segments: Vec<Segment>,
    wildcard: bool,
}

const WILDCARD_RANK: u8 = 0;

impl Pattern {
    fn parse(route: &str) -> Result<Pattern, String> {
        if !route.starts_with('/') {
            return Err(format!("route `{route}` must start with `/`"));
        }
        let (body, wildcard) = if let Some(prefix) = route.strip_suffix("/...") {
            (prefix, true)
        } else if let Some(prefix) = route.strip_suffix("/*") {
            (prefix, true)
        } else {
            (route, false)
        };
        let mut segments = Vec::new();
        for seg in body.split('/').filter(|s| !s.is_empty()) {
            if seg.contains("...") || seg.starts_with('*') {
                return Err(format!("route `{route}`: a wildcard (`...`) may only be the last segment, as in `/api/...`"));
            }
            if let Some(param) = seg.strip_prefix(':') {
                let (name, suffix) = match param.split_once('.') {
                    Some((name, suffix)) => (name, Some(suffix)),
                    None => (param, None),
                };
                if name.is_empty() {
                    return Err(format!("route `{route}`: `:` parameters must be named, as in `/users/:id`"));
                }
                if suffix == Some("") {
                    return Err(format!("route `{route}`: `{seg}` has an empty suffix after the dot"));
                }
                segments.push(Segment::Param { name: name.to_owned(), suffix: suffix.map(str::to_owned) });
            } else {
                segments.push(Segment::Literal(seg.to_owned()));
            }
        }
        Ok(Pattern { segments, wildcard })
    }

    /// Two routes with the same key can never be told apart.
    fn conflict_key(&self) -> String {
        let mut key = String::new();
        for seg in &self.segments {
            key.push('/');
            match seg {
                Segment::Literal(text) => key.push_str(text),
                Segment::Param { suffix, .. } => {
                    key.push(':');
                    if let Some(suffix) = suffix {
                        key.push('.');
                        key.push_str(suffix);
                    }
                }
            }
        }
        if self.wildcard {
            key.push_str("/...");
        }
        if key.is_empty() {
            key.push('/');
        }
        key
    }

    fn ranks(&self) -> impl Iterator<Item = u8> + '_ {
        self.segments.iter().map(Segment::rank).chain(self.wildcard.then_some(WILDCARD_RANK))
    }

    /// More specific patterns order first.
    fn specificity(&self, other: &Pattern) -> Ordering {
        let mut mine = self.ranks();
        let mut theirs = other.ranks();
        loop {
            match (mine.next(), theirs.next()) {
                (Some(a), Some(b)) if a != b => return b.cmp(&a),
                (Some(_), Some(_)) => continue,
                (None, Some(_)) => return Ordering::Less,
                (Some(_), None) => return Ordering::Greater,
                (None, None) => return Ordering::Equal,
            }
        }
    }

    /// Matches path segments; returns the `:name` captures.
    fn captures(&self, path: &[&str]) -> Option<Vec<(String, String)>> {
        let n = self.segments.len();
        if path.len() < n || (!self.wildcard && path.len() != n) {
            return None;
        }
        let mut named = Vec::new();
        for (seg, actual) in self.segments.iter().zip(path) {
            match seg {
                Segment::Literal(text) => {
                    if text != actual {
                        return None;
                    }
                }
                Segment::Param { name, suffix: None } => {
                    if actual.is_empty() {
                        return None;
                    }
                    named.push((name.clone(), (*actual).to_owned()));
                }
                Segment::Param { name, suffix: Some(suffix) } => {
                    let (value, rest) = actual.split_once('.')?;
                    if value.is_empty() || rest != suffix {
                        return None;
                    }
                    named.push((name.clone(), value.to_owned()));
                }
            }
        }
        Some(named)
    }
}

#[derive(Debug, Clone)]
struct Entry {
    route: String,
    component: String,
    pattern: Pattern,
}

/// The HTTP route table of an application (private routes excluded).
#[derive(Debug, Clone)]
pub struct Router {
    entries: Vec<Entry>,
    /// Indexes into `entries`, most specific first.
    order: Vec<usize>,
}

/// The result of routing one request path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteMatch<'a> {
    pub component_id: &'a str,
    /// The route as written in the manifest, e.g. `/api/...` or `/users/:id`.
    pub raw_route: &'a str,
    /// The route without a trailing `/...` (`/api/...` gives `/api`; `/...` gives `""`, as in Spin).
    pub component_route: String,
    /// Same as `raw_route`.
    pub matched_route: &'a str,
    /// For wildcard routes, the rest of the path after the matched prefix
    /// (`/api/...` on `/api/a/b` gives `/a/b`); starts with `/` when non-empty
    /// and keeps a trailing slash of the request path. `""` for exact routes.
    pub path_info: String,
    /// `:name` captures, in route order.
    pub named: Vec<(String, String)>,
    /// Same as `path_info` (Spin's `trailing_wildcard`).
    pub trailing_wildcard: String,
}

impl Router {
    /// Builds the table from `(route, component id)` pairs. Fails, naming the
    /// route, on a malformed route or on two routes that match exactly the
    /// same paths (for example `/a` and `/a/`, or `/a/...` and `/a/*`).
    pub fn build(routes: &[(String, String)]) -> Result<Router, String> {
        let mut entries = Vec::with_capacity(routes.len());
        let mut seen: HashMap<String, usize> = HashMap::new();
        for (route, component) in routes {
            let pattern = Pattern::parse(route).map_err(|e| format!("invalid route for component `{component}`: {e}"))?;
            let key = pattern.conflict_key();
            if let Some(&first) = seen.get(&key) {
                let earlier: &Entry = &entries[first];
                return Err(format!("route `{route}` of component `{component}` duplicates route `{}` of component `{}`", earlier.route, earlier.component));
            }
            seen.insert(key, entries.len());
            entries.push(Entry { route: route.clone(), component: component.clone(), pattern });
        }
        let mut order: Vec<usize> = (0..entries.len()).collect();
        order.sort_by(|&a, &b| entries[a].pattern.specificity(&entries[b].pattern));
        Ok(Router { entries, order })
    }

    /// Routes a request path (a query string, if present, is ignored).
    pub fn route(&self, path: &str) -> Option<RouteMatch<'_>> {
        let path = path.split_once('?').map_or(path, |(p, _)| p);
        let trimmed = path.trim_start_matches('/').trim_end_matches('/');
        let segments: Vec<&str> = if trimmed.is_empty() { Vec::new() } else { trimmed.split('/').collect() };
        self.order.iter().find_map(|&i| {
            let entry = &self.entries[i];
            let named = entry.pattern.captures(&segments)?;
            let path_info =
                if entry.pattern.wildcard { trailing_wildcard(trimmed, &segments, entry.pattern.segments.len(), path.ends_with('/')) } else { String::new() };
            let raw = entry.route.as_str();
            Some(RouteMatch {
                component_id: &entry.component,
                raw_route: raw,
                component_route: raw.strip_suffix("/...").unwrap_or(raw).to_owned(),
                matched_route: raw,
                trailing_wildcard: path_info.clone(),
                path_info,
                named,
            })
        })
    }

    /// `(route, component id)` in the order they were given.
    pub fn routes(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|e| (e.route.as_str(), e.component.as_str()))
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }
}

/// Checks one route pattern on its own (used when validating a manifest).
pub(crate) fn check_route(route: &str) -> Result<String, String> {
    Pattern::parse(route).map(|p| p.conflict_key())
}

/// Spin's trailing-wildcard value: the path after the first `prefix_len`
/// segments, with a leading `/`, keeping a trailing slash of the request.
fn trailing_wildcard(trimmed: &str, segments: &[&str], prefix_len: usize, trailing_slash: bool) -> String {
    let consumed: usize = segments[..prefix_len].iter().map(|s| s.len() + 1).sum();
    let rest = trimmed.get(consumed.min(trimmed.len())..).unwrap_or("");
    match (rest.is_empty(), trailing_slash) {
        (true, false) => String::new(),
        (true, true) => "/".to_owned(),
        (false, false) => format!("/{rest}"),
        (false, true) => format!("/{rest}/"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router(routes: &[(&str, &str)]) -> Router {
        let owned: Vec<(String, String)> = routes.iter().map(|(r, c)| (r.to_string(), c.to_string())).collect();
        Router::build(&owned).unwrap()
    }

    fn component<'a>(r: &'a Router, path: &str) -> Option<&'a str> {
        r.route(path).map(|m| m.component_id)
    }

    #[test]
    fn exact_routes_match_only_their_path() {
        let r = router(&[("/foo", "foo"), ("/foo/bar", "foobar")]);
        assert_eq!(component(&r, "/foo"), Some("foo"));
        assert_eq!(component(&r, "/foo/bar"), Some("foobar"));
        assert_eq!(component(&r, "/foo/baz"), None);
        assert_eq!(component(&r, "/foobar"), None);
        assert_eq!(component(&r, "/"), None);
    }

    #[test]
    fn exact_route_ignores_trailing_slash_of_path() {
        let r = router(&[("/foo", "foo")]);
        assert_eq!(component(&r, "/foo/"), Some("foo"));
        assert_eq!(r.route("/foo/").unwrap().path_info, "");
    }

    #[test]
    fn trailing_slash_in_route_is_ignored() {
        let r = router(&[("/foo/", "foo")]);
        assert_eq!(component(&r, "/foo"), Some("foo"));
        assert_eq!(r.route("/foo").unwrap().raw_route, "/foo/");
    }

    #[test]
    fn root_route_matches_only_root() {
        let r = router(&[("/", "root")]);
        assert_eq!(component(&r, "/"), Some("root"));
        assert_eq!(component(&r, ""), Some("root"));
        assert_eq!(component(&r, "/x"), None);
    }

    #[test]
    fn catch_all_wildcard_matches_everything() {
        let r = router(&[("/...", "all")]);
        for path in ["/", "/foo/bar", "/abc/", "/this/should/be/captured?abc=def"] {
            assert_eq!(component(&r, path), Some("all"), "{path}");
        }
        let m = r.route("/1/2/3").unwrap();
        assert_eq!(m.trailing_wildcard, "/1/2/3");
        assert_eq!(m.path_info, "/1/2/3");
        assert_eq!(m.component_route, "");
    }

    #[test]
    fn wildcard_matches_its_prefix_and_below() {
        let r = router(&[("/api/...", "api")]);
        assert_eq!(component(&r, "/api"), Some("api"));
        assert_eq!(component(&r, "/api/x/y"), Some("api"));
        assert_eq!(component(&r, "/apix"), None);
        assert_eq!(component(&r, "/"), None);
    }

    #[test]
    fn star_is_a_trailing_wildcard_too() {
        let r = router(&[("/api/*", "api")]);
        let m = r.route("/api/x/y").unwrap();
        assert_eq!(m.path_info, "/x/y");
        assert_eq!(m.component_route, "/api/*");
    }

    #[test]
    fn trailing_wildcard_respects_trailing_slash() {
        let r = router(&[("/test/...", "comp")]);
        assert_eq!(r.route("/test").unwrap().path_info, "");
        assert_eq!(r.route("/test/").unwrap().path_info, "/");
        assert_eq!(r.route("/test/hello").unwrap().path_info, "/hello");
        assert_eq!(r.route("/test/hello/").unwrap().path_info, "/hello/");
    }

    #[test]
    fn match_reports_routes_as_written() {
        let r = router(&[("/api/...", "api")]);
        let m = r.route("/api/items").unwrap();
        assert_eq!(m.raw_route, "/api/...");
        assert_eq!(m.matched_route, "/api/...");
        assert_eq!(m.component_route, "/api");
        assert_eq!(m.path_info, "/items");
        assert_eq!(m.trailing_wildcard, "/items");
        assert!(m.named.is_empty());
    }

    #[test]
    fn exact_route_beats_wildcard() {
        let r = router(&[("/...", "wildcard"), ("/one", "one_exact")]);
        assert_eq!(component(&r, "/one"), Some("one_exact"));
        assert_eq!(component(&r, "/two"), Some("wildcard"));
        let r = router(&[("/api/...", "wild"), ("/api", "exact")]);
        assert_eq!(component(&r, "/api"), Some("exact"));
        assert_eq!(component(&r, "/api/x"), Some("wild"));
        let r = router(&[("/...", "all"), ("/", "root")]);
        assert_eq!(component(&r, "/"), Some("root"));
    }

    #[test]
    fn longest_wildcard_prefix_wins_regardless_of_order() {
        let forward = router(&[("/one/...", "one"), ("/one/two/...", "onetwo"), ("/one/two/three/...", "onetwothree")]);
        let backward = router(&[("/one/two/three/...", "onetwothree"), ("/one/two/...", "onetwo"), ("/one/...", "one")]);
        for r in [forward, backward] {
            assert_eq!(component(&r, "/one/two/three/four"), Some("onetwothree"));
            assert_eq!(component(&r, "/one/two/x"), Some("onetwo"));
            assert_eq!(component(&r, "/one/x"), Some("one"));
        }
    }

    #[test]
    fn named_segment_is_captured() {
        let r = router(&[("/users/:id", "user")]);
        let m = r.route("/users/42").unwrap();
        assert_eq!(m.named, vec![("id".to_owned(), "42".to_owned())]);
        assert_eq!(m.path_info, "");
        assert_eq!(component(&r, "/users"), None);
        assert_eq!(component(&r, "/users/42/x"), None);
    }

    #[test]
    fn named_captures_come_in_route_order() {
        let r = router(&[("/:a/x/:b/...", "c")]);
        let m = r.route("/1/x/2/rest").unwrap();
        assert_eq!(m.named, vec![("a".to_owned(), "1".to_owned()), ("b".to_owned(), "2".to_owned())]);
        assert_eq!(m.path_info, "/rest");
        assert_eq!(m.component_route, "/:a/x/:b");
    }

    #[test]
    fn named_segment_with_extension_captures_the_stem() {
        let r = router(&[("/files/:name.json", "json")]);
        let m = r.route("/files/report.json").unwrap();
        assert_eq!(m.named, vec![("name".to_owned(), "report".to_owned())]);
        assert_eq!(component(&r, "/files/report.txt"), None);
    }

    #[test]
    fn literal_segment_beats_named_segment() {
        let r = router(&[("/users/:id", "by-id"), ("/users/me", "me")]);
        assert_eq!(component(&r, "/users/me"), Some("me"));
        assert_eq!(component(&r, "/users/7"), Some("by-id"));
        let r = router(&[("/:x/b", "param-first"), ("/a/:y", "literal-first")]);
        assert_eq!(component(&r, "/a/b"), Some("literal-first"));
    }

    #[test]
    fn named_segment_beats_wildcard() {
        let r = router(&[("/a/...", "wild"), ("/a/:id", "param")]);
        assert_eq!(component(&r, "/a/x"), Some("param"));
        assert_eq!(component(&r, "/a/x/y"), Some("wild"));
    }

    #[test]
    fn earlier_literal_beats_later_specificity() {
        // Spin compares segment by segment: the literal in the first segment decides.
        let r = router(&[("/:x/c", "param"), ("/a/...", "wild")]);
        assert_eq!(component(&r, "/a/c"), Some("wild"));
    }

    #[test]
    fn duplicate_route_is_an_error_naming_both() {
        let routes = vec![("/foo".to_owned(), "first".to_owned()), ("/foo".to_owned(), "second".to_owned())];
        let e = Router::build(&routes).unwrap_err();
        assert!(e.contains("/foo") && e.contains("first") && e.contains("second"), "{e}");
    }

    #[test]
    fn routes_differing_only_in_trailing_slash_or_wildcard_spelling_are_duplicates() {
        for (a, b) in [("/foo", "/foo/"), ("/a/...", "/a/*"), ("/u/:id", "/u/:name")] {
            let routes = vec![(a.to_owned(), "x".to_owned()), (b.to_owned(), "y".to_owned())];
            assert!(Router::build(&routes).is_err(), "{a} vs {b}");
        }
    }

    #[test]
    fn malformed_routes_are_rejected_with_the_route_named() {
        for bad in ["foo", "/a/.../b", "/a/:", "/a/*/b", "/a/*x", "/a/...x", "/:name."] {
            let routes = vec![(bad.to_owned(), "c".to_owned())];
            let e = Router::build(&routes).unwrap_err();
            assert!(e.contains(bad), "{bad}: {e}");
        }
    }

    #[test]
    fn routes_are_listed_in_table_order() {
        let r = router(&[("/b", "b"), ("/...", "all"), ("/a", "a")]);
        let listed: Vec<_> = r.routes().collect();
        assert_eq!(listed, vec![("/b", "b"), ("/...", "all"), ("/a", "a")]);
    }

    #[test]
    fn query_string_is_ignored() {
        let r = router(&[("/a", "a")]);
        assert_eq!(component(&r, "/a?x=1"), Some("a"));
    }
}
