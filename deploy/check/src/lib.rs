//! Checks of the shop's SpinKube manifests (`deploy/spinkube/`), run by
//! `cargo test`:
//!
//! - [`manifests`] reads every YAML file under a folder, each document of a
//!   multi-document file apart;
//! - [`crd`] validates a `SpinApp` against the `openAPIV3Schema` of the
//!   vendored SpinApp CRD, as the API server does on `kubectl apply`;
//! - [`spin_manifest`] and [`runtime_config`] read what the app needs
//!   (spin.toml) and what the cluster gives it (the runtime config TOML
//!   inside its Secret);
//! - [`consistency`] compares the two, so that a store, a variable or a
//!   route added to spin.toml and not to the deployment fails a test.

pub mod consistency;
pub mod crd;
pub mod manifests;
pub mod runtime_config;
pub mod spin_manifest;

use std::path::PathBuf;

/// The workspace root (this crate is `deploy/check`).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `deploy/spinkube` in this workspace.
pub fn spinkube_dir() -> PathBuf {
    workspace_root().join("deploy/spinkube")
}
