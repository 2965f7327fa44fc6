//! `use-cases`: who sends, for what.

use crate::Mailroom;
use crate::use_cases::{UseCase, UseCaseError, UseCaseType};

impl Mailroom {
    /// Calls `use-cases.create`.
    pub fn create_use_case(
        &self,
        workspace: &str,
        setup: &str,
        sender: &str,
        kind: UseCaseType,
        entity_name: &str,
        use_case_name: &str,
    ) -> anyhow::Result<Result<UseCase, UseCaseError>> {
        self.call(
            "use-cases.create",
            || format!("creating use case {use_case_name}"),
            |e| &e.use_cases,
            |store, g| {
                g.call_create(
                    store,
                    workspace,
                    setup,
                    sender,
                    kind,
                    entity_name,
                    use_case_name,
                )
            },
        )
    }

    /// Calls `use-cases.get`.
    pub fn get_use_case(
        &self,
        workspace: &str,
        id: &str,
    ) -> anyhow::Result<Result<UseCase, UseCaseError>> {
        self.call(
            "use-cases.get",
            || format!("reading use case {id}"),
            |e| &e.use_cases,
            |store, g| g.call_get(store, workspace, id),
        )
    }

    /// Calls `use-cases.list`: a setup's use cases, by name.
    pub fn list_use_cases(
        &self,
        workspace: &str,
        setup: &str,
    ) -> anyhow::Result<Result<Vec<UseCase>, UseCaseError>> {
        self.call(
            "use-cases.list",
            || format!("listing the use cases of setup {setup}"),
            |e| &e.use_cases,
            |store, g| g.call_list(store, workspace, setup),
        )
    }

    /// Calls `use-cases.disable`: nothing is sent under the use case after.
    pub fn disable_use_case(
        &self,
        workspace: &str,
        id: &str,
    ) -> anyhow::Result<Result<UseCase, UseCaseError>> {
        self.call(
            "use-cases.disable",
            || format!("disabling use case {id}"),
            |e| &e.use_cases,
            |store, g| g.call_disable(store, workspace, id),
        )
    }

    /// Calls `use-cases.set-list-unsubscribe`.
    pub fn set_list_unsubscribe(
        &self,
        workspace: &str,
        id: &str,
        enabled: bool,
    ) -> anyhow::Result<Result<UseCase, UseCaseError>> {
        self.call(
            "use-cases.set-list-unsubscribe",
            || format!("setting List-Unsubscribe of use case {id}"),
            |e| &e.use_cases,
            |store, g| g.call_set_list_unsubscribe(store, workspace, id, enabled),
        )
    }
}
