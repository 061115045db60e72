//! New keys from the operating system's random source.

use shop_common::keys::{JWT_PUBLIC_KEYS, JWT_SIGNING_KEY, PublicKeys, RATE_LIMIT_KEY, SigningKey, encode_key};

use crate::check::env_name;

/// A kid that says when the key was made is easiest to rotate by; this is
/// only the default.
pub const DEFAULT_KID: &str = "k1";

fn random32() -> Result<[u8; 32], String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| format!("the operating system gave no random bytes: {e}"))?;
    Ok(bytes)
}

/// `export` lines for a new signing key under `kid`, its public-key entry
/// (to keep an old key verifying during a rotation, append its entry after
/// a comma) and a rate-limit key.
pub fn generate(kid: &str) -> Result<String, String> {
    let seed = random32()?;
    let signing_text = format!("{kid}={}", encode_key(&seed));
    // Parsed back, so that a bad kid is refused here with the usual message.
    let signing = SigningKey::parse(&signing_text).map_err(|e| e.to_string())?;
    let public = signing.public_entry();
    PublicKeys::parse(&public).map_err(|e| e.to_string())?;
    let rate_limit_key = encode_key(&random32()?);
    Ok(format!(
        "export {}='{signing_text}'\nexport {}='{public}'\nexport {}='{rate_limit_key}'\n",
        env_name(JWT_SIGNING_KEY),
        env_name(JWT_PUBLIC_KEYS),
        env_name(RATE_LIMIT_KEY)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_pass_the_check_and_differ_each_time() {
        let first = generate("2026-12").unwrap();
        let env: std::collections::HashMap<String, String> = first
            .lines()
            .map(|l| {
                let (name, value) = l.strip_prefix("export ").unwrap().split_once('=').unwrap();
                (name.to_owned(), value.trim_matches('\'').to_owned())
            })
            .chain([(env_name(shop_common::keys::ADMIN_PASSWORD), "a long admin password".to_owned())])
            .collect();
        assert_eq!(crate::check::check(|name| env.get(name).cloned()), Vec::<String>::new());
        assert!(env[&env_name(JWT_SIGNING_KEY)].starts_with("2026-12="));
        assert_ne!(generate("2026-12").unwrap(), first);
    }

    #[test]
    fn a_bad_kid_is_refused() {
        assert!(generate("no spaces").unwrap_err().contains("key id"));
    }
}
