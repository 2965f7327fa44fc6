//! Stored message records: every message sent or received, with what
//! threading needs, found by its Message-ID or by an id a provider gave it.

use serde::{Deserialize, Serialize};

use crate::records;
use crate::store::{Expect, Store, StoreError};

/// Where a stored message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    Outbound,
    Inbound,
}

/// What became of an outbound message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Queued,
    Accepted,
    Failed(String),
    Received,
}

/// A stored message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct MessageRecord {
    pub message_id: String,
    pub direction: Direction,
    /// `None` for an inbound message no setup owns.
    pub setup: Option<String>,
    pub workspace: Option<String>,
    /// `None` for an inbound message that matched nothing.
    pub use_case: Option<String>,
    pub thread_id: Option<String>,
    pub from: Option<String>,
    /// Recipient addresses, lower-case.
    pub to: Vec<String>,
    /// The chain before this message, oldest first.
    pub chain: Vec<String>,
    /// Ids providers assigned to this message besides ours.
    pub provider_ids: Vec<String>,
    pub status: Status,
    pub received_at: i64,
    /// The Outlook Thread-Index (base64) this message carried.
    #[serde(default)]
    pub thread_index: Option<String>,
    /// For inbound messages: the addresses of its From, To and Cc fields,
    /// lower-case (who may answer it without being flagged).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub participants: Vec<String>,
    /// For inbound messages: a digest of the parsed message, which tells the
    /// same message received again from another one that reuses its id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

impl MessageRecord {
    /// Every id a client may quote for this message: ours, then providers'.
    pub fn ids(&self) -> Vec<String> {
        let mut ids = vec![self.message_id.clone()];
        ids.extend(self.provider_ids.iter().cloned());
        ids
    }
}

use crate::keys::{
    UNROUTED, alias as alias_key, alias_owner as alias_owner_key, message as key,
    message_owner as owner_key,
};

/// Stores a new record; `Ok(false)` when one with this id already exists.
pub fn insert(store: &mut dyn Store, record: &MessageRecord) -> Result<bool, StoreError> {
    let k = key(record.setup.as_deref(), &record.message_id);
    match records::write(store, &k, record, Expect::Absent) {
        Ok(_) => {}
        Err(StoreError::Conflict(_)) => return Ok(false),
        Err(e) => return Err(e),
    }
    let owner = record.setup.clone().unwrap_or_else(|| UNROUTED.into());
    records::write(store, &owner_key(&record.message_id), &owner, Expect::Any)?;
    Ok(true)
}

/// Finds a message of `setup` by our id or a provider's.
pub fn find(
    store: &mut dyn Store,
    setup: &str,
    id: &str,
) -> Result<Option<(MessageRecord, u64)>, StoreError> {
    if let Some(found) = records::read(store, &key(Some(setup), id))? {
        return Ok(Some(found));
    }
    let Some((ours, _)) = records::read::<String>(store, &alias_key(setup, id))? else {
        return Ok(None);
    };
    records::read(store, &key(Some(setup), &ours))
}

/// Finds a message by our id alone, whatever its setup.
pub fn find_any(
    store: &mut dyn Store,
    id: &str,
) -> Result<Option<(MessageRecord, u64)>, StoreError> {
    let Some((owner, _)) = records::read::<String>(store, &owner_key(id))? else {
        return Ok(None);
    };
    let setup = (owner != UNROUTED).then_some(owner.as_str());
    records::read(store, &key(setup, id))
}

/// Updates a record read at `version`, retrying on conflict with `change`
/// applied to the latest copy.
pub fn update(
    store: &mut dyn Store,
    mut record: MessageRecord,
    mut version: u64,
    change: impl Fn(&mut MessageRecord),
) -> Result<MessageRecord, StoreError> {
    let k = key(record.setup.as_deref(), &record.message_id);
    for _ in 0..8 {
        change(&mut record);
        match records::write(store, &k, &record, Expect::Version(version)) {
            Ok(_) => return Ok(record),
            Err(StoreError::Conflict(_)) => {
                let Some((latest, v)) = records::read(store, &k)? else {
                    return Err(StoreError::Other(format!("{k} disappeared")));
                };
                (record, version) = (latest, v);
            }
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::Conflict(format!(
        "{k}: too many concurrent writers"
    )))
}

/// Indexes a provider's id for a message of `setup`.
pub fn add_alias(
    store: &mut dyn Store,
    setup: &str,
    alias: &str,
    ours: &str,
) -> Result<(), StoreError> {
    records::write(
        store,
        &alias_key(setup, alias),
        &ours.to_string(),
        Expect::Any,
    )?;
    records::write(
        store,
        &alias_owner_key(alias),
        &setup.to_string(),
        Expect::Any,
    )
    .map(|_| ())
}

/// The record stored under exactly this id in `setup` (`None`: unrouted),
/// aliases not consulted.
pub fn get(
    store: &mut dyn Store,
    setup: Option<&str>,
    id: &str,
) -> Result<Option<MessageRecord>, StoreError> {
    Ok(records::read(store, &key(setup, id))?.map(|(r, _)| r))
}

/// Finds an outbound message by our id or a provider's, whatever its setup.
pub fn find_outbound(
    store: &mut dyn Store,
    id: &str,
) -> Result<Option<(MessageRecord, u64)>, StoreError> {
    let found = match find_any(store, id)? {
        Some(found) => Some(found),
        None => match records::read::<String>(store, &alias_owner_key(id))? {
            Some((setup, _)) => find(store, &setup, id)?,
            None => None,
        },
    };
    Ok(found.filter(|(r, _)| r.direction == Direction::Outbound))
}

// Stored under the keys of `crate::keys`; versioned by `crate::records`.
impl crate::records::Record for MessageRecord {}
