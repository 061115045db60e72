//! `spin:variables/variables@3.0.0`: a component reads the variables its
//! manifest section defines, resolved once at start-up.

use wasmtime::component::Accessor;

use std::collections::HashMap;

use super::CapabilitiesView;
use super::Spin;
use super::bindings::spin::variables::variables::{self as vars, Error};

/// One component's variables, resolved at start-up (an `Err` says why a
/// declared variable has no value).
#[derive(Default)]
pub struct VariablesGrant {
    pub component: String,
    pub values: HashMap<String, Result<String, String>>,
}

impl vars::Host for CapabilitiesView<'_> {}

impl<T: Send> vars::HostWithStore<T> for Spin {
    async fn get(accessor: &Accessor<T, Self>, name: String) -> wasmtime::Result<Result<String, Error>> {
        accessor.with(|mut access| Ok(lookup(&access.get().caps.grants.variables, &name)))
    }
}

/// A component variable's value, or why there is none; shared by every
/// variables interface the host serves.
pub(super) fn lookup(component: &VariablesGrant, name: &str) -> Result<String, Error> {
    match component.values.get(name) {
        Some(Ok(value)) => Ok(value.clone()),
        Some(Err(message)) => Err(Error::Provider(message.clone())),
        None if !is_valid_name(name) => {
            Err(Error::InvalidName(format!("`{name}` is not a valid variable name (lowercase letters, digits and `_`, starting with a letter)")))
        }
        None => Err(Error::Undefined(format!("component `{}` defines no variable `{name}`", component.component))),
    }
}

fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some('a'..='z')) && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
}
