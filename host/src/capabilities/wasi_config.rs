//! `wasi:config/store@0.2.0-draft-2024-09-27`: the component's variables,
//! as `spin:variables` serves them; a name the component does not define is
//! simply absent.

use super::CapabilitiesView;
use super::bindings::spin::variables::variables::Error as VarError;
use super::bindings::wasi::config::store;

impl store::Host for CapabilitiesView<'_> {
    fn get(&mut self, key: String) -> wasmtime::Result<Result<Option<String>, store::Error>> {
        Ok(match super::variables::lookup(&self.caps.grants.variables, &key) {
            Ok(value) => Ok(Some(value)),
            Err(VarError::Undefined(_) | VarError::InvalidName(_)) => Ok(None),
            Err(VarError::Provider(m) | VarError::Other(m)) => Err(store::Error::Upstream(m)),
        })
    }

    fn get_all(&mut self) -> wasmtime::Result<Result<Vec<(String, String)>, store::Error>> {
        let mut all: Vec<(String, String)> =
            self.caps.grants.variables.values.iter().filter_map(|(name, value)| value.as_ref().ok().map(|v| (name.clone(), v.clone()))).collect();
        all.sort();
        Ok(Ok(all))
    }
}
