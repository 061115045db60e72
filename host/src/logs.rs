//! Logging: the console (tracing), and each component's stdout and stderr,
//! as `spin up` shows them: appended to `<log-dir>/<component>_stdout.txt`
//! and `_stderr.txt`, and written to souk's own stdout and stderr with each
//! line prefixed by `[<component>] `, unless `--quiet` or `--follow`
//! (another component) says otherwise.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError, StreamResult};

/// How souk's own messages and its access log are written on stderr.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Lines for people.
    #[default]
    Text,
    /// One JSON object per line (timestamp, level, message and the
    /// access log's fields), for a log shipper such as Fluent Bit.
    Json,
}

static FORMAT: std::sync::OnceLock<LogFormat> = std::sync::OnceLock::new();

/// The console's format, as `init_console` set it.
pub fn format() -> LogFormat {
    FORMAT.get().copied().unwrap_or_default()
}

pub fn init_console(format: LogFormat) {
    let _ = FORMAT.set(format);
    let filter = tracing_subscriber::EnvFilter::try_from_env("SOUK_LOG").unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("souk=info,warn"));
    let console = tracing_subscriber::fmt().with_env_filter(filter).with_target(false).with_writer(std::io::stderr);
    match format {
        LogFormat::Text => console.init(),
        LogFormat::Json => console.json().flatten_event(true).with_current_span(false).with_span_list(false).init(),
    }
}

/// One answered request in the access log: a line of text, or a JSON
/// object whose fields a log shipper can index.
pub struct AccessEntry<'a> {
    pub request_id: &'a str,
    pub trace_id: Option<&'a str>,
    pub method: &'a http::Method,
    pub path: &'a str,
    pub component: &'a str,
    pub route: &'a str,
    pub status: u16,
    pub duration: std::time::Duration,
}

pub fn access(entry: AccessEntry<'_>) {
    let AccessEntry { request_id, trace_id, method, path, component, route, status, duration } = entry;
    let duration_ms = (duration.as_secs_f64() * 10_000.0).round() / 10.0;
    match format() {
        LogFormat::Text => tracing::info!("{method} {path} {component} {status} {duration_ms:.1}ms"),
        LogFormat::Json => {
            tracing::info!(request_id, trace_id = trace_id.unwrap_or(""), method = method.as_str(), path, component, route, status, duration_ms, "request")
        }
    }
}

/// Where component output goes, from `souk up`'s flags.
pub struct OutputSettings<'a> {
    /// The folder for the files; `None`: no files (`--log-dir ""`).
    pub log_dir: Option<&'a Path>,
    /// Whether this component's lines go to the console.
    pub console: bool,
    /// Empty the files at start-up instead of appending (`--truncate-logs`).
    pub truncate: bool,
}

/// A component's stdout and stderr, opened once at start-up and shared by
/// every instance.
#[derive(Clone)]
pub struct ComponentLogs {
    pub stdout: ComponentOutput,
    pub stderr: ComponentOutput,
}

impl ComponentLogs {
    pub fn open(component_id: &str, settings: &OutputSettings) -> wasmtime::Result<Self> {
        if let Some(dir) = settings.log_dir {
            std::fs::create_dir_all(dir).map_err(|e| wasmtime::format_err!("cannot create the log folder {}: {e}", dir.display()))?;
        }
        let open = |suffix: &str| -> wasmtime::Result<Option<File>> {
            let Some(dir) = settings.log_dir else { return Ok(None) };
            let path = dir.join(format!("{component_id}_{suffix}.txt"));
            let mut options = OpenOptions::new();
            if settings.truncate {
                options.write(true).truncate(true);
            } else {
                options.append(true);
            }
            options.create(true).open(&path).map(Some).map_err(|e| wasmtime::format_err!("cannot open log file {}: {e}", path.display()))
        };
        let console = |stream| settings.console.then(|| Console { stream, prefix: format!("[{component_id}] "), pending: Mutex::new(Vec::new()) });
        Ok(Self {
            stdout: ComponentOutput(Arc::new(Output { file: open("stdout")?, console: console(Stream::Stdout) })),
            stderr: ComponentOutput(Arc::new(Output { file: open("stderr")?, console: console(Stream::Stderr) })),
        })
    }
}

/// One of a component's output streams: its log file and its console lines.
#[derive(Clone)]
pub struct ComponentOutput(Arc<Output>);

struct Output {
    file: Option<File>,
    console: Option<Console>,
}

#[derive(Clone, Copy)]
enum Stream {
    Stdout,
    Stderr,
}

struct Console {
    stream: Stream,
    prefix: String,
    /// The start of a line not ended yet (shared by the component's instances).
    pending: Mutex<Vec<u8>>,
}

impl Console {
    /// Writes each line `bytes` completes, prefixed, keeping the rest.
    fn write(&self, bytes: &[u8]) -> std::io::Result<()> {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending.extend_from_slice(bytes);
        let Some(end) = pending.iter().rposition(|&b| b == b'\n') else { return Ok(()) };
        let mut out = Vec::with_capacity(end + 1 + self.prefix.len() * 4);
        for line in pending[..end].split(|&b| b == b'\n') {
            out.extend_from_slice(self.prefix.as_bytes());
            out.extend_from_slice(line);
            out.push(b'\n');
        }
        pending.drain(..=end);
        match self.stream {
            Stream::Stdout => std::io::stdout().lock().write_all(&out),
            Stream::Stderr => std::io::stderr().lock().write_all(&out),
        }
    }
}

impl Output {
    fn write(&self, bytes: &[u8]) -> std::io::Result<()> {
        if let Some(file) = &self.file {
            (&*file).write_all(bytes)?;
        }
        if let Some(console) = &self.console {
            console.write(bytes)?;
        }
        Ok(())
    }
}

impl IsTerminal for ComponentOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for ComponentOutput {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[async_trait::async_trait]
impl Pollable for ComponentOutput {
    async fn ready(&mut self) {}
}

impl OutputStream for ComponentOutput {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.0.write(&bytes).map_err(|e| StreamError::LastOperationFailed(wasmtime::format_err!(e)))
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(64 * 1024)
    }
}

impl AsyncWrite for ComponentOutput {
    fn poll_write(self: Pin<&mut Self>, _cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Poll::Ready(self.0.write(buf).map(|()| buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_get_every_byte_and_the_console_whole_prefixed_lines() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("web_stdout.txt"), "from an earlier run\n").unwrap();
        let logs = ComponentLogs::open("web", &OutputSettings { log_dir: Some(dir.path()), console: true, truncate: true }).unwrap();
        let console = logs.stdout.0.console.as_ref().unwrap();
        logs.stdout.0.write(b"one\ntw").unwrap();
        assert_eq!(*console.pending.lock().unwrap(), b"tw", "the unfinished line waits");
        logs.stdout.0.write(b"o\n").unwrap();
        assert!(console.pending.lock().unwrap().is_empty());
        assert_eq!(std::fs::read_to_string(dir.path().join("web_stdout.txt")).unwrap(), "one\ntwo\n", "truncated, then every byte");
        let appending = ComponentLogs::open("web", &OutputSettings { log_dir: Some(dir.path()), console: false, truncate: false }).unwrap();
        appending.stdout.0.write(b"three\n").unwrap();
        assert_eq!(std::fs::read_to_string(dir.path().join("web_stdout.txt")).unwrap(), "one\ntwo\nthree\n", "appended by default");

        let no_files = ComponentLogs::open("web", &OutputSettings { log_dir: None, console: false, truncate: false }).unwrap();
        assert!(no_files.stderr.0.file.is_none() && no_files.stderr.0.console.is_none());
        no_files.stderr.0.write(b"dropped\n").unwrap();
    }
}
