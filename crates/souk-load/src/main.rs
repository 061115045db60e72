//! `souk-load`: a closed-loop HTTP/1.1 load generator for Souk services.
//!
//! Why each dependency:
//! - tokio: async runtime for many connections on few cores, plus timers, TCP and Ctrl-C.
//! - hyper: the HTTP/1.1 client connection (`conn::http1`), so each task owns exactly one keep-alive connection.
//! - hyper-util: `TokioIo`, the adapter between tokio's TcpStream and hyper's IO traits.
//! - http-body-util: `Full` request bodies and collecting response bodies.
//! - bytes: cheap, cloneable request and response bodies.
//! - clap: declarative command-line parsing with help and validation.
//! - hdrhistogram: accurate, mergeable latency percentiles with bounded memory.
//! - serde + serde_json: the `--json` summary.
//! - indicatif: the live progress line, which hides itself when stderr is not a terminal.
//! - fastrand: seeded, reproducible random choices per virtual user.
//!
//! Modules: `cli` parses arguments, `scenario` says what a virtual user sends
//! next (hello, browse, cart, checkout, mixed), `client` is one HTTP/1.1
//! connection, `driver` runs the connections, `stats` records, `report`
//! summarizes and prints, `progress` draws the live line, `admin` restocks
//! before and audits after a run, `check` judges the audit.

mod admin;
mod check;
mod cli;
mod client;
mod driver;
mod progress;
mod report;
mod scenario;
mod stats;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;

use cli::{Args, Target};
use client::Client;
use driver::{Live, Plan};
use progress::Progress;

fn main() -> ExitCode {
    let args = Args::parse();
    if let Err(message) = args.validate() {
        eprintln!("souk-load: {message}");
        return ExitCode::from(2);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    runtime.block_on(run(args))
}

async fn run(args: Args) -> ExitCode {
    let addr = match resolve(&args.url).await {
        Ok(addr) => addr,
        Err(message) => {
            eprintln!("souk-load: {message}");
            return ExitCode::from(2);
        }
    };
    let admin_client = || Client::new(addr, args.url.clone(), args.timeout);
    if let Some(floor) = args.restock()
        && let Err(message) = restock(admin_client(), &args, floor).await
    {
        eprintln!("souk-load: restocking before the run failed: {message}");
        return ExitCode::from(2);
    }
    let scenario = scenario::build(
        args.scenario,
        &scenario::Options { path: args.path.clone(), expect_status: args.expect_status, seed: args.seed, nonce: run_nonce(), mix: args.mix },
    );
    let plan = Plan { addr, target: args.url.clone(), connections: args.connections, stop: args.stop(), timeout: args.timeout, seed: args.seed };

    let live = Arc::new(Live::new(args.warmup));
    let progress = Progress::start(live.clone(), args.quiet);
    let interrupted = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let on_signal = {
        let (live, interrupted) = (live.clone(), interrupted.clone());
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                interrupted.store(true, std::sync::atomic::Ordering::Relaxed);
                live.request_stop();
            }
        })
    };
    let outcome = driver::run(plan, scenario.as_ref(), live).await;
    on_signal.abort();
    progress.finish();

    // Every virtual user has had its last answer (or given up) by now.
    let check = if args.check_enabled() { Some(admin::check_shop(admin_client(), &args.admin_email, &args.admin_password).await) } else { None };

    let url = format!("http://{}{}", args.url.authority, args.url.base_path);
    let info = report::RunInfo { scenario: args.scenario.as_str(), url: &url, connections: args.connections, elapsed: outcome.elapsed };
    let mut report = report::build(&info, &outcome.stats);
    report.check = check;
    if args.scenario == scenario::ScenarioName::Mixed {
        report.mix = Some(args.mix.to_string());
    }
    if args.json {
        println!("{}", report::to_json(&report));
    } else {
        print!("{}", report::to_table(&report));
    }

    if interrupted.load(std::sync::atomic::Ordering::Relaxed) {
        eprintln!("souk-load: interrupted; the summary covers the requests made until then");
    }
    let mut failed = false;
    if let Some(message) = report::failures(&report) {
        eprintln!("souk-load: {message}");
        failed = true;
    }
    if let Some(check) = report.check.as_ref().filter(|c| !c.passed) {
        if args.json {
            // The details are in the JSON; say them on stderr as well.
            eprint!("souk-load: {}", report::check_lines(check));
        } else {
            eprintln!("souk-load: the shop's invariants do not hold (see above)");
        }
        failed = true;
    }
    if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}

async fn restock(client: Client, args: &Args, floor: i64) -> Result<(), String> {
    let mut admin = admin::Admin::login(client, &args.admin_email, &args.admin_password).await?;
    let done = admin.restock_to(floor).await?;
    if !args.quiet {
        eprintln!("souk-load: restocked {} of {} products to at least {floor} units ({} units added)", done.topped_up, done.products, done.units);
    }
    Ok(())
}

/// Unique per run (milliseconds since the epoch, in base 36), so the
/// accounts a run registers do not collide with an earlier run's.
fn run_nonce() -> String {
    let mut ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis());
    let mut digits = Vec::new();
    loop {
        digits.push(char::from_digit((ms % 36) as u32, 36).unwrap_or('0'));
        ms /= 36;
        if ms == 0 {
            break;
        }
    }
    digits.iter().rev().collect()
}

async fn resolve(target: &Target) -> Result<SocketAddr, String> {
    let mut addrs = tokio::net::lookup_host((target.host.as_str(), target.port)).await.map_err(|e| format!("cannot resolve {}: {e}", target.host))?;
    addrs.next().ok_or_else(|| format!("{} resolves to no address", target.host))
}
