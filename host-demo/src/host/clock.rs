//! `wasi:clocks/wall-clock`: the real clock, or the fixed clock of
//! `tests/SCENARIOS.md` (`start + k` seconds on the k-th read).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use wasmtime_wasi::HostWallClock;

/// The wall clock a [`Mailroom`](crate::Mailroom) gives the component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Clock {
    /// The host's real clock.
    #[default]
    System,
    /// A fixed clock for tests: its k-th read (k = 0, 1, …, counted over
    /// every call of the `Mailroom`) is `start + k` seconds since the Unix
    /// epoch, nanoseconds 0.
    Fixed {
        /// Seconds since the Unix epoch of the first read.
        start: u64,
    },
}

/// The fixed clock's position, shared by every call of one `Mailroom`.
#[derive(Debug, Clone)]
pub(crate) struct FixedWallClock {
    start: u64,
    reads: Arc<AtomicU64>,
}

impl FixedWallClock {
    /// A clock whose first read is `start` seconds.
    pub(crate) fn new(start: u64) -> Self {
        Self {
            start,
            reads: Arc::new(AtomicU64::new(0)),
        }
    }
}

impl HostWallClock for FixedWallClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }

    fn now(&self) -> Duration {
        let k = self.reads.fetch_add(1, Ordering::Relaxed);
        Duration::from_secs(self.start.saturating_add(k))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_read_is_one_second_later_across_clones() {
        let clock = FixedWallClock::new(1_772_442_000);
        let per_call = clock.clone();
        assert_eq!(clock.now(), Duration::from_secs(1_772_442_000));
        assert_eq!(per_call.now(), Duration::from_secs(1_772_442_001));
        assert_eq!(clock.now(), Duration::from_secs(1_772_442_002));
        assert_eq!(clock.resolution(), Duration::from_secs(1));
    }
}
