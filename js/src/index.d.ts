/**
 * `@mailroom/channel`: parse inbound email with the mailroom WebAssembly
 * component (`mailroom:channel/inbound@0.1.0`).
 *
 * The component is pure: the same bytes and limits give the same answer in
 * every host (this package, the Rust/wasmtime host, ...). It is instantiated
 * on the first {@link parse} call and reused afterwards; `parse` is
 * synchronous.
 *
 * Every optional value is `null` when absent, never `undefined`.
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
}

/**
 * Bounds on the work one {@link parse} call may do. A field left out (or
 * null) takes its default. Zero or a value above the maximum is rejected by
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
 * Thrown by {@link parse} when the component returned a `parse-error`.
 * Anything else thrown by `parse` (TypeError, RangeError, a WebAssembly trap)
 * is a bug or misuse, not an answer about the input.
 */
export class MailroomParseError extends Error {
  constructor(kind: ParseErrorKind, message: string, limit?: LimitKind | null, value?: number | null);
  readonly name: 'MailroomParseError';
  /** The WIT case. */
  kind: ParseErrorKind;
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
 * @throws {TypeError | RangeError} for a `raw` or `limits` of the wrong type or range.
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
