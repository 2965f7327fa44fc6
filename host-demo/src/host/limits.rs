//! The per-call resource limiter: wasmtime's [`StoreLimits`] (the memory
//! cap, a failed growth traps) plus the call's linear-memory high-water
//! mark, for the call's log span.

use wasmtime::{ResourceLimiter, StoreLimits};

/// [`StoreLimits`] that also remember the largest memory a call reached.
pub(crate) struct CallLimits {
    inner: StoreLimits,
    /// The largest linear memory granted so far, in bytes.
    pub(crate) peak: usize,
}

impl CallLimits {
    pub(crate) fn new(inner: StoreLimits) -> Self {
        Self { inner, peak: 0 }
    }
}

impl ResourceLimiter for CallLimits {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = self.inner.memory_growing(current, desired, maximum)?;
        if allowed {
            self.peak = self.peak.max(desired);
        }
        Ok(allowed)
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.inner.memory_grow_failed(error)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.inner.table_growing(current, desired, maximum)
    }

    fn table_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.inner.table_grow_failed(error)
    }

    fn instances(&self) -> usize {
        self.inner.instances()
    }

    fn tables(&self) -> usize {
        self.inner.tables()
    }

    fn memories(&self) -> usize {
        self.inner.memories()
    }
}
