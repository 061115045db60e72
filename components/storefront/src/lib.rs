//! The storefront: the shop in a browser. It serves the static pages of its
//! `files` mount (plain HTML, CSS and JavaScript modules under `static/`),
//! which talk to the public `/api/v1` of the same origin. The serving rules
//! are plain modules, tested natively; `adapter` (wasm32 only) is the Spin
//! side.

pub mod content_type;
pub mod mount;
pub mod negotiate;
pub mod request_path;
pub mod serve;

#[cfg(target_arch = "wasm32")]
mod adapter;
