//! Configuration for Souk, a Spin-compatible runtime: the application
//! manifest (`spin.toml`), the runtime config (`runtime-config.toml`), HTTP
//! routing, application variables and outbound-host permissions, all
//! following Spin's rules.

pub mod allowed_hosts;
pub mod blocked_networks;
pub mod client_tls;
pub mod connection_limits;
pub mod error;
pub mod manifest;
mod names;
mod paths;
pub mod routes;
pub mod runtime_config;
mod template;
mod toml_source;
pub mod variables;

pub use allowed_hosts::AllowedHosts;
pub use blocked_networks::BlockedNetworks;
pub use client_tls::ClientTlsConfig;
pub use connection_limits::ConnectionLimits;
pub use error::ConfigError;
pub use manifest::{
    AppManifest, BuildConfig, ComponentConfig, ConfigKind, CronTrigger, Dependency, DependencyName, DependencySource, FileMount, HttpExecutor, HttpRoute,
    HttpTrigger, Inherit, Middleware, StaticTrigger, VariableDecl, WagiConfig, cron_schedule, file_glob,
};
pub use routes::{RouteMatch, Router};
pub use runtime_config::{EnvProviderConfig, RuntimeConfig, StoreConfig, VariablesProvider};
pub use variables::{VariableError, Variables};
