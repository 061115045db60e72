//! The shop under a fuzzer: schemathesis (installed by
//! `scripts/install-tools`) generates requests for every operation of the
//! served OpenAPI document, valid ones and mutated ones, signed in as a
//! customer, as the admin, and not at all, and checks each answer: never a
//! 5xx, a documented status code, a documented content type, a body that
//! matches the documented schema.

use std::path::PathBuf;
use std::process::Command;

use super::Shop;
use crate::harness::workspace_root;

/// Test cases per operation and phase in each of the three runs: enough to
/// reach every operation's boundaries (some 2,500 requests a run), few
/// enough for about a minute and a half in all on two cores.
/// `SOUK_FUZZ_EXAMPLES` asks for more.
const EXAMPLES: &str = "50";

/// The checks that make the document a contract.
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance";

/// The `st` binary installed by `scripts/install-tools` (which `scripts/test` runs).
fn schemathesis() -> PathBuf {
    let path = std::env::var_os("SOUK_SCHEMATHESIS")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| workspace_root().join("target")).join("tools/bin/st"));
    assert!(path.exists(), "schemathesis not found at {}: run scripts/install-tools (scripts/test does)", path.display());
    path
}

#[test]
fn every_operation_answers_as_documented_under_generated_and_mutated_requests() {
    let st = schemathesis();
    let shop = Shop::start();
    let customer = shop.customer("fuzz");
    let admin = shop.admin();
    let examples = std::env::var("SOUK_FUZZ_EXAMPLES").unwrap_or_else(|_| EXAMPLES.to_owned());
    // A fixed seed: the same cases every run, so a failure reproduces.
    let seed = std::env::var("SOUK_FUZZ_SEED").unwrap_or_else(|_| "20261202".to_owned());
    let scratch = tempfile::tempdir().unwrap();
    let document = format!("{}/api/v1/openapi.json", shop.souk.url);

    let mut failures = Vec::new();
    for (who, token) in [("anonymous", None), ("a customer", customer.token.as_deref()), ("the admin", admin.token.as_deref())] {
        let mut command = Command::new(&st);
        command
            .args(["--no-color", "run", &document, "--url", &shop.souk.url])
            .args(["--checks", CHECKS, "--max-examples", &examples, "--seed", &seed])
            // Stateful: sequences that follow the data one answer gives to the next request.
            .args(["--phases", "examples,coverage,fuzzing,stateful", "--workers", "1", "--request-timeout", "30"])
            .args(["--suppress-health-check", "all", "--output-truncate", "false", "--generation-database", "none"])
            // Whatever it writes goes to a scratch folder.
            .current_dir(scratch.path())
            .env("NO_COLOR", "1");
        if let Some(token) = token {
            command.args(["--header", &format!("Authorization: Bearer {token}")]);
        }
        let output = command.output().unwrap_or_else(|e| panic!("running {}: {e}", st.display()));
        if !output.status.success() {
            failures.push(format!(
                "--- schemathesis as {who} ({}):\n{}\n{}",
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
    }
    assert!(failures.is_empty(), "schemathesis found answers that break docs/openapi.yaml:\n{}", failures.join("\n"));
}
