//! `reporting`: counts per setup and use case.

use crate::Mailroom;
use crate::reporting::{Period, ReportingError, Subject};

impl Mailroom {
    /// Calls `reporting.count` over `[from, until)`.
    pub fn count(
        &self,
        workspace: &str,
        subject: &Subject,
        from: u64,
        until: u64,
    ) -> anyhow::Result<Result<Period, ReportingError>> {
        self.call(
            "reporting.count",
            || "counting".to_string(),
            |e| &e.reporting,
            |store, g| g.call_count(store, workspace, subject, from, until),
        )
    }
}
