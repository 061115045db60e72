//! What a dependency or middleware does not inherit, it is denied: its
//! imports of those Spin interfaces are wired to the host's stand-ins
//! (`capabilities::deny`, `souk:host/deny-*`), which refuse every call. What
//! it inherits stays an import of the composition, served with the
//! importing component's configuration.
//!
//! The wiring is done in a small composition of its own, before the
//! component joins the main one: wac merges imports of the same interface
//! within one graph, so a stand-in import added next to the importer's own
//! `spin:*` import would be folded into it.

use souk_manifest::Inherit;
use wasmtime::format_err;

use super::Graph;
use super::error_chain;
use crate::capabilities::deny::{deniable, guard};

/// `bytes` with the imports `inherit` does not cover rewired to stand-ins;
/// unchanged when there are none.
pub(super) fn apply(bytes: Vec<u8>, inherit: &Inherit, what: &str) -> wasmtime::Result<Vec<u8>> {
    if *inherit == Inherit::All {
        return Ok(bytes);
    }
    let mut graph = Graph::new();
    let (package, instance) = graph.instantiate(bytes.clone(), what)?;
    let mut denied = 0;
    for (import, kind) in graph.imports(package) {
        let Some((config, stand_in)) = guard(&import) else { continue };
        if inherit.includes(config) {
            continue;
        }
        let Some(stand_in) = stand_in else {
            return Err(format_err!(
                "{what} imports `{import}` without inheriting `{}`, and Souk has no refusing stand-in for it (it has for {}); add `{}` to its `inherit_configuration`",
                config.key(),
                deniable().map(|name| if name.ends_with('.') { format!("{name}*") } else { name.to_owned() }).collect::<Vec<_>>().join(", "),
                config.key()
            ));
        };
        let node = graph.graph.import(stand_in, kind).map_err(|e| format_err!("{what}: {e:#}"))?;
        graph.graph.set_instantiation_argument(instance, &import, node).map_err(|e| format_err!("{what}: cannot deny `{import}`: {}", error_chain(&e)))?;
        denied += 1;
    }
    if denied == 0 {
        return Ok(bytes);
    }
    for name in graph.exports(package) {
        let alias = graph.graph.alias_instance_export(instance, &name).map_err(|e| format_err!("{what}: {e:#}"))?;
        graph.graph.export(alias, name).map_err(|e| format_err!("{what}: {e:#}"))?;
    }
    graph.encode(what)
}
