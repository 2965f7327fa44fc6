// The facade over the jco-transpiled mailroom component: plain camelCase
// objects in and out, null for none, Numbers for u64, typed errors.
//
// Runtime-neutral on purpose: no static `node:` imports here (see runtime.js;
// `node:dns/promises` is imported on the first verifyWithDns without `dns`).
// createChannel and createAsyncChannel share everything but `invoke`: the
// synchronous one runs an export and returns, the async one (JSPI glue)
// queues it and returns a Promise.
//
// Types and documentation: index.d.ts.

import { instantiateMailroom, instantiateMailroomAsync } from './runtime.js';
import { MailroomError, MailroomParseError, StoreError, TransportError } from './errors.js';
import { MemoryStore } from './memory-store.js';
import { RecordingTransport } from './recording-transport.js';
import { kvStore } from './kv-store.js';
import { nodemailerTransport } from './nodemailer-transport.js';
import { MAX_REPORT_BYTES, capFor, readInput, streamHint, streamKind } from './input.js';
import { localDns } from './local-dns.js';

export { MailroomError, MailroomParseError, StoreError, TransportError, MemoryStore, RecordingTransport, kvStore, nodemailerTransport };
export { localDns };

const encoder = new TextEncoder();
// The keys each option object takes: any other is a TypeError naming it (a
// typo such as `maxbytes` must not silently mean "the default").
const LIMIT_KEYS = ['maxBytes', 'maxDepth', 'maxParts'];
const POLICY_KEYS = [
  'hardBounceScope', 'softBounceCount', 'softBounceWindow', 'softBounceDuration',
  'unsubscribeScope', 'complaintRatePpm', 'complaintWindowDays', 'complaintMinSent',
  'maxRecipients',
];
const U32_MAX = 0xffff_ffff;
const U64_MAX = 0xffff_ffff_ffff_ffffn;

// ---------------------------------------------------------------------------
// Arguments: checked here, before jco lowers them. jco wraps numbers that do
// not fit (`>>> 0`, `BigInt.asUintN(64, ...)`), so 2**32 + 1 would silently
// become 1, and a value of the wrong type fails halfway through lowering, in
// the middle of a call. Anything the WIT type cannot hold is a TypeError or
// RangeError; what the WIT type holds but the component refuses (a zero
// limit, a bad address) is the component's to answer.

function bytes(call, name, raw) {
  if (raw instanceof Uint8Array) return raw;
  if (typeof raw === 'string') return encoder.encode(raw);
  if (raw instanceof ArrayBuffer) return new Uint8Array(raw);
  if (ArrayBuffer.isView(raw)) return new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
  throw new TypeError(`${call}: ${name} must be a Uint8Array, an ArrayBuffer or a string${streamHint(call, raw)}`);
}

function str(call, name, value) {
  if (typeof value !== 'string') throw new TypeError(`${call}: ${name} must be a string`);
  return value;
}

function optStr(call, name, value) {
  return value === null || value === undefined ? undefined : str(call, name, value);
}

function obj(call, name, value) {
  if (value === null || typeof value !== 'object') throw new TypeError(`${call}: ${name} must be an object`);
  return value;
}

function list(call, name, value, each, optional = false) {
  if (optional && (value === undefined || value === null)) return [];
  if (!Array.isArray(value)) throw new TypeError(`${call}: ${name} must be an array`);
  return value.map((v, i) => each(call, `${name}[${i}]`, v));
}

function oneOf(call, name, value, cases) {
  if (!cases.includes(value)) {
    throw new TypeError(`${call}: ${name} must be one of ${cases.map((c) => `'${c}'`).join(', ')}`);
  }
  return value;
}

function u32(call, name, value) {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new TypeError(`${call}: ${name} must be an integer`);
  if (value < 0 || value > U32_MAX) throw new RangeError(`${call}: ${name} must be between 0 and ${U32_MAX}`);
  return value;
}

function u64(call, name, value) {
  if (typeof value === 'number' && !Number.isSafeInteger(value)) {
    throw new TypeError(`${call}: ${name} must be a safe integer or a bigint`);
  }
  if (typeof value !== 'number' && typeof value !== 'bigint') throw new TypeError(`${call}: ${name} must be an integer`);
  const big = BigInt(value);
  if (big < 0n || big > U64_MAX) throw new RangeError(`${call}: ${name} must be between 0 and ${U64_MAX}`);
  return big;
}

const optU32 = (call, name, value) => (value === undefined || value === null ? undefined : u32(call, name, value));
const optU64 = (call, name, value) => (value === undefined || value === null ? undefined : u64(call, name, value));

/** Limits in the WIT form (undefined for a field not given); `name` is how messages call them. */
function toLimits(call, limits, name = 'limits') {
  if (limits === undefined || limits === null) return {};
  if (typeof limits !== 'object') throw new TypeError(`${call}: ${name} must be an object`);
  onlyKeys(call, name, limits, LIMIT_KEYS);
  return {
    maxBytes: optU64(call, `${name}.maxBytes`, limits.maxBytes),
    maxDepth: optU32(call, `${name}.maxDepth`, limits.maxDepth),
    maxParts: optU32(call, `${name}.maxParts`, limits.maxParts),
  };
}

/** A call's limits over the channel's defaults (both in the WIT form), field by field: the call's win. */
function withDefaults(limits, defaults) {
  return {
    maxBytes: limits.maxBytes ?? defaults.maxBytes,
    maxDepth: limits.maxDepth ?? defaults.maxDepth,
    maxParts: limits.maxParts ?? defaults.maxParts,
  };
}

function toEnvelope(call, envelope) {
  if (envelope === undefined || envelope === null) return { mailFrom: undefined, rcptTo: [] };
  onlyKeys(call, 'envelope', envelope, ['mailFrom', 'rcptTo']);
  return {
    mailFrom: optStr(call, 'envelope.mailFrom', envelope.mailFrom),
    rcptTo: list(call, 'envelope.rcptTo', envelope.rcptTo, str, true),
  };
}

function toRecipient(call, name, r) {
  onlyKeys(call, name, r, ['name', 'address']);
  return { name: optStr(call, `${name}.name`, r.name), address: str(call, `${name}.address`, r.address) };
}

function toAttachment(call, name, a) {
  onlyKeys(call, name, a, ['filename', 'contentType', 'contentId', 'content']);
  return {
    filename: str(call, `${name}.filename`, a.filename),
    contentType: str(call, `${name}.contentType`, a.contentType),
    contentId: optStr(call, `${name}.contentId`, a.contentId),
    content: bytes(call, `${name}.content`, a.content),
  };
}

function toSendRequest(call, r) {
  onlyKeys(call, 'request', r, ['useCase', 'to', 'cc', 'subject', 'text', 'html', 'attachments', 'inReplyTo', 'idempotencyKey']);
  return {
    useCase: str(call, 'request.useCase', r.useCase),
    to: list(call, 'request.to', r.to, toRecipient),
    cc: list(call, 'request.cc', r.cc, toRecipient, true),
    subject: str(call, 'request.subject', r.subject),
    text: optStr(call, 'request.text', r.text),
    html: optStr(call, 'request.html', r.html),
    attachments: list(call, 'request.attachments', r.attachments, toAttachment, true),
    inReplyTo: optStr(call, 'request.inReplyTo', r.inReplyTo),
    idempotencyKey: optStr(call, 'request.idempotencyKey', r.idempotencyKey),
  };
}

/**
 * setups.create's options over the channel's config: a field left out (or
 * null) takes config's. Without `config.inboundHost` the options and their
 * `inboundHost` are required, as the WIT record's field is.
 */
function toSetupOptions(call, o, config) {
  if (o === undefined || o === null) {
    if (config.inboundHost === undefined) obj(call, 'options', o);
    o = {};
  } else {
    onlyKeys(call, 'options', o, ['inboundHost', 'spfInclude', 'unsubscribeBase', 'pendingTtl', 'bounceDomain']);
  }
  const inboundHost = optStr(call, 'options.inboundHost', o.inboundHost) ?? config.inboundHost;
  if (inboundHost === undefined) {
    throw new TypeError(`${call}: options.inboundHost must be a string (or give the channel a config.inboundHost)`);
  }
  return {
    inboundHost,
    spfInclude: optStr(call, 'options.spfInclude', o.spfInclude) ?? config.spfInclude,
    unsubscribeBase: optStr(call, 'options.unsubscribeBase', o.unsubscribeBase) ?? config.unsubscribeBase,
    pendingTtl: o.pendingTtl === undefined || o.pendingTtl === null ? undefined : u64(call, 'options.pendingTtl', o.pendingTtl),
    bounceDomain: optStr(call, 'options.bounceDomain', o.bounceDomain),
  };
}

const RECORD_TYPES = ['txt', 'mx'];

function toTxtRecord(call, name, r) {
  return list(call, name, r, str);
}

function toMxAnswer(call, name, m) {
  onlyKeys(call, name, m, ['preference', 'exchange']);
  const p = m.preference;
  if (typeof p !== 'number' || !Number.isInteger(p)) throw new TypeError(`${call}: ${name}.preference must be an integer`);
  if (p < 0 || p > 0xffff) throw new RangeError(`${call}: ${name}.preference must be between 0 and 65535`);
  return { preference: p, exchange: str(call, `${name}.exchange`, m.exchange) };
}

const DNS_RESULT_KINDS = ['txt', 'mx', 'no-such-name', 'no-records', 'timeout', 'server-failure'];

function toDnsResult(call, name, r) {
  obj(call, name, r);
  const kind = oneOf(call, `${name}.kind`, r.kind, DNS_RESULT_KINDS);
  onlyKeys(call, name, r, kind === 'txt' || kind === 'mx' ? ['kind', 'records'] : kind === 'server-failure' ? ['kind', 'message'] : ['kind']);
  switch (kind) {
    case 'txt':
      return { tag: 'txt', val: list(call, `${name}.records`, r.records, toTxtRecord) };
    case 'mx':
      return { tag: 'mx', val: list(call, `${name}.records`, r.records, toMxAnswer) };
    case 'server-failure':
      return { tag: 'server-failure', val: str(call, `${name}.message`, r.message) };
    default:
      return { tag: r.kind };
  }
}

function toDnsAnswer(call, name, a) {
  onlyKeys(call, name, a, ['name', 'type', 'result']);
  return {
    name: str(call, `${name}.name`, a.name),
    type: oneOf(call, `${name}.type`, a.type, RECORD_TYPES),
    result: toDnsResult(call, `${name}.result`, a.result),
  };
}

function toOutcome(call, outcome) {
  obj(call, 'outcome', outcome);
  switch (outcome.kind) {
    case 'accepted':
      onlyKeys(call, 'outcome', outcome, ['kind', 'providerMessageId']);
      return { tag: 'accepted', val: optStr(call, 'outcome.providerMessageId', outcome.providerMessageId) };
    case 'failed':
      onlyKeys(call, 'outcome', outcome, ['kind', 'reason']);
      return { tag: 'failed', val: str(call, 'outcome.reason', outcome.reason) };
    default:
      throw new TypeError(`${call}: outcome.kind must be 'accepted' or 'failed'`);
  }
}

function toScope(call, name, scope) {
  obj(call, name, scope);
  const kind = oneOf(call, `${name}.kind`, scope.kind, ['setup', 'marketing', 'use-case']);
  onlyKeys(call, name, scope, kind === 'use-case' ? ['kind', 'useCase'] : ['kind']);
  switch (kind) {
    case 'use-case':
      return { tag: 'use-case', val: str(call, `${name}.useCase`, scope.useCase) };
    default:
      return { tag: scope.kind };
  }
}

function toPolicy(call, p) {
  onlyKeys(call, 'policy', p, POLICY_KEYS);
  return {
    hardBounceScope: toScope(call, 'policy.hardBounceScope', p.hardBounceScope),
    softBounceCount: u32(call, 'policy.softBounceCount', p.softBounceCount),
    softBounceWindow: u64(call, 'policy.softBounceWindow', p.softBounceWindow),
    softBounceDuration: u64(call, 'policy.softBounceDuration', p.softBounceDuration),
    unsubscribeScope: toScope(call, 'policy.unsubscribeScope', p.unsubscribeScope),
    complaintRatePpm: u32(call, 'policy.complaintRatePpm', p.complaintRatePpm),
    complaintWindowDays: u32(call, 'policy.complaintWindowDays', p.complaintWindowDays),
    complaintMinSent: u64(call, 'policy.complaintMinSent', p.complaintMinSent),
    maxRecipients: optU32(call, 'policy.maxRecipients', p.maxRecipients),
  };
}

const EVENT_KIND_KEYS = {
  delivered: ['kind'],
  bounced: ['kind', 'bounce'],
  complained: ['kind', 'feedbackType'],
  deferred: ['kind', 'diagnostic'],
  opened: ['kind', 'report'],
  clicked: ['kind', 'report'],
};

function toEventKind(call, k) {
  obj(call, 'event.kind', k);
  const kind = oneOf(call, 'event.kind.kind', k.kind, ['delivered', 'bounced', 'complained', 'deferred', 'opened', 'clicked']);
  onlyKeys(call, 'event.kind', k, EVENT_KIND_KEYS[kind]);
  switch (kind) {
    case 'bounced': {
      const b = onlyKeys(call, 'event.kind.bounce', k.bounce, ['type', 'status', 'diagnostic']);
      return {
        tag: 'bounced',
        val: {
          type: oneOf(call, 'event.kind.bounce.type', b.type, ['hard', 'soft', 'blocked']),
          status: optStr(call, 'event.kind.bounce.status', b.status),
          diagnostic: optStr(call, 'event.kind.bounce.diagnostic', b.diagnostic),
        },
      };
    }
    case 'complained':
      return { tag: 'complained', val: optStr(call, 'event.kind.feedbackType', k.feedbackType) };
    case 'deferred':
      return { tag: 'deferred', val: optStr(call, 'event.kind.diagnostic', k.diagnostic) };
    case 'opened':
    case 'clicked': {
      // `classification` is the answer's; accepted (and ignored) so a recorded kind can be sent again.
      const r = onlyKeys(call, 'event.kind.report', k.report ?? {}, ['userAgent', 'clientIp', 'url', 'classification']);
      return {
        tag: kind,
        val: {
          userAgent: optStr(call, 'event.kind.report.userAgent', r.userAgent),
          clientIp: optStr(call, 'event.kind.report.clientIp', r.clientIp),
          url: optStr(call, 'event.kind.report.url', r.url),
          classification: undefined,
        },
      };
    }
    default:
      return { tag: 'delivered' };
  }
}

function toEvent(call, e) {
  onlyKeys(call, 'event', e, ['id', 'messageId', 'recipient', 'at', 'kind']);
  return {
    id: str(call, 'event.id', e.id),
    messageId: str(call, 'event.messageId', e.messageId),
    recipient: str(call, 'event.recipient', e.recipient),
    at: e.at === undefined || e.at === null ? undefined : u64(call, 'event.at', e.at),
    kind: toEventKind(call, e.kind),
  };
}

function toSubject(call, s) {
  obj(call, 'subject', s);
  const kind = oneOf(call, 'subject.kind', s.kind, ['setup', 'use-case']);
  onlyKeys(call, 'subject', s, kind === 'setup' ? ['kind', 'setup'] : ['kind', 'useCase']);
  return kind === 'setup'
    ? { tag: 'setup', val: str(call, 'subject.setup', s.setup) }
    : { tag: 'use-case', val: str(call, 'subject.useCase', s.useCase) };
}

// ---------------------------------------------------------------------------
// Results: jco's forms (undefined for none, BigInt u64, {tag, val} variants)
// to the facade's (null, Number, { kind, ... }).

const orNull = (v) => (v === undefined ? null : v);

/** The field a variant case's payload is named by, for the delivery interfaces' results. */
const PAYLOAD = {
  'use-case': 'useCase',
  suppressed: 'suppression',
  paused: 'pause',
  bounced: 'bounce',
  complained: 'feedbackType',
  deferred: 'diagnostic',
  opened: 'report',
  clicked: 'report',
  matched: 'events',
  unmatched: 'id',
};

/**
 * A delivery interface's result (suppression, events, unsubscribe,
 * reporting) in the facade's form, by shape: none → null, u64 → Number
 * (timestamps and counts), `{ tag, val }` → `{ kind, [PAYLOAD[tag]]: val }`
 * (no record of those interfaces has a field named `tag`).
 */
function plain(v) {
  if (v === undefined || v === null) return null;
  if (typeof v === 'bigint') return Number(v);
  if (Array.isArray(v)) return v.map(plain);
  if (typeof v !== 'object') return v;
  if (typeof v.tag === 'string') {
    return v.tag in PAYLOAD ? { kind: v.tag, [PAYLOAD[v.tag]]: plain(v.val) } : { kind: v.tag };
  }
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
}

function mailboxes(list) {
  return list.map((m) => ({ name: orNull(m.name), address: orNull(m.address) }));
}

function fromParsed(m) {
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
    headers: m.headers.map((h) => ({ name: h.name, value: h.value })),
  };
}

function fromResolution(r) {
  if (r.tag === 'matched') {
    const a = r.val;
    return {
      kind: 'matched',
      association: {
        workspace: a.workspace,
        setup: a.setup,
        useCase: a.useCase,
        threadId: a.threadId,
        parentMessageId: a.parentMessageId,
        senderMismatch: a.senderMismatch,
      },
    };
  }
  return { kind: 'unmatched', reason: r.val };
}

function fromReceived(r) {
  return {
    messageId: r.messageId,
    resolution: fromResolution(r.resolution),
    references: r.references,
    autoReply: r.autoReply === undefined ? null : { kind: r.autoReply.kind, reason: r.autoReply.reason },
    newText: orNull(r.newText),
    unsubscribed: plain(r.unsubscribed),
    notes: r.notes,
    message: fromParsed(r.message),
  };
}

const fromRecord = (r) => ({ purpose: r.purpose, name: r.name, type: r.type, value: r.value, required: r.required });

const fromSetup = (s) => ({
  id: s.id,
  workspace: s.workspace,
  domain: s.domain,
  status: s.status,
  selector: s.selector,
  nextSelector: orNull(s.nextSelector),
  records: s.records.map(fromRecord),
  createdAt: Number(s.createdAt),
  expiresAt: s.expiresAt === undefined ? null : Number(s.expiresAt),
});

const fromLookup = (l) => ({ name: l.name, type: l.type });

function fromRecordState(s) {
  if (s.tag === 'missing') return { kind: 'missing', reason: s.val };
  if (s.tag === 'mismatched') return { kind: 'mismatched', found: s.val };
  return { kind: s.tag };
}

const fromVerification = (v) => ({
  setup: fromSetup(v.setup),
  checks: v.checks.map((c) => ({ record: fromRecord(c.record), state: fromRecordState(c.state) })),
});

const fromUseCase = (u) => ({
  id: u.id,
  setup: u.setup,
  sender: u.sender,
  type: u.type,
  entityName: u.entityName,
  useCaseName: u.useCaseName,
  enabled: u.enabled,
  listUnsubscribe: u.listUnsubscribe,
});

const fromSent = (s) => ({
  messageId: s.messageId,
  threadId: s.threadId,
  inReplyTo: orNull(s.inReplyTo),
  references: s.references,
  // A message's size in bytes: far below 2**53.
  size: Number(s.size),
  unsubscribeUrl: orNull(s.unsubscribeUrl),
  replayed: s.replayed,
});

// ---------------------------------------------------------------------------
// Errors.

/** The `{tag, val}` a jco export threw for a WIT `result` err, or undefined. */
function witPayload(err) {
  // jco wraps a result's err in a ComponentError with `.payload`; with
  // --no-component-error-wrapping it throws the payload itself.
  const payload =
    err !== null && typeof err === 'object' && Object.prototype.hasOwnProperty.call(err, 'payload')
      ? err.payload
      : err;
  if (payload !== null && typeof payload === 'object' && typeof payload.tag === 'string' && 'val' in payload) {
    return payload;
  }
  return undefined;
}

function toParseError({ tag, val }, options) {
  if (tag === 'limit-exceeded') {
    return new MailroomParseError(tag, val.message, val.limit, Number(val.value), options);
  }
  return new MailroomParseError(tag, val, null, null, options);
}

/** Every WIT error but parse-error carries a string: the kind and a sentence. */
const toError = ({ tag, val }, options) => new MailroomError(tag, val, options);

/** `send`'s refusals carry what refused: `suppressions` (one per recipient) or the `pause`. */
function toSendError({ tag, val }, options) {
  if (tag === 'suppressed') {
    const suppressions = plain(val);
    const who = suppressions.map((s) => `${s.address} (${s.reason})`).join(', ');
    return Object.assign(new MailroomError(tag, `suppressed: ${who}`, options), { suppressions });
  }
  if (tag === 'paused') {
    const pause = plain(val);
    return Object.assign(new MailroomError(tag, `marketing sends are paused: ${pause.reason}`, options), { pause });
  }
  return new MailroomError(tag, val, options);
}

const toReceiveError = (payload, options) =>
  payload.tag === 'parse' ? toParseError(payload.val, options) : toError(payload, options);

// ---------------------------------------------------------------------------
// DNS for setups.verifyWithDns. The component's calls are synchronous and
// DNS in JS is not, so the facade resolves first and calls `verify` after,
// with the answers: no host I/O happens inside a component call.

/** The default resolver, `node:dns/promises`, imported on first use. */
let defaultDns = null;
function loadDefaultDns() {
  // A dynamic import of a computed specifier: the facade loads where there
  // is no `node:dns` (workerd, browsers), and bundlers leave it alone;
  // there, verifyWithDns needs a `dns` option.
  const specifier = 'node:dns/promises';
  defaultDns ??= import(/* webpackIgnore: true */ /* @vite-ignore */ specifier).then(
    (m) => ({ resolveTxt: m.resolveTxt, resolveMx: m.resolveMx }),
    (err) => {
      defaultDns = null;
      throw new Error(
        `setups.verifyWithDns: ${specifier} is not available in this runtime; pass createChannel({ dns }) a resolver`,
        { cause: err },
      );
    },
  );
  return defaultDns;
}

/** A resolver's failure as a WIT `dns-result`, by its `node:dns` error code. */
function dnsFailure(err) {
  const code = err !== null && typeof err === 'object' && typeof err.code === 'string' ? err.code : null;
  switch (code) {
    case 'ENOTFOUND':
      return { kind: 'no-such-name' };
    case 'ENODATA':
      return { kind: 'no-records' };
    case 'ETIMEOUT':
    case 'ETIMEDOUT':
      return { kind: 'timeout' };
    default: {
      const message =
        err !== null && typeof err === 'object' && typeof err.message === 'string' && err.message !== ''
          ? err.message
          : String(err);
      return { kind: 'server-failure', message: code !== null && !message.includes(code) ? `${code}: ${message}` : message };
    }
  }
}

const malformed = (method, what) => ({ kind: 'server-failure', message: `the resolver's ${method} answered with ${what}` });

/** A resolver's answer as a `dns-result` (a wrong shape is a server failure, as a store's wrong answer is `other`). */
function dnsAnswer(type, answer) {
  if (type === 'txt') {
    if (!Array.isArray(answer) || !answer.every((r) => Array.isArray(r) && r.every((c) => typeof c === 'string'))) {
      return malformed('resolveTxt', 'something other than an array of arrays of strings');
    }
    return { kind: 'txt', records: answer.map((r) => [...r]) };
  }
  const ok = (m) =>
    m !== null && typeof m === 'object' && Number.isInteger(m.priority) && m.priority >= 0 && m.priority <= 0xffff &&
    typeof m.exchange === 'string';
  if (!Array.isArray(answer) || !answer.every(ok)) {
    return malformed('resolveMx', 'something other than an array of { priority (0 to 65535), exchange }');
  }
  return { kind: 'mx', records: answer.map((m) => ({ preference: m.priority, exchange: m.exchange })) };
}

/** Resolves one lookup with `resolver`; never rejects. */
async function resolveLookup(resolver, { name, type }) {
  let result;
  try {
    const answer = await (type === 'txt' ? resolver.resolveTxt(name) : resolver.resolveMx(name));
    result = dnsAnswer(type, answer);
  } catch (err) {
    result = dnsFailure(err);
  }
  return { name, type, result };
}

// ---------------------------------------------------------------------------
// Channels.

function checkObject(fn, name, value, methods) {
  if (value === null || typeof value !== 'object' && typeof value !== 'function') {
    throw new TypeError(`${fn}: ${name} must be an object with ${methods.join(', ')}`);
  }
  for (const m of methods) {
    if (typeof value[m] !== 'function') throw new TypeError(`${fn}: ${name}.${m} must be a function`);
  }
}

const CONFIG_KEYS = ['inboundHost', 'unsubscribeBase', 'spfInclude', 'limits'];

/** A plain object with only `keys` (own enumerable string keys; a key set to undefined counts). */
function onlyKeys(fn, name, value, keys) {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new TypeError(`${fn}: ${name} must be an object`);
  for (const key of Object.keys(value)) {
    if (!keys.includes(key)) {
      throw new TypeError(`${fn}: ${name}.${key} is not an option (${name} takes ${keys.join(', ')})`);
    }
  }
  return value;
}

/**
 * The channel's defaults (ChannelConfig), checked once, when the channel is
 * made: an unknown key or a value of the wrong type is a TypeError (a limit
 * no WIT integer holds a RangeError), as each call's own would be. What the
 * component refuses (a zero limit, a host that is not one) is the
 * component's to answer, on the call that uses it. Copied: changing the
 * object afterwards changes nothing.
 */
function toConfig(fn, config) {
  if (config === undefined || config === null) return Object.freeze({ inboundHost: undefined, unsubscribeBase: undefined, spfInclude: undefined, limits: {} });
  onlyKeys(fn, 'config', config, CONFIG_KEYS);
  if (config.limits !== undefined && config.limits !== null) onlyKeys(fn, 'config.limits', config.limits, LIMIT_KEYS);
  return Object.freeze({
    inboundHost: optStr(fn, 'config.inboundHost', config.inboundHost),
    unsubscribeBase: optStr(fn, 'config.unsubscribeBase', config.unsubscribeBase),
    spfInclude: optStr(fn, 'config.spfInclude', config.spfInclude),
    limits: Object.freeze(toLimits(fn, config.limits, 'config.limits')),
  });
}

function checkOptions(fn, options) {
  if (options === null || typeof options !== 'object') throw new TypeError(`${fn}: options must be an object`);
  const { store = new MemoryStore(), transport = new RecordingTransport(), clock, random, dns, config } = options;
  checkObject(fn, 'store', store, ['get', 'put', 'delete', 'list']);
  checkObject(fn, 'transport', transport, ['submit']);
  if (clock !== undefined && clock !== null) checkObject(fn, 'clock', clock, ['now']);
  if (dns !== undefined && dns !== null) checkObject(fn, 'dns', dns, ['resolveTxt', 'resolveMx']);
  if (random !== undefined && random !== null) {
    if (typeof random !== 'object' || (typeof random.getRandomBytes !== 'function' && typeof random.getRandomU64 !== 'function')) {
      throw new TypeError(`${fn}: random must have getRandomBytes(len) or getRandomU64()`);
    }
  }
  return {
    store, transport, clock: clock ?? undefined, random: random ?? undefined, dns: dns ?? null, config: toConfig(fn, config),
  };
}

/**
 * A channel: one instance of the component over the embedder's store,
 * transport, clock and random source. See index.d.ts.
 *
 * @param {object} [options]
 */
export function createChannel(options = {}) {
  const opts = checkOptions('createChannel', options);
  refuseAsync(opts);
  let root = null;
  let busy = null;
  let importError;
  let probed = false;

  function invoke(call, run, map, mapError) {
    if (busy !== null) {
      throw new Error(`mailroom: ${call} called on a channel that is inside ${busy} (from a store or transport callback?)`);
    }
    if (!probed) {
      probed = true;
      probeStore(call, opts.store);
    }
    busy = call;
    importError = undefined;
    try {
      root ??= instantiateMailroom({ ...opts, onImportError: (err) => (importError = err) });
      return map(run(root));
    } catch (err) {
      throw rethrown(err, call, mapError, importError, () => (root = null));
    } finally {
      busy = null;
      importError = undefined;
    }
  }
  return withStreamInputs(channelOver(opts, invoke), opts.config, false);
}

// A synchronous channel cannot wait for a Promise: a store call that
// returned one fails the call, but the Promise would go on and could write
// after the call failed (a setup that "does not exist" taking its domain).
// So an asynchronous store is refused before any write: at construction
// when it says so (kvStore's marker, async methods), else by reading one
// absent key before the channel's first call. (Within a call, runtime.js
// refuses a Promise the moment one is returned.)

const ASYNC = Symbol.for('@mailroom/channel.async');
const AsyncFunction = (async () => {}).constructor;
const isAsyncFunction = (f) => f instanceof AsyncFunction;
const isThenable = (v) => v !== null && (typeof v === 'object' || typeof v === 'function') && typeof v.then === 'function';
const USE_ASYNC = 'use createAsyncChannel (Node.js 24 or later, Deno, workerd) or a synchronous store; see README "Async storage"';

function refuseAsync({ store, transport }) {
  if (store[ASYNC] === true || ['get', 'put', 'delete', 'list'].some((m) => isAsyncFunction(store[m]))) {
    throw new TypeError(`createChannel: store is asynchronous and createChannel calls it synchronously; ${USE_ASYNC}`);
  }
  if (isAsyncFunction(transport.submit)) {
    throw new TypeError(`createChannel: transport.submit is an async function and createChannel calls it synchronously; ${USE_ASYNC}`);
  }
}

/** Reads an absent key once: a store whose get returns a Promise is refused before anything is written. */
function probeStore(call, store) {
  let answer;
  try {
    answer = store.get('mailroom-probe/synchronous');
  } catch {
    return; // a store that throws answers synchronously; its errors come with the calls
  }
  if (isThenable(answer)) {
    answer.then(undefined, () => {});
    throw new TypeError(`${call}: store.get returned a Promise, and createChannel calls the store synchronously; ${USE_ASYNC}`);
  }
}

/**
 * As createChannel, over the JSPI glue: the store's and transport's methods
 * may return Promises, and every method returns one. See index.d.ts.
 *
 * @param {object} [options]
 */
export function createAsyncChannel(options = {}) {
  if (typeof WebAssembly.Suspending !== 'function') {
    throw new Error(
      'createAsyncChannel needs JSPI (WebAssembly.Suspending): Node.js 24 or later, Deno 2, workerd; use createChannel with a synchronous store',
    );
  }
  const opts = checkOptions('createAsyncChannel', options);
  let root = null;
  let queue = Promise.resolve();
  let importError;

  // One call at a time: the component's stack is suspended while the store
  // answers, and another call must not run on the same instance meanwhile.
  function invoke(call, run, map, mapError) {
    const result = queue.then(async () => {
      importError = undefined;
      try {
        root ??= await instantiateMailroomAsync({ ...opts, onImportError: (err) => (importError = err) });
        return map(await run(root));
      } catch (err) {
        throw rethrown(err, call, mapError, importError, () => (root = null));
      }
    });
    queue = result.then(nothing, nothing);
    return result;
  }
  return withStreamInputs(channelOver(opts, invoke), opts.config, true);
}

function nothing() {}

/**
 * What an export threw, as the channel throws it: a WIT error as its typed
 * error (`cause`: what the store or transport threw during the call), else
 * as it is, after `drop()`: a trap, or a throwing clock or random source,
 * may leave the instance unusable, and the component keeps nothing between
 * calls, so a fresh one answers the same.
 */
function rethrown(err, call, mapError, cause, drop) {
  const payload = witPayload(err);
  if (payload !== undefined) return mapError(payload, { call, cause });
  drop();
  return err;
}

/**
 * The channel's methods over `invoke(call, run, map, mapError)`, which runs
 * `run(root)` on the instance and maps its result (or its WIT error):
 * synchronously or, for createAsyncChannel, as a Promise.
 */
function channelOver({ store, transport, dns, config }, invoke) {
  /** `invoke` for the delivery interfaces: results in the plain() form, every error a MailroomError. */
  const call = (name, run) => invoke(name, run, plain, toError);

  return Object.freeze({
    store,
    transport,

    parse(raw, limits) {
      const input = bytes('parse', 'raw', raw);
      const witLimits = withDefaults(toLimits('parse', limits), config.limits);
      return invoke('parse', (c) => c.inbound.parse(input, witLimits), fromParsed, toParseError);
    },

    receive(raw, envelope, limits) {
      const input = bytes('receive', 'raw', raw);
      const env = toEnvelope('receive', envelope);
      const witLimits = withDefaults(toLimits('receive', limits), config.limits);
      return invoke('receive', (c) => c.inbound.receive(input, env, witLimits), fromReceived, toReceiveError);
    },

    send(workspace, request) {
      const w = str('send', 'workspace', workspace);
      const req = toSendRequest('send', request);
      return invoke('send', (c) => c.outbound.send(w, req), fromSent, toSendError);
    },

    report(messageId, outcome) {
      const i = str('report', 'messageId', messageId);
      const o = toOutcome('report', outcome);
      return invoke('report', (c) => c.outbound.report(i, o), nothing, toError);
    },

    setups: Object.freeze({
      create(workspace, domain, options) {
        const name = 'setups.create';
        const w = str(name, 'workspace', workspace);
        const d = str(name, 'domain', domain);
        const o = toSetupOptions(name, options, config);
        return invoke(name, (c) => c.setups.create(w, d, o), fromSetup, toError);
      },
      get(workspace, id) {
        const w = str('setups.get', 'workspace', workspace);
        const i = str('setups.get', 'id', id);
        return invoke('setups.get', (c) => c.setups.get(w, i), fromSetup, toError);
      },
      list(workspace) {
        const w = str('setups.list', 'workspace', workspace);
        return invoke('setups.list', (c) => c.setups.list(w), (l) => l.map(fromSetup), toError);
      },
      lookups(workspace, id) {
        const w = str('setups.lookups', 'workspace', workspace);
        const i = str('setups.lookups', 'id', id);
        return invoke('setups.lookups', (c) => c.setups.lookups(w, i), (l) => l.map(fromLookup), toError);
      },
      verify(workspace, id, answers) {
        const name = 'setups.verify';
        const w = str(name, 'workspace', workspace);
        const i = str(name, 'id', id);
        const a = list(name, 'answers', answers, toDnsAnswer);
        return invoke(name, (c) => c.setups.verify(w, i, a), fromVerification, toError);
      },
      async verifyWithDns(workspace, id) {
        const name = 'setups.verifyWithDns';
        const w = str(name, 'workspace', workspace);
        const i = str(name, 'id', id);
        // 1. The names to resolve, 2. resolve them all, outside any
        // component call, 3. verify with the answers.
        const lookups = await invoke(name, (c) => c.setups.lookups(w, i), (l) => l.map(fromLookup), toError);
        const resolver = dns ?? (await loadDefaultDns());
        const answers = await Promise.all(lookups.map((l) => resolveLookup(resolver, l)));
        const a = answers.map((x, n) => toDnsAnswer(name, `answers[${n}]`, x));
        return invoke(name, (c) => c.setups.verify(w, i, a), fromVerification, toError);
      },
      rotateDkim(workspace, id) {
        const w = str('setups.rotateDkim', 'workspace', workspace);
        const i = str('setups.rotateDkim', 'id', id);
        return invoke('setups.rotateDkim', (c) => c.setups.rotateDkim(w, i), fromSetup, toError);
      },
    }),

    useCases: Object.freeze({
      create(workspace, useCase) {
        const name = 'useCases.create';
        onlyKeys(name, 'useCase', useCase, ['setup', 'sender', 'type', 'entityName', 'useCaseName']);
        const args = [
          str(name, 'workspace', workspace),
          str(name, 'useCase.setup', useCase.setup),
          str(name, 'useCase.sender', useCase.sender),
          oneOf(name, 'useCase.type', useCase.type, ['transactional', 'marketing']),
          str(name, 'useCase.entityName', useCase.entityName),
          str(name, 'useCase.useCaseName', useCase.useCaseName),
        ];
        return invoke(name, (c) => c.useCases.create(...args), fromUseCase, toError);
      },
      get(workspace, id) {
        const w = str('useCases.get', 'workspace', workspace);
        const i = str('useCases.get', 'id', id);
        return invoke('useCases.get', (c) => c.useCases.get(w, i), fromUseCase, toError);
      },
      list(workspace, setup) {
        const w = str('useCases.list', 'workspace', workspace);
        const s = str('useCases.list', 'setup', setup);
        return invoke('useCases.list', (c) => c.useCases.list(w, s), (l) => l.map(fromUseCase), toError);
      },
      disable(workspace, id) {
        const w = str('useCases.disable', 'workspace', workspace);
        const i = str('useCases.disable', 'id', id);
        return invoke('useCases.disable', (c) => c.useCases.disable(w, i), fromUseCase, toError);
      },
      setListUnsubscribe(workspace, id, enabled) {
        const name = 'useCases.setListUnsubscribe';
        const w = str(name, 'workspace', workspace);
        const i = str(name, 'id', id);
        if (typeof enabled !== 'boolean') throw new TypeError(`${name}: enabled must be a boolean`);
        return invoke(name, (c) => c.useCases.setListUnsubscribe(w, i, enabled), fromUseCase, toError);
      },
    }),

    suppression: Object.freeze({
      check(workspace, useCase, address) {
        const name = 'suppression.check';
        const w = str(name, 'workspace', workspace);
        const [u, a] = [str(name, 'useCase', useCase), str(name, 'address', address)];
        return call(name, (c) => c.suppression.check(w, u, a));
      },
      get(workspace, setup, address) {
        const name = 'suppression.get';
        const w = str(name, 'workspace', workspace);
        const [s, a] = [str(name, 'setup', setup), str(name, 'address', address)];
        return call(name, (c) => c.suppression.get(w, s, a));
      },
      list(workspace, setup, page = {}) {
        const name = 'suppression.list';
        const w = str(name, 'workspace', workspace);
        const s = str(name, 'setup', setup);
        onlyKeys(name, 'page', page, ['cursor', 'limit']);
        const cursor = optStr(name, 'page.cursor', page.cursor);
        const limit = u32(name, 'page.limit', page.limit ?? 100);
        return call(name, (c) => c.suppression.list(w, s, cursor, limit));
      },
      remove(workspace, setup, address, note) {
        const name = 'suppression.remove';
        const args = [str(name, 'workspace', workspace), str(name, 'setup', setup), str(name, 'address', address), str(name, 'note', note)];
        return call(name, (c) => c.suppression.remove(...args));
      },
      getPolicy(workspace, setup) {
        const w = str('suppression.getPolicy', 'workspace', workspace);
        const s = str('suppression.getPolicy', 'setup', setup);
        return call('suppression.getPolicy', (c) => c.suppression.getPolicy(w, s));
      },
      setPolicy(workspace, setup, policy) {
        const name = 'suppression.setPolicy';
        const w = str(name, 'workspace', workspace);
        const [s, p] = [str(name, 'setup', setup), toPolicy(name, policy)];
        return call(name, (c) => c.suppression.setPolicy(w, s, p));
      },
      getHealth(workspace, setup) {
        const w = str('suppression.getHealth', 'workspace', workspace);
        const s = str('suppression.getHealth', 'setup', setup);
        return call('suppression.getHealth', (c) => c.suppression.getHealth(w, s));
      },
      clearPause(workspace, setup, note) {
        const name = 'suppression.clearPause';
        const w = str(name, 'workspace', workspace);
        const [s, n] = [str(name, 'setup', setup), str(name, 'note', note)];
        return call(name, (c) => c.suppression.clearPause(w, s, n));
      },
    }),

    events: Object.freeze({
      record(event) {
        const e = toEvent('events.record', event);
        return call('events.record', (c) => c.events.record(e));
      },
      ingestReport(raw) {
        const input = bytes('events.ingestReport', 'raw', raw);
        return call('events.ingestReport', (c) => c.events.ingestReport(input));
      },
    }),

    unsubscribe: Object.freeze({
      oneClick(token, contentType, body) {
        const name = 'unsubscribe.oneClick';
        const t = str(name, 'token', token);
        const ct = optStr(name, 'contentType', contentType);
        const b = bytes(name, 'body', body ?? new Uint8Array());
        return call(name, (c) => c.unsubscribe.oneClick(t, ct, b));
      },
    }),

    reporting: Object.freeze({
      count(workspace, subject, from, until) {
        const name = 'reporting.count';
        const args = [str(name, 'workspace', workspace), toSubject(name, subject), u64(name, 'from', from), u64(name, 'until', until)];
        return call(name, (c) => c.reporting.count(...args));
      },
      countEngagement(workspace, subject, from, until) {
        const name = 'reporting.countEngagement';
        const args = [str(name, 'workspace', workspace), toSubject(name, subject), u64(name, 'from', from), u64(name, 'until', until)];
        return call(name, (c) => c.reporting.countEngagement(...args));
      },
      linkClicks(workspace, useCase, from, until) {
        const name = 'reporting.linkClicks';
        const args = [str(name, 'workspace', workspace), str(name, 'useCase', useCase), u64(name, 'from', from), u64(name, 'until', until)];
        return call(name, (c) => c.reporting.linkClicks(...args));
      },
    }),

    // Engagement tracking (wit/tracking.wit); handleTracking serves it over fetch.
    tracking: Object.freeze({
      getSettings(workspace, useCase) {
        const name = 'tracking.getSettings';
        const [w, u] = [str(name, 'workspace', workspace), str(name, 'useCase', useCase)];
        return call(name, (c) => c.tracking.getSettings(w, u));
      },
      setSettings(workspace, useCase, settings) {
        const name = 'tracking.setSettings';
        const [w, u] = [str(name, 'workspace', workspace), str(name, 'useCase', useCase)];
        obj(name, 'settings', settings);
        const s = {
          opens: Boolean(settings.opens),
          clicks: Boolean(settings.clicks),
          scannerWindowSecs: u32(name, 'settings.scannerWindowSecs', settings.scannerWindowSecs ?? 10),
        };
        return call(name, (c) => c.tracking.setSettings(w, u, s));
      },
      getBase(workspace, setup) {
        const name = 'tracking.getBase';
        const [w, s] = [str(name, 'workspace', workspace), str(name, 'setup', setup)];
        return call(name, (c) => c.tracking.getBase(w, s));
      },
      setBase(workspace, setup, base) {
        const name = 'tracking.setBase';
        const w = str(name, 'workspace', workspace);
        const [s, b] = [str(name, 'setup', setup), optStr(name, 'base', base)];
        return call(name, (c) => c.tracking.setBase(w, s, b));
      },
      setNetworks(networks) {
        const name = 'tracking.setNetworks';
        if (!Array.isArray(networks)) throw new TypeError(`${name}: networks must be an array of strings`);
        const list = networks.map((n, i) => str(name, `networks[${i}]`, n));
        return call(name, (c) => c.tracking.setNetworks(list));
      },
      open(token, request) {
        const name = 'tracking.open';
        const [t, r] = [str(name, 'token', token), toTrackingRequest(name, request)];
        return invoke(name, (c) => c.tracking.open(t, r), fromAnswer, toError);
      },
      click(token, request) {
        const name = 'tracking.click';
        const [t, r] = [str(name, 'token', token), toTrackingRequest(name, request)];
        return invoke(name, (c) => c.tracking.click(t, r), fromAnswer, toError);
      },
      message(workspace, messageId) {
        const name = 'tracking.message';
        const [w, m] = [str(name, 'workspace', workspace), str(name, 'messageId', messageId)];
        return call(name, (c) => c.tracking.message(w, m));
      },
    }),
  });
}

// ---------------------------------------------------------------------------
// Engagement tracking over fetch.

function toTrackingRequest(name, r) {
  obj(name, 'request', r);
  const method = r.method === 'head' || r.method === 'HEAD' ? 'head' : 'get';
  return {
    at: u64(name, 'request.at', r.at),
    userAgent: optStr(name, 'request.userAgent', r.userAgent),
    clientIp: optStr(name, 'request.clientIp', r.clientIp),
    method,
  };
}

function fromAnswer(a) {
  return { ...plain({ ...a, body: null }), body: a.body };
}

const NOT_FOUND_PAGE =
  '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>Not found</title></head>\n<body><p>This link is not valid.</p></body></html>\n';

/**
 * Serves `GET BASE/o/{token}` and `GET|HEAD BASE/c/{token}` from a fetch
 * `Request` (Cloudflare Workers, Deno, Node 18+). See index.d.ts.
 *
 * @param {ReturnType<typeof createChannel>} channel
 * @param {Request} request
 * @param {{ clientIp?: string | null, now?: () => number }} [options]
 * @returns {Promise<Response | null>}
 */
export async function handleTracking(channel, request, options = {}) {
  const url = new URL(request.url);
  const match = /\/(o|c)\/([^/]+)$/.exec(url.pathname);
  const method = request.method.toUpperCase();
  if (!match || !(method === 'GET' || (method === 'HEAD' && match[1] === 'c'))) return null;
  const headers = request.headers;
  const clientIp =
    options.clientIp ?? headers.get('cf-connecting-ip') ?? headers.get('x-forwarded-for')?.split(',')[0]?.trim() ?? null;
  const now = options.now ? options.now() : Date.now() / 1000;
  const witRequest = {
    at: Math.floor(now),
    userAgent: headers.get('user-agent')?.slice(0, 2048) ?? null,
    clientIp,
    method: method === 'HEAD' ? 'head' : 'get',
  };
  let answer;
  try {
    answer = await (match[1] === 'o' ? channel.tracking.open(match[2], witRequest) : channel.tracking.click(match[2], witRequest));
  } catch (e) {
    const kind = e?.kind;
    if (kind === 'store') return new Response('Please try again later.\n', { status: 503 });
    if (kind === 'invalid-token' || kind === 'invalid-input') {
      return new Response(NOT_FOUND_PAGE, { status: 404, headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' } });
    }
    throw e;
  }
  const out = new Headers();
  for (const [name, value] of answer.headers) out.append(name, value);
  return new Response(method === 'HEAD' || answer.body.length === 0 ? null : answer.body, { status: answer.status, headers: out });
}

// ---------------------------------------------------------------------------
// The top-level parse: a channel of its own, made on first use. parse is
// pure, so its store and transport refuse every call; were the component
// ever to use them from parse, the answer would say so.

const NO_STORE = {
  get: refuse,
  put: refuse,
  delete: refuse,
  list: refuse,
};
const NO_TRANSPORT = { submit: refuse };
function refuse() {
  throw new StoreError('other', 'the top-level parse() has no store or transport; use createChannel()');
}

let parser = null;

/**
 * Parses one raw RFC 5322 / MIME message. See index.d.ts.
 *
 * @param {Uint8Array | ArrayBuffer | string} raw
 * @param {{ maxBytes?: number | bigint, maxDepth?: number, maxParts?: number }} [limits]
 */
export function parse(raw, limits) {
  parser ??= createChannel({ store: NO_STORE, transport: NO_TRANSPORT });
  return parser.parse(raw, limits);
}

/**
 * As `parse`, also for a ReadableStream, Blob, Response or Node.js Readable
 * (read up to max-bytes, then parsed once). See index.d.ts.
 *
 * @param {Uint8Array | ArrayBuffer | string | ReadableStream | Blob | Response | AsyncIterable<Uint8Array>} raw
 * @param {{ maxBytes?: number | bigint, maxDepth?: number, maxParts?: number }} [limits]
 */
export async function parseAsync(raw, limits) {
  parser ??= createChannel({ store: NO_STORE, transport: NO_TRANSPORT });
  return parser.parseAsync(raw, limits);
}

// ---------------------------------------------------------------------------
// Stream inputs (input.js): parseAsync, receiveAsync and
// events.ingestReportAsync on every channel; on an async channel, parse,
// receive and events.ingestReport take streams too. A stream is read first,
// outside any component call, to at most max-bytes + 1 bytes (the component
// then refuses an input over max-bytes as it would the whole), and the
// component is called once with the bytes.

function withStreamInputs(channel, config, isAsync) {
  const read = (call, raw, limits) => {
    const max = withDefaults(toLimits(call, limits), config.limits).maxBytes;
    return readInput(`${call}: raw`, raw, capFor(max));
  };
  const parseAsync = async (raw, limits) =>
    channel.parse(streamKind(raw) === null ? raw : await read('parse', raw, limits), limits);
  const receiveAsync = async (raw, envelope, limits) => {
    if (streamKind(raw) === null) return channel.receive(raw, envelope, limits);
    toEnvelope('receive', envelope);
    return channel.receive(await read('receive', raw, limits), envelope, limits);
  };
  const ingestReportAsync = async (raw) =>
    channel.events.ingestReport(
      streamKind(raw) === null ? raw : await readInput('events.ingestReport: raw', raw, MAX_REPORT_BYTES + 1),
    );
  // An async channel's own methods take streams as well; bytes keep their
  // synchronous argument checks.
  const either = (streamed, direct) => (raw, ...rest) => (streamKind(raw) === null ? direct(raw, ...rest) : streamed(raw, ...rest));
  return Object.freeze({
    ...channel,
    ...(isAsync ? { parse: either(parseAsync, channel.parse), receive: either(receiveAsync, channel.receive) } : {}),
    parseAsync,
    receiveAsync,
    events: Object.freeze({
      ...channel.events,
      ...(isAsync ? { ingestReport: either(ingestReportAsync, channel.events.ingestReport) } : {}),
      ingestReportAsync,
    }),
  });
}
