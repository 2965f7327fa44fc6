//! mailroom: the decisions of an email channel.
//!
//! Domain modules are plain Rust and build and test natively; `component`
//! (wasm32 only) maps them to the `mailroom:channel` WIT interfaces.

#![deny(unsafe_code)]

pub mod inbound;

#[cfg(target_arch = "wasm32")]
#[allow(unsafe_code)]
mod component;
