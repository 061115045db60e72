//! The TLS of a guest's connections to its databases and brokers
//! (PostgreSQL, MySQL, Redis, MQTT): a server is trusted when the system trusts its certificate.
//! The roots are the system's, read as OpenSSL reads them (the file
//! `SSL_CERT_FILE` names, the directory `SSL_CERT_DIR` names, or else the
//! distribution's bundle), once per process, so a private CA is added the
//! way it is for Spin; a guest may add one of its own where its interface
//! lets it (PostgreSQL's `set-ca-root`).

use std::sync::{Arc, OnceLock};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

/// The system's trusted roots, read at first use.
pub fn system_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let found = rustls_native_certs::load_native_certs();
        for e in &found.errors {
            tracing::warn!("reading the system's trusted certificates: {e}");
        }
        if found.certs.is_empty() {
            tracing::warn!("no trusted certificates found (SSL_CERT_FILE, SSL_CERT_DIR or the system's bundle): TLS connections to databases will fail");
        }
        found.certs
    })
}

/// The client configuration that trusts the system's roots, made once.
pub fn system_client_config() -> Result<Arc<ClientConfig>, String> {
    static CONFIG: OnceLock<Result<Arc<ClientConfig>, String>> = OnceLock::new();
    CONFIG.get_or_init(|| client_config(None).map(Arc::new)).clone()
}

/// A client configuration that trusts the system's roots and, if given,
/// the certificates of `ca_root` (PEM text).
pub fn client_config(ca_root: Option<&str>) -> Result<ClientConfig, String> {
    let mut roots = RootCertStore::empty();
    // A system certificate rustls cannot use is skipped, as OpenSSL would.
    roots.add_parsable_certificates(system_roots().iter().cloned());
    if let Some(pem) = ca_root {
        for cert in pem_certificates(pem.as_bytes()).map_err(|e| format!("the CA root {e}"))? {
            roots.add(cert).map_err(|e| format!("the CA root is not a usable certificate: {e}"))?;
        }
    }
    configure(roots, None)
}

/// The one way souk builds a TLS client configuration: ring's crypto, the
/// safe protocol versions, `roots` trusted, and `identity` (a certificate
/// chain and its key) presented when given.
pub fn configure(roots: RootCertStore, identity: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>) -> Result<ClientConfig, String> {
    let builder = ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot configure TLS: {e}"))?
        .with_root_certificates(roots);
    match identity {
        Some((chain, key)) => builder.with_client_auth_cert(chain, key).map_err(|e| format!("the client certificate and key do not go together: {e}")),
        None => Ok(builder.with_no_client_auth()),
    }
}

/// As [`system_client_config`], for a client that connects to an address
/// souk resolved and checked, but whose certificate must still be the
/// one of `name`: the certificate is verified for `name`, whatever server
/// name the client passes (an IP address, for which rustls sends no SNI).
pub fn system_client_config_naming(name: &str) -> Result<Arc<ClientConfig>, String> {
    let name = ServerName::try_from(name.to_string()).map_err(|e| format!("{name} is not a server name TLS can check: {e}"))?;
    // The system's roots are parsed into a verifier once, not at each
    // connection that needs one.
    static SYSTEM_VERIFIER: OnceLock<Result<Arc<WebPkiServerVerifier>, String>> = OnceLock::new();
    let inner = SYSTEM_VERIFIER
        .get_or_init(|| {
            let mut roots = RootCertStore::empty();
            roots.add_parsable_certificates(system_roots().iter().cloned());
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider).build().map_err(|e| format!("cannot configure TLS: {e}"))
        })
        .clone()?;
    let config = ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot configure TLS: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(ForName { name, inner }))
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Verifies a server's certificate for `name`, with the usual checks.
#[derive(Debug)]
struct ForName {
    name: ServerName<'static>,
    inner: Arc<WebPkiServerVerifier>,
}

impl ServerCertVerifier for ForName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.inner.verify_server_cert(end_entity, intermediates, &self.name, ocsp_response, now)
    }

    fn verify_tls12_signature(&self, message: &[u8], cert: &CertificateDer<'_>, dss: &DigitallySignedStruct) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(&self, message: &[u8], cert: &CertificateDer<'_>, dss: &DigitallySignedStruct) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// The certificates of a PEM file, at least one.
pub fn pem_file_certificates(path: &std::path::Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let pem = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    pem_certificates(&pem).map_err(|e| format!("{} {e}", path.display()))
}

/// The certificates of PEM text, at least one; an error reads after the
/// name of what was given ("the CA root …", "<file> …").
pub fn pem_certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let found = CertificateDer::pem_slice_iter(pem).collect::<Result<Vec<_>, _>>().map_err(|e| format!("is not PEM certificate text: {e}"))?;
    if found.is_empty() {
        return Err("holds no certificate (PEM text starting with -----BEGIN CERTIFICATE-----)".into());
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_root_that_is_not_a_certificate_is_refused_with_why() {
        let none = client_config(Some("not a certificate")).unwrap_err();
        assert!(none.contains("holds no certificate"), "{none}");
        let broken = client_config(Some("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")).unwrap_err();
        assert!(broken.contains("CA root"), "{broken}");
    }
}
