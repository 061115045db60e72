//! Shared test set-up: builds the wasm fixtures once per test run, writes an
//! app folder (spin.toml + runtime config) into a temp dir, starts `souk up`
//! on an ephemeral port and talks HTTP to it like a user.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc;
use std::time::Duration;

/// Waits until `done` holds, or fails naming `what` after 60 s.
pub fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(std::time::Instant::now() < deadline, "{what}: not within 60 s");
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub struct Fixtures {
    /// Every fixture by the placeholder test manifests name it with.
    pub by_placeholder: Vec<(&'static str, PathBuf)>,
}

impl Fixtures {
    /// The wasm file of the fixture with this placeholder (`"{greeter}"`).
    pub fn path(&self, placeholder: &str) -> &Path {
        let found = self.by_placeholder.iter().find(|(p, _)| *p == placeholder);
        &found.unwrap_or_else(|| panic!("no fixture {placeholder}")).1
    }
}

/// Fixture crates: (package, placeholder in test manifests, wasm target).
const FIXTURE_CRATES: [(&str, &str, &str); 16] = [
    ("souk-fixture-guest", "{guest}", WASIP2),
    ("souk-fixture-p2-guest", "{p2}", WASIP2),
    ("souk-fixture-greeter", "{greeter}", WASIP2),
    ("souk-fixture-greeter-user", "{greeter-user}", WASIP2),
    ("souk-fixture-mw-a", "{mw-a}", WASIP2),
    ("souk-fixture-mw-b", "{mw-b}", WASIP2),
    ("souk-fixture-mw-c", "{mw-c}", WASIP2),
    ("souk-fixture-mw-auth", "{mw-auth}", WASIP2),
    ("souk-fixture-mw-raw", "{mw-raw}", WASIP2),
    ("souk-fixture-pricing-probe", "{pricing-probe}", WASIP2),
    ("souk-fixture-redis-subscriber", "{redis-subscriber}", WASIP2),
    ("souk-fixture-cron-guest", "{cron-guest}", WASIP2),
    // As Spin 4.0's template builds: spin-sdk 6, the WASIp3 release candidate.
    ("souk-fixture-spin4-guest", "{spin4}", WASIP2),
    // As Spin 2/3 SDKs build: a core module the host componentizes.
    ("souk-fixture-spin3-guest", "{spin3}", "wasm32-wasip1"),
    ("souk-fixture-spin3-redis-subscriber", "{spin3-redis-subscriber}", "wasm32-wasip1"),
    // A WAGI program: a WASI binary, as `cargo build --target wasm32-wasip1` makes it.
    ("souk-fixture-wagi-guest", "{wagi}", "wasm32-wasip1"),
];
const WASIP2: &str = "wasm32-wasip2";

/// The shop's components, built by `scripts/build-components` (the command
/// `scripts/up` builds them with, so either reuses the other's build) to
/// where the repository's spin.toml names them (`target/wasm32-wasip2/release/`).
fn build_shop_components(root: &Path) {
    let status = Command::new("bash").arg(root.join("scripts/build-components")).status().expect("running scripts/build-components");
    assert!(status.success(), "scripts/build-components failed");
}

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// Builds the fixture components (each for its wasm target), once per test binary run.
pub fn fixtures() -> &'static Fixtures {
    static FIXTURES: OnceLock<Fixtures> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        let root = workspace_root();
        let target_dir = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root.join("target")).join("wasm-fixtures");
        build_shop_components(&root);
        for target in [WASIP2, "wasm32-wasip1"] {
            let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
                .current_dir(&root)
                .args(["build", "--release", "--target", target])
                .args(FIXTURE_CRATES.iter().filter(|c| c.2 == target).flat_map(|(package, _, _)| ["-p", package]))
                .arg("--target-dir")
                .arg(&target_dir)
                .status()
                .expect("running cargo to build the wasm fixtures");
            assert!(status.success(), "building the wasm fixtures for {target} failed");
        }
        let wasm = |package: &str, target: &str| target_dir.join(target).join("release").join(format!("{}.wasm", package.replace('-', "_")));
        let mut by_placeholder: Vec<(&'static str, PathBuf)> =
            FIXTURE_CRATES.iter().map(|(package, placeholder, target)| (*placeholder, wasm(package, target))).collect();
        // The shop's pricing service itself.
        by_placeholder.push(("{pricing}", root.join("target").join(WASIP2).join("release").join("pricing.wasm")));
        Fixtures { by_placeholder }
    })
}

/// An app folder in a temp dir.
pub struct AppDir {
    pub dir: tempfile::TempDir,
}

impl AppDir {
    /// `manifest` may name the fixture files by their placeholders
    /// (`{guest}`, `{p2}`, `{greeter}`, ...; see `FIXTURE_CRATES`).
    pub fn new(manifest: &str) -> Self {
        let f = fixtures();
        let dir = tempfile::tempdir().unwrap();
        let mut text = manifest.to_owned();
        for (placeholder, path) in &f.by_placeholder {
            text = text.replace(placeholder, &toml_path(path));
        }
        std::fs::write(dir.path().join("spin.toml"), text).unwrap();
        Self { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, name: &str, contents: &str) {
        let path = self.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
    }

    pub fn up(&self) -> Souk {
        self.up_with(&[], &[])
    }

    pub fn up_with(&self, args: &[&str], env: &[(&str, &str)]) -> Souk {
        Souk::start(self.path(), args, env).unwrap_or_else(|output| panic!("souk up failed to start:\n{output}"))
    }

    /// Runs `souk up`, expecting it to refuse to start; returns its output.
    pub fn up_fails(&self, args: &[&str], env: &[(&str, &str)]) -> String {
        match Souk::start(self.path(), args, env) {
            Ok(_) => panic!("souk up started, but it should have refused"),
            Err(output) => output,
        }
    }
}

/// An app of the fixture guest as two components, each `(id, allowed
/// outbound host)` served under `/<id>/...`.
pub fn two_guests(name: &str, first: (&str, &str), second: (&str, &str)) -> AppDir {
    let mut manifest = format!("spin_manifest_version = 2\n[application]\nname = \"{name}\"\n");
    for (id, _) in [first, second] {
        manifest.push_str(&format!("[[trigger.http]]\nroute = \"/{id}/...\"\ncomponent = \"{id}\"\n"));
    }
    for (id, allowed) in [first, second] {
        manifest.push_str(&format!("[component.{id}]\nsource = \"{{guest}}\"\nallowed_outbound_hosts = [\"{allowed}\"]\n"));
    }
    AppDir::new(&manifest)
}

pub fn toml_path(p: &Path) -> String {
    p.display().to_string().replace('\\', "/")
}

/// A running `souk up`; killed when dropped.
pub struct Souk {
    child: Child,
    pub url: String,
    pub stdout: std::sync::Mutex<mpsc::Receiver<String>>,
    /// What it printed before `Serving ...` (or, for an app without HTTP
    /// triggers, before `Ready (...)`; `url` is then empty).
    pub startup: Vec<String>,
}

impl Souk {
    /// Starts `souk up` on an app folder that is not a test-made one (the
    /// repository itself); panics with its output if it does not start.
    pub fn start_app(app: &Path, args: &[&str], env: &[(&str, &str)]) -> Souk {
        Souk::start(app, args, env).unwrap_or_else(|output| panic!("souk up failed to start:\n{output}"))
    }

    fn start(app: &Path, args: &[&str], env: &[(&str, &str)]) -> Result<Souk, String> {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_souk"));
        cmd.arg("up").arg("--from").arg(app).args(["--listen", "127.0.0.1:0"]).args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawning souk");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut seen = Vec::new();
        loop {
            match rx.recv_timeout(Duration::from_secs(600)) {
                Ok(line) => {
                    if let Some(url) = line.strip_prefix("Serving ") {
                        return Ok(Souk { child, url: url.trim().to_string(), stdout: std::sync::Mutex::new(rx), startup: seen });
                    }
                    // An app without HTTP triggers: nothing to send requests to.
                    if line.starts_with("Ready (") {
                        return Ok(Souk { child, url: String::new(), stdout: std::sync::Mutex::new(rx), startup: seen });
                    }
                    seen.push(line);
                }
                Err(_) => {
                    let _ = child.kill();
                    let mut err = String::new();
                    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
                    let status = child.wait().unwrap();
                    return Err(format!("{status}\nstdout:\n{}\nstderr:\n{err}", seen.join("\n")));
                }
            }
        }
    }

    /// Waits (up to 10 s) for a line of `souk`'s stdout that satisfies
    /// `pred`; returns the lines before it and that line.
    pub fn lines_until(&self, pred: impl Fn(&str) -> bool) -> Vec<String> {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let mut seen = Vec::new();
        while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
            match self.stdout.lock().unwrap().recv_timeout(left) {
                Ok(line) => {
                    let done = pred(&line);
                    seen.push(line);
                    if done {
                        return seen;
                    }
                }
                Err(_) => break,
            }
        }
        panic!("souk never printed the expected line; it printed {seen:?}");
    }

    /// Waits (up to 10 s) for a line of `souk`'s stdout that satisfies `pred`.
    pub fn wait_for_line(&self, pred: impl Fn(&str) -> bool) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
            match self.stdout.lock().unwrap().recv_timeout(left) {
                Ok(line) if pred(&line) => return line,
                Ok(_) => {}
                Err(_) => break,
            }
        }
        panic!("souk never printed the expected line");
    }

    pub fn get(&self, path: &str) -> Reply {
        self.request("GET", path, None, &[])
    }

    pub fn post(&self, path: &str, body: &str) -> Reply {
        self.request("POST", path, Some(body), &[])
    }

    pub fn request(&self, method: &str, path: &str, body: Option<&str>, headers: &[(&str, &str)]) -> Reply {
        self.request_bytes(method, path, body.map(str::as_bytes), headers)
    }

    /// As [`Souk::request`], with a body that need not be UTF-8.
    pub fn request_bytes(&self, method: &str, path: &str, body: Option<&[u8]>, headers: &[(&str, &str)]) -> Reply {
        let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).timeout_global(Some(Duration::from_secs(60))).build().into();
        let url = format!("{}{path}", self.url);
        let mut builder = http::Request::builder().method(method).uri(&url);
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        let request = builder.body(body.unwrap_or_default().to_vec()).unwrap();
        let mut response = agent.run(request).unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.body_mut().read_to_string().unwrap_or_default();
        Reply { status, body, headers }
    }

    /// The process id of `souk up`.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// CPU time (user + system) the process has used so far.
    pub fn cpu_time(&self) -> Duration {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).unwrap();
        // Fields after the command name (which may hold spaces) start at ')'.
        let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
        let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
        Duration::from_millis(ticks * 10)
    }

    /// Waits until the process has used `cpu` of CPU time since `before`
    /// (a [`Souk::cpu_time`] reading), or panics after `limit`.
    pub fn wait_for_cpu(&self, before: Duration, cpu: Duration, limit: Duration) {
        let started = std::time::Instant::now();
        while self.cpu_time() - before < cpu {
            assert!(started.elapsed() < limit, "souk used under {cpu:?} of CPU in {limit:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until the process uses under a tenth of a core over a half
    /// second, or panics after `limit`.
    pub fn wait_until_idle(&self, limit: Duration) {
        let started = std::time::Instant::now();
        loop {
            let before = self.cpu_time();
            std::thread::sleep(Duration::from_millis(500));
            let used = self.cpu_time() - before;
            if used <= Duration::from_millis(50) {
                return;
            }
            assert!(started.elapsed() < limit, "souk is still busy ({used:?} of CPU in 500 ms) {:?} after the deadlines", started.elapsed());
        }
    }

    /// Sends SIGTERM and waits for the process; returns its exit code.
    pub fn terminate(self) -> Option<i32> {
        self.terminate_with_stderr().0
    }

    /// As [`Souk::terminate`], also returning what it wrote to stderr.
    pub fn terminate_with_stderr(self) -> (Option<i32>, String) {
        let (code, stderr, _) = self.terminate_with_output();
        (code, stderr)
    }

    /// As [`Souk::terminate`], also returning what it wrote to stderr, and
    /// to stdout since the last line a test waited for.
    pub fn terminate_with_output(mut self) -> (Option<i32>, String, Vec<String>) {
        unsafe_kill(self.child.id(), "TERM");
        let mut err = String::new();
        if let Some(mut stderr) = self.child.stderr.take() {
            let _ = stderr.read_to_string(&mut err);
        }
        let status = self.child.wait().unwrap();
        if status.code() != Some(0) {
            use std::os::unix::process::ExitStatusExt;
            eprintln!("souk ended with {status:?} (signal {:?}); its stderr:\n{err}", status.signal());
        }
        // The reader thread ends at the pipe's end, after the last line.
        let stdout = self.stdout.lock().unwrap().iter().collect();
        (status.code(), err, stdout)
    }

    /// Sends SIGKILL: the process stops at once, wherever it is, as in a
    /// crash; requests in flight get no answer. Dropping it reaps it.
    pub fn kill(&self) {
        unsafe_kill(self.child.id(), "KILL");
    }
}

fn unsafe_kill(pid: u32, signal: &str) {
    Command::new("kill").arg(format!("-{signal}")).arg(pid.to_string()).status().unwrap();
}

impl Drop for Souk {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: String,
    pub headers: http::HeaderMap,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The JSON the echo fixture returns.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}
