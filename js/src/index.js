// The facade over the jco-transpiled mailroom component.
//
// Runtime-neutral on purpose: no `node:` imports here. The one runtime-specific
// step, turning `dist/*.wasm` into `WebAssembly.Module`s, comes from `#core-modules`,
// which package.json maps per runtime (see its "imports").
//
// Types and documentation: index.d.ts.

import { instantiate } from '../dist/mailroom.js';
import { getCoreModule } from '#core-modules';
import * as cli from '@bytecodealliance/preview2-shim/cli';
import * as clocks from '@bytecodealliance/preview2-shim/clocks';
import * as io from '@bytecodealliance/preview2-shim/io';
import * as random from '@bytecodealliance/preview2-shim/random';

/** The `kind`s a {@link MailroomParseError} can have, as the WIT names them. */
const KINDS = new Set(['limit-exceeded', 'invalid-limits', 'malformed']);

/** Why `parse` returned no message: the WIT `parse-error`, as an Error. */
export class MailroomParseError extends Error {
  /**
   * @param {'limit-exceeded' | 'invalid-limits' | 'malformed'} kind
   * @param {string} message
   * @param {'max-bytes' | 'max-depth' | 'max-parts' | null} [limit]
   * @param {number | null} [value]
   */
  constructor(kind, message, limit = null, value = null) {
    super(message);
    this.name = 'MailroomParseError';
    this.kind = kind;
    this.limit = limit;
    this.value = value;
  }
}

// The WASI imports. The component is pure, but Rust's std links a few WASI
// interfaces (stderr for panic messages and the like). They come from
// preview2-shim, keyed `wasi:PACKAGE/INTERFACE`, except two overrides: the
// environment is empty, so no answer can depend on the host's variables, and
// `exit` throws instead of ending the host process.
const WASI_PACKAGES = { cli, clocks, io, random };
const OVERRIDES = {
  'wasi:cli/environment': {
    getEnvironment: () => [],
    getArguments: () => [],
    initialCwd: () => undefined,
  },
  'wasi:cli/exit': {
    exit() {
      throw new Error('the mailroom component called wasi:cli/exit');
    },
  },
};

function wasiImports() {
  const provided = {};
  for (const [pkg, namespace] of Object.entries(WASI_PACKAGES)) {
    for (const [name, iface] of Object.entries(namespace)) {
      if (name.startsWith('_') || typeof iface !== 'object' || iface === null) continue;
      const kebab = name.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
      provided[`wasi:${pkg}/${kebab}`] = iface;
    }
  }
  Object.assign(provided, OVERRIDES);
  // An import this package does not provide fails instantiation by name
  // rather than as a destructuring TypeError deep in the generated code.
  return new Proxy(provided, {
    get(target, key) {
      if (typeof key === 'string' && !(key in target)) {
        throw new Error(`the mailroom component imports ${key}, which @mailroom/channel does not provide`);
      }
      return target[key];
    },
  });
}

/** @type {{ parse(raw: Uint8Array, limits: object): any } | null} */
let inbound = null;

/** Instantiates the component on first use; afterwards returns the same instance. */
function component() {
  if (inbound === null) {
    inbound = instantiate(getCoreModule, wasiImports()).inbound;
  }
  return inbound;
}

const encoder = new TextEncoder();

function toBytes(raw) {
  if (raw instanceof Uint8Array) return raw;
  if (typeof raw === 'string') return encoder.encode(raw);
  if (raw instanceof ArrayBuffer) return new Uint8Array(raw);
  if (ArrayBuffer.isView(raw)) return new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
  throw new TypeError('parse: raw must be a Uint8Array, an ArrayBuffer or a string');
}

const U32_MAX = 0xffff_ffff;
const U64_MAX = 0xffff_ffff_ffff_ffffn;

// jco lowers numbers by wrapping (`>>> 0`, `BigInt.asUintN(64, ...)`), so
// 2**32 + 1 would silently become 1. Anything the WIT type cannot hold is
// rejected here; zero and values above a limit's maximum are the component's
// to reject (as `invalid-limits`).
function u32Limit(name, value) {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new TypeError(`parse: limits.${name} must be an integer`);
  }
  if (value < 0 || value > U32_MAX) {
    throw new RangeError(`parse: limits.${name} must be between 0 and ${U32_MAX}`);
  }
  return value;
}

function u64Limit(name, value) {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number' && !Number.isSafeInteger(value)) {
    throw new TypeError(`parse: limits.${name} must be a safe integer or a bigint`);
  }
  if (typeof value !== 'number' && typeof value !== 'bigint') {
    throw new TypeError(`parse: limits.${name} must be an integer`);
  }
  const big = BigInt(value);
  if (big < 0n || big > U64_MAX) {
    throw new RangeError(`parse: limits.${name} must be between 0 and ${U64_MAX}`);
  }
  return big;
}

function toLimits(limits) {
  if (limits === undefined || limits === null) return {};
  if (typeof limits !== 'object') throw new TypeError('parse: limits must be an object');
  return {
    maxBytes: u64Limit('maxBytes', limits.maxBytes),
    maxDepth: u32Limit('maxDepth', limits.maxDepth),
    maxParts: u32Limit('maxParts', limits.maxParts),
  };
}

const orNull = (v) => (v === undefined ? null : v);

function mailboxes(list) {
  return list.map((m) => ({ name: orNull(m.name), address: orNull(m.address) }));
}

function fromWit(m) {
  return {
    messageId: orNull(m.messageId),
    inReplyTo: m.inReplyTo,
    references: m.references,
    from: mailboxes(m.from),
    to: mailboxes(m.to),
    cc: mailboxes(m.cc),
    replyTo: mailboxes(m.replyTo),
    subject: orNull(m.subject),
    date: orNull(m.date),
    text: orNull(m.text),
    html: orNull(m.html),
    attachments: m.attachments.map((a) => ({
      filename: a.filename,
      contentType: a.contentType,
      contentId: orNull(a.contentId),
      disposition: a.disposition,
      inline: a.inline,
      // u64 arrives as a bigint; it is at most max-bytes (<= 1 GiB).
      size: Number(a.size),
      content: a.content,
    })),
  };
}

/** The `{tag, val}` of a WIT `parse-error`, or undefined for any other throw. */
function witError(err) {
  // jco wraps a result's err in a ComponentError with `.payload`; with
  // --no-component-error-wrapping it throws the payload itself.
  const payload =
    err !== null && typeof err === 'object' && Object.prototype.hasOwnProperty.call(err, 'payload')
      ? err.payload
      : err;
  if (payload !== null && typeof payload === 'object' && KINDS.has(payload.tag) && 'val' in payload) {
    return payload;
  }
  return undefined;
}

function toParseError({ tag, val }) {
  if (tag === 'limit-exceeded') {
    return new MailroomParseError(tag, val.message, val.limit, Number(val.value));
  }
  return new MailroomParseError(tag, val);
}

/**
 * Parses one raw RFC 5322 / MIME message. See index.d.ts.
 *
 * @param {Uint8Array | ArrayBuffer | string} raw
 * @param {{ maxBytes?: number | bigint, maxDepth?: number, maxParts?: number }} [limits]
 */
export function parse(raw, limits) {
  const bytes = toBytes(raw);
  const witLimits = toLimits(limits);
  const instance = component();
  let result;
  try {
    result = instance.parse(bytes, witLimits);
  } catch (err) {
    const wit = witError(err);
    if (wit) throw toParseError(wit);
    // A trap (or a throwing import) leaves the instance unusable: jco marks
    // it trapped. Drop it so the next call starts from a fresh one.
    inbound = null;
    throw err;
  }
  return fromWit(result);
}
