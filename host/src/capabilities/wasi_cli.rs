//! WASI for one component: its environment (`environment` and `souk up -e`),
//! its `files` mounted read-only at `/`, and stdout/stderr appended to its
//! log files.

use std::path::PathBuf;

use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder};

use crate::logs::ComponentLogs;

pub struct WasiGrant {
    pub env: Vec<(String, String)>,
    /// The component's `files`, staged under the state dir.
    pub files_dir: Option<PathBuf>,
    pub logs: ComponentLogs,
}

impl WasiGrant {
    /// A fresh WASI context for one instance.
    pub fn context(&self) -> wasmtime::Result<WasiCtx> {
        let mut wasi = WasiCtxBuilder::new();
        wasi.envs(&self.env);
        wasi.stdout(self.logs.stdout.clone());
        wasi.stderr(self.logs.stderr.clone());
        wasi.allow_blocking_current_thread(true);
        if let Some(dir) = &self.files_dir {
            wasi.preopened_dir(dir, "/", FsPerms::ReadOnly)?;
        }
        Ok(wasi.build())
    }
}
