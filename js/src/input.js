// Stream inputs for the async variants (parseAsync, receiveAsync,
// events.ingestReportAsync, and an async channel's parse/receive/ingestReport):
// a ReadableStream, a Blob (or File), a Response (or Request), or an async
// iterable of chunks (a Node.js Readable), read into one Uint8Array of at
// most `cap` bytes. Reading stops as soon as more than `cap - 1` bytes have
// arrived: the source is cancelled (a Readable destroyed), so a message far
// over max-bytes is not read to its end. The caller passes `cap` =
// max-bytes + 1, so the component itself answers limit-exceeded, exactly as
// for the same bytes given whole.
//
// Runtime-neutral: no `node:` imports; Node's Readable is recognised as an
// async iterable.

const encoder = new TextEncoder();

/** What kind of stream input `value` is, or null for anything else. */
export function streamKind(value) {
  if (value === null || typeof value !== 'object') return null;
  if (typeof value.getReader === 'function') return 'ReadableStream';
  if (typeof Blob === 'function' && value instanceof Blob) return 'Blob';
  // A Response or Request (fetch's Body): by shape, so undici's, workerd's
  // and a polyfill's all count.
  if (typeof value.arrayBuffer === 'function' && 'body' in value && 'bodyUsed' in value) return 'Response';
  if (typeof value[Symbol.asyncIterator] === 'function') return 'async iterable (a Node.js Readable)';
  return null;
}

/** A chunk as bytes: a Uint8Array (a Buffer), another view, an ArrayBuffer, or a string (UTF-8). */
function chunkBytes(what, chunk) {
  if (chunk instanceof Uint8Array) return chunk;
  if (typeof chunk === 'string') return encoder.encode(chunk);
  if (chunk instanceof ArrayBuffer) return new Uint8Array(chunk);
  if (ArrayBuffer.isView(chunk)) return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw new TypeError(`${what}: the stream gave a chunk that is not bytes (a ${chunk?.constructor?.name ?? typeof chunk})`);
}

/** Joins chunks into one Uint8Array of at most `cap` bytes. */
class Collector {
  constructor(cap) {
    this.cap = cap;
    this.chunks = [];
    this.length = 0;
  }

  /** Adds a chunk; true when the cap is reached (stop reading). */
  add(bytes) {
    const room = this.cap - this.length;
    const kept = bytes.length > room ? bytes.subarray(0, room) : bytes;
    if (kept.length > 0) {
      // Copied: a stream may reuse its chunk's buffer.
      this.chunks.push(kept.slice());
      this.length += kept.length;
    }
    return this.length >= this.cap;
  }

  bytes() {
    if (this.chunks.length === 1) return this.chunks[0];
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

async function readStream(what, stream, cap) {
  const reader = stream.getReader();
  const out = new Collector(cap);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (out.add(chunkBytes(what, value))) {
        // Past the cap: the rest is never pulled.
        await reader.cancel().catch(() => {});
        break;
      }
    }
  } finally {
    reader.releaseLock();
  }
  return out.bytes();
}

async function readIterable(what, iterable, cap) {
  const out = new Collector(cap);
  // Leaving the loop early calls the iterator's return(), which destroys a
  // Node.js Readable: nothing more is read.
  for await (const chunk of iterable) {
    if (out.add(chunkBytes(what, chunk))) break;
  }
  return out.bytes();
}

/**
 * Reads a stream input into bytes, at most `cap` of them.
 * @param {string} what  the call and argument, for messages
 * @param {ReadableStream | Blob | Response | AsyncIterable<Uint8Array | string>} input
 * @param {number} cap  at least 1
 * @returns {Promise<Uint8Array>}
 */
export async function readInput(what, input, cap) {
  switch (streamKind(input)) {
    case 'ReadableStream':
      return readStream(what, input, cap);
    case 'Blob':
      // A Blob knows its size: only the first `cap` bytes are read.
      return new Uint8Array(await input.slice(0, cap).arrayBuffer());
    case 'Response':
      if (input.bodyUsed) throw new TypeError(`${what}: the body was already read`);
      return input.body === null ? new Uint8Array() : readStream(what, input.body, cap);
    case 'async iterable (a Node.js Readable)':
      return readIterable(what, input, cap);
    default:
      throw new TypeError(`${what} is not a stream input`);
  }
}

/** Largest accepted max-bytes (inbound.wit `limits`): a larger one is refused by the component whatever the input. */
export const MAX_MAX_BYTES = 1024 * 1024 * 1024;
/** Default max-bytes (inbound.wit `limits`). */
export const DEFAULT_MAX_BYTES = 50 * 1024 * 1024;
/** The largest report `events.ingest-report` reads (guest `MAX_REPORT_BYTES`). */
export const MAX_REPORT_BYTES = 50 * 1024 * 1024;

/**
 * How many bytes to read for a call whose max-bytes is `maxBytes` (a bigint
 * or undefined for the default): one more than the limit, so an input over
 * it reaches the component over it and is refused there, by the same rule
 * and with the same error as the same bytes given whole.
 */
export function capFor(maxBytes) {
  const limit = maxBytes === undefined ? DEFAULT_MAX_BYTES : Number(maxBytes > BigInt(MAX_MAX_BYTES) ? BigInt(MAX_MAX_BYTES) : maxBytes);
  return limit + 1;
}

/** The TypeError's hint for a stream given to a synchronous call. */
export function streamHint(call, value) {
  const kind = streamKind(value);
  if (kind === null) return '';
  const variant = ASYNC_VARIANT[call];
  const a = kind.startsWith('a') ? 'an' : 'a';
  return variant
    ? `; for ${a} ${kind}, use \`await ${variant}(...)\`, which reads it (at most max-bytes) and then parses`
    : `; ${a} ${kind} must be read first, e.g. \`new Uint8Array(await new Response(stream).arrayBuffer())\``;
}

const ASYNC_VARIANT = {
  parse: 'parseAsync',
  receive: 'channel.receiveAsync',
  'events.ingestReport': 'channel.events.ingestReportAsync',
};
