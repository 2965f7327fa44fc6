//! A durable [`Store`]: one SQLite file, shared safely by several threads
//! and processes.
//!
//! The database runs in WAL mode with `synchronous=FULL`, and every write is
//! its own `BEGIN IMMEDIATE` transaction, so a write that returned is on disk
//! and survives a crash or `SIGKILL` of the process; one that did not return
//! either happened entirely or not at all. Writers from other connections
//! wait up to [`BUSY_TIMEOUT`] for the lock, then get
//! [`StoreError::Unavailable`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use rusqlite::{Connection, ErrorCode, OptionalExtension, TransactionBehavior, params};

use crate::host::store::{Entry, Expect, Page, Store, StoreError};

/// How long a write waits for another connection's lock before failing.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The schema version in `PRAGMA user_version`.
const SCHEMA_VERSION: i64 = 1;

/// A [`Store`] in one SQLite file, with the semantics of
/// [`MemoryStore`](crate::MemoryStore).
///
/// Keys are `TEXT` compared with SQLite's `BINARY` collation, so they list in
/// byte order.
#[derive(Debug)]
pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
}

impl SqliteStore {
    /// Opens (creating it and its directory if needed) the database at
    /// `path`.
    pub fn open(path: impl AsRef<Path>) -> anyhow::Result<Self> {
        let path = path.as_ref();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating directory {}", dir.display()))?;
        }
        // Several processes opening a new file at once race to switch it to
        // WAL and create the table; SQLite answers the loser `SQLITE_BUSY`
        // without waiting, so the whole setup is retried for a while.
        let started = std::time::Instant::now();
        loop {
            match Self::init(path) {
                Err(e) if is_busy(&e) && started.elapsed() < BUSY_TIMEOUT => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                result => {
                    return result
                        .with_context(|| format!("opening SQLite store {}", path.display()));
                }
            }
        }
    }

    fn init(path: &Path) -> anyhow::Result<Self> {
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            bail!("the database refused WAL mode (journal mode {mode})");
        }
        conn.pragma_update(None, "synchronous", "FULL")?;

        // A database already at this version needs no write lock to open,
        // so a new process is not kept waiting by busy writers.
        let version: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
        if version == SCHEMA_VERSION {
            return Ok(Self {
                conn,
                path: path.to_path_buf(),
            });
        }
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version: i64 = tx.query_row("PRAGMA user_version", [], |row| row.get(0))?;
        match version {
            0 => {
                tx.execute_batch(
                    "CREATE TABLE IF NOT EXISTS kv (
                         key TEXT PRIMARY KEY NOT NULL,
                         value BLOB NOT NULL,
                         version INTEGER NOT NULL
                     ) WITHOUT ROWID;",
                )?;
                tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
            }
            SCHEMA_VERSION => {}
            other => bail!("unknown schema version {other} (this host knows {SCHEMA_VERSION})"),
        }
        tx.commit()?;
        Ok(Self {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` in an immediate (write-locked) transaction, committed when
    /// `f` succeeds and rolled back otherwise.
    fn write<R>(
        &mut self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(store_error)?;
        let result = f(&tx)?;
        tx.commit().map_err(store_error)?;
        Ok(result)
    }
}

/// The key's current version, inside `tx`.
fn current_version(tx: &rusqlite::Transaction<'_>, key: &str) -> Result<Option<u64>, StoreError> {
    tx.query_row("SELECT version FROM kv WHERE key = ?1", [key], |row| {
        row.get::<_, i64>(0)
    })
    .optional()
    .map_err(store_error)?
    .map(version_from_sql)
    .transpose()
}

/// The key's current version if `expect` holds for it, else a conflict
/// (worded as [`MemoryStore`](crate::MemoryStore) words it).
fn check(key: &str, current: Option<u64>, expect: Expect) -> Result<Option<u64>, StoreError> {
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

fn version_from_sql(v: i64) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| StoreError::Other(format!("stored version {v} is negative")))
}

fn version_to_sql(v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Other(format!("version {v} is too large to store")))
}

/// Whether `e` is SQLite's "busy" or "locked", worth another try.
fn is_busy(e: &anyhow::Error) -> bool {
    e.downcast_ref::<rusqlite::Error>().is_some_and(|e| {
        matches!(
            e.sqlite_error_code(),
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
        )
    })
}

/// Busy, locked, I/O and open failures may pass: `unavailable`; anything
/// else is `other`.
fn store_error(e: rusqlite::Error) -> StoreError {
    let transient = matches!(
        e.sqlite_error_code(),
        Some(
            ErrorCode::DatabaseBusy
                | ErrorCode::DatabaseLocked
                | ErrorCode::SystemIoFailure
                | ErrorCode::DiskFull
                | ErrorCode::CannotOpen
                | ErrorCode::OutOfMemory
                | ErrorCode::FileLockingProtocolFailed
                | ErrorCode::ReadOnly
        )
    );
    let message = format!("sqlite: {e}");
    if transient {
        StoreError::Unavailable(message)
    } else {
        StoreError::Other(message)
    }
}

impl Store for SqliteStore {
    fn get(&mut self, key: &str) -> Result<Option<Entry>, StoreError> {
        let row = self
            .conn
            .query_row(
                "SELECT value, version FROM kv WHERE key = ?1",
                [key],
                |row| Ok((row.get::<_, Vec<u8>>(0)?, row.get::<_, i64>(1)?)),
            )
            .optional()
            .map_err(store_error)?;
        row.map(|(value, version)| {
            Ok(Entry {
                value,
                version: version_from_sql(version)?,
            })
        })
        .transpose()
    }

    fn put(&mut self, key: &str, value: &[u8], expect: Expect) -> Result<u64, StoreError> {
        self.write(|tx| {
            let current = check(key, current_version(tx, key)?, expect)?;
            let version = current.map_or(1, |v| v.saturating_add(1));
            tx.execute(
                "INSERT INTO kv (key, value, version) VALUES (?1, ?2, ?3)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = excluded.version",
                params![key, value, version_to_sql(version)?],
            )
            .map_err(store_error)?;
            Ok(version)
        })
    }

    fn delete(&mut self, key: &str, expect: Expect) -> Result<(), StoreError> {
        self.write(|tx| {
            if check(key, current_version(tx, key)?, expect)?.is_some() {
                tx.execute("DELETE FROM kv WHERE key = ?1", [key])
                    .map_err(store_error)?;
            }
            Ok(())
        })
    }

    fn list(&mut self, prefix: &str, cursor: Option<&str>, limit: u32) -> Result<Page, StoreError> {
        if limit == 0 {
            return Err(StoreError::Other(
                "list: limit must be at least 1".to_string(),
            ));
        }
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        // A range scan of the primary key from the start, stopped at the
        // first key outside the prefix.
        let (sql, start) = match cursor {
            Some(cursor) if cursor >= prefix => {
                ("SELECT key FROM kv WHERE key > ?1 ORDER BY key", cursor)
            }
            _ => ("SELECT key FROM kv WHERE key >= ?1 ORDER BY key", prefix),
        };
        let mut statement = self.conn.prepare(sql).map_err(store_error)?;
        let mut rows = statement.query([start]).map_err(store_error)?;
        let mut keys = Vec::new();
        while keys.len() <= limit {
            let Some(row) = rows.next().map_err(store_error)? else {
                break;
            };
            let key: String = row.get(0).map_err(store_error)?;
            if !key.starts_with(prefix) {
                break;
            }
            keys.push(key);
        }
        let more = keys.len() > limit;
        keys.truncate(limit);
        let cursor = if more { keys.last().cloned() } else { None };
        Ok(Page { keys, cursor })
    }
}
