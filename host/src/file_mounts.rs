//! A component's `files`, staged into one folder laid out as the guest
//! will see it (mounted read-only at `/`), so the guest reaches exactly
//! those files: a glob entry (`"static/**/*.css"`) brings only the files it
//! matches, each at its own path; `exclude_files` globs (relative to the
//! application directory, like `files`) leave files out of every entry.
//! With `--direct-mounts` the folders are mounted themselves ([`direct`]).

use std::path::{Path, PathBuf};

use globset::GlobMatcher;
use souk_manifest::file_glob;
use souk_manifest::{ComponentConfig, FileMount};
use wasmtime::error::Context;

/// With `--direct-mounts`, as Spin has it: each `files` entry must be a
/// folder (not a glob or a file) and `exclude_files` must be empty; each
/// folder is then mounted itself at its guest path, so changes to it are
/// seen at once.
pub fn direct(component: &ComponentConfig) -> Result<Vec<(PathBuf, String)>, String> {
    if !component.exclude_files.is_empty() {
        return Err(format!("{}.exclude_files: a component with `exclude_files` cannot have its files mounted directly", component.toml_key));
    }
    let mut mounts = Vec::new();
    for (i, mount) in component.files.iter().enumerate() {
        if mount.pattern.is_some() || !mount.source.is_dir() {
            let key = format!("{}.files[{i}]", component.toml_key);
            return Err(format!("{key}: only folders can be mounted directly; {} is not one", mount.source.display()));
        }
        mounts.push((mount.source.clone(), mount.destination.clone()));
    }
    Ok(mounts)
}

pub fn stage(dir: &Path, files: &[FileMount], app_dir: &Path, exclude: &[String]) -> wasmtime::Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    std::fs::create_dir_all(dir)?;
    let exclude = exclude.iter().map(|p| file_glob(p).map_err(wasmtime::Error::msg)).collect::<wasmtime::Result<Vec<_>>>()?;
    for mount in files {
        let target = dir.join(mount.destination.trim_start_matches('/'));
        let pattern = mount.pattern.as_deref().map(file_glob).transpose().map_err(wasmtime::Error::msg)?;
        let rules = Rules { app_dir, pattern: pattern.as_ref(), exclude: &exclude };
        copy(&mount.source, &target, &rules).with_context(|| format!("cannot copy {} to the guest path {}", mount.source.display(), mount.destination))?;
    }
    Ok(())
}

struct Rules<'a> {
    app_dir: &'a Path,
    pattern: Option<&'a GlobMatcher>,
    exclude: &'a [GlobMatcher],
}

impl Rules<'_> {
    /// Whether file `path` is mounted: matched by the entry's glob (if it
    /// has one) and by no `exclude_files` glob. Paths outside the
    /// application directory (a `source` elsewhere) are not filtered.
    fn mounts(&self, path: &Path) -> bool {
        let Ok(relative) = path.strip_prefix(self.app_dir) else { return true };
        self.pattern.is_none_or(|g| g.is_match(relative)) && !self.exclude.iter().any(|g| g.is_match(relative))
    }
}

fn copy(source: &Path, target: &Path, rules: &Rules) -> std::io::Result<()> {
    if source.is_dir() {
        for entry in std::fs::read_dir(source)? {
            let entry = entry?;
            copy(&entry.path(), &target.join(entry.file_name()), rules)?;
        }
        Ok(())
    } else if rules.mounts(source) {
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::copy(source, target).map(|_| ())
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(root: &Path, files: &[&str]) {
        for file in files {
            let path = root.join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, file).unwrap();
        }
    }

    fn staged(dir: &Path) -> Vec<String> {
        let mut found = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(at) = stack.pop() {
            for entry in std::fs::read_dir(&at).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    found.push(path.strip_prefix(dir).unwrap().to_string_lossy().into_owned());
                }
            }
        }
        found.sort();
        found
    }

    fn glob_entry(app: &Path, prefix: &str, glob: &str) -> FileMount {
        FileMount { source: app.join(prefix), destination: format!("/{prefix}"), pattern: Some(glob.into()) }
    }

    #[test]
    fn globs_mount_only_what_they_match_and_excludes_win() {
        let app = tempfile::tempdir().unwrap();
        tree(app.path(), &["static/a.css", "static/b.js", "static/deep/c.css", "static/deep/d.tmp", "secret.txt", "notes.txt"]);
        let out = app.path().join(".spin/files/web");
        let files = [
            glob_entry(app.path(), "static", "static/**/*.css"),
            glob_entry(app.path(), "", "*.txt"),
            FileMount { source: app.path().join("static/deep"), destination: "/deep".into(), pattern: None },
        ];
        stage(&out, &files, app.path(), &["secret.txt".into(), "**/*.tmp".into()]).unwrap();
        assert_eq!(staged(&out), ["deep/c.css", "notes.txt", "static/a.css", "static/deep/c.css"]);
    }

    #[test]
    fn a_single_star_stays_in_its_folder() {
        let app = tempfile::tempdir().unwrap();
        tree(app.path(), &["static/a.css", "static/deep/c.css"]);
        let out = app.path().join("out");
        stage(&out, &[glob_entry(app.path(), "static", "static/*")], app.path(), &[]).unwrap();
        assert_eq!(staged(&out), ["static/a.css"]);
    }
}
