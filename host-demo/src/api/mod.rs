//! Typed calls of the component's exports: one file per exported interface,
//! each an `impl Mailroom` block. Every call runs in a fresh instance with
//! the per-call memory and time caps; the outer `anyhow::Result` is a host
//! failure or a trap, the inner one the component's typed answer.
//!
//! Calls a tenant makes take the caller's `workspace` first (the one the
//! host authenticated); the component answers not-found for objects of
//! other workspaces.

mod events;
mod inbound;
mod outbound;
mod reporting;
mod setups;
mod suppression;
mod tracking;
mod unsubscribe;
mod use_cases;
