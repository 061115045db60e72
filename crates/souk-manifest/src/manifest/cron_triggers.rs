//! `[[trigger.cron]]`, as Spin's cron trigger plugin reads it: which
//! component runs on which schedule.

use std::collections::BTreeMap;
use std::path::Path;

use super::schema::RawCronTrigger;
use super::{ComponentConfig, CronTrigger, VariableDecl};
use crate::error::ConfigError;
use crate::toml_source::{KeyPath, TomlSource};

pub(super) fn convert(
    src: &TomlSource,
    dir: &Path,
    components: &mut BTreeMap<String, ComponentConfig>,
    app_variables: &BTreeMap<String, VariableDecl>,
    raw: Vec<RawCronTrigger>,
) -> Result<Vec<CronTrigger>, ConfigError> {
    let mut out = Vec::with_capacity(raw.len());
    for (index, trigger) in raw.into_iter().enumerate() {
        let component = super::trigger_component::resolve(src, dir, components, app_variables, ("cron", index), trigger.component)?;
        let key = KeyPath::root().key("trigger").key("cron").index(index).key("cron_expression");
        cron_schedule(&trigger.cron_expression).map_err(|e| src.error_at(&key, e))?;
        out.push(CronTrigger { index, component, expression: trigger.cron_expression });
    }
    Ok(out)
}

/// The schedule a cron expression gives, read as Spin's cron trigger reads
/// it (the same parser, croner, with the same options): six fields,
/// seconds first (`sec min hour day-of-month month day-of-week`), a day
/// matching only when both its day fields match, times in UTC.
pub fn cron_schedule(expression: &str) -> Result<croner::Cron, String> {
    croner::Cron::new(expression)
        .with_seconds_required()
        .with_dom_and_dow()
        .parse()
        .map_err(|e| format!("{expression:?} is not a cron expression of six fields (sec min hour day-of-month month day-of-week): {e}"))
}
