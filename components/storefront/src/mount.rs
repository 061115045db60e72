//! Finding a file under the mount's root. The segments come from
//! `request_path` (no `..` left in them), and each step is checked with
//! `symlink_metadata`: a symbolic link is followed only while it stays
//! inside the root (a relative target, resolved without leaving it), so a
//! link planted in the static folder cannot expose the rest of the disk.
//! Files whose name starts with `.` are never served.

use std::path::{Path, PathBuf};

/// Links followed for one lookup, at most (a loop ends as "not found").
const MAX_LINKS: usize = 16;

/// The path under `root` of the regular file at `segments`, or `None` when
/// there is none (missing, hidden, a folder, or reachable only by leaving
/// the root). A folder resolves to its `index.html`.
pub fn find(root: &Path, segments: &[String]) -> Option<PathBuf> {
    if segments.iter().any(|s| s.starts_with('.')) {
        return None;
    }
    let mut resolved = resolve(root, segments.iter().map(String::as_str))?;
    if is_dir(root, &resolved) {
        resolved = resolve(root, resolved.iter().map(String::as_str).chain(["index.html"]))?;
    }
    let path = under(root, &resolved);
    std::fs::metadata(&path).ok().filter(|m| m.is_file()).map(|_| path)
}

fn under(root: &Path, segments: &[String]) -> PathBuf {
    segments.iter().fold(root.to_path_buf(), |path, s| path.join(s))
}

fn is_dir(root: &Path, segments: &[String]) -> bool {
    std::fs::metadata(under(root, segments)).is_ok_and(|m| m.is_dir())
}

/// The segments, relative to `root`, of what `wanted` names once every
/// symbolic link on the way is replaced by its target; `None` when a link
/// is absolute, points above the root, or the chain is too long.
fn resolve<'a>(root: &Path, wanted: impl Iterator<Item = &'a str>) -> Option<Vec<String>> {
    let mut pending: Vec<String> = wanted.map(str::to_owned).collect();
    pending.reverse();
    let mut done: Vec<String> = Vec::new();
    let mut links = 0;
    while let Some(segment) = pending.pop() {
        match segment.as_str() {
            "" | "." => continue,
            ".." => {
                done.pop()?;
                continue;
            }
            _ => {}
        }
        done.push(segment);
        let Ok(meta) = std::fs::symlink_metadata(under(root, &done)) else {
            // Missing: the caller finds nothing there either.
            continue;
        };
        if meta.file_type().is_symlink() {
            links += 1;
            let target = std::fs::read_link(under(root, &done)).ok()?;
            if links > MAX_LINKS || target.has_root() {
                return None;
            }
            done.pop();
            let parts: Vec<String> = target.iter().map(|p| p.to_string_lossy().into_owned()).collect();
            pending.extend(parts.into_iter().rev());
        }
    }
    Some(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segs(path: &str) -> Vec<String> {
        path.split('/').filter(|s| !s.is_empty()).map(str::to_owned).collect()
    }

    fn site() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("static");
        std::fs::create_dir_all(root.join("assets")).unwrap();
        std::fs::write(root.join("index.html"), "home").unwrap();
        std::fs::write(root.join("assets/app.js"), "js").unwrap();
        std::fs::write(root.join(".env"), "secret").unwrap();
        std::fs::write(dir.path().join("outside.txt"), "outside").unwrap();
        (dir, root)
    }

    #[test]
    fn files_and_folder_indexes_are_found() {
        let (_dir, root) = site();
        assert_eq!(find(&root, &segs("assets/app.js")), Some(root.join("assets/app.js")));
        assert_eq!(find(&root, &[]), Some(root.join("index.html")));
        assert_eq!(find(&root, &segs("assets")), None, "a folder without index.html is not a file");
        assert_eq!(find(&root, &segs("nope.js")), None);
    }

    #[test]
    fn hidden_files_are_never_served() {
        let (_dir, root) = site();
        assert_eq!(find(&root, &segs(".env")), None);
    }

    #[cfg(unix)]
    #[test]
    fn links_inside_the_mount_are_followed() {
        let (_dir, root) = site();
        std::os::unix::fs::symlink("assets/app.js", root.join("alias.js")).unwrap();
        std::os::unix::fs::symlink("../index.html", root.join("assets/home.html")).unwrap();
        assert_eq!(find(&root, &segs("alias.js")), Some(root.join("assets/app.js")));
        assert_eq!(find(&root, &segs("assets/home.html")), Some(root.join("index.html")));
    }

    #[cfg(unix)]
    #[test]
    fn links_out_of_the_mount_are_not_followed() {
        let (dir, root) = site();
        std::os::unix::fs::symlink("../outside.txt", root.join("relative.txt")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("outside.txt"), root.join("absolute.txt")).unwrap();
        std::os::unix::fs::symlink("/etc", root.join("etc")).unwrap();
        std::os::unix::fs::symlink("..", root.join("up")).unwrap();
        assert_eq!(find(&root, &segs("relative.txt")), None);
        assert_eq!(find(&root, &segs("absolute.txt")), None);
        assert_eq!(find(&root, &segs("etc/passwd")), None);
        assert_eq!(find(&root, &segs("up/outside.txt")), None);
    }

    #[cfg(unix)]
    #[test]
    fn a_link_loop_is_not_found() {
        let (_dir, root) = site();
        std::os::unix::fs::symlink("b", root.join("a")).unwrap();
        std::os::unix::fs::symlink("a", root.join("b")).unwrap();
        assert_eq!(find(&root, &segs("a")), None);
    }
}
