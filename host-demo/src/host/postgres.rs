//! A [`Store`] shared by many host replicas: one PostgreSQL table.
//!
//! The table `mailroom_kv (key BYTEA PRIMARY KEY, value BYTEA, version
//! BIGINT)` holds every key; keys are stored as their UTF-8 bytes, so the
//! primary key orders them in byte order whatever the database's collation.
//! Every write is one conditional statement, so two replicas writing the same
//! key cannot both succeed:
//!
//! | call | statement |
//! | --- | --- |
//! | `put(expect: absent)` | `INSERT … ON CONFLICT (key) DO NOTHING RETURNING version` |
//! | `put(expect: version(v))` | `UPDATE … SET version = version + 1 WHERE key = $1 AND version = v RETURNING version` |
//! | `put(expect: any)` | `INSERT … ON CONFLICT (key) DO UPDATE SET version = version + 1 RETURNING version` |
//! | `delete(expect: version(v))` | `DELETE … WHERE key = $1 AND version = v` |
//! | `delete(expect: any)` | `DELETE … WHERE key = $1` |
//! | `delete(expect: absent)` | a read: it holds when the key is missing |
//!
//! A statement that matched no row is a [`StoreError::Conflict`]; a lost
//! connection, a server shutting down or refusing connections, or no pooled
//! connection within [`CHECKOUT_TIMEOUT`] is [`StoreError::Unavailable`]
//! (nothing was written, or the single statement committed: the component's
//! retry then sees a conflict or the written value, never half a write).
//!
//! The schema is versioned in `mailroom_schema`; [`PostgresStore::connect`]
//! creates it when absent ([`migrate`] does only that) and refuses a database
//! whose schema is newer than this host.
//!
//! The `postgres` client is synchronous (each connection drives its own
//! small tokio runtime), as the component calls `store` synchronously; the
//! pool is r2d2's. Call it from plain threads or tokio's blocking pool, never
//! from an async task.

use std::time::Duration;

use anyhow::{Context, bail};
use r2d2_postgres::PostgresConnectionManager;
use r2d2_postgres::postgres::error::SqlState;
use r2d2_postgres::postgres::{Config as PgConfig, NoTls};
use r2d2_postgres::r2d2;

use crate::host::store::{Entry, Expect, Page, Store, StoreError};

/// The schema version this host writes and reads.
pub const SCHEMA_VERSION: i32 = 1;

/// How long a call waits for a pooled connection before `unavailable`.
pub const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(5);

/// The default number of pooled connections per process.
pub const DEFAULT_POOL_SIZE: u32 = 8;

type Pool = r2d2::Pool<PostgresConnectionManager<NoTls>>;

/// A [`Store`] on PostgreSQL, with the semantics of
/// [`MemoryStore`](crate::MemoryStore). Clones share the pool; each call of
/// the component gets its own handle (see [`Store::fork`]), so calls run
/// concurrently up to the pool's size.
#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("pool", &self.pool.state())
            .finish()
    }
}

/// Parses a `postgres://user:pass@host:port/db` URL (or a `key=value`
/// connection string), naming what is wrong.
pub fn parse_url(url: &str) -> anyhow::Result<PgConfig> {
    let config: PgConfig = url
        .parse()
        .map_err(|e| anyhow::anyhow!("postgres-url is not a PostgreSQL connection string: {e}"))?;
    if config.get_hosts().is_empty() {
        bail!("postgres-url names no host");
    }
    Ok(config)
}

impl PostgresStore {
    /// Connects a pool of at most `pool_size` connections to `url`, creates
    /// the schema if the database has none, and refuses a newer schema.
    pub fn connect(url: &str, pool_size: u32) -> anyhow::Result<Self> {
        let store = Self::open_pool(url, pool_size)?;
        store.migrate()?;
        Ok(store)
    }

    fn open_pool(url: &str, pool_size: u32) -> anyhow::Result<Self> {
        let mut config = parse_url(url)?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(5));
        }
        let manager = PostgresConnectionManager::new(config, NoTls);
        let pool = r2d2::Pool::builder()
            .max_size(pool_size.max(1))
            .min_idle(Some(1))
            .connection_timeout(CHECKOUT_TIMEOUT)
            // `has_broken` drops a connection the server closed; a check on
            // every checkout would double the round trips.
            .test_on_check_out(false)
            .build(manager)
            .map_err(|e| anyhow::anyhow!("{e}"))
            .context("connecting to PostgreSQL (postgres-url)")?;
        Ok(Self { pool })
    }

    /// Creates or checks the schema: `mailroom_schema` records the version;
    /// a database at a newer version than [`SCHEMA_VERSION`] is refused.
    /// Returns the version found before (0 for a new database).
    pub fn migrate(&self) -> anyhow::Result<i32> {
        let mut client = self
            .pool
            .get()
            .map_err(|e| anyhow::anyhow!("{e}"))
            .context("connecting to PostgreSQL")?;
        let mut tx = client.transaction().context("starting the migration")?;
        // One migrator at a time: replicas starting together wait here.
        tx.batch_execute(
            "SELECT pg_advisory_xact_lock(7232617); \
             CREATE TABLE IF NOT EXISTS mailroom_schema (\
                 id INTEGER PRIMARY KEY CHECK (id = 1), \
                 version INTEGER NOT NULL)",
        )
        .context("creating mailroom_schema")?;
        let found: i32 = tx
            .query_opt("SELECT version FROM mailroom_schema WHERE id = 1", &[])
            .context("reading the schema version")?
            .map_or(0, |row| row.get(0));
        if found > SCHEMA_VERSION {
            bail!(
                "the database's mailroom schema is version {found}, newer than this host's \
                 {SCHEMA_VERSION}: upgrade this host (it refuses to write a schema it does not know)"
            );
        }
        if found < 1 {
            tx.batch_execute(
                "CREATE TABLE IF NOT EXISTS mailroom_kv (\
                     key BYTEA PRIMARY KEY, \
                     value BYTEA NOT NULL, \
                     version BIGINT NOT NULL CHECK (version >= 1))",
            )
            .context("creating mailroom_kv")?;
        }
        tx.execute(
            "INSERT INTO mailroom_schema (id, version) VALUES (1, $1) \
             ON CONFLICT (id) DO UPDATE SET version = excluded.version",
            &[&SCHEMA_VERSION],
        )
        .context("recording the schema version")?;
        tx.commit().context("committing the migration")?;
        Ok(found)
    }

    /// Checks that the database answers (the readiness probe).
    pub fn ping(&self) -> Result<(), StoreError> {
        let mut client = self.client()?;
        client.simple_query("SELECT 1").map_err(store_error)?;
        Ok(())
    }

    fn client(
        &self,
    ) -> Result<r2d2::PooledConnection<PostgresConnectionManager<NoTls>>, StoreError> {
        self.pool.get().map_err(|e| {
            StoreError::Unavailable(format!("postgres: no connection to the database: {e}"))
        })
    }

    /// The current version of `key`, for a conflict's message.
    fn current(&self, key: &str) -> Result<Option<u64>, StoreError> {
        let mut client = self.client()?;
        client
            .query_opt(
                "SELECT version FROM mailroom_kv WHERE key = $1",
                &[&key.as_bytes()],
            )
            .map_err(store_error)?
            .map(|row| version_from_sql(row.get(0)))
            .transpose()
    }

    fn conflict(&self, key: &str, expect: Expect) -> StoreError {
        let found = match self.current(key) {
            Ok(Some(v)) => format!("found version {v}"),
            Ok(None) => "found none".to_string(),
            Err(_) => "found another".to_string(),
        };
        let expected = match expect {
            Expect::Absent => "absent".to_string(),
            Expect::Version(v) => format!("version {v}"),
            Expect::Any => "anything".to_string(),
        };
        StoreError::Conflict(format!("{key}: expected {expected}, {found}"))
    }
}

fn version_from_sql(v: i64) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| StoreError::Other(format!("stored version {v} is negative")))
}

fn version_to_sql(v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Other(format!("version {v} is too large to store")))
}

/// Connection loss, a server shutting down or out of resources, and
/// serialization failures may pass: `unavailable`; anything else is `other`.
fn store_error(e: r2d2_postgres::postgres::Error) -> StoreError {
    let message = format!("postgres: {e}");
    let Some(code) = e.code() else {
        // No SQLSTATE: the socket, the protocol or a closed connection.
        return StoreError::Unavailable(message);
    };
    let class = &code.code()[..2.min(code.code().len())];
    let transient = matches!(class, "08" | "53" | "57" | "58")
        || *code == SqlState::T_R_SERIALIZATION_FAILURE
        || *code == SqlState::T_R_DEADLOCK_DETECTED
        || *code == SqlState::LOCK_NOT_AVAILABLE;
    if transient {
        StoreError::Unavailable(message)
    } else {
        StoreError::Other(message)
    }
}

impl Store for PostgresStore {
    fn get(&mut self, key: &str) -> Result<Option<Entry>, StoreError> {
        let mut client = self.client()?;
        let row = client
            .query_opt(
                "SELECT value, version FROM mailroom_kv WHERE key = $1",
                &[&key.as_bytes()],
            )
            .map_err(store_error)?;
        row.map(|row| {
            Ok(Entry {
                value: row.get(0),
                version: version_from_sql(row.get(1))?,
            })
        })
        .transpose()
    }

    fn put(&mut self, key: &str, value: &[u8], expect: Expect) -> Result<u64, StoreError> {
        let k = key.as_bytes();
        let row = {
            let mut client = self.client()?;
            let result = match expect {
                Expect::Absent => client.query_opt(
                    "INSERT INTO mailroom_kv (key, value, version) VALUES ($1, $2, 1) \
                     ON CONFLICT (key) DO NOTHING RETURNING version",
                    &[&k, &value],
                ),
                Expect::Version(v) => client.query_opt(
                    "UPDATE mailroom_kv SET value = $2, version = version + 1 \
                     WHERE key = $1 AND version = $3 RETURNING version",
                    &[&k, &value, &version_to_sql(v)?],
                ),
                Expect::Any => client.query_opt(
                    "INSERT INTO mailroom_kv (key, value, version) VALUES ($1, $2, 1) \
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value, \
                     version = mailroom_kv.version + 1 RETURNING version",
                    &[&k, &value],
                ),
            };
            result.map_err(store_error)?
        };
        match row {
            Some(row) => version_from_sql(row.get(0)),
            None => Err(self.conflict(key, expect)),
        }
    }

    fn delete(&mut self, key: &str, expect: Expect) -> Result<(), StoreError> {
        let k = key.as_bytes();
        let deleted = {
            let mut client = self.client()?;
            let result = match expect {
                Expect::Absent => {
                    let found = client
                        .query_opt("SELECT 1 FROM mailroom_kv WHERE key = $1", &[&k])
                        .map_err(store_error)?;
                    return match found {
                        None => Ok(()),
                        Some(_) => {
                            drop(client);
                            Err(self.conflict(key, expect))
                        }
                    };
                }
                Expect::Version(v) => client.execute(
                    "DELETE FROM mailroom_kv WHERE key = $1 AND version = $2",
                    &[&k, &version_to_sql(v)?],
                ),
                Expect::Any => {
                    client.execute("DELETE FROM mailroom_kv WHERE key = $1", &[&k])?;
                    return Ok(());
                }
            };
            result.map_err(store_error)?
        };
        if deleted == 1 {
            Ok(())
        } else {
            Err(self.conflict(key, expect))
        }
    }

    fn list(&mut self, prefix: &str, cursor: Option<&str>, limit: u32) -> Result<Page, StoreError> {
        if limit == 0 {
            return Err(StoreError::Other(
                "list: limit must be at least 1".to_string(),
            ));
        }
        // A range scan of the primary key from the start, stopped at the
        // first key outside the prefix; one more than `limit` tells whether
        // a page follows.
        let (sql, start) = match cursor {
            Some(cursor) if cursor >= prefix => (
                "SELECT key FROM mailroom_kv WHERE key > $1 ORDER BY key LIMIT $2",
                cursor,
            ),
            _ => (
                "SELECT key FROM mailroom_kv WHERE key >= $1 ORDER BY key LIMIT $2",
                prefix,
            ),
        };
        let fetch = i64::from(limit) + 1;
        let rows = {
            let mut client = self.client()?;
            client
                .query(sql, &[&start.as_bytes(), &fetch])
                .map_err(store_error)?
        };
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let mut keys = Vec::new();
        for row in rows {
            let bytes: Vec<u8> = row.get(0);
            let key = String::from_utf8(bytes)
                .map_err(|_| StoreError::Other("a stored key is not UTF-8".to_string()))?;
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

    fn fork(&self) -> Option<Box<dyn Store>> {
        Some(Box::new(self.clone()))
    }
}

impl From<r2d2_postgres::postgres::Error> for StoreError {
    fn from(e: r2d2_postgres::postgres::Error) -> Self {
        store_error(e)
    }
}

/// Connects to `url` and creates or checks the schema (`host-demo
/// migrate`); returns a line saying what was done.
pub fn migrate(url: &str) -> anyhow::Result<String> {
    let store = PostgresStore::open_pool(url, 1)?;
    let found = store.migrate()?;
    Ok(if found == SCHEMA_VERSION {
        format!("the mailroom schema is at version {SCHEMA_VERSION}; nothing to do")
    } else {
        format!("the mailroom schema was at version {found}, now {SCHEMA_VERSION}")
    })
}
