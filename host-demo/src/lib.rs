//! A wasmtime host for the mailroom component.
//!
//! A [`Mailroom`] is one channel instance: it loads `guest.wasm` once
//! (compiled artifacts are cached on disk) and runs each call in a fresh,
//! sandboxed wasmtime store (no environment, arguments, files, network or
//! standard input, and a cap on linear memory), while the channel's host
//! state, its [`Store`] and its [`Transport`], persists across calls.
//!
//! ```no_run
//! use host_demo::{
//!     Clock, Mailroom, Recipient, Resolver, SendError, SendRequest, SetupOptions, SetupStatus,
//!     UseCaseType,
//! };
//!
//! # fn main() -> anyhow::Result<()> {
//! // Fixed time and randomness, as in the scenario fixtures; leave both out
//! // for the real clock and a secure random source.
//! let mailroom = Mailroom::builder()
//!     .clock(Clock::Fixed { start: 1_772_442_000 })
//!     .random_seed(42)
//!     .build()?;
//! // The outer `?` is a host failure or a trap, the inner one the
//! // component's typed error.
//! let options = SetupOptions {
//!     inbound_host: "inbound.mailroom.example".into(),
//!     spf_include: None,
//!     unsubscribe_base: None,
//!     pending_ttl: None,
//!     bounce_domain: None,
//! };
//! let setup = mailroom.create_setup("ws-1", "clinic.example", &options)??;
//! // The customer publishes `setup.records` (DKIM key, MX, SPF, DMARC);
//! // then the setup is verified against DNS. Use cases need a verified setup.
//! let resolver = Resolver::new("127.0.0.1:5353".parse()?)?;
//! let verification = mailroom.verify_setup_with("ws-1", &setup.id, &resolver)??;
//! assert_eq!(verification.setup.status, SetupStatus::Verified);
//! let use_case = mailroom.create_use_case(
//!     "ws-1",
//!     &setup.id,
//!     "care@clinic.example",
//!     UseCaseType::Transactional,
//!     "Clinic",
//!     "Care",
//! )??;
//! let request = SendRequest {
//!     use_case: use_case.id,
//!     to: vec![Recipient { name: None, address: "pat@patient.example".into() }],
//!     cc: vec![],
//!     subject: "Your appointment".into(),
//!     text: Some("See you on Friday.\r\n".into()),
//!     html: None,
//!     attachments: vec![],
//!     in_reply_to: None,
//!     idempotency_key: None,
//! };
//! match mailroom.send("ws-1", &request)? {
//!     Ok(sent) => println!("sent {}", sent.message_id),
//!     Err(SendError::InvalidHeader(why)) => println!("refused: {why}"),
//!     Err(other) => return Err(other.into()),
//! }
//! // The default transport records what it accepted, DKIM-signed.
//! let outbox = mailroom.recorded_messages().unwrap_or_default();
//! # let _ = outbox;
//! # Ok(())
//! # }
//! ```
//!
//! [`scenario`] runs the JSON scenarios of `tests/SCENARIOS.md` through
//! wasmtime's dynamic component API.

#![warn(missing_docs)]

mod api;
pub mod auth;
pub mod bindings;
pub mod canonical;
pub mod config;
pub mod engine;
pub mod guard;
pub mod host;
pub mod http;
pub mod json;
pub mod keys;
pub mod ops;
pub mod queue;
pub mod scenario;

use std::fs;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};
#[cfg(test)]
use wasmtime::Config;
use wasmtime::Engine;
use wasmtime::component::{Component, Instance, Linker, ResourceTable};
use wasmtime_wasi::WasiCtx;

pub use bindings::exports::mailroom::channel::{
    events, inbound, outbound, reporting, setups, suppression, tracking, unsubscribe, use_cases,
};
pub use engine::{CapExceeded, InstancePool};
pub use host::clock::Clock;
pub use host::dns::{Resolve, Resolver, Zone};
pub use host::random::SplitMix64;
pub use host::store::{MemoryStore, SharedStore, Store};
pub use host::transport::{Outgoing, RecordingTransport, SharedTransport, Transport};
pub use inbound::{
    Association, Attachment, AutoReply, AutoReplyKind, Disposition, LimitExceeded, LimitKind,
    Limits, Mailbox, ParseError, ParsedMessage, ReceiveError, Received, Resolution,
};
pub use outbound::{
    DeliveryOutcome, OutgoingAttachment, Recipient, ReportError, SendError, SendRequest, Sent,
};
pub use setups::{
    DnsAnswer, DnsRecord, DnsResult, Lookup, MxAnswer, RecordCheck, RecordPurpose, RecordState,
    RecordType, Setup, SetupError, SetupOptions, SetupStatus, Verification,
};
pub use use_cases::{UseCase, UseCaseError, UseCaseType};

use host::HostState;
use host::clock::FixedWallClock;

/// Environment variable naming the component file to load instead of the
/// workspace's release build.
pub const COMPONENT_ENV: &str = "MAILROOM_COMPONENT";

/// Default cap on the component's linear memory: 512 MiB.
pub const DEFAULT_MAX_MEMORY: usize = 512 * 1024 * 1024;

/// The largest slot the instance pool reserves: 4 GiB, all a 32-bit linear
/// memory can address.
const MAX_POOLED_MEMORY: usize = 1 << 32;

/// The default cap on one call's running time; a call still running then
/// traps, so no input can hold the host.
pub const DEFAULT_MAX_CALL_TIME: std::time::Duration = std::time::Duration::from_secs(30);

/// How often the engine's epoch advances: the resolution of the call-time
/// cap.
const EPOCH_TICK: std::time::Duration = std::time::Duration::from_millis(10);

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

/// A compiled, pre-linked component; cheap to clone.
#[derive(Clone)]
struct Loaded {
    engine: Engine,
    pre: bindings::MailroomPre<HostState>,
    /// Each exported interface's export indices.
    exports: Arc<bindings::Exports>,
    component_path: PathBuf,
    cache: CacheStatus,
    /// How instances are allocated; the pool's slots, shared by clones.
    pool: InstancePool,
    slots: Option<Arc<engine::Slots>>,
}

impl Loaded {
    fn load(path: &Path, pool: InstancePool) -> anyhow::Result<Self> {
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

        let engine = engine::engine(&pool)?;
        spawn_epoch_ticker(&engine);
        let (component, cache) = compile_cached(&engine, &bytes, &cache_dir())
            .with_context(|| format!("compiling component {}", path.display()))?;

        let mut linker = Linker::<HostState>::new(&engine);
        host::add_to_linker(&mut linker)?;
        let pre = linker
            .instantiate_pre(&component)
            .and_then(bindings::MailroomPre::new)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("{} is not a mailroom component", path.display()))?;
        let exports = Arc::new(bindings::Exports::new(pre.instance_pre())?);

        Ok(Self {
            engine,
            pre,
            exports,
            component_path: path.to_path_buf(),
            cache,
            slots: engine::Slots::for_pool(&pool),
            pool,
        })
    }
}

/// Advances the engine's epoch every [`EPOCH_TICK`] while the engine lives.
fn spawn_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    std::thread::spawn(move || {
        while let Some(engine) = weak.upgrade() {
            engine.increment_epoch();
            drop(engine);
            std::thread::sleep(EPOCH_TICK);
        }
    });
}

/// Where a [`MailroomBuilder`] gets its component.
enum Source {
    Path(PathBuf),
    // Boxed: the pre-linked component is large beside a path.
    Loaded(Box<Loaded>),
}

/// Configures a [`Mailroom`]: which component, the memory cap, the clock,
/// the random source, the store and the transport.
///
/// By default: [`default_component_path`], [`DEFAULT_MAX_MEMORY`], the real
/// clock, WASI's secure random source, an empty [`MemoryStore`] and a
/// [`RecordingTransport`].
pub struct MailroomBuilder {
    source: Source,
    max_memory: usize,
    max_call_time: std::time::Duration,
    pool: Option<InstancePool>,
    clock: Clock,
    random_seed: Option<u64>,
    store: Option<SharedStore>,
    transport: Option<SharedTransport>,
}

impl MailroomBuilder {
    /// Loads the component at `path` instead of [`default_component_path`].
    pub fn component(mut self, path: impl Into<PathBuf>) -> Self {
        self.source = Source::Path(path.into());
        self
    }

    /// Uses the component `other` already compiled and linked (no file is
    /// read); the new `Mailroom` still gets its own state.
    pub fn reuse_component(mut self, other: &Mailroom) -> Self {
        self.source = Source::Loaded(Box::new(other.loaded.clone()));
        self
    }

    /// Caps each call's running time (default [`DEFAULT_MAX_CALL_TIME`],
    /// checked every 10 ms through wasmtime's epoch interruption). A call
    /// still running then traps.
    pub fn max_call_time(mut self, limit: std::time::Duration) -> Self {
        self.max_call_time = limit;
        self
    }

    /// Caps the component's linear memory, in bytes (default
    /// [`DEFAULT_MAX_MEMORY`]). Growing past it traps the call.
    pub fn max_memory(mut self, bytes: usize) -> Self {
        self.max_memory = bytes;
        self
    }

    /// How the engine allocates each call's instance (default
    /// [`InstancePool::pooling`] with slots of the memory cap). Only for a
    /// component loaded here: [`reuse_component`](Self::reuse_component)
    /// shares the other channel's engine and pool.
    pub fn instance_pool(mut self, pool: InstancePool) -> Self {
        self.pool = Some(pool);
        self
    }

    /// The wall clock the component reads.
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Replaces the secure random source by the splitmix64 stream of
    /// `tests/SCENARIOS.md` seeded with `seed`: `get-random-u64` is one draw,
    /// `get-random-bytes(n)` takes ceil(n / 8) little-endian draws and keeps
    /// the first n bytes. For tests only: the ids it makes are predictable.
    pub fn random_seed(mut self, seed: u64) -> Self {
        self.random_seed = Some(seed);
        self
    }

    /// The channel's storage (default: an empty [`MemoryStore`]).
    pub fn store(mut self, store: impl Store + 'static) -> Self {
        self.store = Some(host::store::shared(store));
        self
    }

    /// The channel's storage, already shared (with the API keys and the
    /// outbound queue's workers).
    pub fn shared_store(mut self, store: SharedStore) -> Self {
        self.store = Some(store);
        self
    }

    /// The channel's transport, shared with other users of the same handle.
    pub fn shared_transport(mut self, transport: SharedTransport) -> Self {
        self.transport = Some(transport);
        self
    }

    /// The channel's transport (default: a [`RecordingTransport`], whose
    /// messages [`Mailroom::recorded_messages`] returns).
    pub fn transport(mut self, transport: impl Transport + 'static) -> Self {
        self.transport = Some(host::transport::shared(transport));
        self
    }

    /// Loads (or reuses) the component and creates the channel.
    pub fn build(self) -> anyhow::Result<Mailroom> {
        let loaded = match self.source {
            Source::Path(path) => {
                let pool = self.pool.unwrap_or_else(|| {
                    InstancePool::pooling(self.max_memory.min(MAX_POOLED_MEMORY))
                });
                Loaded::load(&path, pool)?
            }
            Source::Loaded(loaded) => *loaded,
        };
        if let Some(slot) = loaded.pool.max_memory()
            && self.max_memory > slot
        {
            bail!(
                "a memory cap of {} bytes does not fit the instance pool's slots of {slot} bytes",
                self.max_memory
            );
        }
        let (transport, recorder) = match self.transport {
            Some(transport) => (transport, None),
            None => {
                let recorder = RecordingTransport::new();
                (host::transport::shared(recorder.clone()), Some(recorder))
            }
        };
        Ok(Mailroom {
            loaded,
            max_memory: self.max_memory,
            max_call_time: self.max_call_time,
            clock: match self.clock {
                Clock::System => None,
                Clock::Fixed { start } => Some(FixedWallClock::new(start)),
            },
            random: self
                .random_seed
                .map(|seed| Arc::new(Mutex::new(SplitMix64::new(seed)))),
            store: self
                .store
                .unwrap_or_else(|| host::store::shared(MemoryStore::new())),
            transport,
            recorder,
            peak_memory: Arc::default(),
        })
    }
}

/// A loaded mailroom component with its host state: one channel instance.
///
/// It holds the [`Engine`] and the component pre-linked against WASI and the
/// world's imports (a [`bindings::MailroomPre`], which wraps the `Linker` and
/// `Component` as an `InstancePre`), so each call only instantiates. The
/// [`Store`], the [`Transport`] and the fixed clock's and random stream's
/// positions are shared by every call.
pub struct Mailroom {
    loaded: Loaded,
    max_memory: usize,
    max_call_time: std::time::Duration,
    clock: Option<FixedWallClock>,
    random: Option<Arc<Mutex<SplitMix64>>>,
    store: SharedStore,
    transport: SharedTransport,
    recorder: Option<RecordingTransport>,
    peak_memory: Arc<std::sync::atomic::AtomicUsize>,
}

impl Mailroom {
    /// A builder with every default; see [`MailroomBuilder`].
    pub fn builder() -> MailroomBuilder {
        MailroomBuilder {
            source: Source::Path(default_component_path()),
            max_memory: DEFAULT_MAX_MEMORY,
            max_call_time: DEFAULT_MAX_CALL_TIME,
            pool: None,
            clock: Clock::System,
            random_seed: None,
            store: None,
            transport: None,
        }
    }

    /// Loads the component from [`default_component_path`].
    pub fn load_default() -> anyhow::Result<Self> {
        Self::builder().build()
    }

    /// Loads the component at `path`, compiling it or reusing a cached
    /// compilation from [`cache_dir`].
    pub fn load(path: impl AsRef<Path>) -> anyhow::Result<Self> {
        Self::builder().component(path.as_ref()).build()
    }

    /// Sets the cap on the component's linear memory, in bytes, for later
    /// calls. Growing past it traps the call.
    pub fn with_max_memory(mut self, bytes: usize) -> Self {
        self.max_memory = bytes;
        self
    }

    /// The engine the component was compiled for.
    pub fn engine(&self) -> &Engine {
        &self.loaded.engine
    }

    /// The component file that was loaded.
    pub fn component_path(&self) -> &Path {
        &self.loaded.component_path
    }

    /// Whether the compiled component came from the cache.
    pub fn cache_status(&self) -> &CacheStatus {
        &self.loaded.cache
    }

    /// The largest linear memory, in bytes, any call of this channel has
    /// reached so far (its instance's initial memory included).
    pub fn peak_memory(&self) -> usize {
        self.peak_memory.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The channel's storage, shared with every call.
    pub fn store(&self) -> &SharedStore {
        &self.store
    }

    /// Every message the default [`RecordingTransport`] accepted, in order;
    /// `None` when the builder was given another transport.
    pub fn recorded_messages(&self) -> Option<Vec<Outgoing>> {
        self.recorder.as_ref().map(RecordingTransport::messages)
    }

    /// Instantiates the component in a fresh store, loads the typed
    /// functions of the one interface `interface` picks, and runs `f` on
    /// them.
    ///
    /// Each call logs one `tracing` event (target `mailroom::call`): the
    /// export, its duration, whether it trapped, and the linear-memory
    /// high-water mark.
    fn call<I: bindings::Interface, R>(
        &self,
        export: &'static str,
        what: impl FnOnce() -> String,
        interface: impl FnOnce(&bindings::Exports) -> &I,
        f: impl FnOnce(&mut wasmtime::Store<HostState>, &I::Guest) -> wasmtime::Result<R>,
    ) -> anyhow::Result<R> {
        let started = std::time::Instant::now();
        // Waits for a free slot of the pool. Held here, declared before the
        // store so it is released after it: wasmtime drops a store's data
        // before it gives its instance's slot back to the pool.
        let _slot = self.loaded.slots.as_ref().map(engine::Slots::acquire);
        let mut store = self.new_store(None);
        let indices = interface(&self.loaded.exports);
        let result = self
            .loaded
            .pre
            .instance_pre()
            .instantiate(&mut store)
            .and_then(|instance| indices.load(&mut store, &instance))
            .and_then(|guest| f(&mut store, &guest));
        tracing::info!(
            target: "mailroom::call",
            export,
            us = started.elapsed().as_micros() as u64,
            trapped = result.is_err(),
            memory_peak_kib = store.data().limits.call_peak / 1024,
            "call"
        );
        result
            .map_err(|e| self.typed_failure(e.into()))
            .with_context(|| self.failed_while(&what()))
    }

    /// A trap of the call-time cap carries [`CapExceeded::Time`] (the
    /// memory cap's carries [`CapExceeded::Memory`] already).
    fn typed_failure(&self, e: anyhow::Error) -> anyhow::Error {
        if e.downcast_ref::<wasmtime::Trap>() == Some(&wasmtime::Trap::Interrupt) {
            e.context(CapExceeded::Time {
                cap_ms: self.max_call_time.as_millis(),
            })
        } else {
            e
        }
    }

    /// The context of a failed call.
    fn failed_while(&self, what: &str) -> String {
        format!(
            "the mailroom component failed while {what} (memory cap {} MiB, time cap {} ms)",
            self.max_memory / (1024 * 1024),
            self.max_call_time.as_millis()
        )
    }

    /// A fresh store and an untyped instance, for [`scenario`].
    fn instantiate(&self) -> anyhow::Result<(wasmtime::Store<HostState>, Instance)> {
        // The slot lives in the store's data (this store leaves the call).
        let slot = self.loaded.slots.as_ref().map(engine::Slots::acquire);
        let mut store = self.new_store(slot);
        let instance = self.loaded.pre.instance_pre().instantiate(&mut store)?;
        Ok((store, instance))
    }

    fn new_store(&self, slot: Option<engine::SlotPermit>) -> wasmtime::Store<HostState> {
        // Nothing inherited but stderr, so a guest panic message is visible.
        let mut wasi = WasiCtx::builder();
        wasi.inherit_stderr()
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false);
        if let Some(clock) = &self.clock {
            wasi.wall_clock(clock.clone());
        }
        let limits = engine::CallLimits::new(self.max_memory, Arc::clone(&self.peak_memory), slot);
        let mut store = wasmtime::Store::new(
            &self.loaded.engine,
            HostState {
                wasi: wasi.build(),
                table: ResourceTable::new(),
                limits,
                store: host::store::for_call(&self.store),
                transport: Arc::clone(&self.transport),
                random: self.random.clone(),
            },
        );
        store.limiter(|state| &mut state.limits);
        let ticks = self.max_call_time.as_millis() / EPOCH_TICK.as_millis();
        store.set_epoch_deadline(u64::try_from(ticks).unwrap_or(u64::MAX).max(1));
        store.epoch_deadline_trap();
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
