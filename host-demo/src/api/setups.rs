//! `setups`: sending domains, their records and verification.

use crate::setups::{DnsAnswer, Lookup, Setup, SetupError, SetupOptions, Verification};
use crate::{Mailroom, Resolve};

impl Mailroom {
    /// Calls `setups.create`: registers `domain` for `workspace`.
    pub fn create_setup(
        &self,
        workspace: &str,
        domain: &str,
        options: &SetupOptions,
    ) -> anyhow::Result<Result<Setup, SetupError>> {
        self.call(
            "setups.create",
            || format!("creating a setup for {domain}"),
            |e| &e.setups,
            |store, g| g.call_create(store, workspace, domain, options),
        )
    }

    /// Calls `setups.get`.
    pub fn get_setup(
        &self,
        workspace: &str,
        id: &str,
    ) -> anyhow::Result<Result<Setup, SetupError>> {
        self.call(
            "setups.get",
            || format!("reading setup {id}"),
            |e| &e.setups,
            |store, g| g.call_get(store, workspace, id),
        )
    }

    /// Calls `setups.list`: the workspace's setups, oldest first.
    pub fn list_setups(&self, workspace: &str) -> anyhow::Result<Result<Vec<Setup>, SetupError>> {
        self.call(
            "setups.list",
            || "listing setups".to_string(),
            |e| &e.setups,
            |store, g| g.call_list(store, workspace),
        )
    }

    /// Calls `setups.lookups`: the names and types to resolve for
    /// [`verify_setup`](Self::verify_setup).
    pub fn setup_lookups(
        &self,
        workspace: &str,
        id: &str,
    ) -> anyhow::Result<Result<Vec<Lookup>, SetupError>> {
        self.call(
            "setups.lookups",
            || format!("listing the lookups of setup {id}"),
            |e| &e.setups,
            |store, g| g.call_lookups(store, workspace, id),
        )
    }

    /// Calls `setups.verify`: checks DNS answers against the setup's records
    /// and stores its new status. The answers are trusted: take them only
    /// from your own resolver ([`verify_setup_with`](Self::verify_setup_with)).
    pub fn verify_setup(
        &self,
        workspace: &str,
        id: &str,
        answers: &[DnsAnswer],
    ) -> anyhow::Result<Result<Verification, SetupError>> {
        self.call(
            "setups.verify",
            || format!("verifying setup {id}"),
            |e| &e.setups,
            |store, g| g.call_verify(store, workspace, id, answers),
        )
    }

    /// Verifies a setup against DNS: `setups.lookups`, each resolved by
    /// `resolver` (a [`Resolver`](crate::Resolver) asking a nameserver, or a
    /// [`Zone`](crate::Zone)), then `setups.verify` with the answers.
    pub fn verify_setup_with(
        &self,
        workspace: &str,
        id: &str,
        resolver: &(impl Resolve + ?Sized),
    ) -> anyhow::Result<Result<Verification, SetupError>> {
        let lookups = match self.setup_lookups(workspace, id)? {
            Ok(lookups) => lookups,
            Err(e) => return Ok(Err(e)),
        };
        let answers = resolver.resolve_all(&lookups);
        self.verify_setup(workspace, id, &answers)
    }

    /// Calls `setups.rotate-dkim`: starts a DKIM key rotation.
    pub fn rotate_dkim(
        &self,
        workspace: &str,
        id: &str,
    ) -> anyhow::Result<Result<Setup, SetupError>> {
        self.call(
            "setups.rotate-dkim",
            || format!("rotating the DKIM key of setup {id}"),
            |e| &e.setups,
            |store, g| g.call_rotate_dkim(store, workspace, id),
        )
    }
}
