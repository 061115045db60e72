//! Tokens this instance has already verified. An Ed25519 signature check
//! costs far more in WebAssembly than the rest of the gateway, and a
//! signed-in client sends the same token with every request for an hour;
//! an instance serving many requests (Spin's instance reuse) checks each
//! token once and then only its expiry. An entry is the exact token string
//! whose signature was verified, so a changed token is checked again; the
//! key set an entry was verified with is part of the cache, so other keys
//! start it afresh. Failed checks are not remembered.

use std::cell::RefCell;
use std::collections::HashMap;

use shop_common::Identity;
use shop_common::keys::PublicKeys;

/// Most tokens remembered; past that the cache starts again.
const CAPACITY: usize = 1024;

#[derive(Default)]
struct Verified {
    /// The `jwt_public_keys` value the entries were verified with, parsed.
    keys: Option<(String, PublicKeys)>,
    tokens: HashMap<String, (Identity, i64)>,
}

thread_local! {
    static VERIFIED: RefCell<Verified> = RefCell::new(Verified::default());
}

/// Why a token is refused: the key set is malformed, or the token is bad.
pub enum Refused {
    Keys(shop_common::ApiError),
    Token(String),
}

/// The caller `token` names, verified with the key set `public_keys` (the
/// variable's text) unless this instance verified it before, and unexpired at `now`.
pub fn caller(public_keys: &str, token: &str, now: i64) -> Result<Identity, Refused> {
    VERIFIED.with(|cell| {
        let mut verified = cell.borrow_mut();
        if verified.keys.as_ref().is_none_or(|(text, _)| text != public_keys) {
            let parsed = PublicKeys::parse(public_keys).map_err(|e| Refused::Keys(e.into()))?;
            *verified = Verified { keys: Some((public_keys.to_owned(), parsed)), tokens: HashMap::new() };
        }
        if let Some((identity, expires)) = verified.tokens.get(token) {
            return if now < *expires { Ok(identity.clone()) } else { Err(Refused::Token("the token has expired".into())) };
        }
        let keys = &verified.keys.as_ref().expect("set above").1;
        let (identity, expires) = shop_common::jwt::verify_until(keys, token).map_err(Refused::Token)?;
        if verified.tokens.len() >= CAPACITY {
            verified.tokens.clear();
        }
        verified.tokens.insert(token.to_owned(), (identity.clone(), expires));
        Ok(identity)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use shop_common::Role;
    use shop_common::jwt::{TOKEN_TTL_SECONDS, issue};
    use shop_common::keys::SigningKey;
    use shop_common::timestamp::now_unix;

    fn alice() -> Identity {
        Identity { user_id: "u-1".into(), role: Role::Customer }
    }

    #[test]
    fn a_remembered_token_still_expires_and_other_keys_verify_afresh() {
        let key = SigningKey::from_seed("k1", &[7; 32]);
        let other = SigningKey::from_seed("k2", &[9; 32]);
        let (keys, other_keys) = (key.public_entry(), other.public_entry());
        let now = now_unix();
        let token = issue(&key, &alice(), now).unwrap();
        assert_eq!(caller(&keys, &token, now).ok(), Some(alice()));
        assert_eq!(caller(&keys, &token, now + 1).ok(), Some(alice()), "remembered");
        assert!(matches!(caller(&keys, &token, now + TOKEN_TTL_SECONDS), Err(Refused::Token(_))), "expired though remembered");
        // Under a key set without its key, the same token is refused.
        assert!(matches!(caller(&other_keys, &token, now), Err(Refused::Token(_))));
        assert!(matches!(caller("not a key set", &token, now), Err(Refused::Keys(_))));
    }

    #[test]
    fn an_altered_token_is_checked_again_and_refused() {
        let key = SigningKey::from_seed("k1", &[7; 32]);
        let keys = key.public_entry();
        let now = now_unix();
        let token = issue(&key, &alice(), now).unwrap();
        assert!(caller(&keys, &token, now).is_ok());
        // Another user's claims under this token's signature.
        let bob = issue(&key, &Identity { user_id: "u-2".into(), role: Role::Admin }, now).unwrap();
        let (parts, bob_parts): (Vec<&str>, Vec<&str>) = (token.split('.').collect(), bob.split('.').collect());
        let altered = format!("{}.{}.{}", parts[0], bob_parts[1], parts[2]);
        assert!(matches!(caller(&keys, &altered, now), Err(Refused::Token(_))));
    }
}
