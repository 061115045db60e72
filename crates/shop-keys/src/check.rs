//! The pre-flight: every key and password variable the shop needs, checked
//! as the components will check them, each problem naming the environment
//! variable and the app variable.

use shop_common::keys::{self, ADMIN_PASSWORD, JWT_PUBLIC_KEYS, JWT_SIGNING_KEY, KeyError, PublicKeys, RATE_LIMIT_KEY, SigningKey};

/// How `souk up` (and Spin) name a variable in the environment.
pub fn env_name(variable: &str) -> String {
    format!("SPIN_VARIABLE_{}", variable.to_ascii_uppercase())
}

fn line(e: &KeyError) -> String {
    format!("{}: {e}", env_name(e.variable))
}

/// One line per problem; none when the shop can start. `env` looks an
/// environment variable up.
pub fn check(env: impl Fn(&str) -> Option<String>) -> Vec<String> {
    let value = |variable: &str| env(&env_name(variable));
    let (signing, public, rate, admin) = (value(JWT_SIGNING_KEY), value(JWT_PUBLIC_KEYS), value(RATE_LIMIT_KEY), value(ADMIN_PASSWORD));
    let mut problems = Vec::new();
    let signing = keys::required(JWT_SIGNING_KEY, signing.as_deref()).and_then(SigningKey::parse).map_err(|e| problems.push(line(&e))).ok();
    let public = keys::required(JWT_PUBLIC_KEYS, public.as_deref()).and_then(PublicKeys::parse).map_err(|e| problems.push(line(&e))).ok();
    if let (Some(signing), Some(public)) = (&signing, &public)
        && let Err(e) = signing.check_listed_in(public)
    {
        problems.push(line(&e));
    }
    if let Err(e) = keys::required(RATE_LIMIT_KEY, rate.as_deref()).and_then(keys::rate_limit_key) {
        problems.push(line(&e));
    }
    if let Err(e) = keys::required(ADMIN_PASSWORD, admin.as_deref()).and_then(users::service::check_admin_password) {
        problems.push(line(&e));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use shop_common::keys::encode_key;
    use std::collections::HashMap;

    fn good() -> HashMap<String, String> {
        let key = SigningKey::from_seed("k1", &[8; 32]);
        HashMap::from([
            (env_name(JWT_SIGNING_KEY), format!("k1={}", encode_key(&[8; 32]))),
            (env_name(JWT_PUBLIC_KEYS), key.public_entry()),
            (env_name(RATE_LIMIT_KEY), "0123456789abcdef0123456789abcdef".to_owned()),
            (env_name(ADMIN_PASSWORD), "a long admin password".to_owned()),
        ])
    }

    fn run(env: &HashMap<String, String>) -> Vec<String> {
        check(|name| env.get(name).cloned())
    }

    #[test]
    fn good_values_pass() {
        assert_eq!(run(&good()), Vec::<String>::new());
    }

    #[test]
    fn each_bad_value_is_named_by_both_its_names() {
        for (variable, value, says) in [
            (JWT_SIGNING_KEY, "k1=AAAA", "not 32"),
            (JWT_SIGNING_KEY, "", "is not set"),
            (JWT_PUBLIC_KEYS, "k1", "no '='"),
            (RATE_LIMIT_KEY, "short", "at least 32"),
            (ADMIN_PASSWORD, "admin", "at least 10 characters"),
        ] {
            let mut env = good();
            env.insert(env_name(variable), value.to_owned());
            let problems = run(&env);
            assert_eq!(problems.len(), 1, "{variable}={value:?}: {problems:?}");
            let expected = format!("SPIN_VARIABLE_{}: variable \"{variable}\"", variable.to_ascii_uppercase());
            assert!(problems[0].starts_with(&expected) && problems[0].contains(says), "{problems:?}");
        }
    }

    #[test]
    fn a_signing_key_missing_from_the_public_keys_is_refused() {
        let mut env = good();
        env.insert(env_name(JWT_PUBLIC_KEYS), SigningKey::from_seed("k2", &[9; 32]).public_entry());
        let problems = run(&env);
        assert!(problems.len() == 1 && problems[0].starts_with("SPIN_VARIABLE_JWT_PUBLIC_KEYS") && problems[0].contains("\"k1\""), "{problems:?}");
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        assert_eq!(run(&HashMap::new()).len(), 4);
    }
}
