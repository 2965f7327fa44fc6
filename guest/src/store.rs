//! Storage as the domain sees it: the host's key-value store behind a trait,
//! records on top of it in `records`. `MemoryStore` serves native tests.

use std::collections::BTreeMap;

/// A stored value with its version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub value: Vec<u8>,
    pub version: u64,
}

/// What a write expects to find.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    Absent,
    Version(u64),
    Any,
}

/// Why a storage call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    Conflict(String),
    Unavailable(String),
    Other(String),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Conflict(m) => write!(f, "conflict: {m}"),
            StoreError::Unavailable(m) => write!(f, "storage unavailable: {m}"),
            StoreError::Other(m) => write!(f, "storage failed: {m}"),
        }
    }
}

/// One page of keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub keys: Vec<String>,
    pub cursor: Option<String>,
}

/// The host's key-value store (the WIT `store` import).
pub trait Store {
    fn get(&mut self, key: &str) -> Result<Option<Entry>, StoreError>;
    fn put(&mut self, key: &str, value: &[u8], expect: Expect) -> Result<u64, StoreError>;
    fn delete(&mut self, key: &str, expect: Expect) -> Result<(), StoreError>;
    fn list(&mut self, prefix: &str, cursor: Option<&str>, limit: u32) -> Result<Page, StoreError>;
}

/// An in-memory store: keys in byte order, versions from 1.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MemoryStore {
    entries: BTreeMap<String, Entry>,
}

impl MemoryStore {
    /// A store holding exactly these entries, versions kept (an earlier
    /// release's data, loaded for an upgrade test).
    pub fn from_entries(entries: impl IntoIterator<Item = (String, Entry)>) -> Self {
        MemoryStore {
            entries: entries.into_iter().collect(),
        }
    }

    /// Every key and value, in key order.
    pub fn entries(&self) -> impl Iterator<Item = (&String, &Entry)> {
        self.entries.iter()
    }

    fn check(&self, key: &str, expect: Expect) -> Result<Option<u64>, StoreError> {
        let current = self.entries.get(key).map(|e| e.version);
        match (expect, current) {
            (Expect::Any, _) | (Expect::Absent, None) => Ok(current),
            (Expect::Version(v), Some(c)) if v == c => Ok(current),
            _ => Err(StoreError::Conflict(format!(
                "{key}: expected {expect:?}, found version {current:?}"
            ))),
        }
    }
}

impl Store for MemoryStore {
    fn get(&mut self, key: &str) -> Result<Option<Entry>, StoreError> {
        Ok(self.entries.get(key).cloned())
    }

    fn put(&mut self, key: &str, value: &[u8], expect: Expect) -> Result<u64, StoreError> {
        let version = self.check(key, expect)?.unwrap_or(0) + 1;
        self.entries.insert(
            key.to_string(),
            Entry {
                value: value.to_vec(),
                version,
            },
        );
        Ok(version)
    }

    fn delete(&mut self, key: &str, expect: Expect) -> Result<(), StoreError> {
        if expect == Expect::Absent && !self.entries.contains_key(key) {
            return Ok(());
        }
        self.check(key, expect)?;
        self.entries.remove(key);
        Ok(())
    }

    fn list(&mut self, prefix: &str, cursor: Option<&str>, limit: u32) -> Result<Page, StoreError> {
        if limit == 0 {
            return Err(StoreError::Other("list: limit must be at least 1".into()));
        }
        let start = cursor.unwrap_or(prefix);
        let keys: Vec<String> = self
            .entries
            .range::<str, _>((std::ops::Bound::Included(start), std::ops::Bound::Unbounded))
            .map(|(k, _)| k)
            .filter(|k| Some(k.as_str()) != cursor)
            .take_while(|k| k.starts_with(prefix))
            .take(limit as usize + 1)
            .cloned()
            .collect();
        let more = keys.len() > limit as usize;
        let keys: Vec<String> = keys.into_iter().take(limit as usize).collect();
        let cursor = more.then(|| keys.last().cloned()).flatten();
        Ok(Page { keys, cursor })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_conflicts_and_pages() {
        let mut s = MemoryStore::default();
        assert_eq!(s.put("a/1", b"x", Expect::Absent), Ok(1));
        assert!(matches!(
            s.put("a/1", b"y", Expect::Absent),
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(s.put("a/1", b"y", Expect::Version(1)), Ok(2));
        assert!(matches!(
            s.delete("a/1", Expect::Version(1)),
            Err(StoreError::Conflict(_))
        ));
        for k in ["a/2", "a/3", "b/1"] {
            s.put(k, b"v", Expect::Any).unwrap();
        }
        let first = s.list("a/", None, 2).unwrap();
        assert_eq!(first.keys, ["a/1", "a/2"]);
        let rest = s.list("a/", first.cursor.as_deref(), 2).unwrap();
        assert_eq!((rest.keys, rest.cursor), (vec!["a/3".to_string()], None));
        assert!(matches!(s.list("a/", None, 0), Err(StoreError::Other(_))));
    }
}
