//! Command-line interface: `souk up` and `souk build`, with Spin's flags.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::trigger::http::admission::ConcurrencyLimit;

#[derive(Parser)]
#[command(name = "souk", version, about = "Run Spin applications on wasmtime")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Start the application described by a spin.toml.
    Up(Box<UpArgs>),
    /// Run each component's build command.
    Build(BuildArgs),
    /// Push apps to OCI registries, pull them, and log in, as `spin registry`.
    #[command(subcommand)]
    Registry(RegistryCommand),
}

#[derive(Subcommand)]
pub enum RegistryCommand {
    /// Push the app to a registry in Spin's layout, so that `souk up -f`,
    /// `spin up -f` and SpinKube run it from there. Credentials come from
    /// Docker's config file (`souk registry login` or `docker login`).
    Push(PushArgs),
    /// Pull an app into souk's registry cache without running it (what
    /// `souk up -f <reference>` does first), printing its spin.toml.
    Pull(PullArgs),
    /// Check a username and password against a registry and keep them in
    /// Docker's config file, as `docker login` does.
    Login(LoginArgs),
}

#[derive(Args)]
pub struct PullArgs {
    /// What to pull: `<registry>/<repository>:<tag>` or `@sha256:<digest>`.
    pub reference: String,
    /// Speak plain HTTP to the registry (a local one).
    #[arg(short = 'k', long)]
    pub insecure: bool,
}

#[derive(Args)]
pub struct LoginArgs {
    /// The registry: `ghcr.io`, `localhost:5000`.
    pub server: String,
    #[arg(short, long)]
    pub username: String,
    /// The password (or token); prefer --password-stdin, which keeps it
    /// out of the shell's history and the process list.
    #[arg(short, long, required_unless_present = "password_stdin")]
    pub password: Option<String>,
    /// Read the password from standard input.
    #[arg(long, conflicts_with = "password")]
    pub password_stdin: bool,
    /// Speak plain HTTP to the registry (a local one).
    #[arg(short = 'k', long)]
    pub insecure: bool,
}

#[derive(Args)]
pub struct PushArgs {
    /// Where to push: `<registry>/<repository>:<tag>`.
    pub reference: String,
    /// The manifest file, or the folder holding spin.toml.
    #[arg(short = 'f', long = "from", default_value = "spin.toml")]
    pub from: PathBuf,
    /// Run each component's build command first.
    #[arg(long)]
    pub build: bool,
    /// Speak plain HTTP to the registry (a local one).
    #[arg(short = 'k', long)]
    pub insecure: bool,
}

#[derive(Args, Clone)]
pub struct UpArgs {
    /// The manifest file, the folder holding spin.toml, a Wasm file, or a
    /// registry reference (`ghcr.io/org/app:1.0`) when no such file exists.
    #[arg(short = 'f', long = "from", default_value = "spin.toml")]
    pub from: PathBuf,
    /// Run the app pushed as this registry reference.
    #[arg(long = "from-registry", conflicts_with = "from", value_name = "REFERENCE")]
    pub from_registry: Option<String>,
    /// Pull from the registry over plain HTTP (a local one).
    #[arg(short = 'k', long)]
    pub insecure: bool,
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "SPIN_HTTP_LISTEN_ADDR", default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,
    /// If --listen's port is taken, try the next ones (up to 100 more), as `spin up --find-free-port`.
    #[arg(long = "find-free-port")]
    pub find_free_port: bool,
    /// A variable for the app, as `spin up --variable`: NAME=VALUE,
    /// NAME=@FILE (the file's text), or @FILE.json / @FILE.toml (several).
    /// Repeatable, the last value wins; before SPIN_VARIABLE_* and defaults.
    #[arg(long = "variable", value_name = "NAME=VALUE | NAME=@FILE | @FILE.json | @FILE.toml", value_parser = crate::cli_variables::parse)]
    pub variables: Vec<crate::cli_variables::VariableSource>,
    /// Set KEY=VALUE in the app's `default` key-value store at start-up, as
    /// `spin up --key-value` (repeatable).
    #[arg(long = "key-value", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub key_values: Vec<(String, String)>,
    /// Run a SQLite statement, or the statements of @FILE, against the
    /// app's `default` database at start-up, as `spin up --sqlite`
    /// (repeatable, in order).
    #[arg(long = "sqlite", value_name = "STATEMENT | @FILE")]
    pub sqlite_statements: Vec<String>,
    /// Runtime config file (default: runtime-config.toml beside the manifest, if present).
    #[arg(long = "runtime-config-file")]
    pub runtime_config_file: Option<PathBuf>,
    /// Folder for stores, logs and the compile cache (default: .spin beside the manifest).
    #[arg(long = "state-dir")]
    pub state_dir: Option<PathBuf>,
    /// Folder for compiled components (default: cache/ in the state dir). Apps
    /// and test runs that share it compile each component once.
    #[arg(long = "cache-dir", conflicts_with_all = ["disable_cache", "cache"])]
    pub cache_dir: Option<PathBuf>,
    /// Compile every component at start-up and keep nothing compiled on
    /// disk, as `spin up --disable-cache`.
    #[arg(long = "disable-cache", env = "DISABLE_WASMTIME_CACHE", value_parser = clap::builder::BoolishValueParser::new(), conflicts_with = "cache", action = clap::ArgAction::SetTrue)]
    pub disable_cache: bool,
    /// A wasmtime cache configuration file, as `spin up --cache`: its
    /// `[cache] directory` is where compiled components are kept, and
    /// `enabled = false` keeps none.
    #[arg(long = "cache", env = "WASMTIME_CACHE_FILE", value_name = "FILE")]
    pub cache: Option<PathBuf>,
    /// Give each instance its memory when it starts instead of from slots
    /// reserved at start-up (`--max-instances`), as `spin up --disable-pooling`.
    #[arg(long = "disable-pooling")]
    pub disable_pooling: bool,
    /// Compile guests with debug information and without optimizations, so
    /// that a native debugger (gdb, lldb) attached to souk can step through
    /// them, as `spin up --debug-info`.
    #[arg(long = "debug-info")]
    pub debug_info: bool,
    /// Environment variables passed to every component, as KEY=VALUE.
    #[arg(short = 'e', long = "env", value_parser = parse_key_value)]
    pub env: Vec<(String, String)>,
    /// Run the components' build commands before starting.
    #[arg(long)]
    pub build: bool,
    /// Mount the components' `files` folders as they are, not copies, so a
    /// change on disk is seen at once, as `spin up --direct-mounts`: only
    /// folder entries, without `exclude_files`.
    #[arg(long = "direct-mounts")]
    pub direct_mounts: bool,
    /// Time a request may run before it is cut off, e.g. 30s or 500ms.
    #[arg(long = "request-timeout", default_value = "30s", value_parser = parse_duration)]
    pub request_timeout: Duration,
    /// Largest linear memory one component instance may grow to, in MiB.
    #[arg(long = "max-instance-memory-mb", default_value_t = 128)]
    pub max_instance_memory_mb: u64,
    /// Most instances alive at once (pooling allocator slots).
    #[arg(long = "max-instances", default_value_t = 1000)]
    pub max_instances: u32,
    /// Requests one WASIp3 instance may serve before it is dropped (Spin 4's
    /// flag; Spin 4 defaults to 128). 1, the default, is a fresh instance per
    /// request. WASIp2 and Spin 2/3 guests always get a fresh instance.
    #[arg(long = "max-instance-reuse-count", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_instance_reuse_count: u32,
    /// Requests one reused WASIp3 instance may serve at the same time (Spin 4's flag and default).
    #[arg(long = "max-instance-concurrent-reuse-count", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_instance_concurrent_reuse_count: u32,
    /// How long a reused instance with no request waits for the next before it is dropped.
    #[arg(long = "idle-instance-timeout", default_value = "1s", value_parser = parse_duration)]
    pub idle_instance_timeout: Duration,
    /// Most requests from the listener running in a component at once, as N
    /// (every component) or COMPONENT=N (repeatable; overrides N). Others wait
    /// in arrival order, at most --request-timeout, then get a 503. Default: no limit.
    #[arg(long = "max-concurrent-requests", value_name = "[COMPONENT=]N")]
    pub max_concurrent_requests: Vec<ConcurrencyLimit>,
    /// PEM certificate chain to serve HTTPS with (with --tls-key), as `spin up --tls-cert`.
    #[arg(long = "tls-cert", env = "SPIN_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long = "tls-key", env = "SPIN_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Time a client has to send a request's head (line and headers); a
    /// connection that takes longer is answered 408 and closed, an idle one
    /// closed.
    #[arg(long = "header-read-timeout", default_value = "10s", value_parser = parse_duration)]
    pub header_read_timeout: Duration,
    /// Most bytes an HTTP/1 request head may take (the connection's read
    /// buffer), as `spin up --http1-max-buf-size`; a larger head is
    /// answered 431. At least 8192. HTTP/2 heads stay at 64 KiB.
    #[arg(long = "http1-max-buf-size", env = "SPIN_HTTP1_MAX_BUF_SIZE", default_value_t = crate::trigger::http::transport::MAX_HEAD_BYTES, value_parser = parse_buf_size)]
    pub http1_max_buf_size: usize,
    /// Most bytes one request body may hold; a larger one is answered 413.
    #[arg(long = "max-request-body-bytes", default_value_t = 10 << 20)]
    pub max_request_body_bytes: u64,
    /// A route of the app to GET once listening and then every
    /// --probe-interval, as a liveness probe would (e.g. /api/v1/health).
    #[arg(long = "probe", value_name = "PATH", value_parser = parse_probe_path)]
    pub probe: Option<String>,
    /// How often --probe runs.
    #[arg(long = "probe-interval", default_value = "10s", value_parser = parse_duration)]
    pub probe_interval: Duration,
    /// Most bytes of values one SQLite query may return to a guest; a larger
    /// result is refused with an error that says so.
    #[arg(long = "sqlite-max-result-bytes", default_value_t = crate::capabilities::sqlite::DEFAULT_MAX_RESULT_BYTES, value_parser = clap::builder::ValueParser::new(parse_positive_usize))]
    pub sqlite_max_result_bytes: usize,
    /// Quiet console: neither the one-line access log per request nor
    /// component output (`spin up -q`); the log files are still written.
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Run only these components (repeatable; default: all), as `spin up
    /// --component-id`: their triggers, with the middleware and component
    /// dependencies those need. Refused when a component run may chain
    /// (`http://<id>.spin.internal`) to one not run.
    #[arg(short = 'c', long = "component-id", value_name = "ID")]
    pub component_ids: Vec<String>,
    /// Show only these components' output on the console (repeatable), as
    /// `spin up --follow`. Default: every component's.
    #[arg(long = "follow", value_name = "COMPONENT")]
    pub follow: Vec<String>,
    /// Folder for the components' `<id>_stdout.txt` and `_stderr.txt`
    /// (default: logs/ in the state dir); an empty value writes no files,
    /// as `spin up --log-dir`.
    #[arg(short = 'L', long = "log-dir", value_parser = parse_log_dir)]
    pub log_dir: Option<PathBuf>,
    /// Empty the components' log files at start-up instead of appending to
    /// them, as `spin up --truncate-logs`.
    #[arg(long = "truncate-logs")]
    pub truncate_logs: bool,
    /// Let `perf` name guests' functions: `perfmap` writes /tmp/perf-<pid>.map
    /// as compiled code is loaded, as `wasmtime run --profile=perfmap` does.
    #[arg(long = "profile", value_name = "perfmap", value_parser = parse_profile)]
    pub profile: Option<wasmtime::ProfilingStrategy>,
    /// Time the host's per-request instantiation, count instances and SQLite
    /// statements per component, and print a summary at shutdown.
    #[arg(long)]
    pub stats: bool,
    /// Consecutive failures (5xx, not served, past its time) of one
    /// component's calls to another component or outbound host that open
    /// the circuit between them: further calls get 503 at once.
    #[arg(long = "circuit-failures", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    pub circuit_failures: u32,
    /// Those failures count together only within this long of the first.
    #[arg(long = "circuit-window", default_value = "10s", value_parser = parse_duration)]
    pub circuit_window: Duration,
    /// How long an open circuit refuses calls before letting one probe through.
    #[arg(long = "circuit-cooldown", default_value = "5s", value_parser = parse_duration)]
    pub circuit_cooldown: Duration,
    /// The most one chained or outbound call may take (besides the rest of
    /// the calling request's deadline, which always applies): `DURATION`
    /// for every target, `TARGET=DURATION` for one (a component id, or an
    /// outbound host); repeatable. A chained call past it is answered 504.
    #[arg(long = "outbound-timeout", value_name = "[TARGET=]DURATION", value_parser = parse_call_timeout)]
    pub outbound_timeout: Vec<(Option<String>, Duration)>,
    /// How souk writes its messages and access log on stderr: `text`, or
    /// `json` (one object per line, with request id, trace id, component,
    /// route, status and duration for each request).
    #[arg(long = "log-format", value_enum, default_value_t = crate::logs::LogFormat::Text)]
    pub log_format: crate::logs::LogFormat,
    /// Serve Prometheus metrics at http://ADDR/metrics, on a listener of
    /// their own (port 0 picks a free one; the address is printed).
    #[arg(long = "metrics-listen", value_name = "ADDR")]
    pub metrics_listen: Option<std::net::SocketAddr>,
}

#[derive(Args)]
pub struct BuildArgs {
    /// The manifest file, or the folder holding spin.toml.
    #[arg(short = 'f', long = "from", default_value = "spin.toml")]
    pub from: PathBuf,
}

fn parse_key_value(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("expected KEY=VALUE, got `{s}`")),
    }
}

/// Any path, the empty one included (clap's own path parser refuses it).
fn parse_log_dir(s: &str) -> Result<PathBuf, String> {
    Ok(PathBuf::from(s))
}

fn parse_positive_usize(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("expected a positive number of bytes, got `{s}`")),
    }
}

/// hyper's floor for an HTTP/1 read buffer.
fn parse_buf_size(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n >= 8192 => Ok(n),
        _ => Err(format!("expected a number of bytes of 8192 or more, got `{s}`")),
    }
}

fn parse_probe_path(s: &str) -> Result<String, String> {
    match s.parse::<http::uri::PathAndQuery>() {
        Ok(p) if s.starts_with('/') => Ok(p.to_string()),
        _ => Err(format!("expected a path such as /api/v1/health, got `{s}`")),
    }
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let (num, unit) = s.find(|c: char| !c.is_ascii_digit()).map(|i| s.split_at(i)).unwrap_or((s, "s"));
    let n: u64 = num.parse().map_err(|_| format!("expected a duration such as 30s or 500ms, got `{s}`"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        _ => Err(format!("unknown duration unit `{unit}` in `{s}` (use ms, s or m)")),
    }
}

/// `--profile`: only perf's map file; jitdump and VTune are not built in.
fn parse_profile(s: &str) -> Result<wasmtime::ProfilingStrategy, String> {
    match s {
        "perfmap" => Ok(wasmtime::ProfilingStrategy::PerfMap),
        _ => Err(format!("unknown profiler `{s}` (souk supports perfmap)")),
    }
}

/// `--outbound-timeout [TARGET=]DURATION`.
fn parse_call_timeout(s: &str) -> Result<(Option<String>, Duration), String> {
    match s.split_once('=') {
        Some((target, _)) if target.trim().is_empty() => Err(format!("`{s}`: the target before `=` is empty")),
        Some((target, limit)) => Ok((Some(target.trim().to_string()), parse_duration(limit)?)),
        None => Ok((None, parse_duration(s)?)),
    }
}

/// Resolves `--from` to the manifest file: a folder means its spin.toml.
pub fn manifest_path(from: &Path) -> PathBuf {
    if from.is_dir() { from.join("spin.toml") } else { from.to_path_buf() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_profiler_is_perfmap_or_an_error_naming_the_value() {
        assert_eq!(parse_profile("perfmap"), Ok(wasmtime::ProfilingStrategy::PerfMap));
        let e = parse_profile("jitdump").unwrap_err();
        assert!(e.contains("`jitdump`") && e.contains("perfmap"), "{e}");
    }

    #[test]
    fn durations_accept_ms_s_and_m_and_name_bad_units() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("15"), Ok(Duration::from_secs(15)));
        assert!(parse_duration("3h").unwrap_err().contains("`h`"));
        assert!(parse_duration("fast").is_err());
    }

    #[test]
    fn call_timeouts_name_a_target_or_apply_to_all() {
        assert_eq!(parse_call_timeout("2s"), Ok((None, Duration::from_secs(2))));
        assert_eq!(parse_call_timeout("payments=0ms"), Ok((Some("payments".into()), Duration::ZERO)));
        assert!(parse_call_timeout("=1s").is_err());
        assert!(parse_call_timeout("payments=soon").is_err());
    }

    #[test]
    fn env_pairs_need_a_key() {
        assert_eq!(parse_key_value("A=b=c"), Ok(("A".into(), "b=c".into())));
        assert_eq!(parse_key_value("EMPTY="), Ok(("EMPTY".into(), String::new())));
        assert!(parse_key_value("=x").is_err());
        assert!(parse_key_value("novalue").is_err());
    }
}
