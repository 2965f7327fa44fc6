//! The wasmtime engine a [`Mailroom`](crate::Mailroom) runs its calls on,
//! and the caps each call runs under.
//!
//! Every call still gets a fresh instance in a fresh store (nothing a call
//! leaves in linear memory is seen by the next), but the instance comes from
//! wasmtime's pooling allocator: its linear memory is a slot reserved once,
//! initialised copy-on-write from the compiled component's data image, and
//! reset after the call: up to `keep_resident` bytes in place (kept
//! resident), the rest returned to the kernel with `madvise`. That replaces
//! the `mmap` and `munmap` of a brand-new memory on every call. See
//! BENCHMARKS.md for what it saves.
//!
//! The pool holds [`InstancePool::instances`] instances at once; a call that
//! finds every slot taken waits for one (see [`Slots`]) rather than failing.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};

use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, ResourceLimiter,
};

/// Default number of instances the pool holds at once (and so of calls that
/// run at once on one loaded component; more wait for a slot).
pub const DEFAULT_POOL_INSTANCES: u32 = 32;

/// Default bytes of each pooled linear memory kept resident (reset in place
/// rather than returned to the kernel) after a call: none. Measured on the
/// real-mail corpus (BENCHMARKS.md), resetting the resident pages in place
/// costs more than faulting them in again: on the kernels tried, wasmtime's
/// dirty-page scan finds every resident page dirty, so each call resets the
/// whole resident memory (at least 1.5 MiB) with `memset`. It pays for
/// large messages (10 % on the attachment-heavy bench corpus at 16 MiB).
pub const DEFAULT_KEEP_RESIDENT: usize = 0;

/// How the engine allocates the instances of calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstancePool {
    /// wasmtime's pooling allocator (the default): `instances` slots, each
    /// linear memory reserved once and at most `max_memory` bytes (the
    /// largest memory cap a `Mailroom` sharing the engine may set), the first
    /// `keep_resident` bytes zeroed in place after each call.
    Pooling {
        /// Instances alive at once; calls beyond wait for a slot.
        instances: u32,
        /// Bytes of a slot's linear memory zeroed in place, not unmapped.
        keep_resident: usize,
        /// The largest linear memory of a slot, in bytes.
        max_memory: usize,
    },
    /// A fresh `mmap` per instance, unmapped after the call (wasmtime's
    /// default allocator): no bound on concurrent calls, no memory kept.
    OnDemand,
}

impl InstancePool {
    /// The pooling allocator with the default sizes and slots of
    /// `max_memory` bytes.
    pub fn pooling(max_memory: usize) -> Self {
        InstancePool::Pooling {
            instances: DEFAULT_POOL_INSTANCES,
            keep_resident: DEFAULT_KEEP_RESIDENT,
            max_memory,
        }
    }

    /// The most linear memory an instance can have, if bounded by the pool.
    pub(crate) fn max_memory(&self) -> Option<usize> {
        match self {
            InstancePool::Pooling { max_memory, .. } => Some(*max_memory),
            InstancePool::OnDemand => None,
        }
    }
}

/// The engine for `pool`, with epoch interruption (the call-time cap) on.
pub(crate) fn engine(pool: &InstancePool) -> anyhow::Result<Engine> {
    let mut config = Config::new();
    config.epoch_interruption(true);
    if let InstancePool::Pooling {
        instances,
        keep_resident,
        max_memory,
    } = *pool
    {
        anyhow::ensure!(instances > 0, "the instance pool needs at least 1 slot");
        let mut pooling = PoolingAllocationConfig::new();
        // The component holds three core instances (the guest and two
        // adapter shims), one linear memory and two tables.
        pooling
            .total_component_instances(instances)
            .total_core_instances(instances.saturating_mul(4))
            .total_memories(instances)
            .total_tables(instances.saturating_mul(4))
            .max_memories_per_component(1)
            .max_memory_size(max_memory)
            .linear_memory_keep_resident(keep_resident.min(max_memory))
            .table_keep_resident(64 * 1024)
            // Linux 6.7+: reset only the pages a call wrote, not the whole
            // resident part (ignored where the kernel lacks the ioctl).
            .pagemap_scan(wasmtime::Enabled::Auto)
            // Reuse the slots last used (warm, affine to the component)
            // rather than spreading calls over cold slots.
            .max_unused_warm_slots(instances.min(4));
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling));
    }
    Ok(Engine::new(&config)?)
}

/// The pool's slots as a counting semaphore, so a call waits for a free slot
/// instead of failing with wasmtime's "maximum concurrent instance limit".
/// Shared by every `Mailroom` reusing one engine.
#[derive(Debug)]
pub(crate) struct Slots {
    free: Mutex<u32>,
    freed: Condvar,
}

impl Slots {
    /// `n` slots, or `None` (no bound) for the on-demand allocator.
    pub(crate) fn for_pool(pool: &InstancePool) -> Option<Arc<Slots>> {
        match pool {
            InstancePool::Pooling { instances, .. } => Some(Arc::new(Slots {
                free: Mutex::new(*instances),
                freed: Condvar::new(),
            })),
            InstancePool::OnDemand => None,
        }
    }

    /// Takes a slot, waiting until one is free; it is given back when the
    /// permit drops (with the store that holds it).
    pub(crate) fn acquire(self: &Arc<Self>) -> SlotPermit {
        let mut free = self.free.lock().unwrap_or_else(PoisonError::into_inner);
        while *free == 0 {
            free = self
                .freed
                .wait(free)
                .unwrap_or_else(PoisonError::into_inner);
        }
        *free -= 1;
        SlotPermit(Arc::clone(self))
    }
}

/// One taken slot of [`Slots`].
#[derive(Debug)]
pub(crate) struct SlotPermit(Arc<Slots>);

impl Drop for SlotPermit {
    fn drop(&mut self) {
        let mut free = self.0.free.lock().unwrap_or_else(PoisonError::into_inner);
        *free += 1;
        self.0.freed.notify_one();
    }
}

/// A call that went past one of its caps: the error a trapped call carries
/// (find it with `error.downcast_ref::<CapExceeded>()` on the `anyhow::Error`
/// of a [`Mailroom`](crate::Mailroom) method).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CapExceeded {
    /// The component tried to grow its linear memory past the cap.
    Memory {
        /// The cap, in bytes.
        cap: usize,
        /// The size it asked for, in bytes.
        requested: usize,
    },
    /// The call ran longer than the call-time cap.
    Time {
        /// The cap, in milliseconds.
        cap_ms: u128,
    },
}

impl std::fmt::Display for CapExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CapExceeded::Memory { cap, requested } => write!(
                f,
                "the component asked for {requested} bytes of linear memory, over the cap of {cap} bytes"
            ),
            CapExceeded::Time { cap_ms } => {
                write!(f, "the call ran past the call-time cap of {cap_ms} ms")
            }
        }
    }
}

impl std::error::Error for CapExceeded {}

/// The caps of one call's store, and the pool slot its instance holds.
pub(crate) struct CallLimits {
    /// The cap on linear memory, in bytes.
    max_memory: usize,
    /// The largest linear memory any call reached (shared by the calls of
    /// one `Mailroom`).
    peak: Arc<AtomicUsize>,
    /// The largest linear memory this call reached, for its log line.
    pub(crate) call_peak: usize,
    /// Held for the store's life; `None` with the on-demand allocator.
    _slot: Option<SlotPermit>,
}

impl CallLimits {
    pub(crate) fn new(max_memory: usize, peak: Arc<AtomicUsize>, slot: Option<SlotPermit>) -> Self {
        Self {
            max_memory,
            peak,
            call_peak: 0,
            _slot: slot,
        }
    }
}

/// Instances, tables and memories the component may create in one store (it
/// needs 3, 2 and 1); the same as wasmtime's `StoreLimits` defaults.
const MAX_PER_STORE: usize = 10_000;

impl ResourceLimiter for CallLimits {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_memory {
            return Err(wasmtime::Error::new(CapExceeded::Memory {
                cap: self.max_memory,
                requested: desired,
            }));
        }
        self.peak.fetch_max(desired, Ordering::Relaxed);
        self.call_peak = self.call_peak.max(desired);
        Ok(true)
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        // Within the cap but refused by the allocator (e.g. the pool's slot
        // is smaller, or the host is out of memory): a trap, as before.
        Err(error.context("growing the component's linear memory failed"))
    }

    fn table_growing(
        &mut self,
        _current: usize,
        _desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(true)
    }

    fn instances(&self) -> usize {
        MAX_PER_STORE
    }

    fn tables(&self) -> usize {
        MAX_PER_STORE
    }

    fn memories(&self) -> usize {
        MAX_PER_STORE
    }
}
