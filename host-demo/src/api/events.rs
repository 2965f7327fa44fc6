//! `events`: webhook events and report emails (the platform's plumbing).

use crate::Mailroom;
use crate::events::{Event, EventError, Recorded, Report};

impl Mailroom {
    /// Calls `events.record`: a provider's webhook event.
    pub fn record_event(&self, event: &Event) -> anyhow::Result<Result<Recorded, EventError>> {
        self.call(
            "events.record",
            || format!("recording event {}", event.id),
            |e| &e.events,
            |store, g| g.call_record(store, event),
        )
    }

    /// Calls `events.ingest-report`: a DSN, ARF or plain bounce.
    pub fn ingest_report(&self, raw: &[u8]) -> anyhow::Result<Result<Report, EventError>> {
        self.call(
            "events.ingest-report",
            || format!("ingesting a report of {} bytes", raw.len()),
            |e| &e.events,
            |store, g| g.call_ingest_report(store, raw),
        )
    }
}
