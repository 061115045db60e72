//! Password hashing: argon2id, a random salt per password, stored as a PHC
//! string (`$argon2id$v=19$m=...,t=...,p=...$salt$hash`) that carries its own
//! parameters, so they can be raised later without breaking old hashes.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use shop_common::ApiError;

pub struct Passwords(Argon2<'static>);

const STANDARD_M_COST_KIB: u32 = 7 * 1024;
const STANDARD_T_COST: u32 = 5;

impl Passwords {
    /// argon2id with 7 MiB, 5 passes, 1 lane: one of OWASP's equivalent
    /// minimum settings (with 19 MiB and 2 passes, the crate's default). The
    /// memory is the guest's and every sign-up or login in flight holds it,
    /// so the smallest of the equivalent settings keeps a burst of logins
    /// from multiplying the host's memory (BENCHMARKS.md).
    pub fn standard() -> Self {
        use argon2::{Algorithm, Params, Version};
        let params = Params::new(STANDARD_M_COST_KIB, STANDARD_T_COST, 1, None).expect("valid argon2 parameters");
        Passwords(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }

    /// The smallest argon2id, so that native debug-build tests stay fast.
    #[cfg(test)]
    pub fn cheap() -> Self {
        use argon2::{Algorithm, Params, Version};
        let params = Params::new(Params::MIN_M_COST, 1, 1, None).expect("valid argon2 parameters");
        Passwords(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }

    pub fn hash(&self, password: &str) -> Result<String, ApiError> {
        self.0.hash_password(password.as_bytes()).map(|h| h.to_string()).map_err(|e| ApiError::internal(format!("hashing the password failed: {e}")))
    }

    /// Whether `password` matches `stored` (a PHC string; anything else never matches).
    pub fn verify(&self, password: &str, stored: &str) -> bool {
        // Only argon2 hashes are ever stored; refuse anything else outright.
        PasswordHash::new(stored)
            .ok()
            .filter(|h| h.algorithm.as_str().starts_with("argon2"))
            .is_some_and(|h| self.0.verify_password(password.as_bytes(), &h).is_ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_salted_argon2id_and_verify() {
        let p = Passwords::cheap();
        let a = p.hash("correct horse battery").unwrap();
        let b = p.hash("correct horse battery").unwrap();
        assert!(a.starts_with("$argon2id$v=19$"), "{a}");
        assert_ne!(a, b, "each hash has its own salt");
        assert!(p.verify("correct horse battery", &a));
        assert!(!p.verify("correct horse batterY", &a));
        assert!(!p.verify("correct horse battery", "not a hash"));
        assert!(!p.verify("", ""));
    }

    #[test]
    fn standard_is_owasps_7_mib_5_pass_argon2id() {
        let params = Passwords::standard().0.params().clone();
        assert_eq!((params.m_cost(), params.t_cost(), params.p_cost()), (7168, 5, 1));
    }

    #[test]
    fn standard_hashes_carry_their_parameters() {
        // A hash made with other parameters still verifies: they come from the PHC string.
        let cheap = Passwords::cheap().hash("0123456789").unwrap();
        assert!(Passwords::standard().verify("0123456789", &cheap));
    }
}
