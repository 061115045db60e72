//! Opt-in timing of the host's own per-request work (`souk up --stats`):
//! how long creating a store and instantiating a component takes. Printed at
//! shutdown; used by the benchmark, off by default so it costs nothing.

use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use hdrhistogram::Histogram;

static INSTANTIATION: OnceLock<Mutex<Histogram<u64>>> = OnceLock::new();

pub fn enable() {
    let histogram = Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds");
    let _ = INSTANTIATION.set(Mutex::new(histogram));
}

pub fn record_instantiation(elapsed: Duration) {
    if let Some(h) = INSTANTIATION.get() {
        let micros = elapsed.as_micros().clamp(1, 60_000_000) as u64;
        let _ = h.lock().unwrap().record(micros);
    }
}

/// One line for the console, or None when stats are off.
pub fn summary() -> Option<String> {
    let h = INSTANTIATION.get()?.lock().unwrap();
    Some(format!(
        "instantiation (store + instance) over {} requests: p50 {} us, p90 {} us, p99 {} us, max {} us",
        h.len(),
        h.value_at_quantile(0.5),
        h.value_at_quantile(0.9),
        h.value_at_quantile(0.99),
        h.max()
    ))
}
