//! The pre-flight as scripts/up runs it: the real binary, its exit status
//! and what it prints.

use std::process::{Command, Output};

fn shop_keys(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_shop-keys"));
    cmd.args(args);
    for (name, _) in std::env::vars().filter(|(n, _)| n.starts_with("SPIN_VARIABLE_")) {
        cmd.env_remove(name);
    }
    cmd.envs(env.iter().copied());
    cmd.output().expect("running shop-keys")
}

/// A fresh, consistent set from `shop-keys generate`, plus an admin password.
fn generated() -> Vec<(String, String)> {
    let out = shop_keys(&["generate", "--kid", "t1"], &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut env: Vec<(String, String)> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let (name, value) = l.strip_prefix("export ").expect("export lines").split_once('=').unwrap();
            (name.to_owned(), value.trim_matches('\'').to_owned())
        })
        .collect();
    env.push(("SPIN_VARIABLE_ADMIN_PASSWORD".into(), "a long admin password".into()));
    env
}

fn check(env: &[(String, String)]) -> Output {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    shop_keys(&["check"], &env)
}

fn with(env: &[(String, String)], name: &str, value: &str) -> Vec<(String, String)> {
    let mut env: Vec<_> = env.iter().filter(|(k, _)| k != name).cloned().collect();
    env.push((name.to_owned(), value.to_owned()));
    env
}

#[test]
fn generated_keys_pass_the_pre_flight() {
    let out = check(&generated());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn a_malformed_signing_key_is_refused_naming_the_variable() {
    let out = check(&with(&generated(), "SPIN_VARIABLE_JWT_SIGNING_KEY", "t1=c2hvcnQ"));
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("SPIN_VARIABLE_JWT_SIGNING_KEY: variable \"jwt_signing_key\""), "{stderr}");
    assert!(stderr.contains("5 bytes long, not 32"), "{stderr}");
}

#[test]
fn a_malformed_public_key_set_is_refused_naming_the_variable() {
    let out = check(&with(&generated(), "SPIN_VARIABLE_JWT_PUBLIC_KEYS", "t1="));
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("SPIN_VARIABLE_JWT_PUBLIC_KEYS: variable \"jwt_public_keys\""), "{stderr}");
}

#[test]
fn a_short_admin_password_is_refused_naming_the_variable() {
    let out = check(&with(&generated(), "SPIN_VARIABLE_ADMIN_PASSWORD", "admin"));
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("SPIN_VARIABLE_ADMIN_PASSWORD: variable \"admin_password\""), "{stderr}");
    assert!(stderr.contains("at least 10 characters"), "{stderr}");
}

#[test]
fn nothing_set_names_every_variable() {
    let out = check(&[]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for name in ["JWT_SIGNING_KEY", "JWT_PUBLIC_KEYS", "RATE_LIMIT_KEY", "ADMIN_PASSWORD"] {
        assert!(stderr.contains(&format!("SPIN_VARIABLE_{name}: ")), "{name}: {stderr}");
    }
}

#[test]
fn unknown_arguments_print_the_usage() {
    let out = shop_keys(&["frobnicate"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage: shop-keys"));
}
