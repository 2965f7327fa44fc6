//! A wasmtime host for the mailroom component.
//!
//! [`Mailroom`] loads `guest.wasm` once (compiled artifacts are cached on
//! disk) and runs each [`Mailroom::parse`] call in a fresh, sandboxed store:
//! no environment, arguments, files, network or standard input, and a cap on
//! linear memory.

#![warn(missing_docs)]

pub mod bindings;
pub mod canonical;

use std::fs;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Config, Engine, Store, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

pub use bindings::exports::mailroom::channel::inbound::{
    Attachment, Disposition, LimitExceeded, LimitKind, Limits, Mailbox, ParseError, ParsedMessage,
};

/// Environment variable naming the component file to load instead of the
/// workspace's release build.
pub const COMPONENT_ENV: &str = "MAILROOM_COMPONENT";

/// Default cap on the component's linear memory: 512 MiB.
pub const DEFAULT_MAX_MEMORY: usize = 512 * 1024 * 1024;

/// The command that builds the component this host loads by default.
pub const BUILD_COMMAND: &str = "cargo build -p guest --target wasm32-wasip2 --release";

/// The workspace root (the parent of this crate's directory).
pub fn workspace_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from(".."), Path::to_path_buf)
}

/// The component to load: `$MAILROOM_COMPONENT` if set, else the workspace's
/// `target/wasm32-wasip2/release/guest.wasm`.
pub fn default_component_path() -> PathBuf {
    match std::env::var_os(COMPONENT_ENV) {
        Some(path) if !path.is_empty() => PathBuf::from(path),
        _ => workspace_dir().join("target/wasm32-wasip2/release/guest.wasm"),
    }
}

/// Where compiled components are cached: `<workspace>/target/mailroom-cache`.
pub fn cache_dir() -> PathBuf {
    workspace_dir().join("target/mailroom-cache")
}

/// How the compiled component was obtained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheStatus {
    /// Loaded from a cached artifact written by an earlier run.
    Hit(PathBuf),
    /// Compiled now and written to the cache for later runs.
    Written(PathBuf),
    /// Compiled now; the cache could not be used (the reason is given).
    Unavailable(String),
}

/// The per-call state of a store: WASI with nothing granted, plus limits.
struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    limits: StoreLimits,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// A loaded mailroom component, ready to be instantiated once per call.
///
/// It holds the [`Engine`] and the component pre-linked against the WASI
/// imports (a [`bindings::MailroomPre`], which wraps the `Linker` and
/// `Component` as an `InstancePre`), so each call only instantiates.
pub struct Mailroom {
    engine: Engine,
    pre: bindings::MailroomPre<HostState>,
    component_path: PathBuf,
    cache: CacheStatus,
    max_memory: usize,
}

impl Mailroom {
    /// Loads the component from [`default_component_path`].
    pub fn load_default() -> anyhow::Result<Self> {
        Self::load(default_component_path())
    }

    /// Loads the component at `path`, compiling it or reusing a cached
    /// compilation from [`cache_dir`].
    pub fn load(path: impl AsRef<Path>) -> anyhow::Result<Self> {
        let path = path.as_ref();
        let bytes = match fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
                "component {} not found; build it with `{BUILD_COMMAND}` \
                 (or set {COMPONENT_ENV} to a component file)",
                path.display()
            ),
            Err(e) => {
                return Err(e).with_context(|| format!("reading component {}", path.display()));
            }
        };

        let engine = Engine::new(&Config::new())?;
        let (component, cache) = compile_cached(&engine, &bytes, &cache_dir())
            .with_context(|| format!("compiling component {}", path.display()))?;

        let mut linker = Linker::<HostState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
        let pre = bindings::MailroomPre::new(linker.instantiate_pre(&component)?)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("{} is not a mailroom component", path.display()))?;

        Ok(Self {
            engine,
            pre,
            component_path: path.to_path_buf(),
            cache,
            max_memory: DEFAULT_MAX_MEMORY,
        })
    }

    /// Sets the cap on the component's linear memory, in bytes, for later
    /// calls. Growing past it traps the call.
    pub fn with_max_memory(mut self, bytes: usize) -> Self {
        self.max_memory = bytes;
        self
    }

    /// The engine the component was compiled for.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The component file that was loaded.
    pub fn component_path(&self) -> &Path {
        &self.component_path
    }

    /// Whether the compiled component came from the cache.
    pub fn cache_status(&self) -> &CacheStatus {
        &self.cache
    }

    /// Calls `inbound.parse` in a fresh store.
    ///
    /// The outer error is a host failure or a trap; the inner result is the
    /// component's answer.
    pub fn parse(
        &self,
        raw: &[u8],
        limits: Limits,
    ) -> anyhow::Result<Result<ParsedMessage, ParseError>> {
        let mut store = self.new_store();
        let instance = self.pre.instantiate(&mut store)?;
        let answer = instance
            .mailroom_channel_inbound()
            .call_parse(&mut store, raw, limits)
            .map_err(anyhow::Error::from)
            .with_context(|| {
                format!(
                    "the mailroom component failed while parsing {} bytes \
                     (memory cap {} MiB)",
                    raw.len(),
                    self.max_memory / (1024 * 1024)
                )
            })?;
        Ok(answer)
    }

    fn new_store(&self) -> Store<HostState> {
        // Nothing inherited but stderr, so a guest panic message is visible.
        let wasi = WasiCtx::builder()
            .inherit_stderr()
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        let limits = StoreLimitsBuilder::new()
            .memory_size(self.max_memory)
            .trap_on_grow_failure(true)
            .build();
        let mut store = Store::new(
            &self.engine,
            HostState {
                wasi,
                table: ResourceTable::new(),
                limits,
            },
        );
        store.limiter(|state| &mut state.limits);
        store
    }
}

/// Every field left out, so each takes the component's default.
impl Default for Limits {
    fn default() -> Self {
        Self {
            max_bytes: None,
            max_depth: None,
            max_parts: None,
        }
    }
}

/// Compiles `wasm`, or loads the artifact cached under `dir` by an earlier
/// run. Cache problems are not errors: the component is then compiled in
/// memory.
fn compile_cached(
    engine: &Engine,
    wasm: &[u8],
    dir: &Path,
) -> anyhow::Result<(Component, CacheStatus)> {
    let path = dir.join(format!("{}.cwasm", cache_key(engine, wasm)));
    if path.is_file() {
        // SAFETY: the file is named by the SHA-256 of the component bytes and
        // of the engine's compatibility hash, and only `write_atomically`
        // below creates it, from `Engine::precompile_component` with an engine
        // configured like this one: it is our own trusted output, not input.
        // It is never modified in place (new versions are renamed over it, and
        // a rename leaves the inode we map untouched), as the mmap requires.
        // Wasmtime still checks its header and engine compatibility.
        if let Ok(component) = unsafe { Component::deserialize_file(engine, &path) } {
            return Ok((component, CacheStatus::Hit(path)));
        }
    }

    let compiled = engine.precompile_component(wasm)?;
    let status = match write_atomically(dir, &path, &compiled) {
        Ok(()) => CacheStatus::Written(path),
        Err(e) => CacheStatus::Unavailable(format!("{e:#}")),
    };
    // SAFETY: `compiled` was produced just now by `precompile_component` on
    // this very engine.
    let component = unsafe { Component::deserialize(engine, &compiled)? };
    Ok((component, status))
}

/// The cache file name: hex SHA-256 of the component bytes followed by the
/// engine's precompile compatibility hash.
fn cache_key(engine: &Engine, wasm: &[u8]) -> String {
    let mut hasher = Sha256Hasher(Sha256::new());
    hasher.0.update(wasm);
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hex(&hasher.0.finalize())
}

/// Feeds a [`Hash`] value into SHA-256, which, unlike std's hashers, is
/// stable across processes and Rust versions.
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn finish(&self) -> u64 {
        let digest = self.0.clone().finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        u64::from_le_bytes(first)
    }
}

/// Writes `bytes` to `path` via a temporary file in `dir` and a rename, so no
/// reader ever sees a partial file.
fn write_atomically(dir: &Path, path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let tmp = dir.join(format!(".tmp-{}-{}", std::process::id(), unique()));
    let result = (|| {
        let mut file = fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.with_context(|| format!("writing {}", path.display()))
}

/// A number distinct for each call in this process.
fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Lower-case hexadecimal of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_is_written_then_hit() {
        let wasm = fs::read(default_component_path()).expect(BUILD_COMMAND);
        let dir = std::env::temp_dir().join(format!("mailroom-cache-test-{}", std::process::id()));
        let engine = Engine::new(&Config::new()).expect("engine");

        let (_, first) = compile_cached(&engine, &wasm, &dir).expect("compile");
        let expected = dir.join(format!("{}.cwasm", cache_key(&engine, &wasm)));
        assert_eq!(first, CacheStatus::Written(expected.clone()));
        let (_, second) = compile_cached(&engine, &wasm, &dir).expect("load");
        assert_eq!(second, CacheStatus::Hit(expected));

        // A corrupt cache file is recompiled over, not trusted.
        let key = cache_key(&engine, &wasm);
        fs::write(dir.join(format!("{key}.cwasm")), b"garbage").expect("corrupt");
        let (_, third) = compile_cached(&engine, &wasm, &dir).expect("recompile");
        assert!(matches!(third, CacheStatus::Written(_)));

        fs::remove_dir_all(&dir).expect("clean up");
    }

    #[test]
    fn cache_key_depends_on_the_bytes() {
        let engine = Engine::new(&Config::new()).expect("engine");
        let a = cache_key(&engine, b"a");
        assert_eq!(a, cache_key(&engine, b"a"));
        assert_ne!(a, cache_key(&engine, b"b"));
        assert_eq!(a.len(), 64);
    }
}
