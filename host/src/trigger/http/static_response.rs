//! Spin 4.1's `static_response` triggers: a route the host answers itself,
//! with the status, headers and body spin.toml gives, no component run.

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use souk_manifest::StaticTrigger;
use wasmtime_wasi_http::WasiBody;

use super::host_response::full_body;

/// One static response, made once at start-up.
pub struct StaticAnswer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl StaticAnswer {
    /// The answer `trigger` gives, or what in it HTTP cannot carry.
    pub fn new(trigger: &StaticTrigger) -> Result<StaticAnswer, String> {
        let status = StatusCode::from_u16(trigger.status).map_err(|_| format!("status_code {} is not an HTTP status", trigger.status))?;
        let mut headers = HeaderMap::new();
        for (name, value) in &trigger.headers {
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| format!("headers: {name:?} is not a header name"))?;
            let value = HeaderValue::from_bytes(value.as_bytes()).map_err(|_| format!("headers.{name}: {value:?} is not a header value"))?;
            headers.append(name, value);
        }
        Ok(StaticAnswer { status, headers, body: trigger.body.clone().map(Bytes::from).unwrap_or_default() })
    }

    pub fn respond(&self) -> http::Response<WasiBody> {
        let mut response = http::Response::new(full_body(self.body.clone()));
        *response.status_mut() = self.status;
        *response.headers_mut() = self.headers.clone();
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_answer_is_what_the_manifest_says() {
        let trigger =
            StaticTrigger { index: 0, id: "t".into(), route: "/bob".into(), status: 302, headers: vec![("location".into(), "/users/bob".into())], body: None };
        let response = StaticAnswer::new(&trigger).unwrap().respond();
        assert_eq!((response.status(), response.headers()["location"].to_str().unwrap()), (StatusCode::FOUND, "/users/bob"));
    }
}
