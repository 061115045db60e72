//! What the gateway decides from a request's headers, as plain functions
//! over the header list: the request id, the caller (from the bearer
//! token), the rate-limit key, and the headers passed on.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use shop_common::identity::{REQUEST_ID_HEADER, ROLE_HEADER, USER_ID_HEADER, sane_request_id};
use shop_common::keys::{self, JWT_PUBLIC_KEYS, RATE_LIMIT_KEY};
use shop_common::{ApiError, Identity};

/// Header names and raw values, as wasi:http lists them.
pub type Headers = [(String, Vec<u8>)];

/// The client address Spin's HTTP trigger sets (`ip:port`).
pub const CLIENT_ADDR_HEADER: &str = "spin-client-addr";

/// Removed from every request before it is passed on: a client must not
/// name its own identity, and the services never see the token.
pub const STRIPPED: &[&str] = &[USER_ID_HEADER, ROLE_HEADER, "authorization"];

/// Headers under this prefix are the gateway's to set: any a client sends
/// is removed too, so that a header a service reads later (beyond the
/// identity ones) can never be a client's.
pub const RESERVED_PREFIX: &str = "x-souk-";

/// The header names to remove from a request before it is passed on:
/// [`STRIPPED`] and every `x-souk-*` one the client sent, in any case.
pub fn to_strip(headers: &Headers) -> Vec<String> {
    let mut names: Vec<String> = STRIPPED.iter().map(|n| (*n).to_owned()).collect();
    for (name, _) in headers {
        let name = name.to_ascii_lowercase();
        if name.starts_with(RESERVED_PREFIX) && !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

/// The first value of a header (names compared without case).
pub fn header<'a>(headers: &'a Headers, name: &str) -> Option<&'a [u8]> {
    headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_slice())
}

fn header_text<'a>(headers: &'a Headers, name: &str) -> Option<&'a str> {
    header(headers, name).and_then(|v| std::str::from_utf8(v).ok())
}

/// The client's `x-request-id` when it is sane, else `new_id()`.
pub fn request_id(headers: &Headers, new_id: impl FnOnce() -> String) -> String {
    sane_request_id(header_text(headers, REQUEST_ID_HEADER)).map(str::to_owned).unwrap_or_else(new_id)
}

pub fn invalid_token(message: impl Into<String>) -> ApiError {
    ApiError::new(401, "invalid_token", message)
}

/// The bearer token, if the request has an `Authorization` header; a header
/// of another scheme, or an empty token, is a 401.
pub fn bearer_token(headers: &Headers) -> Result<Option<&str>, ApiError> {
    let Some(value) = header(headers, "authorization") else {
        return Ok(None);
    };
    let usage = "the Authorization header must be `Bearer <token>`";
    let value = std::str::from_utf8(value).map_err(|_| invalid_token(usage))?.trim();
    let (scheme, token) = value.split_once(' ').ok_or_else(|| invalid_token(usage))?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(invalid_token(usage));
    }
    Ok(Some(token))
}

/// The caller a token names, checked with the `jwt_public_keys` variable's
/// keys. Without usable keys (unset or malformed) no token can be checked:
/// 503 naming the variable, not the client's fault.
pub fn authenticate(public_keys: Option<&str>, token: &str) -> Result<Identity, ApiError> {
    let keys = keys::required(JWT_PUBLIC_KEYS, public_keys)?;
    crate::verified::caller(keys, token, shop_common::timestamp::now_unix()).map_err(|refused| match refused {
        crate::verified::Refused::Keys(e) => e,
        crate::verified::Refused::Token(message) => invalid_token(message),
    })
}

/// The key the rate-limit slots are picked with (the `rate_limit_key`
/// variable), or 503 naming it: without it anyone could aim at another
/// client's slot.
pub fn slot_key(rate_limit_key: Option<&str>) -> Result<&str, ApiError> {
    Ok(keys::rate_limit_key(keys::required(RATE_LIMIT_KEY, rate_limit_key)?)?)
}

/// Whose bucket a request takes from: the user when the token was valid,
/// else the client's IP address (without the port), else one shared bucket.
/// An IPv6 address counts by its /64 network: one host usually has a whole
/// /64 to pick addresses from, and would otherwise get a bucket per address.
pub fn client_key(caller: Option<&Identity>, headers: &Headers) -> String {
    if let Some(caller) = caller {
        return format!("user:{}", caller.user_id);
    }
    let addr = header_text(headers, CLIENT_ADDR_HEADER).map(str::trim);
    let ip = addr.and_then(|a| a.parse::<SocketAddr>().map(|s| s.ip()).or_else(|_| a.parse::<IpAddr>()).ok());
    match ip.map(|ip| ip.to_canonical()) {
        Some(IpAddr::V4(v4)) => format!("ip:{v4}"),
        Some(IpAddr::V6(v6)) => {
            let network = Ipv6Addr::from_bits(v6.to_bits() & !((1u128 << 64) - 1));
            format!("ip:{network}/64")
        }
        None => "anonymous".to_owned(),
    }
}

/// The headers to set on the request passed on (after removing [`STRIPPED`]).
pub fn forwarded(request_id: &str, caller: Option<&Identity>) -> Vec<(&'static str, String)> {
    let mut set = vec![(REQUEST_ID_HEADER, request_id.to_owned())];
    if let Some(caller) = caller {
        set.push((USER_ID_HEADER, caller.user_id.clone()));
        set.push((ROLE_HEADER, caller.role.as_str().to_owned()));
    }
    set
}

#[cfg(test)]
mod tests {
    use super::*;
    use shop_common::Role;
    use shop_common::jwt::{TOKEN_TTL_SECONDS, issue};
    use shop_common::keys::SigningKey;
    use shop_common::timestamp::now_unix;

    fn headers(pairs: &[(&str, &str)]) -> Vec<(String, Vec<u8>)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.as_bytes().to_vec())).collect()
    }

    fn alice() -> Identity {
        Identity { user_id: "0196a0c0-0000-7000-8000-000000000001".into(), role: Role::Customer }
    }

    #[test]
    fn request_ids_are_kept_when_sane_else_made() {
        let new = || "new-id".to_owned();
        assert_eq!(request_id(&headers(&[("X-Request-Id", "abc-123")]), new), "abc-123");
        assert_eq!(request_id(&headers(&[("x-request-id", "no spaces please")]), new), "new-id");
        assert_eq!(request_id(&headers(&[("x-request-id", &"x".repeat(65))]), new), "new-id");
        assert_eq!(request_id(&[("x-request-id".into(), vec![0xff])], new), "new-id");
        assert_eq!(request_id(&headers(&[]), new), "new-id");
    }

    #[test]
    fn no_authorization_means_no_identity() {
        assert_eq!(bearer_token(&headers(&[("x-souk-user-id", "forged"), ("x-souk-role", "admin")])).unwrap(), None);
    }

    #[test]
    fn bearer_tokens_are_read_and_other_schemes_refused() {
        assert_eq!(bearer_token(&headers(&[("Authorization", "Bearer abc.def.ghi")])).unwrap(), Some("abc.def.ghi"));
        assert_eq!(bearer_token(&headers(&[("authorization", "bearer  abc ")])).unwrap(), Some("abc"));
        for bad in ["Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "abc.def.ghi", ""] {
            let err = bearer_token(&headers(&[("authorization", bad)])).unwrap_err();
            assert_eq!((err.status, err.code), (401, "invalid_token"), "{bad:?}");
        }
    }

    #[test]
    fn tokens_are_verified_with_the_public_keys() {
        let key = SigningKey::from_seed("k1", &[1; 32]);
        let other = SigningKey::from_seed("k1", &[2; 32]);
        let public = key.public_entry();
        let token = issue(&key, &alice(), now_unix()).unwrap();
        assert_eq!(authenticate(Some(&public), &token).unwrap(), alice());
        let err = authenticate(Some(&other.public_entry()), &token).unwrap_err();
        assert_eq!((err.status, err.code), (401, "invalid_token"));
        let expired = issue(&key, &alice(), now_unix() - 2 * TOKEN_TTL_SECONDS).unwrap();
        assert!(authenticate(Some(&public), &expired).unwrap_err().message.contains("expired"));
        assert_eq!(authenticate(Some(&public), "junk").unwrap_err().code, "invalid_token");
        let unknown_kid = issue(&SigningKey::from_seed("k9", &[1; 32]), &alice(), now_unix()).unwrap();
        assert_eq!(authenticate(Some(&public), &unknown_kid).unwrap_err().code, "invalid_token");
    }

    #[test]
    fn unusable_public_keys_are_503_naming_the_variable() {
        let token = issue(&SigningKey::from_seed("k1", &[1; 32]), &alice(), now_unix()).unwrap();
        for keys in [None, Some(""), Some("k1=not-a-key"), Some("no kid")] {
            let err = authenticate(keys, &token).unwrap_err();
            assert_eq!((err.status, err.details["variable"].as_str()), (503, Some("jwt_public_keys")), "{keys:?}: {}", err.message);
        }
    }

    #[test]
    fn the_slot_key_must_be_set_and_long() {
        let long = "0123456789abcdef0123456789abcdef";
        assert_eq!(slot_key(Some(long)).unwrap(), long);
        for bad in [None, Some(""), Some("too-short")] {
            let err = slot_key(bad).unwrap_err();
            assert_eq!((err.status, err.details["variable"].as_str()), (503, Some("rate_limit_key")), "{bad:?}");
        }
    }

    #[test]
    fn rate_limit_keys_name_the_user_or_the_address() {
        let h = headers(&[("spin-client-addr", "203.0.113.9:51234")]);
        assert_eq!(client_key(Some(&alice()), &h), format!("user:{}", alice().user_id));
        assert_eq!(client_key(None, &h), "ip:203.0.113.9");
        assert_eq!(client_key(None, &headers(&[("spin-client-addr", "[2001:db8::1]:443")])), "ip:2001:db8::/64");
        assert_eq!(
            client_key(None, &headers(&[("spin-client-addr", "[2001:db8:0:7:a:b:c:d]:443")])),
            client_key(None, &headers(&[("spin-client-addr", "2001:db8:0:7::1")])),
            "one /64, one bucket"
        );
        assert_ne!(client_key(None, &headers(&[("spin-client-addr", "2001:db8:0:8::1")])), "ip:2001:db8:0:7::/64");
        assert_eq!(client_key(None, &headers(&[("spin-client-addr", "[::ffff:198.51.100.7]:80")])), "ip:198.51.100.7", "IPv4 mapped into IPv6");
        assert_eq!(client_key(None, &headers(&[("spin-client-addr", "198.51.100.7")])), "ip:198.51.100.7");
        assert_eq!(client_key(None, &headers(&[("spin-client-addr", "not an address")])), "anonymous");
        assert_eq!(client_key(None, &headers(&[])), "anonymous");
    }

    #[test]
    fn identity_headers_are_stripped_and_set_only_from_a_token() {
        for name in ["x-souk-user-id", "x-souk-role", "authorization"] {
            assert!(STRIPPED.contains(&name), "{name}");
        }
        let sent = headers(&[("X-Souk-User-Id", "forged"), ("x-souk-tenant", "t"), ("X-SOUK-ROLE", "admin"), ("accept", "*/*")]);
        let stripped = to_strip(&sent);
        for name in ["x-souk-user-id", "x-souk-role", "authorization", "x-souk-tenant"] {
            assert!(stripped.iter().any(|n| n == name), "{name}: {stripped:?}");
        }
        assert!(!stripped.iter().any(|n| n == "accept"));
        assert_eq!(forwarded("r1", None), vec![("x-request-id", "r1".to_owned())]);
        assert_eq!(
            forwarded("r1", Some(&Identity { role: Role::Admin, ..alice() })),
            vec![("x-request-id", "r1".to_owned()), ("x-souk-user-id", alice().user_id), ("x-souk-role", "admin".to_owned())]
        );
    }
}
