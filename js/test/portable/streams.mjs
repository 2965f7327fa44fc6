// Stream inputs, runtime-neutral (Node.js, Deno, workerd, Chromium): every
// kind of input parses to the same canonical JSON as the bytes, and a stream
// over max-bytes is refused without being read to its end.

import { parseAsync, MailroomParseError } from '../../src/index.js';

/** A ReadableStream of `bytes` in `size`-byte chunks that counts what was pulled (no read-ahead). */
export function countingStream(bytes, size = 4096) {
  const counter = { pulled: 0, cancelled: false };
  let at = 0;
  const stream = new ReadableStream(
    {
      pull(controller) {
        if (at >= bytes.length) {
          controller.close();
          return;
        }
        const chunk = bytes.slice(at, at + size);
        at += chunk.length;
        counter.pulled += chunk.length;
        controller.enqueue(chunk);
      },
      cancel() {
        counter.cancelled = true;
      },
    },
    { highWaterMark: 0 },
  );
  return { stream, counter };
}

async function* chunks(bytes, size = 1000) {
  for (let at = 0; at < bytes.length; at += size) yield bytes.slice(at, at + size);
}

/** Each stream kind over `bytes`, as [name, make()]; `extra` adds a runtime's own (a Node.js Readable). */
export function inputKinds(extra = []) {
  return [
    ['ReadableStream', (b) => countingStream(b, 777).stream],
    ['Blob', (b) => new Blob([b])],
    ['Response', (b) => new Response(b)],
    ['async iterable', (b) => chunks(b)],
    ...extra,
  ];
}

/** The canonical JSON of parseAsync's answer (or its parse error). */
export async function parsedAsync(canonicalJson, input, limits) {
  try {
    return canonicalJson(await parseAsync(input, limits));
  } catch (err) {
    if (err instanceof MailroomParseError) return canonicalJson(err);
    throw err;
  }
}

/**
 * A message of about 3 MB through a counting stream with maxBytes 64 KiB:
 * refused as limit-exceeded max-bytes, with at most max-bytes plus one chunk
 * pulled. Returns null, or what went wrong.
 */
export async function overLimitIsNotReadToTheEnd() {
  const body = 'x'.repeat(76) + '\r\n';
  const raw = new TextEncoder().encode('Subject: big\r\n\r\n' + body.repeat(40_000));
  const { stream, counter } = countingStream(raw, 4096);
  const maxBytes = 64 * 1024;
  try {
    await parseAsync(stream, { maxBytes });
    return 'a stream over max-bytes was parsed';
  } catch (err) {
    if (!(err instanceof MailroomParseError) || err.kind !== 'limit-exceeded' || err.limit !== 'max-bytes' || err.value !== maxBytes) {
      return `expected limit-exceeded max-bytes ${maxBytes}, got ${err?.stack ?? err}`;
    }
  }
  if (counter.pulled > maxBytes + 4096) return `pulled ${counter.pulled} of ${raw.length} bytes for max-bytes ${maxBytes}`;
  if (!counter.cancelled) return 'the stream was not cancelled';
  return null;
}
