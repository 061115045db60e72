//! `souk registry login`: checks a username and password against a
//! registry and keeps them where `docker login` keeps them (Docker's
//! config file, `auths.<registry>.auth`), which push and pull read. The
//! check follows the registry's challenge to `/v2/`: HTTP Basic is tried
//! on `/v2/` itself, a Bearer challenge at its token service.

use std::path::{Path, PathBuf};

use base64::Engine;
use wasmtime::error::Context;
use wasmtime::format_err;

/// Checks the credentials and stores them; the file they were stored in.
pub async fn login(server: &str, username: &str, password: &str, insecure: bool) -> wasmtime::Result<PathBuf> {
    check(server, username, password, insecure).await?;
    let file = super::credentials::docker_config_file().ok_or_else(|| format_err!("neither DOCKER_CONFIG nor HOME is set: no place for the credentials"))?;
    store(&file, server, username, password)?;
    Ok(file)
}

async fn check(server: &str, username: &str, password: &str, insecure: bool) -> wasmtime::Result<()> {
    super::use_ring_provider();
    let client = reqwest::Client::new();
    let scheme = if insecure { "http" } else { "https" };
    let base = format!("{scheme}://{server}/v2/");
    let unreachable = |e: reqwest::Error| format_err!("cannot reach {server}: {e}");
    let first = client.get(&base).send().await.map_err(unreachable)?;
    if first.status().is_success() {
        // An open registry: nothing to check against.
        return Ok(());
    }
    let challenge = first.headers().get(http::header::WWW_AUTHENTICATE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let challenges =
        http_auth::parse_challenges(&challenge).map_err(|e| format_err!("{server} answered {} with a challenge that does not parse: {e}", first.status()))?;
    let answer = if let Some(bearer) = challenges.iter().find(|c| c.scheme.eq_ignore_ascii_case("bearer")) {
        let param = |name: &str| bearer.params.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.to_unescaped());
        let realm = param("realm").ok_or_else(|| format_err!("{server}'s Bearer challenge names no token service (`realm`)"))?;
        let mut request = client.get(&realm).basic_auth(username, Some(password));
        if let Some(service) = param("service") {
            request = request.query(&[("service", service)]);
        }
        request.send().await.map_err(unreachable)?
    } else if challenges.iter().any(|c| c.scheme.eq_ignore_ascii_case("basic")) {
        client.get(&base).basic_auth(username, Some(password)).send().await.map_err(unreachable)?
    } else {
        return Err(format_err!("{server} answered {} without a Basic or Bearer challenge", first.status()));
    };
    match answer.status() {
        status if status.is_success() => Ok(()),
        status @ (http::StatusCode::UNAUTHORIZED | http::StatusCode::FORBIDDEN) => Err(format_err!("{server} refused the username and password ({status})")),
        status => Err(format_err!("{server} answered {status} to the login")),
    }
}

/// Sets `auths.<server>.auth` in the Docker config `file`, keeping the
/// rest of it; the file is readable by its owner only.
fn store(file: &Path, server: &str, username: &str, password: &str) -> wasmtime::Result<()> {
    let mut config: serde_json::Value = match std::fs::read_to_string(file) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| format_err!("{}: not JSON: {e}", file.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => serde_json::json!({}),
        Err(e) => return Err(format_err!("cannot read {}: {e}", file.display())),
    };
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
    let root = config.as_object_mut().ok_or_else(|| format_err!("{}: not a JSON object", file.display()))?;
    let auths = root.entry("auths").or_insert_with(|| serde_json::json!({}));
    let auths = auths.as_object_mut().ok_or_else(|| format_err!("{}: `auths` is not an object", file.display()))?;
    auths.insert(server.to_string(), serde_json::json!({ "auth": auth }));

    let dir = file.parent().expect("a config file has a folder");
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut temporary = tempfile::NamedTempFile::new_in(dir).with_context(|| format!("cannot write in {}", dir.display()))?;
    std::io::Write::write_all(&mut temporary, serde_json::to_string_pretty(&config)?.as_bytes())?;
    // NamedTempFile is created 0600, so the password is never readable by others.
    temporary.persist(file).map_err(|e| format_err!("cannot write {}: {e}", file.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_join_the_docker_config_keeping_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("docker/config.json");
        store(&file, "ghcr.io", "a", "b").unwrap();
        std::fs::write(&file, r#"{"credsStore": "x", "auths": {"ghcr.io": {"auth": "old"}, "other.io": {"auth": "kept"}}}"#).unwrap();
        store(&file, "ghcr.io", "user", "pw").unwrap();
        let config: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        assert_eq!(config["credsStore"], "x");
        assert_eq!(config["auths"]["other.io"]["auth"], "kept");
        assert_eq!(config["auths"]["ghcr.io"]["auth"], "dXNlcjpwdw==");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    }
}
