//! Guests built against the WASIp3 release candidate
//! (`@0.3.0-rc-2026-03-15`: spin-sdk 6, the SDK of Spin 4.0's templates)
//! served as guests of the final WASIp3 (`@0.3.0`), which is what the host
//! links.
//!
//! The release candidate's interfaces are the final ones under another
//! version: every type, function and resource is the same (the one
//! difference, `wasi:cli/exit.exit-with-code`, was behind a feature gate in
//! the candidate and is stable in the final). So instead of a second set of
//! host bindings forwarding to the first, the component's own top-level
//! import and export names are rewritten from the candidate's version to
//! the final one when it is loaded; everything inside (types, nested
//! modules and components, instantiations) is copied byte for byte.
//! wasmtime then checks the component's types against the final interfaces
//! as for any guest, so a candidate that differed would be refused at
//! start-up with wasmtime's own type error, never run with the wrong ABI.

use std::collections::HashSet;

use wasm_encoder::reencode::{RoundtripReencoder, component_utils};
use wasm_encoder::{ComponentExportSection, ComponentImportSection, RawSection};
use wasmparser::{Chunk, Encoding, Parser, Payload};
use wasmtime::format_err;

/// The release candidate's version suffix, and the final one it maps to.
const CANDIDATE: &str = "@0.3.0-rc-2026-03-15";
const FINAL: &str = "@0.3.0";

/// The WASI packages whose candidate is the final interface renamed.
const PACKAGES: [&str; 6] = ["wasi:http/", "wasi:cli/", "wasi:clocks/", "wasi:filesystem/", "wasi:random/", "wasi:sockets/"];

/// `name` under the final version, if it is one of the candidate's interfaces.
fn final_name(name: &str) -> Option<String> {
    let interface = name.strip_suffix(CANDIDATE)?;
    PACKAGES.iter().any(|p| interface.starts_with(p)).then(|| format!("{interface}{FINAL}"))
}

/// Whether `bytes` names the release candidate anywhere (a cheap test
/// before parsing).
fn mentions_candidate(bytes: &[u8]) -> bool {
    bytes.windows(CANDIDATE.len()).any(|w| w == CANDIDATE.as_bytes())
}

/// `bytes` (a component) with the candidate's top-level import and export
/// names given the final version; unchanged if it has none. `what` names
/// the component in errors.
pub fn to_final(bytes: Vec<u8>, what: &str) -> wasmtime::Result<Vec<u8>> {
    if !mentions_candidate(&bytes) {
        return Ok(bytes);
    }
    rename(&bytes).map_err(|e| format_err!("{what}: cannot map its WASIp3 release-candidate interfaces ({CANDIDATE}) to the final ones: {e}")).map(|renamed| {
        match renamed {
            Some(renamed) => {
                tracing::info!("{what} targets the WASIp3 release candidate ({CANDIDATE}); served as {FINAL}");
                renamed
            }
            None => bytes,
        }
    })
}

/// `name` for the renamed component (`renamed` counts the mapped ones);
/// refused if `seen`, the names so far, holds it already.
fn mapped<'a>(
    name: wasmparser::ComponentExternName<'a>,
    seen: &mut HashSet<String>,
    renamed: &mut usize,
    verb: &str,
) -> Result<wasm_encoder::ComponentExternName<'a>, String> {
    let mut out = wasm_encoder::ComponentExternName::from(name);
    if let Some(to) = final_name(name.name) {
        out.name = to.into();
        *renamed += 1;
    }
    if !seen.insert(out.name.to_string()) {
        return Err(format!("it {verb} `{}` under both versions", out.name));
    }
    Ok(out)
}

/// The renamed component, or `None` if no top-level name was the candidate's.
fn rename(bytes: &[u8]) -> Result<Option<Vec<u8>>, String> {
    let mut out = wasm_encoder::Component::new();
    let mut renamed = 0;
    // A component importing (or exporting) both versions of one interface
    // would end with the same name twice.
    let mut imports = HashSet::new();
    let mut exports = HashSet::new();
    let mut parser = Parser::new(0);
    let mut remaining = bytes;
    while !remaining.is_empty() {
        let (consumed, payload) = match parser.parse(remaining, true).map_err(|e| e.to_string())? {
            Chunk::Parsed { consumed, payload } => (consumed, payload),
            Chunk::NeedMoreData(_) => return Err("truncated".into()),
        };
        remaining = &remaining[consumed..];
        match payload {
            Payload::Version { encoding: Encoding::Component, .. } => {}
            Payload::Version { .. } => return Ok(None),
            Payload::ComponentImportSection(section) => {
                let mut encoded = ComponentImportSection::new();
                for import in section {
                    let import = import.map_err(|e| e.to_string())?;
                    let name = mapped(import.name, &mut imports, &mut renamed, "imports")?;
                    let ty = component_utils::component_type_ref(&mut RoundtripReencoder, import.ty).map_err(|e| e.to_string())?;
                    encoded.import(name, ty);
                }
                out.section(&encoded);
            }
            Payload::ComponentExportSection(section) => {
                let mut encoded = ComponentExportSection::new();
                for export in section {
                    let export = export.map_err(|e| e.to_string())?;
                    let name = mapped(export.name, &mut exports, &mut renamed, "exports")?;
                    let ty = export.ty.map(|t| component_utils::component_type_ref(&mut RoundtripReencoder, t)).transpose().map_err(|e| e.to_string())?;
                    encoded.export(name, export.kind.into(), export.index, ty);
                }
                out.section(&encoded);
            }
            Payload::End(_) => break,
            other => {
                let Some((id, range)) = other.as_section() else { return Err("a section the parser could not place".into()) };
                // A nested module or component is not parsed here: its
                // bytes are skipped past and copied whole.
                if let Payload::ModuleSection { unchecked_range, .. } | Payload::ComponentSection { unchecked_range, .. } = &other {
                    remaining = &remaining[unchecked_range.len()..];
                }
                out.section(&RawSection { id, data: &bytes[range] });
            }
        }
    }
    Ok((renamed > 0).then(|| out.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A component in the candidate's shape: it imports the candidate's
    /// `wasi:clocks/monotonic-clock` and exports an instance under the
    /// candidate's `wasi:http/handler` name, with a nested module.
    const CANDIDATE_COMPONENT: &str = r#"(component
        (import "wasi:clocks/monotonic-clock@0.3.0-rc-2026-03-15" (instance $clock
            (export "now" (func (result u64)))))
        (import "spin:key-value/key-value@3.0.0" (instance))
        (core module $m (func (export "f") (result i64) i64.const 7))
        (core instance $i (instantiate $m))
        (func $f (result u64) (canon lift (core func $i "f")))
        (instance $handler (export "handle" (func $f)))
        (export "wasi:http/handler@0.3.0-rc-2026-03-15" (instance $handler)))"#;

    fn names(bytes: &[u8]) -> (Vec<String>, Vec<String>) {
        let mut imports = Vec::new();
        let mut exports = Vec::new();
        for payload in Parser::new(0).parse_all(bytes) {
            match payload.unwrap() {
                Payload::ComponentImportSection(s) => imports.extend(s.into_iter().map(|i| i.unwrap().name.name.to_string())),
                Payload::ComponentExportSection(s) => exports.extend(s.into_iter().map(|e| e.unwrap().name.name.to_string())),
                _ => {}
            }
        }
        (imports, exports)
    }

    #[test]
    fn the_candidates_names_become_the_final_ones_and_the_component_stays_valid() {
        let bytes = wat::parse_str(CANDIDATE_COMPONENT).unwrap();
        let renamed = to_final(bytes, "test").unwrap();
        wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all()).validate_all(&renamed).expect("still a valid component");
        let (imports, exports) = names(&renamed);
        assert_eq!(imports, ["wasi:clocks/monotonic-clock@0.3.0", "spin:key-value/key-value@3.0.0"]);
        assert_eq!(exports, ["wasi:http/handler@0.3.0"]);
    }

    #[test]
    fn a_component_without_the_candidate_is_left_as_it_is() {
        let bytes = wat::parse_str(r#"(component (import "wasi:http/types@0.3.0" (instance)))"#).unwrap();
        assert_eq!(to_final(bytes.clone(), "test").unwrap(), bytes);
        // Another package's version that looks alike is not touched.
        let other = wat::parse_str(r#"(component (import "acme:thing/api@0.3.0-rc-2026-03-15" (instance)))"#).unwrap();
        assert_eq!(to_final(other.clone(), "test").unwrap(), other);
    }

    #[test]
    fn both_versions_of_one_interface_are_refused_with_a_clear_error() {
        let bytes = wat::parse_str(
            r#"(component
                (import "wasi:http/types@0.3.0-rc-2026-03-15" (instance))
                (import "wasi:http/types@0.3.0" (instance)))"#,
        )
        .unwrap();
        let error = to_final(bytes, "app.wasm").unwrap_err().to_string();
        assert!(error.contains("app.wasm") && error.contains("imports `wasi:http/types@0.3.0` under both versions"), "{error}");
    }
}
