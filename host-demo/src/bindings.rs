//! Host bindings for the `mailroom` world, generated from `wit/`.
//!
//! This is the only `bindgen!` in the host. Each imported interface has its
//! host implementation in `src/host/<interface>.rs`.

// Generated items are documented from the WIT where it has docs.
#![allow(missing_docs)]

wasmtime::component::bindgen!({
    path: "../wit",
    world: "mailroom",
    additional_derives: [PartialEq, Eq, serde::Serialize, serde::Deserialize],
});
