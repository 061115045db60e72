//! `spin up`'s flags for seeding an app: `--variable` (in each of its
//! forms, before `SPIN_VARIABLE_*`), `--key-value` into the default store,
//! `--sqlite` statements and files against the default database; and the
//! errors that name a bad one.

use crate::harness::AppDir;

const APP: &str = r#"
spin_manifest_version = 2
[application]
name = "flags"
[variables]
region = { default = "manifest" }
tier = { default = "bronze" }
api_key = { default = "none" }
[[trigger.http]]
route = "/..."
component = "app"
[component.app]
source = "{guest}"
key_value_stores = ["default"]
sqlite_databases = ["default"]
[component.app.variables]
region = "{{ region }}"
tier = "{{ tier }}"
api_key = "{{ api_key }}"
"#;

#[test]
fn variables_from_the_command_line_come_before_the_environment() {
    let app = AppDir::new(APP);
    app.write("vars.toml", "tier = \"gold\"\n");
    app.write("key.txt", "s3cret");
    let vars = app.path().join("vars.toml").display().to_string();
    let key = format!("api_key=@{}", app.path().join("key.txt").display());
    let souk = app.up_with(&["--variable", "region=cli", "--variable", &format!("@{vars}"), "--variable", &key], &[("SPIN_VARIABLE_REGION", "env")]);
    assert_eq!(souk.get("/var?name=region").body, "cli");
    assert_eq!(souk.get("/var?name=tier").body, "gold");
    assert_eq!(souk.get("/var?name=api_key").body, "s3cret");
}

#[test]
fn key_values_and_sqlite_statements_seed_the_default_stores() {
    let app = AppDir::new(APP);
    app.write("seed.sql", "INSERT INTO colours (name) VALUES ('teal'); INSERT INTO colours (name) VALUES ('ochre');");
    let seed = format!("@{}", app.path().join("seed.sql").display());
    let souk = app.up_with(&["--key-value", "greeting=hello", "--key-value", "empty=", "--sqlite", "CREATE TABLE colours (name TEXT)", "--sqlite", &seed], &[]);
    assert_eq!(souk.get("/kv/get?store=default&key=greeting").body, "hello");
    assert_eq!(souk.get("/kv/get?store=default&key=empty").status, 200);
    assert_eq!(souk.post("/sql/exec?db=default", "SELECT name FROM colours ORDER BY name").body, "ochre\nteal\n");
}

#[test]
fn a_bad_seed_stops_start_up_naming_the_flag() {
    let app = AppDir::new(APP);
    let output = app.up_fails(&["--sqlite", "CREATE TABLE broken ("], &[]);
    assert!(output.contains("--sqlite `CREATE TABLE broken (`"), "{output}");
    let output = app.up_fails(&["--sqlite", "@missing.sql"], &[]);
    assert!(output.contains("--sqlite @missing.sql: cannot read it"), "{output}");
    let output = app.up_fails(&["--variable", "@vars.yaml"], &[]);
    assert!(output.contains(".json or .toml"), "{output}");
}

#[test]
fn env_and_static_variables_providers_in_the_runtime_config_answer_in_order() {
    let app = AppDir::new(APP);
    app.write("shop.env", "SHOP_TIER=silver\nSHOP_REGION=dotenv\n");
    let dotenv = app.path().join("shop.env").display().to_string();
    app.write("runtime-config.toml", &format!("[[variables_provider]]\ntype = \"env\"\nprefix = \"SHOP\"\ndotenv_path = {dotenv:?}\n"));
    let souk = app.up_with(&[], &[("SHOP_REGION", "env"), ("SPIN_VARIABLE_API_KEY", "default-provider")]);
    assert_eq!(souk.get("/var?name=region").body, "env", "the environment before the dotenv file");
    assert_eq!(souk.get("/var?name=tier").body, "silver");
    assert_eq!(souk.get("/var?name=api_key").body, "default-provider", "Spin's default provider still answers after");

    // A static provider answers with its values, in its place in the order.
    let providers = format!(
        "[[variables_provider]]\ntype = \"static\"\nvalues = {{ tier = \"gold\", api_key = \"static\" }}\n\n\
         [[variables_provider]]\ntype = \"env\"\nprefix = \"SHOP\"\ndotenv_path = {dotenv:?}\n"
    );
    app.write("runtime-config.toml", &providers);
    let souk = app.up_with(&[], &[("SHOP_REGION", "env"), ("SPIN_VARIABLE_API_KEY", "default-provider")]);
    assert_eq!(souk.get("/var?name=tier").body, "gold", "the static provider comes first");
    assert_eq!(souk.get("/var?name=api_key").body, "static", "and before Spin's default provider");
    assert_eq!(souk.get("/var?name=region").body, "env");
    drop(souk);

    app.write("runtime-config.toml", "[[variables_provider]]\ntype = \"vault\"\n");
    let output = app.up_fails(&[], &[]);
    assert!(output.contains("runtime-config.toml") && output.contains("\"vault\" variables provider is not served by souk yet"), "{output}");
}

/// `--from app.wasm`, as `spin up --from app.wasm` runs one: the file alone
/// is an app of one component serving every route, granted nothing.
#[test]
fn a_wasm_file_runs_as_an_app_of_one_component() {
    let guest = crate::harness::fixtures().path("{guest}");
    let state = tempfile::tempdir().unwrap();
    let souk = crate::harness::Souk::start_app(guest, &["--state-dir", &state.path().display().to_string()], &[]);
    assert_eq!(souk.get("/any/path/hello").body, "hello from souk");
    let store = souk.get("/kv/get?store=default&key=k");
    assert_eq!(store.status, 409, "no store is granted: {store:?}");
}
