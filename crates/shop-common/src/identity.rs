//! Who is calling. The gateway middleware verifies the JWT and passes the
//! caller on to the service in these headers, after removing any a client
//! sent itself; services read them and never see the token.

use crate::error::ApiError;

pub const USER_ID_HEADER: &str = "x-souk-user-id";
pub const ROLE_HEADER: &str = "x-souk-role";
/// A request id on every request and response, passed on to internal calls.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Customer,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Customer => "customer",
            Role::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "customer" => Some(Role::Customer),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub user_id: String,
    pub role: Role,
}

impl Identity {
    /// The caller from the identity headers (`header` looks one up by
    /// name); 401 when there is none.
    pub fn from_headers<'a>(header: impl Fn(&str) -> Option<&'a str>) -> Result<Identity, ApiError> {
        let user_id = header(USER_ID_HEADER).filter(|v| !v.is_empty());
        let role = header(ROLE_HEADER).and_then(Role::parse);
        match (user_id, role) {
            (Some(user_id), Some(role)) => Ok(Identity { user_id: user_id.to_owned(), role }),
            _ => Err(ApiError::unauthorized("sign in first: this needs a valid bearer token")),
        }
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// 403 unless the caller is an admin.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.is_admin() { Ok(()) } else { Err(ApiError::forbidden("this needs an admin")) }
    }
}

/// A client-sent request id is kept when it is sane (1 to 64 characters of
/// letters, digits, `-` and `_`); otherwise a new one is made.
pub fn sane_request_id(sent: Option<&str>) -> Option<&str> {
    sent.filter(|id| (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<&'a str> {
        move |name| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| *v)
    }

    #[test]
    fn identity_needs_both_headers_and_a_known_role() {
        let id = Identity::from_headers(headers(&[(USER_ID_HEADER, "u1"), (ROLE_HEADER, "admin")])).unwrap();
        assert!(id.is_admin());
        for pairs in [&[(USER_ID_HEADER, "u1")][..], &[(USER_ID_HEADER, "u1"), (ROLE_HEADER, "root")], &[(USER_ID_HEADER, ""), (ROLE_HEADER, "customer")]] {
            assert_eq!(Identity::from_headers(headers(pairs)).unwrap_err().status, 401);
        }
    }

    #[test]
    fn customers_are_not_admins() {
        let id = Identity { user_id: "u".into(), role: Role::Customer };
        assert_eq!(id.require_admin().unwrap_err().status, 403);
    }

    #[test]
    fn request_ids_are_kept_only_when_sane() {
        assert_eq!(sane_request_id(Some("abc-123_X")), Some("abc-123_X"));
        for bad in ["", "has space", "ü", &"x".repeat(65)] {
            assert_eq!(sane_request_id(Some(bad)), None, "{bad:?}");
        }
    }
}
