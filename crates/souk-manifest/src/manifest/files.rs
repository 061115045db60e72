//! Resolves a component's `files` entries to a host path and a guest mount point.

use std::path::Path;

use super::FileMount;
use super::schema::{RawPlacement, StrOr};
use crate::paths::resolve_path;

/// `"static/*"` or `"static/**/*.css"` → the files under host
/// `<dir>/static` that the glob matches, each at its own path under
/// `/static`; `"a.txt"` → `<dir>/a.txt` at `/a.txt`; `{ source, destination }` mounts
/// `source` (file or directory) at `destination`.
pub(super) fn resolve(dir: &Path, entry: &StrOr<RawPlacement>) -> Result<FileMount, String> {
    match entry {
        StrOr::Str(pattern) => resolve_pattern(dir, pattern),
        StrOr::Table(RawPlacement { source, destination }) => {
            if source.trim().is_empty() {
                return Err("`source` must not be empty".into());
            }
            Ok(FileMount { source: resolve_path(dir, source), destination: guest_path(destination)?, pattern: None })
        }
    }
}

fn resolve_pattern(dir: &Path, pattern: &str) -> Result<FileMount, String> {
    let pattern = pattern.trim();
    if pattern.is_empty() {
        return Err("a file pattern must not be empty".into());
    }
    if pattern.starts_with('/') {
        return Err(format!(
            "file pattern {pattern:?} must be relative to the application directory; use `{{ source = \"...\", destination = \"/...\" }}` for other places"
        ));
    }
    let glob = pattern.find(['*', '?', '[', '{']).is_some();
    if glob {
        super::file_glob(pattern)?;
    }
    let prefix = match pattern.find(['*', '?', '[', '{']) {
        Some(glob_start) => match pattern[..glob_start].rfind('/') {
            Some(slash) => &pattern[..slash],
            None => "",
        },
        None => {
            let last = pattern.trim_end_matches('/').rsplit('/').next().unwrap_or("");
            if last == "." || last == ".." {
                return Err(format!(
                    "file pattern {pattern:?} can't end in `.` or `..`; use a glob such as \"dir/**/*\" or `{{ source = \"...\", destination = \"/...\" }}`"
                ));
            }
            pattern
        }
    };
    let mut parts = Vec::new();
    for part in prefix.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                return Err(format!(
                    "file pattern {pattern:?} must stay inside the application directory; use `{{ source = \"...\", destination = \"/...\" }}` to mount other directories"
                ));
            }
            other => parts.push(other),
        }
    }
    let rel = parts.join("/");
    Ok(FileMount {
        source: if rel.is_empty() { dir.to_owned() } else { dir.join(&rel) },
        destination: format!("/{rel}"),
        pattern: glob.then(|| pattern.trim_start_matches("./").to_string()),
    })
}

/// An absolute, normalised guest path (a relative one is taken from `/`).
fn guest_path(destination: &str) -> Result<String, String> {
    let destination = destination.trim();
    if destination.is_empty() {
        return Err("`destination` must not be empty; use \"/\" for the root".into());
    }
    let mut parts = Vec::new();
    for part in destination.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                return Err(format!("`destination` {destination:?} must not contain `..`"));
            }
            other => parts.push(other),
        }
    }
    Ok(format!("/{}", parts.join("/")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn pattern(p: &str) -> Result<FileMount, String> {
        resolve(Path::new("/app"), &StrOr::Str(p.to_owned()))
    }

    fn placement(source: &str, destination: &str) -> Result<FileMount, String> {
        resolve(Path::new("/app"), &StrOr::Table(RawPlacement { source: source.to_owned(), destination: destination.to_owned() }))
    }

    fn mount(source: &str, destination: &str) -> FileMount {
        FileMount { source: PathBuf::from(source), destination: destination.to_owned(), pattern: None }
    }

    fn globbed(source: &str, destination: &str, glob: &str) -> FileMount {
        FileMount { source: PathBuf::from(source), destination: destination.to_owned(), pattern: Some(glob.to_owned()) }
    }

    #[test]
    fn a_glob_walks_the_directory_before_the_wildcard_and_keeps_the_glob() {
        assert_eq!(pattern("static/*").unwrap(), globbed("/app/static", "/static", "static/*"));
        assert_eq!(pattern("static/**/*").unwrap(), globbed("/app/static", "/static", "static/**/*"));
        assert_eq!(pattern("./assets/img/*.png").unwrap(), globbed("/app/assets/img", "/assets/img", "assets/img/*.png"));
        assert_eq!(pattern("static/img*/x").unwrap(), globbed("/app/static", "/static", "static/img*/x"));
        assert!(pattern("static/[a").unwrap_err().contains("invalid glob"));
    }

    #[test]
    fn root_glob_walks_the_app_directory() {
        assert_eq!(pattern("*").unwrap(), globbed("/app", "/", "*"));
        assert_eq!(pattern("**/*").unwrap(), globbed("/app", "/", "**/*"));
    }

    #[test]
    fn plain_path_mounts_at_the_same_relative_path() {
        assert_eq!(pattern("a.txt").unwrap(), mount("/app/a.txt", "/a.txt"));
        assert_eq!(pattern("data/").unwrap(), mount("/app/data", "/data"));
    }

    #[test]
    fn patterns_must_stay_inside_the_app() {
        for bad in ["../x/*", "/etc/*", "", ".", "..", "a/.."] {
            assert!(pattern(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn placement_mounts_source_at_destination() {
        assert_eq!(placement("dir", "/x").unwrap(), mount("/app/dir", "/x"));
        assert_eq!(placement("./dir/", "x/y/").unwrap(), mount("/app/dir", "/x/y"));
        assert_eq!(placement("../shared", "/").unwrap(), mount("/shared", "/"));
        assert!(placement("dir", "").is_err());
        assert!(placement("dir", "/a/../b").is_err());
        assert!(placement("", "/x").is_err());
    }
}
