//! The one wasmtime Engine (pooling allocator, epoch interruption, async
//! component model) and the on-disk cache of compiled components.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::error::Context;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, ProfilingStrategy};

/// How often the epoch advances; request deadlines are counted in these ticks.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// How much of each linear memory stays resident between instances.
const KEEP_RESIDENT_BYTES: usize = 16 << 20;

pub struct EngineSettings {
    pub max_instances: u32,
    pub max_instance_memory_bytes: usize,
    /// How compiled code is announced to profilers (`--profile`).
    pub profiler: ProfilingStrategy,
    /// Slots reserved at start-up (the default), or memory given to each
    /// instance when it starts (`--disable-pooling`).
    pub pooling: bool,
    /// DWARF for native debuggers, and no optimizations (`--debug-info`).
    pub debug_info: bool,
}

pub fn new_engine(settings: &EngineSettings) -> wasmtime::Result<Engine> {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.wasm_component_model_async(true);
    config.epoch_interruption(true);
    config.profiler(settings.profiler);
    if settings.debug_info {
        // The engine's compatibility hash covers both, so code compiled
        // this way is cached apart from the optimized code.
        config.debug_info(true).cranelift_opt_level(wasmtime::OptLevel::None);
    }
    if !settings.pooling {
        return Engine::new(&config).context("cannot configure the wasmtime engine");
    }

    // A fresh instance per request is only cheap with pre-reserved slots and
    // copy-on-write memory images: instantiation then costs a few page-table
    // operations instead of mmap/munmap of whole memories.
    let mut pool = PoolingAllocationConfig::default();
    let n = settings.max_instances;
    pool.total_component_instances(n);
    pool.total_core_instances(n.saturating_mul(4));
    pool.total_memories(n.saturating_mul(2));
    pool.total_tables(n.saturating_mul(4));
    pool.max_memory_size(settings.max_instance_memory_bytes);
    pool.max_component_instance_size(4 << 20);
    pool.max_core_instance_size(4 << 20);
    pool.max_memories_per_component(4);
    pool.max_tables_per_component(8);
    // Reset a finished instance's memory in place instead of unmapping it:
    // PAGEMAP_SCAN (Linux 6.7+) finds the pages it dirtied and only those are
    // restored, so the next instance in the slot starts with resident pages:
    // no page faults, no madvise, and no TLB shootdowns across threads.
    pool.pagemap_scan(wasmtime::Enabled::Auto);
    pool.linear_memory_keep_resident(KEEP_RESIDENT_BYTES.min(settings.max_instance_memory_bytes));
    pool.table_keep_resident(1 << 20);
    pool.async_stack_keep_resident(256 << 10);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));

    Engine::new(&config).context("cannot configure the wasmtime engine")
}

/// Advances the engine's epoch every [`EPOCH_TICK`] so deadlines can fire.
pub fn spawn_epoch_ticker(engine: Engine) {
    std::thread::Builder::new()
        .name("souk-epoch".into())
        .spawn(move || {
            loop {
                std::thread::sleep(EPOCH_TICK);
                engine.increment_epoch();
            }
        })
        .expect("spawning the epoch thread");
}

/// Compiled components stored under `<state-dir>/cache` (or `--cache-dir`,
/// or a `--cache` file's folder), keyed by the component's content hash and
/// the engine's compatibility hash, so a restart with the same files and
/// settings skips compilation entirely. Without a folder
/// (`--disable-cache`), every component is compiled and nothing is kept.
pub struct CompileCache {
    dir: Option<PathBuf>,
    engine_key: String,
}

impl CompileCache {
    pub fn new(engine: &Engine, dir: Option<PathBuf>) -> Self {
        let mut hasher = std::hash::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        env!("CARGO_PKG_VERSION").hash(&mut hasher);
        Self { dir, engine_key: format!("{:016x}", hasher.finish()) }
    }

    /// Loads `wasm_path` as a component, compiling it only on a cache miss.
    /// Returns the component and whether it came from the cache.
    pub fn load(&self, engine: &Engine, wasm_path: &Path) -> wasmtime::Result<(Component, bool)> {
        let bytes = std::fs::read(wasm_path).with_context(|| format!("cannot read {}", wasm_path.display()))?;
        self.load_bytes(engine, &bytes, &wasm_path.display().to_string())
    }

    /// As [`CompileCache::load`], for a component in memory (such as one
    /// composed at start-up); `what` names it in errors.
    pub fn load_bytes(&self, engine: &Engine, bytes: &[u8], what: &str) -> wasmtime::Result<(Component, bool)> {
        let Some(dir) = &self.dir else {
            let bytes = crate::componentize::componentize(bytes.to_vec(), what)?;
            let component = Component::new(engine, &bytes).with_context(|| format!("{what} is not a valid WebAssembly component"))?;
            return Ok((component, false));
        };
        let digest = hex::encode(Sha256::digest(bytes));
        let cached = dir.join(format!("{digest}-{}.cwasm", self.engine_key));
        if cached.exists() {
            // SAFETY: the file was written by `precompile_component` of an engine
            // with the same compatibility hash (it is part of the file name) and
            // lives in the app's private state directory.
            match unsafe { Component::deserialize_file(engine, &cached) } {
                Ok(component) => return Ok((component, true)),
                Err(e) => tracing::warn!("ignoring unreadable cache entry {}: {e}", cached.display()),
            }
        }
        let bytes = crate::componentize::componentize(bytes.to_vec(), what)?;
        let compiled = engine.precompile_component(&bytes).with_context(|| format!("{what} is not a valid WebAssembly component"))?;
        std::fs::create_dir_all(dir)?;
        // Write then rename, so a crash never leaves a truncated cache entry.
        let tmp = cached.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, &compiled)?;
        std::fs::rename(&tmp, &cached)?;
        // SAFETY: as above; we just produced these bytes with this engine.
        let component = unsafe { Component::deserialize(engine, &compiled)? };
        Ok((component, false))
    }
}
