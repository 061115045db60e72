//! `dependencies.middleware` of a trigger: each middleware imports and
//! exports `wasi:http/handler@0.3.0`; the chain `a -> b -> component` is
//! built by giving each its successor's handler export as its handler
//! import, and the first one's export becomes the composition's handler.

use wasmtime::format_err;

use super::{Composer, Graph, HANDLER, deny, error_chain};
use souk_manifest::HttpTrigger;

pub(super) fn chain(composer: &mut Composer<'_>, trigger: &HttpTrigger, component: Vec<u8>) -> wasmtime::Result<Vec<u8>> {
    let file = composer.manifest.file.display().to_string();
    let id = &trigger.component;
    let mut graph = Graph::new();
    let (main, main_instance) = graph.instantiate(component, &format!("component `{id}`"))?;
    if !graph.exports(main).iter().any(|e| e == HANDLER) {
        return Err(format_err!(
            "{file}: trigger.http[{}]: middleware can only be put in front of a component exporting `{HANDLER}`, and component `{id}` does not export it",
            trigger.index
        ));
    }
    let mut next = graph.graph.alias_instance_export(main_instance, HANDLER).map_err(|e| format_err!("component `{id}`: {e:#}"))?;

    for m in trigger.middleware.iter().rev() {
        let what = format!("middleware component `{}` of trigger.http[{}]", m.component, trigger.index);
        let bytes = deny::apply(composer.component(&m.component)?, &m.inherit, &what)?;
        let (package, instance) = graph.instantiate(bytes, &what)?;
        let imports = graph.imports(package);
        if !imports.iter().any(|(name, _)| name == HANDLER) || !graph.exports(package).iter().any(|e| e == HANDLER) {
            return Err(format_err!("{file}: {}: {what} must both import and export `{HANDLER}` (the `wasi:http/middleware` world)", m.toml_key));
        }
        graph.graph.set_instantiation_argument(instance, HANDLER, next).map_err(|e| format_err!("{file}: {}: {what}: {}", m.toml_key, error_chain(&e)))?;
        next = graph.graph.alias_instance_export(instance, HANDLER).map_err(|e| format_err!("{what}: {e:#}"))?;
    }
    graph.graph.export(next, HANDLER).map_err(|e| format_err!("trigger.http[{}]: {e:#}", trigger.index))?;
    graph.encode(&format!("the middleware chain of trigger.http[{}]", trigger.index))
}
