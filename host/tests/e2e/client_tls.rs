//! Outbound HTTPS trust and identity, as Spin has them: by default a
//! server is trusted when the system trusts it (here through
//! `SSL_CERT_FILE`) or the web's CAs do; a runtime config `[[client_tls]]`
//! entry gives the components and hosts it names their own roots and a
//! client certificate.

use crate::harness::{AppDir, two_guests};
use crate::test_ca::TestCa;

fn app(port: u16) -> AppDir {
    let allowed = format!("https://localhost:{port}");
    two_guests("client-tls", ("api", &allowed), ("web", &allowed))
}

/// Over TLS the server offers HTTP/2, and souk's client takes it.
const ANSWERED: (u16, &str) = (200, "status=200\nsecret HTTP/2.0");

#[test]
fn servers_are_trusted_through_the_systems_roots_or_a_client_tls_entry() {
    let ca = TestCa::new();
    let server = ca.https_server(false);
    let port = server.port;
    let app = app(port);
    let call = |souk: &crate::harness::Souk, component: &str| souk.get(&format!("/{component}/outbound?url=https://localhost:{port}/"));

    // Neither the web's CAs nor the system know the test's root.
    let untrusting = app.up();
    let reply = call(&untrusting, "api");
    assert_eq!(reply.status, 502, "{}", reply.body);
    assert!(!reply.body.contains("secret"), "{}", reply.body);
    drop(untrusting);

    // The system's roots (SSL_CERT_FILE) are trusted by default, as in Spin.
    let root = ca.root().display().to_string();
    let system = app.up_with(&[], &[("SSL_CERT_FILE", &root)]);
    let reply = call(&system, "web");
    assert_eq!((reply.status, reply.body.as_str()), ANSWERED);
    drop(system);

    // A [[client_tls]] entry: its roots file, for its component and host only.
    std::fs::copy(ca.root(), app.path().join("ca.pem")).unwrap();
    app.write("tls.toml", "[[client_tls]]\ncomponent_ids = [\"api\"]\nhosts = [\"localhost\"]\nca_roots_file = \"ca.pem\"\n");
    let config = app.path().join("tls.toml").display().to_string();
    let entry = app.up_with(&["--runtime-config-file", &config], &[]);
    let reply = call(&entry, "api");
    assert_eq!((reply.status, reply.body.as_str()), ANSWERED);
    assert_eq!(call(&entry, "web").status, 502, "another component keeps the default roots");
}

#[test]
fn a_client_tls_entry_presents_its_client_certificate() {
    let ca = TestCa::new();
    let server = ca.https_server(true);
    let port = server.port;
    let app = app(port);
    let (cert, key) = ca.client_cert();
    std::fs::copy(ca.root(), app.path().join("ca.pem")).unwrap();
    std::fs::copy(cert, app.path().join("client.pem")).unwrap();
    std::fs::copy(key, app.path().join("client.key")).unwrap();
    app.write(
        "tls.toml",
        "[[client_tls]]\ncomponent_ids = [\"api\"]\nhosts = [\"localhost\"]\nca_roots_file = \"ca.pem\"\nclient_cert_file = \"client.pem\"\nclient_private_key_file = \"client.key\"\n",
    );
    let config = app.path().join("tls.toml").display().to_string();
    let root = ca.root().display().to_string();
    let souk = app.up_with(&["--runtime-config-file", &config], &[("SSL_CERT_FILE", &root)]);
    let reply = souk.get(&format!("/api/outbound?url=https://localhost:{port}/"));
    assert_eq!((reply.status, reply.body.as_str()), ANSWERED);
    // Trusting the server is not enough without a certificate of its own.
    let reply = souk.get(&format!("/web/outbound?url=https://localhost:{port}/"));
    assert_eq!(reply.status, 502, "{}", reply.body);
    drop(souk);

    app.write("missing.toml", "[[client_tls]]\ncomponent_ids = [\"api\"]\nhosts = [\"localhost\"]\nca_roots_file = \"nowhere.pem\"\n");
    let config = app.path().join("missing.toml").display().to_string();
    let output = app.up_fails(&["--runtime-config-file", &config], &[]);
    assert!(output.contains("missing.toml: client_tls[0].ca_roots_file: cannot read"), "{output}");
}
