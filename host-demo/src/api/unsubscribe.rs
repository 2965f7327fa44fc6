//! `unsubscribe`: RFC 8058 one-click (public; the token authenticates).

use crate::Mailroom;
use crate::unsubscribe::{OptOut, UnsubscribeError};

impl Mailroom {
    /// Calls `unsubscribe.one-click`.
    pub fn one_click(
        &self,
        token: &str,
        content_type: Option<&str>,
        body: &[u8],
    ) -> anyhow::Result<Result<OptOut, UnsubscribeError>> {
        self.call(
            "unsubscribe.one-click",
            || "handling a one-click unsubscribe".to_string(),
            |e| &e.unsubscribe,
            |store, g| g.call_one_click(store, token, content_type, body),
        )
    }
}
