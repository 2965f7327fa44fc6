//! API keys: who a request speaks for.
//!
//! The trust model of `host-demo serve` (README, "The platform API"):
//! - a **workspace key** (`host-demo keys create --workspace W`) acts for
//!   one workspace; the component answers not-found for every object of
//!   another. The secret is shown once; only its SHA-256 is stored, in the
//!   channel's store under `host/api-key/`, beside the component's records
//!   (no component key starts with `host/`).
//! - the **admin key** (setting `admin-key`) is the operator's: it acts for
//!   the workspace named by the `X-Mailroom-Workspace` header.
//! - the **ingest secret** (setting `ingest-secret`) guards the platform's
//!   plumbing: `POST /inbound`, `/reports`, `/events` and
//!   `/messages/{id}/outcome`, posted by an MTA, SES, Cloudflare or a
//!   provider's webhook, never by a tenant. The admin key works there too.
//! - public routes (`/unsubscribe/{token}`, `/healthz`) need nothing: a
//!   token or nothing at all authenticates them.
//!
//! Secrets are compared as SHA-256 digests in constant time (`subtle`).

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::host::store::{Expect, SharedStore, StoreError};

/// Where key records live in the store.
pub use crate::keys::API_KEY_PREFIX as KEY_PREFIX;

/// The prefix of every secret this host makes, so leaked keys are easy to
/// find (as `sk_live_` and `ghp_` are).
pub const SECRET_PREFIX: &str = "mrk_";

/// A stored key: never the secret, only its digest (the store key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct KeyRecord {
    /// A short public id (`key_…`) to list and revoke it by.
    pub id: String,
    /// The workspace it acts for.
    pub workspace: String,
    /// A name for people.
    pub name: String,
    /// When it was made, seconds since the Unix epoch.
    pub created_at: u64,
    /// When it was revoked, if it was.
    pub revoked_at: Option<u64>,
}

/// Who a request speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// A workspace key (or the admin key naming a workspace).
    Workspace {
        /// The workspace.
        workspace: String,
        /// The key's id (`admin` for the admin key), for logs.
        key: String,
    },
    /// The ingest secret or the admin key on a plumbing route.
    Ingest,
}

/// The SHA-256 of a secret, hex: a key's store name.
pub fn digest(secret: &str) -> String {
    crate::hex(&Sha256::digest(secret.as_bytes()))
}

/// Whether `given` is `expected`, in time independent of where they differ.
pub fn same_secret(given: &str, expected: &str) -> bool {
    let (a, b) = (
        Sha256::digest(given.as_bytes()),
        Sha256::digest(expected.as_bytes()),
    );
    bool::from(a.as_slice().ct_eq(b.as_slice()))
}

/// Makes a key for `workspace`: returns the secret (shown once) and its record.
pub fn create(
    store: &SharedStore,
    workspace: &str,
    name: &str,
    now: u64,
) -> anyhow::Result<(String, KeyRecord)> {
    if workspace.trim().is_empty()
        || workspace.len() > 200
        || workspace.chars().any(char::is_control)
    {
        bail!("the workspace must be 1 to 200 bytes without control characters");
    }
    if name.len() > 200 || name.chars().any(char::is_control) {
        bail!("the name must be at most 200 bytes without control characters");
    }
    let mut secret_bytes = [0u8; 32];
    getrandom::fill(&mut secret_bytes).context("drawing a key")?;
    let secret = format!("{SECRET_PREFIX}{}", crate::hex(&secret_bytes));
    let mut id_bytes = [0u8; 6];
    getrandom::fill(&mut id_bytes).context("drawing a key id")?;
    let record = KeyRecord {
        id: format!("key_{}", crate::hex(&id_bytes)),
        workspace: workspace.to_string(),
        name: name.to_string(),
        created_at: now,
        revoked_at: None,
    };
    let value = serde_json::to_vec(&record)?;
    lock(store)?
        .put(
            &crate::keys::api_key(&digest(&secret)),
            &value,
            Expect::Absent,
        )
        .map_err(store_error)?;
    Ok((secret, record))
}

/// The key a secret names, if any (revoked ones included).
pub fn lookup(store: &SharedStore, secret: &str) -> anyhow::Result<Option<KeyRecord>> {
    if !secret.starts_with(SECRET_PREFIX) || secret.len() > 200 {
        return Ok(None);
    }
    let entry = lock(store)?
        .get(&crate::keys::api_key(&digest(secret)))
        .map_err(store_error)?;
    entry
        .map(|e| serde_json::from_slice(&e.value).context("a stored key record"))
        .transpose()
}

/// Every key, optionally of one workspace, oldest first.
pub fn list(store: &SharedStore, workspace: Option<&str>) -> anyhow::Result<Vec<KeyRecord>> {
    let mut out = Vec::new();
    for (_, _, record) in records(store)? {
        if workspace.is_none_or(|w| w == record.workspace) {
            out.push(record);
        }
    }
    out.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    Ok(out)
}

/// Revokes the key with id `id`; it then answers 401. Returns its record.
pub fn revoke(store: &SharedStore, id: &str, now: u64) -> anyhow::Result<KeyRecord> {
    for (key, version, mut record) in records(store)? {
        if record.id == id {
            if record.revoked_at.is_none() {
                record.revoked_at = Some(now);
                let value = serde_json::to_vec(&record)?;
                lock(store)?
                    .put(&key, &value, Expect::Version(version))
                    .map_err(store_error)?;
            }
            return Ok(record);
        }
    }
    bail!("no key has id {id}")
}

fn records(store: &SharedStore) -> anyhow::Result<Vec<(String, u64, KeyRecord)>> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = lock(store)?
            .list(KEY_PREFIX, cursor.as_deref(), 100)
            .map_err(store_error)?;
        for key in &page.keys {
            let entry = lock(store)?.get(key).map_err(store_error)?;
            if let Some(entry) = entry {
                let record: KeyRecord =
                    serde_json::from_slice(&entry.value).context("a stored key record")?;
                out.push((key.clone(), entry.version, record));
            }
        }
        match page.cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(out),
        }
    }
}

fn lock(
    store: &SharedStore,
) -> anyhow::Result<std::sync::MutexGuard<'_, dyn crate::host::store::Store + 'static>> {
    store
        .lock()
        .map_err(|_| anyhow::anyhow!("the store lock is poisoned"))
}

fn store_error(e: StoreError) -> anyhow::Error {
    anyhow::anyhow!("the store failed: {e:?}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::store::{MemoryStore, shared};

    #[test]
    fn keys_are_stored_as_digests_and_revoked_by_id() {
        let store = shared(MemoryStore::default());
        let (secret, record) = create(&store, "ws-a", "ci", 100).unwrap();
        assert!(secret.starts_with(SECRET_PREFIX) && secret.len() == 68);
        assert_eq!(lookup(&store, &secret).unwrap(), Some(record.clone()));
        assert_eq!(lookup(&store, "mrk_0000").unwrap(), None);
        assert_eq!(lookup(&store, "not a key").unwrap(), None);
        let stored: Vec<String> = store.lock().unwrap().list("", None, 100).unwrap().keys;
        assert!(stored.iter().all(|k| !k.contains(&secret)), "{stored:?}");
        assert_eq!(list(&store, Some("ws-b")).unwrap(), vec![]);
        let revoked = revoke(&store, &record.id, 200).unwrap();
        assert_eq!(revoked.revoked_at, Some(200));
        assert_eq!(
            lookup(&store, &secret).unwrap().unwrap().revoked_at,
            Some(200)
        );
        assert!(revoke(&store, "key_nope", 300).is_err());
        assert!(same_secret("abc", "abc") && !same_secret("abc", "abd"));
    }
}
