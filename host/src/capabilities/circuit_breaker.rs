//! Circuit breakers between a component and what it calls: another
//! component (service chaining) or an outbound host. After `failures`
//! consecutive failures (a 5xx answer, a call not served, a timeout) within
//! `window`, the circuit from that caller to that target opens and calls
//! fail at once (503 with `Retry-After`) instead of waiting on a target that
//! is down; after `cooldown` one probe call goes through (half-open), and
//! its success closes the circuit, its failure opens it again.
//!
//! One circuit per (caller, target) pair, so a failing dependency of one
//! service does not cut off another service's calls to it. State changes
//! are logged and in the metrics (`souk_circuit_state`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// The most circuits kept at once. Past it, circuits that are closed with
/// no failure counted and no call in flight are forgotten (they hold
/// nothing a new one would not), so a guest calling ever new hosts cannot
/// grow the map without end; if every one is still needed, a call to a new
/// target goes through untracked.
const MAX_CIRCUITS: usize = 4096;

/// The thresholds, from `souk up`'s flags.
#[derive(Clone, Debug)]
pub struct CircuitSettings {
    /// Consecutive failures that open a circuit.
    pub failures: u32,
    /// The failures must fall within this long of the first.
    pub window: Duration,
    /// How long an open circuit refuses before letting one probe through.
    pub cooldown: Duration,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Closed,
    Open,
    HalfOpen,
}

#[derive(Debug)]
enum Circuit {
    Closed { failures: u32, first_failure: Instant },
    Open { until: Instant },
    HalfOpen { probing: bool },
}

/// One caller's circuit to one target, shared by the permits of its calls
/// so that recording an outcome needs no lookup.
struct Pair {
    caller: String,
    target: String,
    circuit: Mutex<Circuit>,
}

impl Pair {
    fn lock(&self) -> std::sync::MutexGuard<'_, Circuit> {
        self.circuit.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Holds nothing a fresh circuit would not, and no call is using it.
    fn forgettable(self: &Arc<Self>) -> bool {
        Arc::strong_count(self) == 1 && matches!(*self.lock(), Circuit::Closed { failures: 0, .. })
    }
}

/// Every circuit of the app, by caller and then target (looked up by
/// `&str`, so a call allocates nothing once its circuit exists).
pub struct Circuits {
    pub settings: CircuitSettings,
    max: usize,
    by_caller: RwLock<HashMap<String, HashMap<String, Arc<Pair>>>>,
}

/// A call let through: tell [`Permit::finish`] how it went. Dropped
/// unfinished (the caller gave up), it counts as a failure, so a probe that
/// never ends cannot leave a circuit half-open for ever.
pub struct Permit {
    circuits: Arc<Circuits>,
    pair: Arc<Pair>,
    finished: bool,
}

impl Permit {
    pub fn finish(mut self, success: bool) {
        self.finished = true;
        self.circuits.record(&self.pair, success, Instant::now());
    }
}

#[cfg(test)]
impl Permit {
    /// As [`Permit::finish`], as if at `at`.
    fn finish_at(mut self, success: bool, at: Instant) {
        self.finished = true;
        self.circuits.record(&self.pair, success, at);
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if !self.finished {
            self.circuits.record(&self.pair, false, Instant::now());
        }
    }
}

impl Circuits {
    pub fn new(settings: CircuitSettings) -> Circuits {
        Circuits { settings, max: MAX_CIRCUITS, by_caller: RwLock::new(HashMap::new()) }
    }

    /// Lets a call from `caller` to `target` through, or says how long
    /// until its circuit lets one through.
    pub fn admit(self: &Arc<Self>, caller: &str, target: &str) -> Result<Permit, Duration> {
        self.admit_at(caller, target, Instant::now())
    }

    fn admit_at(self: &Arc<Self>, caller: &str, target: &str, now: Instant) -> Result<Permit, Duration> {
        let pair = self.pair(caller, target, now);
        let mut circuit = pair.lock();
        match &mut *circuit {
            Circuit::Closed { .. } => {}
            Circuit::Open { until } if now < *until => {
                crate::metrics::circuit_refused(caller, target);
                return Err(*until - now);
            }
            Circuit::Open { .. } => {
                *circuit = Circuit::HalfOpen { probing: true };
                changed(&pair, State::HalfOpen);
            }
            Circuit::HalfOpen { probing: true } => {
                crate::metrics::circuit_refused(caller, target);
                return Err(self.settings.cooldown);
            }
            Circuit::HalfOpen { probing } => *probing = true,
        }
        drop(circuit);
        Ok(Permit { circuits: self.clone(), pair, finished: false })
    }

    /// The circuit from `caller` to `target`, made on first use.
    fn pair(&self, caller: &str, target: &str, now: Instant) -> Arc<Pair> {
        let found = self.by_caller.read().unwrap_or_else(|p| p.into_inner()).get(caller).and_then(|targets| targets.get(target)).cloned();
        if let Some(pair) = found {
            return pair;
        }
        let fresh = || {
            Arc::new(Pair { caller: caller.to_string(), target: target.to_string(), circuit: Mutex::new(Circuit::Closed { failures: 0, first_failure: now }) })
        };
        let mut by_caller = self.by_caller.write().unwrap_or_else(|p| p.into_inner());
        if let Some(pair) = by_caller.get(caller).and_then(|targets| targets.get(target)) {
            return pair.clone();
        }
        if by_caller.values().map(HashMap::len).sum::<usize>() >= self.max {
            for targets in by_caller.values_mut() {
                targets.retain(|_, pair| !pair.forgettable());
            }
            by_caller.retain(|_, targets| !targets.is_empty());
            if by_caller.values().map(HashMap::len).sum::<usize>() >= self.max {
                return fresh();
            }
        }
        let pair = fresh();
        by_caller.entry(caller.to_string()).or_default().insert(target.to_string(), pair.clone());
        pair
    }

    fn record(&self, pair: &Pair, success: bool, now: Instant) {
        let mut circuit = pair.lock();
        match &mut *circuit {
            Circuit::Closed { failures, .. } if success => *failures = 0,
            Circuit::Closed { failures, first_failure } => {
                if *failures == 0 || now.duration_since(*first_failure) > self.settings.window {
                    *failures = 0;
                    *first_failure = now;
                }
                *failures += 1;
                if *failures >= self.settings.failures {
                    *circuit = Circuit::Open { until: now + self.settings.cooldown };
                    changed(pair, State::Open);
                }
            }
            Circuit::HalfOpen { .. } if success => {
                *circuit = Circuit::Closed { failures: 0, first_failure: now };
                changed(pair, State::Closed);
            }
            Circuit::HalfOpen { .. } => {
                *circuit = Circuit::Open { until: now + self.settings.cooldown };
                changed(pair, State::Open);
            }
            // A call let through before the circuit opened.
            Circuit::Open { .. } => {}
        }
    }

    /// The state of the circuit from `caller` to `target`.
    #[cfg(test)]
    pub fn state(&self, caller: &str, target: &str) -> State {
        let by_caller = self.by_caller.read().unwrap();
        match by_caller.get(caller).and_then(|targets| targets.get(target)).map(|pair| pair.lock()).as_deref() {
            None | Some(Circuit::Closed { .. }) => State::Closed,
            Some(Circuit::Open { .. }) => State::Open,
            Some(Circuit::HalfOpen { .. }) => State::HalfOpen,
        }
    }

    /// How many circuits are kept.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.by_caller.read().unwrap().values().map(HashMap::len).sum()
    }
}

fn changed(pair: &Pair, state: State) {
    let (caller, target) = (&pair.caller, &pair.target);
    match state {
        State::Open => tracing::warn!("circuit {caller} → {target} opened: calls fail at once until a probe succeeds"),
        State::HalfOpen => tracing::info!("circuit {caller} → {target} half-open: one probe call goes through"),
        State::Closed => tracing::info!("circuit {caller} → {target} closed: the probe succeeded"),
    }
    let gauge = match state {
        State::Closed => 0,
        State::Open => 1,
        State::HalfOpen => 2,
    };
    crate::metrics::circuit_state(caller, target, gauge);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn circuits() -> Arc<Circuits> {
        Arc::new(Circuits::new(CircuitSettings { failures: 3, window: Duration::from_secs(10), cooldown: Duration::from_secs(5) }))
    }

    #[test]
    fn consecutive_failures_open_the_circuit_and_a_successful_probe_closes_it() {
        let c = circuits();
        let t0 = Instant::now();
        for _ in 0..3 {
            c.admit_at("cart", "catalog", t0).unwrap().finish_at(false, t0);
        }
        assert_eq!(c.state("cart", "catalog"), State::Open);
        let wait = c.admit_at("cart", "catalog", t0 + Duration::from_secs(1)).err().expect("refused while open");
        assert_eq!(wait, Duration::from_secs(4));
        // Another caller's circuit to the same target is its own.
        assert!(c.admit_at("orders", "catalog", t0).is_ok());
        // After the cool-down one probe goes through; a second waits for it.
        let probe = c.admit_at("cart", "catalog", t0 + Duration::from_secs(6)).expect("the probe");
        assert_eq!(c.state("cart", "catalog"), State::HalfOpen);
        assert!(c.admit_at("cart", "catalog", t0 + Duration::from_secs(6)).is_err());
        probe.finish_at(true, t0 + Duration::from_secs(6));
        assert_eq!(c.state("cart", "catalog"), State::Closed);
        assert!(c.admit_at("cart", "catalog", t0 + Duration::from_secs(6)).is_ok());
    }

    #[test]
    fn a_success_resets_the_count_and_old_failures_fall_out_of_the_window() {
        let c = circuits();
        let t0 = Instant::now();
        c.admit_at("a", "b", t0).unwrap().finish_at(false, t0);
        c.admit_at("a", "b", t0).unwrap().finish_at(false, t0);
        c.admit_at("a", "b", t0).unwrap().finish_at(true, t0);
        c.admit_at("a", "b", t0).unwrap().finish_at(false, t0);
        c.admit_at("a", "b", t0).unwrap().finish_at(false, t0);
        assert_eq!(c.state("a", "b"), State::Closed);
        c.admit_at("a", "b", t0).unwrap().finish_at(false, t0);
        assert_eq!(c.state("a", "b"), State::Open);

        let c = circuits();
        c.admit_at("a", "b", t0).unwrap().finish_at(false, t0);
        c.admit_at("a", "b", t0).unwrap().finish_at(false, t0);
        // Past the window: the count starts again.
        c.admit_at("a", "b", t0).unwrap().finish_at(false, t0 + Duration::from_secs(11));
        assert_eq!(c.state("a", "b"), State::Closed);
    }

    #[test]
    fn a_failed_or_abandoned_probe_opens_the_circuit_again() {
        let c = circuits();
        let t0 = Instant::now();
        for _ in 0..3 {
            c.admit_at("a", "b", t0).unwrap().finish_at(false, t0);
        }
        // The probe's caller gave up on it (its permit dropped unfinished, now).
        drop(c.admit_at("a", "b", t0 + Duration::from_secs(6)).unwrap());
        assert_eq!(c.state("a", "b"), State::Open);
        assert!(c.admit("a", "b").is_err());
    }

    #[test]
    fn past_the_bound_healthy_idle_circuits_are_forgotten_and_failing_ones_kept() {
        let c =
            Arc::new(Circuits { max: 4, ..Circuits::new(CircuitSettings { failures: 3, window: Duration::from_secs(10), cooldown: Duration::from_secs(5) }) });
        let t0 = Instant::now();
        for _ in 0..3 {
            c.admit_at("a", "down", t0).unwrap().finish_at(false, t0);
        }
        let in_flight = c.admit_at("a", "slow", t0).unwrap();
        c.admit_at("a", "one-failure", t0).unwrap().finish_at(false, t0);
        for host in 0..100 {
            c.admit_at("a", &format!("host-{host}"), t0).unwrap().finish_at(true, t0);
            assert!(c.len() <= 4, "{} circuits kept", c.len());
        }
        // What a fresh circuit would not know survives: the open circuit,
        // the counted failure, the call still in flight.
        assert_eq!(c.state("a", "down"), State::Open);
        assert!(c.admit_at("a", "down", t0).is_err());
        c.admit_at("a", "one-failure", t0).unwrap().finish_at(false, t0);
        c.admit_at("a", "one-failure", t0).unwrap().finish_at(false, t0);
        assert_eq!(c.state("a", "one-failure"), State::Open);
        in_flight.finish(true);
        // With every kept circuit still needed, a new target's call goes
        // through untracked rather than growing the map.
        let c =
            Arc::new(Circuits { max: 1, ..Circuits::new(CircuitSettings { failures: 1, window: Duration::from_secs(10), cooldown: Duration::from_secs(5) }) });
        c.admit_at("a", "down", t0).unwrap().finish_at(false, t0);
        c.admit_at("a", "other", t0).unwrap().finish_at(false, t0);
        assert_eq!(c.len(), 1);
        assert_eq!(c.state("a", "down"), State::Open);
    }
}
