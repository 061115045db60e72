//! Spin 2 and 3 SDKs for Rust (and other toolchains targeting
//! `wasm32-wasip1`) produce a core WebAssembly module carrying its
//! component type in a custom section; Spin turns it into a component when
//! loading it. Souk does the same: the module is wrapped with wasmtime's
//! WASI preview 1 adapter, which implements the preview 1 imports on top of
//! WASIp2, using wit-component, the tool `wasm-tools component new` is
//! built on. A module with `_start` (a WASI program, as the WAGI executor
//! runs) gets the command adapter, whose component exports `wasi:cli/run`;
//! any other, the reactor one.

use wasi_preview1_component_adapter_provider::{
    WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, WASI_SNAPSHOT_PREVIEW1_COMMAND_ADAPTER, WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
};
use wasmtime::format_err;

/// `\0asm` followed by the version and layer fields: 1, 0 for a core module.
const CORE_MODULE_HEADER: [u8; 8] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

pub fn is_core_module(bytes: &[u8]) -> bool {
    bytes.starts_with(&CORE_MODULE_HEADER)
}

/// `bytes` as a component the host links: a core module wrapped; a
/// component as it is, but for the WASIp3 release candidate's names
/// (`wasip3_rc`).
pub fn componentize(bytes: Vec<u8>, what: &str) -> wasmtime::Result<Vec<u8>> {
    if !is_core_module(&bytes) {
        return crate::wasip3_rc::to_final(bytes, what);
    }
    let adapter = if exports_start(&bytes) { WASI_SNAPSHOT_PREVIEW1_COMMAND_ADAPTER } else { WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER };
    wit_component::ComponentEncoder::default()
        .validate(true)
        .module(&bytes)
        .and_then(|encoder| encoder.adapter(WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, adapter))
        .and_then(|mut encoder| encoder.encode())
        .map_err(|e| {
            format_err!(
                "{what} is a core WebAssembly module that cannot be made into a component ({e:#}); \
                 build it with a component-aware toolchain (e.g. spin-sdk for wasm32-wasip2) or a Spin SDK 2/3 for wasm32-wasip1"
            )
        })
}

/// Whether the core module exports a function `_start` (an unreadable
/// module is the encoder's to refuse).
fn exports_start(module: &[u8]) -> bool {
    wasmparser::Parser::new(0).parse_all(module).any(|payload| match payload {
        Ok(wasmparser::Payload::ExportSection(exports)) => {
            exports.into_iter().any(|export| export.is_ok_and(|e| e.name == "_start" && e.kind == wasmparser::ExternalKind::Func))
        }
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An empty component: `\0asm`, version 0x0d, layer 1.
    const EMPTY_COMPONENT: [u8; 8] = [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];

    #[test]
    fn a_component_is_left_as_it_is() {
        assert!(!is_core_module(&EMPTY_COMPONENT));
        assert_eq!(componentize(EMPTY_COMPONENT.to_vec(), "c.wasm").unwrap(), EMPTY_COMPONENT);
    }

    #[test]
    fn a_module_importing_unknown_functions_is_refused_with_its_name() {
        // (module (import "nowhere" "f" (func)))
        let mut module = CORE_MODULE_HEADER.to_vec();
        module.extend([0x01, 0x04, 0x01, 0x60, 0x00, 0x00]);
        module.extend([0x02, 0x0d, 0x01, 0x07]);
        module.extend(b"nowhere");
        module.extend([0x01, b'f', 0x00, 0x00]);
        assert!(is_core_module(&module));
        let err = componentize(module, "odd.wasm").unwrap_err().to_string();
        assert!(err.contains("odd.wasm") && err.contains("core WebAssembly module"), "{err}");
    }
}
