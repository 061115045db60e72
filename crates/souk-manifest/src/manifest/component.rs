//! One `[component.<id>]` table (or a trigger's inline component), checked
//! and turned into a [`ComponentConfig`]; and the check that a text's
//! `{{ variable }}` templates name declared variables, which triggers use too.

use std::collections::BTreeMap;
use std::path::Path;

use super::files::resolve;
use super::schema::{RawComponent, StrOr};
use super::{BuildConfig, ComponentConfig, VariableDecl};
use crate::allowed_hosts::AllowedHosts;
use crate::error::ConfigError;
use crate::names::{check_store_label, check_variable_name};
use crate::paths::resolve_path;
use crate::template;
use crate::toml_source::{KeyPath, TomlSource};

type Result<T> = std::result::Result<T, ConfigError>;

pub(super) fn component(
    src: &TomlSource,
    dir: &Path,
    app_variables: &BTreeMap<String, VariableDecl>,
    id: &str,
    path: &KeyPath,
    raw: RawComponent,
) -> Result<ComponentConfig> {
    let source = match raw.source {
        StrOr::Str(s) if s.trim().is_empty() => {
            return Err(src.error_at(&path.key("source"), "must be a path to a Wasm file, not empty"));
        }
        StrOr::Str(s) => resolve_path(dir, &s),
        StrOr::Table(_) => {
            return Err(src.error_at(&path.key("source"), "only local file sources (a path to a .wasm file) are supported; `url` and registry sources are not"));
        }
    };

    let mut files = Vec::with_capacity(raw.files.len());
    for (i, entry) in raw.files.iter().enumerate() {
        files.push(resolve(dir, entry).map_err(|e| src.error_at(&path.key("files").index(i), e))?);
    }

    for (i, pattern) in raw.exclude_files.iter().enumerate() {
        super::file_glob(pattern).map_err(|e| src.error_at(&path.key("exclude_files").index(i), e))?;
    }

    let hosts_path = path.key("allowed_outbound_hosts");
    for entry in &raw.allowed_outbound_hosts {
        if template::is_template(entry) {
            check_references(entry, app_variables).map_err(|e| src.error_at(&hosts_path, format!("entry {entry:?}: {e}")))?;
        } else {
            AllowedHosts::parse(std::slice::from_ref(entry)).map_err(|e| src.error_at(&hosts_path, e))?;
        }
    }

    for (key, labels) in [("key_value_stores", &raw.key_value_stores), ("sqlite_databases", &raw.sqlite_databases)] {
        for label in labels {
            check_store_label(label).map_err(|e| src.error_at(&path.key(key), format!("invalid label {label:?}: {e}")))?;
        }
    }

    for (name, value) in &raw.variables {
        let var_path = path.key("variables").key(name);
        check_variable_name(name).map_err(|e| src.error_at(&var_path, format!("invalid variable name {name:?}: {e}")))?;
        check_references(value, app_variables).map_err(|e| src.error_at(&var_path, e))?;
    }

    let build = match raw.build {
        None => None,
        Some(build) => {
            let commands = build.command.0;
            if commands.is_empty() || commands.iter().any(|c| c.trim().is_empty()) {
                return Err(src.error_at(&path.key("build").key("command"), "must not be empty"));
            }
            Some(BuildConfig {
                command: commands.join(" && "),
                commands,
                workdir: build.workdir.map_or_else(|| dir.to_owned(), |w| resolve_path(dir, &w)),
                watch: build.watch,
            })
        }
    };

    let dependencies =
        super::dependencies::component_dependencies(src, dir, &path.key("dependencies"), raw.dependencies, raw.dependencies_inherit_configuration)?;

    Ok(ComponentConfig {
        id: id.to_owned(),
        source,
        description: raw.description,
        allowed_outbound_hosts: raw.allowed_outbound_hosts,
        key_value_stores: raw.key_value_stores,
        sqlite_databases: raw.sqlite_databases,
        ai_models: raw.ai_models,
        variables: raw.variables,
        environment: raw.environment,
        files,
        exclude_files: raw.exclude_files.clone(),
        build,
        dependencies,
        toml_key: path.to_string(),
    })
}

/// Every `{{ name }}` in `text` must name a declared application variable.
pub(super) fn check_references(text: &str, app_variables: &BTreeMap<String, VariableDecl>) -> std::result::Result<(), String> {
    for name in template::references(text)? {
        if !app_variables.contains_key(name) {
            return Err(format!("undefined variable `{name}`; declare it in [variables]"));
        }
    }
    Ok(())
}
