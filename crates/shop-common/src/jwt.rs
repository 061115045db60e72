//! Bearer tokens: JWTs signed with Ed25519 (JWS `alg: EdDSA`, RFC 8037),
//! the signing key's id in the header's `kid`. The `tokens` component signs
//! them (the only one that lists the private key); the gateway middleware
//! verifies them with the public keys and passes the caller on in the
//! identity headers. Keys and their formats: `crate::keys`.
//!
//! Only `EdDSA` is accepted, whatever a token's header says (no `none`, no
//! HS256 made with a public key as its secret), and a token is checked with
//! the public key its `kid` names, never with one it carries itself.

use jsonwebtoken::{Algorithm, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::identity::{Identity, Role};
use crate::keys::{PublicKeys, SigningKey};

/// How long a token is good for.
pub const TOKEN_TTL_SECONDS: i64 = 3600;

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    role: String,
    iat: i64,
    exp: i64,
}

/// A token for `identity`, issued at `now` (Unix seconds), valid for an hour.
pub fn issue(key: &SigningKey, identity: &Identity, now: i64) -> Result<String, String> {
    let claims = Claims { sub: identity.user_id.clone(), role: identity.role.as_str().to_owned(), iat: now, exp: now + TOKEN_TTL_SECONDS };
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(key.kid.clone());
    jsonwebtoken::encode(&header, &claims, key.encoding_key()).map_err(|e| e.to_string())
}

/// The caller a token names, if it is an unexpired EdDSA token signed with
/// the key its `kid` names in `keys`; otherwise why not.
pub fn verify(keys: &PublicKeys, token: &str) -> Result<Identity, String> {
    verify_until(keys, token).map(|(identity, _)| identity)
}

/// As [`verify`], with the token's expiry (Unix seconds), for a caller
/// that remembers verified tokens.
pub fn verify_until(keys: &PublicKeys, token: &str) -> Result<(Identity, i64), String> {
    let header = jsonwebtoken::decode_header(token).map_err(|e| format!("the token is not valid: {e}"))?;
    if header.alg != Algorithm::EdDSA {
        return Err(format!("the token's algorithm {:?} is not accepted (only EdDSA)", header.alg));
    }
    let kid = header.kid.ok_or("the token names no key (kid)")?;
    let key = keys.get(&kid).ok_or_else(|| format!("the token's key {kid:?} is not known"))?;
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.leeway = 0;
    validation.set_required_spec_claims(&["exp", "sub"]);
    let data = jsonwebtoken::decode::<Claims>(token, key.decoding_key(), &validation).map_err(|e| match e.kind() {
        jsonwebtoken::errors::ErrorKind::ExpiredSignature => "the token has expired".to_owned(),
        jsonwebtoken::errors::ErrorKind::InvalidSignature => "the token's signature is not valid".to_owned(),
        _ => format!("the token is not valid: {e}"),
    })?;
    let role = Role::parse(&data.claims.role).ok_or_else(|| format!("the token names an unknown role {:?}", data.claims.role))?;
    Ok((Identity { user_id: data.claims.sub, role }, data.claims.exp))
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use jsonwebtoken::EncodingKey;

    use super::*;
    use crate::keys::tests::{SEED_A, SEED_B, signing};
    use crate::timestamp::now_unix;

    fn alice() -> Identity {
        Identity { user_id: "u-1".into(), role: Role::Customer }
    }

    fn keys(entries: &[&SigningKey]) -> PublicKeys {
        PublicKeys::parse(&entries.iter().map(|k| k.public_entry()).collect::<Vec<_>>().join(",")).unwrap()
    }

    fn b64(value: serde_json::Value) -> String {
        URL_SAFE_NO_PAD.encode(value.to_string())
    }

    fn claims(role: &str) -> serde_json::Value {
        serde_json::json!({ "sub": "u-1", "role": role, "iat": now_unix(), "exp": now_unix() + 600 })
    }

    #[test]
    fn a_token_carries_its_kid_and_verifies_with_that_public_key_only() {
        let key = signing("k1", &SEED_A);
        let token = issue(&key, &alice(), now_unix()).unwrap();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!((header.alg, header.kid.as_deref()), (Algorithm::EdDSA, Some("k1")));
        assert_eq!(verify(&keys(&[&key]), &token).unwrap(), alice());
        // Another key under the same kid: the signature does not match.
        let other = signing("k1", &SEED_B);
        assert!(verify(&keys(&[&other]), &token).unwrap_err().contains("signature"));
        assert!(verify(&keys(&[&key]), "not.a.token").is_err());
    }

    #[test]
    fn during_rotation_both_kids_verify_and_removing_one_refuses_its_tokens() {
        let (old, new) = (signing("old", &SEED_A), signing("new", &SEED_B));
        let (old_token, new_token) = (issue(&old, &alice(), now_unix()).unwrap(), issue(&new, &alice(), now_unix()).unwrap());
        let both = keys(&[&new, &old]);
        assert!(verify(&both, &old_token).is_ok() && verify(&both, &new_token).is_ok());
        let only_new = keys(&[&new]);
        assert!(verify(&only_new, &new_token).is_ok());
        assert!(verify(&only_new, &old_token).unwrap_err().contains("\"old\" is not known"));
    }

    #[test]
    fn a_token_signed_by_another_key_with_a_listed_kid_is_refused() {
        let (real, forger) = (signing("k1", &SEED_A), signing("k1", &SEED_B));
        let forged = issue(&forger, &Identity { role: Role::Admin, ..alice() }, now_unix()).unwrap();
        assert!(verify(&keys(&[&real]), &forged).unwrap_err().contains("signature"));
    }

    #[test]
    fn expired_tokens_are_refused() {
        let key = signing("k", &SEED_A);
        let token = issue(&key, &alice(), now_unix() - 2 * TOKEN_TTL_SECONDS).unwrap();
        assert!(verify(&keys(&[&key]), &token).unwrap_err().contains("expired"));
    }

    #[test]
    fn tampered_claims_are_refused() {
        let key = signing("k", &SEED_A);
        let token = issue(&key, &alice(), now_unix()).unwrap();
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        // Same header and signature, claims of an admin.
        parts[1] = b64(claims("admin"));
        assert!(verify(&keys(&[&key]), &parts.join(".")).unwrap_err().contains("signature"));
    }

    #[test]
    fn alg_none_and_tokens_without_a_kid_are_refused() {
        let key = signing("k", &SEED_A);
        let none = format!("{}.{}.", b64(serde_json::json!({ "alg": "none", "typ": "JWT", "kid": "k" })), b64(claims("admin")));
        assert!(verify(&keys(&[&key]), &none).is_err());
        let unsigned = format!("{}.{}.", b64(serde_json::json!({ "alg": "EdDSA", "kid": "k" })), b64(claims("admin")));
        assert!(verify(&keys(&[&key]), &unsigned).is_err());
        let no_kid = jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), &claims("customer"), key.encoding_key()).unwrap();
        assert!(verify(&keys(&[&key]), &no_kid).unwrap_err().contains("no key"));
    }

    #[test]
    fn hs256_with_the_public_key_as_its_secret_is_refused() {
        let key = signing("k", &SEED_A);
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("k".into());
        // Both the raw public key and its text as jwt_public_keys holds it.
        for secret in [key.public_key().to_vec(), crate::keys::encode_key(&key.public_key()).into_bytes()] {
            let forged = jsonwebtoken::encode(&header, &claims("admin"), &EncodingKey::from_secret(&secret)).unwrap();
            assert!(verify(&keys(&[&key]), &forged).unwrap_err().contains("HS256"));
        }
    }

    #[test]
    fn unknown_roles_are_refused() {
        let key = signing("k", &SEED_A);
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some("k".into());
        let token = jsonwebtoken::encode(&header, &claims("root"), key.encoding_key()).unwrap();
        assert!(verify(&keys(&[&key]), &token).unwrap_err().contains("unknown role"));
    }
}
