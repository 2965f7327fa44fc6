// A Store over a key-value store with compare-and-set versions (Deno KV,
// Durable Object storage, etcd, a SQL table with a version column). Types
// and documentation: index.d.ts `kvStore`, `VersionedKv`.
//
// The KV's versions are opaque tokens; the Store contract's versions (1, 2,
// 3, ... per key) travel inside the value: 8 bytes big-endian, then the
// component's bytes. Every write is conditional on the token read just
// before it, so a concurrent writer makes it a conflict, never a lost update.

import { StoreError } from './errors.js';

const conflict = (key, what) => new StoreError('conflict', `${key}: ${what}`);

function pack(version, value) {
  const out = new Uint8Array(8 + value.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(version));
  out.set(value, 8);
  return out;
}

async function read(kv, key) {
  const entry = await kv.get(key);
  if (entry === null || entry === undefined) return null;
  const bytes = entry.value;
  if (!(bytes instanceof Uint8Array) || bytes.length < 8) {
    throw new StoreError('other', `${key}: the KV holds a value mailroom did not write`);
  }
  const version = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0));
  return { value: bytes.subarray(8), version, token: entry.version };
}

/**
 * @param {import('./index.js').VersionedKv} kv
 * @returns {import('./index.js').AsyncStore}
 */
export function kvStore(kv) {
  return {
    // Asynchronous: createChannel (synchronous) refuses it up front, so no
    // abandoned write can land after a failed call.
    [Symbol.for('@mailroom/channel.async')]: true,

    async get(key) {
      const entry = await read(kv, key);
      return entry === null ? null : { value: entry.value, version: entry.version };
    },

    async put(key, value, expect) {
      const current = await read(kv, key);
      if (expect.kind === 'absent' && current !== null) throw conflict(key, `expected absent, found version ${current.version}`);
      if (expect.kind === 'version' && current?.version !== expect.version) {
        throw conflict(key, `expected version ${expect.version}, found ${current === null ? 'absent' : `version ${current.version}`}`);
      }
      const version = current === null ? 1 : current.version + 1;
      if (!(await kv.set(key, pack(version, value), current === null ? null : current.token))) {
        throw conflict(key, 'written by another host meanwhile');
      }
      return version;
    },

    async delete(key, expect) {
      const current = await read(kv, key);
      if (current === null) {
        if (expect.kind === 'version') throw conflict(key, `expected version ${expect.version}, found absent`);
        return;
      }
      if (expect.kind === 'absent') throw conflict(key, `expected absent, found version ${current.version}`);
      if (expect.kind === 'version' && current.version !== expect.version) {
        throw conflict(key, `expected version ${expect.version}, found version ${current.version}`);
      }
      if (!(await kv.delete(key, current.token))) throw conflict(key, 'written by another host meanwhile');
    },

    async list(prefix, cursor, limit) {
      const keys = await kv.list(prefix, cursor, limit + 1);
      return keys.length > limit ? { keys: keys.slice(0, limit), cursor: keys[limit - 1] } : { keys, cursor: null };
    },
  };
}
