//! The shop's keys as its variables hold them, parsed and checked here once
//! for every reader: the `tokens` component (the signing key), the gateway
//! (the public keys, the rate-limit key), `meta`'s health check and the
//! `shop-keys` pre-flight. A malformed value is a [`KeyError`] naming the
//! variable, never a panic.
//!
//! Formats (docs/shop.md "Keys"):
//! - `jwt_signing_key`: `<kid>=<seed>`, the seed being the 32-byte Ed25519
//!   private key in base64url (RFC 4648 §5; padding optional), as in a
//!   JWK's `d`.
//! - `jwt_public_keys`: one or two `<kid>=<public key>` entries separated by
//!   commas, each public key the 32 bytes in base64url (a JWK's `x`). Two
//!   entries let a key be rotated: tokens of the old kid verify until it is
//!   removed.
//! - `rate_limit_key`: at least [`MIN_RATE_LIMIT_KEY_CHARS`] characters.
//! - a kid: 1 to 32 of `A-Z a-z 0-9 . _ -`.

use base64::Engine;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, general_purpose};
use ed25519_dalek::pkcs8::EncodePrivateKey;
use ed25519_dalek::{SigningKey as DalekSigningKey, VerifyingKey};
use jsonwebtoken::{DecodingKey, EncodingKey};

use crate::error::ApiError;

/// The private key that signs tokens: only the `tokens` component lists it.
pub const JWT_SIGNING_KEY: &str = "jwt_signing_key";
/// The public keys tokens are verified with (the gateway, through each
/// component it fronts).
pub const JWT_PUBLIC_KEYS: &str = "jwt_public_keys";
/// The gateway's key for picking a client's rate-limit slot.
pub const RATE_LIMIT_KEY: &str = "rate_limit_key";
/// The first admin's password (users); checked against users' own rule.
pub const ADMIN_PASSWORD: &str = "admin_password";

pub const MAX_KID_CHARS: usize = 32;
/// Rotation needs two; more would only widen what is accepted.
pub const MAX_PUBLIC_KEYS: usize = 2;
/// 128 bits of hex, or more: a rate-limit key nobody can guess.
pub const MIN_RATE_LIMIT_KEY_CHARS: usize = 32;

/// A variable whose value is missing or malformed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyError {
    pub variable: &'static str,
    pub problem: String,
}

impl KeyError {
    pub fn new(variable: &'static str, problem: impl Into<String>) -> Self {
        KeyError { variable, problem: problem.into() }
    }

    /// 503 (the shop is misconfigured, not the client wrong), naming the variable.
    pub fn to_api_error(&self) -> ApiError {
        ApiError::unavailable(self.to_string()).with_details(serde_json::json!({ "variable": self.variable }))
    }
}

impl std::fmt::Display for KeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "variable \"{}\" {}", self.variable, self.problem)
    }
}

impl std::error::Error for KeyError {}

impl From<KeyError> for ApiError {
    fn from(e: KeyError) -> Self {
        e.to_api_error()
    }
}

/// base64url, with or without padding (a JWK leaves it out, other tools put it in).
const BASE64URL: GeneralPurpose =
    GeneralPurpose::new(&base64::alphabet::URL_SAFE, GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent));

/// The 32-byte base64url text of `bytes`, without padding.
pub fn encode_key(bytes: &[u8; 32]) -> String {
    general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn check_kid(variable: &'static str, kid: &str) -> Result<(), KeyError> {
    let ok = (1..=MAX_KID_CHARS).contains(&kid.len()) && kid.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok { Ok(()) } else { Err(KeyError::new(variable, format!("has the key id {kid:?}: a key id is 1 to {MAX_KID_CHARS} of A-Z a-z 0-9 . _ -"))) }
}

/// `<kid>=<32 bytes in base64url>` split and decoded.
fn kid_and_bytes<'a>(variable: &'static str, entry: &'a str, what: &str) -> Result<(&'a str, [u8; 32]), KeyError> {
    let usage = format!("must be <kid>=<{what}: 32 bytes in base64url>");
    let (kid, encoded) = entry.trim().split_once('=').ok_or_else(|| KeyError::new(variable, format!("{usage}; there is no '='")))?;
    let (kid, encoded) = (kid.trim(), encoded.trim());
    check_kid(variable, kid)?;
    let bytes = BASE64URL.decode(encoded).map_err(|e| KeyError::new(variable, format!("{usage}; the {what} of {kid:?} is not base64url: {e}")))?;
    let bytes: [u8; 32] =
        bytes.try_into().map_err(|b: Vec<u8>| KeyError::new(variable, format!("{usage}; the {what} of {kid:?} is {} bytes long, not 32", b.len())))?;
    Ok((kid, bytes))
}

/// The key tokens are signed with, and its id (the `kid` of every token it signs).
pub struct SigningKey {
    pub kid: String,
    key: EncodingKey,
    public: [u8; 32],
}

impl SigningKey {
    /// From the `jwt_signing_key` variable's value.
    pub fn parse(text: &str) -> Result<SigningKey, KeyError> {
        let (kid, seed) = kid_and_bytes(JWT_SIGNING_KEY, text, "private key")?;
        Ok(SigningKey::from_seed(kid, &seed))
    }

    /// `kid` must be a valid key id (see [`SigningKey::parse`]).
    pub fn from_seed(kid: &str, seed: &[u8; 32]) -> SigningKey {
        let dalek = DalekSigningKey::from_bytes(seed);
        // jsonwebtoken signs with a PKCS#8 document: ed25519-dalek writes it.
        let der = dalek.to_pkcs8_der().expect("a 32-byte Ed25519 key always encodes as PKCS#8");
        SigningKey { kid: kid.to_owned(), key: EncodingKey::from_ed_der(der.as_bytes()), public: dalek.verifying_key().to_bytes() }
    }

    pub fn encoding_key(&self) -> &EncodingKey {
        &self.key
    }

    /// The public half, as a `jwt_public_keys` entry lists it.
    pub fn public_key(&self) -> [u8; 32] {
        self.public
    }

    /// `<kid>=<public key>`: the entry to put in `jwt_public_keys`.
    pub fn public_entry(&self) -> String {
        format!("{}={}", self.kid, encode_key(&self.public))
    }

    /// An error unless `public` lists this key's public half under its kid:
    /// otherwise every token it signs would be refused.
    pub fn check_listed_in(&self, public: &PublicKeys) -> Result<(), KeyError> {
        match public.get(&self.kid) {
            Some(key) if key.raw == self.public => Ok(()),
            Some(_) => Err(KeyError::new(
                JWT_PUBLIC_KEYS,
                format!("lists kid {:?} with another public key than jwt_signing_key's ({}): tokens it signs would be refused", self.kid, self.public_entry()),
            )),
            None => Err(KeyError::new(
                JWT_PUBLIC_KEYS,
                format!("does not list jwt_signing_key's kid {:?}: add {} or tokens it signs are refused", self.kid, self.public_entry()),
            )),
        }
    }
}

impl std::fmt::Debug for SigningKey {
    /// Never the key itself.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey").field("kid", &self.kid).finish_non_exhaustive()
    }
}

/// One public key and its id.
pub struct PublicKey {
    pub kid: String,
    raw: [u8; 32],
    key: DecodingKey,
}

impl PublicKey {
    pub fn decoding_key(&self) -> &DecodingKey {
        &self.key
    }

    pub fn raw(&self) -> &[u8; 32] {
        &self.raw
    }
}

/// The keys tokens are verified with, by kid.
pub struct PublicKeys(Vec<PublicKey>);

impl PublicKeys {
    /// From the `jwt_public_keys` variable's value.
    pub fn parse(text: &str) -> Result<PublicKeys, KeyError> {
        let entries: Vec<&str> = text.split(',').map(str::trim).filter(|e| !e.is_empty()).collect();
        if entries.is_empty() {
            return Err(KeyError::new(JWT_PUBLIC_KEYS, "is empty: it must list one or two <kid>=<public key> entries"));
        }
        if entries.len() > MAX_PUBLIC_KEYS {
            return Err(KeyError::new(
                JWT_PUBLIC_KEYS,
                format!("lists {} keys: at most {MAX_PUBLIC_KEYS} (the current one and the one being retired)", entries.len()),
            ));
        }
        let mut keys: Vec<PublicKey> = Vec::with_capacity(entries.len());
        for entry in entries {
            let (kid, raw) = kid_and_bytes(JWT_PUBLIC_KEYS, entry, "public key")?;
            if keys.iter().any(|k| k.kid == kid) {
                return Err(KeyError::new(JWT_PUBLIC_KEYS, format!("lists the kid {kid:?} twice")));
            }
            // A point that is not on the curve, or of small order, verifies nothing honestly.
            let point = VerifyingKey::from_bytes(&raw)
                .map_err(|_| KeyError::new(JWT_PUBLIC_KEYS, format!("the public key of {kid:?} is not an Ed25519 public key")))?;
            if point.is_weak() {
                return Err(KeyError::new(JWT_PUBLIC_KEYS, format!("the public key of {kid:?} is a weak (small-order) Ed25519 key")));
            }
            // jsonwebtoken takes an Ed25519 public key as its 32 raw bytes.
            keys.push(PublicKey { kid: kid.to_owned(), raw, key: DecodingKey::from_ed_der(&raw) });
        }
        Ok(PublicKeys(keys))
    }

    pub fn get(&self, kid: &str) -> Option<&PublicKey> {
        self.0.iter().find(|k| k.kid == kid)
    }

    pub fn kids(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|k| k.kid.as_str())
    }
}

/// The `rate_limit_key` variable's value, checked to be long enough to be unguessable.
pub fn rate_limit_key(text: &str) -> Result<&str, KeyError> {
    let n = text.chars().count();
    if n < MIN_RATE_LIMIT_KEY_CHARS {
        return Err(KeyError::new(RATE_LIMIT_KEY, format!("has {n} characters: it needs at least {MIN_RATE_LIMIT_KEY_CHARS} (e.g. `openssl rand -hex 32`)")));
    }
    Ok(text)
}

/// A variable's value, or the error for one that is not set.
pub fn required<'a>(variable: &'static str, value: Option<&'a str>) -> Result<&'a str, KeyError> {
    value.filter(|v| !v.trim().is_empty()).ok_or_else(|| KeyError::new(variable, "is not set"))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub const SEED_A: [u8; 32] = [7; 32];
    pub const SEED_B: [u8; 32] = [9; 32];

    pub fn signing(kid: &str, seed: &[u8; 32]) -> SigningKey {
        SigningKey::from_seed(kid, seed)
    }

    #[test]
    fn a_signing_key_parses_from_kid_and_base64url_seed() {
        let text = format!("k1={}", encode_key(&SEED_A));
        let key = SigningKey::parse(&text).unwrap();
        assert_eq!(key.kid, "k1");
        assert_eq!(key.public_key(), signing("k1", &SEED_A).public_key());
        // Padding and surrounding spaces are accepted.
        assert_eq!(SigningKey::parse(&format!(" k1 = {}= ", encode_key(&SEED_A))).unwrap().public_key(), key.public_key());
        assert!(!format!("{key:?}").contains(&encode_key(&SEED_A)), "Debug never shows the key");
    }

    #[test]
    fn malformed_signing_keys_name_the_variable_and_the_problem() {
        for (text, says) in [
            ("", "no '='"),
            ("just-a-key", "no '='"),
            (&format!("={}", encode_key(&SEED_A)) as &str, "key id"),
            (&format!("bad kid={}", encode_key(&SEED_A)), "key id"),
            (&format!("{}={}", "k".repeat(33), encode_key(&SEED_A)), "key id"),
            ("k1=not base64!", "not base64url"),
            ("k1=AAAA", "3 bytes long, not 32"),
            (&format!("k1={}", general_purpose::URL_SAFE_NO_PAD.encode([1u8; 64])), "64 bytes long"),
        ] {
            let err = SigningKey::parse(text).unwrap_err();
            assert_eq!(err.variable, JWT_SIGNING_KEY, "{text:?}");
            assert!(err.problem.contains(says), "{text:?}: {err}");
            assert!(err.to_string().starts_with("variable \"jwt_signing_key\""), "{err}");
        }
    }

    #[test]
    fn public_keys_parse_one_or_two_entries() {
        let a = signing("a", &SEED_A);
        let b = signing("b-2026.12_x", &SEED_B);
        let keys = PublicKeys::parse(&format!("{}, {}", b.public_entry(), a.public_entry())).unwrap();
        assert_eq!(keys.kids().collect::<Vec<_>>(), ["b-2026.12_x", "a"]);
        assert_eq!(keys.get("a").unwrap().raw(), &a.public_key());
        assert!(keys.get("c").is_none());
        assert!(PublicKeys::parse(&a.public_entry()).is_ok());
    }

    #[test]
    fn malformed_public_key_sets_name_the_variable() {
        let (a, b) = (signing("a", &SEED_A), signing("b", &SEED_B));
        let c = signing("c", &[3; 32]);
        let mut off_curve = None;
        for byte in 0..=255u8 {
            let mut raw = [byte; 32];
            raw[31] &= 0x7f;
            if VerifyingKey::from_bytes(&raw).is_err() {
                off_curve = Some(raw);
                break;
            }
        }
        // The identity point: of small order, it would accept forged signatures.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        for (text, says) in [
            (String::new(), "is empty"),
            (" , ".into(), "is empty"),
            (format!("{},{},{}", a.public_entry(), b.public_entry(), c.public_entry()), "at most 2"),
            (format!("{},{}", a.public_entry(), a.public_entry()), "twice"),
            ("a=AAAA".into(), "not 32"),
            (format!("a={}", encode_key(&off_curve.expect("some 32-byte string is off the curve"))), "not an Ed25519 public key"),
            (format!("a={}", encode_key(&identity)), "weak"),
            ("a".into(), "no '='"),
        ] {
            let err = PublicKeys::parse(&text).err().unwrap_or_else(|| panic!("{text:?} was accepted"));
            assert_eq!(err.variable, JWT_PUBLIC_KEYS, "{text:?}");
            assert!(err.problem.contains(says), "{text:?}: {err}");
        }
    }

    #[test]
    fn the_signing_key_must_be_listed_with_its_own_public_half() {
        let (a, b) = (signing("a", &SEED_A), signing("b", &SEED_B));
        assert!(a.check_listed_in(&PublicKeys::parse(&format!("{},{}", b.public_entry(), a.public_entry())).unwrap()).is_ok());
        let missing = a.check_listed_in(&PublicKeys::parse(&b.public_entry()).unwrap()).unwrap_err();
        assert!(missing.problem.contains("does not list") && missing.variable == JWT_PUBLIC_KEYS, "{missing}");
        let other = signing("a", &SEED_B);
        let wrong = a.check_listed_in(&PublicKeys::parse(&other.public_entry()).unwrap()).unwrap_err();
        assert!(wrong.problem.contains("another public key"), "{wrong}");
    }

    #[test]
    fn rate_limit_keys_must_be_long() {
        assert_eq!(rate_limit_key(&"x".repeat(32)).unwrap().len(), 32);
        let err = rate_limit_key("short").unwrap_err();
        assert_eq!(err.variable, RATE_LIMIT_KEY);
        assert!(err.problem.contains("at least 32"));
    }

    #[test]
    fn key_errors_are_503_naming_the_variable() {
        let e = required(JWT_PUBLIC_KEYS, Some("  ")).unwrap_err().to_api_error();
        assert_eq!((e.status, e.code), (503, "unavailable"));
        assert_eq!(e.details["variable"], "jwt_public_keys");
        assert_eq!(e.message, "variable \"jwt_public_keys\" is not set");
        assert_eq!(required(JWT_PUBLIC_KEYS, Some("x")).unwrap(), "x");
        assert!(required(JWT_PUBLIC_KEYS, None).is_err());
    }
}
