//! Use cases: who sends, for what, under which setup.

use serde::{Deserialize, Serialize};

use crate::env::Env;
use crate::records;
use crate::setups;
use crate::store::{Expect, Store, StoreError};

/// Transactional or marketing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UseCaseType {
    Transactional,
    Marketing,
}

/// A use case of a setup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct UseCase {
    pub id: String,
    pub setup: String,
    pub sender: String,
    #[serde(rename = "type")]
    pub kind: UseCaseType,
    pub entity_name: String,
    pub use_case_name: String,
    pub enabled: bool,
    #[serde(default)]
    pub list_unsubscribe: bool,
}

/// Why a use-case call failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum UseCaseError {
    UnknownSetup(String),
    SetupNotVerified(String),
    InvalidSender(String),
    InvalidName(String),
    NameTaken(String),
    NotFound(String),
    MarketingNeedsUnsubscribe(String),
    Store(String),
}

display_cases!(UseCaseError {
    UnknownSetup => "unknown-setup",
    SetupNotVerified => "setup-not-verified",
    InvalidSender => "invalid-sender",
    InvalidName => "invalid-name",
    NameTaken => "name-taken",
    NotFound => "not-found",
    MarketingNeedsUnsubscribe => "marketing-needs-unsubscribe",
    Store => "store",
});

impl From<StoreError> for UseCaseError {
    fn from(e: StoreError) -> Self {
        UseCaseError::Store(e.to_string())
    }
}

pub(crate) fn key(id: &str) -> String {
    crate::keys::use_case(id)
}

/// Creates a use case of a verified `setup`.
pub fn create(
    store: &mut dyn Store,
    env: &mut dyn Env,
    setup: &str,
    sender: &str,
    kind: UseCaseType,
    entity_name: &str,
    use_case_name: &str,
) -> Result<UseCase, UseCaseError> {
    let setup = match setups::get(store, setup) {
        Ok(s) => s,
        Err(setups::SetupError::NotFound(m)) => return Err(UseCaseError::UnknownSetup(m)),
        Err(e) => return Err(UseCaseError::Store(format!("{e}"))),
    };
    if !setups::is_verified(&setup) {
        return Err(UseCaseError::SetupNotVerified(format!(
            "setup {} is {}: publish its DNS records and verify it first",
            setup.id,
            setup.status.name()
        )));
    }
    let sender =
        crate::address::key(sender).map_err(|e| UseCaseError::InvalidSender(e.to_string()))?;
    if !sender.ends_with(&format!("@{}", setup.domain)) {
        return Err(UseCaseError::InvalidSender(format!(
            "{sender} is not on the setup's domain {}",
            setup.domain
        )));
    }
    for (what, name) in [
        ("entity-name", entity_name),
        ("use-case-name", use_case_name),
    ] {
        if name.trim().is_empty() || name.len() > 200 || name.chars().any(char::is_control) {
            return Err(UseCaseError::InvalidName(format!(
                "{what} must be 1 to 200 bytes without control characters"
            )));
        }
    }
    let use_case = UseCase {
        id: format!("uc_{}", env.random_hex(8)),
        setup: setup.id.clone(),
        sender,
        kind,
        entity_name: entity_name.to_string(),
        use_case_name: use_case_name.to_string(),
        enabled: true,
        list_unsubscribe: kind == UseCaseType::Marketing,
    };
    let name_key = crate::keys::use_case_name(&setup.id, &use_case_name.to_lowercase());
    match records::write(store, &name_key, &use_case.id, Expect::Absent) {
        Err(StoreError::Conflict(_)) => {
            return Err(UseCaseError::NameTaken(format!(
                "the setup already has a use case named {use_case_name}"
            )));
        }
        other => other?,
    };
    records::write(
        store,
        &key(&use_case.id),
        &Stored::from(&use_case),
        Expect::Absent,
    )?;
    Ok(use_case)
}

/// The not-found text for `id`, the same whether the use case is missing or
/// another workspace's.
pub fn not_found(id: &str) -> String {
    format!("no use case has id {id}")
}

/// Reads a use case.
pub fn get(store: &mut dyn Store, id: &str) -> Result<UseCase, UseCaseError> {
    records::read::<Stored>(store, &key(id))?
        .map(|(u, _)| u.into())
        .ok_or_else(|| UseCaseError::NotFound(not_found(id)))
}

/// The use cases of a setup, by name.
pub fn list(store: &mut dyn Store, setup: &str) -> Result<Vec<UseCase>, UseCaseError> {
    if let Err(setups::SetupError::NotFound(m)) = setups::get(store, setup) {
        return Err(UseCaseError::UnknownSetup(m));
    }
    let prefix = crate::keys::use_case_name_prefix(setup);
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = store.list(&prefix, cursor.as_deref(), 100)?;
        for key in &page.keys {
            if let Some((id, _)) = records::read::<String>(store, key)? {
                out.push(get(store, &id)?);
            }
        }
        match page.cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(out),
        }
    }
}

/// Disables a use case.
pub fn disable(store: &mut dyn Store, id: &str) -> Result<UseCase, UseCaseError> {
    change(store, id, |u| {
        u.enabled = false;
        Ok(())
    })
}

/// Turns List-Unsubscribe on or off; marketing always keeps it.
pub fn set_list_unsubscribe(
    store: &mut dyn Store,
    id: &str,
    enabled: bool,
) -> Result<UseCase, UseCaseError> {
    change(store, id, |u| {
        if !enabled && u.kind == UseCaseType::Marketing {
            return Err(UseCaseError::MarketingNeedsUnsubscribe(format!(
                "use case {} is marketing: its mail must carry one-click List-Unsubscribe (RFC 8058)",
                u.id
            )));
        }
        u.list_unsubscribe = enabled;
        Ok(())
    })
}

fn change(
    store: &mut dyn Store,
    id: &str,
    apply: impl Fn(&mut UseCase) -> Result<(), UseCaseError>,
) -> Result<UseCase, UseCaseError> {
    for _ in 0..8 {
        let Some((stored, version)) = records::read::<Stored>(store, &key(id))? else {
            return Err(UseCaseError::NotFound(not_found(id)));
        };
        let mut use_case = UseCase::from(stored);
        apply(&mut use_case)?;
        let stored = Stored::from(&use_case);
        match records::write(store, &key(id), &stored, Expect::Version(version)) {
            Ok(_) => return Ok(use_case),
            Err(StoreError::Conflict(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(UseCaseError::Store(format!(
        "use case {id}: too many concurrent writers"
    )))
}

/// A use case as stored (`use-case/{id}`): its own field and case names,
/// fixed by the schema, whatever the API's become.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Stored {
    id: String,
    setup: String,
    sender: String,
    #[serde(rename = "type")]
    kind: StoredType,
    #[serde(rename = "entity-name")]
    entity_name: String,
    #[serde(rename = "use-case-name")]
    use_case_name: String,
    enabled: bool,
    #[serde(rename = "list-unsubscribe", default)]
    list_unsubscribe: bool,
}

/// [`UseCaseType`] as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum StoredType {
    #[serde(rename = "transactional")]
    Transactional,
    #[serde(rename = "marketing")]
    Marketing,
}

impl From<&UseCase> for Stored {
    fn from(u: &UseCase) -> Self {
        Stored {
            id: u.id.clone(),
            setup: u.setup.clone(),
            sender: u.sender.clone(),
            kind: match u.kind {
                UseCaseType::Transactional => StoredType::Transactional,
                UseCaseType::Marketing => StoredType::Marketing,
            },
            entity_name: u.entity_name.clone(),
            use_case_name: u.use_case_name.clone(),
            enabled: u.enabled,
            list_unsubscribe: u.list_unsubscribe,
        }
    }
}

impl From<Stored> for UseCase {
    fn from(s: Stored) -> Self {
        UseCase {
            id: s.id,
            setup: s.setup,
            sender: s.sender,
            kind: match s.kind {
                StoredType::Transactional => UseCaseType::Transactional,
                StoredType::Marketing => UseCaseType::Marketing,
            },
            entity_name: s.entity_name,
            use_case_name: s.use_case_name,
            enabled: s.enabled,
            list_unsubscribe: s.list_unsubscribe,
        }
    }
}

// Stored under the keys of `crate::keys`; versioned by `crate::records`.
impl crate::records::Record for Stored {}
