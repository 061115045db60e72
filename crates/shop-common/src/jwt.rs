//! Bearer tokens: HS256 JWTs signed with the app's `secret` variable. The
//! users service issues them at login; the gateway middleware verifies them
//! and passes the caller on in the identity headers.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::identity::{Identity, Role};

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
pub fn issue(secret: &str, identity: &Identity, now: i64) -> Result<String, String> {
    let claims = Claims { sub: identity.user_id.clone(), role: identity.role.as_str().to_owned(), iat: now, exp: now + TOKEN_TTL_SECONDS };
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(secret.as_bytes())).map_err(|e| e.to_string())
}

/// The caller a token names, if it is an unexpired HS256 token signed with
/// `secret`; otherwise why not.
pub fn verify(secret: &str, token: &str) -> Result<Identity, String> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 0;
    validation.set_required_spec_claims(&["exp", "sub"]);
    let data = jsonwebtoken::decode::<Claims>(token, &DecodingKey::from_secret(secret.as_bytes()), &validation).map_err(|e| match e.kind() {
        jsonwebtoken::errors::ErrorKind::ExpiredSignature => "the token has expired".to_owned(),
        jsonwebtoken::errors::ErrorKind::InvalidSignature => "the token's signature is not valid".to_owned(),
        _ => format!("the token is not valid: {e}"),
    })?;
    let role = Role::parse(&data.claims.role).ok_or_else(|| format!("the token names an unknown role {:?}", data.claims.role))?;
    Ok(Identity { user_id: data.claims.sub, role })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timestamp::now_unix;

    fn alice() -> Identity {
        Identity { user_id: "u-1".into(), role: Role::Customer }
    }

    #[test]
    fn a_token_round_trips_with_the_right_secret_only() {
        let token = issue("s3cret-s3cret", &alice(), now_unix()).unwrap();
        assert_eq!(verify("s3cret-s3cret", &token).unwrap(), alice());
        assert!(verify("another-secret", &token).unwrap_err().contains("signature"));
        assert!(verify("s3cret-s3cret", "not.a.token").is_err());
    }

    #[test]
    fn expired_tokens_are_refused() {
        let token = issue("k", &alice(), now_unix() - 2 * TOKEN_TTL_SECONDS).unwrap();
        assert!(verify("k", &token).unwrap_err().contains("expired"));
    }

    #[test]
    fn tampered_claims_are_refused() {
        let token = issue("k", &alice(), now_unix()).unwrap();
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        // Same header and signature, claims of an admin.
        let admin = Identity { user_id: "u-1".into(), role: Role::Admin };
        let forged = issue("other", &admin, now_unix()).unwrap();
        parts[1] = forged.split('.').nth(1).unwrap().to_owned();
        assert!(verify("k", &parts.join(".")).is_err());
    }
}
