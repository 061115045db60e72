//! How a component's outbound HTTPS trusts servers and identifies itself,
//! as Spin has it: by default the system's roots ([`outbound_tls`])
//! and the web's root CAs; for the components and hosts of a runtime
//! config `[[client_tls]]` entry, the roots it names (the system's, the
//! web's, a file of CA certificates) and the client certificate it gives.
//! Every file is read at start-up; a missing or malformed one stops it,
//! naming the runtime config file and the key.

use std::collections::HashMap;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore};
use souk_manifest::ClientTlsConfig;

use super::outbound_tls;

/// Every component's outbound HTTPS settings.
#[derive(Clone)]
pub struct ClientTls {
    default: Arc<ClientConfig>,
    by_component: HashMap<String, Arc<HashMap<String, Arc<ClientConfig>>>>,
}

/// One component's: a host's own entry, or the default.
#[derive(Clone)]
pub struct ComponentTls {
    default: Arc<ClientConfig>,
    by_host: Option<Arc<HashMap<String, Arc<ClientConfig>>>>,
}

impl ComponentTls {
    pub fn for_host(&self, host: &str) -> Arc<ClientConfig> {
        self.by_host.as_ref().and_then(|hosts| hosts.get(&host.to_ascii_lowercase())).unwrap_or(&self.default).clone()
    }
}

impl ClientTls {
    /// The settings `entries` describe; `file` is the runtime config, for messages.
    pub fn load(entries: &[ClientTlsConfig], file: &str) -> Result<ClientTls, String> {
        let default = Arc::new(client_config(true, true, Vec::new(), None)?);
        let mut by_component: HashMap<String, HashMap<String, Arc<ClientConfig>>> = HashMap::new();
        for entry in entries {
            let at = |key: &str| format!("{file}: {}.{key}", entry.at);
            let roots = match &entry.ca_roots_file {
                Some(path) => outbound_tls::pem_file_certificates(path).map_err(|e| format!("{}: {e}", at("ca_roots_file")))?,
                None => Vec::new(),
            };
            let identity = match &entry.client_cert {
                Some((cert, key)) => {
                    let chain = outbound_tls::pem_file_certificates(cert).map_err(|e| format!("{}: {e}", at("client_cert_file")))?;
                    let key = PrivateKeyDer::from_pem_file(key)
                        .map_err(|e| format!("{}: {} holds no PEM private key: {e}", at("client_private_key_file"), key.display()))?;
                    Some((chain, key))
                }
                None => None,
            };
            let config =
                Arc::new(client_config(entry.use_platform_roots, entry.use_webpki_roots, roots, identity).map_err(|e| format!("{file}: {}: {e}", entry.at))?);
            for component in &entry.component_ids {
                let hosts = by_component.entry(component.clone()).or_default();
                for host in &entry.hosts {
                    // The first entry naming a component and host holds, as in Spin.
                    hosts.entry(host.clone()).or_insert_with(|| config.clone());
                }
            }
        }
        Ok(ClientTls { default, by_component: by_component.into_iter().map(|(component, hosts)| (component, Arc::new(hosts))).collect() })
    }

    pub fn for_component(&self, component: &str) -> ComponentTls {
        ComponentTls { default: self.default.clone(), by_host: self.by_component.get(component).cloned() }
    }
}

impl Default for ClientTls {
    fn default() -> Self {
        ClientTls::load(&[], "").expect("the default TLS settings are valid")
    }
}

fn client_config(
    platform: bool,
    webpki: bool,
    extra: Vec<CertificateDer<'static>>,
    identity: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
) -> Result<ClientConfig, String> {
    let mut roots = RootCertStore::empty();
    if platform {
        roots.add_parsable_certificates(outbound_tls::system_roots().iter().cloned());
    }
    if webpki {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    for cert in extra {
        roots.add(cert).map_err(|e| format!("a CA certificate rustls cannot use: {e}"))?;
    }
    let mut config = outbound_tls::configure(roots, identity)?;
    // HTTP/2 where the server offers it.
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn entry(components: &[&str], hosts: &[&str], ca: Option<&Path>) -> ClientTlsConfig {
        ClientTlsConfig {
            at: "client_tls[0]".into(),
            component_ids: components.iter().map(|c| c.to_string()).collect(),
            hosts: hosts.iter().map(|h| h.to_string()).collect(),
            use_platform_roots: ca.is_none(),
            use_webpki_roots: false,
            ca_roots_file: ca.map(Path::to_path_buf),
            client_cert: None,
        }
    }

    #[test]
    fn a_component_and_host_get_their_entry_and_everything_else_the_default() {
        let tls = ClientTls::load(&[entry(&["api"], &["internal.example"], None)], "rc.toml").unwrap();
        let api = tls.for_component("api");
        assert!(!Arc::ptr_eq(&api.for_host("Internal.Example"), &api.for_host("other.example")));
        assert!(Arc::ptr_eq(&tls.for_component("web").for_host("internal.example"), &api.for_host("other.example")));
    }

    #[test]
    fn a_roots_file_that_is_missing_or_holds_no_certificate_names_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let e = ClientTls::load(&[entry(&["api"], &["h"], Some(&missing))], "rc.toml").err().unwrap();
        assert!(e.starts_with("rc.toml: client_tls[0].ca_roots_file: cannot read"), "{e}");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "nothing here").unwrap();
        let e = ClientTls::load(&[entry(&["api"], &["h"], Some(&empty))], "rc.toml").err().unwrap();
        assert!(e.contains("holds no certificate"), "{e}");
    }
}
