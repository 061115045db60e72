//! The middleware export. It works on the raw wasi:http resources: the
//! request and response are rebuilt around their original body streams, so
//! a body passes through without being copied (see docs/composition.md).

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use shop_common::identity::REQUEST_ID_HEADER;
use shop_common::keys::{JWT_PUBLIC_KEYS, RATE_LIMIT_KEY};
use shop_common::spin::SpinKv;
use shop_common::{ApiError, Identity};
use spin_sdk::http::{FullBody, HeaderMap, HeaderValue, IntoResponse, StatusCode};
use spin_sdk::wasip3::http::types::{ErrorCode, Fields, Request, Response};
use spin_sdk::wasip3::wit_future;

use crate::bucket::Limits;
use crate::decide;
use crate::limit::{self, Outcome};
use crate::slots;

spin_sdk::wit_bindgen::generate!({
    path: "wit",
    world: "next",
    runtime_path: "::spin_sdk::wit_bindgen::rt",
    with: {
        "wasi:http/types@0.3.0": spin_sdk::wasip3::http::types,
        "wasi:clocks/types@0.3.0": spin_sdk::wasip3::clocks::types,
    },
    generate_all,
});

struct Gateway;

// Exported directly rather than with `#[http_service]`, which would hand
// over an `http::Request` that converts back only by copying its body.
spin_sdk::wasip3::http::service::export!(Gateway);

impl spin_sdk::wasip3::exports::http::handler::Guest for Gateway {
    async fn handle(request: Request) -> Result<Response, ErrorCode> {
        let original = request.get_headers();
        let list = original.copy_all();
        let request_id = decide::request_id(&list, shop_common::id::new_id);

        let caller = match decide::bearer_token(&list) {
            Ok(None) => Ok(None),
            Ok(Some(token)) => decide::authenticate(variable(JWT_PUBLIC_KEYS).await.as_deref(), token).map(Some),
            Err(e) => Err(e),
        };
        let rate_limit_key = variable(RATE_LIMIT_KEY).await;
        let slot_key = match decide::slot_key(rate_limit_key.as_deref()) {
            Ok(key) => key,
            Err(e) => return error_response(&e, &request_id),
        };
        // A request with a bad token still counts, against its address.
        let client = decide::client_key(caller.as_ref().ok().and_then(Option::as_ref), &list);
        if let Some(retry_after_s) = over_limit(slot_key, &client).await {
            return error_response(&ApiError::too_many_requests(retry_after_s), &request_id);
        }
        let caller = match caller {
            Ok(caller) => caller,
            Err(e) => return error_response(&e, &request_id),
        };

        let headers = original.clone();
        drop(original);
        edit_request_headers(&headers, &decide::to_strip(&list), &request_id, caller.as_ref())?;
        let response = wasi::http::handler::handle(rebuild_request(request, headers)).await?;
        rebuild_response(response, &request_id)
    }
}

fn header_error(e: impl std::fmt::Debug) -> ErrorCode {
    ErrorCode::InternalError(Some(format!("editing headers: {e:?}")))
}

fn edit_request_headers(headers: &Fields, strip: &[String], request_id: &str, caller: Option<&Identity>) -> Result<(), ErrorCode> {
    for name in strip {
        headers.delete(name).map_err(header_error)?;
    }
    for (name, value) in decide::forwarded(request_id, caller) {
        headers.set(name, &[value.into_bytes()]).map_err(header_error)?;
    }
    Ok(())
}

/// The same request with `headers`, its body stream moved over.
fn rebuild_request(request: Request, headers: Fields) -> Request {
    let method = request.get_method();
    let scheme = request.get_scheme();
    let authority = request.get_authority();
    let path = request.get_path_with_query();
    let options = request.get_options();
    let (_, done) = wit_future::new(|| Ok(()));
    let (body, trailers) = Request::consume_body(request, done);
    let (forward, _sent) = Request::new(headers, Some(body), trailers, options);
    let _ = forward.set_method(&method);
    let _ = forward.set_scheme(scheme.as_ref());
    let _ = forward.set_authority(authority.as_deref());
    let _ = forward.set_path_with_query(path.as_deref());
    forward
}

/// The next handler's response with the request id on it, its body stream moved over.
fn rebuild_response(response: Response, request_id: &str) -> Result<Response, ErrorCode> {
    let headers = response.get_headers().clone();
    headers.set(REQUEST_ID_HEADER, &[request_id.as_bytes().to_vec()]).map_err(header_error)?;
    let status = response.get_status_code();
    let (_, done) = wit_future::new(|| Ok(()));
    let (body, trailers) = Response::consume_body(response, done);
    let (back, _sent) = Response::new(headers, Some(body), trailers);
    let _ = back.set_status_code(status);
    Ok(back)
}

/// The gateway's own answer, in the one error shape.
fn error_response(e: &ApiError, request_id: &str) -> Result<Response, ErrorCode> {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    if let Ok(value) = HeaderValue::from_str(request_id) {
        headers.insert(REQUEST_ID_HEADER, value);
    }
    if let Some(seconds) = e.retry_after {
        headers.insert("retry-after", HeaderValue::from(seconds));
    }
    if e.status == 401 {
        headers.insert("www-authenticate", HeaderValue::from_static("Bearer error=\"invalid_token\""));
    }
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, headers, FullBody::new(Bytes::from(e.to_bytes())))
        .into_response()
        .map_err(|e| ErrorCode::InternalError(Some(format!("building the gateway's response: {e:?}"))))
}

/// A variable the component inherits, or `None` when it is unset.
async fn variable(name: &str) -> Option<String> {
    spin_sdk::variables::get(name).await.ok()
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// `Some(retry-after seconds)` when `client`'s bucket is empty. When the
/// store fails the request goes through (the shop stays up without its
/// limiter) and the failure is logged.
async fn over_limit(secret: &str, client: &str) -> Option<u64> {
    let limits = Limits::from_settings(variable("rate_limit_rps").await.as_deref(), variable("rate_limit_burst").await.as_deref());
    let store = match SpinKv::open("ratelimit").await {
        Ok(store) => store,
        Err(e) => {
            eprintln!("gateway: rate limit off, {}", e.message);
            return None;
        }
    };
    let key = slots::slot_key(secret.as_bytes(), client);
    match limit::take_token(&store, &key, limits, client, now_ms()).await {
        Ok(Outcome::Allowed) => None,
        Ok(Outcome::Limited { retry_after_s }) => Some(retry_after_s),
        Err(e) => {
            eprintln!("gateway: rate limit off, updating {key:?} (for {client:?}) failed: {}", e.message);
            None
        }
    }
}
