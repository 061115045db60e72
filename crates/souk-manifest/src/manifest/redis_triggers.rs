//! `[[trigger.redis]]` and `[application.trigger.redis]`: which component
//! is called for the messages of which channel on which Redis server.

use std::collections::BTreeMap;
use std::path::Path;

use super::schema::{RawRedisTrigger, StrOr};
use super::{ComponentConfig, RedisTrigger, VariableDecl};
use crate::error::ConfigError;
use crate::toml_source::{KeyPath, TomlSource};

pub(super) fn convert(
    src: &TomlSource,
    dir: &Path,
    components: &mut BTreeMap<String, ComponentConfig>,
    app_variables: &BTreeMap<String, VariableDecl>,
    app_address: Option<String>,
    raw: Vec<RawRedisTrigger>,
) -> Result<Vec<RedisTrigger>, ConfigError> {
    let app_key = KeyPath::root().key("application").key("trigger").key("redis").key("address");
    let mut out = Vec::with_capacity(raw.len());
    for (index, trigger) in raw.into_iter().enumerate() {
        let path = KeyPath::root().key("trigger").key("redis").index(index);
        let component = match trigger.component {
            StrOr::Str(id) if components.contains_key(&id) => id,
            StrOr::Str(id) => return Err(src.error_at(&path.key("component"), format!("no component named `{id}`; define it as [component.{id}]"))),
            // An inline component gets an id of its own, as on an HTTP trigger.
            StrOr::Table(raw) => {
                let natural = format!("redis-trigger{}-component", index + 1);
                let id = std::iter::once(natural.clone())
                    .chain((2..).map(|n| format!("{natural}{n}")))
                    .find(|id| !components.contains_key(id))
                    .expect("an unused id");
                let converted = super::convert::component(src, dir, app_variables, &id, &path.key("component"), raw)?;
                components.insert(id.clone(), converted);
                id
            }
        };
        if trigger.channel.is_empty() {
            return Err(src.error_at(&path.key("channel"), "must name a channel"));
        }
        let (address, address_key) = match (trigger.address, &app_address) {
            (Some(own), _) => (own, path.key("address")),
            (None, Some(app)) => (app.clone(), app_key.clone()),
            (None, None) => {
                return Err(src.error_at(&path, "names no Redis server: give it an `address`, or set [application.trigger.redis] address for every trigger"));
            }
        };
        if address.is_empty() {
            return Err(src.error_at(&address_key, "must be a Redis address (redis://host:port)"));
        }
        super::convert::check_references(&address, app_variables).map_err(|e| src.error_at(&address_key, e))?;
        super::convert::check_references(&trigger.channel, app_variables).map_err(|e| src.error_at(&path.key("channel"), e))?;
        out.push(RedisTrigger { index, component, channel: trigger.channel, address, address_key: address_key.to_string() });
    }
    Ok(out)
}
