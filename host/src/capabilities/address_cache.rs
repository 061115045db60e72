//! The app's shared connections and pools, one per address guests name
//! (outbound Redis, PostgreSQL, MySQL), kept for at most [`MAX_ADDRESSES`]
//! addresses of each kind.
//!
//! A guest that names ever new addresses (a database per tenant, an option
//! that varies) would otherwise make the host keep ever more pools, and
//! their idle connections, for the life of the app. Past the bound, the
//! address used longest ago is let go: its idle connections close, and the
//! ones guests still hold close when they drop them. `lru` is the
//! least-recently-used map `mysql_async` already brings.

use std::hash::Hash;
use std::num::NonZeroUsize;
use std::sync::Mutex;

use lru::LruCache;

/// Addresses kept at once, of each kind.
pub const MAX_ADDRESSES: usize = 32;

pub struct AddressCache<K: Hash + Eq, V> {
    entries: Mutex<LruCache<K, V>>,
}

impl<K: Hash + Eq, V: Clone> Default for AddressCache<K, V> {
    fn default() -> Self {
        AddressCache::with_capacity(MAX_ADDRESSES)
    }
}

impl<K: Hash + Eq, V: Clone> AddressCache<K, V> {
    pub fn with_capacity(capacity: usize) -> Self {
        let capacity = NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN);
        AddressCache { entries: Mutex::new(LruCache::new(capacity)) }
    }

    /// As [`Self::get_or_make`], for a value that is always made.
    pub fn get_or_insert(&self, key: K, make: impl FnOnce() -> V) -> V {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.get_or_insert(key, make).clone()
    }

    /// The value kept for `key`, or the one `make` gives (kept from now on,
    /// letting go of the one used longest ago if the cache is full).
    pub fn get_or_make<E>(&self, key: K, make: impl FnOnce() -> Result<V, E>) -> Result<V, E> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.try_get_or_insert(key, make).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_address_used_longest_ago_is_let_go_past_the_bound() {
        let cache: AddressCache<&str, usize> = AddressCache::with_capacity(2);
        let made = std::cell::Cell::new(0);
        let get = |key| {
            cache
                .get_or_make(key, || {
                    made.set(made.get() + 1);
                    Ok::<_, ()>(made.get())
                })
                .unwrap()
        };
        assert_eq!((get("a"), get("b"), get("a")), (1, 2, 1), "kept while there is room");
        assert_eq!(get("c"), 3, "b, used longest ago, is let go");
        assert_eq!((get("a"), get("b")), (1, 4), "a was kept; b is made again");
        assert!(cache.get_or_make("d", || Err("cannot")).is_err());
        assert_eq!(get("b"), 4, "a failed make keeps nothing");
    }
}
