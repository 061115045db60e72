//! The meta service (see docs/shop.md): the shop's health, gathered from
//! every service, and the OpenAPI document. `adapter` (wasm32 only) is the
//! Spin side.

pub mod health;

#[cfg(target_arch = "wasm32")]
mod adapter;

/// docs/openapi.yaml as JSON, converted by build.rs when the crate is built.
pub const OPENAPI_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/openapi.json"));

/// The public routes this service serves, as in docs/openapi.yaml.
pub const PUBLIC_ROUTES: &[(&str, &str)] = &[("GET", "/api/v1/health"), ("GET", "/api/v1/openapi.json"), ("GET", "/api/v1/admin/audit")];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn the_document_names_exactly_the_routes_the_services_serve() {
        let doc: serde_json::Value = serde_json::from_str(OPENAPI_JSON).unwrap();
        let documented: BTreeSet<(String, String)> = doc["paths"]
            .as_object()
            .unwrap()
            .iter()
            .flat_map(|(path, item)| {
                ["get", "post", "put", "patch", "delete"].into_iter().filter(|m| item.get(*m).is_some()).map(move |m| (m.to_uppercase(), path.clone()))
            })
            .collect();
        let served: BTreeSet<(String, String)> = [
            users::PUBLIC_ROUTES,
            catalog::PUBLIC_ROUTES,
            cart::PUBLIC_ROUTES,
            orders::PUBLIC_ROUTES,
            payments::PUBLIC_ROUTES,
            shipping::PUBLIC_ROUTES,
            notifications::PUBLIC_ROUTES,
            PUBLIC_ROUTES,
        ]
        .iter()
        .flat_map(|routes| routes.iter().map(|(m, p)| (m.to_string(), p.to_string())))
        .collect();
        let undocumented: Vec<_> = served.difference(&documented).collect();
        let unserved: Vec<_> = documented.difference(&served).collect();
        assert!(undocumented.is_empty() && unserved.is_empty(), "served but not documented: {undocumented:?}; documented but not served: {unserved:?}");
    }

    #[test]
    fn the_embedded_document_is_openapi_json_with_these_routes() {
        let doc: serde_json::Value = serde_json::from_str(OPENAPI_JSON).unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
        for (method, path) in PUBLIC_ROUTES {
            assert!(doc["paths"][path][method.to_lowercase()].is_object(), "{method} {path} is not in docs/openapi.yaml");
        }
    }
}
