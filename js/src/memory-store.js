// An in-memory store: the default `store` of createChannel, and the store of
// the scenario runner. It behaves exactly like the native runner's
// MemoryStore (guest/src/store.rs), conflict messages included, so the same
// scenario gives the same answers in every host. Types: index.d.ts.

import { StoreError } from './errors.js';

/**
 * Compares two strings by Unicode code point, which is the byte order of
 * their UTF-8 encodings (the order the WIT `store.list` promises). Plain `<`
 * compares UTF-16 code units, which differs only between a supplementary
 * character (a surrogate pair, U+10000 and up) and U+E000..U+FFFF.
 * @param {string} a
 * @param {string} b
 * @returns {number}
 */
export function compareKeys(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      // Surrogates (D800..DFFF) encode code points above FFFF: move them above E000..FFFF.
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

function expectText(expect) {
  return expect.kind === 'version' ? `Version(${expect.version})` : expect.kind === 'absent' ? 'Absent' : 'Any';
}

function checkExpect(expect) {
  if (expect === null || typeof expect !== 'object') {
    throw new TypeError('MemoryStore: expect must be { kind: "absent" | "any" } or { kind: "version", version }');
  }
  if (expect.kind === 'absent' || expect.kind === 'any') return;
  if (expect.kind === 'version' && (typeof expect.version === 'number' || typeof expect.version === 'bigint')) return;
  throw new TypeError(`MemoryStore: unknown expect ${JSON.stringify(expect, (_, v) => (typeof v === 'bigint' ? `${v}` : v))}`);
}

function toBytes(value) {
  if (value instanceof Uint8Array) return value.slice();
  if (value instanceof ArrayBuffer) return new Uint8Array(value.slice(0));
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength).slice();
  throw new TypeError('MemoryStore: value must be a Uint8Array');
}

/**
 * A Map of key → { value, version }, with the keys also kept sorted for
 * `list`. Versions start at 1 and grow by one on every write of a key (a
 * deleted key starts again at 1, as in the native store).
 */
export class MemoryStore {
  /** @type {Map<string, { value: Uint8Array, version: number }>} */
  #entries = new Map();
  /** @type {string[]} every key, in compareKeys order */
  #keys = [];

  /** The index of the first key >= `key`. */
  #lowerBound(key) {
    let lo = 0;
    let hi = this.#keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareKeys(this.#keys[mid], key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Throws `conflict` unless `expect` holds for `key`; returns its version or 0. */
  #check(key, expect) {
    checkExpect(expect);
    const current = this.#entries.get(key)?.version;
    const holds =
      expect.kind === 'any' ||
      (expect.kind === 'absent' && current === undefined) ||
      (expect.kind === 'version' && current !== undefined && BigInt(expect.version) === BigInt(current));
    if (!holds) {
      const found = current === undefined ? 'None' : `Some(${current})`;
      throw new StoreError('conflict', `${key}: expected ${expectText(expect)}, found version ${found}`);
    }
    return current ?? 0;
  }

  /** The number of keys. */
  get size() {
    return this.#entries.size;
  }

  /**
   * Every `[key, { value, version }]`, in key order (copies).
   * @returns {IterableIterator<[string, { value: Uint8Array, version: number }]>}
   */
  *entries() {
    for (const key of [...this.#keys]) {
      const e = this.#entries.get(key);
      if (e) yield [key, { value: e.value.slice(), version: e.version }];
    }
  }

  /** @param {string} key */
  get(key) {
    const e = this.#entries.get(key);
    return e === undefined ? null : { value: e.value.slice(), version: e.version };
  }

  /**
   * @param {string} key
   * @param {Uint8Array} value
   * @param {{ kind: 'absent' } | { kind: 'version', version: number | bigint } | { kind: 'any' }} expect
   * @returns {number} the new version
   */
  put(key, value, expect) {
    if (typeof key !== 'string') throw new TypeError('MemoryStore: key must be a string');
    const bytes = toBytes(value);
    const version = this.#check(key, expect) + 1;
    if (!this.#entries.has(key)) this.#keys.splice(this.#lowerBound(key), 0, key);
    this.#entries.set(key, { value: bytes, version });
    return version;
  }

  /**
   * Deleting a missing key with `absent` succeeds.
   * @param {string} key
   * @param {{ kind: 'absent' } | { kind: 'version', version: number | bigint } | { kind: 'any' }} expect
   */
  delete(key, expect) {
    checkExpect(expect);
    if (expect.kind === 'absent' && !this.#entries.has(key)) return;
    this.#check(key, expect);
    if (this.#entries.delete(key)) this.#keys.splice(this.#lowerBound(key), 1);
  }

  /**
   * Keys starting with `prefix`, ascending, at most `limit`, after `cursor`
   * (exclusive). `cursor` in the answer is the last key returned when more
   * keys follow, else null.
   * @param {string} prefix
   * @param {string | null} cursor
   * @param {number} limit
   * @returns {{ keys: string[], cursor: string | null }}
   */
  list(prefix, cursor, limit) {
    if (typeof prefix !== 'string') throw new TypeError('MemoryStore: prefix must be a string');
    if (cursor !== null && cursor !== undefined && typeof cursor !== 'string') {
      throw new TypeError('MemoryStore: cursor must be a string or null');
    }
    if (!Number.isInteger(limit) || limit < 0) throw new TypeError('MemoryStore: limit must be a non-negative integer');
    if (limit === 0) throw new StoreError('other', 'list: limit must be at least 1');
    const after = cursor ?? null;
    const keys = [];
    for (let i = this.#lowerBound(after ?? prefix); i < this.#keys.length && keys.length <= limit; i++) {
      const key = this.#keys[i];
      if (key === after) continue;
      if (!key.startsWith(prefix)) break;
      keys.push(key);
    }
    const more = keys.length > limit;
    if (more) keys.length = limit;
    return { keys, cursor: more && keys.length > 0 ? keys[keys.length - 1] : null };
  }
}
