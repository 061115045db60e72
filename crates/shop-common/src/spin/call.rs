//! Calling another service of the app by service chaining
//! (`http://<id>.spin.internal/...`), passing the request id on.

use bytes::Bytes;
use spin_sdk::http::FullBody;
use spin_sdk::http::body::IncomingBodyExt;

use crate::error::ApiError;
use crate::identity::REQUEST_ID_HEADER;

/// What the other service answered.
pub struct Called {
    pub status: u16,
    /// The JSON body (`null` when empty or not JSON).
    pub body: serde_json::Value,
}

impl Called {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The callee's own error, passed on as it was (4xx), or 502 naming the
    /// service when it failed (5xx or not the error shape).
    pub fn into_error(self, service: &str) -> ApiError {
        let error = &self.body["error"];
        match (self.status, error["code"].as_str(), error["message"].as_str()) {
            (400..=499, Some(code), Some(message)) => {
                ApiError::new(self.status, crate::error::known_code(code), message).with_details(error["details"].clone())
            }
            _ => ApiError::bad_gateway(
                service,
                format!("the {service} service answered {}: {}", self.status, error["message"].as_str().unwrap_or("no error message")),
            ),
        }
    }
}

pub fn internal_url(service: &str, path: &str) -> String {
    format!("http://{service}.spin.internal{path}")
}

/// Sends `body` (if any) as JSON to `path` on `service`. A transport failure
/// is 502 (or 503 when the call was refused) naming the service.
pub async fn call(service: &str, method: &str, path: &str, body: Option<&serde_json::Value>, request_id: &str) -> Result<Called, ApiError> {
    let bytes = body.map(|b| serde_json::to_vec(b).unwrap_or_default()).unwrap_or_default();
    let request = http::Request::builder()
        .method(method)
        .uri(internal_url(service, path))
        .header("content-type", "application/json")
        .header(REQUEST_ID_HEADER, request_id)
        .body(FullBody::new(Bytes::from(bytes)))
        .map_err(|e| ApiError::internal(format!("building a request to {service}: {e}")))?;
    let response =
        spin_sdk::http::send(request).await.map_err(|e| ApiError::bad_gateway(service, format!("the {service} service could not be reached: {e:?}")))?;
    let status = response.status().as_u16();
    let body = response.into_body().bytes().await.map_err(|e| ApiError::bad_gateway(service, format!("reading the {service} service's answer: {e:?}")))?;
    let body = if body.is_empty() { serde_json::Value::Null } else { serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null) };
    Ok(Called { status, body })
}
