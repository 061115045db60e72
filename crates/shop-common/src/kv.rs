//! A service's key-value store, as a trait so that domain code runs on
//! Spin's key-value in the component and on a map in native unit tests.

use crate::error::ApiError;

#[allow(async_fn_in_trait)]
pub trait Kv {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, ApiError>;
    async fn set(&self, key: &str, value: &[u8]) -> Result<(), ApiError>;
    async fn delete(&self, key: &str) -> Result<(), ApiError>;
}

#[cfg(any(test, feature = "memory-store"))]
pub mod memory {
    //! A map [`Kv`] for native unit tests.

    use std::cell::RefCell;
    use std::collections::HashMap;

    use super::Kv;
    use crate::error::ApiError;

    #[derive(Default)]
    pub struct MemoryKv(RefCell<HashMap<String, Vec<u8>>>);

    impl Kv for MemoryKv {
        async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, ApiError> {
            Ok(self.0.borrow().get(key).cloned())
        }
        async fn set(&self, key: &str, value: &[u8]) -> Result<(), ApiError> {
            self.0.borrow_mut().insert(key.to_owned(), value.to_vec());
            Ok(())
        }
        async fn delete(&self, key: &str) -> Result<(), ApiError> {
            self.0.borrow_mut().remove(key);
            Ok(())
        }
    }
}
