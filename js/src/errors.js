// The typed errors of @mailroom/channel. Types and documentation: index.d.ts.
//
// Two directions:
// - MailroomError / MailroomParseError: the component answered with a WIT
//   error (`result::err`); `kind` is the WIT case, as the WIT names it.
// - StoreError / TransportError: thrown by an embedder's store or transport
//   to answer with a WIT `store-error` / `transport-error`. They are
//   recognised by shape (an object with a known `kind`), so another copy of
//   this package, or a plain `{ kind, message }` error, works as well.

/** The WIT cases of `store-error`. */
export const STORE_ERROR_KINDS = new Set(['conflict', 'unavailable', 'other']);
/** The WIT cases of `transport-error`. */
export const TRANSPORT_ERROR_KINDS = new Set(['rejected', 'unavailable', 'other']);

/** A WIT error returned by one of the component's calls. */
export class MailroomError extends Error {
  /**
   * @param {string} kind  the WIT case, e.g. 'invalid-header'
   * @param {string} message  the component's sentence
   * @param {{ call?: string | null, cause?: unknown }} [options]
   */
  constructor(kind, message, options = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'MailroomError';
    this.kind = kind;
    this.call = options.call ?? null;
  }
}

/** Why `parse` (or `receive`) found no message: the WIT `parse-error`. */
export class MailroomParseError extends MailroomError {
  /**
   * @param {'limit-exceeded' | 'invalid-limits' | 'malformed'} kind
   * @param {string} message
   * @param {'max-bytes' | 'max-depth' | 'max-parts' | null} [limit]
   * @param {number | null} [value]
   * @param {{ call?: string | null, cause?: unknown }} [options]
   */
  constructor(kind, message, limit = null, value = null, options = {}) {
    super(kind, message, { call: 'parse', ...options });
    this.name = 'MailroomParseError';
    this.limit = limit;
    this.value = value;
  }
}

/** Thrown by an embedder's store: the WIT `store-error`. */
export class StoreError extends Error {
  /**
   * @param {'conflict' | 'unavailable' | 'other'} kind
   * @param {string} message
   * @param {{ cause?: unknown }} [options]
   */
  constructor(kind, message, options) {
    if (!STORE_ERROR_KINDS.has(kind)) throw new TypeError(`StoreError: unknown kind ${JSON.stringify(kind)}`);
    super(message, options);
    this.name = 'StoreError';
    this.kind = kind;
  }
}

/** Thrown by an embedder's transport: the WIT `transport-error`. */
export class TransportError extends Error {
  /**
   * @param {'rejected' | 'unavailable' | 'other'} kind
   * @param {string} message
   * @param {{ cause?: unknown }} [options]
   */
  constructor(kind, message, options) {
    if (!TRANSPORT_ERROR_KINDS.has(kind)) throw new TypeError(`TransportError: unknown kind ${JSON.stringify(kind)}`);
    super(message, options);
    this.name = 'TransportError';
    this.kind = kind;
  }
}
