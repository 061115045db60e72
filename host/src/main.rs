//! `souk`: a Spin-compatible runtime for WebAssembly component services.
//!
//! The modules follow a request's path: `cli` parses the command line, `up`
//! runs an app from start to shutdown, `app` loads spin.toml and its runtime
//! config into a ready-to-serve application, `engine` configures wasmtime and
//! the compile cache, `trigger::http` listens, routes and dispatches
//! (`trigger::redis` and `trigger::cron` run components on messages and on
//! schedules), and `capabilities` holds what guests may import.
//! `metrics`, `traces` and `logs` are what an operator sees of it.

mod app;
mod body_guard;
mod build;
mod cache_config;
mod capabilities;
mod cli;
mod cli_variables;
mod componentize;
mod compose;
mod engine;
mod file_mounts;
mod instance;
mod logs;
mod metrics;
mod seed;
mod stats;
mod traces;
mod trigger;
mod up;
mod variable_providers;
mod wasip3_rc;

fn main() -> std::process::ExitCode {
    cli::main()
}
