//! souk-load against the shop: a short run of each scenario has no
//! unexpected errors, and the checkout and mixed runs find the shop's
//! invariants intact. (Speed is measured in BENCHMARKS.md, not here.)

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

use super::{ADMIN_EMAIL, ADMIN_PASSWORD, Shop};
use crate::harness::workspace_root;

/// Builds the load generator once per test run.
fn souk_load() -> &'static PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| workspace_root().join("target")).join("wasm-fixtures");
        let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .current_dir(workspace_root())
            .args(["build", "--release", "-p", "souk-load", "--target-dir"])
            .arg(&target)
            .status()
            .expect("running cargo to build souk-load");
        assert!(status.success(), "building souk-load failed");
        target.join("release").join("souk-load")
    })
}

/// Runs one scenario for `requests` measured requests; its JSON summary.
fn run(shop: &Shop, scenario: &str, requests: u32) -> Value {
    let output = Command::new(souk_load())
        .args(["--url", &shop.souk.url, "--scenario", scenario, "--json", "--quiet", "--warmup", "0s", "-c", "4"])
        .args(["--requests", &requests.to_string(), "--admin-email", ADMIN_EMAIL, "--admin-password", ADMIN_PASSWORD, "--restock-to", "1000"])
        .output()
        .expect("running souk-load");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "souk-load --scenario {scenario} failed ({}):\n{stdout}\n{stderr}", output.status);
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{stdout}\n{stderr}"))
}

fn total(summary: &Value, field: &str) -> u64 {
    summary["total"][field].as_u64().unwrap_or_else(|| panic!("no total.{field}: {summary}"))
}

/// Each scenario's run has no unexpected status and, for checkout and mixed,
/// the invariants hold.
fn scenarios_pass(shop: &Shop) {
    for (scenario, requests) in [("browse", 300), ("cart", 200), ("checkout", 150), ("mixed", 300)] {
        let summary = run(shop, scenario, requests);
        assert_eq!(total(&summary, "errors"), 0, "{scenario}: {summary}");
        assert!(total(&summary, "requests") >= u64::from(requests), "{scenario}: {summary}");
        if matches!(scenario, "checkout" | "mixed") {
            assert_eq!(summary["check"]["passed"], true, "{scenario}: {}", summary["check"]);
        }
    }
}

#[test]
fn each_scenario_runs_without_unexpected_errors_and_keeps_the_invariants() {
    let shop = Shop::start();
    scenarios_pass(&shop);
    // The checkout run really ordered: paid orders are visible to the audit.
    let audit = shop.admin().get("/api/v1/admin/audit").json();
    assert!(!audit["orders"]["paid_orders"].as_array().unwrap().is_empty(), "{audit}");
}

/// Spin 4 serves up to 128 requests per WASIp3 instance, 16 at once: the shop
/// must keep no per-request state in globals. The same runs under those settings.
#[test]
fn the_scenarios_pass_with_spin_4s_instance_reuse() {
    let shop = Shop::start_with_args(&["--max-instance-reuse-count", "128", "--max-instance-concurrent-reuse-count", "16", "--stats"]);
    scenarios_pass(&shop);
    // Instances really were reused: the browse run alone sent the catalog
    // 300 requests, each of which would otherwise have had its own instance.
    let (_, stderr) = shop.souk.terminate_with_stderr();
    let line = stderr.lines().find(|l| l.starts_with("component `catalog`:")).unwrap_or_else(|| panic!("no stats for catalog:\n{stderr}"));
    let instances: u64 = line["component `catalog`: ".len()..].split(' ').next().unwrap().parse().unwrap();
    assert!(instances < 300, "catalog instances were not reused: {line}");
}
