//! The `component` of a non-HTTP trigger (`[[trigger.redis]]`,
//! `[[trigger.cron]]`): the id of a `[component.<id>]`, or a table defining
//! the component inline, which then gets an id of its own.

use std::collections::BTreeMap;
use std::path::Path;

use super::schema::{RawComponent, StrOr};
use super::{ComponentConfig, VariableDecl};
use crate::error::ConfigError;
use crate::toml_source::{KeyPath, TomlSource};

/// The component id `raw` names or defines; an inline one is added to
/// `components` as `<kind>-trigger<N>-component` (N counting from 1), or
/// that id with a number after it when the id is taken.
pub(super) fn resolve(
    src: &TomlSource,
    dir: &Path,
    components: &mut BTreeMap<String, ComponentConfig>,
    app_variables: &BTreeMap<String, VariableDecl>,
    (kind, index): (&str, usize),
    raw: StrOr<RawComponent>,
) -> Result<String, ConfigError> {
    let path = KeyPath::root().key("trigger").key(kind).index(index).key("component");
    match raw {
        StrOr::Str(id) if components.contains_key(&id) => Ok(id),
        StrOr::Str(id) => Err(src.error_at(&path, format!("no component named `{id}`; define it as [component.{id}]"))),
        StrOr::Table(raw) => {
            let natural = format!("{kind}-trigger{}-component", index + 1);
            let id =
                std::iter::once(natural.clone()).chain((2..).map(|n| format!("{natural}{n}"))).find(|id| !components.contains_key(id)).expect("an unused id");
            let converted = super::component::component(src, dir, app_variables, &id, &path, raw)?;
            components.insert(id.clone(), converted);
            Ok(id)
        }
    }
}
