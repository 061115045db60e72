//! The manifests under deploy/spinkube, as committed: they parse, the
//! SpinApp fits the vendored CRD schema, and the deployment gives the app
//! of spin.toml every store and variable it needs. The negative tests
//! change one field of the real manifests and check the failure is seen.

use deploy_check::consistency::{self, RUNTIME_CONFIG_KEY};
use deploy_check::crd::CrdSchema;
use deploy_check::manifests::{self, Document};
use deploy_check::spin_manifest::SpinManifest;
use deploy_check::{spinkube_dir, workspace_root};
use serde_json::{Value, json};

const CRD_FILE: &str = "schema/core.spinkube.dev_spinapps.yaml";
const SERVED_VERSION: &str = "v1alpha1";

fn documents() -> Vec<Document> {
    manifests::load_dir(&spinkube_dir()).unwrap()
}

/// The deployment's manifests, without the vendored CRD itself.
fn deployment() -> Vec<Document> {
    documents().into_iter().filter(|d| d.kind() != Some("CustomResourceDefinition")).collect()
}

fn schema() -> CrdSchema {
    let docs = documents();
    let crd = docs.iter().find(|d| d.file.ends_with(CRD_FILE)).expect("the vendored CRD");
    CrdSchema::from_crd(&crd.value, SERVED_VERSION).unwrap()
}

fn spin_manifest() -> SpinManifest {
    SpinManifest::parse(&std::fs::read_to_string(workspace_root().join("spin.toml")).unwrap()).unwrap()
}

fn spin_app(docs: &mut [Document]) -> &mut Value {
    &mut docs.iter_mut().find(|d| d.kind() == Some("SpinApp")).expect("a SpinApp").value
}

fn runtime_config_text(docs: &mut [Document]) -> &mut Value {
    let secret = docs.iter_mut().find(|d| d.kind() == Some("Secret") && d.name() == Some("souk-runtime-config")).expect("the runtime config Secret");
    &mut secret.value["stringData"][RUNTIME_CONFIG_KEY]
}

fn problems(docs: &[Document]) -> Vec<String> {
    consistency::problems(docs, &spin_manifest())
}

fn assert_one_problem_saying(problems: &[String], says: &str) {
    assert!(problems.len() == 1 && problems[0].contains(says), "expected one problem saying {says:?}, got {problems:#?}");
}

#[test]
fn every_manifest_parses_and_names_its_kind_and_name() {
    let files = manifests::yaml_files(&spinkube_dir()).unwrap();
    assert!(files.len() >= 5, "{files:?}");
    let docs = documents();
    for doc in &docs {
        assert!(doc.api_version().is_some() && doc.kind().is_some() && doc.name().is_some(), "{} lacks apiVersion, kind or metadata.name", doc.describe());
    }
    for file in &files {
        assert!(docs.iter().any(|d| &d.file == file), "{} holds no document", file.display());
    }
    let kinds: Vec<&str> = docs.iter().filter_map(Document::kind).collect();
    for kind in ["SpinApp", "Secret", "Service", "Deployment", "PersistentVolumeClaim", "CustomResourceDefinition"] {
        assert!(kinds.contains(&kind), "no {kind} in {kinds:?}");
    }
    assert_eq!(manifests::of_kind(&docs, "SpinApp").count(), 1, "one SpinApp runs the shop");
}

#[test]
fn the_spin_app_fits_the_crd_schema_of_the_served_version() {
    let schema = schema();
    assert_eq!(schema.api_version, "core.spinkube.dev/v1alpha1");
    let docs = deployment();
    for app in manifests::of_kind(&docs, "SpinApp") {
        assert_eq!(schema.problems(&app.value), Vec::<String>::new(), "{}", app.describe());
    }
}

#[test]
fn a_spin_app_without_an_executor_is_refused() {
    let mut docs = deployment();
    spin_app(&mut docs)["spec"].as_object_mut().unwrap().remove("executor");
    let problems = schema().problems(spin_app(&mut docs));
    assert_one_problem_saying(&problems, "executor");
}

#[test]
fn a_spin_app_with_a_field_of_the_wrong_type_is_refused() {
    let mut docs = deployment();
    spin_app(&mut docs)["spec"]["replicas"] = json!("1");
    let problems = schema().problems(spin_app(&mut docs));
    assert!(problems.len() == 1 && problems[0].starts_with("/spec/replicas:"), "{problems:?}");

    let mut docs = deployment();
    spin_app(&mut docs)["spec"]["checks"]["readiness"]["periodSeconds"] = json!("10s");
    assert!(schema().problems(spin_app(&mut docs)).iter().any(|p| p.starts_with("/spec/checks/readiness/periodSeconds:")));
}

#[test]
fn a_spin_app_with_a_misspelt_field_is_refused() {
    let mut docs = deployment();
    spin_app(&mut docs)["spec"]["runtimeConfig"]["loadFromSecrets"] = json!("souk-runtime-config");
    let problems = schema().problems(spin_app(&mut docs));
    assert!(problems.len() == 1 && problems[0].starts_with("/spec/runtimeConfig:") && problems[0].contains("loadFromSecrets"), "{problems:?}");
}

#[test]
fn the_deployment_gives_the_app_every_store_variable_and_route_it_needs() {
    assert_eq!(problems(&deployment()), Vec::<String>::new());
}

#[test]
fn the_runtime_config_secret_is_toml_with_redis_for_cart_and_ratelimit() {
    let mut docs = deployment();
    let app = docs.iter().find(|d| d.kind() == Some("SpinApp")).unwrap();
    let config = consistency::runtime_config(app, &docs).unwrap();
    for label in ["cart", "ratelimit"] {
        assert_eq!(config.key_value_stores[label].kind, "redis", "{label}");
    }
    assert_ne!(config.key_value_stores["cart"].url, config.key_value_stores["ratelimit"].url, "carts and buckets in separate Redis databases");
    *runtime_config_text(&mut docs) = json!("[key_value_store.cart\ntype = \"redis\"\n");
    assert_one_problem_saying(&problems(&docs), "runtime config:");
}

#[test]
fn a_store_label_missing_from_the_runtime_config_is_seen() {
    let mut docs = deployment();
    let text = runtime_config_text(&mut docs);
    let without_orders = text.as_str().unwrap().replace("[sqlite_database.orders]", "[sqlite_database.orderz]");
    *text = json!(without_orders);
    let problems = problems(&docs);
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert!(problems[0].contains("no [sqlite_database.orders]") && problems[1].contains("[sqlite_database.orderz] is used by no component"), "{problems:#?}");
}

#[test]
fn a_required_variable_without_a_source_is_seen() {
    let mut docs = deployment();
    let variables = spin_app(&mut docs)["spec"]["variables"].as_array_mut().unwrap();
    variables.retain(|v| v["name"] != "rate_limit_key");
    assert_one_problem_saying(&problems(&docs), "required variable rate_limit_key has no value source");
}

#[test]
fn a_variable_unknown_to_spin_toml_or_a_missing_secret_key_is_seen() {
    let mut docs = deployment();
    spin_app(&mut docs)["spec"]["variables"].as_array_mut().unwrap().push(json!({ "name": "rate_limit_rsp", "value": "5" }));
    assert_one_problem_saying(&problems(&docs), "variable rate_limit_rsp is not in spin.toml");

    let mut docs = deployment();
    let variables = spin_app(&mut docs)["spec"]["variables"].as_array_mut().unwrap();
    let signing = variables.iter_mut().find(|v| v["name"] == "jwt_signing_key").unwrap();
    signing["valueFrom"]["secretKeyRef"]["key"] = json!("jwt_private_key");
    assert_one_problem_saying(&problems(&docs), "reads key jwt_private_key of Secret souk-keys, which has no such key");

    let mut docs = deployment();
    let variables = spin_app(&mut docs)["spec"]["variables"].as_array_mut().unwrap();
    *variables.iter_mut().find(|v| v["name"] == "admin_password").unwrap() = json!({ "name": "admin_password", "value": "in plain text" });
    assert_one_problem_saying(&problems(&docs), "variable admin_password is secret in spin.toml but written in plain text");
}

#[test]
fn more_replicas_with_sqlite_files_are_seen() {
    let mut docs = deployment();
    spin_app(&mut docs)["spec"]["replicas"] = json!(3);
    assert_one_problem_saying(&problems(&docs), "replicas is 3 while SQLite databases are files");
}

#[test]
fn a_sqlite_file_off_the_volume_is_seen() {
    let mut docs = deployment();
    let text = runtime_config_text(&mut docs);
    let moved = text.as_str().unwrap().replace("/data/sqlite_db_payments.db", "/tmp/sqlite_db_payments.db");
    *text = json!(moved);
    assert_one_problem_saying(&problems(&docs), "[sqlite_database.payments] path /tmp/sqlite_db_payments.db is on no volumeMount");
}

#[test]
fn a_redis_url_at_no_service_is_seen() {
    let mut docs = deployment();
    let text = runtime_config_text(&mut docs);
    let moved = text.as_str().unwrap().replace("redis://souk-redis:6379/1", "redis://redis:6379/1");
    *text = json!(moved);
    assert_one_problem_saying(&problems(&docs), "[key_value_store.ratelimit] points at redis, which is no Service");
}

#[test]
fn a_probe_on_no_route_is_seen() {
    let mut docs = deployment();
    spin_app(&mut docs)["spec"]["checks"]["readiness"]["httpGet"]["path"] = json!("/healthz");
    assert_one_problem_saying(&problems(&docs), "the readiness probe's path /healthz is no route");
}

#[test]
fn a_components_list_that_leaves_one_out_is_seen() {
    let mut docs = deployment();
    let mut ids: Vec<String> = spin_manifest().components.into_keys().collect();
    spin_app(&mut docs)["spec"]["components"] = json!(ids);
    assert_eq!(problems(&docs), Vec::<String>::new(), "every component listed is the same as none listed");
    ids.retain(|id| id != "pricing");
    spin_app(&mut docs)["spec"]["components"] = json!(ids);
    assert_one_problem_saying(&problems(&docs), "spec.components leaves out component pricing");
}
