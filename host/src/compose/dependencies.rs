//! `[component.<id>.dependencies]`: each import the keys name is satisfied
//! by an export of another component (of this app, or a Wasm file).

use wasmtime::format_err;

use super::{Composer, Graph, deny, error_chain};

pub(super) fn compose(composer: &mut Composer<'_>, id: &str, raw: Vec<u8>) -> wasmtime::Result<Vec<u8>> {
    let manifest = composer.manifest;
    let config = &manifest.components[id];
    let mut graph = Graph::new();
    let (main, main_instance) = graph.instantiate(raw, &format!("component `{id}`"))?;
    let imports = graph.imports(main);

    // One instance per dependency entry, shared by all the imports it satisfies.
    for dep in &config.dependencies {
        let key = dep.name.to_string();
        let satisfied: Vec<&String> = imports.iter().map(|(name, _)| name).filter(|name| dep.name.matches(name)).collect();
        if satisfied.is_empty() {
            let names: Vec<&str> = imports.iter().map(|(n, _)| n.as_str()).collect();
            return Err(format_err!(
                "{}: {}: component `{id}` has no import `{key}` for this dependency to satisfy; it imports: {}",
                manifest.file.display(),
                dep.toml_key,
                names.join(", ")
            ));
        }
        let (bytes, what) = composer.dependency_bytes(&dep.source)?;
        let what = format!("dependency {what} of component `{id}`");
        let bytes = deny::apply(bytes, &dep.inherit, &what)?;
        let (package, instance) = graph.instantiate(bytes, &what)?;
        let exports = graph.exports(package);
        for import in satisfied {
            let export = dep.export.as_deref().unwrap_or(import);
            if !exports.iter().any(|e| e == export) {
                return Err(format_err!(
                    "{}: {}: {what} does not export `{export}`; it exports: {}",
                    manifest.file.display(),
                    dep.toml_key,
                    if exports.is_empty() { "nothing".to_owned() } else { exports.join(", ") }
                ));
            }
            let alias = graph.graph.alias_instance_export(instance, export).map_err(|e| format_err!("{what}: {e:#}"))?;
            graph.graph.set_instantiation_argument(main_instance, import, alias).map_err(|e| {
                format_err!(
                    "{}: {}: {what} exports `{export}` with a type that does not match component `{id}`'s import `{import}`: {}",
                    manifest.file.display(),
                    dep.toml_key,
                    error_chain(&e)
                )
            })?;
        }
    }

    // The composition exports what the component exports.
    for name in graph.exports(main) {
        let alias = graph.graph.alias_instance_export(main_instance, &name).map_err(|e| format_err!("component `{id}`: {e:#}"))?;
        graph.graph.export(alias, name).map_err(|e| format_err!("component `{id}`: {e:#}"))?;
    }
    graph.encode(&format!("component `{id}` with its dependencies"))
}
