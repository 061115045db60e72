//! A pull's working folder in the registry cache, and the removal of those
//! a killed pull left behind.
//!
//! Each pull works in `.pull-XXXX/` beside the pulled apps: the app as it
//! is written (`app/`, renamed into place when complete), the layers as they
//! come (`layers/`), and a `lock` file that the pull holds locked for as long
//! as it runs. A pull that ends removes its folder; one that is killed
//! cannot, so every pull first removes the folders whose lock nobody holds
//! (the kernel lets go of a dead process's locks) and that are older than a
//! minute (a pull that has just made its folder may not have locked it
//! yet). Folders of pulls still running, in this process or another, are
//! left alone.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use tempfile::TempDir;
use wasmtime::error::Context;

const PREFIX: &str = ".pull-";
const LOCK: &str = "lock";
/// Earlier versions' working folders, which had no lock.
const UNLOCKED_PREFIXES: [&str; 2] = [".partial", ".layers"];
/// A folder this young may be a pull's that has made it and not yet locked
/// it: it is left for a later pull to judge.
const LOCK_GRACE: Duration = Duration::from_secs(60);

/// One running pull's folder; removed when dropped.
pub struct PullDir {
    dir: TempDir,
    /// Held locked until the pull ends (closing the file lets go).
    _lock: File,
}

impl PullDir {
    /// A new folder under `root` (an existing folder), locked.
    pub fn create(root: &Path) -> wasmtime::Result<PullDir> {
        let dir = tempfile::Builder::new().prefix(PREFIX).tempdir_in(root).context("cannot create a folder for the pull")?;
        let lock_path = dir.path().join(LOCK);
        let lock = File::create(&lock_path).with_context(|| format!("cannot create {}", lock_path.display()))?;
        lock.lock().with_context(|| format!("cannot lock {}", lock_path.display()))?;
        for part in ["app", "layers"] {
            let path = dir.path().join(part);
            std::fs::create_dir(&path).with_context(|| format!("cannot create {}", path.display()))?;
        }
        Ok(PullDir { dir, _lock: lock })
    }

    /// Where the app is written, to be renamed into place when complete.
    pub fn app(&self) -> PathBuf {
        self.dir.path().join("app")
    }

    /// Where the layers are kept as they come.
    pub fn layers(&self) -> PathBuf {
        self.dir.path().join("layers")
    }
}

/// Removes the working folders under `root` that no running pull holds;
/// returns how many. A folder that cannot be read or removed is skipped:
/// the pull goes on, and a later one tries again.
pub fn remove_abandoned(root: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(root) else { return 0 };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let path = entry.path();
        let ours = name.starts_with(PREFIX) || UNLOCKED_PREFIXES.iter().any(|p| name.starts_with(p));
        let abandoned = ours && older_than(&path, LOCK_GRACE) && !is_locked(&path);
        if abandoned && entry.file_type().is_ok_and(|t| t.is_dir()) && std::fs::remove_dir_all(&path).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// A running pull holds `dir`'s lock. A folder without a lock file (an
/// earlier version's, or a pull's killed before it made one) has no holder.
fn is_locked(dir: &Path) -> bool {
    match File::open(dir.join(LOCK)) {
        // Taking the lock shows nobody holds it; it is let go as the file
        // closes, before the folder goes.
        Ok(lock) => lock.try_lock().is_err(),
        Err(_) => false,
    }
}

fn older_than(path: &Path, age: Duration) -> bool {
    let modified = std::fs::metadata(path).and_then(|m| m.modified());
    modified.is_ok_and(|at| SystemTime::now().duration_since(at).is_ok_and(|elapsed| elapsed > age))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set_old(path: &Path) {
        let old = SystemTime::now() - 2 * LOCK_GRACE;
        File::open(path).unwrap().set_modified(old).unwrap();
    }

    #[test]
    fn a_killed_pulls_folder_goes_and_a_running_ones_stays() {
        let root = tempfile::tempdir().unwrap();
        let running = PullDir::create(root.path()).unwrap();
        std::fs::write(running.layers().join("sha256-ab"), b"layer").unwrap();
        // A pull killed after it locked its folder: its lock file is there,
        // and nobody holds it.
        let killed = root.path().join(".pull-killed");
        std::fs::create_dir_all(killed.join("layers")).unwrap();
        File::create(killed.join(LOCK)).unwrap();
        set_old(&killed);
        // The running pull's folder, as old: its lock keeps it.
        set_old(running.dir.path());
        // A pulled app, and earlier versions' leftovers, old and new.
        let app = root.path().join("sha256-0123");
        std::fs::create_dir(&app).unwrap();
        std::fs::write(app.join("spin.toml"), b"").unwrap();
        let (old_partial, new_layers) = (root.path().join(".partialX1"), root.path().join(".layersX2"));
        std::fs::create_dir(&old_partial).unwrap();
        std::fs::create_dir(&new_layers).unwrap();
        set_old(&old_partial);

        assert_eq!(remove_abandoned(root.path()), 2);
        assert!(!killed.exists() && !old_partial.exists());
        assert!(running.layers().join("sha256-ab").exists(), "a running pull's folder is never removed");
        assert!(app.join("spin.toml").exists() && new_layers.exists());
        // The running pull's lock is still its own.
        assert!(is_locked(running.dir.path()));

        let path = running.dir.path().to_path_buf();
        drop(running);
        assert!(!path.exists(), "a pull that ends removes its folder");
    }

    #[test]
    fn an_unlocked_folder_is_left_until_past_the_grace() {
        let root = tempfile::tempdir().unwrap();
        // Made by a pull that has not locked it yet, or not made its lock.
        let young = root.path().join(".pull-young");
        std::fs::create_dir(&young).unwrap();
        let unlocked = root.path().join(".pull-unlocked");
        std::fs::create_dir(&unlocked).unwrap();
        File::create(unlocked.join(LOCK)).unwrap();
        assert_eq!(remove_abandoned(root.path()), 0);
        set_old(&young);
        set_old(&unlocked);
        assert_eq!(remove_abandoned(root.path()), 2);
        assert!(!young.exists() && !unlocked.exists());
    }
}
