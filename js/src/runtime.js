// Internal: instantiates the jco-transpiled component with an embedder's
// store, transport, clock and random source. Used by the facade (index.js)
// and the scenario runner (scenario.js); not a public entry point.
//
// Runtime-neutral on purpose: no `node:` imports here. The one
// runtime-specific step, turning `dist/*.wasm` into `WebAssembly.Module`s,
// comes from `#core-modules`, which package.json maps per runtime.
//
// How jco (`--instantiation sync`) calls an import that returns
// `result<T, E>` (see the trampolines in dist/mailroom.js): it calls the
// function; a normal return is `ok(T)` (unless it is an object tagged
// 'ok'/'err'); a throw is caught and `getErrorPayload(e)` decides: an object
// with an own `payload` property gives `err(e.payload)`; any other `Error` is
// rethrown, unwinding through the component's frames (the instance is left
// unusable). The adapters below therefore catch everything the embedder
// throws and rethrow it as `{ payload: { tag, val } }`, so a failing or buggy
// store or transport becomes a WIT error the component handles, never an
// exception through WebAssembly.
//
// The JSPI glue (dist/async/mailroom.js, for createAsyncChannel) awaits
// what the store and transport imports return, with the stack suspended,
// and treats a rejection as the synchronous glue treats a throw; the same
// adapters serve both, awaiting the embedder's answer there (`caller`).

import { instantiate } from '../dist/mailroom.js';
import { getCoreModule } from '#core-modules';
import { wasiImports as WASI } from './wasi.js';
import { STORE_ERROR_KINDS, TRANSPORT_ERROR_KINDS } from './errors.js';

// Compiling the core modules is the slow part of instantiation; a compiled
// WebAssembly.Module serves any number of instances.
const compiled = new Map();
function coreModule(path) {
  let module = compiled.get(path);
  if (module === undefined) {
    module = getCoreModule(path);
    compiled.set(path, module);
  }
  return module;
}

// The WASI imports (wasi.js): the clocks, random, and stubs for what Rust's
// std links but the component never uses (no environment, `exit` throws).
const wasiImports = () => WASI;

const U64_MAX = 0xffff_ffff_ffff_ffffn;

/** A u64 for the embedder: a Number when it is safe, else a BigInt. */
export const toNumber = (big) => (big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big);

function toU64(what, value) {
  if (typeof value === 'number' ? !Number.isSafeInteger(value) : typeof value !== 'bigint') {
    throw new TypeError(`${what} must be a safe integer or a bigint, not ${describe(value)}`);
  }
  const big = BigInt(value);
  if (big < 0n || big > U64_MAX) throw new RangeError(`${what} must be between 0 and ${U64_MAX}`);
  return big;
}

function describe(value) {
  if (value === null) return 'null';
  if (typeof value === 'object') return value.constructor?.name ?? 'an object';
  return typeof value;
}

function isThenable(value) {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof value.then === 'function';
}

function syncOnly(what, value) {
  if (isThenable(value)) {
    // Keep an abandoned promise's rejection from surfacing as unhandled.
    value.then(undefined, () => {});
    throw new TypeError(
      `${what} returned a Promise; the store and transport are called synchronously ` +
        '(use createAsyncChannel where the runtime has JSPI; see README "Async storage")',
    );
  }
  return value;
}

function toBytes(what, value) {
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  throw new TypeError(`${what} must be a Uint8Array, not ${describe(value)}`);
}

/** The error jco turns into `err({ tag, val })` for an import's result. */
function witError(tag, message) {
  return Object.assign(new Error(message), { payload: { tag, val: message } });
}

/** What the embedder threw, as the WIT error of `kinds` (by its `kind`, else 'other'). */
function toWitError(kinds, err) {
  const typed = err !== null && typeof err === 'object' && kinds.has(err.kind);
  const message =
    err instanceof Error
      ? typed
        ? err.message
        : `${err.name}: ${err.message}`
      : typeof err?.message === 'string'
        ? err.message
        : String(err);
  return witError(typed ? err.kind : 'other', message);
}

/**
 * How an import calls the embedder: `call(what, thunk, check)` runs `thunk`
 * (the embedder's method) and `check` on its answer; anything either throws
 * becomes a WIT error of `kinds`, after `onError` has seen the original.
 * Synchronous: a Promise is refused. Async (JSPI): it is awaited, and the
 * import returns a Promise on which the component's stack is suspended.
 */
function caller(kinds, onError, isAsync) {
  const fail = (err) => {
    onError(err);
    throw toWitError(kinds, err);
  };
  if (isAsync) {
    return async (what, thunk, check) => {
      try {
        return check(await thunk());
      } catch (err) {
        return fail(err);
      }
    };
  }
  return (what, thunk, check) => {
    try {
      return check(syncOnly(what, thunk()));
    } catch (err) {
      return fail(err);
    }
  };
}

const expectForEmbedder = (expect) =>
  expect.tag === 'version' ? { kind: 'version', version: toNumber(expect.val) } : { kind: expect.tag };

function checkEntry(entry) {
  if (entry === null || entry === undefined) return undefined;
  if (typeof entry !== 'object') throw new TypeError(`store.get must return { value, version } or null, not ${describe(entry)}`);
  return {
    value: toBytes('store.get(...).value', entry.value),
    version: toU64('store.get(...).version', entry.version),
  };
}

function checkPage(page) {
  if (page === null || typeof page !== 'object' || !Array.isArray(page.keys)) {
    throw new TypeError(`store.list must return { keys: string[], cursor }, not ${describe(page)}`);
  }
  for (const key of page.keys) {
    if (typeof key !== 'string') throw new TypeError(`store.list: every key must be a string, not ${describe(key)}`);
  }
  const next = page.cursor ?? undefined;
  if (next !== undefined && typeof next !== 'string') {
    throw new TypeError(`store.list: cursor must be a string or null, not ${describe(next)}`);
  }
  return { keys: [...page.keys], cursor: next };
}

const nothing = () => undefined;

/** `mailroom:channel/store` over an embedder's store. */
function storeImport(store, onError, isAsync) {
  const call = caller(STORE_ERROR_KINDS, onError, isAsync);
  return {
    get: (key) => call('store.get', () => store.get(key), checkEntry),
    put: (key, value, expect) =>
      call('store.put', () => store.put(key, value, expectForEmbedder(expect)), (v) => toU64('store.put(...)', v)),
    delete: (key, expect) => call('store.delete', () => store.delete(key, expectForEmbedder(expect)), nothing),
    list: (prefix, cursor, limit) => call('store.list', () => store.list(prefix, cursor ?? null, limit), checkPage),
  };
}

/** `mailroom:channel/transport` over an embedder's transport. */
function transportImport(transport, onError, isAsync) {
  const call = caller(TRANSPORT_ERROR_KINDS, onError, isAsync);
  return {
    submit: (message) =>
      call(
        'transport.submit',
        () =>
          transport.submit({
            messageId: message.messageId,
            envelope: { mailFrom: message.envelope.mailFrom, rcptTo: message.envelope.rcptTo },
            raw: message.raw,
          }),
        nothing,
      ),
  };
}

/** `wasi:clocks/wall-clock` with `now` from the embedder's clock. */
function wallClockImport(clock, shim) {
  return {
    ...shim,
    now() {
      const t = clock.now();
      if (t === null || typeof t !== 'object') throw new TypeError(`clock.now must return { seconds, nanoseconds }, not ${describe(t)}`);
      const nanoseconds = t.nanoseconds ?? 0;
      if (!Number.isInteger(nanoseconds) || nanoseconds < 0 || nanoseconds > 999_999_999) {
        throw new RangeError('clock.now().nanoseconds must be an integer from 0 to 999999999');
      }
      return { seconds: toU64('clock.now().seconds', t.seconds), nanoseconds };
    },
  };
}

/**
 * `wasi:random/random` from the embedder's source. A source with only one of
 * the two calls gets the other derived from it: bytes from little-endian u64
 * draws (ceil(n / 8) draws, the first n bytes kept), or a u64 from 8 bytes
 * read little-endian.
 */
function randomImport(source, shim) {
  const u64 = source.getRandomU64
    ? () => toU64('random.getRandomU64()', source.getRandomU64())
    : () => {
        const b = source.getRandomBytes(8n);
        return new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true);
      };
  const bytes = source.getRandomBytes
    ? (len) => {
        const b = toBytes('random.getRandomBytes(...)', source.getRandomBytes(len));
        if (BigInt(b.length) !== BigInt(len)) {
          throw new RangeError(`random.getRandomBytes(${len}) returned ${b.length} bytes`);
        }
        return b;
      }
    : (len) => {
        const n = Number(len);
        const out = new Uint8Array(Math.ceil(n / 8) * 8);
        const view = new DataView(out.buffer);
        for (let i = 0; i < out.length; i += 8) view.setBigUint64(i, u64(), true);
        return out.subarray(0, n);
      };
  return { ...shim, getRandomBytes: bytes, getRandomU64: u64 };
}

/**
 * Instantiates the component; returns jco's root (`inbound`, `outbound`,
 * `setups`, `useCases`, `suppression`, `events`, `unsubscribe`,
 * `reporting`, with jco's value forms).
 *
 * @param {object} options
 * @param {object} options.store  get/put/delete/list, as index.d.ts `Store`
 * @param {object} options.transport  submit, as index.d.ts `Transport`
 * @param {object} [options.clock]  `now()`; default: the system clock (wasi.js)
 * @param {object} [options.random]  `getRandomBytes(len)` / `getRandomU64()`; default: Web Crypto (wasi.js)
 * @param {(err: unknown) => void} [options.onImportError]  sees whatever the store or transport threw
 * @param {Function} [glue]  jco's `instantiate`: dist/mailroom.js (synchronous imports), or
 *   dist/async/mailroom.js from `instantiateMailroomAsync`
 */
export function instantiateMailroom({ store, transport, clock, random: source, onImportError = () => {} }, glue = instantiate) {
  const isAsync = glue !== instantiate;
  const base = wasiImports();
  const imports = {
    ...base,
    'mailroom:channel/store': storeImport(store, onImportError, isAsync),
    'mailroom:channel/transport': transportImport(transport, onImportError, isAsync),
  };
  if (clock) imports['wasi:clocks/wall-clock'] = wallClockImport(clock, base['wasi:clocks/wall-clock']);
  if (source) imports['wasi:random/random'] = randomImport(source, base['wasi:random/random']);
  // An import this package does not provide fails instantiation by name
  // rather than as a destructuring TypeError deep in the generated code.
  const checked = new Proxy(imports, {
    get(target, key) {
      if (typeof key === 'string' && !(key in target)) {
        throw new Error(`the mailroom component imports ${key}, which @mailroom/channel does not provide`);
      }
      return target[key];
    },
  });
  return withoutPromisingThrows(() => glue(coreModule, checked));
}

/**
 * As instantiateMailroom, with the JSPI glue: the store's and transport's
 * methods may return Promises, and every export returns one. Rejects where
 * the runtime has no JSPI (`WebAssembly.Suspending`).
 */
export async function instantiateMailroomAsync(options) {
  if (typeof WebAssembly.Suspending !== 'function') {
    throw new Error(
      '@mailroom/channel: createAsyncChannel needs JSPI (WebAssembly.Suspending): Node.js 24 or later, Deno 2, workerd; ' +
        'use createChannel with a synchronous store here',
    );
  }
  const { instantiate: glue } = await import('../dist/async/mailroom.js');
  return instantiateMailroom(options, glue);
}

/**
 * Runs `fn` (jco's synchronous `instantiate`) with `WebAssembly.promising`
 * defined as the identity where the runtime lacks it (JSPI: Node 20 and 22
 * without a flag), and removes it again before returning.
 *
 * jco's output wraps each export's post-return function in
 * `try { WebAssembly.promising(f) } catch { f }`. Without JSPI each of those
 * eight calls throws a TypeError whose message ("... is not a function") V8
 * builds by re-parsing the enclosing generated function, some 7,800 lines:
 * about 2.5 ms a throw, 20 ms of every instantiation (BENCHMARKS.md). The
 * identity gives the generated code exactly what its catch would. Nothing
 * else runs meanwhile (instantiation is synchronous and calls none of the
 * embedder's code).
 */
function withoutPromisingThrows(fn) {
  if (typeof WebAssembly.promising === 'function') return fn();
  WebAssembly.promising = (f) => f;
  try {
    return fn();
  } finally {
    delete WebAssembly.promising;
  }
}
