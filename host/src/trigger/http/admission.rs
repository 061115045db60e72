//! Admission control: `souk up --max-concurrent-requests [COMPONENT=]N` lets
//! at most N requests from the listener run in a component at once; the
//! others wait their turn in arrival order.
//!
//! Why: every request in flight is a live instance with its own linear
//! memory. A component whose requests are CPU-bound (users hashing passwords
//! with argon2id, 7 MiB each) gains no throughput from more requests at once
//! than there are cores, only memory: a burst of sign-ups would otherwise
//! hold one hash's memory per connection. This is wasmtime-wasi-http's
//! advice for `ProxyHandler::handle` (a semaphore around it) and the same
//! knob as Knative's `containerConcurrency` or a fixed pool of workers.
//!
//! Only requests from the listener are counted. Service-chained requests
//! (`http://<id>.spin.internal`) are not: a caller already holding its own
//! component's slot could otherwise wait for a slot held by a request that
//! waits for it, and chained requests are already bounded by the requests
//! that make them. This also matches SpinKube, where chained requests stay
//! inside the pod and a concurrency limit sits in front of it.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// One `--max-concurrent-requests` value: `N` for every component, or
/// `COMPONENT=N` for one (which overrides the value for every component).
/// Given again, a later value replaces an earlier one, so a wrapper script
/// can set a default that its caller's own flag overrides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConcurrencyLimit {
    pub component: Option<String>,
    pub limit: usize,
}

impl FromStr for ConcurrencyLimit {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (component, number) = match s.split_once('=') {
            Some(("", _)) => {
                return Err(format!("expected N or COMPONENT=N, got `{s}` (the component id is empty)"));
            }
            Some((component, number)) => (Some(component.to_string()), number),
            None => (None, s),
        };
        match number.parse::<usize>() {
            Ok(0) => Err(format!("the limit in `{s}` must be at least 1")),
            Ok(limit) => Ok(Self { component, limit }),
            Err(_) => Err(format!("expected N or COMPONENT=N with N a whole number of requests, got `{s}`")),
        }
    }
}

/// The slots of each limited component; components without a limit are absent.
pub struct Admission {
    slots: HashMap<String, Arc<Semaphore>>,
    limits: HashMap<String, usize>,
    wait_limit: Duration,
}

/// A request that waited `wait_limit` without getting a slot.
#[derive(Debug)]
pub struct WaitedTooLong {
    pub component: String,
    pub limit: usize,
    pub waited: Duration,
}

impl std::fmt::Display for WaitedTooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "component `{}`: a request waited {:?} for one of its {} request slots (--max-concurrent-requests) and was refused",
            self.component, self.waited, self.limit
        )
    }
}

impl Admission {
    /// Checks `limits` against the app's component ids: an unknown component
    /// is an error naming the flag and the component.
    /// A request waits at most `wait_limit` for a slot.
    pub fn new<'a>(limits: &[ConcurrencyLimit], components: impl IntoIterator<Item = &'a str>, wait_limit: Duration) -> Result<Self, String> {
        let components: Vec<&str> = components.into_iter().collect();
        let mut for_every = None;
        let mut for_one: BTreeMap<&str, usize> = BTreeMap::new();
        for limit in limits {
            match &limit.component {
                None => for_every = Some(limit.limit),
                Some(id) if !components.contains(&id.as_str()) => {
                    let mut known = components.clone();
                    known.sort_unstable();
                    known.dedup();
                    return Err(format!("--max-concurrent-requests: the app has no component `{id}` (its components: {})", known.join(", ")));
                }
                Some(id) => {
                    for_one.insert(id, limit.limit);
                }
            }
        }
        let mut limits = HashMap::new();
        for id in components {
            if let Some(limit) = for_one.get(id).copied().or(for_every) {
                limits.insert(id.to_string(), limit);
            }
        }
        let slots = limits.iter().map(|(id, limit)| (id.clone(), Arc::new(Semaphore::new(*limit)))).collect();
        Ok(Self { slots, limits, wait_limit })
    }

    /// Waits for one of `component`'s slots. `Ok(None)` when the component
    /// has no limit; otherwise the slot is held until the permit is dropped.
    pub async fn admit(&self, component: &str) -> Result<Option<OwnedSemaphorePermit>, WaitedTooLong> {
        let Some(slots) = self.slots.get(component) else {
            return Ok(None);
        };
        if let Ok(permit) = slots.clone().try_acquire_owned() {
            return Ok(Some(permit));
        }
        let started = Instant::now();
        let waited = tokio::time::timeout(self.wait_limit, slots.clone().acquire_owned()).await;
        crate::stats::record_queued(component, started.elapsed());
        crate::metrics::admission_waited(component, started.elapsed(), !matches!(waited, Ok(Ok(_))));
        match waited {
            Ok(Ok(permit)) => Ok(Some(permit)),
            // The semaphore is never closed; treat it as a full wait anyway.
            Ok(Err(_)) | Err(_) => Err(WaitedTooLong { component: component.to_string(), limit: self.limits[component], waited: self.wait_limit }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::FutureExt;

    fn limit(s: &str) -> ConcurrencyLimit {
        s.parse().unwrap()
    }

    #[test]
    fn values_name_a_component_or_apply_to_every_one() {
        assert_eq!(limit("8"), ConcurrencyLimit { component: None, limit: 8 });
        assert_eq!(limit("users=2"), ConcurrencyLimit { component: Some("users".into()), limit: 2 });
        assert!("users=0".parse::<ConcurrencyLimit>().unwrap_err().contains("at least 1"));
        assert!("=3".parse::<ConcurrencyLimit>().unwrap_err().contains("component id is empty"));
        assert!("users=two".parse::<ConcurrencyLimit>().unwrap_err().contains("`users=two`"));
        assert!("-1".parse::<ConcurrencyLimit>().is_err());
    }

    #[test]
    fn an_unknown_component_is_refused_by_name() {
        let err = Admission::new(&[limit("userz=2")], ["users", "catalog"], Duration::from_secs(1)).err().unwrap();
        assert!(err.contains("no component `userz`") && err.contains("catalog, users"), "{err}");
    }

    #[test]
    fn a_later_value_replaces_an_earlier_one() {
        let admission = Admission::new(&[limit("users=1"), limit("5"), limit("users=2"), limit("1")], ["users", "catalog"], Duration::from_secs(1)).unwrap();
        assert_eq!(admission.limits["users"], 2);
        assert_eq!(admission.limits["catalog"], 1);
    }

    #[tokio::test]
    async fn a_component_limit_overrides_the_limit_for_every_component() {
        let admission = Admission::new(&[limit("1"), limit("users=2")], ["users", "catalog", "users"], Duration::from_secs(1)).unwrap();
        let _a = admission.admit("users").await.unwrap().expect("users is limited");
        let _b = admission.admit("users").await.unwrap().expect("users has two slots");
        let _c = admission.admit("catalog").await.unwrap().expect("catalog is limited to one");
        assert!(admission.admit("catalog").now_or_never().is_none(), "catalog's one slot is taken");

        let unlimited = Admission::new(&[limit("users=1")], ["users", "catalog"], Duration::from_secs(1)).unwrap();
        let held: Vec<_> = (0..100).map(|_| unlimited.admit("catalog").now_or_never().unwrap().unwrap()).collect();
        assert!(held.iter().all(Option::is_none), "a component without a limit is not counted");
    }

    #[tokio::test]
    async fn a_request_waits_for_a_slot_in_arrival_order() {
        let admission = Admission::new(&[limit("users=1")], ["users"], Duration::from_secs(30)).unwrap();
        let first = admission.admit("users").await.unwrap();
        let mut second = Box::pin(admission.admit("users"));
        let mut third = Box::pin(admission.admit("users"));
        assert!((&mut second).now_or_never().is_none(), "the only slot is held");
        assert!((&mut third).now_or_never().is_none());
        drop(first);
        let second = second.await.unwrap();
        assert!((&mut third).now_or_never().is_none(), "the second request holds the slot now");
        drop(second);
        assert!(third.await.unwrap().is_some());
    }

    #[tokio::test]
    async fn a_request_that_waits_past_the_limit_is_refused() {
        let admission = Admission::new(&[limit("users=1")], ["users"], Duration::from_millis(50)).unwrap();
        let _held = admission.admit("users").await.unwrap();
        let refused = admission.admit("users").await.unwrap_err();
        assert_eq!(refused.limit, 1);
        assert_eq!(refused.waited, Duration::from_millis(50));
        let message = refused.to_string();
        assert!(message.contains("component `users`") && message.contains("--max-concurrent-requests"), "{message}");
    }
}
