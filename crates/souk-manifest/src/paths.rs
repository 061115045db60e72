//! Lexical path joining: relative config paths resolved against a folder.

use std::path::{Component, Path, PathBuf};

/// Joins `rel` onto `dir` (an absolute `rel` replaces it) and drops `.` and
/// resolves `..` lexically, without touching the file system.
pub(crate) fn resolve_path(dir: &Path, rel: impl AsRef<Path>) -> PathBuf {
    normalize(&dir.join(rel))
}

/// Makes `path` absolute (against the current directory) and normalises it
/// lexically.
pub(crate) fn absolute(path: &Path) -> std::io::Result<PathBuf> {
    Ok(normalize(&std::path::absolute(path)?))
}

/// Drops `.` and resolves `..` lexically.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_are_joined_and_normalised() {
        assert_eq!(resolve_path(Path::new("/app"), "./a/../b/c.wasm"), Path::new("/app/b/c.wasm"));
        assert_eq!(resolve_path(Path::new("/app"), "../x"), Path::new("/x"));
    }

    #[test]
    fn absolute_makes_relative_paths_absolute_and_clean() {
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(absolute(Path::new("a/../b")).unwrap(), cwd.join("b"));
    }

    #[test]
    fn absolute_paths_replace_the_folder() {
        assert_eq!(resolve_path(Path::new("/app"), "/abs/x.db"), Path::new("/abs/x.db"));
    }
}
