//! Host bindings for the `mailroom` world, generated from `wit/`.
//!
//! This is the only `bindgen!` in the host. The world imports no custom
//! interfaces yet; when it does, each gets its host implementation in
//! `src/host/<interface>.rs`.

// Generated items are documented from the WIT where it has docs.
#![allow(missing_docs)]

wasmtime::component::bindgen!({
    path: "../wit",
    world: "mailroom",
});
