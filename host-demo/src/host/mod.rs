//! The host side of the world's imports, one file per interface:
//! [`store`] and [`transport`] (mailroom's own), [`clock`] and [`random`]
//! (the WASI interfaces a test host fixes); and [`dns`], the resolution the
//! host does for `setups.verify` (not an import: the host passes answers in).
//!
//! [`HostState`] is the per-call state of a wasmtime store. What must outlive
//! a call (the key-value store, the transport, the fixed clock's and random
//! stream's positions) sits behind shared handles owned by the
//! [`Mailroom`](crate::Mailroom), so one `Mailroom` is one channel instance.

pub mod clock;
pub mod dns;
pub(crate) mod limits;
pub mod maildir;
pub mod random;
pub mod smtp;
pub mod sqlite;
pub mod store;
pub mod transport;

use std::sync::{Arc, Mutex};

use wasmtime::component::{HasSelf, Linker, ResourceTable};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::bindings;

/// The per-call state of a store: WASI with nothing granted, limits, and
/// handles to the channel's shared host state.
pub(crate) struct HostState {
    pub(crate) wasi: WasiCtx,
    pub(crate) table: ResourceTable,
    pub(crate) limits: limits::CallLimits,
    pub(crate) store: store::SharedStore,
    pub(crate) transport: transport::SharedTransport,
    /// The scenario random stream; `None` uses WASI's secure source.
    pub(crate) random: Option<Arc<Mutex<random::SplitMix64>>>,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Adds WASI and the world's imports to `linker`. `wasi:random/random` is
/// replaced by [`random`]'s implementation, which follows the fixed stream
/// when a seed is set and WASI's secure source otherwise.
pub(crate) fn add_to_linker(linker: &mut Linker<HostState>) -> anyhow::Result<()> {
    wasmtime_wasi::p2::add_to_linker_sync(linker)?;
    bindings::Mailroom::add_to_linker::<HostState, HasSelf<HostState>>(linker, |state| state)?;
    linker.allow_shadowing(true);
    wasmtime_wasi::p2::bindings::random::random::add_to_linker::<HostState, HasSelf<HostState>>(
        linker,
        |state| state,
    )?;
    linker.allow_shadowing(false);
    Ok(())
}
