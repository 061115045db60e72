//! The Spin adapter every service uses (wasm32 only, `spin` feature): read a
//! request ([`Incoming`]), answer it ([`Reply`], [`serve`]), open its stores
//! ([`SpinDb`], [`SpinKv`]), read variables, and call another service by
//! service chaining ([`call`]).

mod call;
mod request;
mod store;

pub use call::{Called, call, internal_url};
pub use request::{Incoming, MAX_BODY_BYTES, Reply, serve};
pub use store::{SpinDb, SpinKv, optional_variable, variable};
