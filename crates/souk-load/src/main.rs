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
//!
//! Modules: `cli` parses arguments, `scenario` says what a virtual user sends
//! next, `driver` runs the connections, `stats` records, `report` summarizes
//! and prints, `progress` draws the live line.

mod cli;
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
use driver::{Live, Plan};
use progress::Progress;

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
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
    let scenario = scenario::build(
        args.scenario,
        &scenario::Options {
            path: args.path.clone(),
        },
    );
    let expect = args.expectation();
    let plan = Plan {
        addr,
        target: args.url.clone(),
        connections: args.connections,
        stop: args.stop(),
        timeout: args.timeout,
        seed: args.seed,
    };

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

    let url = format!("http://{}{}", args.url.authority, args.url.base_path);
    let info = report::RunInfo {
        scenario: args.scenario.as_str(),
        url: &url,
        connections: args.connections,
        elapsed: outcome.elapsed,
        expect,
    };
    let report = report::build(&info, &outcome.stats);
    if args.json {
        println!("{}", report::to_json(&report));
    } else {
        print!("{}", report::to_table(&report));
    }

    if interrupted.load(std::sync::atomic::Ordering::Relaxed) {
        eprintln!("souk-load: interrupted; the summary covers the requests made until then");
    }
    match report::failures(&report, expect) {
        Some(message) => {
            eprintln!("souk-load: {message}");
            ExitCode::FAILURE
        }
        None => ExitCode::SUCCESS,
    }
}

async fn resolve(target: &Target) -> Result<SocketAddr, String> {
    let mut addrs = tokio::net::lookup_host((target.host.as_str(), target.port))
        .await
        .map_err(|e| format!("cannot resolve {}: {e}", target.host))?;
    addrs
        .next()
        .ok_or_else(|| format!("{} resolves to no address", target.host))
}
