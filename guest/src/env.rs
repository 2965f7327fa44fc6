//! Time and randomness, which come from the host so tests can fix them.

/// The host's clock and random source.
pub trait Env {
    /// Seconds since the Unix epoch.
    fn now(&mut self) -> i64;
    /// `n` bytes from a cryptographically secure source.
    fn random_bytes(&mut self, n: usize) -> Vec<u8>;

    /// `n` random bytes as lower-case hex.
    fn random_hex(&mut self, n: usize) -> String {
        crate::hex(&self.random_bytes(n))
    }
}

/// A fixed clock and a splitmix64 random stream, as `tests/SCENARIOS.md`
/// specifies for every host: `now` is `start + k` on its k-th call.
#[derive(Debug, Clone)]
pub struct FixedEnv {
    start: i64,
    reads: i64,
    state: u64,
}

impl FixedEnv {
    /// A clock starting at `start` and a stream seeded with `seed`.
    pub fn new(start: i64, seed: u64) -> Self {
        FixedEnv {
            start,
            reads: 0,
            state: seed,
        }
    }

    /// The next splitmix64 draw.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl Env for FixedEnv {
    fn now(&mut self) -> i64 {
        let now = self.start + self.reads;
        self.reads += 1;
        now
    }

    fn random_bytes(&mut self, n: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(n.div_ceil(8) * 8);
        while out.len() < n {
            out.extend_from_slice(&self.next_u64().to_le_bytes());
        }
        out.truncate(n);
        out
    }
}
