//! Tests for loading and validating `spin.toml`.

use std::path::Path;

use super::*;

/// Writes `text` as `spin.toml` in a fresh temp dir and loads it.
pub(crate) fn load_str(text: &str) -> (tempfile::TempDir, AppManifest) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("spin.toml"), text).unwrap();
    let manifest = AppManifest::load(&dir.path().join("spin.toml")).unwrap_or_else(|e| panic!("{e}"));
    (dir, manifest)
}

fn load_err(text: &str) -> ConfigError {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("spin.toml");
    std::fs::write(&file, text).unwrap();
    let err = AppManifest::load(&file).expect_err("manifest should be rejected");
    assert_eq!(err.file, file);
    err
}

/// Loads a bad manifest and checks the error's key, message and display.
fn expect_error(text: &str, key: &str, fragment: &str) -> ConfigError {
    let err = load_err(text);
    let shown = err.to_string();
    assert_eq!(err.key, key, "{shown}");
    assert!(err.message.contains(fragment), "expected {fragment:?} in: {shown}");
    assert!(shown.contains("spin.toml") && shown.contains(key), "{shown}");
    err
}

const HEADER: &str = "spin_manifest_version = 2\n\n[application]\nname = \"shop\"\n";

fn with_header(rest: &str) -> String {
    format!("{HEADER}{rest}")
}

const WEB: &str = "\n[[trigger.http]]\nroute = \"/...\"\ncomponent = \"web\"\n\n[component.web]\nsource = \"web.wasm\"\n";

#[test]
fn minimal_manifest_loads() {
    let (dir, m) = load_str(&with_header(WEB));
    assert_eq!(m.name, "shop");
    assert_eq!(m.file, dir.path().join("spin.toml"));
    assert_eq!(m.dir, dir.path());
    assert!(m.file.is_absolute());
    let web = &m.components["web"];
    assert_eq!(web.id, "web");
    assert_eq!(web.source, dir.path().join("web.wasm"));
    assert_eq!(web.toml_key, "component.web");
    assert_eq!(
        m.http_triggers,
        vec![HttpTrigger {
            index: 0,
            id: "web-http-trigger".into(),
            route: HttpRoute::Path("/...".into()),
            component: "web".into(),
            middleware: vec![],
            executor: HttpExecutor::Spin
        }]
    );
}

#[test]
fn load_accepts_the_app_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("spin.toml"), with_header(WEB)).unwrap();
    let m = AppManifest::load(dir.path()).unwrap();
    assert_eq!(m.file, dir.path().join("spin.toml"));
}

#[test]
fn missing_manifest_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let err = AppManifest::load(dir.path()).unwrap_err();
    assert_eq!(err.file, dir.path().join("spin.toml"));
    assert!(err.to_string().contains("cannot read"), "{err}");
}

#[test]
fn full_manifest_fields_are_converted() {
    let (dir, m) = load_str(
        r#"spin_manifest_version = 2

[application]
name = "shop"
version = "1.2.3"
description = "A shop"
authors = ["someone@example.com"]

[application.trigger.http]
base = "/"

[application.tool.lint]
level = "high"

[variables]
api_key = { required = true, secret = true, description = "key" }
region = { default = "eu" }

[[trigger.http]]
route = "/cart/..."
component = "cart"
executor = { type = "spin" }

[component.cart]
source = "./target/cart.wasm"
description = "Cart"
allowed_outbound_hosts = ["https://api.example.com", "http://self", "https://{{ region }}.example.com"]
key_value_stores = ["default", "cart-data"]
sqlite_databases = ["orders_db"]
environment = { RUST_LOG = "info" }
files = ["static/**/*", { source = "assets", destination = "/www" }, "README.md"]

[component.cart.variables]
key = "{{ api_key }}"
url = "https://{{ region }}.example.com/v1"

[component.cart.build]
command = ["cargo build", "wasm-opt x"]
workdir = "cart"
watch = ["src/**/*.rs"]

[component.cart.tool.clean]
command = "cargo clean"
"#,
    );
    let d = dir.path();
    assert_eq!(m.version.as_deref(), Some("1.2.3"));
    assert_eq!(m.description.as_deref(), Some("A shop"));
    assert_eq!(m.variables["api_key"], VariableDecl { default: None, required: true, secret: true, description: Some("key".into()) });
    assert_eq!(m.variables["region"].default.as_deref(), Some("eu"));
    let c = &m.components["cart"];
    assert_eq!(c.source, d.join("target/cart.wasm"));
    assert_eq!(c.description.as_deref(), Some("Cart"));
    assert_eq!(c.allowed_outbound_hosts.len(), 3);
    assert_eq!(c.key_value_stores, vec!["default", "cart-data"]);
    assert_eq!(c.sqlite_databases, vec!["orders_db"]);
    assert_eq!(c.environment["RUST_LOG"], "info");
    assert_eq!(c.variables["url"], "https://{{ region }}.example.com/v1");
    assert_eq!(
        c.files,
        vec![
            FileMount { source: d.join("static"), destination: "/static".into(), pattern: Some("static/**/*".into()) },
            FileMount { source: d.join("assets"), destination: "/www".into(), pattern: None },
            FileMount { source: d.join("README.md"), destination: "/README.md".into(), pattern: None },
        ]
    );
    let build = c.build.as_ref().unwrap();
    assert_eq!(build.command, "cargo build && wasm-opt x");
    assert_eq!(build.commands, vec!["cargo build", "wasm-opt x"]);
    assert_eq!(build.workdir, d.join("cart"));
    assert_eq!(build.watch, vec!["src/**/*.rs"]);
}

#[test]
fn build_workdir_defaults_to_manifest_dir() {
    let (dir, m) = load_str(&with_header(&format!("{WEB}[component.web.build]\ncommand = \"make\"\n")));
    let build = m.components["web"].build.as_ref().unwrap();
    assert_eq!(build.command, "make");
    assert_eq!(build.workdir, dir.path());
}

#[test]
fn empty_build_command_is_rejected() {
    expect_error(&with_header(&format!("{WEB}[component.web.build]\ncommand = []\n")), "component.web.build.command", "must not be empty");
}

// ---- manifest version ----

#[test]
fn a_spin_version_other_than_1_names_the_key() {
    expect_error("spin_version = \"2\"\nname = \"old\"\ntrigger = { type = \"http\" }\n", "spin_version", "unsupported manifest version");
    let (_dir, old) = load_str("spin_version = \"1\"\nname = \"old\"\ntrigger = { type = \"http\" }\n");
    assert_eq!(old.name, "old", "the older spelling of version 1 loads");
}

#[test]
fn missing_manifest_version_names_the_key() {
    expect_error("[application]\nname = \"x\"\n", "spin_manifest_version", "missing");
}

#[test]
fn other_manifest_versions_name_the_key() {
    for version in ["3", "\"2\"", "1"] {
        let text = format!("spin_manifest_version = {version}\n[application]\nname = \"x\"\n");
        let err = expect_error(&text, "spin_manifest_version", "unsupported manifest version");
        assert!(err.message.starts_with("line 1: "), "{err}");
    }
}

// ---- TOML and serde errors ----

#[test]
fn toml_syntax_error_has_line_number() {
    let err = load_err(&with_header("\n[component.web]\nsource = \"web.wasm\nx = 1\n"));
    assert!(err.message.starts_with("line 7: "), "{err}");
}

#[test]
fn unknown_component_key_names_the_key() {
    let text = with_header("\n[component.cart]\nsource = \"cart.wasm\"\nsorce = \"typo\"\n");
    let err = expect_error(&text, "component.cart.sorce", "unknown field `sorce`");
    assert!(err.message.starts_with("line 8: "), "{err}");
    assert!(err.message.contains("expected one of"), "{err}");
}

#[test]
fn unknown_top_level_key_names_the_key() {
    expect_error(&with_header("\n[componnet.web]\nsource = \"a.wasm\"\n"), "componnet", "unknown field `componnet`");
}

#[test]
fn unknown_application_key_names_the_key() {
    expect_error("spin_manifest_version = 2\n[application]\nname = \"x\"\nnmae = \"y\"\n", "application.nmae", "unknown field `nmae`");
}

#[test]
fn unknown_trigger_key_names_the_key() {
    expect_error(
        &with_header("\n[[trigger.http]]\nroute = \"/\"\ncomponent = \"web\"\nrotue = \"/x\"\n\n[component.web]\nsource = \"w.wasm\"\n"),
        "trigger.http[0].rotue",
        "unknown field `rotue`",
    );
}

#[test]
fn unsupported_trigger_type_names_the_key() {
    expect_error(&with_header("\n[[trigger.sqs]]\nqueue_url = \"x\"\ncomponent = \"web\"\n"), "trigger.sqs", "unknown field `sqs`");
}

#[test]
fn cron_triggers_keep_their_schedule_and_may_define_their_component_inline() {
    let text = with_header(&format!(
        "{WEB}\n[[trigger.cron]]\ncomponent = \"web\"\ncron_expression = \"1/2 * * * * *\"\n\
         [[trigger.cron]]\ncron_expression = \"0 30 9 * * Mon-Fri\"\ncomponent = {{ source = \"job.wasm\", key_value_stores = [\"default\"] }}\n"
    ));
    let (dir, m) = load_str(&text);
    let found: Vec<(usize, &str, &str)> = m.cron_triggers.iter().map(|t| (t.index, t.component.as_str(), t.expression.as_str())).collect();
    assert_eq!(found, [(0, "web", "1/2 * * * * *"), (1, "cron-trigger2-component", "0 30 9 * * Mon-Fri")]);
    assert_eq!(m.components["cron-trigger2-component"].source, dir.path().join("job.wasm"));
}

#[test]
fn a_cron_schedule_is_read_as_spins_cron_trigger_reads_it() {
    let at = |s: &str| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap().and_utc();
    let next = |expression: &str, after: &str| cron_schedule(expression).unwrap().find_next_occurrence(&at(after), false).unwrap();
    // Seconds come first; `1/2` is every odd second.
    assert_eq!(next("1/2 * * * * *", "2026-12-04 10:00:00"), at("2026-12-04 10:00:01"));
    assert_eq!(next("1/2 * * * * *", "2026-12-04 10:00:01"), at("2026-12-04 10:00:03"));
    // A day must match both day fields: the first Friday the 13th after 2026-12-04.
    assert_eq!(next("0 0 12 13 * Fri", "2026-12-04 00:00:00"), at("2027-08-13 12:00:00"));
}

#[test]
fn a_bad_cron_trigger_names_the_key() {
    let cron = |rest: &str| with_header(&format!("{WEB}\n[[trigger.cron]]\n{rest}"));
    expect_error(&cron("component = \"web\"\ncron_expression = \"*/5 * * * *\"\n"), "trigger.cron[0].cron_expression", "six fields");
    expect_error(&cron("component = \"web\"\ncron_expression = \"61 * * * * *\"\n"), "trigger.cron[0].cron_expression", "not a cron expression");
    expect_error(&cron("component = \"nope\"\ncron_expression = \"* * * * * *\"\n"), "trigger.cron[0].component", "no component named `nope`");
    expect_error(&cron("component = \"web\"\n"), "trigger.cron[0]", "missing field `cron_expression`");
}

#[test]
fn redis_triggers_take_their_own_address_or_the_applications() {
    let text = format!(
        "spin_manifest_version = 2\n[application]\nname = \"x\"\n[application.trigger.redis]\naddress = \"redis://{{{{ host }}}}:6379\"\n\
         [variables]\nhost = {{ default = \"localhost\" }}\n{WEB}\n\
         [[trigger.redis]]\nchannel = \"orders\"\ncomponent = \"web\"\n\
         [[trigger.redis]]\nchannel = \"audit\"\ncomponent = \"web\"\naddress = \"redis://other:6380\"\n"
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("spin.toml"), text).unwrap();
    let m = AppManifest::load(dir.path()).unwrap();
    let found: Vec<(&str, &str, &str)> = m.redis_triggers.iter().map(|t| (t.channel.as_str(), t.address.as_str(), t.address_key.as_str())).collect();
    assert_eq!(
        found,
        [("orders", "redis://{{ host }}:6379", "application.trigger.redis.address"), ("audit", "redis://other:6380", "trigger.redis[1].address")]
    );
}

#[test]
fn a_redis_trigger_may_define_its_component_inline() {
    let text = with_header(&format!(
        "{WEB}\n[[trigger.redis]]\nchannel = \"orders\"\naddress = \"redis://h\"\ncomponent = {{ source = \"sub.wasm\", key_value_stores = [\"default\"] }}\n"
    ));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("spin.toml"), text).unwrap();
    let m = AppManifest::load(dir.path()).unwrap();
    let id = &m.redis_triggers[0].component;
    assert_eq!(id, "redis-trigger1-component");
    assert_eq!(m.components[id].key_value_stores, ["default"]);
    assert_eq!(m.components[id].source, dir.path().join("sub.wasm"));
}

#[test]
fn a_redis_trigger_without_a_server_or_component_names_the_key() {
    let redis = |rest: &str| with_header(&format!("{WEB}\n[[trigger.redis]]\nchannel = \"orders\"\n{rest}"));
    expect_error(&redis("component = \"web\"\n"), "trigger.redis[0]", "names no Redis server");
    expect_error(&redis("component = \"nope\"\naddress = \"redis://h\"\n"), "trigger.redis[0].component", "no component named `nope`");
    expect_error(&redis("component = \"web\"\naddress = \"redis://{{ missing }}\"\n"), "trigger.redis[0].address", "undefined variable `missing`");
}

#[test]
fn wrongly_typed_value_names_the_key() {
    expect_error(&with_header(&format!("{WEB}key_value_stores = \"default\"\n")), "component.web.key_value_stores", "invalid type");
}

#[test]
fn missing_component_source_names_the_component() {
    expect_error(&with_header("\n[component.web]\ndescription = \"no source\"\n"), "component.web", "missing field `source`");
}

// ---- application ----

#[test]
fn application_needs_a_name() {
    expect_error("spin_manifest_version = 2\n[application]\nversion = \"1\"\n", "application", "missing field `name`");
    expect_error("spin_manifest_version = 2\n[application]\nname = \"\"\n", "application.name", "must not be empty");
}

#[test]
fn http_base_other_than_root_is_rejected() {
    let text = format!("spin_manifest_version = 2\n[application]\nname = \"x\"\n[application.trigger.http]\nbase = \"/api\"\n{WEB}");
    expect_error(&text, "application.trigger.http.base", "not supported");
}

// ---- components ----

#[test]
fn bad_component_id_is_rejected() {
    let err = expect_error(&with_header("\n[component.bad_id]\nsource = \"a.wasm\"\n"), "component.bad_id", "invalid component id");
    assert!(err.message.contains("'-'"), "{err}");
    expect_error(&with_header("\n[component.2fast]\nsource = \"a.wasm\"\n"), "component.2fast", "invalid component id");
}

#[test]
fn remote_component_source_is_rejected() {
    expect_error(
        &with_header("\n[component.web]\nsource = { url = \"https://x/y.wasm\", digest = \"sha256:00\" }\n"),
        "component.web.source",
        "only local file sources",
    );
}

#[test]
fn invalid_store_label_names_the_key() {
    expect_error(
        &with_header(&format!("{WEB}key_value_stores = [\"default\", \"my store\"]\n")),
        "component.web.key_value_stores",
        "invalid label \"my store\"",
    );
    expect_error(&with_header(&format!("{WEB}sqlite_databases = [\"Bad-Label\"]\n")), "component.web.sqlite_databases", "invalid label");
}

#[test]
fn bad_allowed_outbound_host_names_the_key_and_entry() {
    let err = expect_error(
        &with_header(&format!("{WEB}allowed_outbound_hosts = [\"https://ok.com\", \"example.com\"]\n")),
        "component.web.allowed_outbound_hosts",
        "\"example.com\"",
    );
    assert!(err.message.contains("scheme"), "{err}");
    expect_error(&with_header(&format!("{WEB}allowed_outbound_hosts = [\"http://example.com:port\"]\n")), "component.web.allowed_outbound_hosts", "port");
}

#[test]
fn allowed_outbound_host_template_must_use_declared_variables() {
    expect_error(
        &with_header(&format!("{WEB}allowed_outbound_hosts = [\"https://{{{{ nope }}}}\"]\n")),
        "component.web.allowed_outbound_hosts",
        "undefined variable `nope`",
    );
}

#[test]
fn bad_file_pattern_names_the_entry() {
    expect_error(&with_header(&format!("{WEB}files = [\"ok.txt\", \"../outside/*\"]\n")), "component.web.files[1]", "inside the application directory");
}

#[test]
fn file_placement_with_unknown_key_is_rejected() {
    expect_error(
        &with_header(&format!("{WEB}files = [{{ source = \"a\", dest = \"/a\" }}]\n")),
        "component.web.files[0].dest",
        "unknown field `dest`, expected `source` or `destination`",
    );
}

// ---- variables ----

#[test]
fn bad_variable_name_is_rejected() {
    expect_error(&with_header("\n[variables]\n\"bad+name\" = { required = true }\n"), "variables.\"bad+name\"", "invalid variable name");
    expect_error(&with_header("\n[variables]\nApiKey = { default = \"x\" }\n"), "variables.ApiKey", "invalid variable name");
}

#[test]
fn required_variable_with_default_is_rejected() {
    expect_error(
        &with_header("\n[variables]\nsecret = { required = true, default = \"x\" }\n"),
        "variables.secret",
        "both `required = true` and have a `default`",
    );
}

#[test]
fn unknown_variable_field_names_the_key() {
    expect_error(&with_header("\n[variables]\nsecret = { requird = true }\n"), "variables.secret.requird", "unknown field `requird`");
}

#[test]
fn component_variable_must_reference_declared_variable() {
    let text = with_header(&format!(
        "\n[variables]\nname = {{ default = \"x\" }}\n{WEB}[component.web.variables]\ngreeting = \"hi {{{{ name }}}}\"\ntoken = \"{{{{ secret }}}}\"\n"
    ));
    let err = expect_error(&text, "component.web.variables.token", "undefined variable `secret`");
    assert!(err.message.starts_with("line "), "{err}");
}

#[test]
fn component_variable_name_must_follow_the_rule() {
    expect_error(&with_header(&format!("{WEB}[component.web.variables]\nMyVar = \"x\"\n")), "component.web.variables.MyVar", "invalid variable name");
}

#[test]
fn component_variable_with_unmatched_braces_is_rejected() {
    expect_error(
        &with_header(&format!("\n[variables]\nname = {{ default = \"x\" }}\n{WEB}[component.web.variables]\ngreeting = \"{{{{ name\"\n")),
        "component.web.variables.greeting",
        "unmatched",
    );
}

// ---- triggers ----

#[test]
fn trigger_must_reference_an_existing_component() {
    let text = with_header(
        "\n[[trigger.http]]\nroute = \"/a\"\ncomponent = \"web\"\n\n[[trigger.http]]\nroute = \"/b\"\ncomponent = \"missing\"\n\n[component.web]\nsource = \"w.wasm\"\n",
    );
    let err = expect_error(&text, "trigger.http[1].component", "no component named `missing`");
    assert!(err.message.starts_with("line 12: "), "{err}");
}

#[test]
fn trigger_needs_route_and_component() {
    expect_error(&with_header("\n[[trigger.http]]\ncomponent = \"web\"\n\n[component.web]\nsource = \"w.wasm\"\n"), "trigger.http[0]", "missing field `route`");
}

#[test]
fn inline_component_is_added_with_a_generated_id() {
    let (dir, m) = load_str(&with_header(
        "\n[[trigger.http]]\nroute = \"/a\"\ncomponent = { source = \"a.wasm\", key_value_stores = [\"default\"] }\n\n[[trigger.http]]\nid = \"api\"\nroute = \"/api/...\"\ncomponent = { source = \"api.wasm\" }\n",
    ));
    assert_eq!(m.http_triggers[0].id, "http-trigger1");
    assert_eq!(m.http_triggers[0].component, "http-trigger1-component");
    assert_eq!(m.http_triggers[1].id, "api");
    assert_eq!(m.http_triggers[1].component, "api-component");
    let inline = &m.components["http-trigger1-component"];
    assert_eq!(inline.source, dir.path().join("a.wasm"));
    assert_eq!(inline.key_value_stores, vec!["default"]);
    assert_eq!(inline.toml_key, "trigger.http[0].component");
    assert!(m.components.contains_key("api-component"));
}

#[test]
fn inline_component_errors_name_the_trigger_key() {
    expect_error(
        &with_header("\n[[trigger.http]]\nroute = \"/a\"\ncomponent = { source = \"a.wasm\", sorce = \"b\" }\n"),
        "trigger.http[0].component.sorce",
        "unknown field `sorce`",
    );
}

#[test]
fn generated_trigger_ids_do_not_collide() {
    let (_dir, m) = load_str(&with_header(
        "\n[[trigger.http]]\nroute = \"/a\"\ncomponent = \"web\"\n[[trigger.http]]\nroute = \"/b\"\ncomponent = \"web\"\n\n[component.web]\nsource = \"w.wasm\"\n",
    ));
    assert_eq!(m.http_triggers[0].id, "web-http-trigger");
    assert_eq!(m.http_triggers[1].id, "http-trigger1");
}

#[test]
fn route_must_start_with_a_slash() {
    expect_error(
        &with_header("\n[[trigger.http]]\nroute = \"api\"\ncomponent = \"web\"\n\n[component.web]\nsource = \"w.wasm\"\n"),
        "trigger.http[0].route",
        "must start with `/`",
    );
}

#[test]
fn route_of_wrong_type_explains_what_is_expected() {
    expect_error(
        &with_header("\n[[trigger.http]]\nroute = 42\ncomponent = \"web\"\n\n[component.web]\nsource = \"w.wasm\"\n"),
        "trigger.http[0].route",
        "a route string starting with `/` or `{ private = true }`",
    );
}

#[test]
fn malformed_route_is_rejected() {
    expect_error(
        &with_header("\n[[trigger.http]]\nroute = \"/a/.../b\"\ncomponent = \"web\"\n\n[component.web]\nsource = \"w.wasm\"\n"),
        "trigger.http[0].route",
        "/a/.../b",
    );
}

#[test]
fn private_route_is_parsed_and_kept_out_of_the_router() {
    let (_dir, m) = load_str(&with_header(
        "\n[[trigger.http]]\nroute = { private = true }\ncomponent = \"internal\"\n\n[[trigger.http]]\nroute = \"/\"\ncomponent = \"web\"\n\n[component.internal]\nsource = \"i.wasm\"\n[component.web]\nsource = \"w.wasm\"\n",
    ));
    assert_eq!(m.http_triggers[0].route, HttpRoute::Private);
    let router = m.router().unwrap();
    assert_eq!(router.routes().collect::<Vec<_>>(), vec![("/", "web")]);
    assert_eq!(router.route("/").unwrap().component_id, "web");
}

#[test]
fn private_false_route_is_rejected() {
    expect_error(
        &with_header("\n[[trigger.http]]\nroute = { private = false }\ncomponent = \"web\"\n\n[component.web]\nsource = \"w.wasm\"\n"),
        "trigger.http[0].route",
        "private = false",
    );
}

#[test]
fn duplicate_route_names_both_components() {
    let text = with_header(
        "\n[[trigger.http]]\nroute = \"/api/...\"\ncomponent = \"a\"\n\n[[trigger.http]]\nroute = \"/b\"\ncomponent = \"a\"\n\n[[trigger.http]]\nroute = \"/api/*\"\ncomponent = \"b\"\n\n[component.a]\nsource = \"a.wasm\"\n[component.b]\nsource = \"b.wasm\"\n",
    );
    let err = expect_error(&text, "trigger.http[2].route", "conflicts with route `/api/...`");
    assert!(err.message.contains("component `a`") && err.message.contains("component `b`"), "{err}");
}

#[test]
fn routes_differing_only_by_trailing_slash_conflict() {
    let text = with_header(
        "\n[[trigger.http]]\nroute = \"/x\"\ncomponent = \"a\"\n\n[[trigger.http]]\nroute = \"/x/\"\ncomponent = \"a\"\n\n[component.a]\nsource = \"a.wasm\"\n",
    );
    expect_error(&text, "trigger.http[1].route", "conflicts");
}

#[test]
fn the_wagi_executor_is_read_with_spins_defaults() {
    let trigger =
        |executor: &str| format!("\n[[trigger.http]]\nroute = \"/\"\ncomponent = \"web\"\nexecutor = {executor}\n\n[component.web]\nsource = \"w.wasm\"\n");
    let (_dir, m) = load_str(&with_header(&trigger(r#"{ type = "wagi" }"#)));
    assert_eq!(m.http_triggers[0].executor, HttpExecutor::Wagi(WagiConfig { argv: "${SCRIPT_NAME} ${ARGS}".into(), ignored_entrypoint: None }));
    let (_dir, m) = load_str(&with_header(&trigger(r#"{ type = "wagi", argv = "x ${ARGS}", entrypoint = "main" }"#)));
    assert_eq!(m.http_triggers[0].executor, HttpExecutor::Wagi(WagiConfig { argv: "x ${ARGS}".into(), ignored_entrypoint: Some("main".into()) }));
    let (_dir, m) = load_str(&with_header(&trigger(r#"{ type = "http" }"#)));
    assert_eq!(m.http_triggers[0].executor, HttpExecutor::Spin);

    expect_error(&with_header(&trigger(r#"{ type = "cgi" }"#)), "trigger.http[0].executor.type", "not supported");
    expect_error(&with_header(&trigger(r#"{ type = "spin", argv = "x" }"#)), "trigger.http[0].executor.argv", "\"wagi\"` only");
    let with_middleware = with_header(&format!(
        "{}dependencies.middleware = [{{ component = \"web\" }}]\n",
        "\n[[trigger.http]]\nroute = \"/\"\ncomponent = \"web\"\nexecutor = { type = \"wagi\" }\n"
    )) + "\n[component.web]\nsource = \"w.wasm\"\n";
    expect_error(&with_middleware, "trigger.http[0].dependencies.middleware", "cannot have middleware");
}

// ---- check_sources ----

#[test]
fn check_sources_reports_missing_wasm() {
    let (dir, m) = load_str(&with_header(WEB));
    let err = m.check_sources().unwrap_err();
    assert_eq!(err.key, "component.web.source");
    assert!(err.message.contains(&dir.path().join("web.wasm").display().to_string()), "{err}");
    assert!(err.to_string().contains("spin.toml"), "{err}");
    std::fs::write(dir.path().join("web.wasm"), b"\0asm").unwrap();
    m.check_sources().unwrap();
}

#[test]
fn check_sources_reports_missing_file_mounts() {
    let (dir, m) = load_str(&with_header(&format!("{WEB}files = [\"static/*\"]\n")));
    std::fs::write(dir.path().join("web.wasm"), b"\0asm").unwrap();
    let err = m.check_sources().unwrap_err();
    assert_eq!(err.key, "component.web.files[0]");
    assert!(err.message.contains("static"), "{err}");
    std::fs::create_dir(dir.path().join("static")).unwrap();
    m.check_sources().unwrap();
}

#[test]
fn check_sources_keys_inline_components_by_trigger() {
    let (_dir, m) = load_str(&with_header("\n[[trigger.http]]\nroute = \"/\"\ncomponent = { source = \"in.wasm\" }\n"));
    let err = m.check_sources().unwrap_err();
    assert_eq!(err.key, "trigger.http[0].component.source");
}

#[test]
fn check_sources_rejects_a_directory_as_source() {
    let (dir, m) = load_str(&with_header(WEB));
    std::fs::create_dir(dir.path().join("web.wasm")).unwrap();
    let err = m.check_sources().unwrap_err();
    assert!(err.message.contains("not a file"), "{err}");
    assert!(Path::new(&dir.path().join("web.wasm")).is_dir());
}

const PRICING: &str = "\n[component.pricing]\nsource = \"pricing.wasm\"\n";

#[test]
fn dependencies_by_component_and_path_are_converted() {
    let (dir, m) = load_str(&with_header(&format!(
        "{WEB}{PRICING}
[component.web.dependencies]
\"souk:pricing/quote@0.1.0\" = {{ component = \"pricing\", inherit_configuration = [\"key_value_stores\"] }}
\"souk:tax@0.1.0\" = {{ path = \"deps/tax.wasm\", inherit_configuration = true }}
\"souk:fmt/money\" = {{ path = \"fmt.wasm\", export = \"souk:fmt/currency\" }}
"
    )));
    let deps = &m.components["web"].dependencies;
    assert_eq!(deps.len(), 3);
    let quote = deps.iter().find(|d| d.name.to_string() == "souk:pricing/quote@0.1.0").unwrap();
    assert_eq!(quote.source, DependencySource::Component("pricing".into()));
    assert_eq!(quote.inherit, Inherit::Only([ConfigKind::KeyValueStores].into()));
    let tax = deps.iter().find(|d| d.name.to_string() == "souk:tax@0.1.0").unwrap();
    assert_eq!(tax.source, DependencySource::Path(dir.path().join("deps/tax.wasm")));
    assert_eq!(tax.inherit, Inherit::All);
    let money = deps.iter().find(|d| d.name.to_string() == "souk:fmt/money").unwrap();
    assert_eq!(money.export.as_deref(), Some("souk:fmt/currency"));
    assert_eq!(money.inherit, Inherit::Nothing);
}

#[test]
fn component_wide_inherit_switch_is_the_default_for_its_dependencies() {
    let (_dir, m) = load_str(&with_header(&format!(
        "{WEB}dependencies_inherit_configuration = true\n{PRICING}
[component.web.dependencies]
\"souk:pricing/quote@0.1.0\" = {{ component = \"pricing\" }}
\"souk:pricing/promo@0.1.0\" = {{ component = \"pricing\" }}
"
    )));
    let deps = &m.components["web"].dependencies;
    assert!(deps.iter().all(|d| d.inherit == Inherit::All));
}

#[test]
fn component_wide_and_per_dependency_inheritance_are_exclusive() {
    expect_error(
        &with_header(&format!(
            "{WEB}dependencies_inherit_configuration = true\n{PRICING}
[component.web.dependencies]
\"souk:pricing/quote@0.1.0\" = {{ component = \"pricing\", inherit_configuration = false }}
"
        )),
        "component.web.dependencies",
        "cannot both be given",
    );
}

#[test]
fn a_dependency_component_with_its_own_configuration_is_refused() {
    expect_error(
        &with_header(&format!(
            "{WEB}{PRICING}key_value_stores = [\"default\"]
[component.web.dependencies]
\"souk:pricing/quote@0.1.0\" = {{ component = \"pricing\" }}
"
        )),
        "component.web.dependencies.\"souk:pricing/quote@0.1.0\".component",
        "has configuration of its own (key_value_stores)",
    );
}

#[test]
fn dependency_on_an_unknown_component_names_the_key() {
    expect_error(
        &with_header(&format!("{WEB}[component.web.dependencies]\n\"souk:pricing/quote@0.1.0\" = {{ component = \"nope\" }}\n")),
        "component.web.dependencies.\"souk:pricing/quote@0.1.0\".component",
        "no component named `nope`",
    );
}

#[test]
fn dependency_cycle_is_rejected_with_the_path() {
    expect_error(
        &with_header(&format!(
            "{WEB}[component.web.dependencies]\n\"a:b/c\" = {{ component = \"pricing\" }}\n{PRICING}[component.pricing.dependencies]\n\"a:b/d\" = {{ component = \"web\" }}\n"
        )),
        "component.pricing.dependencies",
        "dependency cycle: pricing -> web -> pricing",
    );
}

#[test]
fn registry_and_url_dependencies_are_refused() {
    expect_error(
        &with_header(&format!("{WEB}[component.web.dependencies]\n\"a:b/c\" = \"1.0.0\"\n")),
        "component.web.dependencies.\"a:b/c\"",
        "registry dependencies",
    );
    expect_error(
        &with_header(&format!("{WEB}[component.web.dependencies]\n\"a:b/c\" = {{ url = \"https://x/y.wasm\", digest = \"sha256:00\" }}\n")),
        "component.web.dependencies.\"a:b/c\"",
        "not supported",
    );
}

#[test]
fn bad_dependency_entries_name_what_is_wrong() {
    expect_error(
        &with_header(&format!("{WEB}[component.web.dependencies]\n\"Bad Name\" = {{ path = \"x.wasm\" }}\n")),
        "component.web.dependencies.\"Bad Name\"",
        "invalid dependency name",
    );
    expect_error(
        &with_header(&format!("{WEB}{PRICING}[component.web.dependencies]\n\"a:b/c\" = {{ path = \"x.wasm\", component = \"pricing\" }}\n")),
        "component.web.dependencies.\"a:b/c\"",
        "not both",
    );
    expect_error(
        &with_header(&format!("{WEB}[component.web.dependencies]\n\"a:b/c\" = {{ path = \"x.wasm\", inherit_configuration = [\"nope\"] }}\n")),
        "component.web.dependencies.\"a:b/c\".inherit_configuration[0]",
        "unknown configuration key \"nope\"",
    );
    expect_error(
        &with_header(&format!("{WEB}[component.web.dependencies]\n\"a:b@1.0.0\" = {{ path = \"x.wasm\" }}\n\"a:b/c@1.0.0\" = {{ path = \"y.wasm\" }}\n")),
        "component.web.dependencies.\"a:b@1.0.0\"",
        "overlaps",
    );
}

#[test]
fn middleware_is_read_in_order_with_its_inheritance() {
    let (_dir, m) = load_str(&with_header(
        "[[trigger.http]]\nroute = \"/...\"\ncomponent = \"web\"\ndependencies.middleware = [{ component = \"auth\", inherit_configuration = [\"variables\"] }, { component = \"log\" }]\n\
         [component.web]\nsource = \"web.wasm\"\n[component.auth]\nsource = \"auth.wasm\"\n[component.log]\nsource = \"log.wasm\"\n",
    ));
    let mw = &m.http_triggers[0].middleware;
    assert_eq!(mw.iter().map(|m| m.component.as_str()).collect::<Vec<_>>(), ["auth", "log"]);
    assert_eq!(mw[0].inherit, Inherit::Only([ConfigKind::Variables].into()));
    assert_eq!(mw[1].inherit, Inherit::Nothing);
}

#[test]
fn middleware_naming_an_unknown_component_is_rejected() {
    expect_error(
        &with_header(
            "[[trigger.http]]\nroute = \"/...\"\ncomponent = \"web\"\ndependencies.middleware = [{ component = \"auth\" }]\n[component.web]\nsource = \"web.wasm\"\n",
        ),
        "trigger.http[0].dependencies.middleware[0].component",
        "no component named `auth`",
    );
}

#[test]
fn static_responses_are_read_and_checked() {
    let text = with_header(
        "\n[[trigger.http]]\nroute = \"/...\"\nstatic_response = { status_code = 404, body = \"not found\" }\n\
         [[trigger.http]]\nroute = \"/bob\"\nstatic_response = { status_code = 302, headers = { location = \"/users/bob\" } }\n\
         [[trigger.http]]\nid = \"plain\"\nroute = \"/default\"\nstatic_response = { body = \"ok\" }\n",
    );
    let (_dir, m) = load_str(&text);
    let first = StaticTrigger { index: 0, id: "http-trigger1".into(), route: "/...".into(), status: 404, headers: vec![], body: Some("not found".into()) };
    assert_eq!(m.static_responses[0], first);
    assert_eq!(m.static_responses[1].headers, [("location".to_string(), "/users/bob".to_string())]);
    assert_eq!((m.static_responses[2].id.as_str(), m.static_responses[2].status), ("plain", 200));
    assert!(m.http_triggers.is_empty());

    let one = |trigger: &str| with_header(&format!("\n[[trigger.http]]\n{trigger}\n{WEB}"));
    expect_error(&one("route = \"/x\"\ncomponent = \"web\"\nstatic_response = { body = \"x\" }"), "trigger.http[0].static_response", "not both");
    expect_error(&one("route = \"/x\""), "trigger.http[0]", "needs a `component`");
    expect_error(&one("route = { private = true }\nstatic_response = { body = \"x\" }"), "trigger.http[0].route", "cannot be private");
    expect_error(&one("route = \"/x\"\nstatic_response = { status_code = 42 }"), "trigger.http[0].static_response.status_code", "not an HTTP status");
    expect_error(
        &one("route = \"/x\"\nstatic_response = { headers = { \"a b\" = \"c\" } }"),
        "trigger.http[0].static_response.headers.\"a b\"",
        "not a header name",
    );
    expect_error(&one("route = \"/...\"\nstatic_response = { body = \"x\" }"), "trigger.http[1].route", "conflicts with route `/...` of a static response");
}

#[test]
fn a_wasm_file_is_an_app_of_one_component_on_every_route() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = dir.path().join("my_app.wasm");
    let m = AppManifest::load(&wasm).unwrap();
    assert_eq!(m.name, "my_app");
    assert_eq!(m.components.len(), 1);
    let (id, component) = m.components.iter().next().unwrap();
    assert_eq!(component.source, wasm);
    assert!(component.allowed_outbound_hosts.is_empty(), "nothing granted");
    assert_eq!((m.http_triggers[0].component.as_str(), &m.http_triggers[0].route), (id.as_str(), &HttpRoute::Path("/...".into())));
    assert!(m.check_sources().unwrap_err().to_string().contains("my_app.wasm"), "a missing file is named");
}

#[test]
fn ai_models_are_accepted_though_no_model_is_served() {
    let (_dir, m) = load_str(&with_header(&format!("{WEB}ai_models = [\"llama2-chat\"]\n")));
    assert_eq!(m.components["web"].ai_models, ["llama2-chat"]);
}
