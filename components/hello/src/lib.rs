//! `hello`: answers every request with a fixed greeting.

use spin_sdk::http::Request;
use spin_sdk::http_service;

#[http_service]
async fn handle(_request: Request) -> &'static str {
    "Hello from Souk\n"
}
