//! A registry token service (the Docker registry's Bearer scheme), for the
//! registry tests: `GET /token?service=..&scope=..` with HTTP Basic
//! credentials answers a JWT that grants what each scope asks, signed
//! ES256 with the test CA's server key (PKCS#8, as openssl writes it) and carrying its certificate
//! (`x5c`), which the registry trusts through its `rootcertbundle`. Wrong
//! or missing credentials are a 401. What it answered is counted, so a test
//! can tell that the registry's challenge was really followed.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use http_body_util::Full;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::json;

use crate::test_ca::TestCa;

/// The `issuer` and `service` the registry is configured with.
pub const ISSUER: &str = "souk-test-tokens";
pub const SERVICE: &str = "souk-test-registry";

pub struct TokenService {
    /// The token endpoint (the registry's `realm`).
    pub realm: String,
    issued: Arc<AtomicUsize>,
    refused: Arc<AtomicUsize>,
    _runtime: tokio::runtime::Runtime,
}

struct Signer {
    key: EncodingKey,
    certificate: String,
    basic: String,
}

impl TokenService {
    /// Tokens for `user` with `password` only.
    pub fn start(ca: &TestCa, user: &str, password: &str) -> TokenService {
        let certificate = CertificateDer::from_pem_file(ca.server_cert()).unwrap();
        let signer = Arc::new(Signer {
            key: EncodingKey::from_ec_der(PrivateKeyDer::from_pem_file(ca.server_key()).unwrap().secret_der()),
            certificate: base64::engine::general_purpose::STANDARD.encode(certificate.as_ref()),
            basic: format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))),
        });
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let realm = format!("http://{}/token", listener.local_addr().unwrap());
        let (issued, refused) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let counts = (issued.clone(), refused.clone());
        runtime.spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let (signer, counts) = (signer.clone(), counts.clone());
                let service = hyper::service::service_fn(move |request| {
                    let answer = answer(&signer, &request, &counts);
                    async move { Ok::<_, Infallible>(answer) }
                });
                tokio::spawn(hyper::server::conn::http1::Builder::new().serve_connection(hyper_util::rt::TokioIo::new(stream), service));
            }
        });
        TokenService { realm, issued, refused, _runtime: runtime }
    }

    /// Tokens issued so far.
    pub fn issued(&self) -> usize {
        self.issued.load(Ordering::SeqCst)
    }

    /// Requests refused for their credentials so far.
    pub fn refused(&self) -> usize {
        self.refused.load(Ordering::SeqCst)
    }
}

fn answer<B>(signer: &Signer, request: &hyper::Request<B>, (issued, refused): &(Arc<AtomicUsize>, Arc<AtomicUsize>)) -> hyper::Response<Full<bytes::Bytes>> {
    let respond = |status: u16, body: serde_json::Value| {
        hyper::Response::builder().status(status).header("content-type", "application/json").body(Full::new(bytes::Bytes::from(body.to_string()))).unwrap()
    };
    if request.uri().path() != "/token" {
        return respond(404, json!({ "error": "not found" }));
    }
    if request.headers().get("authorization").is_none_or(|v| v.as_bytes() != signer.basic.as_bytes()) {
        refused.fetch_add(1, Ordering::SeqCst);
        return respond(401, json!({ "error": "wrong or missing credentials" }));
    }
    let query: Vec<(String, String)> = url::form_urlencoded::parse(request.uri().query().unwrap_or_default().as_bytes()).into_owned().collect();
    // Each `scope` is `repository:<name>:<action>,<action>`; all granted.
    let access: Vec<_> = query
        .iter()
        .filter(|(k, _)| k == "scope")
        .filter_map(|(_, scope)| {
            let mut parts = scope.rsplitn(2, ':');
            let actions: Vec<&str> = parts.next()?.split(',').collect();
            let (kind, name) = parts.next()?.split_once(':')?;
            Some(json!({ "type": kind, "name": name, "actions": actions }))
        })
        .collect();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let claims = json!({
        "iss": ISSUER,
        "sub": "souk",
        "aud": SERVICE,
        "iat": now,
        "nbf": now - 10,
        "exp": now + 300,
        "jti": format!("token-{}", issued.load(Ordering::SeqCst)),
        "access": access,
    });
    let mut header = Header::new(Algorithm::ES256);
    header.x5c = Some(vec![signer.certificate.clone()]);
    let token = jsonwebtoken::encode(&header, &claims, &signer.key).unwrap();
    issued.fetch_add(1, Ordering::SeqCst);
    respond(200, json!({ "token": token, "access_token": token, "expires_in": 300 }))
}
