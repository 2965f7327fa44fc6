//! The `store` import: the component's key-value storage, over a small
//! [`Store`] trait so a durable backend (SQLite, …) can replace the
//! in-memory [`MemoryStore`].

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Arc, Mutex};

use crate::bindings::mailroom::channel::store::Host;
pub use crate::bindings::mailroom::channel::store::{Entry, Expect, Page, StoreError};
use crate::host::HostState;

/// Storage as the host provides it: the WIT `store` interface in Rust.
///
/// Keys and values are opaque; the component owns the schema. Versions start
/// at 1 and grow by one on every write of a key; a write or delete whose
/// [`Expect`] does not hold fails with [`StoreError::Conflict`] and changes
/// nothing.
pub trait Store: Send {
    /// Reads a key; `None` when it does not exist.
    fn get(&mut self, key: &str) -> Result<Option<Entry>, StoreError>;
    /// Writes a key if `expect` holds; returns the new version.
    fn put(&mut self, key: &str, value: &[u8], expect: Expect) -> Result<u64, StoreError>;
    /// Deletes a key if `expect` holds (`Absent` holds for a missing key).
    fn delete(&mut self, key: &str, expect: Expect) -> Result<(), StoreError>;
    /// At most `limit` keys starting with `prefix`, ascending in byte order,
    /// after `cursor` (exclusive) when given; the page's cursor is set when
    /// more keys follow.
    fn list(&mut self, prefix: &str, cursor: Option<&str>, limit: u32) -> Result<Page, StoreError>;
    /// A handle of its own for one component call, for a store whose
    /// handles may work at once (a connection pool); `None` (the default)
    /// shares this one, behind its lock, with every call.
    fn fork(&self) -> Option<Box<dyn Store>> {
        None
    }
}

impl Store for Box<dyn Store> {
    fn get(&mut self, key: &str) -> Result<Option<Entry>, StoreError> {
        (**self).get(key)
    }
    fn put(&mut self, key: &str, value: &[u8], expect: Expect) -> Result<u64, StoreError> {
        (**self).put(key, value, expect)
    }
    fn delete(&mut self, key: &str, expect: Expect) -> Result<(), StoreError> {
        (**self).delete(key, expect)
    }
    fn list(&mut self, prefix: &str, cursor: Option<&str>, limit: u32) -> Result<Page, StoreError> {
        (**self).list(prefix, cursor, limit)
    }
    fn fork(&self) -> Option<Box<dyn Store>> {
        (**self).fork()
    }
}

/// A store shared by every call of one [`Mailroom`](crate::Mailroom).
pub type SharedStore = Arc<Mutex<dyn Store>>;

/// Wraps a store for sharing.
pub fn shared(store: impl Store + 'static) -> SharedStore {
    Arc::new(Mutex::new(store))
}

/// The store one component call uses: a handle of its own when the store
/// can [`fork`](Store::fork), else `shared` itself.
pub fn for_call(shared: &SharedStore) -> SharedStore {
    let forked = shared.lock().ok().and_then(|store| store.fork());
    match forked {
        Some(handle) => Arc::new(Mutex::new(handle)),
        None => Arc::clone(shared),
    }
}

/// An in-memory store: a `BTreeMap`, so keys are in byte order.
#[derive(Debug, Default, Clone)]
pub struct MemoryStore {
    entries: BTreeMap<String, Entry>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every key with its entry, in key order.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &Entry)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The number of keys.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the store holds no key.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The key's current version if `expect` holds for it, else a conflict.
    fn check(&self, key: &str, expect: Expect) -> Result<Option<u64>, StoreError> {
        let current = self.entries.get(key).map(|e| e.version);
        match (expect, current) {
            (Expect::Any, _) | (Expect::Absent, None) => Ok(current),
            (Expect::Version(v), Some(c)) if v == c => Ok(current),
            (Expect::Absent, Some(c)) => Err(StoreError::Conflict(format!(
                "{key}: expected absent, found version {c}"
            ))),
            (Expect::Version(v), Some(c)) => Err(StoreError::Conflict(format!(
                "{key}: expected version {v}, found version {c}"
            ))),
            (Expect::Version(v), None) => Err(StoreError::Conflict(format!(
                "{key}: expected version {v}, found none"
            ))),
        }
    }
}

impl Store for MemoryStore {
    fn get(&mut self, key: &str) -> Result<Option<Entry>, StoreError> {
        Ok(self.entries.get(key).cloned())
    }

    fn put(&mut self, key: &str, value: &[u8], expect: Expect) -> Result<u64, StoreError> {
        let version = self.check(key, expect)?.map_or(1, |v| v.saturating_add(1));
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
        self.check(key, expect)?;
        self.entries.remove(key);
        Ok(())
    }

    fn list(&mut self, prefix: &str, cursor: Option<&str>, limit: u32) -> Result<Page, StoreError> {
        if limit == 0 {
            return Err(StoreError::Other(
                "list: limit must be at least 1".to_string(),
            ));
        }
        let start = match cursor {
            Some(cursor) if cursor >= prefix => Bound::Excluded(cursor),
            _ => Bound::Included(prefix),
        };
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let mut keys: Vec<String> = self
            .entries
            .range::<str, _>((start, Bound::Unbounded))
            .map(|(k, _)| k)
            .take_while(|k| k.starts_with(prefix))
            .take(limit.saturating_add(1))
            .cloned()
            .collect();
        let more = keys.len() > limit;
        keys.truncate(limit);
        let cursor = if more { keys.last().cloned() } else { None };
        Ok(Page { keys, cursor })
    }
}

impl HostState {
    /// Runs `f` on the shared store; a store poisoned by an earlier panic is
    /// reported as `unavailable`.
    fn with_store<R>(
        &mut self,
        f: impl FnOnce(&mut dyn Store) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        match self.store.lock() {
            Ok(mut store) => f(&mut *store),
            Err(_) => Err(StoreError::Unavailable(
                "the host store failed during an earlier call".to_string(),
            )),
        }
    }
}

impl Host for HostState {
    fn get(&mut self, key: String) -> Result<Option<Entry>, StoreError> {
        self.with_store(|s| s.get(&key))
    }

    fn put(&mut self, key: String, value: Vec<u8>, expect: Expect) -> Result<u64, StoreError> {
        self.with_store(|s| s.put(&key, &value, expect))
    }

    fn delete(&mut self, key: String, expect: Expect) -> Result<(), StoreError> {
        self.with_store(|s| s.delete(&key, expect))
    }

    fn list(
        &mut self,
        prefix: String,
        cursor: Option<String>,
        limit: u32,
    ) -> Result<Page, StoreError> {
        self.with_store(|s| s.list(&prefix, cursor.as_deref(), limit))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conflict<T: std::fmt::Debug>(r: Result<T, StoreError>) -> bool {
        matches!(r, Err(StoreError::Conflict(_)))
    }

    #[test]
    fn versions_start_at_one_and_grow() {
        let mut s = MemoryStore::new();
        assert_eq!(s.put("k", b"a", Expect::Absent), Ok(1));
        assert!(conflict(s.put("k", b"b", Expect::Absent)));
        assert!(conflict(s.put("k", b"b", Expect::Version(2))));
        assert_eq!(s.put("k", b"b", Expect::Version(1)), Ok(2));
        assert_eq!(s.put("k", b"c", Expect::Any), Ok(3));
        assert!(conflict(s.put("new", b"x", Expect::Version(1))));
        let entry = s.get("k").expect("get").expect("present");
        assert_eq!((entry.value, entry.version), (b"c".to_vec(), 3));
        assert_eq!(s.get("missing"), Ok(None));
    }

    #[test]
    fn delete_checks_its_expectation() {
        let mut s = MemoryStore::new();
        assert_eq!(s.delete("k", Expect::Absent), Ok(()));
        assert_eq!(s.delete("k", Expect::Any), Ok(()));
        assert!(conflict(s.delete("k", Expect::Version(1))));
        s.put("k", b"a", Expect::Absent).expect("put");
        assert!(conflict(s.delete("k", Expect::Absent)));
        assert!(conflict(s.delete("k", Expect::Version(2))));
        assert_eq!(s.delete("k", Expect::Version(1)), Ok(()));
        assert_eq!(s.get("k"), Ok(None));
        // A key written again after a delete starts over at version 1.
        assert_eq!(s.put("k", b"b", Expect::Absent), Ok(1));
    }

    #[test]
    fn list_pages_by_prefix_in_byte_order() {
        let mut s = MemoryStore::new();
        for key in ["b/2", "a/1", "b/1", "b/10", "b/Z", "b\u{e9}", "c", "b/"] {
            s.put(key, b"", Expect::Any).expect("put");
        }
        let page = s.list("b/", None, 2).expect("list");
        assert_eq!(page.keys, ["b/", "b/1"]);
        assert_eq!(page.cursor.as_deref(), Some("b/1"));
        let page = s.list("b/", page.cursor.as_deref(), 2).expect("list");
        assert_eq!(page.keys, ["b/10", "b/2"]);
        let page = s.list("b/", page.cursor.as_deref(), 2).expect("list");
        assert_eq!(page.keys, ["b/Z"]);
        assert_eq!(page.cursor, None);

        let all = s.list("", None, 100).expect("list");
        assert_eq!(
            all.keys,
            ["a/1", "b/", "b/1", "b/10", "b/2", "b/Z", "b\u{e9}", "c"]
        );
        assert_eq!(all.cursor, None);
        // Exactly `limit` keys left: no cursor.
        assert_eq!(s.list("b/", Some("b/2"), 1).expect("list").cursor, None);
        // A cursor before the prefix starts at the prefix.
        assert_eq!(s.list("b/", Some("a"), 1).expect("list").keys, ["b/"]);
        // A cursor after every key of the prefix gives an empty last page.
        let page = s.list("b/", Some("zz"), 5).expect("list");
        assert!(page.keys.is_empty() && page.cursor.is_none());
        assert!(matches!(s.list("", None, 0), Err(StoreError::Other(_))));
    }
}
