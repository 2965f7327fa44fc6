// The scenario runner (Node.js, Deno, workerd): runs a `tests/fixtures/<suite>/NAME.json`
// scenario (tests/SCENARIOS.md) against the component's raw jco exports,
// with a fresh MemoryStore, a RecordingTransport, the fixture's fixed clock
// and its splitmix64 random stream, and answers in the fixtures' JSON form,
// so the answers can be compared with the native runner's byte for byte.
//
// Typing: the JSON form does not say whether "case" is an enum or a variant
// without payload, whether a number is a u64 (a BigInt in jco) or whether a
// string is a `list<u8>`. The runner reads the WIT itself (src/wit.js, from
// dist/wit.js, which `npm run build` writes, so it matches the transpiled component) and
// converts every argument and result by its declared type: nothing is
// guessed from the shape of a value, and a new export or type needs no
// change here.
//
// Test-only: uses node:crypto (sha256 of bytes), which Node, Deno and
// workerd (nodejs_compat) have; the WIT comes from dist/wit.js, so no file
// system is needed.

import { createHash } from 'node:crypto';
import witSources from '../dist/wit.js';
import { instantiateMailroom, instantiateMailroomAsync } from './runtime.js';
import { MemoryStore } from './memory-store.js';
import { RecordingTransport } from './recording-transport.js';
import { readWit, resolve } from './wit.js';

const MASK64 = (1n << 64n) - 1n;

let cachedWit = null;
const wit = () => (cachedWit ??= readWit(witSources));

/** jco's JS name of a WIT name: `use-cases` → `useCases`. */
const camel = (name) => name.replace(/-([a-z0-9])/g, (_, c) => c.toUpperCase());

/**
 * The fixed clock of SCENARIOS.md: `clockStart + k` seconds on the k-th call.
 * @param {number | bigint} start
 */
export function fixedClock(start) {
  let k = 0n;
  const base = BigInt(start);
  return { now: () => ({ seconds: base + k++, nanoseconds: 0 }) };
}

/**
 * splitmix64 seeded with `seed`, as SCENARIOS.md: `getRandomU64` is one
 * draw; `getRandomBytes(n)` takes ceil(n / 8) draws, each little-endian, and
 * keeps the first n bytes.
 * @param {number | bigint} seed
 */
export function splitmix64(seed) {
  let state = BigInt.asUintN(64, BigInt(seed));
  const next = () => {
    state = (state + 0x9e3779b97f4a7c15n) & MASK64;
    let z = state;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
    return z ^ (z >> 31n);
  };
  return {
    getRandomU64: next,
    getRandomBytes(len) {
      const n = Number(len);
      const out = new Uint8Array(Math.ceil(n / 8) * 8);
      const view = new DataView(out.buffer);
      for (let i = 0; i < out.length; i += 8) view.setBigUint64(i, next(), true);
      return out.slice(0, n);
    },
  };
}

// ---------------------------------------------------------------------------
// JSON form → jco values, by WIT type.

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const sha256 = (bytes) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

function isU8List(interfaces, type) {
  return type.kind === 'list' && resolve(interfaces, type.of).kind === 'prim' && resolve(interfaces, type.of).name === 'u8';
}

function fail(path, message) {
  throw new TypeError(`${path}: ${message}`);
}

function toJco(interfaces, type, json, path) {
  const t = resolve(interfaces, type);
  switch (t.kind) {
    case 'prim':
      if (t.name === 'u64' || t.name === 's64') {
        if (typeof json !== 'number' || !Number.isInteger(json)) fail(path, `a ${t.name} must be an integer`);
        return BigInt(json);
      }
      if (t.name === 'string' || t.name === 'char') {
        if (typeof json !== 'string') fail(path, `a ${t.name} must be a string`);
        return json;
      }
      if (t.name === 'bool') {
        if (typeof json !== 'boolean') fail(path, 'a bool must be true or false');
        return json;
      }
      if (typeof json !== 'number') fail(path, `a ${t.name} must be a number`);
      return json;
    case 'list':
      if (isU8List(interfaces, t)) {
        if (typeof json !== 'string') fail(path, 'a list<u8> argument is a string (its UTF-8 bytes)');
        return encoder.encode(json);
      }
      if (!Array.isArray(json)) fail(path, 'a list must be an array');
      return json.map((v, i) => toJco(interfaces, t.of, v, `${path}[${i}]`));
    case 'tuple':
      if (!Array.isArray(json) || json.length !== t.of.length) fail(path, `a tuple of ${t.of.length} must be an array of ${t.of.length}`);
      return json.map((v, i) => toJco(interfaces, t.of[i], v, `${path}[${i}]`));
    case 'option':
      return json === null ? undefined : toJco(interfaces, t.of, json, path);
    case 'result':
      fail(path, 'a result argument is not supported');
      break;
    case 'record': {
      if (json === null || typeof json !== 'object' || Array.isArray(json)) fail(path, 'a record must be an object');
      const known = new Set(t.fields.map((f) => f.name));
      for (const key of Object.keys(json)) if (!known.has(key)) fail(path, `no field ${key} in the record`);
      const out = {};
      for (const f of t.fields) {
        // A field left out is null, which only an option accepts (as in
        // every host's runner).
        const value = f.name in json ? json[f.name] : null;
        if (value === null && resolve(interfaces, f.type).kind !== 'option') {
          fail(path, `field ${f.name} is missing or null, and is not an option`);
        }
        out[camel(f.name)] = toJco(interfaces, f.type, value, `${path}.${f.name}`);
      }
      return out;
    }
    case 'enum':
      if (!t.cases.includes(json)) fail(path, `${JSON.stringify(json)} is not one of ${t.cases.join(', ')}`);
      return json;
    case 'variant': {
      let name;
      let payload;
      if (typeof json === 'string') {
        name = json;
      } else if (json !== null && typeof json === 'object' && !Array.isArray(json) && Object.keys(json).length === 1) {
        [[name, payload]] = Object.entries(json);
      } else {
        fail(path, 'a variant is "case" or {"case": payload}');
      }
      const c = t.cases.find((x) => x.name === name);
      if (c === undefined) fail(path, `${JSON.stringify(name)} is not one of ${t.cases.map((x) => x.name).join(', ')}`);
      if (c.type === null) {
        if (payload !== undefined) fail(path, `case ${name} has no payload`);
        return { tag: name };
      }
      if (payload === undefined) fail(path, `case ${name} has a payload: write {"${name}": ...}`);
      return { tag: name, val: toJco(interfaces, c.type, payload, `${path}.${name}`) };
    }
    default:
      fail(path, `cannot convert a ${t.kind}`);
  }
}

// ---------------------------------------------------------------------------
// jco values → JSON form, by WIT type: records keyed in WIT order.

function fromJco(interfaces, type, value, path) {
  const t = resolve(interfaces, type);
  switch (t.kind) {
    case 'prim':
      if (t.name === 'u64' || t.name === 's64') {
        if (typeof value !== 'bigint') fail(path, `jco gave ${typeof value} for a ${t.name}`);
        return Number(value);
      }
      return value;
    case 'list':
      if (isU8List(interfaces, t)) return sha256(value);
      return Array.from(value, (v, i) => fromJco(interfaces, t.of, v, `${path}[${i}]`));
    case 'tuple':
      return t.of.map((ty, i) => fromJco(interfaces, ty, value[i], `${path}[${i}]`));
    case 'option':
      return value === undefined || value === null ? null : fromJco(interfaces, t.of, value, path);
    case 'record': {
      const out = {};
      for (const f of t.fields) out[f.name] = fromJco(interfaces, f.type, value[camel(f.name)], `${path}.${f.name}`);
      return out;
    }
    case 'enum':
      return value;
    case 'variant': {
      const c = t.cases.find((x) => x.name === value?.tag);
      if (c === undefined) fail(path, `jco gave ${JSON.stringify(value)} for a variant`);
      return c.type === null ? c.name : { [c.name]: fromJco(interfaces, c.type, value.val, `${path}.${c.name}`) };
    }
    default:
      fail(path, `cannot convert a ${t.kind}`);
  }
}

/** A jco export's outcome (`{ value }` or `{ error }`) as its result in the JSON form. */
function resultJson(interfaces, func, outcome, path) {
  const result = func.result === null ? null : resolve(interfaces, func.result);
  if ('error' in outcome) {
    const err = outcome.error;
    // jco throws a ComponentError whose `payload` is the err value.
    if (result?.kind === 'result' && err !== null && typeof err === 'object' && Object.prototype.hasOwnProperty.call(err, 'payload')) {
      return { err: result.err === null ? null : fromJco(interfaces, result.err, err.payload, `${path}.err`) };
    }
    throw err;
  }
  if (result === null) return null;
  if (result.kind !== 'result') return fromJco(interfaces, func.result, outcome.value, path);
  return { ok: result.ok === null ? null : fromJco(interfaces, result.ok, outcome.value, `${path}.ok`) };
}

// ---------------------------------------------------------------------------
// {{STEP.path}} placeholders, as the native runner replaces them.

function substitute(value, done) {
  if (typeof value === 'string') return substituteString(value, done);
  if (Array.isArray(value)) return value.map((v) => substitute(v, done));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, done)]));
  }
  return value;
}

function substituteString(s, done) {
  let out = '';
  let rest = s;
  for (let start = rest.indexOf('{{'); start !== -1; start = rest.indexOf('{{')) {
    const len = rest.slice(start).indexOf('}}');
    if (len === -1) break;
    out += rest.slice(0, start);
    const reference = rest.slice(start + 2, start + len);
    const [step, ...path] = reference.split('.');
    if (!done.has(step)) throw new Error(`{{${reference}}}: no earlier step named ${step}`);
    let found = done.get(step);
    for (const key of path) {
      if (found === null || typeof found !== 'object' || !(key in found)) {
        throw new Error(`{{${reference}}}: no ${key} in ${JSON.stringify(found)}`);
      }
      found = found[key];
    }
    out += typeof found === 'string' ? found : JSON.stringify(found);
    rest = rest.slice(start + len + 2);
  }
  return out + rest;
}

// ---------------------------------------------------------------------------

/**
 * A scenario's steps: yields a thunk calling each step's export and is
 * resumed with its outcome (`{ value }` or `{ error }`); returns the steps'
 * results. Driven synchronously by runScenario, with awaits by
 * runScenarioAsync.
 */
function* scenarioSteps(scenario, root) {
  const interfaces = wit();
  const done = new Map();
  const steps = [];
  for (const step of scenario.steps) {
    const { name, call } = step;
    try {
      const dot = typeof call === 'string' ? call.indexOf('.') : -1;
      if (dot === -1) throw new Error('"call" is interface.function');
      const [iface, fname] = [call.slice(0, dot), call.slice(dot + 1)];
      const func = interfaces.get(iface)?.funcs.get(fname);
      if (func === undefined) throw new Error(`no function ${fname} in interface ${iface} of the WIT`);
      const fn = root[camel(iface)]?.[camel(fname)];
      if (typeof fn !== 'function') throw new Error(`the component exports no ${iface}.${fname}`);
      const json = substitute(step.args ?? [], done);
      if (!Array.isArray(json) || json.length !== func.params.length) {
        throw new Error(`"args" must be an array of ${func.params.length} (${func.params.map((p) => p.name).join(', ')})`);
      }
      const args = func.params.map((p, i) => toJco(interfaces, p.type, json[i], `args[${i}] (${p.name})`));
      const result = resultJson(interfaces, func, yield () => fn(...args), 'result');
      done.set(name, result);
      steps.push({ name, result });
    } catch (err) {
      throw new Error(`step ${JSON.stringify(name)} (${call}): ${err.message}`, { cause: err });
    }
  }
  return steps;
}

function checkScenario(fixture) {
  const scenario = typeof fixture === 'string' ? JSON.parse(fixture) : fixture;
  if (scenario === null || typeof scenario !== 'object' || !Array.isArray(scenario.steps)) {
    throw new TypeError('runScenario: a scenario has "steps"');
  }
  for (const key of ['clock-start', 'random-seed']) {
    if (!Number.isInteger(scenario[key])) throw new TypeError(`runScenario: "${key}" must be an integer`);
  }
  return scenario;
}

const hostOf = (scenario, store) => ({
  store,
  transport: new RecordingTransport(),
  clock: fixedClock(scenario['clock-start']),
  random: splitmix64(scenario['random-seed']),
});

const transportJson = (transport) =>
  transport.sent.map((m) => ({
    'message-id': m.messageId,
    envelope: { 'mail-from': m.envelope.mailFrom, 'rcpt-to': m.envelope.rcptTo },
    raw: decoder.decode(m.raw),
  }));

/**
 * Runs a scenario. See scenario.d.ts.
 * @param {string | object} fixture  the fixture's JSON text, or its parsed value
 */
export function runScenario(fixture) {
  const scenario = checkScenario(fixture);
  const host = hostOf(scenario, new MemoryStore());
  const run = scenarioSteps(scenario, instantiateMailroom(host));
  let next = run.next();
  while (!next.done) {
    let outcome;
    try {
      outcome = { value: next.value() };
    } catch (error) {
      outcome = { error };
    }
    next = run.next(outcome);
  }
  return { steps: next.value, transport: transportJson(host.transport) };
}

/**
 * Runs a scenario on the JSPI glue (createAsyncChannel's), over `store`
 * (default: a MemoryStore), whose methods may return Promises. See
 * scenario.d.ts.
 * @param {string | object} fixture
 * @param {{ store?: object }} [options]
 */
export async function runScenarioAsync(fixture, { store = new MemoryStore() } = {}) {
  const scenario = checkScenario(fixture);
  const host = hostOf(scenario, store);
  const run = scenarioSteps(scenario, await instantiateMailroomAsync(host));
  let next = run.next();
  while (!next.done) {
    let outcome;
    try {
      outcome = { value: await next.value() };
    } catch (error) {
      outcome = { error };
    }
    next = run.next(outcome);
  }
  return { steps: next.value, transport: transportJson(host.transport) };
}
