//! A service's key-value store, as a trait so that domain code runs on
//! Spin's key-value in the component and on a map in native unit tests.

use crate::error::ApiError;

#[allow(async_fn_in_trait)]
pub trait Kv {
    /// A compare-and-swap handle: the key and what it held when read.
    type Cas;

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, ApiError>;
    async fn set(&self, key: &str, value: &[u8]) -> Result<(), ApiError>;
    async fn delete(&self, key: &str) -> Result<(), ApiError>;
    /// The key's value now, with a handle to [`Kv::swap`] it while unchanged.
    async fn watch(&self, key: &str) -> Result<(Option<Vec<u8>>, Self::Cas), ApiError>;
    /// Writes `value` if the key still holds what `watch` saw; `false`
    /// (and nothing written) when another write came in between.
    async fn swap(&self, cas: Self::Cas, value: &[u8]) -> Result<bool, ApiError>;
}

/// How often [`update`] reads again after losing a race, before it gives up.
pub const UPDATE_ATTEMPTS: usize = 16;

/// Read-modify-write of one key that loses no concurrent write: `change`
/// gets the stored value and returns the value to store and the caller's
/// result; if another write lands between the read and the write, it runs
/// again on the newer value. An error from `change` writes nothing, and
/// neither does a change that leaves the value as it was (the answer holds
/// as of the read). After [`UPDATE_ATTEMPTS`] lost races the answer is 409,
/// to retry later.
pub async fn update<K: Kv, T>(kv: &K, key: &str, mut change: impl FnMut(Option<&[u8]>) -> Result<(Vec<u8>, T), ApiError>) -> Result<T, ApiError> {
    for _ in 0..UPDATE_ATTEMPTS {
        let (seen, cas) = kv.watch(key).await?;
        let (value, result) = change(seen.as_deref())?;
        if seen.as_deref() == Some(&value[..]) || kv.swap(cas, &value).await? {
            return Ok(result);
        }
    }
    Err(ApiError::conflict("conflict", "the resource kept changing under concurrent requests; retry"))
}

#[cfg(any(test, feature = "memory-store"))]
pub mod memory {
    //! A map [`Kv`] for native unit tests.

    use std::cell::RefCell;
    use std::collections::HashMap;

    use super::Kv;
    use crate::error::ApiError;

    #[derive(Default)]
    pub struct MemoryKv {
        map: RefCell<HashMap<String, Vec<u8>>>,
        /// Writes made "by another request" right after the next `watch`s,
        /// one per `watch`: how tests stage a lost race.
        interleaved: RefCell<Vec<(String, Vec<u8>)>>,
        swaps: std::cell::Cell<usize>,
    }

    impl MemoryKv {
        /// After each of the next `watch` calls, one of these writes lands
        /// (in order), as if a concurrent request had made it.
        pub fn interleave(&self, key: &str, values: &[&[u8]]) {
            self.interleaved.borrow_mut().extend(values.iter().map(|v| (key.to_owned(), v.to_vec())));
        }

        /// How many compare-and-swaps were tried.
        pub fn swaps(&self) -> usize {
            self.swaps.get()
        }
    }

    impl Kv for MemoryKv {
        type Cas = (String, Option<Vec<u8>>);

        async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, ApiError> {
            Ok(self.map.borrow().get(key).cloned())
        }
        async fn set(&self, key: &str, value: &[u8]) -> Result<(), ApiError> {
            self.map.borrow_mut().insert(key.to_owned(), value.to_vec());
            Ok(())
        }
        async fn delete(&self, key: &str) -> Result<(), ApiError> {
            self.map.borrow_mut().remove(key);
            Ok(())
        }
        async fn watch(&self, key: &str) -> Result<(Option<Vec<u8>>, Self::Cas), ApiError> {
            let seen = self.map.borrow().get(key).cloned();
            let next = {
                let mut queue = self.interleaved.borrow_mut();
                (!queue.is_empty()).then(|| queue.remove(0))
            };
            if let Some((k, v)) = next {
                self.map.borrow_mut().insert(k, v);
            }
            Ok((seen.clone(), (key.to_owned(), seen)))
        }
        async fn swap(&self, (key, seen): Self::Cas, value: &[u8]) -> Result<bool, ApiError> {
            self.swaps.set(self.swaps.get() + 1);
            let mut map = self.map.borrow_mut();
            if map.get(&key) != seen.as_ref() {
                return Ok(false);
            }
            map.insert(key, value.to_vec());
            Ok(true)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::memory::MemoryKv;
    use super::*;
    use futures::executor::block_on;

    fn append(seen: Option<&[u8]>) -> Result<(Vec<u8>, usize), ApiError> {
        let mut value = seen.unwrap_or_default().to_vec();
        value.push(b'+');
        let len = value.len();
        Ok((value, len))
    }

    #[test]
    fn an_update_that_loses_a_race_runs_again_on_the_newer_value() {
        let kv = MemoryKv::default();
        block_on(kv.set("k", b"a")).unwrap();
        kv.interleave("k", &[b"ab"]);
        assert_eq!(block_on(update(&kv, "k", append)).unwrap(), 3);
        assert_eq!(block_on(kv.get("k")).unwrap().as_deref(), Some(&b"ab+"[..]), "the other write is kept");
    }

    #[test]
    fn an_update_creates_a_missing_key() {
        let kv = MemoryKv::default();
        assert_eq!(block_on(update(&kv, "new", append)).unwrap(), 1);
        assert_eq!(block_on(kv.get("new")).unwrap().as_deref(), Some(&b"+"[..]));
    }

    #[test]
    fn an_update_that_keeps_losing_gives_up_with_409_and_writes_nothing_of_its_own() {
        let kv = MemoryKv::default();
        let others: Vec<Vec<u8>> = (0..UPDATE_ATTEMPTS).map(|i| format!("other {i}").into_bytes()).collect();
        kv.interleave("k", &others.iter().map(Vec::as_slice).collect::<Vec<_>>());
        let e = block_on(update(&kv, "k", append)).unwrap_err();
        assert_eq!((e.status, e.code), (409, "conflict"));
        assert_eq!(block_on(kv.get("k")).unwrap(), others.last().cloned());
    }

    #[test]
    fn a_change_that_leaves_the_value_as_it_was_writes_nothing() {
        let kv = MemoryKv::default();
        block_on(kv.set("k", b"a")).unwrap();
        // Another write right after the read does not make it run again.
        kv.interleave("k", &[b"b"]);
        let seen = block_on(update(&kv, "k", |seen| Ok((seen.unwrap_or_default().to_vec(), seen.map(<[u8]>::to_vec))))).unwrap();
        assert_eq!(seen.as_deref(), Some(&b"a"[..]));
        assert_eq!(kv.swaps(), 0);
        assert_eq!(block_on(kv.get("k")).unwrap().as_deref(), Some(&b"b"[..]));
        // A change that does change the value is written.
        assert_eq!(block_on(update(&kv, "k", append)).unwrap(), 2);
        assert_eq!(kv.swaps(), 1);
    }

    #[test]
    fn an_error_from_the_change_writes_nothing() {
        let kv = MemoryKv::default();
        block_on(kv.set("k", b"a")).unwrap();
        let e = block_on(update(&kv, "k", |_| Err::<(Vec<u8>, ()), _>(ApiError::unprocessable("unprocessable", "no")))).unwrap_err();
        assert_eq!(e.status, 422);
        assert_eq!(block_on(kv.get("k")).unwrap().as_deref(), Some(&b"a"[..]));
    }
}
