//! mailroom: the decisions of an email channel.
//!
//! Domain modules are plain Rust and build and test natively; `component`
//! (wasm32 only) maps them to the `mailroom:channel` WIT interfaces. Storage,
//! delivery, time and randomness reach the domain through the traits in
//! `store`, `transport` and `env`.

#![deny(unsafe_code)]

/// `Display` and `Error` for an error enum whose cases each carry a
/// sentence: `kind: sentence`, the kind being the WIT case name.
macro_rules! display_cases {
    ($ty:ty { $($case:ident => $name:literal),* $(,)? }) => {
        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                match self {
                    $(Self::$case(m) => write!(f, "{}: {}", $name, m),)*
                }
            }
        }

        impl std::error::Error for $ty {}
    };
}

pub mod address;
pub mod bounce_path;
pub mod dkim;
pub mod env;
pub mod events;
pub mod idempotency;
pub mod ids;
pub mod inbound;
pub mod keys;
pub mod media_type;
pub mod messages;
pub mod outbound;
pub mod records;
pub mod reporting;
pub mod reports;
pub mod setups;
pub mod store;
pub mod suppression;
pub mod tenant;
pub mod thread;
pub mod thread_index;
pub mod tracking;
pub mod transport;
pub mod unsubscribe;
pub mod use_cases;
pub mod wire;

#[cfg(target_arch = "wasm32")]
#[allow(unsafe_code)]
mod component;

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out
}

/// Bytes in the scenario JSON form: read from a UTF-8 string, written as
/// `sha256:<hex>`.
pub mod bytes_as_text {
    use serde::{Deserialize, Deserializer, Serializer};
    use sha2::{Digest, Sha256};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("sha256:{}", crate::hex(&Sha256::digest(bytes))))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        String::deserialize(d).map(String::into_bytes)
    }
}
