//! A pull's layers on disk: each layer is streamed into a file of a
//! folder of the pull's as it arrives (oci-client checks its digest on the
//! way), so that a pull holds at most one layer in memory, when the app is
//! written out from them, however large the app.

use std::path::{Path, PathBuf};

use oci_client::manifest::OciDescriptor;
use oci_client::{Client, Reference};
use wasmtime::error::Context;
use wasmtime::format_err;

use super::unpack::Blobs;

/// The layers pulled so far, one file each in `dir`, named by digest.
pub struct BlobFiles {
    dir: PathBuf,
}

impl BlobFiles {
    /// Layers kept in `dir`, an existing folder.
    pub fn new(dir: &Path) -> BlobFiles {
        BlobFiles { dir: dir.to_path_buf() }
    }

    /// Streams `layer` of `image` into its file; a layer whose bytes do not
    /// match its digest is an error (and its file is not used).
    pub async fn pull(&self, client: &Client, image: &Reference, layer: &OciDescriptor) -> wasmtime::Result<()> {
        let path = self.path(&layer.digest)?;
        if path.exists() {
            // The same layer listed twice (the locked app as layer and config).
            return Ok(());
        }
        let partial = path.with_extension("partial");
        let mut file = tokio::fs::File::create(&partial).await.with_context(|| format!("cannot create {}", partial.display()))?;
        client.pull_blob(image, layer, &mut file).await.map_err(|e| format_err!("layer {}: {e}", layer.digest))?;
        drop(file);
        std::fs::rename(&partial, &path).with_context(|| format!("cannot move {} to {}", partial.display(), path.display()))?;
        Ok(())
    }

    /// A layer's file. The digest comes from the registry, so only an
    /// algorithm and hex digits make a file name: nothing that could name
    /// another folder.
    fn path(&self, digest: &str) -> wasmtime::Result<PathBuf> {
        match digest.split_once(':') {
            Some((algorithm, hex)) if matches!(algorithm, "sha256" | "sha512") && !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
                Ok(self.dir.join(format!("{algorithm}-{hex}")))
            }
            _ => Err(format_err!("`{digest}` is not a layer digest (sha256:<hex> or sha512:<hex>)")),
        }
    }
}

impl Blobs for BlobFiles {
    fn read(&self, digest: &str) -> wasmtime::Result<Vec<u8>> {
        let path = self.path(digest)?;
        if !path.exists() {
            return Err(format_err!("no layer {digest} in the artifact"));
        }
        std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_digest_names_a_file_in_the_folder_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = BlobFiles::new(dir.path());
        let hex = "ab".repeat(32);
        assert_eq!(blobs.path(&format!("sha256:{hex}")).unwrap(), dir.path().join(format!("sha256-{hex}")));
        for bad in ["sha256:../../etc/passwd", "sha256:", "md5:abcd", "abcd", "sha256:ab/cd"] {
            let e = blobs.path(bad).unwrap_err().to_string();
            assert!(e.contains("is not a layer digest"), "{bad}: {e}");
        }
        let e = blobs.read(&format!("sha256:{hex}")).unwrap_err().to_string();
        assert!(e.contains("no layer sha256:"), "{e}");
        std::fs::write(dir.path().join(format!("sha256-{hex}")), b"layer").unwrap();
        assert_eq!(blobs.read(&format!("sha256:{hex}")).unwrap(), b"layer");
    }
}
