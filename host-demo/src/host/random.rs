//! `wasi:random/random`: WASI's secure source, or the splitmix64 stream of
//! `tests/SCENARIOS.md`.
//!
//! The fixed stream cannot be given to `WasiCtxBuilder::secure_random` as an
//! `Rng`: wasmtime-wasi 50 builds `get-random-bytes(n)` from n separate
//! `next_u32` calls (one byte each, through `random_iter::<u8>()`), never
//! from `fill_bytes`, so an `Rng` cannot tell where one call ends and cannot
//! discard the unused bytes of the last draw as the rule requires. The host
//! therefore links its own `wasi:random/random` over WASI's: with a seed it
//! follows the rule call by call, without one it forwards to the `WasiCtx`'s
//! secure source.

use std::sync::PoisonError;

use wasmtime_wasi::p2::bindings::random::random::Host;
use wasmtime_wasi::random::DEFAULT_MAX_SIZE;

use crate::host::HostState;

/// The splitmix64 generator: one draw per call of [`SplitMix64::next_u64`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A stream seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// The next draw.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// `n` bytes: ceil(n / 8) draws, each little-endian, the first `n` kept.
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(n.div_ceil(8) * 8);
        while out.len() < n {
            out.extend_from_slice(&self.next_u64().to_le_bytes());
        }
        out.truncate(n);
        out
    }
}

impl Host for HostState {
    fn get_random_bytes(&mut self, len: u64) -> wasmtime::Result<Vec<u8>> {
        let Some(stream) = &self.random else {
            return self.wasi.random().get_random_bytes(len);
        };
        // The same bound, and the same trap, as WASI's own implementation.
        let n = match usize::try_from(len) {
            Ok(n) if len <= DEFAULT_MAX_SIZE => n,
            _ => wasmtime::bail!("requested len {len} exceeds limit {DEFAULT_MAX_SIZE}"),
        };
        Ok(stream
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .bytes(n))
    }

    fn get_random_u64(&mut self) -> wasmtime::Result<u64> {
        match &self.random {
            Some(stream) => Ok(stream
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .next_u64()),
            None => self.wasi.random().get_random_u64(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_reference_values() {
        // The first outputs for seed 0 (Vigna's reference implementation).
        let mut s = SplitMix64::new(0);
        assert_eq!(s.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(s.next_u64(), 0x6E78_9E6A_A1B9_65F4);
        assert_eq!(s.next_u64(), 0x06C4_5D18_8009_454F);
    }

    #[test]
    fn bytes_discard_the_rest_of_the_last_draw() {
        let mut a = SplitMix64::new(42);
        let mut b = a.clone();
        let first = b.next_u64().to_le_bytes();
        let second = b.next_u64().to_le_bytes();
        assert_eq!(a.bytes(3), first[..3]);
        // The next call starts on a fresh draw, not on the leftover bytes.
        assert_eq!(a.bytes(8), second);
        assert_eq!(a.next_u64(), b.next_u64());
        assert!(a.bytes(0).is_empty());
    }
}
