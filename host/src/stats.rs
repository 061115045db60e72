//! Opt-in counters of the host's own per-request work (`souk up --stats`):
//! how long creating a store and instantiating a component takes, and per
//! component how many instances ran and how many SQLite statements they
//! sent, and how many requests waited for one of its
//! `--max-concurrent-requests` slots. Printed at shutdown; used by the benchmarks to see what a request
//! is made of. Off by default, when each record is one failed `OnceLock` read.

use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use hdrhistogram::Histogram;

struct Stats {
    instantiation: Histogram<u64>,
    by_component: BTreeMap<String, Counts>,
}

#[derive(Default)]
struct Counts {
    instances: u64,
    sqlite_statements: u64,
    queued: u64,
    longest_wait: Duration,
}

static STATS: OnceLock<Mutex<Stats>> = OnceLock::new();

pub fn enable() {
    let instantiation = Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds");
    let _ = STATS.set(Mutex::new(Stats { instantiation, by_component: BTreeMap::new() }));
}

fn with(f: impl FnOnce(&mut Stats)) {
    if let Some(stats) = STATS.get() {
        f(&mut stats.lock().unwrap_or_else(|p| p.into_inner()));
    }
}

fn counts<'a>(stats: &'a mut Stats, component: &str) -> &'a mut Counts {
    if !stats.by_component.contains_key(component) {
        stats.by_component.insert(component.to_owned(), Counts::default());
    }
    stats.by_component.get_mut(component).expect("inserted above")
}

/// One instance of `component` (its trigger's component, for a composition) was created.
pub fn record_instantiation(component: &str, elapsed: Duration) {
    with(|stats| {
        let micros = elapsed.as_micros().clamp(1, 60_000_000) as u64;
        let _ = stats.instantiation.record(micros);
        counts(stats, component).instances += 1;
    });
}

/// An instance of `component` ran one SQLite statement.
pub fn record_sqlite_statement(component: &str) {
    with(|stats| counts(stats, component).sqlite_statements += 1);
}

/// A request to `component` found its slots all taken and waited `waited`.
pub fn record_queued(component: &str, waited: Duration) {
    with(|stats| {
        let counts = counts(stats, component);
        counts.queued += 1;
        counts.longest_wait = counts.longest_wait.max(waited);
    });
}

/// Lines for the console, or None when stats are off.
pub fn summary() -> Option<String> {
    let stats = STATS.get()?.lock().unwrap_or_else(|p| p.into_inner());
    let h = &stats.instantiation;
    let mut out = format!(
        "instantiation (store + instance) of {} instances: p50 {} us, p90 {} us, p99 {} us, max {} us",
        h.len(),
        h.value_at_quantile(0.5),
        h.value_at_quantile(0.9),
        h.value_at_quantile(0.99),
        h.max()
    );
    for (component, c) in &stats.by_component {
        out.push_str(&format!("\ncomponent `{component}`: {} instances, {} SQLite statements", c.instances, c.sqlite_statements));
        if c.queued > 0 {
            out.push_str(&format!(", {} requests waited for a slot (longest {} ms)", c.queued, c.longest_wait.as_millis()));
        }
    }
    Some(out)
}
