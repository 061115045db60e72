//! End-to-end tests of `souk up`: each starts the real binary on an ephemeral
//! port with a temporary app folder and talks HTTP to it.

mod harness;

mod capabilities;
mod concurrency_limits;
mod dependencies;
mod failures;
mod instance_reuse;
mod lifecycle;
mod manifest_errors;
mod middleware;
mod pricing;
mod routing;
mod service_chaining;
mod shop;
mod sockets;
mod spin2;
mod spin3_sdk;
mod spin4_sdk;
mod static_composition;
mod store_safety;
mod transport;
