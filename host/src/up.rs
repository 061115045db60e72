//! `souk up`: loads the app and starts its triggers (the HTTP listener when
//! the app has HTTP triggers, its Redis subscriptions and its cron
//! schedules); at SIGTERM or SIGINT stops them in order: the listener
//! first, finishing the requests in flight, then the other triggers'
//! work in hand, then the stores.

use wasmtime::error::Context;

use crate::cli::UpArgs;
use crate::trigger;

pub async fn run(args: UpArgs) -> wasmtime::Result<()> {
    if args.stats {
        crate::stats::enable();
    }
    let transport = trigger::http::transport(&args)?;
    let traces = crate::traces::start_from_env()?;
    let loaded = crate::app::load(&args)?;
    let app = loaded.app;
    crate::engine::spawn_epoch_ticker(app.engine.clone());

    if let Some(addr) = args.metrics_listen {
        let bound = crate::metrics::server::spawn(addr).await?;
        println!("Metrics at http://{bound}/metrics");
    }
    if let Some(traces) = traces {
        println!("{traces}");
    }
    let subscribers = trigger::redis::start(loaded.subscriptions).await?;
    let schedules = trigger::cron::start(loaded.schedules);
    // Handlers go in before anyone can learn the address: a SIGTERM that
    // arrives once `Serving` is printed must shut down gracefully, not kill.
    let shutdown = shutdown_signal()?;
    let report = loaded.report;
    println!("Loaded {} component(s) ({} compiled, {} from cache)", report.compiled + report.from_cache, report.compiled, report.from_cache);
    if let Some(limits) = app.stores.connection_limits.describe() {
        println!("{limits}");
    }
    if app.triggers.is_empty() && app.statics.is_empty() {
        // As in Spin, an app without HTTP triggers has no listener.
        println!("Ready (the app has no HTTP trigger: nothing listens)");
        shutdown.await;
        eprintln!("Shutting down");
    } else {
        trigger::http::serve(app.clone(), &args, transport, shutdown).await?;
    }
    // Each message or run in hand ends by its deadline at the latest.
    subscribers.stop().await;
    schedules.stop().await;
    app.stores.close();
    crate::traces::shutdown().await;
    if let Some(summary) = crate::stats::summary() {
        eprintln!("{summary}");
    }
    eprintln!("Stopped");
    Ok(())
}

/// Installs the SIGTERM and SIGINT handlers now (not when first polled, as
/// `tokio::signal::ctrl_c` would) and resolves when either signal arrives.
fn shutdown_signal() -> wasmtime::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = term.recv() => {}
        }
    })
}
