//! A request as a service sees it, and the reply it gives.

use bytes::{Buf, Bytes};
use http_body_util::BodyExt;
use serde::Serialize;
use spin_sdk::http::{FullBody, Request};

use crate::error::ApiError;
use crate::identity::{Identity, REQUEST_ID_HEADER, sane_request_id};

/// Larger bodies are refused with 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A body too large but not larger than this is read to its end (and
/// dropped) before the 413 goes out, so that the client, still sending,
/// reads the answer instead of a reset connection. Beyond it, the answer
/// goes out at once and the connection is closed.
const DRAIN_BYTES: usize = 1024 * 1024;

/// A request with its body read (at most [`MAX_BODY_BYTES`]).
pub struct Incoming {
    pub method: String,
    pub path: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The caller's request id, or a new one; passed on to internal calls.
    pub request_id: String,
}

impl Incoming {
    async fn read(request: Request, request_id: String) -> Result<Incoming, ApiError> {
        let (parts, body) = request.into_parts();
        let declared = parts.headers.get("content-length").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
        if declared.is_some_and(|n| n > DRAIN_BYTES) {
            return Err(ApiError::payload_too_large(MAX_BODY_BYTES));
        }
        let body = read_body(body).await?;
        let query = parts.uri.query().map(crate::query::parse).unwrap_or_default();
        let headers = parts.headers.iter().filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned()))).collect();
        Ok(Incoming { method: parts.method.as_str().to_owned(), path: parts.uri.path().to_owned(), query, headers, body, request_id })
    }

    /// The path's segments after the leading `/` (a trailing `/` is ignored).
    pub fn segments(&self) -> Vec<&str> {
        self.path.trim_matches('/').split('/').collect()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// A query parameter's (decoded) value.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The caller, as the gateway middleware passed it on; 401 if none.
    pub fn identity(&self) -> Result<Identity, ApiError> {
        Identity::from_headers(|name| self.header(name))
    }

    /// The body as a `T`; 400 naming the field when it is not.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, ApiError> {
        crate::json::parse(&self.body)
    }

    /// 405 for a path this service knows, asked with another method.
    pub fn method_not_allowed(&self) -> ApiError {
        ApiError::new(405, "method_not_allowed", format!("{} is not allowed on {}", self.method, self.path))
    }

    /// 404 for a path this service does not serve.
    pub fn no_route(&self) -> ApiError {
        ApiError::new(404, "not_found", format!("no such endpoint: {} {}", self.method, self.path))
    }
}

/// The body, at most [`MAX_BODY_BYTES`]; a larger one is drained (up to
/// [`DRAIN_BYTES`]) and refused with 413.
async fn read_body<B>(body: B) -> Result<Vec<u8>, ApiError>
where
    B: http_body::Body,
    B::Error: std::fmt::Display,
{
    let mut body = std::pin::pin!(body);
    let (mut out, mut seen) = (Vec::new(), 0usize);
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| ApiError::bad_request(format!("could not read the request body: {e}")))?;
        let Ok(mut data) = frame.into_data() else { continue };
        seen += data.remaining();
        if seen > DRAIN_BYTES {
            break;
        }
        if seen > MAX_BODY_BYTES {
            data.advance(data.remaining());
            continue;
        }
        while data.has_remaining() {
            let chunk = data.chunk();
            out.extend_from_slice(chunk);
            let n = chunk.len();
            data.advance(n);
        }
    }
    if seen > MAX_BODY_BYTES {
        return Err(ApiError::payload_too_large(MAX_BODY_BYTES));
    }
    Ok(out)
}

/// A successful answer.
pub struct Reply {
    pub status: u16,
    pub body: Option<Vec<u8>>,
    pub headers: Vec<(String, String)>,
}

impl Reply {
    pub fn json(status: u16, value: &impl Serialize) -> Reply {
        let body = serde_json::to_vec(value).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}").into_bytes());
        Reply { status, body: Some(body), headers: vec![("content-type".into(), "application/json".into())] }
    }

    pub fn ok(value: &impl Serialize) -> Reply {
        Reply::json(200, value)
    }

    pub fn created(value: &impl Serialize) -> Reply {
        Reply::json(201, value)
    }

    pub fn no_content() -> Reply {
        Reply { status: 204, body: None, headers: Vec::new() }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
}

impl From<ApiError> for Reply {
    fn from(e: ApiError) -> Reply {
        let mut reply = Reply { status: e.status, body: Some(e.to_bytes()), headers: vec![("content-type".into(), "application/json".into())] };
        if let Some(seconds) = e.retry_after {
            reply.headers.push(("retry-after".into(), seconds.to_string()));
        }
        reply
    }
}

/// Reads the request, runs `handler`, and writes its reply or its error in
/// the one error shape, with `x-request-id` on the response. A server-side
/// failure is also written to the component's stderr log with the request id.
pub async fn serve(request: Request, handler: impl AsyncFnOnce(Incoming) -> Result<Reply, ApiError>) -> spin_sdk::http::Response<FullBody<Bytes>> {
    let sent = request.headers().get(REQUEST_ID_HEADER).and_then(|v| v.to_str().ok());
    let request_id = sane_request_id(sent).map(str::to_owned).unwrap_or_else(crate::id::new_id);
    let (method, path) = (request.method().to_string(), request.uri().path().to_owned());
    let result = match Incoming::read(request, request_id.clone()).await {
        Ok(incoming) => handler(incoming).await,
        Err(e) => Err(e),
    };
    let reply = result.unwrap_or_else(|e| {
        if e.status >= 500 {
            eprintln!("[{request_id}] {method} {path}: {e}");
        }
        Reply::from(e)
    });
    let mut builder = http::Response::builder().status(reply.status).header(REQUEST_ID_HEADER, &request_id);
    for (name, value) in &reply.headers {
        builder = builder.header(name, value);
    }
    let body = reply.body.unwrap_or_default();
    // The length is known: saying so lets the server send the whole reply in
    // one write, instead of chunks and a separate closing chunk.
    if reply.status != 204 {
        builder = builder.header("content-length", body.len());
    }
    builder.body(FullBody::new(Bytes::from(body))).unwrap_or_else(|e| {
        let mut fallback = http::Response::new(FullBody::new(Bytes::from(ApiError::internal(e.to_string()).to_bytes())));
        *fallback.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
        fallback
    })
}
