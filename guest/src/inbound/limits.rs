//! The bounds on one `parse` call: named defaults, validated overrides.

use super::ParseError;

/// Default largest input, in bytes (50 MiB).
pub const DEFAULT_MAX_BYTES: u64 = 50 * 1024 * 1024;
/// Largest accepted `max_bytes` (1 GiB).
pub const MAX_MAX_BYTES: u64 = 1024 * 1024 * 1024;
/// Default deepest MIME nesting; the top-level part is at depth 1.
pub const DEFAULT_MAX_DEPTH: u32 = 64;
/// Largest accepted `max_depth`.
pub const MAX_MAX_DEPTH: u32 = 1024;
/// Default most MIME parts, enclosed messages' parts included.
pub const DEFAULT_MAX_PARTS: u32 = 5000;
/// Largest accepted `max_parts`.
pub const MAX_MAX_PARTS: u32 = 1_000_000;

/// Overrides as the caller gave them; `None` takes the default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    pub max_bytes: Option<u64>,
    pub max_depth: Option<u32>,
    pub max_parts: Option<u32>,
}

/// Which limit an input exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitKind {
    MaxBytes,
    MaxDepth,
    MaxParts,
}

impl LimitKind {
    /// The WIT name of the limit.
    pub fn name(self) -> &'static str {
        match self {
            LimitKind::MaxBytes => "max-bytes",
            LimitKind::MaxDepth => "max-depth",
            LimitKind::MaxParts => "max-parts",
        }
    }
}

/// Limits with every default applied and every value checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resolved {
    pub max_bytes: u64,
    pub max_depth: u32,
    pub max_parts: u32,
}

impl Limits {
    /// Applies the defaults and rejects zero or out-of-range values.
    pub fn resolve(&self) -> Result<Resolved, ParseError> {
        Ok(Resolved {
            max_bytes: check(
                "max-bytes",
                self.max_bytes,
                DEFAULT_MAX_BYTES,
                MAX_MAX_BYTES,
            )?,
            max_depth: check(
                "max-depth",
                self.max_depth,
                DEFAULT_MAX_DEPTH,
                MAX_MAX_DEPTH,
            )?,
            max_parts: check(
                "max-parts",
                self.max_parts,
                DEFAULT_MAX_PARTS,
                MAX_MAX_PARTS,
            )?,
        })
    }
}

fn check<T>(name: &str, value: Option<T>, default: T, max: T) -> Result<T, ParseError>
where
    T: Copy + PartialOrd + Default + std::fmt::Display,
{
    match value {
        None => Ok(default),
        Some(v) if v == T::default() => Err(ParseError::InvalidLimits(format!(
            "limit {name} must be at least 1"
        ))),
        Some(v) if v > max => Err(ParseError::InvalidLimits(format!(
            "limit {name} is {v}, above its maximum of {max}"
        ))),
        Some(v) => Ok(v),
    }
}
