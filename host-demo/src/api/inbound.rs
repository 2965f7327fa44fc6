//! `inbound`: parse and receive.

use crate::Mailroom;
use crate::inbound::{Envelope, Limits, ParseError, ParsedMessage, ReceiveError, Received};

impl Mailroom {
    /// Calls `inbound.parse`.
    pub fn parse(
        &self,
        raw: &[u8],
        limits: Limits,
    ) -> anyhow::Result<Result<ParsedMessage, ParseError>> {
        self.call(
            "inbound.parse",
            || format!("parsing {} bytes", raw.len()),
            |e| &e.inbound,
            |store, g| g.call_parse(store, raw, limits),
        )
    }

    /// Calls `inbound.receive`: parses, resolves and stores a message.
    pub fn receive(
        &self,
        raw: &[u8],
        envelope: &Envelope,
        limits: Limits,
    ) -> anyhow::Result<Result<Received, ReceiveError>> {
        self.call(
            "inbound.receive",
            || format!("receiving {} bytes", raw.len()),
            |e| &e.inbound,
            |store, g| g.call_receive(store, raw, envelope, limits),
        )
    }
}
