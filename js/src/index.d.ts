/**
 * `@mailroom/channel`: the mailroom email channel (`mailroom:channel@0.1.0`)
 * as a WebAssembly component for JavaScript.
 *
 * - {@link parse}: parse inbound email. Pure, no setup; the component is
 *   instantiated on the first call and reused.
 * - {@link createChannel}: the whole channel (setups, use cases, `send`,
 *   `report`, `receive` with reply threading, suppression, delivery events
 *   and reports, one-click unsubscribe, counts) over a {@link Store},
 *   {@link Transport}, {@link Clock} and {@link RandomSource} the embedder
 *   supplies, each defaulting to something that works in memory.
 * - {@link createAsyncChannel}: the same channel where the store and
 *   transport are asynchronous (a remote KV, a database over the network);
 *   every method returns a Promise. Needs JSPI: Node.js 24+, Deno, workerd.
 * - Adapters: {@link MemoryStore} (the default store), {@link kvStore} (a
 *   store over any key-value store with compare-and-set versions),
 *   {@link nodemailerTransport} (SMTP and the rest of nodemailer), and
 *   `nodeDns` from `@mailroom/channel/node` (a `node:dns` resolver).
 *
 * Conventions, everywhere: camelCase fields; an absent optional value is
 * `null` in results (never `undefined`), and `null` or left out in
 * arguments; WIT `u64` results are Numbers (sizes and versions, far below
 * 2^53); bytes are `Uint8Array`s (an argument may be any ArrayBuffer view,
 * an ArrayBuffer, or a string, encoded as UTF-8); WIT enums are their
 * kebab-case case names; a WIT variant is an object whose `kind` is the case
 * name and whose payload, if any, is a field named for what it is
 * (`{ kind: 'failed', reason }`, `{ kind: 'txt', records }`); a WIT `result`
 * error is thrown as a {@link MailroomError} whose `kind` is the case name.
 * Every call of a {@link createChannel} channel is synchronous, except
 * `setups.verifyWithDns`, which resolves DNS first (asynchronously, outside
 * the component) and then calls the synchronous `setups.verify` with the
 * answers; a {@link createAsyncChannel} channel returns a Promise from
 * every call.
 *
 * @module
 */

/**
 * One mailbox of an address header. Groups are flattened into their members;
 * at least one of the two fields is non-null.
 */
export interface Mailbox {
  /** The display name, decoded (RFC 2047), or null if none was given. */
  name: string | null;
  /** The address `local@domain`, or null if none was given. */
  address: string | null;
}

/**
 * How a part asked to be shown (its Content-Disposition):
 * - `'attachment'`: `Content-Disposition: attachment`.
 * - `'inline'`: `Content-Disposition: inline`.
 * - `'unspecified'`: no Content-Disposition, or one with another value.
 */
export type Disposition = 'attachment' | 'inline' | 'unspecified';

/**
 * One attachment or inline part, in document order.
 *
 * Attachments come from a depth-first, document-order walk of the whole MIME
 * tree, so nothing a sender attached is dropped:
 * - A leaf part that is not a body part (`text/plain` or no Content-Type, or
 *   `text/html`, with no file name and a disposition other than
 *   `attachment`) is an attachment.
 * - A `message/rfc822` / `message/global` part is one attachment holding the
 *   enclosed message's bytes, named `*.eml` (its file name, else one made from
 *   its Subject, else `forwarded-message.eml`); it is never recursed into.
 * - A part whose Content-ID `html` references by a `cid:` URL (RFC 2392) is
 *   an inline image: `inline` is true and `filename` is its Content-ID.
 */
export interface Attachment {
  /**
   * A safe file name: decoded (RFC 2231, RFC 2047); `/`, `\`, NUL and control
   * characters replaced by `_`; `.` and `..` replaced; at most 255 UTF-8 bytes
   * with the extension kept. A part with no name is `attachment-N.EXT`, N its
   * 1-based position in `attachments`. For an inline part, its Content-ID.
   */
  filename: string;
  /**
   * The media type, lower-case `type/subtype` without parameters
   * (`'text/plain'` when the part has no Content-Type).
   */
  contentType: string;
  /** The Content-ID without angle brackets, or null. */
  contentId: string | null;
  /** The Content-Disposition the part was sent with. */
  disposition: Disposition;
  /** True when `html` references this part by a `cid:` URL. */
  inline: boolean;
  /** The number of bytes in `content` (a safe integer: at most `maxBytes`). */
  size: number;
  /**
   * The transfer-decoded bytes (base64 and quoted-printable undone; no
   * charset conversion). A copy owned by the caller.
   */
  content: Uint8Array;
}

/**
 * One header field of the top-level message (WIT `header`). Capped: at most
 * 1000 fields; a value cut to at most 65536 UTF-8 bytes (at a character
 * boundary); names and values at most 1 MiB in all (later fields left out).
 */
export interface Header {
  /** The field name as written, original case kept: compare it case-insensitively. */
  name: string;
  /**
   * The value, unfolded, RFC 2047 encoded words decoded, trimmed; structured
   * fields (addresses, ids, dates) as text, not parsed.
   */
  value: string;
}

/** A parsed message: plain data, safe to structuredClone or postMessage. */
export interface ParsedMessage {
  /** The Message-ID without angle brackets, or null. */
  messageId: string | null;
  /** The ids of In-Reply-To, without angle brackets, in header order. */
  inReplyTo: string[];
  /** The ids of References, without angle brackets, oldest first. */
  references: string[];
  /** The From mailboxes (usually one). */
  from: Mailbox[];
  /** The To mailboxes. */
  to: Mailbox[];
  /** The Cc mailboxes. */
  cc: Mailbox[];
  /** The Reply-To mailboxes. */
  replyTo: Mailbox[];
  /** The Subject, unfolded and decoded (RFC 2047), or null. */
  subject: string | null;
  /**
   * The Date as RFC 3339 with the sender's UTC offset
   * (`'2025-07-01T10:00:00+02:00'`), or null if absent or unparsable.
   */
  date: string | null;
  /**
   * The `text/plain` body parts, decoded to UTF-8 and joined in document order
   * (a newline between parts that lack one); null if there are none. Never
   * generated from `html`.
   */
  text: string | null;
  /**
   * The `text/html` body parts, decoded to UTF-8 and joined in document
   * order; null if there are none. Never generated from `text`.
   */
  html: string | null;
  /** Every attachment and inline part, in document order. */
  attachments: Attachment[];
  /**
   * The top-level message's header fields in the order written (a repeated
   * name once per field: `Received` top down), under the caps on
   * {@link Header}; empty when the input has no header block. Find one with
   * `headers.find((h) => h.name.toLowerCase() === 'list-id')`.
   */
  headers: Header[];
}

/**
 * Bounds on the work one {@link parse} call may do. A field left out (or
 * null) takes its default: on a channel, its {@link ChannelConfig.limits}
 * field if set, else the component's below. Zero or a value above the maximum is rejected by
 * the component as `invalid-limits`; a negative, fractional or unrepresentable
 * value (beyond u32, or u64 for `maxBytes`) is a `TypeError`/`RangeError`.
 */
export interface Limits {
  /** Largest input accepted, in bytes. Default 52428800 (50 MiB); at most 1073741824 (1 GiB). */
  maxBytes?: number | bigint | null;
  /**
   * Deepest MIME nesting accepted: the top-level part is at depth 1, its
   * children at depth 2, counting into enclosed messages. Default 64; at most 1024.
   */
  maxDepth?: number | null;
  /** Most MIME parts accepted, enclosed messages' parts included. Default 5000; at most 1000000. */
  maxParts?: number | null;
}

/** Which limit an input exceeded, as the WIT names it. */
export type LimitKind = 'max-bytes' | 'max-depth' | 'max-parts';

/**
 * Why {@link parse} returned no message (the WIT `parse-error`):
 * - `'limit-exceeded'`: the input exceeded a limit; `limit` and `value` say
 *   which and its value in force for the call.
 * - `'invalid-limits'`: a limit was zero or above its maximum; `message` says which.
 * - `'malformed'`: the input holds no message: it is empty, or has neither a
 *   header nor a body.
 */
export type ParseErrorKind = 'limit-exceeded' | 'invalid-limits' | 'malformed';

/**
 * A WIT error the component answered with (a call's `result` was `err`).
 * `kind` is the WIT case; `message` the component's sentence, for people.
 *
 * Anything else a call throws is misuse or a bug, not an answer: a
 * `TypeError`/`RangeError` for an argument of the wrong type or one no WIT
 * type can hold (thrown before the component is called), an Error thrown by
 * the embedder's {@link Clock} or {@link RandomSource}, or a WebAssembly trap.
 * After those, the channel's next call runs on a fresh instance (the
 * component keeps nothing between calls; all state is in the store).
 *
 * | call | `kind`s |
 * | --- | --- |
 * | `parse` | {@link ParseErrorKind} (as {@link MailroomParseError}) |
 * | `receive` | {@link ParseErrorKind} (as {@link MailroomParseError}), `'store'` |
 * | `send` | {@link SendErrorKind} |
 * | `report` | {@link ReportErrorKind} |
 * | `setups.*` (`create`, `get`, `lookups`, `verify`, `verifyWithDns`, `rotateDkim`) | {@link SetupErrorKind} |
 * | `useCases.*` (`create`, `get`, `list`, `disable`, `setListUnsubscribe`) | {@link UseCaseErrorKind} |
 * | `suppression.*` | {@link SuppressionErrorKind} |
 * | `events.*` | {@link EventErrorKind} |
 * | `unsubscribe.oneClick` | {@link UnsubscribeErrorKind} |
 * | `reporting.count` | {@link ReportingErrorKind} |
 */
export class MailroomError<K extends string = MailroomErrorKind> extends Error {
  constructor(kind: K, message: string, options?: { call?: MailroomCall | null; cause?: unknown });
  readonly name: 'MailroomError' | 'MailroomParseError';
  /** The WIT case, e.g. `'invalid-header'`. */
  kind: K;
  /** The call that answered with it, e.g. `'send'`; null when constructed by hand. */
  call: MailroomCall | null;
  /**
   * For `'store'` and `'transport'` errors: what the embedder's store or
   * transport threw during the call (a {@link StoreError},
   * {@link TransportError}, or any other value it threw), if anything.
   */
  cause?: unknown;
  /** A sentence for people, from the component. */
  message: string;
  /** For `send`'s `'suppressed'`: the suppression in force for each refused recipient. */
  suppressions?: Suppression[];
  /** For `send`'s `'paused'`: the setup's marketing pause. */
  pause?: Pause;
}

/** The calls of a channel, as {@link MailroomError.call} names them. */
export type MailroomCall =
  | 'parse'
  | 'receive'
  | 'send'
  | 'report'
  | 'setups.create'
  | 'setups.get'
  | 'setups.lookups'
  | 'setups.verify'
  | 'setups.verifyWithDns'
  | 'setups.rotateDkim'
  | 'useCases.create'
  | 'useCases.get'
  | 'useCases.list'
  | 'useCases.disable'
  | 'useCases.setListUnsubscribe'
  | 'suppression.check'
  | 'suppression.get'
  | 'suppression.list'
  | 'suppression.remove'
  | 'suppression.getPolicy'
  | 'suppression.setPolicy'
  | 'suppression.getHealth'
  | 'suppression.clearPause'
  | 'events.record'
  | 'events.ingestReport'
  | 'unsubscribe.oneClick'
  | 'reporting.count';

/** Every `kind` a {@link MailroomError} can have. */
export type MailroomErrorKind =
  | ParseErrorKind
  | ReceiveErrorKind
  | SendErrorKind
  | ReportErrorKind
  | SetupErrorKind
  | UseCaseErrorKind
  | SuppressionErrorKind
  | EventErrorKind
  | UnsubscribeErrorKind
  | ReportingErrorKind;

/**
 * Thrown by {@link parse} and {@link Channel.receive} when the component
 * returned a `parse-error` (for `receive`, its `parse` case: nothing was
 * stored). A {@link MailroomError} with `limit` and `value`.
 */
export class MailroomParseError extends MailroomError<ParseErrorKind> {
  constructor(
    kind: ParseErrorKind,
    message: string,
    limit?: LimitKind | null,
    value?: number | null,
    options?: { call?: MailroomCall | null; cause?: unknown },
  );
  readonly name: 'MailroomParseError';
  /** The WIT case. */
  kind: ParseErrorKind;
  /** `'parse'` or `'receive'`. */
  call: MailroomCall | null;
  /** For `'limit-exceeded'`, the limit exceeded; otherwise null. */
  limit: LimitKind | null;
  /** For `'limit-exceeded'`, the value of that limit in force for the call; otherwise null. */
  value: number | null;
  /** A sentence for people, from the component. */
  message: string;
}

/**
 * Parses one raw RFC 5322 / MIME message.
 *
 * Synchronous; the component is compiled and instantiated on the first call
 * and reused. Garbage and truncated input give a best-effort parse or a
 * `'malformed'` error, never a trap.
 *
 * @param raw The message bytes. A string is encoded as UTF-8 first; prefer
 *   bytes, since mail is not always UTF-8. Any other ArrayBuffer view is read
 *   as its bytes. The input is copied into the component; it is not kept.
 * @param limits Bounds on the work; see {@link Limits}.
 * @returns The message, as plain objects.
 * @throws {MailroomParseError} when the component returns a `parse-error`.
 * @throws {TypeError | RangeError} for a `raw` or `limits` of the wrong type or range
 *   (given a stream, a Blob or a Response, the TypeError says to use {@link parseAsync}).
 *
 * @example
 * ```js
 * import { parse, MailroomParseError } from '@mailroom/channel';
 * try {
 *   const msg = parse(await fs.readFile('mail.eml'), { maxBytes: 10_000_000 });
 *   console.log(msg.subject, msg.attachments.map((a) => a.filename));
 * } catch (err) {
 *   if (!(err instanceof MailroomParseError)) throw err;
 *   console.error(err.kind, err.message);
 * }
 * ```
 */
export function parse(raw: Uint8Array | ArrayBuffer | ArrayBufferView | string, limits?: Limits): ParsedMessage;

/** The byte inputs every call takes: a string is encoded as UTF-8. */
export type MessageBytes = Uint8Array | ArrayBuffer | ArrayBufferView | string;

/**
 * A message as a stream, for {@link parseAsync}, `receiveAsync`,
 * `events.ingestReportAsync` (and an async channel's `parse`, `receive` and
 * `events.ingestReport`): a `ReadableStream` (an Email Worker's
 * `message.raw`, `request.body`), a `Blob` or `File`, a `Response` (or
 * `Request`), or an async iterable of chunks (a Node.js `Readable`, such as
 * `fs.createReadStream(path)` or an HTTP request). Chunks are bytes
 * (`Uint8Array`, `Buffer`) or strings (UTF-8).
 */
export type StreamInput =
  | ReadableStream<Uint8Array>
  | Blob
  | Response
  | Request
  | AsyncIterable<Uint8Array | ArrayBufferView | ArrayBuffer | string>;

/**
 * As {@link parse}, for bytes or a {@link StreamInput}. A stream is read
 * first, outside the component, up to `maxBytes` (the call's, else the
 * default): as soon as more than `maxBytes` bytes have arrived, reading
 * stops (the stream is cancelled, a Readable destroyed, only the first
 * `maxBytes + 1` bytes of a Blob are read) and the answer is the
 * `limit-exceeded` error the same bytes would give. Then the component
 * parses the bytes once, so the answer equals `parse` of the whole input.
 *
 * @throws (rejects) as {@link parse}; also with what the stream's source
 *   threw, and a `TypeError` for a chunk that is not bytes or a string.
 *
 * @example
 * ```js
 * const message = await parseAsync(request.body);              // fetch / Workers
 * const fromFile = await parseAsync(fs.createReadStream('mail.eml'), { maxBytes: 10_000_000 });
 * ```
 */
export function parseAsync(raw: MessageBytes | StreamInput, limits?: Limits): Promise<ParsedMessage>;

// ===========================================================================
// Channels
// ===========================================================================

/**
 * What a storage write expects to find first (the WIT `expect`):
 * - `{ kind: 'absent' }`: the key must not exist.
 * - `{ kind: 'version', version }`: the key must exist at exactly `version`.
 * - `{ kind: 'any' }`: no expectation; the write always applies.
 *
 * `version` is a Number (a BigInt only past 2^53, which a store counting
 * from 1 never reaches).
 */
export type Expect =
  | { kind: 'absent' }
  | { kind: 'version'; version: number | bigint }
  | { kind: 'any' };

/** A stored value and its version (the WIT `entry`). */
export interface StoreEntry {
  /** The value, as the component wrote it. Any ArrayBuffer view or ArrayBuffer is accepted. */
  value: Uint8Array;
  /** Its version: 1 for the first write of a key, one more on every write. A safe integer or a bigint. */
  version: number | bigint;
}

/** One page of keys (the WIT `page`). */
export interface StorePage {
  /** Keys starting with the prefix, ascending in UTF-8 byte order. */
  keys: string[];
  /** The last key of this page when more follow (pass it to the next `list`); null or left out when done. */
  cursor?: string | null;
}

/**
 * The durable key-value storage a channel keeps everything in (the WIT
 * import `mailroom:channel/store`). The host owns the bytes; the component
 * owns the schema: keys and values are opaque to the store.
 *
 * **Synchronous**: every method answers at once (a `Map`, SQLite through
 * `node:sqlite`/better-sqlite3, a Durable Object's `ctx.storage.sql`). A
 * method that returns a Promise fails the call with a `'store'` error. A
 * store that is only asynchronous must be bridged (README, "Async storage").
 *
 * Failing: throw a {@link StoreError} (or any error with a `kind` of
 * `'conflict' | 'unavailable' | 'other'`). Anything else thrown, or an
 * answer of the wrong shape, is passed to the component as `other` with the
 * error's name and message. Either way the call that needed the store
 * throws a {@link MailroomError} of kind `'store'` whose `cause` is what the
 * store threw (except where the component handles it: it re-reads and
 * retries after a `conflict` where that is right).
 *
 * A store must not call back into the channel that is calling it.
 *
 * {@link MemoryStore} is the reference implementation.
 */
export interface Store {
  /** Reads a key; null (or undefined) when it does not exist. */
  get(key: string): StoreEntry | null | undefined;
  /**
   * Writes `value` under `key` if `expect` holds, and returns the new
   * version; otherwise throws `StoreError('conflict', ...)` and writes nothing.
   */
  put(key: string, value: Uint8Array, expect: Expect): number | bigint;
  /**
   * Deletes `key` if `expect` holds (deleting a missing key with
   * `{ kind: 'absent' }` succeeds); otherwise throws `StoreError('conflict', ...)`.
   */
  delete(key: string, expect: Expect): void;
  /**
   * Lists keys starting with `prefix`, ascending in UTF-8 byte order, at
   * most `limit`, strictly after `cursor` when it is not null.
   */
  list(prefix: string, cursor: string | null, limit: number): StorePage;
}

/** The SMTP envelope of an outgoing message. */
export interface OutgoingEnvelope {
  /**
   * The reverse path (MAIL FROM): the recipient's own return path,
   * `<token>@<bounce domain>` (VERP), so a bounce mailed there finds its
   * message and recipient through `receive` even when it quotes nothing.
   * A message to several recipients is therefore submitted once per
   * recipient, the same `raw` and `messageId` each time. (A setup made
   * before bounce domains: the use case's sender, every recipient at once.)
   */
  mailFrom: string;
  /** The recipients (RCPT TO): one, or for an old setup To then Cc, in order. */
  rcptTo: string[];
}

/** A finished message, ready to deliver (the WIT `outgoing`). */
export interface Outgoing {
  /** Its Message-ID, without angle brackets. */
  messageId: string;
  /** Where it goes. */
  envelope: OutgoingEnvelope;
  /** The whole message (RFC 5322, CRLF line endings), ready for SMTP DATA or an HTTP API's raw field. */
  raw: Uint8Array;
}

/**
 * Delivery of finished messages (the WIT import `mailroom:channel/transport`).
 *
 * `submit` hands a message over and must **not** wait for delivery: it is
 * synchronous (returning a Promise fails the call), so a JS host queues the
 * message (an outbox) and delivers it afterwards over SMTP or HTTP, then
 * calls {@link Channel.report} with the outcome, and with the Message-ID
 * the provider assigned if it replaced ours.
 *
 * Refusing: throw a {@link TransportError} (or any error with a `kind` of
 * `'rejected' | 'unavailable' | 'other'`); anything else thrown is `other`.
 * `send` then throws a {@link MailroomError} of kind `'transport'` (its
 * `cause` is what `submit` threw), and the message is recorded as failed.
 *
 * {@link RecordingTransport} accepts and keeps everything.
 */
export interface Transport {
  submit(message: Outgoing): void;
}

/** A point in time for `wasi:clocks/wall-clock`: seconds and nanoseconds since the Unix epoch (UTC). */
export interface Datetime {
  /** Seconds since 1970-01-01T00:00:00Z; a bigint or a safe, non-negative integer. */
  seconds: bigint | number;
  /** 0 to 999999999; 0 when left out. */
  nanoseconds?: number;
}

/**
 * The channel's wall clock (`wasi:clocks/wall-clock.now`): the Date header
 * and the times the component records. Default: the system clock (through
 * `@bytecodealliance/preview2-shim`). Fix it in tests.
 */
export interface Clock {
  now(): Datetime;
}

/**
 * The channel's random source (`wasi:random/random`): Message-IDs (128 bits)
 * and ids. Default: the platform's cryptographically secure generator
 * (through `@bytecodealliance/preview2-shim`). Fix it in tests only: ids
 * must not be guessable in production.
 *
 * Give either call or both. With only `getRandomU64`, bytes are taken from
 * its draws, ceil(len / 8) of them, each little-endian, keeping the first
 * `len` bytes (the rule of tests/SCENARIOS.md); with only `getRandomBytes`,
 * a u64 is 8 bytes read little-endian.
 */
export interface RandomSource {
  /** Exactly `len` random bytes. `len` is a bigint (WIT `u64`). */
  getRandomBytes?(len: bigint): Uint8Array;
  /** A random integer in [0, 2^64). */
  getRandomU64?(): bigint;
}

/** What {@link createChannel} takes; every field has a default. */
export interface ChannelOptions<S extends Store = Store, T extends Transport = Transport> {
  /** Where everything is kept. Default: a new, empty {@link MemoryStore} for this channel. */
  store?: S;
  /** Where outgoing messages go. Default: a new {@link RecordingTransport} for this channel. */
  transport?: T;
  /** The wall clock. Default: the system clock. */
  clock?: Clock | null;
  /** The random source (ids, Message-IDs, DKIM keys). Default: the platform's secure generator. */
  random?: RandomSource | null;
  /**
   * The DNS resolver {@link Channel.setups}.verifyWithDns uses. Default:
   * `node:dns/promises`, imported on the first `verifyWithDns` (so the
   * package loads where it does not exist, e.g. workerd; there, pass one).
   * Only `verifyWithDns` uses it; nothing else of the channel does DNS.
   */
  dns?: DnsResolver | null;
  /** The channel's defaults for calls that leave a value out; see {@link ChannelConfig}. Default: none. */
  config?: ChannelConfig | null;
}

/**
 * The embedder's channel-wide defaults (`createChannel({ config })`,
 * `createAsyncChannel({ config })`): values a call may leave out, set once
 * per deployment, as a Postmark or SES account's settings are.
 *
 * - A call's own value always wins; a value the call leaves out (or gives as
 *   null) takes config's; one config also leaves out takes the component's
 *   default. Limits merge field by field: `{ maxDepth: 8 }` on a call keeps
 *   config's `maxBytes`.
 * - Checked when the channel is made: a key not below (e.g. `inboundhost`,
 *   `limits.maxByte`) or a value of the wrong type is a `TypeError` naming
 *   it (`config.limits.maxBytes`); a limit no WIT integer holds is a
 *   `RangeError`. Nothing is silently dropped. Values the component refuses
 *   (a zero limit, `'not a host'`) fail the call that uses them, as that
 *   call's own would (`invalid-limits`, `invalid-options`).
 * - Copied when the channel is made; changing the object later changes nothing.
 * - The top-level {@link parse} has no channel and no config.
 *
 * @example
 * ```js
 * const channel = createChannel({ store, transport, config: {
 *   inboundHost: 'inbound.mailroom.example',
 *   unsubscribeBase: 'https://app.example/unsubscribe',
 *   limits: { maxBytes: 10 * 1024 * 1024 },
 * } });
 * channel.setups.create('ws-1', 'clinic.example');           // both defaults
 * channel.setups.create('ws-2', 'other.example', { inboundHost: 'mx.other.example' }); // config's unsubscribeBase
 * channel.receive(raw, envelope, { maxBytes: 25 * 1024 * 1024 }); // this call only
 * ```
 */
export interface ChannelConfig {
  /**
   * Default {@link SetupOptions.inboundHost} for `setups.create`: the host
   * that receives replies (the MX exchange). With it, `setups.create`'s
   * options may be left out.
   */
  inboundHost?: string | null;
  /**
   * Default {@link SetupOptions.unsubscribeBase} for `setups.create`: the
   * https URL one-click unsubscribe tokens are appended to. Without it (and
   * without the call's), `https://<inboundHost>/unsubscribe` of the call's
   * inbound host.
   */
  unsubscribeBase?: string | null;
  /**
   * Default {@link SetupOptions.spfInclude} for `setups.create`: the domain
   * whose SPF record the setups' SPF record includes (for example
   * `amazonses.com` when mail leaves through SES).
   */
  spfInclude?: string | null;
  /** Default {@link Limits} for the channel's `parse` and `receive`, field by field. */
  limits?: Limits | null;
}

/**
 * An asynchronous DNS resolver, in the shape of `node:dns/promises` (the
 * module itself, or a `new Resolver({ timeout, tries })` from it, fits as
 * is; so does a wrapper over DNS-over-HTTPS in a runtime without `node:dns`).
 *
 * Failures are rejections with a `node:dns` error `code`, mapped to a
 * {@link DnsResult}: `'ENOTFOUND'` (NXDOMAIN) → `no-such-name`,
 * `'ENODATA'` → `no-records`, `'ETIMEOUT'`/`'ETIMEDOUT'` → `timeout`,
 * anything else → `server-failure` with the code and message. An answer of
 * the wrong shape is a `server-failure` too. `verifyWithDns` sets no
 * timeout of its own: the resolver's apply.
 */
export interface DnsResolver {
  /**
   * The TXT records at `name`, each as its character-strings (≤ 255 bytes
   * each, in order; they are joined without separators).
   */
  resolveTxt(name: string): Promise<string[][]>;
  /** The MX records at `name`; `priority` is the preference (0 to 65535). */
  resolveMx(name: string): Promise<{ priority: number; exchange: string }[]>;
}

/**
 * An in-memory {@link DnsResolver} from {@link localDns}, for tests and local
 * development. Every method but the resolvers returns the resolver, so calls
 * chain. Names compare case-insensitively, a final dot ignored.
 */
export interface LocalDns extends DnsResolver {
  /** Publishes a setup's records (`setup.records`), as the customer would at their DNS provider. */
  publish(records: readonly DnsRecord[]): LocalDns;
  /** Adds a TXT record (split into 255-byte character-strings, as DNS carries it). */
  addTxt(name: string, value: string): LocalDns;
  /** Adds an MX record. */
  addMx(name: string, priority: number, exchange: string): LocalDns;
  /** Removes every record at `name`: it then answers `ENOTFOUND`. */
  remove(name: string): LocalDns;
}

/**
 * An in-memory resolver for `createChannel({ dns })`: publish a setup's
 * records into it and `setups.verifyWithDns` finds them, with no DNS server
 * and no network. A name with no records rejects with `code: 'ENOTFOUND'`
 * (→ `no-such-name`), a name without records of the type asked with
 * `'ENODATA'` (→ `no-records`), as `node:dns` does. For tests and local
 * development only; in production leave `dns` out (node:dns) or pass your
 * own resolver.
 *
 * @example
 * ```js
 * const dns = localDns();
 * const channel = createChannel({ dns });
 * const setup = channel.setups.create('ws-1', 'clinic.example', { inboundHost: 'inbound.example' });
 * dns.publish(setup.records);
 * (await channel.setups.verifyWithDns(setup.id)).setup.status; // 'verified'
 * ```
 */
export function localDns(): LocalDns;

/** A DNS record type a setup uses (the WIT `record-type`). */
export type RecordType = 'txt' | 'mx';

/**
 * What a DNS record is for (the WIT `record-purpose`):
 * - `'dkim'`: the DKIM public key, TXT at `<selector>._domainkey.<domain>`.
 * - `'inbound-mx'`: MX at the domain, routing replies to the inbound host.
 * - `'spf'`: TXT at the domain (`v=spf1 include:<spfInclude> ~all`, or
 *   `v=spf1 mx ~all` without `spfInclude`).
 * - `'dmarc'`: TXT at `_dmarc.<domain>`; recommended, not required.
 * - `'bounce-mx'`: MX at the bounce domain ({@link SetupOptions.bounceDomain},
 *   default `bounce.<domain>`) to the inbound host, so bounces to the return
 *   path come back to `inbound.receive`. Required.
 * - `'bounce-spf'`: TXT at the bounce domain, the same SPF value as the
 *   domain's: every message's envelope sender is there. Required.
 */
export type RecordPurpose = 'dkim' | 'inbound-mx' | 'spf' | 'dmarc' | 'bounce-mx' | 'bounce-spf';

/** A DNS record the customer publishes for a setup (the WIT `dns-record`). */
export interface DnsRecord {
  /** What it is for. */
  purpose: RecordPurpose;
  /** The fully qualified name, lower-case, no trailing dot. */
  name: string;
  /** TXT or MX. */
  type: RecordType;
  /**
   * The value: for TXT, the text (a DKIM key is longer than 255 bytes:
   * publish it as several character-strings of at most 255, which DNS joins
   * back); for MX, `'<preference> <exchange>'`, e.g. `'10 inbound.mailroom.example'`.
   */
  value: string;
  /** Whether the setup is verified only with it in place. */
  required: boolean;
}

/**
 * Where a setup stands (the WIT `setup-status`):
 * - `'pending'`: created; its required records have not all been seen yet.
 *   Use cases cannot be created and nothing is sent.
 * - `'verified'`: every required record was seen as published.
 * - `'failed'`: a required record is wrong, or was removed after
 *   verification. Nothing is sent until a `verify` sees them all again.
 *
 * A lookup that failed transiently (`timeout`, `server-failure`) never
 * changes the status.
 */
export type SetupStatus = 'pending' | 'verified' | 'failed' | 'expired';

/**
 * The host settings a setup's records depend on (the WIT `setup-options`).
 * `inboundHost` and `unsubscribeBase`, left out or null, take the channel's
 * {@link ChannelConfig} values.
 */
export interface SetupOptions {
  /**
   * The host that receives replies: the MX exchange, e.g.
   * `'inbound.mailroom.example'`. Required, here or as `config.inboundHost`.
   */
  inboundHost?: string | null;
  /**
   * The SPF `include:` domain of the sending service (e.g. `'amazonses.com'`),
   * or null/left out: the SPF record then authorises the domain's MX hosts (`mx`).
   */
  spfInclude?: string | null;
  /**
   * The base of one-click unsubscribe URLs in this setup's mail (the token
   * is appended as the last path segment). Default `config.unsubscribeBase`,
   * else `https://<inboundHost>/unsubscribe`.
   */
  unsubscribeBase?: string | null;
  /**
   * Seconds the setup may stay pending before it expires and can no longer
   * verify: 259200 (72 hours, as SES) when left out; 1 to 2592000.
   */
  pendingTtl?: number | bigint | null;
  /**
   * The bounce domain: the domain of every message's envelope sender (one
   * VERP return path `<token>@<bounceDomain>` per message and recipient),
   * published with its own MX and SPF. A subdomain of the setup's domain
   * (so SPF aligns with the From under DMARC's relaxed mode), at most 195
   * octets; `bounce.<domain>` when left out. Else `'invalid-options'`.
   */
  bounceDomain?: string | null;
}

/**
 * A registered sending domain (the WIT `setup`). Every message, thread and
 * use case belongs to one. The DKIM private keys are in the store and never
 * leave the component; `records` are what to publish.
 */
export interface Setup {
  /** The setup's id, made by the component (`set_…`). */
  id: string;
  /** The workspace that owns it, as the caller named it. */
  workspace: string;
  /** The domain, lower-case A-labels. */
  domain: string;
  /** Where it stands. */
  status: SetupStatus;
  /** The DKIM selector outbound mail is signed with (`'mailroom1'` at first). */
  selector: string;
  /**
   * During a key rotation, the new selector published beside `selector`; it
   * replaces `selector` once a `verify` sees its record. Else null.
   */
  nextSelector: string | null;
  /**
   * The records to publish: the DKIM key(s) (during a rotation the new one
   * second, not required), the inbound MX, SPF and DMARC.
   */
  records: DnsRecord[];
  /** When it was created, in seconds since the Unix epoch. */
  createdAt: number;
  /**
   * When it expires unless verified first (seconds since the Unix epoch);
   * null once verified.
   */
  expiresAt: number | null;
}

/** A name and type to resolve before `setups.verify` (the WIT `lookup`). */
export interface Lookup {
  /** The name to resolve. */
  name: string;
  /** TXT or MX. */
  type: RecordType;
}

/** One MX answer (the WIT `mx-answer`). Note: `preference`, where `node:dns` says `priority`. */
export interface MxAnswer {
  /** The preference, 0 to 65535. */
  preference: number;
  /** The exchange host; a trailing dot and case are ignored. */
  exchange: string;
}

/**
 * What the resolver answered for one lookup (the WIT `dns-result`):
 * - `{ kind: 'txt', records }`: TXT records, each as the list of its
 *   character-strings (`[['v=spf1 mx ~all']]`; a long DKIM key is
 *   `[['v=DKIM1; k=rsa; p=MIIB…', '…rest']]`), joined without separators
 *   (RFC 7208, RFC 6376), exactly as `resolveTxt` of `node:dns` gives them.
 * - `{ kind: 'mx', records }`: MX records.
 * - `{ kind: 'no-such-name' }`: the name does not exist (NXDOMAIN; `ENOTFOUND` in `node:dns`).
 * - `{ kind: 'no-records' }`: the name exists with no records of the type (`ENODATA`).
 * - `{ kind: 'timeout' }`: the resolver timed out.
 * - `{ kind: 'server-failure', message }`: SERVFAIL, refused, or another failure; the message says how.
 *
 * `timeout` and `server-failure` are transient: the record is `missing` but
 * the setup keeps its status.
 */
export type DnsResult =
  | { kind: 'txt'; records: string[][] }
  | { kind: 'mx'; records: MxAnswer[] }
  | { kind: 'no-such-name' }
  | { kind: 'no-records' }
  | { kind: 'timeout' }
  | { kind: 'server-failure'; message: string };

/**
 * The answer to one lookup (the WIT `dns-answer`). A record whose name and
 * type no answer covers is `missing` ("not looked up").
 *
 * @example
 * ```js
 * { name: 'clinic.example', type: 'mx', result: { kind: 'mx', records: [{ preference: 10, exchange: 'inbound.mailroom.example' }] } }
 * { name: 'mailroom1._domainkey.clinic.example', type: 'txt', result: { kind: 'no-such-name' } }
 * ```
 */
export interface DnsAnswer {
  /** The name looked up (case and a trailing dot are ignored). */
  name: string;
  /** The type looked up. */
  type: RecordType;
  /** What came back. */
  result: DnsResult;
}

/**
 * How one record fared (the WIT `record-state`):
 * - `{ kind: 'verified' }`: published as expected.
 * - `{ kind: 'missing', reason }`: not found; `reason` names the lookup
 *   result (`'no such name'`, `'no records'`, `'no matching record'`,
 *   `'not looked up'`, or `'dns timeout'` / `'dns server failure: …'`,
 *   which are transient).
 * - `{ kind: 'mismatched', found }`: records of its kind were found with
 *   other values, listed as found (TXT strings joined; MX as `'<preference> <exchange>'`).
 */
export type RecordState =
  | { kind: 'verified' }
  | { kind: 'missing'; reason: string }
  | { kind: 'mismatched'; found: string[] };

/** One record and how it fared (the WIT `record-check`). */
export interface RecordCheck {
  /** The record. */
  record: DnsRecord;
  /** How it fared. */
  state: RecordState;
}

/** The result of a verification (the WIT `verification`). */
export interface Verification {
  /** The setup with its new status (and, when a rotation completed, its new selector). */
  setup: Setup;
  /** Every record and how it fared, in the order of the setup's records before the call. */
  checks: RecordCheck[];
}

/**
 * Why a `setups` call failed:
 * - `'invalid-domain'`: the domain is not a valid host name (syntax, a
 *   wildcard, or a bare public suffix); the message says why.
 * - `'invalid-workspace'`: the workspace name is empty or longer than 200 bytes.
 * - `'invalid-options'`: an option is invalid (an `inboundHost` or
 *   `spfInclude` that is not a host name).
 * - `'domain-taken'`: a verified setup of another owns this domain (at
 *   `create`; at `verify` when another setup verified it first).
 * - `'not-found'`: no setup of the caller's workspace has this id (one of
 *   another workspace answers the same).
 * - `'expired'`: the setup stayed pending past its `pendingTtl` and can no
 *   longer verify.
 * - `'key-generation'`: a DKIM key could not be made.
 * - `'store'`: the store failed.
 */
export type SetupErrorKind =
  | 'invalid-domain'
  | 'invalid-workspace'
  | 'invalid-options'
  | 'domain-taken'
  | 'not-found'
  | 'expired'
  | 'key-generation'
  | 'store';

/**
 * Whether mail is transactional (confirmations, reminders, replies: expected
 * by the recipient) or marketing (campaigns, newsletters). It decides sending rules.
 */
export type UseCaseType = 'transactional' | 'marketing';

/** A use case of a setup: who sends, for what (the WIT `use-case`). Threads belong to one. */
export interface UseCase {
  /** The use case's id, made by the component (`uc_…`). */
  id: string;
  /** The setup it sends under. */
  setup: string;
  /** The From address, on the setup's domain. */
  sender: string;
  /** Transactional or marketing. */
  type: UseCaseType;
  /** The entity the mail speaks for ("Riverside Clinic"): the From display name. */
  entityName: string;
  /** The use case's name, unique within the setup. */
  useCaseName: string;
  /** False once disabled: sends under it fail with `'use-case-disabled'`. */
  enabled: boolean;
  /**
   * Whether its mail carries RFC 8058 one-click List-Unsubscribe (then each
   * message goes to one recipient): always for marketing, opt-in for
   * transactional (`useCases.setListUnsubscribe`).
   */
  listUnsubscribe: boolean;
}

/** What {@link Channel.useCases}.create takes: a {@link UseCase} without what the component decides. */
export type NewUseCase = Omit<UseCase, 'id' | 'enabled' | 'listUnsubscribe'>;

/**
 * Why a `useCases` call failed:
 * - `'unknown-setup'`: no setup has this id.
 * - `'setup-not-verified'`: the setup is not verified yet (or failed verification).
 * - `'invalid-sender'`: the sender is not a valid address on the setup's domain.
 * - `'invalid-name'`: a name is empty, over 200 bytes, or holds control characters.
 * - `'name-taken'`: the setup already has a use case with this name.
 * - `'not-found'`: no use case has this id.
 * - `'marketing-needs-unsubscribe'`: `setListUnsubscribe(id, false)` on a
 *   marketing use case, whose mail always carries List-Unsubscribe.
 * - `'store'`: the store failed.
 */
export type UseCaseErrorKind =
  | 'unknown-setup'
  | 'setup-not-verified'
  | 'invalid-sender'
  | 'invalid-name'
  | 'name-taken'
  | 'not-found'
  | 'marketing-needs-unsubscribe'
  | 'store';

/** A recipient of an outgoing message. */
export interface Recipient {
  /** Display name; no control characters. */
  name?: string | null;
  /** `local@domain`. */
  address: string;
}

/** A file to attach to an outgoing message. */
export interface OutgoingAttachment {
  /** File name shown to the recipient; no control characters. */
  filename: string;
  /** Media type `type/subtype`. */
  contentType: string;
  /** Set it to reference the part from `html` as `cid:…`; the part is then inline. */
  contentId?: string | null;
  /** The bytes; a string is encoded as UTF-8. */
  content: Uint8Array | ArrayBuffer | ArrayBufferView | string;
}

/** What to send (the WIT `send-request`). */
export interface SendRequest {
  /** The use case to send under; its sender is the From address and its entity name the display name. */
  useCase: string;
  /** Recipients; at least one (else `'invalid-request'`). */
  to: Recipient[];
  /** Copy recipients. Default none. */
  cc?: Recipient[] | null;
  /** The Subject; no control characters (CR or LF is `'invalid-header'`). A reply keeps it as given. */
  subject: string;
  /** Plain-text body. At least one of `text` and `html` (else `'invalid-request'`). */
  text?: string | null;
  /** HTML body. */
  html?: string | null;
  /** Files to attach. Default none. */
  attachments?: OutgoingAttachment[] | null;
  /**
   * The Message-ID (no angle brackets) of a stored inbound message this
   * replies to: the reply joins its thread, and carries In-Reply-To and the
   * whole References chain.
   */
  inReplyTo?: string | null;
  /**
   * Makes a retried send safe (as Stripe's and Resend's `Idempotency-Key`):
   * 1 to 255 printable ASCII characters, scoped to the workspace. A send with
   * the same key and the same request within 24 hours returns the first
   * send's outcome (`replayed: true`) and sends nothing; a different request
   * with it is `'idempotency-key-reused'`; while the first send still runs
   * (another process on the same store) it is `'idempotency-in-progress'`.
   * A refusal that wrote nothing frees the key. Default none: every call sends.
   */
  idempotencyKey?: string | null;
}

/** A message the transport accepted (the WIT `sent`). */
export interface Sent {
  /** Its Message-ID, without angle brackets: 128 random bits at the setup's domain. */
  messageId: string;
  /** The thread it belongs to (`thr_…`); a new one unless it is a reply. */
  threadId: string;
  /** The In-Reply-To it carries, if it is a reply; else null. */
  inReplyTo: string | null;
  /** The References it carries, oldest first: at most 100 ids, the first and the newest 99 kept. */
  references: string[];
  /** The size of the message in bytes. */
  size: number;
  /**
   * The one-click unsubscribe URL the message carries (`List-Unsubscribe`),
   * if it carries one; POSTs to it go to `unsubscribe.oneClick`.
   */
  unsubscribeUrl: string | null;
  /** True when this is the kept outcome of an earlier send with the same `idempotencyKey`: nothing was sent now. */
  replayed: boolean;
}

/**
 * Why `send` sent nothing (nothing reached the transport, except for `'transport'`):
 * - `'unknown-use-case'`: no use case has this id.
 * - `'use-case-disabled'`: the use case is disabled.
 * - `'setup-not-verified'`: the use case's setup is not verified (pending, or
 *   failed since: a required record was removed or changed).
 * - `'invalid-request'`: no recipient, or no body.
 * - `'invalid-header'`: a header value (subject, name, address, file name,
 *   content type, content id) holds CR, LF or another control character, is
 *   too long, or breaks its grammar (an address not an RFC 5322 addr-spec, a
 *   content type not an RFC 2045 media type, `multipart/*` or `message/*`);
 *   the message names the field. Header injection cannot get through.
 * - `'unknown-parent'`: `inReplyTo` names no stored message of the use case's setup.
 * - `'cross-use-case'`: `inReplyTo` names a message of another use case's thread.
 * - `'suppressed'`: recipients are suppressed (see `suppression.check`);
 *   nothing was sent to any recipient, and `err.suppressions` holds one
 *   {@link Suppression} per refused recipient. Counted in `reporting`.
 * - `'paused'`: marketing sends of the setup are paused (complaint rate);
 *   `err.pause` says since when and why.
 * - `'transport'`: the transport refused the message; it is recorded as failed.
 * - `'store'`: the store failed.
 * - `'too-many-recipients'`: `to` and `cc` hold more than the setup's cap
 *   (policy `maxRecipients`, default 50).
 * - `'smtputf8-required'`: a recipient's local part is not ASCII
 *   (`jürgen@…`); only an SMTPUTF8 message could carry it, and none is sent.
 * - `'signing'`: DKIM signing failed.
 * - `'idempotency-key-reused'`: the `idempotencyKey` was used in the last
 *   24 hours with a different request.
 * - `'idempotency-in-progress'`: a send with the `idempotencyKey` is still
 *   running; retry shortly to get its outcome.
 */
export type SendErrorKind =
  | 'unknown-use-case'
  | 'use-case-disabled'
  | 'setup-not-verified'
  | 'invalid-request'
  | 'invalid-header'
  | 'unknown-parent'
  | 'cross-use-case'
  | 'suppressed'
  | 'paused'
  | 'transport'
  | 'store'
  | 'too-many-recipients'
  | 'smtputf8-required'
  | 'signing'
  | 'idempotency-key-reused'
  | 'idempotency-in-progress';

/**
 * What became of a submitted message (the WIT `delivery-outcome`):
 * - `{ kind: 'accepted', providerMessageId }`: the provider accepted it.
 *   `providerMessageId` is the Message-ID the provider assigned when it
 *   replaced ours (Amazon SES writes `<id@region.amazonses.com>`), with or
 *   without angle brackets, or null; replies quoting it then resolve to this
 *   message too.
 * - `{ kind: 'failed', reason }`: delivery failed for good; the reason as the provider gave it.
 */
export type DeliveryOutcome =
  | { kind: 'accepted'; providerMessageId?: string | null }
  | { kind: 'failed'; reason: string };

/**
 * Why `report` recorded nothing:
 * - `'unknown-message'`: no outbound message has this Message-ID.
 * - `'invalid-id'`: the provider's id is not a valid msg-id.
 * - `'store'`: the store failed.
 */
export type ReportErrorKind = 'unknown-message' | 'invalid-id' | 'store';

/** The SMTP envelope an inbound message arrived with. */
export interface Envelope {
  /** The reverse path (MAIL FROM), if known. */
  mailFrom?: string | null;
  /** The recipients (RCPT TO). Empty or left out: the To and Cc addresses stand in for them. */
  rcptTo?: string[] | null;
}

/** The conversation an inbound message belongs to (the WIT `association`). */
export interface Association {
  /** The workspace of the thread. */
  workspace: string;
  /** The setup of the thread. */
  setup: string;
  /** The use case of the thread. */
  useCase: string;
  /** The thread. */
  threadId: string;
  /** The Message-ID of the stored message it answers. */
  parentMessageId: string;
  /**
   * True when the sender is not among the parent's recipients: the reply is
   * associated, but a host may hold it for review.
   */
  senderMismatch: boolean;
}

/**
 * Where an inbound message belongs (the WIT `resolution`):
 * - `{ kind: 'matched', association }`: it answers one of ours (or of its thread).
 * - `{ kind: 'unmatched', reason }`: no stored message matched; `reason` says what was tried.
 */
export type Resolution =
  | { kind: 'matched'; association: Association }
  | { kind: 'unmatched'; reason: string };

/**
 * Why an automated message was recognised as one (RFC 3834 and the common
 * vendor markers), so hosts do not answer it and loop:
 * - `'auto-replied'`: `Auto-Submitted: auto-replied`.
 * - `'auto-generated'`: `Auto-Submitted: auto-generated`.
 * - `'bulk'`: bulk or junk precedence.
 * - `'out-of-office'`: an out-of-office or vacation answer.
 */
export type AutoReplyKind = 'auto-replied' | 'auto-generated' | 'bulk' | 'out-of-office';

/** An automated message, and the header or marker that showed it. */
export interface AutoReply {
  kind: AutoReplyKind;
  /** The header or marker, e.g. `'Auto-Submitted: auto-replied'`. */
  reason: string;
}

/** A received, stored message (the WIT `received`). */
export interface Received {
  /**
   * The Message-ID it is stored under: its own, reduced to the bare msg-id
   * grammar, or one the component made when it had none.
   */
  messageId: string;
  /** Where it belongs. */
  resolution: Resolution;
  /** The thread's chain up to and including this message, oldest first, rebuilt from stored records when the client stripped References. */
  references: string[];
  /** Set when the message is an automatic reply; else null. */
  autoReply: AutoReply | null;
  /** The text of the reply without quoted history and signature; null if none. */
  newText: string | null;
  /**
   * Set when the message is a mailto unsubscribe (to `unsubscribe@DOMAIN`
   * with a valid token in its subject) and the opt-out was recorded.
   */
  unsubscribed: OptOut | null;
  /** Notes on what was dropped or changed, e.g. ids that were not valid msg-ids. */
  notes: string[];
  /** The parsed message, as {@link parse} gives it. */
  message: ParsedMessage;
}

/**
 * Why `receive` stored nothing: a {@link ParseErrorKind} (thrown as a
 * {@link MailroomParseError}: the message could not be parsed), or
 * `'store'` (the store failed).
 */
export type ReceiveErrorKind = ParseErrorKind | 'store';

// ---------------------------------------------------------------------------
// Delivery: suppression, events, unsubscribe, reporting (wit/suppression.wit,
// wit/events.wit, wit/unsubscribe.wit, wit/reporting.wit). Timestamps are
// Numbers of seconds since the Unix epoch; addresses are lower-cased.

/**
 * Which sends a suppression applies to (the WIT `scope`):
 * `{ kind: 'setup' }` every use case of the setup, `{ kind: 'marketing' }`
 * every marketing use case of it, `{ kind: 'use-case', useCase }` one use case.
 */
export type Scope = { kind: 'setup' } | { kind: 'marketing' } | { kind: 'use-case'; useCase: string };

/** Why an address is suppressed: a hard bounce, repeated soft bounces (see {@link Policy}), a spam complaint, an unsubscribe. */
export type SuppressionReason = 'hard-bounce' | 'soft-bounces' | 'complaint' | 'unsubscribe';

/** One suppression of one address. */
export interface Suppression {
  /** The address, lower-case. */
  address: string;
  /** The sends it applies to. */
  scope: Scope;
  reason: SuppressionReason;
  /** When it began. */
  since: number;
  /** When it ends on its own (soft bounces only); else null: until `suppression.remove`. */
  until: number | null;
  /** The event that caused it: a webhook event id, a report's `report:…` or an unsubscribe's `unsubscribe:…`. */
  event: string;
  /** The use case of the message the event was about, if any. */
  useCase: string | null;
}

/** A marketing pause of a setup (complaint rate over the line). */
export interface Pause {
  /** Since when. */
  since: number;
  /** For people: the rate and the counts that tripped it. */
  reason: string;
}

/**
 * The decision for one send to one address (`suppression.check`; `send`
 * asks it for every recipient): `{ kind: 'allow' }`, `{ kind: 'suppressed',
 * suppression }` (the first suppression in force) or `{ kind: 'paused', pause }`.
 */
export type Decision = { kind: 'allow' } | { kind: 'suppressed'; suppression: Suppression } | { kind: 'paused'; pause: Pause };

/** A suppression that ended, kept in the address's history. */
export interface Ended {
  suppression: Suppression;
  /** When it ended. */
  at: number;
  /** `'expired'`, or the note given to `suppression.remove`. */
  note: string;
}

/** An address of a setup: what suppresses it now and what did before. */
export interface AddressState {
  /** The address, lower-case. */
  address: string;
  /** Suppressions in force, oldest first. */
  active: Suppression[];
  /** Ended suppressions, oldest first (the latest 50). */
  history: Ended[];
}

/**
 * A setup's suppression policy; the defaults are the WIT's (shown). Read
 * it with `getPolicy`, change fields, give it back to `setPolicy`.
 */
export interface Policy {
  /** Scope of a hard-bounce suppression: `setup` (default) or `marketing`. */
  hardBounceScope: Scope;
  /** Soft bounces that suppress (3); 0 turns it off. Deferrals do not count. */
  softBounceCount: number;
  /** The window they must fall in, in seconds (259200: 72 h), with no delivery between. */
  softBounceWindow: number | bigint;
  /** How long they suppress, in seconds (86400: 24 h). */
  softBounceDuration: number | bigint;
  /** Scope of the one-click link in this setup's mail: `use-case` (default) or `setup`. */
  unsubscribeScope: Scope;
  /** The complaint-rate line in parts per million (3000: 0.3%). */
  complaintRatePpm: number;
  /** The rolling window it is measured over, in days (7; 1 to 90). */
  complaintWindowDays: number;
  /** Recipients sent to in the window before the rate counts (100). */
  complaintMinSent: number | bigint;
  /**
   * Recipients (`to` and `cc` together) one message may have, 1 to 50;
   * null (or left out) is the default, 50. Over it `send` refuses with
   * `'too-many-recipients'`.
   */
  maxRecipients?: number | null;
}

/** Blocked bounces of one reason in a setup's window. */
export interface BlockedReason {
  /** `too-large`, `spam-blocked`, `policy`, `auth-failure`, `relay-denied`, `blocked`, `rejected`, `virus`, `protocol` or `unspecified`. */
  reason: string;
  count: number;
  /** When the latest happened, seconds since the epoch. */
  lastAt: number;
  /** The latest one's diagnostic text; else null. */
  lastDiagnostic: string | null;
}

/**
 * A setup's complaint rate, blocked bounces and pause, over the policy's
 * window of whole UTC days, starting no earlier than the last `clearPause`.
 */
export interface Health {
  windowDays: number;
  /** Where the window starts (seconds since the epoch): its first day, or the last `clearPause`. */
  since: number;
  /** Recipients sent to in the window. */
  sent: number;
  /** Complaints in the window. */
  complained: number;
  /** `complained / sent` in parts per million (0 when nothing was sent). */
  complaintRatePpm: number;
  /** Blocked bounces in the window: the message or the sender was refused, not the address. */
  blocked: number;
  /** `blocked / sent` in parts per million; a rising rate says our sending is broken (DKIM, reputation). */
  blockedRatePpm: number;
  /** Blocked bounces by reason, most frequent first. */
  blockedReasons: BlockedReason[];
  /** Set while marketing sends are paused; else null. */
  paused: Pause | null;
}

/**
 * Why a `suppression` call failed: `'unknown-use-case'`, `'unknown-setup'`,
 * `'invalid-address'` (not `local@domain`), `'invalid-policy'` (the
 * message names the field out of range), `'store'`.
 */
export type SuppressionErrorKind = 'unknown-use-case' | 'unknown-setup' | 'invalid-address' | 'invalid-policy' | 'store';

/** A bounce as the provider or the report gave it. */
export interface Bounce {
  /**
   * `'hard'`: the address will not work (suppresses it); `'soft'`: it may
   * later (mailbox full, greylisted; the soft-bounce rule); `'blocked'`: the
   * message or the sender was refused, not the address (too large, spam,
   * policy, authentication, blocklist; never suppresses, shown in health).
   */
  type: 'hard' | 'soft' | 'blocked';
  /** The enhanced status code `X.Y.Z`, if given. */
  status?: string | null;
  /** The server's diagnostic text, if given. */
  diagnostic?: string | null;
}

/**
 * What happened to a message for a recipient (the WIT `event-kind`):
 * accepted by the receiving server; bounced; reported as spam (the ARF
 * Feedback-Type if known); delayed and retried (counted, changes no decision);
 * opened or clicked as the provider saw it (classified and counted with our
 * own tracking, see `EngagementReport`).
 */
export type EventKind =
  | { kind: 'delivered' }
  | { kind: 'bounced'; bounce: Bounce }
  | { kind: 'complained'; feedbackType?: string | null }
  | { kind: 'deferred'; diagnostic?: string | null }
  | { kind: 'opened'; report?: EngagementReport }
  | { kind: 'clicked'; report?: EngagementReport };

/**
 * An open or click a provider's webhook reports (SES `userAgent`,
 * `ipAddress`, `link`; SendGrid `useragent`, `ip`, `url`): classified human
 * or machine by the same rules as the channel's own tracking (as a GET) and
 * counted in the same `reporting.countEngagement` counters; a click whose
 * `url` is one of the message's tracked destinations also counts in
 * `linkClicks`. Recorded even for a recipient who unsubscribed or complained.
 */
export interface EngagementReport {
  /** The User-Agent the provider saw (at most 2048 bytes); none is a machine. */
  userAgent?: string | null;
  /** The client's IP address (at most 2048 bytes); Apple's networks soon after sending are Mail Privacy Protection. */
  clientIp?: string | null;
  /** The clicked URL (clicks only; an open with one is `invalid-event`), at most 2048 bytes. */
  url?: string | null;
  /** In results: how it was classified. Ignored in `record`'s input. */
  classification?: Classification | null;
}

/** A delivery event from a provider's webhook, for `events.record`. */
export interface DeliveryEvent {
  /** The provider's event id (1 to 200 bytes): an event recorded twice counts once. */
  id: string;
  /** The Message-ID of our message: ours, or the one the provider assigned (`report`); angle brackets optional. */
  messageId: string;
  /** The recipient it concerns. */
  recipient: string;
  /** When it happened; the channel's clock when left out. */
  at?: number | bigint | null;
  kind: EventKind;
}

/** An event as recorded (results carry every optional field, null when absent). */
export interface RecordedEvent {
  id: string;
  /** Our Message-ID of the message it concerns. */
  messageId: string;
  setup: string;
  useCase: string;
  /** The recipient, lower-case. */
  recipient: string;
  at: number;
  kind: EventKind;
  /** True when the event had been recorded before: nothing changed. */
  duplicate: boolean;
  /** Suppressions the event began. */
  suppressions: Suppression[];
}

/**
 * Why an event or report was not recorded: `'unknown-message'` (no outbound
 * message has this Message-ID), `'invalid-event'` (the message names the
 * field), `'store'`.
 */
export type EventErrorKind = 'unknown-message' | 'invalid-event' | 'store';

/**
 * What kind of report an email is: an RFC 3464 DSN (or RFC 6533), an RFC
 * 5965 ARF complaint, a plain-text bounce (qmail, Exim, Postfix, …), an RFC
 * 3834 auto-reply, or not a report.
 */
export type ReportFormat = 'delivery-status' | 'feedback-report' | 'plain-bounce' | 'auto-reply' | 'not-a-report';

/** How a report classifies a recipient (status code and diagnostic text together). */
export type ReportClass = 'hard' | 'soft' | 'blocked' | 'complaint' | 'not-a-bounce';

/** What a report says about one recipient. */
export interface Finding {
  /** The recipient, lower-case, if the report names it. */
  recipient: string | null;
  class: ReportClass;
  /** The DSN Action (`failed`, `delayed`, `delivered`, …). */
  action: string | null;
  /** The enhanced status code `X.Y.Z`. */
  status: string | null;
  /** The diagnostic text, whitespace collapsed, at most 500 bytes. */
  diagnostic: string | null;
  /** A short reason: `user-unknown`, `mailbox-full`, `spam-blocked`, …. */
  reason: string | null;
  /** The ARF Feedback-Type. */
  feedbackType: string | null;
}

/**
 * What became of a report: `{ kind: 'matched', events }` (tied to our
 * message: one event per bounce, complaint, delay or delivered finding, ids `report:<hash>:<n>`,
 * so the same report ingested twice counts once); `{ kind: 'unmatched', id }`
 * (not tied to any of our messages; stored under `id` for review);
 * `{ kind: 'ignored' }` (not a bounce or complaint).
 */
export type ReportOutcome = { kind: 'matched'; events: RecordedEvent[] } | { kind: 'unmatched'; id: string } | { kind: 'ignored' };

/** A report email, read by `events.ingestReport`. */
export interface Report {
  format: ReportFormat;
  /** The whole report's class: complaint, else hard, else blocked, else soft, else not a bounce. */
  class: ReportClass;
  /** The reporting MTA or provider, when recognised. */
  mta: string | null;
  /** The Message-ID of the message the report is about, bare. */
  originalMessageId: string | null;
  /** One finding per recipient. */
  findings: Finding[];
  /** What was recorded. */
  outcome: ReportOutcome;
}

/** An opt-out, as recorded (one-click, or a mailto unsubscribe through `receive`). */
export interface OptOut {
  /** The suppression it began, or the one already in force. */
  suppression: Suppression;
  /** False when the address had already opted out with this scope: nothing changed. */
  new: boolean;
  /** The HTTP status to answer with: 200, without a redirect. */
  httpStatus: number;
  /** A short text body for the answer. */
  body: string;
}

/**
 * Why an opt-out was refused, and the HTTP status to answer with:
 * `'invalid-token'` 404 (malformed, no such setup, or the HMAC does not
 * verify; nothing is written), `'invalid-body'` 400 (not the RFC 8058 form
 * `List-Unsubscribe=One-Click`), `'store'` 503.
 */
export type UnsubscribeErrorKind = 'invalid-token' | 'invalid-body' | 'store';

/** What `reporting.count` counts: a setup, or one use case. */
export type ReportingSubject = { kind: 'setup'; setup: string } | { kind: 'use-case'; useCase: string };

/** Counts of a period. */
export interface Counts {
  /** Recipients sent to. */
  sent: number;
  delivered: number;
  hardBounced: number;
  softBounced: number;
  /** Bounces that refused the message or the sender, not the address. */
  blocked: number;
  deferred: number;
  complained: number;
  unsubscribed: number;
  /** Sends refused by a suppression or pause. */
  suppressed: number;
}

/** The counts of a period, as whole UTC days covering the range asked for. */
export interface Period {
  from: number;
  until: number;
  counts: Counts;
}

/** Why `reporting.count` failed: `'not-found'`, `'invalid-range'` (empty, or longer than 400 days), `'store'`. */
export type ReportingErrorKind = 'not-found' | 'invalid-range' | 'store';

/**
 * A channel: its own instance of the component over one store, transport,
 * clock and random source (and a DNS resolver for `setups.verifyWithDns`).
 * Every method but `setups.verifyWithDns` is synchronous and throws a
 * {@link MailroomError} for a WIT error (see there for what else may be
 * thrown); `verifyWithDns` returns a Promise that rejects with one.
 *
 * The component keeps nothing between calls; everything lives in the store.
 * So channels over one store see the same setups, use cases and threads,
 * and a channel whose instance was dropped after a trap carries on as before.
 * A channel is not re-entrant: calling it from inside its own store or
 * transport fails.
 *
 * **Workspace scope.** Every method that reads or changes an existing object
 * (setups, use cases, `send`, suppression, reporting) takes the caller's
 * workspace first: the one your server authenticated (an API key, a
 * session), never one the request names. An object of another workspace
 * answers `'not-found'` (or `'unknown-setup'` / `'unknown-use-case'`) with
 * the same text a missing id gets, and listings hold only the caller's own
 * objects. `parse`, `receive`, `report`, `events.*` (your MX, transport and
 * provider webhooks) and `unsubscribe.oneClick` (its token authenticates)
 * take none.
 */
export interface Channel<S extends Store = Store, T extends Transport = Transport> {
  /** The store this channel uses (the one given, or its own {@link MemoryStore}). */
  readonly store: S;
  /** The transport this channel uses (the one given, or its own {@link RecordingTransport}, whose `sent` lists what was sent). */
  readonly transport: T;

  /**
   * As the top-level {@link parse}: pure, touches neither store nor
   * transport. Limits the call leaves out take the channel's `config.limits`.
   */
  parse(raw: Uint8Array | ArrayBuffer | ArrayBufferView | string, limits?: Limits | null): ParsedMessage;

  /**
   * Parses, resolves and stores an inbound message. `In-Reply-To` is tried
   * first, then `References` newest to oldest, among stored messages of the
   * setup that owns a recipient's domain (the envelope's, else To and Cc).
   * An unmatched message is still stored, never lost.
   *
   * @param raw The message bytes, as for {@link parse}.
   * @param envelope The SMTP envelope; default none.
   * @param limits Bounds on parsing, as for {@link parse}; those left out take the channel's `config.limits`.
   * @throws {MailroomParseError} kind {@link ParseErrorKind}: not parsed, nothing stored.
   * @throws {MailroomError} kind `'store'`.
   */
  receive(
    raw: Uint8Array | ArrayBuffer | ArrayBufferView | string,
    envelope?: Envelope | null,
    limits?: Limits | null,
  ): Received;

  /** As {@link parseAsync}, with the channel's `config.limits`: bytes or a {@link StreamInput}. */
  parseAsync(raw: MessageBytes | StreamInput, limits?: Limits | null): Promise<ParsedMessage>;

  /**
   * As `receive`, for bytes or a {@link StreamInput}: a stream is read up to
   * `maxBytes` as {@link parseAsync} describes, then received once.
   * `envelope` and `limits` are checked before anything is read.
   */
  receiveAsync(raw: MessageBytes | StreamInput, envelope?: Envelope | null, limits?: Limits | null): Promise<Received>;

  /**
   * Composes, DKIM-signs, records and submits a message to the transport
   * (RFC 5322 threading for replies: In-Reply-To and References). The
   * signature: rsa-sha256, relaxed/relaxed, `d=` the setup's domain, `s=`
   * its current selector, `t=` from the clock, over From, To, Cc, Subject,
   * Date, Message-ID, In-Reply-To, References, MIME-Version, Content-Type
   * and, when present, List-Unsubscribe and List-Unsubscribe-Post. The use
   * case must be enabled and its setup verified.
   * @throws {MailroomError} kind {@link SendErrorKind}.
   */
  send(workspace: string, request: SendRequest): Sent;

  /**
   * Records the outcome of a submitted message, by its Message-ID (ours;
   * angle brackets optional). Call it when the queued delivery finishes.
   * @throws {MailroomError} kind {@link ReportErrorKind}.
   */
  report(messageId: string, outcome: DeliveryOutcome): void;

  /**
   * Setups: sending domains, their DKIM keys and the DNS records that prove
   * ownership. A setup is `pending` until a `verify` sees its required
   * records; use cases are created, and mail is sent, only under a verified one.
   */
  readonly setups: {
    /**
     * Registers `domain` for `workspace`: makes an RSA-2048 DKIM key (from
     * the channel's random source; the private key stays in the store) and
     * returns the setup, `pending`, with the records to publish.
     * @param options The inbound host (the MX exchange) and, optionally, the
     *   sending service's SPF include and the unsubscribe base; what is left
     *   out takes the channel's {@link ChannelConfig}. May be left out when
     *   `config.inboundHost` is set.
     * @throws {MailroomError} kind {@link SetupErrorKind}.
     * @throws {TypeError} when no inbound host is given, by the call or by config.
     */
    create(workspace: string, domain: string, options?: SetupOptions | null): Setup;
    /**
     * Reads a setup by id.
     * @throws {MailroomError} kind {@link SetupErrorKind} (`'not-found'`, `'store'`).
     */
    get(workspace: string, id: string): Setup;
    /** The setups of `workspace`, oldest first. */
    list(workspace: string): Setup[];
    /**
     * The names and types to resolve for `verify`: each `(name, type)` of
     * the setup's records once (the domain's TXT serves SPF, its MX the
     * inbound MX).
     * @throws {MailroomError} kind {@link SetupErrorKind} (`'not-found'`, `'store'`).
     */
    lookups(workspace: string, id: string): Lookup[];
    /**
     * Checks DNS answers the caller resolved against the setup's records and
     * stores the new status: `'verified'` when every required record is
     * published; `'failed'` when one is wrong, or was removed from a verified
     * setup; else `'pending'` (a transient failure keeps the status as it
     * was). A published `nextSelector` record completes a rotation.
     * Synchronous: resolve first (see {@link Lookup}), then call.
     * @throws {MailroomError} kind {@link SetupErrorKind} (`'not-found'`, `'store'`).
     * @throws {TypeError | RangeError} for answers of the wrong shape.
     */
    verify(workspace: string, id: string, answers: DnsAnswer[]): Verification;
    /**
     * `lookups`, then every lookup resolved with the channel's
     * {@link DnsResolver} (concurrently, outside any component call), then
     * `verify` with the answers. Resolver failures become results (see
     * {@link DnsResolver}), never rejections.
     * @returns The verification.
     * @throws {MailroomError} (as a rejection) kind {@link SetupErrorKind}, `call` `'setups.verifyWithDns'`.
     * @throws {Error} (as a rejection) when no `dns` was given and `node:dns/promises` cannot be imported.
     */
    verifyWithDns(workspace: string, id: string): Promise<Verification>;
    /**
     * Starts a DKIM key rotation: a new key and selector, whose record is
     * added beside the current one (not required). Mail stays signed with the
     * current key until a `verify` sees the new record; the old record then
     * leaves `records` (unpublish it once mail in flight has been delivered).
     * While a rotation is under way, returns the setup unchanged.
     * @throws {MailroomError} kind {@link SetupErrorKind}.
     */
    rotateDkim(workspace: string, id: string): Setup;
  };

  /** Use cases: who sends, for what. */
  readonly useCases: {
    /**
     * Creates a use case of a verified setup, enabled. (The WIT function
     * takes the five fields as parameters in this order; here they are named.)
     * @throws {MailroomError} kind {@link UseCaseErrorKind} (`'setup-not-verified'` for a pending or failed setup).
     * @throws {TypeError} when `type` is not `'transactional'` or `'marketing'`.
     */
    create(workspace: string, useCase: NewUseCase): UseCase;
    /**
     * Reads a use case by id.
     * @throws {MailroomError} kind {@link UseCaseErrorKind} (`'not-found'`, `'store'`).
     */
    get(workspace: string, id: string): UseCase;
    /**
     * The use cases of a setup, disabled ones included, in creation order.
     * @throws {MailroomError} kind {@link UseCaseErrorKind} (`'unknown-setup'`, `'store'`).
     */
    list(workspace: string, setup: string): UseCase[];
    /**
     * Disables a use case: sends under it fail with `'use-case-disabled'`;
     * replies already received still resolve to its threads.
     * @returns The use case, `enabled: false`.
     * @throws {MailroomError} kind {@link UseCaseErrorKind} (`'not-found'`, `'store'`).
     */
    disable(workspace: string, id: string): UseCase;
    /**
     * Turns one-click List-Unsubscribe on or off for a transactional use
     * case (with it, each message goes to one recipient).
     * @throws {MailroomError} kind {@link UseCaseErrorKind} (`'marketing-needs-unsubscribe'` to turn it off for marketing).
     */
    setListUnsubscribe(workspace: string, id: string, enabled: boolean): UseCase;
  };

  /**
   * The send decision and what feeds it. Defaults (per setup; see
   * {@link Policy}): a hard bounce suppresses the address for every use
   * case of the setup; 3 soft bounces within 72 h with no delivery between
   * suppress it for 24 h; a complaint for every marketing use case and the
   * one complained about; an unsubscribe per its link's scope; a complaint
   * rate above 0.3% over 7 days (once 100 recipients were sent to) pauses
   * marketing sends until `clearPause`. Suppressions are never deleted:
   * `remove` moves them to the address's history.
   */
  readonly suppression: {
    /**
     * The decision `send` makes for `address` under `useCase`.
     * @throws {MailroomError} kind {@link SuppressionErrorKind}.
     */
    check(workspace: string, useCase: string, address: string): Decision;
    /** An address of a setup: its suppressions and their history. @throws {MailroomError} kind {@link SuppressionErrorKind}. */
    get(workspace: string, setup: string, address: string): AddressState;
    /**
     * The suppressed addresses of a setup, sorted: at most `page.limit`
     * (1 to 100, default 100) after `page.cursor` (the last address of the
     * previous page).
     * @throws {MailroomError} kind {@link SuppressionErrorKind}.
     */
    list(workspace: string, setup: string, page?: { cursor?: string | null; limit?: number }): AddressState[];
    /**
     * Ends every suppression of the address in the setup, keeping each in its
     * history with `note`; soft bounces counted so far are forgotten.
     * @returns The address as it is now.
     * @throws {MailroomError} kind {@link SuppressionErrorKind}.
     */
    remove(workspace: string, setup: string, address: string, note: string): AddressState;
    /** The setup's policy. @throws {MailroomError} kind {@link SuppressionErrorKind}. */
    getPolicy(workspace: string, setup: string): Policy;
    /** Replaces the setup's policy; returns it as stored. @throws {MailroomError} kind {@link SuppressionErrorKind} (`'invalid-policy'`). */
    setPolicy(workspace: string, setup: string, policy: Policy): Policy;
    /** The setup's complaint rate and pause. @throws {MailroomError} kind {@link SuppressionErrorKind}. */
    getHealth(workspace: string, setup: string): Health;
    /** Lifts a marketing pause (the complaint counts stay). @throws {MailroomError} kind {@link SuppressionErrorKind}. */
    clearPause(workspace: string, setup: string, note: string): Health;
  };

  /** What providers and receiving servers said about mail we sent. */
  readonly events: {
    /**
     * Records a webhook event (idempotent by `id`); it updates the
     * recipient's suppressions and the counts.
     * @throws {MailroomError} kind {@link EventErrorKind}.
     * @throws {TypeError} for an event of the wrong shape.
     */
    record(event: DeliveryEvent): RecordedEvent;
    /**
     * Reads a bounce, complaint or auto-reply email (the raw message that
     * arrived at the return path or the feedback-loop address) and records
     * its events against the message it reports on.
     * @throws {MailroomError} kind {@link EventErrorKind}.
     */
    ingestReport(raw: Uint8Array | ArrayBuffer | ArrayBufferView | string): Report;
    /**
     * As `ingestReport`, for bytes or a {@link StreamInput}: a stream is read
     * up to the 52428800 bytes (50 MiB) a report may have (one more byte, and
     * reading stops and the call fails with `'invalid-event'`), then
     * ingested once.
     */
    ingestReportAsync(raw: MessageBytes | StreamInput): Promise<Report>;
  };

  /** RFC 8058 one-click unsubscribe. */
  readonly unsubscribe: {
    /**
     * Handles the POST a mail client makes to a message's
     * `unsubscribeUrl`: `token` is the URL's last path segment (the whole
     * URL works too), `contentType` the request's Content-Type, `body` its
     * body. Answer with `httpStatus` and `body`; see
     * {@link UnsubscribeErrorKind} for the statuses of refusals.
     * @throws {MailroomError} kind {@link UnsubscribeErrorKind}.
     */
    oneClick(token: string, contentType: string | null, body: Uint8Array | ArrayBuffer | ArrayBufferView | string): OptOut;
  };

  /** Counts of sends and what became of them. */
  readonly reporting: {
    /**
     * The counts of a setup or use case over the whole UTC days covering
     * `from` to `until` (seconds since the epoch; at most 400 days).
     * @throws {MailroomError} kind {@link ReportingErrorKind}.
     */
    count(workspace: string, subject: ReportingSubject, from: number | bigint, until: number | bigint): Period;
    /** Opens and clicks split human/machine (`reporting.count-engagement`). */
    countEngagement(workspace: string, subject: ReportingSubject, from: number | bigint, until: number | bigint): EngagementPeriod;
    /** Clicks per destination URL of a use case, most clicked first (`reporting.link-clicks`). */
    linkClicks(workspace: string, useCase: string, from: number | bigint, until: number | bigint): LinkCount[];
  };

  /** Engagement tracking (wit/tracking.wit); serve it with {@link handleTracking}. */
  readonly tracking: {
    /** A use case's settings: on for marketing, off for transactional until set. */
    getSettings(workspace: string, useCase: string): TrackingSettings;
    setSettings(workspace: string, useCase: string, settings: TrackingSettings): TrackingSettings;
    /** The setup's tracking base URL (default `https://<inboundHost>/t`). */
    getBase(workspace: string, setup: string): string;
    setBase(workspace: string, setup: string, base: string | null): string;
    /** Apple Mail Privacy Protection networks (CIDR), host data; `[]` restores `17.0.0.0/8`. */
    setNetworks(networks: string[]): number;
    /** A pixel request: the GIF to answer with. @throws {MailroomError} kind 'invalid-token' (answer 404). */
    open(token: string, request: TrackingRequest): TrackingAnswer;
    /** A link request: the 302 to the stored URL. @throws {MailroomError} kind 'invalid-token' (answer 404). */
    click(token: string, request: TrackingRequest): TrackingAnswer;
    /** What is tracked of one message, per-link clicks included. */
    message(workspace: string, messageId: string): TrackedMessage;
  };
}

/** Tracking settings of a use case. */
export interface TrackingSettings {
  opens: boolean;
  clicks: boolean;
  /** A click sooner than this after sending is a scanner's (default 10). */
  scannerWindowSecs?: number;
}

/** What the host saw of a request for a pixel or a link. */
export interface TrackingRequest {
  /** Seconds since the epoch. */
  at: number | bigint;
  userAgent?: string | null;
  clientIp?: string | null;
  method?: 'get' | 'head';
}

/** Human or machine, and the rule that decided. */
export interface Classification {
  agent: 'human' | 'machine';
  proxied: boolean;
  reason:
    | 'person' | 'gmail-image-proxy' | 'yahoo-image-proxy' | 'apple-mpp' | 'head-request'
    | 'scanner-user-agent' | 'no-user-agent' | 'too-soon-after-delivery' | 'link-burst' | 'click-without-open';
}

/** One recorded open or click. */
export interface EngagementEvent {
  messageId: string;
  useCase: string;
  kind: 'open' | 'click';
  link: number | null;
  url: string | null;
  at: number;
  classification: Classification;
  unique: boolean;
}

/** What to answer a tracking request with. */
export interface TrackingAnswer {
  status: number;
  headers: [string, string][];
  body: Uint8Array;
  recorded: EngagementEvent | null;
  notRecorded: string | null;
}

/** One tracked link of a message. */
export interface TrackedLink {
  url: string;
  trackedUrl: string;
  human: number;
  machine: number;
}

/** What is tracked of one message. */
export interface TrackedMessage {
  messageId: string;
  useCase: string;
  pixelUrl: string | null;
  opensHuman: number;
  opensMachine: number;
  links: TrackedLink[];
}

/** Opens and clicks, split by agent. */
export interface Engagement {
  opensHuman: number;
  opensMachine: number;
  uniqueOpensHuman: number;
  uniqueOpensMachine: number;
  clicksHuman: number;
  clicksMachine: number;
  uniqueClicksHuman: number;
  uniqueClicksMachine: number;
}

/** Engagement over whole UTC days. */
export interface EngagementPeriod {
  from: number;
  until: number;
  engagement: Engagement;
}

/** Clicks of one destination URL. */
export interface LinkCount {
  url: string;
  human: number;
  machine: number;
}

/**
 * Serves the tracking endpoints from a fetch `Request` (Cloudflare Workers,
 * Deno, Node 18+): `GET …/o/{token}` answers the pixel, `GET|HEAD …/c/{token}`
 * the 302 to the stored URL; an invalid token a plain 404 page. Resolves to
 * `null` for any other path or method, so a Worker can fall through to its
 * own routes. The client IP is `options.clientIp`, else `CF-Connecting-IP`,
 * else the first `X-Forwarded-For` entry; the time `options.now()` (seconds),
 * else `Date.now()`.
 */
export function handleTracking(
  channel: Channel<any, any> | AsyncChannel<any, any>,
  request: Request,
  options?: { clientIp?: string | null; now?: () => number },
): Promise<Response | null>;

/**
 * Creates a channel: instantiates the component (compiled once per process,
 * instantiated once per channel, on its first call) over the given store,
 * transport, clock, random source and DNS resolver, with the given
 * {@link ChannelConfig} defaults.
 *
 * @throws {TypeError} when an option lacks a required method, or `config`
 *   has an unknown key or a value of the wrong type (named in the message),
 *   or the store is asynchronous (`kvStore`, `async` methods) or the
 *   transport's `submit` is an `async` function: use
 *   {@link createAsyncChannel}. A store whose `get` returns a Promise is
 *   refused the same way on the channel's first call, before anything is
 *   written. Every method's option objects (limits, envelope, request, ...)
 *   likewise throw a `TypeError` naming a key they do not take.
 * @throws {RangeError} when a `config.limits` value is negative or beyond its WIT integer.
 *
 * @example
 * ```js
 * import { createChannel, MailroomError } from '@mailroom/channel';
 * const channel = createChannel(); // in memory: MemoryStore + RecordingTransport
 * const setup = channel.setups.create('ws-1', 'clinic.example', { inboundHost: 'inbound.mailroom.example' });
 * // The customer publishes setup.records; then:
 * const { setup: checked, checks } = await channel.setups.verifyWithDns(setup.id);
 * if (checked.status !== 'verified') console.log(checks.filter((c) => c.state.kind !== 'verified'));
 * const uc = channel.useCases.create({ setup: setup.id, sender: 'care@clinic.example',
 *   type: 'transactional', entityName: 'Riverside Clinic', useCaseName: 'Appointments' });
 * const sent = channel.send({ useCase: uc.id, to: [{ name: 'Pat', address: 'pat@example.com' }],
 *   subject: 'Your appointment', text: 'Tuesday at 9.' });
 * channel.transport.sent[0].raw; // the message, as bytes
 * const reply = channel.receive(rawReply, { mailFrom: 'pat@example.com', rcptTo: ['care@clinic.example'] });
 * if (reply.resolution.kind === 'matched') console.log(reply.resolution.association.threadId, reply.newText);
 * ```
 */
export function createChannel<S extends Store = MemoryStore, T extends Transport = RecordingTransport>(
  options?: ChannelOptions<S, T>,
): Channel<S, T>;

/** A value, or a Promise of it: what an asynchronous store or transport may return. */
export type MaybePromise<T> = T | Promise<T>;

/**
 * A {@link Store} whose methods may return Promises: for
 * {@link createAsyncChannel}. Same contract, same errors (a rejection is a
 * throw).
 */
export interface AsyncStore {
  get(key: string): MaybePromise<StoreEntry | null | undefined>;
  put(key: string, value: Uint8Array, expect: Expect): MaybePromise<number | bigint>;
  delete(key: string, expect: Expect): MaybePromise<void>;
  list(prefix: string, cursor: string | null, limit: number): MaybePromise<StorePage>;
}

/** A {@link Transport} whose `submit` may return a Promise: for {@link createAsyncChannel}. */
export interface AsyncTransport {
  submit(message: Outgoing): MaybePromise<void>;
}

/** What {@link createAsyncChannel} takes: as {@link ChannelOptions}, with an asynchronous store and transport allowed. */
export interface AsyncChannelOptions<S extends AsyncStore = AsyncStore, T extends AsyncTransport = AsyncTransport>
  extends Omit<ChannelOptions, 'store' | 'transport'> {
  store?: S;
  transport?: T;
}

/** Every method of `T` returning a Promise of what it returned. */
export type Promised<T> = {
  readonly [K in keyof T]: T[K] extends (...args: infer A) => infer R
    ? (...args: A) => Promise<Awaited<R>>
    : Promised<T[K]>;
};

/**
 * A channel from {@link createAsyncChannel}: the methods of {@link Channel},
 * each returning a Promise (rejecting where the synchronous one throws).
 * Calls run one at a time, in call order (the instance cannot run two):
 * concurrent calls are queued. Never await the channel from inside its own
 * store or transport: that call waits for the one in progress, forever.
 */
export type AsyncChannel<S extends AsyncStore = AsyncStore, T extends AsyncTransport = AsyncTransport> =
  Promised<Omit<Channel, 'store' | 'transport' | 'parse' | 'receive' | 'events'>> & {
    readonly store: S;
    readonly transport: T;
    /** As `parseAsync`: bytes or a {@link StreamInput} (an Email Worker's `message.raw` as it is). */
    parse: Channel['parseAsync'];
    /** As `receiveAsync`: bytes or a {@link StreamInput}. */
    receive: Channel['receiveAsync'];
    readonly events: Promised<Omit<Channel['events'], 'ingestReport'>> & {
      /** As `ingestReportAsync`: bytes or a {@link StreamInput}. */
      ingestReport: Channel['events']['ingestReportAsync'];
    };
  };

/**
 * Creates a channel whose store and transport may be asynchronous (return
 * Promises): a remote KV, a database over the network, Durable Object
 * storage, an HTTP mail API. Every method returns a Promise.
 *
 * How: the component's imports are synchronous in WIT, so the package
 * ships a second jco output (`--async-mode jspi`) in which the store and
 * transport imports are `WebAssembly.Suspending` and every export is
 * wrapped by `WebAssembly.promising`: while your store's Promise is
 * pending, the component's stack is suspended (JavaScript Promise
 * Integration), then resumes with the answer. Same component, same
 * answers, byte for byte (the conformance and scenario suites run on both
 * glues).
 *
 * Needs JSPI: Node.js 24 or later, Deno 2, workerd (Cloudflare Workers).
 * On Node.js 20 and 22 use {@link createChannel} with a synchronous store
 * (SQLite, or an in-memory cache).
 *
 * @throws {Error} where the runtime has no JSPI (`WebAssembly.Suspending`).
 * @throws {TypeError | RangeError} as {@link createChannel} (a required method, `config`).
 *
 * @example
 * ```js
 * import { createAsyncChannel, kvStore } from '@mailroom/channel';
 * const channel = createAsyncChannel({ store: kvStore(myVersionedKv) });
 * const received = await channel.receive(raw, { mailFrom, rcptTo: [to] });
 * ```
 */
export function createAsyncChannel<S extends AsyncStore = MemoryStore, T extends AsyncTransport = RecordingTransport>(
  options?: AsyncChannelOptions<S, T>,
): AsyncChannel<S, T>;

/**
 * A key-value store with compare-and-set versions, for {@link kvStore}.
 * Versions are opaque tokens the KV makes (a Deno KV versionstamp, a row
 * version, an etag); methods may be synchronous or return Promises.
 */
export interface VersionedKv<V = unknown> {
  /** The value and its current version token, or null when absent. */
  get(key: string): MaybePromise<{ value: Uint8Array; version: V } | null>;
  /**
   * Writes `value` if the key's current version is `ifVersion` (null: only
   * if absent). Atomically: true when written, false when the condition did
   * not hold (nothing written).
   */
  set(key: string, value: Uint8Array, ifVersion: V | null): MaybePromise<boolean>;
  /** Deletes the key if its current version is `ifVersion`, atomically: true when deleted, false otherwise. */
  delete(key: string, ifVersion: V): MaybePromise<boolean>;
  /**
   * Up to `limit` keys starting with `prefix`, strictly after `after` (or
   * from the first when null), ascending in UTF-8 byte order.
   */
  list(prefix: string, after: string | null, limit: number): MaybePromise<string[]>;
}

/**
 * A {@link Store} (asynchronous: for {@link createAsyncChannel}) over a
 * {@link VersionedKv}. The store's versions (1, 2, 3, … per key) are kept
 * in the first 8 bytes of each value (big-endian), so the KV needs no
 * numbering of its own; every write is conditional on the version token
 * read just before it, so a concurrent writer turns it into a
 * `StoreError('conflict')` (which the component retries), never a lost
 * update. Values this adapter did not write are a `StoreError('other')`.
 *
 * @example Deno KV
 * ```js
 * const kv = await Deno.openKv();
 * const k = (key) => ['mailroom', key];
 * const store = kvStore({
 *   get: async (key) => { const e = await kv.get(k(key)); return e.versionstamp === null ? null : { value: e.value, version: e.versionstamp }; },
 *   set: async (key, value, v) => (await kv.atomic().check({ key: k(key), versionstamp: v }).set(k(key), value).commit()).ok,
 *   delete: async (key, v) => (await kv.atomic().check({ key: k(key), versionstamp: v }).delete(k(key)).commit()).ok,
 *   list: async (prefix, after, limit) => { const keys = [];
 *     for await (const e of kv.list({ start: k(after === null ? prefix : after + '\0'), end: k(prefix + '\u{10FFFF}') }, { limit })) keys.push(e.key[1]);
 *     return keys; },
 * });
 * ```
 */
export function kvStore<V>(kv: VersionedKv<V>): AsyncStore;

/** The {@link Transport} {@link nodemailerTransport} makes: `submit` queues, `idle` waits. */
export interface NodemailerTransport extends Transport {
  /** Resolves when every delivery started so far has finished and been reported. */
  idle(): Promise<void>;
}

/**
 * A {@link Transport} over a nodemailer transporter (`nodemailer.createTransport(…)`:
 * SMTP, SES, sendmail, …). `submit` copies the message and returns at once
 * (it must not wait for delivery); afterwards the transporter sends `raw`
 * unchanged (`sendMail({ envelope, raw })`, so the DKIM signature holds)
 * and `report(messageId, outcome)` gets the outcome: `accepted` unless every
 * recipient was rejected or the transporter failed (then `failed`, with the
 * server's answer). Wire `report` to the channel's `report`. nodemailer is
 * not a dependency of this package; bring your own.
 *
 * @param options.providerMessageId For providers that replace the
 *   Message-ID (SES: `(info) => info.messageId`): the id to report, from
 *   nodemailer's `info`. Default none: SMTP relays keep ours.
 *
 * @example
 * ```js
 * import nodemailer from 'nodemailer';
 * const transport = nodemailerTransport(nodemailer.createTransport({ host: 'smtp.example.com', port: 587 }), {
 *   report: (messageId, outcome) => channel.report(messageId, outcome),
 * });
 * const channel = createChannel({ store, transport });
 * ```
 */
export function nodemailerTransport(
  transporter: { sendMail(mail: { envelope: { from: string; to: string[] }; raw: Uint8Array }): Promise<any> },
  options?: {
    report?: (messageId: string, outcome: DeliveryOutcome) => unknown;
    providerMessageId?: (info: any) => string | null | undefined;
  },
): NodemailerTransport;

/**
 * The in-memory {@link Store}: a Map, versions from 1, keys in UTF-8 byte
 * (Unicode code point) order, values copied in and out. It answers exactly
 * as the native runner's store does, conflict messages included. The
 * default store of {@link createChannel}; useful in tests and as the model
 * for a real store.
 */
export class MemoryStore implements Store {
  constructor();
  /** The number of keys. */
  readonly size: number;
  /** Every `[key, entry]`, in key order (copies), for inspection. */
  entries(): IterableIterator<[string, { value: Uint8Array; version: number }]>;
  get(key: string): { value: Uint8Array; version: number } | null;
  /** @throws {StoreError} `'conflict'`, e.g. `k: expected Absent, found version Some(1)`. */
  put(key: string, value: Uint8Array, expect: Expect): number;
  /** @throws {StoreError} `'conflict'`. */
  delete(key: string, expect: Expect): void;
  /** `cursor` in the answer is the last key returned when more follow, else null. */
  list(prefix: string, cursor: string | null, limit: number): { keys: string[]; cursor: string | null };
}

/**
 * The {@link Transport} that accepts every message and keeps a copy in
 * `sent`, in order. The default transport of {@link createChannel}.
 */
export class RecordingTransport implements Transport {
  constructor();
  /** Every message accepted, oldest first. */
  sent: Outgoing[];
  submit(message: Outgoing): void;
}

/**
 * Thrown by a {@link Store} to answer with a WIT `store-error`:
 * - `'conflict'`: the write's {@link Expect} did not hold; nothing was written.
 * - `'unavailable'`: the storage cannot be reached now; the call may be retried later.
 * - `'other'`: any other failure.
 */
export class StoreError extends Error {
  /** @throws {TypeError} for another kind. */
  constructor(kind: 'conflict' | 'unavailable' | 'other', message: string, options?: { cause?: unknown });
  readonly name: 'StoreError';
  kind: 'conflict' | 'unavailable' | 'other';
}

/**
 * Thrown by a {@link Transport} to refuse a message (a WIT `transport-error`):
 * - `'rejected'`: it will never be accepted as it is.
 * - `'unavailable'`: not accepted now; it may be later.
 * - `'other'`: any other failure.
 */
export class TransportError extends Error {
  /** @throws {TypeError} for another kind. */
  constructor(kind: 'rejected' | 'unavailable' | 'other', message: string, options?: { cause?: unknown });
  readonly name: 'TransportError';
  kind: 'rejected' | 'unavailable' | 'other';
}
