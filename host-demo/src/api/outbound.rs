//! `outbound`: send and report.

use crate::Mailroom;
use crate::outbound::{DeliveryOutcome, ReportError, SendError, SendRequest, Sent};

impl Mailroom {
    /// Calls `outbound.send`: composes, records and submits a message under
    /// a use case of `workspace`.
    pub fn send(
        &self,
        workspace: &str,
        request: &SendRequest,
    ) -> anyhow::Result<Result<Sent, SendError>> {
        self.call(
            "outbound.send",
            || "sending".to_string(),
            |e| &e.outbound,
            |store, g| g.call_send(store, workspace, request),
        )
    }

    /// Calls `outbound.report`: records what became of a submitted message
    /// (the host's transport, not a tenant).
    pub fn report(
        &self,
        message_id: &str,
        outcome: &DeliveryOutcome,
    ) -> anyhow::Result<Result<(), ReportError>> {
        self.call(
            "outbound.report",
            || format!("recording the outcome of {message_id}"),
            |e| &e.outbound,
            |store, g| g.call_report(store, message_id, outcome),
        )
    }
}
