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
        // A client's certificate, for servers that ask for one.
        openssl(&[&["req", "-new", "-subj", "/CN=souk test client", "-keyout", "client.key", "-out", "client.csr"][..], &ec[..]].concat(), dir.path());
        std::fs::write(dir.path().join("client.ext"), "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n").unwrap();
        let sign = ["x509", "-req", "-in", "client.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "1", "-extfile", "client.ext"];
        openssl(&[&sign[..], &["-out", "client.pem"][..]].concat(), dir.path());
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

    /// A client certificate the root signed (PEM), and its key.
    pub fn client_cert(&self) -> (PathBuf, PathBuf) {
        (self.dir.path().join("client.pem"), self.dir.path().join("client.key"))
    }

    /// A one-thread HTTPS server on loopback with the server certificate,
    /// answering `secret` to every request; with `client_certificates`, it
    /// takes only clients whose certificate the root signed.
    pub fn https_server(&self, client_certificates: bool) -> u16 {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        use std::io::{Read, Write};
        use std::sync::Arc;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let chain = CertificateDer::pem_file_iter(self.server_cert()).unwrap().collect::<Result<Vec<_>, _>>().unwrap();
        let key = PrivateKeyDer::from_pem_file(self.server_key()).unwrap();
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone()).with_safe_default_protocol_versions().unwrap();
        let builder = if client_certificates {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(CertificateDer::from_pem_file(self.root()).unwrap()).unwrap();
            builder.with_client_cert_verifier(rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider).build().unwrap())
        } else {
            builder.with_no_client_auth()
        };
        let config = Arc::new(builder.with_single_cert(chain, key).unwrap());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let mut tls = rustls::StreamOwned::new(rustls::ServerConnection::new(config.clone()).unwrap(), stream);
                let mut head = [0u8; 4096];
                // A failed handshake (an untrusted client) ends here.
                if tls.read(&mut head).is_err() {
                    continue;
                }
                let _ = tls.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 6\r\nconnection: close\r\n\r\nsecret");
                tls.conn.send_close_notify();
                let _ = tls.flush();
            }
        });
        port
    }
}
