//! `souk`: a Spin-compatible runtime for WebAssembly component services.
//!
//! The modules follow a request's path: `cli` defines the command line
//! (`main` parses it and runs the command), `up` runs an app from start to
//! shutdown, `app` loads spin.toml and its runtime config into a
//! ready-to-serve application (`stores` opens the stores it names), `engine` configures wasmtime and
//! the compile cache, `trigger::http` listens, routes and dispatches
//! (`trigger::redis` and `trigger::cron` run components on messages and on
//! schedules), and `capabilities` holds what guests may import.
//! `metrics`, `traces` and `logs` are what an operator sees of it;
//! `registry` pushes apps to OCI registries and pulls them to run.

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
mod registry;
mod seed;
mod stats;
mod stores;
mod traces;
mod trigger;
mod up;
mod variable_providers;
mod wasip3_rc;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command, RegistryCommand, UpArgs, manifest_path};

fn main() -> ExitCode {
    let cli = Cli::parse();
    logs::init_console(match &cli.command {
        Command::Up(args) => args.log_format,
        Command::Build(_) | Command::Registry(_) => logs::LogFormat::Text,
    });
    let result = match cli.command {
        Command::Build(args) => build::run_builds(&manifest_path(&args.from)),
        Command::Up(args) => run_up(*args),
        Command::Registry(RegistryCommand::Push(args)) => push(args),
        Command::Registry(RegistryCommand::Login(args)) => login(args),
        Command::Registry(RegistryCommand::Pull(args)) => pull(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run_up(mut args: UpArgs) -> wasmtime::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let from = args.from.to_string_lossy().into_owned();
    let reference = args.from_registry.clone().or_else(|| registry::is_reference(&from).then_some(from));
    if let Some(reference) = reference {
        // A pulled app keeps its state where souk was started, not in the
        // registry cache, so a newer version finds the same stores.
        args.from = runtime.block_on(registry::pull(&reference, args.insecure))?;
        args.state_dir.get_or_insert_with(|| ".spin".into());
        tracing::info!("running {reference} (pulled into {})", args.from.display());
    } else if args.build {
        build::run_builds(&manifest_path(&args.from))?;
    }
    runtime.block_on(up::run(args))
}

fn pull(args: cli::PullArgs) -> wasmtime::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let manifest = runtime.block_on(registry::pull(&args.reference, args.insecure))?;
    println!("Pulled {} ({})", args.reference, manifest.display());
    Ok(())
}

fn login(args: cli::LoginArgs) -> wasmtime::Result<()> {
    let password = match args.password {
        Some(password) => password,
        None => {
            let mut line = String::new();
            std::io::stdin().read_line(&mut line)?;
            line.trim_end_matches(['\n', '\r']).to_string()
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let file = runtime.block_on(registry::login::login(&args.server, &args.username, &password, args.insecure))?;
    println!("Logged in to {} (credentials kept in {})", args.server, file.display());
    Ok(())
}

fn push(args: cli::PushArgs) -> wasmtime::Result<()> {
    let manifest = manifest_path(&args.from);
    if args.build {
        build::run_builds(&manifest)?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let digest = runtime.block_on(registry::push(&manifest, &args.reference, args.insecure))?;
    println!("Pushed {} ({digest})", args.reference);
    Ok(())
}
