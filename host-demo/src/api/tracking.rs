//! `tracking` and the engagement calls of `reporting`: the public pixel and
//! link requests (the token authenticates), and the tenant's settings,
//! base, per-message view and counts (workspace first).

use crate::Mailroom;
use crate::reporting::{EngagementPeriod, LinkCount, ReportingError, Subject};
use crate::tracking::{Answer, Request, TrackedMessage, TrackingError, TrackingSettings};

type Answered<T> = anyhow::Result<Result<T, TrackingError>>;

impl Mailroom {
    /// Calls `tracking.open` (a request for the open pixel).
    pub fn tracking_open(&self, token: &str, request: &Request) -> Answered<Answer> {
        self.call(
            "tracking.open",
            || "answering a pixel request".to_string(),
            |e| &e.tracking,
            |store, g| g.call_open(store, token, request),
        )
    }

    /// Calls `tracking.click` (a request for a tracked link).
    pub fn tracking_click(&self, token: &str, request: &Request) -> Answered<Answer> {
        self.call(
            "tracking.click",
            || "answering a tracked-link request".to_string(),
            |e| &e.tracking,
            |store, g| g.call_click(store, token, request),
        )
    }

    /// Calls `tracking.get-settings`.
    pub fn tracking_settings(&self, workspace: &str, use_case: &str) -> Answered<TrackingSettings> {
        self.call(
            "tracking.get-settings",
            || format!("reading the tracking settings of {use_case}"),
            |e| &e.tracking,
            |store, g| g.call_get_settings(store, workspace, use_case),
        )
    }

    /// Calls `tracking.set-settings`.
    pub fn set_tracking_settings(
        &self,
        workspace: &str,
        use_case: &str,
        settings: TrackingSettings,
    ) -> Answered<TrackingSettings> {
        self.call(
            "tracking.set-settings",
            || format!("setting the tracking of {use_case}"),
            |e| &e.tracking,
            |store, g| g.call_set_settings(store, workspace, use_case, settings),
        )
    }

    /// Calls `tracking.get-base`.
    pub fn tracking_base(&self, workspace: &str, setup: &str) -> Answered<String> {
        self.call(
            "tracking.get-base",
            || format!("reading the tracking base of {setup}"),
            |e| &e.tracking,
            |store, g| g.call_get_base(store, workspace, setup),
        )
    }

    /// Calls `tracking.set-base`.
    pub fn set_tracking_base(
        &self,
        workspace: &str,
        setup: &str,
        base: Option<&str>,
    ) -> Answered<String> {
        self.call(
            "tracking.set-base",
            || format!("setting the tracking base of {setup}"),
            |e| &e.tracking,
            |store, g| g.call_set_base(store, workspace, setup, base),
        )
    }

    /// Calls `tracking.set-networks` (platform data: the operator's).
    pub fn set_tracking_networks(&self, networks: &[String]) -> Answered<u32> {
        self.call(
            "tracking.set-networks",
            || format!("setting {} tracking networks", networks.len()),
            |e| &e.tracking,
            |store, g| g.call_set_networks(store, networks),
        )
    }

    /// Calls `tracking.message`.
    pub fn tracked_message(&self, workspace: &str, message_id: &str) -> Answered<TrackedMessage> {
        self.call(
            "tracking.message",
            || "reading a message's tracking".to_string(),
            |e| &e.tracking,
            |store, g| g.call_message(store, workspace, message_id),
        )
    }

    /// Calls `reporting.count-engagement` over `[from, until)`.
    pub fn count_engagement(
        &self,
        workspace: &str,
        subject: &Subject,
        from: u64,
        until: u64,
    ) -> anyhow::Result<Result<EngagementPeriod, ReportingError>> {
        self.call(
            "reporting.count-engagement",
            || "counting opens and clicks".to_string(),
            |e| &e.reporting,
            |store, g| g.call_count_engagement(store, workspace, subject, from, until),
        )
    }

    /// Calls `reporting.link-clicks` over `[from, until)`.
    pub fn link_clicks(
        &self,
        workspace: &str,
        use_case: &str,
        from: u64,
        until: u64,
    ) -> anyhow::Result<Result<Vec<LinkCount>, ReportingError>> {
        self.call(
            "reporting.link-clicks",
            || "counting clicks per link".to_string(),
            |e| &e.reporting,
            |store, g| g.call_link_clicks(store, workspace, use_case, from, until),
        )
    }
}
