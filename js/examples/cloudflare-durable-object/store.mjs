// A mailroom store on a Cloudflare Durable Object's SQLite storage
// (`ctx.storage.sql`, synchronous), for `createChannel`: one table of
// (key, value, version), each check and write in one `transactionSync`.
// A Durable Object runs one request's synchronous code at a time, so every
// channel in that object sees one consistent store; put one object in front
// of a workspace (or the whole channel) and route every call through it.
//
// Why not Workers KV: it has no compare-and-set (last write wins, and a
// read may be up to 60 s stale), so two writers of a thread or a counter
// would silently lose one write. It must not back the store.

import { StoreError } from '@mailroom/channel';

/** A synchronous mailroom store over `storage` (a DurableObjectStorage). */
export function durableObjectStore(storage) {
  const sql = storage.sql;
  // Keys are TEXT with SQLite's default BINARY collation: UTF-8 byte order,
  // the order `list` promises.
  sql.exec(`CREATE TABLE IF NOT EXISTS mailroom_kv (
    key TEXT PRIMARY KEY NOT NULL,
    value BLOB NOT NULL,
    version INTEGER NOT NULL
  ) WITHOUT ROWID`);

  const current = (key) => {
    const rows = sql.exec('SELECT version FROM mailroom_kv WHERE key = ?', key).toArray();
    return rows.length === 0 ? null : Number(rows[0].version);
  };
  const check = (key, expect) => {
    const found = current(key);
    const holds =
      expect.kind === 'any' ||
      (expect.kind === 'absent' && found === null) ||
      (expect.kind === 'version' && found === expect.version);
    if (!holds) {
      const wanted = expect.kind === 'version' ? `version ${expect.version}` : expect.kind;
      throw new StoreError('conflict', `${key}: expected ${wanted}, found ${found === null ? 'none' : `version ${found}`}`);
    }
    return found;
  };
  // The SQL API binds ArrayBuffers as BLOBs.
  const blob = (bytes) => bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);

  return {
    get(key) {
      const rows = sql.exec('SELECT value, version FROM mailroom_kv WHERE key = ?', key).toArray();
      if (rows.length === 0) return null;
      return { value: new Uint8Array(rows[0].value), version: Number(rows[0].version) };
    },
    put(key, value, expect) {
      return storage.transactionSync(() => {
        const version = (check(key, expect) ?? 0) + 1;
        sql.exec(
          `INSERT INTO mailroom_kv (key, value, version) VALUES (?, ?, ?)
           ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = excluded.version`,
          key,
          blob(value),
          version,
        );
        return version;
      });
    },
    delete(key, expect) {
      storage.transactionSync(() => {
        if (check(key, expect) !== null) sql.exec('DELETE FROM mailroom_kv WHERE key = ?', key);
      });
    },
    list(prefix, cursor, limit) {
      if (limit < 1) throw new StoreError('other', 'list: limit must be at least 1');
      // A range scan from the prefix (or after the cursor), stopped at the
      // first key outside the prefix; one extra row says whether more follow.
      const after = cursor !== null && cursor >= prefix;
      const rows = sql
        .exec(
          `SELECT key FROM mailroom_kv WHERE key ${after ? '>' : '>='} ? ORDER BY key LIMIT ?`,
          after ? cursor : prefix,
          limit + 1,
        )
        .toArray();
      const keys = [];
      for (const { key } of rows) {
        if (!key.startsWith(prefix)) break;
        keys.push(key);
      }
      const more = keys.length > limit;
      if (more) keys.length = limit;
      return { keys, cursor: more ? keys[keys.length - 1] : null };
    },
  };
}
