//! Logging: the console (tracing) and each component's stdout/stderr files.

use std::fs::{File, OpenOptions};
use std::path::Path;

use wasmtime_wasi::cli::OutputFile;

pub fn init_console() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SOUK_LOG").unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("souk=info,warn"));
    tracing_subscriber::fmt().with_env_filter(filter).with_target(false).with_writer(std::io::stderr).init();
}

/// A component's stdout and stderr, appended to
/// `<state-dir>/logs/<component>_stdout.txt` and `_stderr.txt` as Spin does.
/// The files are opened once at start-up and shared by every instance.
#[derive(Clone)]
pub struct ComponentLogs {
    pub stdout: OutputFile,
    pub stderr: OutputFile,
}

impl ComponentLogs {
    pub fn open(log_dir: &Path, component_id: &str) -> wasmtime::Result<Self> {
        std::fs::create_dir_all(log_dir)?;
        let open = |suffix: &str| -> wasmtime::Result<File> {
            let path = log_dir.join(format!("{component_id}_{suffix}.txt"));
            OpenOptions::new().create(true).append(true).open(&path).map_err(|e| wasmtime::format_err!("cannot open log file {}: {e}", path.display()))
        };
        Ok(Self { stdout: OutputFile::new(open("stdout")?), stderr: OutputFile::new(open("stderr")?) })
    }
}
