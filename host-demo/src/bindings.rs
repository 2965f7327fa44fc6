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

use wasmtime::component::{Instance, InstancePre};

use exports::mailroom::channel as x;

/// An exported interface whose functions a call looks up: only the called
/// interface's (at most ten), not the whole world's ~50, which is what
/// [`Mailroom::load`] type-checks on every instantiation.
pub trait Interface {
    /// The interface's typed functions.
    type Guest;
    /// Looks them up in `instance`.
    fn load<T: 'static>(
        &self,
        store: &mut wasmtime::Store<T>,
        instance: &Instance,
    ) -> wasmtime::Result<Self::Guest>;
}

macro_rules! interfaces {
    ($($field:ident: $module:ident),* $(,)?) => {
        /// Every exported interface's export indices, found once per
        /// component.
        #[derive(Clone)]
        pub struct Exports {
            $(pub $field: x::$module::GuestIndices,)*
        }

        impl Exports {
            /// Finds the exports of `pre`'s component.
            pub fn new<T: 'static>(pre: &InstancePre<T>) -> wasmtime::Result<Self> {
                Ok(Self {
                    $($field: x::$module::GuestIndices::new(pre)?,)*
                })
            }
        }

        $(impl Interface for x::$module::GuestIndices {
            type Guest = x::$module::Guest;
            fn load<T: 'static>(
                &self,
                store: &mut wasmtime::Store<T>,
                instance: &Instance,
            ) -> wasmtime::Result<Self::Guest> {
                x::$module::GuestIndices::load(self, store, instance)
            }
        })*
    };
}

interfaces! {
    setups: setups,
    use_cases: use_cases,
    inbound: inbound,
    outbound: outbound,
    events: events,
    suppression: suppression,
    unsubscribe: unsubscribe,
    reporting: reporting,
    tracking: tracking,
}
