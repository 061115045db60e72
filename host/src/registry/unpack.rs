//! A pulled app made runnable: each Wasm file and mounted file written
//! from its blob (or the locked app's inline copy), and a spin.toml
//! (version 2) that names them, so that `souk up` loads, checks and runs a
//! registry app exactly as it does a local one. A trigger's middleware,
//! which a locked app keeps on the component it serves, goes back onto the
//! trigger, as components of their own.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use toml::{Table, Value as Toml};
use wasmtime::error::Context;
use wasmtime::format_err;

use super::locked::{self, ContentRef, Dependency, LockedApp};

/// Where a layer's bytes are, by digest.
pub trait Blobs {
    fn read(&self, digest: &str) -> wasmtime::Result<Vec<u8>>;
}

/// Writes `locked`'s app into `dir` and returns its spin.toml.
pub fn write_app(locked: &LockedApp, blobs: &dyn Blobs, dir: &Path) -> wasmtime::Result<PathBuf> {
    refuse_unknown_requirements(locked)?;
    let mut writer = Writer { blobs, dir, written: BTreeMap::new() };
    let mut doc = Table::new();
    doc.insert("spin_manifest_version".into(), Toml::Integer(2));
    doc.insert("application".into(), Toml::Table(application(locked)?));
    if !locked.variables.is_empty() {
        let mut variables = Table::new();
        for (name, v) in &locked.variables {
            let mut decl = Table::new();
            match &v.default {
                Some(default) => decl.insert("default".into(), default.clone().into()),
                None => decl.insert("required".into(), true.into()),
            };
            if v.secret {
                decl.insert("secret".into(), true.into());
            }
            if let Some(description) = &v.description {
                decl.insert("description".into(), description.clone().into());
            }
            variables.insert(name.clone(), Toml::Table(decl));
        }
        doc.insert("variables".into(), Toml::Table(variables));
    }

    let mut components = Table::new();
    let mut middleware_of: BTreeMap<&str, Vec<Toml>> = BTreeMap::new();
    for c in &locked.components {
        let what = format!("component `{}`", c.id);
        components.insert(c.id.clone(), Toml::Table(writer.component(c).with_context(|| what.clone())?));
        for (kind, deps) in &c.trigger_dependencies {
            if kind != locked::MIDDLEWARE {
                return Err(format_err!("{what}: trigger dependencies of kind `{kind}` are not supported (only `middleware`)"));
            }
            for (n, dep) in deps.iter().enumerate() {
                if dep.export.is_some() {
                    return Err(format_err!("{what}: a middleware with an `export` is not supported"));
                }
                let id = format!("{}-middleware{}", c.id, n + 1);
                let mut m = Table::new();
                m.insert("source".into(), writer.wasm(&dep.source.content)?.into());
                components.insert(id.clone(), Toml::Table(m));
                let mut entry = Table::new();
                entry.insert("component".into(), id.into());
                if let Some(inherit) = inherit(&dep.inherit) {
                    entry.insert("inherit_configuration".into(), inherit);
                }
                middleware_of.entry(c.id.as_str()).or_default().push(Toml::Table(entry));
            }
        }
    }

    let mut triggers = Table::new();
    for t in &locked.triggers {
        let what = format!("trigger `{}`", t.id);
        if !t.trigger_dependencies.is_empty() {
            return Err(format_err!("{what}: trigger dependencies not moved onto a component are not supported"));
        }
        let Toml::Table(mut table) = toml_of(&t.trigger_config).with_context(|| what.clone())? else {
            return Err(format_err!("{what}: `trigger_config` is not an object"));
        };
        // A locked app names every file by its content: a trigger may only
        // name a component by id (an inline component table could mount
        // host folders), and its middleware comes from the component.
        if table.get("component").is_some_and(|c| !c.is_str()) || table.contains_key("dependencies") {
            return Err(format_err!("{what}: `component` must be a component id, and `dependencies` is not allowed in `trigger_config`"));
        }
        table.insert("id".into(), t.id.clone().into());
        if let Some(chain) = table.get("component").and_then(Toml::as_str).and_then(|id| middleware_of.get(id)) {
            let mut deps = Table::new();
            deps.insert("middleware".into(), Toml::Array(chain.clone()));
            table.insert("dependencies".into(), Toml::Table(deps));
        }
        let list = triggers.entry(t.trigger_type.clone()).or_insert_with(|| Toml::Array(Vec::new()));
        list.as_array_mut().expect("a list of triggers").push(Toml::Table(table));
    }
    doc.insert("trigger".into(), Toml::Table(triggers));
    doc.insert("component".into(), Toml::Table(components));

    let manifest = dir.join("spin.toml");
    let text = toml::to_string(&doc).context("cannot write the app's spin.toml")?;
    write_durably(&manifest, text.as_bytes())?;
    sync_folders(dir)?;
    Ok(manifest)
}

/// Writes `bytes` to `path` and to the disk: the pulled app is renamed
/// into the cache and then trusted for every later run, so a power cut
/// must not leave it there with a file that was never written out.
fn write_durably(path: &Path, bytes: &[u8]) -> wasmtime::Result<()> {
    use std::io::Write;
    let mut file = std::fs::File::create(path).with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(bytes).and_then(|()| file.sync_all()).with_context(|| format!("cannot write {}", path.display()))
}

/// Syncs `dir` and every folder below it, so that their entries (the
/// files' names) are on the disk as well as the files.
fn sync_folders(dir: &Path) -> wasmtime::Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            sync_folders(&entry.path())?;
        }
    }
    sync_folder(dir)
}

/// Syncs one folder's entries to the disk.
pub fn sync_folder(dir: &Path) -> wasmtime::Result<()> {
    std::fs::File::open(dir).and_then(|d| d.sync_all()).with_context(|| format!("cannot sync {}", dir.display()))
}

/// `must_understand` and `host_requirements` name what a host must do to
/// run the app correctly: one souk does not know is refused, not ignored.
fn refuse_unknown_requirements(locked: &LockedApp) -> wasmtime::Result<()> {
    for item in &locked.must_understand {
        if item != "host_requirements" && item != "component_host_requirements" {
            return Err(format_err!("the app requires the host to understand `{item}`, which souk does not"));
        }
    }
    let required = |map: &serde_json::Map<String, Value>, whose: &str| {
        for (key, value) in map {
            let known = key == locked::SERVICE_CHAINING || key == locked::MIDDLEWARE;
            if !known && value.as_str() == Some(locked::REQUIRED) {
                return Err(format_err!("{whose} requires `{key}` of its host, which souk does not provide"));
            }
        }
        Ok(())
    };
    required(&locked.host_requirements, "the app")?;
    for c in &locked.components {
        required(&c.host_requirements, &format!("component `{}`", c.id))?;
    }
    Ok(())
}

fn application(locked: &LockedApp) -> wasmtime::Result<Table> {
    let mut app = Table::new();
    let text = |key: &str| locked.metadata.get(key).and_then(Value::as_str).map(str::to_string);
    app.insert("name".into(), text("name").unwrap_or_else(|| "app".into()).into());
    for key in ["version", "description"] {
        if let Some(value) = text(key) {
            app.insert(key.into(), value.into());
        }
    }
    if let Some(authors) = locked.metadata.get("authors") {
        app.insert("authors".into(), toml_of(authors)?);
    }
    // Trigger-wide settings (`[application.trigger.redis] address`).
    if let Some(Value::Object(globals)) = locked.metadata.get("triggers")
        && !globals.is_empty()
    {
        app.insert("trigger".into(), toml_of(&Value::Object(globals.clone()))?);
    }
    Ok(app)
}

fn inherit(inherit: &locked::Inherit) -> Option<Toml> {
    match inherit {
        locked::Inherit::All => Some(true.into()),
        locked::Inherit::Some(kinds) if kinds.is_empty() => None,
        locked::Inherit::Some(kinds) => Some(Toml::Array(kinds.iter().map(|k| k.clone().into()).collect())),
    }
}

fn toml_of(value: &Value) -> wasmtime::Result<Toml> {
    Toml::try_from(value).map_err(|e| format_err!("cannot be written as TOML: {e}"))
}

struct Writer<'a> {
    blobs: &'a dyn Blobs,
    dir: &'a Path,
    /// Wasm already written, by digest: its path relative to `dir`.
    written: BTreeMap<String, String>,
}

impl Writer<'_> {
    fn component(&mut self, c: &locked::Component) -> wasmtime::Result<Table> {
        let mut table = Table::new();
        table.insert("source".into(), self.wasm(&c.source.content)?.into());
        let metadata = |key: &str| c.metadata.get(key);
        if let Some(Value::String(description)) = metadata("description") {
            table.insert("description".into(), description.clone().into());
        }
        for (from, to) in [
            ("allowed_outbound_hosts", "allowed_outbound_hosts"),
            ("key_value_stores", "key_value_stores"),
            ("databases", "sqlite_databases"),
            ("ai_models", "ai_models"),
        ] {
            if let Some(list) = metadata(from) {
                table.insert(to.into(), toml_of(list).with_context(|| format!("metadata `{from}`"))?);
            }
        }
        if !c.env.is_empty() {
            table.insert("environment".into(), Toml::Table(c.env.iter().map(|(k, v)| (k.clone(), v.clone().into())).collect()));
        }
        if !c.config.is_empty() {
            table.insert("variables".into(), Toml::Table(c.config.iter().map(|(k, v)| (k.clone(), v.clone().into())).collect()));
        }
        if !c.files.is_empty() {
            let root = format!("files/{}", c.id);
            for file in &c.files {
                let relative = file.path.trim_start_matches('/');
                let safe = !relative.is_empty() && Path::new(relative).components().all(|p| matches!(p, std::path::Component::Normal(_)));
                if !safe {
                    return Err(format_err!("file path {:?} leaves the component's files", file.path));
                }
                let target = self.dir.join(&root).join(relative);
                std::fs::create_dir_all(target.parent().expect("a file has a folder"))?;
                write_durably(&target, &self.content(&file.content)?)?;
            }
            let mut mount = Table::new();
            mount.insert("source".into(), root.into());
            mount.insert("destination".into(), "/".into());
            table.insert("files".into(), Toml::Array(vec![Toml::Table(mount)]));
        }
        if !c.dependencies.is_empty() {
            let mut deps = Table::new();
            for (name, dep) in &c.dependencies {
                deps.insert(name.clone(), Toml::Table(self.dependency(dep)?));
            }
            table.insert("dependencies".into(), Toml::Table(deps));
        }
        Ok(table)
    }

    fn dependency(&mut self, dep: &Dependency) -> wasmtime::Result<Table> {
        let mut table = Table::new();
        table.insert("path".into(), self.wasm(&dep.source.content)?.into());
        if let Some(export) = &dep.export {
            table.insert("export".into(), export.clone().into());
        }
        if let Some(inherit) = inherit(&dep.inherit) {
            table.insert("inherit_configuration".into(), inherit);
        }
        Ok(table)
    }

    /// Writes a Wasm file once per digest; its path relative to the app.
    fn wasm(&mut self, content: &ContentRef) -> wasmtime::Result<String> {
        let digest = content.digest.clone().ok_or_else(|| format_err!("a Wasm source without a digest"))?;
        if let Some(path) = self.written.get(&digest) {
            return Ok(path.clone());
        }
        let bytes = self.content(content)?;
        let path = format!("wasm/{}.wasm", digest.trim_start_matches("sha256:"));
        std::fs::create_dir_all(self.dir.join("wasm"))?;
        write_durably(&self.dir.join(&path), &bytes)?;
        self.written.insert(digest, path.clone());
        Ok(path)
    }

    /// The bytes of `content`: inline, or its layer's, checked against its digest.
    fn content(&self, content: &ContentRef) -> wasmtime::Result<Vec<u8>> {
        let digest = content.digest.as_deref();
        let bytes = match (&content.inline, digest) {
            (Some(inline), _) => inline.clone(),
            (None, Some(digest)) => self.blobs.read(digest)?,
            (None, None) => return Err(format_err!("content with neither inline bytes nor a digest")),
        };
        if let Some(expected) = digest
            && locked::digest_of(&bytes) != expected
        {
            return Err(format_err!("content does not match its digest {expected}"));
        }
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct NoBlobs;

    impl Blobs for NoBlobs {
        fn read(&self, digest: &str) -> wasmtime::Result<Vec<u8>> {
            Err(format_err!("no layer {digest}"))
        }
    }

    fn app(files: &str, requirements: &str) -> LockedApp {
        let wasm = base64::Engine::encode(&base64::engine::general_purpose::STANDARD_NO_PAD, b"\0asm");
        let digest = locked::digest_of(b"\0asm");
        let json = format!(
            r#"{{"spin_lock_version": 1, "triggers": [{{"id": "t", "trigger_type": "http", "trigger_config": {{"component": "c", "route": "/..."}}}}],
               "components": [{{"id": "c", "source": {{"content_type": "application/wasm", "inline": "{wasm}", "digest": "{digest}"}},
                                "files": [{files}], "host_requirements": {{{requirements}}}}}]}}"#
        );
        serde_json::from_str(&json).unwrap()
    }

    #[test]
    fn a_locked_app_becomes_a_manifest_naming_what_was_written() {
        let dir = tempfile::tempdir().unwrap();
        let file = format!(r#"{{"inline": "aGk", "digest": "{}", "path": "a/b.txt"}}"#, locked::digest_of(b"hi"));
        let manifest = write_app(&app(&file, r#""local_service_chaining": "required""#), &NoBlobs, dir.path()).unwrap();
        let doc: Table = std::fs::read_to_string(&manifest).unwrap().parse().unwrap();
        let source = doc["component"]["c"]["source"].as_str().unwrap();
        assert_eq!(std::fs::read(dir.path().join(source)).unwrap(), b"\0asm");
        assert_eq!(std::fs::read_to_string(dir.path().join("files/c/a/b.txt")).unwrap(), "hi");
        assert_eq!(doc["trigger"]["http"][0]["route"].as_str(), Some("/..."));
    }

    #[test]
    fn what_souk_cannot_honour_or_trust_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let unknown = write_app(&app("", r#""gpu": "required""#), &NoBlobs, dir.path()).unwrap_err().to_string();
        assert!(unknown.contains("component `c` requires `gpu` of its host"), "{unknown}");
        let escaping = format!(r#"{{"inline": "aGk", "digest": "{}", "path": "../../etc/x"}}"#, locked::digest_of(b"hi"));
        let escaping = format!("{:#}", write_app(&app(&escaping, ""), &NoBlobs, dir.path()).unwrap_err());
        assert!(escaping.contains("leaves the component's files"), "{escaping}");
        let forged = r#"{"inline": "aGk", "digest": "sha256:00", "path": "x"}"#;
        let forged = format!("{:#}", write_app(&app(forged, ""), &NoBlobs, dir.path()).unwrap_err());
        assert!(forged.contains("does not match its digest"), "{forged}");
        let missing = format!(r#"{{"digest": "{}", "path": "x"}}"#, locked::digest_of(b"absent"));
        let missing = format!("{:#}", write_app(&app(&missing, ""), &NoBlobs, dir.path()).unwrap_err());
        assert!(missing.contains("no layer sha256:"), "{missing}");
        let mut inline_component = app("", "");
        inline_component.triggers[0].trigger_config["component"] =
            serde_json::json!({ "source": "x.wasm", "files": [{ "source": "/home", "destination": "/" }] });
        let inline_component = format!("{:#}", write_app(&inline_component, &NoBlobs, dir.path()).unwrap_err());
        assert!(inline_component.contains("`component` must be a component id"), "{inline_component}");
    }
}
