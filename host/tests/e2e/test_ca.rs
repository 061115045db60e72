//! A certificate authority made for one test (with `openssl`, as the
//! listener's TLS tests make their certificate): its root, and a server
//! certificate it signed for `localhost` and 127.0.0.1, for the database
//! servers the TLS tests start. No system trusts it: souk trusts it only
//! when told, through `SSL_CERT_FILE` or a guest's CA root.

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct TestCa {
    dir: tempfile::TempDir,
}

fn openssl(args: &[&str], dir: &Path) {
    let out = Command::new("openssl").args(args).current_dir(dir).output().expect("running openssl (apt-get install openssl)");
    assert!(out.status.success(), "openssl {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
}

impl TestCa {
    pub fn new() -> TestCa {
        let dir = tempfile::tempdir().unwrap();
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
        let root = ["req", "-x509", "-days", "1", "-subj", "/CN=souk test CA", "-keyout", "ca.key", "-out", "ca.pem"];
        let root_ext = ["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"];
        openssl(&[&root[..], &ec[..], &root_ext[..]].concat(), dir.path());
        openssl(&[&["req", "-new", "-subj", "/CN=localhost", "-keyout", "server.key", "-out", "server.csr"][..], &ec[..]].concat(), dir.path());
        std::fs::write(
            dir.path().join("server.ext"),
            "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n",
        )
        .unwrap();
        let sign = ["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "1", "-extfile", "server.ext"];
        openssl(&[&sign[..], &["-out", "server.pem"][..]].concat(), dir.path());
        TestCa { dir }
    }

    /// The root certificate (PEM), for `SSL_CERT_FILE` or a guest's CA root.
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// The server's certificate (PEM), signed by the root.
    pub fn server_cert(&self) -> PathBuf {
        self.dir.path().join("server.pem")
    }

    /// The server's private key (PEM).
    pub fn server_key(&self) -> PathBuf {
        self.dir.path().join("server.key")
    }
}
