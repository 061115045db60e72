//! The `spin-*` request headers a component sees, as Spin sets them.

use std::net::SocketAddr;

use http::{HeaderMap, HeaderName, HeaderValue};
use souk_manifest::{HttpRoute, RouteMatch, Router};

/// Where a request landed in the route table.
pub struct RouteInfo {
    pub raw_component_route: String,
    pub component_route: String,
    pub path_info: String,
    pub named: Vec<(String, String)>,
}

impl RouteInfo {
    pub fn from_match(m: &RouteMatch<'_>) -> Self {
        Self {
            raw_component_route: m.raw_route.to_string(),
            component_route: m.component_route.clone(),
            path_info: m.path_info.clone(),
            named: m.named.clone(),
        }
    }

    /// For a chained request, which bypasses the router: match the path against
    /// the target's own route, or treat a private route as `/...`.
    pub fn for_chained(route: &HttpRoute, path: &str) -> Self {
        if let HttpRoute::Path(route) = route
            && let Ok(router) = Router::build(&[(route.clone(), String::new())])
            && let Some(m) = router.route(path)
        {
            return Self::from_match(&m);
        }
        Self { raw_component_route: "/...".into(), component_route: String::new(), path_info: path.to_string(), named: Vec::new() }
    }
}

/// Replaces any `spin-*` header the caller sent with the ones this host vouches for.
pub fn set_spin_headers(headers: &mut HeaderMap, route: &RouteInfo, full_url: &str, client: Option<SocketAddr>) {
    let forged: Vec<HeaderName> = headers.keys().filter(|k| k.as_str().starts_with("spin-")).cloned().collect();
    for name in forged {
        headers.remove(&name);
    }
    let mut set = |name: &str, value: &str| {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            headers.insert(name, value);
        }
    };
    set("spin-full-url", full_url);
    set("spin-path-info", &route.path_info);
    set("spin-matched-route", &route.raw_component_route);
    set("spin-base-path", "/");
    set("spin-raw-component-route", &route.raw_component_route);
    set("spin-component-route", &route.component_route);
    if let Some(client) = client {
        set("spin-client-addr", &client.to_string());
    }
    for (name, value) in &route.named {
        set(&path_match_header(name), value);
    }
}

/// The header carrying route parameter `name`: Spin writes it in lower
/// case with `_` as `-` (`:user_id` → `spin-path-match-user-id`).
fn path_match_header(name: &str) -> String {
    format!("spin-path-match-{}", name.to_ascii_lowercase().replace('_', "-"))
}

/// The request's id for the access log: the client's `x-request-id` (a
/// proxy in front may set one), or a new one, unique in this process.
pub fn request_id(headers: &HeaderMap) -> String {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};
    let given = headers.get("x-request-id").and_then(|v| v.to_str().ok()).filter(|v| (1..=128).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_graphic()));
    if let Some(given) = given {
        return given.to_string();
    }
    static PREFIX: OnceLock<u32> = OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let prefix = *PREFIX.get_or_init(|| {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        (now.as_nanos() as u32) ^ std::process::id().rotate_left(16)
    });
    format!("{prefix:08x}-{:08x}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// The trace id of a W3C `traceparent` the client sent
/// (`00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`), if valid.
pub fn trace_id(headers: &HeaderMap) -> Option<String> {
    let value = headers.get("traceparent")?.to_str().ok()?;
    let mut parts = value.trim().split('-');
    let (version, trace, parent, flags) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let hex = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    let valid = hex(version, 2) && version != "ff" && hex(trace, 32) && hex(parent, 16) && hex(flags, 2) && trace.bytes().any(|b| b != b'0');
    valid.then(|| trace.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chained_request_to_a_private_component_sees_the_whole_path_as_path_info() {
        let info = RouteInfo::for_chained(&HttpRoute::Private, "/internal/orders/1");
        assert_eq!(info.path_info, "/internal/orders/1");
        assert_eq!(info.raw_component_route, "/...");
    }

    #[test]
    fn chained_request_matches_the_targets_own_route() {
        let info = RouteInfo::for_chained(&HttpRoute::Path("/api/...".into()), "/api/items/7");
        assert_eq!(info.component_route, "/api");
        assert_eq!(info.path_info, "/items/7");
    }

    #[test]
    fn a_parameter_name_with_underscores_is_written_with_dashes() {
        assert_eq!(path_match_header("user_id"), "spin-path-match-user-id");
        assert_eq!(path_match_header("Slug"), "spin-path-match-slug");
    }

    #[test]
    fn every_incoming_spin_header_is_replaced() {
        let mut headers = HeaderMap::new();
        headers.insert("spin-path-match-user", HeaderValue::from_static("admin"));
        headers.insert("spin-full-url", HeaderValue::from_static("http://evil/"));
        headers.insert("x-kept", HeaderValue::from_static("1"));
        let info = RouteInfo::for_chained(&HttpRoute::Path("/a".into()), "/a");
        set_spin_headers(&mut headers, &info, "http://host/a", None);
        assert!(headers.get("spin-path-match-user").is_none());
        assert_eq!(headers["spin-full-url"], "http://host/a");
        assert_eq!(headers["x-kept"], "1");
        assert!(headers.get("spin-client-addr").is_none());
    }

    #[test]
    fn request_ids_come_from_the_client_or_are_made_and_trace_ids_from_traceparent() {
        let mut headers = HeaderMap::new();
        let made = (request_id(&headers), request_id(&headers));
        assert_ne!(made.0, made.1);
        headers.insert("x-request-id", HeaderValue::from_static("abc-123"));
        assert_eq!(request_id(&headers), "abc-123");
        headers.insert("x-request-id", HeaderValue::from_static("has space"));
        assert_ne!(request_id(&headers), "has space");

        headers.insert("traceparent", HeaderValue::from_static("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
        assert_eq!(trace_id(&headers).as_deref(), Some("4bf92f3577b34da6a3ce929d0e0e4736"));
        headers.insert("traceparent", HeaderValue::from_static("00-00000000000000000000000000000000-00f067aa0ba902b7-01"));
        assert_eq!(trace_id(&headers), None);
        headers.insert("traceparent", HeaderValue::from_static("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"));
        assert_eq!(trace_id(&headers), None, "upper-case hex is not valid");
    }
}
