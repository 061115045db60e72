//! The live progress line on stderr: elapsed time, requests, current req/s,
//! errors so far.
//! Drawn only when stderr is a terminal and `--quiet` is not given.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior, interval};

use crate::driver::Live;

const TICK: Duration = Duration::from_millis(200);
/// The current rate is measured over this window.
const WINDOW: Duration = Duration::from_secs(1);

pub struct Progress {
    bar: ProgressBar,
    ticker: Option<JoinHandle<()>>,
}

impl Progress {
    pub fn start(live: Arc<Live>, quiet: bool) -> Progress {
        let target = if quiet { ProgressDrawTarget::hidden() } else { ProgressDrawTarget::stderr() };
        let bar = ProgressBar::with_draw_target(None, target);
        if bar.is_hidden() {
            return Progress { bar, ticker: None };
        }
        bar.set_style(ProgressStyle::with_template("{spinner} {msg}").expect("valid template"));
        let ticker = tokio::spawn(tick(bar.clone(), live));
        Progress { bar, ticker: Some(ticker) }
    }

    pub fn finish(self) {
        if let Some(ticker) = self.ticker {
            ticker.abort();
        }
        self.bar.finish_and_clear();
    }
}

async fn tick(bar: ProgressBar, live: Arc<Live>) {
    let mut samples: VecDeque<(Instant, u64)> = VecDeque::new();
    let mut was_warming = true;
    let mut every = interval(TICK);
    every.set_missed_tick_behavior(MissedTickBehavior::Skip);
    loop {
        every.tick().await;
        let now = Instant::now();
        let warming = now < live.measure_from;
        let count = if warming { &live.warmup } else { &live.measured }.load(Ordering::Relaxed);
        if warming != was_warming {
            // The counter changes with the phase: start the window afresh.
            samples.clear();
            was_warming = warming;
        }
        samples.push_back((now, count));
        while samples.len() > 2 && now.duration_since(samples[1].0) >= WINDOW {
            samples.pop_front();
        }
        let rate = current_rate(&samples);
        let msg = if warming {
            format!(
                "warm-up {:.1}s/{:.1}s  {count} req  {rate:.0} req/s",
                now.duration_since(live.started).as_secs_f64(),
                live.measure_from.duration_since(live.started).as_secs_f64()
            )
        } else {
            format!(
                "elapsed {:.1}s  {count} req  {rate:.0} req/s  {} errors",
                now.duration_since(live.measure_from).as_secs_f64(),
                live.errors.load(Ordering::Relaxed)
            )
        };
        bar.set_message(msg);
        bar.tick();
    }
}

fn current_rate(samples: &VecDeque<(Instant, u64)>) -> f64 {
    match (samples.front(), samples.back()) {
        (Some((t0, n0)), Some((t1, n1))) if t1 > t0 => n1.saturating_sub(*n0) as f64 / t1.duration_since(*t0).as_secs_f64(),
        _ => 0.0,
    }
}
