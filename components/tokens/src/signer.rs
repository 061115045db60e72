//! What the tokens service does, in plain Rust: load the signing key from
//! its variables (checked against the public keys the gateway verifies
//! with), and sign a token for a user.

use serde::{Deserialize, Serialize};
use shop_common::jwt::{self, TOKEN_TTL_SECONDS};
use shop_common::keys::{self, JWT_PUBLIC_KEYS, JWT_SIGNING_KEY, KeyError, PublicKeys, SigningKey};
use shop_common::{ApiError, Identity, Role};

/// `POST /internal/tokens/issue`: who the token is for.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssueRequest {
    pub user_id: String,
    pub role: String,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct Issued {
    pub token: String,
    pub token_type: String,
    pub expires_in: i64,
}

/// The signing key from the `jwt_signing_key` and `jwt_public_keys`
/// values. A key whose public half the public keys do not list would sign
/// tokens the gateway refuses: that is a misconfiguration too.
pub fn load(signing: Option<&str>, public: Option<&str>) -> Result<SigningKey, KeyError> {
    let key = SigningKey::parse(keys::required(JWT_SIGNING_KEY, signing)?)?;
    let public = PublicKeys::parse(keys::required(JWT_PUBLIC_KEYS, public)?)?;
    key.check_listed_in(&public)?;
    Ok(key)
}

/// A token for the user the request names, issued at `now`.
pub fn issue(key: &SigningKey, request: IssueRequest, now: i64) -> Result<Issued, ApiError> {
    let role = Role::parse(&request.role).ok_or_else(|| ApiError::invalid_field("role", format!("role must be customer or admin, not {:?}", request.role)))?;
    if request.user_id.trim().is_empty() {
        return Err(ApiError::invalid_field("user_id", "user_id must not be empty"));
    }
    let identity = Identity { user_id: request.user_id, role };
    let token = jwt::issue(key, &identity, now).map_err(|e| ApiError::internal(format!("signing the token failed: {e}")))?;
    Ok(Issued { token, token_type: "Bearer".into(), expires_in: TOKEN_TTL_SECONDS })
}

#[cfg(test)]
mod tests {
    use super::*;
    use shop_common::keys::encode_key;
    use shop_common::timestamp::now_unix;

    fn pair(kid: &str, seed: u8) -> (String, String) {
        let key = SigningKey::from_seed(kid, &[seed; 32]);
        (format!("{kid}={}", encode_key(&[seed; 32])), key.public_entry())
    }

    #[test]
    fn issued_tokens_verify_with_the_listed_public_key() {
        let (private, public) = pair("k1", 5);
        let key = load(Some(&private), Some(&public)).unwrap();
        let issued = issue(&key, IssueRequest { user_id: "u-1".into(), role: "admin".into() }, now_unix()).unwrap();
        assert_eq!((issued.token_type.as_str(), issued.expires_in), ("Bearer", 3600));
        let identity = jwt::verify(&PublicKeys::parse(&public).unwrap(), &issued.token).unwrap();
        assert_eq!(identity, Identity { user_id: "u-1".into(), role: Role::Admin });
    }

    #[test]
    fn a_missing_malformed_or_unlisted_key_names_its_variable() {
        let (private, public) = pair("k1", 5);
        let (_, other_public) = pair("k2", 6);
        for (signing, public, variable) in [
            (None, Some(public.as_str()), JWT_SIGNING_KEY),
            (Some(""), Some(public.as_str()), JWT_SIGNING_KEY),
            (Some("k1=short"), Some(public.as_str()), JWT_SIGNING_KEY),
            (Some(private.as_str()), None, JWT_PUBLIC_KEYS),
            (Some(private.as_str()), Some("k1"), JWT_PUBLIC_KEYS),
            (Some(private.as_str()), Some(other_public.as_str()), JWT_PUBLIC_KEYS),
        ] {
            let err = load(signing, public).unwrap_err();
            assert_eq!(err.variable, variable, "{signing:?} / {public:?}: {err}");
            let api = err.to_api_error();
            assert_eq!((api.status, api.details["variable"].as_str()), (503, Some(variable)));
        }
    }

    #[test]
    fn a_bad_request_is_a_400_naming_the_field() {
        let (private, public) = pair("k1", 5);
        let key = load(Some(&private), Some(&public)).unwrap();
        let err = issue(&key, IssueRequest { user_id: "u".into(), role: "root".into() }, now_unix()).unwrap_err();
        assert_eq!((err.status, err.details["field"].as_str()), (400, Some("role")));
        let err = issue(&key, IssueRequest { user_id: " ".into(), role: "customer".into() }, now_unix()).unwrap_err();
        assert_eq!((err.status, err.details["field"].as_str()), (400, Some("user_id")));
    }
}
