//! A service checks its schema once per instance: with Spin 4's instance
//! reuse, later requests to the same instance skip `PRAGMA user_version`.

use super::Shop;

/// The catalog's SQLite statements after `requests` product lists, from
/// `--stats` at shutdown.
fn catalog_statements(args: &[&str], requests: usize) -> u64 {
    let mut all = vec!["--stats"];
    all.extend_from_slice(args);
    let shop = Shop::start_with_args(&all);
    for _ in 0..requests {
        assert_eq!(shop.anonymous().get("/api/v1/products").status, 200);
    }
    let (code, stderr) = shop.souk.terminate_with_stderr();
    assert_eq!(code, Some(0), "{stderr}");
    let line = stderr.lines().find(|l| l.starts_with("component `catalog`:")).unwrap_or_else(|| panic!("no stats for catalog:\n{stderr}"));
    // "component `catalog`: <n> instances, <m> SQLite statements[, ...]"
    let statements = line.split(", ").nth(1).and_then(|part| part.strip_suffix(" SQLite statements"));
    statements.and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("unreadable stats line: {line}"))
}

#[test]
fn a_reused_instance_checks_the_schema_once() {
    const REQUESTS: usize = 20;
    let fresh = catalog_statements(&[], REQUESTS);
    // A long idle timeout keeps the one instance however slow the machine.
    let reused = catalog_statements(&["--max-instance-reuse-count", "128", "--idle-instance-timeout", "60s"], REQUESTS);
    // The same requests, less one schema check for each that found the
    // instance already checked: about REQUESTS fewer (half of them is
    // margin for an instance the host drops early); a check per request
    // would make the two counts equal.
    assert!(fresh >= reused + (REQUESTS as u64) / 2, "fresh instances: {fresh} statements, one reused instance: {reused}");
}
