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
        if let HttpRoute::Path(route) = route {
            if let Ok(router) = Router::build(&[(route.clone(), String::new())]) {
                if let Some(m) = router.route(path) {
                    return Self::from_match(&m);
                }
            }
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
        set(&format!("spin-path-match-{}", name.to_ascii_lowercase()), value);
    }
}
