//! The meta service (see docs/shop.md): the shop's health, gathered from
//! every service, and the OpenAPI document. `adapter` (wasm32 only) is the
//! Spin side.

pub mod health;

#[cfg(target_arch = "wasm32")]
mod adapter;

/// docs/openapi.yaml as JSON, converted by build.rs when the crate is built.
pub const OPENAPI_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/openapi.json"));

/// The public routes this service serves, as in docs/openapi.yaml.
pub const PUBLIC_ROUTES: &[(&str, &str)] = &[("GET", "/api/v1/health"), ("GET", "/api/v1/openapi.json")];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_document_is_openapi_json_with_these_routes() {
        let doc: serde_json::Value = serde_json::from_str(OPENAPI_JSON).unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
        for (method, path) in PUBLIC_ROUTES {
            assert!(doc["paths"][path][method.to_lowercase()].is_object(), "{method} {path} is not in docs/openapi.yaml");
        }
    }
}
