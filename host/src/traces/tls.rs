//! The HTTP client of an `https://` OTLP export: rustls (ring), trusting the
//! system's roots and the CA file the environment names, presenting a
//! client certificate when one is named; hyper-rustls makes the
//! connections (the exporter's own client speaks plain HTTP only).

use std::time::Duration;

use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use opentelemetry_http::hyper::HyperClient;
use rustls::RootCertStore;
use rustls::pki_types::PrivateKeyDer;
use rustls::pki_types::pem::PemObject;

use super::config::TlsFiles;
use crate::capabilities::outbound_tls;

pub type HttpsClient = HyperClient<HttpsConnector<HttpConnector>>;

/// The client for `files`; an error names the variable and the file.
pub fn client(files: &TlsFiles, timeout: Duration) -> Result<HttpsClient, String> {
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(outbound_tls::system_roots().iter().cloned());
    if let Some((path, variable)) = &files.certificate {
        for cert in outbound_tls::pem_file_certificates(path).map_err(|e| format!("{variable}: {e}"))? {
            roots.add(cert).map_err(|e| format!("{variable}: {} holds a certificate rustls cannot use: {e}", path.display()))?;
        }
    }
    let identity = match &files.client {
        Some(((cert, cert_variable), (key, key_variable))) => {
            let chain = outbound_tls::pem_file_certificates(cert).map_err(|e| format!("{cert_variable}: {e}"))?;
            let key = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("{key_variable}: {} holds no PEM private key: {e}", key.display()))?;
            Some((chain, key))
        }
        None => None,
    };
    let config = outbound_tls::configure(roots, identity)?;
    let connector = hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(config).https_only().enable_http1().build();
    Ok(HyperClient::new(connector, timeout, None))
}
