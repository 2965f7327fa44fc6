//! Email setups: a workspace's sending domain. This is the minimal record
//! threading needs; DNS records and verification build on it.

use serde::{Deserialize, Serialize};

use crate::env::Env;
use crate::store::{Expect, Store, StoreError, get_json, put_json};

/// A registered sending domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Setup {
    pub id: String,
    pub workspace: String,
    pub domain: String,
}

/// Why a setup call failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SetupError {
    InvalidDomain(String),
    InvalidWorkspace(String),
    DomainTaken(String),
    NotFound(String),
    Store(String),
}

impl From<StoreError> for SetupError {
    fn from(e: StoreError) -> Self {
        SetupError::Store(e.to_string())
    }
}

pub(crate) fn key(id: &str) -> String {
    format!("setup/{id}")
}

pub(crate) fn domain_key(domain: &str) -> String {
    format!("domain/{domain}")
}

/// Registers `domain` for `workspace`.
pub fn create(
    store: &mut dyn Store,
    env: &mut dyn Env,
    workspace: &str,
    domain: &str,
) -> Result<Setup, SetupError> {
    if workspace.trim().is_empty()
        || workspace.len() > 200
        || workspace.chars().any(char::is_control)
    {
        return Err(SetupError::InvalidWorkspace(
            "the workspace must be 1 to 200 bytes without control characters".into(),
        ));
    }
    let domain = normalize_domain(domain).map_err(SetupError::InvalidDomain)?;
    let setup = Setup {
        id: format!("set_{}", env.random_hex(8)),
        workspace: workspace.to_string(),
        domain: domain.clone(),
    };
    match put_json(store, &domain_key(&domain), &setup.id, Expect::Absent) {
        Err(StoreError::Conflict(_)) => {
            return Err(SetupError::DomainTaken(format!(
                "{domain} is already registered by another setup"
            )));
        }
        other => other?,
    };
    put_json(store, &key(&setup.id), &setup, Expect::Absent)?;
    Ok(setup)
}

/// Reads a setup.
pub fn get(store: &mut dyn Store, id: &str) -> Result<Setup, SetupError> {
    get_json(store, &key(id))?
        .map(|(s, _)| s)
        .ok_or_else(|| SetupError::NotFound(format!("no setup has id {id}")))
}

/// The setup that owns `domain`, if any.
pub fn by_domain(store: &mut dyn Store, domain: &str) -> Result<Option<Setup>, StoreError> {
    let Some((id, _)) = get_json::<String>(store, &domain_key(&domain.to_ascii_lowercase()))?
    else {
        return Ok(None);
    };
    Ok(get_json(store, &key(&id))?.map(|(s, _)| s))
}

/// A host name in lower case, checked for syntax (LDH labels, at least two).
pub fn normalize_domain(domain: &str) -> Result<String, String> {
    let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
    let labels: Vec<&str> = domain.split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    if domain.len() > 253 || labels.len() < 2 || !labels.iter().all(label_ok) {
        return Err(format!(
            "{} is not a valid domain name",
            crate::ids::shown(&domain)
        ));
    }
    Ok(domain)
}
