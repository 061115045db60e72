//! Apps in an OCI registry: `souk registry push` lays an app out as Spin's
//! registry commands do (checked here against a real registry, by what it
//! stores), and `souk up -f <reference>` pulls and runs it.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::harness::{AppDir, Souk};
use crate::servers::RegistryServer;
use crate::test_ca::TestCa;
use crate::token_service::TokenService;

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const LOCKED_APP: &str = "application/vnd.fermyon.spin.application.v1+config";
const WASM_LAYER: &str = "application/vnd.wasm.content.layer.v1+wasm";
const DATA_LAYER: &str = "application/vnd.wasm.content.layer.v1+data";

/// One component behind middleware on one route and without it on
/// another, a component dependency, files both small (inlined) and not, a
/// variable, a key-value store and a static response.
const APP: &str = r#"
spin_manifest_version = 2
[application]
name = "pushed"
version = "1.2.3"
[variables]
greeting = { default = "hello from the registry" }
token = { required = true, secret = true }
[[trigger.http]]
route = "/guarded/..."
component = "web"
dependencies.middleware = [{ component = "a" }]
[[trigger.http]]
route = "/open/..."
component = "web"
[[trigger.http]]
route = "/greet/..."
component = "greeting"
[[trigger.http]]
route = "/static"
static_response = { status_code = 202, headers = { x-static = "yes" }, body = "from the manifest" }
[component.web]
source = "{guest}"
key_value_stores = ["default"]
files = [{ source = "assets", destination = "/assets" }]
environment = { MODE = "registry" }
[component.web.variables]
message = "{{ greeting }}"
[component.a]
source = "{mw-a}"
[component.greeting]
source = "{greeter-user}"
[component.greeting.dependencies]
"souk:fixture/greeter@0.1.0" = { component = "greeter" }
[component.greeter]
source = "{greeter}"
"#;

const SMALL_APP: &str = "spin_manifest_version = 2\n[application]\nname = \"small\"\n[[trigger.http]]\nroute = \"/...\"\ncomponent = \"web\"\n[component.web]\nsource = \"{guest}\"\n";

fn push(app: &AppDir, reference: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_souk")).args(["registry", "push", "--insecure", "--from"]).arg(app.path()).arg(reference).output().unwrap()
}

fn locked_app(registry: &RegistryServer, repository: &str, tag: &str) -> (Value, Value) {
    let manifest: Value = serde_json::from_slice(&registry.get(&format!("/v2/{repository}/manifests/{tag}"), OCI_MANIFEST)).unwrap();
    let layer = manifest["layers"].as_array().unwrap().iter().find(|l| l["mediaType"] == LOCKED_APP).expect("a locked app layer");
    let digest = layer["digest"].as_str().unwrap();
    let locked: Value = serde_json::from_slice(&registry.get(&format!("/v2/{repository}/blobs/{digest}"), "*/*")).unwrap();
    (manifest, locked)
}

#[test]
fn an_app_pushed_to_a_registry_is_laid_out_as_spin_lays_it_out_and_runs_from_there() {
    let registry = RegistryServer::start();
    let app = AppDir::new(APP);
    std::fs::create_dir_all(app.path().join("assets/css")).unwrap();
    app.write("assets/small.txt", "small enough to be inlined");
    let large = "a line of a file too large to be inlined\n".repeat(20);
    app.write("assets/css/large.css", &large);
    let reference = format!("{}/apps/pushed:1.2.3", registry.host());

    let pushed = push(&app, &reference);
    let stdout = String::from_utf8_lossy(&pushed.stdout);
    assert!(pushed.status.success(), "{stdout}{}", String::from_utf8_lossy(&pushed.stderr));
    assert!(stdout.contains(&format!("Pushed {reference} (sha256:")), "{stdout}");

    let (manifest, locked) = locked_app(&registry, "apps/pushed", "1.2.3");
    let layers = manifest["layers"].as_array().unwrap();
    let digests_of =
        |media_type: &str| layers.iter().filter(|l| l["mediaType"] == media_type).map(|l| l["digest"].as_str().unwrap().to_string()).collect::<Vec<_>>();
    // guest, mw-a, greeter-user, greeter: each once, though `web` is split in two.
    assert_eq!(digests_of(WASM_LAYER).len(), 4, "{manifest}");
    assert_eq!(digests_of(DATA_LAYER).len(), 1, "only the large file is a layer: {manifest}");
    let config: Value =
        serde_json::from_slice(&registry.get(&format!("/v2/apps/pushed/blobs/{}", manifest["config"]["digest"].as_str().unwrap()), "*/*")).unwrap();
    assert_eq!(config["config"]["Labels"]["com.fermyon.spin.lockedAppDigest"].as_str(), digests_of(LOCKED_APP).first().map(String::as_str), "{config}");

    assert_eq!(locked["spin_lock_version"], 1);
    assert_eq!((&locked["metadata"]["name"], &locked["metadata"]["version"]), (&Value::from("pushed"), &Value::from("1.2.3")));
    assert_eq!(locked["variables"]["token"], serde_json::json!({ "secret": true }), "required: no default");
    assert_eq!(locked["must_understand"], serde_json::json!(["component_host_requirements"]));
    let components = locked["components"].as_array().unwrap();
    let component = |id: &str| components.iter().find(|c| c["id"] == id).unwrap_or_else(|| panic!("no component {id}: {locked}"));
    let triggers = locked["triggers"].as_array().unwrap();
    let guarded = triggers.iter().find(|t| t["trigger_config"]["route"] == "/guarded/...").unwrap();
    let split = guarded["trigger_config"]["component"].as_str().unwrap();
    assert_ne!(split, "web", "the middleware's route gets its own copy of `web`: {locked}");
    let middleware = &component(split)["trigger_dependencies"]["middleware"][0];
    assert_eq!(middleware["source"]["digest"], component("a")["source"]["digest"]);
    assert_eq!(component(split)["host_requirements"]["middleware"], "required");
    assert!(component("web")["trigger_dependencies"].is_null(), "the open route's `web` has no middleware");
    assert_eq!(component("web")["metadata"]["key_value_stores"], serde_json::json!(["default"]));
    assert_eq!(component("web")["config"]["message"], "{{ greeting }}");
    let files = component("web")["files"].as_array().unwrap();
    let file = |path: &str| files.iter().find(|f| f["path"] == path).unwrap_or_else(|| panic!("no file {path}: {files:?}"));
    assert!(file("assets/small.txt")["inline"].is_string() && file("assets/css/large.css")["inline"].is_null());
    assert_eq!(file("assets/css/large.css")["digest"].as_str().unwrap(), digests_of(DATA_LAYER)[0]);
    assert_eq!(component("greeting")["dependencies"]["souk:fixture/greeter@0.1.0"]["source"]["digest"], component("greeter")["source"]["digest"]);
    let statics = triggers.iter().find(|t| t["trigger_config"]["route"] == "/static").unwrap();
    assert_eq!(statics["trigger_config"]["static_response"]["status_code"], 202);

    // Run from the registry: pulled into the cache, state where souk runs.
    let cache = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let env = [("XDG_CACHE_HOME", cache.path().to_str().unwrap()), ("SPIN_VARIABLE_TOKEN", "t")];
    let args = ["--insecure", "--state-dir", state.path().to_str().unwrap()];
    // What a pull killed midway left: its folder, its lock held by nobody.
    let killed = cache.path().join("souk/registry/.pull-killed");
    std::fs::create_dir_all(killed.join("layers")).unwrap();
    std::fs::write(killed.join("lock"), b"").unwrap();
    let two_minutes_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(120);
    std::fs::File::open(&killed).unwrap().set_modified(two_minutes_ago).unwrap();
    let souk = Souk::start_app(Path::new(&reference), &args, &env);
    assert!(!killed.exists(), "the next pull removes a killed pull's folder");
    let guarded = souk.get("/guarded/echo");
    assert_eq!((guarded.status, guarded.header("x-chain")), (200, Some("a")), "{guarded:?}");
    assert_eq!(souk.get("/open/echo").header("x-chain"), None, "no middleware on the open route");
    assert_eq!(souk.get("/open/file?path=/assets/css/large.css").body, large);
    assert_eq!(souk.get("/open/file?path=/assets/small.txt").body, "small enough to be inlined");
    assert_eq!(souk.get("/open/env?name=MODE").body, "registry");
    assert_eq!(souk.get("/open/var?name=message").body, "hello from the registry");
    assert_eq!(souk.post("/open/kv/set?store=default&key=k", "kept").status, 200);
    assert_eq!(souk.get("/greet/greet?name=OCI").body, "Hello, OCI!");
    let statics = souk.get("/static");
    assert_eq!((statics.status, statics.body.as_str()), (202, "from the manifest"));
    drop(souk);

    // A second run reuses the pulled app (one folder per manifest digest)
    // and finds the same store; so does `souk registry pull`.
    let again = Souk::start_app(Path::new(&reference), &args, &env);
    assert_eq!(again.get("/open/kv/get?store=default&key=k").body, "kept");
    let pulled = Command::new(env!("CARGO_BIN_EXE_souk")).args(["registry", "pull", "-k", &reference]).envs(env).output().unwrap();
    let pulled = String::from_utf8_lossy(&pulled.stdout).into_owned();
    let cached = std::fs::read_dir(cache.path().join("souk/registry")).unwrap().map(|e| e.unwrap().path()).collect::<Vec<_>>();
    assert_eq!(cached.len(), 1, "{cached:?}");
    assert_eq!(pulled.trim(), format!("Pulled {reference} ({})", cached[0].join("spin.toml").display()));
}

#[test]
fn a_missing_reference_and_an_unreachable_registry_are_named() {
    let registry = RegistryServer::start();
    let cache = tempfile::tempdir().unwrap();
    let run = |reference: &str| {
        let output = Command::new(env!("CARGO_BIN_EXE_souk"))
            .args(["up", "--insecure", "--listen", "127.0.0.1:0", "--from", reference])
            .env("XDG_CACHE_HOME", cache.path())
            .output()
            .unwrap();
        assert!(!output.status.success());
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let missing = run(&format!("{}/apps/none:1", registry.host()));
    assert!(missing.contains(&format!("cannot pull {}/apps/none:1", registry.host())), "{missing}");

    let app = AppDir::new(
        "spin_manifest_version = 2\n[application]\nname = \"x\"\n[[trigger.http]]\nroute = \"/...\"\ncomponent = \"web\"\n[component.web]\nsource = \"{guest}\"\n",
    );
    let unreachable = push(&app, "127.0.0.1:1/apps/x:1");
    assert!(!unreachable.status.success());
    assert!(String::from_utf8_lossy(&unreachable.stderr).contains("cannot push to 127.0.0.1:1/apps/x:1"), "{unreachable:?}");
}

/// A registry as the public ones are: HTTPS, and a password.
/// `souk registry login` checks the credentials and keeps them where
/// `docker login` does (Docker's config file), which push and pull read;
/// the registry's certificate is trusted through the system's roots
/// (`SSL_CERT_FILE` here).
#[test]
fn a_registry_behind_tls_and_a_password_takes_the_credentials_login_keeps() {
    let ca = TestCa::new();
    let registry = RegistryServer::start_secured(&ca, "souk", "s3cret");
    let app = AppDir::new(SMALL_APP);
    let host = format!("localhost:{}", registry.port);
    let reference = format!("{host}/apps/secured:1");
    let docker = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let root = ca.root();
    let env =
        [("DOCKER_CONFIG", docker.path().to_str().unwrap()), ("SSL_CERT_FILE", root.to_str().unwrap()), ("XDG_CACHE_HOME", cache.path().to_str().unwrap())];
    let push = || Command::new(env!("CARGO_BIN_EXE_souk")).args(["registry", "push", "--from"]).arg(app.path()).arg(&reference).envs(env).output().unwrap();

    let refused = push();
    assert!(!refused.status.success(), "pushed without credentials");
    assert!(String::from_utf8_lossy(&refused.stderr).contains(&format!("cannot push to {reference}")), "{refused:?}");

    let login = |password: &str| login(&host, "souk", password, &[], &env);
    let wrong = login("wrong");
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains(&format!("{host} refused the username and password (401")), "{wrong:?}");
    assert!(!docker.path().join("config.json").exists(), "refused credentials are not kept");
    let logged_in = login("s3cret");
    assert!(logged_in.status.success(), "{logged_in:?}");
    let config: Value = serde_json::from_str(&std::fs::read_to_string(docker.path().join("config.json")).unwrap()).unwrap();
    assert_eq!(config["auths"][&host]["auth"], base64::Engine::encode(&base64::engine::general_purpose::STANDARD, "souk:s3cret"));
    let pushed = push();
    assert!(pushed.status.success(), "{pushed:?}");

    let state = tempfile::tempdir().unwrap();
    let souk = Souk::start_app(Path::new(&reference), &["--state-dir", state.path().to_str().unwrap()], &env);
    assert_eq!(souk.get("/hello").body, "hello from souk");
}

/// `souk registry login` of `user` at `host`, the password given on stdin.
fn login(host: &str, user: &str, password: &str, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_souk"))
        .args(["registry", "login", "--username", user, "--password-stdin"])
        .args(args)
        .arg(host)
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), format!("{password}\n").as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

/// A registry whose token service grants `souk` with `s3cret` only, and the
/// CA both trust (kept alive with them).
fn registry_with_tokens() -> (TestCa, TokenService, RegistryServer) {
    let ca = TestCa::new();
    let tokens = TokenService::start(&ca, "souk", "s3cret");
    let registry = RegistryServer::start_with_tokens(&ca, &tokens);
    (ca, tokens, registry)
}

/// A registry with a token service, as Docker Hub, GHCR and most hosted
/// registries are (the Bearer scheme): login checks the credentials at the
/// token service the registry's challenge names, and push and pull trade
/// the kept credentials for tokens there.
#[test]
fn a_registry_with_a_token_service_takes_the_credentials_login_keeps() {
    let (_ca, tokens, registry) = registry_with_tokens();
    let app = AppDir::new(SMALL_APP);
    let host = registry.host();
    let reference = format!("{host}/apps/bearer:1");
    let docker = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let env = [("DOCKER_CONFIG", docker.path().to_str().unwrap()), ("XDG_CACHE_HOME", cache.path().to_str().unwrap())];
    let push = || {
        Command::new(env!("CARGO_BIN_EXE_souk")).args(["registry", "push", "--insecure", "--from"]).arg(app.path()).arg(&reference).envs(env).output().unwrap()
    };

    let refused = push();
    assert!(!refused.status.success(), "pushed without credentials");
    assert!(String::from_utf8_lossy(&refused.stderr).contains(&format!("cannot push to {reference}")), "{refused:?}");
    assert_eq!(tokens.issued(), 0, "a token was issued without credentials");

    let wrong = login(&host, "souk", "wrong", &["--insecure"], &env);
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains(&format!("{host} refused the username and password (401")), "{wrong:?}");
    assert!(!docker.path().join("config.json").exists(), "refused credentials are not kept");
    let refusals = tokens.refused();
    assert!(refusals >= 1, "the wrong password never reached the token service");

    let logged_in = login(&host, "souk", "s3cret", &["--insecure"], &env);
    assert!(logged_in.status.success(), "{logged_in:?}");
    assert_eq!(tokens.issued(), 1, "login asks the token service once");
    let pushed = push();
    assert!(pushed.status.success(), "{pushed:?}");
    assert!(tokens.issued() > 1, "the push went without a token");

    let state = tempfile::tempdir().unwrap();
    let souk = Souk::start_app(Path::new(&reference), &["--insecure", "--state-dir", state.path().to_str().unwrap()], &env);
    assert_eq!(souk.get("/hello").body, "hello from souk");
    assert_eq!(tokens.refused(), refusals, "a request with the kept credentials was refused");
}

/// Credentials kept elsewhere than by `souk registry login`: by `spin
/// registry login` (Spin's login file), and by a credential store Docker's
/// config names (`credsStore`: a `docker-credential-<name>` program on
/// PATH, as Docker Desktop and `pass` keep them). Each alone gets souk
/// through a token service that refuses anonymous requests: the first for
/// a push, the second for a pull.
#[test]
fn a_pull_takes_the_credentials_spin_or_a_docker_credential_store_keeps() {
    let (_ca, tokens, registry) = registry_with_tokens();
    let app = AppDir::new(SMALL_APP);
    let host = registry.host();
    let reference = format!("{host}/apps/elsewhere:1");
    let auth = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, "souk:s3cret");

    // Pushed with Spin's login file alone (no Docker config at all).
    let spin = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(spin.path().join("fermyon")).unwrap();
    std::fs::write(spin.path().join("fermyon/registry-auth.json"), serde_json::json!({ "auths": { &host: auth } }).to_string()).unwrap();
    let no_docker = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let spin_env = [
        ("DOCKER_CONFIG", no_docker.path().to_str().unwrap()),
        ("XDG_CONFIG_HOME", spin.path().to_str().unwrap()),
        ("XDG_CACHE_HOME", cache.path().to_str().unwrap()),
    ];
    let souk = |args: &[&str], env: &[(&str, &str)]| Command::new(env!("CARGO_BIN_EXE_souk")).args(args).envs(env.iter().copied()).output().unwrap();
    let pushed = souk(&["registry", "push", "--insecure", "--from", app.path().to_str().unwrap(), &reference], &spin_env);
    assert!(pushed.status.success(), "{pushed:?}");
    assert!(tokens.issued() >= 1, "the push went without a token");

    // Pulled with a credential store named in Docker's config, and no Spin file.
    let store = tempfile::tempdir().unwrap();
    let helper = store.path().join("docker-credential-souk-test");
    let asked = store.path().join("asked");
    let script = format!(
        "#!/bin/sh\n[ \"$1\" = get ] || exit 1\nread server\necho \"$server\" >> {}\nif [ \"$server\" = \"{host}\" ]; then echo '{{\"Username\":\"souk\",\"Secret\":\"s3cret\"}}'; else echo 'credentials not found in native keychain'; exit 1; fi\n",
        asked.display()
    );
    std::fs::write(&helper, script).unwrap();
    std::fs::set_permissions(&helper, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let docker = tempfile::tempdir().unwrap();
    std::fs::write(docker.path().join("config.json"), r#"{"credsStore": "souk-test"}"#).unwrap();
    let path = format!("{}:{}", store.path().display(), std::env::var("PATH").unwrap_or_default());
    let no_spin = tempfile::tempdir().unwrap();
    let pulled_cache = tempfile::tempdir().unwrap();
    let store_env = [
        ("DOCKER_CONFIG", docker.path().to_str().unwrap()),
        ("XDG_CONFIG_HOME", no_spin.path().to_str().unwrap()),
        ("XDG_CACHE_HOME", pulled_cache.path().to_str().unwrap()),
        ("PATH", path.as_str()),
    ];
    let refused = tokens.refused();
    let pulled = souk(&["registry", "pull", "--insecure", &reference], &store_env);
    assert!(pulled.status.success(), "{pulled:?}");
    assert_eq!(std::fs::read_to_string(&asked).unwrap().trim(), host, "the store was asked for the registry's credentials");
    assert_eq!(tokens.refused(), refused, "a request with the store's credentials was refused");

    // A store that holds nothing for the registry: the pull goes anonymously, and is refused.
    std::fs::write(&helper, "#!/bin/sh\nread server\necho 'credentials not found in native keychain'\nexit 1\n").unwrap();
    let fresh_cache = tempfile::tempdir().unwrap();
    let mut anonymous_env = store_env;
    anonymous_env[2].1 = fresh_cache.path().to_str().unwrap();
    let anonymous = souk(&["registry", "pull", "--insecure", &reference], &anonymous_env);
    assert!(!anonymous.status.success(), "pulled without credentials: {anonymous:?}");
    assert!(String::from_utf8_lossy(&anonymous.stderr).contains(&format!("cannot pull {reference}")), "{anonymous:?}");
}
