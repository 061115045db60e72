//! Keeping something alive for as long as a response's body: the work of a
//! request (its instance, its admission slot, its spans) ends when the body
//! has been sent or dropped, not when the head is ready.

use http_body_util::BodyExt;
use wasmtime_wasi_http::WasiBody;

/// `response` with `guard` dropped only when its body is.
pub fn held_until_body_ends<G: Send + 'static>(response: http::Response<WasiBody>, guard: G) -> http::Response<WasiBody> {
    response.map(|body| {
        body.map_frame(move |frame| {
            let _guard = &guard;
            frame
        })
        .boxed_unsync()
    })
}
