//! Stored records: the schema's value half (`keys` is the key half). Every
//! value the component stores goes through [`read`] and [`write`].
//!
//! **Versions.** A record is a JSON object; one written by this build
//! carries `"v": 2` as its first field. A record without `v` was written by
//! release 1 (before records had versions) and is read through
//! [`Record::from_v1`]. A record whose `v` is newer than [`VERSION`] is a
//! typed `StoreError::Other` naming the key and both versions: never a
//! trap, never a silent misread. The version is a field, not an envelope,
//! because release 1 ignores fields it does not know: a replica still on
//! release 1 reads what this build writes, which an envelope would break
//! mid-upgrade. Plain values (an index entry holding an id, a list, a map of
//! counters) cannot hold a field: they carry no version and their format is
//! frozen; changing one means a new key family.
//!
//! **What may change without a version bump**: adding a field that has a
//! default (`#[serde(default)]`), since every release ignores unknown
//! fields and fills missing ones; adding a key family. **What needs a
//! bump**: removing or renaming a field, changing a field's type or
//! meaning. A bump is expand/contract over two releases: release N learns
//! to read version V+1 (and still writes V); only once every replica runs
//! N does release N+1 write V+1. So a replica never meets a record newer
//! than it reads, and when it does (a downgrade), it refuses clearly.
//!
//! **Stored shapes are not the API.** The records' field names are the
//! schema, fixed by their own `#[serde]` attributes; renaming a WIT or API
//! field must not change them (a stored type that mirrors an API type keeps
//! its own names, see `use_cases::Stored`).

use std::collections::BTreeMap;

use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;

use crate::store::{Expect, Store, StoreError};

/// The record version this build writes, and the newest it reads.
pub const VERSION: u64 = 2;

/// The field holding a record's version.
pub const FIELD: &str = "v";

/// A type stored under a key.
pub trait Record: Serialize + DeserializeOwned {
    /// Whether the value is a versioned object (else a plain value whose
    /// format is frozen).
    const VERSIONED: bool = true;

    /// Reads a record release 1 wrote (no `v`). Release 1's shapes are this
    /// build's, so the default decodes as is; a record whose shape changes
    /// overrides this to upgrade the old shape.
    fn from_v1(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }

    /// Drops the version field from a decoded record of a type that keeps
    /// fields it does not know (an untyped object); a typed record never
    /// holds it.
    fn without_version(self) -> Self {
        self
    }
}

impl Record for String {
    const VERSIONED: bool = false;
}

impl Record for Vec<String> {
    const VERSIONED: bool = false;
}

impl Record for BTreeMap<String, [u64; 2]> {
    const VERSIONED: bool = false;
}

/// An untyped object (a report kept for reference).
impl Record for Value {
    fn without_version(mut self) -> Self {
        if let Some(fields) = self.as_object_mut() {
            fields.shift_remove(FIELD);
        }
        self
    }
}

/// A versioned record's version field, read apart from the record (which
/// ignores it as a field it does not know). Records decode and encode
/// straight from and to bytes: going through a `Value` would add a copy of
/// every record type's (de)serializer to the component.
#[derive(serde::Deserialize)]
struct Probe {
    #[serde(default)]
    v: Option<Value>,
}

/// Decodes a stored value of `key`, upgrading an older version.
pub fn decode<T: Record>(key: &str, bytes: &[u8]) -> Result<T, StoreError> {
    let bad =
        |e: serde_json::Error| StoreError::Other(format!("record {key} does not decode: {e}"));
    if !T::VERSIONED {
        return serde_json::from_slice(bytes).map_err(bad);
    }
    let version = match serde_json::from_slice::<Probe>(bytes).map_err(bad)?.v {
        None => 1,
        Some(v) => v.as_u64().ok_or_else(|| {
            StoreError::Other(format!("record {key} has a malformed version {v}"))
        })?,
    };
    match version {
        1 => T::from_v1(bytes).map_err(bad),
        VERSION => serde_json::from_slice(bytes)
            .map(T::without_version)
            .map_err(bad),
        other => Err(StoreError::Other(format!(
            "record {key} is version {other}; this build reads versions 1 to {VERSION} \
             (written by a newer release: upgrade this replica)"
        ))),
    }
}

/// Encodes a record of `key` at [`VERSION`]: `{"v":2,` before the record's
/// own fields (no record type has a field named `v`).
pub fn encode<T: Record>(key: &str, record: &T) -> Result<Vec<u8>, StoreError> {
    let bad = |e: String| StoreError::Other(format!("record {key} does not encode: {e}"));
    let bytes = serde_json::to_vec(record).map_err(|e| bad(e.to_string()))?;
    if !T::VERSIONED {
        return Ok(bytes);
    }
    let Some(fields) = bytes.strip_prefix(b"{") else {
        return Err(bad("a versioned record must be an object".into()));
    };
    if fields.starts_with(br#""v":"#) {
        return Err(bad(format!("a record may not have a field named {FIELD}")));
    }
    let mut out = Vec::with_capacity(bytes.len() + 8);
    out.extend_from_slice(br#"{"v":"#);
    out.extend_from_slice(VERSION.to_string().as_bytes());
    if fields != b"}" {
        out.push(b',');
    }
    out.extend_from_slice(fields);
    Ok(out)
}

/// Reads a record and its store version.
pub fn read<T: Record>(store: &mut dyn Store, key: &str) -> Result<Option<(T, u64)>, StoreError> {
    let Some(entry) = store.get(key)? else {
        return Ok(None);
    };
    decode(key, &entry.value).map(|v| Some((v, entry.version)))
}

/// Writes a record if `expect` holds.
pub fn write<T: Record>(
    store: &mut dyn Store,
    key: &str,
    record: &T,
    expect: Expect,
) -> Result<u64, StoreError> {
    let bytes = encode(key, record)?;
    store.put(key, &bytes, expect)
}

/// Decodes the value of any component key with its family's record type,
/// upgrading it, and returns it encoded at this version: what an upgrade
/// walks over every key. A key of no family is an error.
pub fn reencode(key: &str, bytes: &[u8]) -> Result<Vec<u8>, StoreError> {
    fn via<T: Record>(key: &str, bytes: &[u8]) -> Result<Vec<u8>, StoreError> {
        encode(key, &decode::<T>(key, bytes)?)
    }
    match crate::keys::family(key) {
        Some("message/") => via::<crate::messages::MessageRecord>(key, bytes),
        Some(
            "alias/" | "message-owner/" | "alias-owner/" | "dkim-key/" | "domain/"
            | "workspace-setup/" | "use-case-name/" | "tracking-base/",
        ) => via::<String>(key, bytes),
        Some("suppression/") => via::<crate::suppression::Record>(key, bytes),
        Some("policy/") => via::<crate::suppression::StoredPolicy>(key, bytes),
        Some("pause/") => via::<crate::suppression::StoredPause>(key, bytes),
        Some("rate-window/") => via::<crate::suppression::FreshWindow>(key, bytes),
        Some("pause-history/" | "unmatched-report/") => via::<Value>(key, bytes),
        Some("setup/") => via::<crate::setups::Stored>(key, bytes),
        Some("use-case/") => via::<crate::use_cases::Stored>(key, bytes),
        Some("event/") => via::<crate::events::Recorded>(key, bytes),
        Some("stats/") => via::<crate::reporting::Bucket>(key, bytes),
        Some("tracking-settings/") => via::<crate::tracking::StoredSettings>(key, bytes),
        Some("tracking-networks") => via::<Vec<String>>(key, bytes),
        Some("tracking/" | "tracking-reported/") => via::<crate::tracking::Tracked>(key, bytes),
        Some("engagement/") => via::<crate::tracking::Engagement>(key, bytes),
        Some("link-clicks/") => via::<BTreeMap<String, [u64; 2]>>(key, bytes),
        Some("idempotency/") => via::<crate::idempotency::Claim>(key, bytes),
        _ => Err(StoreError::Other(format!("{key} is in no key family"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Thing {
        name: String,
        #[serde(default)]
        count: u64,
    }
    impl Record for Thing {}

    #[test]
    fn versions_are_written_and_checked() {
        let mut s = MemoryStore::default();
        let thing = Thing {
            name: "a".into(),
            count: 2,
        };
        write(&mut s, "t/1", &thing, Expect::Any).expect("written");
        assert_eq!(
            s.get("t/1").unwrap().unwrap().value,
            br#"{"v":2,"name":"a","count":2}"#
        );
        assert_eq!(read::<Thing>(&mut s, "t/1").unwrap().unwrap().0, thing);
        // Release 1 (no version) reads; unknown fields are ignored.
        s.put("t/2", br#"{"name":"b","later":true}"#, Expect::Any)
            .unwrap();
        let old = read::<Thing>(&mut s, "t/2").unwrap().unwrap().0;
        assert_eq!((old.name.as_str(), old.count), ("b", 0));
        // A newer version is refused with the key named.
        s.put("t/3", br#"{"v":3,"name":"c"}"#, Expect::Any).unwrap();
        let err = read::<Thing>(&mut s, "t/3").unwrap_err();
        assert!(
            matches!(&err, StoreError::Other(m) if m.contains("t/3") && m.contains("version 3")),
            "{err}"
        );
        s.put("t/4", br#"{"v":"x","name":"c"}"#, Expect::Any)
            .unwrap();
        assert!(matches!(
            read::<Thing>(&mut s, "t/4"),
            Err(StoreError::Other(_))
        ));
        // An untyped object round-trips without the version.
        let report = serde_json::json!({"kind": "dsn", "n": 1});
        write(&mut s, "u/1", &report, Expect::Any).unwrap();
        assert_eq!(
            s.get("u/1").unwrap().unwrap().value,
            br#"{"v":2,"kind":"dsn","n":1}"#
        );
        assert_eq!(read::<Value>(&mut s, "u/1").unwrap().unwrap().0, report);
        // Plain values stay plain.
        write(&mut s, "p/1", &"set_1".to_string(), Expect::Any).unwrap();
        assert_eq!(s.get("p/1").unwrap().unwrap().value, br#""set_1""#);
    }
}
