//! The Spin side: reads the method, path and the two headers the rules
//! need, answers from the mount (at `/` in the guest's filesystem).

use bytes::Bytes;
use spin_sdk::http::{FullBody, Request, Response};

use crate::serve::{FileRequest, respond};

#[spin_sdk::http_service]
async fn handle(request: Request) -> Response<FullBody<Bytes>> {
    let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok());
    let file_request = FileRequest {
        method: request.method().as_str(),
        path: request.uri().path(),
        if_none_match: header("if-none-match"),
        accept_encoding: header("accept-encoding"),
    };
    let answer = respond(std::path::Path::new("/"), &file_request);
    let head = request.method() == http::Method::HEAD;
    let mut builder = http::Response::builder().status(answer.status);
    for (name, value) in &answer.headers {
        builder = builder.header(*name, value);
    }
    // A HEAD's body is empty: a length declared for it would not match what
    // the guest writes, so it goes without one.
    if answer.status != 304 && !head {
        builder = builder.header("content-length", answer.body.len());
    }
    builder.body(FullBody::new(Bytes::from(answer.body))).unwrap_or_else(|_| {
        let mut fallback = http::Response::new(FullBody::new(Bytes::from_static(b"could not build the response\n")));
        *fallback.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
        fallback
    })
}
