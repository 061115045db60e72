//! A certificate authority made for one test (with `openssl`, as the
//! listener's TLS tests make their certificate): its root, and a server
//! certificate it signed for `localhost` and 127.0.0.1, for the database
//! servers the TLS tests start. No system trusts it: souk trusts it only
//! when told, through `SSL_CERT_FILE` or a guest's CA root.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

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

    /// An HTTPS server on loopback with the server certificate, offering
    /// HTTP/2 and HTTP/1.1, keeping connections open; with
    /// `client_certificates`, it takes only clients whose certificate the
    /// root signed. See [`serve`].
    pub fn https_server(&self, client_certificates: bool) -> TestServer {
        let mut config = Arc::unwrap_or_clone(self.server_config(client_certificates));
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        serve(Some(Arc::new(config)))
    }

    /// A TLS server configuration with the server certificate; with
    /// `client_certificates`, it takes only clients whose certificate the
    /// root signed.
    pub fn server_config(&self, client_certificates: bool) -> Arc<rustls::ServerConfig> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
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
        Arc::new(builder.with_single_cert(chain, key).unwrap())
    }
}

/// A test server: its port, and how many connections it has accepted.
pub struct TestServer {
    pub port: u16,
    pub connections: Arc<AtomicUsize>,
}

/// A server on loopback (over TLS with `tls`) answering every request with
/// `secret <HTTP version>` and the request's body after a space, if any,
/// keeping connections open as clients ask; a request with a Host header
/// over HTTP/2, or without one over HTTP/1.1, is answered 400.
pub fn serve(tls: Option<Arc<rustls::ServerConfig>>) -> TestServer {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let connections = Arc::new(AtomicUsize::new(0));
    let counted = connections.clone();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                counted.fetch_add(1, Ordering::SeqCst);
                let tls = tls.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(|request: hyper::Request<hyper::body::Incoming>| async move {
                        use http_body_util::BodyExt;
                        let version = request.version();
                        // Strict about Host, as nginx is: HTTP/1.1 needs one,
                        // HTTP/2 carries the authority instead and is refused
                        // with both.
                        let host = request.headers().contains_key(hyper::header::HOST);
                        if host == (version == hyper::Version::HTTP_2) {
                            let why = format!("{version:?} request with{} a Host header", if host { "" } else { "out" });
                            let mut refused = hyper::Response::new(http_body_util::Full::new(bytes::Bytes::from(why)));
                            *refused.status_mut() = hyper::StatusCode::BAD_REQUEST;
                            return Ok(refused);
                        }
                        let sent = request.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                        let mut body = format!("secret {version:?}");
                        if !sent.is_empty() {
                            body.push_str(&format!(" {}", String::from_utf8_lossy(&sent)));
                        }
                        Ok::<_, std::convert::Infallible>(hyper::Response::new(http_body_util::Full::new(bytes::Bytes::from(body))))
                    });
                    let builder = hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
                    match tls {
                        // A failed handshake (an untrusted client) ends here.
                        Some(tls) => {
                            if let Ok(stream) = tokio_rustls::TlsAcceptor::from(tls).accept(stream).await {
                                let _ = builder.serve_connection(hyper_util::rt::TokioIo::new(stream), service).await;
                            }
                        }
                        None => drop(builder.serve_connection(hyper_util::rt::TokioIo::new(stream), service).await),
                    }
                });
            }
        });
    });
    TestServer { port, connections }
}
