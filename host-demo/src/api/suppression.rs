//! `suppression`: the send decision and the suppression lists.

use crate::Mailroom;
use crate::suppression::{AddressState, Decision, Health, Policy, SuppressionError};

type Answer<T> = anyhow::Result<Result<T, SuppressionError>>;

impl Mailroom {
    /// Calls `suppression.check`: the decision `send` makes for `address`.
    pub fn check_suppression(
        &self,
        workspace: &str,
        use_case: &str,
        address: &str,
    ) -> Answer<Decision> {
        self.call(
            "suppression.check",
            || format!("checking {address} under use case {use_case}"),
            |e| &e.suppression,
            |store, g| g.call_check(store, workspace, use_case, address),
        )
    }

    /// Calls `suppression.get`.
    pub fn get_suppression(
        &self,
        workspace: &str,
        setup: &str,
        address: &str,
    ) -> Answer<AddressState> {
        self.call(
            "suppression.get",
            || format!("reading {address} of setup {setup}"),
            |e| &e.suppression,
            |store, g| g.call_get(store, workspace, setup, address),
        )
    }

    /// Calls `suppression.list`.
    pub fn list_suppressions(
        &self,
        workspace: &str,
        setup: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> Answer<Vec<AddressState>> {
        self.call(
            "suppression.list",
            || format!("listing the suppressions of setup {setup}"),
            |e| &e.suppression,
            |store, g| g.call_list(store, workspace, setup, cursor, limit),
        )
    }

    /// Calls `suppression.remove`.
    pub fn remove_suppression(
        &self,
        workspace: &str,
        setup: &str,
        address: &str,
        note: &str,
    ) -> Answer<AddressState> {
        self.call(
            "suppression.remove",
            || format!("removing the suppressions of {address}"),
            |e| &e.suppression,
            |store, g| g.call_remove(store, workspace, setup, address, note),
        )
    }

    /// Calls `suppression.get-policy`.
    pub fn get_policy(&self, workspace: &str, setup: &str) -> Answer<Policy> {
        self.call(
            "suppression.get-policy",
            || format!("reading the policy of setup {setup}"),
            |e| &e.suppression,
            |store, g| g.call_get_policy(store, workspace, setup),
        )
    }

    /// Calls `suppression.set-policy`.
    pub fn set_policy(&self, workspace: &str, setup: &str, policy: &Policy) -> Answer<Policy> {
        self.call(
            "suppression.set-policy",
            || format!("setting the policy of setup {setup}"),
            |e| &e.suppression,
            |store, g| g.call_set_policy(store, workspace, setup, policy),
        )
    }

    /// Calls `suppression.get-health`.
    pub fn get_health(&self, workspace: &str, setup: &str) -> Answer<Health> {
        self.call(
            "suppression.get-health",
            || format!("reading the health of setup {setup}"),
            |e| &e.suppression,
            |store, g| g.call_get_health(store, workspace, setup),
        )
    }

    /// Calls `suppression.clear-pause`.
    pub fn clear_pause(&self, workspace: &str, setup: &str, note: &str) -> Answer<Health> {
        self.call(
            "suppression.clear-pause",
            || format!("clearing the pause of setup {setup}"),
            |e| &e.suppression,
            |store, g| g.call_clear_pause(store, workspace, setup, note),
        )
    }
}
