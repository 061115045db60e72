//! `--max-request-body-bytes`: the most a client may send in one request
//! body. A declared length over it is answered 413 before any guest runs;
//! a body that grows past it on the way (chunked) ends with an error the
//! guest sees when it reads, and the response becomes 413 whatever the
//! guest answered.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, SizeHint};
use wasmtime_wasi_http::{Error as ErrorCode, WasiBody};

/// Whether a capped body went past its cap.
#[derive(Clone, Default)]
pub struct Exceeded(Arc<AtomicBool>);

impl Exceeded {
    pub fn get(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// Why a request is refused before it reaches a guest.
pub fn declared_too_large(headers: &http::HeaderMap, max: u64) -> Option<String> {
    let declared = headers.get(http::header::CONTENT_LENGTH)?.to_str().ok()?.trim().parse::<u64>().ok()?;
    (declared > max).then(|| format!("the request body ({declared} bytes) is larger than {max} bytes (--max-request-body-bytes)"))
}

/// `body`, ending with an error once more than `max` bytes have come.
pub fn cap(body: WasiBody, max: u64) -> (WasiBody, Exceeded) {
    let exceeded = Exceeded::default();
    (Capped { inner: body, left: max, max, exceeded: exceeded.clone() }.boxed_unsync(), exceeded)
}

struct Capped {
    inner: WasiBody,
    left: u64,
    max: u64,
    exceeded: Exceeded,
}

impl Body for Capped {
    type Data = Bytes;
    type Error = ErrorCode;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, ErrorCode>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled
            && let Some(data) = frame.data_ref()
        {
            let len = data.len() as u64;
            if len > self.left {
                self.exceeded.0.store(true, Ordering::Release);
                return Poll::Ready(Some(Err(ErrorCode::HttpRequestBodySize(Some(self.max)))));
            }
            self.left -= len;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
