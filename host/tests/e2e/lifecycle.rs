//! Start-up, logs, files, environment, the compile cache and shutdown.

use crate::harness::AppDir;

const APP: &str = r#"
spin_manifest_version = 2
[application]
name = "lifecycle"
[[trigger.http]]
route = "/..."
component = "web"
[component.web]
source = "{guest}"
files = [{ source = "assets", destination = "/static" }, "notes.txt"]
environment = { GREETING = "marhaba" }
"#;

#[test]
fn guest_output_files_and_environment_work_and_sigterm_exits_cleanly() {
    let app = AppDir::new(APP);
    app.write("assets/a.txt", "asset contents");
    app.write("notes.txt", "a note");
    app.write("secret.txt", "not mounted");
    let souk = app.up_with(&["-e", "EXTRA=1"], &[]);

    assert_eq!(souk.get("/stdout?msg=written-by-guest").status, 200);
    assert_eq!(souk.get("/file?path=/static/a.txt").body, "asset contents");
    assert_eq!(souk.get("/file?path=/notes.txt").body, "a note");
    assert_eq!(souk.get("/file?path=/secret.txt").status, 404, "only listed files are mounted");
    assert_eq!(souk.get("/env?name=GREETING").body, "marhaba");
    assert_eq!(souk.get("/env?name=EXTRA").body, "1");

    assert_eq!(souk.terminate(), Some(0), "SIGTERM stops souk with exit code 0");
    let out = std::fs::read_to_string(app.path().join(".spin/logs/web_stdout.txt")).unwrap();
    assert!(out.contains("written-by-guest"), "{out}");
    let err = std::fs::read_to_string(app.path().join(".spin/logs/web_stderr.txt")).unwrap();
    assert!(err.contains("err: written-by-guest"), "{err}");
}

#[test]
fn a_second_start_uses_the_compile_cache() {
    let app = AppDir::new(APP);
    app.write("assets/a.txt", "x");
    app.write("notes.txt", "x");
    let first = app.up();
    assert!(first.startup.iter().any(|l| l.contains("(1 compiled, 0 from cache)")), "{:?}", first.startup);
    drop(first);
    let second = app.up();
    assert!(second.startup.iter().any(|l| l.contains("(0 compiled, 1 from cache)")), "{:?}", second.startup);
    assert_eq!(second.get("/hello").status, 200);
    let cache: Vec<_> = std::fs::read_dir(app.path().join(".spin/cache")).unwrap().collect();
    assert_eq!(cache.len(), 1, "one compiled component in the cache");
}

/// `spin up`'s cache flags: `--disable-cache` compiles every time and
/// keeps nothing; `--cache FILE` keeps compiled components in the file's
/// `[cache] directory`; `--disable-pooling` still serves.
#[test]
fn the_cache_and_pooling_flags_of_spin_up_are_honoured() {
    let app = AppDir::new(APP);
    app.write("assets/a.txt", "x");
    app.write("notes.txt", "x");
    for _ in 0..2 {
        let souk = app.up_with(&["--disable-cache"], &[]);
        assert!(souk.startup.iter().any(|l| l.contains("(1 compiled, 0 from cache)")), "{:?}", souk.startup);
    }
    assert!(!app.path().join(".spin/cache").exists(), "--disable-cache keeps nothing compiled");
    let souk = app.up_with(&[], &[("DISABLE_WASMTIME_CACHE", "true")]);
    assert!(souk.startup.iter().any(|l| l.contains("(1 compiled, 0 from cache)")), "{:?}", souk.startup);
    drop(souk);

    app.write("wasmtime-cache.toml", "[cache]\nenabled = true\ndirectory = 'compiled'\ncleanup-interval = '1h'\n");
    let config = app.path().join("wasmtime-cache.toml");
    let config = config.to_str().unwrap();
    let first = app.up_with(&["--cache", config, "--disable-pooling"], &[]);
    assert!(first.startup.iter().any(|l| l.contains("(1 compiled, 0 from cache)")), "{:?}", first.startup);
    assert_eq!(first.get("/hello").status, 200, "served without the pooling allocator");
    drop(first);
    let second = app.up_with(&[], &[("WASMTIME_CACHE_FILE", config)]);
    assert!(second.startup.iter().any(|l| l.contains("(0 compiled, 1 from cache)")), "{:?}", second.startup);
    assert_eq!(std::fs::read_dir(app.path().join("compiled")).unwrap().count(), 1, "compiled into the file's directory");

    app.write("wasmtime-cache.toml", "[cache]\ndirectroy = 'compiled'\n");
    let bad = app.up_fails(&["--cache", config], &[]);
    assert!(bad.contains("wasmtime-cache.toml: cache.directroy: unknown key"), "{bad}");
}

/// `--debug-info`, as `spin up` has it: guests compiled with DWARF for a
/// native debugger (and without optimizations), cached apart from the
/// optimized code, so neither start takes the other's.
#[test]
fn debug_info_compiles_guests_with_dwarf_and_caches_them_apart() {
    let app = AppDir::new(APP);
    app.write("assets/a.txt", "x");
    app.write("notes.txt", "x");
    let optimized = app.up();
    assert_eq!(optimized.get("/hello").status, 200);
    drop(optimized);
    let debug = app.up_with(&["--debug-info"], &[]);
    assert!(debug.startup.iter().any(|l| l.contains("(1 compiled, 0 from cache)")), "{:?}", debug.startup);
    assert_eq!(debug.get("/hello").status, 200, "served from the code built for debugging");
    drop(debug);
    let compiled: Vec<Vec<u8>> = std::fs::read_dir(app.path().join(".spin/cache")).unwrap().map(|f| std::fs::read(f.unwrap().path()).unwrap()).collect();
    assert_eq!(compiled.len(), 2, "each build kept under its own name");
    let with_dwarf = compiled.iter().filter(|bytes| bytes.windows(11).any(|w| w == b".debug_info")).count();
    assert_eq!(with_dwarf, 1, "only the --debug-info build carries DWARF");
    let again = app.up_with(&["--debug-info"], &[]);
    assert!(again.startup.iter().any(|l| l.contains("(0 compiled, 1 from cache)")), "{:?}", again.startup);
}

#[test]
fn souk_build_runs_each_build_command_in_its_workdir_and_names_a_failure() {
    let app = AppDir::new(
        r#"
spin_manifest_version = 2
[application]
name = "builds"
[[trigger.http]]
route = "/a"
component = "a"
[[trigger.http]]
route = "/b"
component = "b"
[component.a]
source = "{guest}"
[component.a.build]
command = "echo built > marker.txt"
workdir = "svc-a"
[component.b]
source = "{guest}"
[component.b.build]
command = "exit 3"
"#,
    );
    std::fs::create_dir_all(app.path().join("svc-a")).unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_souk")).arg("build").arg("--from").arg(app.path()).output().unwrap();
    assert_eq!(std::fs::read_to_string(app.path().join("svc-a/marker.txt")).unwrap(), "built\n");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("component.b.build"), "{stderr}");
}

#[test]
fn a_files_glob_mounts_only_its_matches_minus_exclude_files() {
    let app = AppDir::new(
        r#"
spin_manifest_version = 2
[application]
name = "globs"
[[trigger.http]]
route = "/..."
component = "web"
[component.web]
source = "{guest}"
files = ["static/*.css"]
exclude_files = ["static/draft-*"]
"#,
    );
    app.write("static/site.css", "body {}");
    app.write("static/app.js", "js");
    app.write("static/draft-new.css", "draft");
    app.write("static/nested/deep.css", "deep");
    let souk = app.up();
    assert_eq!(souk.get("/file?path=/static/site.css").body, "body {}");
    for hidden in ["/static/app.js", "/static/draft-new.css", "/static/nested/deep.css"] {
        assert_eq!(souk.get(&format!("/file?path={hidden}")).status, 404, "{hidden} is not mounted");
    }
}

/// `--direct-mounts` mounts a `files` folder itself: a change on disk is
/// seen by the next request. Without it the guest sees the copy made at
/// start-up. A glob entry or `exclude_files` cannot be mounted directly.
#[test]
fn direct_mounts_show_changes_on_disk_at_once() {
    let manifest = |files: &str| {
        format!(
            "spin_manifest_version = 2\n[application]\nname = \"direct\"\n[[trigger.http]]\nroute = \"/...\"\ncomponent = \"web\"\n\
             [component.web]\nsource = \"{{guest}}\"\n{files}\n"
        )
    };
    let app = AppDir::new(&manifest(r#"files = [{ source = "assets", destination = "/site" }, "docs"]"#));
    app.write("assets/page.txt", "first");
    app.write("docs/readme.txt", "read me");
    let direct = app.up_with(&["--direct-mounts"], &[]);
    assert_eq!(direct.get("/file?path=/site/page.txt").body, "first");
    assert_eq!(direct.get("/file?path=/docs/readme.txt").body, "read me");
    app.write("assets/page.txt", "second");
    assert_eq!(direct.get("/file?path=/site/page.txt").body, "second", "the folder itself is mounted");
    drop(direct);

    let copied = app.up();
    app.write("assets/page.txt", "third");
    assert_eq!(copied.get("/file?path=/site/page.txt").body, "second", "without the flag, the copy made at start-up");
    drop(copied);

    let globbed = AppDir::new(&manifest(r#"files = ["static/*.css"]"#));
    globbed.write("static/site.css", "body {}");
    let out = globbed.up_fails(&["--direct-mounts"], &[]);
    assert!(out.contains("component.web.files[0]") && out.contains("only folders"), "{out}");
    let excluding = AppDir::new(&manifest("files = [\"docs\"]\nexclude_files = [\"docs/x\"]"));
    excluding.write("docs/a.txt", "a");
    let out = excluding.up_fails(&["--direct-mounts"], &[]);
    assert!(out.contains("component.web.exclude_files"), "{out}");
}
