//! End-to-end tests of `souk up`: each starts the real binary on an ephemeral
//! port with a temporary app folder and talks HTTP to it.

mod harness;

mod blocked_networks;
mod capabilities;
mod circuit_breakers;
mod client_tls;
mod component_output;
mod component_selection;
mod concurrency_limits;
mod connection_limits;
mod cron_trigger;
mod dependencies;
mod failures;
mod instance_reuse;
mod key_value_redis;
mod lifecycle;
mod log_format;
mod manifest_errors;
mod manifest_v1;
mod metrics;
mod middleware;
mod otlp_receiver;
mod outbound_http;
mod outbound_mqtt;
mod outbound_mysql;
mod outbound_postgres;
mod outbound_redis;
mod pricing;
mod redis_trigger;
mod routing;
mod servers;
mod service_chaining;
mod shop;
mod sockets;
mod spin2;
mod spin3_sdk;
mod spin4_sdk;
mod spin_up_flags;
mod static_composition;
mod static_responses;
mod store_safety;
mod test_ca;
mod traces;
mod transport;
mod wagi;
