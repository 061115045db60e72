//! Spin apps in OCI registries: `souk registry push` publishes an app in
//! the layout Spin's registry commands use (so `spin up -f <reference>` and
//! SpinKube's shim can run it), `souk up -f <reference>` (or `souk registry
//! pull`) pulls one to run it, and `souk registry login` keeps credentials
//! where both read them. The registry protocol (token handshakes, uploads,
//! digests) is oci-client's, the crate Spin's own registry client is built on.

pub mod assemble;
mod blob_files;
mod credentials;
pub mod locked;
pub mod login;
mod pull_dir;
pub mod unpack;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use oci_client::client::{ClientConfig, ClientProtocol, ImageLayer};
use oci_client::manifest::OciImageManifest;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use souk_manifest::AppManifest;
use wasmtime::error::Context;
use wasmtime::format_err;

use blob_files::BlobFiles;
use pull_dir::PullDir;
use unpack::Blobs;

/// Whether `from` names a registry artifact rather than a file: it does
/// not exist on disk, and its first segment is a registry host
/// (`ghcr.io/...`, `localhost:5000/...`).
pub fn is_reference(from: &str) -> bool {
    if Path::new(from).exists() {
        return false;
    }
    let Some((registry, _)) = from.split_once('/') else { return false };
    let host_like = registry.contains('.') || registry.contains(':') || registry == "localhost";
    host_like && from.parse::<Reference>().is_ok()
}

/// Publishes the app of `manifest_path` as `reference`; the pushed
/// manifest's digest.
pub async fn push(manifest_path: &Path, reference: &str, insecure: bool) -> wasmtime::Result<String> {
    let reference: Reference = reference.parse().map_err(|e| format_err!("`{reference}` is not a registry reference: {e}"))?;
    let manifest = AppManifest::load(manifest_path).map_err(|e| format_err!("{e}"))?;
    let staging = tempfile::Builder::new().prefix("souk-push").tempdir().context("cannot create a staging folder")?;
    let artifact = assemble::assemble(&manifest, staging.path())?;
    let mut layers: Vec<ImageLayer> = artifact.layers.into_iter().map(|l| ImageLayer::new(l.data, l.media_type.to_string(), None)).collect();
    let locked_json = serde_json::to_vec(&artifact.locked).context("cannot write the locked app")?;
    let locked_digest = locked::digest_of(&locked_json);
    layers.push(ImageLayer::new(locked_json, locked::LOCKED_APP_MEDIA_TYPE.to_string(), None));

    // An image config that names the locked app, so that two apps never
    // share an image id in a container runtime.
    let config_file = oci_client::config::ConfigFile {
        architecture: oci_client::config::Architecture::Wasm,
        os: oci_client::config::Os::Other("Wasip1".into()),
        config: Some(oci_client::config::Config {
            labels: Some(HashMap::from([(locked::LOCKED_APP_DIGEST_LABEL.to_string(), locked_digest)])),
            ..Default::default()
        }),
        ..Default::default()
    };
    let config = oci_client::client::Config::oci_v1_from_config_file(config_file, None).map_err(|e| format_err!("cannot write the image config: {e}"))?;
    let image = OciImageManifest::build(&layers, &config, None);
    let client = client(insecure);
    let auth = auth_for(&reference)?;
    let pushed = client.push(&reference, &layers, config, &auth, Some(image)).await.map_err(|e| format_err!("cannot push to {reference}: {e}"))?;
    Ok(pushed.manifest_url.rsplit('/').next().unwrap_or(&pushed.manifest_url).to_string())
}

/// Pulls `reference` into the registry cache (once per manifest digest)
/// and returns the spin.toml written for it.
pub async fn pull(reference: &str, insecure: bool) -> wasmtime::Result<PathBuf> {
    let parsed: Reference = reference.parse().map_err(|e| format_err!("`{reference}` is not a registry reference: {e}"))?;
    let client = client(insecure);
    let auth = auth_for(&parsed)?;
    let (manifest, digest) = client.pull_image_manifest(&parsed, &auth).await.map_err(|e| format_err!("cannot pull {reference}: {e}"))?;
    let root = cache_root()?;
    let dir = root.join(digest.replace(':', "-"));
    let app = dir.join("spin.toml");
    if app.exists() {
        return Ok(app);
    }

    // Written beside its final place and renamed, so that an interrupted
    // pull never leaves a half-written app to be run later; what a killed
    // pull left is removed by the next one.
    std::fs::create_dir_all(&root).with_context(|| format!("cannot create {}", root.display()))?;
    pull_dir::remove_abandoned(&root);
    let work = PullDir::create(&root)?;
    let blobs = BlobFiles::new(&work.layers());
    for layer in manifest.layers.iter().chain([&manifest.config]) {
        if let Some(unsupported) = [locked::ARCHIVE_MEDIA_TYPE].into_iter().find(|t| *t == layer.media_type) {
            return Err(format_err!("{reference}: layers of type {unsupported} (apps of more than 500 files) are not supported"));
        }
        blobs.pull(&client, &parsed, layer).await.map_err(|e| format_err!("cannot pull {reference}: {e}"))?;
    }
    // The locked app is a layer of its own; apps pushed by older Spin
    // carry it as the image config.
    let locked_layer = manifest
        .layers
        .iter()
        .find(|l| l.media_type == locked::LOCKED_APP_MEDIA_TYPE)
        .or(Some(&manifest.config).filter(|c| c.media_type == locked::LOCKED_APP_MEDIA_TYPE))
        .ok_or_else(|| format_err!("{reference} is not a Spin app: no layer of type {}", locked::LOCKED_APP_MEDIA_TYPE))?;
    let locked: locked::LockedApp =
        serde_json::from_slice(&blobs.read(&locked_layer.digest)?).map_err(|e| format_err!("{reference}: its locked app does not read: {e}"))?;

    unpack::write_app(&locked, &blobs, &work.app()).with_context(|| reference.to_string())?;
    match std::fs::rename(work.app(), &dir) {
        Ok(()) => unpack::sync_folder(&root)?,
        // Another pull of the same digest finished first: use it.
        Err(_) if app.exists() => {}
        Err(e) => return Err(format_err!("cannot move the pulled app to {}: {e}", dir.display())),
    }
    Ok(app)
}

/// reqwest (oci-client's and login's HTTP client) builds its TLS on the
/// process's rustls provider: ring, as everywhere else in souk.
fn use_ring_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn client(insecure: bool) -> Client {
    use_ring_provider();
    let protocol = if insecure { ClientProtocol::Http } else { ClientProtocol::Https };
    Client::new(ClientConfig { protocol, ..Default::default() })
}

/// The credentials for `reference`'s registry (`credentials.rs`).
fn auth_for(reference: &Reference) -> wasmtime::Result<RegistryAuth> {
    let registry = reference.resolve_registry();
    credentials::auth_for(registry.strip_suffix('/').unwrap_or(registry))
}

/// `$XDG_CACHE_HOME/souk/registry`, else `~/.cache/souk/registry`.
fn cache_root() -> wasmtime::Result<PathBuf> {
    let base = match (std::env::var_os("XDG_CACHE_HOME"), std::env::var_os("HOME")) {
        (Some(cache), _) => PathBuf::from(cache),
        (None, Some(home)) => PathBuf::from(home).join(".cache"),
        (None, None) => return Err(format_err!("neither XDG_CACHE_HOME nor HOME is set: no place for pulled apps")),
    };
    Ok(base.join("souk").join("registry"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reference_is_told_from_a_path() {
        assert!(is_reference("ghcr.io/org/app:1.0"));
        assert!(is_reference("localhost:5000/app:1"));
        assert!(is_reference("127.0.0.1:5000/app@sha256:0123456789012345678901234567890123456789012345678901234567890123"));
        assert!(!is_reference("spin.toml"));
        assert!(!is_reference("apps/spin.toml"), "a relative path, missing, is not a registry");
        assert!(!is_reference("app:1"));
    }
}
