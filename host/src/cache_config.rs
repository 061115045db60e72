//! `--cache FILE`: a wasmtime cache configuration file, as `spin up --cache`
//! takes one. Souk keeps compiled components its own way (engine.rs), so
//! of the file's `[cache]` table it takes `directory` (where they are kept;
//! a relative path is read from the file's folder) and `enabled` (`false`:
//! none are kept); the other keys tune wasmtime's cache worker, which souk
//! does not run, and are accepted and left unused. An unknown key or a
//! value of the wrong type stops start-up, naming the file and the key.

use std::path::{Path, PathBuf};

/// Keys of wasmtime's `[cache]` table that only its cache worker reads.
const WORKER_KEYS: &[&str] = &[
    "worker-event-queue-size",
    "baseline-compression-level",
    "optimized-compression-level",
    "optimized-compression-usage-counter-threshold",
    "cleanup-interval",
    "optimizing-compression-task-timeout",
    "allowed-clock-drift-for-files-from-future",
    "file-count-soft-limit",
    "files-total-size-soft-limit",
    "file-count-limit-percent-if-deleting",
    "files-total-size-limit-percent-if-deleting",
];

/// What a cache configuration file asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum CacheChoice {
    /// Keep compiled components in this folder, or in the default one.
    Keep(Option<PathBuf>),
    /// Keep none (`enabled = false`).
    Disabled,
}

pub fn read(file: &Path) -> Result<CacheChoice, String> {
    let shown = file.display();
    let text = std::fs::read_to_string(file).map_err(|e| format!("{shown}: cannot read the cache configuration (--cache): {e}"))?;
    let table: toml::Table = text.parse().map_err(|e| format!("{shown}: not a TOML file: {e}"))?;
    if let Some(key) = table.keys().find(|key| *key != "cache") {
        return Err(format!("{shown}: {key}: unknown key (a wasmtime cache configuration has only [cache])"));
    }
    let Some(cache) = table.get("cache") else { return Ok(CacheChoice::Keep(None)) };
    let cache = cache.as_table().ok_or_else(|| format!("{shown}: cache: must be a table"))?;
    for key in cache.keys() {
        if key != "enabled" && key != "directory" && !WORKER_KEYS.contains(&key.as_str()) {
            return Err(format!("{shown}: cache.{key}: unknown key"));
        }
    }
    if let Some(enabled) = cache.get("enabled") {
        match enabled.as_bool() {
            Some(false) => return Ok(CacheChoice::Disabled),
            Some(true) => {}
            None => return Err(format!("{shown}: cache.enabled: must be true or false")),
        }
    }
    let directory = match cache.get("directory") {
        None => None,
        Some(toml::Value::String(dir)) if !dir.is_empty() => Some(file.parent().unwrap_or(Path::new(".")).join(dir)),
        Some(_) => return Err(format!("{shown}: cache.directory: must be the path of a folder")),
    };
    Ok(CacheChoice::Keep(directory))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_str(text: &str) -> (tempfile::TempDir, Result<CacheChoice, String>) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("cache.toml");
        std::fs::write(&file, text).unwrap();
        let choice = read(&file);
        (dir, choice)
    }

    #[test]
    fn the_directory_is_taken_and_a_relative_one_read_from_the_files_folder() {
        let (_, absolute) = read_str("[cache]\ndirectory = '/var/cache/souk'\ncleanup-interval = '1h'\nfiles-total-size-soft-limit = '512Mi'\n");
        assert_eq!(absolute, Ok(CacheChoice::Keep(Some(PathBuf::from("/var/cache/souk")))));
        let (dir, relative) = read_str("[cache]\nenabled = true\ndirectory = 'compiled'\n");
        assert_eq!(relative, Ok(CacheChoice::Keep(Some(dir.path().join("compiled")))));
        let (_, empty) = read_str("");
        assert_eq!(empty, Ok(CacheChoice::Keep(None)));
    }

    #[test]
    fn enabled_false_keeps_nothing() {
        assert_eq!(read_str("[cache]\nenabled = false\ndirectory = '/tmp/x'\n").1, Ok(CacheChoice::Disabled));
    }

    #[test]
    fn a_bad_file_names_the_file_and_the_key() {
        let (_, unknown) = read_str("[cache]\ndirectroy = '/tmp/x'\n");
        let e = unknown.unwrap_err();
        assert!(e.contains("cache.toml: cache.directroy: unknown key"), "{e}");
        let (_, wrong) = read_str("[cache]\nenabled = 'yes'\n");
        assert!(wrong.unwrap_err().contains("cache.enabled: must be true or false"));
        let (_, not_toml) = read_str("[cache\n");
        assert!(not_toml.unwrap_err().contains("not a TOML file"));
        let e = read(Path::new("/nonexistent/cache.toml")).unwrap_err();
        assert!(e.contains("/nonexistent/cache.toml") && e.contains("--cache"), "{e}");
    }
}
