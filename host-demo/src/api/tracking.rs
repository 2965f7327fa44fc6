//! `tracking`: the public pixel and link requests (the token authenticates).

use crate::Mailroom;
use crate::tracking::{Answer, Request, TrackingError};

impl Mailroom {
    /// Calls `tracking.open` (a request for the open pixel).
    pub fn tracking_open(
        &self,
        token: &str,
        request: &Request,
    ) -> anyhow::Result<Result<Answer, TrackingError>> {
        self.call(
            "tracking.open",
            || "answering a pixel request".to_string(),
            |store, m| {
                m.mailroom_channel_tracking()
                    .call_open(store, token, request)
            },
        )
    }

    /// Calls `tracking.click` (a request for a tracked link).
    pub fn tracking_click(
        &self,
        token: &str,
        request: &Request,
    ) -> anyhow::Result<Result<Answer, TrackingError>> {
        self.call(
            "tracking.click",
            || "answering a tracked-link request".to_string(),
            |store, m| {
                m.mailroom_channel_tracking()
                    .call_click(store, token, request)
            },
        )
    }
}
