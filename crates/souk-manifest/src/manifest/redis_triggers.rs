//! `[[trigger.redis]]` and `[application.trigger.redis]`: which component
//! is called for the messages of which channel on which Redis server.

use std::collections::BTreeMap;
use std::path::Path;

use super::schema::RawRedisTrigger;
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
        let component = super::trigger_component::resolve(src, dir, components, app_variables, ("redis", index), trigger.component)?;
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
        super::component::check_references(&address, app_variables).map_err(|e| src.error_at(&address_key, e))?;
        super::component::check_references(&trigger.channel, app_variables).map_err(|e| src.error_at(&path.key("channel"), e))?;
        out.push(RedisTrigger { index, component, channel: trigger.channel, address, address_key: address_key.to_string() });
    }
    Ok(out)
}
