//! What the host answers itself, with a body it already holds whole: its
//! own error pages, static responses and WAGI output.

use http_body_util::{BodyExt, Full};
use wasmtime_wasi_http::WasiBody;

/// A body the host already holds whole.
pub fn full_body(bytes: impl Into<bytes::Bytes>) -> WasiBody {
    Full::new(bytes.into()).map_err(|never| match never {}).boxed_unsync()
}

pub fn text_response(status: http::StatusCode, body: &str) -> http::Response<WasiBody> {
    let body = full_body(body.to_string());
    let mut response = http::Response::new(body);
    *response.status_mut() = status;
    response.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("text/plain; charset=utf-8"));
    response
}
