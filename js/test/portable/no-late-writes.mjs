// Issue 17, item 7: a failed call leaves nothing behind. A synchronous
// channel refuses an asynchronous store before any write starts; after the
// failed call, pending microtasks and timers run and the KV is unchanged, so
// an asynchronous channel on the same KV (where the runtime has JSPI) finds
// no trace of it. Runtime-neutral: Node 20 (test/options.test.mjs) and
// Node 24 (test/portable/node.mjs) run it.

import { createChannel, createAsyncChannel, kvStore } from '../../src/index.js';
import { memoryKv } from './memory-kv.mjs';

const OPTIONS = { inboundHost: 'inbound.mailroom.example' };

/** Lets every pending microtask and timer (memoryKv answers after one) run. */
async function settle() {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setTimeout(resolve, 5));
}

const snapshot = (kv) => JSON.stringify([...kv.map.entries()].map(([k, e]) => [k, e.version, [...e.value]]));

function expectTypeError(what, fn, pattern) {
  try {
    fn();
  } catch (err) {
    if (err instanceof TypeError && pattern.test(err.message)) return err;
    throw new Error(`${what}: expected a TypeError matching ${pattern}, got ${err?.stack ?? err}`);
  }
  throw new Error(`${what}: expected a TypeError, nothing was thrown`);
}

/** Throws on the first failure; returns the checks that ran. */
export async function checkNoLateWrites() {
  const ran = [];
  const kv = memoryKv();
  const before = snapshot(kv);

  // kvStore says it is asynchronous: refused when the channel is made.
  expectTypeError('createChannel(kvStore)', () => createChannel({ store: kvStore(kv) }), /store is asynchronous/);
  ran.push('kvStore refused at construction');

  // A hand-written store of plain functions returning Promises: refused on
  // the first call, before the component runs (so before any write).
  const plain = kvStore(kv);
  const wrapped = {
    get: (key) => plain.get(key),
    put: (key, value, expect) => plain.put(key, value, expect),
    delete: (key, expect) => plain.delete(key, expect),
    list: (prefix, cursor, limit) => plain.list(prefix, cursor, limit),
  };
  const channel = createChannel({ store: wrapped });
  expectTypeError('setups.create over a Promise-returning store', () => channel.setups.create('ws', 'clinic.example', OPTIONS), /returned a Promise/);
  ran.push('Promise-returning store refused before the first call');

  // async methods: refused at construction too.
  expectTypeError('createChannel(async methods)', () => createChannel({ store: { ...wrapped, put: async () => 1 } }), /store is asynchronous/);
  expectTypeError('createChannel(async submit)', () => createChannel({ transport: { async submit() {} } }), /transport\.submit is an async function/);
  ran.push('async methods refused at construction');

  await settle();
  if (snapshot(kv) !== before) throw new Error(`the KV changed after the failed calls: ${[...kv.map.keys()].join(', ')}`);
  ran.push('KV unchanged after microtasks and timers');

  if (typeof WebAssembly.Suspending === 'function') {
    const later = createAsyncChannel({ store: kvStore(kv) });
    const setup = await later.setups.create('ws', 'clinic.example', OPTIONS);
    if (setup.domain !== 'clinic.example') throw new Error(`createAsyncChannel: ${JSON.stringify(setup)}`);
    ran.push('createAsyncChannel on the same KV creates the setup');
  }
  return ran;
}
