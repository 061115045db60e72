//! The credentials push and pull present to a registry, looked for in
//! order:
//! 1. Docker's config (`$DOCKER_CONFIG/config.json`, else
//!    `~/.docker/config.json`), where `souk registry login` and
//!    `docker login` keep them: its `auths` entries, and the credential
//!    helpers it names (`credHelpers` for one registry, `credsStore` for
//!    the rest), run as Docker runs them (`docker-credential-<name> get`);
//! 2. Spin's (`$XDG_CONFIG_HOME/fermyon/registry-auth.json`, else
//!    `~/.config/fermyon/registry-auth.json`), where `spin registry login`
//!    keeps them, so an app pushed with Spin is pulled with the same login;
//! 3. none: the registry is asked anonymously.
//!
//! Docker's comes first because it is where souk's own login writes. A
//! file that is there but does not read is an error naming it, not an
//! anonymous request the registry would refuse with less to go on.

use std::path::{Path, PathBuf};

use base64::Engine;
use docker_credential::{CredentialRetrievalError, DockerCredential};
use oci_client::secrets::RegistryAuth;
use wasmtime::format_err;

/// The credentials for `registry` (as a reference names it once resolved:
/// `index.docker.io` for Docker Hub).
pub fn auth_for(registry: &str) -> wasmtime::Result<RegistryAuth> {
    if let Some(file) = docker_config_file()
        && let Some(text) = read_if_present(&file)?
        && let Some(auth) = from_docker_config(&text, registry).map_err(|e| format_err!("{}: {e}", file.display()))?
    {
        return Ok(auth);
    }
    if let Some(file) = spin_auth_file()
        && let Some(text) = read_if_present(&file)?
        && let Some(auth) = from_spin_file(&text, registry).map_err(|e| format_err!("{}: {e}", file.display()))?
    {
        return Ok(auth);
    }
    Ok(RegistryAuth::Anonymous)
}

/// `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
pub fn docker_config_file() -> Option<PathBuf> {
    match std::env::var_os("DOCKER_CONFIG") {
        Some(dir) => Some(PathBuf::from(dir).join("config.json")),
        None => std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".docker/config.json")),
    }
}

/// `$XDG_CONFIG_HOME/fermyon/registry-auth.json`, else under `~/.config`.
fn spin_auth_file() -> Option<PathBuf> {
    let base = match std::env::var_os("XDG_CONFIG_HOME") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("HOME")?).join(".config"),
    };
    Some(base.join("fermyon").join("registry-auth.json"))
}

fn read_if_present(file: &Path) -> wasmtime::Result<Option<String>> {
    match std::fs::read_to_string(file) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format_err!("cannot read {}: {e}", file.display())),
    }
}

/// What a Docker config holds for `registry`; `None` if nothing.
fn from_docker_config(text: &str, registry: &str) -> Result<Option<RegistryAuth>, String> {
    match docker_credential::get_credential_from_reader(text.as_bytes(), registry) {
        Ok(DockerCredential::UsernamePassword(user, password)) => Ok(Some(RegistryAuth::Basic(user, password))),
        Ok(DockerCredential::IdentityToken(_)) => {
            // An OAuth refresh token, which the registry client cannot
            // trade; Spin also goes on without it.
            tracing::warn!("the Docker config holds an identity token for {registry}, which souk cannot use; trying other credentials");
            Ok(None)
        }
        Err(CredentialRetrievalError::NoCredentialConfigured) => Ok(None),
        // A store asked for a registry it holds nothing for (Docker treats it as no credentials).
        Err(CredentialRetrievalError::HelperFailure { stdout, .. }) if stdout.contains("credentials not found") => Ok(None),
        Err(CredentialRetrievalError::HelperFailure { helper, stdout, stderr }) => {
            let said = if stderr.trim().is_empty() { stdout } else { stderr };
            Err(format!("its credential helper `{helper}` failed for {registry}: {}", said.trim()))
        }
        Err(CredentialRetrievalError::HelperCommunicationError) => {
            Err(format!("cannot run the credential helper it names for {registry} (`credHelpers` or `credsStore`: docker-credential-<name> on PATH)"))
        }
        Err(CredentialRetrievalError::MalformedHelperResponse) => {
            Err(format!("its credential helper's answer for {registry} is not JSON with Username and Secret"))
        }
        Err(CredentialRetrievalError::CredentialDecodingError) => Err(format!("auths.{registry}.auth is not base64 of `user:password`")),
        Err(CredentialRetrievalError::CredentialMismatchError) => Err(format!("auths.{registry}: `auth` and `username`/`password` disagree")),
        // The crate says only that it did not read; serde_json says where.
        Err(e @ (CredentialRetrievalError::ConfigNotFound | CredentialRetrievalError::ConfigReadError)) => {
            match serde_json::from_str::<serde_json::Value>(text) {
                Err(not_json) => Err(format!("not JSON: {not_json}")),
                Ok(_) => Err(format!("not a Docker config: {e}")),
            }
        }
    }
}

/// What Spin's login file holds for `registry` (`auths.<registry>`: base64
/// of `user:password`); `None` if nothing.
fn from_spin_file(text: &str, registry: &str) -> Result<Option<RegistryAuth>, String> {
    #[derive(serde::Deserialize)]
    struct SpinAuths {
        auths: std::collections::HashMap<String, String>,
    }
    let file: SpinAuths = serde_json::from_str(text).map_err(|e| format!("not Spin's registry login file: {e}"))?;
    let Some(encoded) = file.auths.get(registry) else { return Ok(None) };
    let not_user_password = || format!("auths.{registry} is not base64 of `user:password`");
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded).map_err(|_| not_user_password())?;
    let decoded = String::from_utf8(decoded).map_err(|_| not_user_password())?;
    let (user, password) = decoded.split_once(':').ok_or_else(not_user_password)?;
    Ok(Some(RegistryAuth::Basic(user.to_string(), password.to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(auth: Result<Option<RegistryAuth>, String>) -> Option<(String, String)> {
        match auth.unwrap() {
            Some(RegistryAuth::Basic(user, password)) => Some((user, password)),
            None => None,
            Some(_) => panic!("neither Basic nor none"),
        }
    }

    #[test]
    fn docker_config_credentials_are_found_by_registry() {
        let config = r#"{"auths": {"https://ghcr.io": {"auth": "dXNlcjpzM2NyZXQ6eA=="}, "other.io": {}, "plain.io": {"username": "u", "password": "p"}}}"#;
        assert_eq!(basic(from_docker_config(config, "ghcr.io")), Some(("user".into(), "s3cret:x".into())));
        assert_eq!(basic(from_docker_config(config, "plain.io")), Some(("u".into(), "p".into())));
        assert_eq!(basic(from_docker_config(config, "other.io")), None);
        assert_eq!(basic(from_docker_config(config, "index.docker.io")), None);
        let bad = from_docker_config(r#"{"auths": {"ghcr.io": {"auth": "!!"}}}"#, "ghcr.io").err().unwrap();
        assert!(bad.contains("auths.ghcr.io.auth is not base64"), "{bad}");
        let not_json = from_docker_config("{", "ghcr.io").err().unwrap();
        assert!(not_json.starts_with("not JSON"), "{not_json}");
    }

    #[test]
    fn a_credential_store_that_cannot_be_run_is_named() {
        let config = r#"{"auths": {"ghcr.io": {"auth": "dXNlcjpwdw=="}}, "credsStore": "souk-test-missing"}"#;
        assert_eq!(basic(from_docker_config(config, "ghcr.io")), Some(("user".into(), "pw".into())), "an entry of its own comes before the store");
        let missing = from_docker_config(config, "quay.io").err().unwrap();
        assert!(missing.contains("cannot run the credential helper") && missing.contains("quay.io"), "{missing}");
    }

    #[test]
    fn spin_login_credentials_are_found_by_registry() {
        let file = r#"{"auths": {"ghcr.io": "dXNlcjpzM2NyZXQ6eA==", "bad.io": "dXNlcg=="}}"#;
        assert_eq!(basic(from_spin_file(file, "ghcr.io")), Some(("user".into(), "s3cret:x".into())));
        assert_eq!(basic(from_spin_file(file, "quay.io")), None);
        let bad = from_spin_file(file, "bad.io").err().unwrap();
        assert!(bad.contains("auths.bad.io is not base64 of `user:password`"), "{bad}");
        let wrong = from_spin_file(r#"{"auths": {"ghcr.io": {"auth": "x"}}}"#, "ghcr.io").err().unwrap();
        assert!(wrong.contains("not Spin's registry login file"), "{wrong}");
    }
}
