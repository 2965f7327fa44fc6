//! The tenant calls: every export a workspace calls to read or change an
//! existing object, checked against the caller's workspace before its
//! domain function runs.
//!
//! An object of another workspace answers exactly as a nonexistent id does
//! (same case, same text), so a caller learns nothing about other
//! workspaces. The component adapter and the native scenario runner both
//! call these, so every host enforces the same scope.

use crate::env::Env;
use crate::outbound::{self, SendError, SendRequest, Sent};
use crate::reporting::{self, Period, ReportingError, Subject};
use crate::setups::{self, DnsAnswer, Lookup, Setup, SetupError, Verification};
use crate::store::{Store, StoreError};
use crate::suppression::{self, AddressState, Decision, Health, Policy, SuppressionError};
use crate::tracking::{
    self, EngagementPeriod, LinkClicks, TrackedMessage, TrackingError, TrackingSettings,
};
use crate::transport::Transport;
use crate::use_cases::{self, UseCase, UseCaseError, UseCaseType};

/// Why a scoped object was not found for the caller.
#[derive(Debug)]
pub enum Denied {
    /// No setup of the workspace has this id; the not-found text.
    Setup(String),
    /// No use case of the workspace has this id; the not-found text.
    UseCase(String),
    /// The store failed while checking.
    Store(String),
}

/// The setup `id` if it belongs to `workspace`.
pub fn setup(store: &mut dyn Store, workspace: &str, id: &str) -> Result<Setup, Denied> {
    match setups::get(store, id) {
        Ok(s) if s.workspace == workspace => Ok(s),
        Err(SetupError::Store(e)) => Err(Denied::Store(e)),
        Ok(_) | Err(_) => Err(Denied::Setup(setups::not_found(id))),
    }
}

/// The use case `id` if its setup belongs to `workspace`.
pub fn use_case(store: &mut dyn Store, workspace: &str, id: &str) -> Result<UseCase, Denied> {
    let missing = || Denied::UseCase(use_cases::not_found(id));
    let use_case = match use_cases::get(store, id) {
        Ok(u) => u,
        Err(UseCaseError::Store(e)) => return Err(Denied::Store(e)),
        Err(_) => return Err(missing()),
    };
    match setup(store, workspace, &use_case.setup) {
        Ok(_) => Ok(use_case),
        Err(Denied::Store(e)) => Err(Denied::Store(e)),
        Err(_) => Err(missing()),
    }
}

impl From<Denied> for SetupError {
    fn from(d: Denied) -> Self {
        match d {
            Denied::Setup(m) | Denied::UseCase(m) => SetupError::NotFound(m),
            Denied::Store(m) => SetupError::Store(m),
        }
    }
}

impl From<Denied> for UseCaseError {
    fn from(d: Denied) -> Self {
        match d {
            Denied::Setup(m) => UseCaseError::UnknownSetup(m),
            Denied::UseCase(m) => UseCaseError::NotFound(m),
            Denied::Store(m) => UseCaseError::Store(m),
        }
    }
}

impl From<Denied> for SendError {
    fn from(d: Denied) -> Self {
        match d {
            Denied::Setup(m) | Denied::UseCase(m) => SendError::UnknownUseCase(m),
            Denied::Store(m) => SendError::Store(m),
        }
    }
}

impl From<Denied> for SuppressionError {
    fn from(d: Denied) -> Self {
        match d {
            Denied::Setup(m) => SuppressionError::UnknownSetup(m),
            Denied::UseCase(m) => SuppressionError::UnknownUseCase(m),
            Denied::Store(m) => SuppressionError::Store(m),
        }
    }
}

impl From<Denied> for ReportingError {
    fn from(d: Denied) -> Self {
        match d {
            Denied::Setup(m) | Denied::UseCase(m) => ReportingError::NotFound(m),
            Denied::Store(m) => ReportingError::Store(m),
        }
    }
}

/// `setups.get`.
pub fn setups_get(
    store: &mut dyn Store,
    env: &mut dyn Env,
    workspace: &str,
    id: &str,
) -> Result<Setup, SetupError> {
    let setup = setup(store, workspace, id)?;
    Ok(setups::shown(setup, env))
}

/// `setups.list`.
pub fn setups_list(
    store: &mut dyn Store,
    env: &mut dyn Env,
    workspace: &str,
) -> Result<Vec<Setup>, SetupError> {
    setups::list(store, env, workspace)
}

/// `setups.lookups`.
pub fn setups_lookups(
    store: &mut dyn Store,
    workspace: &str,
    id: &str,
) -> Result<Vec<Lookup>, SetupError> {
    setup(store, workspace, id)?;
    setups::lookups(store, id)
}

/// `setups.verify`.
pub fn setups_verify(
    store: &mut dyn Store,
    env: &mut dyn Env,
    workspace: &str,
    id: &str,
    answers: &[DnsAnswer],
) -> Result<Verification, SetupError> {
    setup(store, workspace, id)?;
    setups::verify(store, env, id, answers)
}

/// `setups.rotate-dkim`.
pub fn setups_rotate_dkim(
    store: &mut dyn Store,
    env: &mut dyn Env,
    workspace: &str,
    id: &str,
) -> Result<Setup, SetupError> {
    setup(store, workspace, id)?;
    setups::rotate_dkim(store, env, id)
}

/// `use-cases.create`.
#[allow(clippy::too_many_arguments)] // the WIT function's parameters
pub fn use_cases_create(
    store: &mut dyn Store,
    env: &mut dyn Env,
    workspace: &str,
    setup_id: &str,
    sender: &str,
    kind: UseCaseType,
    entity_name: &str,
    use_case_name: &str,
) -> Result<UseCase, UseCaseError> {
    setup(store, workspace, setup_id)?;
    use_cases::create(
        store,
        env,
        setup_id,
        sender,
        kind,
        entity_name,
        use_case_name,
    )
}

/// `use-cases.get`.
pub fn use_cases_get(
    store: &mut dyn Store,
    workspace: &str,
    id: &str,
) -> Result<UseCase, UseCaseError> {
    Ok(use_case(store, workspace, id)?)
}

/// `use-cases.list`.
pub fn use_cases_list(
    store: &mut dyn Store,
    workspace: &str,
    setup_id: &str,
) -> Result<Vec<UseCase>, UseCaseError> {
    setup(store, workspace, setup_id)?;
    use_cases::list(store, setup_id)
}

/// `use-cases.disable`.
pub fn use_cases_disable(
    store: &mut dyn Store,
    workspace: &str,
    id: &str,
) -> Result<UseCase, UseCaseError> {
    use_case(store, workspace, id)?;
    use_cases::disable(store, id)
}

/// `use-cases.set-list-unsubscribe`.
pub fn use_cases_set_list_unsubscribe(
    store: &mut dyn Store,
    workspace: &str,
    id: &str,
    enabled: bool,
) -> Result<UseCase, UseCaseError> {
    use_case(store, workspace, id)?;
    use_cases::set_list_unsubscribe(store, id, enabled)
}

/// `outbound.send`.
pub fn send(
    store: &mut dyn Store,
    transport: &mut dyn Transport,
    env: &mut dyn Env,
    workspace: &str,
    request: &SendRequest,
) -> Result<Sent, SendError> {
    use_case(store, workspace, &request.use_case)?;
    crate::idempotency::send(store, env, workspace, request, |store, env| {
        outbound::send(store, transport, env, request)
    })
}

/// `suppression.check`.
pub fn suppression_check(
    store: &mut dyn Store,
    env: &mut dyn Env,
    workspace: &str,
    use_case_id: &str,
    address: &str,
) -> Result<Decision, SuppressionError> {
    use_case(store, workspace, use_case_id)?;
    suppression::check(store, env, use_case_id, address)
}

/// `suppression.get`.
pub fn suppression_get(
    store: &mut dyn Store,
    env: &mut dyn Env,
    workspace: &str,
    setup_id: &str,
    address: &str,
) -> Result<AddressState, SuppressionError> {
    setup(store, workspace, setup_id)?;
    suppression::get(store, env, setup_id, address)
}

/// `suppression.list`.
pub fn suppression_list(
    store: &mut dyn Store,
    env: &mut dyn Env,
    workspace: &str,
    setup_id: &str,
    cursor: Option<&str>,
    limit: u32,
) -> Result<Vec<AddressState>, SuppressionError> {
    setup(store, workspace, setup_id)?;
    suppression::list(store, env, setup_id, cursor, limit)
}

/// `suppression.remove`.
pub fn suppression_remove(
    store: &mut dyn Store,
    env: &mut dyn Env,
    workspace: &str,
    setup_id: &str,
    address: &str,
    note: &str,
) -> Result<AddressState, SuppressionError> {
    setup(store, workspace, setup_id)?;
    suppression::remove(store, env, setup_id, address, note)
}

/// `suppression.get-policy`.
pub fn suppression_get_policy(
    store: &mut dyn Store,
    workspace: &str,
    setup_id: &str,
) -> Result<Policy, SuppressionError> {
    setup(store, workspace, setup_id)?;
    suppression::policy(store, setup_id)
}

/// `suppression.set-policy`.
pub fn suppression_set_policy(
    store: &mut dyn Store,
    workspace: &str,
    setup_id: &str,
    policy: &Policy,
) -> Result<Policy, SuppressionError> {
    setup(store, workspace, setup_id)?;
    suppression::set_policy(store, setup_id, policy)
}

/// `suppression.get-health`.
pub fn suppression_get_health(
    store: &mut dyn Store,
    env: &mut dyn Env,
    workspace: &str,
    setup_id: &str,
) -> Result<Health, SuppressionError> {
    setup(store, workspace, setup_id)?;
    suppression::health(store, env, setup_id)
}

/// `suppression.clear-pause`.
pub fn suppression_clear_pause(
    store: &mut dyn Store,
    env: &mut dyn Env,
    workspace: &str,
    setup_id: &str,
    note: &str,
) -> Result<Health, SuppressionError> {
    setup(store, workspace, setup_id)?;
    suppression::clear_pause(store, env, setup_id, note)
}

/// `reporting.count`.
pub fn reporting_count(
    store: &mut dyn Store,
    workspace: &str,
    subject: &Subject,
    from: u64,
    until: u64,
) -> Result<Period, ReportingError> {
    match subject {
        Subject::Setup(id) => {
            setup(store, workspace, id)?;
        }
        Subject::UseCase(id) => {
            use_case(store, workspace, id)?;
        }
    }
    reporting::count(store, subject, from, until)
}

/// `reporting.count-engagement`.
pub fn reporting_count_engagement(
    store: &mut dyn Store,
    workspace: &str,
    subject: &Subject,
    from: u64,
    until: u64,
) -> Result<EngagementPeriod, ReportingError> {
    match subject {
        Subject::Setup(id) => {
            setup(store, workspace, id)?;
        }
        Subject::UseCase(id) => {
            use_case(store, workspace, id)?;
        }
    }
    tracking::engagement(store, subject, from, until)
}

/// `reporting.link-clicks`.
pub fn reporting_link_clicks(
    store: &mut dyn Store,
    workspace: &str,
    use_case_id: &str,
    from: u64,
    until: u64,
) -> Result<Vec<LinkClicks>, ReportingError> {
    use_case(store, workspace, use_case_id)?;
    tracking::link_clicks(store, use_case_id, from, until)
}

impl From<Denied> for TrackingError {
    fn from(d: Denied) -> Self {
        match d {
            Denied::Setup(m) | Denied::UseCase(m) => TrackingError::NotFound(m),
            Denied::Store(m) => TrackingError::Store(m),
        }
    }
}

/// `tracking.get-settings`.
pub fn tracking_get_settings(
    store: &mut dyn Store,
    workspace: &str,
    id: &str,
) -> Result<TrackingSettings, TrackingError> {
    use_case(store, workspace, id)?;
    tracking::get_settings(store, id)
}

/// `tracking.set-settings`.
pub fn tracking_set_settings(
    store: &mut dyn Store,
    workspace: &str,
    id: &str,
    settings: &TrackingSettings,
) -> Result<TrackingSettings, TrackingError> {
    use_case(store, workspace, id)?;
    tracking::set_settings(store, id, settings)
}

/// `tracking.get-base`.
pub fn tracking_get_base(
    store: &mut dyn Store,
    workspace: &str,
    id: &str,
) -> Result<String, TrackingError> {
    setup(store, workspace, id)?;
    tracking::get_base(store, id)
}

/// `tracking.set-base`.
pub fn tracking_set_base(
    store: &mut dyn Store,
    workspace: &str,
    id: &str,
    base: Option<&str>,
) -> Result<String, TrackingError> {
    setup(store, workspace, id)?;
    tracking::set_base(store, id, base)
}

/// `tracking.message`: another workspace's message answers as an unknown
/// one.
pub fn tracking_message(
    store: &mut dyn Store,
    workspace: &str,
    message_id: &str,
) -> Result<TrackedMessage, TrackingError> {
    let owner = crate::ids::bare(message_id)
        .map(|id| crate::messages::find_outbound(store, &id))
        .transpose()?
        .flatten()
        .and_then(|(record, _)| record.workspace);
    if owner.as_deref() != Some(workspace) {
        return Err(tracking::message_not_found(message_id));
    }
    tracking::message(store, message_id)
}

impl From<StoreError> for Denied {
    fn from(e: StoreError) -> Self {
        Denied::Store(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::FixedEnv;
    use crate::setups::SetupOptions;
    use crate::store::MemoryStore;

    fn options() -> SetupOptions {
        SetupOptions {
            inbound_host: "inbound.mailroom.example".into(),
            spf_include: None,
            unsubscribe_base: None,
            pending_ttl: None,
            bounce_domain: None,
        }
    }

    #[test]
    fn another_workspace_sees_what_a_missing_id_sees() {
        let mut store = MemoryStore::default();
        let mut env = FixedEnv::new(1_772_442_000, 1);
        let a = setups::create(&mut store, &mut env, "ws-a", "a.example", &options()).unwrap();
        let theirs = setups_get(&mut store, &mut env, "ws-b", &a.id).unwrap_err();
        let missing = setups_get(&mut store, &mut env, "ws-b", "set_0000").unwrap_err();
        assert_eq!(
            theirs,
            SetupError::NotFound(format!("no setup has id {}", a.id))
        );
        assert_eq!(
            missing,
            SetupError::NotFound("no setup has id set_0000".into())
        );
        assert!(setups_get(&mut store, &mut env, "ws-a", &a.id).is_ok());
        assert!(
            setups_list(&mut store, &mut env, "ws-b")
                .unwrap()
                .is_empty()
        );
        assert_eq!(setups_list(&mut store, &mut env, "ws-a").unwrap().len(), 1);
        let before = store.clone();
        let err = setups_rotate_dkim(&mut store, &mut env, "ws-b", &a.id).unwrap_err();
        assert!(matches!(err, SetupError::NotFound(_)));
        assert_eq!(store, before, "a refused call writes nothing");
    }

    #[test]
    fn the_first_setup_to_verify_owns_the_domain() {
        use crate::env::Env;
        let mut store = MemoryStore::default();
        let mut env = FixedEnv::new(1_772_442_000, 2);
        let a = setups::create(&mut store, &mut env, "ws-a", "shared.example", &options()).unwrap();
        let b = setups::create(&mut store, &mut env, "ws-b", "shared.example", &options())
            .expect("a pending setup does not hold the domain");
        // Only B's records are published: B verifies and owns the domain.
        let published = setups::answers_publishing(&b.records);
        let verified = setups_verify(&mut store, &mut env, "ws-b", &b.id, &published).unwrap();
        assert_eq!(verified.setup.status, setups::SetupStatus::Verified);
        assert_eq!(verified.setup.expires_at, None);
        // A sees B's DKIM key, not its own: not verified, nothing gained.
        let a_check = setups_verify(&mut store, &mut env, "ws-a", &a.id, &published).unwrap();
        assert_ne!(a_check.setup.status, setups::SetupStatus::Verified);
        // Even with its own records answered, A cannot take the domain.
        let before = store.clone();
        let own = setups::answers_publishing(&a.records);
        let taken = setups_verify(&mut store, &mut env, "ws-a", &a.id, &own).unwrap_err();
        assert!(matches!(taken, SetupError::DomainTaken(_)), "{taken:?}");
        assert_eq!(store, before, "a refused verification writes nothing");
        let late = setups::create(&mut store, &mut env, "ws-c", "shared.example", &options());
        assert!(matches!(late, Err(SetupError::DomainTaken(_))));
        // A pending setup expires after its pending-ttl and can no longer verify.
        let short = SetupOptions {
            pending_ttl: Some(60),
            bounce_domain: None,
            ..options()
        };
        let d = setups::create(&mut store, &mut env, "ws-d", "other.example", &short).unwrap();
        for _ in 0..61 {
            env.now();
        }
        let shown = setups_get(&mut store, &mut env, "ws-d", &d.id).unwrap();
        assert_eq!(shown.status, setups::SetupStatus::Expired);
        let answers = setups::answers_publishing(&d.records);
        let expired = setups_verify(&mut store, &mut env, "ws-d", &d.id, &answers).unwrap_err();
        assert!(matches!(expired, SetupError::Expired(_)), "{expired:?}");
        let bad = SetupOptions {
            pending_ttl: Some(0),
            bounce_domain: None,
            ..options()
        };
        let refused = setups::create(&mut store, &mut env, "ws-d", "x.example", &bad);
        assert!(matches!(refused, Err(SetupError::InvalidOptions(_))));
    }
}
